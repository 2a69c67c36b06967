"""The compiled kernels compute every number bit for bit as the numpy references do.

The calibration search keeps or rejects a proposal by comparing losses, so a kernel
that differs from its reference in the last bit would send the search down another path
(and change the calibrated study). Each kernel is compared with ``==`` (NaN with NaN),
never with a tolerance, on random data with ties, censoring and strata.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy.special import ndtr

from crf import calibrate, fastsurv
from crf import kernels as K


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Study-like days with ties, about a quarter censored, two arms, 16 strata."""
    day = rng.integers(1, 700, n).astype(np.float64)
    day[rng.random(n) < 0.3] = 43.0            # a scan day many patients share
    event = (rng.random(n) < 0.75).astype(np.int64)
    arm = (rng.random(n) < 0.5).astype(np.int64)
    strata = rng.integers(0, 16, n).astype(np.float64)
    return day, event, arm, strata


def test_psum_is_numpys_pairwise_sum() -> None:
    # by hand: ten 0.1s summed left to right give 0.9999999999999999, numpy's blocked
    # sum (eight accumulators) gives 1.0, and so must psum
    tenth = np.full(10, 0.1)
    assert K.psum(tenth) == float(tenth.sum()) == 1.0
    rng = np.random.default_rng(0)
    for n in [*range(0, 300), 511, 1000, 4099]:
        a = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
        assert K.psum(a) == float(a.sum()), n


def test_numbas_generator_draws_numpys_stream() -> None:
    @njit
    def draws(rng, ns):
        out = np.empty(3 * ns.size)
        for k in range(ns.size):
            out[3 * k] = rng.random()
            out[3 * k + 1] = rng.integers(0, ns[k])
            out[3 * k + 2] = rng.integers(-7, 8)
        return out

    ns = np.r_[np.arange(1, 50), 217, 1000]
    a, b = np.random.default_rng(42), np.random.default_rng(42)
    got = draws(a, ns)
    want = [x for n in ns for x in (b.random(), b.integers(n), b.integers(-7, 8))]
    assert got.tolist() == want
    assert a.random() == b.random()    # the two generators are in the same state after


def test_km_median_matches_the_reference() -> None:
    # by hand: S = 5/6, 2/3 (day 3 censored), 4/9 at day 4 -> the median is day 4
    t = np.array([1.0, 2, 3, 4, 5, 6])
    e = np.array([1, 1, 0, 1, 1, 1])
    assert K.km_median(t, e)[0] == 4.0
    assert K.km_median(t, e) == fastsurv.km_quantile(t, e.astype(bool))
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 30, 90, 110, 217):
        for _ in range(40):
            day, event, _, _ = _data(rng, n)
            got = K.km_median(day, event)
            want = fastsurv.km_quantile(day, event.astype(bool))
            assert all(_same(float(g), float(w)) for g, w in zip(got, want, strict=True))


def test_km_median_falls_back_to_numpy_near_the_critical_value() -> None:
    # with an infinite guard every curve is recomputed by the numpy reference (the path
    # a z statistic within 1e-8 of 1.96 takes): same numbers, through Python
    rng = np.random.default_rng(2)
    day, event, _, _ = _data(rng, 60)
    assert K.km_median(day, event, math.inf) == fastsurv.km_quantile(day, event.astype(bool))


@pytest.mark.parametrize("stratified", [False, True])
def test_event_set_cox_and_log_rank_match_the_reference(stratified: bool) -> None:
    rng = np.random.default_rng(3)
    for n in (3, 40, 178, 217):
        for _ in range(30):
            day, event, arm, strata = _data(rng, n)
            ref = fastsurv.event_set(day, event, arm, strata if stratified else None)
            n_, n1, d, x = K.event_set(day, event, arm, strata, stratified)
            for a, b in ((n_, ref.n), (n1, ref.n1), (d, ref.d), (x, ref.x)):
                assert np.array_equal(a, b)
            beta0 = float(rng.normal(0, 0.3))
            got = K.cox_fit(n_, n1, x, beta0)
            want = fastsurv.cox_fit(ref, beta0)
            assert _same(got[0], want[0]) and _same(got[1], want[1])
            assert _same(K.logrank_stat(n_, n1, d, x), fastsurv.logrank_stat(ref))


