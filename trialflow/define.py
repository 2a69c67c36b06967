"""Define-XML 2.1: the metadata document that travels with a set of datasets.

One document describes one standard's datasets (``define-sdtm.xml`` for SDTMIG 3.4,
``define-adam.xml`` for ADaMIG 1.3). Almost everything comes from the specs
(:mod:`trialflow.spec`); the built datasets add what only data tell:

* the XPT storage length of each text variable (the file is what define describes);
* the ISO 8601 flavour of each ``--DTC`` variable (``date`` when every value is a full
  date, ``partialDate`` when some are truncated, ``datetime`` ...);
* whether a numeric variable without a display format holds whole numbers
  (``integer``) or not (``float``, with ``SignificantDigits``);
* variables with no value at all (``def:HasNoData``);
* the value-level metadata: the test codes, parameters and qualifier names present,
  with the length, type, label and completeness of the result in each of them.

What Define-XML 2.1 needs and the specs do not hold is derived, and each derivation
is named where it is made: ``Repeating``/``IsReferenceData`` from the keys,
``def:SubClass`` from the dataset's structure, ``def:Origin/@Source`` from the raw form a
collected value comes from, per-parameter methods from the method names.

OIDs follow the Dataset-JSON files (:mod:`trialflow.datasetjson`): ``IG.<DATASET>``,
``IT.<DATASET>.<VARIABLE>`` and ``MDV.<STUDY>.<STANDARD>.<VERSION>``, so that each JSON
file points at its own definitions here.

``CreationDateTime`` is ``SOURCE_DATE_EPOCH`` when set, else 1970-01-01T00:00:00 (the
date the XPT and Dataset-JSON writers stamp): the same specs and data give the same
bytes.

The schema check uses the Define-XML 2.1 XSD that the ``odmlib`` package ships.

Example
-------
>>> tree = build_define(load_dataset_specs(SPECS / "adam"), Path("build/adam"))
... # doctest: +SKIP
>>> write_define(tree, Path("build/define/define-adam.xml"))  # doctest: +SKIP
>>> validate_define(Path("build/define/define-adam.xml"))  # doctest: +SKIP
[]
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree

from trialflow import SPECS, __version__
from trialflow.acrf import AnnotatedCRF
from trialflow.errors import InputError, SpecError, TrialflowError
from trialflow.io import source_date_epoch, write_atomic
from trialflow.spec import (
    Codelist,
    DatasetSpec,
    Study,
    Variable,
    load_codelists,
    load_study,
)
from trialflow.validate import ColumnFactors, xpt_header
from trialflow.xpt import is_date_format, read_xpt

__all__ = ["DEFINE_VERSION", "build_define", "creation_datetime", "define_schema",
           "validate_define", "write_define"]

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
DEFINE_VERSION = "2.1.0"
ODM_VERSION = "1.3.2"

#: Order of the datasets in the document: the order of the SDTMIG and ADaMIG tables of
#: contents (trial design, special purpose, general classes, relationships; ADSL first).
_CLASS_ORDER = ("TRIAL DESIGN", "SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS",
                "FINDINGS ABOUT", "RELATIONSHIP", "STUDY REFERENCE",
                "SUBJECT LEVEL ANALYSIS DATASET", "OCCURRENCE DATA STRUCTURE",
                "BASIC DATA STRUCTURE", "ADAM OTHER")

# ISO 8601 shapes that decide the DataType of a --DTC variable.
_DATE = r"\d{4}-\d{2}-\d{2}"
_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
_PARTIAL_DATE = r"\d{4}(-\d{2}(-\d{2})?)?"
_PARTIAL_DATETIME = r"\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?)?)?"
_DURATION = r"-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
# A form name in a spec's source ("enrol.STUDYID", "tumour.ASSESSDT, clinprog.PROGDT").
_FORM_REF = re.compile(r"\b([a-z][a-z0-9_]*)\.")
#: Relative tolerance within which a value counts as carrying d decimals: below the
#: noise of a double, so that 12.8333... (a prorated score) is not called 2 decimals.
_DECIMAL_TOL = 1e-12
_MAX_DECIMALS = 15
#: The def:leaf of the annotated CRF.
_ACRF_LEAF = "LF.acrf"
#: Records looked at first when asking whether a variable has any value.
_HEAD_RECORDS = 1000


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _odm(tag: str) -> str:
    return _q(ODM_NS, tag)


def _def(tag: str) -> str:
    return _q(DEF_NS, tag)


# --------------------------------------------------------------------------- time


def creation_datetime() -> str:
    """The document's ``CreationDateTime``: ``SOURCE_DATE_EPOCH`` or the Unix epoch.

    The default is the one the XPT and Dataset-JSON writers stamp, so a package built
    without ``SOURCE_DATE_EPOCH`` carries one date throughout.

    Returns
    -------
    str
        ``YYYY-MM-DDThh:mm:ss`` in UTC.

    Raises
    ------
    TrialflowError
        ``SOURCE_DATE_EPOCH`` is set but is not a non-negative whole number of seconds
        (the reproducible-builds specification asks tools to fail rather than fall back).
    """
    when = dt.datetime.fromtimestamp(source_date_epoch(), tz=dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S")


# --------------------------------------------------------------------------- data profile


def _present(values: pd.Series) -> pd.Series:
    """True where a value is present (text not blank, number not missing).

    Asked of a column's distinct values (:class:`trialflow.validate.ColumnFactors`): a
    column repeats a few values millions of times.
    """
    if values.dtype == object:
        return values.astype(str).str.strip().ne("")
    return values.notna()


def _stripped(values: pd.Series) -> pd.Series:
    """Distinct values as stripped text."""
    return values.astype(str).str.strip()


def _pairs(first: np.ndarray, second: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs of two code arrays (one code of each per record), in the order
    the records first show them; ``second``'s codes are below ``size``.

    What a by-value's records say of a result (all present, most decimals, longest
    text, first label) is what its distinct pairs say: a few thousand, not millions.
    """
    size = max(size, 1)
    key = pd.unique(first.astype(np.int64) * size + second)
    return key // size, key % size


