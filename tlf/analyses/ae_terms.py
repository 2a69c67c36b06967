"""Adverse events by system organ class and preferred term (or any coded hierarchy):
subjects, optionally events, optionally by maximum grade or severity.

Items, in display order, each with ``n``, ``N``, ``pct`` per group (a subject counts
once per item):

* the overall row (``variable`` ``ANY``): subjects with any record;
* per ``soc`` value (``variable`` = the ``soc`` variable, ``variable_level`` = its
  text), when ``soc`` is declared;
* per ``term`` value (``variable`` = the ``term`` variable, ``variable_level`` = its
  text; ``group2``/``group2_level`` = the ``soc`` variable and value it sits under).

``sort: frequency`` (default) orders the SOCs by descending number of subjects over all
arms, then name, and the terms within each SOC the same way; ``alphabetical`` by name.
``events: true`` adds ``events`` (records). ``grade: {variable, levels}`` adds the
subjects by their maximum grade in the item, ``n_g<level>``/``pct_g<level>`` for
numeric levels (CTCAE grades) and ``n_<level>``/``pct_<level>`` for text levels in
increasing order (severity: MILD, MODERATE, SEVERE). ``min_pct`` keeps only the terms
whose percentage reaches it in at least one arm (the most frequent events), and the SOCs
of those terms. A blank term or SOC is counted under ``uncoded``.

Example spec::

    - id: ae_soc_pt
      family: ae_terms
      population: safety
      dataset: ADAE
      where: {TRTEMFL: Y}
      group: {variable: TRT01A, total: true}
      soc: AEBODSYS
      term: AEDECOD
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tlf.analyses.base import TOTAL, AnalysisContext, Row, text_values

__all__ = ["ANY", "FAMILY", "SCHEMA", "grade_stat", "run"]

FAMILY = "ae_terms"
#: The ``variable`` of the overall row.
ANY = "ANY"
SCHEMA: dict[str, Any] = {
    "soc": {"type": "string", "nullable": True, "default": None},
    "term": {"type": "string", "default": "AEDECOD"},
    "sort": {"type": "string", "allowed": ["frequency", "alphabetical"],
             "default": "frequency"},
    "events": {"type": "boolean", "default": False},
    "uncoded": {"type": "string", "default": "Uncoded"},
    "min_pct": {"type": "number", "min": 0, "max": 100},
    "grade": {"type": "dict", "schema": {
        "variable": {"type": "string", "required": True},
        "levels": {"type": "list", "required": True, "minlength": 1,
                   "schema": {"type": ["string", "number"]}},
    }},
}
_COUNT = "Count (% of N)"
_MAX_GRADE = "Count (% of N), maximum {} per subject"


def grade_stat(level: Any, prefix: str = "n") -> str:
    """The statistic name of a grade level: ``n_g3`` for 3, ``n_MILD`` for MILD.

    Examples
    --------
    >>> grade_stat(3), grade_stat(3.0, "pct"), grade_stat("MILD")
    ('n_g3', 'pct_g3', 'n_MILD')
    """
    if isinstance(level, int | float) and float(level).is_integer():
        return f"{prefix}_g{int(level)}"
    return f"{prefix}_{level}"


def _events(ctx: AnalysisContext) -> pd.DataFrame:
    """The records: USUBJID, _GROUP, soc, term and the grade rank (NaN: unknown)."""
    records = ctx.records()
    soc, term = ctx.spec.option("soc"), ctx.spec.option("term")
    uncoded = ctx.spec.option("uncoded")
    for name in (soc, term):
        if name and name not in records:
            raise ctx.spec.error(f"{ctx.spec.dataset} has no {name}")
    events = pd.DataFrame({
        "USUBJID": records["USUBJID"].to_numpy(),
        "_GROUP": records["_GROUP"].to_numpy(),
        "soc": (text_values(records[soc]).replace("", uncoded).to_numpy() if soc
                else np.full(len(records), "", dtype=object)),
        "term": text_values(records[term]).replace("", uncoded).to_numpy(),
    })
    grade = ctx.spec.option("grade")
    if grade:
        if grade["variable"] not in records:
            raise ctx.spec.error(f"{ctx.spec.dataset} has no {grade['variable']}")
        ranks = {text_values(pd.Series([lv])).iloc[0]: i for i, lv in enumerate(grade["levels"])}
        events["rank"] = text_values(records[grade["variable"]]).map(ranks).to_numpy(
            dtype=float)
    else:
        events["rank"] = np.nan
    return events


def _with_total(frame: pd.DataFrame, total: bool) -> pd.DataFrame:
    """Each record under its arm and, when the analysis has it, under ``Total``."""
    frame = frame.assign(group1_level=frame["_GROUP"])
    return pd.concat([frame, frame.assign(group1_level=TOTAL)], ignore_index=True) \
        if total else frame


def _items(events: pd.DataFrame, has_soc: bool) -> pd.DataFrame:
    """One record per subject, group and item with its maximum grade rank and events."""
    keys = ["USUBJID", "group1_level"]
    parts = [events.groupby(keys, sort=False)["rank"].agg(["max", "size"]).reset_index()
             .assign(item_soc="", item_term="", kind=0)]
    if has_soc:
        parts.append(events.groupby(["soc", *keys], sort=False)["rank"].agg(["max", "size"])
                     .reset_index().rename(columns={"soc": "item_soc"})
                     .assign(item_term="", kind=1))
    parts.append(events.groupby(["soc", "term", *keys], sort=False)["rank"]
                 .agg(["max", "size"]).reset_index()
                 .rename(columns={"soc": "item_soc", "term": "item_term"}).assign(kind=2))
    return pd.concat(parts, ignore_index=True).rename(columns={"max": "rank",
                                                                "size": "events"})


def _order(totals: pd.DataFrame, sort: str) -> pd.DataFrame:
    """Items (kind, item_soc, item_term, total) in display order."""
    soc_total = totals.loc[totals["kind"] == 1, ["item_soc", "total"]].rename(
        columns={"total": "_soc_total"})
    keyed = totals.merge(soc_total, on="item_soc", how="left").fillna({"_soc_total": 0})
    keyed["_is_term"] = keyed["kind"] == 2
    if sort == "alphabetical":
        by, asc = ["kind_any", "item_soc", "_is_term", "item_term"], [True] * 4
    else:
        by = ["kind_any", "_soc_total", "item_soc", "_is_term", "total", "item_term"]
        asc = [True, False, True, True, False, True]
    keyed["kind_any"] = keyed["kind"] != 0
    return keyed.sort_values(by, ascending=asc, kind="stable")[
        ["kind", "item_soc", "item_term"]].reset_index(drop=True)


def run(ctx: AnalysisContext) -> list[Row]:
    """N per group, then the overall row, SOCs and terms in display order."""
    soc_var, term_var = ctx.spec.option("soc"), ctx.spec.option("term")
    events = _events(ctx)
    items = _items(_with_total(events, ctx.total), bool(soc_var))
    keys = ["kind", "item_soc", "item_term", "group1_level"]
    n = items.groupby(keys).agg(n=("USUBJID", "size"), events=("events", "sum"))
    arms = n.reset_index()
    arms = arms[arms["group1_level"].isin(ctx.groups)]
    totals = arms.groupby(["kind", "item_soc", "item_term"])["n"].sum().rename(
        "total").reset_index()
    if not (totals["kind"] == 0).any():  # the overall row even when nobody had an event
        totals = pd.concat([totals, pd.DataFrame({"kind": [0], "item_soc": [""],
                                                  "item_term": [""], "total": [0]})],
                           ignore_index=True)
    order = _order(totals, ctx.spec.option("sort"))
    big_n = ctx.big_n()
    grid = order.assign(_item=np.arange(len(order))).merge(
        pd.DataFrame({"group1_level": list(ctx.columns),
                      "_group": np.arange(len(ctx.columns))}), how="cross")
    grid = grid.merge(n.reset_index(), on=keys, how="left").fillna({"n": 0, "events": 0})
    grid["N"] = grid["group1_level"].map(big_n).astype(float)
    grid["pct"] = (100.0 * grid["n"] / grid["N"].where(grid["N"] > 0)).astype(float)
    min_pct = ctx.spec.option("min_pct")
    if min_pct is not None:
        arm_pct = grid[grid["group1_level"].isin(ctx.groups)]
        keep_terms = arm_pct[(arm_pct["kind"] == 2) & (arm_pct["pct"] >= min_pct)]
        keep = grid["kind"].eq(0) | (grid["kind"].eq(2) & grid["_item"].isin(
            keep_terms["_item"])) | (grid["kind"].eq(1) & grid["item_soc"].isin(
                keep_terms["item_soc"]))
        grid = grid[keep]
    grid = grid.sort_values(["_item", "_group"], kind="stable").reset_index(drop=True)
    grid["variable"] = np.select([grid["kind"] == 0, grid["kind"] == 1],
                                 [ANY, soc_var or ""], term_var)
    grid["variable_level"] = np.where(grid["kind"] == 0, "",
                                      np.where(grid["kind"] == 1, grid["item_soc"],
                                               grid["item_term"]))
    has_parent = (grid["kind"] == 2) & bool(soc_var)
    grid["group2"] = np.where(has_parent, soc_var or "", "")
    grid["group2_level"] = np.where(has_parent, grid["item_soc"], "")
    stats = ["n", "N", "pct"] + (["events"] if ctx.spec.option("events") else [])
    grade = ctx.spec.option("grade")
    if not grade:
        return [*ctx.n_rows(), *ctx.frame_rows(grid, stats, _COUNT)]
    by_rank = (items.dropna(subset=["rank"]).assign(rank=lambda f: f["rank"].astype(int))
               .groupby([*keys, "rank"]).size().unstack("rank")
               .reindex(columns=range(len(grade["levels"]))))
    by_rank.columns = [grade_stat(level) for level in grade["levels"]]
    graded = grid.merge(by_rank.reset_index(), on=keys, how="left")
    grade_stats: list[str] = []
    for level in grade["levels"]:
        name, pct = grade_stat(level), grade_stat(level, "pct")
        graded[name] = graded[name].fillna(0)
        graded[pct] = (100.0 * graded[name] / graded["N"].where(graded["N"] > 0)).astype(
            float)
        grade_stats += [name, pct]
    return [*ctx.n_rows(), *ctx.frame_rows(graded, [*grade_stats, *stats],
                                           _MAX_GRADE.format(grade["variable"]))]
