"""Input checks shared by the survival functions.

Bad analysis data should stop the run with a message, not produce a number:
SAS would silently drop a record with a missing time, and a table built from
silently fewer subjects is worse than no table.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

ArrayLike = npt.ArrayLike


def as_time_event(time: ArrayLike, event: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return ``time`` as float and ``event`` as int arrays after checking them.

    Examples
    --------
    >>> as_time_event([3, 1.5], [1, 0])
    (array([3. , 1.5]), array([1, 0]))
    """
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event, dtype=float).ravel()
    if t.shape != e.shape:
        raise ValueError(f"time and event differ in length ({t.size} vs {e.size})")
    if t.size == 0:
        raise ValueError("no observations")
    if not np.all(np.isfinite(t)):
        raise ValueError("time has missing or infinite values")
    if np.any(t < 0):
        raise ValueError("time has negative values")
    if not np.all(np.isin(e, (0.0, 1.0))):
        raise ValueError("event must be 1 (event) or 0 (censored)")
    return t, e.astype(int)


def as_treat(treat: ArrayLike, n: int) -> np.ndarray:
    """Return the 0/1 treatment indicator as int, requiring both arms present.

    Examples
    --------
    >>> as_treat([1, 0, 1], 3)
    array([1, 0, 1])
    """
    g = np.asarray(treat, dtype=float).ravel()
    if g.size != n:
        raise ValueError(f"treat has {g.size} values, expected {n}")
    if not np.all(np.isin(g, (0.0, 1.0))):
        raise ValueError("treat must be 1 (test arm) or 0 (control arm)")
    if np.unique(g).size != 2:
        raise ValueError("treat must contain both arms (0 and 1)")
    return g.astype(int)


def stratum_codes(strata: ArrayLike | pd.DataFrame | pd.Series | None, n: int) -> np.ndarray | None:
    """Combine one or several stratification variables into integer stratum codes.

    Each distinct combination of values is one stratum, as in a SAS STRATA
    statement listing several variables.

    Examples
    --------
    >>> stratum_codes(pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"]}), 3)
    array([0, 1, 2])
    """
    if strata is None:
        return None
    if isinstance(strata, pd.DataFrame):
        frame = strata
    else:
        frame = pd.DataFrame({"s": np.asarray(strata, dtype=object).ravel()})
    if len(frame) != n:
        raise ValueError(f"strata has {len(frame)} rows, expected {n}")
    if frame.isna().to_numpy().any():
        raise ValueError("strata has missing values")
    return frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy()


def _missing(values: pd.Series) -> np.ndarray:
    """Missing as SAS sees a STRATA value: NaN/None, or text that is blank."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    blank = np.fromiter((isinstance(u, str) and u.strip() == "" for u in uniques),
                        dtype=bool, count=len(uniques))
    return (codes < 0) | (blank[codes] if len(uniques) else np.zeros(len(codes), bool))


def complete_strata(strata: ArrayLike | pd.DataFrame | pd.Series | None, n: int
                    ) -> tuple[np.ndarray | None, np.ndarray]:
    """Stratum codes of the records whose every stratification value is present, and
    which records those are.

    SAS (PROC PHREG, PROC LIFETEST without the MISSING option) leaves a record with a
    missing STRATA value out of a stratified analysis; a blank text is missing there. A
    blank kept as a value would make a stratum of its own and move the estimate.

    Parameters
    ----------
    strata : array_like, pandas.Series or pandas.DataFrame, optional
        One stratification variable, or several (their combinations are the strata).
    n : int
        Number of records.

    Returns
    -------
    codes : numpy.ndarray of int or None
        :func:`stratum_codes` of the complete records (None without strata).
    keep : numpy.ndarray of bool
        Which of the ``n`` records are complete (all True without strata).

    Examples
    --------
    >>> codes, keep = complete_strata(pd.DataFrame({"a": ["x", " ", "y", None]}), 4)
    >>> codes.tolist(), keep.tolist()
    ([0, 1], [True, False, True, False])
    """
    if strata is None:
        return None, np.ones(n, dtype=bool)
    frame = strata if isinstance(strata, pd.DataFrame) else pd.DataFrame(
        {"s": np.asarray(strata, dtype=object).ravel()})
    if len(frame) != n:
        raise ValueError(f"strata has {len(frame)} rows, expected {n}")
    keep = ~np.logical_or.reduce([_missing(frame[c]) for c in frame.columns]) \
        if len(frame.columns) else np.ones(n, dtype=bool)
    return stratum_codes(frame[keep].reset_index(drop=True), int(keep.sum())), keep
