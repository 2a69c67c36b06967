"""The CDISC library: NCI-EVS controlled terminology and the SDTMIG / ADaMIG variable
tables, read from a folder of CDISC's published files (never copied into a study).

trialflow does not ship CDISC's terminology or implementation guides: their terms forbid
redistributing them. It reads them, at run or test time, from a *library folder* laid
out as CDISC and NCI EVS publish them::

    ct/SDTM_Terminology_<date>.txt      NCI-EVS "SDTM Terminology.txt" (tab-delimited)
    ct/ADaM_CT_<date>.csv               ADaM CT (CSV export, same columns)
    sdtmig_v3_4/Datasets.csv, Variables.csv     the SDTMIG 3.4 tables
    sdtm_v2_0/Datasets.csv, Variables.csv       the SDTM 2.0 model tables
    adamig_v1_3/DataStructures.csv, Variables.csv   the ADaMIG 1.3 tables

Which folder (:func:`find_library`): the one given (``--cdisc-library DIR``), else the
``TRIALFLOW_CDISC_LIBRARY`` environment variable, else the study's
``standards: {library: DIR}``, else ``../shared/external/cdisc-library`` beside the
repository when present. Without one, the checks that need CDISC's tables are skipped
and say so.

A study names the CT version of each package it uses (``standards: {ct: {SDTM:
2025-03-28, ADaM: 2025-09-26}}`` in ``study.yaml``); the library must hold that version.

Example
-------
>>> lib = Library(find_library(None))  # doctest: +SKIP
>>> lib.terminology("SDTM").codelist("C66742").submission_values()  # doctest: +SKIP
frozenset({'N', 'NA', 'U', 'Y'})
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from trialflow import ROOT
from trialflow.errors import TrialflowError

__all__ = ["ENV", "CTCodelist", "CTTerm", "IGVariable", "Library", "Terminology",
           "find_library", "fold"]

#: The environment variable naming the library folder.
ENV = "TRIALFLOW_CDISC_LIBRARY"
#: Where the library is looked for last: beside the repository (a checkout).
DEFAULT = ROOT.parent / "shared" / "external" / "cdisc-library"
_CT_FILES = {"SDTM": re.compile(r"^SDTM_Terminology_(\d{4}-\d{2}-\d{2})\.txt$"),
             "ADaM": re.compile(r"^ADaM_CT_(\d{4}-\d{2}-\d{2})\.csv$")}


def fold(value: object) -> str:
    """Case- and whitespace-insensitive text, as CT synonyms are matched.

    Examples
    --------
    >>> fold("  Sum of   diameter ")
    'SUM OF DIAMETER'
    """
    return " ".join(str(value).split()).upper()


def find_library(given: Path | str | None, study_library: Path | None = None
                 ) -> Path | None:
    """The CDISC library folder to read, or None when there is none.

    Parameters
    ----------
    given : path, optional
        ``--cdisc-library DIR``; must exist when given.
    study_library : pathlib.Path, optional
        The study's ``standards: {library: DIR}`` (absolute).

    Returns
    -------
    pathlib.Path or None

    Raises
    ------
    TrialflowError
        A folder named explicitly (argument, environment or study) does not exist.
    """
    for source, path in (("--cdisc-library", given), (ENV, os.environ.get(ENV) or None),
                         ("study.yaml standards.library", study_library)):
        if path is None or str(path) == "":
            continue
        path = Path(path)
        if not path.is_dir():
            raise TrialflowError(f"{path}: CDISC library folder not found (from {source}) "
                                 "— give the folder that holds ct/ and sdtmig_v3_4/")
        return path
    return DEFAULT if DEFAULT.is_dir() else None


@dataclass(frozen=True)
class CTTerm:
    """One term of a CDISC codelist."""

    code: str
    submission_value: str
    synonyms: tuple[str, ...]
    preferred: str


@dataclass(frozen=True)
class CTCodelist:
    """One CDISC codelist: its NCI code, short name, extensibility and terms."""

    code: str
    short_name: str
    name: str
    extensible: bool
    terms: tuple[CTTerm, ...]

    def submission_values(self) -> frozenset[str]:
        """The codelist's submission values."""
        return frozenset(t.submission_value for t in self.terms)

    def term(self, submission_value: str) -> CTTerm | None:
        """The term with this submission value (exact), or None."""
        return next((t for t in self.terms if t.submission_value == submission_value), None)

    def synonym_of(self, value: str) -> CTTerm | None:
        """The term whose synonym or NCI preferred term ``value`` is (folded), when it
        is not a submission value itself: a collected value that should be mapped."""
        key = fold(value)
        if any(fold(t.submission_value) == key for t in self.terms):
            return None
        return next((t for t in self.terms
                     if key in {fold(s) for s in t.synonyms} or fold(t.preferred) == key),
                    None)


@dataclass(frozen=True)
class Terminology:
    """One CT package (SDTM or ADaM) of one version."""

    package: str
    version: str
    codelists: Mapping[str, CTCodelist]
    by_name: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``SDTM CT 2025-03-28``."""
        return f"{self.package} CT {self.version}"

    def codelist(self, code_or_name: str) -> CTCodelist | None:
        """A codelist by NCI code (``C66742``) or short name (``NY``)."""
        code = self.by_name.get(code_or_name, code_or_name)
        return self.codelists.get(code)


@dataclass(frozen=True)
class IGVariable:
    """One variable of an implementation guide's table."""

    dataset: str
    name: str
    order: int
    label: str
    type: str
    codelists: tuple[str, ...]
    role: str
    core: str
    value_domain: str = ""


