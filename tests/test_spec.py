"""Spec loader: every broken spec stops with a message naming file, dataset and variable."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from trialflow import SPECS
from trialflow.errors import SpecError
from trialflow.spec import (
    load_codelist,
    load_codelists,
    load_dataset_spec,
    load_form,
    load_forms,
    load_study,
    read_yaml,
)

DATASET: dict[str, Any] = {
    "dataset": {"name": "DM", "label": "Demographics", "class": "SPECIAL PURPOSE",
                "structure": "One record per subject", "standard": "SDTMIG 3.4",
                "keys": ["USUBJID"], "sort": ["USUBJID"]},
    "variables": [
        {"name": "USUBJID", "label": "Unique Subject Identifier", "type": "Char",
         "length": 30, "origin": "Derived", "method": "MT.USUBJID", "mandatory": True},
        {"name": "AGE", "label": "Age", "type": "Num", "length": 8, "origin": "Collected",
         "source": "enrol.AGE", "mandatory": False},
    ],
    "methods": [{"id": "MT.USUBJID", "description": "STUDYID-SITEID-SUBJID"}],
}

CODELIST: dict[str, Any] = {
    "codelist": {"id": "NY", "name": "No Yes Response", "nci_code": "C66742",
                 "extensible": False, "data_type": "text"},
    "terms": [
        {"submission_value": "N", "decode": "No", "synonyms": ["no"]},
        {"submission_value": "Y", "decode": "Yes", "synonyms": ["yes"]},
    ],
}

FORM: dict[str, Any] = {
    "form": {"name": "demo", "label": "Demo", "file": "demo.csv", "keys": ["SUBJID"],
             "repeating": False},
    "columns": [
        {"name": "SUBJID", "label": "Subject number", "type": "text", "required": True},
        {"name": "AGE", "label": "Age", "type": "integer"},
    ],
}


def _write(tmp_path: Path, doc: Any, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False),
                    encoding="utf-8")
    return path


def _dataset_error(tmp_path: Path, doc: dict[str, Any]) -> SpecError:
    path = _write(tmp_path, doc)
    with pytest.raises(SpecError) as info:
        load_dataset_spec(path)
    assert str(path) in str(info.value)
    return info.value


def _variant() -> dict[str, Any]:
    return copy.deepcopy(DATASET)


def test_valid_dataset_spec_loads(tmp_path: Path) -> None:
    spec = load_dataset_spec(_write(tmp_path, DATASET))
    assert spec.variable_names == ["USUBJID", "AGE"]


def test_invalid_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path, "dataset: {name: DM\nvariables: [")
    with pytest.raises(SpecError, match="invalid YAML") as info:
        load_dataset_spec(path)
    assert str(path) in str(info.value)


def test_unknown_key(tmp_path: Path) -> None:
    doc = _variant()
    doc["variables"][1]["colour"] = "red"
    err = _dataset_error(tmp_path, doc)
    assert (err.dataset, err.variable) == ("DM", "AGE")
    assert "colour" in str(err) and "unknown field" in str(err)
    assert "dataset DM" in str(err) and "variable AGE" in str(err)


def test_missing_required_field(tmp_path: Path) -> None:
    doc = _variant()
    del doc["variables"][1]["origin"]
    err = _dataset_error(tmp_path, doc)
    assert (err.dataset, err.variable) == ("DM", "AGE")
    assert "origin" in str(err) and "required field" in str(err)


def test_label_over_40_characters(tmp_path: Path) -> None:
    doc = _variant()
    doc["variables"][1]["label"] = "Age at informed consent in completed years"  # 42
    err = _dataset_error(tmp_path, doc)
    assert (err.dataset, err.variable) == ("DM", "AGE")
    assert "label" in str(err) and "max length is 40" in str(err)


def test_derived_variable_without_method(tmp_path: Path) -> None:
    doc = _variant()
    del doc["variables"][0]["method"]
    err = _dataset_error(tmp_path, doc)
    assert (err.dataset, err.variable) == ("DM", "USUBJID")
    assert "Derived variable needs a method" in str(err)


def test_duplicate_variable(tmp_path: Path) -> None:
    doc = _variant()
    doc["variables"].append(copy.deepcopy(doc["variables"][1]))
    err = _dataset_error(tmp_path, doc)
    assert (err.dataset, err.variable) == ("DM", "AGE")
    assert "defined twice" in str(err)


def test_key_not_a_variable(tmp_path: Path) -> None:
    doc = _variant()
    doc["dataset"]["keys"] = ["USUBJID", "VISITNUM"]
    err = _dataset_error(tmp_path, doc)
    assert (err.dataset, err.variable) == ("DM", "VISITNUM")
    assert "not in the dataset" in str(err)


def test_codelist_synonym_mapping_to_two_terms(tmp_path: Path) -> None:
    doc = copy.deepcopy(CODELIST)
    doc["terms"][1]["synonyms"].append("NO ")  # folds to "NO", already the decode of N
    path = _write(tmp_path, doc)
    with pytest.raises(SpecError, match="maps to two terms") as info:
        load_codelist(path)
    assert str(path) in str(info.value) and "dataset NY" in str(info.value)
    assert info.value.dataset == "NY"


def test_raw_form_column_error_names_form_and_column(tmp_path: Path) -> None:
    doc = copy.deepcopy(FORM)
    doc["columns"][1]["type"] = "number"
    path = _write(tmp_path, doc)
    with pytest.raises(SpecError) as info:
        load_form(path)
    assert (info.value.dataset, info.value.variable) == ("demo", "AGE")
    assert str(path) in str(info.value) and "unallowed value number" in str(info.value)


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = _write(tmp_path, f"dataset: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_dataset_spec(path)
    assert not marker.exists()


class _Yaml12SafeLoader(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader with YAML 1.2 booleans (true/false only)."""


