"""``trialflow compare`` never says EQUAL about datasets that differ (issue #17).

A CSV file holds text: ``0001`` and ``1`` are different subject numbers, ``0.10`` and
``0.1`` different texts. An infinite number is a value, equal only to the same infinity.
Dates beyond pandas' 1677-2262 range are dates, not missing values. A truncated or
malformed Dataset-JSON file, and a FIFO or device given as a dataset, end in one line
(exit 2) without a traceback, and a FIFO never makes the command hang.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from broken_raw import run_cli

from trialflow.compare import compare_datasets
from trialflow.errors import InputError


def _csv(path: Path, **columns: list[str]) -> Path:
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


def _json(path: Path, dates: list[str | None], kind: str = "date",
          **doc: object) -> Path:
    body = {"datasetJSONVersion": "1.1.0", "name": "ADX", "label": "x", "records": len(dates),
            "columns": [{"itemOID": "IT.ID", "name": "ID", "label": "id", "dataType": "string",
                         "length": 4},
                        {"itemOID": "IT.ADT", "name": "ADT", "label": "date", "dataType": kind,
                         "targetDataType": "integer"}],
            "rows": [[f"S{i}", d] for i, d in enumerate(dates)]}
    body.update(doc)
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


@pytest.mark.parametrize(("base", "qc"), [
    (["0001", "0002"], ["1", "2"]),        # leading zeros: another subject number
    (["0.10", "2.50"], ["0.1", "2.5"]),    # trailing zeros: another text
    (["1", "2"], ["+1", "2"]),              # a sign is text too
    (["007", "12"], ["7", "12"]),
])
def test_csv_values_are_compared_as_written(tmp_path: Path, base: list[str],
                                            qc: list[str]) -> None:
    result = compare_datasets(_csv(tmp_path / "b.csv", K=["a", "b"], V=base),
                              _csv(tmp_path / "q.csv", K=["a", "b"], V=qc), ["K"])
    assert not result.equal
    assert result.value_summary.set_index("variable").loc["V", "differing"] >= 1 \
        or not result.attributes.empty


def test_numbers_written_as_numbers_keep_their_tolerance(tmp_path: Path) -> None:
    b = _csv(tmp_path / "b.csv", K=["a", "b"], V=["0.1", "12"])
    q = _csv(tmp_path / "q.csv", K=["a", "b"], V=["0.1000000001", "12"])
    assert compare_datasets(b, q, ["K"], abs_tol=1e-6).equal
    assert not compare_datasets(b, q, ["K"]).equal


def test_told_types_compare_as_numbers(tmp_path: Path) -> None:
    b = _csv(tmp_path / "b.csv", K=["a"], V=["0001"])
    q = _csv(tmp_path / "q.csv", K=["a"], V=["1"])
    assert compare_datasets(b, q, ["K"], types={"V": "Num"}).equal
    assert not compare_datasets(b, q, ["K"], types={"V": "Char"}).equal


def test_told_number_that_is_not_one_names_file_row_variable_value(tmp_path: Path) -> None:
    b = _csv(tmp_path / "b.csv", K=["a", "b"], V=["1", "one"])
    q = _csv(tmp_path / "q.csv", K=["a", "b"], V=["1", "1"])
    with pytest.raises(InputError) as info:
        compare_datasets(b, q, ["K"], types={"V": "Num"})
    assert str(info.value).startswith(f"{b}, row 2, variable V, value 'one': ")


@pytest.mark.parametrize(("base", "qc", "equal"), [
    ("inf", "5", False), ("inf", "-inf", False), ("inf", "inf", True), ("5", "inf", False),
    ("-inf", "", False),
])
def test_infinity_is_a_value(tmp_path: Path, base: str, qc: str, equal: bool) -> None:
    b = _csv(tmp_path / "b.csv", K=["a", "b"], V=[base, "1"])
    q = _csv(tmp_path / "q.csv", K=["a", "b"], V=[qc, "1"])
    for tol in ({}, {"rel_tol": 0.5}, {"abs_tol": 1e300}):
        result = compare_datasets(b, q, ["K"], types={"V": "Num"}, **tol)
        assert result.equal is equal, tol
        assert any("infinite" in n for n in result.notes)


def test_dates_beyond_2262_are_dates(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    b = _json(tmp_path / "b.json", ["2300-01-01", "2016-01-01"])
    q = _json(tmp_path / "q.json", ["2400-01-01", "2016-01-01"])
    result = compare_datasets(b, q, ["ID"])
    assert not result.equal
    diff = result.values.set_index("ID").loc["S0"]
    assert (diff["base"], diff["compare"]) == (124183.0, 160707.0)
    assert any("after 2262" in n for n in result.notes)
    out = run_cli(capsys, "compare", b, q, "--keys", "ID", "--report", tmp_path / "r.xlsx")
    assert out.code == 1 and "after 2262" in out.out and "NOT EQUAL" in out.out


def test_text_that_is_not_a_date_is_compared_as_text(tmp_path: Path) -> None:
    b = _json(tmp_path / "b.json", ["2016-02-30", None])
    q = _json(tmp_path / "q.json", ["2016-02-31", None])
    result = compare_datasets(b, q, ["ID"])
    assert not result.equal
    assert any("not ISO 8601 dates" in n and "'2016-02-30'" in n for n in result.notes)


def test_datetimes_keep_their_seconds(tmp_path: Path) -> None:
    b = _json(tmp_path / "b.json", ["2016-01-01T10:00:00"], kind="datetime")
    q = _json(tmp_path / "q.json", ["2016-01-01T10:00:01"], kind="datetime")
    result = compare_datasets(b, q, ["ID"])
    assert not result.equal and result.values["difference"].tolist() == [1.0]


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.99])
def test_truncated_dataset_json_names_the_byte_offset(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: float) -> None:
    good = _json(tmp_path / "good.json", ["2016-01-01"] * 50)
    data = good.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_bytes(data[:int(len(data) * cut)])
    out = run_cli(capsys, "compare", good, bad, "--keys", "ID",
                  "--report", tmp_path / "r.xlsx")
    assert out.code == 2
    line = [x for x in out.err.splitlines() if x.startswith("trialflow: ")]
    assert len(line) == 1 and f"{bad}: not a readable Dataset-JSON file" in line[0]
    assert "byte offset" in line[0]


def test_dataset_json_with_fewer_rows_than_declared_is_refused(tmp_path: Path) -> None:
    good = _json(tmp_path / "good.json", ["2016-01-01"] * 3)
    doc = json.loads(good.read_text(encoding="utf-8"))
    doc["rows"] = doc["rows"][:2]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match="declares 3 records but holds 2 rows"):
        compare_datasets(good, cut, ["ID"])


@pytest.mark.parametrize("doc", [
    {"rows": [["S0"]]},                   # a row short of a value
    {"rows": "none"},
    {"columns": {"name": "ID"}},
    {"rows": [["S0", "2016-01-01"], 5]},
])
def test_malformed_dataset_json_is_one_line(tmp_path: Path, doc: dict[str, object]) -> None:
    path = _json(tmp_path / "m.json", ["2016-01-01"], records=None, **doc)
    with pytest.raises(InputError) as info:
        compare_datasets(path, path, ["ID"])
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_fifo_is_refused_without_hanging(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "base.csv"
    os.mkfifo(fifo)
    good = _csv(tmp_path / "q.csv", K=["a"])
    out = run_cli(capsys, "compare", fifo, good, "--keys", "K", "--report",
                  tmp_path / "r.xlsx")
    assert out.code == 2
    assert f"{fifo}: is a named pipe (FIFO), not a regular file" in out.err


def test_a_device_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zero = tmp_path / "zero.xpt"
    zero.symlink_to("/dev/zero")
    out = run_cli(capsys, "compare", zero, zero, "--keys", "K", "--report",
                  tmp_path / "r.xlsx")
    assert out.code == 2 and "is a character device, not a regular file" in out.err


def test_control_characters_in_compared_values_are_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = _csv(tmp_path / "b.csv", K=["a"], V=["x\x00y\x1b[2J"])
    q = _csv(tmp_path / "q.csv", K=["a"], V=["x"])
    result = compare_datasets(b, q, ["K"])
    # Nothing is lost after the NUL, which stands in as U+FFFD (pandas would take
    # "x\0y" for "x").
    assert result.values["base"].tolist() == ["x\ufffdy\x1b[2J"]
    assert any("NUL" in n for n in result.notes)
    out = run_cli(capsys, "compare", b, q, "--keys", "K", "--report", tmp_path / "r.xlsx")
    assert out.code == 1 and "\\x1b" in out.out and "\x1b" not in out.out


def test_a_nul_does_not_make_two_values_one(tmp_path: Path) -> None:
    b = _csv(tmp_path / "b.csv", K=["a", "b"], V=["x\x00y", "x"])
    q = _csv(tmp_path / "q.csv", K=["a", "b"], V=["x", "x"])
    result = compare_datasets(b, q, ["K"])
    assert not result.equal and result.values["K"].tolist() == ["a"]
