"""Adverse events by system organ class and preferred term, from an ``ae_terms``
analysis: subjects n (%) per group (layout ``ae_terms``), or by maximum grade or
severity per arm (layout ``ae_terms_grade``, landscape).

The rows are the analysis's items in ARD (display) order: the overall row, each SOC and
its terms indented under it. Parameters::

    analysis: ae_soc_pt
    any_label: Any TEAE
    stub_header: "System organ class\\n  Preferred term"
    total: true          # the Total column (ae_terms), when the analysis has one
    events: false        # ae_terms: a second line per group with the number of events
    grade_labels: {"1": Grade 1, ...}   # ae_terms_grade: column headers per level
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tlf.analyses.ae_terms import ANY
from tlf.document import Column, ColumnGroup, Row, Table
from tlf.outputs import At, Context, analysis_groups, group_columns, title_block
from tlf.outputs.cells import cat
from tlf.spec import OutputSpec

__all__ = ["LAYOUTS", "PARAMETERS", "layout_ae_terms", "layout_ae_terms_grade"]

_COMMON: dict[str, Any] = {
    "analysis": {"type": "string", "required": True},
    "any_label": {"type": "string", "default": "Any adverse event"},
    "stub_header": {"type": "string", "default": "System organ class\n  Preferred term"},
    "stub_width": {"type": "number", "min": 0.1, "default": 3.0},
}
PARAMETERS: dict[str, dict[str, Any]] = {
    "ae_terms": {**_COMMON, "total": {"type": "boolean", "default": True},
                 "events": {"type": "boolean", "default": False}},
    "ae_terms_grade": {**_COMMON,
                       "stub_width": {"type": "number", "min": 0.1, "default": 2.6},
                       "grade_labels": {"type": "dict", "default": {},
                                        "valuesrules": {"type": "string"}},
                       "column_width": {"type": "number", "min": 0.1, "default": 0.75}},
}


def _items(ctx: Context, analysis: str) -> pd.DataFrame:
    """The analysis's items (group2, group2_level, variable, variable_level) in ARD
    order, without the population N rows."""
    frame = ctx.view.rows(analysis, stat_name="n")
    return frame[["group2", "group2_level", "variable", "variable_level"]].drop_duplicates(
        ).reset_index(drop=True)


def _label(item: tuple[str, str, str, str], any_label: str) -> tuple[str, int]:
    """The printed label and indent of an item: overall, a SOC, or a term under one."""
    group2, _, variable, level = item
    if variable == ANY:
        return any_label, 0
    return (level, 1) if group2 else (level, 0)


def layout_ae_terms(spec: OutputSpec, ctx: Context) -> Table:
    """Subjects with an event by SOC and term, n (%) per group (and events)."""
    analysis = spec.parameter("analysis")
    groups = group_columns(ctx.view, analysis, total=spec.parameter("total", True))
    columns = [Column("label", spec.parameter("stub_header"),
                      width=spec.parameter("stub_width", 3.0)), *groups]
    events = spec.parameter("events", False)
    rows = []
    for item in _items(ctx, analysis).itertuples(index=False, name=None):
        label, indent = _label(item, spec.parameter("any_label"))
        at = At(analysis, "", item[2], item[3], item[0], item[1])
        template = "{n:npct} [{events:0}]" if events else "{n:npct}"
        rows.append(Row((label, *(ctx.view.fill(template, at.but(group=c.key))
                                  for c in groups)), indent=indent))
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


def _grade_levels(ctx: Context, analysis: str) -> list[str]:
    """The grade statistics of the analysis (``n_g1`` ...) in ARD order."""
    names = ctx.view.rows(analysis)["stat_name"]
    return [s for s in dict.fromkeys(names) if s.startswith("n_")]


def _level(stat: str) -> str:
    """The grade level of a statistic: ``3`` of ``n_g3``, ``MILD`` of ``n_MILD``."""
    level = stat.split("_", 1)[1]
    return level[1:] if level.startswith("g") and level[1:].isdigit() else level


def _default_label(stat: str) -> str:
    level = _level(stat)
    return f"Grade {level}" if level.isdigit() else level.capitalize()


def layout_ae_terms_grade(spec: OutputSpec, ctx: Context) -> Table:
    """Subjects by SOC, term and maximum grade, n (%) per arm, then any grade."""
    analysis = spec.parameter("analysis")
    arms, _ = analysis_groups(ctx.view, analysis)
    labels = spec.parameter("grade_labels", {})
    grades = [(stat, labels.get(_level(stat), _default_label(stat)))
              for stat in _grade_levels(ctx, analysis)] + [("n", "Any grade")]
    width = spec.parameter("column_width", 0.75)
    columns = [Column("label", spec.parameter("stub_header"),
                      width=spec.parameter("stub_width", 2.6))] + [
        Column(f"{arm}_{stat}", header, width=width, align="center")
        for arm in arms for stat, header in grades]
    column_groups = [ColumnGroup(cat(arm, " (N=", ctx.view.text(At(analysis, arm, "USUBJID"),
                                                                 "N", 0), ")"),
                                 tuple(f"{arm}_{stat}" for stat, _ in grades)) for arm in arms]
    rows = []
    for item in _items(ctx, analysis).itertuples(index=False, name=None):
        label, indent = _label(item, spec.parameter("any_label"))
        at = At(analysis, "", item[2], item[3], item[0], item[1])
        rows.append(Row((label, *(ctx.view.text(at.but(group=arm), stat, "npct")
                                  for arm in arms for stat, _ in grades)), indent=indent))
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape, column_groups=column_groups)


LAYOUTS = {"ae_terms": layout_ae_terms, "ae_terms_grade": layout_ae_terms_grade}