def _row_decimals(values: pd.Series) -> pd.Series:
    """Fewest decimals that reproduce each value (-1 where missing).

    Vectorised: each pass settles every value that ``d`` decimals reproduce.
    """
    v = values.to_numpy(dtype="float64")
    finite = np.isfinite(v)
    tol = _DECIMAL_TOL * np.maximum(1.0, np.abs(v))
    out = np.where(finite, _MAX_DECIMALS, -1)
    for d in range(_MAX_DECIMALS - 1, -1, -1):
        with np.errstate(invalid="ignore"):
            ok = finite & (np.abs(np.round(v, d) - v) <= tol)
        out = np.where(ok, d, out)
    return pd.Series(out, index=values.index)


def _iso_type(values: pd.Series, fallback_length: int) -> str:
    """The Define-XML ISO 8601 DataType of a --DTC variable, from its distinct values."""
    text = values[_present(values)].astype(str).str.strip()
    if text.empty:
        # No value to look at: the declared length says date or date/time.
        return "date" if fallback_length <= 10 else "datetime"
    for pattern, kind in ((_DATE, "date"), (_DATETIME, "datetime"),
                          (_PARTIAL_DATE, "partialDate"),
                          (_PARTIAL_DATETIME, "partialDatetime")):
        if text.str.fullmatch(pattern).all():
            return kind
    return "text"


@dataclass(frozen=True)
class _ItemType:
    """DataType, Length, SignificantDigits and display format of one ItemDef."""

    data_type: str
    length: int | None = None
    digits: int | None = None
    display_format: str | None = None


def _whole_number_format(fmt: str | None) -> bool:
    """Whether a display format makes a number an integer, whatever its values: a SAS
    date (a whole number of days) or ``w.``."""
    return is_date_format(fmt) or bool(fmt and re.fullmatch(r"\d+\.", fmt))


def _numeric_type(var: Variable, decimals: int) -> _ItemType:
    """Numeric DataType: a display format decides; without one the data do.

    ``decimals`` is the most decimals any value needs (-1 when there are no values).
    """
    if _whole_number_format(var.format) or decimals <= 0:
        return _ItemType("integer", var.length, None, var.format)
    return _ItemType("float", var.length, int(decimals), var.format)


@dataclass
class _Dataset:
    """One dataset as read back from its XPT file."""

    spec: DatasetSpec
    data: pd.DataFrame
    widths: dict[str, int] = field(default_factory=dict)
    #: Variables in the file whose values were not read (see :func:`_with_values`).
    unread: frozenset[str] = frozenset()
    factors: ColumnFactors = field(init=False)

    def __post_init__(self) -> None:
        self.factors = ColumnFactors(self.data)

    def _read(self, name: str) -> bool:
        """Whether the data have the variable (False: not in the file)."""
        if name in self.unread:
            raise TrialflowError(f"{self.spec.name}.{name}: its values were not read "
                                 "(define._with_values must name it)")
        return name in self.data.columns

    def distinct(self, name: str) -> pd.Series | None:
        """The variable's distinct values (factorised once); None when not in the data."""
        return self.factors.get(name)[1] if self._read(name) else None

    def has_values(self, name: str) -> bool:
        """Whether any record has a value of the variable (False when not in the data)."""
        if not self._read(name):
            return False
        # Most variables have one in their first records: then the millions of others
        # need not be factorised for this question.
        head = self.data[name].iloc[:_HEAD_RECORDS]
        # As an array: a categorical's unique() is categorical, which _present would
        # take for numbers.
        return bool(_present(pd.Series(np.asarray(head.unique()))).any()
                    or _present(self.distinct(name)).any())


