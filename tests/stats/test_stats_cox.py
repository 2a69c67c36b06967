"""Golden tests for trialflow.stats.cox (PROC PHREG, TIES=BRESLOW).

Reference: R 4.2.2, survival 3.5-3, on the Gehan data of conftest.py:

    t <- c(6,6,6,6,7,9,10,10,11,13,16,17,19,20,22,23,25,32,32,34,35,
           1,1,2,2,3,4,4,5,5,8,8,8,8,11,11,12,12,15,17,22,23)
    e <- c(1,1,1,0,1,0,1,0,0,1,1,0,0,0,1,1,0,0,0,0,0, rep(1,21))
    trt <- rep(c(1,0), each=21)
    s1 <- (seq_along(t) - 1) %% 2
    s2 <- ifelse((seq_along(t) - 1) %% 3 == 0, "a", "b")
    f <- coxph(Surv(t, e) ~ trt, ties="breslow")        # then strata(s1), strata(s1, s2)
    c(coef(f), sqrt(vcov(f)), summary(f)$coefficients[, "Pr(>|z|)"])
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from trialflow.stats.cox import fit_cox

Z975 = 1.959963984540054
Z95 = 1.6448536269514722


def test_unstratified_breslow_matches_r(gehan: pd.DataFrame) -> None:
    r = fit_cox(gehan.time, gehan.event, gehan.treat)
    assert r.log_hr == pytest.approx(-1.509191412585878, abs=1e-7)
    assert r.se == pytest.approx(0.409564406366741, abs=1e-7)
    assert r.p_wald_2s == pytest.approx(0.000228819799073, rel=1e-6)
    assert (r.n, r.events) == (42, 30)


def test_hazard_ratio_and_limits_are_wald_on_log_scale(gehan: pd.DataFrame) -> None:
    # exp(b), exp(b -/+ z_.975 se) and exp(b + z_.95 se) from the R estimates above.
    b, se = -1.509191412585878, 0.409564406366741
    r = fit_cox(gehan.time, gehan.event, gehan.treat)
    assert r.hr == pytest.approx(math.exp(b), rel=1e-7)
    assert r.hr_lcl == pytest.approx(math.exp(b - Z975 * se), rel=1e-7)
    assert r.hr_ucl == pytest.approx(math.exp(b + Z975 * se), rel=1e-7)
    assert r.hr_upper_1s == pytest.approx(math.exp(b + Z95 * se), rel=1e-7)
    assert round(r.hr, 3) == 0.221


def test_stratified_by_one_variable_matches_r(gehan: pd.DataFrame) -> None:
    r = fit_cox(gehan.time, gehan.event, gehan.treat, strata=gehan.s1)
    assert r.log_hr == pytest.approx(-1.478275298478485, abs=1e-7)
    assert r.se == pytest.approx(0.407641152356998, abs=1e-7)
    assert r.p_wald_2s == pytest.approx(0.000287385244741, rel=1e-6)


def test_stratified_by_two_columns_combines_them_like_r(gehan: pd.DataFrame) -> None:
    r = fit_cox(gehan.time, gehan.event, gehan.treat, strata=gehan[["s1", "s2"]])
    assert r.log_hr == pytest.approx(-1.451807173907614, abs=1e-7)
    assert r.se == pytest.approx(0.422054972838616, abs=1e-7)
    assert r.p_wald_2s == pytest.approx(0.000582029662911, rel=1e-6)


def test_swapping_arms_inverts_the_hazard_ratio(gehan: pd.DataFrame) -> None:
    a = fit_cox(gehan.time, gehan.event, gehan.treat)
    b = fit_cox(gehan.time, gehan.event, 1 - gehan.treat)
    assert a.hr * b.hr == pytest.approx(1.0, rel=1e-7)
    assert a.se == pytest.approx(b.se, rel=1e-7)


def test_alpha_sets_both_confidence_levels(gehan: pd.DataFrame) -> None:
    r = fit_cox(gehan.time, gehan.event, gehan.treat, alpha=0.10)
    assert r.hr_ucl == pytest.approx(math.exp(r.log_hr + Z95 * r.se), rel=1e-9)
    assert r.hr_upper_1s == pytest.approx(math.exp(r.log_hr + 1.2815515655446004 * r.se),
                                          rel=1e-9)


def test_single_arm_is_rejected(gehan: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="both arms"):
        fit_cox(gehan.time, gehan.event, [1] * 42)


def test_missing_stratum_is_left_out_as_sas_does(gehan: pd.DataFrame) -> None:
    # PROC PHREG excludes a record with a missing STRATA value (issue #17; it used to be
    # refused here, and a blank one was a stratum of its own); see test_stats_hardening.
    strata = gehan.s2.where(gehan.index != 5)
    r = fit_cox(gehan.time, gehan.event, gehan.treat, strata=strata)
    assert (r.n, r.n_missing_strata) == (41, 1)


def test_monotone_likelihood_is_not_estimable() -> None:
    # Every event in the test arm, every censoring in the control arm: the partial
    # likelihood grows without bound in beta (R's coxph warns "Loglik converged before
    # variable 1; coefficient may be infinite").
    with pytest.raises(ValueError, match="not estimable"):
        fit_cox([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0])


def test_strata_without_both_arms_are_not_estimable() -> None:
    # Each stratum holds one arm only: nothing compares the arms.
    with pytest.raises(ValueError, match="not estimable"):
        fit_cox([1, 2, 3, 4], [1, 1, 1, 1], [1, 1, 0, 0], strata=["a", "a", "b", "b"])
