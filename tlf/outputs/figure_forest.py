"""Forest plot of a hazard ratio by subgroup, from a ``subgroups`` analysis.

The layout ``forest`` draws the ARD rows of :mod:`tlf.analyses.subgroups`: one line per
subgroup level with events/n of the comparison's two arms and the hazard ratio (95 % CI)
as text and as a point with its interval on a log scale, the whole population first.
Which subgroups appear, in which order and under which labels is the spec's business::

    parameters:
      analysis: efs_subgroups
      comparison: null                  # "A vs B"; default the analysis's first
      overall: All patients             # label of the whole-population line
      subgroups:
        - variable: AGEGR1              # ARD group2
          label: Age, years             # header line
          levels: {"<65": "<65", ">=65": "≥65"}   # ARD group2_level -> printed label
      x_limits: [0.1, 10]

The printed strings come from :func:`forest_lines`, a pure function of the ARD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tlf.document import Figure
from tlf.outputs import At, Context, comparisons_of, figure_area, save_png, title_block
from tlf.outputs.cells import ArdView, Text, cat
from tlf.outputs.figure_km import new_figure
from tlf.spec import OutputSpec
from trialflow.errors import SpecError

__all__ = ["LAYOUTS", "PARAMETERS", "ForestLine", "draw_forest", "forest_lines",
           "layout_forest"]

PARAMETERS: dict[str, dict[str, Any]] = {"forest": {
    "analysis": {"type": "string", "required": True},
    "comparison": {"type": "string", "nullable": True, "default": None},
    "overall": {"type": "string", "default": "All subjects"},
    "x_limits": {"type": "list", "minlength": 2, "maxlength": 2,
                 "schema": {"type": "number", "min": 0.0001}, "default": [0.1, 10]},
    "hr_decimals": {"type": "integer", "min": 0, "default": 2},
    "subgroups": {"type": "list", "required": True, "schema": {"type": "dict", "schema": {
        "variable": {"type": "string", "required": True},
        "label": {"type": "string", "required": True},
        "levels": {"type": "dict", "required": True, "valuesrules": {"type": "string"}},
    }}},
}}


@dataclass(frozen=True)
class ForestLine:
    """One line of the forest plot: a subgroup header (no numbers) or a level.

    Attributes
    ----------
    label : str
    header : bool
        A variable's header line, printed bold with nothing else.
    counts : tuple of str
        ``"events/n"`` of the comparison's two arms (empty for a header).
    hr_text : str
        ``"0.76 (0.57, 1.01)"`` (empty for a header).
    hr, lcl, ucl : float
        What the point and whisker are drawn at (NaN: not drawn).
    """

    label: str
    header: bool = False
    counts: tuple[Text | str, ...] = ()
    hr_text: Text | str = ""
    hr: float = math.nan
    lcl: float = math.nan
    ucl: float = math.nan


def _comparison(view: ArdView, analysis: str, given: str | None) -> str:
    """The comparison drawn: the given one, else the analysis's first."""
    if given:
        return given
    found = comparisons_of(view, analysis)
    if not found:
        raise SpecError("outputs", f"a forest plot of {analysis} needs a comparison of two "
                        "arms; the analysis has none")
    return found[0]


def _parameter(view: ArdView, analysis: str) -> str:
    found = view.rows(analysis, stat_name="events")
    return str(found["variable"].iloc[0]) if len(found) else ""


def _level_line(view: ArdView, analysis: str, comparison: str, group2: str, level: str,
                label: str, decimals: int) -> ForestLine:
    param = _parameter(view, analysis)
    arms = comparison.split(" vs ")
    at = At(analysis, "", param, "", group2, level)
    counts = tuple(cat(view.text(at.but(group=arm), "events", 0), "/",
                       view.text(at.but(group=arm), "n", 0)) for arm in arms)
    cmp = at.but(group=comparison)
    hr, lcl, ucl = (view.value(cmp, stat) for stat in ("hr", "hr_lcl", "hr_ucl"))
    text = view.fill(f"{{hr:{decimals}}} ({{hr_lcl:{decimals}}}, {{hr_ucl:{decimals}}})", cmp)
    return ForestLine(label, False, counts, text, hr, lcl, ucl)


def forest_lines(view: ArdView, analysis: str, subgroups: Sequence[Mapping[str, Any]],
                 overall: str = "All subjects", comparison: str | None = None,
                 decimals: int = 2) -> list[ForestLine]:
    """The lines of the forest plot, top to bottom, from the ARD.

    Parameters
    ----------
    view : ArdView
    analysis : str
        The ARD analysis (family ``subgroups``).
    subgroups : sequence of mapping
        Each with ``variable``, ``label`` and ``levels`` (ARD level -> printed label).
    overall : str
        Label of the whole-population line (ARD ``group2`` empty).
    comparison : str, optional
        The comparison drawn (``"A vs B"``); default the analysis's first.
    decimals : int
        Decimals of the hazard ratio and its limits.

    Returns
    -------
    list of ForestLine
    """
    comparison = _comparison(view, analysis, comparison)
    lines = [_level_line(view, analysis, comparison, "", "", overall, decimals)]
    for group in subgroups:
        lines.append(ForestLine(str(group["label"]), header=True))
        lines += [_level_line(view, analysis, comparison, str(group["variable"]), str(level),
                              str(label), decimals)
                  for level, label in group["levels"].items()]
    return lines


