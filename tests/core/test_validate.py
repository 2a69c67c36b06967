"""trialflow validate: one test per rule, the fixed order, the report, other studies' data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialflow.errors import InputError
from trialflow.validate import (
    RULES,
    ColumnFactors,
    _duplicated,
    _factorize,
    console_summary,
    validate_dataset,
    validate_directory,
    write_report,
)
from trialflow.xpt import XptDataset, read_xpt, write_xpt

from .helpers import CODELISTS, spec, var

PILOT_SDTM = Path(__file__).resolve().parents[3] / "shared" / "external" / "cdiscpilot01" / "sdtm"

AE = spec(var("STUDYID", length=6, mandatory=True), var("USUBJID", length=12, mandatory=True),
          var("AESEQ", type_="Num", length=8, mandatory=True),
          var("AESER", length=1, codelist="NY"), var("AESTDTC", length=10),
          name="AE", label="Adverse Events", keys=("USUBJID", "AESEQ"),
          sort=("USUBJID", "AESEQ"))
GOOD = pd.DataFrame({"STUDYID": "STUDY1", "USUBJID": ["S-1", "S-1", "S-2"],
                     "AESEQ": [1.0, 2.0, 1.0], "AESER": ["Y", "N", ""],
                     "AESTDTC": ["2016-06-05", "2016-06", "2016---05"]})


def _ds(data: pd.DataFrame, spec_=AE, **meta) -> XptDataset:
    types = {c: ("Num" if data[c].dtype.kind == "f" else "Char") for c in data.columns}
    labels = {v.name: v.label for v in spec_.variables}
    widths = {v.name: v.length for v in spec_.variables}
    return XptDataset(name=meta.get("name", spec_.name), label=meta.get("label", spec_.label),
                      data=data, labels=meta.get("labels", labels),
                      types=meta.get("types", types), widths=meta.get("widths", widths))


def _rules(ds: XptDataset, spec_=AE, dm: set[str] | None = None) -> list[tuple[str, str]]:
    return [(f.variable, f.rule) for f in validate_dataset(ds, spec_, CODELISTS, dm)
            if f.severity != "info"]


def test_clean_dataset_has_no_findings() -> None:
    assert _rules(_ds(GOOD), dm={"S-1", "S-2"}) == []


def test_unspecified_variable() -> None:
    assert _rules(_ds(GOOD.assign(EXTRA="x"))) == [("EXTRA", "unspecified")]


def test_missing_required_variable_and_blank_required_value() -> None:
    assert ("AESEQ", "required") in _rules(_ds(GOOD.drop(columns="AESEQ")))
    found = validate_dataset(_ds(GOOD.assign(STUDYID=["STUDY1", "", "STUDY1"])), AE,
                             CODELISTS, None)
    assert [(f.variable, f.rule, f.count) for f in found] == [("STUDYID", "required", 1)]


def test_type_differs_from_spec() -> None:
    data = GOOD.assign(AESEQ=["1", "2", "1"])
    assert ("AESEQ", "type") in _rules(_ds(data))


def test_value_longer_than_declared_length_and_stored_width() -> None:
    data = GOOD.assign(USUBJID=["S-1", "S-1", "S-2-TOO-LONG-ID"])
    assert _rules(_ds(data)) == [("USUBJID", "length")]
    # Stored wider than declared (a shorter width is the writer's own: the longest value).
    found = validate_dataset(_ds(GOOD, widths={"USUBJID": 99}), AE, CODELISTS, None)
    assert [(f.variable, f.rule, f.severity) for f in found] == [("USUBJID", "length",
                                                                  "warning")]


def test_labels_differ_from_spec() -> None:
    labels = {v.name: v.label for v in AE.variables} | {"AESER": "Serious?"}
    assert _rules(_ds(GOOD, labels=labels, label="AE")) == [("", "label"), ("AESER", "label")]


def test_value_outside_codelist() -> None:
    found = validate_dataset(_ds(GOOD.assign(AESER=["Y", "X", "n"])), AE, CODELISTS, None)
    assert [(f.variable, f.rule, f.count) for f in found] == [("AESER", "ct", 2)]
    assert "row 2: 'X'" in found[0].examples


def test_duplicate_keys() -> None:
    data = GOOD.assign(AESEQ=[1.0, 1.0, 1.0])
    rules = _rules(_ds(data))
    assert ("USUBJID/AESEQ", "key_unique") in rules


def test_duplicates_found_alike_in_sorted_and_unsorted_records() -> None:
    # Sorted records are compared with their neighbours, others hashed; '' and a
    # missing value are two values, as pandas counts them.
    data = pd.DataFrame({"USUBJID": ["", None, "S-1", "S-1", "S-2", "S-2", "S-1"],
                         "SEQ": [np.nan, 3.0, 1.0, 1.0, np.nan, 2.0, 1.0]})
    for order in ([0, 1, 2, 3, 6, 4, 5], [5, 2, 0, 6, 3, 1, 4]):
        frame = data.iloc[order].reset_index(drop=True)
        key = ColumnFactors(frame).group(["USUBJID", "SEQ"])
        assert _duplicated(key).tolist() == frame.duplicated(keep=False).tolist()
    assert (np.diff(ColumnFactors(data.iloc[[0, 1, 2, 3, 6, 4, 5]]).group(
        ["USUBJID", "SEQ"])) >= 0).all()


def test_factorize_counts_missing_values_as_one() -> None:
    values = pd.Series(["b", None, "a", np.nan, "b"], dtype=object)
    codes, uniques = _factorize(values)
    expected_codes, expected = pd.factorize(values, use_na_sentinel=False)
    assert len(uniques) == len(expected) == 3
    assert pd.Series(uniques.to_numpy()[codes]).equals(pd.Series(expected[expected_codes]))


def test_records_out_of_sort_order() -> None:
    assert _rules(_ds(GOOD.iloc[[1, 0, 2]].reset_index(drop=True))) == [("USUBJID/AESEQ",
                                                                         "sort")]


def test_dates_not_in_iso_8601() -> None:
    data = GOOD.assign(AESTDTC=["05-06-2016", "2016-13-01", "2016-06-05"])
    found = validate_dataset(_ds(data), AE, CODELISTS, None)
    assert [(f.variable, f.rule, f.count) for f in found] == [("AESTDTC", "iso8601", 2)]


def test_usubjid_not_in_dm() -> None:
    assert _rules(_ds(GOOD), dm={"S-1"}) == [("USUBJID", "usubjid_in_dm")]


def test_seq_repeats_within_subject() -> None:
    data = GOOD.assign(AESEQ=[1.0, 1.0, 1.0])
    assert ("AESEQ", "seq_unique") in _rules(_ds(data))


def test_rules_are_reported_in_a_fixed_order() -> None:
    data = GOOD.assign(EXTRA="x", AESEQ=[1.0, 1.0, 1.0], AESTDTC=["bad", "", ""],
                       AESER=["?", "", ""])
    found = [f.rule for f in validate_dataset(_ds(data), AE, CODELISTS, {"S-9"})]
    assert found == sorted(found, key=RULES.index)
    assert found == ["unspecified", "ct", "key_unique", "iso8601", "usubjid_in_dm",
                     "seq_unique"]


def test_dataset_without_spec_gets_the_checks_that_need_none() -> None:
    found = validate_dataset(_ds(GOOD.assign(AESTDTC=["x", "", ""])), None, CODELISTS,
                             {"S-1"})
    assert [(f.rule, f.severity) for f in found] == [("spec", "info"), ("iso8601", "error"),
                                                     ("usubjid_in_dm", "error")]


def test_directory_report_and_summary(tmp_path: Path) -> None:
    dm = spec(var("STUDYID", length=6), var("USUBJID", length=12), name="DM",
              label="Demographics")
    write_xpt(pd.DataFrame({"STUDYID": "STUDY1", "USUBJID": ["S-1"]}), dm, tmp_path / "dm.xpt")
    write_xpt(GOOD, AE, tmp_path / "ae.xpt")
    found, summary = validate_directory(tmp_path, {"AE": AE, "DM": dm}, CODELISTS, "STUDY1")
    assert summary[["dataset", "records", "spec", "errors"]].values.tolist() == [
        ["AE", 3, True, 1], ["DM", 1, True, 0]]
    assert [(f.dataset, f.rule, f.count) for f in found] == [("AE", "usubjid_in_dm", 1)]
    path = write_report(found, summary, tmp_path / "reports" / "validation.xlsx")
    table = pd.read_excel(path, sheet_name="findings")
    assert list(table.columns) == ["dataset", "variable", "rule", "severity", "count",
                                   "examples", "message"]
    assert table[["dataset", "variable", "rule", "count"]].values.tolist() == [
        ["AE", "USUBJID", "usubjid_in_dm", 1]]
    assert "row 3: 'S-2'" in table.loc[0, "examples"]
    text = console_summary(found, summary)
    assert "validation: 2 datasets, 1 errors, 0 warnings" in text
    again = write_report(found, summary, tmp_path / "again.xlsx")
    assert again.read_bytes() == path.read_bytes()  # no wall-clock time in the report


def test_directory_without_xpt_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no .xpt files"):
        validate_directory(tmp_path, {}, CODELISTS, "STUDY1")
    with pytest.raises(InputError, match="not found"):
        validate_directory(tmp_path / "none", {}, CODELISTS, "STUDY1")


@pytest.mark.skipif(not PILOT_SDTM.is_dir(), reason="CDISC pilot data not available")
def test_validates_the_cdisc_pilot_without_our_specs_applying() -> None:
    from trialflow import SPECS
    from trialflow.spec import load_codelists, load_dataset_specs

    found, summary = validate_directory(PILOT_SDTM, load_dataset_specs(SPECS / "sdtm"),
                                        load_codelists(), "PRECIOUS")
    assert len(summary) == 16 and not summary["spec"].any()
    assert {f.rule for f in found} >= {"spec", "read"}  # read: ts.xpt is Windows-1252
    assert read_xpt(PILOT_SDTM / "dm.xpt").data["USUBJID"].nunique() == 306


def test_categorical_text_gives_the_findings_of_object_text() -> None:
    data = GOOD.assign(EXTRA="x", AESEQ=[1.0, 1.0, 1.0], AESTDTC=["bad", "", ""],
                       AESER=["?", "", ""], USUBJID=["S-1", "S-1", "S-1"],
                       STUDYID=["STUDY1", "", "STUDY1"])
    text = [c for c in data.columns if data[c].dtype == object]
    found = validate_dataset(_ds(data), AE, CODELISTS, {"S-9"})
    as_categories = _ds(data.astype(dict.fromkeys(text, "category")), types=_ds(data).types)
    assert validate_dataset(as_categories, AE, CODELISTS, {"S-9"}) == found
    assert {"required", "key_unique", "iso8601", "seq_unique"} <= {f.rule for f in found}


def test_factorize_takes_a_categoricals_codes() -> None:
    values = pd.Series(pd.Categorical(["b", None, "a", "b"], categories=["b", "a"]))
    codes, uniques = _factorize(values)
    assert uniques.tolist()[:2] == ["b", "a"] and pd.isna(uniques.iloc[2])
    assert codes.tolist() == [0, 2, 1, 0]
    assert values.cat.codes.tolist() == [0, -1, 1, 0]  # its own codes untouched
