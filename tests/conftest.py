"""Fixtures shared by every test folder.

``study_build`` builds the published study once per test session, exactly as ``make tlf``
does (``trialflow run``: simulate with the subjects and seed of ``specs/study.yaml``, raw
checks, SDTM, ADaM, validate, TLF), into a temporary directory. Tests read it; none may
write into it — a test that needs to change a file copies it first.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def study_build(tmp_path_factory: pytest.TempPathFactory) -> StudyBuild:
    """The calibrated study built once per session (``trialflow run --out DIR``)."""
    out = tmp_path_factory.mktemp("study_build")
    code = main(["run", "--out", str(out)])
    if not (out / "adam" / "adsl.xpt").is_file():
        pytest.fail(f"trialflow run exited {code} without building ADaM in {out}")
    return StudyBuild(code, out)