def draw_forest(lines: Sequence[ForestLine], x_limits: tuple[float, float],
                arms: Sequence[str], area: tuple[float, float] | None = None) -> object:
    """The text columns and the log-scale hazard-ratio panel of ``lines``; ``arms`` are
    the comparison's two arms (test first). ``area`` is the width and height (inches)
    it may fill: its lines close up (to 0.17 in, a 9 pt line) to fit the height."""
    width, most = area or (10.0, 1.2 + 0.26 * len(lines))
    height = max(min(1.2 + 0.26 * len(lines), most), 1.2 + 0.17 * len(lines))
    figure = new_figure(width, height)
    grid = figure.add_gridspec(1, 2, width_ratios=(1.55, 1.0), wspace=0.02, left=0.01,
                               right=0.98, top=1 - 0.55 / height, bottom=0.75 / height)
    text_ax, plot_ax = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    for ax in (text_ax, plot_ax):
        ax.set_ylim(len(lines) - 0.5, -0.5)
    text_ax.set_xlim(0, 1)
    text_ax.axis("off")
    columns = {"Subgroup": 0.0, f"{arms[0]}\nevents/n": 0.50,
               f"{arms[1]}\nevents/n": 0.65, "HR (95% CI)": 0.86}
    for header, x in columns.items():
        text_ax.text(x, -0.7, header, ha="left" if x == 0 else "center", va="bottom",
                     fontsize=9, fontweight="bold")
    low, high = x_limits
    for y, line in enumerate(lines):
        if line.header:
            text_ax.text(0.0, y, line.label, va="center", fontsize=9, fontweight="bold")
            continue
        indent = 0.0 if y == 0 else 0.03
        text_ax.text(indent, y, line.label, va="center", fontsize=9,
                     fontweight="bold" if y == 0 else "normal")
        for x, count in zip(list(columns.values())[1:3], line.counts, strict=True):
            text_ax.text(x, y, str(count), ha="center", va="center", fontsize=9)
        text_ax.text(0.86, y, str(line.hr_text), ha="center", va="center", fontsize=9)
        if math.isfinite(line.hr):
            # Whiskers beyond the axis stop at its edge with an arrow head.
            lo, hi = max(line.lcl, low), min(line.ucl, high)
            plot_ax.plot([lo, hi], [y, y], color="black", linewidth=1.0)
            for end, edge, marker in ((line.lcl, low, "<"), (line.ucl, high, ">")):
                if end < low or end > high:
                    plot_ax.plot([edge], [y], marker=marker, color="black", markersize=4)
            plot_ax.plot([line.hr], [y], marker="D" if y == 0 else "s",
                         markersize=7 if y == 0 else 5, color="#1f4e79")
    plot_ax.set_xscale("log")
    plot_ax.set_xlim(low, high)
    ticks = [t for t in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0) if low <= t <= high]
    plot_ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    plot_ax.minorticks_off()
    plot_ax.set_yticks([])
    plot_ax.axvline(1.0, color="black", linewidth=0.8)
    if math.isfinite(lines[0].hr):
        plot_ax.axvline(lines[0].hr, color="#1f4e79", linewidth=0.8, linestyle=":")
    plot_ax.spines[["top", "right", "left"]].set_visible(False)
    plot_ax.set_xlabel(f"Hazard ratio (95% CI)\n\u2190 {arms[0]} better    "
                       f"{arms[1]} better \u2192", fontsize=9)
    return figure


def layout_forest(spec: OutputSpec, ctx: Context) -> Figure:
    """The forest plot of one subgroup analysis (see the module docstring)."""
    analysis = spec.parameter("analysis")
    comparison = _comparison(ctx.view, analysis, spec.parameter("comparison", None))
    lines = forest_lines(ctx.view, analysis, spec.parameter("subgroups"),
                         spec.parameter("overall", "All subjects"), comparison,
                         int(spec.parameter("hr_decimals", 2)))
    low, high = spec.parameter("x_limits", [0.1, 10.0])
    figure = draw_forest(lines, (float(low), float(high)), comparison.split(" vs "),
                         figure_area(ctx, spec, (10.0, 1.2 + 0.26 * len(lines))))
    path = save_png(figure, ctx.out_dir / f"{spec.name}.png")
    trace: list[tuple[str, str, str]] = []
    for i, line in enumerate(lines):
        row = f"{i + 1}: {line.label}"
        trace += [(row, f"{arm} events/n", count)
                  for arm, count in zip(comparison.split(" vs "), line.counts, strict=False)]
        if not line.header:
            trace.append((row, "HR (95% CI)", line.hr_text))
    return Figure(title_block(spec), path, footnotes=spec.footnotes,
                  landscape=spec.landscape, trace=tuple(trace))


LAYOUTS = {"forest": layout_forest}
