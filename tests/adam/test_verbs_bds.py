"""BDS verbs of the ADaM engine (adam/verbs/bds.py): one test per verb and option, each on
a small table written by hand, admiral style (input, expected output)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from adam.engine import check_spec
from adam.verbs import VERBS, Context
from trialflow.errors import SpecError
from trialflow.spec import DatasetSpec, Variable

D = pd.to_datetime
NAN = float("nan")


def run(verb: str, data: pd.DataFrame, spec: DatasetSpec | None = None,
        **params) -> pd.DataFrame:
    return VERBS[verb].function(data, Context(inputs={}, spec=spec), **params)


def spec_with(steps: list[dict], parameters: tuple = ()) -> DatasetSpec:
    return DatasetSpec("ADQS", "Questionnaires", "BASIC DATA STRUCTURE", "", "ADaMIG 1.3",
                       ("USUBJID",), ("USUBJID",),
                       (Variable("USUBJID", "Subject", "Char", 20, "Predecessor", True),),
                       parameters=parameters, file="adqs.yaml",
                       derivation={"inputs": ["QS"], "start": {"dataset": "QS"},
                                   "steps": steps})


def same(actual: pd.Series, expected: list) -> bool:
    """Equal value by value, missing equal to missing."""
    return all((isinstance(e, float) and math.isnan(e) and pd.isna(a)) or a == e
               for a, e in zip(actual.tolist(), expected, strict=True))


def items(rows: list[tuple]) -> pd.DataFrame:
    """Analysis records: USUBJID, PARAMCD, AVAL, ADT, ADY."""
    return pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVAL", "ADT", "ADY"]).assign(
        ADT=lambda d: D(d["ADT"]))


# --------------------------------------------------------------------------- findings


def test_findings_takes_paramcd_param_aval_avalc_and_the_date_from_the_domain():
    qs = pd.DataFrame({"QSTESTCD": ["I1", "I2"], "QSTEST": ["Item 1", "Item 2"],
                       "QSSTRESN": [3.0, NAN], "QSSTRESC": ["3", "NOT DONE"],
                       "QSDTC": ["2020-01-05", "2020-01-05T10:30"]})
    out = run("findings", qs, prefix="QS")
    assert out["PARAMCD"].tolist() == ["I1", "I2"]
    assert out["PARAM"].tolist() == ["Item 1", "Item 2"]
    assert same(out["AVAL"], [3.0, NAN])
    assert out["AVALC"].tolist() == ["3", "NOT DONE"]
    assert out["ADT"].tolist() == [D("2020-01-05"), D("2020-01-05")]
    assert "ADTF" not in out.columns


def test_findings_without_avalc_leaves_it_out():
    qs = pd.DataFrame({"LBTESTCD": ["ALB"], "LBTEST": ["Albumin"], "LBSTRESN": [40.0],
                       "LBDTC": ["2020-01-05"]})
    out = run("findings", qs, prefix="LB", avalc=False)
    assert "AVALC" not in out.columns and out["AVAL"].tolist() == [40.0]


def test_findings_imputes_a_partial_date_only_when_declared():
    qs = pd.DataFrame({"QSTESTCD": ["I1"], "QSTEST": ["Item 1"], "QSSTRESN": [1.0],
                       "QSSTRESC": ["1"], "QSDTC": ["2020-02"]})
    assert pd.isna(run("findings", qs, prefix="QS")["ADT"].iloc[0])
    out = run("findings", qs, prefix="QS", highest_imputation="D", date_imputation="last")
    assert (out["ADT"].iloc[0], out["ADTF"].iloc[0]) == (D("2020-02-29"), "D")


# --------------------------------------------------------------------------- param_lookup

PARAMETERS = ({"paramcd": "I1", "param": "Item one", "paramn": 1},
              {"paramcd": "TOT", "param": "Total", "paramn": 9})


def test_param_lookup_sets_param_and_paramn_of_each_declared_paramcd():
    data = pd.DataFrame({"PARAMCD": ["TOT", "I1", "I1"], "PARAM": ["", "item 1", "item 1"]})
    out = run("param_lookup", data, spec_with([], PARAMETERS))
    assert out["PARAM"].tolist() == ["Total", "Item one", "Item one"]
    assert out["PARAMN"].tolist() == [9.0, 1.0, 1.0]


def test_param_lookup_leaves_an_undeclared_paramcd_as_it_was():
    data = pd.DataFrame({"PARAMCD": ["I1", "I7"], "PARAM": ["item 1", "item 7"]})
    out = run("param_lookup", data, spec_with([], PARAMETERS))
    assert out["PARAM"].tolist() == ["Item one", "item 7"]
    assert same(out["PARAMN"], [1.0, NAN])


def test_param_lookup_with_variables_sets_only_those():
    data = pd.DataFrame({"PARAMCD": ["I1"], "PARAM": ["item 1"]})
    out = run("param_lookup", data, spec_with([], PARAMETERS), variables=["PARAMN"])
    assert (out["PARAM"].iloc[0], out["PARAMN"].iloc[0]) == ("item 1", 1.0)


def test_param_lookup_without_declared_parameters_says_so():
    with pytest.raises(ValueError, match="parameters block"):
        run("param_lookup", pd.DataFrame({"PARAMCD": ["I1"]}), spec_with([]))
    with pytest.raises(SpecError, match="step 1 \\(param_lookup\\): reads the spec's "
                                        "parameters block, which is empty"):
        check_spec(spec_with([{"param_lookup": {}}]))


# --------------------------------------------------------------------------- derived_param


def scores(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["USUBJID", "VISIT", "PARAMCD", "AVAL"])


def total(out: pd.DataFrame) -> list:
    return out.loc[out["PARAMCD"] == "TOT", "AVAL"].tolist()


def test_derived_param_sums_the_items_of_each_timepoint_into_a_new_record():
    qs = scores([("1", "W1", "A", 1.0), ("1", "W1", "B", 2.0), ("1", "W2", "A", 4.0),
                 ("1", "W2", "B", 0.0), ("1", "W2", "X", 50.0)])
    out = run("derived_param", qs, paramcd="TOT", items=["A", "B"], by=["USUBJID", "VISIT"])
    assert len(out) == 7
    assert out.tail(2)[["VISIT", "PARAMCD", "AVAL"]].values.tolist() == [
        ["W1", "TOT", 3.0], ["W2", "TOT", 4.0]]


def test_derived_param_without_allowed_missing_items_gives_a_missing_total():
    qs = scores([("1", "W1", "A", 1.0), ("1", "W1", "B", NAN), ("2", "W1", "A", 1.0)])
    out = run("derived_param", qs, paramcd="TOT", items=["A", "B"], by=["USUBJID", "VISIT"])
    assert same(pd.Series(total(out)), [NAN, NAN])  # a missing value, a missing record


def test_derived_param_sums_the_items_present_when_up_to_max_missing_are_missing():
    qs = scores([("1", "W1", "A", 1.0), ("1", "W1", "B", NAN), ("1", "W1", "C", 2.0)])
    out = run("derived_param", qs, paramcd="TOT", items=["A", "B", "C"],
              by=["USUBJID", "VISIT"], max_missing=1)
    assert total(out) == [3.0]


def test_derived_param_prorates_by_the_items_maximum_scores():
    # Items of maximum 10, 5 and 5 (20 in all); B (5) missing: 6 x 20 / 15 = 8.
    qs = scores([("1", "W1", "A", 4.0), ("1", "W1", "C", 2.0)])
    out = run("derived_param", qs, paramcd="TOT", items={"A": 10, "B": 5, "C": 5},
              by=["USUBJID", "VISIT"], max_missing=1, prorate=True)
    assert total(out) == [8.0]


def test_derived_param_prorates_by_the_number_of_items_when_none_has_a_maximum():
    # 3 items, 2 present summing to 6: 6 x 3 / 2 = 9.
    qs = scores([("1", "W1", "A", 4.0), ("1", "W1", "C", 2.0)])
    out = run("derived_param", qs, paramcd="TOT", items=["A", "B", "C"],
              by=["USUBJID", "VISIT"], max_missing=1, prorate=True)
    assert total(out) == [9.0]


def test_derived_param_mean_is_of_the_items_present():
    qs = scores([("1", "W1", "A", 4.0), ("1", "W1", "B", NAN), ("1", "W1", "C", 1.0)])
    out = run("derived_param", qs, paramcd="TOT", items=["A", "B", "C"],
              by=["USUBJID", "VISIT"], function="mean", max_missing=1)
    assert total(out) == [2.5]


def test_derived_param_gives_the_new_records_the_constants_of_set():
    qs = scores([("1", "W1", "A", 4.0)])
    out = run("derived_param", qs, paramcd="TOT", items=["A"], by=["USUBJID", "VISIT"],
              set={"PARAM": "Total score"})
    assert out["PARAM"].tolist() == ["", "Total score"]


def test_derived_param_refuses_an_item_twice_in_one_timepoint():
    qs = scores([("1", "W1", "A", 4.0), ("1", "W1", "A", 3.0)])
    with pytest.raises(ValueError, match="more than one record"):
        run("derived_param", qs, paramcd="TOT", items=["A"], by=["USUBJID", "VISIT"])


@pytest.mark.parametrize(("params", "message"), [
    ({"function": "mean", "prorate": True}, "prorate applies to a sum"),
    ({"items": {"A": 0, "B": 5}}, "maximum score"),
    ({"max_missing": 2}, "at least one item"),
])
def test_derived_param_checks_its_rule_when_the_spec_is_loaded(params, message):
    step = {"derived_param": {"paramcd": "TOT", "items": ["A", "B"], "by": ["USUBJID"],
                              **params}}
    with pytest.raises(SpecError, match=message):
        check_spec(spec_with([step]))


# --------------------------------------------------------------------------- baseline_flag


def with_ref(rows: list[tuple], ref: str = "2020-01-10") -> pd.DataFrame:
    return items(rows).assign(TRTSDT=D(ref))


def test_baseline_flag_is_the_last_value_on_or_before_the_reference_date():
    data = with_ref([("1", "A", 5.0, "2020-01-02", -8), ("1", "A", 6.0, "2020-01-10", 1),
                     ("1", "A", 7.0, "2020-01-20", 11), ("1", "B", 1.0, "2020-01-03", -7)])
    out = run("baseline_flag", data, reference="TRTSDT")
    assert out["ABLFL"].tolist() == ["", "Y", "", "Y"]


def test_baseline_flag_not_inclusive_takes_the_last_value_before_the_reference_date():
    data = with_ref([("1", "A", 5.0, "2020-01-02", -8), ("1", "A", 6.0, "2020-01-10", 1)])
    out = run("baseline_flag", data, reference="TRTSDT", inclusive=False)
    assert out["ABLFL"].tolist() == ["Y", ""]


def test_baseline_flag_skips_a_record_without_a_value():
    data = with_ref([("1", "A", 5.0, "2020-01-02", -8), ("1", "A", NAN, "2020-01-09", 0)])
    assert run("baseline_flag", data, reference="TRTSDT")["ABLFL"].tolist() == ["Y", ""]


def test_baseline_flag_considers_only_the_records_meeting_the_filter():
    data = with_ref([("1", "A", 5.0, "2020-01-02", -8), ("1", "A", 6.0, "2020-01-09", 0)])
    data["DTYPE"] = ["", "AVERAGE"]
    out = run("baseline_flag", data, reference="TRTSDT", filter={"DTYPE": ""})
    assert out["ABLFL"].tolist() == ["Y", ""]


def test_baseline_flag_breaks_a_tie_on_the_date_by_the_order():
    data = with_ref([("1", "A", 5.0, "2020-01-09", 0), ("1", "A", 6.0, "2020-01-09", 0)])
    data["SEQ"] = [2.0, 1.0]
    out = run("baseline_flag", data, reference="TRTSDT", order=["-SEQ"])
    assert out["ABLFL"].tolist() == ["", "Y"]


# --------------------------------------------------------------------------- base, change


def test_base_is_the_value_of_the_baseline_record_on_every_record_of_the_parameter():
    data = pd.DataFrame({"USUBJID": ["1", "1", "1", "2"], "PARAMCD": ["A", "A", "B", "A"],
                         "AVAL": [10.0, 12.0, 3.0, 5.0], "ABLFL": ["Y", "", "", ""]})
    out = run("base", data)
    assert same(out["BASE"], [10.0, 10.0, NAN, NAN])


def test_base_takes_a_declared_source_and_baseline_record():
    data = pd.DataFrame({"USUBJID": ["1", "1"], "PARAMCD": ["A", "A"],
                         "AVALC": ["MILD", "SEVERE"], "AVISIT": ["Baseline", "Week 2"]})
    out = run("base", data, new_var="BASEC", source="AVALC", filter={"AVISIT": "Baseline"})
    assert out["BASEC"].tolist() == ["MILD", "MILD"]


def test_change_gives_chg_and_pchg_on_every_record():
    data = pd.DataFrame({"AVAL": [10.0, 12.0, 7.0, NAN], "BASE": [10.0, 10.0, 10.0, 10.0]})
    out = run("change", data)
    assert same(out["CHG"], [0.0, 2.0, -3.0, NAN])
    assert same(out["PCHG"], [0.0, 20.0, -30.0, NAN])


def test_pchg_is_missing_when_base_is_zero():
    out = run("change", pd.DataFrame({"AVAL": [3.0], "BASE": [0.0]}))
    assert out["CHG"].tolist() == [3.0] and same(out["PCHG"], [NAN])


def test_change_on_the_records_meeting_the_filter_only():
    data = pd.DataFrame({"AVAL": [10.0, 12.0], "BASE": [10.0, 10.0], "ABLFL": ["Y", ""]})
    out = run("change", data, filter={"ABLFL": {"ne": "Y"}})
    assert same(out["CHG"], [NAN, 2.0])


def test_change_without_pchg_leaves_it_out():
    out = run("change", pd.DataFrame({"AVAL": [3.0], "BASE": [1.0]}), pchg=None)
    assert "PCHG" not in out.columns and out["CHG"].tolist() == [2.0]


# --------------------------------------------------------------------------- windows

WINDOWS = [{"avisit": "Baseline", "avisitn": 0, "hi": 1, "target": 1},
           {"avisit": "Week 8", "avisitn": 8, "lo": 2, "hi": 84, "target": 56},
           {"avisit": "Week 24", "avisitn": 24, "lo": 141, "target": 168, "range": ">140"}]


def test_analysis_windows_give_avisit_and_avisitn_by_study_day_ends_included():
    data = pd.DataFrame({"ADY": [-5.0, 1.0, 2.0, 84.0, 100.0, 141.0, NAN]})
    out = run("analysis_windows", data, windows=WINDOWS)
    assert out["AVISIT"].tolist() == ["Baseline", "Baseline", "Week 8", "Week 8", "",
                                      "Week 24", ""]
    assert same(out["AVISITN"], [0.0, 0.0, 8.0, 8.0, NAN, 24.0, NAN])


def test_analysis_windows_give_the_window_variables():
    out = run("analysis_windows", pd.DataFrame({"ADY": [0.0, 60.0, 200.0]}), windows=WINDOWS)
    assert same(out["AWLO"], [NAN, 2.0, 141.0]) and same(out["AWHI"], [1.0, 84.0, NAN])
    assert out["AWTARGET"].tolist() == [1.0, 56.0, 168.0]
    assert out["AWTDIFF"].tolist() == [1.0, 4.0, 32.0]
    assert out["AWRANGE"].tolist() == ["<=1", "2-84", ">140"]  # the last one as declared
    assert out["AWU"].tolist() == ["DAYS", "DAYS", "DAYS"]


def test_analysis_windows_on_the_records_meeting_the_filter_only():
    data = pd.DataFrame({"ADY": [60.0, 60.0], "PARAMCD": ["A", "B"]})
    out = run("analysis_windows", data, windows=WINDOWS, filter={"PARAMCD": "A"})
    assert out["AVISIT"].tolist() == ["Week 8", ""]


def test_analysis_windows_without_window_vars_and_with_another_day_and_unit():
    data = pd.DataFrame({"AWEEK": [9.0]})
    out = run("analysis_windows", data, day="AWEEK", window_vars=False,
              windows=[{"avisit": "Week 8", "avisitn": 8, "lo": 7, "hi": 9}])
    assert out["AVISIT"].tolist() == ["Week 8"] and "AWTARGET" not in out.columns
    out = run("analysis_windows", data, day="AWEEK", unit="WEEKS",
              windows=[{"avisit": "Week 8", "avisitn": 8, "lo": 7, "hi": 9}])
    assert out["AWU"].tolist() == ["WEEKS"]


def test_analysis_windows_check_their_ends_when_the_spec_is_loaded():
    step = {"analysis_windows": {"windows": [{"avisit": "W", "avisitn": 1, "lo": 9,
                                              "hi": 2}]}}
    with pytest.raises(SpecError, match="lo 9 is after hi 2"):
        check_spec(spec_with([step]))


# --------------------------------------------------------------------------- locf

VISITS = [{"AVISITN": 8, "AVISIT": "Week 8"}, {"AVISITN": 16, "AVISIT": "Week 16"},
          {"AVISITN": 24, "AVISIT": "Week 24"}]


def visits(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "PARAMCD", "AVISITN", "AVISIT",
                                       "ADT", "AVAL"]).assign(ADT=lambda d: D(d["ADT"]))


def test_locf_adds_each_missing_visit_from_the_last_record_before_it():
    data = visits([("S", "1", "T", 0, "Baseline", "2020-01-01", 20.0),
                   ("S", "1", "T", 8, "Week 8", "2020-03-01", 22.0)])
    out = run("locf", data, visits=VISITS)
    new = out[out["DTYPE"] == "LOCF"]
    assert new[["AVISIT", "AVISITN", "AVAL", "ADT"]].values.tolist() == [
        ["Week 16", 16, 22.0, D("2020-03-01")], ["Week 24", 24, 22.0, D("2020-03-01")]]
    assert out["DTYPE"].tolist()[:2] == ["", ""]


def test_locf_carries_the_last_record_in_the_order():
    data = visits([("S", "1", "T", 8, "Week 8", "2020-03-01", 22.0),
                   ("S", "1", "T", 8, "Week 8", "2020-03-20", 25.0)])
    out = run("locf", data, visits=VISITS[1:2])
    assert out.loc[out["DTYPE"] == "LOCF", "AVAL"].tolist() == [25.0]
    out = run("locf", data, visits=VISITS[1:2], order=["AVISITN", "-ADT"])
    assert out.loc[out["DTYPE"] == "LOCF", "AVAL"].tolist() == [22.0]


def test_locf_makes_no_record_for_a_visit_before_the_first_one():
    data = visits([("S", "1", "T", 16, "Week 16", "2020-04-20", 22.0)])
    out = run("locf", data, visits=VISITS)
    assert out.loc[out["DTYPE"] == "LOCF", "AVISIT"].tolist() == ["Week 24"]


def test_locf_carries_only_records_with_a_value_and_meeting_the_filter():
    data = visits([("S", "1", "T", 0, "Baseline", "2020-01-01", 20.0),
                   ("S", "1", "T", 8, "Week 8", "2020-03-01", NAN),
                   ("S", "1", "A", 8, "Week 8", "2020-03-01", 1.0)])
    out = run("locf", data, visits=VISITS[:1], filter={"PARAMCD": "T"})
    assert out.loc[out["DTYPE"] == "LOCF", ["PARAMCD", "AVAL"]].values.tolist() == [
        ["T", 20.0]]


def test_locf_copies_only_the_kept_variables():
    data = visits([("S", "1", "T", 0, "Baseline", "2020-01-01", 20.0)]).assign(QSSEQ=[7.0])
    out = run("locf", data, visits=VISITS[:1], keep=["ADT"])
    new = out[out["DTYPE"] == "LOCF"].iloc[0]
    assert (new["AVAL"], new["ADT"], new["AVISIT"]) == (20.0, D("2020-01-01"), "Week 8")
    assert math.isnan(new["QSSEQ"])


def test_locf_with_another_dtype_and_by_group():
    data = visits([("S", "1", "T", 0, "Baseline", "2020-01-01", 20.0),
                   ("S", "2", "T", 0, "Baseline", "2020-01-02", 30.0)])
    out = run("locf", data, visits=VISITS[:1], dtype="BOCF", by=["USUBJID"])
    assert out.loc[out["DTYPE"] == "BOCF", ["USUBJID", "AVAL"]].values.tolist() == [
        ["1", 20.0], ["2", 30.0]]


def test_locf_without_a_missing_visit_adds_no_record_and_a_blank_dtype():
    data = visits([("S", "1", "T", 8, "Week 8", "2020-03-01", 22.0)])
    out = run("locf", data, visits=VISITS[:1])
    assert len(out) == 1 and out["DTYPE"].tolist() == [""]


def test_locf_visits_must_give_the_visit_variable():
    data = visits([("S", "1", "T", 0, "Baseline", "2020-01-01", 20.0)])
    with pytest.raises(ValueError, match="must give AVISITN"):
        run("locf", data, visits=[{"AVISIT": "Week 8"}])


# --------------------------------------------------------------------------- in the engine


def test_a_bds_dataset_is_built_by_the_engine_from_its_spec():
    from adam.engine import build

    qs = pd.DataFrame({"USUBJID": ["1"] * 4, "QSTESTCD": ["I1", "I1", "I1", "I1"],
                       "QSTEST": ["item"] * 4, "QSSTRESN": [5.0, 6.0, 8.0, 9.0],
                       "QSSTRESC": ["5", "6", "8", "9"],
                       "QSDTC": ["2020-01-01", "2020-01-10", "2020-02-20", "2020-03-01"]})
    qs["TRTSDT"] = D("2020-01-10")
    spec = spec_with([
        {"findings": {"prefix": "QS"}},
        {"dy": {"reference": "TRTSDT", "vars": {"ADY": "ADT"}}},
        {"analysis_windows": {"windows": WINDOWS[:2]}},
        {"baseline_flag": {"reference": "TRTSDT", "by": ["USUBJID", "PARAMCD"]}},
        {"base": {}}, {"change": {}},
        {"extreme_flag": {"new_var": "ANL01FL", "by": ["USUBJID", "PARAMCD", "AVISITN"],
                          "order": ["AWTDIFF", "-ADT"], "filter": {"AVISIT": {"present": True}}}},
    ])
    spec = DatasetSpec(**{**spec.__dict__, "variables": tuple(
        Variable(n, n, t, 8, "Derived", False) for n, t in [
            ("USUBJID", "Char"), ("AVISIT", "Char"), ("ADY", "Num"), ("AVAL", "Num"),
            ("ABLFL", "Char"), ("CHG", "Num"), ("ANL01FL", "Char")])})
    out = build({"QS": qs}, spec)
    assert out[["AVISIT", "ADY", "AVAL", "ABLFL", "CHG", "ANL01FL"]].values.tolist() == [
        ["Baseline", -9.0, 5.0, "", -1.0, ""],
        ["Baseline", 1.0, 6.0, "Y", 0.0, "Y"],
        ["Week 8", 42.0, 8.0, "", 2.0, ""],   # 14 days from the target of day 56
        ["Week 8", 52.0, 9.0, "", 3.0, "Y"]]  # 4 days from it: the analysis record
