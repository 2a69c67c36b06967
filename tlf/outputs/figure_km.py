"""Kaplan-Meier figures of any ``tte`` analysis with curves, any number of arms.

One layout, ``km``, draws the step curves, censor marks and numbers at risk of the
analysis (ARD rows ``curve_*``, ``censor_*``, ``at_risk``; the at-risk times are the
analysis's ``curve`` ticks) and prints beside them the medians, and per comparison the
hazard ratio and log-rank p the spec names, because publications report different
tests per end-point::

    parameters:
      analysis: efs_itt          # ARD analysis id (family tte, with curve)
      hr_model: unstratified     # ARD variable_level of the hazard ratio rows
      p_model: stratified        # ARD variable_level of the log-rank p row
      p_stat: p_1s               # p_1s (one-sided, first arm better) or p_2s
      hr_decimals: 2             # decimals of the hazard ratio
      ci_decimals: 3             # decimals of its confidence limits
      upper_1s: true             # also print the one-sided 95 % upper limit
      y_label: Event-free survival probability
      x_label: Months since randomisation
      arm_labels: {Xanomeline High Dose: Xan High}   # shorter names in the figure

Arms are drawn in display order with the styles of :data:`ARM_STYLES` (distinguishable
in greyscale too). The printed strings come from :func:`km_annotation` and
:func:`km_legend`, pure functions of the ARD that the tests check directly; every
number printed is traced to its ARD row (:attr:`tlf.document.Figure.trace`).
"""

from __future__ import annotations

from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from tlf.document import Figure
from tlf.outputs import (
    At,
    Context,
    analysis_groups,
    comparisons_of,
    figure_area,
    save_png,
    title_block,
)
from tlf.outputs.cells import ArdView, Text, cat
from tlf.spec import OutputSpec

__all__ = ["ARM_STYLES", "LAYOUTS", "PARAMETERS", "arm_style", "at_risk_table", "draw_km",
           "km_annotation", "km_legend", "layout_km", "new_figure", "p_text"]

#: Line colour and style of the arms in display order (distinguishable in greyscale).
ARM_STYLES: tuple[dict[str, str], ...] = (
    {"color": "#1f4e79", "linestyle": "-"},
    {"color": "#c00000", "linestyle": "--"},
    {"color": "#548235", "linestyle": "-."},
    {"color": "#7f6000", "linestyle": ":"},
    {"color": "#7030a0", "linestyle": (0, (5, 1, 1, 1))},
    {"color": "#404040", "linestyle": (0, (1, 1))},
)
PARAMETERS: dict[str, dict[str, Any]] = {"km": {
    "analysis": {"type": "string", "required": True},
    "hr_model": {"type": "string", "allowed": ["unstratified", "stratified"],
                 "default": "unstratified"},
    "p_model": {"type": "string", "allowed": ["unstratified", "stratified"],
                "default": "unstratified"},
    "p_stat": {"type": "string", "allowed": ["p_1s", "p_2s"], "default": "p_1s"},
    "hr_decimals": {"type": "integer", "min": 0, "default": 2},
    "ci_decimals": {"type": "integer", "min": 0, "default": 2},
    "time_decimals": {"type": "integer", "min": 0, "default": 1},
    "upper_1s": {"type": "boolean", "default": True},
    "comparisons": {"type": "boolean", "default": True},
    "time_unit": {"type": "string", "nullable": True, "default": None},
    "y_label": {"type": "string", "default": "Survival probability"},
    "x_label": {"type": "string", "default": "Time"},
    "arm_labels": {"type": "dict", "default": {}, "valuesrules": {"type": "string"}},
}}
_P_TEST = {("stratified", "p_1s"): "Stratified log-rank test, one-sided",
           ("stratified", "p_2s"): "Stratified log-rank test, two-sided",
           ("unstratified", "p_1s"): "Log-rank test, one-sided",
           ("unstratified", "p_2s"): "Log-rank test, two-sided"}


def new_figure(width: float, height: float) -> MplFigure:
    """A matplotlib figure on an Agg canvas (no pyplot, no global backend state)."""
    figure = MplFigure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def arm_style(index: int) -> dict[str, Any]:
    """The line style of the arm at ``index`` of the display order (cycling)."""
    return ARM_STYLES[index % len(ARM_STYLES)]


def p_text(p: Text | str) -> Text:
    """``"p = 0.022"``, or ``"p <0.001"`` when the formatted p is a bound."""
    return cat("p ", p) if str(p)[:1] in "<>" else cat("p = ", p)


def _parameter(view: ArdView, analysis: str) -> str:
    found = view.rows(analysis, stat_name="events")
    return str(found["variable"].iloc[0]) if len(found) else ""


def km_legend(view: ArdView, analysis: str,
              labels: dict[str, str] | None = None) -> dict[str, Text]:
    """The legend label of each arm, ``"Placebo (n = 86; events = 50)"`` (``labels``:
    a shorter name per arm)."""
    arms, _ = analysis_groups(view, analysis)
    param = _parameter(view, analysis)
    labels = labels or {}
    return {arm: cat(labels.get(arm, arm), " (n = ",
                     view.text(At(analysis, arm, param), "n", 0), "; events = ",
                     view.text(At(analysis, arm, param), "events", 0), ")")
            for arm in arms}