def _item_type(var: Variable, ds: _Dataset) -> _ItemType:
    """The DataType of a variable from its spec type, name, format and values.

    Only the types that depend on the values look at them: a text variable's length
    is its storage width.
    """
    if var.type == "Num":
        values = None if _whole_number_format(var.format) else ds.distinct(var.name)
        decimals = -1 if values is None else int(_row_decimals(values).to_numpy()
                                                 .max(initial=-1))
        return _numeric_type(var, decimals)
    if var.name.endswith("DTC"):
        values = ds.distinct(var.name)
        kind = _iso_type(pd.Series([], dtype=object) if values is None else values,
                         var.length)
        if kind != "text":
            # Define-XML gives no Length to the ISO 8601 types.
            return _ItemType(kind, None, None, var.format)
    values = ds.distinct(var.name) if var.name.endswith("DUR") else None
    if values is not None:
        text = values[_present(values)].astype(str).str.strip()
        if not text.empty and text.str.fullmatch(_DURATION).all():
            return _ItemType("durationDatetime", None, None, var.format)
    # The XPT storage width is what the file holds; the spec length when unreadable.
    return _ItemType("text", ds.widths.get(var.name) or var.length, None, var.format)


def _dataset_path(spec: DatasetSpec, directory: Path) -> Path:
    path = directory / f"{spec.name.lower()}.xpt"
    if not path.is_file():
        raise InputError(str(path), f"dataset {spec.name} not found",
                         fix="build the datasets first (trialflow sdtm / trialflow adam) or "
                             "point --sdtm/--adam at the directory that holds them")
    return path


def _with_values(spec: DatasetSpec) -> list[str]:
    """The spec's variables whose values the document describes.

    Whether an optional variable has any value, a number's decimals (unless its
    display format makes it whole), the ISO 8601 or duration form of --DTC and --DUR,
    and the variables of the value-level split; the length of any other text is its
    storage width, which the file's header holds.
    """
    vlm = _value_level(spec)
    split = set() if vlm is None else {vlm.by, vlm.label, *vlm.targets}
    return [v.name for v in spec.variables
            if not v.mandatory or v.name.endswith(("DTC", "DUR")) or v.name in split
            or (v.type == "Num" and not _whole_number_format(v.format))]


def _read_dataset(spec: DatasetSpec, directory: Path) -> _Dataset:
    path = _dataset_path(spec, directory)
    header = xpt_header(path)
    # Only the variables whose values are described (decoding the others was over a
    # quarter of the reading at 21,900 subjects), all of the spec's when the header
    # cannot be read on its own; define describes nothing else of the data.
    # Text as categoricals: their distinct values are what is described, and the reader
    # has found them already (ColumnFactors takes the codes).
    xpt = read_xpt(path, columns=spec.variable_names if header is None
                   else _with_values(spec), categorical=True)
    if xpt.data.columns.empty:
        # None of them in the file: all of it, so that a file with records is not taken
        # for an empty one.
        xpt = read_xpt(path, categorical=True)
    widths = {} if header is None else dict(header.variable_storage_width)
    widths.update(xpt.widths)
    unread = (frozenset(spec.variable_names) & set(widths)) - set(xpt.data.columns)
    return _Dataset(spec, xpt.data, {k: int(v) for k, v in widths.items()}, unread)


# --------------------------------------------------------------------------- standards


def _split_standard(standard: str) -> tuple[str, str]:
    """``"SDTMIG 3.4"`` -> ``("SDTMIG", "3.4")``."""
    name, _, version = standard.strip().rpartition(" ")
    if not name or not version:
        raise TrialflowError(f"standard {standard!r} must be a name and a version, e.g. "
                             "'SDTMIG 3.4' or 'ADaMIG 1.3'")
    return name, version


def _common_standard(specs: Mapping[str, DatasetSpec], standard: str | None) -> str:
    """The one standard every spec declares (a define describes one standard)."""
    if not specs:
        raise TrialflowError("no dataset specs to describe")
    first = next(iter(specs.values()))
    wanted = standard or first.standard
    for spec in specs.values():
        if spec.standard != wanted:
            raise SpecError(spec.file, f"standard {spec.standard!r} differs from "
                            f"{wanted!r}: one define.xml describes one standard", spec.name)
    return wanted


# --------------------------------------------------------------------------- builder


def _text(parent: etree._Element, tag: str, text: str,
          attrib: Mapping[str, str] | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag, dict(attrib or {}))
    el.text = text
    return el


def _description(parent: etree._Element, text: str) -> etree._Element:
    desc = etree.SubElement(parent, _odm("Description"))
    _text(desc, _odm("TranslatedText"), text, {_q(XML_NS, "lang"): "en"})
    return desc


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def _method_oid(dataset: str, method_id: str) -> str:
    return f"MT.{dataset}.{method_id.removeprefix('MT.')}"


def _reported_forms() -> frozenset[str]:
    """Raw forms the subject fills in: the instruments in ``specs/instruments``."""
    return frozenset(p.stem for p in (SPECS / "instruments").glob("*.yaml"))


@dataclass(frozen=True)
class _ValueLevel:
    """Which variable's values split which result variables into value-level items."""

    by: str
    targets: tuple[str, ...]
    label: str | None  # the variable naming each value (PARAM for PARAMCD), if any


