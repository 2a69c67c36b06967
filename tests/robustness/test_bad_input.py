"""Bad raw input: one broken copy of a simulated extract per case (issue #7).

Each case breaks one thing and runs the stages through ``trialflow.cli.main``. trialflow
must either stop with a clear error (exit 2, one line naming the file, and the row,
variable and value where there is one, and what to do; no traceback), or report a
finding naming file, row, variable and value while the record is kept or listed as
rejected with a reason. Wherever SDTM ran, the reconciliation must balance: every raw
record of every form mapped or rejected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from broken_raw import (
    Outcome,
    assert_balanced,
    check_and_map,
    copy_extract,
    finding,
    read_raw,
    rejected,
    run_cli,
    set_value,
    write_raw,
)

from trialflow import SPECS
from trialflow.errors import SpecError
from trialflow.rawdata import read_form
from trialflow.spec import load_codelists, load_form, load_forms

# --------------------------------------------------------------------------- helpers


def _fatal_everywhere(capsys: pytest.CaptureFixture[str], raw: Path) -> list[Outcome]:
    """check-raw, sdtm and run on a file that cannot be read: each exits 2 before
    writing any SDTM or reconciliation (a broken input leaves no half-built output)."""
    reports = raw.parent / "reports"
    outcomes = [
        run_cli(capsys, "check-raw", "--raw", raw, "--reports", reports),
        run_cli(capsys, "sdtm", "--raw", raw, "--out", raw.parent / "sdtm",
                "--reports", reports),
        # run stops at its first stage here, so it is cheap.
        run_cli(capsys, "run", "--raw", raw, "--out", raw.parent / "build"),
    ]
    assert [o.code for o in outcomes] == [2, 2, 2]
    assert not (reports / "reconciliation.csv").exists()
    assert not (raw.parent / "sdtm").exists()
    # Every stage gives the same one-line reason.
    reasons = {o.failure().split(" failed: ", 1)[1] for o in outcomes}
    assert len(reasons) == 1, reasons
    return outcomes


# --------------------------------------------------------------------------- file level


def test_missing_file_names_file_and_says_where_to_get_it(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    (raw / "lvef.csv").unlink()
    message = _fatal_everywhere(capsys, raw)[0].failure()
    assert f"{raw / 'lvef.csv'}: file not found" in message
    assert "pass --raw" in message


def test_missing_column_names_file_and_column(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    write_raw(raw, "ae", read_raw(raw, "ae").drop(columns="GRADE"))
    message = _fatal_everywhere(capsys, raw)[0].failure()
    assert f"{raw / 'ae.csv'}, variable GRADE: header lacks column(s) GRADE" in message
    assert "export all columns of specs/raw/ae.yaml" in message


def test_extra_column_names_file_and_column(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    write_raw(raw, "ae", read_raw(raw, "ae").assign(COMMENT="see notes"))
    message = _fatal_everywhere(capsys, raw)[0].failure()
    assert f"{raw / 'ae.csv'}, variable COMMENT: header has column(s) 'COMMENT'" in message
    assert "drop the column from the export or add it to specs/raw/ae.yaml" in message


def test_empty_file_of_zero_bytes_is_refused(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    (raw / "ae.csv").write_bytes(b"")
    message = _fatal_everywhere(capsys, raw)[0].failure()
    assert f"{raw / 'ae.csv'}: file is empty (no header line)" in message
    assert "re-export the form" in message


@pytest.mark.parametrize("form", ["ae", "survival", "random", "exposure"])
def test_header_only_required_form_is_refused(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        form: str) -> None:
    # An export that lost its rows looks like a form without records: a header-only
    # survival form would remove every death. Only a form whose spec says it may be
    # empty is accepted so (issue #17).
    raw = copy_extract(raw_extract, tmp_path)
    header = (raw / f"{form}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    (raw / f"{form}.csv").write_text(header + "\n", encoding="utf-8")
    message = _fatal_everywhere(capsys, raw)[0].failure()
    assert f"{raw / f'{form}.csv'}: has a header but no records, and form {form!r} must " \
        "have some" in message
    assert f"set may_be_empty: true in specs/raw/{form}.yaml" in message


def test_header_only_form_that_may_be_empty_has_no_records(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # No withdrawal of consent is a possible state of a study (may_be_empty: true):
    # accepted, and reconciled as 0 of 0.
    assert load_forms()["withdrawal"].may_be_empty
    raw = copy_extract(raw_extract, tmp_path)
    header = (raw / "withdrawal.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    (raw / "withdrawal.csv").write_text(header + "\n", encoding="utf-8")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert (checked.code, mapped.code) == (0, 0)
    counts = assert_balanced(raw, reports)
    assert counts.loc["withdrawal"].tolist() == [0, 0, 0]
    assert counts.loc["enrol", "raw"] > 0


def test_only_event_forms_may_be_empty() -> None:
    # The forms no subject may have: withdrawal of consent, eligibility violations found
    # at review, clinical progression, subsequent therapy. Never the core forms.
    empty = {name for name, form in load_forms().items() if form.may_be_empty}
    assert empty == {"withdrawal", "eligibility", "clinprog", "nextther"}


def test_semicolon_delimiter_is_named(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    write_raw(raw, "ae", read_raw(raw, "ae"), sep=";")
    message = _fatal_everywhere(capsys, raw)[0].failure()
    assert f"{raw / 'ae.csv'}, value 'SUBJID;AENO;AETERM;" in message
    assert "wrong delimiter: the header is one column separated by semicolons" in message
    assert "re-export the form from the EDC as comma-separated UTF-8 CSV" in message


def test_latin1_file_names_row_variable_and_value(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 3, "AETERM", "Übelkeit")
    path = raw / "ae.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    message = _fatal_everywhere(capsys, raw)[0].failure()
    # The value as the site typed it (decoded as Latin-1), not as replacement characters.
    assert f"{path}, row 3, variable AETERM, value 'Übelkeit': not UTF-8 text (byte DC" \
        in message
    assert "re-export the file as UTF-8" in message


def test_utf16_file_is_named_as_utf16(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    path = raw / "ae.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    message = _fatal_everywhere(capsys, raw)[0].failure()
    assert f"{path}: not UTF-8 text: the file is UTF-16 (byte-order mark FF FE)" in message
    assert "re-export the file as UTF-8 (in Excel: CSV UTF-8, not Unicode text)" in message


def test_truncated_last_line_names_row_variable_and_value(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    path = raw / "ae.csv"
    n = len(read_raw(raw, "ae"))
    lines = path.read_text(encoding="utf-8").splitlines()
    # Cut the last record just after its 9th field has begun (a copy that stopped).
    cut = ",".join(lines[-1].split(",")[:9])[:-3]
    path.write_text("\n".join([*lines[:-1], cut]), encoding="utf-8")
    message = _fatal_everywhere(capsys, raw)[0].failure()
    assert f"{path}, row {n}, variable ACTION, value '{cut}'" in message
    assert "last line has 9 of 18 fields: the file looks truncated" in message
    assert "copy or re-export the whole file" in message


def test_truncated_inside_last_field_is_flagged(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A cut inside the last field leaves the field count intact: the missing final line
    # break is the only trace (a warning), plus whatever rule the cut value breaks.
    raw = copy_extract(raw_extract, tmp_path)
    n = len(read_raw(raw, "ae"))
    # The last column (SMIE, a seriousness criterion) answered Yes, cut to "Ye".
    set_value(raw, "ae", n, "SMIE", "Yes")
    path = raw / "ae.csv"
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n")[:-1], encoding="utf-8")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert (checked.code, mapped.code) == (1, 1)
    warn = finding(reports / "raw_findings.csv", "no_final_newline")
    assert (warn["source"], warn["row"], warn["variable"], warn["value"], warn["severity"]) \
        == (str(path), str(n), "SMIE", "Ye", "warning")
    assert "last record may be cut off" in warn["message"]
    error = finding(reports / "raw_findings.csv", "codelist")
    assert (error["row"], error["variable"], error["value"]) == (str(n), "SMIE", "Ye")
    assert_balanced(raw, reports)


# --------------------------------------------------------------------------- record level


def test_unparseable_date_is_a_finding_and_the_record_is_kept(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 3, "STDT", "2016-13-45")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert (checked.code, mapped.code) == (1, 1)
    f = finding(reports / "raw_findings.csv", "date")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        str(raw / "ae.csv"), "3", "STDT", "2016-13-45")
    assert "write dates as DD-MON-YYYY" in f["message"]
    f = finding(reports / "sdtm_findings.csv", "iso8601")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        "ae.csv", "3", "STDT", "2016-13-45")
    assert "AE.AESTDTC is left blank" in f["message"]
    counts = assert_balanced(raw, reports)
    assert counts.loc["ae", "mapped"] == counts.loc["ae", "raw"]


def test_impossible_date_is_a_finding_and_the_record_is_kept(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 2015-02-30 as the EDC writes dates.
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 3, "STDT", "30-FEB-2015")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert (checked.code, mapped.code) == (1, 1)
    f = finding(reports / "raw_findings.csv", "impossible_date")
    assert (f["row"], f["variable"], f["value"]) == ("3", "STDT", "30-FEB-2015")
    assert "not a calendar date" in f["message"]
    f = finding(reports / "sdtm_findings.csv", "iso8601")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        "ae.csv", "3", "STDT", "30-FEB-2015")
    assert (rejected(reports, "ae").empty
            and assert_balanced(raw, reports).loc["ae", "rejected"] == 0)


def test_end_date_before_start_date_is_a_finding(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 3, "ENDT", "01-JAN-2010")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert checked.code == 1
    f = finding(reports / "raw_findings.csv", "date_order")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        str(raw / "ae.csv"), "3", "ENDT", "01-JAN-2010")
    assert f["message"].startswith("ENDT is before STDT of the same record")
    assert "ae.csv row 3 ENDT='01-JAN-2010' [date_order]" in checked.out
    # SDTM keeps the record as collected (AEENDTC before AESTDTC); the raw finding is the
    # data-management query.
    assert mapped.code == 0
    counts = assert_balanced(raw, reports)
    assert counts.loc["ae", "mapped"] == counts.loc["ae", "raw"]


@pytest.mark.parametrize(("start", "end", "flagged"), [
    ("15-APR-2016", "UN-MAR-2016", True),   # March is before 15 April, whatever the day
    ("15-APR-2016", "UN-APR-2016", False),  # same month, day unknown: may be after
    ("UN-UN-2016", "01-JAN-2016", False),   # start known only to the year
    ("15-APR-2016", "14-APR-2016", True),
    ("15-APR-2016", "15-APR-2016", False),  # same day is not before
])
def test_end_before_start_compares_partial_dates_as_far_as_known(
        raw_extract: Path, tmp_path: Path, start: str, end: str, flagged: bool) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 1, "STDT", start)
    set_value(raw, "ae", 1, "ENDT", end)
    _, found = read_form(raw / "ae.csv", load_forms()["ae"], load_codelists())
    assert [(f.row, f.value) for f in found if f.rule == "date_order"] == (
        [(1, end)] if flagged else [])


def test_duplicate_subject_is_rejected_once_and_named(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    enrol = read_raw(raw, "enrol")
    write_raw(raw, "enrol", enrol.iloc[[*range(len(enrol)), 4]])  # subject of row 5 again
    subject, dup_row = enrol.loc[4, "SUBJID"], len(enrol) + 1
    checked, mapped, reports = check_and_map(capsys, raw)
    assert checked.code == 1
    f = finding(reports / "raw_findings.csv", "duplicate_key")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        str(raw / "enrol.csv"), str(dup_row), "SUBJID", subject)
    # SDTM maps the first record and rejects the repeat, rather than two DM records.
    assert f"DM       {len(enrol):>8} records" in mapped.err
    gone = rejected(reports, "enrol")
    assert gone[["row", "SUBJID"]].values.tolist() == [[str(dup_row), subject]]
    assert gone["reason"].iloc[0].startswith("duplicate SUBJID")
    assert_balanced(raw, reports)
    # Downstream stages cope (ADaM used to stop with a traceback on two DM records).
    build = run_cli(capsys, "run", "--raw", raw, "--out", tmp_path / "build")
    assert build.code == 1 and "adam" in build.err


def test_subject_not_enrolled_is_a_finding_and_rejected(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 3, "SUBJID", "9999")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert checked.code == 1
    f = finding(reports / "raw_findings.csv", "not_enrolled")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        str(raw / "ae.csv"), "3", "SUBJID", "9999")
    assert "not in enrol.csv" in f["message"]
    gone = rejected(reports, "ae")
    assert gone[["row", "SUBJID", "reason"]].values.tolist() == [
        ["3", "9999", "subject has no enrolment record (not in DM)"]]
    assert_balanced(raw, reports)


def test_unknown_codelist_value_is_a_finding_and_the_record_is_kept(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 3, "SERIOUS", "MAYBE")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert (checked.code, mapped.code) == (1, 1)
    f = finding(reports / "raw_findings.csv", "codelist")
    assert (f["row"], f["variable"], f["value"]) == ("3", "SERIOUS", "MAYBE")
    assert "maps to no term of codelist NY" in f["message"]
    f = finding(reports / "sdtm_findings.csv", "ct_unmapped")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        "ae.csv", "3", "SERIOUS", "MAYBE")
    assert rejected(reports, "ae").empty
    assert_balanced(raw, reports)


def test_value_over_200_bytes_is_a_finding_and_the_record_is_kept(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 101 characters, 202 bytes: within the CRF field's 200 characters, over what an
    # XPT character variable holds.
    raw = copy_extract(raw_extract, tmp_path)
    long = "é" * 101
    set_value(raw, "ae", 3, "AETERM", long)
    checked, mapped, reports = check_and_map(capsys, raw)
    assert (checked.code, mapped.code) == (1, 1)
    f = finding(reports / "raw_findings.csv", "value_bytes")
    assert (f["row"], f["variable"], f["value"]) == ("3", "AETERM", long)
    assert "longer than 200 bytes" in f["message"]
    sdtm = finding(reports / "sdtm_findings.csv", "value_bytes")
    assert (sdtm["source"], sdtm["variable"]) == ("AE", "AETERM")
    assert rejected(reports, "ae").empty
    assert_balanced(raw, reports)


def test_non_numeric_value_in_numeric_field_is_a_finding(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "lvef", 3, "LVEF", "sixty")
    checked, mapped, reports = check_and_map(capsys, raw)
    assert (checked.code, mapped.code) == (1, 1)
    f = finding(reports / "raw_findings.csv", "float")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        str(raw / "lvef.csv"), "3", "LVEF", "sixty")
    assert "must be a number" in f["message"]
    f = finding(reports / "sdtm_findings.csv", "number")
    assert (f["source"], f["row"], f["variable"], f["value"]) == (
        "lvef.csv", "3", "LVEF", "sixty")
    assert "CV.CVSTRESN is left blank" in f["message"]
    counts = assert_balanced(raw, reports)
    assert counts.loc["lvef", "mapped"] == counts.loc["lvef", "raw"]


# --------------------------------------------------------------------------- specs


def test_malformed_spec_is_refused_naming_file_dataset_and_variable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = yaml.safe_load((SPECS / "sdtm" / "dm.yaml").read_text(encoding="utf-8"))
    age = next(v for v in doc["variables"] if v["name"] == "AGE")
    del age["origin"]
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "dm.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    outcome = run_cli(capsys, "validate", "--data", tmp_path / "sdtm", "--specs", specs,
                      "--reports", tmp_path / "reports")
    assert outcome.code == 2
    assert (f"spec {specs / 'dm.yaml'}, dataset DM, variable AGE: variables: origin: "
            "required field") in outcome.failure()
    assert not (tmp_path / "reports").exists()


def test_spec_with_a_python_tag_is_refused_and_not_executed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "pwned"
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "dm.yaml").write_text(
        f"dataset: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    outcome = run_cli(capsys, "validate", "--data", tmp_path / "sdtm", "--specs", specs,
                      "--reports", tmp_path / "reports")
    assert outcome.code == 2
    assert f"spec {specs / 'dm.yaml'}: invalid YAML: could not determine a constructor" \
        in outcome.failure()
    assert not marker.exists()


def test_not_before_naming_a_column_that_is_no_date_is_a_spec_error(tmp_path: Path) -> None:
    doc = yaml.safe_load((SPECS / "raw" / "ae.yaml").read_text(encoding="utf-8"))
    next(c for c in doc["columns"] if c["name"] == "ENDT")["not_before"] = "GRADE"
    path = tmp_path / "ae.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_form(path)
    assert str(info.value) == (f"spec {path}, dataset ae, variable ENDT: not_before: ENDT "
                               "and 'GRADE' must both be date columns of the form")
