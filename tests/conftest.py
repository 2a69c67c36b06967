"""Fixtures shared by every test folder.

``study_build`` builds the published study once per test run (shared by the workers of
``pytest -n``), exactly as ``make tlf`` does (``trialflow run``: simulate with the
subjects and seed of ``specs/study.yaml``, raw checks, SDTM, ADaM, validate, TLF), into
a temporary directory. Tests read it; none may
write into it — a test that needs to change a file copies it first.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from trialflow.cli import main

#: The publication's numbers, outside the repository (``../shared/reference``).
TARGETS = Path(__file__).resolve().parents[2] / "shared" / "reference" / \
    "precious-targets.yaml"


@dataclass(frozen=True)
class StudyBuild:
    """The result of one ``trialflow run``: its exit code and its output directory."""

    code: int
    out: Path


#: Fixtures that build or simulate the calibrated study (tens of seconds each).
SLOW_FIXTURES = {"study_build", "raw_dir", "installed", "package"}
#: Test modules that run whole studies or simulations on their own.
SLOW_MODULES = {"test_installed.py", "test_run_package.py", "test_calibrated_determinism.py",
                "test_calibration.py", "test_bench.py", "test_simulated_study.py",
                "test_adam_build.py", "test_cli_sdtm.py", "test_reuse.py"}
#: Single tests that run a whole (stub) study.
SLOW_TESTS = {"test_simulate_wiring_with_stub_simulator"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds or simulates a whole study; "
                            "`make test-fast` leaves these out")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that build or simulate a whole study as slow: `make test` runs
    everything, `make test-fast` (-m 'not slow') the rest, for the edit-test loop."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES or item.path.name in SLOW_MODULES \
                or item.originalname in SLOW_TESTS \
                or "robustness" in item.path.parts or "qc" in item.path.parts \
                or "reproduction" in item.path.parts:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def study_build(tmp_path_factory: pytest.TempPathFactory) -> StudyBuild:
    """The calibrated study built once per test run (``trialflow run --out DIR``).

    With ``pytest -n`` (pytest-xdist, as ``make test`` runs) the workers share one build:
    the first to need it builds it under a lock in the run's common temporary folder,
    the others wait for it and read it.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return _build_study(tmp_path_factory.mktemp("study_build"))
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, one per run
    with open(shared / "study_build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = shared / "study_build"
        code_file = out / ".exit-code"
        if code_file.is_file():
            return StudyBuild(int(code_file.read_text()), out)
        build = _build_study(out)
        code_file.write_text(str(build.code))
        return build


def _build_study(out: Path) -> StudyBuild:
    code = main(["run", "--out", str(out)])
    if not (out / "adam" / "adsl.xpt").is_file():
        pytest.fail(f"trialflow run exited {code} without building ADaM in {out}")
    return StudyBuild(code, out)