def _value_level(spec: DatasetSpec) -> _ValueLevel | None:
    """The value-level split of a dataset, derived from its structure.

    A BDS result depends on the parameter (PARAMCD), a findings result on the test code
    (--TESTCD), a supplemental value on its qualifier (QNAM): their length, type, label
    and (for ADaM) method differ from one to the next. The specs do not declare this;
    the standards' structures do.
    """
    names = spec.variable_names
    if "PARAMCD" in names:
        targets = tuple(v for v in ("AVAL", "AVALC") if v in names)
        return _ValueLevel("PARAMCD", targets, "PARAM" if "PARAM" in names else None)
    if "QNAM" in names and "QVAL" in names:
        return _ValueLevel("QNAM", ("QVAL",), "QLABEL" if "QLABEL" in names else None)
    testcd = next((n for n in names if n.endswith("TESTCD") and len(n) == 8), None)
    if testcd is not None:
        prefix = testcd[:2]
        targets = tuple(prefix + s for s in ("ORRES", "STRESC", "STRESN")
                        if prefix + s in names)
        test = prefix + "TEST"
        return _ValueLevel(testcd, targets, test if test in names else None)
    return None


class _DefineBuilder:
    """Builds one MetaDataVersion; the parts are collected, then written in ODM order."""

    def __init__(self, datasets: Iterable[_Dataset], codelists: Mapping[str, Codelist],
                 standard: str, study: Study, acrf: AnnotatedCRF | None = None) -> None:
        # An iterable, read as the document is built: one dataset's data in memory at a
        # time (the QS of a large study is gigabytes); what the document needs of each is
        # taken from it while it is read.
        self.datasets = datasets
        self.specs: dict[str, DatasetSpec] = {}
        self.codelists = codelists
        self.standard = standard
        self.std_name, self.std_version = _split_standard(standard)
        self.std_oid = f"STD.{self.std_name}.{self.std_version}"
        self.study = study
        self.analysis = self.std_name.upper().startswith("ADAM")
        self.reported = _reported_forms()
        self.item_groups: list[etree._Element] = []
        self.item_defs: list[etree._Element] = []
        self.value_lists: list[etree._Element] = []
        self.where_clauses: list[etree._Element] = []
        self.comments: list[etree._Element] = []
        self.used_codelists: list[str] = []
        self.used_methods: list[tuple[str, str]] = []
        #: The annotated CRF collected origins point to (SDTM only).
        self.acrf = None if self.analysis else acrf

    # ---------------------------------------------------------------- references

    def _use_codelist(self, spec: DatasetSpec, var: Variable) -> str | None:
        if not var.codelist:
            return None
        if var.codelist not in self.codelists:
            raise SpecError(spec.file, f"codelist {var.codelist!r} is not in specs/ct",
                            spec.name, var.name)
        if var.codelist not in self.used_codelists:
            self.used_codelists.append(var.codelist)
        return f"CL.{var.codelist}"

    def _use_method(self, spec: DatasetSpec, method_id: str | None) -> str | None:
        if not method_id:
            return None
        if (spec.name, method_id) not in self.used_methods:
            self.used_methods.append((spec.name, method_id))
        return _method_oid(spec.name, method_id)

    def _comment(self, oid: str, text: str) -> str:
        el = etree.Element(_def("CommentDef"), OID=oid)
        _description(el, text)
        self.comments.append(el)
        return oid

    # ---------------------------------------------------------------- origin

    def _origin(self, parent: etree._Element, var: Variable, dataset: str = "",
                value: str | None = None) -> None:
        """def:Origin: the spec's origin, with the Source Define-XML 2.1 asks for.

        Collected values come from the investigator's CRF, or from the subject for a
        patient-reported instrument; assigned, derived and protocol values from the
        sponsor. A predecessor names its source variable instead.
        """
        attrib = {"Type": var.origin}
        if var.origin == "Collected":
            forms = set(_FORM_REF.findall(var.source or ""))
            subject = bool(forms) and forms <= self.reported
            attrib["Source"] = "Subject" if subject else "Investigator"
        elif var.origin in ("Assigned", "Derived", "Protocol"):
            attrib["Source"] = "Sponsor"
        origin = etree.SubElement(parent, _def("Origin"), attrib)
        if var.source and var.origin == "Predecessor":
            _description(origin, var.source)
        elif var.source and var.origin == "Collected":
            _description(origin, f"CRF field {var.source}")
        if var.origin == "Collected" and self.acrf is not None:
            pages = self.acrf.pages(dataset, var.name, value)
            if value is not None and not pages:
                pages = self.acrf.pages(dataset, var.name)
            if pages:
                ref = etree.SubElement(origin, _def("DocumentRef"), leafID=_ACRF_LEAF)
                etree.SubElement(ref, _def("PDFPageRef"), Type="PhysicalRef",
                                 PageRefs=" ".join(str(p) for p in pages))

    # ---------------------------------------------------------------- item defs

    def _item_def(self, spec: DatasetSpec, var: Variable, oid: str, kind: _ItemType,
                  description: str, comment_oid: str | None = None,
                  value: str | None = None) -> etree._Element:
        attrib = {"OID": oid, "Name": var.name, "DataType": kind.data_type}
        if kind.length is not None:
            attrib["Length"] = str(kind.length)
        if kind.digits is not None:
            attrib["SignificantDigits"] = str(kind.digits)
        attrib["SASFieldName"] = var.name
        if kind.display_format:
            attrib[_def("DisplayFormat")] = kind.display_format
        if comment_oid:
            attrib[_def("CommentOID")] = comment_oid
        item = etree.Element(_odm("ItemDef"), attrib)
        _description(item, description)
        cl = self._use_codelist(spec, var)
        if cl:
            etree.SubElement(item, _odm("CodeListRef"), CodeListOID=cl)
        self._origin(item, var, spec.name, value)
        self.item_defs.append(item)
        return item

    def _dataset(self, ds: _Dataset) -> None:
        spec = ds.spec
        name = spec.name
        keys = {k: i for i, k in enumerate(spec.keys, start=1)}
        names = spec.variable_names
        # One record per subject when the keys are the subject's (DM, ADSL); reference
        # data when the dataset is about the trial, not a subject (TS, TA, TE).
        repeating = not set(spec.keys) <= {"STUDYID", "USUBJID"}
        reference = "USUBJID" not in names
        attrib = {"OID": f"IG.{name}"}
        if not self.analysis:
            # A supplemental qualifier dataset belongs to its parent domain (SUPPAE: AE).
            attrib["Domain"] = name[4:] if name.startswith("SUPP") and len(name) > 4 \
                else name
        attrib.update({"Name": name, "Repeating": _yes_no(repeating),
                       "IsReferenceData": _yes_no(reference), "SASDatasetName": name,
                       "Purpose": "Analysis" if self.analysis else "Tabulation",
                       _def("Structure"): spec.structure,
                       _def("ArchiveLocationID"): f"LF.{name}",
                       _def("StandardOID"): self.std_oid})
        if ds.data.empty:
            attrib[_def("HasNoData")] = "Yes"
        if spec.comment:
            attrib[_def("CommentOID")] = self._comment(f"COM.{name}", spec.comment)
        group = etree.Element(_odm("ItemGroupDef"), attrib)
        _description(group, spec.label)
        items: dict[str, etree._Element] = {}
        for order, var in enumerate(spec.variables, start=1):
            ref = {"ItemOID": f"IT.{name}.{var.name}", "OrderNumber": str(order),
                   "Mandatory": _yes_no(var.mandatory)}
            if var.name in keys:
                ref["KeySequence"] = str(keys[var.name])
            method = self._use_method(spec, var.method)
            if method:
                ref["MethodOID"] = method
            if var.role and not self.analysis:
                ref["Role"] = var.role
            if not var.mandatory and not ds.has_values(var.name):
                ref[_def("HasNoData")] = "Yes"
            etree.SubElement(group, _odm("ItemRef"), ref)
            comment = (self._comment(f"COM.{name}.{var.name}", var.comment)
                       if var.comment else None)
            items[var.name] = self._item_def(spec, var, f"IT.{name}.{var.name}",
                                             _item_type(var, ds), var.label, comment)
        vlm = _value_level(spec)
        for target, vl_oid in (self._value_lists(ds, vlm) if vlm else {}).items():
            # The origin of a variable split by value is given for each value, not for
            # the variable as well (Define-XML 2.1: one or the other).
            for origin in items[target].findall(_def("Origin")):
                items[target].remove(origin)
            etree.SubElement(items[target], _def("ValueListRef"), ValueListOID=vl_oid)
        if not self.analysis:
            etree.SubElement(group, _odm("Alias"), Context="DomainDescription",
                             Name=spec.label)
        cls = etree.SubElement(group, _def("Class"), Name=spec.cls)
        sub = _subclass(spec)
        if sub:
            etree.SubElement(cls, _def("SubClass"), Name=sub)
        leaf = etree.SubElement(group, _def("leaf"),
                                {"ID": f"LF.{name}", _q(XLINK_NS, "href"):
                                 f"{name.lower()}.xpt"})
        _text(leaf, _def("title"), f"{name.lower()}.xpt")
        self.item_groups.append(group)

    # ---------------------------------------------------------------- value level

    def _vlm_values(self, ds: _Dataset, vlm: _ValueLevel) -> tuple[list[str], pd.Series]:
        """The by-values present, in codelist order (then sorted), and their labels."""
        spec = ds.spec
        by_codes, by_values = ds.factors.get(vlm.by)
        by_text = _stripped(by_values)
        labels: pd.Series = pd.Series(dtype=object)
        if vlm.label and vlm.label in ds.data.columns:
            # A by-value's label is the first non-blank one of its records: the first of
            # its (by, label) pairs in record order that has one.
            label_codes, label_values = ds.factors.get(vlm.label)
            by_pair, label_pair = _pairs(by_codes, label_codes, len(label_values))
            pairs = pd.DataFrame({"by": by_text.to_numpy()[by_pair],
                                  "label": _stripped(label_values).to_numpy()[label_pair]})
            pairs = pairs[pairs["by"].ne("") & pairs["label"].ne("")]
            labels = pairs.groupby("by")["label"].first()
        codelist = self.codelists.get(spec.variable(vlm.by).codelist or "")
        order = ([str(t.submission_value) for t in codelist.terms] if codelist else [])
        values = set(by_text) - {""}
        ordered = [v for v in order if v in values] + sorted(values - set(order))
        if codelist:
            # Where the data do not name a value, the codelist's decode does.
            decodes = pd.Series({str(t.submission_value): t.decode for t in codelist.terms})
            labels = labels.combine_first(decodes)
        return ordered, labels

    def _value_lists(self, ds: _Dataset, vlm: _ValueLevel) -> dict[str, str]:
        """def:ValueListDef and def:WhereClauseDef of one dataset; target -> VL OID."""
        spec = ds.spec
        name = spec.name
        if vlm.by not in ds.data.columns or not vlm.targets:
            return {}
        values, labels = self._vlm_values(ds, vlm)
        if not values:
            return {}
        by_codes, by_values = ds.factors.get(vlm.by)
        by_text = _stripped(by_values).to_numpy()
        for value in values:
            where = etree.Element(_def("WhereClauseDef"), OID=f"WC.{name}.{vlm.by}.{value}")
            check = etree.SubElement(where, _odm("RangeCheck"),
                                     {"Comparator": "EQ", "SoftHard": "Soft",
                                      _def("ItemOID"): f"IT.{name}.{vlm.by}"})
            _text(check, _odm("CheckValue"), value)
            self.where_clauses.append(where)
        method_ids = {m.id for m in spec.methods}
        out: dict[str, str] = {}
        for target in vlm.targets:
            if target not in ds.data.columns:
                continue
            var = spec.variable(target)
            codes, results = ds.factors.get(target)
            by_pair, result_pair = _pairs(by_codes, codes, len(results))
            pairs = pd.DataFrame({"by": by_text[by_pair],
                                  "present": _present(results).to_numpy()[result_pair]})
            # Decimals of a number, length of a text: the most of any record per value.
            size = (_row_decimals(results) if var.type == "Num"
                    else results.astype(str).str.rstrip().str.len())
            pairs["size"] = size.to_numpy()[result_pair]
            per_value = pairs.groupby("by")
            complete = per_value["present"].all()
            largest = per_value["size"].max()
            # A method named after a value (MT.BOR for PARAMCD BOR) derives that value's
            # result when the variable's own method is one of them (ADRS AVALC: MT.OVR).
            method_per_value = (var.method or "").removeprefix("MT.") in values
            vl_oid = f"VL.{name}.{target}"
            vl = etree.Element(_def("ValueListDef"), OID=vl_oid)
            for order, value in enumerate(values, start=1):
                oid = f"IT.{name}.{target}.{value}"
                if var.type == "Num":
                    kind = _numeric_type(var, int(largest.get(value, -1)))
                else:
                    kind = _ItemType("text", max(1, int(largest.get(value, 1))), None,
                                     var.format)
                ref = {"ItemOID": oid, "OrderNumber": str(order),
                       "Mandatory": _yes_no(bool(complete.get(value, False)))}
                method_id = var.method
                if method_per_value and f"MT.{value}" in method_ids:
                    method_id = f"MT.{value}"
                method = self._use_method(spec, method_id)
                if method:
                    ref["MethodOID"] = method
                item_ref = etree.SubElement(vl, _odm("ItemRef"), ref)
                etree.SubElement(item_ref, _def("WhereClauseRef"),
                                 WhereClauseOID=f"WC.{name}.{vlm.by}.{value}")
                label = str(labels.get(value, value))
                self._item_def(spec, var, oid, kind, f"{var.label}: {label}", value=value)
            self.value_lists.append(vl)
            out[target] = vl_oid
        return out

    # ---------------------------------------------------------------- codelists, methods

    def _ct_oid(self, cl: Codelist) -> str | None:
        """The OID of the CT standard a CDISC codelist is from, when the study names
        that package's version (study.yaml standards.ct); None for a sponsor's own."""
        if cl.package is None:
            return None
        version = self.study.standards.ct_version(cl.package)
        return None if version is None else f"STD.CT.{cl.package}.{version}"

    def _codelist(self, cl: Codelist) -> etree._Element:
        """CodeList: decoded items when any decode differs from its value, else plain.

        NCI codes become ``nci:ExtCodeID`` aliases. A CDISC codelist (one with an NCI
        code and a CT package) refers to its CT standard (``def:StandardOID``) and marks
        the sponsor's terms, those without an NCI code or marked ``extended``, as
        ``def:ExtendedValue``.
        """
        attrib = {"OID": f"CL.{cl.id}", "Name": cl.name, "DataType": cl.data_type}
        std = self._ct_oid(cl)
        if std:
            attrib[_def("StandardOID")] = std
        el = etree.Element(_odm("CodeList"), attrib)
        decoded = any(t.decode != str(t.submission_value) for t in cl.terms)
        for term in cl.terms:
            attrib = {"CodedValue": str(term.submission_value)}
            if term.order is not None:
                attrib["OrderNumber"] = str(term.order)
            if cl.is_extension(term):
                attrib[_def("ExtendedValue")] = "Yes"
            if decoded:
                item = etree.SubElement(el, _odm("CodeListItem"), attrib)
                decode = etree.SubElement(item, _odm("Decode"))
                _text(decode, _odm("TranslatedText"), term.decode,
                      {_q(XML_NS, "lang"): "en"})
            else:
                item = etree.SubElement(el, _odm("EnumeratedItem"), attrib)
            if term.nci_code and not cl.is_extension(term):
                etree.SubElement(item, _odm("Alias"), Context="nci:ExtCodeID",
                                 Name=term.nci_code)
        if cl.nci_code:
            etree.SubElement(el, _odm("Alias"), Context="nci:ExtCodeID", Name=cl.nci_code)
        return el

    def _methods(self) -> Iterator[etree._Element]:
        for dataset, method_id in self.used_methods:
            method = next(m for m in self.specs[dataset].methods if m.id == method_id)
            el = etree.Element(_odm("MethodDef"), OID=_method_oid(dataset, method_id),
                               Name=f"{dataset} {method_id}", Type=method.type)
            _description(el, method.description)
            yield el

    # ---------------------------------------------------------------- document

    def build(self) -> etree._ElementTree:
        for ds in self.datasets:
            self.specs[ds.spec.name] = ds.spec
            self._dataset(ds)
            del ds  # before the next is read
        study = self.study
        name, version = self.std_name, self.std_version
        root = etree.Element(_odm("ODM"), {
            "FileType": "Snapshot", "FileOID": f"DEFINE.{study.id}.{name}.{version}",
            "ODMVersion": ODM_VERSION, "CreationDateTime": creation_datetime(),
            "Originator": "trialflow", "SourceSystem": "trialflow",
            "SourceSystemVersion": __version__, _def("Context"): "Submission"},
            nsmap=NSMAP)
        st = etree.SubElement(root, _odm("Study"), OID=study.id)
        gv = etree.SubElement(st, _odm("GlobalVariables"))
        _text(gv, _odm("StudyName"), study.id)
        _text(gv, _odm("StudyDescription"), " ".join(study.title.split()))
        _text(gv, _odm("ProtocolName"), str(study.extra.get("protocol", study.id)))
        mdv = etree.SubElement(st, _odm("MetaDataVersion"), {
            "OID": f"MDV.{study.id}.{name}.{version}",
            "Name": f"{study.id} {self.standard}",
            "Description": f"{study.id} {self.standard} datasets",
            _def("DefineVersion"): DEFINE_VERSION})
        standards = etree.SubElement(mdv, _def("Standards"))
        etree.SubElement(standards, _def("Standard"), OID=self.std_oid, Name=name,
                         Type="IG", Version=version, Status="Final")
        # The CT of each package the codelists use, in the version the study names.
        packages = sorted({self.codelists[c].package for c in self.used_codelists
                           if self._ct_oid(self.codelists[c])})
        for package in packages:
            ct_version = self.study.standards.ct_version(package)
            etree.SubElement(standards, _def("Standard"),
                             OID=f"STD.CT.{package}.{ct_version}", Name="CDISC/NCI",
                             Type="CT", PublishingSet=package, Version=ct_version,
                             Status="Final")
        if self.acrf is not None:
            crf = etree.SubElement(mdv, _def("AnnotatedCRF"))
            etree.SubElement(crf, _def("DocumentRef"), leafID=_ACRF_LEAF)
        mdv.extend(self.value_lists)
        mdv.extend(self.where_clauses)
        mdv.extend(self.item_groups)
        mdv.extend(self.item_defs)
        mdv.extend(self._codelist(self.codelists[c]) for c in sorted(self.used_codelists))
        mdv.extend(self._methods())
        mdv.extend(self.comments)
        if self.acrf is not None:
            leaf = etree.SubElement(mdv, _def("leaf"), {
                "ID": _ACRF_LEAF, _q(XLINK_NS, "href"): self.acrf.path.name})
            _text(leaf, _def("title"), "Annotated Case Report Form")
        return etree.ElementTree(root)


