"""Forest plot of the PFS hazard ratio by subgroup (Figure 14.2.4; paper Figure 3).

The layout ``forest`` draws the ARD rows of :mod:`tlf.analyses.subgroups` (analysis
``pfs_subgroups``): one line per subgroup level with events/n per arm and the hazard
ratio (95 % CI) as text and as a point with its interval on a log scale, the overall ITT
line first. Which subgroups appear, in which order and under which labels is the spec's
business::

    parameters:
      analysis: pfs_subgroups
      overall: All patients             # label of the whole-population line
      subgroups:
        - variable: AGEGR1              # ARD variable
          label: Age, years             # header line
          levels: {"<65": "<65", ">=65": "≥65"}   # ARD level -> printed label
      x_limits: [0.1, 10]

The printed strings come from :func:`forest_lines`, a pure function of the ARD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tlf.analyses import ARMS, COMPARISON
from tlf.document import Figure
from tlf.format import est_ci
from tlf.outputs import ArdView, Context, save_png, title_block
from tlf.outputs.figure_km import new_figure
from tlf.spec import OutputSpec

#: The ARD variable of the whole-population line.
OVERALL = "Overall"


@dataclass(frozen=True)
class ForestLine:
    """One line of the forest plot: a subgroup header (no numbers) or a level.

    Attributes
    ----------
    label : str
    header : bool
        A variable's header line, printed bold with nothing else.
    counts : tuple of str
        ``"events/n"`` per arm of :data:`ARMS` (empty for a header).
    hr_text : str
        ``"0.76 (0.57, 1.01)"`` (empty for a header).
    hr, lcl, ucl : float
        What the point and whisker are drawn at (NaN: not drawn).
    """

    label: str
    header: bool = False
    counts: tuple[str, ...] = ()
    hr_text: str = ""
    hr: float = math.nan
    lcl: float = math.nan
    ucl: float = math.nan


def _level_line(view: ArdView, analysis: str, variable: str, level: str,
                label: str) -> ForestLine:
    counts = tuple(f"{view.count(analysis, arm, variable, 'events', level)}/"
                   f"{view.count(analysis, arm, variable, 'n', level)}" for arm in ARMS)
    hr, lcl, ucl = (view.value(analysis, COMPARISON, variable, stat, level)
                    for stat in ("hr", "hr_lcl", "hr_ucl"))
    return ForestLine(label, False, counts, est_ci(hr, lcl, ucl, 2), hr, lcl, ucl)


def forest_lines(view: ArdView, analysis: str, subgroups: Sequence[Mapping[str, Any]],
                 overall: str = "All patients") -> list[ForestLine]:
    """The lines of the forest plot, top to bottom, from the ARD.

    Parameters
    ----------
    view : ArdView
    analysis : str
        The ARD analysis (``pfs_subgroups``).
    subgroups : sequence of mapping
        Each with ``variable``, ``label`` and ``levels`` (ARD level -> printed label).
    overall : str
        Label of the whole-population line (ARD variable :data:`OVERALL`).

    Returns
    -------
    list of ForestLine
    """
    lines = [_level_line(view, analysis, OVERALL, "", overall)]
    for group in subgroups:
        lines.append(ForestLine(str(group["label"]), header=True))
        lines += [_level_line(view, analysis, str(group["variable"]), str(level), str(label))
                  for level, label in group["levels"].items()]
    return lines


def draw_forest(lines: Sequence[ForestLine], x_limits: tuple[float, float]) -> object:
    """The text columns and the log-scale hazard-ratio panel of ``lines``."""
    height = 1.2 + 0.26 * len(lines)
    figure = new_figure(10.0, height)
    grid = figure.add_gridspec(1, 2, width_ratios=(1.55, 1.0), wspace=0.02, left=0.01,
                               right=0.98, top=1 - 0.55 / height, bottom=0.75 / height)
    text_ax, plot_ax = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    for ax in (text_ax, plot_ax):
        ax.set_ylim(len(lines) - 0.5, -0.5)
    text_ax.set_xlim(0, 1)
    text_ax.axis("off")
    columns = {"Subgroup": 0.0, f"{ARMS[0]}\nevents/n": 0.50,
               f"{ARMS[1]}\nevents/n": 0.65, "HR (95% CI)": 0.86}
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
            text_ax.text(x, y, count, ha="center", va="center", fontsize=9)
        text_ax.text(0.86, y, line.hr_text, ha="center", va="center", fontsize=9)
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
    plot_ax.set_xlabel(f"Hazard ratio (95% CI)\n\u2190 {ARMS[0]} better    "
                       f"{ARMS[1]} better \u2192", fontsize=9)
    return figure


def layout_forest(spec: OutputSpec, ctx: Context) -> Figure:
    """The forest plot of one subgroup analysis (see the module docstring)."""
    lines = forest_lines(ctx.view, spec.parameter("analysis"), spec.parameter("subgroups"),
                         spec.parameter("overall", "All patients"))
    low, high = spec.parameter("x_limits", [0.1, 10.0])
    figure = draw_forest(lines, (float(low), float(high)))
    path = save_png(figure, ctx.out_dir / f"{spec.name}.png")
    return Figure(title_block(spec), path, footnotes=spec.footnotes,
                  landscape=spec.landscape)


LAYOUTS = {"forest": layout_forest}
