"""Tables 14.2.4 and 14.2.10: best overall response, response rate and duration of
response (the publication's Table 2), on the ITT and on the FAS.

One layout, ``response``: its ``analysis`` parameter names the ARD analysis
(``table2_response`` or ``table2_response_fas``, :mod:`tlf.analyses.response`) and
the optional ``dor_analysis`` the ARD analysis whose Kaplan-Meier and Cox rows of PARAMCD
DOR (:mod:`tlf.analyses.tte`: ``table2_response`` on the ITT, ``dor_fas`` on the FAS)
make the duration-of-response block; without it the table has none. Column N is the analysis's
measurable-disease population, read from the ARD's BOR denominators.
"""

from __future__ import annotations

from tlf.analyses import ARMS, COMPARISON
from tlf.document import Column, Row, Table
from tlf.format import est, est_ci, median_ci, n_pct
from tlf.outputs import Context, title_block
from tlf.spec import OutputSpec

#: BOR rows: ARD level -> label, in the publication's order.
BOR_ROWS: dict[str, str] = {
    "CR": "Complete response (CR)", "PR": "Partial response (PR)",
    "SD": "Stable disease (SD)", "PD": "Progressive disease (PD)",
    "unknown": "Unknown (NE)", "missing": "Missing",
}


def layout_response(spec: OutputSpec, ctx: Context) -> Table:
    """BOR n (%), ORR n (%) with Clopper-Pearson limits, the Woolf odds ratio and,
    optionally, the duration of response."""
    analysis = spec.parameter("analysis")
    view = ctx.view
    big_n = {arm: view.count(analysis, arm, "BOR", "N", "CR") for arm in ARMS}
    columns = [Column("label", "", width=3.0)] + [
        Column(arm, f"{arm}\n(N={big_n[arm]})", align="center") for arm in ARMS] + [
        Column("cmp", COMPARISON, align="center")]

    def arm_cells(stat: str, decimals: int) -> list[str]:
        return [est(view.value(analysis, arm, "ORR", stat), decimals) for arm in ARMS]

    def ratio(variable: str, prefix: str, source: str = analysis) -> str:
        return est_ci(*(view.value(source, COMPARISON, variable, f"{prefix}{s}")
                        for s in ("", "_lcl", "_ucl")), 3)

    rows = [Row.section("Best overall response, n (%)")]
    rows += [Row((label, *(n_pct(view.count(analysis, arm, "BOR", "n", level), big_n[arm])
                           for arm in ARMS), ""), indent=1)
             for level, label in BOR_ROWS.items()]
    rows += [
        Row.section("Overall response rate (CR + PR)"),
        Row(("Subjects with a known best response, n", *arm_cells("N", 0), ""), indent=1),
        Row(("Responders, n (%)",
             *(n_pct(view.count(analysis, arm, "ORR", "n"), view.count(analysis, arm, "ORR", "N"))
               for arm in ARMS), ""), indent=1),
        Row(("95% CI",
             *(f"({lcl}, {ucl})" for lcl, ucl in zip(arm_cells("lcl", 1), arm_cells("ucl", 1),
                                                     strict=True)), ""), indent=1),
        Row(("One-sided 95% upper limit", *arm_cells("upper_1s", 1), ""), indent=1),
        Row(("Odds ratio (95% CI)", "", "", ratio("ORR", "or")), indent=1),
        Row(("Odds ratio, one-sided 95% upper limit", "", "",
             est(view.value(analysis, COMPARISON, "ORR", "or_upper_1s"), 3)), indent=1),
    ]
    dor_analysis = spec.parameter("dor_analysis", None)
    if dor_analysis:
        rows += [
            Row.section("Duration of response (CR + PR), months"),
            Row(("n", *(est(view.value(dor_analysis, arm, "DOR", "n"), 0) for arm in ARMS),
                 ""), indent=1),
            Row(("Events, n (%)",
                 *(n_pct(view.count(dor_analysis, arm, "DOR", "events"),
                         view.count(dor_analysis, arm, "DOR", "n")) for arm in ARMS), ""),
                indent=1),
            Row(("Median (95% CI)",
                 *(median_ci(*(view.value(dor_analysis, arm, "DOR", s)
                               for s in ("median", "median_lcl", "median_ucl")))
                   for arm in ARMS), ""), indent=1),
        ]
        for model, label in (("unstratified", "Unstratified"), ("stratified", "Stratified")):
            rows += [
                Row((f"{label} hazard ratio (95% CI)", "", "",
                     ratio(model, "hr", dor_analysis)), indent=1),
                Row((f"{label} hazard ratio, one-sided 95% upper limit", "", "",
                     est(view.value(dor_analysis, COMPARISON, model, "hr_upper_1s"), 3)),
                    indent=1),
            ]
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


LAYOUTS = {"response": layout_response}
