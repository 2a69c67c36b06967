"""Define-XML 2.1 business rules on the PRECIOUS define files of the session's build, and
the annotated CRF they link to.

Checked against references, not against trialflow itself: the CT codes and the roles
against CDISC's own files (``../shared/external/cdisc-library``), the page links by
extracting the text of the aCRF pages with pypdf.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from trialflow.cdisc import Library, find_library

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
NS = {"odm": ODM, "def": DEF, "xlink": XLINK}
FOLDER = find_library(None)


def _mdv(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot().find(".//odm:MetaDataVersion", NS)


@pytest.fixture(scope="module")
def sdtm_define(study_build) -> etree._Element:
    return _mdv(study_build.out / "define" / "define-sdtm.xml")


@pytest.fixture(scope="module")
def adam_define(study_build) -> etree._Element:
    return _mdv(study_build.out / "define" / "define-adam.xml")


def test_ct_standards_are_declared(sdtm_define, adam_define) -> None:
    for mdv, packages in ((sdtm_define, {("SDTM", "2025-03-28")}),
                          (adam_define, {("SDTM", "2025-03-28"), ("ADaM", "2025-09-26")})):
        ct = mdv.findall("def:Standards/def:Standard[@Type='CT']", NS)
        assert {(s.get("PublishingSet"), s.get("Version")) for s in ct} == packages
        assert {s.get("Name") for s in ct} == {"CDISC/NCI"}
        oids = {s.get("OID") for s in ct}
        for cl in mdv.findall("odm:CodeList", NS):
            nci = cl.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
            std = cl.get(f"{{{DEF}}}StandardOID")
            # A CDISC codelist (an NCI code) names its CT standard; a sponsor's does not.
            assert (std in oids) if nci is not None else std is None, cl.get("OID")


def test_supplemental_datasets_belong_to_their_parent(sdtm_define) -> None:
    domains = {g.get("Name"): g.get("Domain") for g in sdtm_define.findall(
        "odm:ItemGroupDef", NS)}
    assert {k: v for k, v in domains.items() if k.startswith("SUPP")} == {
        "SUPPAE": "AE", "SUPPCM": "CM", "SUPPDM": "DM", "SUPPRS": "RS"}
    assert domains["AE"] == "AE"


def test_origin_is_given_once(sdtm_define, adam_define) -> None:
    for mdv in (sdtm_define, adam_define):
        both = [i.get("OID") for i in mdv.findall("odm:ItemDef", NS)
                if i.find("def:ValueListRef", NS) is not None
                and i.find("def:Origin", NS) is not None]
        assert both == []


@pytest.mark.skipif(FOLDER is None, reason="no CDISC library folder")
def test_codes_and_roles_are_cdisc(sdtm_define) -> None:
    lib = Library(FOLDER)
    ct = lib.terminology("SDTM", "2025-03-28")
    checked = 0
    for cl in sdtm_define.findall("odm:CodeList", NS):
        nci = cl.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
        if nci is None:
            continue
        cdisc = ct.codelist(nci.get("Name"))
        assert cdisc is not None, cl.get("OID")
        for item in cl.findall("odm:CodeListItem", NS) + cl.findall("odm:EnumeratedItem", NS):
            value = item.get("CodedValue")
            code = item.find("odm:Alias", NS)
            term = cdisc.term(value)
            if item.get(f"{{{DEF}}}ExtendedValue") == "Yes":
                # An extension: allowed only in an extensible codelist, without its code.
                assert cdisc.extensible and code is None, (cl.get("OID"), value)
            else:
                assert term is not None and code is not None \
                    and code.get("Name") == term.code, (cl.get("OID"), value)
                checked += 1
    assert checked > 60
    dscat = sdtm_define.find("odm:CodeList[@OID='CL.DSCAT']", NS)
    milestone = dscat.find("odm:CodeListItem[@CodedValue='PROTOCOL MILESTONE']/odm:Alias", NS)
    assert milestone.get("Name") == "C74588"
    ig = lib.sdtmig()
    items = {i.get("OID"): i.get("Name") for i in sdtm_define.findall("odm:ItemDef", NS)}
    for group in sdtm_define.findall("odm:ItemGroupDef", NS):
        table = {v.name: v.role for v in ig.get(
            "SUPPQUAL" if group.get("Name").startswith("SUPP") else group.get("Name"), [])}
        for ref in group.findall("odm:ItemRef", NS):
            name = items[ref.get("ItemOID")]
            if name in table:
                assert ref.get("Role") == table[name], (group.get("Name"), name)


def test_every_collected_origin_points_to_its_annotation(study_build, sdtm_define) -> None:
    from pypdf import PdfReader

    crf = sdtm_define.find("def:AnnotatedCRF/def:DocumentRef", NS)
    leaf = sdtm_define.find(f"def:leaf[@ID='{crf.get('leafID')}']", NS)
    pdf = study_build.out / "define" / leaf.get(f"{{{XLINK}}}href")
    reader = PdfReader(str(pdf))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    assert len(pages) >= 15  # one page or more per form
    where = {w.get("OID"): w.find("odm:RangeCheck/odm:CheckValue", NS).text
             for w in sdtm_define.findall("def:WhereClauseDef", NS)}
    value_of = {}
    for vl in sdtm_define.findall("def:ValueListDef", NS):
        for ref in vl.findall("odm:ItemRef", NS):
            value_of[ref.get("ItemOID")] = where[ref.find("def:WhereClauseRef", NS)
                                                 .get("WhereClauseOID")]
    collected = 0
    for item in sdtm_define.findall("odm:ItemDef", NS):
        origin = item.find("def:Origin", NS)
        if origin is None or origin.get("Type") != "Collected":
            continue
        collected += 1
        ref = origin.find("def:DocumentRef/def:PDFPageRef", NS)
        assert ref is not None, item.get("OID")
        assert origin.find("def:DocumentRef", NS).get("leafID") == crf.get("leafID")
        name, dataset = item.get("Name"), item.get("OID").split(".")[1]
        value = value_of.get(item.get("OID"))
        for number in ref.get("PageRefs").split():
            text = pages[int(number) - 1]
            if value is not None and dataset.startswith("SUPP"):
                wanted = [f"{value} in {dataset}"]     # AERELPER in SUPPAE
            elif value is not None:
                wanted = [name, f"= {value}"]          # QSORRES ... when QSTESTCD = GP1
            else:
                wanted = [name]
            for w in wanted:
                assert re.search(rf"(?<![A-Z0-9]){re.escape(w)}(?![A-Z0-9])", text), \
                    (item.get("OID"), number, w)
    assert collected >= 100
