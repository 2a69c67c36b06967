"""ISO 8601 dates as calendar days, without pandas' nanosecond limits.

pandas holds a ``datetime64[ns]`` date only between 1677-09-21 and 2262-04-11; text
outside it becomes NaT under ``errors="coerce"``, so an AE that ended in 2300 (a typo for
2030) would read as "not ended", and two different far-future dates would compare equal.
The functions here parse to numpy ``datetime64[D]``, which holds any year from -9999 to
9999 and beyond, and convert to SAS dates (days since 1960-01-01) or to pandas
``datetime64[s]`` columns (seconds resolution: years up to 292 billion).

Examples
--------
>>> iso_days(pd.Series(["2016-06-05", "2300-01-01", "2016-02-30", "", "2016-06"])).tolist()
[datetime.date(2016, 6, 5), datetime.date(2300, 1, 1), None, None, None]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DATE_UNIT", "PANDAS_MAX", "PANDAS_MIN", "SAS_EPOCH_DAY", "as_date_column",
           "as_dates", "iso_bounds_days", "iso_days", "iso_seconds", "outside_pandas_ns",
           "sas_days"]

#: The unit analysis dates are held in (pandas ``datetime64[s]``).
DATE_UNIT = "datetime64[s]"
SAS_EPOCH_DAY = np.datetime64("1960-01-01", "D")
#: The first and last day a ``datetime64[ns]`` holds.
PANDAS_MIN = np.datetime64("1677-09-22", "D")
PANDAS_MAX = np.datetime64("2262-04-11", "D")

_DATE = r"^\s*(\d{4})-(\d{2})-(\d{2})"
_TIME = r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*$"


def _parts(values: pd.Series, pattern: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Regex parts of each distinct value and the codes that spread them back."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    text = pd.Series(uniques, dtype=object).where(
        pd.Series(uniques, dtype=object).map(lambda v: isinstance(v, str)), "")
    return text.astype(str).str.extract(pattern), codes


def _days(parts: pd.DataFrame) -> np.ndarray:
    """``datetime64[D]`` of (year, month, day) text columns 0-2; NaT where not a date."""
    year = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float)
    month = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float)
    day = pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=float)
    ok = ~(np.isnan(year) | np.isnan(month) | np.isnan(day))
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    y = np.where(ok, year, 1970).astype(np.int64)
    m = np.where(ok, month, 1).astype(np.int64)
    d = np.where(ok, day, 1).astype(np.int64)
    first_of_month = (np.datetime64("1970", "Y") + (y - 1970)).astype("datetime64[M]") + (m - 1)
    dates = first_of_month.astype("datetime64[D]") + (d - 1)
    # 30 February rolls over into March: not a calendar date.
    ok &= dates.astype("datetime64[M]") == first_of_month
    return np.where(ok, dates, np.datetime64("NaT", "D"))


def iso_days(values: pd.Series) -> np.ndarray:
    """Complete ISO 8601 dates (``YYYY-MM-DD``, a time part allowed and ignored) as
    ``datetime64[D]``; NaT for blank, partial or impossible dates. Parsed once per
    distinct value.

    Parameters
    ----------
    values : pandas.Series of str

    Returns
    -------
    numpy.ndarray of datetime64[D]
    """
    parts, codes = _parts(values, _DATE + r"(?:T.*)?\s*$")
    return _days(parts)[codes]


def iso_seconds(values: pd.Series) -> np.ndarray:
    """ISO 8601 dates or date-times (``YYYY-MM-DDThh:mm[:ss]``) as ``datetime64[s]``;
    NaT for blank or malformed text."""
    parts, codes = _parts(values, _DATE + _TIME)
    days = _days(parts).astype("datetime64[s]")
    clock = [pd.to_numeric(parts[i], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
             for i in (3, 4, 5)]
    ok = (clock[0] < 24) & (clock[1] < 60) & (clock[2] < 60)
    seconds = clock[0] * 3600 + clock[1] * 60 + clock[2]
    moments = days + seconds.astype("timedelta64[s]")
    return np.where(ok, moments, np.datetime64("NaT", "s"))[codes]


def sas_days(dates: np.ndarray) -> np.ndarray:
    """``datetime64`` values as SAS dates (float days since 1960-01-01); NaN for NaT.

    Examples
    --------
    >>> sas_days(np.array(["1960-01-02", "NaT", "2300-01-01"], dtype="datetime64[D]")).tolist()
    [1.0, nan, 124183.0]
    """
    days = np.asarray(dates).astype("datetime64[D]")
    out = (days - SAS_EPOCH_DAY).astype(np.int64).astype(float)
    out[np.isnat(days)] = np.nan
    return out


def outside_pandas_ns(dates: np.ndarray) -> np.ndarray:
    """Which dates a ``datetime64[ns]`` could not hold (before 1677-09-22 or after
    2262-04-11); NaT is not flagged."""
    days = np.asarray(dates).astype("datetime64[D]")
    known = ~np.isnat(days)
    return known & ((days < PANDAS_MIN) | (days > PANDAS_MAX))


def as_date_column(dates: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """A pandas date column in :data:`DATE_UNIT` (any year), NaT kept."""
    return pd.Series(np.asarray(dates).astype(DATE_UNIT), index=index)


def as_dates(values: pd.Series) -> pd.Series:
    """A date column in :data:`DATE_UNIT`, from dates of any unit or objects (Timestamps,
    dates, ISO text, None/NaN), without passing through nanoseconds (``pd.to_datetime``
    of a Timestamp after 2262 raises).

    Examples
    --------
    >>> as_dates(pd.Series([pd.Timestamp("2300-01-01"), None], dtype=object)).tolist()
    [Timestamp('2300-01-01 00:00:00'), NaT]
    """
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        return values if values.dtype == DATE_UNIT else values.astype(DATE_UNIT)
    if pd.api.types.is_datetime64_any_dtype(values):  # timezone-aware: not used here
        return values.dt.tz_localize(None).astype(DATE_UNIT)
    return values.astype(object).where(values.notna(), None).astype(DATE_UNIT)


def iso_bounds_days(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest day an ISO 8601 date (possibly partial: ``2016-06``,
    ``2016``; a time part ignored) can be, as ``datetime64[D]``; NaT for blank,
    malformed or impossible text. Parsed once per distinct value.

    Examples
    --------
    >>> lo, hi = iso_bounds_days(pd.Series(["2016-02", "2300", "2016-06-05", "x"]))
    >>> [str(d) for d in lo], [str(d) for d in hi]
    (['2016-02-01', '2300-01-01', '2016-06-05', 'NaT'], ['2016-02-29', '2300-12-31', \
'2016-06-05', 'NaT'])
    """
    parts, codes = _parts(values, r"^\s*(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T.*)?\s*$")
    month_known, day_known = parts[1].notna().to_numpy(), parts[2].notna().to_numpy()
    filled = pd.DataFrame({0: parts[0], 1: parts[1].fillna("01"), 2: parts[2].fillna("01")})
    lo = _days(filled)
    month = lo.astype("datetime64[M]")
    year = lo.astype("datetime64[Y]")
    hi = np.where(day_known, lo, np.where(
        month_known, (month + 1).astype("datetime64[D]") - 1,
        (year + 1).astype("datetime64[D]") - 1))
    return lo[codes], hi.astype("datetime64[D]")[codes]
