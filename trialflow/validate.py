"""Validate datasets on disk against their specs, in a fixed order of rules.

``trialflow validate`` reads every ``*.xpt`` in a directory and checks each dataset,
rule by rule, always in this order (so that reports compare between runs):

1. ``unspecified``   variables in the data that the spec does not define
2. ``required``      spec variables missing from the data, mandatory ones left blank
3. ``type``          Char/Num as the spec says
4. ``length``        values no longer than the declared length; stored width as declared
5. ``label``         dataset and variable labels as the spec says, at most 40 ASCII
6. ``ct``            values of a variable with a codelist are terms of it
7. ``key_unique``    no two records share the spec's keys
8. ``sort``          records in the spec's sort order (missing first, as SAS sorts)
9. ``iso8601``       --DTC values are ISO 8601 dates/times (partial allowed)
10. ``usubjid_in_dm`` every USUBJID is a subject of DM (of ADSL, for ADaM datasets
    in a directory without DM)
11. ``seq_unique``   --SEQ (ASEQ in ADaM) unique within subject

A dataset without a spec of this study (another study's data, such as the CDISC pilot)
gets what can be checked without one: names and labels within XPT limits, ISO 8601,
USUBJID in DM and --SEQ uniqueness; a note says the rest was skipped.

The report has one row per (dataset, variable, rule) with the number of records and up
to five examples.

Example
-------
>>> findings, summary = validate_directory(Path("build/sdtm"), specs, codelists, "PRECIOUS")
... # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

from trialflow.console import progress
from trialflow.datasets import DatasetFile
from trialflow.errors import InputError
from trialflow.io import check_regular_file, write_atomic
from trialflow.safetext import console_text, force_text_cells, has_controls, xlsx_safe_frame
from trialflow.spec import Codelist, DatasetSpec
from trialflow.xlsxreport import finish_sheet
from trialflow.xpt import (
    MAX_CHAR_BYTES,
    MAX_LABEL,
    MAX_NAME,
    XptDataset,
    compact_codes,
    is_date_format,
    read_xpt,
)

RULES = ("read", "spec", "unspecified", "required", "type", "length", "label", "ct",
         "key_unique", "sort", "control", "iso8601", "usubjid_in_dm", "seq_unique")
REPORT_COLUMNS = ["dataset", "variable", "rule", "severity", "count", "examples", "message"]
EXAMPLES = 5

# ISO 8601 date/time as SDTM uses it: complete or partial (right-truncated), or with a
# hyphen standing for an unknown component in the middle (2003---15).
_YEAR = r"(?:\d{4}|-)"
_ISO = re.compile(
    rf"^{_YEAR}(?:-(?:0[1-9]|1[0-2]|-)(?:-(?:0[1-9]|[12]\d|3[01]|-)"
    r"(?:T(?:[01]\d|2[0-3]|-)(?::(?:[0-5]\d|-)(?::[0-5]\d(?:\.\d+)?)?)?)?)?)?$")
_ASCII = re.compile(r"^[\x20-\x7E]*$")


@dataclass(frozen=True)
class ValidationFinding:
    """One broken rule for one variable of one dataset, with how often and examples."""

    dataset: str
    variable: str
    rule: str
    severity: str
    count: int
    examples: str
    message: str


def _examples(values: pd.Series, rows: np.ndarray) -> str:
    """Up to five 'row N: value' examples (rows 1-based in the file's record order)."""
    picked = rows[:EXAMPLES]
    return "; ".join(f"row {int(i) + 1}: {values.iloc[int(i)]!r}" for i in picked)


class FindingList:
    """The findings of one dataset's checks as they are found: :meth:`add` one, or
    :meth:`flag` the records of a mask (counted, with examples). ``severity`` is the
    default of both (the spec checks' errors; :mod:`trialflow.conformance`'s warnings).
    """

    def __init__(self, dataset: str, severity: str = "error") -> None:
        self.dataset = dataset
        self.severity = severity
        self.found: list[ValidationFinding] = []

    def add(self, variable: str, rule: str, message: str, count: int = 1, examples: str = "",
            severity: str | None = None) -> None:
        self.found.append(ValidationFinding(self.dataset, variable, rule,
                                            severity or self.severity, count, examples,
                                            message))

    def flag(self, variable: str, rule: str, mask: np.ndarray, values: pd.Series,
             message: str, severity: str | None = None) -> None:
        rows = np.flatnonzero(mask)
        if rows.size:
            self.add(variable, rule, message, int(rows.size), _examples(values, rows),
                     severity)


class ColumnFactors:
    """Each column's distinct values and codes, computed once and shared by the rules.

    A column repeats a handful of values (codes, dates, subjects), and every rule of a
    column (blank, length, codelist, ISO 8601, keys, sort order) is a question about its
    values: asked once per distinct value and spread by the codes, the work and the
    temporary memory no longer grow with the records for each rule (a QS of 21,900
    subjects has millions of them). Codes are kept in the smallest integer type that
    holds them, and the cache dies with the dataset. :mod:`trialflow.define` asks its
    questions of the data the same way.

    Parameters
    ----------
    data : DataFrame
        The dataset; its columns are factorised when first asked for.
    """

    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data
        self._cache: dict[str, tuple[np.ndarray, pd.Series]] = {}
        self._rank_cache: dict[str, np.ndarray] = {}

    def get(self, name: str) -> tuple[np.ndarray, pd.Series]:
        """Codes (one per record) and the distinct values (missing included as one).

        Every distinct value has a record: a question about all records is one about
        the distinct values.
        """
        hit = self._cache.get(name)
        if hit is None:
            hit = _factorize(self.data[name])
            self._cache[name] = hit
        return hit

    def mask(self, name: str, func: Callable[[pd.Series], pd.Series]) -> np.ndarray:
        """``func`` (a Series-to-bool-Series test) asked of each distinct value once."""
        codes, uniques = self.get(name)
        hit = func(uniques).to_numpy(dtype=bool)
        # Mostly no value breaks the rule: then no record needs looking up.
        return hit[codes] if hit.any() else np.zeros(len(codes), dtype=bool)

    def _value_ranks(self, name: str) -> np.ndarray:
        """Each distinct value's rank as :func:`trialflow.mapping.sort_frame` ranks
        them (missing first); worked out once per column (the key and the sort rules
        both ask)."""
        rank = self._rank_cache.get(name)
        if rank is None:
            uniques = self.get(name)[1]
            if uniques.dtype == object:
                uniques = uniques.fillna("").astype(str)
            # Equal texts (None and '') share a rank, as they do when sort_frame
            # factorises the column; a missing number gets -1, here 0 (first).
            rank = self._rank_cache[name] = pd.factorize(uniques, sort=True)[0] + 1
        return rank

    def ranks(self, name: str) -> tuple[np.ndarray, int]:
        """Each record's rank among the column's sorted distinct values, as
        :func:`trialflow.mapping.sort_frame` ranks them (missing first), and how many
        ranks there are."""
        rank = self._value_ranks(name)
        size = int(rank.max(initial=0)) + 1
        return rank.astype(_small_int(size), copy=False)[self.get(name)[0]], size

    def _sorted_codes(self, name: str) -> tuple[np.ndarray, int]:
        """The codes numbered anew in the order of the values' ranks (values of one
        rank, None and '', in order of appearance), and how many there are."""
        order = np.argsort(self._value_ranks(name), kind="stable")
        renumber = np.empty(len(order), dtype=_small_int(len(order)))
        renumber[order] = np.arange(len(order))
        return renumber[self.get(name)[0]], len(order)

    def group(self, names: list[str]) -> np.ndarray:
        """One integer per record, equal where all of ``names`` are equal.

        Built from codes in sort order, it never decreases when the records are sorted
        by ``names`` (see :func:`_duplicated`).
        """
        return _combine((self._sorted_codes(n) for n in names), order=False)


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes in the smallest integer type and distinct values, missing values one of
    them (last): the writers' :func:`~trialflow.xpt.compact_codes` (a categorical
    column, as ``read_xpt(categorical=True)`` gives text, is not hashed again), with the
    distinct values of a numeric column kept numeric."""
    codes, uniques = compact_codes(values)
    numeric = isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf"
    return (codes.astype(_small_int(len(uniques)), copy=False),
            pd.Series(uniques, dtype=values.dtype if numeric else None))


def _small_int(count: int) -> np.dtype:
    """The smallest unsigned integer type for codes 0 .. count - 1."""
    return np.min_scalar_type(max(count - 1, 0))


def _combine(parts: Iterable[tuple[np.ndarray, int]], order: bool) -> np.ndarray:
    """Code arrays (each with its number of codes) as one int64 key, mixed radix.

    The key is equal where every code is; with ``order`` it also sorts as the codes do,
    first array first. When the product of the sizes would overflow, the key so far is
    compressed to dense ranks first (order-preserving). ``parts`` may be a generator:
    one code array at a time is then in memory besides the key.
    """
    parts = iter(parts)
    first, size = next(parts)
    key = first.astype(np.int64)
    size = max(int(size), 1)
    for c, n in parts:
        n = max(int(n), 1)
        if size * n >= 2**62:
            if order:
                uniq, key = np.unique(key, return_inverse=True)
            else:
                key, uniq = pd.factorize(key)
            key = key.astype(np.int64, copy=False).ravel()
            size = max(len(uniq), 1)
        # In place: the key is our own array, as long as the dataset.
        key *= n
        key += c
        size *= n
    return key


def _duplicated(key: np.ndarray) -> np.ndarray:
    """Records whose key another record shares (``duplicated(keep=False)``).

    A key that never decreases (records in key order, as a subject's --SEQ usually
    are) has its equal values side by side: comparing neighbours finds them without
    hashing every record.
    """
    if len(key) > 1 and (key[1:] >= key[:-1]).all():
        same = key[1:] == key[:-1]
        dup = np.zeros(len(key), dtype=bool)
        dup[1:] = same
        dup[:-1] |= same
        return dup
    return pd.Series(key, copy=False).duplicated(keep=False).to_numpy()


def validate_dataset(ds: XptDataset, spec: DatasetSpec | None,
                     codelists: Mapping[str, Codelist],
                     dm_subjects: set[str] | None,
                     subject_dataset: str = "DM") -> list[ValidationFinding]:
    """Check one dataset read from disk; ``spec`` None runs the spec-free checks only.

    Parameters
    ----------
    ds : XptDataset
    spec : DatasetSpec or None
    codelists : mapping of str to Codelist
    dm_subjects : set of str or None
        USUBJIDs of DM; None skips that rule (no DM in the directory).
    subject_dataset : str
        The dataset ``dm_subjects`` come from (DM, or ADSL for ADaM).
    """
    c = FindingList(ds.name)
    data = ds.data
    factors = ColumnFactors(data)
    for f in ds.findings:
        c.add("", "read", f.message, severity=f.severity)
    if spec is None:
        c.add("", "spec", "no spec of this study for this dataset: checked names, labels, "
              "lengths, ISO 8601 dates, USUBJID in DM and --SEQ uniqueness only",
              severity="info")
        _xpt_limits(c, ds)
    else:
        _with_spec(c, ds, spec, codelists, factors)
    _controls(c, data, factors)
    _iso8601(c, data, factors)
    if dm_subjects is not None and "USUBJID" in data.columns and \
            ds.name not in ("DM", subject_dataset):
        c.flag("USUBJID", "usubjid_in_dm",
               factors.mask("USUBJID", lambda u: ~u.isin(dm_subjects)),
               data["USUBJID"], f"USUBJID is not a subject of {subject_dataset}")
    _seq_unique(c, ds, factors)
    order = {r: i for i, r in enumerate(RULES)}
    return sorted(c.found, key=lambda f: order.get(f.rule, len(RULES)))


def _xpt_limits(c: FindingList, ds: XptDataset) -> None:
    """What XPT v5 and SDTM allow, whatever the spec."""
    for name in ds.data.columns:
        if len(name) > MAX_NAME:
            c.add(name, "label", f"variable name longer than {MAX_NAME} characters")
        label = ds.labels.get(name, "")
        if len(label) > MAX_LABEL or not _ASCII.match(label):
            c.add(name, "label", f"label {label!r} is longer than {MAX_LABEL} characters or "
                  "not ASCII")
        if ds.widths.get(name, 0) > MAX_CHAR_BYTES:
            c.add(name, "length", f"stored width {ds.widths[name]} exceeds {MAX_CHAR_BYTES}")
    if len(ds.label) > MAX_LABEL or not _ASCII.match(ds.label):
        c.add("", "label", f"dataset label {ds.label!r} is longer than {MAX_LABEL} "
              "characters or not ASCII")


def _blank(u: pd.Series) -> pd.Series:
    return u.astype(str).str.strip().eq("")


def _num_text(u: pd.Series) -> pd.Series:
    """A number as a codelist term reads it ('' missing, 1 not 1.0)."""
    return u.map(lambda v: "" if pd.isna(v) else f"{v:g}")


def _with_spec(c: FindingList, ds: XptDataset, spec: DatasetSpec,
               codelists: Mapping[str, Codelist], factors: ColumnFactors) -> None:
    data = ds.data
    names = spec.variable_names
    # 1. unspecified
    for col in data.columns:
        if col not in names:
            c.add(col, "unspecified", f"{col} is not defined in the spec of {spec.name}")
    # 2. required
    for var in spec.variables:
        if var.name not in data.columns:
            mandatory = var.mandatory or var.core == "Req"
            c.add(var.name, "required", f"{var.name} is in the spec but not in the data",
                  severity="error" if mandatory else "warning")
        elif var.mandatory or var.core == "Req":
            col = data[var.name]
            empty = (col.isna().to_numpy(dtype=bool) if ds.types.get(var.name) == "Num"
                     else factors.mask(var.name, _blank))
            c.flag(var.name, "required", empty, col,
                   f"{var.name} is required but blank")
    present = [v for v in spec.variables if v.name in data.columns]
    # 3. type
    for var in present:
        if ds.types.get(var.name) != var.type:
            c.add(var.name, "type", f"{var.name} is {ds.types.get(var.name)}, the spec says "
                  f"{var.type}")
        elif is_date_format(var.format) and \
                ds.formats.get(var.name, "").rstrip(".") != var.format.upper().rstrip("."):
            c.add(var.name, "type", f"{var.name} is a SAS date without its display format "
                  f"{var.format} (stored: {ds.formats.get(var.name) or 'none'})")
    # 4. length
    for var in present:
        if var.type != "Char" or ds.types.get(var.name) != "Char":
            continue
        length = var.length
        c.flag(var.name, "length", factors.mask(
            var.name, lambda u, n=length: u.astype(str).str.encode("utf-8").str.len() > n),
            data[var.name], f"value longer than the declared length {var.length}")
        width = ds.widths.get(var.name)
        if width is not None and width > var.length:
            c.add(var.name, "length", f"stored width {width} exceeds the declared "
                  f"length {var.length}", severity="warning")
    # 5. label
    if ds.label != spec.label:
        c.add("", "label", f"dataset label {ds.label!r} is not the spec's {spec.label!r}")
    for var in present:
        label = ds.labels.get(var.name, "")
        if label != var.label:
            c.add(var.name, "label", f"label {label!r} is not the spec's {var.label!r}")
    _xpt_limits_names_only(c, ds)
    # 6. controlled terminology
    for var in present:
        if not var.codelist:
            continue
        codelist = codelists.get(var.codelist)
        if codelist is None:
            c.add(var.name, "ct", f"codelist {var.codelist} is not defined in specs/ct")
            continue
        terms = {str(t.submission_value) for t in codelist.terms}
        as_text = (lambda u: u.astype(str)) if ds.types.get(var.name) == "Char" \
            else _num_text

        def bad(u: pd.Series, as_text=as_text, terms=terms) -> pd.Series:
            values = as_text(u)
            return values.ne("") & ~values.isin(terms)

        c.flag(var.name, "ct", factors.mask(var.name, bad), data[var.name],
               f"value is not a term of codelist {codelist.id}",
               "warning" if codelist.extensible else "error")
    # 7. key uniqueness
    keys = [k for k in spec.keys if k in data.columns]
    if keys and len(keys) == len(spec.keys):
        # The keys in the spec's sort order: records in that order then give a key that
        # never decreases, whose duplicates are neighbours.
        in_sort = sorted(keys, key=lambda k: spec.sort.index(k) if k in spec.sort
                         else len(spec.sort))
        dup = _duplicated(factors.group(in_sort))
        # The key text only names examples: built for the duplicated rows alone, not as a
        # new string per record (millions of them in a large QS).
        shown = data.loc[dup, keys] if dup.any() else data[keys].iloc[:0]
        key_text = pd.Series("", index=data.index, dtype=object)
        key_text[dup] = shown[keys[0]].astype(str).str.cat(
            [shown[k].astype(str) for k in keys[1:]], sep="/").to_numpy()
        c.flag("/".join(keys), "key_unique", dup, key_text,
               "records share the same key values")
    # 8. sort order: the order sort_frame (missing first, stable) would give, from the
    # ranks of each key's distinct values; sorted data (the usual case) need no sort.
    sort_keys = [k for k in spec.sort if k in data.columns]
    if sort_keys and len(data) > 1:
        key = _combine((factors.ranks(k) for k in sort_keys), order=True)
        if (key[1:] < key[:-1]).any():
            out_of_order = np.argsort(key, kind="stable") != np.arange(len(data))
            first = int(np.flatnonzero(out_of_order)[0])
            c.add("/".join(sort_keys), "sort", "records are not in the spec's sort order",
                  int(out_of_order.sum()), f"first at row {first + 1}")


def _xpt_limits_names_only(c: FindingList, ds: XptDataset) -> None:
    for name in ds.data.columns:
        label = ds.labels.get(name, "")
        if len(name) > MAX_NAME or len(label) > MAX_LABEL or not _ASCII.match(label):
            c.add(name, "label", f"name or label beyond XPT v5 limits ({name!r}, {label!r})")


def _not_iso(u: pd.Series) -> pd.Series:
    """Present (not blank) and not ISO 8601."""
    values = u.astype(str)
    return values.ne("") & ~values.str.fullmatch(_ISO).fillna(False).astype(bool)


def _is_text(values: pd.Series) -> bool:
    """Whether a column holds text (object, or categorical as read_xpt may give it)."""
    return values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype)


def _controls(c: FindingList, data: pd.DataFrame, factors: ColumnFactors) -> None:
    """Text holding control characters (NUL, escape, line breaks...): a submission
    dataset holds printable text only, and such a value can hide or fake text wherever
    it is shown (examples are escaped in the report)."""
    for col in data.columns:
        if not _is_text(data[col]):
            continue
        c.flag(col, "control", factors.mask(col, lambda u: pd.Series(has_controls(u))),
               data[col], "holds control characters (NUL, escape, line break...), which a "
               "submission dataset must not — correct the source values")


def _iso8601(c: FindingList, data: pd.DataFrame, factors: ColumnFactors) -> None:
    for col in data.columns:
        if not col.endswith("DTC") or not _is_text(data[col]):
            continue
        c.flag(col, "iso8601", factors.mask(col, _not_iso), data[col],
               "not an ISO 8601 date/time")


def _seq_unique(c: FindingList, ds: XptDataset, factors: ColumnFactors) -> None:
    data = ds.data
    prefix = ds.name[4:] if ds.name.startswith("SUPP") else ds.name
    seq = "ASEQ" if ds.name.startswith("AD") and "ASEQ" in data.columns else f"{prefix[:2]}SEQ"
    if seq not in data.columns or "USUBJID" not in data.columns:
        return
    dup = _duplicated(factors.group(["USUBJID", seq])) & data[seq].notna().to_numpy()
    if not dup.any():
        return
    shown = pd.Series("", index=data.index, dtype=object)
    shown[dup] = (data.loc[dup, "USUBJID"].astype(str) + "/"
                  + data.loc[dup, seq].astype(str)).to_numpy()
    c.flag(seq, "seq_unique", dup, shown, f"{seq} repeats within a subject")


def _study_of(ds: XptDataset) -> set[str]:
    if "STUDYID" not in ds.data.columns:
        return set()
    # Distinct values first: no text copy of every record.
    return set(pd.Series(ds.data["STUDYID"].unique()).astype(str)) - {""}


def validate_directory(directory: Path, specs: Mapping[str, DatasetSpec],
                       codelists: Mapping[str, Codelist], study: str,
                       conformance: Any = None
                       ) -> tuple[list[ValidationFinding], pd.DataFrame]:
    """Validate every ``*.xpt`` of a directory, datasets in name order.

    A spec applies to a dataset of the same name whose STUDYID is ``study`` (or that has
    no STUDYID); another study's dataset is checked without a spec.

    Returns
    -------
    findings : list of ValidationFinding
    summary : DataFrame
        One row per dataset: records, variables, whether a spec applied, errors,
        warnings.

    Raises
    ------
    InputError
        The directory does not exist or holds no XPT file, or a file cannot be read.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "data directory not found",
                         fix="run `trialflow sdtm` first, or pass --data DIR")
    files = sorted(directory.glob("*.xpt"))
    if not files:
        raise InputError(str(directory), "no .xpt files to validate",
                         fix="run `trialflow sdtm` first, or pass --data DIR")
    return validate_files([DatasetFile(_member_name(p), p) for p in files], specs,
                          codelists, study, conformance)


