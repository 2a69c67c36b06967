"""The typed simulation configuration: what specs/simulation.yaml holds, and one-line
errors naming the file and the key when it is wrong."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from crf.config import SimulationConfig, load_config
from trialflow import SPECS
from trialflow.errors import SpecError


def test_the_study_configuration_loads_typed() -> None:
    cfg = load_config()
    assert isinstance(cfg, SimulationConfig)
    assert cfg.arms == ("PTC", "TC")
    assert cfg.populations.randomised == (110, 109)
    assert cfg.pfs.events == (90, 94)
    # numbers keep the file's type: integer medians stay integers
    assert cfg.baseline.age.median == (57, 60) and isinstance(cfg.baseline.age.median[0], int)
    assert cfg.response.dor_weibull_shape == 0.7
    # best responses in the file's order (the draw depends on it)
    assert list(cfg.response.counts()) == ["PR", "CR", "SD", "PD", "NE", "MISSING"]
    assert list(cfg.baseline.chemotherapy)[:2] == ["DOCETAXEL", "PACLITAXEL"]
    assert cfg.calibration.follow_up.overall == (14.2, 9.0, 22.2)
    assert cfg.calibration.follow_up.arms["TC"] == (14.2, 8.7, 22.5)
    assert cfg.calibration.dor.median["PTC"] == (8.3, None, 18.2)
    assert str(cfg.enrolment.periods[0][0]) == "2015-08-01"
    assert cfg.eligibility_criteria[0].id == "IN04"


def test_the_configuration_is_frozen() -> None:
    cfg = load_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.pfs.events = (1, 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.baseline.ecog["0"] = (1, 1)  # type: ignore[index]


def _broken(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load((SPECS / "simulation.yaml").read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "simulation.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    (lambda d: d["pfs"].update(evnts=[1, 2]),
     "pfs.evnts: unknown key (expected one of ['events', 'clinical_progression', "
     "'death_without_progression', 'median_months', 'hr_prior'])"),
    (lambda d: d["pfs"].pop("events"), "pfs.events: missing"),
    (lambda d: d["populations"].update(randomised=[110, "many"]),
     "populations.randomised[1]: expected an integer, found 'many'"),
    (lambda d: d["populations"].update(randomised=[110]),
     "populations.randomised: expected 2 values, found 1"),
    (lambda d: d["calibration"]["ttd"]["median"].pop("TC"),
     "calibration.ttd.median: expected one entry per arm ['PTC', 'TC'], found ['PTC']"),
])
def test_a_bad_key_is_one_line_naming_file_and_key(tmp_path: Path, change, message) -> None:
    path = _broken(tmp_path, change)
    with pytest.raises(SpecError) as err:
        load_config(path)
    assert str(err.value) == f"spec {path}: {message}"
    assert "\n" not in str(err.value)
