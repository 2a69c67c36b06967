"""Fast survival statistics for the simulator's calibration loop.

The calibration search evaluates its targets tens of thousands of times, so it cannot
afford a statsmodels or lifelines fit per step (milliseconds each). These are compact
numpy versions of the same SAS-default methods the analysis uses — Kaplan-Meier
quantiles with Brookmeyer-Crowley log-log limits, Cox partial likelihood with Breslow
ties for one binary covariate, the (stratified) log-rank test, PCTLDEF=5 percentiles and
the Wilcoxon rank-sum normal approximation. They are checked against the library-backed
implementations in :mod:`trialflow.stats` by the tests, so calibrating with them and
analysing with the libraries give the same numbers. The search itself runs their
compiled twins in :mod:`crf.kernels`, which the tests hold to these, bit for bit.

Times are integers (study days) or floats; ``event`` is 1 for an event, 0 for censored;
``arm`` is 1 for the test arm, 0 for the reference arm.

Most functions work on the *event set* of a data set: one row per event with the
numbers at risk (overall and in the test arm) in the event's stratum at its time, the
number of events tied with it and its arm. Breslow's partial likelihood and the
log-rank statistic are sums over events of functions of those numbers (tied events
share them), so one sort per evaluation serves both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

Z95 = 1.959963984540054  # two-sided 95 %
Z90 = 1.6448536269514722  # one-sided 95 %
_TOL = 1e-12
# log(-log(0.5)): the log-log transform of the median's survival level
_G_HALF = math.log(math.log(2.0))
# stratum codes are spread this far apart on one sort key; study days stay far below it
_SPAN = 1.0e6


def km_quantile(time: np.ndarray, event: np.ndarray, p: float = 0.5,
                z: float = Z95) -> tuple[float, float, float]:
    """Kaplan-Meier ``p`` quantile and its Brookmeyer-Crowley log-log limits.

    Parameters
    ----------
    time, event : numpy.ndarray
        Times and 0/1 event indicators.
    p : float
        Quantile (0.5 for the median).
    z : float
        Critical value of the two-sided confidence interval.

    Returns
    -------
    tuple of float
        ``(estimate, lower, upper)``; NaN where not estimable. The estimate is the
        smallest event time with S(t) < 1 - p, or the midpoint of the flat stretch where
        S equals 1 - p exactly (SAS PROC LIFETEST). The limits follow SAS as
        :func:`trialflow.stats.km.fit_km` does: the lower limit is the first event time
        whose log-log z statistic for S(t) = 1 - p lies within ``z``, the upper limit the
        event time after the last such one.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    te = np.sort(time[event])
    if te.size == 0:
        return (np.nan, np.nan, np.nan)
    new = np.empty(te.size, dtype=bool)
    new[0] = True
    np.not_equal(te[1:], te[:-1], out=new[1:])
    start = np.flatnonzero(new)
    et = te[start]
    d = np.diff(np.append(start, te.size)).astype(float)
    n_risk = time.size - np.searchsorted(np.sort(time), et, side="left").astype(float)
    s = np.cumprod(1.0 - d / n_risk)
    target = 1.0 - p
    below = np.flatnonzero(s <= target + _TOL)
    if below.size == 0:
        est = np.nan
    else:
        j = below[0]
        if abs(s[j] - target) <= _TOL:
            est = (et[j] + et[j + 1]) / 2.0 if j + 1 < et.size else np.nan
        else:
            est = float(et[j])
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(d / (n_risk * (n_risk - d)))
        log_s = np.log(s)
        stat = (np.log(-log_s) - math.log(-math.log(target))) * np.abs(log_s) / np.sqrt(gw)
    # undefined where S is 0 or 1 (or Greenwood's sum is): never inside, as in the library
    inside = np.flatnonzero(np.abs(stat) <= z)
    if inside.size == 0:
        return (est, np.nan, np.nan)
    after = inside[-1] + 1
    return (est, float(et[inside[0]]), float(et[after]) if after < et.size else np.nan)


@dataclass(frozen=True)
class EventSet:
    """One row per event: risk-set numbers in the event's stratum at the event's time.

    Attributes
    ----------
    n, n1 : numpy.ndarray
        At risk overall and in the test arm (float).
    d : numpy.ndarray
        Events at that time in that stratum, this one included (float).
    x : numpy.ndarray
        1.0 when the event is in the test arm.
    """

    n: np.ndarray
    n1: np.ndarray
    d: np.ndarray
    x: np.ndarray


def event_set(time: np.ndarray, event: np.ndarray, arm: np.ndarray,
              strata: np.ndarray | None = None) -> EventSet:
    """Risk-set numbers of every event, within strata when ``strata`` is given."""
    time = np.asarray(time, dtype=float)
    ev = np.asarray(event, dtype=bool)
    if strata is None:
        key = time
    else:
        key = np.asarray(strata, dtype=float) * _SPAN + time
    order = np.argsort(key, kind="stable")
    ks = key[order]
    es = ev[order]
    xs = np.asarray(arm, dtype=float)[order]
    ke = ks[es]
    first = np.searchsorted(ks, ke, side="left")
    last = np.searchsorted(ks, ke, side="right")
    if strata is None:
        end = ks.size
    else:
        end = np.searchsorted(ks, (np.floor(ke / _SPAN) + 1.0) * _SPAN, side="left")
    c1 = np.zeros(ks.size + 1)
    np.cumsum(xs, out=c1[1:])
    ce = np.zeros(ks.size + 1)
    np.cumsum(es, out=ce[1:])
    n = (end - first).astype(float)
    return EventSet(n=n, n1=c1[end] - c1[first], d=ce[last] - ce[first], x=xs[es])


