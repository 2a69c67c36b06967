"""The simulator's raw extracts: spec conformance, determinism, per-patient consistency.

These run at a scaled size (no calibration search) so they are quick; the calibrated
study is checked against the publication in tests/reproduction.
"""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crf.simulate import simulate_study, write_raw
from trialflow.rawdata import parse_edc_date, read_forms
from trialflow.spec import load_codelists, load_forms, load_study

N = 300


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    forms = simulate_study(N, seed=5)
    write_raw(forms, out)
    return forms, out


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.glob("*.csv"))}


def _date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(parse_edc_date(s)["iso"], format="%Y-%m-%d", errors="coerce")


def test_every_form_is_written_with_its_spec_columns(written):
    forms, out = written
    specs = load_forms()
    assert set(forms) == set(specs)
    for name, df in forms.items():
        assert list(df.columns) == specs[name].column_names
        assert (out / specs[name].file).exists()


def test_the_raw_reader_finds_nothing_wrong(written):
    _, out = written
    _, findings = read_forms(out, load_forms(), load_codelists())
    assert findings == []


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(written, tmp_path):
    _, out = written
    write_raw(simulate_study(N, seed=5), tmp_path / "again")
    write_raw(simulate_study(N, seed=6), tmp_path / "other")
    assert _digest(out) == _digest(tmp_path / "again")
    assert _digest(out) != _digest(tmp_path / "other")


def test_scaled_study_has_the_requested_number_of_randomised_patients(written):
    forms, _ = written
    assert len(forms["random"]) == N
    assert forms["random"]["SUBJID"].is_unique


def test_dates_follow_each_patient_s_story(written):
    forms, _ = written
    rand = forms["random"].set_index("SUBJID")["RANDDT"]
    rand = pd.Series(_date(rand).to_numpy(), index=rand.index)
    cutoff = pd.Timestamp(load_study().data_cutoff)
    consent = forms["enrol"].set_index("SUBJID")["CONSDT"]
    assert (pd.Series(_date(consent).to_numpy(), index=consent.index) < rand).all()
    ex = forms["exposure"]
    first_dose = pd.Series(_date(ex["STDT"]).to_numpy(), index=ex["SUBJID"]).groupby(level=0).min()
    assert (first_dose > rand[first_dose.index]).all()
    tu = forms["tumour"]
    tu = tu.assign(date=_date(tu["ASSESSDT"]).to_numpy())
    post = tu[tu["VISIT"] != "Screening"]
    assert (post["date"].to_numpy() > rand[post["SUBJID"]].to_numpy()).all()
    # nothing is assessed after the progression scan
    pd_date = post[post["OVERALL"] == "PD"].groupby("SUBJID")["date"].min()
    later = post[post["SUBJID"].isin(pd_date.index)]
    assert (later["date"].to_numpy() <= pd_date[later["SUBJID"]].to_numpy()).all()
    sv = forms["survival"]
    death = pd.Series(_date(sv["DTHDT"]).to_numpy(), index=sv["SUBJID"]).dropna()
    assert (death <= cutoff).all()
    prog = pd.concat([pd_date, pd.Series(_date(forms["clinprog"]["PROGDT"]).to_numpy(),
                                         index=forms["clinprog"]["SUBJID"])])
    both = prog[prog.index.isin(death.index)]
    assert (death[both.index].to_numpy() >= both.to_numpy()).all()
    ae = forms["ae"]
    start = _date(ae["STDT"])
    known = start.notna().to_numpy()
    assert (start[known].to_numpy() >= first_dose[ae["SUBJID"][known]].to_numpy()).all()
    assert (start[known] <= cutoff).all()


def test_partial_dates_are_written_as_edc_does(written):
    forms, _ = written
    assert forms["enrol"]["BRTHDT"].str.match(r"^UN-[A-Z]{3}-\d{4}$").all()
    partial = forms["ae"]["STDT"].str.startswith("UN-")
    assert partial.any()


def test_every_itt_patient_has_a_survival_record(written):
    forms, _ = written
    withdrawn = forms["withdrawal"].loc[forms["withdrawal"]["DATAUSE"] == "N", "SUBJID"]
    itt = set(forms["random"]["SUBJID"]) - set(withdrawn)
    assert set(forms["survival"]["SUBJID"]) == itt
    dead = forms["survival"]["STATUS"] == "DEAD"
    assert (forms["survival"].loc[dead, "DTHDT"] != "").all()
    assert np.all(forms["survival"].loc[~dead, "LSTCONDT"] != "")


def test_nothing_is_recorded_after_death_or_last_contact(written):
    forms, _ = written
    sv = forms["survival"]
    ref = pd.Series(_date(sv["LSTCONDT"]).fillna(_date(sv["DTHDT"])).to_numpy(),
                    index=sv["SUBJID"])
    for form, col in (("tumour", "ASSESSDT"), ("exposure", "STDT"), ("ae", "STDT"),
                      ("ae", "ENDT"), ("factb", "QSDT"), ("lvef", "LVEFDT"), ("eot", "EOTDT"),
                      ("clinprog", "PROGDT"), ("nextther", "STDT")):
        f = forms[form]
        when = pd.Series(_date(f[col]).to_numpy(), index=f["SUBJID"]).dropna()
        assert (when.to_numpy() <= ref.reindex(when.index).to_numpy()).all(), (form, col)
