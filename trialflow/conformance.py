"""Conformance to the CDISC standards: checks of any SDTM or ADaM dataset against CDISC's
own tables (controlled terminology, the SDTMIG 3.4 and ADaMIG 1.3 variable tables), the
kind Pinnacle 21 and CDISC CORE run, whether or not the study has a spec for it.

``trialflow validate`` runs them after its spec checks when a CDISC library folder is
found (:mod:`trialflow.cdisc`). Each check is a rule of the validation report:

==================  ========  =========================================================
rule                severity  what
==================  ========  =========================================================
``ig_required``     error     a Req variable of the SDTMIG / ADaMIG table is missing or,
                              in SDTM, null (as CORE-000... "required variable")
``ig_expected``     warning   an Exp variable of the SDTMIG table is missing (CORE-000334)
``ig_type``         error     Char/Num differs from the IG (CORE-001082)
``ig_label``        warning   the variable label differs from the IG's
``ig_order``        warning   IG variables out of the IG's order (CORE-000852)
``ig_model``        warning   a variable neither of the IG domain nor of its SDTM class
                              (CORE-000550: it belongs in SUPP--)
``ig_role``         warning   the spec's role differs from the IG's (CORE-001081)
``ct_cdisc``        error     a value outside the non-extensible CDISC codelist the IG
                              assigns (Pinnacle 21 CT2001)
``ct_extensible``   warning   a value outside the extensible CDISC codelist the IG assigns
                              and not declared by the study as its extension (CT2002)
``ct_spec``         warning   a study codelist that disagrees with CDISC CT (codes,
                              synonyms used as submission values, undeclared extensions)
``length_fit``      warning   a character variable stored wider than its longest value
                              (FDA: the shortest length that fits)
``epoch``           warning   EPOCH missing from a subject-level observation dataset, or
                              null on a record with a complete date (CORE-000701)
``ts``              warning   an FDA-required TS parameter missing; a CDISC CT value
                              without TSVALCD, or outside its codelist (CORE-000741 ...)
``dm_reference``    error     RFSTDTC/RFENDTC null for a subject with an arm
                              (CORE-000191)
``ae_serious``      error     AESER and the seriousness criteria disagree (CORE-000266)
``reasnd``          warning   --STAT = NOT DONE without --REASND (CORE-000774)
``ds_participation`` error    several end-of-participation dispositions in one epoch
                              (CORE-000213/214)
``study_day``       warning   --DY/--STDY/--ENDY missing beside its --DTC (CORE-000321,
                              000328, 000776, 000793)
``text``            warning   text with leading spaces (CORE-000867)
``coding``          warning   a dictionary term without its code (AEBODSYS without
                              AEBDSYCD, CORE-000024)
``arm``             error     ARMCD/ACTARMCD not a TA arm, or a screen failure coded as an
                              arm (CORE-000047, 000115, 000208-000210)
``supp_flag``       warning   a population flag in SUPPDM (CORE-000211: it is ADaM's)
``adam_flag``       error     a population flag not Y/N, an analysis flag not Y/null
``adam_ablfl``      error     more than one ABLFL = Y per subject and parameter
``adam_base``       error     BASE is not the baseline record's AVAL; CHG is not
                              AVAL - BASE
``adam_adsl``       error     a variable copied from ADSL differs from ADSL
``adam_trt``        error     TRTSDT after TRTEDT; TRTDURD is not TRTEDT - TRTSDT + 1
``adam_src``        error     SRCDOM/SRCVAR/SRCSEQ name no SDTM record
==================  ========  =========================================================

CT is checked at the variable level, against the codelists the IG table assigns (result
variables, whose codelists depend on the test, are left to value-level metadata).

Example
-------
>>> checker = Conformance(Library(find_library(None)), sdtm_ct, adam_ct)  # doctest: +SKIP
>>> findings = checker.check(dataset, spec)  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from trialflow.cdisc import CTCodelist, IGVariable, Library, Terminology
from trialflow.spec import Codelist, DatasetSpec
from trialflow.validate import ColumnFactors, FindingList, ValidationFinding, _factorize
from trialflow.xpt import XptDataset

__all__ = ["FDA_TS_PARAMETERS", "Conformance", "spec_codelist_findings"]

#: TS parameters the FDA's Study Data Technical Conformance Guide asks for in every
#: study (its TS appendix; Pinnacle 21 SD2xxx).
FDA_TS_PARAMETERS: tuple[str, ...] = (
    "ACTSUB", "ADAPT", "ADDON", "AGEMAX", "AGEMIN", "CURTRT", "DCUTDESC", "DCUTDTC",
    "FCNTRY", "HLTSUBJI", "INDIC", "INTMODEL", "INTTYPE", "LENGTH", "NARMS", "OBJPRIM",
    "OBJSEC", "OUTMSPRI", "PCLAS", "PDPSTIND", "PDSTIND", "PLANSUB", "RANDOM", "RDIND",
    "REGID", "SDTIGVER", "SDTMVER", "SENDTC", "SEXPOP", "SPONSOR", "SSTDTC", "STOPRULE",
    "STYPE", "TBLIND", "TCNTRL", "TDIGRP", "THERAREA", "TINDTP", "TITLE", "TPHASE", "TRT",
    "TTYPE")
#: TS parameters whose values come from a CDISC codelist (SDTMIG 3.4 TS assumptions).
TS_CODELISTS: dict[str, str] = {
    "ADDON": "NY", "RANDOM": "NY", "HLTSUBJI": "NY", "ADAPT": "NY", "PDSTIND": "NY",
    "PDPSTIND": "NY", "RDIND": "NY", "ONGOSIND": "NY", "TPHASE": "TPHASE",
    "TTYPE": "TTYPE", "STYPE": "STYPE", "INTMODEL": "INTMODEL", "INTTYPE": "INTTYPE",
    "TBLIND": "TBLIND", "TCNTRL": "TCNTRL", "TINDTP": "TINDTP", "SEXPOP": "SEXPOP",
    "SDTMVER": "SDTMVRS", "SDTIGVER": "SDTMIGRS"}
#: Variables whose codelist depends on the record (value-level), not checked here.
_RESULTS = re.compile(r"^(..(ORRES|STRESC|STRESN|ORRESU|STRESU)|TSVAL|QVAL|TSVALCD)$")
_GENERAL_CLASSES = {"Interventions", "Events", "Findings", "Findings About"}
_NOT_DONE = "NOT DONE"
#: SDTM qualifiers of the AE seriousness criteria.
_SERIOUS = ("AESCAN", "AESCONG", "AESDISAB", "AESDTH", "AESHOSP", "AESLIFE", "AESOD",
            "AESMIE")


def _class_key(ig_class: str) -> str:
    return {"Findings About": "Findings About"}.get(ig_class, ig_class)


def _per_value(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """``fn`` of every record's text (missing as ""), computed once per distinct value:
    a column of a million records holds a few thousand texts, and pandas' string methods
    run in Python per element."""
    codes, uniques = _factorize(values)  # missing values are one of the uniques
    return fn(uniques.astype(object).astype("string").fillna("")).to_numpy()[codes]


def _text(values: pd.Series) -> pd.Series:
    """The values as stripped text, missing as ""."""
    stripped = _per_value(values, lambda t: t.str.strip())
    return pd.Series(stripped, index=values.index, dtype="string")


class Conformance:
    """CDISC conformance checks with a library's tables, one dataset at a time.

    Parameters
    ----------
    library : Library
    sdtm_ct, adam_ct : Terminology
        The CT packages to check against (the study's versions).
    codelists : mapping of str to Codelist, optional
        The study's codelists: their declared extensions are accepted values.

    The checker remembers what later datasets are checked against: ADSL (for the ADaM
    datasets copied from it), DM's subjects and --SEQ of every SDTM dataset (SRCSEQ).
    """

    def __init__(self, library: Library, sdtm_ct: Terminology, adam_ct: Terminology,
                 codelists: Mapping[str, Codelist] | None = None) -> None:
        self.library = library
        self.sdtm_ct = sdtm_ct
        self.adam_ct = adam_ct
        self.codelists = dict(codelists or {})
        self.ig = library.sdtmig()
        self.ig_datasets = library.sdtmig_datasets()
        self.model = library.sdtm_model()
        self.adamig = library.adamig()
        self.adsl: pd.DataFrame | None = None
        #: Each dataset's (USUBJID, sequence number) pairs, for SRCSEQ.
        self.seqs: dict[str, pd.MultiIndex] = {}
        self.columns: dict[str, set[str]] = {}

    # ------------------------------------------------------------------ entry

    def prepare(self, subjects: XptDataset | None, files: Sequence[Any] = ()) -> None:
        """Remember what other datasets are checked against, whatever their order: the
        subject dataset read first (DM's RFSTDTC; ADSL, which ADaM datasets copy from)
        and TA's arms (for DM), read from ``files`` (:class:`DatasetFile`)."""
        if subjects is not None and subjects.name == "ADSL":
            self.adsl = subjects.data
        if subjects is not None and subjects.name == "DM":
            self._remember_sdtm(subjects)
        ta = next((f for f in files if getattr(f, "name", "") == "TA"), None)
        if ta is not None:
            self.remember_arms(ta.read())

    def check(self, ds: XptDataset, spec: DatasetSpec | None = None
              ) -> list[ValidationFinding]:
        """The conformance findings of one dataset (SDTM by its domain, ADaM by name)."""
        out = FindingList(ds.name, severity="warning")
        factors = ColumnFactors(ds.data)
        if ds.name.startswith("AD"):
            self._adam(out, ds)
        else:
            self._remember_sdtm(ds)
            ig = self._ig_variables(ds.name)
            if ig is not None:
                self._ig(out, ds, ig, spec)
                self._ct(out, ds, ig, factors, spec)
                self._sdtm_rules(out, ds)
        self._length_fit(out, ds, factors)
        if spec is None:
            # Data the study does not make (another study's SDTM it starts from): what is
            # wrong in it is reported, but it is not the study's to fix, so it does not
            # fail the study's run.
            return [f if f.severity != "error" else ValidationFinding(
                f.dataset, f.variable, f.rule, "warning", f.count, f.examples,
                f.message + " [in data without a spec of this study: a warning]")
                for f in out.found]
        return out.found

    # ------------------------------------------------------------------ SDTM

    def _ig_variables(self, name: str) -> list[IGVariable] | None:
        if name.startswith("SUPP") and len(name) > 4:
            return self.ig.get("SUPPQUAL")
        return self.ig.get(name)

    def _allowed_by_model(self, name: str, variable: str) -> bool:
        """Whether the SDTM model allows a variable in a domain (its class variables with
        the domain prefix, identifiers and timing variables)."""
        info = self.ig_datasets.get(name)
        if info is None:
            return True
        allowed = set()
        for key in (info["class"], "General Observations"):
            for v in self.model.get(key, []):
                allowed.add(v.name.replace("--", name[:2]))
        return variable in allowed

    def _ig(self, out: FindingList, ds: XptDataset, ig: list[IGVariable],
            spec: DatasetSpec | None) -> None:
        data = ds.data
        by_name = {v.name: v for v in ig}
        present = list(data.columns)
        for v in ig:
            if v.name in present:
                continue
            if v.core == "Req":
                out.add(v.name, "ig_required", f"{v.name} is Required in SDTMIG 3.4 "
                        f"{ds.name} and is missing", severity="error")
            elif v.core == "Exp":
                out.add(v.name, "ig_expected", f"{v.name} is Expected in SDTMIG 3.4 "
                        f"{ds.name} and is missing (include it, null if not collected)")
        for name in present:
            v = by_name.get(name)
            if v is None:
                if not ds.name.startswith("SUPP") and \
                        not self._allowed_by_model(ds.name, name):
                    out.add(name, "ig_model", f"{name} is neither an SDTMIG 3.4 {ds.name} "
                            "variable nor one its SDTM class allows: put it in SUPP"
                            f"{ds.name}")
                continue
            if v.core == "Req":
                col = data[name]
                null = (col.isna() if ds.types.get(name) == "Num" else _text(col).eq(""))
                out.flag(name, "ig_required", null.to_numpy(), col,
                         f"{name} is Required in SDTMIG 3.4 and is null", "error")
            want = "Num" if v.type == "Num" else "Char"
            if ds.types.get(name) and ds.types[name] != want:
                out.add(name, "ig_type", f"{name} is {ds.types[name]}, SDTMIG 3.4 says "
                        f"{want}", severity="error")
            label = ds.labels.get(name, "")
            if label and label != v.label:
                out.add(name, "ig_label", f"label {label!r} is not SDTMIG 3.4's "
                        f"{v.label!r}")
            if spec is not None and name in spec.variable_names:
                role = spec.variable(name).role
                if role and v.role and role != v.role:
                    out.add(name, "ig_role", f"role {role!r} in the spec, SDTMIG 3.4 says "
                            f"{v.role!r}")
        # Order: the IG variables present must keep the IG's relative order.
        order = [by_name[n].order for n in present if n in by_name]
        if any(b < a for a, b in zip(order, order[1:], strict=False)):
            first = next(n for n, (a, b) in zip(
                [n for n in present if n in by_name][1:], zip(order, order[1:],
                                                                 strict=False),
                strict=False) if b < a)
            out.add(first, "ig_order", f"variables are not in SDTMIG 3.4 order (first out "
                    f"of place: {first})")

    def _accepted(self, spec: DatasetSpec | None, variable: str) -> set[str]:
        """Values the study declares for a variable: its codelist's terms (a declared
        extension of an extensible codelist is accepted, as define.xml says)."""
        if spec is None or variable not in spec.variable_names:
            return set()
        cl = self.codelists.get(spec.variable(variable).codelist or "")
        if cl is not None:
            return {str(t.submission_value) for t in cl.terms if cl.is_extension(t)}
        # A test name: the decode of an extension of the test code's codelist.
        code = variable[:-4] + "TESTCD" if variable.endswith("TEST") else ""
        if code in spec.variable_names:
            cl = self.codelists.get(spec.variable(code).codelist or "")
            if cl is not None:
                return {t.decode for t in cl.terms if cl.is_extension(t)}
        return set()

    def _ct(self, out: FindingList, ds: XptDataset, ig: list[IGVariable],
            factors: ColumnFactors, spec: DatasetSpec | None) -> None:
        for v in ig:
            if v.name not in ds.data.columns or not v.codelists or _RESULTS.match(v.name):
                continue
            cls = [c for c in (self.sdtm_ct.codelist(code) for code in v.codelists) if c]
            if not cls:
                continue
            allowed = set().union(*(c.submission_values() for c in cls))
            if v.name.endswith(("TESTCD", "TEST")) and ds.name in ("RS", "QS", "FT"):
                # Clinical classifications and questionnaires have their own test codes.
                allowed |= self._instrument_terms(v.name.endswith("TESTCD"))
            allowed |= self._accepted(spec, v.name)
            extensible = all(c.extensible for c in cls)
            names = "/".join(f"{c.short_name} ({c.code})" for c in cls)

            def bad(u: pd.Series, allowed: set[str] = allowed) -> pd.Series:
                t = _text(u)
                return t.ne("") & ~t.isin(allowed)

            mask = factors.mask(v.name, bad)
            if extensible:
                out.flag(v.name, "ct_extensible", mask, ds.data[v.name],
                         f"value not in the extensible CDISC codelist {names} (SDTM CT "
                         f"{self.sdtm_ct.version}) and not declared as the sponsor's "
                         "extension (Pinnacle 21 CT2002)")
            else:
                out.flag(v.name, "ct_cdisc", mask, ds.data[v.name],
                         f"value not in the CDISC codelist {names} (SDTM CT "
                         f"{self.sdtm_ct.version}) (Pinnacle 21 CT2001)", "error")

    def _instrument_terms(self, codes: bool) -> set[str]:
        out: set[str] = set()
        suffix = "TC" if codes else "TN"
        for c in self.sdtm_ct.codelists.values():
            if c.short_name.endswith(suffix) and re.search(
                    r"(Questionnaire|Clinical Classification|Functional Test) Test "
                    + ("Code" if codes else "Name"), c.name):
                out |= c.submission_values()
        return out

    def _sdtm_rules(self, out: FindingList, ds: XptDataset) -> None:
        data = ds.data
        name = ds.name
        info = self.ig_datasets.get(name, {})
        dtc = f"{name[:2]}DTC" if f"{name[:2]}DTC" in data.columns else f"{name[:2]}STDTC"
        has_epoch = any(v.name == "EPOCH" for v in self.ig.get(name, []))
        if info.get("class") in _GENERAL_CLASSES and "USUBJID" in data.columns and has_epoch:
            if "EPOCH" not in data.columns:
                out.add("EPOCH", "epoch", f"EPOCH is missing from {name}, a subject-level "
                        "observation dataset (FDA: EPOCH in every one)")
            elif dtc in data.columns:
                complete = _text(data[dtc]).str.len().ge(10)
                null = _text(data["EPOCH"]).eq("") & complete
                out.flag("EPOCH", "epoch", null.to_numpy(), data[dtc],
                         f"EPOCH is null on a record with a complete {dtc} (CORE-000701)")
        stat, reasnd = f"{name[:2]}STAT", f"{name[:2]}REASND"
        if stat in data.columns:
            nd = _text(data[stat]).eq(_NOT_DONE)
            missing = nd & (_text(data[reasnd]).eq("") if reasnd in data.columns else True)
            out.flag(reasnd, "reasnd", np.asarray(missing, dtype=bool), data[stat],
                     f"{stat} is NOT DONE and {reasnd} is missing (CORE-000774)")
        if name == "DM":
            arm = _text(data["ARMCD"]) if "ARMCD" in data.columns else None
            if arm is not None:
                assigned = arm.ne("") & ~arm.str.upper().isin({"SCRNFAIL", "NOTASSGN", "NOTTRT"})
                for ref in ("RFSTDTC", "RFENDTC"):
                    if ref in data.columns:
                        out.flag(ref, "dm_reference",
                                 (assigned & _text(data[ref]).eq("")).to_numpy(),
                                 data["USUBJID"], f"{ref} is null for a subject with an "
                                 "arm (CORE-000191: randomised subjects need one)", "error")
        if name == "AE" and "AESER" in data.columns:
            crit = [c for c in _SERIOUS if c in data.columns]
            anyy = np.zeros(len(data), dtype=bool)
            for c in crit:
                anyy |= _text(data[c]).eq("Y").to_numpy()
            ser = _text(data["AESER"])
            out.flag("AESER", "ae_serious", (ser.eq("Y").to_numpy() & ~anyy), data["AESER"],
                     "AESER is Y but no seriousness criterion is Y", "error")
            out.flag("AESER", "ae_serious", (ser.eq("N").to_numpy() & anyy), data["AESER"],
                     "AESER is N but a seriousness criterion is Y (CORE-000266)", "error")
        if name == "DS" and {"DSCAT", "DSSCAT", "USUBJID"} <= set(data.columns):
            ev = data[_text(data["DSCAT"]).eq("DISPOSITION EVENT").to_numpy()]
            keys = ["USUBJID", "DSSCAT"] + (["EPOCH"] if "EPOCH" in ev.columns else [])
            frame = pd.DataFrame({k: _text(ev[k]).to_numpy() for k in keys})
            dup = frame.duplicated(keep=False).to_numpy()
            out.flag("DSSCAT", "ds_participation",
                     np.isin(np.arange(len(data)), np.flatnonzero(
                         _text(data["DSCAT"]).eq("DISPOSITION EVENT").to_numpy())[dup]),
                     data["USUBJID"], "more than one disposition event per subject, DSSCAT "
                     "and EPOCH (CORE-000213/000214)", "error")
        if name == "TS":
            self._ts(out, data)
        self._study_days(out, data, name)
        for col in data.columns:
            if ds.types.get(col) == "Char":
                lead = _per_value(data[col], lambda t: t.str.match(r"^\s+\S"))
                out.flag(col, "text", lead.astype(bool), data[col],
                         "text with leading spaces (CORE-000867)")
        for term, code in (("AEBODSYS", "AEBDSYCD"), ("AEDECOD", "AEPTCD"),
                           ("AELLT", "AELLTCD"), ("AESOC", "AESOCCD")):
            if name == "AE" and term in data.columns:
                coded = (pd.to_numeric(data[code], errors="coerce").notna()
                         if code in data.columns else pd.Series(False, index=data.index))
                out.flag(code, "coding", (_text(data[term]).ne("") & ~coded).to_numpy(),
                         data[term], f"{term} is coded but {code} is empty (CORE-000024)")
        if name == "DM":
            self._arms(out, data)
        if name == "SUPPDM" and "QNAM" in data.columns:
            flags = _text(data["QNAM"]).str.fullmatch(
                r"(SAF|ITT|FAS|EFF|PP|PPROT|COMP\w*|RAND|ENRL)FL|ITT|SAFETY|EFFICACY|"
                r"COMPLT\d*|PPROT")
            out.flag("QNAM", "supp_flag", flags.to_numpy(), data["QNAM"],
                     "a population flag in SUPPDM: population flags belong in ADaM "
                     "(CORE-000211)")

    def remember_arms(self, ta: XptDataset) -> None:
        """The trial's arms (TA), for DM's ARMCD/ACTARMCD."""
        if {"ARMCD", "ARM"} <= set(ta.data.columns):
            self.arms = (set(_text(ta.data["ARMCD"])) - {""},
                         set(_text(ta.data["ARM"])) - {""})

    def _arms(self, out: FindingList, data: pd.DataFrame) -> None:
        arms = getattr(self, "arms", None)
        if "ARM" in data.columns:
            arm = _text(data["ARM"]).str.upper()
            out.flag("ARM", "arm", arm.isin({"SCREEN FAILURE", "NOT ASSIGNED",
                                             "UNPLANNED TREATMENT", "NOT TREATED"}).to_numpy(),
                     data["ARM"], "ARM holds a reason the arm is null: leave ARM/ARMCD null "
                     "and give the reason in ARMNRS (CORE-000115)", "error")
        if arms is None:
            return
        for col, known in (("ARMCD", arms[0]), ("ACTARMCD", arms[0]), ("ARM", arms[1]),
                           ("ACTARM", arms[1])):
            if col in data.columns:
                v = _text(data[col])
                out.flag(col, "arm", (v.ne("") & ~v.isin(known)).to_numpy(), data[col],
                         f"{col} is not an arm of TA (CORE-000047, 000208-000210)", "error")

    def _study_days(self, out: FindingList, data: pd.DataFrame, name: str) -> None:
        p = name[:2]
        for dtc, dy in ((f"{p}DTC", f"{p}DY"), (f"{p}STDTC", f"{p}STDY"),
                        (f"{p}ENDTC", f"{p}ENDY")):
            if dtc not in data.columns or "USUBJID" not in data.columns:
                continue
            complete = _text(data[dtc]).str.len().ge(10)
            if dy not in data.columns:
                if complete.any():
                    out.add(dy, "study_day", f"{dy} is missing while {dtc} has complete "
                            "dates (CORE-000321/000328/000776/000793)")
                continue
            missing = complete & pd.to_numeric(data[dy], errors="coerce").isna()
            ref = getattr(self, "references", None)
            if ref is not None:
                missing &= _text(data["USUBJID"]).map(ref).fillna("").ne("")
                out.flag(dy, "study_day", missing.to_numpy(dtype=bool), data[dtc],
                         f"{dy} is missing while {dtc} is a complete date and the subject "
                         "has an RFSTDTC (CORE-000321)")

    def _ts(self, out: FindingList, data: pd.DataFrame) -> None:
        parm = _text(data["TSPARMCD"]) if "TSPARMCD" in data.columns else pd.Series([])
        have = set(parm)
        for p in FDA_TS_PARAMETERS:
            if p not in have:
                out.add("TSPARMCD", "ts", f"TS parameter {p} is missing (FDA Study Data "
                        "Technical Conformance Guide)")
        if "TSVAL" not in data.columns:
            return
        val = _text(data["TSVAL"])
        def column(name: str) -> pd.Series:
            return _text(data[name]) if name in data.columns else pd.Series(
                "", index=data.index, dtype="string")

        code, ref, ver = column("TSVALCD"), column("TSVCDREF"), column("TSVCDVER")
        for p, cl_name in TS_CODELISTS.items():
            cl = self.sdtm_ct.codelist(cl_name)
            rows = parm.eq(p) & val.ne("")
            if cl is None or not rows.any():
                continue
            terms = {t.submission_value: t.code for t in cl.terms}
            outside = rows & ~val.isin(set(terms))
            out.flag("TSVAL", "ts", outside.to_numpy(), val,
                     f"TSVAL of {p} is not a term of the CDISC codelist {cl.short_name}")
            expected = val.map(terms).fillna("")
            nocode = rows & ~outside & code.ne(expected)
            out.flag("TSVALCD", "ts", nocode.to_numpy(), val,
                     f"TSVALCD of {p} is not the NCI code of its value in "
                     f"{cl.short_name}")
            noref = rows & ~outside & (ref.ne("CDISC CT") | ver.eq(""))
            out.flag("TSVCDVER", "ts", noref.to_numpy(), val,
                     f"a CDISC CT value of {p} needs TSVCDREF = CDISC CT and TSVCDVER")

    def _remember_sdtm(self, ds: XptDataset) -> None:
        self.columns[ds.name] = set(ds.data.columns)
        if ds.name == "DM" and {"USUBJID", "RFSTDTC"} <= set(ds.data.columns):
            self.references = pd.Series(_text(ds.data["RFSTDTC"]).str.slice(0, 10).to_numpy(),
                                        index=_text(ds.data["USUBJID"]).to_numpy())
        if ds.name == "TA":
            self.remember_arms(ds)
        seq = f"{ds.name[:2]}SEQ"
        if {"USUBJID", seq} <= set(ds.data.columns):
            self.seqs[ds.name] = _pairs(ds.data, seq)

    def _length_fit(self, out: FindingList, ds: XptDataset, factors: ColumnFactors) -> None:
        for name in ds.data.columns:
            if ds.types.get(name) != "Char":
                continue
            width = ds.widths.get(name)
            uniques = factors.get(name)[1]
            longest = int(_text(uniques).str.encode("utf-8").str.len().max()) \
                if len(uniques) else 0
            if width is not None and width > max(longest, 1):
                out.add(name, "length_fit", f"stored length {width} is more than the "
                        f"longest value ({longest}): the FDA asks for the shortest length "
                        "that fits")

    # ------------------------------------------------------------------ ADaM

    def _adam(self, out: FindingList, ds: XptDataset) -> None:
        data = ds.data
        name = ds.name
        structure = "ADSL" if name == "ADSL" else ("BDS" if "PARAMCD" in data.columns
                                                   else None)
        table = {v.name: v for v in self.adamig.get(structure or "", [])}
        for v in table.values():
            if v.core == "Req" and not re.search(r"[a-z]", v.name) \
                    and v.name not in data.columns:
                out.add(v.name, "ig_required", f"{v.name} is Required in ADaMIG 1.3 "
                        f"{structure} and is missing", severity="error")
        for col in data.columns:
            v = table.get(col)
            if v is None:
                continue
            want = "Num" if v.type == "Num" else "Char"
            if ds.types.get(col) and ds.types[col] != want:
                out.add(col, "ig_type", f"{col} is {ds.types[col]}, ADaMIG 1.3 says {want}",
                        severity="error")
            label = ds.labels.get(col, "")
            if label and label != v.label and "xx" not in v.label.lower():
                out.add(col, "ig_label", f"label {label!r} is not ADaMIG 1.3's {v.label!r}")
        # Flags (ADaMIG 1.3 3.1.4 and 3.3.7): population flags Y or N, never null (in
        # ADSL and where copied); record-level analysis flags Y or null.
        population = {v.name for v in self.adamig.get("ADSL", [])
                      if v.name.endswith("FL") and "population" in v.label.lower()}
        population |= {"SAFFL", "ITTFL", "FASFL", "PPROTFL", "COMPLFL", "RANDFL", "ENRLFL"}
        for col in data.columns:
            if not col.endswith("FL") or ds.types.get(col) != "Char":
                continue
            values = _text(data[col])
            if col in population:
                out.flag(col, "adam_flag", (~values.isin({"Y", "N"})).to_numpy(),
                         data[col], f"{col} is a population flag: Y or N, never null",
                         "error")
            elif re.fullmatch(r"ABLFL|ANL\d\dFL|ONTRTFL|LVOTFL", col):
                out.flag(col, "adam_flag", (~values.isin({"Y", ""})).to_numpy(), data[col],
                         f"{col} is a record-level analysis flag: Y or null", "error")
        self.columns[name] = set(data.columns)
        # An ADaM source record is numbered by ASEQ, else by the --SEQ it carries from
        # its SDTM record (the CDISC pilot's ADAE has AESEQ only).
        seq = "ASEQ" if "ASEQ" in data.columns else next(
            (c for c in data.columns if re.fullmatch(r"[A-Z]{2}SEQ", str(c))), None)
        if seq is not None and "USUBJID" in data.columns:
            self.seqs[name] = _pairs(data, seq)
        if name == "ADSL":
            self.adsl = data
            self._trt_dates(out, data)
        else:
            self._adsl_copies(out, ds)
            self._baseline(out, data)
            self._sources(out, data)

    def _trt_dates(self, out: FindingList, data: pd.DataFrame) -> None:
        if not {"TRTSDT", "TRTEDT"} <= set(data.columns):
            return
        s = pd.to_numeric(data["TRTSDT"], errors="coerce")
        e = pd.to_numeric(data["TRTEDT"], errors="coerce")
        out.flag("TRTEDT", "adam_trt", (e < s).to_numpy(), data["USUBJID"],
                 "TRTEDT is before TRTSDT", "error")
        if "TRTDURD" in data.columns:
            d = pd.to_numeric(data["TRTDURD"], errors="coerce")
            bad = s.notna() & e.notna() & (d != e - s + 1)
            out.flag("TRTDURD", "adam_trt", bad.to_numpy(), data["USUBJID"],
                     "TRTDURD is not TRTEDT - TRTSDT + 1", "error")

    def _adsl_copies(self, out: FindingList, ds: XptDataset) -> None:
        if self.adsl is None or "USUBJID" not in ds.data.columns:
            return
        adsl = self.adsl.drop_duplicates("USUBJID").set_index(
            _text(self.adsl["USUBJID"].drop_duplicates()).to_numpy())
        subjects = _text(ds.data["USUBJID"]).to_numpy()
        known = adsl.index.get_indexer(subjects) >= 0  # others: usubjid_in_dm says so
        for col in ds.data.columns:
            if col in ("USUBJID", "STUDYID") or col not in adsl.columns:
                continue
            mine = ds.data[col]
            theirs = adsl[col].reindex(subjects)
            if mine.dtype.kind in "fiu":
                a = pd.to_numeric(mine, errors="coerce").to_numpy(dtype=float)
                b = pd.to_numeric(theirs, errors="coerce").to_numpy(dtype=float)
                diff = ~((a == b) | (np.isnan(a) & np.isnan(b)))
            else:
                diff = (_text(mine).to_numpy() != _text(theirs.reset_index(drop=True))
                        .to_numpy())
            out.flag(col, "adam_adsl", diff & known, mine, f"{col} differs from ADSL.{col} (an "
                     "ADSL variable is copied unchanged)", "error")

    def _baseline(self, out: FindingList, data: pd.DataFrame) -> None:
        cols = set(data.columns)
        if not {"USUBJID", "PARAMCD", "ABLFL"} <= cols:
            return
        keys = ["USUBJID", "PARAMCD"] + (["BASETYPE"] if "BASETYPE" in cols else [])
        frame = pd.DataFrame({k: _text(data[k]).to_numpy() for k in keys})
        base = _text(data["ABLFL"]).eq("Y").to_numpy()
        dup = frame[base].duplicated(keep=False).to_numpy()
        mask = np.zeros(len(data), dtype=bool)
        mask[np.flatnonzero(base)[dup]] = True
        out.flag("ABLFL", "adam_ablfl", mask, data["USUBJID"],
                 "more than one ABLFL = Y record per subject and parameter", "error")
        if {"BASE", "AVAL"} <= cols:
            blrec = frame[base].assign(_AVAL=pd.to_numeric(data["AVAL"], errors="coerce")
                                       .to_numpy()[base]).drop_duplicates(keys)
            merged = frame.merge(blrec, on=keys, how="left")
            b = pd.to_numeric(data["BASE"], errors="coerce").to_numpy(dtype=float)
            a = merged["_AVAL"].to_numpy(dtype=float)
            bad = ~np.isnan(b) & ~np.isclose(a, b, equal_nan=False)
            out.flag("BASE", "adam_base", bad, data["USUBJID"],
                     "BASE is not the AVAL of the baseline record (ABLFL = Y)", "error")
        if {"CHG", "AVAL", "BASE"} <= cols:
            a = pd.to_numeric(data["AVAL"], errors="coerce").to_numpy(dtype=float)
            b = pd.to_numeric(data["BASE"], errors="coerce").to_numpy(dtype=float)
            c = pd.to_numeric(data["CHG"], errors="coerce").to_numpy(dtype=float)
            want = a - b
            bad = ~np.isnan(c) & ~np.isclose(c, want)
            out.flag("CHG", "adam_base", bad, data["USUBJID"], "CHG is not AVAL - BASE",
                     "error")

    def _sources(self, out: FindingList, data: pd.DataFrame) -> None:
        if not {"SRCDOM", "SRCSEQ", "USUBJID"} <= set(data.columns) or not self.columns:
            return
        dom = _text(data["SRCDOM"]).to_numpy()
        seq = pd.to_numeric(data["SRCSEQ"], errors="coerce").to_numpy()
        subj = _text(data["USUBJID"]).to_numpy()
        var = _text(data["SRCVAR"]).to_numpy() if "SRCVAR" in data.columns else None
        bad = np.zeros(len(data), dtype=bool)
        # One pass per source dataset named (a handful), each vectorised over its records.
        for name in pd.unique(dom[dom != ""]):
            rows = np.flatnonzero(dom == name)
            if name not in self.columns:
                bad[rows] = True  # not among the datasets checked before this one
                continue
            if var is not None:
                named = var[rows]
                bad[rows] |= (named != "") & ~np.isin(named, list(self.columns[name]))
            known = self.seqs.get(name)
            numbered = ~np.isnan(seq[rows])
            if known is not None and numbered.any():
                asked = pd.MultiIndex.from_arrays([subj[rows], seq[rows]])
                bad[rows] |= numbered & ~asked.isin(known)
        out.flag("SRCSEQ", "adam_src", bad, data["USUBJID"],
                 "SRCDOM/SRCVAR/SRCSEQ name no record or variable of the source dataset",
                 "error")


def _pairs(data: pd.DataFrame, seq: str) -> pd.MultiIndex:
    """The (USUBJID, ``seq``) pairs of a dataset's records."""
    return pd.MultiIndex.from_arrays([_text(data["USUBJID"]).to_numpy(),
                                      pd.to_numeric(data[seq], errors="coerce").to_numpy()])


def spec_codelist_findings(codelists: Mapping[str, Codelist], sdtm_ct: Terminology,
                           adam_ct: Terminology) -> list[ValidationFinding]:
    """A study's CDISC codelists against CDISC CT (rule ``ct_spec``): the codelist and
    each term's NCI code, a synonym used where the submission value belongs, a term not
    in CT that is not marked as the sponsor's extension, an extension of a codelist
    that is not extensible.

    Examples
    --------
    >>> spec_codelist_findings({}, sdtm_ct, adam_ct)  # doctest: +SKIP
    []
    """
    out = FindingList("ct/", severity="warning")
    for cid, cl in sorted(codelists.items()):
        if cl.package is None or not cl.nci_code:
            continue
        ct = (adam_ct if cl.package == "ADaM" else sdtm_ct).codelist(cl.nci_code)
        if ct is None:
            out.add(cid, "ct_spec", f"codelist {cid}: {cl.nci_code} is not a codelist of "
                    f"{cl.package} CT {(adam_ct if cl.package == 'ADaM' else sdtm_ct).version}")
            continue
        if cl.extensible != ct.extensible:
            out.add(cid, "ct_spec", f"codelist {cid}: extensible is {cl.extensible}, CDISC "
                    f"{ct.short_name} ({ct.code}) says {ct.extensible}")
        for t in cl.terms:
            _term_findings(out, cid, cl, ct, t)
    return out.found


def _term_findings(out: FindingList, cid: str, cl: Codelist, ct: CTCodelist, t) -> None:
    sv = str(t.submission_value)
    term = ct.term(sv)
    if term is not None:
        if t.nci_code != term.code:
            out.add(cid, "ct_spec", f"codelist {cid}: {sv!r} has code {t.nci_code}, CDISC "
                    f"{ct.short_name} says {term.code}")
        if cl.is_extension(t):
            out.add(cid, "ct_spec", f"codelist {cid}: {sv!r} is a CDISC term, not an "
                    "extension")
        return
    synonym = ct.synonym_of(sv)
    if synonym is not None:
        out.add(cid, "ct_spec", f"codelist {cid}: {sv!r} is a synonym; the submission "
                f"value is {synonym.submission_value!r} ({synonym.code})")
    elif not cl.is_extension(t):
        out.add(cid, "ct_spec", f"codelist {cid}: {sv!r} is not a term of {ct.short_name} "
                f"({ct.code}): mark it as the sponsor's extension (no NCI code, or "
                "extended: true)")
    elif not ct.extensible:
        out.add(cid, "ct_spec", f"codelist {cid}: {sv!r} extends {ct.short_name}, which is "
                "not extensible", severity="error")