def _read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    if not path.is_file():
        raise TrialflowError(f"{path}: not found in the CDISC library")
    with path.open(encoding="utf-8-sig", newline="") as f:
        quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
        return list(csv.DictReader(f, delimiter=delimiter, quoting=quoting))


@lru_cache(maxsize=4)
def _terminology(path: Path, package: str, version: str) -> Terminology:
    rows = _read_csv(path, "\t" if path.suffix == ".txt" else ",")
    heads = {r["Code"]: r for r in rows if not r["Codelist Code"]}
    terms: dict[str, list[CTTerm]] = {code: [] for code in heads}
    for r in rows:
        parent = r["Codelist Code"]
        if parent and parent in terms:
            synonyms = tuple(s.strip() for s in r["CDISC Synonym(s)"].split(";") if s.strip())
            terms[parent].append(CTTerm(r["Code"], r["CDISC Submission Value"], synonyms,
                                        r["NCI Preferred Term"]))
    codelists = {code: CTCodelist(code, h["CDISC Submission Value"], h["Codelist Name"],
                                  h["Codelist Extensible (Yes/No)"].strip() == "Yes",
                                  tuple(terms[code]))
                 for code, h in heads.items()}
    return Terminology(package, version, codelists,
                       {c.short_name: c.code for c in codelists.values()})


@lru_cache(maxsize=4)
def _ig_table(path: Path) -> tuple[IGVariable, ...]:
    out = []
    for r in _read_csv(path):
        codes = tuple(c.strip() for c in re.split(r"[;,\s]+", r.get(
            "CDISC CT Codelist Code(s)") or "") if c.strip())
        name = r["Variable Name"]
        dataset = r.get("Dataset Name") or r.get("Data Structure Name") or ""
        order = r.get("Variable Order") or "0"
        out.append(IGVariable(dataset, name, int(order) if order.isdigit() else 0,
                              r["Variable Label"], r["Type"], codes, r.get("Role", ""),
                              r.get("Core", ""),
                              r.get("Described Value Domain(s)", "") or ""))
    return tuple(out)


@dataclass(frozen=True)
class Library:
    """A CDISC library folder (see the module docstring)."""

    path: Path

    def ct_versions(self, package: str) -> list[str]:
        """The versions of a CT package (``SDTM``, ``ADaM``) in the folder, oldest first."""
        pattern = _CT_FILES[package]
        found = [pattern.match(p.name) for p in (self.path / "ct").glob("*")]
        return sorted(m.group(1) for m in found if m)

    def terminology(self, package: str, version: str | None = None) -> Terminology:
        """A CT package of a version (default: the latest the folder holds).

        Raises
        ------
        TrialflowError
            The folder has no file of that package and version.
        """
        versions = self.ct_versions(package)
        version = version or (versions[-1] if versions else None)
        if version not in versions:
            have = ", ".join(versions) or "none"
            raise TrialflowError(f"{self.path / 'ct'}: no {package} CT {version} (the folder "
                                 f"has: {have}) — add the NCI-EVS file of that version, or "
                                 "name a version it has in study.yaml standards.ct")
        name = (f"SDTM_Terminology_{version}.txt" if package == "SDTM"
                else f"ADaM_CT_{version}.csv")
        return _terminology(self.path / "ct" / name, package, version)

    def sdtmig(self) -> dict[str, list[IGVariable]]:
        """SDTMIG 3.4 variables by dataset, in IG order."""
        table: dict[str, list[IGVariable]] = {}
        for v in _ig_table(self.path / "sdtmig_v3_4" / "Variables.csv"):
            table.setdefault(v.dataset, []).append(v)
        for variables in table.values():
            variables.sort(key=lambda v: v.order)
        return table

    def sdtmig_datasets(self) -> dict[str, dict[str, str]]:
        """SDTMIG 3.4 datasets: class, label, structure by name."""
        rows = _read_csv(self.path / "sdtmig_v3_4" / "Datasets.csv")
        return {r["Dataset Name"]: {"class": r["Class"], "label": r["Dataset Label"],
                                    "structure": r["Structure"]} for r in rows}

    def sdtm_model(self) -> dict[str, list[IGVariable]]:
        """SDTM 2.0 class variables (``--`` placeholders) by class; dataset variables
        (e.g. of DM) by dataset name."""
        table: dict[str, list[IGVariable]] = {}
        for r in _read_csv(self.path / "sdtm_v2_0" / "Variables.csv"):
            key = r["Dataset Name"] or r["Class"]
            order = r.get("Variable Order") or "0"
            table.setdefault(key, []).append(IGVariable(
                key, r["Variable Name"], int(order) if order.isdigit() else 0,
                r["Variable Label"], r["Type"], (), r.get("Role", ""), ""))
        return table

    def adamig(self) -> dict[str, list[IGVariable]]:
        """ADaMIG 1.3 variables by structure (``ADSL``, ``BDS``)."""
        names = {"Subject-Level Analysis Dataset": "ADSL", "Basic Data Structure": "BDS"}
        table: dict[str, list[IGVariable]] = {}
        for v in _ig_table(self.path / "adamig_v1_3" / "Variables.csv"):
            table.setdefault(names.get(v.dataset, v.dataset), []).append(v)
        return table
