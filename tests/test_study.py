"""A study is a folder: which one a command works on, the layers it builds from where its
data come in, and clean errors for a missing or empty folder."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from trialflow import SPECS
from trialflow.cli import main
from trialflow.errors import InputError, SpecError, TrialflowError
from trialflow.io import write_csv_atomic
from trialflow.skeleton import write_skeleton
from trialflow.study import ENV, find_study, open_study
from trialflow.xpt import read_xpt

REPO = Path(__file__).resolve().parents[1]
PILOT = REPO / "examples" / "cdiscpilot01"
EXTERNAL = REPO.parent / "shared" / "external"


# --------------------------------------------------------------------------- lookup


def test_the_study_flag_wins_over_the_environment_and_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given, env, here = tmp_path / "given", tmp_path / "env", tmp_path / "here"
    for folder in (given, env, here):
        write_skeleton(folder, "sdtm")
    monkeypatch.setenv(ENV, str(env))
    assert find_study(given, cwd=here) == given
    assert find_study(None, cwd=here) == env
    monkeypatch.delenv(ENV)
    assert find_study(None, cwd=here) == here
    assert find_study(None, cwd=tmp_path) == SPECS  # no study.yaml here: the bundled one


def test_the_study_file_itself_names_its_folder(tmp_path: Path) -> None:
    write_skeleton(tmp_path / "s", "sdtm")
    assert find_study(tmp_path / "s" / "study.yaml") == tmp_path / "s"


@pytest.mark.parametrize("make", ["missing", "no_study_yaml"])
def test_a_named_folder_that_is_no_study_is_a_one_line_error(
        make: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "study"
    if make == "no_study_yaml":
        folder.mkdir()
    with pytest.raises(TrialflowError, match="study.yaml|not found"):
        find_study(folder)
    assert main(["adam", "--study", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(folder) in err and "Traceback" not in err


def test_the_bundled_example_is_precious_and_builds_sdtm_adam_and_tlf() -> None:
    study = open_study(find_study(None, cwd=Path("/")))
    assert study.study.id == "PRECIOUS"
    assert study.layers() == ("sdtm", "adam", "tlf")
    assert study.study.targets is not None and study.study.targets.is_file()
    assert study.study.control_arm is not None and study.study.control_arm.code == "TC"


def test_the_bundled_targets_are_the_shared_reference_copy() -> None:
    shared = REPO.parent / "shared" / "reference" / "precious-targets.yaml"
    if not shared.is_file():
        pytest.skip("the shared reference folder is not beside the repository")
    assert (SPECS / "targets.yaml").read_bytes() == shared.read_bytes()


# --------------------------------------------------------------------------- layers


def test_a_study_from_sdtm_builds_adam_only(tmp_path: Path) -> None:
    write_skeleton(tmp_path / "s", "sdtm")
    assert open_study(tmp_path / "s").layers() == ("adam",)


def test_a_layer_missing_between_two_is_a_spec_error(tmp_path: Path) -> None:
    write_skeleton(tmp_path / "s", "raw")
    shutil.rmtree(tmp_path / "s" / "sdtm")
    with pytest.raises(SpecError, match="no sdtm/ specs before them"):
        open_study(tmp_path / "s").layers()


def test_a_study_with_nothing_to_build_is_a_spec_error(tmp_path: Path) -> None:
    write_skeleton(tmp_path / "s", "sdtm")
    shutil.rmtree(tmp_path / "s" / "adam")
    with pytest.raises(SpecError, match="nothing to build"):
        open_study(tmp_path / "s").layers()


def test_an_empty_spec_folder_is_an_error_not_an_empty_result(tmp_path: Path) -> None:
    write_skeleton(tmp_path / "s", "raw")
    for f in (tmp_path / "s" / "raw").iterdir():
        f.unlink()
    study = open_study(tmp_path / "s")
    with pytest.raises(InputError, match="raw spec folder is empty"):
        study.forms()


@pytest.mark.parametrize("argv", [["check-raw", "--raw", "{empty}"],
                                  ["sdtm", "--raw", "{empty}"],
                                  ["adam", "--sdtm", "{missing}"],
                                  ["validate", "--data", "{empty}"]])
def test_a_missing_or_empty_input_folder_is_exit_2(argv: list[str], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", missing=tmp_path / "missing") for a in argv]
    assert main([*args, "--reports" if argv[0] != "adam" else "--out",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and ("empty" in err or "not found" in err or
                                       "no .xpt" in err)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_study_input_inside_the_output_is_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    write_skeleton(tmp_path / "s", "raw")
    assert main(["run", "--study", str(tmp_path / "s"), "--out", str(tmp_path / "s")]) == 2
    assert "inside the output folder" in capsys.readouterr().err
    assert (tmp_path / "s" / "data" / "raw" / "demog.csv").is_file()


# --------------------------------------------------------------------------- entry layers


def _parts(out: Path) -> set[str]:
    """The package's parts (not the run's own .lock)."""
    return {p.name for p in out.iterdir() if not p.name.startswith(".")}


def test_init_raw_then_run_builds_sdtm_adam_define_from_the_sample_forms(
        tmp_path: Path) -> None:
    folder = tmp_path / "s1"
    assert main(["init", str(folder)]) == 0
    out = tmp_path / "build"
    assert main(["run", "--study", str(folder), "--out", str(out)]) == 0
    assert _parts(out) == {"sdtm", "adam", "define", "reports"}
    adsl = read_xpt(out / "adam" / "adsl.xpt").data
    # By hand from data/raw: 1002 first dosed 08-JAN-2024 (SAS day 23383), last dose
    # 10-MAR-2024 (23445): 63 days; age 67 -> ">=65".
    row = adsl.set_index("SUBJID").loc["1002"]
    assert (row["TRTSDT"], row["TRTEDT"], row["TRTDURD"]) == (23383, 23445, 63)
    assert (row["AGEGR1"], row["TRT01P"], row["TRT01PN"]) == (">=65", "Drug 10 mg", 2)
    adae = read_xpt(out / "adam" / "adae.xpt").data.set_index(["USUBJID", "AESEQ"])
    # The nausea of 1002 started UN-JAN-2024: the first of January, but not before the
    # first dose (08-JAN-2024), so ASTDT = TRTSDT, day 1, flagged D.
    nausea = adae.loc[("MYSTUDY01-101-1002", 1)]
    assert (nausea["ASTDT"], nausea["ASTDTF"], nausea["ASTDY"], nausea["TRTEMFL"]) == \
        (23383, "D", 1, "Y")
    # 1003's headache of 11-JAN-2024 came before the first dose (12-JAN): not emergent.
    assert adae.loc[("MYSTUDY01-102-1003", 1), "TRTEMFL"] == ""
    log = (out / "reports" / "run.log").read_text()
    assert "[stage check-raw]" in log and "[stage simulate]" not in log


def test_init_sdtm_then_run_builds_adam_from_dataset_json(tmp_path: Path) -> None:
    folder = tmp_path / "s2"
    assert main(["init", str(folder), "--from", "sdtm"]) == 0
    out = tmp_path / "build"
    assert main(["run", "--study", str(folder), "--out", str(out)]) == 0
    assert _parts(out) == {"adam", "define", "reports"}
    assert len(read_xpt(out / "adam" / "adsl.xpt").data) == 4


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path / "s")]) == 2
    assert "not an empty folder" in capsys.readouterr().err


def test_a_study_from_adam_renders_its_outputs_only(study_build, tmp_path: Path) -> None:
    """PRECIOUS's TLF specs over the ADaM of the session's build, as a study that starts
    from ADaM: the run is the tlf stage alone and gives the same ARD."""
    folder = tmp_path / "from_adam"
    folder.mkdir()
    shutil.copytree(SPECS / "tlf", folder / "tlf")
    shutil.copy(SPECS / "targets.yaml", folder / "targets.yaml")
    text = (SPECS / "study.yaml").read_text(encoding="utf-8")
    text = text.replace("inputs: {layer: raw}",
                        f"inputs: {{layer: adam, sources: [{{path: {study_build.out / 'adam'}}}]}}")
    text = text.replace("  simulation: simulation.yaml\n", "")
    (folder / "study.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "build"
    assert main(["run", "--study", str(folder), "--out", str(out)]) == 0
    assert _parts(out) == {"tlf", "reports"}
    assert (out / "tlf" / "ard.csv").read_bytes() == \
        (study_build.out / "tlf" / "ard.csv").read_bytes()
    assert (out / "tlf" / "reproduction.xlsx").is_file()


def test_without_declared_targets_there_is_no_reproduction_report(study_build,
                                                                  tmp_path: Path,
                                                                  capsys) -> None:
    folder = tmp_path / "no_targets"
    folder.mkdir()
    shutil.copytree(SPECS / "tlf", folder / "tlf")
    text = (SPECS / "study.yaml").read_text(encoding="utf-8")
    text = text.replace("inputs: {layer: raw}",
                        f"inputs: {{layer: adam, sources: [{{path: {study_build.out / 'adam'}}}]}}")
    text = text.replace("  simulation: simulation.yaml\n", "").replace(
        "  targets: targets.yaml\n", "")
    (folder / "study.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "build"
    assert main(["run", "--study", str(folder), "--out", str(out)]) == 0
    assert not (out / "tlf" / "reproduction.xlsx").exists()
    assert "reproduction:" not in capsys.readouterr().out


@pytest.mark.skipif(not (EXTERNAL / "cdiscpilot01").is_dir(),
                    reason="the CDISC pilot data are not beside the repository")
def test_the_pilot_starts_from_its_own_sdtm_and_builds_adsl(tmp_path: Path) -> None:
    out = tmp_path / "pilot"
    assert main(["run", "--study", str(PILOT), "--out", str(out)]) == 0
    adsl = read_xpt(out / "adam" / "adsl.xpt").data
    reference = read_xpt(EXTERNAL / "cdiscpilot01" / "adam" / "adsl.xpt").data
    assert sorted(adsl["USUBJID"]) == sorted(reference["USUBJID"])  # 254 randomised
    both = adsl.merge(reference, on="USUBJID", suffixes=("", "_ref"))
    for var in ("TRT01P", "TRT01PN", "TRTSDT", "AGEGR1", "EDUCLVL", "DISONSDT",
                "VISIT1DT"):
        pd.testing.assert_series_equal(both[var], both[f"{var}_ref"], check_names=False)


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_get_the_permissions_of_the_umask(umask: int, mode: int,
                                                  tmp_path: Path) -> None:
    old = os.umask(umask)
    try:
        path = write_csv_atomic(pd.DataFrame({"A": [1]}), tmp_path / "x.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_python_dash_m_trialflow_is_the_command_line() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "trialflow", "--version"],
                          capture_output=True, text=True, cwd="/")
    assert done.returncode == 0 and done.stdout.startswith("trialflow ")


def test_raw_forms_exported_by_sas_map_as_their_csv_would(tmp_path: Path) -> None:
    """demog as a SAS transport file (dates as SAS dates with DATE9., numbers as
    numbers) instead of demog.csv: the same SDTM, byte for byte."""
    import pyreadstat

    folder = tmp_path / "s"
    write_skeleton(folder, "raw")
    assert main(["run", "--study", str(folder), "--out", str(tmp_path / "csv")]) == 0
    csv_path = folder / "data" / "raw" / "demog.csv"
    frame = pd.read_csv(csv_path, dtype=str)
    for col in ("CONSDT", "RANDDT"):
        frame[col] = pd.to_datetime(frame[col], format="%d-%b-%Y").dt.date
    frame["AGE"] = frame["AGE"].astype(float)
    pyreadstat.write_xport(frame, str(csv_path.with_suffix(".xpt")),
                           variable_format={"CONSDT": "DATE9.", "RANDDT": "DATE9."})
    csv_path.unlink()
    assert main(["run", "--study", str(folder), "--out", str(tmp_path / "xpt")]) == 0
    for name in ("dm.xpt", "ae.xpt", "ex.xpt"):
        assert (tmp_path / "xpt" / "sdtm" / name).read_bytes() == \
            (tmp_path / "csv" / "sdtm" / name).read_bytes()
