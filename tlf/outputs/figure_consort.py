"""Flow diagram of subjects through a study (CONSORT), drawn from ARD counts.

The layout ``consort`` draws a box at the top (all subjects) and, under it, one column
of boxes per arm, tier after tier; a ``side`` tier (exclusions) sits beside the arm's
column with an arrow from it. Every line of every box is declared in the spec; a line
is text, or text with ``{stat:spec}`` fields filled from an ARD row of the arm
(:mod:`tlf.outputs.cells`), and ``levels: all`` repeats a line for each level the ARD
has (``{level}`` is the level's text)::

    parameters:
      analysis: disposition          # default analysis of the lines
      top: ["Randomised", {text: "(n = {n:0})", analysis: populations,
                           variable: randomised, group: Total}]
      tiers:
        - lines: ["Allocated to {arm}", {text: "(n = {n:0})", analysis: populations,
                                         variable: randomised}]
        - side: true
          lines: ["Excluded", {text: "{level} (n = {n:0})", variable: excluded_itt,
                               levels: all, wrap: 24}]
        - align: left
          lines: [{text: "Treated (n = {n:0})", analysis: populations, variable: safety}]

The diagram is drawn at its page's printable width with 8 pt text, so it prints at
100 %: with two arms the side boxes sit outside the columns (the classic CONSORT shape)
when every box fits its text so; otherwise (a portrait page, or more arms) the columns
share the width and side boxes stay in their column, lines broken at spaces where a
column is narrower than its text. A diagram taller than its page is an error, not a
shrunken picture. The box texts come from :func:`consort_boxes`, a pure function of the
ARD.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.textpath import TextToPath

from tlf.analyses.base import TOTAL
from tlf.document import Figure
from tlf.outputs import At, Context, analysis_groups, figure_area, save_png, title_block
from tlf.outputs.cells import ArdView, Text
from tlf.outputs.figure_km import new_figure
from tlf.spec import OutputSpec
from trialflow.errors import SpecError

__all__ = ["LAYOUTS", "PARAMETERS", "consort_boxes", "draw_consort", "layout_consort",
           "text_width", "wrap_to"]

_LINE_SCHEMA: dict[str, Any] = {"anyof": [
    {"type": "string"},
    {"type": "dict", "schema": {
        "text": {"type": "string", "required": True},
        "analysis": {"type": "string"},
        "variable": {"type": "string"},
        "level": {"type": "string", "default": ""},
        "group": {"type": "string"},
        "levels": {"type": "string", "allowed": ["all"]},
        "level_case": {"type": "string", "allowed": ["as_is", "capitalize", "lower"],
                       "default": "as_is"},
        "wrap": {"type": "integer", "min": 8},
    }},
]}
PARAMETERS: dict[str, dict[str, Any]] = {"consort": {
    "analysis": {"type": "string", "required": True},
    "top": {"type": "list", "required": True, "schema": _LINE_SCHEMA},
    "tiers": {"type": "list", "required": True, "minlength": 1, "schema": {
        "type": "dict", "schema": {
            "lines": {"type": "list", "required": True, "schema": _LINE_SCHEMA},
            "side": {"type": "boolean", "default": False},
            "align": {"type": "string", "allowed": ["center", "left"], "default": "center"},
        }}},
}}


def _case(text: str, how: str) -> str:
    return {"capitalize": text.capitalize, "lower": text.lower}.get(how, lambda: text)()


def _lines(view: ArdView, analysis: str, group: str, lines: Sequence[Any]
           ) -> list[Text | str]:
    """The printed lines of one box for ``group``."""
    out: list[Text | str] = []
    for line in lines:
        if isinstance(line, str):
            out.append(line.replace("{arm}", group))
            continue
        source = line.get("analysis") or analysis
        where = At(source, line.get("group") or group, line.get("variable", ""),
                   line.get("level", ""))
        levels = ([where.level] if line.get("levels") != "all"
                  else view.levels(where))
        for level in levels:
            shown = _case(level, line.get("level_case", "as_is"))
            text = line["text"].replace("{arm}", group).replace("{level}", shown)
            filled = view.fill(text, where.but(level=level)) if line.get("variable") \
                else Text(text)
            if line.get("wrap"):
                filled = Text(textwrap.fill(str(filled), int(line["wrap"])), filled.refs)
            out.append(filled)
    return out


def consort_boxes(view: ArdView, parameters: Mapping[str, Any]
                  ) -> tuple[list[Text | str], list[dict[str, list[Text | str]]]]:
    """The lines of the top box and, per tier, of each arm's box."""
    analysis = parameters["analysis"]
    arms, _ = analysis_groups(view, analysis)
    top = _lines(view, analysis, TOTAL, parameters["top"])
    tiers = [{arm: _lines(view, analysis, arm, tier["lines"]) for arm in arms}
             for tier in parameters["tiers"]]
    return top, tiers


