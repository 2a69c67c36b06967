"""The spec contract: every shipped spec validates against the published JSON Schema
and names it on its first line; the schemas are what the code would write; a misspelt
key, a wrong type or an unknown verb in an ADaM spec is one line naming the file, the
step and what is allowed (exit 2)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from trialflow.cli import main
from trialflow.cli.schema import SCHEMAS, json_schemas
from trialflow.skeleton import write_skeleton

REPO = Path(__file__).resolve().parents[1]
KIND = {"raw": "form", "ct": "codelist", "dictionary": "dictionary", "sdtm": "dataset",
        "adam": "dataset", "tlf": "output", "tlf/analyses": "analyses",
        "tlf/reproduction": "reproduction"}
HEADER = re.compile(r"^# yaml-language-server: \$schema=(\S+)\n")


def _study_specs(root: Path) -> list[tuple[Path, str]]:
    found = [(root / "study.yaml", "study")]
    for folder, kind in KIND.items():
        found += [(p, kind) for p in sorted((root / folder).glob("*.yaml"))]
    return [(p, k) for p, k in found if p.is_file()]


def _skeleton(tmp_path_factory: pytest.TempPathFactory, start: str) -> Path:
    folder = tmp_path_factory.mktemp(f"init_{start}") / "study"
    write_skeleton(folder, start)
    return folder


STUDIES = [REPO / "specs", *sorted(p for p in (REPO / "examples").iterdir() if p.is_dir())]
SPECS = [(p, k) for root in STUDIES for p, k in _study_specs(root)]


def _jsonable(value: Any) -> Any:
    """YAML as JSON reads it: dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def test_the_published_schemas_are_what_the_code_writes() -> None:
    written = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    assert written == json_schemas(), "run `trialflow schema` and commit trialflow/schemas"


@pytest.mark.parametrize(("path", "kind"), SPECS,
                         ids=[str(p.relative_to(REPO)) for p, _ in SPECS])
def test_every_shipped_spec_validates_against_its_schema_and_names_it(path: Path,
                                                                       kind: str) -> None:
    text = path.read_text(encoding="utf-8")
    header = HEADER.match(text)
    assert header, f"{path} does not name its schema on its first line"
    assert (path.parent / header.group(1)).resolve() == (SCHEMAS / f"{kind}.schema.json")
    schema = yaml.safe_load((SCHEMAS / f"{kind}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(_jsonable(yaml.safe_load(text)))


@pytest.mark.parametrize("start", ["raw", "sdtm"])
def test_an_initialised_study_carries_its_schemas_and_validates(
        start: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = _skeleton(tmp_path_factory, start)
    for path, kind in _study_specs(folder):
        text = path.read_text(encoding="utf-8")
        target = (path.parent / HEADER.match(text).group(1)).resolve()
        assert target == (folder / ".schemas" / f"{kind}.schema.json").resolve()
        schema = yaml.safe_load(target.read_text())
        jsonschema.Draft202012Validator(schema).validate(_jsonable(yaml.safe_load(text)))


def test_the_schema_catches_a_misspelt_verb_parameter() -> None:
    schema = yaml.safe_load((SCHEMAS / "dataset.schema.json").read_text())
    doc = _jsonable(yaml.safe_load(
        (REPO / "trialflow/templates/common/adam/adsl.yaml").read_text()))
    doc["derivation"]["steps"][0]["treatment"]["newvar"] = "X"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(doc)


# --------------------------------------------------------------------------- at run time


def _break(folder: Path, old: str, new: str) -> None:
    path = folder / "adam" / "adsl.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("old", "new", "says"), [
    ("new_var: TRT01P, source: ARMCD", "newvar: TRT01P, source: ARMCD",
     "step 1 (treatment): newvar: unknown field (did you mean new_var? allowed: match, "
     "new_var, number, source, value)"),
    ("- dt: {source: TRTSDTC", "- dte: {source: TRTSDTC",
     "step 4 (dte): unknown verb 'dte' (did you mean dt? allowed: analysis_windows, assign, "),
    ("mode: first, new_vars: {TRTSDTC", "mode: 1, new_vars: {TRTSDTC",
     "step 2 (merge): mode: must be of string type"),
    ("start: {dataset: DM}", "start: {dataset: DM}\n  stepz: []",
     "derivation.stepz: unknown field (did you mean steps? allowed: "),
    ("condition: {ARMCD: {present: true}}", "condition: {ARMCD: {presnt: true}}",
     "unknown operator 'presnt'"),
    ("inputs: [DM, EX]", "inputs: [DM]", "step 2 (merge): reads EX, which is not under "
     "derivation.inputs"),
])
def test_a_broken_adam_spec_is_one_line_naming_file_step_and_what_is_allowed(
        old: str, new: str, says: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "s"
    write_skeleton(folder, "sdtm")
    _break(folder, old, new)
    assert main(["adam", "--study", str(folder), "--out", str(tmp_path / "adam")]) == 2
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if x.startswith("trialflow:")][-1]
    assert f"{folder / 'adam' / 'adsl.yaml'}" in line and says in line, line
    assert "Traceback" not in err and not (tmp_path / "adam").exists()


def test_a_variable_the_data_lack_is_one_line_naming_the_step(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "s"
    write_skeleton(folder, "sdtm")
    _break(folder, "new_vars: {TRTSDTC: EXSTDTC}", "new_vars: {TRTSDTC: EXSTDAT}")
    assert main(["adam", "--study", str(folder), "--out", str(tmp_path / "adam")]) == 2
    err = capsys.readouterr().err
    assert "ADSL step 2 (merge): EX has no variable EXSTDAT" in err and "Traceback" not in err


def test_schema_command_writes_the_files(tmp_path: Path) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    assert sorted(os.listdir(tmp_path)) == sorted(json_schemas())