def test_group_scores_match_the_reference() -> None:
    rng = np.random.default_rng(4)
    day, event, arm, _ = _data(rng, 217)
    members = rng.random((18, 217)) < 0.5
    score, info = K.group_scores(day, event, arm, members)
    ref_score, ref_info = fastsurv.group_scores(day, event, arm, members)
    assert np.array_equal(score, ref_score) and np.array_equal(info, ref_info)


def test_rank_sum_percentiles_and_ndtr_match_the_reference() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        a = rng.integers(1, 900, rng.integers(1, 120)).astype(np.float64)
        b = rng.integers(1, 900, rng.integers(1, 120)).astype(np.float64)
        assert K.rank_sum_p(a, b) == fastsurv.rank_sum_p(a, b)
        s = np.sort(a) / K.MONTH
        for p in (0.25, 0.5, 0.75):
            assert K.percentile5(s, p) == fastsurv.percentile5(s, p)
    for z in rng.standard_normal(200) * 4:
        assert K.ndtr(z) == float(ndtr(z))


def test_rounding_distance_and_guides_match_the_python_rules() -> None:
    rng = np.random.default_rng(6)
    for x in np.r_[rng.random(200) * 2, 0.7551, 0.7649, 0.7650, 2.675, np.nan]:
        assert _same(K.rounded(x, 2), calibrate.rounded(x, 2))
        for widen in (1.0, 3.0):
            assert K.distance(x, K.T_VALUE, 0.76, 2, widen) == calibrate.distance(
                x, 0.76, 2, widen)
        assert K.distance(x, K.T_NAN, 0.0, 1, 1.0) == calibrate.distance(x, math.nan, 1)
        assert K.distance(x, K.T_NONE, 0.0, 1, 1.0) == 0.0
        assert K.se_guide(x, 0.14, 0.15) == calibrate.se_guide(x, (0.14, 0.15))
    for temp, u in ((0.0, 0.3), (0.5, 0.0), (0.5, 0.25), (1.0, 1.0)):
        assert K.slack(temp, u) == calibrate.slack(temp, u)


def test_stable_order_is_numpys_stable_argsort_from_any_start() -> None:
    # by hand: keys 3, 1, 3, 1 -> positions 1, 3 (the ones, in position order), 0, 2
    key = np.array([3.0, 1.0, 3.0, 1.0])
    perm = np.array([2, 0, 3, 1])
    K.stable_order(key, perm)
    assert perm.tolist() == [1, 3, 0, 2]
    rng = np.random.default_rng(7)
    for n in (1, 2, 17, 217):
        day, _, _, strata = _data(rng, n)
        for key in (day, K.sort_key(day, strata, True)):
            perm = rng.permutation(n)
            K.stable_order(key, perm)
            assert np.array_equal(perm, np.argsort(key, kind="stable"))


def test_the_kept_order_follows_the_keys_from_call_to_call() -> None:
    # a component's order is kept between evaluations and re-sorted from there: after
    # a few times change (a move), and after the set of patients changes size
    W = K.work_arrays(1, 2, n=50)
    rng = np.random.default_rng(8)
    day, event, _, _ = _data(rng, 50)
    for size in (50, 50, 30, 30, 50):
        t = day[:size].copy()
        t[rng.integers(0, size, 3)] += rng.integers(-60, 60, 3)
        order = K.order_of(W, 0, t)
        assert np.array_equal(order, np.argsort(t, kind="stable"))
        assert K.km_median_sorted(t, event[:size], order) == K.km_median(t, event[:size])
