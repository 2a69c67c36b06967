"""Extent of exposure: subject-level exposure summarised per arm.

The items are those of :mod:`tlf.analyses.descriptive` (continuous or categorical) over
one record per subject of the population, whose variables are ADSL's or, for an item
with ``from``, a per-subject aggregate of the analysis dataset's records (an ADEX-like
BDS): ``{where: condition, value: AVAL, aggregate: sum|max|min|count|first}``. A
continuous item may also declare ``categories``: subjects per interval
(``{level, min, max}``: ``min <= value < max``, either end open).

Example spec::

    - id: exposure
      family: exposure
      population: safety
      dataset: ADEX
      group: {variable: TRT01A, total: true}
      variables:
        - {variable: TRTDURD, type: continuous,
           categories: [{level: "<4 weeks", max: 28}, {level: ">=4 weeks", min: 28}]}
        - {variable: TOTDOSE, type: continuous,
           from: {where: {PARAMCD: TOTDOSE}, value: AVAL, aggregate: sum}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tlf.analyses.base import AnalysisContext, Row
from tlf.analyses.descriptive import ITEM_SCHEMA, item_columns, item_rows

__all__ = ["FAMILY", "SCHEMA", "run"]

FAMILY = "exposure"
SCHEMA: dict[str, Any] = {
    "variables": {"type": "list", "required": True, "minlength": 1, "schema": {
        "type": "dict", "schema": {
            **ITEM_SCHEMA,
            "from": {"type": "dict", "schema": {
                "where": {"type": "dict"},
                "value": {"type": "string", "default": "AVAL"},
                "aggregate": {"type": "string", "default": "sum",
                              "allowed": ["sum", "max", "min", "count", "first"]},
            }},
            "categories": {"type": "list", "schema": {"type": "dict", "schema": {
                "level": {"type": "string", "required": True},
                "min": {"type": "number"},
                "max": {"type": "number"},
            }}},
        }}},
}


def _aggregate(ctx: AnalysisContext, name: str, source: Mapping[str, Any]) -> pd.Series:
    """Per subject (USUBJID index): the ``aggregate`` of ``value`` over the records."""
    records = ctx.records(where=source.get("where"), parameter=False)
    value = source.get("value", "AVAL")
    if value not in records:
        raise ctx.spec.error(f"variable {name}: {ctx.spec.dataset} has no {value}")
    how = source.get("aggregate", "sum")
    grouped = pd.to_numeric(records[value], errors="coerce").groupby(records["USUBJID"])
    return {"sum": grouped.sum, "max": grouped.max, "min": grouped.min,
            "count": grouped.size, "first": grouped.first}[how]().rename(name)


def run(ctx: AnalysisContext) -> list[Row]:
    """N per group, then every exposure variable in order (and its categories)."""
    adsl = ctx.dataset("ADSL")
    items = ctx.spec.option("variables")
    columns = {c for item in items if "from" not in item for c in item_columns(item)}
    frame = ctx.subject_frame(c for c in columns if c in adsl)
    for item in items:
        if "from" in item:
            frame = frame.merge(_aggregate(ctx, item["variable"], item["from"]),
                                left_on="USUBJID", right_index=True, how="left")
    out = ctx.n_rows()
    for item in items:
        out += item_rows(ctx, {k: v for k, v in item.items() if k != "from"}, frame)
        for category in item.get("categories") or ():
            value = pd.to_numeric(frame[item["variable"]], errors="coerce")
            hit = value.notna()
            if category.get("min") is not None:
                hit &= value >= category["min"]
            if category.get("max") is not None:
                hit &= value < category["max"]
            out += ctx.count_rows(frame, hit, item["variable"], category["level"])
    return out
