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


def score_instrument(qs: pd.DataFrame, spec: dict[str, Any], by: list[str]) -> pd.DataFrame:
    """Subscale and total scores per questionnaire (one row per ``by`` group).

    ``qs`` is long: ``by`` columns, QSTESTCD (item) and QSSTRESN (answer, NaN if not
    answered). Returns the ``by`` columns, one column per subscale and total, and
    ``<name>_N`` with the number of items answered.
    """
    items = {it: name for name, sub in spec["subscales"].items() for it in sub["items"]}
    reversed_ = {it for sub in spec["subscales"].values() for it in sub["reversed"]}
    d = qs[qs["QSTESTCD"].isin(list(items))].copy()
    d["score"] = np.where(d["QSTESTCD"].isin(list(reversed_)), 4 - d["QSSTRESN"],
                          d["QSSTRESN"])
    d["subscale"] = d["QSTESTCD"].map(items)
    g = d.groupby(by + ["subscale"], sort=True)["score"]
    agg = pd.DataFrame({"sum": g.sum(min_count=1), "n": g.count()}).reset_index()
    wide_sum = agg.pivot_table(index=by, columns="subscale", values="sum", aggfunc="first")
    wide_n = agg.pivot_table(index=by, columns="subscale", values="n", aggfunc="first")
    out = pd.DataFrame(index=wide_n.index)
    for name, sub in spec["subscales"].items():
        k = len(sub["items"])
        n = wide_n[name].fillna(0) if name in wide_n else pd.Series(0, index=out.index)
        s = wide_sum[name] if name in wide_sum else pd.Series(np.nan, index=out.index)
        out[name] = np.where(n > k / 2, s * k / n.where(n > 0), np.nan)
        out[f"{name}_N"] = n.astype(int)
    for total, t in spec.get("totals", {}).items():
        subs = t["subscales"]
        n_items = sum(len(spec["subscales"][s]["items"]) for s in subs)
        answered = sum(out[f"{s}_N"] for s in subs)
        complete = out[subs].notna().all(axis=1) & (
            answered > spec["total_min_response_rate"] * n_items)
        out[total] = out[subs].sum(axis=1).where(complete)
    return out.reset_index()
