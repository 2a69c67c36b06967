"""Fixtures of the raw-data reproduction tests: the raw study and the published numbers.

The raw study is the calibrated simulation (219 subjects, the study seed) that the run's
``study_build`` simulated (tests/conftest.py), unless TRIALFLOW_RAW names an existing
directory of raw CSV extracts (e.g. a study simulated earlier, or the EDC export), which
is then read instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trialflow.rawdata import read_forms
from trialflow.spec import load_codelists, load_forms

from .raw_analysis import DEFAULT_TARGETS, Row, load_targets, reproduce

#: Subjects of the published study (110 + 109 randomised).
STUDY_SUBJECTS = 219


@pytest.fixture(scope="session")
def raw_dir(request: pytest.FixtureRequest) -> Path:
    """Directory of raw CSV extracts: $TRIALFLOW_RAW if it exists, else the raw extracts
    of the run's calibrated study (``study_build``: the study's subjects and seed, built
    once per test run and shared)."""
    given = os.environ.get("TRIALFLOW_RAW")
    if given and Path(given).is_dir():
        return Path(given)
    # Asked for here, not as an argument, so that TRIALFLOW_RAW needs no build.
    build = request.getfixturevalue("study_build")
    subjects = json.loads((build.out / "raw" / "simulation.json").read_text())["subjects"]
    assert subjects == STUDY_SUBJECTS, "the study's subjects are the published study's"
    return build.out / "raw"


@pytest.fixture(scope="session")
def raw_forms(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """All raw forms as text, read and checked by the project's raw reader."""
    frames, _findings = read_forms(raw_dir, load_forms(), load_codelists())
    return frames


@pytest.fixture(scope="session")
def targets() -> dict[str, Any]:
    """The published numbers (precious-targets.yaml; TRIALFLOW_TARGETS overrides the path)."""
    path = Path(os.environ.get("TRIALFLOW_TARGETS") or DEFAULT_TARGETS)
    if not path.is_file():
        pytest.skip(f"published targets not found at {path} (set TRIALFLOW_TARGETS)")
    return load_targets(path)


@pytest.fixture(scope="session")
def rows(raw_forms: dict[str, pd.DataFrame], targets: dict[str, Any]) -> list[Row]:
    """The comparison of every covered published number with its reproduction."""
    return reproduce(raw_forms, targets)
