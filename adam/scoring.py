"""Questionnaire scoring from the instrument's spec (FACT-B: specs/instruments/factb.yaml).

A subscale is scored when more than half of its items are answered: the sum of item
scores (reversed items score 4 - answer) times the number of items over the number
answered — the FACIT prorating rule. A total (B-TOI, FACT-G, FACT-B) is the sum of its
subscales, scored only when every one of them is scored and more than the instrument's
minimum share of all its items is answered.

:func:`score_instrument` gives the scores of each questionnaire side by side;
:func:`score_records` one record per questionnaire and score (PARAMCD, PARAM, PARAMN,
AVAL, NANSW, NITEM, ADT), which is the named derivation ``facit_scores`` of
:mod:`adam.named`.

Example
-------
>>> import pandas as pd
>>> spec = {"subscales": {"A": {"items": ["I1", "I2", "I3"], "reversed": ["I1"]}},
...         "totals": {}, "total_min_response_rate": 0.8}
>>> qs = pd.DataFrame({"USUBJID": "1", "ADT": pd.Timestamp("2020-01-01"),
...                    "QSTESTCD": ["I1", "I2"], "QSSTRESN": [1.0, 2.0]})
>>> float(score_instrument(qs, spec, ["USUBJID", "ADT"])["A"].iloc[0])
7.5
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from adam.dates import convert_dtc_to_dt
from adam.derive import run_starts

__all__ = ["score_instrument", "score_parameters", "score_records"]


def score_instrument(qs: pd.DataFrame, spec: dict[str, Any], by: list[str]) -> pd.DataFrame:
    """Subscale and total scores per questionnaire (one row per ``by`` group).

    ``qs`` is long: ``by`` columns, QSTESTCD (item) and QSSTRESN (answer, NaN if not
    answered). Returns the ``by`` columns, one column per subscale and total, and
    ``<name>_N`` with the number of items answered.
    """
    items = {it: name for name, sub in spec["subscales"].items() for it in sub["items"]}
    reversed_ = {it for sub in spec["subscales"].values() for it in sub["reversed"]}
    names = list(spec["subscales"])
    # Per distinct item code, not per record: is it an item, reversed, of which subscale.
    codes, tests = pd.factorize(qs["QSTESTCD"])
    keep = np.array([t in items for t in tests] + [False], dtype=bool)[codes]
    d = qs if keep.all() else qs.loc[keep, [*by, "QSTESTCD", "QSSTRESN"]]
    codes = codes[keep]
    # Questionnaires are numbered once, sorted by ``by`` (a missing key drops the record,
    # as groupby does), from the first record of each run of equal keys (records come in
    # key order: one per questionnaire, not one per item); each item's subscale is a
    # number. The sums and counts are then taken per questionnaire x subscale on one
    # integer key, not on the text of ``by``.
    start = run_starts(*(d[col].to_numpy() for col in by))
    heads = pd.DataFrame({col: d[col].to_numpy()[start] for col in by}).groupby(by, sort=True)
    index = heads.size().index
    qid = heads.ngroup().to_numpy()[np.cumsum(start) - 1]
    known = ~np.isnan(qid) if qid.dtype.kind == "f" else np.ones(len(qid), dtype=bool)
    answer = d["QSSTRESN"].to_numpy(dtype=np.float64)
    score = np.where(np.array([t in reversed_ for t in tests] + [False], dtype=bool)[codes],
                     4 - answer, answer)
    sub = np.array([names.index(items[t]) if t in items else -1 for t in tests] + [-1],
                   dtype=np.int64)[codes]
    cell = qid[known].astype(np.int64) * len(names) + sub[known]
    score = score[known]
    size = len(index) * len(names)
    answered = ~np.isnan(score)
    n = np.bincount(cell[answered], minlength=size).reshape(len(index), len(names))
    # The sums by pandas' groupby (compensated summation, records in order), as before,
    # over every cell; the cells as the codes of a categorical: no hashing of them.
    cells = pd.Categorical.from_codes(cell, categories=pd.RangeIndex(size), validate=False)
    total = pd.Series(score).groupby(cells, observed=False).sum(min_count=1).to_numpy(
        ).reshape(len(index), len(names))
    out = pd.DataFrame(index=index)
    for j, (name, sub_spec) in enumerate(spec["subscales"].items()):
        k = len(sub_spec["items"])
        count = pd.Series(n[:, j], index=index, dtype=np.float64)
        s = pd.Series(total[:, j], index=index)
        out[name] = np.where(count > k / 2, s * k / count.where(count > 0), np.nan)
        out[f"{name}_N"] = count.astype(int)
    for total_name, t in spec.get("totals", {}).items():
        subs = t["subscales"]
        n_items = sum(len(spec["subscales"][s]["items"]) for s in subs)
        answered_items = sum(out[f"{s}_N"] for s in subs)
        complete = out[subs].notna().all(axis=1) & (
            answered_items > spec["total_min_response_rate"] * n_items)
        out[total_name] = out[subs].sum(axis=1).where(complete)
    return out.reset_index()


def score_parameters(instrument: dict[str, Any]) -> pd.DataFrame:
    """PARAMCD, PARAM, PARAMN and NITEM (items in the score) of the instrument's scores:
    the subscales, then the totals, in the instrument's order. PARAM is the score's
    label, after the instrument's name unless the label starts with it, and its code in
    parentheses ("FACT-B Physical well-being (PWB)", "FACT-B total (FACTB)").

    Example
    -------
    >>> spec = {"instrument": "FACT-B", "subscales": {"PWB": {"label": "Physical well-being",
    ...         "items": ["GP1", "GP2"]}}, "totals": {"T": {"label": "FACT-B total",
    ...         "subscales": ["PWB"]}}}
    >>> score_parameters(spec)[["PARAMCD", "PARAM", "NITEM"]].values.tolist()
    [['PWB', 'FACT-B Physical well-being (PWB)', 2.0], ['T', 'FACT-B total (T)', 2.0]]
    """
    rows = []
    subs = instrument["subscales"]
    name = instrument.get("instrument", "")
    for code, sub in subs.items():
        rows.append((code, sub["label"], len(sub["items"])))
    for code, tot in instrument.get("totals", {}).items():
        rows.append((code, tot["label"], sum(len(subs[s]["items"]) for s in tot["subscales"])))
    out = pd.DataFrame(rows, columns=["PARAMCD", "_LABEL", "NITEM"])
    out["PARAM"] = [lab if lab.upper().startswith(name.split("-")[0].upper()) or not name
                    else f"{name} {lab}" for lab in out["_LABEL"]]
    out["PARAM"] = out["PARAM"] + " (" + out["PARAMCD"] + ")"
    out["PARAMN"] = np.arange(1, len(out) + 1, dtype="float64")
    out["NITEM"] = out["NITEM"].astype("float64")
    return out.drop(columns="_LABEL")


def score_records(qs: pd.DataFrame, instrument: dict[str, Any], by: list[str],
                  date: str) -> pd.DataFrame:
    """The scores of every questionnaire (a ``by`` group of ``qs``), long: the ``by``
    variables, PARAMCD, AVAL (missing when not scoreable), NANSW (items answered), PARAM,
    PARAMN, NITEM and ADT (the complete date of the ``date`` variable, one of ``by``).

    The records come by subject (STUDYID and USUBJID, those of them in ``by``), then
    score (in PARAMN order), then questionnaire (sorted by ``by``): the order a BDS
    dataset is written in, so that the writer has no records to reorder (a copy of every
    column at 21,900 subjects). Each column is one take of the questionnaires' (``row``)
    or the scores' (``score``) values.
    """
    scored = score_instrument(qs, dict(instrument), by)
    params = score_parameters(instrument)
    subs = instrument["subscales"]
    totals = instrument.get("totals", {})
    for code, tot in totals.items():
        scored[f"{code}_N"] = sum(scored[f"{s}_N"] for s in tot["subscales"])
    codes = [*subs, *totals]
    ids = [c for c in ("STUDYID", "USUBJID") if c in by]
    subject = np.cumsum(run_starts(*(scored[c].to_numpy() for c in ids)))
    row = np.tile(np.arange(len(scored)), len(codes))
    score = np.repeat(np.arange(len(codes)), len(scored))
    by_subject = np.argsort(subject[row], kind="stable")
    row, score = row[by_subject], score[by_subject]
    long = pd.DataFrame({c: scored[c].to_numpy()[row] for c in by})
    long["PARAMCD"] = params["PARAMCD"].to_numpy()[score]
    long["AVAL"] = scored[codes].to_numpy(dtype="float64")[row, score]
    long["NANSW"] = scored[[f"{c}_N" for c in codes]].to_numpy(dtype="float64")[row, score]
    for c in params.columns.drop("PARAMCD"):
        long[c] = params[c].to_numpy()[score]
    # The date of each questionnaire, converted once (not once per score).
    long["ADT"] = convert_dtc_to_dt(scored[date]).to_numpy()[row]
    return long
