"""Fast survival statistics for the simulator's calibration loop.

The calibration search evaluates its targets tens of thousands of times, so it cannot
afford a statsmodels or lifelines fit per step (milliseconds each). These are compact
numpy versions of the same SAS-default methods the analysis uses — Kaplan-Meier
quantiles with Brookmeyer-Crowley log-log limits, Cox partial likelihood with Breslow
ties for one binary covariate, and the (stratified) log-rank test. They are checked
against the library-backed implementations in :mod:`trialflow.stats` by the tests, so
calibrating with them and analysing with the libraries give the same numbers.

Times are integers (study days) or floats; ``event`` is 1 for an event, 0 for censored;
``arm`` is 1 for the test arm, 0 for the reference arm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

Z95 = 1.959963984540054  # two-sided 95 %
Z90 = 1.6448536269514722  # one-sided 95 %
_TOL = 1e-12


def km_quantile(time: np.ndarray, event: np.ndarray, p: float = 0.5,
                z: float = Z95) -> tuple[float, float, float]:
    """Kaplan-Meier ``p`` quantile and its Brookmeyer-Crowley log-log limits.

    Returns ``(estimate, lower, upper)``; NaN where not estimable. The estimate is the
    smallest event time with S(t) < 1 - p; where S equals 1 - p exactly over a flat
    stretch, the midpoint of the stretch (SAS PROC LIFETEST).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    et, n_risk, n_ev = _event_table(time, event)
    if et.size == 0:
        return (np.nan, np.nan, np.nan)
    s = np.cumprod(1.0 - n_ev / n_risk)
    target = 1.0 - p
    est = _first_below(et, s, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(n_ev / (n_risk * (n_risk - n_ev)))
        se_g = np.sqrt(gw) / np.abs(np.log(s))
        s_lo = s ** np.exp(z * se_g)
        s_hi = s ** np.exp(-z * se_g)
    s_lo = np.where(s <= 0, 0.0, s_lo)
    s_hi = np.where(s <= 0, 0.0, s_hi)
    lower = _first_below(et, s_lo, target)
    upper = _first_below(et, s_hi, target)
    return (est, lower, upper)


def _event_table(time: np.ndarray, event: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ev_times = np.sort(time[event])
    et = np.unique(ev_times)
    ts = np.sort(time)
    n_risk = time.size - np.searchsorted(ts, et, side="left")
    n_ev = np.searchsorted(ev_times, et, side="right") - np.searchsorted(ev_times, et,
                                                                          side="left")
    return et, n_risk.astype(float), n_ev.astype(float)


def _first_below(et: np.ndarray, s: np.ndarray, target: float) -> float:
    """Smallest event time with s <= target; midpoint rule when s == target exactly."""
    idx = np.flatnonzero(s <= target + _TOL)
    if idx.size == 0:
        return np.nan
    j = idx[0]
    if abs(s[j] - target) <= _TOL:
        return (et[j] + et[j + 1]) / 2.0 if j + 1 < et.size else np.nan
    return float(et[j])


@dataclass(frozen=True)
class RiskTable:
    """Per (stratum, event time): events and numbers at risk by arm."""

    d: np.ndarray
    d1: np.ndarray
    n0: np.ndarray
    n1: np.ndarray


def risk_table(time: np.ndarray, event: np.ndarray, arm: np.ndarray,
               strata: np.ndarray | None = None) -> RiskTable:
    """Numbers at risk and events at each distinct event time within each stratum."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    arm = np.asarray(arm, dtype=bool)
    strata = np.zeros(time.size, dtype=np.int64) if strata is None else np.asarray(strata)
    span = float(np.max(time) - np.min(time) + 2.0) if time.size else 1.0
    key = strata.astype(float) * span + (time - np.min(time, initial=0.0))
    ev_keys = np.unique(key[event])
    stratum_end = (np.floor(ev_keys / span) + 1.0) * span
    out = []
    for a in (False, True):
        ka = np.sort(key[arm == a])
        n_at = np.searchsorted(ka, stratum_end, side="left") - np.searchsorted(ka, ev_keys,
                                                                              side="left")
        ke = np.sort(key[(arm == a) & event])
        d_at = np.searchsorted(ke, ev_keys, side="right") - np.searchsorted(ke, ev_keys,
                                                                           side="left")
        out.append((n_at.astype(float), d_at.astype(float)))
    (n0, d0), (n1, d1) = out
    return RiskTable(d=d0 + d1, d1=d1, n0=n0, n1=n1)


def cox_binary(table: RiskTable, iterations: int = 25) -> tuple[float, float]:
    """Breslow-ties Cox estimate (log HR, standard error) for a binary covariate.

    Newton-Raphson on the stratified partial likelihood from beta = 0.
    """
    beta = 0.0
    info = np.nan
    for _ in range(iterations):
        w1 = table.n1 * np.exp(beta)
        prob = w1 / (table.n0 + w1)
        score = float(np.sum(table.d1 - table.d * prob))
        info = float(np.sum(table.d * prob * (1.0 - prob)))
        if info <= 0:
            return (np.nan, np.nan)
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    w1 = table.n1 * np.exp(beta)
    prob = w1 / (table.n0 + w1)
    info = float(np.sum(table.d * prob * (1.0 - prob)))
    return (beta, 1.0 / np.sqrt(info))


def logrank_z(table: RiskTable) -> float:
    """Signed log-rank statistic (O - E)/sqrt(V) for the test arm; negative favours it."""
    n = table.n0 + table.n1
    e1 = table.d * table.n1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, table.d * table.n1 * table.n0 * (n - table.d) / (n * n * (n - 1)),
                     0.0)
    var = float(np.sum(v))
    if var <= 0:
        return np.nan
    return float(np.sum(table.d1 - e1)) / np.sqrt(var)


def logrank_p(z: float) -> tuple[float, float]:
    """(two-sided p, one-sided p for the test arm being better) from the signed statistic."""
    return (float(2.0 * ndtr(-abs(z))), float(ndtr(z)))
