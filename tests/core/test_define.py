"""define.xml 2.1 (trialflow.define, ``trialflow define``, the define stage of ``run``).

The documents are built from the session's study build (``study_build``): once by
``trialflow run`` itself, and once here by ``trialflow define`` into a temporary
directory. The content checks are ones a reader can verify by hand against the specs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from trialflow import SPECS
from trialflow.cli import main
from trialflow.define import (
    _Dataset,
    _pairs,
    _with_values,
    build_define,
    creation_datetime,
    validate_define,
    write_define,
)
from trialflow.spec import load_codelists, load_dataset_specs

from .helpers import spec, var

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
NS = {"odm": ODM, "def": DEF, "xlink": XLINK}


def _parse(path: Path) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(path), parser)


@pytest.fixture(scope="module")
def define_dir(study_build, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trialflow define`` run on the study build's SDTM and ADaM, into a new directory."""
    out = tmp_path_factory.mktemp("define")
    code = main(["define", "--sdtm", str(study_build.out / "sdtm"),
                 "--adam", str(study_build.out / "adam"), "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def sdtm_doc(define_dir: Path) -> etree._ElementTree:
    return _parse(define_dir / "define-sdtm.xml")


@pytest.fixture(scope="module")
def adam_doc(define_dir: Path) -> etree._ElementTree:
    return _parse(define_dir / "define-adam.xml")


# --------------------------------------------------------------------------- schema


def test_run_writes_valid_define_files(study_build) -> None:
    for name in ("define-sdtm.xml", "define-adam.xml"):
        path = study_build.out / "define" / name
        assert path.is_file(), f"trialflow run did not write {path}"
        assert validate_define(path) == []


def test_define_command_writes_valid_files(define_dir: Path) -> None:
    """Each define.xml (valid), its HTML rendering, the stylesheet both name and the
    annotated CRF the define links to."""
    assert sorted(p.name for p in define_dir.iterdir()) == [
        "acrf.pdf", "define-adam.html", "define-adam.xml", "define-sdtm.html",
        "define-sdtm.xml", "define2-1.xsl"]
    for path in define_dir.glob("*.xml"):
        assert validate_define(path) == []


def test_removed_required_attribute_is_reported(define_dir: Path, tmp_path: Path) -> None:
    doc = _parse(define_dir / "define-adam.xml")
    group = doc.find(".//odm:ItemGroupDef[@OID='IG.ADSL']", NS)
    del group.attrib[f"{{{DEF}}}Structure"]
    item = doc.find(".//odm:ItemDef[@OID='IT.ADSL.ITTFL']", NS)
    del item.attrib["DataType"]
    planted = tmp_path / "define-adam.xml"
    doc.write(str(planted), xml_declaration=True, encoding="UTF-8")
    errors = validate_define(planted)
    assert len(errors) == 2
    assert any("Structure" in e and "ItemGroupDef" in e for e in errors)
    assert any("DataType" in e and "ItemDef" in e for e in errors)
    assert all(e.startswith("define-adam.xml:") for e in errors)


def test_schema_errors_exit_1_with_messages(study_build, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import trialflow.define as define

    real = define.build_define

    def broken(*args, **kwargs):  # a builder that forgets a required attribute
        tree = real(*args, **kwargs)
        del tree.getroot().attrib["FileOID"]
        return tree

    monkeypatch.setattr(define, "build_define", broken)
    code = main(["define", "--sdtm", str(study_build.out / "sdtm"),
                 "--adam", str(study_build.out / "adam"), "--out", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    assert "define-sdtm.xml:" in out and "FileOID" in out


def test_missing_dataset_directory_exits_2(tmp_path: Path) -> None:
    assert main(["define", "--sdtm", str(tmp_path / "nowhere"), "--out",
                 str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_missing_dataset_file_exits_2(study_build, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    adam = tmp_path / "adam"
    shutil.copytree(study_build.out / "adam", adam)
    (adam / "adtte.xpt").unlink()
    code = main(["define", "--sdtm", str(study_build.out / "sdtm"), "--adam", str(adam),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "adtte.xpt" in capsys.readouterr().err
    # Both documents are built before either is written.
    assert not (tmp_path / "out" / "define-sdtm.xml").exists()


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    path = tmp_path / "define.xml"
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE ODM [<!ENTITY x SYSTEM '
                    f'"file://{secret}">]>\n<ODM xmlns="{ODM}">&x;</ODM>\n')
    errors = validate_define(path)
    assert len(errors) == 1 and "DOCTYPE" in errors[0]
    assert "TOP-SECRET-VALUE" not in errors[0]


# --------------------------------------------------------------------------- content


@pytest.mark.parametrize("layer", ["sdtm", "adam"])
def test_one_item_group_per_spec_dataset(layer: str, sdtm_doc, adam_doc) -> None:
    doc = sdtm_doc if layer == "sdtm" else adam_doc
    specs = load_dataset_specs(SPECS / layer)
    groups = doc.findall(".//odm:ItemGroupDef", NS)
    assert len(groups) == len(specs)
    assert {g.get("Name") for g in groups} == set(specs)
    for g in groups:
        spec = specs[g.get("Name")]
        refs = g.findall("odm:ItemRef", NS)
        assert [r.get("ItemOID") for r in refs] == [f"IT.{spec.name}.{v}"
                                                   for v in spec.variable_names]
        assert g.find("def:Class", NS).get("Name") == spec.cls
        assert g.get(f"{{{DEF}}}Structure") == spec.structure


def test_adsl_item_group(adam_doc) -> None:
    adsl = adam_doc.find(".//odm:ItemGroupDef[@OID='IG.ADSL']", NS)
    assert adsl.get("Purpose") == "Analysis"
    assert adsl.get("Repeating") == "No"  # one record per subject
    assert adsl.get("IsReferenceData") == "No"
    ittfl = adsl.find("odm:ItemRef[@ItemOID='IT.ADSL.ITTFL']", NS)
    assert ittfl is not None and ittfl.get("Mandatory") == "Yes"
    usubjid = adsl.find("odm:ItemRef[@ItemOID='IT.ADSL.USUBJID']", NS)
    assert usubjid.get("KeySequence") == "2"
    leaf = adsl.find("def:leaf", NS)
    assert leaf.get(f"{{{XLINK}}}href") == "adsl.xpt"
    assert leaf.get("ID") == adsl.get(f"{{{DEF}}}ArchiveLocationID")
    item = adam_doc.find(".//odm:ItemDef[@OID='IT.ADSL.ITTFL']", NS)
    assert item.get("DataType") == "text" and item.get("Length") == "1"
    assert item.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.NY"


def test_trial_design_is_reference_data(sdtm_doc) -> None:
    ts = sdtm_doc.find(".//odm:ItemGroupDef[@OID='IG.TS']", NS)
    assert ts.get("IsReferenceData") == "Yes" and ts.get("Purpose") == "Tabulation"
    assert ts.find("def:leaf", NS).get(f"{{{XLINK}}}href") == "ts.xpt"


def test_adtte_is_time_to_event(adam_doc) -> None:
    cls = adam_doc.find(".//odm:ItemGroupDef[@OID='IG.ADTTE']/def:Class", NS)
    assert cls.get("Name") == "BASIC DATA STRUCTURE"
    assert cls.find("def:SubClass", NS).get("Name") == "TIME-TO-EVENT"


@pytest.mark.parametrize("codelist", ["NY", "ADTTEPRM", "FACTBTC"])
def test_codelist_items_equal_spec_terms(codelist: str, sdtm_doc, adam_doc) -> None:
    spec = load_codelists()[codelist]
    doc = adam_doc if codelist == "ADTTEPRM" else sdtm_doc
    cl = doc.find(f".//odm:CodeList[@OID='CL.{codelist}']", NS)
    items = cl.findall("odm:CodeListItem", NS) or cl.findall("odm:EnumeratedItem", NS)
    assert [i.get("CodedValue") for i in items] == [str(t.submission_value)
                                                   for t in spec.terms]
    for item, term in zip(items, spec.terms, strict=True):
        decode = item.find("odm:Decode/odm:TranslatedText", NS)
        if decode is not None:
            assert decode.text == term.decode
        codes = [a.get("Name") for a in item.findall("odm:Alias", NS)]
        # An NCI code where the spec has one; none invented where it is null.
        assert codes == ([term.nci_code] if term.nci_code else [])
    own = [a.get("Name") for a in cl.findall("odm:Alias", NS)]
    assert own == ([spec.nci_code] if spec.nci_code else [])


def test_only_codelists_in_use(sdtm_doc, adam_doc) -> None:
    for layer, doc in (("sdtm", sdtm_doc), ("adam", adam_doc)):
        used = {v.codelist for s in load_dataset_specs(SPECS / layer).values()
                for v in s.variables if v.codelist}
        assert {c.get("OID") for c in doc.findall(".//odm:CodeList", NS)} == \
            {f"CL.{c}" for c in used}


def test_adtte_aval_value_level_by_paramcd(adam_doc, study_build) -> None:
    aval = adam_doc.find(".//odm:ItemDef[@OID='IT.ADTTE.AVAL']", NS)
    vl_oid = aval.find("def:ValueListRef", NS).get("ValueListOID")
    vl = adam_doc.find(f".//def:ValueListDef[@OID='{vl_oid}']", NS)
    clauses = {}
    for ref in vl.findall("odm:ItemRef", NS):
        wc_oid = ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")
        check = adam_doc.find(f".//def:WhereClauseDef[@OID='{wc_oid}']/odm:RangeCheck", NS)
        assert check.get("Comparator") == "EQ"
        assert check.get(f"{{{DEF}}}ItemOID") == "IT.ADTTE.PARAMCD"
        clauses[check.find("odm:CheckValue", NS).text] = ref.get("ItemOID")
    # The PARAMCD values present in the data, in codelist order.
    assert list(clauses) == ["PFS", "OS", "DOR", "TTDBTOI"]
    pfs = adam_doc.find(f".//odm:ItemDef[@OID='{clauses['PFS']}']", NS)
    assert pfs.get("Name") == "AVAL" and pfs.get("DataType") == "integer"
    assert "Progression-Free Survival" in pfs.find("odm:Description/odm:TranslatedText",
                                                   NS).text


def test_adrs_avalc_uses_per_parameter_methods(adam_doc) -> None:
    vl = adam_doc.find(".//def:ValueListDef[@OID='VL.ADRS.AVALC']", NS)
    methods = {r.get("ItemOID"): r.get("MethodOID") for r in vl.findall("odm:ItemRef", NS)}
    assert methods["IT.ADRS.AVALC.BOR"] == "MT.ADRS.BOR"
    assert methods["IT.ADRS.AVALC.OVR"] == "MT.ADRS.OVR"
    spec = load_dataset_specs(SPECS / "adam")["ADRS"]
    bor = adam_doc.find(".//odm:MethodDef[@OID='MT.ADRS.BOR']", NS)
    assert bor.get("Type") == "Computation"
    assert bor.find("odm:Description/odm:TranslatedText", NS).text == \
        next(m.description for m in spec.methods if m.id == "MT.BOR")


def test_qs_value_level_by_qstestcd(sdtm_doc) -> None:
    vl = sdtm_doc.find(".//def:ValueListDef[@OID='VL.QS.QSORRES']", NS)
    refs = vl.findall("odm:ItemRef", NS)
    assert len(refs) == 37  # every FACT-B item is answered somewhere
    gp1 = sdtm_doc.find(".//odm:ItemDef[@OID='IT.QS.QSORRES.GP1']", NS)
    assert gp1.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.FACTBRSP"
    origin = gp1.find("def:Origin", NS)
    assert origin.get("Type") == "Collected" and origin.get("Source") == "Subject"


def test_origins(sdtm_doc, adam_doc) -> None:
    aeterm = sdtm_doc.find(".//odm:ItemDef[@OID='IT.AE.AETERM']/def:Origin", NS)
    assert (aeterm.get("Type"), aeterm.get("Source")) == ("Collected", "Investigator")
    dy = sdtm_doc.find(".//odm:ItemDef[@OID='IT.AE.AESTDY']/def:Origin", NS)
    assert (dy.get("Type"), dy.get("Source")) == ("Derived", "Sponsor")
    ref = sdtm_doc.find(".//odm:ItemGroupDef[@OID='IG.AE']/odm:ItemRef"
                        "[@ItemOID='IT.AE.AESTDY']", NS)
    assert ref.get("MethodOID") == "MT.AE.DY"
    pred = adam_doc.find(".//odm:ItemDef[@OID='IT.ADTTE.STUDYID']/def:Origin", NS)
    assert pred.get("Type") == "Predecessor" and pred.get("Source") is None
    assert pred.find("odm:Description/odm:TranslatedText", NS).text == "ADSL.STUDYID"


def test_comments(sdtm_doc) -> None:
    item = sdtm_doc.find(".//odm:ItemDef[@OID='IT.DM.COUNTRY']", NS)
    oid = item.get(f"{{{DEF}}}CommentOID")
    text = sdtm_doc.find(f".//def:CommentDef[@OID='{oid}']/odm:Description/"
                         "odm:TranslatedText", NS).text
    assert text == "All sites are in Japan"


def test_metadata_version_matches_dataset_json(sdtm_doc, adam_doc, study_build) -> None:
    for doc, path in ((sdtm_doc, study_build.out / "sdtm" / "ae.json"),
                      (adam_doc, study_build.out / "adam" / "adsl.json")):
        meta = json.loads(path.read_text())
        mdv = doc.find(".//odm:MetaDataVersion", NS)
        assert mdv.get("OID") == meta["metaDataVersionOID"]
        group = doc.find(f".//odm:ItemGroupDef[@OID='{meta['itemGroupOID']}']", NS)
        items = {r.get("ItemOID") for r in group.findall("odm:ItemRef", NS)}
        assert {c["itemOID"] for c in meta["columns"]} == items


# --------------------------------------------------------------------------- reproducible


def test_two_runs_are_byte_identical(study_build, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for run in ("a", "b"):
        assert main(["define", "--sdtm", str(study_build.out / "sdtm"), "--adam",
                     str(study_build.out / "adam"), "--out", str(tmp_path / run)]) == 0
    for name in ("define-sdtm.xml", "define-adam.xml"):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes()
        assert b'CreationDateTime="2023-11-14T22:13:20"' in first


def test_creation_datetime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert creation_datetime() == "1970-01-01T00:00:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "-5")
    with pytest.raises(Exception, match="SOURCE_DATE_EPOCH"):
        creation_datetime()


def test_build_and_write_api(study_build, tmp_path: Path) -> None:
    specs = load_dataset_specs(SPECS / "adam")
    tree = build_define(specs, study_build.out / "adam", standard="ADaMIG 1.3")
    path = write_define(tree, tmp_path / "define.xml")
    assert validate_define(path) == []
    with pytest.raises(Exception, match="one define.xml describes one standard"):
        build_define(specs, study_build.out / "adam", standard="SDTMIG 3.4")


def test_pairs_are_distinct_and_in_record_order() -> None:
    first, second = _pairs(np.array([1, 0, 1, 1, 0], dtype=np.uint8),
                           np.array([2, 0, 2, 1, 0], dtype=np.uint8), 3)
    assert first.tolist() == [1, 0, 1]
    assert second.tolist() == [2, 0, 1]


def test_only_variables_whose_values_are_described_are_read() -> None:
    qs = load_dataset_specs(SPECS / "sdtm")["QS"]
    read = _with_values(qs)
    # The test code and name split the results and a date's form comes from the data;
    # a required text's length comes from the header, and QSSEQ's format (8.) makes
    # it an integer whatever its values.
    assert {"QSTESTCD", "QSTEST", "QSORRES", "QSSTRESN", "QSDTC"} <= set(read)
    assert not {"STUDYID", "DOMAIN", "USUBJID", "QSSEQ"} & set(read)


def test_has_values_alike_for_categorical_and_object_text() -> None:
    ae = spec(var("AETERM", length=10), name="AE", label="Adverse Events")
    for terms, present in ((["", " "], False), (["", "Rash"], True)):
        data = pd.DataFrame({"AETERM": terms})
        for frame in (data, data.astype("category")):
            assert _Dataset(ae, frame).has_values("AETERM") is present
