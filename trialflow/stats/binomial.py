"""Binomial proportions and 2x2 tables as SAS PROC FREQ prints them.

* ``clopper_pearson``: the "Exact Conf Limits" of ``TABLES ... / BINOMIAL``
  (Clopper-Pearson, from the beta distribution).
* ``woolf_odds_ratio``: the "Odds Ratio" row of ``TABLES ... / RELRISK`` with
  its default Wald (logit, Woolf) confidence limits.
* ``fisher_exact_2s``: "Two-sided Pr <= P" of ``TABLES ... / FISHER`` (the
  default for 2x2 tables with CHISQ): the sum of the probabilities of all
  tables with the same margins that are no more likely than the observed one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import beta, fisher_exact, norm

__all__ = ["clopper_pearson", "cmh_2x2_p", "fisher_exact_2s", "risk_difference_wald",
           "woolf_odds_ratio"]


def _check_count(x: int, n: int) -> None:
    if n <= 0 or x < 0 or x > n or int(x) != x or int(n) != n:
        raise ValueError(f"need whole numbers 0 <= x <= n, n > 0 (got x={x}, n={n})")


def clopper_pearson(
    x: npt.ArrayLike, n: npt.ArrayLike, alpha: float = 0.05, sided: int = 2
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Exact (Clopper-Pearson) confidence limits for a binomial proportion.

    Parameters
    ----------
    x, n : int or array_like of int
        Responders and subjects (vectorised; arrays broadcast together).
    alpha : float, default 0.05
        Level of the limits.
    sided : {2, 1}, default 2
        2: two-sided 100(1-alpha)% limits. 1: each limit is a one-sided
        100(1-alpha)% bound, i.e. the two-sided 100(1-2*alpha)% interval.

    Returns
    -------
    (lcl, ucl)
        Floats for scalar input, arrays otherwise. ``lcl`` is 0 when x = 0 and
        ``ucl`` is 1 when x = n, as SAS prints.

    Examples
    --------
    >>> lcl, ucl = clopper_pearson(17, 87, sided=1)
    >>> round(float(ucl), 3)
    0.279
    """
    if sided not in (1, 2):
        raise ValueError("sided must be 1 or 2")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie strictly between 0 and 1")
    xa, na = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float))
    if np.any(na <= 0) or np.any(xa < 0) or np.any(xa > na) or np.any(xa != np.round(xa)):
        raise ValueError("need whole numbers 0 <= x <= n, n > 0")
    tail = alpha / sided
    with np.errstate(invalid="ignore", divide="ignore"):
        lcl = np.where(xa == 0, 0.0, beta.ppf(tail, xa, na - xa + 1))
        ucl = np.where(xa == na, 1.0, beta.ppf(1.0 - tail, xa + 1, na - xa))
    if lcl.ndim == 0:
        return float(lcl), float(ucl)
    return lcl, ucl