def km_annotation(view: ArdView, analysis: str, *, hr_model: str = "unstratified",
                  p_model: str = "unstratified", p_stat: str = "p_1s",
                  hr_decimals: int = 2, ci_decimals: int = 2, upper_1s: bool = True,
                  time_decimals: int = 1, time_unit: str = "months",
                  comparisons: bool = True,
                  labels: dict[str, str] | None = None) -> list[Text | str]:
    """The lines printed beside the curves: medians, hazard ratios and log-rank p.

    Parameters
    ----------
    view : ArdView
    analysis : str
        ARD analysis id.
    hr_model, p_model : {"unstratified", "stratified"}
        The ARD comparison rows whose hazard ratio and p-value are printed.
    p_stat : {"p_1s", "p_2s"}
    hr_decimals, ci_decimals : int
        Decimals of the hazard ratio and of its limits.
    upper_1s : bool
        Print the one-sided 95 % upper limit after the two-sided interval.
    time_decimals : int
        Decimals of the medians.
    time_unit : str
        The unit of the medians, printed in the heading.
    comparisons : bool
        Print the comparisons (hazard ratio and p) at all.
    labels : dict, optional
        A shorter name per arm (the ARD's level otherwise).

    Returns
    -------
    list of str
        E.g. ``["Median (95% CI), months", "Drug: 5.3 (4.0, 6.6)", "Placebo: 4.2 (3.2, 4.8)",
        "HR 0.76 (95% CI 0.566, 1.013)", "One-sided 95% upper limit 0.967",
        "Stratified log-rank test, one-sided", "p = 0.022"]``; with several
        comparisons each hazard ratio has a line naming its comparison (``"HR A vs B"``)
        before its value line (``"0.76 (95% CI 0.566, 1.013)"``).
    """
    arms, _ = analysis_groups(view, analysis)
    param = _parameter(view, analysis)
    labels = labels or {}
    d = time_decimals
    lines: list[Text | str] = [f"Median (95% CI), {time_unit}"]
    lines += [cat(f"{labels.get(arm, arm)}: ",
                  view.fill(f"{{median:{d}}} ({{median_lcl:{d}}}, {{median_ucl:{d}}})",
                            At(analysis, arm, param)))
              for arm in arms]
    found = comparisons_of(view, analysis) if comparisons else []
    for cmp in found:
        hr_at, p_at = At(analysis, cmp, param, hr_model), At(analysis, cmp, param, p_model)
        name = "HR "
        if len(found) > 1:
            # Several comparisons: a line naming each, its hazard ratio on the next.
            test, ref = cmp.split(" vs ", 1)
            lines.append(f"HR {labels.get(test, test)} vs {labels.get(ref, ref)}")
            name = ""
        lines.append(cat(name, view.text(hr_at, "hr", hr_decimals), " (95% CI ",
                         view.text(hr_at, "hr_lcl", ci_decimals), ", ",
                         view.text(hr_at, "hr_ucl", ci_decimals), ")"))
        if upper_1s:
            lines.append(cat("One-sided 95% upper limit ",
                             view.text(hr_at, "hr_upper_1s", ci_decimals)))
        test = ("Stratified log-rank test" if p_model == "stratified" else "Log-rank test")
        side = "one-sided" if p_stat == "p_1s" else "two-sided"
        lines += [f"{test}, {side}", p_text(view.text(p_at, p_stat, "p"))]
    return lines


def _points(view: ArdView, analysis: str, arm: str, prefix: str
            ) -> tuple[list[float], list[float]]:
    """The ``<prefix>_time`` and ``<prefix>_surv`` values of one arm, in level order."""
    def series(stat: str) -> list[float]:
        found = view.rows(analysis, group1_level=arm, stat_name=stat)
        return found.sort_values("variable_level")["stat"].tolist()
    return series(f"{prefix}_time"), series(f"{prefix}_surv")


def at_risk_table(view: ArdView, analysis: str) -> dict[str, dict[float, Text]]:
    """Numbers at risk per arm and time (the ARD ``at_risk`` rows), as printed."""
    arms, _ = analysis_groups(view, analysis)
    table: dict[str, dict[float, Text]] = {}
    for arm in arms:
        found = view.rows(analysis, group1_level=arm, stat_name="at_risk")
        table[arm] = {float(level): view.text(At(analysis, arm, str(variable), level),
                                              "at_risk", 0)
                      for level, variable in zip(found["variable_level"], found["variable"],
                                                 strict=True)}
    return table


def _tick_text(tick: float) -> str:
    return str(int(tick)) if float(tick).is_integer() else f"{tick:g}"


