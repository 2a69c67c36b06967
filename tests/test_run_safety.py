"""A run per output folder at a time, a promotion that a kill cannot leave half done,
a run log that lists every promised file, and exit status 3 for bugs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trialflow.cli import main
from trialflow.io import PROMOTING, promote_staged, recover_promotion
from trialflow.lock import RunLock
from trialflow.pipeline import EXIT_FATAL, Stage, StageResult, run_stages
from trialflow.skeleton import write_skeleton


def _package(root: Path, version: str, parts: tuple[str, ...] = ("sdtm", "adam", "tlf")
             ) -> None:
    for part in parts:
        (root / part).mkdir(parents=True)
        (root / part / "data.txt").write_text(f"{part} {version}")


def _versions(root: Path) -> dict[str, str]:
    return {p.name: (p / "data.txt").read_text() for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".")}


def test_a_second_run_on_the_same_folder_stops_naming_the_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_skeleton(tmp_path / "s", "sdtm")
    out = tmp_path / "build"
    with RunLock(out):
        assert main(["run", "--study", str(tmp_path / "s"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "another trialflow run is building this folder" in err
    assert f"pid {os.getpid()}" in err
    assert not (out / "adam").exists()
    # The lock goes with its holder: the next run builds.
    assert main(["run", "--study", str(tmp_path / "s"), "--out", str(out)]) == 0


def test_a_promotion_killed_halfway_is_finished_by_the_next_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target, staging = tmp_path / "build", tmp_path / "build" / ".staging"
    _package(target, "old")
    _package(staging, "new")
    real = os.replace
    calls = {"n": 0}

    def replace_then_die(src: str | os.PathLike, dst: str | os.PathLike) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # journal, adam aside, adam in, sdtm aside: then killed
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        promote_staged(staging, target)
    monkeypatch.setattr(os, "replace", real)
    assert (target / PROMOTING).is_file() and not (target / "sdtm").exists()
    repaired = recover_promotion(staging, target)
    assert sorted(p.name for p in repaired) == ["adam", "sdtm", "tlf"]
    assert _versions(target) == {"adam": "adam new", "sdtm": "sdtm new", "tlf": "tlf new"}
    assert not (target / PROMOTING).exists() and not staging.exists()
    assert not any(p.name.startswith(".old-") for p in target.iterdir())


def test_recovery_without_a_journal_does_nothing(tmp_path: Path) -> None:
    _package(tmp_path / "build", "old")
    assert recover_promotion(tmp_path / "build" / ".staging", tmp_path / "build") == []
    assert _versions(tmp_path / "build")["sdtm"] == "sdtm old"


def test_a_stage_whose_promised_file_is_gone_fails_the_run(tmp_path: Path,
                                                            capsys) -> None:
    ghost = tmp_path / "gone.csv"
    code = run_stages([Stage("tlf", lambda: StageResult(outputs=[ghost]))],
                      log=tmp_path / "run.log")
    assert code == EXIT_FATAL
    err = capsys.readouterr().err
    assert f"tlf failed: tlf wrote {ghost}, which is gone" in err
    assert "status: failed" in (tmp_path / "run.log").read_text()


def test_a_bug_is_exit_3_with_one_line_and_the_traceback_in_a_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import adam.stage

    def broken(*args: object, **kwargs: object) -> StageResult:
        return 1 / 0  # type: ignore[return-value]

    monkeypatch.setattr(adam.stage, "build", broken)
    write_skeleton(tmp_path / "s", "sdtm")
    code = main(["run", "--study", str(tmp_path / "s"), "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 3
    last = err.strip().splitlines()[-1]
    assert last.startswith("trialflow: internal error (ZeroDivisionError") and "Traceback" \
        not in err
    path = Path(last.rsplit("the traceback is in ", 1)[1])
    assert "ZeroDivisionError" in path.read_text() and "broken" in path.read_text()
    log = (tmp_path / "b" / ".staging" / "reports" / "run.log").read_text()
    assert "internal error: ZeroDivisionError" in log and "exit code: 3" in log
