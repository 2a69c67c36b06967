"""The dataset writer: SAS transport (XPT) version 5, checked against the spec first.

Every SDTM and ADaM dataset is written here, and only here, so that each one is checked
the same way before it exists on disk:

* variables in spec order, records sorted by the spec's sort keys (missing first, as
  SAS sorts);
* names at most 8 characters, labels at most 40 ASCII characters (dataset and
  variables): a violation stops the write (:class:`XptError`) — the file would be
  rejected by any submission gateway;
* character values at most 200 bytes (the XPT v5 limit; longer values are cut and
  reported) and no longer than the spec's declared length (reported);
* the stored character width is the spec's declared length (the XPT field is padded
  with blanks, exactly as SAS stores a ``$n`` variable), or the longest value if a value
  is longer than declared;
* written to a temporary file, then renamed (:func:`trialflow.io.write_atomic`);
* a numeric variable whose spec format is a date format (``DATE9.``, as ADaM's --DT
  variables) may be given as dates: it is written as a SAS date (days since
  1 January 1960) with that display format, as SAS stores it.

pyreadstat writes version 8 unless told otherwise; version 5 is passed explicitly.
ReadStat stamps the current time into the headers; the stamp is replaced by a fixed one
(``SOURCE_DATE_EPOCH`` if set, else 1 January 1970) so that the same data give the
same bytes.

Example
-------
>>> findings = write_xpt(ae, spec, Path("build/sdtm/ae.xpt"))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from trialflow.errors import InputError, TrialflowError
from trialflow.findings import Finding, Severity
from trialflow.io import write_atomic
from trialflow.mapping import per_value, sort_frame
from trialflow.spec import DatasetSpec

MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR_BYTES = 200
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
_ASCII_PRINTABLE = re.compile(r"^[\x20-\x7E]*$")
_STAMP = re.compile(rb"\d{2}[A-Z]{3}\d{2}:\d{2}:\d{2}:\d{2}")
# Offsets of the four 16-byte date stamps in a one-member XPT v5 file: library header
# created/modified, member header created/modified.
_STAMP_OFFSETS = (144, 160, 464, 480)
#: Display formats of numeric SAS dates (days since 1960-01-01).
DATE_FORMATS = ("DATE9.", "DATE7.", "YYMMDD10.", "E8601DA.", "IS8601DA.")
SAS_EPOCH = pd.Timestamp("1960-01-01")


def is_date_format(fmt: str | None) -> bool:
    """True for a SAS display format of a numeric date (``DATE9.``, ``E8601DA.``...)."""
    return (fmt or "").upper() in DATE_FORMATS


def to_sas_date(values: pd.Series) -> pd.Series:
    """Dates (datetime64; the time of day is dropped) as SAS dates: days since 1960-01-01."""
    days = (pd.to_datetime(values).dt.normalize() - SAS_EPOCH).dt.days
    return days.astype("float64")


class XptError(TrialflowError):
    """A dataset that cannot be written as XPT v5 (bad name or label)."""


@dataclass
class XptDataset:
    """A dataset read from an XPT file, with the metadata the validator checks.

    Attributes
    ----------
    name : str
        Member (dataset) name.
    label : str
    data : DataFrame
        Character variables as text (``''`` when blank), numeric as float.
    labels : dict of str to str
    types : dict of str to {'Char', 'Num'}
    widths : dict of str to int
        Stored width in bytes.
    encoding : str
        How the character data were decoded (``utf-8`` or ``cp1252``).
    formats : dict of str to str
        Display format of each variable that has one (``DATE9`` for a SAS date).
    findings : list of Finding
        Problems met while reading (for example text that is not UTF-8).
    """

    name: str
    label: str
    data: pd.DataFrame
    labels: dict[str, str]
    types: dict[str, str]
    widths: dict[str, int]
    encoding: str = "utf-8"
    findings: list[Finding] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)


def _stamp() -> bytes:
    """The fixed header date: SOURCE_DATE_EPOCH if set, else the Unix epoch."""
    seconds = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)
    when = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return when.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")


def _finding(spec: DatasetSpec, variable: str | None, value: object, rule: str,
             message: str, severity: Severity = "error", row: int | None = None) -> Finding:
    return Finding(spec.name, row, variable, None if value is None else str(value), rule,
                   message, severity)


def check_metadata(spec: DatasetSpec) -> list[Finding]:
    """Names and labels that XPT v5 cannot hold (the dataset's and each variable's)."""
    found = []
    if not _NAME.match(spec.name) or len(spec.name) > MAX_NAME:
        found.append(_finding(spec, None, spec.name, "name",
                              f"dataset name must be 1-{MAX_NAME} letters/digits"))
    if len(spec.label) > MAX_LABEL or not _ASCII_PRINTABLE.match(spec.label):
        found.append(_finding(spec, None, spec.label, "label",
                              f"dataset label must be at most {MAX_LABEL} ASCII characters"))
    for var in spec.variables:
        if not _NAME.match(var.name):
            found.append(_finding(spec, var.name, var.name, "name",
                                  f"variable name must be 1-{MAX_NAME} letters/digits"))
        if len(var.label) > MAX_LABEL or not _ASCII_PRINTABLE.match(var.label):
            found.append(_finding(spec, var.name, var.label, "label",
                                  f"variable label must be at most {MAX_LABEL} ASCII "
                                  "characters"))
    return found


def prepare(data: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, list[Finding]]:
    """The frame exactly as it will be written, and the value-level findings.

    Parameters
    ----------
    data : DataFrame
        The dataset; columns starting with ``_`` (provenance) are ignored.
    spec : DatasetSpec

    Returns
    -------
    frame : DataFrame
        Spec variables in spec order, sorted by the spec's sort keys; Char as text with
        ``''`` for missing (cut to 200 bytes where longer), Num as float.
    findings : list of Finding
        Unspecified or missing variables, values that are not numbers, values longer
        than the declared length or than 200 bytes, non-ASCII text.
    """
    found: list[Finding] = []
    extra = [c for c in data.columns if not str(c).startswith("_")
             and c not in spec.variable_names]
    for c in extra:
        found.append(_finding(spec, str(c), None, "unspecified",
                              f"{c} is not in the spec of {spec.name}; it is not written"))
    frame = pd.DataFrame(index=data.index)
    for var in spec.variables:
        if var.name not in data.columns:
            found.append(_finding(spec, var.name, None, "missing",
                                  f"{var.name} is in the spec but the dataset lacks it; "
                                  "written blank"))
            col = pd.Series(np.nan if var.type == "Num" else "", index=data.index)
        else:
            col = data[var.name]
        if var.type == "Num" and is_date_format(var.format) and \
                pd.api.types.is_datetime64_any_dtype(col):
            frame[var.name] = to_sas_date(col)
            continue
        if var.type == "Num":
            number = pd.to_numeric(col, errors="coerce").astype("float64")
            bad = number.isna() & col.notna() & col.astype(str).str.strip().ne("")
            for i in np.flatnonzero(bad.to_numpy())[:20]:
                found.append(_finding(spec, var.name, col.iloc[i], "type",
                                      f"{var.name} is numeric but the value is not a number",
                                      row=int(i) + 1))
            frame[var.name] = number
        else:
            frame[var.name] = _char(col)
    frame = sort_frame(frame, list(spec.sort))
    for var in spec.variables:
        if var.type == "Char":
            frame[var.name], more = _check_char(frame[var.name], var.name, var.length, spec)
            found.extend(more)
    return frame, found


def _char(col: pd.Series) -> pd.Series:
    """Text with '' for missing (trailing blanks dropped, as XPT pads them anyway);
    whole-number floats print without '.0'."""
    if col.dtype.kind in "fi":
        return per_value(col, lambda u: u.map(
            lambda v: "" if pd.isna(v) else (f"{v:.0f}" if float(v).is_integer()
                                             else repr(float(v)))).astype(object))
    return per_value(col, lambda u: u.astype("string").fillna("").str.rstrip().astype(object))


def _check_char(col: pd.Series, name: str, length: int, spec: DatasetSpec
                ) -> tuple[pd.Series, list[Finding]]:
    found: list[Finding] = []
    codes, uniques = pd.factorize(col)
    u = pd.Series(uniques, dtype=object)
    u_bytes = u.str.encode("utf-8").str.len().to_numpy()
    nbytes = u_bytes[codes] if len(u) else np.zeros(len(col), dtype=int)

    def report(over: np.ndarray, rule: str, message: str) -> None:
        idx = np.flatnonzero(over)
        if idx.size:
            examples = ", ".join(repr(col.iloc[i][:40]) for i in idx[:3])
            found.append(_finding(spec, name, examples, rule,
                                  f"{message} ({idx.size} values, longest "
                                  f"{int(nbytes.max())} bytes)", row=int(idx[0]) + 1))

    report(nbytes > length, "length", f"{name} is longer than its declared length {length} "
           "— shorten the values or raise the length in the spec")
    report(nbytes > MAX_CHAR_BYTES, "value_bytes", f"{name} is longer than "
           f"{MAX_CHAR_BYTES} bytes, the most XPT v5 holds; the value is cut")
    u_ascii = u.str.fullmatch(r"[\x00-\x7F]*").fillna(True).to_numpy(dtype=bool)
    ascii_ok = u_ascii[codes] if len(u) else np.ones(len(col), dtype=bool)
    if not ascii_ok.all():
        bad = np.flatnonzero(~ascii_ok)
        found.append(_finding(spec, name, col.iloc[bad[0]], "ascii",
                              f"{name} has {bad.size} non-ASCII values; XPT v5 expects "
                              "ASCII (written as UTF-8)", "warning", row=int(bad[0]) + 1))
    if (nbytes > MAX_CHAR_BYTES).any():
        col = col.map(lambda v: v.encode("utf-8")[:MAX_CHAR_BYTES]
                      .decode("utf-8", "ignore")).astype(object)
    return col, found


def write_xpt(data: pd.DataFrame, spec: DatasetSpec, path: Path) -> list[Finding]:
    """Check ``data`` against ``spec`` and write it as XPT version 5, atomically.

    Parameters
    ----------
    data : DataFrame
    spec : DatasetSpec
    path : Path
        Target file; by convention ``<dir>/<dataset name in lower case>.xpt``.

    Returns
    -------
    list of Finding
        Value-level findings (see :func:`prepare`); the file is written regardless.

    Raises
    ------
    XptError
        A dataset or variable name or label that XPT v5 cannot hold; nothing is written.
    """
    meta = check_metadata(spec)
    if meta:
        first = meta[0]
        raise XptError(f"{path}: cannot write {spec.name} as XPT v5: {first.variable or ''} "
                       f"{first.value!r}: {first.message}"
                       + (f" (and {len(meta) - 1} more)" if len(meta) > 1 else ""))
    frame, found = prepare(data, spec)
    write_prepared(frame, spec, path)
    return found


def write_prepared(frame: pd.DataFrame, spec: DatasetSpec, path: Path) -> Path:
    """Write a frame already made by :func:`prepare` as XPT v5 (atomic, fixed stamps).

    Raises
    ------
    XptError
        A name or label XPT v5 cannot hold.
    """
    meta = check_metadata(spec)
    if meta:
        raise XptError(f"{path}: cannot write {spec.name} as XPT v5: {meta[0].message}")
    out = frame.copy()
    for var in spec.variables:
        if var.type != "Char" or out.empty:
            continue
        longest = int(pd.Series(out[var.name].unique()).str.encode("utf-8").str.len().max())
        if longest < var.length:
            # Pad one value with blanks to the declared width: ReadStat sizes a character
            # variable by its longest value, and XPT stores values blank-padded anyway,
            # so this gives the $n width SAS would write, with identical values.
            first = out[var.name].iloc[0]
            out.iloc[0, out.columns.get_loc(var.name)] = first.ljust(
                var.length - (len(first.encode("utf-8")) - len(first)))
    labels = [v.label for v in spec.variables]
    # Date display formats travel with the data (a SAS date is a bare number without
    # one); other formats are define.xml's business.
    formats = {v.name: v.format.upper() for v in spec.variables
               if v.type == "Num" and is_date_format(v.format)}

    def write(tmp: Path) -> None:
        pyreadstat.write_xport(out, str(tmp), file_label=spec.label, column_labels=labels,
                               table_name=spec.name, file_format_version=5,
                               variable_format=formats or None)
        _fix_stamps(tmp)

    return write_atomic(path, write)


def _fix_stamps(path: Path) -> None:
    """Replace ReadStat's wall-clock header stamps with the fixed reproducible one."""
    stamp = _stamp()
    with open(path, "r+b") as fh:
        head = bytearray(fh.read(496))
        for offset in _STAMP_OFFSETS:
            if _STAMP.fullmatch(bytes(head[offset:offset + 16])):
                head[offset:offset + 16] = stamp
        fh.seek(0)
        fh.write(head)


