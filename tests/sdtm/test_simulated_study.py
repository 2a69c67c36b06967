"""A simulated study through SDTM: every subject, arm, AE, response and questionnaire is
there for the right subjects, every raw record is accounted for, and validation finds no
error. Uses a small simulated study (the calibrated 219-patient one takes a minute)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sdtm import build_sdtm, write_sdtm
from trialflow import SPECS
from trialflow.reconcile import reconcile
from trialflow.spec import (
    load_codelists,
    load_dataset_specs,
    load_dictionary,
    load_forms,
    load_study,
)
from trialflow.validate import validate_directory


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    from crf.simulate import simulate_study
    forms = simulate_study(subjects=80, seed=5)
    raw = {name: frame.astype(str) for name, frame in forms.items() if name in load_forms()}
    specs = load_dataset_specs(SPECS / "sdtm")
    result = build_sdtm(raw, specs, load_codelists(), load_study(), load_dictionary())
    out = tmp_path_factory.mktemp("sdtm")
    write_sdtm(result.datasets, specs, out, load_study().id)
    return raw, result, out, specs


def _subjects(frame: pd.DataFrame) -> set[str]:
    return {u.rsplit("-", 1)[1] for u in frame["USUBJID"]}


def test_dm_has_every_subject_with_the_arm_assigned(study) -> None:
    raw, result, _, _ = study
    dm = result.datasets["DM"]
    assert len(dm) == len(raw["enrol"]) and dm["USUBJID"].is_unique
    arms = raw["random"].set_index("SUBJID")["ARM"]
    planned = dm.set_index("SUBJID")["ARMCD"]
    assert (planned[arms.index] == arms).all()


def test_aes_responses_and_questionnaires_belong_to_the_right_subjects(study) -> None:
    raw, result, _, _ = study
    assert _subjects(result.datasets["AE"]) == set(raw["ae"]["SUBJID"])
    assert len(result.datasets["AE"]) == len(raw["ae"])
    rs = result.datasets["RS"]
    recist = rs[rs["RSCAT"] == "RECIST 1.1"]
    post = raw["tumour"][raw["tumour"]["VISIT"] != "Screening"]
    assert _subjects(recist) == set(post["SUBJID"]) and len(recist) == 4 * len(post)
    assert len(result.datasets["QS"]) == 37 * len(raw["factb"])
    assert _subjects(result.datasets["QS"]) == set(raw["factb"]["SUBJID"])
    assert _subjects(result.datasets["EX"]) == set(raw["exposure"]["SUBJID"])


def test_every_raw_record_is_accounted_for(study) -> None:
    raw, result, _, _ = study
    _, lost = reconcile(raw, result.datasets, result.rejections)
    assert lost == []


def test_simulated_study_validates_with_zero_errors(study) -> None:
    _, result, out, specs = study
    assert [f for f in result.findings if f.severity == "error"] == []
    found, summary = validate_directory(Path(out), specs, load_codelists(), load_study().id)
    assert [f for f in found if f.severity == "error"] == []
    assert summary["spec"].all()
