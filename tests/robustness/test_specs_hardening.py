"""Specs an attacker-tester broke (issue #17): YAML that silently overrides, expands
without bound or has the wrong shape.

A key given twice in one mapping, any YAML alias (the "billion laughs" expansion that ran
out of memory after 100 s), two spec files for one dataset, form or codelist, a list
where a single value belongs, a FIFO as a spec file: each is a one-line spec error
(exit 2), in a fraction of a second.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest
import yaml
from broken_raw import run_cli

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

#: The "billion laughs": ten levels of nine aliases each, 9**10 values once expanded.
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{new}: &{new} [{', '.join([f'*{old}'] * 9)}]\n"
    for old, new in zip("abcdefghi", "bcdefghij", strict=True))


def _validate_specs(capsys: pytest.CaptureFixture[str], tmp_path: Path, specs: Path):
    return run_cli(capsys, "validate", "--data", tmp_path / "sdtm", "--specs", specs,
                   "--reports", tmp_path / "reports")


def _spec_dir(tmp_path: Path, **files: str) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    for name, text in files.items():
        (specs / f"{name}.yaml").write_text(text, encoding="utf-8")
    return specs


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    specs = _spec_dir(tmp_path, dm=BOMB)
    start = time.perf_counter()
    out = _validate_specs(capsys, tmp_path, specs)
    assert time.perf_counter() - start < 5
    assert out.code == 2
    assert f"spec {specs / 'dm.yaml'}: invalid YAML: an alias (*name) repeats the node " \
        "anchored here; specs may not use YAML anchors and aliases" in out.failure()
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("text", [
    "x: &a 1\ny: *a\n",                              # a plain alias
    "base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n",        # a merge key
    "a: &a [*a]\n",                                   # a recursive node
])
def test_any_alias_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="may not use YAML anchors and aliases"):
        read_yaml(path)


def test_an_anchor_without_alias_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("x: &a 1\n", encoding="utf-8")
    assert read_yaml(path) == {"x": 1}


@pytest.mark.parametrize(("text", "where"), [
    ("a: 1\nb: 2\na: 3\n", "key 'a' appears twice in one mapping (first at line 1)"),
    ("v:\n  - {name: A, codelist: NY, codelist: SEX}\n", "key 'codelist' appears twice"),
    ("1: x\n1: y\n", "key 1 appears twice"),
])
def test_a_duplicate_key_is_a_spec_error(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    assert where in str(info.value) and str(path) in str(info.value)


def test_a_duplicate_key_in_a_dataset_spec_stops_validate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (SPECS / "sdtm" / "dm.yaml").read_text(encoding="utf-8")
    text = text.replace("dataset:\n", "dataset:\n  label: Something else\n", 1)
    specs = _spec_dir(tmp_path, dm=text)
    out = _validate_specs(capsys, tmp_path, specs)
    assert out.code == 2 and "key 'label' appears twice" in out.failure()


def test_the_strict_loader_keeps_libyaml_speed() -> None:
    paths = sorted(SPECS.rglob("*.yaml"))
    start = time.perf_counter()
    docs = [read_yaml(p) for p in paths]
    assert time.perf_counter() - start < 3  # the pure-Python loader takes ~1 s alone
    assert all(d is not None for d in docs)
    assert read_yaml.__module__ == "trialflow.spec"
    from trialflow.spec import StrictLoader

    assert issubclass(StrictLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def test_two_spec_files_for_one_dataset_stop_validate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (SPECS / "sdtm" / "dm.yaml").read_text(encoding="utf-8")
    specs = _spec_dir(tmp_path, dm=text, dm_copy=text)
    out = _validate_specs(capsys, tmp_path, specs)
    assert out.code == 2
    assert (f"spec {specs / 'dm_copy.yaml'}, dataset DM: dataset DM is also defined in "
            f"{specs / 'dm.yaml'}; one dataset, one spec file") in out.failure()


def test_two_spec_files_for_one_form_or_one_export(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    text = (SPECS / "raw" / "ae.yaml").read_text(encoding="utf-8")
    (raw / "ae.yaml").write_text(text, encoding="utf-8")
    (raw / "ae2.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="form 'ae' is also defined in .*ae.yaml"):
        load_forms(raw)
    (raw / "ae2.yaml").write_text(text.replace("name: ae\n", "name: ae_two\n", 1),
                                  encoding="utf-8")
    with pytest.raises(SpecError, match="file 'ae.csv' is also the export of form 'ae'"):
        load_forms(raw)


def test_two_spec_files_for_one_codelist(tmp_path: Path) -> None:
    ct = tmp_path / "ct"
    ct.mkdir()
    text = (SPECS / "ct" / "acn.yaml").read_text(encoding="utf-8")
    (ct / "acn.yaml").write_text(text, encoding="utf-8")
    (ct / "acn_old.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="codelist ACN is also defined in .*acn.yaml"):
        load_codelists(ct)


def _positions(doc: object, path: tuple = ()):
    """Every place in a document (the first three items of each list)."""
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _positions(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            yield from _positions(v, (*path, i))


def _set_at(doc: object, path: tuple, value: object) -> object:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    cur = doc
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return doc


@pytest.mark.parametrize(("loader", "relative"), [
    (load_codelist, "ct/acn.yaml"), (load_form, "raw/survival.yaml"),
    (load_dataset_spec, "sdtm/ae.yaml"), (load_study, "study.yaml"),
])
def test_a_wrong_shape_anywhere_is_a_spec_error(tmp_path: Path, loader, relative: str
                                                ) -> None:
    # A list, a mapping, a null, a huge number, a blank... where the schema wants
    # something else: always a SpecError naming the file, never a traceback.
    base = yaml.safe_load((SPECS / relative).read_text(encoding="utf-8"))
    path = tmp_path / "spec.yaml"
    cases = 0
    for where in _positions(base):
        for value in (["x", ["y"]], {"k": [1]}, None, 10**20, ""):
            path.write_text(yaml.safe_dump(_set_at(base, where, value), sort_keys=False),
                            encoding="utf-8")
            cases += 1
            try:
                loader(path)
            except SpecError as exc:
                assert str(path) in str(exc)
    assert cases > 50


def test_a_list_where_the_codelist_section_belongs(tmp_path: Path) -> None:
    doc = yaml.safe_load((SPECS / "ct" / "acn.yaml").read_text(encoding="utf-8"))
    doc["codelist"] = [doc["codelist"]]
    path = tmp_path / "acn.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SpecError, match="codelist: must be of dict type"):
        load_codelist(path)


def test_a_fifo_as_a_spec_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "dm.yaml")
    with pytest.raises(SpecError, match="is a named pipe"):
        read_yaml(tmp_path / "dm.yaml")


@pytest.mark.parametrize(("check", "problem"), [
    ({"rule": "not_before", "column": "STATUS", "reference": "random.RANDDT"},
     "names 'STATUS', which is not a date column of the form"),
    ({"rule": "not_before", "column": "DTHDT", "reference": "STATUS"},
     "reference 'STATUS' of DTHDT is not a date column of the form"),
    ({"rule": "sometime", "column": "DTHDT", "reference": "LSTCONDT"}, "checks:"),
])
def test_a_malformed_check_is_a_spec_error(tmp_path: Path, check: dict, problem: str
                                           ) -> None:
    doc = yaml.safe_load((SPECS / "raw" / "survival.yaml").read_text(encoding="utf-8"))
    doc["checks"] = [check]
    path = tmp_path / "survival.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_form(path)
    assert problem in str(info.value)


def test_a_check_against_a_repeating_form_is_a_spec_error(
        raw_extract: Path, tmp_path: Path) -> None:
    from trialflow.rawdata import read_forms

    raw = tmp_path / "specs_raw"
    raw.mkdir()
    for p in (SPECS / "raw").glob("*.yaml"):
        text = p.read_text(encoding="utf-8")
        if p.name == "survival.yaml":
            text += "  - {rule: not_before, column: DTHDT, reference: ae.STDT}\n"
        (raw / p.name).write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="has several records per subject"):
        read_forms(raw_extract, load_forms(raw), load_codelists())
