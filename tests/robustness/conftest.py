"""The one simulated raw extract every bad-input case starts from."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialflow.cli import main

#: Small but complete: every form has records. (30 subjects with seed 7 stops the
#: simulator: too few grade >= 3 events for the calibrated dose reductions.)
SUBJECTS, SEED = 60, 7


@pytest.fixture(scope="session")
def raw_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trialflow simulate --subjects 60 --seed 7``, once per session. Read only: a case
    copies it before breaking it."""
    out = tmp_path_factory.mktemp("extract") / "raw"
    code = main(["simulate", "--subjects", str(SUBJECTS), "--seed", str(SEED),
                 "--out", str(out)])
    assert code == 0 and (out / "enrol.csv").is_file()
    return out
