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
