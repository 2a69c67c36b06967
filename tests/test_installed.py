"""The installed package: a wheel built from the repository, installed (not editable)
into a folder of its own, works from a directory that is not the repository — the
bundled example study and the standards travel with it.

The wheel is built once per session with pip (its build backend fetched as pip does);
the installed trialflow is imported from that folder first (PYTHONPATH), the other
dependencies from the test environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(wheels), str(REPO)], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.fail(f"pip wheel failed: {built.stderr[-2000:]}")
    (wheel,) = wheels.glob("trialflow-*.whl")
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                           "--target", str(target), str(wheel)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return target


def _run(site: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "trialflow", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_the_wheel_carries_the_example_study_the_standards_and_the_licence(
        installed: Path) -> None:
    package = installed / "trialflow"
    assert (package / "examples" / "precious" / "study.yaml").is_file()
    assert len(list((package / "examples" / "precious" / "sdtm").glob("*.yaml"))) == 21
    assert (package / "standards" / "ct" / "ny.yaml").is_file()
    assert (package / "templates" / "raw" / "data" / "raw" / "demog.csv").is_file()
    (info,) = installed.glob("trialflow-*.dist-info")
    meta = (info / "METADATA").read_text()
    assert "License-Expression: Apache-2.0" in meta and "lifelines" not in meta
    assert (info / "licenses" / "LICENSE").is_file()


def test_init_and_run_work_from_outside_the_repository(installed: Path,
                                                       tmp_path: Path) -> None:
    where = _run(installed, tmp_path, "--version")
    assert where.returncode == 0
    probe = subprocess.run([sys.executable, "-c", "import trialflow; print(trialflow.SPECS)"],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(installed)},
                           capture_output=True, text=True)
    assert probe.stdout.strip().startswith(str(installed)), probe.stdout
    assert _run(installed, tmp_path, "init", "s1").returncode == 0
    done = _run(installed, tmp_path, "run", "--study", "s1", "--out", "b1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "b1" / "adam" / "adsl.xpt").is_file()


def test_the_bundled_study_runs_from_the_installed_package(installed: Path, study_build,
                                                            tmp_path: Path) -> None:
    """No study named, no study.yaml here: PRECIOUS, from the package's own specs. The
    raw forms of the session's build are given (simulating them again takes 20 s; the
    simulator is tested from the package below)."""
    done = _run(installed, tmp_path, "run", "--raw", str(study_build.out / "raw"),
                "--out", "b")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reproduction: 240/241" in done.stdout
    for name in ("adsl.xpt", "adtte.xpt"):
        assert (tmp_path / "b" / "adam" / name).read_bytes() == \
            (study_build.out / "adam" / name).read_bytes()
    sim = _run(installed, tmp_path, "simulate", "--subjects", "60", "--seed", "3", "--out",
               "raw60")
    assert sim.returncode == 0, sim.stderr[-2000:]
    assert len(list((tmp_path / "raw60").glob("*.csv"))) == 15


def test_a_wheel_has_no_test_or_development_files(installed: Path) -> None:
    assert not (installed / "tests").exists()
    names = {p.name for p in installed.iterdir()}
    assert {"trialflow", "adam", "sdtm", "tlf", "crf"} <= names
