"""Golden tests for the statistics fixes of issue #17, each checkable by hand or against
the SAS/R convention it follows.

* A record with a missing (or blank) stratification value is left out of a stratified
  analysis, as SAS (PROC PHREG, PROC LIFETEST without MISSING) and R (``na.action``)
  leave it out, and counted; a blank used to be a stratum of its own.
* The log-rank p-value is the chi-square's survival function: for 1 degree of freedom
  ``P(X > c) = erfc(sqrt(c / 2))``; ``1 - cdf`` is exactly 0 above c of about 75.
* A Kaplan-Meier curve that has reached 0 stays 0 after its last time (SAS's estimate);
  it is not estimable there only when the last observation was censored.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from tlf.analyses.base import AnalysisContext, Population
from tlf.analyses.tte import (
    N_MISSING_STRATA,
    comparison_rows,
    km_rows,
    missing_strata_findings,
    survival_at,
    tte_frame,
)
from tlf.spec import load_analysis
from trialflow import SPECS
from trialflow.spec import load_study
from trialflow.stats import complete_strata, fit_cox, fit_km, logrank_test

ARMS = ("PTC", "TC")
COMPARISON = "PTC vs TC"


def _context(data: pd.DataFrame, **keys: object) -> tuple[AnalysisContext, pd.DataFrame]:
    """A time-to-event analysis of ``data`` (an ADTTE with TRT01P) with the bundled
    example's arms, and its records."""
    from pathlib import Path

    doc = {"id": "pfs_itt", "family": "tte", "population": "all", "dataset": "ADTTE",
           "parameter": "PFS", "group": {"variable": "TRT01P"}, "time_unit": "months",
           **keys}
    data = data.assign(PARAMCD="PFS")
    adam = {"ADSL": data[["USUBJID", "TRT01P"]], "ADTTE": data}
    ctx = AnalysisContext(load_analysis(doc, Path("inline.yaml")), Population("all", "all"),
                          load_study(SPECS / "study.yaml"), adam)
    return ctx, tte_frame(ctx)

# --------------------------------------------------------------------------- missing strata


@pytest.mark.parametrize("missing", [np.nan, None, "", "   "])
def test_a_missing_stratum_is_left_out_of_the_cox_model(gehan: pd.DataFrame,
                                                        missing: object) -> None:
    strata = gehan.s2.astype(object).copy()
    strata[[5, 30]] = missing
    r = fit_cox(gehan.time, gehan.event, gehan.treat, strata=strata)
    kept = gehan.drop(index=[5, 30])
    expected = fit_cox(kept.time, kept.event, kept.treat, strata=kept.s2)
    assert (r.hr, r.se, r.n, r.events) == (expected.hr, expected.se, 40, expected.events)
    assert r.n_missing_strata == 2


def test_a_missing_stratum_is_left_out_of_the_log_rank_test(gehan: pd.DataFrame) -> None:
    strata = gehan[["s1", "s2"]].astype(object).copy()
    strata.loc[7, "s1"] = np.nan
    strata.loc[12, "s2"] = ""
    r = logrank_test(gehan.time, gehan.event, gehan.treat, strata=strata)
    kept = gehan.drop(index=[7, 12])
    expected = logrank_test(kept.time, kept.event, kept.treat, strata=kept[["s1", "s2"]])
    assert (r.chisq, r.p_2s, r.p_1s) == (expected.chisq, expected.p_2s, expected.p_1s)
    assert r.n_missing_strata == 2


def test_a_blank_is_not_a_stratum_of_its_own(gehan: pd.DataFrame) -> None:
    # As a value, the blank formed a third stratum and moved the estimate.
    strata = gehan.s2.astype(object).copy()
    strata[gehan.index % 7 == 0] = ""
    as_value = fit_cox(gehan.time, gehan.event, gehan.treat,
                       strata=strata.replace("", "blank"))
    left_out = fit_cox(gehan.time, gehan.event, gehan.treat, strata=strata)
    assert left_out.hr != pytest.approx(as_value.hr, rel=1e-6)
    assert left_out.n_missing_strata == 6 and left_out.n == 36


def test_without_strata_nothing_is_left_out(gehan: pd.DataFrame) -> None:
    r = fit_cox(gehan.time, gehan.event, gehan.treat)
    assert r.n == 42 and r.n_missing_strata == 0
    codes, keep = complete_strata(None, 3)
    assert codes is None and keep.tolist() == [True, True, True]


def _adtte(n: int = 80, seed: int = 11) -> pd.DataFrame:
    """A two-arm time-to-event analysis set with four stratification factors."""
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, ARMS[0], ARMS[1])
    hazard = np.where(arm == ARMS[0], 0.7, 1.0) / 300
    time = np.ceil(rng.exponential(1 / hazard))
    cnsr = (rng.random(n) < 0.2).astype(float)
    strata = {f"STRAT{i}R": np.where(rng.random(n) < 0.5, "A", "B") for i in range(1, 5)}
    return pd.DataFrame({"USUBJID": [f"S{i:03d}" for i in range(n)], "TRT01P": arm,
                         "AVAL": time, "CNSR": cnsr, **strata})


