"""Raw extracts an attacker-tester broke (issue #17): silent losses, impossible data and
tracebacks at the raw level.

Each case breaks one thing in a copy of the simulated extract. It ends in a one-line
error (exit 2) naming the file, or in a finding naming file, row, variable and value while
the record is kept, and wherever SDTM runs the reconciliation balances.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from broken_raw import (
    assert_balanced,
    check_and_map,
    copy_extract,
    findings,
    read_raw,
    run_cli,
    set_value,
    write_raw,
)

from trialflow.rawdata import read_form
from trialflow.spec import load_codelists, load_forms


def _subject_row(raw: Path, form: str, subject: str) -> int:
    """The 1-based data row of a subject's (first) record in a form."""
    frame = read_raw(raw, form)
    return int(frame.index[frame["SUBJID"] == subject][0]) + 1


def _dead_subject(raw: Path) -> tuple[str, int]:
    """A subject who died, and the row of her survival record."""
    survival = read_raw(raw, "survival")
    i = int(survival.index[survival["STATUS"] == "DEAD"][0])
    return survival.loc[i, "SUBJID"], i + 1


def _one(report: Path, rule: str, variable: str) -> dict[str, str]:
    hits = findings(report)
    hits = hits[(hits["rule"] == rule) & (hits["variable"] == variable)]
    assert len(hits) == 1, hits
    return hits.iloc[0].to_dict()


# --------------------------------------------------------------------------- silent losses


def test_text_after_a_nul_byte_is_kept_and_reported(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    # Another record's plain "Nausea" must stay apart from it (pandas hashes text only up
    # to a NUL, which made the two one value). Set first: pandas' reader, used by
    # set_value, would itself cut the value at the NUL.
    set_value(raw, "ae", 4, "AETERM", "Nausea")
    set_value(raw, "ae", 3, "AETERM", "Nausea\x00 and vomiting")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert checked.code == 1
    f = _one(reports / "raw_findings.csv", "control_character", "AETERM")
    assert (f["row"], f["value"]) == ("3", "Nausea\ufffd and vomiting")  # nothing lost
    assert "holds a NUL byte" in f["message"]
    assert "\x00" not in checked.text
    frame, _ = read_form(raw / "ae.csv", load_forms()["ae"], load_codelists())
    assert frame.loc[2:3, "AETERM"].tolist() == ["Nausea\ufffd and vomiting", "Nausea"]
    assert_balanced(raw, reports)
    from trialflow.xpt import read_xpt

    ae = read_xpt(raw.parent / "sdtm" / "ae.xpt").data
    assert {"Nausea\ufffd and vomiting", "Nausea"} <= set(ae["AETERM"])


@pytest.mark.parametrize(("value", "rule", "severity"), [
    ("Nausea\x1b[31m", "control_character", "error"),
    ("Nau\u202esea", "control_character", "error"),
    ("Nausea\x7f", "control_character", "error"),
    ("Nausea\nand vomiting", "line_break", "warning"),
    ("Nausea\tgrade 2", "line_break", "warning"),
])
def test_control_characters_in_raw_values_are_findings(
        raw_extract: Path, tmp_path: Path, value: str, rule: str, severity: str) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 2, "AETERM", value)
    _, found = read_form(raw / "ae.csv", load_forms()["ae"], load_codelists())
    hits = [(f.row, f.variable, f.value, f.severity) for f in found if f.rule == rule]
    assert hits == [(2, "AETERM", value, severity)]


# --------------------------------------------------------------------------- impossible data


def test_death_before_randomisation_is_a_finding_and_the_record_is_kept(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    subject, row = _dead_subject(raw)
    rand_row = _subject_row(raw, "random", subject)
    randdt = read_raw(raw, "random").loc[rand_row - 1, "RANDDT"]
    set_value(raw, "survival", row, "DTHDT", "01-JAN-2010")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert checked.code == 1
    f = _one(reports / "raw_findings.csv", "not_before", "DTHDT")
    assert (f["source"], f["row"], f["value"], f["severity"]) == (
        str(raw / "survival.csv"), str(row), "01-JAN-2010", "error")
    assert f["message"].startswith(
        f"DTHDT is before random.RANDDT of the subject ({randdt}) — a randomised patient "
        "cannot have died before randomisation")
    counts = assert_balanced(raw, reports)
    assert counts.loc["survival", "mapped"] == counts.loc["survival", "raw"]


@pytest.mark.parametrize(("form", "column", "rule"), [
    ("exposure", "STDT", "not_after"),   # a dose after the death
    ("tumour", "ASSESSDT", "not_after"),  # a visit after the death
    ("ae", "STDT", "not_after"),
    ("lvef", "LVEFDT", "not_after"),
])
def test_records_after_death_are_findings(
        raw_extract: Path, tmp_path: Path, form: str, column: str, rule: str) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    subject, row = _dead_subject(raw)
    set_value(raw, "survival", row, "DTHDT", "01-JAN-2016")
    frame = read_raw(raw, form)
    hits = frame.index[frame["SUBJID"] == subject]
    if hits.empty:  # the subject has no record of this form: give her one
        hits = frame.index[:1]
        set_value(raw, form, 1, "SUBJID", subject)
    target = int(hits[0]) + 1
    set_value(raw, form, target, column, "01-JUN-2017")
    frames_found = read_form(raw / f"{form}.csv", load_forms()[form], load_codelists())
    assert frames_found[0].shape[0] == len(frame)  # the record is kept
    from trialflow.rawdata import read_forms

    _, found = read_forms(raw, load_forms(), load_codelists())
    flagged = [(f.row, f.value) for f in found
               if f.rule == rule and f.variable == column and f.source.endswith(f"{form}.csv")]
    assert (target, "01-JUN-2017") in flagged


@pytest.mark.parametrize(("value", "rule"), [
    ("01-JAN-1900", "not_before"),   # 115 years before consent
    ("UN-UN-1900", "not_before"),    # partial, known to the year
    ("15-MAR-2010", "not_after"),    # a child
])
def test_implausible_birth_is_a_finding(raw_extract: Path, tmp_path: Path, value: str,
                                        rule: str) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "enrol", 4, "BRTHDT", value)
    from trialflow.rawdata import read_forms

    _, found = read_forms(raw, load_forms(), load_codelists())
    assert [(f.row, f.variable, f.value) for f in found if f.rule == rule] == [
        (4, "BRTHDT", value)]


