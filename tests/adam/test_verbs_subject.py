"""Subject-level verbs of the ADaM engine added or changed for any study (adam/verbs/
subject.py: summary, pool, work_dataset, filter, filter_exist), and the engine's checks of
the steps of a work dataset, each on a small table written by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from adam.engine import build, check_spec
from adam.verbs import VERBS, Context
from trialflow.errors import InputError, SpecError
from trialflow.spec import DatasetSpec, Variable

D = pd.to_datetime


def run(verb: str, data: pd.DataFrame, inputs: dict | None = None, **params) -> pd.DataFrame:
    return VERBS[verb].function(data, Context(inputs=inputs or {}), **params)


def spec_with(steps: list[dict], inputs: tuple[str, ...] = ("DM", "EX"),
              variables: tuple[tuple[str, str], ...] = (("USUBJID", "Char"),)) -> DatasetSpec:
    return DatasetSpec("ADSL", "Subject-Level", "SUBJECT LEVEL ANALYSIS DATASET", "",
                       "ADaMIG 1.3", ("USUBJID",), ("USUBJID",),
                       tuple(Variable(n, n, t, 20, "Derived", False) for n, t in variables),
                       file="adsl.yaml", derivation={"inputs": list(inputs),
                                                     "start": {"dataset": "DM"},
                                                     "steps": steps})


# --------------------------------------------------------------------------- summary

SL = pd.DataFrame({"USUBJID": ["1", "2", "3"]})
QS = pd.DataFrame({"USUBJID": ["1", "1", "2", "2"], "QSCAT": ["MMSE", "MMSE", "MMSE", "X"],
                   "QSSTRESN": [4.0, 3.0, 5.0, 100.0], "QSSEQ": [2.0, 1.0, 1.0, 2.0]})


def test_summary_sums_a_variable_over_each_subjects_records():
    out = run("summary", SL, {"QS": QS}, dataset="QS", new_var="T", function="sum",
              source="QSSTRESN", filter={"QSCAT": "MMSE"}, missing_value=float("nan"))
    assert out["T"].tolist()[:2] == [7.0, 5.0] and math.isnan(out["T"].iloc[2])


def test_summary_first_takes_the_first_record_in_the_order():
    out = run("summary", SL, {"QS": QS}, dataset="QS", new_var="F", function="first",
              source="QSSTRESN", order=["QSSEQ"])
    assert out["F"].tolist()[:2] == [3.0, 5.0]
    out = run("summary", SL, {"QS": QS}, dataset="QS", new_var="F", function="first",
              source="QSSTRESN", order=["-QSSEQ"])
    assert out["F"].tolist()[:2] == [4.0, 100.0]


def test_summary_counts_records_and_gives_zero_to_a_subject_without_any():
    out = run("summary", SL, {"QS": QS}, dataset="QS", new_var="N", function="count")
    assert out["N"].tolist() == [2.0, 2.0, 0.0]


# --------------------------------------------------------------------------- pool


def sites(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["SITEID", "ARM"])


def test_pool_pools_a_site_with_fewer_than_min_count_subjects_in_some_arm():
    dm = sites([("701", "A"), ("701", "A"), ("701", "B"), ("701", "B"),
                ("702", "A"), ("702", "A"), ("702", "B"),
                ("703", "A"), ("703", "A")])  # 703: no subject in arm B
    out = run("pool", dm, source="SITEID", new_var="SITEGR1", across="ARM", min_count=2,
              value="900")
    assert out["SITEGR1"].tolist() == ["701"] * 4 + ["900"] * 5


def test_pool_counts_only_the_records_meeting_the_filter_and_with_a_level():
    dm = sites([("701", "A"), ("701", "B"), ("701", "B"), ("701", ""), ("702", "A"),
                ("702", "B")]).assign(RANDFL=["Y", "Y", "N", "Y", "Y", "Y"])
    out = run("pool", dm, source="SITEID", new_var="SITEGR1", across="ARM", min_count=1,
              value="900", filter={"RANDFL": "Y"})
    assert out["SITEGR1"].tolist() == ["701"] * 4 + ["702"] * 2
    out = run("pool", dm, source="SITEID", new_var="SITEGR1", across="ARM", min_count=2,
              value="900", filter={"RANDFL": "Y"})
    assert out["SITEGR1"].tolist() == ["900"] * 6


# --------------------------------------------------------------------------- work_dataset

DM = pd.DataFrame({"STUDYID": ["S", "S"], "USUBJID": ["1", "2"]})
EX = pd.DataFrame({"STUDYID": ["S"] * 3, "USUBJID": ["1", "1", "2"],
                   "EXDOSE": [54.0, 81.0, 54.0],
                   "EXSTDTC": ["2020-01-01", "2020-01-11", "2020-02-01"],
                   "EXENDTC": ["2020-01-10", "", "2020-02-03"]})
DOSE_STEPS = [
    {"merge": {"dataset": "EX", "order": ["EXSTDTC"], "mode": "last",
               "new_vars": {"TRTEDTC": "EXSTDTC"}}},
    {"dt": {"source": "TRTEDTC", "new_var": "TRTEDT"}},
    {"work_dataset": {"name": "EXD", "start": {"dataset": "EX"}, "steps": [
        {"merge": {"dataset": "ADSL", "new_vars": ["TRTEDT"]}},
        {"dt": {"source": "EXSTDTC", "new_var": "EXSTDT"}},
        {"dt": {"source": "EXENDTC", "new_var": "EXENDT"}},
        {"assign": {"new_var": "EXENDT", "source": "TRTEDT",
                    "filter": {"EXENDT": {"present": False}}}},
        {"duration": {"new_var": "DAYS", "start": "EXSTDT", "end": "EXENDT"}},
        {"compute": {"new_var": "DOSE", "expression": "EXDOSE * DAYS"}}]}},
    {"summary": {"dataset": "EXD", "new_var": "CUMDOSE", "function": "sum",
                 "source": "DOSE"}},
]


def test_a_work_dataset_is_kept_for_later_steps_and_reads_the_dataset_being_built():
    # Subject 1: 54 mg x 10 days + 81 mg x 1 day (a blank end taken as TRTEDT, 11 Jan).
    spec = spec_with(DOSE_STEPS, variables=(("USUBJID", "Char"), ("CUMDOSE", "Num")))
    out = build({"DM": DM, "EX": EX}, spec)
    assert out["CUMDOSE"].tolist() == [54.0 * 10 + 81.0, 54.0 * 3]
    assert list(out.columns) == ["USUBJID", "CUMDOSE"]  # the work dataset is not kept


def test_a_step_cannot_read_a_work_dataset_before_it_is_made():
    steps = [DOSE_STEPS[-1], *DOSE_STEPS[:-1]]
    with pytest.raises(SpecError, match="step 1 \\(summary\\): reads EXD"):
        check_spec(spec_with(steps))


def test_the_steps_of_a_work_dataset_are_checked_when_the_spec_is_loaded():
    steps = [{"work_dataset": {"name": "EXD", "start": {"dataset": "EX"},
                               "steps": [{"dt": {"source": "EXSTDTC", "new_vr": "X"}}]}}]
    with pytest.raises(SpecError, match="work dataset EXD, step 1 \\(dt\\): new_vr: unknown"):
        check_spec(spec_with(steps))
    steps = [{"work_dataset": {"name": "EXD", "start": {"dataset": "VS"}}}]
    with pytest.raises(SpecError, match="reads VS"):
        check_spec(spec_with(steps))


def test_a_variable_a_work_dataset_step_lacks_is_one_line_naming_the_step():
    steps = [{"work_dataset": {"name": "EXD", "start": {"dataset": "EX"},
                               "steps": [{"dt": {"source": "EXXXDTC", "new_var": "X"}}]}}]
    with pytest.raises(InputError, match="step 1 \\(work_dataset\\): work dataset EXD, "
                                         "step 1 \\(dt\\): the dataset has no variable "
                                         "EXXXDTC"):
        build({"DM": DM, "EX": EX}, spec_with(steps))


# --------------------------------------------------------------------------- filter

AE = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "1", "4", "2"],
                   "AESEQ": [1.0, 2.0, 1.0, 1.0], "AESER": ["Y", "N", "Y", ""]})
ADSL = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2", "3"], "SAFFL": ["Y", "N", "Y"]})


def test_filter_keeps_the_records_meeting_the_condition_in_their_order():
    out = run("filter", AE, condition={"AESER": {"in": ["Y"]}})
    assert out[["USUBJID", "AESEQ"]].values.tolist() == [["1", 1.0], ["4", 1.0]]
    assert out.index.tolist() == [0, 1]


def test_filter_exist_keeps_the_records_of_subjects_in_another_dataset():
    out = run("filter_exist", AE, {"ADSL": ADSL}, dataset="ADSL")
    assert out[["USUBJID", "AESEQ"]].values.tolist() == [["1", 1.0], ["1", 2.0], ["2", 1.0]]


def test_filter_exist_with_a_filter_and_its_opposite():
    kept = run("filter_exist", AE, {"ADSL": ADSL}, dataset="ADSL", by=["USUBJID"],
               filter={"SAFFL": "Y"})
    assert kept["USUBJID"].tolist() == ["1", "1"]
    dropped = run("filter_exist", AE, {"ADSL": ADSL}, dataset="ADSL", filter={"SAFFL": "Y"},
                  exist=False)
    assert dropped["USUBJID"].tolist() == ["4", "2"]


def test_filter_of_a_variable_the_data_lack_names_it():
    with pytest.raises(KeyError, match="AEREL"):
        run("filter", AE, condition={"AEREL": "Y"})


# --------------------------------------------------------------------------- input_columns


def test_the_variables_read_of_an_input_are_those_the_spec_names_and_the_verbs_imply():
    from adam.engine import input_columns

    spec = spec_with([
        {"merge_supp": {"dataset": "SUPPDM", "qnams": {"STRAT1R": "STRAT1"}}},
        {"summary": {"dataset": "EX", "new_var": "CUMDOSE", "function": "sum",
                     "expression": "EXDOSE * EXDUR", "filter": {"EXTRT": {"ne": "PLACEBO"}}}},
        {"work_dataset": {"name": "X", "start": {"dataset": "EX"},
                          "steps": [{"dt": {"source": "EXSTDTC", "new_var": "EXSTDT"}}]}},
        {"exist_flag": {"dataset": "EX", "new_var": "F", "condition": {"EXDOSE": {"gt": 0}}}},
    ], inputs=("DM", "EX", "SUPPDM"))
    read = input_columns(spec)
    assert set(read) == {"DM", "EX", "SUPPDM"}
    names = read["EX"]
    assert {"STUDYID", "USUBJID", "EXDOSE", "EXDUR", "EXTRT", "EXSTDTC", "QNAM", "QVAL",
            "STRAT1"} <= names
    assert "EXENDTC" not in names and "EXROUTE" not in names
