"""Formula injection and terminal escapes (issue #17): every report trialflow writes holds
text as text.

A value that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
formula to a spreadsheet. In a CSV report it is written behind an apostrophe; in an XLSX
report it is a string cell (type ``s``). Control characters are escaped in CSV and on the
console, and characters an XLSX cell cannot hold are escaped there (openpyxl would refuse
them with a traceback). Numbers held as numbers, negative ones included, are untouched;
datasets and raw extracts are data and are written as they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from broken_raw import check_and_map, copy_extract, findings, run_cli, set_value

from trialflow.io import write_csv_atomic
from trialflow.safetext import csv_cell, csv_safe_frame, escape_controls, is_formula_like

FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")']


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_text_is_written_behind_an_apostrophe(text: str) -> None:
    assert is_formula_like(text)
    assert csv_cell(text) == "'" + escape_controls(text)


@pytest.mark.parametrize("text", ["-0.5", "+3", "-1e-09", "1.5", "a=b", "", "x-1", "'=1"])
def test_plain_numbers_and_ordinary_text_are_left_alone(text: str) -> None:
    assert not is_formula_like(text)
    assert csv_cell(text) == text


@pytest.mark.parametrize(("text", "shown"), [
    ("a\x1b[2Jb", "a\\x1b[2Jb"), ("a\x00b", "a\\x00b"), ("line\nbreak", "line\\nbreak"),
    ("abc\u202edef", "abc\\u202edef"), ("del\x7f", "del\\x7f"), ("c1\x9b31m", "c1\\x9b31m"),
])
def test_control_characters_are_escaped(text: str, shown: str) -> None:
    assert escape_controls(text) == shown


def test_csv_report_neutralises_text_and_keeps_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"value": ["=1+1", "-3", "ok", "\x1b[31mred"],
                          "number": [-1.5, 2.0, np.nan, -0.0],
                          "=header": ["a", "b", "c", "d"]})
    path = write_csv_atomic(frame, tmp_path / "r.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == ["value,number,'=header", "'=1+1,-1.5,a", "-3,2.0,b", "ok,,c",
                     "\\x1b[31mred,-0.0,d"]
    assert frame.loc[0, "value"] == "=1+1"  # the caller's frame is not changed


def test_data_files_are_written_verbatim(tmp_path: Path) -> None:
    frame = pd.DataFrame({"AETERM": ["=1+1", "-x"]})
    path = write_csv_atomic(frame, tmp_path / "ae.csv", report=False)
    assert path.read_text(encoding="utf-8") == "AETERM\n=1+1\n-x\n"


def test_safe_frame_is_vectorised_per_distinct_value() -> None:
    frame = pd.DataFrame({"v": pd.Series(["=a", "b"] * 50_000, dtype=object)})
    out = csv_safe_frame(frame)
    assert out["v"].value_counts().to_dict() == {"'=a": 50_000, "b": 50_000}


# --------------------------------------------------------------------------- the commands


def test_findings_csv_neutralises_a_formula_and_escapes_a_terminal_code(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_extract(raw_extract, tmp_path)
    set_value(raw, "ae", 3, "SERIOUS", '=HYPERLINK("http://evil","x")')
    set_value(raw, "ae", 4, "OUTCOME", "\x1b]0;pwned\x07\x1b[2J")
    checked, _, reports = check_and_map(capsys, raw)
    assert checked.code == 1
    # Nothing unescaped reaches the terminal.
    assert "\x1b" not in checked.text and "\x07" not in checked.text
    text = (reports / "raw_findings.csv").read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text
    hits = findings(reports / "raw_findings.csv")
    serious = hits[(hits["variable"] == "SERIOUS") & (hits["rule"] == "codelist")]
    assert serious["value"].tolist() == ['\'=HYPERLINK("http://evil","x")']
    outcome = hits[(hits["variable"] == "OUTCOME") & (hits["rule"] == "codelist")]
    assert outcome["value"].tolist() == ["\\x1b]0;pwned\\x07\\x1b[2J"]
    sdtm = findings(reports / "sdtm_findings.csv")
    assert sdtm["value"].str.startswith("=").sum() == 0


def _xpt_named(tmp_path: Path, member: bytes, value: str) -> Path:
    """A one-variable XPT file whose member name is ``member`` (patched into the header,
    as a third-party tool could write it) and whose one value is ``value``."""
    from tests.core.helpers import spec, var
    from trialflow.xpt import write_xpt

    data = tmp_path / "data"
    data.mkdir()
    path = data / "xx.xpt"
    write_xpt(pd.DataFrame({"NAME": [value]}), spec(var("NAME", length=40), name="XX"), path)
    raw = bytearray(path.read_bytes())
    assert raw[408:416] == b"XX      "
    raw[408:416] = member.ljust(8, b" ")
    path.write_bytes(bytes(raw))
    return path


def test_validation_report_keeps_a_formula_dataset_name_as_text(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _xpt_named(tmp_path, b"=1+1", "@SUM(1)")
    reports = tmp_path / "reports"
    outcome = run_cli(capsys, "validate", "--data", tmp_path / "data", "--reports", reports)
    assert outcome.code in (0, 1)
    book = openpyxl.load_workbook(reports / "validation.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert any(c.value == "=1+1" for c in cells)
    assert {c.data_type for c in cells} == {"s"}


def test_compare_report_keeps_formulas_as_text_and_escapes_controls(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = pd.DataFrame({"=KEY": ["=1+1", "@x", "k3"], "V": ["a\x1b[2Jb", "=2", "-x"]})
    qc = base.assign(V=["a\x00b", "=3", "+y"])
    base.to_csv(tmp_path / "base.csv", index=False)
    qc.to_csv(tmp_path / "qc.csv", index=False)
    report = tmp_path / "cmp.xlsx"
    outcome = run_cli(capsys, "compare", tmp_path / "base.csv", tmp_path / "qc.csv",
                      "--keys", "=KEY", "--report", report)
    assert outcome.code == 1
    assert "\x1b" not in outcome.text and "\x00" not in outcome.text
    book = openpyxl.load_workbook(report)
    texts = {c.value: c.data_type for ws in book.worksheets for row in ws.iter_rows()
             for c in row if isinstance(c.value, str)}
    for value in ("=KEY", "=1+1", "@x", "=2", "=3", "-x", "+y", "a\\x1b[2Jb", "a\ufffdb"):
        assert texts.get(value) == "s", value
    assert not any(t == "f" for t in texts.values())


def test_reproduction_report_keeps_a_formula_item_as_text(tmp_path: Path) -> None:
    from tlf.reproduction import write_report

    report = pd.DataFrame({"analysis": ["=cmd|' /C calc'!A0"], "item": ["-2+3"],
                           "published": [-0.5], "computed": [-0.5], "match": [True],
                           "note": ["@x"]})
    ws = openpyxl.load_workbook(write_report(report, tmp_path / "r.xlsx")).active
    row = [c for c in next(ws.iter_rows(min_row=2, max_row=2))]
    assert [c.value for c in row] == ["=cmd|' /C calc'!A0", "-2+3", -0.5, -0.5, True, "@x"]
    assert [c.data_type for c in row] == ["s", "s", "n", "n", "b", "s"]
