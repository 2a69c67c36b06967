"""The run log: every stage's inputs and outputs with SHA-256, rows, findings, timing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from trialflow.errors import InputError
from trialflow.findings import Finding
from trialflow.pipeline import Stage, StageResult, run_stages, sha256_of


def _stage_writing(path: Path, text: str, inputs: tuple[Path, ...] = ()) -> Stage:
    def run() -> StageResult:
        path.write_text(text)
        return StageResult(rows=2, outputs=[path])
    return Stage(f"write-{path.stem}", run, inputs=inputs)


def test_sha256_of_matches_hashlib(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"abc")
    # The SHA-256 of "abc" is a published test vector (FIPS 180-2, appendix B.1).
    assert sha256_of(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_of(f) == hashlib.sha256(b"abc").hexdigest()


def test_run_log_lists_inputs_outputs_with_hashes_rows_and_code(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "dm.csv").write_text("x\n1\n")
    (raw / ".hidden").write_text("not an input")
    out = tmp_path / "dm.xpt"
    log = tmp_path / "reports" / "run.log"
    assert run_stages([_stage_writing(out, "data", inputs=(raw,))], log=log) == 0
    text = log.read_text()
    assert "[stage write-dm]" in text and "status: done" in text and "rows: 2" in text
    dm_hash = hashlib.sha256(b"x\n1\n").hexdigest()
    assert f"input: {raw / 'dm.csv'} sha256={dm_hash}" in text
    assert ".hidden" not in text
    assert f"output: {out} sha256={hashlib.sha256(b'data').hexdigest()}" in text
    assert "findings: 0 errors, 0 warnings" in text
    assert text.rstrip().endswith("exit code: 0")


def test_run_log_counts_findings_and_records_a_failure(tmp_path: Path) -> None:
    warn = Finding("ae.csv", 3, "AETERM", "x", "odd_term", "odd", severity="warning")
    def findings() -> StageResult:
        return StageResult(findings=[warn])
    def fail() -> StageResult:
        raise InputError("raw/dm.csv", "file not found")
    log = tmp_path / "run.log"
    stages = [Stage("check", findings), Stage("sdtm", fail), Stage("adam", findings)]
    assert run_stages(stages, log=log) == 2
    text = log.read_text()
    assert "findings: 0 errors, 1 warnings" in text
    sdtm = text.split("[stage sdtm]")[1].split("[stage adam]")[0]
    assert "status: failed" in sdtm
    assert "status: not run" in text.split("[stage adam]")[1]
    assert "failed: sdtm failed: raw/dm.csv" in text
    assert text.rstrip().endswith("exit code: 2")


def test_the_run_log_holds_the_provenance_a_reviewer_asks_for(study_build) -> None:
    """Versions of Python and every dependency, the code's commit, the seed and subject
    count, and the SHA-256 of every spec file each stage read."""
    from importlib import metadata

    log = (study_build.out / "reports" / "run.log").read_text()
    assert f"package: pandas {metadata.version('pandas')}" in log
    assert f"package: statsmodels {metadata.version('statsmodels')}" in log
    assert "code: git " in log
    assert "seed: 20150801" in log and "subjects: 219" in log
    tlf = log.split("[stage tlf]")[1]
    assert "spec: " in tlf and "t_14_1_1_populations.yaml sha256=" in tlf
    assert "sdtm/ae.yaml" not in tlf  # the TLF stage reads its own specs only


def test_within_a_run_each_file_is_hashed_once_and_a_changed_file_again(
        tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from trialflow import reuse

    f = tmp_path / "data.txt"
    f.write_bytes(b"abc")
    opened = []
    real_open = Path.open

    def counting_open(self: Path, mode: str = "r", *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if mode == "rb":
            opened.append(self)
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    with reuse.hashing_once():
        first, again = sha256_of(f), sha256_of(f)
        f.write_bytes(b"abcd")  # another size: hashed anew
        changed = sha256_of(f)
    outside = sha256_of(f)
    assert first == again == hashlib.sha256(b"abc").hexdigest()
    assert changed == outside == hashlib.sha256(b"abcd").hexdigest()
    assert len(opened) == 3  # read: abc once, abcd in the run, abcd outside it
