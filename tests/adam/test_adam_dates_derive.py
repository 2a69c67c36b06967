"""Date imputation (adam.dates and the dt verb) and the generic derivations (adam.derive,
and the extreme_date and categorize verbs that use them), on small tables written by
hand; SAS dates through the writer, Dataset-JSON and the validator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adam import text_as_categorical
from adam.conditions import select
from adam.dates import impute_dtc_dt
from adam.derive import (
    derive_var_extreme_flag,
    derive_var_merged_exist_flag,
    derive_var_obs_number,
    derive_vars_merged,
    run_factorize,
    run_starts,
)
from adam.verbs import VERBS, Context
from trialflow.datasetjson import dataset_json_with_rows
from trialflow.spec import DatasetSpec, Variable, load_codelists
from trialflow.validate import validate_directory
from trialflow.xpt import prepare, read_xpt, write_xpt

D = pd.Timestamp


def dates(*values: str) -> pd.Series:
    return pd.Series(values, dtype=object)


def verb(name: str, data: pd.DataFrame, inputs: dict | None = None, **params) -> pd.DataFrame:
    return VERBS[name].function(data, Context(inputs=inputs or {}), **params)


# --------------------------------------------------------------------------- imputation


def test_no_imputation_leaves_partial_dates_missing() -> None:
    dt, dtf = impute_dtc_dt(dates("2020-03-15", "2020-03", "2020", ""))
    assert dt.tolist()[0] == D("2020-03-15") and dt.iloc[1:].isna().all()
    assert dtf.tolist() == ["", "", "", ""]


def test_first_and_last_imputation_with_flags() -> None:
    first, f = impute_dtc_dt(dates("2020-02", "2020", "2020-02-10"), "M", "first")
    last, g = impute_dtc_dt(dates("2020-02", "2020", "2020-02-10"), "M", "last")
    assert first.tolist() == [D("2020-02-01"), D("2020-01-01"), D("2020-02-10")]
    assert last.tolist() == [D("2020-02-29"), D("2020-12-31"), D("2020-02-10")]
    assert f.tolist() == g.tolist() == ["D", "M", ""]


def test_day_imputation_only_leaves_a_year_missing() -> None:
    dt, dtf = impute_dtc_dt(dates("2020-02", "2020"), "D", "first")
    assert dt.iloc[0] == D("2020-02-01") and pd.isna(dt.iloc[1])
    assert dtf.tolist() == ["D", ""]


def test_min_date_inside_the_partial_period_wins_outside_it_does_not() -> None:
    data = pd.DataFrame({"AESTDTC": ["2020-01", "2020-02"],
                         "TRTSDT": [D("2020-01-10"), D("2020-01-10")]})
    out = verb("dt", data, source="AESTDTC", prefix="AST", highest_imputation="M",
               date_imputation="first", min_dates=["TRTSDT"])
    assert out["ASTDT"].tolist() == [D("2020-01-10"), D("2020-02-01")]
    assert out["ASTDTF"].tolist() == ["D", "D"]


def test_max_date_caps_a_last_imputation() -> None:
    data = pd.DataFrame({"DTC": ["2020-07"], "DTHDT": [D("2020-07-20")]})
    out = verb("dt", data, source="DTC", prefix="AEN", highest_imputation="M",
               date_imputation="last", max_dates=["DTHDT"])
    assert out["AENDT"].iloc[0] == D("2020-07-20")


# --------------------------------------------------------------------------- derivations


def test_merged_variables_keep_the_order_of_the_dataset() -> None:
    sl = pd.DataFrame({"USUBJID": ["3", "1", "2"]})
    ex = pd.DataFrame({"USUBJID": ["1", "1", "3"], "DT": [D("2020-01-05"), D("2020-01-02"),
                                                           D("2020-02-01")]})
    out = derive_vars_merged(sl, ex, ["USUBJID"], order=["DT"], new_vars={"FIRST": "DT"})
    assert out["USUBJID"].tolist() == ["3", "1", "2"]
    assert out["FIRST"].tolist()[:2] == [D("2020-02-01"), D("2020-01-02")]
    last = derive_vars_merged(sl, ex, ["USUBJID"], order=["DT"], new_vars={"L": "DT"},
                              mode="last")
    assert last["L"].iloc[1] == D("2020-01-05")


def test_merging_several_records_without_an_order_is_an_error() -> None:
    ex = pd.DataFrame({"USUBJID": ["1", "1"], "X": [1, 2]})
    with pytest.raises(ValueError, match="give an order"):
        derive_vars_merged(pd.DataFrame({"USUBJID": ["1"]}), ex, ["USUBJID"])


def test_exist_flag_and_extreme_date() -> None:
    sl = pd.DataFrame({"USUBJID": ["1", "2"]})
    ie = pd.DataFrame({"USUBJID": ["2"], "IETESTCD": ["IN06"]})
    assert derive_var_merged_exist_flag(sl, ie, ["USUBJID"], "F")["F"].tolist() == ["N", "Y"]
    a = pd.DataFrame({"USUBJID": ["1", "1"], "D1": [D("2020-01-01"), D("2020-03-01")]})
    b = pd.DataFrame({"USUBJID": ["1", "2"], "D2": [D("2020-02-01"), pd.NaT]})
    out = verb("extreme_date", sl, {"A": a, "B": b}, new_var="LAST",
               sources=[{"dataset": "A", "date": "D1"}, {"dataset": "B", "date": "D2"}])
    assert out["LAST"].iloc[0] == D("2020-03-01") and pd.isna(out["LAST"].iloc[1])


def test_extreme_flag_descending_order_and_filter() -> None:
    ae = pd.DataFrame({"USUBJID": ["1", "1", "1"], "G": [2.0, 3.0, 3.0],
                       "DT": [D("2020-01-01"), D("2020-02-01"), D("2020-01-15")],
                       "TE": ["Y", "Y", ""]})
    out = derive_var_extreme_flag(ae, ["USUBJID"], ["-G", "DT"], "F", filter={"TE": "Y"})
    assert out["F"].tolist() == ["", "Y", ""]


def test_obs_number_numbers_in_order_without_reordering() -> None:
    d = pd.DataFrame({"USUBJID": ["1", "1", "2"], "P": [2, 1, 1]})
    out = derive_var_obs_number(d, ["USUBJID"], ["P"])
    assert out["ASEQ"].tolist() == [2.0, 1.0, 1.0] and out["P"].tolist() == [2, 1, 1]


def test_grouping_first_matching_group_and_missing() -> None:
    d = pd.DataFrame({"AGE": [64, 65, np.nan]})
    out = verb("categorize", d, source="AGE", new_var="AGEGR1", new_var_n="AGEGR1N",
               groups=[{"lt": 65, "value": "<65", "n": 1}, {"ge": 65, "value": ">=65", "n": 2}])
    assert out["AGEGR1"].tolist() == ["<65", ">=65", ""]
    assert out["AGEGR1N"].tolist()[:2] == [1, 2] and np.isnan(out["AGEGR1N"].iloc[2])


def test_run_starts_first_of_each_run_of_equal_records() -> None:
    subject = np.array(["1", "1", "1", "2", "2", "1"], dtype=object)
    day = np.array([5.0, 5.0, 6.0, 6.0, np.nan, np.nan])
    assert run_starts(subject, day).tolist() == [True, False, True, True, True, True]
    assert run_starts(subject[:0]).tolist() == []


def test_run_factorize_is_factorize() -> None:
    values = np.array(["b", "b", "a", None, None, np.nan, "b", "a", "a"], dtype=object)
    for sentinel in (True, False):
        codes, uniques = run_factorize(values, use_na_sentinel=sentinel)
        want_codes, want_uniques = pd.factorize(values, use_na_sentinel=sentinel)
        assert codes.tolist() == want_codes.tolist()
        assert pd.Series(uniques).equals(pd.Series(want_uniques))


def test_text_as_categorical_only_the_text_of_char_variables() -> None:
    spec = DatasetSpec(name="X", label="X", cls="", structure="", standard="", keys=(),
                       sort=(), variables=(Variable("A", "A", "Char", 8, "Derived", False),
                                           Variable("N", "N", "Num", 8, "Derived", False),
                                           Variable("C", "C", "Char", 8, "Derived", False)))
    data = pd.DataFrame({"A": ["x", "", np.nan, "x"], "N": ["1", "2", "3", "4"],
                         "C": [1.0, 2.0, 3.0, 4.0], "W": ["w"] * 4}, dtype=object)
    data["C"] = data["C"].astype(float)
    out = text_as_categorical(data, spec)
    assert out["A"].dtype == "category" and out["A"].tolist() == data["A"].tolist()
    assert [out[c].dtype for c in ("N", "C", "W")] == [object, float, object]
    assert data["A"].dtype == object  # the dataset itself is left as it was


def test_condition_comparisons() -> None:
    d = pd.DataFrame({"G": [1.0, 3.0, np.nan]})
    assert select(d, {"G": {"ge": 3}}).tolist() == [False, True, False]
    assert select(d, {"G": {"lt": 3}}).tolist() == [True, False, False]


# --------------------------------------------------------------------------- SAS dates


def _date_spec() -> DatasetSpec:
    return DatasetSpec(
        name="ADSL", label="Subject-Level Analysis Dataset", cls="SUBJECT LEVEL ANALYSIS "
        "DATASET", structure="One record per subject", standard="ADaMIG 1.3",
        keys=("USUBJID",), sort=("USUBJID",),
        variables=(Variable("USUBJID", "Unique Subject Identifier", "Char", 20, "Derived",
                            True, method="M"),
                   Variable("RANDDT", "Date of Randomization", "Num", 8, "Derived", False,
                            method="M", format="DATE9.")))


def test_dates_are_written_as_sas_dates_with_their_format(tmp_path: Path) -> None:
    data = pd.DataFrame({"USUBJID": ["1", "2"], "RANDDT": [D("1960-01-02"), pd.NaT]})
    spec = _date_spec()
    assert write_xpt(data, spec, tmp_path / "adsl.xpt") == []
    back = read_xpt(tmp_path / "adsl.xpt")
    assert back.data["RANDDT"].iloc[0] == 1.0 and np.isnan(back.data["RANDDT"].iloc[1])
    assert back.formats["RANDDT"].startswith("DATE9")
    found, _ = validate_directory(tmp_path, {"ADSL": spec}, load_codelists(), "PRECIOUS")
    assert [f for f in found if f.severity == "error"] == []


def test_dataset_json_writes_dates_as_iso_with_integer_target() -> None:
    spec = _date_spec()
    frame, _ = prepare(pd.DataFrame({"USUBJID": ["1", "2"],
                                     "RANDDT": [D("2020-01-31"), pd.NaT]}), spec)
    doc = dataset_json_with_rows(frame, spec, "PRECIOUS", "ADaMIG.1.3")
    col = doc["columns"][1]
    assert (col["dataType"], col["targetDataType"], col["displayFormat"]) == (
        "date", "integer", "DATE9.")
    assert [r[1] for r in doc["rows"]] == ["2020-01-31", None]
    json.dumps(doc)


def test_a_date_without_its_format_is_a_validation_error(tmp_path: Path) -> None:
    import pyreadstat
    pyreadstat.write_xport(pd.DataFrame({"USUBJID": ["1"], "RANDDT": [21915.0]}),
                           str(tmp_path / "adsl.xpt"), file_label="Subject-Level Analysis "
                           "Dataset", column_labels=["Unique Subject Identifier",
                                                     "Date of Randomization"],
                           table_name="ADSL", file_format_version=5)
    found, _ = validate_directory(tmp_path, {"ADSL": _date_spec()}, load_codelists(),
                                  "PRECIOUS")
    assert [(f.variable, f.rule) for f in found if f.severity == "error"] == [
        ("RANDDT", "type")]
