"""CDISC conformance: the CDISC library reader, the CT and IG checks of validate, and the
study codelists against NCI-EVS CT.

Expected values are read off the CDISC files themselves (``../shared/external/
cdisc-library``: the CT text file, the SDTMIG table) or are counts a reader can redo
by hand on the small frames built here. Skipped where the library is absent (it is
third-party data, never in the repository).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialflow.cdisc import Library, find_library
from trialflow.conformance import Conformance, spec_codelist_findings
from trialflow.spec import Codelist, Term, load_codelists
from trialflow.xpt import XptDataset

from .helpers import spec, var

FOLDER = find_library(None)
pytestmark = pytest.mark.skipif(FOLDER is None, reason="no CDISC library folder")


@pytest.fixture(scope="module")
def library() -> Library:
    return Library(FOLDER)


@pytest.fixture(scope="module")
def checker(library: Library) -> Conformance:
    return Conformance(library, library.terminology("SDTM", "2025-03-28"),
                       library.terminology("ADaM", "2025-09-26"))


def _dataset(name: str, data: dict, types: dict | None = None,
             labels: dict | None = None) -> XptDataset:
    frame = pd.DataFrame(data)
    types = {c: ("Num" if frame[c].dtype.kind in "fi" else "Char") for c in frame.columns} \
        | (types or {})
    widths = {c: (max(1, int(frame[c].astype(str).str.len().max())) if types[c] == "Char"
                  else 8) for c in frame.columns}
    return XptDataset(name=name, label=name, data=frame, labels=labels or {}, types=types,
                      widths=widths, encoding="utf-8", formats={}, findings=[])


def test_library_reads_the_nci_evs_file(library: Library) -> None:
    ct = library.terminology("SDTM")
    assert ct.version == "2025-03-28"
    ny = ct.codelist("NY")
    # C66742 "No Yes Response": four terms, not extensible (the CT file's own rows).
    assert (ny.code, ny.extensible, ny.submission_values()) == (
        "C66742", False, frozenset({"N", "NA", "U", "Y"}))
    method = ct.codelist("C85492")
    assert method.synonym_of("Immunohistochemistry").submission_value == "IHC"
    assert method.synonym_of("IHC") is None  # a submission value is no synonym


def test_library_reads_the_ig_tables(library: Library) -> None:
    dm = {v.name: v for v in library.sdtmig()["DM"]}
    assert (dm["ACTARMUD"].core, dm["ARMNRS"].codelists) == ("Exp", ("C142179",))
    assert "EPOCH" not in {v.name for v in library.sdtmig()["SV"]}
    adsl = {v.name: v for v in library.adamig()["ADSL"]}
    assert adsl["TRTSDT"].type == "Num"


def test_precious_codelists_agree_with_cdisc_ct(library: Library) -> None:
    findings = spec_codelist_findings(load_codelists(), library.terminology("SDTM"),
                                      library.terminology("ADaM"))
    assert [f.message for f in findings] == []


def test_a_synonym_as_submission_value_is_reported(library: Library) -> None:
    cl = Codelist("METHOD", "Method", "C85492", True, "text", (
        Term("MULTIGATED ACQUISITION SCAN", "MUGA scan"),
        Term("CT SCAN", "CT", nci_code="C17204"),
        Term("ECHO", "Echo", nci_code="C99999")), package="SDTM")
    messages = [f.message for f in spec_codelist_findings(
        {"METHOD": cl}, library.terminology("SDTM"), library.terminology("ADaM"))]
    assert messages == [
        "codelist METHOD: 'MULTIGATED ACQUISITION SCAN' is a synonym; the submission value"
        " is 'MUGA' (C38073)",
        "codelist METHOD: 'ECHO' is not a term of METHOD (C85492): mark it as the "
        "sponsor's extension (no NCI code, or extended: true)"]


def test_ct_and_ig_checks_on_a_small_sdtm(checker: Conformance) -> None:
    dm = _dataset("DM", {
        "STUDYID": ["S"] * 3, "DOMAIN": ["DM"] * 3, "USUBJID": ["S-1", "S-2", "S-3"],
        "SUBJID": ["1", "2", "3"], "RFSTDTC": ["2020-01-01", "", ""],
        "RFENDTC": ["2020-02-01", "", ""], "SITEID": ["1"] * 3,
        "SEX": ["F", "FEMALE", "M"], "ARMCD": ["A", "A", "SCRNFAIL"],
        "ARM": ["Arm A", "Arm A", "Screen Failure"], "ACTARMCD": ["A", "", ""],
        "ACTARM": ["Arm A", "", ""], "COUNTRY": ["JPN"] * 3})
    # DM of the study itself (a spec of it): SEX FEMALE is not a term of the
    # non-extensible SEX (C66731): CT2001, an error, one record.
    own = spec(var("SEX"), name="DM")
    found = {(f.variable, f.rule): f for f in checker.check(dm, own)}
    assert found[("SEX", "ct_cdisc")].count == 1
    assert found[("SEX", "ct_cdisc")].severity == "error"
    # The same data of another study (no spec): reported, as a warning.
    found = {(f.variable, f.rule): f for f in checker.check(dm)}
    assert found[("SEX", "ct_cdisc")].severity == "warning"
    # S-2 has an arm and no reference dates; the screen failure needs none.
    assert found[("RFSTDTC", "dm_reference")].count == 1
    # Expected DM variables not in the frame: AGE, AGEU, RACE, ETHNIC, ARMNRS, ...
    assert found[("ACTARMUD", "ig_expected")].severity == "warning"
    assert ("EPOCH", "ig_expected") not in found  # no EPOCH in SDTMIG DM

    ae = _dataset("AE", {
        "STUDYID": ["S"] * 3, "DOMAIN": ["AE"] * 3, "USUBJID": ["S-1"] * 3,
        "AESEQ": [1.0, 2.0, 3.0], "AETERM": ["x"] * 3, "AEDECOD": ["X"] * 3,
        "AESER": ["Y", "Y", "N"], "AESHOSP": ["Y", "", "Y"],
        "AESTDTC": ["2020-01-05"] * 3, "EPOCH": ["TREATMENT", "RUN IN", ""]})
    # Record 2: serious without a criterion; record 3: not serious with one.
    assert sorted((f.message, f.count) for f in checker.check(ae, spec(var("AESER"),
                                                                       name="AE"))
                  if f.rule == "ae_serious") == [
        ("AESER is N but a seriousness criterion is Y (CORE-000266)", 1),
        ("AESER is Y but no seriousness criterion is Y", 1)]
    # RUN IN is not an EPOCH term (RUN-IN is); EPOCH is extensible: CT2002, a warning.
    epoch = [f for f in checker.check(ae) if f.rule == "ct_extensible"]
    assert [(f.variable, f.count, f.severity) for f in epoch] == [("EPOCH", 1, "warning")]
    # The third record has a complete start date and no EPOCH.
    assert [f.count for f in checker.check(ae) if f.rule == "epoch"] == [1]


def test_length_fit_and_ts_parameters(checker: Conformance) -> None:
    ts = _dataset("TS", {
        "STUDYID": ["S"] * 2, "DOMAIN": ["TS"] * 2, "TSSEQ": [1.0, 1.0],
        "TSPARMCD": ["TTYPE", "ADDON"], "TSPARM": ["Trial Type", "Added on to Existing "
                                                    "Treatments"],
        "TSVAL": ["EFFICACY", "Y"], "TSVALCD": ["C49666", ""],
        "TSVCDREF": ["CDISC CT", "CDISC CT"], "TSVCDVER": ["2025-03-28", "2025-03-28"]})
    ts.widths["TSVAL"] = 200
    found = checker.check(ts)
    assert [f.variable for f in found if f.rule == "length_fit"] == ["TSVAL"]
    missing = {f.message.split()[2] for f in found if f.rule == "ts"
               and "is missing" in f.message}
    assert "INTTYPE" in missing and "TTYPE" not in missing and len(missing) == 40
    # ADDON Y is C49488 in NY: its TSVALCD is missing.
    assert [f.message for f in found if f.variable == "TSVALCD"] == [
        "TSVALCD of ADDON is not the NCI code of its value in NY"]


def test_adam_checks(checker: Conformance) -> None:
    adsl = _dataset("ADSL", {
        "STUDYID": ["S"] * 2, "USUBJID": ["S-1", "S-2"], "SAFFL": ["Y", ""],
        "TRTSDT": [10.0, 20.0], "TRTEDT": [19.0, 15.0], "TRTDURD": [10.0, 1.0],
        "AGE": [50.0, 60.0]})
    found = {(f.variable, f.rule): f.count for f in checker.check(adsl)}
    assert found[("SAFFL", "adam_flag")] == 1          # null population flag
    assert found[("TRTEDT", "adam_trt")] == 1          # S-2 ends before it starts
    assert found[("TRTDURD", "adam_trt")] == 1         # S-2: 15 - 20 + 1 is not 1
    checker.prepare(None)
    bds = _dataset("ADQS", {
        "STUDYID": ["S"] * 4, "USUBJID": ["S-1"] * 4, "PARAMCD": ["P"] * 4,
        "PARAM": ["p"] * 4, "AVAL": [5.0, 7.0, 9.0, 4.0], "ABLFL": ["Y", "", "", "Y"],
        "BASE": [5.0, 5.0, 5.0, 5.0], "CHG": [0.0, 2.0, 3.0, np.nan],
        "AGE": [51.0, 50.0, 50.0, 50.0]})
    found = {(f.variable, f.rule): f.count for f in checker.check(bds)}
    assert found[("ABLFL", "adam_ablfl")] == 2          # two baseline records
    assert found[("CHG", "adam_base")] == 1             # 9 - 5 is 4, not 3
    assert found[("AGE", "adam_adsl")] == 1             # 51 is not ADSL's 50


PILOT = Path(__file__).resolve().parents[3] / "shared" / "external" / "cdiscpilot01" / "sdtm"


@pytest.mark.skipif(not PILOT.is_dir(), reason="CDISC pilot data not available")
def test_pilot_findings_are_those_cdisc_core_reports(checker: Conformance) -> None:
    """On the CDISC pilot's SDTM, the conformance checks find what CDISC CORE 0.17.1
    reports on the same files (its counts, from a CORE run on them, in the comments)."""
    from trialflow.validate import validate_directory

    findings, _ = validate_directory(PILOT, {}, {}, "CDISCPILOT01", checker)
    by = {}
    for f in findings:
        by.setdefault((f.dataset, f.rule, f.variable), 0)
        by[(f.dataset, f.rule, f.variable)] += f.count
    # CORE-000022: 36 AE records not serious with a seriousness criterion.
    assert by[("AE", "ae_serious", "AESER")] == 36
    # CORE-000024: AEBODSYS without AEBDSYCD on all 1191 AE records.
    assert by[("AE", "coding", "AEBDSYCD")] == 1191
    # CORE-000115 / CORE-000210: the 52 screen failures have ARM Screen Failure, not a
    # TA arm.
    assert by[("DM", "arm", "ARM")] == 52 + 52 and by[("DM", "arm", "ARMCD")] == 52
    # CORE-000867: 58 DS records with leading spaces.
    assert by[("DS", "text", "DSSPID")] == 58
    # CORE-000701: EPOCH missing in AE, DS, EX and SC (the variable is not there).
    assert {d for d, r, v in by if r == "epoch"} >= {"AE", "DS", "EX", "SC"}
    # CORE-000334: expected variables missing from DM, SV and TS.
    assert {d for d, r, v in by if r == "ig_expected"} == {"DM", "SV", "TS"}
    # CORE-000741 and the FDA's TS list: INTTYPE and others are missing.
    ts = {f.message.split()[2] for f in findings if f.rule == "ts" and "missing" in f.message}
    assert {"INTMODEL", "INTTYPE", "PCLAS", "SDTIGVER"} <= ts


def test_core_report_with_an_allow_list(tmp_path: Path) -> None:
    from trialflow.core import load_allowlist, read_report

    allow = tmp_path / "core-allowlist.yaml"
    allow.write_text("allow:\n  - {rule: CORE-000744, datasets: [FA], reason: "
                     "\"no RELREC in the study\"}\n", encoding="utf-8")
    report = {"Issue_Summary": [
        {"core_id": "CORE-000744", "dataset": "fa.xpt", "issues": 1752, "message": "m1"},
        {"core_id": "CORE-000744", "dataset": "ae.xpt", "issues": 3, "message": "m1"},
        {"core_id": "CORE-000266", "dataset": "ae.xpt", "issues": 40, "message": "m2"}],
        "Rules_Report": [{"core_id": "CORE-000929", "status": "EXECUTION ERROR"},
                         {"core_id": "CORE-000001", "status": "SUCCESS"}]}
    found = read_report(report, load_allowlist(allow))
    assert [(f.rule, f.dataset, f.count, f.severity) for f in found] == [
        ("CORE-000744", "FA", 1752, "info"),      # allowed in FA only
        ("CORE-000744", "AE", 3, "error"),
        ("CORE-000266", "AE", 40, "error"),
        ("CORE-000929", "", 1, "error")]          # a rule that could not run
    assert "no RELREC in the study" in found[0].message
    allow.write_text("allow:\n  - {rule: CORE-744, reason: short}\n", encoding="utf-8")
    with pytest.raises(Exception, match="core-allowlist.yaml"):
        load_allowlist(allow)