def test_the_stratified_analysis_leaves_out_blank_strata_and_says_how_many() -> None:
    strata = [f"STRAT{i}R" for i in range(1, 5)]
    data = _adtte()
    blank = data.index[:: 7][:10]
    data.loc[blank, "STRAT2R"] = ""

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(comparison_rows(*_context(frame, strata=strata)))

    out = rows(data)
    got = out.set_index(["variable_level", "stat_name"])["stat"]
    expected = rows(_adtte().drop(index=blank)).set_index(
        ["variable_level", "stat_name"])["stat"]
    for stat in ("hr", "hr_lcl", "hr_ucl", "hr_upper_1s", "p_2s", "p_1s"):
        assert got[("stratified", stat)] == expected[("stratified", stat)], stat
    # The unstratified analysis keeps every record.
    whole = rows(_adtte()).set_index(["variable_level", "stat_name"])["stat"]
    assert got[("unstratified", "hr")] == whole[("unstratified", "hr")]
    assert got[("stratified", N_MISSING_STRATA)] == 10.0
    assert N_MISSING_STRATA not in set(rows(_adtte())["stat_name"])
    found = missing_strata_findings(out)
    assert [(f.source, f.variable, f.value, f.rule, f.severity) for f in found] == [
        ("pfs_itt", COMPARISON, "10", "missing_stratum", "warning")]
    assert found[0].message.startswith("10 records of pfs_itt (PTC vs TC) have a missing "
                                       "stratification")
    assert (out.loc[out["stat_name"] == N_MISSING_STRATA, "group1_level"]
            == COMPARISON).all()


# --------------------------------------------------------------------------- p-values


def _separated(n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every control event before every test-arm event: a very large chi-square."""
    time = np.r_[np.arange(1, n + 1), np.arange(1, n + 1) + 1000].astype(float)
    return time, np.ones(2 * n, dtype=int), np.r_[np.zeros(n), np.ones(n)].astype(int)


def test_a_tiny_log_rank_p_value_keeps_its_digits() -> None:
    r = logrank_test(*_separated())
    assert r.chisq > 75
    assert 1.0 - chi2.cdf(r.chisq, 1) == 0.0  # what 1 - cdf gave
    assert r.p_2s > 0.0
    # For 1 degree of freedom the survival function is erfc(sqrt(c / 2)).
    assert r.p_2s == pytest.approx(math.erfc(math.sqrt(r.chisq / 2.0)), rel=1e-12)
    assert r.p_1s == pytest.approx(r.p_2s / 2.0, rel=1e-15) and r.favours_test


@pytest.mark.parametrize("c", [3.841458820694124, 16.7929409892, 40.0, 80.0, 200.0])
def test_the_p_value_is_the_chi_square_tail(c: float) -> None:
    assert chi2.sf(c, 1) == pytest.approx(math.erfc(math.sqrt(c / 2.0)), rel=1e-12)


def test_moderate_p_values_are_unchanged(gehan: pd.DataFrame) -> None:
    # R: pchisq(16.7929409892, 1, lower.tail = FALSE) = 4.16880910933e-05
    r = logrank_test(gehan.time, gehan.event, gehan.treat)
    assert r.p_2s == pytest.approx(4.16880910933e-05, rel=1e-9)


# --------------------------------------------------------------------------- landmarks


def test_a_curve_that_reached_zero_stays_zero() -> None:
    # Four events, no censoring: S = 3/4, 1/2, 1/4, 0 at 1, 2, 3, 4.
    table = fit_km([1, 2, 3, 4], [1, 1, 1, 1]).table
    surv, lcl, ucl = survival_at(table, np.array([0.5, 3.5, 4.0, 6.0, 12.0]))
    assert surv.tolist() == pytest.approx([1.0, 0.25, 0.0, 0.0, 0.0], abs=1e-15)
    assert (surv[2:] == 0.0).all()  # exactly 0, not a rounding residue
    # Log-log limits do not exist at 0 (SAS prints them missing).
    assert np.isnan(lcl[2:]).all() and np.isnan(ucl[2:]).all()


def test_a_curve_that_ends_censored_is_unknown_beyond() -> None:
    # The last observation (4) is censored: S stays 1/4 up to 4, unknown after.
    table = fit_km([1, 2, 3, 4], [1, 1, 1, 0]).table
    surv = survival_at(table, np.array([4.0, 6.0]))[0]
    assert surv[0] == pytest.approx(0.25) and np.isnan(surv[1])


def test_a_tie_of_event_and_censoring_at_the_end_is_not_zero() -> None:
    # At 4 one event and one censoring among two at risk: S = 1/4 * 1/2 > 0, so beyond 4
    # nothing is known.
    table = fit_km([1, 2, 3, 4, 4], [1, 1, 1, 1, 0]).table
    assert np.isnan(survival_at(table, np.array([9.0]))[0][0])


def test_the_landmark_rate_of_an_arm_whose_curve_reached_zero_is_zero() -> None:
    days = 30.4375
    data = pd.DataFrame({"TRT01P": [ARMS[0]] * 4 + [ARMS[1]] * 4,
                         "AVAL": [10, 40, 70, 100, 50, 100, 400, 500],
                         "CNSR": [0, 0, 0, 0, 0, 0, 1, 0]})
    data = data.assign(USUBJID=[f"S{i}" for i in range(8)])
    rows = pd.DataFrame(km_rows(*_context(data, landmarks=[6, 12]))).set_index(
        ["group1_level", "variable_level", "stat_name"])["stat"]
    assert rows[(ARMS[0], "6", "rate")] == 0.0 and rows[(ARMS[0], "12", "rate")] == 0.0
    assert np.isnan(rows[(ARMS[0], "6", "rate_lcl")])
    # The other arm is still followed at 6 months (S = 3/4 * 2/3... known up to 500 days).
    assert rows[(ARMS[1], "6", "rate")] == pytest.approx(100 * 0.5)
    assert 500 / days > 12 and rows[(ARMS[1], "12", "rate")] == pytest.approx(100 * 0.5)
