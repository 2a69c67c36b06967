"""Every analysis family on a small inline ADaM whose numbers can be worked out by hand,
with one, two and three arms (arms A, B, C of a test study; A is the control).

Subjects: A = S1-S3, B = S4-S6, C = S7-S9 (ADSL TRT01A); S9 is not in the ITT.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from tlfkit import run, study, value

from trialflow.errors import SpecError
from trialflow.stats import (
    clopper_pearson,
    cmh_2x2_p,
    fit_cox,
    logrank_test,
    risk_difference_wald,
    woolf_odds_ratio,
)

ABC = study(["A", "B", "C"], control="A")
IDS = [f"S{i}" for i in range(1, 10)]


@pytest.fixture
def adam() -> dict[str, pd.DataFrame]:
    adsl = pd.DataFrame({
        "USUBJID": IDS,
        "TRT01A": ["A"] * 3 + ["B"] * 3 + ["C"] * 3,
        "TRT01AN": [0.0] * 3 + [54.0] * 3 + [81.0] * 3,
        "AGE": [60.0, 70.0, 80.0, 50.0, 55.0, 65.0, 40.0, 45.0, 90.0],
        "SEX": ["F", "M", "F", "F", "F", "", "M", "M", "M"],
        "SAFFL": "Y",
        "ITTFL": ["Y"] * 8 + ["N"],
        "REGION": ["N", "S"] * 4 + ["N"],
        "DTHFL": ["", "Y", "", "", "Y", "", "Y", "", ""],
        "DTHCAUS": ["", "ADVERSE EVENT", "", "", "PROGRESSIVE DISEASE", "", "", "", ""],
        "DTHDT": [np.nan, 100.0, np.nan, np.nan, 200.0, np.nan, 300.0, np.nan, np.nan],
        "TRTEDT": [50.0, 90.0, 50.0, 50.0, 150.0, 50.0, np.nan, 50.0, 50.0],
    })
    adae = pd.DataFrame({
        "USUBJID": ["S1", "S1", "S2", "S4", "S5", "S5", "S7", "S8"],
        "TRTEMFL": ["Y", "Y", "Y", "N", "Y", "Y", "Y", "Y"],
        "AESER": ["N", "Y", "N", "N", "Y", "N", "N", "N"],
        "AESEV": ["MILD", "SEVERE", "MODERATE", "MILD", "MODERATE", "MILD", "SEVERE", "MILD"],
        "ATOXGRN": [1.0, 3.0, 2.0, 1.0, 3.0, 1.0, 4.0, 1.0],
        "AEBODSYS": ["Nervous", "Gastro", "Gastro", "Nervous", "Nervous", "Nervous",
                     "Dermal", "Gastro"],
        "AEDECOD": ["HEADACHE", "NAUSEA", "NAUSEA", "HEADACHE", "HEADACHE", "HEADACHE",
                    "RASH", "NAUSEA"],
    })
    adtte = adsl[["USUBJID", "REGION"]].assign(
        PARAMCD="TTE", AVAL=[10.0, 20.0, 30.0, 10.0, 20.0, 40.0, 5.0, 15.0, 25.0],
        CNSR=[0, 0, 0, 0, 1, 0, 0, 0, 1], EVNTDESC="Event",
        CNSDTDSC=["", "", "", "", "Lost", "", "", "", "Lost"])
    adrs = pd.DataFrame({"USUBJID": [s for s in IDS if s != "S6"], "PARAMCD": "BESTRSP",
                         "AVALC": ["CR", "PR", "SD", "PR", "NE", "PD", "PD", "PR"]})
    adex = pd.DataFrame({"USUBJID": ["S1", "S1", "S2", "S4"], "PARAMCD": "DOSE",
                         "AVAL": [10.0, 20.0, 5.0, 100.0]})
    return {"ADSL": adsl, "ADAE": adae, "ADTTE": adtte, "ADRS": adrs, "ADEX": adex}


def _base(family: str, **keys: object) -> dict[str, object]:
    return {"id": "x", "family": family, "population": "all",
            "group": {"variable": "TRT01A", "total": True}, **keys}


# --- descriptive ------------------------------------------------------------------


def test_continuous_statistics_by_hand(adam) -> None:
    ard = run([_base("descriptive", variables=[{"variable": "AGE", "type": "continuous"}])],
              adam, ABC)
    got = {s: value(ard, "x", "A", "AGE", s) for s in ("n", "mean", "median", "q1", "q3",
                                                        "min", "max")}
    assert got == {"n": 3, "mean": 70, "median": 70, "q1": 60, "q3": 80, "min": 60,
                   "max": 80}
    assert value(ard, "x", "A", "AGE", "sd") == pytest.approx(10.0)
    # Total of 40 45 50 55 60 65 70 80 90: PCTLDEF=5 gives x(3) and x(7) as quartiles.
    assert value(ard, "x", "Total", "AGE", "median") == 60
    assert value(ard, "x", "Total", "AGE", "q1") == 50
    assert value(ard, "x", "Total", "AGE", "q3") == 70
    assert value(ard, "x", "B", "USUBJID", "N") == 3  # the column header's N


def test_categorical_levels_denominators_and_fisher(adam) -> None:
    items = [{"variable": "SEX", "order": "frequency", "test": "fisher"},
             {"variable": "SEX2", "type": "count", "where": {"SEX": "M", "AGE": {"ge": 45}}}]
    ard = run([_base("descriptive", variables=items)], adam, ABC)
    levels = ard.loc[(ard["variable"] == "SEX") & (ard["stat_name"] == "n"),
                     "variable_level"].unique().tolist()
    assert levels == ["F", "M"]  # 4 each: a tie, then alphabetical; the blank is no level
    assert value(ard, "x", "A", "SEX", "n", "F") == 2
    assert value(ard, "x", "B", "SEX", "N", "F") == 3  # the population's subjects
    assert value(ard, "x", "C", "SEX", "pct", "M") == 100
    # Fisher, C vs A for F: 0/3 vs 2/3; P(0) = P(2) = 4/20 and P(1) = 12/20.
    assert value(ard, "x", "C vs A", "SEX", "p_2s", "F") == pytest.approx(0.4)
    assert value(ard, "x", "B vs A", "SEX", "p_2s", "F") == pytest.approx(1.0)
    # Men aged 45 or more: S2 (A); S8 and S9 (C: S7 is 40).
    assert value(ard, "x", "C", "SEX2", "n") == 2 and value(ard, "x", "A", "SEX2", "n") == 1


def test_nonmissing_denominator_and_missing_level(adam) -> None:
    ard = run([_base("descriptive", variables=[{"variable": "SEX",
                                                  "denominator": "nonmissing"}]),
               {**_base("descriptive", variables=[{"variable": "SEX", "levels": ["F"],
                                                   "missing": "Missing"}]), "id": "y"}],
              adam, ABC)
    assert value(ard, "x", "B", "SEX", "N", "F") == 2
    assert value(ard, "x", "B", "SEX", "pct", "F") == 100
    assert value(ard, "y", "B", "SEX", "n", "Missing") == 1
    assert value(ard, "y", "B", "SEX", "N", "Missing") == 3


def test_declared_levels_conditions_and_item_population(adam) -> None:
    items = [{"variable": "AGEGR", "levels": [{"level": "<60", "where": {"AGE": {"lt": 60}}},
                                               {"level": ">=60", "where": {"AGE": {"ge": 60}}}]},
             {"variable": "AGE", "type": "continuous", "stats": ["n"], "population": "itt"}]
    ard = run([_base("descriptive", variables=items)], adam, ABC,
              populations={"all": None, "itt": {"ITTFL": "Y"}})
    assert value(ard, "x", "C", "AGEGR", "n", "<60") == 2
    assert value(ard, "x", "Total", "AGEGR", "n", ">=60") == 5
    # The item's own population: S9 is not ITT.
    assert value(ard, "x", "C", "AGE", "n") == 2
    row = ard[(ard["variable"] == "AGE")].iloc[0]
    assert row["population"] == "itt"


@pytest.mark.parametrize("arms,groups,comparisons", [
    (["A"], ["A"], []),
    (["A", "B"], ["A", "B"], ["B vs A"]),
    (["A", "B", "C"], ["A", "B", "C"], ["B vs A", "C vs A"]),
])
def test_any_number_of_arms(adam, arms, groups, comparisons) -> None:
    ard = run([_base("descriptive", variables=[{"variable": "SEX", "test": "fisher"}])],
              adam, study(arms, control="A"))
    levels = list(dict.fromkeys(ard["group1_level"]))
    assert levels == [*groups, "Total", *comparisons]
    # Subjects of arms the study does not have belong to no group (not in Total either).
    assert value(ard, "x", "Total", "USUBJID", "N") == 3 * len(arms)


def test_all_pairs_compares_later_arms_with_earlier_ones(adam) -> None:
    doc = _base("descriptive", comparisons="all_pairs",
                variables=[{"variable": "SEX", "test": "fisher"}])
    ard = run([doc], adam, ABC)
    assert [lv for lv in dict.fromkeys(ard["group1_level"]) if " vs " in lv] == [
        "B vs A", "C vs A", "C vs B"]


def test_comparisons_without_a_control_arm_are_a_spec_error(adam) -> None:
    with pytest.raises(SpecError, match="control arm"):
        run([_base("descriptive", variables=[{"variable": "SEX"}])], adam,
            study(["A", "B"]))


def test_arm_names_in_the_data_match_the_study_arms(adam) -> None:
    named = {**adam, "ADSL": adam["ADSL"].assign(TRT01A=adam["ADSL"]["TRT01A"].map(
        {"A": "Placebo", "B": "Low", "C": "High"}))}
    arms = study(["PBO", "LO", "HI"], control="PBO", names=["Placebo", "Low", "High"])
    ard = run([_base("descriptive", variables=[{"variable": "SEX", "test": "fisher"}])],
              named, arms)
    assert value(ard, "x", "High", "SEX", "n", "M") == 3
    assert value(ard, "x", "High vs Placebo", "SEX", "p_2s", "F") == pytest.approx(0.4)


# --- adverse events ----------------------------------------------------------------


def test_ae_overview_subjects_events_and_subject_level_items(adam) -> None:
    doc = _base("ae_overview", dataset="ADAE", where={"TRTEMFL": "Y"}, events=True,
                test="fisher",
                items=[{"variable": "ANY"}, {"variable": "AESER", "where": {"AESER": "Y"}},
                       {"variable": "DTHFL", "source": "ADSL", "where": {"DTHFL": "Y"}}])
    ard = run([doc], adam, ABC)
    # S4's only event is not treatment-emergent.
    assert [value(ard, "x", g, "ANY", "n") for g in "ABC"] == [2, 1, 2]
    assert [value(ard, "x", g, "ANY", "events") for g in "ABC"] == [3, 2, 2]
    assert value(ard, "x", "Total", "ANY", "n") == 5
    assert [value(ard, "x", g, "AESER", "n") for g in "ABC"] == [1, 1, 0]
    assert [value(ard, "x", g, "DTHFL", "n") for g in "ABC"] == [1, 1, 1]
    assert value(ard, "x", "B vs A", "AESER", "p_2s") == pytest.approx(1.0)


def _terms(adam, **keys):
    doc = _base("ae_terms", dataset="ADAE", where={"TRTEMFL": "Y"}, soc="AEBODSYS",
                term="AEDECOD", **keys)
    return run([doc], adam, ABC)


def _order(ard) -> list[tuple[str, str]]:
    rows = ard[(ard["stat_name"] == "n") & (ard["group1_level"] == "A")]
    return list(zip(rows["variable"], rows["variable_level"], strict=True))


def test_ae_terms_counts_subjects_once_in_frequency_order(adam) -> None:
    ard = _terms(adam, events=True)
    assert _order(ard) == [("ANY", ""), ("AEBODSYS", "Gastro"), ("AEDECOD", "NAUSEA"),
                           ("AEBODSYS", "Nervous"), ("AEDECOD", "HEADACHE"),
                           ("AEBODSYS", "Dermal"), ("AEDECOD", "RASH")]
    assert [value(ard, "x", g, "AEDECOD", "n", "NAUSEA", "AEBODSYS", "Gastro")
            for g in ("A", "B", "C", "Total")] == [2, 0, 1, 3]
    # S5 had two headaches: one subject, two events.
    assert value(ard, "x", "B", "AEDECOD", "n", "HEADACHE", "AEBODSYS", "Nervous") == 1
    assert value(ard, "x", "B", "AEDECOD", "events", "HEADACHE", "AEBODSYS", "Nervous") == 2
    assert value(ard, "x", "A", "AEBODSYS", "pct", "Gastro") == pytest.approx(200 / 3)


def test_ae_terms_alphabetical(adam) -> None:
    assert [lv for v, lv in _order(_terms(adam, sort="alphabetical")) if v == "AEBODSYS"] \
        == ["Dermal", "Gastro", "Nervous"]


def test_ae_terms_by_maximum_grade_and_severity(adam) -> None:
    ard = _terms(adam, grade={"variable": "ATOXGRN", "levels": [1, 2, 3, 4, 5]})
    # Any event: A has S1 (grades 1 and 3 -> 3) and S2 (2); C has S7 (4) and S8 (1).
    assert [value(ard, "x", "A", "ANY", f"n_g{g}") for g in range(1, 6)] == [0, 1, 1, 0, 0]
    assert [value(ard, "x", "C", "ANY", f"n_g{g}") for g in range(1, 6)] == [1, 0, 0, 1, 0]
    assert value(ard, "x", "C", "ANY", "pct_g4") == pytest.approx(100 / 3)
    sev = _terms(adam, grade={"variable": "AESEV", "levels": ["MILD", "MODERATE", "SEVERE"]})
    assert [value(sev, "x", "A", "ANY", f"n_{s}") for s in ("MILD", "MODERATE", "SEVERE")] \
        == [0, 1, 1]
    assert value(sev, "x", "B", "AEDECOD", "n_MODERATE", "HEADACHE", "AEBODSYS",
                 "Nervous") == 1


def test_ae_terms_most_frequent_above_a_threshold(adam) -> None:
    ard = _terms(adam, min_pct=50)
    # Only nausea reaches 50% in an arm (A: 2 of 3); its SOC and the overall row stay.
    assert _order(ard) == [("ANY", ""), ("AEBODSYS", "Gastro"), ("AEDECOD", "NAUSEA")]


def test_deaths_by_cause_and_timing(adam) -> None:
    ard = run([_base("deaths", window_days=30)], adam, ABC)
    assert [value(ard, "x", g, "DTHFL", "n") for g in "ABC"] == [1, 1, 1]
    causes = ard.loc[(ard["variable"] == "DTHCAUS") & (ard["stat_name"] == "n"),
                     "variable_level"].unique().tolist()
    assert causes == ["ADVERSE EVENT", "PROGRESSIVE DISEASE", "Unknown"]
    assert value(ard, "x", "A", "timing", "n", "Within 30 days of last dose") == 1
    assert value(ard, "x", "B", "timing", "n", "More than 30 days after last dose") == 1
    assert value(ard, "x", "C", "timing", "n", "Not treated") == 1


# --- time to event -----------------------------------------------------------------


def _tte(adam, arms=ABC, **keys):
    doc = _base("tte", dataset="ADTTE", parameter="TTE", landmarks=[15],
                curve={"at_risk": [0, 20]}, **keys)
    doc["group"] = {"variable": "TRT01A"}
    return run([doc], adam, arms)


def test_kaplan_meier_medians_rates_and_at_risk_by_hand(adam) -> None:
    ard = _tte(adam)
    # A: events 10, 20, 30 -> S(20) = 1/3 < 1/2: median 20. B: 10 (event), 20
    # (censored), 40 (event) -> S(40) = 0: median 40. C: 5, 15 (events) -> median 15.
    assert [value(ard, "x", g, "TTE", "median") for g in "ABC"] == [20, 40, 15]
    assert [value(ard, "x", g, "TTE", "events") for g in "ABC"] == [3, 2, 2]
    assert value(ard, "x", "C", "TTE", "rate", "15") == pytest.approx(100 / 3)
    assert value(ard, "x", "A", "TTE", "rate", "15") == pytest.approx(200 / 3)
    assert [value(ard, "x", g, "TTE", "at_risk", "20") for g in "ABC"] == [2, 2, 1]
    assert [value(ard, "x", g, "TTE", "at_risk", "0") for g in "ABC"] == [3, 3, 3]
    assert value(ard, "x", "B", "CNSDTDSC", "n", "Lost") == 1
    assert value(ard, "x", "B", "EVNTDESC", "pct_events", "Event") == 100


def test_each_comparison_is_a_two_arm_analysis(adam) -> None:
    ard = _tte(adam, strata=["REGION"])
    data = adam["ADTTE"]
    for test, rows in (("B", slice(0, 6)), ("C", list(range(3)) + list(range(6, 9)))):
        pair = data.iloc[rows]
        treat = (pair["USUBJID"].isin(IDS[3:6] if test == "B" else IDS[6:])).astype(int)
        cox = fit_cox(pair["AVAL"], 1 - pair["CNSR"], treat)
        lr = logrank_test(pair["AVAL"], 1 - pair["CNSR"], treat)
        strat = fit_cox(pair["AVAL"], 1 - pair["CNSR"], treat, strata=pair["REGION"])
        label = f"{test} vs A"
        assert value(ard, "x", label, "TTE", "hr", "unstratified") == cox.hr
        assert value(ard, "x", label, "TTE", "p_2s", "unstratified") == lr.p_2s
        assert value(ard, "x", label, "TTE", "hr", "stratified") == strat.hr
    assert not (ard["group1_level"] == "C vs B").any()


def test_one_arm_has_no_comparison(adam) -> None:
    ard = _tte({**adam, "ADSL": adam["ADSL"].iloc[:3], "ADTTE": adam["ADTTE"].iloc[:3]},
               arms=study(["A"], control="A"))
    assert value(ard, "x", "A", "TTE", "median") == 20
    assert not ard["group1_level"].str.contains(" vs ").any()


def test_subgroups_hazard_ratio_per_level(adam) -> None:
    doc = _base("subgroups", dataset="ADTTE", parameter="TTE",
                subgroups=[{"variable": "REGION", "levels": ["N", "S"]}])
    doc["group"] = {"variable": "TRT01A"}
    ard = run([doc], adam, study(["A", "B"], control="A"))
    data = adam["ADTTE"].iloc[:6]
    south = data[data["REGION"] == "S"]  # A: S2 (event); B: S4 and S6 (events)
    cox = fit_cox(south["AVAL"], 1 - south["CNSR"], south["USUBJID"].isin(IDS[3:6]))
    assert value(ard, "x", "B vs A", "TTE", "hr", group2="REGION", group2_level="S") == \
        cox.hr
    assert value(ard, "x", "B", "TTE", "events", group2="REGION", group2_level="S") == 2
    # North: B's only subject (S5) is censored, so no hazard ratio (NE).
    assert value(ard, "x", "A", "TTE", "n", group2="REGION", group2_level="N") == 2
    assert math.isnan(value(ard, "x", "B vs A", "TTE", "hr", group2="REGION",
                            group2_level="N"))


def test_follow_up_observed_times_and_reverse_km(adam) -> None:
    doc = _base("follow_up", dataset="ADTTE", parameter="TTE")
    ard = run([doc], adam, ABC)
    assert value(ard, "x", "A", "observed_time", "median") == 20
    assert value(ard, "x", "Total", "observed_time", "n") == 9
    assert value(ard, "x", "B", "reverse_km", "censored") == 1
    assert 0 < value(ard, "x", "C vs A", "observed_time", "p_2s") <= 1


# --- response ----------------------------------------------------------------------


def _response(adam, **keys):
    doc = _base("response", dataset="ADRS", parameter="BESTRSP", missing="MISSING",
                categories=[{"level": "CR", "values": ["CR"]},
                            {"level": "MISSING", "values": ["MISSING"]}],
                rate={"name": "ORR", "responders": ["CR", "PR"], "exclude": ["NE", "MISSING"]},
                **keys)
    return run([doc], adam, ABC)


def test_response_rates_exact_limits_and_comparisons(adam) -> None:
    ard = _response(adam, test="fisher")
    assert value(ard, "x", "A", "BESTRSP", "n", "CR") == 1
    assert value(ard, "x", "B", "BESTRSP", "n", "MISSING") == 1  # S6 has no record
    # Rates over known responses: A 2/3, B 1/1 (NE and MISSING out), C 1/3.
    assert [value(ard, "x", g, "ORR", "N") for g in "ABC"] == [3, 1, 3]
    assert value(ard, "x", "C", "ORR", "pct") == pytest.approx(100 / 3)
    lcl, ucl = clopper_pearson(1, 3)
    assert value(ard, "x", "C", "ORR", "lcl") == pytest.approx(100 * lcl)
    assert value(ard, "x", "C", "ORR", "ucl") == pytest.approx(100 * ucl)
    # C vs A: odds (1/2) / (2/1) = 0.25; difference 1/3 - 2/3.
    assert value(ard, "x", "C vs A", "ORR", "or") == pytest.approx(0.25)
    assert value(ard, "x", "C vs A", "ORR", "or") == pytest.approx(
        woolf_odds_ratio(1, 3, 2, 3)[0])
    assert value(ard, "x", "C vs A", "ORR", "diff") == pytest.approx(-100 / 3)
    assert value(ard, "x", "C vs A", "ORR", "diff_lcl") == pytest.approx(
        100 * risk_difference_wald(1, 3, 2, 3)[1])
    assert value(ard, "x", "C vs A", "ORR", "p_2s") == pytest.approx(1.0)
    # B vs A: no non-responder in B, so the logit limits do not exist.
    assert math.isnan(value(ard, "x", "B vs A", "ORR", "or"))


def test_response_cmh_over_strata(adam) -> None:
    adam["ADSL"]["STRATUM"] = ["1", "2", "1", "2", "1", "2", "1", "2", "1"]
    ard = _response(adam, test="cmh", strata=["STRATUM"])
    # Rated subjects of C vs A: S1 CR, S2 PR, S3 SD (A); S7 PD, S8 PD, S9 PR (C).
    group, responder = [0, 0, 0, 1, 1, 1], [1, 1, 0, 0, 0, 1]
    strata = ["1", "2", "1", "1", "2", "1"]
    assert value(ard, "x", "C vs A", "ORR", "p_2s") == pytest.approx(
        cmh_2x2_p(group, responder, strata))
    # By hand: stratum 1 (S1, S3 | S7, S9): a = 1, E = 2 * 2 / 4 = 1, V = 2*2*2*2/(16*3)
    # = 1/3; stratum 2 (S2 | S8): a = 1, E = 1 * 1 / 2 = 1/2, V = 1*1*1*1/(4*1) = 1/4.
    q = (1 - 1 + 1 - 0.5) ** 2 / (1 / 3 + 1 / 4)
    from scipy.stats import chi2
    assert value(ard, "x", "C vs A", "ORR", "p_2s") == pytest.approx(chi2.sf(q, 1))


# --- exposure ----------------------------------------------------------------------


def test_exposure_aggregates_records_per_subject(adam) -> None:
    doc = _base("exposure", dataset="ADEX", variables=[{
        "variable": "TOTDOSE", "type": "continuous",
        "from": {"where": {"PARAMCD": "DOSE"}, "value": "AVAL", "aggregate": "sum"},
        "categories": [{"level": "<10", "max": 10}, {"level": ">=10", "min": 10}]}])
    ard = run([doc], adam, ABC)
    # A: S1 10 + 20 = 30, S2 5, S3 none.
    assert value(ard, "x", "A", "TOTDOSE", "n") == 2
    assert value(ard, "x", "A", "TOTDOSE", "mean") == 17.5
    assert value(ard, "x", "A", "TOTDOSE", "n", "<10") == 1
    assert value(ard, "x", "A", "TOTDOSE", "N", ">=10") == 3
    assert value(ard, "x", "B", "TOTDOSE", "max") == 100