def test_an_ae_ending_in_2100_is_a_finding(raw_extract: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    ae = read_raw(raw, "ae")
    survival = read_raw(raw, "survival")
    alive = set(survival.loc[survival["STATUS"] != "DEAD", "SUBJID"])
    row = int(ae.index[ae["SUBJID"].isin(alive) & ae["ENDT"].ne("")][0]) + 1
    set_value(raw, "ae", row, "ENDT", "01-JAN-2100")
    checked, _, reports = check_and_map(capsys, raw)
    f = _one(reports / "raw_findings.csv", "not_after", "ENDT")
    assert (f["row"], f["value"], f["severity"]) == (str(row), "01-JAN-2100", "warning")
    assert "study.data_cutoff (31-JUL-2019)" in f["message"]
    assert_balanced(raw, reports)


@pytest.mark.parametrize("value", ["1e999", "-1e999", "1E400"])
def test_a_number_that_overflows_is_a_finding(raw_extract: Path, tmp_path: Path,
                                              value: str) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "lvef", 3, "LVEF", value)
    _, found = read_form(raw / "lvef.csv", load_forms()["lvef"], load_codelists())
    assert [(f.row, f.variable, f.value, f.rule) for f in found] == [
        (3, "LVEF", value, "not_finite")]


def test_the_simulated_study_breaks_no_plausibility_check(raw_extract: Path) -> None:
    from trialflow.rawdata import read_forms

    _, found = read_forms(raw_extract, load_forms(), load_codelists())
    assert found == []


# --------------------------------------------------------------------------- tracebacks


def test_cr_only_line_ends_are_one_line(raw_extract: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    path = raw / "ae.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    out = run_cli(capsys, "check-raw", "--raw", raw, "--reports", tmp_path / "reports")
    assert out.code == 2
    assert f"{path}: lines end with a carriage return only" in out.failure()


def test_a_stray_carriage_return_in_the_header_is_one_line(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    path = raw / "ae.csv"
    path.write_bytes(path.read_bytes().replace(b"AETERM", b"AE\rTERM", 1))
    out = run_cli(capsys, "check-raw", "--raw", raw, "--reports", tmp_path / "reports")
    assert out.code == 2 and str(path) in out.failure()


def test_a_fifo_as_a_raw_file_is_refused_without_hanging(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    (raw / "ae.csv").unlink()
    os.mkfifo(raw / "ae.csv")
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(run_cli(
        capsys, "check-raw", "--raw", raw, "--reports", tmp_path / "reports")), daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock the reader before failing
        with open(raw / "ae.csv", "wb"):
            pass
        pytest.fail("check-raw blocked on a FIFO")
    out = result[0]
    assert out.code == 2
    assert f"{raw / 'ae.csv'}: is a named pipe (FIFO), not a regular file" in out.failure()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_as_a_raw_file_is_refused(raw_extract: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           device: str) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    (raw / "ae.csv").unlink()
    (raw / "ae.csv").symlink_to(device)
    out = run_cli(capsys, "check-raw", "--raw", raw, "--reports", tmp_path / "reports")
    assert out.code == 2
    assert "is a character device, not a regular file" in out.failure()


def test_a_dangling_link_is_file_not_found(raw_extract: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    (raw / "ae.csv").unlink()
    (raw / "ae.csv").symlink_to(tmp_path / "gone.csv")
    out = run_cli(capsys, "check-raw", "--raw", raw, "--reports", tmp_path / "reports")
    assert out.code == 2 and "file not found" in out.failure()


def test_a_row_of_only_control_characters_keeps_the_reconciliation(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    frame = read_raw(raw, "ae")
    frame.loc[1, "AETERM"] = "\x01\x02\x03"
    frame.loc[1, "RELPER"] = "\x1b"
    write_raw(raw, "ae", frame)
    checked, mapped, reports = check_and_map(capsys, raw)
    assert checked.code == 1 and mapped.code == 1
    assert_balanced(raw, reports)
