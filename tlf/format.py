"""Display formatting of numbers for tables: counts with percentages, estimates, p-values.

Table builders turn analysis results (ARD values) into the strings a table prints with
these helpers, so every output formats the same number the same way. Renderers never
format numbers themselves.

Rules, fixed here once for every output:

* Rounding is half away from zero ("round half up", SAS ROUND), never Python's
  round-half-to-even: 19.55 -> "19.6", 0.0225 -> "0.023". It goes through
  :func:`trialflow.stats.descriptive.round_half_up`, which also treats a decimal such
  as 0.0225, stored in binary as 0.02249999..., as the half it was meant to be.
* Not estimable: a missing or non-finite value (None, NaN, ±inf) prints as ``"NE"``.
* Zero counts print as ``"0"`` with no percentage (a percentage of nothing adds
  nothing). A non-zero count whose percentage would round to zero prints ``"(<0.1)"``
  rather than a misleading ``"(0.0)"``; a count short of the total whose percentage
  would round to 100 prints ``"(>99.9)"``; ``n == N`` prints ``"(100.0)"``.
* P-values print with three decimals. A p-value below 0.001 — compared before
  rounding — prints ``"<0.001"``, so 0.0005 (which rounds to 0.001) is ``"<0.001"``
  and 0.001 itself is ``"0.001"``. A p-value below 1 that would round to 1.000 prints
  ``">0.999"``; exactly 1 prints ``"1.000"``.
"""

from __future__ import annotations

import math
import numbers

from trialflow.stats.descriptive import round_half_up

__all__ = ["NE", "est", "est_ci", "median_ci", "n_pct", "pvalue"]

#: What a value that cannot be estimated prints as.
NE = "NE"


def _check_decimals(decimals: int) -> int:
    if not isinstance(decimals, numbers.Integral) or decimals < 0:
        raise ValueError(f"decimals must be a non-negative int, got {decimals!r}")
    return int(decimals)


def _fixed(x: float, decimals: int) -> str:
    """``x`` rounded half up and printed with exactly ``decimals`` decimals."""
    return f"{round_half_up(x, decimals):.{decimals}f}"


def _is_ne(x: float | None) -> bool:
    return x is None or not math.isfinite(x)


def est(x: float | None, decimals: int) -> str:
    """An estimate with a fixed number of decimals.

    Parameters
    ----------
    x : float or None
        The value; None, NaN or ±inf print as ``"NE"``.
    decimals : int
        Decimals to print (rounded half away from zero).

    Returns
    -------
    str

    Examples
    --------
    >>> est(2.675, 2), est(-0.04, 1), est(None, 1), est(12, 0)
    ('2.68', '0.0', 'NE', '12')
    """
    decimals = _check_decimals(decimals)
    return NE if _is_ne(x) else _fixed(float(x), decimals)  # type: ignore[arg-type]


def est_ci(x: float | None, lcl: float | None, ucl: float | None, decimals: int) -> str:
    """An estimate with its confidence limits, ``"0.72 (0.50, 1.04)"``.

    Parameters
    ----------
    x, lcl, ucl : float or None
        Estimate, lower and upper confidence limit; each prints ``"NE"`` on its own
        when it is not estimable.
    decimals : int
        Decimals of all three numbers.

    Returns
    -------
    str
    """
    return f"{est(x, decimals)} ({est(lcl, decimals)}, {est(ucl, decimals)})"


def median_ci(med: float | None, lcl: float | None, ucl: float | None,
              decimals: int = 1) -> str:
    """A median with its confidence limits, ``"5.3 (4.0, 6.6)"``.

    Kaplan-Meier medians and limits are often not estimable (too few events): each
    missing part prints ``"NE"``, e.g. ``"20.1 (15.2, NE)"`` or ``"NE (NE, NE)"``.

    Parameters
    ----------
    med, lcl, ucl : float or None
        Median, lower and upper confidence limit.
    decimals : int, default 1

    Returns
    -------
    str

    Examples
    --------
    >>> median_ci(5.25, 4.0, None)
    '5.3 (4.0, NE)'
    """
    return est_ci(med, lcl, ucl, decimals)


def n_pct(n: int, N: int, decimals: int = 1) -> str:
    """A count with its percentage of a total, ``"17 (19.5)"``.

    Parameters
    ----------
    n : int
        The count, ``0 <= n <= N``.
    N : int
        The denominator (the number of subjects in the column's population).
    decimals : int, default 1
        Decimals of the percentage.

    Returns
    -------
    str
        ``"0"`` when ``n`` is 0; otherwise ``"n (pct)"`` with the percentage rounded half
        up, ``"(<0.1)"`` when it would round to zero and ``"(>99.9)"`` when it would
        round to 100 with ``n < N`` (thresholds follow ``decimals``).

    Examples
    --------
    >>> n_pct(17, 87), n_pct(0, 108), n_pct(1, 8, 0), n_pct(1, 3000), n_pct(1999, 2000)
    ('17 (19.5)', '0', '1 (13)', '1 (<0.1)', '1999 (>99.9)')
    """
    decimals = _check_decimals(decimals)
    for name, v in (("n", n), ("N", N)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{name} must be an int, got {v!r}")
    n, N = int(n), int(N)
    if n < 0 or N < 0 or n > N:
        raise ValueError(f"need 0 <= n <= N, got n={n}, N={N}")
    if n == 0:
        return "0"
    pct = float(round_half_up(100.0 * n / N, decimals))
    step = 10.0 ** -decimals
    if pct == 0.0:
        return f"{n} (<{step:.{decimals}f})"
    if pct == 100.0 and n < N:
        return f"{n} (>{100.0 - step:.{decimals}f})"
    return f"{n} ({pct:.{decimals}f})"


def pvalue(p: float | None, decimals: int = 3) -> str:
    """A p-value, ``"0.022"``; ``"<0.001"`` below the smallest printable value.

    Parameters
    ----------
    p : float or None
        The p-value in [0, 1]; None or NaN prints ``"NE"``.
    decimals : int, default 3
        Decimals printed; the ``"<"`` threshold is ``10**-decimals``.

    Returns
    -------
    str

    Examples
    --------
    >>> pvalue(0.0225), pvalue(0.0005), pvalue(0.001), pvalue(0.9996), pvalue(1.0)
    ('0.023', '<0.001', '0.001', '>0.999', '1.000')
    """
    decimals = _check_decimals(decimals)
    if decimals == 0:
        raise ValueError("a p-value needs at least one decimal")
    if p is None or math.isnan(p):
        return NE
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a p-value must lie in [0, 1], got {p!r}")
    step = 10.0 ** -decimals
    # Compare the unrounded value: 0.0005 rounds up to 0.001 but is below it.
    if p < step:
        return f"<{step:.{decimals}f}"
    rounded = float(round_half_up(p, decimals))
    if rounded >= 1.0 and p < 1.0:
        return f">{1.0 - step:.{decimals}f}"
    return f"{rounded:.{decimals}f}"
