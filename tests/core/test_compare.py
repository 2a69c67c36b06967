"""Dataset compare (PROC COMPARE / diffdf): every planted difference is found, identical
datasets are equal, and the command line's exit codes and XLSX report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from trialflow.cli import main
from trialflow.compare import CompareError, Dataset, compare_datasets, load_dataset
from trialflow.datasetjson import write_dataset_json
from trialflow.xpt import prepare, read_xpt, write_xpt

from .helpers import spec, var

KEYS = ["USUBJID", "PARAMCD"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["S-1", "S-1", "S-2", "S-2", "S-3"],
        "PARAMCD": ["OS", "PFS", "OS", "PFS", "OS"],
        "AVAL": [10.0, 5.5, np.nan, 3.25, 100.0],
        "CNSR": [0.0, 1.0, 0.0, 0.0, 1.0],
        "AVALC": ["A", "B", "", "D", "E"],
    })


def _dataset(frame: pd.DataFrame | None = None, label: str = "Time to Event",
             **change: dict) -> Dataset:
    data = _frame() if frame is None else frame
    types = {c: ("Num" if data[c].dtype.kind == "f" else "Char") for c in data.columns}
    ds = Dataset(name="ADTTE", label=label, data=data, types=types,
                 lengths={c: 8 for c in data.columns},
                 labels={c: f"{c} label" for c in data.columns})
    for attr, values in change.items():
        getattr(ds, attr).update(values)
    return ds


def test_identical_datasets_are_equal() -> None:
    result = compare_datasets(_dataset(), _dataset(), KEYS)
    assert result.equal
    assert result.matched == 5
    assert result.attributes.empty and result.observations.empty and result.values.empty
    assert (result.value_summary["differing"] == 0).all()


def test_missing_equals_missing() -> None:
    base = _frame()
    base.loc[0, "AVAL"] = np.nan
    base.loc[1, "AVALC"] = ""
    qc = base.copy()
    qc["AVALC"] = qc["AVALC"] + "  "  # trailing blanks, as XPT pads text, do not count
    assert compare_datasets(_dataset(base), _dataset(qc), KEYS).equal


def test_dataset_label_difference() -> None:
    result = compare_datasets(_dataset(), _dataset(label="Time-to-Event Analysis"), KEYS)
    assert not result.equal
    row = result.dataset.set_index("item").loc["label"]
    assert row["differs"] and row["compare"] == "Time-to-Event Analysis"


@pytest.mark.parametrize(("attr", "change", "base", "compare"), [
    ("labels", {"AVAL": "Analysis Value"}, "AVAL label", "Analysis Value"),
    ("lengths", {"AVALC": 200}, 8, 200),
])
def test_variable_label_and_length_difference(attr: str, change: dict, base: object,
                                              compare: object) -> None:
    result = compare_datasets(_dataset(), _dataset(**{attr: change}), KEYS)
    assert not result.equal
    var_name = next(iter(change))
    row = result.attributes.set_index(["variable", "attribute"]).loc[
        (var_name, attr.rstrip("s"))]
    assert (row["base"], row["compare"]) == (base, compare)
    assert result.values.empty  # attributes only: the values still agree


def test_type_difference_is_reported_and_not_value_compared() -> None:
    qc = _frame()
    qc["CNSR"] = qc["CNSR"].map(lambda v: f"{v:.0f}")
    result = compare_datasets(_dataset(), _dataset(qc), KEYS)
    assert not result.equal
    row = result.attributes.set_index(["variable", "attribute"]).loc[("CNSR", "type")]
    assert (row["base"], row["compare"]) == ("Num", "Char")
    assert "CNSR" not in set(result.value_summary["variable"])


def test_variable_in_one_only() -> None:
    qc = _frame().assign(EXTRA="x")
    result = compare_datasets(_dataset(), _dataset(qc), KEYS)
    assert not result.equal
    assert result.only_in_qc == ["EXTRA"] and result.only_in_base == []
    result = compare_datasets(_dataset(qc), _dataset(), KEYS)
    assert result.only_in_base == ["EXTRA"]


def test_observation_in_one_only() -> None:
    qc = pd.concat([_frame(), pd.DataFrame({"USUBJID": ["S-3"], "PARAMCD": ["PFS"],
                                            "AVAL": [1.0], "CNSR": [0.0],
                                            "AVALC": ["F"]})], ignore_index=True)
    result = compare_datasets(_dataset(), _dataset(qc), KEYS)
    assert not result.equal
    obs = result.observations
    assert obs[["issue", "USUBJID", "PARAMCD"]].values.tolist() == [
        ["only in compare", "S-3", "PFS"]]
    assert result.matched == 5 and result.values.empty
    reverse = compare_datasets(_dataset(qc), _dataset(), KEYS).observations
    assert reverse["issue"].tolist() == ["only in base"]


def test_duplicate_key() -> None:
    qc = pd.concat([_frame(), _frame().iloc[[2]]], ignore_index=True)
    result = compare_datasets(_dataset(), _dataset(qc), KEYS)
    assert not result.equal
    dup = result.observations[result.observations["issue"] == "duplicate key in compare"]
    assert dup[["USUBJID", "PARAMCD", "count"]].values.tolist() == [["S-2", "OS", 2]]
    # The second occurrence pairs with nothing in the base.
    assert "only in compare" in set(result.observations["issue"])


def test_value_differences_counted_and_listed() -> None:
    qc = _frame()
    qc.loc[1, "AVALC"] = "X"
    qc.loc[2, "AVAL"] = 7.0  # missing in base, present in QC
    qc.loc[4, "AVAL"] = 101.0
    result = compare_datasets(_dataset(), _dataset(qc), KEYS)
    assert not result.equal
    summary = result.value_summary.set_index("variable")
    assert summary.loc["AVAL", "differing"] == 2 and summary.loc["AVALC", "differing"] == 1
    assert summary.loc["CNSR", "differing"] == 0
    assert summary.loc["AVAL", "max_abs_diff"] == 1.0
    listed = result.values
    aval = listed[listed["variable"] == "AVAL"]
    assert aval[["USUBJID", "PARAMCD"]].values.tolist() == [["S-2", "OS"], ["S-3", "OS"]]
    assert np.isnan(aval["base"].iloc[0]) and aval["compare"].iloc[0] == 7.0
    assert listed[listed["variable"] == "AVALC"][["base", "compare"]].values.tolist() == [
        ["B", "X"]]
    assert result.differing_variables == ["AVAL", "AVALC"]


def test_listed_rows_are_capped() -> None:
    qc = _frame().assign(AVAL=lambda d: d["AVAL"] + 1)
    result = compare_datasets(_dataset(), _dataset(qc), KEYS, max_rows=2)
    assert result.value_summary.set_index("variable").loc["AVAL", "differing"] == 4
    assert len(result.values) == 2


@pytest.mark.parametrize(("abs_tol", "rel_tol", "equal"), [
    (0, 0, False),
    (0.1, 0, True),        # |2.6 - 2.5| is 0.1: at the edge is within
    (0.09, 0, False),
    (0, 0.04, True),       # 0.1 <= 0.04 * 2.5
    (0, 0.03, False),
])
def test_numeric_tolerance(abs_tol: float, rel_tol: float, equal: bool) -> None:
    base = pd.DataFrame({"USUBJID": ["S-1"], "PARAMCD": ["X"], "AVAL": [2.5]})
    qc = base.assign(AVAL=[2.6])
    result = compare_datasets(base, qc, KEYS, abs_tol=abs_tol, rel_tol=rel_tol)
    assert result.equal is equal


def test_bad_keys_and_tolerance() -> None:
    with pytest.raises(CompareError, match="NOPE"):
        compare_datasets(_dataset(), _dataset(), ["NOPE"])
    with pytest.raises(CompareError, match="no key"):
        compare_datasets(_dataset(), _dataset(), [])
    with pytest.raises(CompareError, match="negative"):
        compare_datasets(_dataset(), _dataset(), KEYS, abs_tol=-1)


# --------------------------------------------------------------------------- files


def _spec(aval_label: str = "Analysis Value", avalc_length: int = 8):
    return spec(var("USUBJID", length=10), var("PARAMCD", length=8),
                var("AVAL", type_="Num", length=8, label=aval_label),
                var("CNSR", type_="Num", length=8),
                var("AVALC", length=avalc_length), name="ADTTE", label="Time to Event",
                keys=tuple(KEYS), sort=tuple(KEYS))


def test_xpt_round_trip_through_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "adtte.xpt"
    write_xpt(_frame(), _spec(), path)
    result = compare_datasets(path, path, KEYS)
    assert result.equal
    assert result.base.label == "Time to Event"
    # Stored at the length of its longest value (1), not the declared 8.
    assert result.base.lengths["AVALC"] == 1 and result.base.types["AVAL"] == "Num"
    # The file equals the frame it was written from (values; metadata from the file).
    frame_result = compare_datasets(_frame(), read_xpt(path), KEYS)
    assert frame_result.value_summary["differing"].sum() == 0
    assert frame_result.observations.empty


def test_xpt_attribute_differences(tmp_path: Path) -> None:
    write_xpt(_frame(), _spec(), tmp_path / "base.xpt")
    # A longer value: the QC file stores AVALC wider (2, not 1).
    write_xpt(_frame().assign(AVALC=["A", "B", "", "D", "EE"]),
              _spec(aval_label="Value", avalc_length=20), tmp_path / "qc.xpt")
    result = compare_datasets(tmp_path / "base.xpt", tmp_path / "qc.xpt", KEYS)
    assert not result.equal
    attrs = result.attributes.set_index(["variable", "attribute"])
    assert attrs.loc[("AVAL", "label"), "compare"] == "Value"
    assert (attrs.loc[("AVALC", "length"), "base"], attrs.loc[("AVALC", "length"), "compare"]
            ) == (1, 2)


def test_dataset_json_and_csv_match_the_xpt(tmp_path: Path) -> None:
    ds_spec = _spec()
    write_xpt(_frame(), ds_spec, tmp_path / "adtte.xpt")
    frame, _ = prepare(_frame(), ds_spec)
    write_dataset_json(frame, ds_spec, tmp_path / "adtte.json", study="STUDY1")
    _frame().to_csv(tmp_path / "adtte.csv", index=False)
    as_json = compare_datasets(tmp_path / "adtte.xpt", tmp_path / "adtte.json", KEYS)
    assert as_json.equal, as_json.attributes
    as_csv = compare_datasets(tmp_path / "adtte.xpt", tmp_path / "adtte.csv", KEYS)
    assert as_csv.value_summary["differing"].sum() == 0 and as_csv.observations.empty
    # A CSV file holds text: read alone, every column is Char; compared with the XPT, a
    # column the XPT holds as a number is compared as one.
    assert set(load_dataset(tmp_path / "adtte.csv").types.values()) == {"Char"}
    assert as_csv.qc.types["AVAL"] == "Num" and as_csv.qc.types["AVALC"] == "Char"


def test_a_csv_with_its_labels_json_is_read_with_its_types_labels_and_dates(
        tmp_path: Path) -> None:
    # pharmaverse's exports: an identifier of digits stays text, a Date is a SAS date.
    (tmp_path / "adtte.csv").write_text("SUBJID,ADT,AVAL\n1015,2014-01-02,3\n1023,,\n")
    (tmp_path / "adtte.labels.json").write_text(
        '{"label": "Time to Event", "variables": ['
        '{"name": "SUBJID", "label": "Subject", "r_class": "character"},'
        '{"name": "ADT", "label": "Analysis Date", "r_class": "Date"},'
        '{"name": "AVAL", "label": "Analysis Value", "r_class": "numeric"}]}')
    ds = load_dataset(tmp_path / "adtte.csv")
    assert ds.types == {"SUBJID": "Char", "ADT": "Num", "AVAL": "Num"}
    assert ds.labels["ADT"] == "Analysis Date" and ds.label == "Time to Event"
    assert ds.data["SUBJID"].tolist() == ["1015", "1023"]
    # 2014-01-02 is SAS day 19725 (54 years of 365 days and 14 leap days, plus one)
    assert ds.data["ADT"].iloc[0] == 19725.0 and np.isnan(ds.data["ADT"].iloc[1])


# --------------------------------------------------------------------------- command line


def test_cli_equal_exit_0_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    write_xpt(_frame(), _spec(), tmp_path / "adtte.xpt")
    report = tmp_path / "out" / "cmp.xlsx"
    code = main(["compare", str(tmp_path / "adtte.xpt"), str(tmp_path / "adtte.xpt"),
                 "--keys", "USUBJID,PARAMCD", "--report", str(report)])
    assert code == 0
    assert "RESULT: EQUAL" in capsys.readouterr().out
    assert openpyxl.load_workbook(report).sheetnames == [
        "summary", "attributes", "observations", "values"]


def test_cli_difference_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    qc = _frame()
    qc.loc[0, "AVAL"] = 10.5
    write_xpt(_frame(), _spec(), tmp_path / "adtte.xpt")
    write_xpt(qc, _spec(), tmp_path / "qc.xpt")
    monkeypatch.chdir(tmp_path)
    argv = ["compare", "adtte.xpt", "qc.xpt", "--keys", "USUBJID,PARAMCD"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "NOT EQUAL" in out and "AVAL" in out and "USUBJID='S-1'" in out
    report = tmp_path / "build" / "reports" / "compare_adtte.xlsx"
    values = pd.read_excel(report, sheet_name="values")
    assert values[["variable", "USUBJID", "base", "compare"]].values.tolist() == [
        ["AVAL", "S-1", 10.0, 10.5]]
    assert main([*argv, "--abs-tol", "0.5"]) == 0


@pytest.mark.parametrize("argv", [
    ["compare", "missing.xpt", "missing.xpt", "--keys", "USUBJID"],
    ["compare", "a.txt", "a.txt", "--keys", "USUBJID"],
    ["compare", "a.csv", "a.csv", "--keys", "NOPE"],
    ["compare", "a.csv", "a.csv", "--keys", "USUBJID", "--rel-tol", "-1"],
    ["compare", "a.csv", "a.csv"],
])
def test_cli_usage_and_file_errors_exit_2(argv: list[str], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _frame().to_csv("a.csv", index=False)
    Path("a.txt").write_text("x\n", encoding="utf-8")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if "--keys" in argv and "--rel-tol" not in argv:
        assert len(err.strip().splitlines()) == 1 and err.startswith("trialflow: ")


def test_types_on_the_command_line_read_csv_columns_as_numbers(tmp_path, capsys) -> None:
    """`0.10` and `0.1` differ as text, and are one number when --types says so."""
    base, qc = tmp_path / "base.csv", tmp_path / "qc.csv"
    base.write_text("USUBJID,AVAL\n1,0.10\n", encoding="utf-8")
    qc.write_text("USUBJID,AVAL\n1,0.1\n", encoding="utf-8")
    report = tmp_path / "r.xlsx"
    assert main(["compare", str(base), str(qc), "--keys", "USUBJID", "--report",
                 str(report)]) == 1
    assert main(["compare", str(base), str(qc), "--keys", "USUBJID", "--report",
                 str(report), "--types", "AVAL=Num"]) == 0
    assert main(["compare", str(base), str(qc), "--keys", "USUBJID", "--types",
                 "AVAL=Number"]) == 2
    assert "write VAR=Num or VAR=Char" in capsys.readouterr().err
