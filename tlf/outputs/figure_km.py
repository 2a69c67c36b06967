"""Kaplan-Meier figures (Figures 14.2.1-14.2.3 and 14.2.5; paper Figures 2A-2C and 4).

One layout, ``km``, draws every Kaplan-Meier figure from ARD rows only: the step curves,
censor marks and numbers at risk of :mod:`tlf.analyses.km_curves`, and the medians,
hazard ratio and log-rank p of :mod:`tlf.analyses.tte`. The spec's parameters say which
analysis and which comparison rows the figure annotates, because the publication reports
a different test per end-point::

    parameters:
      analysis: pfs_itt          # ARD analysis id
      paramcd: PFS               # ARD variable of the per-arm rows
      hr_model: unstratified     # ARD variable of the hazard ratio rows
      p_model: stratified        # ARD variable of the log-rank p row
      p_stat: p_1s               # p_1s (one-sided, PTC better) or p_2s
      hr_decimals: 2             # decimals of the hazard ratio
      ci_decimals: 3             # decimals of its confidence limits
      upper_1s: true             # also print the one-sided 95 % upper limit
      y_label: Progression-free survival probability

The printed strings come from :func:`km_annotation` and :func:`km_legend`, pure
functions of the ARD that the tests check directly.
"""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from tlf.analyses import ARMS, COMPARISON
from tlf.document import Figure
from tlf.format import est, median_ci, pvalue
from tlf.outputs import ArdView, Context, save_png, title_block
from tlf.spec import OutputSpec

#: Line colour and style of each arm (distinguishable in greyscale too).
ARM_STYLE: dict[str, dict[str, str]] = {
    "PTC": {"color": "#1f4e79", "linestyle": "-"},
    "TC": {"color": "#c00000", "linestyle": "--"},
}
_P_TEST = {("stratified", "p_1s"): "Stratified log-rank test, one-sided",
           ("stratified", "p_2s"): "Stratified log-rank test, two-sided",
           ("unstratified", "p_1s"): "Log-rank test, one-sided",
           ("unstratified", "p_2s"): "Log-rank test, two-sided"}


def new_figure(width: float, height: float) -> MplFigure:
    """A matplotlib figure on an Agg canvas (no pyplot, no global backend state)."""
    figure = MplFigure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def p_text(p: float) -> str:
    """``"p = 0.022"``, or ``"p <0.001"`` when the formatted p is a bound."""
    text = pvalue(p)
    return f"p {text}" if text[0] in "<>" else f"p = {text}"


def km_legend(view: ArdView, analysis: str, paramcd: str) -> dict[str, str]:
    """The legend label of each arm, ``"PTC (n = 108; events = 90)"``."""
    return {arm: f"{arm} (n = {view.count(analysis, arm, paramcd, 'n')}; events = "
                 f"{view.count(analysis, arm, paramcd, 'events')})"
            for arm in ARMS}


def km_annotation(view: ArdView, analysis: str, paramcd: str, *,
                  hr_model: str = "unstratified", p_model: str = "unstratified",
                  p_stat: str = "p_1s", hr_decimals: int = 2, ci_decimals: int = 2,
                  upper_1s: bool = True) -> list[str]:
    """The lines printed beside the curves: medians, hazard ratio and log-rank p.

    Parameters
    ----------
    view : ArdView
    analysis, paramcd : str
        ARD analysis id and the variable of its per-arm rows.
    hr_model, p_model : {"unstratified", "stratified"}
        The ARD comparison rows whose hazard ratio and p-value are printed.
    p_stat : {"p_1s", "p_2s"}
    hr_decimals, ci_decimals : int
        Decimals of the hazard ratio and of its limits.
    upper_1s : bool
        Print the one-sided 95 % upper limit after the two-sided interval.

    Returns
    -------
    list of str
        E.g. ``["Median (95% CI), months", "PTC: 5.3 (4.0, 6.6)", "TC: 4.2 (3.2, 4.8)",
        "HR 0.76 (95% CI 0.566, 1.013)", "One-sided 95% upper limit 0.967",
        "Stratified log-rank test, one-sided", "p = 0.022"]``.
    """
    def v(group: str, variable: str, stat: str) -> float:
        return view.value(analysis, group, variable, stat)

    lines = ["Median (95% CI), months"]
    lines += [f"{arm}: " + median_ci(v(arm, paramcd, "median"), v(arm, paramcd, "median_lcl"),
                                     v(arm, paramcd, "median_ucl"))
              for arm in ARMS]
    lines.append(f"HR {est(v(COMPARISON, hr_model, 'hr'), hr_decimals)} (95% CI "
                 f"{est(v(COMPARISON, hr_model, 'hr_lcl'), ci_decimals)}, "
                 f"{est(v(COMPARISON, hr_model, 'hr_ucl'), ci_decimals)})")
    if upper_1s:
        lines.append("One-sided 95% upper limit "
                     + est(v(COMPARISON, hr_model, "hr_upper_1s"), ci_decimals))
    lines += [_P_TEST[(p_model, p_stat)], p_text(v(COMPARISON, p_model, p_stat))]
    return lines