@dataclass(frozen=True)
class _Box:
    x: float  # centre, inches
    top: float
    width: float
    text: str
    align: str = "center"

    @property
    def height(self) -> float:
        return _LINE * (self.text.count("\n") + 1) + 2 * _PAD

    @property
    def bottom(self) -> float:
        return self.top - self.height


#: Text size (pt) and line height, padding, vertical and horizontal gaps (inches). The
#: diagram is drawn at its page's printable width, so 8 pt text prints at 8 pt.
_FONT = 8
_LINE, _PAD, _GAP, _HGAP = 0.14, 0.07, 0.26, 0.25
#: The area drawn in outside a study's build (no page): a landscape Letter page's width,
#: and as tall as the boxes need.
_DEFAULT_AREA = (9.0, math.inf)
#: Measures text in matplotlib's default font, the font the diagram is drawn in.
_MEASURE = TextToPath()


def text_width(text: str) -> float:
    """The width (inches) of the widest line of ``text`` set at the diagram's font size."""
    prop = FontProperties(size=_FONT)
    return max(_MEASURE.get_text_width_height_descent(line or " ", prop, ismath=False)[0]
               for line in text.split("\n")) / 72.0



def wrap_to(text: str, width: float) -> str:
    """``text`` with every line longer than ``width`` inches broken at spaces; a broken
    line's continuation keeps its indentation and two spaces more."""
    out: list[str] = []
    for line in text.split("\n"):
        if text_width(line) <= width:
            out.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        words, current = line.split(), indent
        for word in words:
            trial = f"{current} {word}" if current.strip() else f"{current}{word}"
            if current.strip() and text_width(trial) > width:
                out.append(current)
                current = f"{indent}  {word}"
            else:
                current = trial
        out.append(current)
    return "\n".join(out)


@dataclass(frozen=True)
class _Plan:
    """Where the columns go: the x of each arm's chain of boxes and of its side boxes,
    the widths of both, and whether side boxes sit beside the chain."""

    main_x: dict[str, float]
    side_x: dict[str, float]
    main_w: float
    side_w: float
    beside: bool


def _plan(width: float, tiers: list[dict[str, str]], specs: Sequence[Mapping[str, Any]],
          arms: Sequence[str]) -> _Plan:
    """The columns of a diagram ``width`` inches wide.

    Two arms with side tiers take the classic CONSORT shape (side boxes outside the arms'
    columns) when every box then fits its text unbroken; otherwise (or with another
    number of arms) the columns share the width evenly and side boxes stay in their
    column, their lines broken at spaces where a column is narrower than its text.
    """
    def natural(side: bool) -> float:
        texts = [tier[arm] for tier, spec in zip(tiers, specs, strict=True)
                 for arm in arms if bool(spec.get("side")) == side]
        return max((text_width(t) for t in texts), default=0.0) + 2 * _PAD

    main_w, side_w = natural(False), natural(True)
    sides = any(spec.get("side") for spec in specs)
    if len(arms) == 2 and sides and 2 * (main_w + side_w) + 5 * _HGAP <= width:
        spare = (width - 2 * (main_w + side_w) - 5 * _HGAP) / 2
        left_side = spare + _HGAP + side_w / 2
        left_main = left_side + side_w / 2 + _HGAP + main_w / 2
        main = dict(zip(arms, (left_main, width - left_main), strict=True))
        side = dict(zip(arms, (left_side, width - left_side), strict=True))
        return _Plan(main, side, main_w, side_w, beside=True)
    step = width / max(len(arms), 1)
    column = min(max(main_w, side_w), step - _HGAP)
    main = {arm: step * (i + 0.5) for i, arm in enumerate(arms)}
    return _Plan(main, main, column, column, beside=False)


