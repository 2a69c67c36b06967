"""Two-arm log-rank test as SAS PROC LIFETEST prints it.

Reproduces the "Log-Rank" row of ``PROC LIFETEST; TIME time*cnsr(1);
STRATA stratvars / GROUP=treat;`` (stratified) or ``STRATA treat;``
(unstratified): the chi-square, its degrees of freedom and
``Pr > Chi-Square``. The statistic is statsmodels' ``survdiff``; the p-value is the
chi-square's survival function (``chi2.sf``), not ``1 - cdf``, which loses every digit
below about 1e-16 and is exactly 0 for a chi-square above about 75 (SAS prints
<.0001, but the ARD keeps the number). The one-sided p-value, which SAS does not print,
halves the two-sided one in the direction of the observed effect. A record with a
missing (or blank) STRATA value is left out, as PROC LIFETEST does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2
from statsmodels.duration.survfunc import survdiff

from trialflow.stats._inputs import ArrayLike, as_time_event, as_treat, complete_strata

__all__ = ["LogRankResult", "logrank_test"]


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank comparison of the test arm (treat = 1) with control.

    Attributes
    ----------
    chisq : float
        Log-rank chi-square (summed over strata before forming the quadratic form).
    df : int
        Degrees of freedom (1 for two arms).
    p_2s : float
        Two-sided p-value, Pr > Chi-Square.
    p_1s : float
        One-sided p-value for the test arm having the lower hazard.
    favours_test : bool
        True when the test arm had fewer events than expected under no difference.
    n_missing_strata : int
        Records left out because a stratification value is missing.
    """

    chisq: float
    df: int
    p_2s: float
    p_1s: float
    favours_test: bool
    n_missing_strata: int = 0


def _observed_minus_expected(
    t: np.ndarray, e: np.ndarray, x: np.ndarray, codes: np.ndarray
) -> float:
    """Observed minus expected events in the test arm, summed over strata.

    Only the sign is used (the direction of the effect); survdiff does not
    report which arm its statistic was signed by.
    """
    at_time = (
        pd.DataFrame({"stratum": codes, "time": t, "d": e, "n1": x, "d1": e * x})
        .groupby(["stratum", "time"], sort=True)
        .agg(n=("d", "size"), d=("d", "sum"), n1=("n1", "sum"), d1=("d1", "sum"))
    )
    # Risk sets: everyone in the stratum whose time is at or after this time.
    reversed_cum = at_time[["n", "n1"]].iloc[::-1].groupby(level="stratum").cumsum().iloc[::-1]
    expected = at_time["d"] * reversed_cum["n1"] / reversed_cum["n"]
    return float(at_time["d1"].sum() - expected.sum())


def logrank_test(
    time: ArrayLike,
    event: ArrayLike,
    treat: ArrayLike,
    strata: ArrayLike | pd.DataFrame | None = None,
) -> LogRankResult:
    """Log-rank test of test arm versus control, optionally stratified.

    Parameters
    ----------
    time : array_like of float
        Time to event or censoring.
    event : array_like of {0, 1}
        1 = event, 0 = censored.
    treat : array_like of {0, 1}
        1 = test arm, 0 = control arm.
    strata : array_like or pandas.DataFrame, optional
        Stratum labels, or several stratification columns whose combinations
        form the strata. Observed-minus-expected and its variance are summed
        over strata, as SAS does with STRATA ... / GROUP=.

    Returns
    -------
    LogRankResult
        ``p_1s`` is ``p_2s / 2`` when the test arm had fewer events than
        expected (the test arm is favoured), otherwise ``1 - p_2s / 2``.

    Examples
    --------
    >>> r = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], [0, 1, 0, 1, 1, 0])
    >>> round(r.chisq, 4), r.favours_test
    (0.0739, True)
    """
    t, e = as_time_event(time, event)
    x = as_treat(treat, t.size)
    codes, keep = complete_strata(strata, t.size)
    if not keep.all():
        t, e, x = t[keep], e[keep], as_treat(x[keep], int(keep.sum()))
    if not e.any():
        raise ValueError("no events: the log-rank test is not defined")

    chisq = float(survdiff(t, e, x, strata=codes)[0])
    p_2s = float(chi2.sf(chisq, 1))
    o_minus_e = _observed_minus_expected(
        t, e, x, np.zeros(t.size, dtype=int) if codes is None else codes
    )
    favours = o_minus_e < 0.0
    return LogRankResult(
        chisq=chisq,
        df=1,
        p_2s=p_2s,
        p_1s=p_2s / 2.0 if favours else 1.0 - p_2s / 2.0,
        favours_test=bool(favours),
        n_missing_strata=int((~keep).sum()),
    )