def _subclass(spec: DatasetSpec) -> str | None:
    """def:SubClass of an ADaM dataset, from its structure (the spec has no field for it).

    A BDS with a censoring variable is time-to-event (ADaMIG 1.3 / ADaM BDS for TTE); an
    OCCDS of adverse events is ADVERSE EVENT (ADaM OCCDS).
    """
    if spec.cls == "BASIC DATA STRUCTURE" and "CNSR" in spec.variable_names:
        return "TIME-TO-EVENT"
    if spec.cls == "OCCURRENCE DATA STRUCTURE" and spec.name.startswith("ADAE"):
        return "ADVERSE EVENT"
    return None


def _dataset_order(spec: DatasetSpec) -> tuple[int, int, str]:
    rank = _CLASS_ORDER.index(spec.cls) if spec.cls in _CLASS_ORDER else len(_CLASS_ORDER)
    return rank, 0 if spec.name == "ADSL" else 1, spec.name


def build_define(specs: Mapping[str, DatasetSpec], datasets_dir: Path, *,
                 standard: str | None = None, codelists: Mapping[str, Codelist] | None = None,
                 study: Study | None = None, acrf: AnnotatedCRF | None = None
                 ) -> etree._ElementTree:
    """The Define-XML 2.1 document of one standard's datasets.

    Parameters
    ----------
    specs : mapping of str to DatasetSpec
        The dataset specs (e.g. ``load_dataset_specs(SPECS / "sdtm")``); each must have
        its ``<name>.xpt`` in ``datasets_dir``.
    datasets_dir : Path
        Directory holding the built XPT files.
    standard : str, optional
        ``"SDTMIG 3.4"`` or ``"ADaMIG 1.3"``; default the one the specs declare. Every
        spec must declare it.
    codelists : mapping of str to Codelist, optional
        Default :func:`trialflow.spec.load_codelists`.
    study : Study, optional
        Default :func:`trialflow.spec.load_study`.
    acrf : AnnotatedCRF, optional
        The annotated CRF (:func:`trialflow.acrf.write_acrf`) of a tabulation define:
        ``def:AnnotatedCRF`` and, on every collected origin, the pages of its annotation.

    Returns
    -------
    lxml.etree._ElementTree
        The ODM document; write it with :func:`write_define`.

    Raises
    ------
    InputError
        The directory or a dataset's XPT file is missing or unreadable.
    SpecError
        Specs of several standards, or a codelist the specs name that does not exist.
    """
    wanted = _common_standard(specs, standard)
    datasets_dir = Path(datasets_dir)
    if not datasets_dir.is_dir():
        raise InputError(str(datasets_dir), "dataset directory not found",
                         fix="build the datasets first (trialflow run)")
    codelists = load_codelists() if codelists is None else codelists
    study = load_study() if study is None else study
    ordered = sorted(specs.values(), key=_dataset_order)
    for spec in ordered:
        _dataset_path(spec, datasets_dir)  # every file there before any is read
    datasets = (_read_dataset(spec, datasets_dir) for spec in ordered)
    return _DefineBuilder(datasets, codelists, wanted, study, acrf).build()


