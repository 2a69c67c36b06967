"""Tables 14.2.x: time-to-event summaries (PFS, OS, DoR, TTD), one layout for them all.

The layout ``tte_summary`` is parameterised by its spec:

* ``analysis``: the ARD analysis (:data:`tlf.analyses.tte.TTE_ANALYSES`), e.g. ``pfs_itt``;
* ``paramcd``: the ADTTE parameter, the ARD ``variable`` of the per-arm rows;
* ``population`` (optional): the ARD population whose N heads the arm columns (``itt``,
  ``fas``, ...); without it the header N is the analysis's own number of subjects (a
  subset such as responders, which has no population of its own);
* ``time_label`` (optional): the heading of the Kaplan-Meier block.

It prints, per arm: subjects; events n (%) and by type (EVNTDESC); censored n (%) and
by reason (CNSDTDSC); the Kaplan-Meier median and quartiles with 95 % CIs; event-free
rates; then the stratified and unstratified hazard ratios and log-rank p-values in the
test arm's column. Every number is an ARD row of the analysis, formatted here.
"""

from __future__ import annotations

from collections.abc import Callable

from tlf.analyses import ARMS, COMPARISON
from tlf.analyses.tte import RATE_MONTHS
from tlf.document import Column, Row, Table
from tlf.format import NE, est, est_ci, median_ci, n_pct, pvalue
from tlf.outputs import ArdView, Context, arm_columns_n, title_block
from tlf.spec import OutputSpec

#: Decimals of times (months), rates (%) and hazard ratios.
TIME_DECIMALS = 1
RATE_DECIMALS = 1
HR_DECIMALS = 3
#: Comparison models in display order: ARD ``variable`` -> heading.
MODELS: dict[str, str] = {
    "stratified": f"Stratified analysis ({COMPARISON})",
    "unstratified": f"Unstratified analysis ({COMPARISON})",
}


def _headers(view: ArdView, analysis: str, paramcd: str, population: str | None
             ) -> dict[str, str]:
    if population is not None:
        return arm_columns_n(view, population)
    return {arm: f"{arm}\n(N={view.count(analysis, arm, paramcd)})" for arm in ARMS}


Cell = Callable[[str], str]


def _per_arm(view: ArdView, analysis: str, paramcd: str, label: str, cell: Cell,
             indent: int = 1) -> Row:
    """A row with ``cell(arm)`` in each arm's column (NE for an arm the ARD lacks)."""
    cells = [cell(arm) if view.has(analysis, arm, paramcd, "n") else NE for arm in ARMS]
    return Row((label, *cells), indent=indent)


def _counts(view: ArdView, analysis: str, paramcd: str) -> list[Row]:
    """Subjects, events and censored, each with its breakdown by type."""
    def n(arm: str) -> int:
        return view.count(analysis, arm, paramcd)

    out = [_per_arm(view, analysis, paramcd, "Subjects, n", lambda a: str(n(a)), 0)]
    for label, stat, by in (("Subjects with event, n (%)", "events", "EVNTDESC"),
                            ("Subjects censored, n (%)", "censored", "CNSDTDSC")):
        out.append(_per_arm(view, analysis, paramcd, label,
                            lambda a, s=stat: n_pct(view.count(analysis, a, paramcd, s),
                                                    n(a)), 0))
        types = view.rows(analysis, group=ARMS[0], variable=by, stat="n")["level"]
        out += [Row((level, *(n_pct(view.count(analysis, arm, by, "n", level), n(arm))
                              if view.has(analysis, arm, by, "n", level) else NE
                              for arm in ARMS)), indent=1)
                for level in types]
    return out


def _km(view: ArdView, analysis: str, paramcd: str, time_label: str) -> list[Row]:
    """Median and quartiles with their CIs, and event-free rates."""
    def value(arm: str, stat: str) -> float:
        return view.value(analysis, arm, paramcd, stat)

    def quantile(stat: str) -> Cell:
        def cell(arm: str) -> str:
            if view.has(analysis, arm, paramcd, f"{stat}_lcl"):
                return est_ci(value(arm, stat), value(arm, f"{stat}_lcl"),
                              value(arm, f"{stat}_ucl"), TIME_DECIMALS)
            return est(value(arm, stat), TIME_DECIMALS)
        return cell

    out = [Row.section(time_label),
           _per_arm(view, analysis, paramcd, "Median (95% CI)",
                    lambda a: median_ci(value(a, "median"), value(a, "median_lcl"),
                                        value(a, "median_ucl"), TIME_DECIMALS)),
           _per_arm(view, analysis, paramcd, "25th percentile (95% CI)", quantile("q1")),
           _per_arm(view, analysis, paramcd, "75th percentile (95% CI)", quantile("q3"))]
    months = [m for m in RATE_MONTHS if view.has(analysis, ARMS[0], paramcd, f"rate_{m}m")]
    if months:
        out.append(Row.section("Event-free rate, % (95% CI)"))
        out += [_per_arm(view, analysis, paramcd, f"At {m} months",
                         lambda a, m=m: est_ci(value(a, f"rate_{m}m"),
                                               value(a, f"rate_{m}m_lcl"),
                                               value(a, f"rate_{m}m_ucl"), RATE_DECIMALS))
                for m in months]
    return out


def _comparisons(view: ArdView, analysis: str) -> list[Row]:
    """Hazard ratios and log-rank p-values, in the test arm's column; NE without a model."""
    out: list[Row] = []
    for model, heading in MODELS.items():
        def get(stat: str, model: str = model) -> float | None:
            return (view.value(analysis, COMPARISON, model, stat)
                    if view.has(analysis, COMPARISON, model, stat) else None)

        blank = ("",) * (len(ARMS) - 1)
        out += [Row.section(heading),
                Row(("Hazard ratio (95% CI)",
                     est_ci(get("hr"), get("hr_lcl"), get("hr_ucl"), HR_DECIMALS), *blank),
                    indent=1),
                Row(("Upper limit of one-sided 95% CI", est(get("hr_upper_1s"), HR_DECIMALS),
                     *blank), indent=1),
                Row(("Log-rank p-value, one-sided", pvalue(get("p_1s")), *blank), indent=1),
                Row(("Log-rank p-value, two-sided", pvalue(get("p_2s")), *blank), indent=1)]
    return out


def layout_tte_summary(spec: OutputSpec, ctx: Context) -> Table:
    """Time-to-event summary of one ARD analysis (see the module docstring)."""
    analysis = spec.parameter("analysis")
    paramcd = spec.parameter("paramcd")
    population = spec.parameter("population", None)
    time_label = spec.parameter("time_label", "Time to event (months)")
    view = ctx.view
    headers = _headers(view, analysis, paramcd, population)
    columns = [Column("label", "", width=2.6)] + [
        Column(arm, headers[arm], align="center") for arm in ARMS]
    rows = [*_counts(view, analysis, paramcd), *_km(view, analysis, paramcd, time_label),
            *_comparisons(view, analysis)]
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


LAYOUTS = {"tte_summary": layout_tte_summary}
