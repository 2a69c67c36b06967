"""Golden tests for trialflow.stats.km (PROC LIFETEST product-limit and quartiles).

References:
* SAS/STAT User's Guide, PROC LIFETEST, "Breslow, Fleming-Harrington, and
  Kaplan-Meier Methods" (statug_lifetest_details03, SAS/STAT 14.1): the table
  "Constructing 95% Confidence Limits for the 25th Percentile" for the ALL
  group of the bone marrow transplant (BMT) data, with S(t), its standard error
  and the LOGLOG test statistic at each event time, and the resulting
  limits 86 and 230.
* UCLA OARC, "Applied Survival Analysis (Hosmer, Lemeshow and May), chapter 2":
  PROC LIFETEST "Product-Limit Survival Estimates" for Table 2.1's 5 subjects.
* R 4.2.2, survival 3.5-3, ``survfit(Surv(t, s) ~ 1, conf.type = "log-log")``
  then ``quantile(fit, probs = c(.25, .5, .75))``; R's quantile limits are the
  quantiles of the pointwise log-log band, which is the same Brookmeyer-Crowley
  set except where S(t) reaches 0 (see test_upper_limit_after_curve_reaches_zero).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trialflow.stats.km import KMResult, _loglog_z, fit_km, reverse_km_median

# BMT data, Group = "ALL" (SAS sashelp.BMT / Klein & Moeschberger), T in days.
BMT_ALL_T = [2081, 1602, 1496, 1462, 1433, 1377, 1330, 996, 226, 1199, 1111, 530, 1182, 1167,
             418, 383, 276, 104, 609, 172, 487, 662, 194, 230, 526, 122, 129, 74, 122, 86,
             466, 192, 109, 55, 1, 107, 110, 332]
BMT_ALL_STATUS = [0] * 14 + [1] * 24

# From the SAS table: event time, survival, standard error, LOGLOG statistic.
SAS_BMT_ALL_ROWS = [
    (1, 0.97368, 0.025967, 2.37831),
    (55, 0.94737, 0.036224, 2.36375),
    (74, 0.92105, 0.043744, 2.16833),
    (86, 0.89474, 0.049784, 1.89961),
    (104, 0.86842, 0.054836, 1.59196),
    (107, 0.84211, 0.059153, 1.26050),
    (109, 0.81579, 0.062886, 0.91307),
    (110, 0.78947, 0.066135, 0.55415),
    (122, 0.73684, 0.071434, -0.18808),
    (129, 0.71053, 0.073570, -0.56842),
    (172, 0.68421, 0.075405, -0.95372),
    (192, 0.65789, 0.076960, -1.34341),
    (194, 0.63158, 0.078252, -1.73709),
    (230, 0.60412, 0.079522, -2.14672),
    (276, 0.57666, 0.080509, -2.55898),
    (332, 0.54920, 0.081223, -2.97389),
    (383, 0.52174, 0.081672, -3.39146),
    (418, 0.49428, 0.081860, -3.81166),
    (466, 0.46682, 0.081788, -4.23445),
    (487, 0.43936, 0.081457, -4.65971),
    (526, 0.41190, 0.080862, -5.08726),
    (609, 0.38248, 0.080260, -5.52446),
    (662, 0.35306, 0.079296, -5.96222),
]

# Gehan 6-MP arm (weeks).
SIX_MP_T = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_E = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


def quartiles(r: KMResult) -> list[float]:
    return [r.q1, r.q1_lcl, r.q1_ucl, r.median, r.median_lcl, r.median_ucl,
            r.q3, r.q3_lcl, r.q3_ucl]


def assert_same(actual: list[float], expected: list[float]) -> None:
    """Equal up to 1e-9, NaN matching NaN."""
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9, equal_nan=True)


NA = math.nan


def test_bmt_all_product_limit_matches_sas_table() -> None:
    tab = fit_km(BMT_ALL_T, BMT_ALL_STATUS).table
    ev = tab[tab["n_event"] > 0].iloc[: len(SAS_BMT_ALL_ROWS)]
    sas = np.array(SAS_BMT_ALL_ROWS)
    np.testing.assert_array_equal(ev["time"], sas[:, 0])
    np.testing.assert_allclose(ev["survival"], sas[:, 1], atol=5e-6)
    np.testing.assert_allclose(ev["std_err"], sas[:, 2], atol=5e-7)


def test_bmt_all_loglog_statistic_matches_sas_table() -> None:
    # SAS divides by g'(S) se(S), which is negative for g = log(-log), hence the sign.
    tab = fit_km(BMT_ALL_T, BMT_ALL_STATUS).table
    ev = tab[tab["n_event"] > 0].iloc[: len(SAS_BMT_ALL_ROWS)]
    z = _loglog_z(ev["survival"].to_numpy(), ev["std_err"].to_numpy(), 0.75)
    np.testing.assert_allclose(-z, np.array(SAS_BMT_ALL_ROWS)[:, 3], atol=5e-5)


def test_bmt_all_first_quartile_and_limits_match_sas() -> None:
    r = fit_km(BMT_ALL_T, BMT_ALL_STATUS)
    assert (r.q1, r.q1_lcl, r.q1_ucl) == (122.0, 86.0, 230.0)


def test_bmt_all_quartiles_match_r() -> None:
    # R: quantile(survfit(Surv(t, s) ~ 1, conf.type="log-log"), c(.25,.5,.75)) with
    # t, s = BMT_ALL_T, BMT_ALL_STATUS -> 122 (86, 230); 418 (192, NA); NA (609, NA)
    r = fit_km(BMT_ALL_T, BMT_ALL_STATUS)
    assert (r.n, r.events) == (38, 24)
    assert_same(quartiles(r), [122, 86, 230, 418, 192, NA, NA, 609, NA])


def test_bmt_all_quartiles_at_alpha_010_match_r() -> None:
    # R: same with conf.int=0.90 -> 122 (104, 194); 418 (194, 662); NA (662, NA)
    r = fit_km(BMT_ALL_T, BMT_ALL_STATUS, alpha=0.10)
    assert_same(quartiles(r), [122, 104, 194, 418, 194, 662, NA, 662, NA])


def test_bmt_all_pointwise_loglog_limits_match_r() -> None:
    # R: f <- survfit(Surv(t, s) ~ 1, conf.type="log-log"); f$lower[1:3]; f$upper[1:3];
    # f$time[14] is the censored time 226, which carries the row of 194.
    tab = fit_km(BMT_ALL_T, BMT_ALL_STATUS).table
    np.testing.assert_allclose(tab["lcl"].iloc[:3], [0.8275127319, 0.8055573036, 0.7748651616],
                               atol=1e-9)
    np.testing.assert_allclose(tab["ucl"].iloc[:3], [0.9962506820, 0.9865711794, 0.9738333477],
                               atol=1e-9)
    row226 = tab[tab["time"] == 226].iloc[0]
    assert (row226["n_risk"], row226["n_event"], row226["n_censor"]) == (24, 0, 1)
    assert row226["survival"] == pytest.approx(0.6315789474, abs=1e-9)
    assert row226["lcl"] == pytest.approx(0.4586352073, abs=1e-9)


def test_gehan_6mp_quartiles_and_se_match_r() -> None:
    # R: f <- survfit(Surv(t6, s6) ~ 1, conf.type="log-log") with the 6-MP arm;
    # quantile(f, c(.25,.5,.75)) -> 13 (6, 22); 23 (13, NA); NA (23, NA);
    # f$std.err * f$surv at times 6, 13, 23 -> 0.07636035483, 0.10681470778, 0.13459145676
    r = fit_km(SIX_MP_T, SIX_MP_E)
    assert_same(quartiles(r), [13, 6, 22, 23, 13, NA, NA, 23, NA])
    se = r.table.set_index("time")["std_err"]
    np.testing.assert_allclose(se[[6.0, 13.0, 23.0]],
                               [0.07636035483, 0.10681470778, 0.13459145676], atol=1e-10)


def test_product_limit_table_matches_sas_hosmer_lemeshow() -> None:
    # SAS output (UCLA OARC page): time 6 0.8000 0.1789; 14 0.6000 0.2191; 21* censored;
    # 44 0.3000 0.2387; 62 0 0 (SAS prints standard error 0 once S reaches 0).
    tab = fit_km([6, 44, 21, 14, 62], [1, 1, 0, 1, 1]).table
    assert tab["time"].tolist() == [6, 14, 21, 44, 62]
    assert tab["n_risk"].tolist() == [5, 4, 3, 2, 1]
    assert tab["n_event"].tolist() == [1, 1, 0, 1, 1]
    assert tab["n_censor"].tolist() == [0, 0, 1, 0, 0]
    np.testing.assert_allclose(tab["survival"], [0.8, 0.6, 0.6, 0.3, 0.0], atol=1e-12)
    np.testing.assert_allclose(tab["std_err"], [0.1789, 0.2191, 0.2191, 0.2387, 0.0], atol=5e-5)
    assert np.isnan(tab["lcl"].iloc[-1]) and np.isnan(tab["ucl"].iloc[-1])


def test_flat_stretch_at_exactly_one_minus_p_takes_midpoint() -> None:
    # S = .75, .5, .25, 0 at 1, 2, 3, 4: each quartile sits on a flat stretch, so
    # SAS takes (t_j + t_j+1) / 2. R quantile(): 1.5, 2.5, 3.5 as well.
    r = fit_km([1, 2, 3, 4], [1, 1, 1, 1])
    assert (r.q1, r.median, r.q3) == (1.5, 2.5, 3.5)


def test_equality_with_one_minus_p_uses_tolerance() -> None:
    # 12 events at 1..12: the product-limit S(6) is 0.49999999999999994 in floating
    # point, mathematically 0.5, so the median is (6 + 7) / 2 and not 6.
    # R quantile(survfit(Surv(1:12, rep(1, 12)) ~ 1, conf.type="log-log")):
    # 3.5 (1, 6); 6.5 (2, 10); 9.5 (6, NA) -- for the NA see the zero-survival test.
    r = fit_km(np.arange(1, 13), np.ones(12))
    assert_same(quartiles(r)[:8], [3.5, 1, 6, 6.5, 2, 10, 9.5, 6])


def test_flat_stretch_to_the_last_time_is_not_estimable() -> None:
    # S(2) = 0.5 exactly and no later event time closes the stretch: SAS's midpoint
    # rule has no t_j+1, so the median is missing. (R differs here: quantile()
    # gives 3 = (2 + last censored time 4) / 2 and print() gives 2.)
    r = fit_km([1, 2, 3, 4], [1, 1, 0, 0])
    assert r.q1 == 1.5
    assert math.isnan(r.median) and math.isnan(r.q3)


def test_median_not_reached_is_nan_but_lower_limit_is_given() -> None:
    r = fit_km(SIX_MP_T, SIX_MP_E)
    assert math.isnan(r.q3) and r.q3_lcl == 23.0 and math.isnan(r.q3_ucl)


def test_upper_limit_after_curve_reaches_zero() -> None:
    # SAS rule: the upper limit is the event time after the last one inside the
    # Brookmeyer-Crowley set. At t=4, S=0 with standard error 0, so S(4) = 0.5 is
    # rejected outright and 4 is that next event time; statsmodels'
    # SurvfuncRight.quantile_ci (written from the same SAS page) also gives (1, 4).
    # R reports NA here because its log-log band is undefined at S = 0.
    r = fit_km([1, 2, 3, 4], [1, 1, 1, 1])
    assert (r.median_lcl, r.median_ucl) == (1.0, 4.0)


def test_all_censored_gives_flat_curve_and_no_quartiles() -> None:
    r = fit_km([3, 5, 8], [0, 0, 0])
    assert (r.n, r.events) == (3, 0)
    assert all(math.isnan(v) for v in quartiles(r))
    assert r.table["survival"].tolist() == [1.0, 1.0, 1.0]
    assert r.table["lcl"].tolist() == [1.0, 1.0, 1.0]


def test_reverse_km_median_follow_up_matches_r() -> None:
    # R: quantile(survfit(Surv(t6, 1 - s6) ~ 1, conf.type="log-log"), c(.25,.5,.75))
    # -> 17 (6, 25); 25 (11, 32); 32 (25, NA). The reversed curve reaches 0 at 35,
    # so our Q3 upper limit is 35 where R has NA (see test_upper_limit_after_curve_reaches_zero).
    r = reverse_km_median(SIX_MP_T, SIX_MP_E)
    assert (r.n, r.events) == (21, 12)
    assert_same(quartiles(r)[:8], [17, 6, 25, 25, 11, 32, 32, 25])


@pytest.mark.parametrize(
    ("time", "event"),
    [([1, 2], [1]), ([1, float("nan")], [1, 1]), ([1, 2], [1, 2]), ([-1, 2], [1, 1]), ([], [])],
)
def test_invalid_input_is_rejected(time: list[float], event: list[int]) -> None:
    with pytest.raises(ValueError):
        fit_km(time, event)