def validate_files(files: Sequence[DatasetFile], specs: Mapping[str, DatasetSpec],
                   codelists: Mapping[str, Codelist], study: str,
                   conformance: Any = None
                   ) -> tuple[list[ValidationFinding], pd.DataFrame]:
    """Validate datasets of any input format (:class:`~trialflow.datasets.DatasetFile`),
    in the order given; see :func:`validate_directory`. ``conformance`` (a
    :class:`trialflow.conformance.Conformance`) adds the CDISC conformance checks."""
    # One dataset in memory at a time (a 100-times study's QS alone is gigabytes of
    # text): the member names are read first to find the subject dataset.
    # ADaM datasets are checked against ADSL when DM is not among them.
    dm_file = next((f for f in files if f.name == "DM"), None) or \
        next((f for f in files if f.name == "ADSL"), None)
    # Text as categoricals: the rules ask their questions of the distinct values, which
    # the reader has found already (ColumnFactors takes its codes).
    dm = dm_file.read(categorical=True) if dm_file is not None else None
    dm_subjects = set(dm.data["USUBJID"].astype(str)) if dm is not None and \
        "USUBJID" in dm.data.columns else None
    if conformance is not None:
        conformance.prepare(dm, files)
    findings: list[ValidationFinding] = []
    summary = []
    for i, file in enumerate(files):
        progress("datasets validated", i, len(files))
        ds = dm if file is dm_file else file.read(categorical=True)
        spec = specs.get(ds.name)
        studies = _study_of(ds)
        if spec is not None and studies and studies != {study}:
            spec = None
        if spec is not None and file.path.stem != ds.name.lower():
            findings.append(ValidationFinding(ds.name, "", "read", "warning", 1,
                                              file.path.name,
                                              "file name is not the lower-case dataset name"))
        found = validate_dataset(ds, spec, codelists, dm_subjects,
                                 dm.name if dm is not None else "DM")
        if conformance is not None:
            found = found + conformance.check(ds, spec)
        findings.extend(found)
        summary.append({"dataset": ds.name, "file": file.path.name, "records": len(ds.data),
                        "variables": ds.data.shape[1], "spec": spec is not None,
                        "errors": sum(f.count for f in found if f.severity == "error"),
                        "warnings": sum(f.count for f in found if f.severity == "warning")})
        # Let go of this dataset before the next is read: two large ones (QS, then
        # another) are never in memory together.
        del ds
    return findings, pd.DataFrame(summary)


