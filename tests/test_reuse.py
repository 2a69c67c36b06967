"""Stages that skip work already done: a changed spec, input or option reruns exactly
the stages that depend on it, and a package built from reused stages is byte-identical
to one built from scratch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trialflow.cli import main
from trialflow.pipeline import Reuse, Stage, StageResult, run_stages
from trialflow.reuse import STATE, fingerprint
from trialflow.skeleton import write_skeleton


def _statuses(out: Path) -> dict[str, str]:
    log = (out / "reports" / "run.log").read_text()
    return dict(re.findall(r"\[stage (\S+)\]\nstatus: (\w+)", log))


def _package(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.name != "run.log"}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "s"
    write_skeleton(folder, "raw")
    return folder


def test_a_rerun_with_nothing_changed_runs_no_stage_and_changes_no_byte(
        study: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    first = _package(out)
    assert set(_statuses(out).values()) == {"done"}
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    assert set(_statuses(out).values()) == {"reused"}
    assert _package(out) == first
    assert (out / STATE).is_file()


def test_a_changed_adam_spec_reruns_adam_and_what_reads_its_outputs_only(
        study: Path, tmp_path: Path) -> None:
    out, fresh = tmp_path / "build", tmp_path / "fresh"
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    _edit(study / "adam" / "adsl.yaml", "lt: 65, value", "lt: 60, value")
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    assert _statuses(out) == {"check-raw": "reused", "sdtm": "reused", "adam": "done",
                              "validate": "done", "define": "done"}
    # The same bytes as a build from scratch of the edited study.
    assert main(["run", "--study", str(study), "--out", str(fresh)]) == 0
    assert _package(out) == _package(fresh)


def test_a_spec_edit_that_changes_no_output_stops_rerunning_after_its_stage(
        study: Path, tmp_path: Path) -> None:
    """The dictionary is read by the SDTM stage alone, which runs again; the SDTM comes
    out the same, so the stages after it, whose inputs are that SDTM, are taken over
    (fingerprints are of contents, not of times)."""
    out = tmp_path / "build"
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    _edit(study / "dictionary" / "meddra.yaml", "# The coding dictionary",
          "# The study's coding dictionary")
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    assert _statuses(out) == {"check-raw": "reused", "sdtm": "done", "adam": "reused",
                              "validate": "reused", "define": "reused"}


def test_a_changed_input_reruns_from_the_first_stage_that_reads_it(
        study: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    _edit(study / "data" / "raw" / "ae.csv", "1001,1,headache,10-JAN-2024",
          "1001,1,headache,09-JAN-2024")
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    assert set(_statuses(out).values()) == {"done"}


def test_force_runs_every_stage(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    assert main(["run", "--study", str(study), "--out", str(out)]) == 0
    assert main(["run", "--study", str(study), "--out", str(out), "--force"]) == 0
    assert set(_statuses(out).values()) == {"done"}


def test_a_changed_option_changes_the_fingerprint(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text("x: 1\n")
    one = fingerprint("simulate", [spec], {"seed": 1}, tmp_path)
    assert one != fingerprint("simulate", [spec], {"seed": 2}, tmp_path)
    assert one != fingerprint("simulate", [spec], {"seed": 1, "subjects": 5}, tmp_path)
    assert one == fingerprint("simulate", [spec], {"seed": 1}, tmp_path)


def test_a_stage_whose_recorded_output_was_changed_runs_again(tmp_path: Path) -> None:
    package, root = tmp_path / "pkg", tmp_path / "pkg" / ".staging"
    calls: list[int] = []

    def make() -> StageResult:
        calls.append(1)
        (root / "tlf").mkdir(parents=True, exist_ok=True)
        (root / "tlf" / "x.txt").write_text("x")
        return StageResult(rows=1, outputs=[root / "tlf" / "x.txt"])

    stage = Stage("tlf", make, reads=())
    for _ in range(2):
        assert run_stages([stage], reuse=Reuse(package, root, (root,))) == 0
        from trialflow.io import promote_staged
        promote_staged(root, package)
    assert len(calls) == 1  # the second run took it over
    (package / "tlf" / "x.txt").write_text("tampered")
    assert run_stages([stage], reuse=Reuse(package, root, (root,))) == 0
    assert len(calls) == 2
