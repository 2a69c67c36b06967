"""Golden tests for trialflow.stats.descriptive (SAS ROUND, PCTLDEF=5, NPAR1WAY).

References:
* Rounding and percentiles: hand-checkable values from the SAS definitions
  (ROUND rounds halves away from zero; PCTLDEF=5 is spelled out in
  ``sas_percentile``'s docstring).
* Wilcoxon: R 4.2.2 ``wilcox.test(x, y, exact = FALSE, correct = TRUE)$p.value``,
  the same normal approximation with continuity correction and tie-corrected
  variance that NPAR1WAY prints.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trialflow.stats.descriptive import (
    round_half_up,
    sas_percentile,
    sas_quartiles,
    wilcoxon_rank_sum_p,
)


@pytest.mark.parametrize(
    ("x", "ndigits", "expected"),
    [
        (2.675, 2, 2.68),   # stored as 2.67499999999999982..., Python's round gives 2.67
        (0.125, 2, 0.13),   # exact binary half: away from zero, not to even
        (1.005, 2, 1.01),
        (0.285, 2, 0.29),
        (-2.5, 0, -3.0),
        (2.5, 0, 3.0),
        (-0.125, 2, -0.13),
        (1234.5, -1, 1230.0),
        (1250.0, -2, 1300.0),
    ],
)
def test_round_half_up_rounds_halves_away_from_zero(
    x: float, ndigits: int, expected: float
) -> None:
    assert round_half_up(x, ndigits) == expected


def test_round_half_up_leaves_values_genuinely_below_half() -> None:
    assert round_half_up(2.6749999, 2) == 2.67
    assert round_half_up(1.4999999999, 0) == 1.0


def test_round_half_up_keeps_nan_and_shape_and_drops_negative_zero() -> None:
    out = round_half_up(np.array([[0.5, np.nan], [-0.4, 1.45]]))
    assert out.shape == (2, 2)
    assert math.isnan(out[0, 1])
    np.testing.assert_array_equal(out[[0, 1, 1], [0, 0, 1]], [1.0, 0.0, 1.0])
    assert math.copysign(1, out[1, 0]) == 1.0
    assert round_half_up(-0.4) == 0.0 and math.copysign(1, round_half_up(-0.4)) == 1.0


def test_percentile_averages_when_np_is_whole() -> None:
    # n = 4, p = .25: np = 1, g = 0 -> (x(1) + x(2)) / 2 = 1.5
    assert sas_percentile([4, 1, 3, 2], 0.25) == 1.5


def test_percentile_takes_next_order_statistic_when_np_has_fraction() -> None:
    # n = 5, p = .25: np = 1.25, j = 1 -> x(2) = 2
    assert sas_percentile([1, 2, 3, 4, 5], 0.25) == 2.0


def test_percentile_treats_inexact_decimal_np_as_whole() -> None:
    # 10 * 0.7 = 7.000000000000001 in floating point; SAS treats np = 7 as whole:
    # (x(7) + x(8)) / 2 = 7.5, and (x(3) + x(4)) / 2 = 3.5 for p = .3.
    np.testing.assert_array_equal(sas_percentile(np.arange(1, 11), [0.3, 0.7]), [3.5, 7.5])


def test_percentile_extremes_and_missing() -> None:
    x = [5.0, np.nan, 1.0, 3.0]
    assert sas_percentile(x, 0.0) == 1.0
    assert sas_percentile(x, 1.0) == 5.0
    assert sas_percentile(x, 0.5) == 3.0  # n = 3 non-missing: np = 1.5 -> x(2)
    assert math.isnan(sas_percentile([np.nan], 0.5))


def test_quartiles_of_six_values() -> None:
    # n = 6: Q1 np = 1.5 -> x(2) = 2; median np = 3 -> (3 + 4) / 2; Q3 np = 4.5 -> x(5) = 5
    assert sas_quartiles([6, 5, 4, 3, 2, 1]) == (2.0, 3.5, 5.0)


def test_quartiles_of_eight_values() -> None:
    # n = 8: np = 2, 4, 6 all whole -> (x(2)+x(3))/2, (x(4)+x(5))/2, (x(6)+x(7))/2
    assert sas_quartiles([10, 20, 30, 40, 50, 60, 70, 80]) == (25.0, 45.0, 65.0)


def test_wilcoxon_matches_r_without_ties_in_ranks() -> None:
    # R ?wilcox.test example (Hollander & Wolfe, depression scale):
    # x <- c(1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30)
    # y <- c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29)
    # wilcox.test(x, y, exact=FALSE, correct=TRUE)$p.value -> 0.132919458185
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    assert wilcoxon_rank_sum_p(x, y) == pytest.approx(0.132919458185, abs=1e-11)


def test_wilcoxon_matches_r_with_heavy_ties() -> None:
    # R: wilcox.test(c(1,2,2,3,3,3,4,5), c(3,4,4,5,5,6,7), exact=FALSE, correct=TRUE)
    # -> 0.018530522991
    p = wilcoxon_rank_sum_p([1, 2, 2, 3, 3, 3, 4, 5], [3, 4, 4, 5, 5, 6, 7])
    assert p == pytest.approx(0.018530522991, abs=1e-11)


def test_wilcoxon_is_symmetric_in_the_samples() -> None:
    # R: wilcox.test(1:4, 5:8, exact=FALSE, correct=TRUE)$p.value -> 0.03038282
    assert wilcoxon_rank_sum_p([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(0.03038282, abs=1e-8)
    assert wilcoxon_rank_sum_p([5, 6, 7, 8], [1, 2, 3, 4]) == pytest.approx(0.03038282, abs=1e-8)
