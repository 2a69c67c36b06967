"""Tables 14.1.2-14.1.4: baseline characteristics (ITT, FAS) and follow-up.

Table 14.1.2 is the publication's Table 1 on the ITT population and 14.1.3 the same
rows on the FAS (its sensitivity analysis, Tables S8-S10): one layout, ``baseline``,
whose ``analysis`` parameter names the ARD analysis (``table1_baseline`` or
``table1_baseline_fas``) and ``population`` the ARD population of the column headers.
Table 14.1.4 (layout ``follow_up``) gives the median follow-up as the publication
reports it (observed OS times of all subjects, Wilcoxon p) and by reverse Kaplan-Meier.
Every number is an ARD row; the layouts only choose and format them.
"""

from __future__ import annotations

from tlf.analyses import ARMS, COMPARISON
from tlf.document import Column, Row, Table
from tlf.format import est, median_ci, n_pct, pvalue
from tlf.outputs import ArdView, Context, title_block
from tlf.spec import OutputSpec

#: Table 1 blocks in the publication's order: (heading, ARD variable, levels), a level
#: being (ARD level, row label). A block without levels is one row, labelled by its
#: heading.
TABLE1_BLOCKS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("ECOG performance status, n (%)", "ecog_ps", (("0", "0"), ("1, 2", "1, 2"))),
    ("Estrogen receptor, n (%)", "estrogen_receptor",
     (("positive", "Positive"), ("negative", "Negative"))),
    ("Visceral disease involvement, n (%)", "visceral_disease", ()),
    ("Location of metastatic site, n (%)", "metastatic_site",
     (("lung", "Lung"), ("liver", "Liver"), ("bone", "Bone"), ("brain", "Brain"))),
    ("Measurable disease, n (%)", "measurable_disease", ()),
    ("Number of previous CT regimens, n (%)", "previous_ct_regimens",
     (("2", "2"), ("3", "3"), ("4", "4"), ("5", "5"))),
    ("Duration of previous pertuzumab exposure as first-line therapy [a], days, n (%)",
     "prior_pertuzumab_first_line_days", (("<180", "<180"), (">=180", "\u2265180"))),
    ("Duration of previous pertuzumab exposure as second-line therapy, days, n (%)",
     "prior_pertuzumab_second_line_days", (("<120", "<120"), (">=120", "\u2265120"))),
    ("Previous exposure to anti-HER2 therapy for LA/MBC [a], n (%)",
     "prior_anti_her2_for_la_mbc",
     (("pertuzumab", "Pertuzumab"), ("trastuzumab", "Trastuzumab"), ("t_dm1", "T-DM1"),
      ("lapatinib", "Lapatinib"), ("others", "Others"))),
    ("T-DM1 as the latest regimen before randomisation, n (%)", "tdm1_latest_regimen", ()),
)

_FOLLOW_UP = "follow_up_months"
_OBSERVED = "OS AVAL (months)"
_REVERSE = "reverse_km"


def count_cell(view: ArdView, analysis: str, group: str, variable: str,
               level: str = "") -> str:
    """``"n (pct)"`` of one ARD count row, the percentage of its own N."""
    return n_pct(view.count(analysis, group, variable, "n", level),
                 view.count(analysis, group, variable, "N", level))


def range_cell(view: ArdView, analysis: str, group: str, variable: str) -> str:
    """``"57.0 (27, 81)"``: median with one decimal more than the data, min and max."""
    def value(stat: str) -> float:
        return view.value(analysis, group, variable, stat)
    return f"{est(value('median'), 1)} ({est(value('min'), 0)}, {est(value('max'), 0)})"


def _group_columns(view: ArdView, population: str, first: str) -> list[Column]:
    groups = (*ARMS, "Total")
    return [Column("label", first, width=3.2)] + [
        Column(g, f"{g}\n(N={view.population_n(population, g)})", align="center")
        for g in groups]


def layout_baseline(spec: OutputSpec, ctx: Context) -> Table:
    """Table 1 rows per arm and in total: age median (min, max), then n (%)."""
    analysis = spec.parameter("analysis")
    view = ctx.view
    columns = _group_columns(view, spec.parameter("population"), "Characteristic")
    groups = [c.key for c in columns[1:]]
    rows = [Row.section("Age (years)"),
            Row(("n", *(est(view.value(analysis, g, "age_years", "n"), 0) for g in groups)),
                indent=1),
            Row(("Median (min, max)",
                 *(range_cell(view, analysis, g, "age_years") for g in groups)), indent=1)]
    for heading, variable, levels in TABLE1_BLOCKS:
        if not levels:
            rows.append(Row((heading, *(count_cell(view, analysis, g, variable)
                                        for g in groups))))
            continue
        rows.append(Row.section(heading))
        rows += [Row((label, *(count_cell(view, analysis, g, variable, level)
                               for g in groups)), indent=1)
                 for level, label in levels]
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


def layout_follow_up(spec: OutputSpec, ctx: Context) -> Table:
    """Median follow-up: observed OS times (median (Q1, Q3), Wilcoxon p) and reverse
    Kaplan-Meier (median (95% CI), quartiles), per arm and in total."""
    view = ctx.view
    columns = [*_group_columns(view, spec.parameter("population"), "Follow-up (months)"),
               Column("p", "p-value", width=0.8, align="center")]
    groups = [c.key for c in columns[1:-1]]

    def cells(variable: str, stat: str, decimals: int) -> list[str]:
        return [est(view.value(_FOLLOW_UP, g, variable, stat), decimals) for g in groups]

    def quartiles(variable: str) -> list[str]:
        return [f"{est(view.value(_FOLLOW_UP, g, variable, 'q1'), 1)}, "
                f"{est(view.value(_FOLLOW_UP, g, variable, 'q3'), 1)}" for g in groups]

    observed_p = pvalue(view.value(_FOLLOW_UP, COMPARISON, _OBSERVED, "p_2s"))
    rows = [
        Row.section("Observed follow-up (OS time of every subject)"),
        Row(("n", *cells(_OBSERVED, "n", 0), ""), indent=1),
        Row(("Median (Q1, Q3)",
             *(f"{est(view.value(_FOLLOW_UP, g, _OBSERVED, 'median'), 1)} ({q})"
               for g, q in zip(groups, quartiles(_OBSERVED), strict=True)),
             observed_p), indent=1),
        Row.section("Reverse Kaplan-Meier"),
        Row(("n", *cells(_REVERSE, "n", 0), ""), indent=1),
        Row(("Censored for OS, n (%)",
             *(n_pct(view.count(_FOLLOW_UP, g, _REVERSE, "censored"),
                     view.count(_FOLLOW_UP, g, _REVERSE, "n")) for g in groups), ""),
            indent=1),
        Row(("Median (95% CI)",
             *(median_ci(*(view.value(_FOLLOW_UP, g, _REVERSE, s)
                           for s in ("median", "median_lcl", "median_ucl")))
               for g in groups), ""), indent=1),
        Row(("Q1, Q3", *quartiles(_REVERSE), ""), indent=1),
    ]
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


LAYOUTS = {"baseline": layout_baseline, "follow_up": layout_follow_up}