_Yaml12SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Yaml12SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def test_fast_loader_reads_every_spec_as_the_pure_python_safe_loader() -> None:
    # read_yaml uses libyaml when PyYAML has it; it must build exactly what the pure-Python
    # safe loader does (with YAML 1.2 booleans, as read_yaml reads them).
    paths = sorted(SPECS.rglob("*.yaml"))
    assert len(paths) > 50
    for path in paths:
        assert read_yaml(path) == yaml.load(path.read_text(encoding="utf-8"),
                                            Loader=_Yaml12SafeLoader), path


def test_yes_no_on_and_off_are_words_not_booleans(tmp_path: Path) -> None:
    """YAML 1.1 read `on:` as True: `{form: enrol, on: [SUBJID]}` lost its key."""
    path = tmp_path / "x.yaml"
    path.write_text("merge: {form: enrol, on: [SUBJID]}\nanswers: [yes, No, off, true, FALSE]\n",
                    encoding="utf-8")
    assert read_yaml(path) == {"merge": {"form": "enrol", "on": ["SUBJID"]},
                               "answers": ["yes", "No", "off", True, False]}


def test_real_study_spec_loads() -> None:
    study = load_study()
    assert study.id == "PRECIOUS"
    assert study.subjects > 0 and study.month_length == 30.4375
    assert {a.code for a in study.arms} == {"PTC", "TC"}


def test_real_raw_form_specs_load() -> None:
    forms = load_forms()
    files = sorted(p.stem for p in (SPECS / "raw").glob("*.yaml"))
    assert sorted(forms) == files
    for form in forms.values():
        assert form.columns and set(form.keys) <= set(form.column_names)


def test_real_raw_forms_name_only_defined_codelists() -> None:
    codelists = load_codelists()
    used = {(f.name, c.name, c.codelist) for f in load_forms().values() for c in f.columns
            if c.codelist}
    assert [u for u in used if u[2] not in codelists] == []
