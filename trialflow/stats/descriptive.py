"""Descriptive statistics with SAS's default definitions.

* ``round_half_up``: the SAS ROUND function (halves go away from zero), made
  robust to binary floating point the way SAS's ROUND is.
* ``sas_percentile`` / ``sas_quartiles``: PROC UNIVARIATE / PROC MEANS
  percentiles with the default PCTLDEF=5 (QNTLDEF=5), the empirical
  distribution function with averaging.
* ``wilcoxon_rank_sum_p``: PROC NPAR1WAY WILCOXON, "Normal Approximation,
  Two-Sided Pr > |Z|" with the default continuity correction (CORRECT=YES) and
  tie-corrected variance.

Missing values (NaN) are ignored, as SAS procedures ignore missing values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import mannwhitneyu

__all__ = ["round_half_up", "sas_percentile", "sas_quartiles", "wilcoxon_rank_sum_p"]

# A stored decimal such as 2.675 is 2.67499999999999982...; after scaling it
# sits within a few ulps below the half. A relative tolerance of 1e-14
# (about 45 ulps) absorbs that noise; the 1e-6 cap keeps it from swallowing
# real fractions at magnitudes where ulps are large.
_REL_TOL = 1e-14
_ABS_TOL_CAP = 1e-6

# n * p for p given in decimal (0.7, 0.3, ...) is inexact too; SAS treats an
# n*p within this distance of a whole number as whole.
_NP_TOL = 1e-9


def round_half_up(x: npt.ArrayLike, ndigits: int = 0) -> np.ndarray | float:
    """Round half away from zero to ``ndigits`` decimals, like SAS ROUND(x, 10**-ndigits).

    Parameters
    ----------
    x : float or array_like of float
        Values to round; NaN stays NaN.
    ndigits : int, default 0
        Decimals to keep; negative values round to tens, hundreds, ...

    Returns
    -------
    float or numpy.ndarray
        A float for scalar input, an array of the input's shape otherwise.

    Examples
    --------
    >>> round_half_up(2.675, 2), round_half_up(0.125, 2), round_half_up(-2.5)
    (2.68, 0.13, -3.0)
    >>> round_half_up([1.5, 2.5, float("nan")]).tolist()
    [2.0, 3.0, nan]
    """
    a = np.asarray(x, dtype=float)
    scale = 10.0 ** abs(int(ndigits))
    # Divide rather than multiply by 10**-k: 0.1 is not exact in binary.
    scaled = np.abs(a) * scale if ndigits >= 0 else np.abs(a) / scale
    whole = np.floor(scaled)
    tol = np.minimum(scaled * _REL_TOL, _ABS_TOL_CAP)
    with np.errstate(invalid="ignore"):
        up = (scaled - whole) >= 0.5 - tol
    rounded = whole + up
    out = np.sign(a) * (rounded / scale if ndigits >= 0 else rounded * scale)
    out = np.where(np.isnan(a), np.nan, out) + 0.0  # + 0.0 turns -0.0 into 0.0
    return float(out) if out.ndim == 0 else out


def _clean_sorted(x: npt.ArrayLike) -> np.ndarray:
    v = np.asarray(x, dtype=float).ravel()
    return np.sort(v[~np.isnan(v)])


def sas_percentile(x: npt.ArrayLike, p: npt.ArrayLike) -> np.ndarray | float:
    """Percentile by SAS's default definition PCTLDEF=5.

    With n sorted non-missing values x_(1) <= ... <= x_(n) and n*p = j + g
    (j the integer part, g the fractional part), the percentile is x_(j+1) if
    g > 0 and (x_(j) + x_(j+1)) / 2 if g = 0. p = 0 gives the minimum and
    p = 1 the maximum.

    Parameters
    ----------
    x : array_like of float
        Values; NaN are ignored.
    p : float or array_like of float
        Proportions in [0, 1] (0.25 for the 25th percentile).

    Returns
    -------
    float or numpy.ndarray
        NaN when x has no non-missing values.

    Examples
    --------
    >>> sas_percentile([4, 1, 3, 2], 0.25), sas_percentile([1, 2, 3, 4, 5], 0.25)
    (1.5, 2.0)
    """
    v = _clean_sorted(x)
    pa = np.asarray(p, dtype=float)
    if np.any(np.isnan(pa)) or np.any((pa < 0) | (pa > 1)):
        raise ValueError("p must lie in [0, 1]")
    n = v.size
    if n == 0:
        out = np.full(pa.shape, np.nan)
    else:
        np_ = n * pa
        nearest = np.round(np_)
        np_ = np.where(np.abs(np_ - nearest) <= _NP_TOL, nearest, np_)
        j = np.floor(np_).astype(int)
        g = np_ - j
        upper = v[np.clip(j, 0, n - 1)]  # x_(j+1), 0-based index j
        lower = v[np.clip(j - 1, 0, n - 1)]  # x_(j)
        out = np.where(g > 0, upper, (lower + upper) / 2.0)
    return float(out) if out.ndim == 0 else out


def sas_quartiles(x: npt.ArrayLike) -> tuple[float, float, float]:
    """Lower quartile, median and upper quartile by SAS PCTLDEF=5.

    Examples
    --------
    >>> sas_quartiles([1, 2, 3, 4, 5, 6])
    (2.0, 3.5, 5.0)
    """
    q1, med, q3 = sas_percentile(x, [0.25, 0.5, 0.75])
    return float(q1), float(med), float(q3)


def wilcoxon_rank_sum_p(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Two-sided Wilcoxon rank-sum p-value, normal approximation as SAS NPAR1WAY prints it.

    Z = (S - E[S] -/+ 0.5) / sqrt(Var[S]) with mid-ranks for ties, the
    tie-corrected variance and a continuity correction of 0.5 toward E[S]
    (SAS's default CORRECT=YES). The rank-sum form and scipy's Mann-Whitney U
    form give the same Z.

    Parameters
    ----------
    x, y : array_like of float
        The two samples; NaN are ignored.

    Returns
    -------
    float
        Two-sided Pr > |Z|.

    Examples
    --------
    >>> round(wilcoxon_rank_sum_p([1, 2, 3, 4], [5, 6, 7, 8]), 4)
    0.0304
    """
    a = _clean_sorted(x)
    b = _clean_sorted(y)
    if a.size == 0 or b.size == 0:
        raise ValueError("each sample needs at least one non-missing value")
    res = mannwhitneyu(a, b, use_continuity=True, alternative="two-sided", method="asymptotic")
    return float(res.pvalue)
