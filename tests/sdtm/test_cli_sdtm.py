"""trialflow sdtm / validate / run on the command line: files, exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from sdtm_tiny import raw_forms

from trialflow.cli import main
from trialflow.spec import load_forms

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "external"
SCHEMA = EXTERNAL / "schemas" / "dataset.schema.json"
PILOT_SDTM = EXTERNAL / "cdiscpilot01" / "sdtm"
DOMAINS = {"dm", "suppdm", "ae", "suppae", "rs", "supprs", "tr", "qs", "ex", "ds", "dd",
           "cm", "suppcm", "cv", "sv", "ie", "mi", "fa", "ts", "ta", "te"}


def _write_raw(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    forms = load_forms()
    for name, frame in raw_forms().items():
        frame.to_csv(directory / forms[name].file, index=False, lineterminator="\n")
    return directory


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("build")
    raw = _write_raw(root / "raw")
    assert main(["sdtm", "--raw", str(raw), "--out", str(root / "sdtm"),
                 "--reports", str(root / "reports")]) == 0
    return root


def test_sdtm_writes_every_domain_as_xpt_and_dataset_json(built: Path) -> None:
    names = {p.stem for p in (built / "sdtm").glob("*.xpt")}
    assert names == DOMAINS
    assert {p.stem for p in (built / "sdtm").glob("*.json")} == DOMAINS


@pytest.mark.skipif(not SCHEMA.is_file(), reason="Dataset-JSON schema not available")
def test_every_dataset_json_is_valid_against_the_schema(built: Path) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for path in sorted((built / "sdtm").glob("*.json")):
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), schema)


def test_xpt_files_read_back_with_pandas_reader_same_as_json(built: Path) -> None:
    for path in sorted((built / "sdtm").glob("*.xpt")):
        doc = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        with pd.read_sas(path, format="xport", iterator=True, encoding="utf-8") as reader:
            widths = {f["name"].decode().strip(): f["field_length"] for f in reader.fields}
            data = reader.read()
        assert list(data.columns) == [c["name"] for c in doc["columns"]], path.name
        assert len(data) == doc["records"], path.name
        for i, col in enumerate(doc["columns"]):
            if col["dataType"] == "string":
                assert widths[col["name"]] == col["length"], (path.name, col["name"])
                got = data[col["name"]].fillna("").tolist()
                assert got == [r[i] or "" for r in doc["rows"]], (path.name, col["name"])
            else:
                # pandas decodes the IBM zero that ReadStat writes as 5.4e-79.
                got = data[col["name"]].where(~(data[col["name"]].abs() < 1e-70), 0.0)
                want = pd.Series([r[i] for r in doc["rows"]], dtype="float64")
                pd.testing.assert_series_equal(got.reset_index(drop=True), want,
                                               check_names=False)


def test_reconciliation_report_accounts_for_every_record(built: Path) -> None:
    report = pd.read_csv(built / "reports" / "reconciliation.csv", dtype=str,
                         keep_default_na=False)
    totals = report[report["status"] == "total"].set_index("form")
    assert set(totals.index) == set(load_forms())
    assert (totals["raw"].astype(int) == totals["mapped"].astype(int)
            + totals["rejected"].astype(int)).all()
    assert "unaccounted" not in set(report["status"])


def test_validate_finds_no_errors_in_what_sdtm_wrote(built: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data", str(built / "sdtm"),
                 "--reports", str(built / "reports")]) == 0
    out = capsys.readouterr().out
    assert "validation: 21 datasets, 0 errors" in out
    table = pd.read_excel(built / "reports" / "validation.xlsx", sheet_name="findings")
    assert (table["severity"] != "error").all()


def test_sdtm_with_a_broken_raw_file_exits_2_without_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = _write_raw(tmp_path / "raw")
    (raw / "ae.csv").write_text("SUBJID;AENO\n0001;1\n", encoding="utf-8")
    assert main(["sdtm", "--raw", str(raw), "--out", str(tmp_path / "sdtm"),
                 "--reports", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert "ae.csv" in err and "Traceback" not in err
    assert not (tmp_path / "sdtm").exists()


def test_sdtm_with_a_ct_miss_exits_1_and_lists_the_finding(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = _write_raw(tmp_path / "raw")
    ae = pd.read_csv(raw / "ae.csv", dtype=str, keep_default_na=False)
    ae.loc[0, "OUTCOME"] = "Got better"
    ae.to_csv(raw / "ae.csv", index=False, lineterminator="\n")
    assert main(["sdtm", "--raw", str(raw), "--out", str(tmp_path / "sdtm"),
                 "--reports", str(tmp_path / "rep")]) == 1
    out = capsys.readouterr().out
    assert "ae.csv row 1 OUTCOME='Got better' [ct_unmapped]" in out
    findings = pd.read_csv(tmp_path / "rep" / "sdtm_findings.csv", dtype=str)
    assert findings[["source", "row", "variable", "value", "rule"]].values.tolist() == [
        ["ae.csv", "1", "OUTCOME", "Got better", "ct_unmapped"]]


def test_validate_missing_directory_exits_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data", str(tmp_path / "none"),
                 "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "Traceback" not in err


@pytest.mark.skipif(not PILOT_SDTM.is_dir(), reason="CDISC pilot data not available")
def test_validate_runs_on_the_cdisc_pilot_made_by_sas(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--data", str(PILOT_SDTM), "--reports", str(tmp_path)])
    assert code in (0, 1)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "validation: 16 datasets" in captured.out
    table = pd.read_excel(tmp_path / "validation.xlsx", sheet_name="datasets")
    assert len(table) == 16 and not table["spec"].any()


@pytest.mark.parametrize(("command", "says"), [(["sdtm"], "reconciliation.csv"),
                                               (["validate"], "validation.xlsx")])
def test_help(command: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: trialflow" in out and says in out and "exit status" in out