def read_xpt(path: Path) -> XptDataset:
    """Read an XPT file (version 5 or 8, from SAS or trialflow) with its metadata.

    Text is decoded as UTF-8; a file with other bytes (SAS sessions in Windows Latin-1
    write such files) is decoded as cp1252 and a warning finding says so.

    Raises
    ------
    InputError
        Missing or unreadable file, or not an XPT file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "file not found")
    findings: list[Finding] = []
    encoding = "utf-8"
    try:
        try:
            # Dates stay SAS numbers (days since 1960): a numeric variable is read as a
            # number whatever its display format.
            data, meta = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
        except UnicodeDecodeError:
            encoding = "cp1252"
            data, meta = pyreadstat.read_xport(str(path), encoding="cp1252",
                                               disable_datetime_conversion=True)
            findings.append(Finding(path.name, None, None, None, "encoding",
                                    "character data are not UTF-8; read as Windows-1252 "
                                    "(XPT v5 expects ASCII)", "warning"))
    except pyreadstat.ReadstatError as exc:
        raise InputError(str(path), f"not a readable SAS transport file ({exc})",
                         fix="write it as XPT version 5 or 8") from None
    except Exception as exc:  # pyreadstat raises plain exceptions for some corruptions
        raise InputError(str(path), f"not a readable SAS transport file ({exc})",
                         fix="write it as XPT version 5 or 8") from None
    types = {c: ("Char" if t == "string" else "Num")
             for c, t in meta.readstat_variable_types.items()}
    for c, t in types.items():
        if t == "Char":
            data[c] = data[c].fillna("").astype(object)
        else:
            data[c] = pd.to_numeric(data[c], errors="coerce").astype("float64")
    labels = {c: (lab or "") for c, lab in meta.column_names_to_labels.items()}
    name = (meta.table_name or path.stem).upper()
    return XptDataset(name=name, label=meta.file_label or "", data=data, labels=labels,
                      types=types, widths=dict(meta.variable_storage_width),
                      encoding=encoding, findings=findings,
                      formats={c: f for c, f in (meta.original_variable_types or {}).items()
                               if f})
