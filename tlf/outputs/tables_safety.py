"""Tables 14.3.1 and 14.3.2: exposure and the adverse-event summary (the publication's
Table 3), safety population by randomised arm.

Layouts ``exposure`` (ARD analysis ``exposure``: cycles of HER2-antibody treatment,
treatment duration, chemotherapy received) and ``ae_summary`` (ARD analysis
``table3_safety``: subjects with each kind of adverse event and with each adverse event
of special interest, Fisher p-values). Every number is an ARD row.
"""

from __future__ import annotations

from tlf.analyses import ARMS, COMPARISON
from tlf.document import Column, Row, Table
from tlf.format import est, n_pct, pvalue
from tlf.outputs import ArdView, Context, title_block
from tlf.spec import OutputSpec

_EXPOSURE = "exposure"
_SAFETY = "table3_safety"
#: Continuous exposure summaries: ARD variable -> heading.
EXPOSURE_VARIABLES: dict[str, str] = {
    "cycles": "Cycles of HER2-antibody treatment",
    "duration_days": "Treatment duration (days)",
}
#: Table 3 summary rows: ARD variable -> label, in the publication's order.
AE_ROWS: dict[str, str] = {
    "grade3_plus": "Grade \u22653 AE",
    "serious": "Serious AE",
    "death_due_to_ae": "Death due to AE",
    "discontinuation_due_to_ae": "Treatment discontinuation due to AE",
    "dose_reduction_due_to_grade3_ae":
        "Dose reduction of chemotherapeutic agents due to grade \u22653 AE",
    "lvef_decline": "LVEF decline (<50% or \u226515% reduction from baseline)",
}
#: Adverse events of special interest: ARD variable -> label.
SPECIAL_INTEREST_ROWS: dict[str, str] = {
    "stomatitis": "Stomatitis",
    "diarrhea": "Diarrhea",
    "neutropenia": "Neutropenia",
    "febrile_neutropenia": "Febrile neutropenia",
    "infusion_reaction": "Infusion reaction",
    "cardiac_dysfunction": "Cardiac dysfunction",
    "skin_and_subcutaneous": "Skin and subcutaneous disorder",
}
#: Grade levels of an adverse event of special interest: ARD level -> label.
GRADE_LEVELS: dict[str, str] = {"all grades": "All grades", "grade >=3": "Grade \u22653"}


def _count(view: ArdView, analysis: str, group: str, variable: str, level: str = "") -> str:
    return n_pct(view.count(analysis, group, variable, "n", level),
                 view.count(analysis, group, variable, "N", level))


def continuous_rows(view: ArdView, variable: str, groups: list[str]) -> list[Row]:
    """n, mean (SD), median, Q1, Q3, min, max of one exposure variable of whole numbers:
    mean and median with one decimal, SD with two."""
    def value(group: str, stat: str, decimals: int) -> str:
        return est(view.value(_EXPOSURE, group, variable, stat), decimals)
    lines = {
        "n": [value(g, "n", 0) for g in groups],
        "Mean (SD)": [f"{value(g, 'mean', 1)} ({value(g, 'sd', 2)})" for g in groups],
        "Median": [value(g, "median", 1) for g in groups],
        "Q1, Q3": [f"{value(g, 'q1', 1)}, {value(g, 'q3', 1)}" for g in groups],
        "Min, max": [f"{value(g, 'min', 0)}, {value(g, 'max', 0)}" for g in groups],
    }
    return [Row((label, *cells), indent=1) for label, cells in lines.items()]


def layout_exposure(spec: OutputSpec, ctx: Context) -> Table:
    """Cycles and duration of treatment, and the chemotherapy received, per arm and in
    total."""
    view = ctx.view
    groups = [*ARMS, "Total"]
    columns = [Column("label", "", width=2.6)] + [
        Column(g, f"{g}\n(N={view.population_n('safety', g)})", align="center")
        for g in groups]
    rows: list[Row] = []
    for variable, heading in EXPOSURE_VARIABLES.items():
        rows += [Row.section(heading), *continuous_rows(view, variable, groups)]
    # The chemotherapy levels are the ARD's, in its (codelist) order.
    levels = view.rows(_EXPOSURE, group="Total", variable="chemotherapy_received",
                       stat="n")["level"]
    rows.append(Row.section("Chemotherapy received, n (%)"))
    rows += [Row((level.capitalize(),
                  *(_count(view, _EXPOSURE, g, "chemotherapy_received", level)
                    for g in groups)), indent=1) for level in levels]
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


def layout_ae_summary(spec: OutputSpec, ctx: Context) -> Table:
    """Subjects with each kind of AE and each AE of special interest (all grades, grade
    >= 3), n (%) per arm, with the two-sided Fisher exact p-value."""
    view = ctx.view
    columns = [Column("label", "AEs, n (%)", width=3.2)] + [
        Column(arm, f"{arm}\n(N={view.population_n('safety', arm)})", align="center")
        for arm in ARMS] + [Column("p", "p-value", width=0.8, align="center")]

    def line(label: str, variable: str, level: str = "", indent: int = 0) -> Row:
        return Row((label, *(_count(view, _SAFETY, arm, variable, level) for arm in ARMS),
                    pvalue(view.value(_SAFETY, COMPARISON, variable, "p_2s", level))),
                   indent=indent)

    rows = [line(label, variable) for variable, label in AE_ROWS.items()]
    rows.append(Row.section("AEs of special interest, n (%)"))
    for variable, label in SPECIAL_INTEREST_ROWS.items():
        rows.append(Row((label, "", "", ""), indent=1))
        rows += [line(grade, variable, level, indent=2) for level, grade in GRADE_LEVELS.items()]
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


LAYOUTS = {"exposure": layout_exposure, "ae_summary": layout_ae_summary}
