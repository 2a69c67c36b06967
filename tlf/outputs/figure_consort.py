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

With two arms the side boxes sit outside the columns (the classic CONSORT shape); with
more, the columns are spread evenly and side boxes stay in their column. The box texts
come from :func:`consort_boxes`, a pure function of the ARD.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.patches import Rectangle

from tlf.analyses.base import TOTAL
from tlf.document import Figure
from tlf.outputs import At, Context, analysis_groups, save_png, title_block
from tlf.outputs.cells import ArdView, Text
from tlf.outputs.figure_km import new_figure
from tlf.spec import OutputSpec

__all__ = ["LAYOUTS", "PARAMETERS", "consort_boxes", "draw_consort", "layout_consort"]

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


_LINE, _PAD, _GAP, _FONT = 0.16, 0.09, 0.32, 8
_MAIN_W, _SIDE_W, _TOP_W = 3.1, 1.8, 2.0


def _columns(arms: Sequence[str]) -> tuple[float, dict[str, float], dict[str, float]]:
    """Page width and the x of each arm's main and side boxes."""
    if len(arms) == 2:
        return 11.0, dict(zip(arms, (3.75, 7.25), strict=True)), dict(
            zip(arms, (1.0, 10.0), strict=True))
    width = max(11.0, 3.5 * len(arms) + 0.5)
    step = width / max(len(arms), 1)
    main = {arm: step * (i + 0.5) for i, arm in enumerate(arms)}
    return width, main, main


def _place(top: str, tiers: list[dict[str, str]], specs: Sequence[Mapping[str, Any]],
           arms: Sequence[str]) -> tuple[list[_Box], list[tuple], float, float]:
    """Boxes and arrows in inches from the top (y down to negative), height and width."""
    width, main_x, side_x = _columns(arms)
    two = len(arms) == 2
    rand = _Box(width / 2, -0.1, _TOP_W, top)
    y = rand.bottom - _GAP
    placed_tiers: list[dict[str, _Box]] = []
    for tier, spec in zip(tiers, specs, strict=True):
        side = bool(spec.get("side")) and two
        boxes = {arm: _Box(side_x[arm] if side else main_x[arm], y,
                           _SIDE_W if side else _MAIN_W, tier[arm],
                           "left" if spec.get("align") == "left" else "center")
                 for arm in arms}
        placed_tiers.append(boxes)
        y = min(b.bottom for b in boxes.values()) - _GAP
    placed, arrows = [rand], []
    for arm in arms:
        x = main_x[arm]
        chain = [t[arm] for t, s in zip(placed_tiers, specs, strict=True)
                 if not (s.get("side") and two)]
        placed += [t[arm] for t in placed_tiers]
        # Top box -> first box: down from the centre, across, then down.
        if chain:
            arrows.append(((x, rand.bottom - _GAP / 2), (x, chain[0].top)))
        arrows += [((x, a.bottom), (x, b.top)) for a, b in zip(chain, chain[1:],
                                                              strict=False)]
        for t, s in zip(placed_tiers, specs, strict=True):
            if s.get("side") and two:
                box = t[arm]
                mid = box.top - box.height / 2
                edge = box.x + box.width / 2 if box.x < x else box.x - box.width / 2
                arrows.append(((x, mid), (edge, mid)))
    height = -min(b.bottom for b in placed) + 0.1
    return placed, arrows, height, width


def draw_consort(top: str, tiers: list[dict[str, str]], specs: Sequence[Mapping[str, Any]],
                 arms: Sequence[str]) -> object:
    """The diagram of :func:`consort_boxes`' texts."""
    placed, arrows, height, width = _place(top, tiers, specs, arms)
    _, main_x, _ = _columns(arms)
    figure = new_figure(width, height)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(-height, 0)
    ax.axis("off")
    rand = placed[0]
    # The horizontal bar joining the top box to every arm.
    bar = rand.bottom - _GAP / 2
    ax.plot([width / 2, width / 2], [rand.bottom, bar], color="black", linewidth=0.9)
    ax.plot([min(main_x.values()), max(main_x.values())], [bar, bar], color="black",
            linewidth=0.9)
    for box in placed:
        ax.add_patch(Rectangle((box.x - box.width / 2, box.bottom), box.width, box.height,
                               facecolor="white", edgecolor="black", linewidth=0.9))
        x = box.x if box.align == "center" else box.x - box.width / 2 + _PAD
        ax.text(x, box.top - _PAD, box.text, ha=box.align, va="top", fontsize=_FONT,
                linespacing=1.45)
    for start, end in arrows:
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.9,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 9})
    return figure


def layout_consort(spec: OutputSpec, ctx: Context) -> Figure:
    """The flow diagram of the spec's boxes (see the module docstring)."""
    params = spec.parameters
    top, tiers = consort_boxes(ctx.view, params)
    arms, _ = analysis_groups(ctx.view, params["analysis"])
    figure = draw_consort("\n".join(map(str, top)),
                          [{arm: "\n".join(map(str, t[arm])) for arm in arms} for t in tiers],
                          params["tiers"], arms)
    path = save_png(figure, ctx.out_dir / f"{spec.name}.png")
    trace = [("top", str(i + 1), line) for i, line in enumerate(top)]
    trace += [(f"tier {k + 1}, {arm}", str(i + 1), line) for k, tier in enumerate(tiers)
              for arm in arms for i, line in enumerate(tier[arm])]
    return Figure(title_block(spec), path, footnotes=spec.footnotes,
                  landscape=spec.landscape, trace=tuple(trace))


LAYOUTS = {"consort": layout_consort}
