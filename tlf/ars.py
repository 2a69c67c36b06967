"""The study's analyses and results as a CDISC Analysis Results Standard (ARS) v1.0
reporting event (JSON, ARS model names).

The reporting event is built from the analysis plan, the output specs and the ARD, so
it holds the same numbers as ``ard.csv``:

* ``analysisSets``: the populations, each with its condition as an ARS ``WhereClause``
  (``condition``, or ``compoundExpression`` for ``and``/``or``/``not``);
* ``analysisGroupings``: per treatment variable, one group per arm of study.yaml (and
  ``Total``) with ``TRTxxP EQ arm``; per analysis with comparisons, one group per
  comparison (``IN [A, B]``); per variable with levels and per subgroup variable a
  data-driven grouping of its levels;
* ``dataSubsets``: each analysis's record filter (``where`` and ``parameter``);
* ``methods``: one per family, its ``operations`` the statistics it computes
  (``stat_name``);
* ``analyses``: one per ARD analysis and variable (ARS ``variable``), with its
  ``results``: one per ARD row (``operationId``, ``resultGroups``, ``rawValue`` at full
  precision and, where an output prints it, ``formattedValue``);
* ``outputs``: one per output spec with its file specifications and display title.

A condition ARS cannot express (``contains``, ``starts_with``, comparing two
variables) is written as an empty ``EQ`` condition whose ``description`` gives it as
text, so a reader is told rather than misled.

Example
-------
>>> write_ars(plan, study, specs, ard, Path("build/tlf/ars.json"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tlf.analyses.base import TOTAL
from tlf.spec import AnalysisPlan, OutputSpec
from trialflow.io import write_atomic
from trialflow.spec import Study

__all__ = ["reporting_event", "where_clause", "write_ars"]

_COMPARATORS = {"eq": "EQ", "ne": "NE", "gt": "GT", "ge": "GE", "lt": "LT", "le": "LE",
                "in": "IN", "not_in": "NOTIN"}


def _id(*parts: str) -> str:
    """An ARS identifier: letters, digits and underscores."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", "_".join(p for p in parts if p)).strip("_")


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items]


def where_clause(condition: Mapping[str, Any] | None, dataset: str) -> dict[str, Any]:
    """An ARS ``WhereClause`` for a condition of :mod:`trialflow.conditions`.

    Examples
    --------
    >>> where_clause({"ITTFL": "Y"}, "ADSL")["condition"]
    {'dataset': 'ADSL', 'variable': 'ITTFL', 'comparator': 'EQ', 'value': ['Y']}
    >>> where_clause({"or": [{"A": 1}, {"B": {"in": [2, 3]}}]}, "ADSL")[
    ...     "compoundExpression"]["logicalOperator"]
    'OR'
    """
    clauses: list[dict[str, Any]] = []
    for var, test in (condition or {}).items():
        if var in ("and", "or"):
            clauses.append({"compoundExpression": {
                "logicalOperator": var.upper(),
                "whereClauses": [where_clause(part, dataset) for part in test]}})
        elif var == "not":
            clauses.append({"compoundExpression": {
                "logicalOperator": "NOT", "whereClauses": [where_clause(test, dataset)]}})
        elif isinstance(test, dict):
            for op, value in test.items():
                clauses.append(_test(dataset, var, op, value))
        else:
            clauses.append({"condition": {"dataset": dataset, "variable": var,
                                          "comparator": "EQ", "value": _values(test)}})
    if not clauses:
        return {}
    if len(clauses) == 1:
        return clauses[0]
    return {"compoundExpression": {"logicalOperator": "AND", "whereClauses": clauses}}


def _test(dataset: str, var: str, op: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict) or op in ("contains", "starts_with"):
        return {"condition": {"dataset": dataset, "variable": var, "comparator": "EQ",
                              "value": []},
                "description": f"not expressible in ARS: {var} {op} {value!r}"}
    if op == "between":
        low, high = value
        return {"compoundExpression": {"logicalOperator": "AND", "whereClauses": [
            _test(dataset, var, "ge", low), _test(dataset, var, "le", high)]}}
    if op == "present":
        return {"condition": {"dataset": dataset, "variable": var,
                              "comparator": "NE" if value else "EQ", "value": [""]}}
    return {"condition": {"dataset": dataset, "variable": var,
                          "comparator": _COMPARATORS[op], "value": _values(value)}}