def draw_km(view: ArdView, analysis: str, annotation: list[Text | str], y_label: str,
            x_label: str, labels: dict[str, str] | None = None,
            area: tuple[float, float] | None = None
            ) -> tuple[MplFigure, list[tuple[str, str, str]]]:
    """The Kaplan-Meier plot, its numbers-at-risk table and the annotation panel, and
    the trace of every printed text with numbers (``labels``: a shorter name per arm).

    ``area`` is the width and height (inches) it may fill (the page's printable area):
    drawn at that size, it prints at 100 % and its 9 pt text stays 9 pt."""
    arms, _ = analysis_groups(view, analysis)
    labels = labels or {}
    extra = 0.25 * max(0, len(arms) - 2)
    width, most = area or (10.0, 6.0 + extra)
    figure = new_figure(width, min(most, 0.6 * width + extra))
    grid = figure.add_gridspec(2, 2, height_ratios=(4.2, 1.0 + 0.25 * max(0, len(arms) - 2)),
                               # The annotation panel keeps 2.7 in: its longest line
                               # ("Stratified log-rank test, one-sided") at 9 pt.
                               width_ratios=(max(width * 0.88 - 2.7, 2.7), 2.7),
                               hspace=0.32, wspace=0.05, left=0.1, right=0.98, top=0.97,
                               bottom=0.05)
    ax = figure.add_subplot(grid[0, 0])
    risk = at_risk_table(view, analysis)
    # An arm without subjects has no at-risk rows; with none at all, draw an empty axis.
    ticks = sorted(set().union(*(risk[arm] for arm in arms))) or [0.0]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    right = ticks[-1] + step
    legend = km_legend(view, analysis, labels)
    trace: list[tuple[str, str, str]] = [("legend", arm, legend[arm]) for arm in arms]
    for i, arm in enumerate(arms):
        style = arm_style(i)
        times, surv = _points(view, analysis, arm, "curve")
        ax.step(times, surv, where="post", linewidth=1.4, label=str(legend[arm]), **style)
        c_times, c_surv = _points(view, analysis, arm, "censor")
        ax.plot(c_times, c_surv, linestyle="none", marker="+", markersize=7,
                markeredgewidth=1.0, color=style["color"])
    ax.set_xlim(0, right)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ticks, [_tick_text(t) for t in ticks])
    ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.plot([], [], linestyle="none", marker="+", markersize=7, color="black",
            label="Censored")
    ax.legend(loc="upper right", frameon=False, fontsize=9)

    side = figure.add_subplot(grid[0, 1])
    side.axis("off")
    side.text(0.05, 0.98, "\n".join(str(line) for line in annotation),
              transform=side.transAxes, va="top", ha="left", fontsize=9, linespacing=1.5)
    trace += [("annotation", str(i + 1), line) for i, line in enumerate(annotation)]

    table = figure.add_subplot(grid[1, 0], sharex=ax)
    table.set_ylim(-0.5, len(arms) - 0.5)
    table.axis("off")
    table.set_title("Number at risk", loc="left", fontsize=9)
    for row, arm in enumerate(arms):
        y = len(arms) - 1 - row
        # The arm's name sits left of the axis, whatever the time scale.
        table.text(-0.03, y, labels.get(arm, arm), ha="right", va="center", fontsize=9,
                   color=arm_style(row)["color"], transform=table.get_yaxis_transform())
        for tick in ticks:
            shown = risk[arm].get(tick, "0")
            table.text(tick, y, str(shown), ha="center", va="center", fontsize=9)
            trace.append(("at risk", f"{arm} @ {_tick_text(tick)}", shown))
    return figure, trace


def layout_km(spec: OutputSpec, ctx: Context) -> Figure:
    """A Kaplan-Meier figure of one time-to-event analysis (see the module docstring)."""
    analysis = spec.parameter("analysis")
    unit = spec.parameter("time_unit", None)
    if unit is None and ctx.plan is not None and analysis in ctx.plan.analyses:
        unit = ctx.plan.analyses[analysis].option("time_unit", "days")
    annotation = km_annotation(
        ctx.view, analysis,
        hr_model=spec.parameter("hr_model", "unstratified"),
        p_model=spec.parameter("p_model", "unstratified"),
        p_stat=spec.parameter("p_stat", "p_1s"),
        hr_decimals=int(spec.parameter("hr_decimals", 2)),
        ci_decimals=int(spec.parameter("ci_decimals", 2)),
        upper_1s=bool(spec.parameter("upper_1s", True)),
        time_decimals=int(spec.parameter("time_decimals", 1)),
        time_unit=unit or "days",
        comparisons=bool(spec.parameter("comparisons", True)),
        labels=spec.parameter("arm_labels", {}))
    figure, trace = draw_km(ctx.view, analysis, annotation,
                            spec.parameter("y_label", "Survival probability"),
                            spec.parameter("x_label", "Time"),
                            spec.parameter("arm_labels", {}),
                            figure_area(ctx, spec, (10.0, 7.0)))
    path = save_png(figure, ctx.out_dir / f"{spec.name}.png")
    return Figure(title_block(spec), path, footnotes=spec.footnotes,
                  landscape=spec.landscape, trace=tuple(trace))


LAYOUTS = {"km": layout_km}
