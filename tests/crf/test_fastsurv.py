"""The calibration's fast statistics agree with the library-backed analysis statistics.

The simulator calibrates with :mod:`crf.fastsurv` and the analysis reports with
:mod:`trialflow.stats`; both must give the same numbers (to 1e-8) on data like the
simulator's: integer days with many ties, censoring, strata.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from crf.fastsurv import (
    cox_binary,
    cox_fit,
    event_set,
    group_scores,
    km_quantile,
    logrank_p,
    logrank_stat,
    logrank_z,
    percentile5,
    rank_sum_p,
    risk_table,
)
from trialflow.stats import (
    fit_cox,
    fit_km,
    logrank_test,
    sas_percentile,
    wilcoxon_rank_sum_p,
)

TOL = 1e-8
# statsmodels warns on the degenerate random data sets the checks then skip
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning",
                                        "ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")


def _data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tied integer times, censoring, both arms and up to four strata."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 120))
    time = rng.integers(1, int(rng.integers(6, 80)), n).astype(float)
    event = (rng.random(n) < rng.uniform(0.4, 0.95)).astype(int)
    arm = (rng.random(n) < 0.5).astype(int)
    arm[:2] = [0, 1]
    event[:2] = 1
    strata = rng.integers(0, int(rng.integers(1, 5)), n)
    return time, event, arm, strata


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= TOL * max(1.0, abs(b))


SEEDS = range(60)


@pytest.mark.parametrize("seed", SEEDS)
def test_km_median_and_limits_match_fit_km(seed: int) -> None:
    time, event, arm, _ = _data(seed)
    for a in (0, 1):
        sel = arm == a
        if not event[sel].any():
            continue
        ref = fit_km(time[sel], event[sel])
        got = km_quantile(time[sel], event[sel])
        assert _close(got[0], ref.median)
        assert _close(got[1], ref.median_lcl)
        assert _close(got[2], ref.median_ucl)
        for p, q, lo, hi in ((0.25, ref.q1, ref.q1_lcl, ref.q1_ucl),
                             (0.75, ref.q3, ref.q3_lcl, ref.q3_ucl)):
            got = km_quantile(time[sel], event[sel], p)
            assert _close(got[0], q) and _close(got[1], lo) and _close(got[2], hi)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("stratified", [False, True])
def test_cox_breslow_matches_fit_cox(seed: int, stratified: bool) -> None:
    time, event, arm, strata = _data(seed)
    s = strata if stratified else None
    ref = fit_cox(time, event, arm, s)
    if not math.isfinite(ref.log_hr) or abs(ref.log_hr) > 8:
        pytest.skip("no finite estimate (one arm has all the events in every stratum)")
    b, se = cox_fit(event_set(time, event, arm, s))
    assert _close(b, ref.log_hr)
    assert _close(se, ref.se)
    # the older risk-table version too
    b2, se2 = cox_binary(risk_table(time, event, arm, s))
    assert abs(b2 - ref.log_hr) <= 1e-7 and abs(se2 - ref.se) <= 1e-7


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("stratified", [False, True])
def test_logrank_matches_logrank_test(seed: int, stratified: bool) -> None:
    time, event, arm, strata = _data(seed)
    s = strata if stratified else None
    ref = logrank_test(time, event, arm, s)
    p2, p1 = logrank_p(logrank_stat(event_set(time, event, arm, s)))
    assert _close(p2, ref.p_2s)
    assert _close(p1, ref.p_1s)
    p2b, p1b = logrank_p(logrank_z(risk_table(time, event, arm, s)))
    assert _close(p2b, ref.p_2s) and _close(p1b, ref.p_1s)


@pytest.mark.parametrize("seed", SEEDS)
def test_subgroup_score_sign_is_the_hazard_ratio_side(seed: int) -> None:
    # The partial likelihood is concave: HR < 1 exactly when the score at 0 is negative.
    time, event, arm, _ = _data(seed)
    rng = np.random.default_rng(seed + 1000)
    members = rng.random((5, time.size)) < 0.6
    score, info = group_scores(time, event, arm, members)
    for g in range(5):
        m = members[g]
        if any(not event[m & (arm == a)].any() for a in (0, 1)):
            continue
        try:
            ref = fit_cox(time[m], event[m], arm[m])
        except ValueError:  # monotone likelihood: no finite hazard ratio to compare with
            continue
        if not math.isfinite(ref.log_hr) or abs(ref.log_hr) > 8 or abs(score[g]) < 1e-9:
            continue
        assert (score[g] < 0) == (ref.log_hr < 0)
        assert info[g] > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_percentiles_and_rank_sum_match_descriptive(seed: int) -> None:
    time, _, arm, _ = _data(seed)
    s = np.sort(time)
    for p in (0.25, 0.5, 0.75):
        assert _close(percentile5(s, p), sas_percentile(time, p))
    assert _close(rank_sum_p(time[arm == 1], time[arm == 0]),
                  wilcoxon_rank_sum_p(time[arm == 1], time[arm == 0]))


def test_warm_start_converges_to_the_same_estimate() -> None:
    time, event, arm, strata = _data(3)
    es = event_set(time, event, arm, strata)
    cold = cox_fit(es)
    warm = cox_fit(es, beta0=cold[0] + 0.3)
    assert _close(warm[0], cold[0]) and _close(warm[1], cold[1])
