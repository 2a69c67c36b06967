"""Datasets an attacker-tester broke (issue #17): truncated or malformed XPT files, a FIFO
among the datasets, control characters kept in a dataset.

A transport file is a sequence of 80-byte records. One cut off while it was copied
(half of ADAE gone) used to be read without a word, and validate passed; now the reader
names the file and the byte offset where it breaks, and every command that reads it
(validate, adam, tlf, compare, define) stops with that one line (exit 2).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from broken_raw import run_cli

from tests.core.helpers import spec, var
from trialflow.errors import InputError
from trialflow.xpt import read_xpt, write_xpt

AE = spec(var("STUDYID", length=8), var("USUBJID", length=20), var("AETERM", length=60),
          var("AESEQ", type_="Num", length=8), name="AE", keys=("USUBJID", "AESEQ"),
          sort=("USUBJID", "AESEQ"))


def _ae(n: int = 500, term: str = "Nausea") -> pd.DataFrame:
    return pd.DataFrame({"STUDYID": "STUDY1", "USUBJID": [f"S-{i // 5:04d}" for i in range(n)],
                         "AETERM": term, "AESEQ": np.arange(n) % 5 + 1.0})


def _written(tmp_path: Path, frame: pd.DataFrame | None = None) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    path = data / "ae.xpt"
    write_xpt(_ae() if frame is None else frame, AE, path)
    return path


def _cut(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


@pytest.mark.parametrize("fraction", [0.5, 0.73, 0.999])
def test_a_truncated_xpt_names_the_byte_offset(tmp_path: Path, fraction: float) -> None:
    path = _written(tmp_path)
    size = int(path.stat().st_size * fraction)
    _cut(path, size)
    with pytest.raises(InputError) as info:
        read_xpt(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "looks truncated" in message and "byte offset" in message


def test_a_cut_on_a_record_boundary_names_the_incomplete_record(tmp_path: Path) -> None:
    path = _written(tmp_path)
    head = read_xpt(path)
    assert len(head.data) == 500
    data_start = 80 * 8 + 4 * 140 + (-(4 * 140) % 80) + 80  # 4 variables
    reclen = 8 + 20 + 60 + 8
    # Cut at the last multiple of 80 before the 251st record ends: inside it.
    cut = data_start + ((251 * reclen - 1) // 80) * 80
    assert data_start + 250 * reclen < cut < data_start + 251 * reclen
    _cut(path, cut)
    with pytest.raises(InputError) as info:
        read_xpt(path)
    assert f"the last record, at byte offset {data_start + 250 * reclen}" in str(info.value)
    assert "(record 251)" in str(info.value)


def test_a_cut_inside_the_header_is_named(tmp_path: Path) -> None:
    path = _written(tmp_path)
    _cut(path, 80 * 9)  # inside the variable descriptions
    with pytest.raises(InputError, match="inside the descriptions of its 4 variables"):
        read_xpt(path)


@pytest.mark.parametrize("content", [b"", b"x" * 80, b"HEADER RECORD" + b" " * 67,
                                     os.urandom(800)])
def test_a_file_that_is_no_xpt_is_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ae.xpt"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_xpt(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_validate_stops_on_a_truncated_dataset(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _written(tmp_path)
    _cut(path, path.stat().st_size // 2)
    out = run_cli(capsys, "validate", "--data", path.parent, "--reports", tmp_path / "rep")
    assert out.code == 2
    assert f"{path}: " in out.failure() and "looks truncated" in out.failure()
    assert "byte offset" in out.failure()
    assert not (tmp_path / "rep" / "validation.xlsx").exists()


def test_compare_stops_on_a_truncated_dataset(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = _written(tmp_path)
    whole = tmp_path / "whole.xpt"
    whole.write_bytes(path.read_bytes())
    _cut(path, path.stat().st_size // 2)
    out = run_cli(capsys, "compare", whole, path, "--keys", "USUBJID,AESEQ", "--report",
                  tmp_path / "r.xlsx")
    assert out.code == 2 and "looks truncated" in out.err


def test_a_fifo_among_the_datasets_is_refused_without_hanging(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _written(tmp_path)
    os.mkfifo(path.parent / "zz.xpt")
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(run_cli(
        capsys, "validate", "--data", path.parent, "--reports", tmp_path / "rep")),
        daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():
        with open(path.parent / "zz.xpt", "wb"):
            pass
        pytest.fail("validate blocked on a FIFO")
    assert result[0].code == 2
    assert "zz.xpt: is a named pipe (FIFO), not a regular file" in result[0].failure()


def test_control_characters_kept_in_a_dataset_are_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = _ae(10)
    frame.loc[3, "AETERM"] = "Nausea\x1b[2J"
    frame.loc[6, "AETERM"] = "Rash\nitchy"
    findings = write_xpt(frame, AE, tmp_path / "w.xpt")
    control = [f for f in findings if f.rule == "control"]
    assert len(control) == 1 and control[0].row == 4 and "2 values" in control[0].message
    path = _written(tmp_path, frame)
    out = run_cli(capsys, "validate", "--data", path.parent, "--reports", tmp_path / "rep")
    assert out.code == 1
    assert "AE.AETERM [control]" in out.out and "\x1b" not in out.text
    assert "\\x1b[2J" in out.out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, raw_extract: Path) -> Path:
    """SDTM and ADaM of the corpus' simulated extract (60 subjects), built once."""
    from trialflow.cli import main

    out = tmp_path_factory.mktemp("built")
    assert main(["sdtm", "--raw", str(raw_extract), "--out", str(out / "sdtm"),
                 "--reports", str(out / "reports")]) == 0
    assert main(["adam", "--sdtm", str(out / "sdtm"), "--out", str(out / "adam"),
                 "--reports", str(out / "reports")]) in (0, 1)
    return out


@pytest.mark.parametrize(("layer", "dataset", "command"), [
    ("sdtm", "ae.xpt", "adam"), ("adam", "adae.xpt", "tlf"), ("adam", "adtte.xpt", "define"),
])
def test_every_reader_stops_on_a_truncated_dataset(
        built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], layer: str,
        dataset: str, command: str) -> None:
    import shutil

    work = tmp_path / "work"
    shutil.copytree(built, work)
    path = work / layer / dataset
    _cut(path, path.stat().st_size // 2)
    args = {"adam": ["adam", "--sdtm", work / "sdtm", "--out", work / "adam2",
                     "--reports", work / "rep"],
            "tlf": ["tlf", "--adam", work / "adam", "--out", work / "tlf"],
            "define": ["define", "--sdtm", work / "sdtm", "--adam", work / "adam",
                       "--out", work / "define"]}[command]
    out = run_cli(capsys, *args)
    assert out.code == 2
    assert f"{path}: " in out.failure() and "looks truncated" in out.failure()
    assert "byte offset" in out.failure()
