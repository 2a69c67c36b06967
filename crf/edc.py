"""How an EDC system exports what sites typed: date text, partial dates, spelling variants.

Dates are ``DD-MON-YYYY`` (``05-JUN-2016``); an unknown day or month is ``UN``
(``UN-JUN-2016``). Sites type the same answer in several ways (``F``, ``Female``,
``female``); the variants written here are all listed as synonyms in ``specs/ct``, so
SDTM can map them — and a value outside them is a finding, not a silent NA.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

MONTHS = np.array(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                   "NOV", "DEC"])


def to_dates(base: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Calendar dates (datetime64[D]) of study ``day`` counted from ``base`` (= day 1)."""
    return np.asarray(base, dtype="datetime64[D]") + (np.asarray(day, dtype=np.int64) - 1)


def edc_date(dates: np.ndarray, unknown_day: np.ndarray | None = None,
             unknown_month: np.ndarray | None = None) -> np.ndarray:
    """Format datetime64[D] values as EDC text; NaT becomes an empty cell."""
    d = np.asarray(dates, dtype="datetime64[D]")
    if d.size == 0:
        return np.array([], dtype=object)
    ok = ~np.isnat(d)
    safe = np.where(ok, d, np.datetime64("2000-01-01"))
    y = safe.astype("datetime64[Y]").astype(int) + 1970
    m = safe.astype("datetime64[M]").astype(int) % 12
    day = (safe - safe.astype("datetime64[M]")).astype(int) + 1
    dd = np.char.zfill(day.astype(str), 2).astype(object)
    mm = MONTHS[m].astype(object)
    if unknown_day is not None:
        dd = np.where(unknown_day, "UN", dd)
    if unknown_month is not None:
        dd = np.where(unknown_month, "UN", dd)
        mm = np.where(unknown_month, "UN", mm)
    out = dd + "-" + mm + "-" + y.astype(str).astype(object)
    return np.where(ok, out, "").astype(object)


def variants(rng: np.random.Generator, values: np.ndarray, table: dict[str, list[str]],
             p: float = 0.15) -> np.ndarray:
    """Replace a share ``p`` of values by one of their typed variants from ``table``."""
    values = np.asarray(values, dtype=object)
    out = values.copy()
    swap = rng.random(values.size) < p
    for key, alts in table.items():
        sel = swap & (values == key)
        if sel.any():
            out[sel] = rng.choice(np.asarray(alts, dtype=object), int(sel.sum()))
    return out


def yn(flags: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(flags, dtype=bool), "Y", "N").astype(object)


def date_of(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def text(values: object) -> pd.Series:
    """A text column as exported: numbers without a trailing .0, missing as ''."""
    s = pd.Series(values)
    if pd.api.types.is_float_dtype(s):
        whole = s.notna() & (s == np.floor(s.fillna(0)))
        out = s.map(lambda v: "" if pd.isna(v) else repr(float(v)))
        out[whole] = s[whole].astype("Int64").astype(str)
        return out
    return s.astype(object).where(s.notna(), "").astype(str)
