"""Tables 14.3.3-14.3.5: TEAEs by SOC and PT (any grade, by maximum grade) and deaths.

The rows come from the ARD analyses of :mod:`tlf.analyses.ae_catalog` in the order the
analysis gives them (overall, then system organ classes and their preferred terms by
descending frequency); the layouts only format the counts. Layouts:

* ``ae_soc_pt``: subjects n (%) per arm and in total;
* ``ae_soc_pt_grade``: subjects n (%) by maximum CTCAE grade, per arm (landscape);
* ``deaths``: deaths by cause and by timing against the last dose.

Spec parameter ``population`` (default ``safety``; ``itt`` for deaths) names the ARD
population whose N heads the arm columns.
"""

from __future__ import annotations

import pandas as pd

from tlf.analyses import ARMS
from tlf.analyses.ae_catalog import ANY, GRADES, GROUPS
from tlf.document import Column, ColumnGroup, Row, Table
from tlf.format import n_pct
from tlf.outputs import ArdView, Context, arm_columns_n, title_block
from tlf.spec import OutputSpec

#: The label of the overall row.
ANY_LABEL = "Any TEAE"
_TERM_HEADER = "System organ class\n  Preferred term"


def _wide(view: ArdView, analysis: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The analysis's items in ARD (display) order, and their values by (group, stat)."""
    frame = view.rows(analysis)
    items = frame[["variable", "level"]].drop_duplicates().reset_index(drop=True)
    wide = frame.pivot_table(index=["variable", "level"], columns=["group", "stat"],
                             values="value", aggfunc="first", dropna=False)
    return items, wide


def _cell(wide: pd.DataFrame, item: tuple[str, str], group: str, n: str = "n") -> str:
    return n_pct(int(wide.at[item, (group, n)]), int(wide.at[item, (group, "N")]))


def _headers(ctx: Context, spec: OutputSpec, analysis: str, variable: str,
             default: str) -> dict[str, str]:
    """``PTC\\n(N=105)`` per arm from the population, and Total from the analysis's N."""
    headers = arm_columns_n(ctx.view, spec.parameter("population", default))
    total = ctx.view.count(analysis, "Total", variable, "N")
    return {**headers, "Total": f"Total\n(N={total})"}


def _term_label(item: tuple[str, str]) -> tuple[str, int]:
    """The printed label and indent of an item: overall, a SOC, or a PT under its SOC."""
    variable, level = item
    if variable == ANY:
        return ANY_LABEL, 0
    return (level, 1) if level else (variable, 0)


def layout_ae_soc_pt(spec: OutputSpec, ctx: Context) -> Table:
    """Subjects with a TEAE by SOC and PT, n (%) per arm and in total."""
    items, wide = _wide(ctx.view, "ae_soc_pt")
    headers = _headers(ctx, spec, "ae_soc_pt", ANY, "safety")
    columns = [Column("label", _TERM_HEADER, width=3.0)] + [
        Column(g, headers[g], align="center") for g in GROUPS]
    rows = []
    for item in items.itertuples(index=False, name=None):
        label, indent = _term_label(item)
        rows.append(Row((label, *(_cell(wide, item, g) for g in GROUPS)), indent=indent))
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


def layout_ae_soc_pt_grade(spec: OutputSpec, ctx: Context) -> Table:
    """Subjects with a TEAE by SOC, PT and maximum CTCAE grade, n (%) per arm."""
    items, wide = _wide(ctx.view, "ae_soc_pt_grade")
    headers = _headers(ctx, spec, "ae_soc_pt_grade", ANY, "safety")
    grades = [(f"n_g{g}", f"Grade {g}") for g in GRADES] + [("n", "Any grade")]
    columns = [Column("label", _TERM_HEADER, width=2.6)] + [
        Column(f"{arm}_{stat}", header, width=0.75, align="center")
        for arm in ARMS for stat, header in grades]
    groups = [ColumnGroup(headers[arm].replace("\n", " "),
                          tuple(f"{arm}_{stat}" for stat, _ in grades)) for arm in ARMS]
    rows = []
    for item in items.itertuples(index=False, name=None):
        label, indent = _term_label(item)
        rows.append(Row((label, *(_cell(wide, item, arm, stat)
                                  for arm in ARMS for stat, _ in grades)), indent=indent))
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape, column_groups=groups)


def layout_deaths(spec: OutputSpec, ctx: Context) -> Table:
    """Deaths per arm and in total: all, by primary cause, by timing against last dose."""
    items, wide = _wide(ctx.view, "deaths")
    headers = _headers(ctx, spec, "deaths", "deaths", "itt")
    columns = [Column("label", "", width=3.0)] + [
        Column(g, headers[g], align="center") for g in GROUPS]
    sections = {"DTHCAUS": "Primary cause of death",
                "timing": "Time of death relative to the last dose of study treatment"}
    rows: list[Row] = []
    for item in items.itertuples(index=False, name=None):
        variable, level = item
        if variable == "deaths":
            label, indent = "Subjects who died, n (%)", 0
        else:
            if variable in sections:
                rows.append(Row.section(sections.pop(variable)))
            # DTHCAUS is upper-case controlled terminology; print it in sentence case.
            label, indent = (level.capitalize() if variable == "DTHCAUS" else level), 1
        rows.append(Row((label, *(_cell(wide, item, g) for g in GROUPS)), indent=indent))
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


LAYOUTS = {
    "ae_soc_pt": layout_ae_soc_pt,
    "ae_soc_pt_grade": layout_ae_soc_pt_grade,
    "deaths": layout_deaths,
}
