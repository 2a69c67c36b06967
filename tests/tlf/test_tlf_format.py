"""Display formatting: round half up, NE for not estimable, the p-value rule."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import tlf.format
from tlf.format import est, est_ci, median_ci, n_pct, pvalue


def test_docstring_examples() -> None:
    result = doctest.testmod(tlf.format)
    assert result.failed == 0
    assert result.attempted > 0


@pytest.mark.parametrize(("n", "N", "decimals", "expected"), [
    (17, 87, 1, "17 (19.5)"),
    (1, 16, 1, "1 (6.3)"),         # 6.25 rounds up; Python's round() gives 6.2
    (1, 8, 0, "1 (13)"),           # 12.5 rounds up; Python's round() gives 12
    (0, 108, 1, "0"),              # zero counts carry no percentage
    (0, 0, 1, "0"),                # nothing of nothing
    (108, 108, 1, "108 (100.0)"),
    (1, 3000, 1, "1 (<0.1)"),      # would round to 0.0
    (1999, 2000, 1, "1999 (>99.9)"),  # 99.95 would round to 100.0
    (1, 300, 0, "1 (<1)"),
    (np.int64(5), np.int64(20), 1, "5 (25.0)"),
])
def test_n_pct(n: int, N: int, decimals: int, expected: str) -> None:  # noqa: N803
    assert n_pct(n, N, decimals) == expected


@pytest.mark.parametrize(("n", "N"), [(5, 4), (-1, 10), (1, 0)])
def test_n_pct_rejects_impossible_counts(n: int, N: int) -> None:  # noqa: N803
    with pytest.raises(ValueError):
        n_pct(n, N)


@pytest.mark.parametrize("bad", [1.0, True, "3"])
def test_n_pct_needs_integer_counts(bad: object) -> None:
    with pytest.raises(TypeError):
        n_pct(bad, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "expected"), [
    ((5.3, 4.0, 6.6), "5.3 (4.0, 6.6)"),
    ((5.25, 3.95, 6.649), "5.3 (4.0, 6.6)"),
    ((20.1, 15.2, None), "20.1 (15.2, NE)"),
    ((None, None, None), "NE (NE, NE)"),
    ((float("nan"), 4.0, math.inf), "NE (4.0, NE)"),
])
def test_median_ci(args: tuple[float | None, float | None, float | None], expected: str) -> None:
    assert median_ci(*args) == expected


def test_median_ci_decimals() -> None:
    assert median_ci(5.25, 4.0, 6.555, decimals=2) == "5.25 (4.00, 6.56)"


def test_est_and_est_ci() -> None:
    assert est(2.675, 2) == "2.68"       # stored as 2.67499999...; SAS ROUND gives 2.68
    assert est(-2.25, 1) == "-2.3"       # halves go away from zero
    assert est(-0.04, 1) == "0.0"        # never "-0.0"
    assert est(12, 0) == "12"
    assert est(None, 2) == "NE"
    assert est_ci(0.715, 0.5, 1.035, 2) == "0.72 (0.50, 1.04)"
    with pytest.raises(ValueError):
        est(1.0, -1)


@pytest.mark.parametrize(("p", "expected"), [
    (0.0225, "0.023"),     # round half up; f"{0.0225:.3f}" gives "0.022"
    (0.0224999, "0.022"),
    (0.0015, "0.002"),
    (0.001, "0.001"),      # the threshold itself prints
    (0.00099, "<0.001"),
    (0.0005, "<0.001"),    # below 0.001 before rounding, although it rounds to 0.001
    (0.0, "<0.001"),
    (0.412, "0.412"),
    (0.9994, "0.999"),
    (0.9996, ">0.999"),    # would round to 1.000 but is not 1
    (1.0, "1.000"),
    (None, "NE"),
    (float("nan"), "NE"),
])
def test_pvalue(p: float | None, expected: str) -> None:
    assert pvalue(p) == expected


def test_pvalue_other_decimals_and_range() -> None:
    assert pvalue(0.00005, decimals=4) == "<0.0001"
    assert pvalue(0.01235, decimals=4) == "0.0124"
    for bad in (-0.01, 1.01):
        with pytest.raises(ValueError):
            pvalue(bad)