def _points(view: ArdView, analysis: str, arm: str, paramcd: str,
            prefix: str) -> tuple[list[float], list[float]]:
    """The ``<prefix>_time`` and ``<prefix>_surv`` values of one arm, in level order."""
    def series(stat: str) -> list[float]:
        found = view.rows(analysis, group=arm, variable=paramcd, stat=stat)
        return found.sort_values("level")["value"].tolist()
    return series(f"{prefix}_time"), series(f"{prefix}_surv")


def at_risk_table(view: ArdView, analysis: str, paramcd: str) -> dict[str, dict[int, int]]:
    """Numbers at risk per arm and month tick (the ARD ``at_risk`` rows)."""
    table: dict[str, dict[int, int]] = {}
    for arm in ARMS:
        found = view.rows(analysis, group=arm, variable=paramcd, stat="at_risk")
        table[arm] = dict(zip(found["level"].astype(int), found["value"].astype(int),
                              strict=True))
    return table


def draw_km(view: ArdView, analysis: str, paramcd: str, annotation: list[str],
            y_label: str, x_label: str) -> MplFigure:
    """The Kaplan-Meier plot, its numbers-at-risk table and the annotation panel."""
    figure = new_figure(10.0, 6.0)
    grid = figure.add_gridspec(2, 2, height_ratios=(4.2, 1.0), width_ratios=(3.0, 1.0),
                               hspace=0.32, wspace=0.05, left=0.1, right=0.98, top=0.97,
                               bottom=0.05)
    ax = figure.add_subplot(grid[0, 0])
    risk = at_risk_table(view, analysis, paramcd)
    # An arm without subjects has no at-risk rows; with none at all, draw an empty axis.
    ticks = sorted(set().union(*(risk[arm] for arm in ARMS))) or [0]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 3
    right = ticks[-1] + step
    legend = km_legend(view, analysis, paramcd)
    for arm in ARMS:
        times, surv = _points(view, analysis, arm, paramcd, "curve")
        ax.step(times, surv, where="post", linewidth=1.4, label=legend[arm], **ARM_STYLE[arm])
        c_times, c_surv = _points(view, analysis, arm, paramcd, "censor")
        ax.plot(c_times, c_surv, linestyle="none", marker="+", markersize=7,
                markeredgewidth=1.0, color=ARM_STYLE[arm]["color"])
    ax.set_xlim(0, right)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ticks)
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
    side.text(0.05, 0.98, "\n".join(annotation), transform=side.transAxes, va="top",
              ha="left", fontsize=9, linespacing=1.5)

    table = figure.add_subplot(grid[1, 0], sharex=ax)
    table.set_ylim(-0.5, len(ARMS) - 0.5)
    table.axis("off")
    table.set_title("Number at risk", loc="left", fontsize=9)
    for row, arm in enumerate(ARMS):
        y = len(ARMS) - 1 - row
        # The arm's name sits left of the axis, whatever the time scale.
        table.text(-0.03, y, arm, ha="right", va="center", fontsize=9,
                   color=ARM_STYLE[arm]["color"], transform=table.get_yaxis_transform())
        for tick in ticks:
            table.text(tick, y, str(risk[arm].get(tick, 0)), ha="center", va="center", fontsize=9)
    return figure


def layout_km(spec: OutputSpec, ctx: Context) -> Figure:
    """A Kaplan-Meier figure of one time-to-event analysis (see the module docstring)."""
    analysis, paramcd = spec.parameter("analysis"), spec.parameter("paramcd")
    annotation = km_annotation(
        ctx.view, analysis, paramcd,
        hr_model=spec.parameter("hr_model", "unstratified"),
        p_model=spec.parameter("p_model", "unstratified"),
        p_stat=spec.parameter("p_stat", "p_1s"),
        hr_decimals=int(spec.parameter("hr_decimals", 2)),
        ci_decimals=int(spec.parameter("ci_decimals", 2)),
        upper_1s=bool(spec.parameter("upper_1s", True)))
    figure = draw_km(ctx.view, analysis, paramcd, annotation,
                     spec.parameter("y_label", "Survival probability"),
                     spec.parameter("x_label", "Months since randomisation"))
    path = save_png(figure, ctx.out_dir / f"{spec.name}.png")
    return Figure(title_block(spec), path, footnotes=spec.footnotes,
                  landscape=spec.landscape)


LAYOUTS = {"km": layout_km}
