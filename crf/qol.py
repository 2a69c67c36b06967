"""FACT-B questionnaires: item responses that realise each patient's deterioration time.

Each HR-QoL patient answers at cycle 1 day 1 (baseline), on day 1 of later cycles and at
the end-of-treatment visit. The calibration step has decided, per patient, at which
post-baseline questionnaire the B-TOI (PWB + FWB + BCS) first falls 5 points or more
below baseline — or that it never does up to her last questionnaire. This module writes
item responses whose scores do exactly that: earlier changes lie in [-4, +6], the
deterioration in [-14, -5], later changes anywhere. TOI items are always complete (so
the scored change is an integer and the 5-point rule is unambiguous); the optional
sexual-activity item GS7 is often skipped, as in real FACT-B data, which the SWB
prorating absorbs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trialflow import SPECS
from trialflow.spec import read_yaml


def load_instrument(path: Path | None = None) -> dict:
    """The FACT-B scoring spec (items, reversed items, subscales)."""
    return read_yaml(path or SPECS / "instruments" / "factb.yaml")


def _split_sum(rng: np.random.Generator, total: np.ndarray, m: int) -> np.ndarray:
    """Integer item scores 0..4, ``m`` per row, summing to ``total`` (0 <= total <= 4m)."""
    n = total.size
    base = total // m
    rem = total % m
    items = np.repeat(base[:, None], m, axis=1)
    order = np.argsort(rng.random((n, m)), axis=1)
    extra = order < rem[:, None]
    items = items + extra
    # spread the answers: random +1/-1 transfers between two items of the same row
    for _ in range(2 * m):
        i = rng.integers(0, m, n)
        j = (i + rng.integers(1, m, n)) % m
        rows = np.arange(n)
        ok = (items[rows, i] < 4) & (items[rows, j] > 0) & (rng.random(n) < 0.5)
        items[rows[ok], i[ok]] += 1
        items[rows[ok], j[ok]] -= 1
    return items


def _split_toi(rng: np.random.Generator, toi: np.ndarray) -> tuple[np.ndarray, ...]:
    """PWB (0-28), FWB (0-28) and BCS (0-40) summing to the TOI."""
    p = np.clip(np.round(toi * 28 / 96 + rng.normal(0, 1.5, toi.size)), 0, 28).astype(int)
    f = np.clip(np.round(toi * 28 / 96 + rng.normal(0, 1.5, toi.size)), 0, 28).astype(int)
    b = toi - p - f
    for _ in range(3):
        over = np.maximum(b - 40, 0)
        under = np.maximum(-b, 0)
        mp = np.minimum(over, 28 - p)
        p += mp
        b -= mp
        mf = np.minimum(np.maximum(b - 40, 0), 28 - f)
        f += mf
        b -= mf
        up = np.minimum(under, p)
        p -= up
        b += up
        uf = np.minimum(np.maximum(-b, 0), f)
        f -= uf
        b += uf
    return p, f, b


def questionnaires(rng: np.random.Generator, instrument: dict, first_day: np.ndarray,
                   visits: list[np.ndarray], ttd_index: np.ndarray, ttd_event: np.ndarray,
                   hrqol: np.ndarray, baseline_only: np.ndarray) -> pd.DataFrame:
    """One row per completed questionnaire: pid, day, visit label and item responses.

    ``ttd_index[i]`` is the post-baseline questionnaire (index into ``visits[i]``) where
    patient ``i`` deteriorates (``ttd_event`` 1) or is censored (0; later questionnaires
    were not returned). ``baseline_only`` patients answer only at baseline.
    """
    pids, days, pos, status = [], [], [], []
    for i in np.flatnonzero(hrqol | baseline_only):
        pids.append(i)
        days.append(first_day[i])
        pos.append(0)
        status.append(0)
        if not hrqol[i]:
            continue
        v = visits[i]
        k = int(ttd_index[i])
        last = v.size - 1 if ttd_event[i] else k
        for j in range(last + 1):  # a handful of questionnaires per patient
            pids.append(i)
            days.append(v[j])
            pos.append(j + 1)
            status.append(1 if j < k else (2 if (j == k and ttd_event[i]) else
                                           (1 if j == k else 3)))
    q = pd.DataFrame({"pid": pids, "day": days, "pos": pos, "status": status})
    n = len(q)
    base_toi = rng.integers(30, 78, q["pid"].max() + 1 if n else 1)
    delta = np.select([q["status"] == 0, q["status"] == 1, q["status"] == 2],
                      [0, rng.integers(-4, 7, n), rng.integers(-14, -4, n)],
                      rng.integers(-18, 5, n))
    toi = np.clip(base_toi[q["pid"].to_numpy()] + delta, 0, 96)
    pwb, fwb, bcs = _split_toi(rng, toi)
    scores = {"PWB": pwb, "FWB": fwb, "BCS": bcs,
              "SWB": rng.integers(8, 27, n), "EWB": rng.integers(8, 23, n)}
    out = q[["pid", "day", "pos"]].copy()
    for name, sub in instrument["subscales"].items():
        items = sub["items"]
        scored = _split_sum(rng, scores[name], len(items))
        for col, item in enumerate(items):
            raw = scored[:, col]
            if item in sub["reversed"]:
                raw = 4 - raw
            out[item] = raw.astype(float)
    # GS7 (sex life) is the item patients most often leave blank; SWB is prorated then
    skip = rng.random(n) < 0.3
    out.loc[skip, "GS7"] = np.nan
    return out