def _number(value: float) -> str | None:
    return None if math.isnan(value) else repr(float(value))


def reporting_event(plan: AnalysisPlan, study: Study, specs: Sequence[OutputSpec],
                    ard: pd.DataFrame, formatted: Mapping[int, str] | None = None
                    ) -> dict[str, Any]:
    """The ARS ``ReportingEvent`` of the study (see the module docstring).

    Parameters
    ----------
    plan, study, specs
        The analyses, the study (arms) and the outputs.
    ard : pandas.DataFrame
        The ARD (with ``output_id``).
    formatted : mapping of int to str, optional
        Printed text of ARD rows by row position (from the outputs' trace).
    """
    formatted = formatted or {}
    arms = sorted(study.arms, key=lambda a: a.number)
    analysis_sets = [{"id": _id("AS", p.id), "name": p.label, "label": p.id, "level": 1,
                      "order": i + 1, **where_clause(p.where, "ADSL")}
                     for i, p in enumerate(plan.populations.values())]
    groupings: dict[str, dict[str, Any]] = {}

    def grouping(gid: str, name: str, variable: str, dataset: str, data_driven: bool
                 ) -> dict[str, Any]:
        if gid not in groupings:
            groupings[gid] = {"id": gid, "name": name, "groupingDataset": dataset,
                              "groupingVariable": variable, "dataDriven": data_driven,
                              "groups": []}
        return groupings[gid]

    group_ids: dict[tuple[str, str], str] = {}

    def group(gid: str, level: str, condition: dict[str, Any]) -> str:
        if (gid, level) not in group_ids:
            groups = groupings[gid]["groups"]
            group_ids[gid, level] = _id(gid, str(len(groups) + 1))
            groups.append({"id": group_ids[gid, level], "name": level, "level": 1,
                           "order": len(groups) + 1, **condition})
        return group_ids[gid, level]

    subsets: list[dict[str, Any]] = []
    methods: dict[str, dict[str, Any]] = {}
    analyses: list[dict[str, Any]] = []
    frame = ard.reset_index(drop=True).assign(_pos=range(len(ard)))
    operations: set[str] = set()
    for spec in plan.analyses.values():
        variable = spec.group.variable
        treat = _id("AG", variable)
        grouping(treat, f"Treatment ({variable})", variable, "ADSL", False)
        for arm in arms:
            group(treat, arm.code, {"condition": {"dataset": "ADSL", "variable": variable,
                                                  "comparator": "IN",
                                                  "value": [arm.code, arm.name]}})
        if spec.group.total:
            group(treat, TOTAL, {})
        where = dict(spec.where or {})
        if spec.parameter:
            where = {"and": [where, {"PARAMCD": spec.parameter}]} if where else {
                "PARAMCD": spec.parameter}
        subset_id = None
        if where:
            subset_id = _id("DS", spec.id)
            subsets.append({"id": subset_id, "name": f"Records of {spec.id}", "level": 1,
                            "order": len(subsets) + 1, **where_clause(where, spec.dataset)})
        method_id = _id("MTH", spec.family)
        method = methods.setdefault(method_id, {
            "id": method_id, "name": spec.family, "label": f"trialflow family {spec.family}",
            "description": "", "operations": []})
        rows = frame[frame["analysis_id"] == spec.id]
        for var, part in rows.groupby("variable", sort=False):
            ordered = [{"order": 1, "groupingId": treat, "resultsByGroup": True}]
            levels = [lv for lv in dict.fromkeys(part["variable_level"]) if lv]
            level_gid = _id("AG", spec.id, str(var)) if levels else None
            if level_gid:
                grouping(level_gid, f"{var} levels of {spec.id}", str(var), spec.dataset,
                         True)
                ordered.append({"order": 2, "groupingId": level_gid, "resultsByGroup": True})
            results = []
            for row in part.to_dict("records"):
                op_id = _id(method_id, row["stat_name"])
                if op_id not in operations:
                    operations.add(op_id)
                    method["operations"].append({
                        "id": op_id, "name": row["stat_label"], "label": row["stat_name"],
                        "order": len(method["operations"]) + 1, "resultPattern": ""})
                level = str(row["group1_level"])
                if " vs " in level:
                    cmp_gid = _id("AG", variable, "comparisons")
                    grouping(cmp_gid, f"Comparisons of {variable}", variable, "ADSL", False)
                    test, ref = level.split(" vs ", 1)
                    gid = group(cmp_gid, level, {"condition": {
                        "dataset": "ADSL", "variable": variable, "comparator": "IN",
                        "value": [test, ref]}})
                    groups_ = [{"groupingId": cmp_gid, "groupId": gid}]
                else:
                    gid = group(treat, level, {"condition": {
                        "dataset": "ADSL", "variable": variable, "comparator": "EQ",
                        "value": [level]}} if level != TOTAL else {})
                    groups_ = [{"groupingId": treat, "groupId": gid}]
                if level_gid and row["variable_level"]:
                    lgid = group(level_gid, str(row["variable_level"]), {})
                    groups_.append({"groupingId": level_gid, "groupId": lgid})
                if row["group2"]:
                    sub_gid = _id("AG", spec.id, str(row["group2"]))
                    grouping(sub_gid, f"{row['group2']} of {spec.id}", str(row["group2"]),
                             spec.dataset, True)
                    sgid = group(sub_gid, str(row["group2_level"]), {"condition": {
                        "dataset": spec.dataset, "variable": str(row["group2"]),
                        "comparator": "EQ", "value": [str(row["group2_level"])]}})
                    groups_.append({"groupingId": sub_gid, "groupId": sgid})
                result = {"operationId": op_id, "resultGroups": groups_,
                          "rawValue": _number(float(row["stat"]))}
                shown = formatted.get(int(row["_pos"]))
                if shown is not None:
                    result["formattedValue"] = shown
                results.append(result)
            analyses.append({
                "id": _id("AN", spec.id, str(var)), "name": f"{spec.label or spec.id}: {var}",
                "version": 1,
                **({"reason": {"controlledTerm": spec.reason}} if spec.reason else {}),
                **({"purpose": {"controlledTerm": spec.purpose}} if spec.purpose else {}),
                "analysisSetId": _id("AS", spec.population), "dataset": spec.dataset,
                "variable": str(var), "methodId": method_id,
                **({"dataSubsetId": subset_id} if subset_id else {}),
                "orderedGroupings": ordered, "results": results})
    outputs = []
    for spec in specs:
        outputs.append({
            "id": _id("OUT", spec.name), "name": f"{spec.kind.capitalize()} {spec.number}",
            "version": 1,
            "fileSpecifications": [{"name": f"{spec.name}.{ext}",
                                    "fileType": {"controlledTerm": ext}}
                                   for ext in (("docx", "png") if spec.kind == "figure"
                                               else ("docx", "xlsx"))],
            "displays": [{"order": 1, "display": {
                "id": _id("DSP", spec.name), "name": spec.title, "version": 1,
                "displayTitle": f"{spec.kind.capitalize()} {spec.number} {spec.title}",
                "displaySections": [
                    {"sectionType": "Title", "orderedSubSections": [
                        {"order": 1, "subSection": {"id": _id("SS", spec.name, "title"),
                                                    "text": spec.title}},
                        {"order": 2, "subSection": {"id": _id("SS", spec.name, "pop"),
                                                    "text": spec.population}}]},
                    {"sectionType": "Footnote", "orderedSubSections": [
                        {"order": i + 1, "subSection": {"id": _id("SS", spec.name, "fn",
                                                                  str(i + 1)),
                                                        "text": note}}
                        for i, note in enumerate(spec.footnotes)]}]}}]})
    contents = [{"name": o["name"], "level": 1, "order": i + 1, "outputId": o["id"]}
                for i, o in enumerate(outputs)]
    return {
        "id": _id("RE", study.id), "name": study.title, "version": 1,
        "mainListOfContents": {"name": f"{study.id} tables, listings and figures",
                               "contentsList": {"listItems": contents}},
        "analysisSets": analysis_sets,
        "analysisGroupings": list(groupings.values()),
        "dataSubsets": subsets,
        "methods": list(methods.values()),
        "analyses": analyses,
        "outputs": outputs,
    }


def write_ars(plan: AnalysisPlan, study: Study, specs: Sequence[OutputSpec],
              ard: pd.DataFrame, path: Path,
              formatted: Mapping[int, str] | None = None) -> Path:
    """Write :func:`reporting_event` as JSON (UTF-8, sorted as built, 1-space indent),
    atomically."""
    text = json.dumps(reporting_event(plan, study, specs, ard, formatted),
                      ensure_ascii=False, indent=1)
    return write_atomic(Path(path), lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