def xpt_header(path: Path) -> pyreadstat.metadata_container | None:
    """An XPT file's header (member name, variables, storage widths), not its records.

    Parameters
    ----------
    path : Path

    Returns
    -------
    pyreadstat.metadata_container or None
        None when pyreadstat cannot read the header (:func:`trialflow.xpt.read_xpt`
        then says why, or reads the file all the same).

    Raises
    ------
    InputError
        The path is missing or not a regular file (a FIFO would block the reader).
    """
    check_regular_file(path)
    try:
        return pyreadstat.read_xport(str(path), metadataonly=True)[1]
    except Exception:
        return None


def _member_name(path: Path) -> str:
    """The dataset name inside an XPT file, from its header only."""
    header = xpt_header(path)
    if header is None:  # unreadable: read_xpt raises the InputError that says why
        return read_xpt(path).name
    return (header.table_name or path.stem).upper()


def findings_table(findings: list[ValidationFinding]) -> pd.DataFrame:
    """The report table: one row per finding, columns :data:`REPORT_COLUMNS`."""
    return pd.DataFrame([asdict(f) for f in findings], columns=REPORT_COLUMNS)


def write_report(findings: list[ValidationFinding], summary: pd.DataFrame,
                 path: Path) -> Path:
    """Write ``validation.xlsx`` (sheets ``findings`` and ``datasets``), atomically.

    The workbook's creation time is fixed (``SOURCE_DATE_EPOCH`` or 1970) so that the
    same findings give the same file content.
    """
    # Names and values may come from a third-party file: text cells stay text.
    table = xlsx_safe_frame(findings_table(findings))
    summary = xlsx_safe_frame(summary)
    created = dt.datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0),
                                        tz=dt.UTC).replace(tzinfo=None)

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            table.to_excel(xl, sheet_name="findings", index=False)
            summary.to_excel(xl, sheet_name="datasets", index=False)
            xl.book.properties.created = created
            xl.book.properties.modified = created
            force_text_cells(xl.book.worksheets)
            xl.book.properties.title = "Validation of the datasets against their specs"
            for sheet in xl.book.worksheets:
                # Bold header, frozen, filters, widths, fitted to the page width.
                finish_sheet(sheet)
        _fix_zip_times(tmp, created)

    return write_atomic(path, write)


