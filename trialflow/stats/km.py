"""Kaplan-Meier estimates as SAS PROC LIFETEST prints them by default.

Reproduces ``PROC LIFETEST METHOD=KM CONFTYPE=LOGLOG`` (both SAS defaults):

* the "Product-Limit Survival Estimates" with Greenwood standard errors and
  pointwise log-log confidence limits (the OUTSURV= limits);
* the "Quartile Estimates": SAS's percentile definition, including the
  midpoint rule for a survival curve that is flat at exactly ``1 - p``, with
  Brookmeyer-Crowley confidence limits on the log-log scale.

The survival curve itself comes from statsmodels' ``SurvfuncRight``; only the
SAS-specific quantile rules are written here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.duration.survfunc import SurvfuncRight

from trialflow.stats._inputs import ArrayLike, as_time_event

__all__ = ["KMResult", "fit_km", "reverse_km_median"]

# Products of many (1 - d/n) factors land a few ulps away from 0.5 or 0.75,
# so "S(t) equals 1 - p" must be decided with a tolerance.
_TOL = 1e-12


# eq=False: the result holds a DataFrame, whose element-wise == would make a
# generated __eq__/__hash__ raise; compare fields explicitly instead.
@dataclass(frozen=True, eq=False)
class KMResult:
    """Kaplan-Meier summary of one group; NaN means not estimable.

    Attributes
    ----------
    n, events : int
        Number of subjects and of events.
    median, median_lcl, median_ucl : float
        Median survival time and its Brookmeyer-Crowley (log-log) limits.
    q1, q1_lcl, q1_ucl, q3, q3_lcl, q3_ucl : float
        The 25th and 75th percentiles with their limits.
    table : pandas.DataFrame
        One row per distinct observed time: ``time, n_risk, n_event, n_censor,
        survival, std_err`` (Greenwood, on S) and pointwise log-log ``lcl, ucl``.
    """

    n: int
    events: int
    median: float
    median_lcl: float
    median_ucl: float
    q1: float
    q1_lcl: float
    q1_ucl: float
    q3: float
    q3_lcl: float
    q3_ucl: float
    table: pd.DataFrame


def _loglog_z(
    surv: np.ndarray, std_err: np.ndarray, target: np.ndarray | float
) -> np.ndarray:
    """Return (g(S) - g(target)) / se(g(S)) with g(x) = log(-log x); NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(surv)
        se_g = std_err / (surv * np.abs(log_s))
        z = (np.log(-log_s) - np.log(-np.log(target))) / se_g
    valid = (surv > 0) & (surv < 1) & (std_err > 0)
    return np.where(valid, z, np.nan)


