"""Adverse-event overview: subjects with at least one event of each kind the spec lists.

Each item of ``items`` counts the population's subjects (``n``, ``N``, ``pct`` per
group) who have at least one record of the analysis dataset (after the analysis's
``where``, e.g. treatment-emergent) meeting the item's ``where`` — or, with ``source:
ADSL``, whose ADSL record meets it (a subject-level finding such as an LVEF decline).
An item without ``where`` counts subjects with any record. ``events: true`` adds the
number of records (``events``); ``test: fisher`` the two-sided Fisher exact p-value per
comparison (``p_2s``). A subject counts once per item, whatever the number of events.

Example spec::

    - id: ae_overview
      family: ae_overview
      population: safety
      dataset: ADAE
      where: {TRTEMFL: Y}
      group: {variable: TRT01A}
      items:
        - {variable: ANY}
        - {variable: AESER, where: {AESER: Y}}
        - {variable: AESEV, level: SEVERE, where: {AESEV: SEVERE}}
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tlf.analyses.base import TOTAL, AnalysisContext, Row
from trialflow.conditions import ConditionError, select

__all__ = ["FAMILY", "SCHEMA", "run"]

FAMILY = "ae_overview"
SCHEMA: dict[str, Any] = {
    "items": {"type": "list", "required": True, "minlength": 1, "schema": {
        "type": "dict", "schema": {
            "variable": {"type": "string", "required": True, "empty": False},
            "level": {"type": "string", "default": ""},
            "label": {"type": "string"},
            "where": {"type": "dict"},
            "source": {"type": "string", "allowed": ["ADSL"]},
        }}},
    "events": {"type": "boolean", "default": False},
    "test": {"type": "string", "allowed": ["fisher"]},
}


def run(ctx: AnalysisContext) -> list[Row]:
    """N per group, then per item the subjects (and events) meeting it."""
    records = ctx.records()
    subjects = ctx.subject_frame()
    adsl = ctx.dataset("ADSL")
    test = ctx.spec.option("test")
    out = ctx.n_rows()
    for item in ctx.spec.option("items"):
        variable, level = item["variable"], item.get("level") or ""
        try:
            if item.get("source") == "ADSL":
                meets = adsl.loc[select(adsl, item.get("where")), "USUBJID"]
                hit = subjects["USUBJID"].isin(meets)
                chosen = None
            else:
                chosen = records[select(records, item.get("where"))]
                hit = subjects["USUBJID"].isin(chosen["USUBJID"])
        except ConditionError as exc:
            raise ctx.spec.error(f"item {variable} {level}".strip() + f": {exc}") from None
        out += ctx.count_rows(subjects, hit, variable, level, test=test)
        if ctx.spec.option("events") and chosen is not None:
            events = chosen["_GROUP"].value_counts().reindex(list(ctx.groups),
                                                             fill_value=0)
            if ctx.total:
                events[TOTAL] = len(chosen)
            for group, k in pd.Series(events).items():
                out += ctx.rows(str(group), variable, level, {"events": k},
                                "Count of events")
    return out