def _place(top: str, tiers: list[dict[str, str]], specs: Sequence[Mapping[str, Any]],
           arms: Sequence[str], width: float) -> tuple[list[_Box], list[tuple], float, _Plan]:
    """Boxes and arrows in inches from the top (y down to negative), the height, and the
    columns."""
    plan = _plan(width, tiers, specs, arms)
    rand = _Box(width / 2, -0.1, min(text_width(top) + 2 * _PAD + 0.4, width), top)
    y = rand.bottom - _GAP
    placed_tiers: list[dict[str, _Box]] = []
    for tier, spec in zip(tiers, specs, strict=True):
        side = bool(spec.get("side")) and plan.beside
        box_w = plan.side_w if side else plan.main_w
        boxes = {arm: _Box(plan.side_x[arm] if side else plan.main_x[arm], y, box_w,
                           wrap_to(tier[arm], box_w - 2 * _PAD),
                           "left" if spec.get("align") == "left" else "center")
                 for arm in arms}
        placed_tiers.append(boxes)
        y = min(b.bottom for b in boxes.values()) - _GAP
    placed, arrows = [rand], []
    for arm in arms:
        x = plan.main_x[arm]
        chain = [t[arm] for t, s in zip(placed_tiers, specs, strict=True)
                 if not (s.get("side") and plan.beside)]
        placed += [t[arm] for t in placed_tiers]
        # Top box -> first box: down from the centre, across, then down.
        if chain:
            arrows.append(((x, rand.bottom - _GAP / 2), (x, chain[0].top)))
        arrows += [((x, a.bottom), (x, b.top)) for a, b in zip(chain, chain[1:],
                                                              strict=False)]
        for t, s in zip(placed_tiers, specs, strict=True):
            if s.get("side") and plan.beside:
                box = t[arm]
                mid = box.top - box.height / 2
                edge = box.x + box.width / 2 if box.x < x else box.x - box.width / 2
                arrows.append(((x, mid), (edge, mid)))
    height = -min(b.bottom for b in placed) + 0.1
    return placed, arrows, height, plan


def draw_consort(top: str, tiers: list[dict[str, str]], specs: Sequence[Mapping[str, Any]],
                 arms: Sequence[str], area: tuple[float, float] = _DEFAULT_AREA,
                 name: str = "consort") -> object:
    """The diagram of :func:`consort_boxes`' texts, drawn ``area[0]`` inches wide (the
    printable width of its page) and as tall as its boxes need.

    Raises
    ------
    SpecError
        When the boxes need more height than ``area[1]`` at 8 pt: shrinking the
        diagram would print its text smaller than a reviewer can read.
    """
    width, room = area
    placed, arrows, height, plan = _place(top, tiers, specs, arms, width)
    if height > room + 1e-9:
        raise SpecError("outputs", f"{name}: the flow diagram needs {height:.2f} in of "
                        f"height at {_FONT} pt but its page leaves {room:.2f} in; set "
                        "'landscape' as the page allows, or declare fewer lines or notes")
    figure = new_figure(width, height)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(-height, 0)
    ax.axis("off")
    rand = placed[0]
    # The horizontal bar joining the top box to every arm.
    bar = rand.bottom - _GAP / 2
    ax.plot([width / 2, width / 2], [rand.bottom, bar], color="black", linewidth=0.9)
    ax.plot([min(plan.main_x.values()), max(plan.main_x.values())], [bar, bar],
            color="black", linewidth=0.9)
    for box in placed:
        ax.add_patch(Rectangle((box.x - box.width / 2, box.bottom), box.width, box.height,
                               facecolor="white", edgecolor="black", linewidth=0.9))
        x = box.x if box.align == "center" else box.x - box.width / 2 + _PAD
        # One text per line at its own baseline: lines step exactly _LINE apart.
        for i, line in enumerate(box.text.split("\n")):
            ax.text(x, box.top - _PAD - (i + 0.78) * _LINE, line, ha=box.align,
                    va="baseline", fontsize=_FONT)
    for start, end in arrows:
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.9,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 9})
    return figure


def layout_consort(spec: OutputSpec, ctx: Context) -> Figure:
    """The flow diagram of the spec's boxes (see the module docstring), drawn at its
    page's printable width (:func:`~tlf.outputs.figure_area`)."""
    params = spec.parameters
    top, tiers = consort_boxes(ctx.view, params)
    arms, _ = analysis_groups(ctx.view, params["analysis"])
    figure = draw_consort("\n".join(map(str, top)),
                          [{arm: "\n".join(map(str, t[arm])) for arm in arms} for t in tiers],
                          params["tiers"], arms, figure_area(ctx, spec, _DEFAULT_AREA),
                          spec.name)
    path = save_png(figure, ctx.out_dir / f"{spec.name}.png")
    trace = [("top", str(i + 1), line) for i, line in enumerate(top)]
    trace += [(f"tier {k + 1}, {arm}", str(i + 1), line) for k, tier in enumerate(tiers)
              for arm in arms for i, line in enumerate(tier[arm])]
    return Figure(title_block(spec), path, footnotes=spec.footnotes,
                  landscape=spec.landscape, trace=tuple(trace))


LAYOUTS = {"consort": layout_consort}
