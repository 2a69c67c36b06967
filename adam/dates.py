"""Dates in ADaM: SDTM ISO 8601 text (--DTC) to analysis dates (--DT), partial dates
imputed with their flag (--DTF) (the ``dt`` verb; study days are the ``dy`` verb's).

Analysis dates are held as pandas dates (``datetime64[s]``, so that any year is a date:
pandas' default nanoseconds end in 2262) while deriving; the writer stores them as SAS
dates with their display format (:mod:`trialflow.xpt`).

Imputation follows admiral's ``derive_vars_dt``:

* ``highest_imputation`` says how much of a date may be imputed: ``"n"`` nothing
  (partial dates stay missing), ``"D"`` the day, ``"M"`` month and day, ``"Y"`` year,
  month and day (a blank date is never imputed here: there is nothing to start from);
* ``date_imputation`` ``"first"`` takes the earliest day the partial date can be
  (``2016-06`` -> 1 June 2016), ``"last"`` the latest (30 June 2016), ``"mid"`` the
  middle as admiral takes it (the 15th of a month; 30 June of a year);
* ``min_dates``: when such a date falls inside the range the partial date allows, the
  imputed date is not earlier than it (an AE started in the month of the first dose
  is not imputed to before the first dose); ``max_dates`` likewise caps it;
* the flag is ``D`` (day imputed) or ``M`` (month and day imputed), blank otherwise.

Example
-------
>>> import pandas as pd
>>> dt, dtf = impute_dtc_dt(pd.Series(["2016-06", "2016-06-05", ""]), "M", "first")
>>> [str(d.date()) if pd.notna(d) else None for d in dt], dtf.tolist()
(['2016-06-01', '2016-06-05', None], ['D', '', ''])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialflow.derivations import iso_bounds
from trialflow.isodates import as_dates

LEVELS = {"n": 0, "D": 1, "M": 2, "Y": 3}


def _missing_level(dtc: pd.Series) -> pd.Series:
    """How much of each date is missing: '' complete, 'D' day, 'M' month, 'Y' all."""
    text = dtc.astype("string").fillna("").str.strip().str.slice(0, 10)
    n = text.str.len().to_numpy()
    return pd.Series(np.select([n == 10, n == 7, n == 4], ["", "D", "M"], "Y"),
                     index=dtc.index)


def impute_dtc_dt(dtc: pd.Series, highest_imputation: str = "n",
                  date_imputation: str = "first",
                  min_dates: Sequence[pd.Series] = (),
                  max_dates: Sequence[pd.Series] = ()) -> tuple[pd.Series, pd.Series]:
    """Dates and imputation flags of ISO 8601 (possibly partial) date texts.

    Parameters
    ----------
    dtc : Series of str
    highest_imputation : {'n', 'D', 'M', 'Y'}
    date_imputation : {'first', 'mid', 'last'}
    min_dates, max_dates : sequence of Series of dates, aligned with ``dtc``

    Returns
    -------
    dt : Series of datetime64
    dtf : Series of str ('' when nothing was imputed)
    """
    if highest_imputation not in LEVELS:
        raise ValueError(f"highest_imputation must be one of {', '.join(LEVELS)}")
    if date_imputation not in ("first", "mid", "last"):
        raise ValueError("date_imputation must be 'first', 'mid' or 'last'")
    # Parsed once per distinct text (a QS date repeats on every item of a questionnaire).
    codes, uniques = pd.factorize(dtc, use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype=object)
    lo_u, hi_u = iso_bounds(distinct)
    lo = pd.Series(lo_u.to_numpy()[codes], index=dtc.index)
    hi = pd.Series(hi_u.to_numpy()[codes], index=dtc.index)
    level = pd.Series(_missing_level(distinct).to_numpy()[codes], index=dtc.index)
    complete = level.eq("") & lo.notna()
    allowed = level.isin([k for k, v in LEVELS.items() if 0 < v <= LEVELS[highest_imputation]
                          and k != "Y"]) & lo.notna()
    if date_imputation == "mid":
        years = pd.to_datetime(lo).dt.year
        june30 = pd.to_datetime(pd.DataFrame({"year": years.fillna(2000), "month": 6,
                                              "day": 30})).where(years.notna())
        picked = lo.where(~level.eq("D"), pd.to_datetime(lo) + pd.Timedelta(days=14))
        picked = picked.where(~level.eq("M"), june30)
    else:
        picked = lo if date_imputation == "first" else hi
    dt = picked.where(complete | allowed)
    for m in min_dates:
        inside = allowed & m.notna() & (m >= lo) & (m <= hi)
        dt = dt.where(~(inside & (m > dt)), m)
    for m in max_dates:
        inside = allowed & m.notna() & (m >= lo) & (m <= hi)
        dt = dt.where(~(inside & (m < dt)), m)
    dtf = level.where(allowed, "")
    return as_dates(dt), dtf


def convert_dtc_to_dt(dtc: pd.Series) -> pd.Series:
    """Complete ISO 8601 dates as dates; partial or blank text gives NaT."""
    return impute_dtc_dt(dtc, "n")[0]