def write_define(tree: etree._ElementTree, path: Path) -> Path:
    """Write a define.xml atomically (UTF-8, XML declaration, indented)."""
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return write_atomic(Path(path), lambda tmp: tmp.write_bytes(data))


# --------------------------------------------------------------------------- schema


def _safe_parser() -> etree.XMLParser:
    """A parser that resolves no external entity and never touches the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False)


def _schema_file() -> Path:
    """``define2-1-0.xsd`` as shipped in the odmlib package."""
    try:
        root = resources.files("odmlib.schemas")
    except ModuleNotFoundError:
        raise TrialflowError("the Define-XML 2.1 schema comes with the odmlib package, "
                             "which is not installed (pip install odmlib)") from None
    path = Path(str(root)) / "define" / "2.1" / "define2-1-0.xsd"
    if not path.is_file():
        raise TrialflowError(f"{path}: Define-XML 2.1 schema not found in the installed "
                             "odmlib package")
    return path


@lru_cache(maxsize=1)
def define_schema() -> etree.XMLSchema:
    """The Define-XML 2.1 schema (with ODM 1.3.2 foundation), loaded once."""
    doc = etree.parse(str(_schema_file()), _safe_parser())
    return etree.XMLSchema(doc)


def validate_define(path: Path) -> list[str]:
    """Schema errors of a define.xml against the Define-XML 2.1 XSD.

    Parameters
    ----------
    path : Path

    Returns
    -------
    list of str
        One message per error (``<file>:<line>: <message>``); empty when the document is
        valid. A document that is not well-formed XML, or that has a DOCTYPE, gives one
        message saying so.

    Raises
    ------
    InputError
        The file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "file not found")
    try:
        doc = etree.parse(str(path), _safe_parser())
    except etree.XMLSyntaxError as exc:
        return [f"{path.name}: not well-formed XML: {exc}"]
    if doc.docinfo.doctype:
        # Define-XML has no DTD; a DOCTYPE could only declare entities, which are left
        # unexpanded here (and an unexpanded entity makes libxml2's validator fail).
        return [f"{path.name}: a DOCTYPE is not allowed in define.xml (Define-XML has no "
                "DTD; entities are not expanded)"]
    schema = define_schema()
    try:
        if schema.validate(doc):
            return []
    except etree.XMLSchemaValidateError as exc:
        return [f"{path.name}: the schema validator could not check the document: {exc}"]
    return [f"{path.name}:{e.line}: {e.message}" for e in schema.error_log]
