"""ADTTE engine rules, each on a small hand-written table (admiral style)."""

import pandas as pd
import pytest

from adam.tte import Source, TTEParameter, derive_param_tte

D = pd.to_datetime

PFS = TTEParameter(
    "PFS", "Progression-free survival", "RANDDT",
    events=(Source("ADRS", "ADT", "Disease progression", {"PARAMCD": "PD"}),
            Source("ADSL", "DTHDT", "Death")),
    censors=(Source("ADRS", "ADT", "Last adequate tumour assessment", {"PARAMCD": "LSTA"},
                    censor=1),
             Source("ADSL", "RANDDT", "Randomisation", censor=2)))


def adsl(rows):
    return pd.DataFrame(rows, columns=["USUBJID", "RANDDT", "DTHDT"]).assign(
        RANDDT=lambda d: D(d["RANDDT"]), DTHDT=lambda d: D(d["DTHDT"]))


def adrs(rows):
    return pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "ADT"]).assign(
        ADT=lambda d: D(d["ADT"]))


def run(sl, rs, param=PFS):
    return derive_param_tte(sl, {"ADSL": sl, "ADRS": rs}, param).set_index("USUBJID")


def test_an_event_wins_over_a_later_censoring_date():
    sl = adsl([["1", "2020-01-01", None]])
    rs = adrs([["1", "PD", "2020-03-01"], ["1", "LSTA", "2020-05-01"]])
    r = run(sl, rs).loc["1"]
    assert (r["CNSR"], r["AVAL"], r["EVNTDESC"]) == (0, 61.0, "Disease progression")


def test_the_earliest_event_wins():
    sl = adsl([["1", "2020-01-01", "2020-02-15"]])
    rs = adrs([["1", "PD", "2020-03-01"]])
    r = run(sl, rs).loc["1"]
    assert (r["ADT"], r["EVNTDESC"]) == (D("2020-02-15"), "Death")


def test_on_the_same_date_the_event_source_declared_first_wins():
    sl = adsl([["1", "2020-01-01", "2020-03-01"]])
    rs = adrs([["1", "PD", "2020-03-01"]])
    r = run(sl, rs).loc["1"]
    assert r["EVNTDESC"] == "Disease progression" and r["SRCDOM"] == "ADRS"


def test_death_without_progression_is_an_event():
    sl = adsl([["1", "2020-01-01", "2020-01-20"]])
    rs = adrs([["1", "LSTA", "2020-01-10"]])
    r = run(sl, rs).loc["1"]
    assert (r["CNSR"], r["AVAL"], r["EVNTDESC"]) == (0, 20.0, "Death")


def test_without_an_event_the_latest_censoring_date_is_taken():
    sl = adsl([["1", "2020-01-01", None]])
    rs = adrs([["1", "LSTA", "2020-04-10"]])
    r = run(sl, rs).loc["1"]
    assert (r["CNSR"], r["ADT"], r["CNSDTDSC"]) == (1, D("2020-04-10"),
                                                      "Last adequate tumour assessment")


def test_no_post_baseline_assessment_censors_at_randomisation_day_one():
    sl = adsl([["1", "2020-01-01", None]])
    rs = adrs([])
    r = run(sl, rs).loc["1"]
    assert (r["CNSR"], r["AVAL"], r["CNSDTDSC"]) == (2, 1.0, "Randomisation")


def test_censoring_sources_on_the_same_date_take_the_one_declared_first():
    sl = adsl([["1", "2020-01-01", None]])
    rs = adrs([["1", "LSTA", "2020-01-01"]])
    r = run(sl, rs).loc["1"]
    assert (r["CNSR"], r["CNSDTDSC"]) == (1, "Last adequate tumour assessment")


def test_adt_is_never_before_the_start_date():
    sl = adsl([["1", "2020-01-10", None]])
    rs = adrs([["1", "PD", "2020-01-05"]])
    r = run(sl, rs).loc["1"]
    assert (r["ADT"], r["AVAL"]) == (D("2020-01-10"), 1.0)


def test_a_subject_without_a_start_date_gets_no_record():
    sl = adsl([["1", None, None], ["2", "2020-01-01", None]])
    out = run(sl, adrs([]))
    assert out.index.tolist() == ["2"]


def test_event_descriptions_fill_evntdesc_and_only_censored_rows_fill_cnsdtdsc():
    sl = adsl([["1", "2020-01-01", "2020-02-01"], ["2", "2020-01-01", None]])
    out = run(sl, adrs([]))
    assert out.loc["1", "CNSDTDSC"] == "" and out.loc["2", "CNSDTDSC"] == "Randomisation"


def test_an_unknown_condition_variable_is_an_error_naming_it():
    bad = TTEParameter("X", "X", "RANDDT", events=(Source("ADRS", "ADT", "e", {"NOPE": 1}),),
                       censors=())
    with pytest.raises(KeyError, match="NOPE"):
        run(adsl([["1", "2020-01-01", None]]), adrs([]), bad)


def test_duration_of_response_starts_at_the_first_response_of_responders_only():
    dor = TTEParameter("DOR", "Duration of response", "ADT",
                       events=(Source("ADRS", "ADT", "Disease progression", {"PARAMCD": "PD"}),),
                       censors=(Source("ADRS", "ADT", "Last assessment", {"PARAMCD": "LSTA"},
                                       censor=1),),
                       start_dataset="ADRS",
                       start_condition={"PARAMCD": "RSP", "AVALC": "Y"})
    sl = adsl([["1", "2020-01-01", None], ["2", "2020-01-01", None]])
    rs = pd.DataFrame({"USUBJID": ["1", "1", "2"], "PARAMCD": ["RSP", "PD", "RSP"],
                       "AVALC": ["Y", "Y", "N"],
                       "ADT": D(["2020-02-12", "2020-05-01", None])})
    out = derive_param_tte(sl, {"ADSL": sl, "ADRS": rs}, dor).set_index("USUBJID")
    assert out.index.tolist() == ["1"]
    assert (out.loc["1", "STARTDT"], out.loc["1", "AVAL"]) == (D("2020-02-12"), 80.0)
