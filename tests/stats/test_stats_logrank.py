"""Golden tests for trialflow.stats.logrank (PROC LIFETEST log-rank, STRATA / GROUP=).

Reference: R 4.2.2, survival 3.5-3, on the Gehan data of conftest.py
(t, e, trt, s1, s2 as defined in test_stats_cox.py):

    d <- survdiff(Surv(t, e) ~ trt)                  # then + strata(s1), + strata(s1, s2)
    d$chisq; d$obs; d$exp; pchisq(d$chisq, 1, lower.tail=FALSE)
"""

from __future__ import annotations

import pandas as pd
import pytest

from trialflow.stats.logrank import _observed_minus_expected, logrank_test


def test_unstratified_matches_r_survdiff(gehan: pd.DataFrame) -> None:
    r = logrank_test(gehan.time, gehan.event, gehan.treat)
    assert r.chisq == pytest.approx(16.7929409892, abs=1e-8)
    assert r.df == 1
    assert r.p_2s == pytest.approx(4.16880910933e-05, rel=1e-8)


def test_stratified_by_one_variable_matches_r_survdiff(gehan: pd.DataFrame) -> None:
    r = logrank_test(gehan.time, gehan.event, gehan.treat, strata=gehan.s1)
    assert r.chisq == pytest.approx(16.1304375167, abs=1e-8)
    assert r.p_2s == pytest.approx(5.91261130291e-05, rel=1e-8)


def test_stratified_by_two_columns_matches_r_survdiff(gehan: pd.DataFrame) -> None:
    r = logrank_test(gehan.time, gehan.event, gehan.treat, strata=gehan[["s1", "s2"]])
    assert r.chisq == pytest.approx(14.0964258587, abs=1e-8)
    assert r.p_2s == pytest.approx(0.000173673476722, rel=1e-8)


def test_observed_minus_expected_matches_r(gehan: pd.DataFrame) -> None:
    # R: 6-MP observed 9; expected 19.250500948 unstratified,
    # 10.4776826201 + 8.64510663915 stratified by s1.
    t, e, x = gehan.time.to_numpy(), gehan.event.to_numpy(), gehan.treat.to_numpy()
    assert _observed_minus_expected(t, e, x, 0 * x) == pytest.approx(9 - 19.250500948, abs=1e-8)
    assert _observed_minus_expected(t, e, x, gehan.s1.to_numpy()) == pytest.approx(
        9 - (10.4776826201 + 8.64510663915), abs=1e-8)


def test_one_sided_p_halves_when_test_arm_has_fewer_events_than_expected(
    gehan: pd.DataFrame,
) -> None:
    r = logrank_test(gehan.time, gehan.event, gehan.treat)
    assert r.favours_test is True
    assert r.p_1s == pytest.approx(r.p_2s / 2, rel=1e-12)


def test_one_sided_p_is_complement_when_test_arm_has_more_events(gehan: pd.DataFrame) -> None:
    r = logrank_test(gehan.time, gehan.event, 1 - gehan.treat)
    assert r.favours_test is False
    assert r.chisq == pytest.approx(16.7929409892, abs=1e-8)
    assert r.p_1s == pytest.approx(1 - r.p_2s / 2, rel=1e-12)


def test_no_events_is_rejected() -> None:
    with pytest.raises(ValueError, match="no events"):
        logrank_test([1, 2, 3, 4], [0, 0, 0, 0], [0, 1, 0, 1])
