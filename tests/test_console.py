"""What a person sees: --quiet keeps the final line, --verbose adds the datasets, lines
name files where they are once the run is over, and progress lines appear on a terminal
only."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from trialflow import console
from trialflow.cli import main
from trialflow.skeleton import write_skeleton


@pytest.fixture
def study(tmp_path: Path) -> Path:
    write_skeleton(tmp_path / "s", "sdtm")
    return tmp_path / "s"


def test_quiet_shows_only_the_final_line(study: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-q", "--study", str(study), "--out", str(tmp_path / "b")]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        f"package of MYSTUDY01 in {tmp_path / 'b'}/: adam/, define/, reports/; run log "
        f"{tmp_path / 'b' / 'reports' / 'run.log'}"]
    assert captured.out == ""


def test_verbose_lists_every_file_each_stage_wrote(study: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--verbose", "--study", str(study), "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert f"  output: {tmp_path / 'b' / 'adam' / 'adsl.xpt'}" in err
    assert main(["run", "--study", str(study), "--out", str(tmp_path / "c")]) == 0
    assert "  output: " not in capsys.readouterr().err


def test_a_run_names_files_where_they_are_when_it_is_over(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b"
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert ".staging" not in err
    named = [line.split(" to ", 1)[1].split()[0].rstrip("/") for line in err.splitlines()
             if "wrote" in line and " to " in line]
    assert named and all(Path(p).exists() for p in named)


def test_progress_is_silent_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    console.progress("datasets", 1, 3)
    console.done("datasets")
    assert err.getvalue() == ""


def test_progress_rewrites_one_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.delenv("CI", raising=False)
    console.progress("outputs", 2, 30)
    console.say("next")
    assert err.getvalue().startswith("\r\x1b[K  outputs: 2/30 (0 s)")
    assert err.getvalue().endswith("\r\x1b[Knext\n")


def test_verbose_simulation_names_each_step_and_its_calibration_searches(
        capsys: pytest.CaptureFixture[str]) -> None:
    from crf.simulate import build_study

    console.set_verbosity(console.VERBOSE)
    try:
        build_study(60, 7)
    finally:
        console.set_verbosity(console.NORMAL)
    steps = [line.removeprefix("  simulate: ") for line in capsys.readouterr().err.splitlines()
             if line.startswith("  simulate: ")]
    # 60 subjects are not the published size: nothing is calibrated.
    assert steps == ["baseline characteristics", "randomisation (minimisation)",
                     "best response and PFS", "treatment cycles", "time to deterioration",
                     "overall survival", "questionnaires and tumour scans",
                     "adverse events and LVEF"]

