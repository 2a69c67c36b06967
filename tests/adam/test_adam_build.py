"""The ADaM stage end to end: raw extract -> SDTM -> ADaM -> files -> validation.

* the three-patient extract of tests/sdtm/sdtm_tiny.py through the command line
  (``trialflow sdtm``, ``trialflow adam``, ``trialflow validate``);
* a small simulated study (80 subjects) in memory: every dataset built, consistent and
  valid.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from adam import STANDARD_OID, build_adam, write_adam
from sdtm import build_sdtm, write_sdtm
from trialflow import SPECS
from trialflow.cli import main
from trialflow.package import write_datasets
from trialflow.spec import (
    load_codelists,
    load_dataset_specs,
    load_dictionary,
    load_forms,
    load_study,
)
from trialflow.validate import validate_directory
from trialflow.xpt import read_xpt

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parents[2] / "shared" / "external" / "schemas" / "dataset.schema.json"
ADAM = {"adsl", "adrs", "adqs", "adae", "adtte"}


def _sdtm_tiny():
    """tests/sdtm/sdtm_tiny.py (the module pytest may already have imported)."""
    if "sdtm_tiny" not in sys.modules:
        spec = importlib.util.spec_from_file_location("sdtm_tiny",
                                                      HERE.parent / "sdtm" / "sdtm_tiny.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["sdtm_tiny"] = module
        spec.loader.exec_module(module)
    return sys.modules["sdtm_tiny"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("build")
    raw = root / "raw"
    raw.mkdir()
    forms = load_forms()
    for name, frame in _sdtm_tiny().raw_forms().items():
        frame.to_csv(raw / forms[name].file, index=False, lineterminator="\n")
    assert main(["sdtm", "--raw", str(raw), "--out", str(root / "sdtm"),
                 "--reports", str(root / "reports")]) == 0
    assert main(["adam", "--sdtm", str(root / "sdtm"), "--out", str(root / "adam"),
                 "--reports", str(root / "reports")]) == 0
    return root


def test_adam_writes_the_five_datasets_as_xpt_and_dataset_json(tiny: Path) -> None:
    assert {p.stem for p in (tiny / "adam").glob("*.xpt")} == ADAM
    assert {p.stem for p in (tiny / "adam").glob("*.json")} == ADAM
    findings = pd.read_csv(tiny / "reports" / "adam_findings.csv")
    assert findings.empty


def test_validate_finds_no_errors_in_sdtm_and_adam(tiny: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data", str(tiny / "sdtm"), "--data", str(tiny / "adam"),
                 "--reports", str(tiny / "reports")]) == 0
    out = capsys.readouterr().out
    assert "validation: 26 datasets, 0 errors" in out
    table = pd.read_excel(tiny / "reports" / "validation.xlsx", sheet_name="datasets")
    assert table["spec"].all() and set(ADAM) <= set(table["dataset"].str.lower())


def test_the_tiny_study_in_adam(tiny: Path) -> None:
    adsl = read_xpt(tiny / "adam" / "adsl.xpt").data.set_index("SUBJID").loc[
        ["0001", "0002", "0003"]]
    # 0002 was randomised to TC but given pertuzumab; 0003 withdrew consent to data use
    assert adsl.loc["0002", ["TRT01P", "TRT01A"]].tolist() == ["TC", "PTC"]
    assert adsl["ITTFL"].tolist() == ["Y", "Y", "N"]
    assert adsl["FASFL"].tolist() == ["Y", "N", "N"]          # 0002: eligibility deviation
    assert adsl["SAFFL"].tolist() == ["Y", "Y", "N"]
    tte = read_xpt(tiny / "adam" / "adtte.xpt").data
    pfs = tte[tte["PARAMCD"] == "PFS"].set_index("USUBJID")
    assert pfs.loc["PRECIOUS-102-0002", "EVNTDESC"] == "Clinical progression"
    ae = read_xpt(tiny / "adam" / "adae.xpt").data
    assert ae["TRTEMFL"].tolist() == ["Y", "Y"]


@pytest.mark.skipif(not SCHEMA.is_file(), reason="Dataset-JSON schema not available")
def test_adam_dataset_json_is_valid_and_holds_the_xpt_dates(tiny: Path) -> None:
    import jsonschema
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for name in sorted(ADAM):
        doc = json.loads((tiny / "adam" / f"{name}.json").read_text(encoding="utf-8"))
        jsonschema.validate(doc, schema)
        data = read_xpt(tiny / "adam" / f"{name}.xpt").data
        assert doc["records"] == len(data)
        for i, col in enumerate(doc["columns"]):
            if col["dataType"] == "date":
                iso = (pd.Timestamp("1960-01-01") + pd.to_timedelta(data[col["name"]], "D")
                       ).dt.strftime("%Y-%m-%d").where(data[col["name"]].notna(), None)
                assert [r[i] for r in doc["rows"]] == iso.tolist(), (name, col["name"])


def test_adam_without_sdtm_exits_2_without_traceback(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adam", "--sdtm", str(tmp_path / "none"), "--out", str(tmp_path / "a"),
                 "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adam", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: trialflow adam" in out and "adam_findings.csv" in out


# --------------------------------------------------------------------------- simulated


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    from crf.simulate import simulate_study
    forms = simulate_study(subjects=80, seed=5)
    raw = {name: frame.astype(str) for name, frame in forms.items() if name in load_forms()}
    study = load_study()
    sdtm_specs = load_dataset_specs(SPECS / "sdtm")
    sdtm = build_sdtm(raw, sdtm_specs, load_codelists(), study, load_dictionary())
    out = tmp_path_factory.mktemp("sdtm")
    write_sdtm(sdtm.datasets, sdtm_specs, out, study.id)
    frames = {name: read_xpt(p).data for name in sdtm.datasets
              for p in [out / f"{name.lower()}.xpt"]}
    specs = load_dataset_specs(SPECS / "adam")
    adam = build_adam(frames, specs, study, sdtm_specs)
    adam_dir = tmp_path_factory.mktemp("adam")
    _, written = write_adam(adam, specs, adam_dir, study.id)
    return frames, adam, adam_dir, specs, written


def test_simulated_study_adam_validates_with_zero_errors(simulated) -> None:
    _, _, adam_dir, specs, written = simulated
    assert [f for f in written if f.severity == "error"] == []
    found, summary = validate_directory(adam_dir, specs, load_codelists(), load_study().id)
    assert [f for f in found if f.severity == "error"] == []
    assert set(summary["dataset"]) == {n.upper() for n in ADAM}


def test_simulated_study_adam_is_consistent(simulated) -> None:
    sdtm, adam, _, _, _ = simulated
    adsl = adam["ADSL"]
    randomised = sdtm["DS"].loc[sdtm["DS"]["DSDECOD"] == "RANDOMIZED", "USUBJID"]
    assert sorted(adsl["USUBJID"]) == sorted(randomised) and adsl["USUBJID"].is_unique
    tte = adam["ADTTE"]
    for paramcd in ("PFS", "OS"):
        assert sorted(tte.loc[tte["PARAMCD"] == paramcd, "USUBJID"]) == sorted(
            adsl["USUBJID"])
    assert (tte["ADT"] >= tte["STARTDT"]).all() and (tte["AVAL"] >= 1).all()
    rsp = adam["ADRS"].query("PARAMCD == 'RSP' and AVALC == 'Y'")["USUBJID"]
    assert sorted(tte.loc[tte["PARAMCD"] == "DOR", "USUBJID"]) == sorted(rsp)
    ttd = tte.loc[tte["PARAMCD"] == "TTDBTOI", "USUBJID"]
    assert sorted(ttd) == sorted(adsl.loc[adsl["QOLFL"] == "Y", "USUBJID"])
    bor = adam["ADRS"].query("PARAMCD == 'BOR'")
    assert len(bor) == len(adsl)
    assert len(adam["ADAE"]) == len(sdtm["AE"])
    assert (adsl.loc[adsl["SAFFL"] == "Y", "ITTFL"] == "Y").all()
    assert (adsl.loc[adsl["FASFL"] == "Y", "ITTFL"] == "Y").all()


def test_adam_text_handed_to_the_writer_as_categoricals_changes_no_byte(
        simulated, tmp_path: Path) -> None:
    _, adam, adam_dir, specs, _ = simulated
    write_datasets(adam, specs, tmp_path, load_study().id, STANDARD_OID)  # text as text
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in adam_dir.iterdir())
    for path in tmp_path.iterdir():
        assert path.read_bytes() == (adam_dir / path.name).read_bytes(), path.name


def test_an_empty_study_gives_empty_datasets_without_error() -> None:
    """A study with no records yet (an EDC export with headers only)."""
    sdtm_specs = load_dataset_specs(SPECS / "sdtm")
    empty = {name: pd.DataFrame({v.name: pd.Series(dtype=object if v.type == "Char"
                                                   else "float64") for v in s.variables})
             for name, s in sdtm_specs.items()}
    specs = load_dataset_specs(SPECS / "adam")
    adam = build_adam(empty, specs, load_study(), sdtm_specs)
    assert {n: len(d) for n, d in adam.items()} == {n.upper(): 0 for n in
                                                    ("adsl", "adrs", "adqs", "adae", "adtte")}
    for name, data in adam.items():
        assert list(data.columns) == specs[name].variable_names