def woolf_odds_ratio(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """Odds ratio of group 1 versus group 2 with Woolf (logit) confidence limits.

    Parameters
    ----------
    x1, n1 : int
        Responders and subjects in group 1 (the test arm, numerator).
    x2, n2 : int
        Responders and subjects in group 2 (the comparator).
    alpha : float, default 0.05
        Level of the limits.

    Returns
    -------
    (or_, lcl, ucl, upper_1s)
        Odds ratio, two-sided 100(1-alpha)% limits exp(log OR -/+ z_{1-alpha/2} se),
        and the one-sided 100(1-alpha)% upper limit exp(log OR + z_{1-alpha} se),
        with se = sqrt(1/a + 1/b + 1/c + 1/d). All NaN when a cell is 0: like
        SAS, no continuity correction is added, so the logit limits do not exist.

    Examples
    --------
    >>> or_, lcl, ucl, upper_1s = woolf_odds_ratio(17, 90, 18, 92)
    >>> round(or_, 3), round(upper_1s, 3)
    (0.957, 1.778)
    """
    _check_count(x1, n1)
    _check_count(x2, n2)
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie strictly between 0 and 1")
    cells = np.array([x1, n1 - x1, x2, n2 - x2], dtype=float)
    if np.any(cells == 0):
        return (np.nan, np.nan, np.nan, np.nan)
    a, b, c, d = cells
    log_or = np.log(a * d / (b * c))
    se = np.sqrt(np.sum(1.0 / cells))
    z2 = norm.ppf(1.0 - alpha / 2.0)
    z1 = norm.ppf(1.0 - alpha)
    return (
        float(np.exp(log_or)),
        float(np.exp(log_or - z2 * se)),
        float(np.exp(log_or + z2 * se)),
        float(np.exp(log_or + z1 * se)),
    )


def fisher_exact_2s(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided Fisher exact p-value for responders x1/n1 versus x2/n2.

    Parameters
    ----------
    x1, n1 : int
        Responders and subjects in group 1.
    x2, n2 : int
        Responders and subjects in group 2.

    Returns
    -------
    float
        SAS's "Two-sided Pr <= P" (scipy's two-sided ``fisher_exact``, which
        uses the same "no more likely than observed" rule).

    Examples
    --------
    >>> round(fisher_exact_2s(3, 105, 0, 108), 3)
    0.118
    """
    _check_count(x1, n1)
    _check_count(x2, n2)
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    return float(fisher_exact(table, alternative="two-sided").pvalue)


def risk_difference_wald(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Difference of proportions x1/n1 - x2/n2 with Wald limits, as PROC FREQ's
    ``RISKDIFF`` prints them by default (column 1 risk, asymptotic limits).

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Responders and subjects of group 1 (test) and group 2 (comparator).
    alpha : float, default 0.05

    Returns
    -------
    (diff, lcl, ucl)
        diff -/+ z_{1-alpha/2} sqrt(p1 (1 - p1) / n1 + p2 (1 - p2) / n2).

    Examples
    --------
    >>> d, lcl, ucl = risk_difference_wald(5, 10, 2, 10)
    >>> round(d, 4), round(lcl, 4), round(ucl, 4)
    (0.3, -0.0969, 0.6969)
    """
    _check_count(x1, n1)
    _check_count(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    se = float(np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))
    z = norm.ppf(1.0 - alpha / 2.0)
    diff = p1 - p2
    return float(diff), float(diff - z * se), float(diff + z * se)


def cmh_2x2_p(group: npt.ArrayLike, response: npt.ArrayLike,
              strata: object | None = None) -> float:
    """Cochran-Mantel-Haenszel p-value of a 2 x 2 table stratified by ``strata``, as
    PROC FREQ ``TABLES strata * group * response / CMH`` prints it ("General
    Association", which equals the other two CMH statistics for 2 x 2 tables; no
    continuity correction).

    Q = (sum_k (a_k - E a_k))^2 / sum_k V_k with E a_k = n1k m1k / N_k and
    V_k = n1k n2k m1k m2k / (N_k^2 (N_k - 1)); p = P(chi-square_1 > Q). A stratum with
    fewer than two subjects adds nothing.

    Parameters
    ----------
    group, response : array_like of bool
        Per subject: in group 1 (test); a responder.
    strata : array_like or pandas.DataFrame, optional
        Stratum labels (several columns: their combinations). None: one stratum (then Q
        is the Mantel-Haenszel chi-square, (N - 1) / N times Pearson's).

    Returns
    -------
    float
        NaN when no stratum varies in both group and response.

    Examples
    --------
    >>> round(cmh_2x2_p([1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 1, 0, 0, 0]), 4)
    0.1859
    """
    import pandas as pd
    from scipy.stats import chi2

    g = np.asarray(group, dtype=bool).ravel()
    r = np.asarray(response, dtype=bool).ravel()
    if strata is None:
        codes = np.zeros(g.size, dtype=int)
    else:
        frame = strata if isinstance(strata, pd.DataFrame) else pd.DataFrame(
            {"s": np.asarray(strata, dtype=object).ravel()})
        codes = frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy()
    table = pd.DataFrame({"k": codes, "a": g & r, "n1": g, "m1": r, "one": 1}).groupby(
        "k").sum()
    n = table["one"].astype(float)
    n1, m1, a = table["n1"].astype(float), table["m1"].astype(float), table["a"].astype(float)
    use = n > 1
    expected = (n1 * m1 / n)[use]
    var = (n1 * (n - n1) * m1 * (n - m1) / (n * n * (n - 1)))[use]
    if var.sum() <= 0:
        return float("nan")
    q = float((a[use] - expected).sum() ** 2 / var.sum())
    return float(chi2.sf(q, 1))