def _quantiles(
    event_times: np.ndarray,
    surv: np.ndarray,
    std_err: np.ndarray,
    probs: np.ndarray,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SAS LIFETEST percentiles and Brookmeyer-Crowley limits for each p in ``probs``.

    ``event_times``, ``surv`` and ``std_err`` describe the curve at its distinct
    event times only, as the SAS formulas are written over those times.
    """
    k = probs.size
    m = event_times.size
    nan = np.full(k, np.nan)
    if m == 0:
        return nan, nan.copy(), nan.copy()
    target = (1.0 - probs)[:, None]  # one row per percentile

    # Point estimate: first event time with S < 1-p; when S sits exactly on 1-p
    # SAS takes the midpoint of the flat stretch up to the next event time, and
    # has no estimate if no later event time closes the stretch.
    on = np.abs(surv - target) <= _TOL
    below = surv < target - _TOL
    j_on = on.argmax(axis=1)
    j_next = j_on + 1
    midpoint = np.where(
        j_next < m, (event_times[j_on] + event_times[np.minimum(j_next, m - 1)]) / 2, np.nan
    )
    first_below = np.where(below.any(axis=1), event_times[below.argmax(axis=1)], np.nan)
    est = np.where(on.any(axis=1), midpoint, first_below)

    # Brookmeyer-Crowley: event times where the z-test of S(t) = 1-p on the
    # log-log scale does not reject. SAS's lower limit is the first of them; its
    # upper limit is the event time right after the last of them (where the
    # curve has dropped clearly below 1-p), missing when none follows.
    z_crit = norm.ppf(1.0 - alpha / 2.0)
    z = _loglog_z(surv[None, :], std_err[None, :], target)
    inside = np.abs(z) <= z_crit  # NaN compares False: undefined z is never inside
    any_inside = inside.any(axis=1)
    first = inside.argmax(axis=1)
    last = m - 1 - inside[:, ::-1].argmax(axis=1)
    lcl = np.where(any_inside, event_times[first], np.nan)
    after = last + 1
    ucl = np.where(any_inside & (after < m), event_times[np.minimum(after, m - 1)], np.nan)
    return est, lcl, ucl


def _product_limit_table(
    t: np.ndarray,
    e: np.ndarray,
    event_times: np.ndarray,
    surv: np.ndarray,
    std_err: np.ndarray,
    alpha: float,
) -> pd.DataFrame:
    """Lay the event-time curve out over every distinct observed time."""
    counts = (
        pd.DataFrame({"time": t, "event": e})
        .groupby("time", sort=True)["event"]
        .agg(n_event="sum", n_obs="size")
    )
    times = counts.index.to_numpy(dtype=float)
    n_obs = counts["n_obs"].to_numpy()
    n_event = counts["n_event"].to_numpy()
    n_risk = n_obs[::-1].cumsum()[::-1]

    # Step function: a censored-only time carries the estimate of the last event
    # time before it; before the first event S = 1 with standard error 0.
    pos = np.searchsorted(event_times, times, side="right")
    s = np.r_[1.0, surv][pos]
    se = np.r_[0.0, std_err][pos]

    z_crit = norm.ppf(1.0 - alpha / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_g = se / (s * np.abs(np.log(s)))
        lcl = s ** np.exp(z_crit * se_g)
        ucl = s ** np.exp(-z_crit * se_g)
    # log(-log S) is undefined at S = 1 and S = 0. At S = 1 the limits collapse
    # to 1, as in SAS's time-0 row; at S = 0 they are not estimable.
    lcl = np.where(s >= 1.0, 1.0, np.where(s <= 0.0, np.nan, lcl))
    ucl = np.where(s >= 1.0, 1.0, np.where(s <= 0.0, np.nan, ucl))

    return pd.DataFrame(
        {
            "time": times,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": (n_obs - n_event).astype(int),
            "survival": s,
            "std_err": se,
            "lcl": lcl,
            "ucl": ucl,
        }
    )


def fit_km(time: ArrayLike, event: ArrayLike, alpha: float = 0.05) -> KMResult:
    """Kaplan-Meier estimate with SAS PROC LIFETEST quartiles and log-log limits.

    Parameters
    ----------
    time : array_like of float
        Time to event or censoring, in any unit (the results use the same unit).
    event : array_like of {0, 1}
        1 = event, 0 = censored.
    alpha : float, default 0.05
        Two-sided level of the confidence limits (SAS ALPHA=).

    Returns
    -------
    KMResult
        Quartiles with Brookmeyer-Crowley limits (CONFTYPE=LOGLOG) and the
        product-limit table. The p-th quantile is the first event time with
        S(t) < 1 - p; if S(t_j) = 1 - p exactly, the midpoint of t_j and the
        next event time. The confidence interval is the set of event times
        where |g(S(t)) - g(1 - p)| / se(g(S(t))) <= z_{1-alpha/2},
        g(x) = log(-log x); the lower limit is its first event time and the
        upper limit the event time following its last one.

    Examples
    --------
    >>> r = fit_km([1, 2, 3, 4], [1, 1, 1, 1])
    >>> r.q1, r.median, r.q3
    (1.5, 2.5, 3.5)
    >>> r.table["n_risk"].tolist(), r.table["survival"].round(6).tolist()
    ([4, 3, 2, 1], [0.75, 0.5, 0.25, 0.0])
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie strictly between 0 and 1")
    t, e = as_time_event(time, event)
    if e.any():
        sf = SurvfuncRight(t, e)
        event_times = np.asarray(sf.surv_times, dtype=float)
        surv = np.asarray(sf.surv_prob, dtype=float)
        # statsmodels leaves Greenwood's SE undefined once S reaches 0; SAS prints 0.
        std_err = np.where(surv <= 0.0, 0.0, np.asarray(sf.surv_prob_se, dtype=float))
    else:
        event_times = surv = std_err = np.empty(0)

    est, lcl, ucl = _quantiles(event_times, surv, std_err, np.array([0.5, 0.25, 0.75]), alpha)
    return KMResult(
        n=int(t.size),
        events=int(e.sum()),
        median=float(est[0]),
        median_lcl=float(lcl[0]),
        median_ucl=float(ucl[0]),
        q1=float(est[1]),
        q1_lcl=float(lcl[1]),
        q1_ucl=float(ucl[1]),
        q3=float(est[2]),
        q3_lcl=float(lcl[2]),
        q3_ucl=float(ucl[2]),
        table=_product_limit_table(t, e, event_times, surv, std_err, alpha),
    )


def reverse_km_median(time: ArrayLike, event: ArrayLike, alpha: float = 0.05) -> KMResult:
    """Median follow-up by the reverse Kaplan-Meier method.

    Censoring is treated as the event and events as censoring (the usual SAS
    idiom ``TIME aval*cnsr(0)`` with the indicator flipped), so ``median`` is
    the median potential follow-up time.

    Parameters
    ----------
    time : array_like of float
        Time to event or censoring.
    event : array_like of {0, 1}
        1 = event, 0 = censored (the original, not yet reversed, indicator).
    alpha : float, default 0.05
        Two-sided level of the confidence limits.

    Returns
    -------
    KMResult
        The Kaplan-Meier summary of the reversed indicator; ``events`` counts
        the censored subjects.

    Examples
    --------
    >>> reverse_km_median([1, 2, 3, 4, 5], [1, 0, 1, 0, 0]).median
    4.0
    """
    t, e = as_time_event(time, event)
    return fit_km(t, 1 - e, alpha=alpha)
