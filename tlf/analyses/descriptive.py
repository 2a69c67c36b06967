"""Descriptive summaries of any subject-level variables: demographics, baseline
characteristics, populations, disposition.

Each item of the spec's ``variables`` is one of:

* **continuous** (``type: continuous``): ``n``, ``mean``, ``sd`` (divisor n - 1),
  ``median``, ``q1``, ``q3``, ``min``, ``max`` (SAS PCTLDEF=5) of the non-missing
  values, or the ``stats`` listed; decimals are the output's business;
* **categorical**: subjects per level, ``n``, ``N`` and ``pct``. The levels are the
  declared ``levels`` — a value, or ``{level: name, where: condition}`` for a level that
  is a condition (``"1, 2"``: ``{ECOGBL: {in: [1, 2]}}``) — in the order given, then
  the data's other values when ``unlisted: alphabetical``; without ``levels``, the data's
  values in ``order`` (alphabetical, frequency or data). A blank value is counted only
  under the level ``missing`` names;
* **count** (``where:``): subjects meeting a condition, one row (``level`` optional).

Denominators are the subjects of the group in the item's ``population`` (default the
analysis's), or those with a non-missing value (``denominator: nonmissing``); ``test:
fisher`` adds the two-sided Fisher exact p-value per comparison. The ``variable`` of an
item is its ARD ``variable``: a dataset variable, or a name for a count item.

Example spec::

    - id: demographics
      family: descriptive
      population: itt
      group: {variable: TRT01P, total: true}
      variables:
        - {variable: AGE, type: continuous}
        - {variable: AGEGR1, levels: ["<65", "65-80", ">80"]}
        - {variable: RACE, order: frequency}
        - {variable: ecog_1_2, where: {ECOGBL: {in: [1, 2]}}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tlf.analyses.base import TOTAL, AnalysisContext, Row, text_values
from trialflow.conditions import ConditionError, condition_variables, select
from trialflow.stats import sas_quartiles

__all__ = ["CONTINUOUS_STATS", "FAMILY", "ITEM_SCHEMA", "SCHEMA", "continuous_stats",
           "item_rows", "run"]

FAMILY = "descriptive"
#: The statistics of a continuous variable, in display order.
CONTINUOUS_STATS: tuple[str, ...] = ("n", "mean", "sd", "median", "q1", "q3", "min", "max")
_PCTLDEF = "PCTLDEF=5"
_MEANS = "PROC MEANS, VARDEF=DF"

_LEVEL = {"anyof": [
    {"type": ["string", "number"]},
    {"type": "dict", "schema": {"level": {"type": "string", "required": True},
                                "where": {"type": "dict", "required": True}}},
]}
#: One summarised variable.
ITEM_SCHEMA: dict[str, Any] = {
    "variable": {"type": "string", "required": True, "empty": False},
    "label": {"type": "string"},
    "type": {"type": "string", "allowed": ["continuous", "categorical", "count"]},
    "stats": {"type": "list", "schema": {"type": "string", "allowed": list(CONTINUOUS_STATS)}},
    "source": {"type": "string", "regex": r"^[A-Z][A-Z0-9_]*$"},
    "where": {"type": "dict"},
    "level": {"type": "string"},
    "levels": {"type": "list", "schema": _LEVEL},
    "unlisted": {"type": "string", "allowed": ["drop", "alphabetical"], "default": "drop"},
    "order": {"type": "string", "allowed": ["alphabetical", "frequency", "data"],
              "default": "alphabetical"},
    "missing": {"type": "string"},
    "denominator": {"type": "string", "allowed": ["population", "nonmissing"],
                    "default": "population"},
    "population": {"type": "string"},
    "test": {"type": "string", "allowed": ["fisher"]},
}
#: The keys a descriptive analysis adds to the common ones.
SCHEMA: dict[str, Any] = {
    "variables": {"type": "list", "required": True, "minlength": 1,
                  "schema": {"type": "dict", "schema": ITEM_SCHEMA}},
}


def continuous_stats(values: pd.Series, stats: Sequence[str] = CONTINUOUS_STATS
                     ) -> tuple[dict[str, float], dict[str, float]]:
    """Percentile statistics (PCTLDEF=5) and moments (VARDEF=DF) of the non-missing
    ``values``, keeping only ``stats``.

    Returns
    -------
    (percentiles, moments) : tuple of dict
        ``n``, ``median``, ``q1``, ``q3``, ``min``, ``max``; ``mean``, ``sd``.

    Examples
    --------
    >>> pct, mom = continuous_stats(pd.Series([1.0, 2.0, 3.0, 4.0, None]))
    >>> pct["n"], pct["median"], pct["q1"], float(mom["mean"]), round(float(mom["sd"]), 4)
    (4, 2.5, 1.5, 2.5, 1.291)
    """
    values = pd.to_numeric(values, errors="coerce").dropna()
    q1, med, q3 = sas_quartiles(values.to_numpy(dtype=float))
    empty = values.empty
    pct = {"n": values.size, "median": med, "q1": q1, "q3": q3,
           "min": np.nan if empty else values.min(), "max": np.nan if empty else values.max()}
    moments = {"mean": np.nan if empty else values.mean(),
               "sd": values.std(ddof=1) if values.size > 1 else np.nan}
    return ({k: v for k, v in pct.items() if k in stats},
            {k: v for k, v in moments.items() if k in stats})


def _levels(item: Mapping[str, Any], text: pd.Series, frame: pd.DataFrame,
            ctx: AnalysisContext) -> list[tuple[str, pd.Series]]:
    """(level, hit) of every level of a categorical item, in display order."""
    out: list[tuple[str, pd.Series]] = []
    declared: list[str] = []
    for level in item.get("levels") or ():
        if isinstance(level, dict):
            try:
                hit = select(frame, level["where"])
            except ConditionError as exc:
                raise ctx.spec.error(f"variable {item['variable']}, level "
                                     f"{level['level']}: {exc}") from None
            out.append((str(level["level"]), hit))
            declared.append(str(level["level"]))
        else:
            value = text_values(pd.Series([level])).iloc[0]
            out.append((value, text.eq(value)))
            declared.append(value)
    present = text[text.ne("")]
    if not item.get("levels"):
        order = item.get("order", "alphabetical")
        if order == "frequency":
            counts = present.value_counts()
            names = sorted(counts.index, key=lambda v: (-counts[v], v))
        elif order == "data":
            names = list(dict.fromkeys(present))
        else:
            names = sorted(set(present))
        out += [(name, text.eq(name)) for name in names]
    elif item.get("unlisted") == "alphabetical":
        out += [(name, text.eq(name)) for name in sorted(set(present) - set(declared))]
    if item.get("missing"):
        out.append((str(item["missing"]), text.eq("")))
    return out


def item_rows(ctx: AnalysisContext, item: Mapping[str, Any], frame: pd.DataFrame
              ) -> list[Row]:
    """The ARD rows of one item over ``frame`` (one record per subject, ``_GROUP`` and
    the item's variables).

    Parameters
    ----------
    ctx : AnalysisContext
    item : mapping
        One entry of ``variables`` (:data:`ITEM_SCHEMA`).
    frame : pandas.DataFrame
        The subjects of the item's population.
    """
    name = item["variable"]
    kind = item.get("type") or ("count" if "where" in item else "categorical")
    if kind == "count":
        try:
            hit = select(frame, item["where"])
        except ConditionError as exc:
            raise ctx.spec.error(f"variable {name}: {exc}") from None
        return ctx.count_rows(frame, hit, name, str(item.get("level", "")),
                              test=item.get("test"))
    levels = item.get("levels") or ()
    by_condition = bool(levels) and all(isinstance(v, dict) for v in levels) and \
        item.get("unlisted") != "alphabetical" and not item.get("missing")
    if name not in frame and not by_condition:
        raise ctx.spec.error(f"variable {name} is not in "
                             f"{item.get('source') or ctx.spec.dataset}")
    if kind == "continuous":
        out: list[Row] = []
        stats = item.get("stats") or CONTINUOUS_STATS
        for group in ctx.columns:
            values = frame[name] if group == TOTAL else frame.loc[
                frame["_GROUP"] == group, name]
            pct, moments = continuous_stats(values, stats)
            out += ctx.rows(group, name, "", pct, _PCTLDEF)
            if moments:
                out += ctx.rows(group, name, "", moments, _MEANS)
        return out
    text = (text_values(frame[name]) if name in frame
            else pd.Series("", index=frame.index, dtype=object))
    subjects = frame
    if item.get("denominator") == "nonmissing" and not item.get("missing"):
        subjects = frame[text.ne("")]
        text = text[subjects.index]
    out = []
    for level, hit in _levels(item, text, subjects, ctx):
        out += ctx.count_rows(subjects, hit.loc[subjects.index], name, level,
                              test=item.get("test"))
    return out


def item_columns(item: Mapping[str, Any]) -> set[str]:
    """The dataset variables an item reads."""
    found = {item["variable"]} if item.get("type") != "count" and "where" not in item \
        else set()
    found |= condition_variables(item.get("where"))
    for level in item.get("levels") or ():
        if isinstance(level, dict):
            found |= condition_variables(level["where"])
    return found


def run(ctx: AnalysisContext) -> list[Row]:
    """The population's N per group, then every item of ``variables`` in order."""
    out = ctx.n_rows()
    for item in ctx.spec.option("variables"):
        sub = ctx.for_population(item["population"]) if item.get("population") else ctx
        source = item.get("source") or ctx.spec.dataset
        if source.upper() == "ADSL":
            adsl = sub.dataset("ADSL")
            frame = sub.subject_frame(c for c in item_columns(item) if c in adsl)
        else:
            # A subject-level variable of another dataset (one record per subject
            # after the analysis's where).
            records = sub.records(source).drop_duplicates("USUBJID")
            keep = ["USUBJID", *(c for c in item_columns(item) if c in records)]
            frame = sub.subjects.merge(records[keep], on="USUBJID", how="left")
        out += item_rows(sub, item, frame)
    return out
