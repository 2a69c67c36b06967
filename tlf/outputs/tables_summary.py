"""The summary table: rows declared in the output spec, one column per group of an
analysis, optional comparison and p-value columns. Demographics, baseline
characteristics, populations, exposure, AE overviews, deaths, follow-up and response
tables are all this layout with their own rows.

Parameters (``parameters`` of the output spec)::

    analysis: table1_baseline     # the ARD analysis of the rows (a row may name another)
    stub: {header: Characteristic, width: 3.2}
    total: true                   # print the Total column when the analysis has one
    header_n: true                # "(N=xx)" under each group: the population's N
    comparisons: false            # one column per comparison ("A vs B")
    p_value: {header: p-value}    # a p-value column (each row names its statistic)
    rows:
      - {section: Age (years)}
      - {label: n, variable: AGE, cell: "{n:0}", indent: 1}
      - {label: Median (min, max), variable: AGE, cell: "{median:1} ({min:0}, {max:0})",
         indent: 1}
      - {label: "0", variable: ECOGBL, level: "0", indent: 1}   # cell: n (%)
      - {levels: all, variable: RACE, indent: 1, label_case: capitalize}
      - {label: Serious AE, variable: AESER, p: p_2s}
      - {label: Odds ratio (95% CI), variable: ORR, cell: "",
         comparison: "{or:3} ({or_lcl:3}, {or_ucl:3})"}

A row's ``cell`` is a template of ARD statistics (:mod:`tlf.outputs.cells`: ``{n:0}``
decimals, ``{p_2s:p}`` p-value, ``{n:npct}`` count and percentage; default
``{n:npct}``) filled per group column; ``comparison`` the template of the comparison
columns; ``p`` the statistic printed in the p-value column (of the first comparison).
``columns`` makes a group column print another ARD group's row instead — a comparison in
the column of its test arm (``{Drug: {group: Drug vs Placebo, cell: "{p_2s:p}"}}``).
``levels: all`` repeats the row for each ``variable_level`` the ARD has for the variable
(labels: ``labels`` map, else the level with ``label_case``). A row with neither
variable nor section is a label with blank cells; a section heads the rows after it and
is left out when they are all empty expansions.
"""

from __future__ import annotations

from typing import Any

from tlf.document import Column, Row, Table
from tlf.outputs import At, Context, comparisons_of, group_columns, title_block
from tlf.spec import OutputSpec

__all__ = ["LAYOUTS", "PARAMETERS", "ROW_SCHEMA", "layout_summary"]

_CASES = ("as_is", "capitalize", "lower", "upper", "title")
#: One declared row.
ROW_SCHEMA: dict[str, Any] = {
    "section": {"type": "string", "excludes": ["label", "levels"]},
    "label": {"type": "string"},
    "analysis": {"type": "string"},
    "variable": {"type": "string"},
    "level": {"type": "string", "default": ""},
    "group2": {"type": "string", "default": ""},
    "group2_level": {"type": "string", "default": ""},
    "levels": {"type": "string", "allowed": ["all"]},
    "labels": {"type": "dict", "valuesrules": {"type": "string"}},
    "label_case": {"type": "string", "allowed": list(_CASES), "default": "as_is"},
    "cell": {"type": "string", "nullable": True, "default": None},
    "comparison": {"type": "string", "default": ""},
    "p": {"type": "string"},
    "p_format": {"type": "string", "default": "p"},
    "indent": {"type": "integer", "min": 0, "default": 0},
    # A group column that prints another ARD group's row (a comparison in the column of
    # its test arm, an overall test in the last column): column -> {group, level, cell}.
    "columns": {"type": "dict", "valuesrules": {"type": "dict", "schema": {
        "group": {"type": "string", "required": True},
        "level": {"type": "string"},
        "cell": {"type": "string", "required": True},
    }}},
}
PARAMETERS: dict[str, dict[str, Any]] = {"summary": {
    "analysis": {"type": "string", "required": True},
    "stub": {"type": "dict", "default": {}, "schema": {
        "header": {"type": "string", "default": ""},
        "width": {"type": "number", "min": 0.1, "default": 2.6},
    }},
    "total": {"type": "boolean", "default": True},
    "header_n": {"type": "boolean", "default": True},
    "comparisons": {"type": "boolean", "default": False},
    "comparison_header": {"type": "string", "nullable": True, "default": None},
    "p_value": {"type": "dict", "nullable": True, "default": None, "schema": {
        "header": {"type": "string", "default": "p-value"},
        "width": {"type": "number", "min": 0.1, "default": 0.8},
    }},
    "rows": {"type": "list", "required": True, "minlength": 1,
             "schema": {"type": "dict", "schema": ROW_SCHEMA}},
}}
_DEFAULT_CELL = "{n:npct}"


