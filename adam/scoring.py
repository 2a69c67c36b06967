"""Questionnaire scoring from the instrument's spec (FACT-B: specs/instruments/factb.yaml).

A subscale is scored when more than half of its items are answered: the sum of item
scores (reversed items score 4 - answer) times the number of items over the number
answered — the FACIT prorating rule. A total (B-TOI, FACT-G, FACT-B) is the sum of its
subscales, scored only when every one of them is scored and more than the instrument's
minimum share of all its items is answered.

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

from adam.derive import run_starts


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
