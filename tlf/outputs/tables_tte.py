"""Time-to-event summary table of one analysis of the ``tte`` family, any number of arms.

Parameters::

    analysis: efs_itt                  # the ARD analysis
    header_n: population               # column N: the population's, or "subjects" in
                                       # the analysis (responders for a DoR)
    time_label: Time to event (months) # heading of the Kaplan-Meier block
    time_decimals: 1
    rate_decimals: 1
    hr_decimals: 3

Per arm: subjects; events n (%) and by type (EVNTDESC); censored n (%) and by reason
(CNSDTDSC); the median and quartiles with their 95 % CIs; the event-free rate at each
landmark of the analysis. Then, per comparison and model (stratified first, when the
analysis has strata, then unstratified), the hazard ratio with its CI, the one-sided
upper limit and the log-rank p-values, in the column of the comparison's first arm.
Every number is an ARD row of the analysis, formatted here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tlf.document import Column, Row, Table
from tlf.format import NE
from tlf.outputs import (
    At,
    Context,
    analysis_groups,
    comparisons_of,
    header_text,
    title_block,
)
from tlf.outputs.cells import ArdView, Text
from tlf.spec import OutputSpec

__all__ = ["LAYOUTS", "PARAMETERS", "layout_tte_summary"]

PARAMETERS: dict[str, dict[str, Any]] = {"tte_summary": {
    "analysis": {"type": "string", "required": True},
    "header_n": {"type": "string", "allowed": ["population", "subjects"],
                 "default": "population"},
    "time_label": {"type": "string", "default": "Time to event"},
    "time_decimals": {"type": "integer", "min": 0, "default": 1},
    "rate_decimals": {"type": "integer", "min": 0, "default": 1},
    "hr_decimals": {"type": "integer", "min": 0, "default": 3},
    "rate_unit": {"type": "string", "nullable": True, "default": None},
}}
#: Model headings, in display order: ARD variable_level -> heading.
MODELS: dict[str, str] = {"stratified": "Stratified analysis",
                          "unstratified": "Unstratified analysis"}

Cell = Callable[[str], str]


def _variable(view: ArdView, analysis: str) -> str:
    """The parameter of the analysis: the variable of its per-arm ``n`` rows."""
    found = view.rows(analysis, stat_name="events")
    return str(found["variable"].iloc[0]) if len(found) else ""


def layout_tte_summary(spec: OutputSpec, ctx: Context) -> Table:
    """Time-to-event summary of one ARD analysis (see the module docstring)."""
    view = ctx.view
    analysis = spec.parameter("analysis")
    arms, _ = analysis_groups(view, analysis)
    param = _variable(view, analysis)
    here = At(analysis, "", param)
    t_dec = int(spec.parameter("time_decimals", 1))
    r_dec = int(spec.parameter("rate_decimals", 1))
    h_dec = int(spec.parameter("hr_decimals", 3))
    by_subjects = spec.parameter("header_n", "population") == "subjects"
    columns = [Column("label", "", width=2.6)] + [
        Column(arm, header_text(view, analysis, arm,
                                stat_at=here.but(group=arm) if by_subjects else None,
                                stat="n" if by_subjects else "N"), align="center")
        for arm in arms]

    def per_arm(label: str, cell: Cell, indent: int = 1) -> Row:
        cells = [cell(arm) if view.has(here.but(group=arm), "n") else NE for arm in arms]
        return Row((label, *cells), indent=indent)

    rows = [per_arm("Subjects, n", lambda a: view.text(here.but(group=a), "n", 0), 0)]
    for label, stat, pct, by in (("Subjects with event, n (%)", "events", "pct", "EVNTDESC"),
                                 ("Subjects censored, n (%)", "censored", "censored_pct",
                                  "CNSDTDSC")):
        rows.append(per_arm(label, lambda a, s=stat, p=pct: view.text(
            here.but(group=a), s, f"npct({p})"), 0))
        types = view.levels(At(analysis, arms[0] if arms else "", by))
        rows += [Row((level, *(view.text(At(analysis, arm, by, level), "n", "npct")
                               if view.has(At(analysis, arm, by, level), "n") else NE
                               for arm in arms)), indent=1)
                 for level in types]

    def quantile(stat: str) -> Cell:
        def cell(arm: str) -> Text | str:
            at = here.but(group=arm)
            if view.has(at, f"{stat}_lcl"):
                return view.fill(f"{{{stat}:{t_dec}}} ({{{stat}_lcl:{t_dec}}}, "
                                 f"{{{stat}_ucl:{t_dec}}})", at)
            return view.text(at, stat, t_dec)
        return cell

    rows += [Row.section(spec.parameter("time_label", "Time to event")),
             per_arm("Median (95% CI)", quantile("median")),
             per_arm("25th percentile (95% CI)", quantile("q1")),
             per_arm("75th percentile (95% CI)", quantile("q3"))]
    landmarks = [lv for lv in view.levels(here.but(group=arms[0] if arms else ""), "rate")]
    if landmarks:
        unit = spec.parameter("rate_unit", None) or _unit(ctx, analysis)
        rows.append(Row.section("Event-free rate, % (95% CI)"))
        rows += [per_arm(f"At {t} {unit}", lambda a, t=t: view.fill(
            f"{{rate:{r_dec}}} ({{rate_lcl:{r_dec}}}, {{rate_ucl:{r_dec}}})",
            At(analysis, a, param, t))) for t in landmarks]
    for cmp in comparisons_of(view, analysis):
        test = cmp.split(" vs ")[0]
        slot = arms.index(test) if test in arms else 0
        for model, heading in MODELS.items():
            at = At(analysis, cmp, param, model)
            if not view.has(at, "hr"):
                continue

            def line(label: str, cell: Text | str, slot: int = slot) -> Row:
                cells: list[Text | str] = [""] * len(arms)
                cells[slot] = cell
                return Row((label, *cells), indent=1)

            rows += [Row.section(f"{heading} ({cmp})"),
                     line("Hazard ratio (95% CI)",
                          view.fill(f"{{hr:{h_dec}}} ({{hr_lcl:{h_dec}}}, {{hr_ucl:{h_dec}}})",
                                    at)),
                     line("Upper limit of one-sided 95% CI", view.text(at, "hr_upper_1s",
                                                                       h_dec)),
                     line("Log-rank p-value, one-sided", view.text(at, "p_1s", "p")),
                     line("Log-rank p-value, two-sided", view.text(at, "p_2s", "p"))]
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


def _unit(ctx: Context, analysis: str) -> str:
    """The time unit the analysis declares (``days`` when unknown)."""
    if ctx.plan is not None and analysis in ctx.plan.analyses:
        return str(ctx.plan.analyses[analysis].option("time_unit", "days"))
    return "days"


LAYOUTS = {"tte_summary": layout_tte_summary}