def _case(text: str, how: str) -> str:
    return {"capitalize": text.capitalize, "lower": text.lower, "upper": text.upper,
            "title": text.title}.get(how, lambda: text)()


def layout_summary(spec: OutputSpec, ctx: Context) -> Table:
    """The table of the spec's rows (see the module docstring)."""
    view = ctx.view
    analysis = spec.parameter("analysis")
    stub = spec.parameter("stub", {})
    groups = group_columns(view, analysis, total=spec.parameter("total", True),
                           header_n=spec.parameter("header_n", True))
    columns = [Column("label", stub.get("header", ""), width=stub.get("width", 2.6)),
               *groups]
    comparisons = comparisons_of(view, analysis) if spec.parameter("comparisons", False) \
        else []
    header = spec.parameter("comparison_header", None)
    columns += [Column(f"cmp{i}", header or cmp, align="center")
                for i, cmp in enumerate(comparisons)]
    p_value = spec.parameter("p_value", None)
    first = (comparisons_of(view, analysis) or [""])[0]
    if p_value is not None:
        columns.append(Column("p", p_value.get("header", "p-value"),
                              width=p_value.get("width", 0.8), align="center"))

    rows: list[Row] = []
    pending: Row | None = None  # a section waiting for a row under it
    expanded_only = False  # only empty level expansions under the pending section
    for row in spec.parameter("rows"):
        if "section" in row:
            if pending is not None and not expanded_only:
                rows.append(pending)
            pending = Row.section(row["section"], indent=row.get("indent", 0))
            expanded_only = False
            continue
        source = row.get("analysis") or analysis
        variable = row.get("variable")
        at = At(source, "", variable or "", row.get("level", ""), row.get("group2", ""),
                row.get("group2_level", ""))
        if row.get("levels") == "all":
            found = view.rows(source, variable=variable, group2=at.group2,
                              group2_level=at.group2_level)
            found = found[found["group1_level"].isin([c.key for c in groups])]
            levels = list(dict.fromkeys(found["variable_level"]))
            labels = row.get("labels") or {}
            items = [(labels.get(lv, _case(lv, row.get("label_case", "as_is"))),
                      at.but(level=lv)) for lv in levels]
            if not items and pending is not None:
                expanded_only = True
        else:
            items = [(row.get("label", ""), at)]
        for label, where in items:
            if pending is not None:
                rows.append(pending)
                pending = None
            cells: list[object] = [label]
            template = row.get("cell")
            template = _DEFAULT_CELL if template is None else template
            overrides = row.get("columns") or {}
            for column in groups:
                other = overrides.get(column.key)
                if other is not None:
                    cells.append(view.fill(other["cell"], where.but(
                        group=other["group"], level=other.get("level", where.level))))
                else:
                    cells.append(view.fill(template, where.but(group=column.key))
                                 if variable and template else "")
            for cmp in comparisons:
                cells.append(view.fill(row.get("comparison", ""), where.but(group=cmp))
                             if variable and row.get("comparison") else "")
            if p_value is not None:
                cells.append(view.text(where.but(group=first), row["p"],
                                       row.get("p_format", "p"))
                             if variable and row.get("p") and first else "")
            rows.append(Row(tuple(cells), indent=row.get("indent", 0)))
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


LAYOUTS = {"summary": layout_summary}