_CORE_XML = "docProps/core.xml"
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")
_CREATED = re.compile(rb"<dcterms:created[^>]*>([^<]*)</dcterms:created>")


def _fixed_modified(core: bytes) -> bytes:
    """The workbook's core properties with "modified" equal to "created": openpyxl
    stamps the wall clock into "modified" when it saves, whatever the book says."""
    created = _CREATED.search(core)
    if created is None:
        return core
    return _MODIFIED.sub(lambda m: m.group(1) + created.group(1) + m.group(2), core)


def _fix_zip_times(path: Path, when: dt.datetime) -> None:
    """Give every member of the xlsx (a zip) the same fixed time: zip writers stamp the
    wall clock into each entry, which would make identical reports differ."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(path) as src:
        members = [(info, _fixed_modified(src.read(info)) if info.filename == _CORE_XML
                    else src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in members:
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, data)


def console_summary(findings: list[ValidationFinding], summary: pd.DataFrame) -> str:
    """A few lines for the terminal: per dataset, records and finding counts."""
    lines = [f"{'dataset':<9} {'records':>8} {'spec':>5} {'errors':>7} {'warnings':>9}"]
    # Dataset names, variables and values may come from a third-party file: control
    # characters are escaped before they reach the terminal.
    for row in summary.itertuples():
        lines.append(f"{console_text(row.dataset):<9} {row.records:>8} "
                     f"{'yes' if row.spec else 'no':>5} {row.errors:>7} {row.warnings:>9}")
    errors = [f for f in findings if f.severity == "error"]
    for f in errors[:20]:
        lines.append(console_text(f"error: {f.dataset}.{f.variable} [{f.rule}] {f.message} "
                                  f"({f.count}x; {f.examples})"))
    if len(errors) > 20:
        lines.append(f"... and {len(errors) - 20} more errors")
    total_e = sum(f.count for f in errors)
    total_w = sum(f.count for f in findings if f.severity == "warning")
    lines.append(f"validation: {len(summary)} datasets, {total_e} errors, {total_w} warnings")
    return "\n".join(lines)