def cox_fit(es: EventSet, beta0: float = 0.0, tol: float = 1e-11,
            max_iter: int = 50) -> tuple[float, float]:
    """Breslow-ties Cox estimate (log HR, standard error) for the binary covariate.

    Newton-Raphson on the (stratified) partial likelihood from ``beta0``; a warm start
    from the previous state's estimate makes the search's refits take two or three
    iterations. Returns NaNs when the estimate does not exist (no information, or the
    likelihood keeps rising towards an infinite hazard ratio).
    """
    if es.x.size == 0:
        return (np.nan, np.nan)
    n0 = es.n - es.n1
    obs = float(es.x.sum())
    beta = beta0 if math.isfinite(beta0) else 0.0
    for _ in range(max_iter):
        w = es.n1 * math.exp(beta)
        prob = w / (n0 + w)
        info = float(np.dot(prob, 1.0 - prob))
        if info <= 1e-300:
            return (np.nan, np.nan)
        step = (obs - float(prob.sum())) / info
        # halve long steps: Newton from a poor start can overshoot on a flat likelihood
        step = max(-2.0, min(2.0, step))
        beta += step
        if abs(beta) > 30.0:
            return (np.nan, np.nan)
        if abs(step) < tol:
            break
    w = es.n1 * math.exp(beta)
    prob = w / (n0 + w)
    info = float(np.dot(prob, 1.0 - prob))
    if info <= 1e-300:
        return (np.nan, np.nan)
    return (beta, 1.0 / math.sqrt(info))


def logrank_stat(es: EventSet) -> float:
    """Signed log-rank statistic (O - E)/sqrt(V) of the test arm; negative favours it."""
    n = es.n
    n1 = es.n1
    e1 = float((n1 / n).sum())
    v = float((n1 * (n - n1) * (n - es.d) / (n * n * np.maximum(n - 1.0, 1.0))).sum())
    if v <= 0:
        return np.nan
    return (float(es.x.sum()) - e1) / math.sqrt(v)


def group_scores(time: np.ndarray, event: np.ndarray, arm: np.ndarray,
                 members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cox score and information at beta = 0 for many subgroups at once (no strata).

    ``members`` is a (groups, n) boolean matrix. The score U(0) = O - E is the log-rank
    numerator, and the partial likelihood is concave, so the hazard ratio of a subgroup
    is below 1 exactly when its score is negative; U / I is the first Newton step.
    """
    time = np.asarray(time, dtype=float)
    order = np.argsort(time, kind="stable")
    ts = time[order]
    es = np.asarray(event, dtype=bool)[order]
    xs = np.asarray(arm, dtype=float)[order]
    m = members[:, order].astype(float)
    first = np.searchsorted(ts, ts[es], side="left")
    at_risk = np.cumsum(m[:, ::-1], axis=1)[:, ::-1]
    at_risk1 = np.cumsum((m * xs)[:, ::-1], axis=1)[:, ::-1]
    n = at_risk[:, first]
    prob = at_risk1[:, first] / np.maximum(n, 1.0)
    me = m[:, es]
    score = (me * (xs[es] - prob)).sum(axis=1)
    info = (me * prob * (1.0 - prob)).sum(axis=1)
    return score, info


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
    lo = float(np.min(time)) if time.size else 0.0
    span = float(np.max(time) - lo + 2.0) if time.size else 1.0
    # shifted to start at 0, so every time of a stratum stays below the stratum's end
    key = strata.astype(float) * span + (time - lo)
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


def percentile5(sorted_x: np.ndarray, p: float) -> float:
    """SAS PCTLDEF=5 percentile of an ascending array (see ``sas_percentile``)."""
    n = sorted_x.size
    np_ = n * p
    j = math.floor(np_ + 1e-9)
    if abs(np_ - round(np_)) <= 1e-9:
        j = round(np_)
        return float(sorted_x[max(j - 1, 0)] + sorted_x[min(j, n - 1)]) / 2.0
    return float(sorted_x[min(j, n - 1)])


def rank_sum_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Wilcoxon rank-sum p, normal approximation with continuity correction.

    Mid-ranks for ties and the tie-corrected variance, as SAS PROC NPAR1WAY and
    :func:`trialflow.stats.descriptive.wilcoxon_rank_sum_p` compute it.
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    allv = np.concatenate([a, b])
    n1, n2 = a.size, b.size
    n = n1 + n2
    s = np.sort(allv)
    # mid-rank of a value = (first position + last position) / 2 + 1 in the sorted pool
    lo = np.searchsorted(s, a, side="left")
    hi = np.searchsorted(s, a, side="right")
    rank_sum = float(((lo + hi + 1) / 2.0).sum())
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    t = np.diff(np.append(np.flatnonzero(new), n)).astype(float)
    var = n1 * n2 / 12.0 * ((n + 1) - float((t ** 3 - t).sum()) / (n * (n - 1)))
    if var <= 0:
        return 1.0
    diff = rank_sum - n1 * (n + 1) / 2.0
    corr = math.copysign(min(0.5, abs(diff)), diff)
    return float(2.0 * ndtr(-abs(diff - corr) / math.sqrt(var)))
