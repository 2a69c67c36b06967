"""`trialflow run` as a package builder: killed mid-run it leaves the previous package
intact, the next run completes, and a rerun from the same seed changes no byte of any
dataset, ARD, define file or document.

The previous package is a copy of the session's build (``study_build``); the killed run
is a real process sent SIGKILL while it writes its SDTM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trialflow.cli import STAGING, main
from trialflow.lock import LOCK
from trialflow.pipeline import sha256_of

#: Changes on every run by design: it records when and how long.
RUN_LOG = Path("reports") / "run.log"


def _hashes(root: Path) -> dict[Path, str]:
    # The package's files; the run's own control files (.lock, .staging) are not in it.
    return {p.relative_to(root): sha256_of(p) for p in sorted(root.rglob("*"))
            if p.is_file() and STAGING not in p.parts and p.name != LOCK}


@pytest.fixture
def package(study_build, tmp_path: Path) -> Path:
    out = tmp_path / "build"
    shutil.copytree(study_build.out, out)
    return out


def test_killed_run_leaves_the_previous_package_and_the_next_run_completes(
        package: Path) -> None:
    before = _hashes(package)
    assert Path("sdtm/dm.xpt") in before and Path("tlf/ard.csv") in before
    entry = "import sys; from trialflow.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", entry, "run", "--out", str(package)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    staged_sdtm = package / STAGING / "sdtm"
    deadline = time.monotonic() + 300
    while not staged_sdtm.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it was killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (package / STAGING).exists()
    assert _hashes(package) == before

    assert main(["run", "--out", str(package)]) == 0
    assert not (package / STAGING).exists()
    after = _hashes(package)
    # Same seed, same bytes: datasets, ARD, define files and documents alike.
    assert {k: v for k, v in after.items() if k != RUN_LOG} == \
        {k: v for k, v in before.items() if k != RUN_LOG}
    log = (package / RUN_LOG).read_text()
    assert f"output: sdtm/dm.xpt sha256={after[Path('sdtm/dm.xpt')]}" in log
    assert log.rstrip().endswith("exit code: 0")


def test_failed_run_keeps_the_previous_package(package: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    before = _hashes(package)
    raw = tmp_path / "raw"
    shutil.copytree(package / "raw", raw)
    (raw / "enrol.csv").unlink()
    assert main(["run", "--raw", str(raw), "--out", str(package)]) == 2
    assert _hashes(package) == before
    err = capsys.readouterr().err
    assert "enrol.csv" in err and "left as it was" in err
    assert "status: failed" in (package / STAGING / RUN_LOG).read_text()
