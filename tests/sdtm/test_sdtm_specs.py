"""The SDTM specs themselves: they load, name real codelists and forms, and say for every
variable where its value comes from."""

from __future__ import annotations

from sdtm import build_order
from trialflow import SPECS
from trialflow.mapping import check_rule
from trialflow.spec import load_codelists, load_dataset_specs, load_forms

REQUIRED = {"DM", "SUPPDM", "AE", "SUPPAE", "RS", "QS", "EX", "DS", "CM", "CV", "SV", "TS",
            "TA", "TE", "IE"}


def test_every_domain_has_a_spec_named_after_its_file() -> None:
    specs = load_dataset_specs(SPECS / "sdtm")
    assert REQUIRED <= set(specs)
    for name, spec in specs.items():
        assert spec.file.endswith(f"/{name.lower()}.yaml")
        assert spec.standard == "SDTMIG 3.4"
    assert set(build_order(specs)) == set(specs) and build_order(specs)[0] == "DM"


def test_every_variable_says_where_its_value_comes_from() -> None:
    for spec in load_dataset_specs(SPECS / "sdtm").values():
        blocks = spec.sources or ({},)
        for var in spec.variables:
            if var.rule is not None:
                check_rule(var.rule, spec, var.name)
            if spec.rows:
                continue
            for block in blocks:
                assert var.rule is not None or var.name in (block.get("set") or {}), (
                    spec.name, var.name, block.get("id"))


def test_codelists_and_forms_named_by_the_specs_exist() -> None:
    codelists, forms = load_codelists(), load_forms()
    for spec in load_dataset_specs(SPECS / "sdtm").values():
        for var in spec.variables:
            assert var.codelist is None or var.codelist in codelists, (spec.name, var.name)
        for block in spec.sources:
            assert block["form"] in forms, (spec.name, block.get("id"))
            for merge in [*spec.derivation.get("merge", []), *block.get("merge", [])]:
                assert merge["form"] in forms


def test_every_raw_form_feeds_some_domain() -> None:
    used = {b["form"] for s in load_dataset_specs(SPECS / "sdtm").values() for b in s.sources}
    assert used == set(load_forms())
