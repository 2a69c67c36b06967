"""Hazard ratio from a Cox model as SAS PROC PHREG prints it by default.

Reproduces ``PROC PHREG; MODEL time*cnsr(1) = treat / TIES=BRESLOW RISKLIMITS;
STRATA ...;`` with one binary covariate: the Breslow approximation for tied
event times (the PHREG default), Wald confidence limits for the hazard ratio
and the Wald chi-square p-value. The fit is statsmodels' ``PHReg``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from trialflow.stats._inputs import ArrayLike, as_time_event, as_treat, complete_strata

__all__ = ["CoxResult", "fit_cox"]


@dataclass(frozen=True)
class CoxResult:
    """Hazard ratio of the test arm (treat = 1) versus control.

    Attributes
    ----------
    hr, hr_lcl, hr_ucl : float
        Hazard ratio and its two-sided 100(1-alpha)% Wald limits.
    hr_upper_1s : float
        One-sided 100(1-alpha)% upper limit, exp(log_hr + z_{1-alpha} se).
    log_hr, se : float
        Log hazard ratio and its standard error.
    p_wald_2s : float
        Two-sided Wald chi-square p-value.
    n, events : int
        Subjects and events used.
    n_missing_strata : int
        Records left out because a stratification value is missing (stratified fits).
    """

    hr: float
    hr_lcl: float
    hr_ucl: float
    hr_upper_1s: float
    log_hr: float
    se: float
    p_wald_2s: float
    n: int
    events: int
    n_missing_strata: int = 0


def fit_cox(
    time: ArrayLike,
    event: ArrayLike,
    treat: ArrayLike,
    strata: ArrayLike | pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> CoxResult:
    """Cox proportional-hazards hazard ratio with Breslow ties, optionally stratified.

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
        form the strata (each stratum has its own baseline hazard). A record with a
        missing (or blank) stratification value is left out, as PROC PHREG does, and
        counted in ``n_missing_strata``.
    alpha : float, default 0.05
        Level of the confidence limits.

    Returns
    -------
    CoxResult

    Raises
    ------
    ValueError
        Not estimable: no events, or no stratum with both arms at an event time.

    Examples
    --------
    >>> r = fit_cox([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], [0, 1, 0, 1, 1, 0])
    >>> round(r.hr, 4), r.events
    (0.7604, 5)
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie strictly between 0 and 1")
    t, e = as_time_event(time, event)
    x = as_treat(treat, t.size)
    codes, keep = complete_strata(strata, t.size)
    if not keep.all():
        t, e, x = t[keep], e[keep], as_treat(x[keep], int(keep.sum()))
    if not e.any():
        raise ValueError("no events: the hazard ratio is not estimable")

    model = PHReg(t, x[:, None].astype(float), status=e, ties="breslow", strata=codes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fit = model.fit(disp=False)
        except np.linalg.LinAlgError:
            # The information matrix is singular: no stratum holds both arms at an event
            # time, so the partial likelihood says nothing about the treatment effect.
            raise ValueError("no stratum compares the arms at an event time: the hazard "
                             "ratio is not estimable") from None
    b = float(np.asarray(fit.params)[0])
    se = float(np.asarray(fit.bse)[0])
    if any(issubclass(w.category, ConvergenceWarning) for w in caught) or not (
            np.isfinite(b) and np.isfinite(se)):
        # Monotone likelihood (e.g. every event in one arm): the estimate runs off to
        # infinity; SAS warns and prints a meaningless number, we call it not estimable.
        raise ValueError("the Cox fit did not converge (monotone likelihood): the hazard "
                         "ratio is not estimable")
    z2 = norm.ppf(1.0 - alpha / 2.0)
    z1 = norm.ppf(1.0 - alpha)
    return CoxResult(
        hr=float(np.exp(b)),
        hr_lcl=float(np.exp(b - z2 * se)),
        hr_ucl=float(np.exp(b + z2 * se)),
        hr_upper_1s=float(np.exp(b + z1 * se)),
        log_hr=b,
        se=se,
        p_wald_2s=float(2.0 * norm.sf(abs(b / se))),
        n=int(t.size),
        events=int(e.sum()),
        n_missing_strata=int((~keep).sum()),
    )
