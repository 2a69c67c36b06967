"""Command line: help, usage errors, exit codes, one-line errors without traceback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from trialflow.cli import main
from trialflow.errors import InputError
from trialflow.findings import Finding
from trialflow.pipeline import Stage, StageResult, run_stages
from trialflow.spec import load_forms


def _header_only_raw(directory: Path) -> Path:
    """A raw directory with every form's header and no records: structurally valid, once
    every form may be empty (:func:`_forms_may_be_empty`)."""
    directory.mkdir(parents=True, exist_ok=True)
    for form in load_forms().values():
        (directory / form.file).write_text(",".join(form.column_names) + "\n", encoding="utf-8")
    return directory


@pytest.fixture
def _forms_may_be_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line sees every form spec with ``may_be_empty: true``: these tests are
    about the wiring, on tiny header-only extracts (a required form without records is
    an input error, see tests/robustness)."""
    from trialflow.study import StudyFolder

    forms = {name: replace(form, may_be_empty=True) for name, form in load_forms().items()}
    monkeypatch.setattr(StudyFolder, "forms", lambda self: forms)


@pytest.mark.parametrize(("command", "says"), [
    ([], "simulate"),
    (["simulate"], "build/raw"),
    (["check-raw"], "raw_findings.csv"),
    (["run"], "OUT/raw"),
])
def test_help(command: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: trialflow" in out and says in out and "exit status" in out


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["simulate", "--subjects", "zero"],
                                  ["simulate", "--subjects", "0"], ["check-raw", "--bogus"]])
def test_usage_error_returns_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: trialflow" in capsys.readouterr().err


def test_check_raw_broken_file_returns_2_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = _header_only_raw(tmp_path / "raw")
    (raw / "ae.csv").write_text("SUBJID;AENO;AETERM\n001;1;Nausea\n", encoding="utf-8")
    assert main(["check-raw", "--raw", str(raw), "--reports", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert "ae.csv" in err and "wrong delimiter" in err and "re-export" in err
    assert "Traceback" not in err
    assert not (tmp_path / "rep").exists()


def test_check_raw_missing_directory_returns_2(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-raw", "--raw", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "folder not found" in err and "Traceback" not in err


@pytest.mark.usefixtures("_forms_may_be_empty")
def test_check_raw_clean_returns_0_and_writes_report(tmp_path: Path) -> None:
    raw = _header_only_raw(tmp_path / "raw")
    assert main(["check-raw", "--raw", str(raw), "--reports", str(tmp_path / "rep")]) == 0
    report = pd.read_csv(tmp_path / "rep" / "raw_findings.csv")
    assert report.empty and "rule" in report.columns


@pytest.mark.usefixtures("_forms_may_be_empty")
def test_check_raw_findings_return_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = _header_only_raw(tmp_path / "raw")
    form = load_forms()["withdrawal"]
    (raw / form.file).write_text(",".join(form.column_names) + "\n001,31-FEB-2016,Y,\n",
                                 encoding="utf-8")
    assert main(["check-raw", "--raw", str(raw), "--reports", str(tmp_path / "rep")]) == 1
    assert "impossible_date" in capsys.readouterr().out
    report = pd.read_csv(tmp_path / "rep" / "raw_findings.csv", dtype=str)
    # Subject 001 is also in no enrolment record (enrol.csv has only its header).
    assert report[["row", "variable", "rule"]].values.tolist() == [
        ["1", "WDDT", "impossible_date"], ["1", "SUBJID", "not_enrolled"]]


# --------------------------------------------------------------------------- pipeline


def test_pipeline_exit_codes_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    warn = Finding("x", 1, "V", "v", "r", "m", "warning")
    error = Finding("x", 1, "V", "v", "r", "m", "error")
    assert run_stages([Stage("ok", lambda: StageResult(rows=3, findings=[warn]))]) == 0
    assert run_stages([Stage("bad", lambda: StageResult(findings=[error]))]) == 1
    err = capsys.readouterr().err
    assert "[1/1] ok" in err and "seconds" in err


def test_pipeline_stops_at_fatal_error(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    def fail() -> StageResult:
        raise InputError("in.csv", "file not found")

    def later() -> StageResult:
        ran.append("later")
        return StageResult()

    assert run_stages([Stage("first", fail), Stage("later", later)]) == 2
    assert ran == []
    assert "first failed: in.csv: file not found" in capsys.readouterr().err


@pytest.mark.usefixtures("_forms_may_be_empty")
def test_simulate_wiring_with_stub_simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI calls the simulator with the agreed signatures (a stub, not the real one)."""
    import sys
    import types

    from trialflow.io import write_csv_atomic

    calls: dict[str, object] = {}

    def simulate_study(subjects: int, seed: int) -> dict[str, pd.DataFrame]:
        calls["args"] = (subjects, seed)
        return {f.name: pd.DataFrame(columns=f.column_names) for f in load_forms().values()}

    def write_raw(forms: dict[str, pd.DataFrame], out: Path) -> list[Path]:
        specs = load_forms()
        return [write_csv_atomic(df, Path(out) / specs[name].file) for name, df in forms.items()]

    stub = types.ModuleType("crf.simulate")
    stub.simulate_study, stub.write_raw = simulate_study, write_raw  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "crf.simulate", stub)
    out = tmp_path / "raw"
    assert main(["simulate", "--subjects", "3", "--seed", "7", "--out", str(out)]) == 0
    assert calls["args"] == (3, 7)
    assert len(list(out.glob("*.csv"))) == len(load_forms())
    assert "check-raw" in capsys.readouterr().err

    assert main(["run", "--raw", str(out), "--out", str(tmp_path / "build")]) == 0
    assert (tmp_path / "build" / "reports" / "raw_findings.csv").exists()
    assert not (tmp_path / "build" / "raw").exists()


def test_spec_error_is_one_line_without_traceback(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "study.yaml").write_text("study:\n  id: X\n  title: [unclosed\n",
                                         encoding="utf-8")
    assert main(["simulate", "--study", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "study.yaml" in err and "invalid YAML" in err
    assert "Traceback" not in err


def test_simulate_too_few_subjects_is_a_clear_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # 30 subjects cannot hold the study's four grade >= 3 AE dose reductions per arm.
    assert main(["simulate", "--subjects", "30", "--seed", "7", "--out",
                 str(tmp_path / "raw")]) == 2
    err = capsys.readouterr().err
    assert "cannot simulate 30 subjects with seed 7" in err and "Traceback" not in err
    assert not (tmp_path / "raw").exists()
