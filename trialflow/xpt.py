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
* the stored character width is the length of the longest value, at least 1 (the
  shortest that fits, as the FDA asks; the XPT field is padded with blanks, exactly as
  SAS stores a ``$n`` variable); the declared length is the most a value may have;
* written to a temporary file, then renamed (:func:`trialflow.io.write_atomic`);
* a numeric variable whose spec format is a date format (``DATE9.``, as ADaM's --DT
  variables) may be given as dates: it is written as a SAS date (days since
  1 January 1960) with that display format, as SAS stores it.

The file is built with numpy (fixed-width records, vectorised IBM float conversion) and
is byte for byte the one ReadStat (pyreadstat) writes, which stays the reference in the
tests and the writer for the rare shapes the numpy writer does not cover. The header date
stamp is fixed (``SOURCE_DATE_EPOCH`` if set, else 1 January 1970) so that the same data
give the same bytes. Files of this simple shape are read back with numpy too (one shared
str object per distinct value); any other XPT file is read with pyreadstat.

Example
-------
>>> findings = write_xpt(ae, spec, Path("build/sdtm/ae.xpt"))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyreadstat
from numpy.typing import ArrayLike

from trialflow.errors import InputError, TrialflowError
from trialflow.findings import Finding, Severity
from trialflow.io import check_regular_file, source_date_epoch, write_atomic
from trialflow.mapping import categorical, factor, is_categorical, sort_frame
from trialflow.safetext import has_controls
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
#: A display format the numpy writer stores (name, width, decimals), e.g. ``DATE9.``.
_FORMAT = re.compile(r"([A-Z]+?)(\d*)\.")
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


def sas_date_text(days: ArrayLike) -> np.ndarray:
    """SAS dates (days since 1960-01-01) as ISO 8601 text ``"YYYY-MM-DD"``; None where
    missing. The inverse of :func:`to_sas_date`; a fractional day is the date it falls on.

    Whole days are counted on from the epoch in integers, not through pandas'
    ``to_datetime``/``to_timedelta(unit="D")``: that path casts NaN days to int64 and the
    garbage it gets now and then overflows under pandas' own errstate(over="raise") - an
    intermittent FloatingPointError on valid data.

    Examples
    --------
    >>> sas_date_text([0.0, 21366.0, float("nan"), -0.5]).tolist()
    ['1960-01-01', '2018-07-01', None, '1959-12-31']
    """
    values = np.asarray(days, dtype=np.float64)
    known = np.isfinite(values)
    text = np.full(values.shape, None, dtype=object)
    text[known] = np.datetime_as_string(
        np.datetime64("1960-01-01", "D") + np.floor(values[known]).astype(np.int64),
        unit="D")
    return text


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
    when = dt.datetime.fromtimestamp(source_date_epoch(), tz=dt.UTC)
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
    # Columns are collected first and framed once: inserting them one by one makes
    # pandas copy the growing frame's blocks again and again.
    columns: dict[str, pd.Series] = {}
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
            columns[var.name] = to_sas_date(col)
            continue
        if var.type == "Num":
            # No copy of a column that is float already: the prepared frame is only read.
            number = pd.to_numeric(col, errors="coerce").astype("float64", copy=False)
            if col.dtype.kind not in "fiu":
                # Only a column that is not already numbers can hold a non-number.
                bad = number.isna() & col.notna() & col.astype(str).str.strip().ne("")
                for i in np.flatnonzero(bad.to_numpy())[:20]:
                    found.append(_finding(spec, var.name, col.iloc[i], "type",
                                          f"{var.name} is numeric but the value is not a "
                                          "number", row=int(i) + 1))
            columns[var.name] = number
        else:
            columns[var.name] = _char(col)
    # copy=False: every column above is new or read-only here; a copy would double the
    # prepared frame of a large dataset (QS) for a moment.
    frame = pd.DataFrame(columns, index=data.index,
                         columns=[v.name for v in spec.variables], copy=False)
    frame = sort_frame(frame, list(spec.sort))
    for var in spec.variables:
        if var.type == "Char":
            col = frame[var.name]
            checked, more = _check_char(col, var.name, var.length, spec)
            if checked is not col:  # values were cut: only then replace the column
                frame[var.name] = checked
            found.extend(more)
    return frame, found


def _char(col: pd.Series) -> pd.Series:
    """Text with '' for missing (trailing blanks dropped, as XPT pads them anyway);
    whole-number floats print without '.0'.

    Categorical whatever the column was: the checks, the sort and both writers then work
    on each distinct value once and take by code, instead of hashing every cell's text
    again, and the prepared frame costs a code, not a pointer, per cell.
    """
    codes, uniques = compact_codes(col)
    values = pd.Series(uniques, dtype=object)
    if col.dtype.kind in "fi":
        text = values.map(lambda v: "" if pd.isna(v) else (
            f"{v:.0f}" if float(v).is_integer() else repr(float(v))))
    else:
        text = values.astype("string").fillna("").str.rstrip()
    return categorical(codes, text.to_numpy(dtype=object), col.index)


def _check_char(col: pd.Series, name: str, length: int, spec: DatasetSpec
                ) -> tuple[pd.Series, list[Finding]]:
    """Values longer than declared or than XPT v5 holds (cut), non-ASCII values: the
    values of a categorical text column (see :func:`_char`) checked once each; its
    records are looked at only when a value fails."""
    found: list[Finding] = []
    codes = col.cat.codes.to_numpy()
    u = col.cat.categories.to_numpy(dtype=object)
    # Unused categories are no values of the column: they neither fail nor count.
    present = np.bincount(codes, minlength=len(u)).astype(bool)
    u_bytes = np.fromiter((len(v.encode("utf-8")) for v in u), dtype=np.int64, count=len(u))
    longest = int(u_bytes[present].max()) if present.any() else 0

    def rows(bad: np.ndarray) -> np.ndarray:
        """The records holding a failing value (``bad``: one flag per category)."""
        return np.flatnonzero(bad[codes]) if (bad & present).any() else np.empty(0, int)

    def report(idx: np.ndarray, rule: str, message: str) -> None:
        if idx.size:
            examples = ", ".join(repr(col.iloc[i][:40]) for i in idx[:3])
            found.append(_finding(spec, name, examples, rule,
                                  f"{message} ({idx.size} values, longest "
                                  f"{longest} bytes)", row=int(idx[0]) + 1))

    report(rows(u_bytes > length), "length", f"{name} is longer than its declared length "
           f"{length} — shorten the values or raise the length in the spec")
    too_long = rows(u_bytes > MAX_CHAR_BYTES)
    report(too_long, "value_bytes", f"{name} is longer than {MAX_CHAR_BYTES} bytes, the "
           "most XPT v5 holds; the value is cut")
    bad = rows(~np.fromiter((v.isascii() for v in u), dtype=bool, count=len(u)))
    if bad.size:
        found.append(_finding(spec, name, col.iloc[bad[0]], "ascii",
                              f"{name} has {bad.size} non-ASCII values; XPT v5 expects "
                              "ASCII (written as UTF-8)", "warning", row=int(bad[0]) + 1))
    controls = rows(has_controls(pd.Series(u, dtype=object)))
    if controls.size:
        found.append(_finding(spec, name, col.iloc[controls[0]], "control",
                              f"{name} has {controls.size} values with control characters "
                              "(NUL, escape, line break...), kept as collected; a submission "
                              "dataset should hold printable text only — correct the source",
                              "warning", row=int(controls[0]) + 1))
    if too_long.size:
        # Two long values may be cut to one: categorical() merges their codes.
        col = categorical(codes, [v.encode("utf-8")[:MAX_CHAR_BYTES].decode("utf-8", "ignore")
                                  for v in u], col.index)
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

    The stored width of a character variable is the length of its longest value (at
    least 1): the shortest that fits, as the FDA asks (the declared length is the most a
    value may have). The file is the one ReadStat (pyreadstat) would write, byte for
    byte, built with numpy; shapes this writer does not cover (no records, a width over
    200 bytes, an unusual display format) go through pyreadstat.

    Raises
    ------
    XptError
        A name or label XPT v5 cannot hold.
    """
    meta = check_metadata(spec)
    if meta:
        raise XptError(f"{path}: cannot write {spec.name} as XPT v5: {meta[0].message}")
    # Date display formats travel with the data (a SAS date is a bare number without
    # one); other formats are define.xml's business.
    formats = {v.name: v.format.upper() for v in spec.variables
               if v.type == "Num" and is_date_format(v.format)}
    if frame.empty or not all(_FORMAT.fullmatch(f) for f in formats.values()):
        return write_prepared_readstat(frame, spec, path)
    texts = {v.name: _text_codes(frame[v.name]) for v in spec.variables if v.type == "Char"}
    widths = _widths(spec, texts)
    if widths is None:
        return write_prepared_readstat(frame, spec, path)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(_xpt_head(spec, widths, formats))
            _write_records(fh, frame, spec, widths, texts)

    return write_atomic(path, write)


def _widths(spec: DatasetSpec, texts: dict[str, tuple[np.ndarray, list[bytes]]]
            ) -> list[int] | None:
    """Stored widths (Num 8; Char the longest value in bytes, at least 1),
    or None when the numpy writer does not cover them (see :func:`write_prepared`).
    ``texts`` holds each text variable's :func:`_text_codes`."""
    widths = []
    for var in spec.variables:
        if var.type != "Char":
            widths.append(8)
            continue
        codes, encoded = texts[var.name]
        # The longest value present: a categorical's unused categories do not count.
        sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        width = max(int(sizes[codes].max()), 1)
        if not 0 < width <= MAX_CHAR_BYTES:
            return None
        widths.append(width)
    return widths


def char_width(values: pd.Series) -> int:
    """The stored width of a character variable: its longest value in UTF-8 bytes, at
    least 1 (what :func:`write_prepared` writes).

    Examples
    --------
    >>> char_width(pd.Series(["ab", "", "abc"])), char_width(pd.Series(["", ""]))
    (3, 1)
    """
    codes, encoded = _text_codes(values)
    if not len(codes):
        return 1
    sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    return max(int(sizes[codes].max()), 1)


def write_prepared_readstat(frame: pd.DataFrame, spec: DatasetSpec, path: Path) -> Path:
    """:func:`write_prepared` through pyreadstat: the reference the numpy writer matches,
    and the path for the shapes it does not cover."""
    meta = check_metadata(spec)
    if meta:
        raise XptError(f"{path}: cannot write {spec.name} as XPT v5: {meta[0].message}")
    out = frame.copy()
    for c in out.columns:
        if is_categorical(out[c]):  # pyreadstat, and the padding below, want plain text
            out[c] = out[c].astype(object)
    for var in spec.variables:
        if var.type != "Char" or out.empty:
            continue
        longest = int(pd.Series(out[var.name].unique()).str.encode("utf-8").str.len().max())
        if longest < 1:
            # ReadStat sizes a character variable by its longest value; an all-blank one
            # gets one blank (XPT stores values blank-padded anyway), width 1.
            first = out[var.name].iloc[0]
            out.iloc[0, out.columns.get_loc(var.name)] = first.ljust(1)
    labels = [v.label for v in spec.variables]
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


def read_xpt(path: Path, columns: Collection[str] | None = None,
             categorical: bool = False) -> XptDataset:
    """Read an XPT file (version 5 or 8, from SAS or trialflow) with its metadata.

    Text is decoded as UTF-8; a file with other bytes (SAS sessions in Windows Latin-1
    write such files) is decoded as cp1252 and a warning finding says so.

    With ``columns``, only those variables the file has are read (in file order; the
    metadata describes them alone): a caller that needs a few variables of a large
    dataset does not hold the others in memory.

    With ``categorical``, each character variable is a pandas Categorical: codes and the
    distinct values in the order the records first show them (``pd.factorize``'s order),
    every category used. Callers that ask questions of the distinct values (validate,
    define) then neither hash the text again nor hold an object per record.

    Raises
    ------
    InputError
        Missing or unreadable file, not a regular file, not an XPT file, or a truncated
        or malformed one (the message names the byte offset where it breaks).
    """
    path = Path(path)
    size = check_regular_file(path).st_size  # a FIFO or a device would block or never end
    _check_records(path, size)
    fast = _read_v5_numpy(path, columns=columns, categorical=categorical) \
        if size else None
    if fast is not None:
        data, layout = fast
        kept = set(data.columns)
        return XptDataset(name=(layout.name or path.stem).upper(), label=layout.label,
                          data=data, labels={n: lab for n, lab in zip(
                              layout.names, layout.labels, strict=True) if n in kept},
                          types={n: "Char" if c else "Num"
                                 for n, c in zip(layout.names, layout.char, strict=True)
                                 if n in kept},
                          widths={n: w for n, w in zip(layout.names, layout.widths,
                                                       strict=True) if n in kept},
                          formats={n: f for n, f in layout.formats.items() if n in kept})
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
    if columns is not None:
        data = data[[c for c in data.columns if c in columns]]
    types = {c: ("Char" if t == "string" else "Num")
             for c, t in meta.readstat_variable_types.items() if c in data.columns}
    for c, t in types.items():
        if t == "Char":
            text = data[c].fillna("").astype(object)
            if categorical:
                codes, uniques = pd.factorize(text)
                text = pd.Series(_text_column(codes, list(uniques), categorical=True),
                                 index=text.index)
            data[c] = text
        else:
            data[c] = pd.to_numeric(data[c], errors="coerce").astype("float64")
    labels = {c: (lab or "") for c, lab in meta.column_names_to_labels.items()
              if c in data.columns}
    name = (meta.table_name or path.stem).upper()
    return XptDataset(name=name, label=meta.file_label or "", data=data, labels=labels,
                      types=types, widths={c: w for c, w in meta.variable_storage_width.items()
                                           if c in data.columns},
                      encoding=encoding, findings=findings,
                      formats={c: f for c, f in (meta.original_variable_types or {}).items()
                               if f and c in data.columns})


# --------------------------------------------------------------------------- XPT v5 writer
#
# Written with numpy rather than through pyreadstat: ReadStat's Python binding walks every
# value through narwhals (10 million Python-level iterations for the SDTM of 2,190
# subjects), while the format is fixed-width records that numpy builds in bulk. The bytes
# are those ReadStat writes (SAS TS-140 layout, ReadStat's header strings and IBM
# conversion, blank padding); tests compare the two writers byte for byte.

_LIBRARY_HEADER = (b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
                   b"000000000000000000000000000000  ")
_MEMBER_HEADER = (b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!"
                  b"000000000000000001600000000140  ")
_DSCRPTR_HEADER = (b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!"
                   b"000000000000000000000000000000  ")
_OBS_HEADER = (b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
               b"000000000000000000000000000000  ")
_SAS_VERSION = b"6.06    "
_SAS_OS = b"bsd4.2  "
_IBM_MISSING = np.uint64(0x2E00000000000000)
_IBM_OVERFLOW = np.uint64(0x7FFFFFFFFFFFFFFF)
#: Records converted (numbers to IBM) or read per chunk: bounds the memory of a chunk.
CHUNK_ROWS = 100_000
#: Bytes of records laid out at once. Every column is a pass over the block, so the block
#: should stay in the CPU's cache (its L2 holds 1-2 MiB): blocks of 100,000 records (tens
#: of megabytes) made these passes several times slower.
BLOCK_BYTES = 2**20


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """IEEE doubles as 8-byte IBM hexadecimal floats (big-endian), as ReadStat writes them.

    The IBM fraction has 56 bits against IEEE's 53, so every double in IBM's range
    converts exactly: the significand is shifted left 0-3 bits to make the exponent a
    power of 16. Missing (NaN) is SAS's ``.`` (0x2E then zeros); zero and values below
    IBM's range are 0; values above it (and infinities) are the largest IBM magnitude
    with their sign, as ReadStat does.

    Parameters
    ----------
    values : ndarray of float64

    Returns
    -------
    ndarray of uint8, shape (n, 8)
    """
    x = np.ascontiguousarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = bits & np.uint64(0x8000000000000000)
    exp2 = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    significand = (bits & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(1 << 52)
    shift = (exp2 + 1) % 4
    exp16 = (exp2 - 763 - shift) // 4
    ibm = sign | (np.clip(exp16, 0, 127).astype(np.uint64) << np.uint64(56)) \
        | (significand << shift.astype(np.uint64))
    ibm = np.where(exp16 > 127, sign | _IBM_OVERFLOW, ibm)
    ibm = np.where((exp16 < 0) | (x == 0), np.uint64(0), ibm)
    ibm = np.where(np.isnan(x), _IBM_MISSING, ibm)
    return ibm.astype(">u8").view(np.uint8).reshape(-1, 8)


def _field(text: str, size: int) -> bytes:
    """A blank-padded fixed-width header field (cut to ``size``)."""
    return text.encode("utf-8")[:size].ljust(size, b" ")


def _pad80(block: bytes, fill: bytes = b" ") -> bytes:
    return block + fill * (-len(block) % 80)


def _namestr(number: int, name: str, label: str, width: int, position: int, char: bool,
             fmt: str | None) -> bytes:
    """One 140-byte variable descriptor (TS-140 NAMESTR)."""
    form, form_width = b" " * 8, 0
    if fmt:
        m = _FORMAT.fullmatch(fmt)
        if m:
            form = _field(m.group(1), 8)
            form_width = int(m.group(2) or 0)
    return b"".join([
        np.array([2 if char else 1, 0, width, number], dtype=">i2").tobytes(),
        _field(name, 8), _field(label, 40), form,
        # Justification: ReadStat marks every numeric variable right-justified.
        np.array([form_width, 0, 0 if char else 1], dtype=">i2").tobytes(), b"\0\0",
        b" " * 8, np.array([0, 0], dtype=">i2").tobytes(),
        np.array([position], dtype=">i4").tobytes(), b"\0" * 52])


def _xpt_head(spec: DatasetSpec, widths: list[int], formats: dict[str, str]) -> bytes:
    """Library, member, descriptor and variable headers, up to the OBS header."""
    stamp = _stamp()
    lib = _LIBRARY_HEADER + _pad80(b"SAS     SAS     SASLIB  " + _SAS_VERSION + _SAS_OS
                                   + b" " * 24 + stamp) + _pad80(stamp)
    member = (_MEMBER_HEADER + _DSCRPTR_HEADER
              + _pad80(b"SAS     " + _field(spec.name, 8) + b"SASDATA " + _SAS_VERSION
                       + _SAS_OS + b" " * 24 + stamp)
              + _pad80(stamp + b" " * 16 + _field(spec.label, 40) + b" " * 8))
    names = (b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000"
             + f"{len(spec.variables):04d}".encode() + b"0" * 20 + b"  ")
    position, descriptors = 0, []
    for i, (var, width) in enumerate(zip(spec.variables, widths, strict=True), start=1):
        descriptors.append(_namestr(i, var.name, var.label, width, position,
                                    var.type == "Char", formats.get(var.name)))
        position += width
    return lib + member + names + _pad80(b"".join(descriptors)) + _OBS_HEADER


def compact_codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Factor codes of a column, in the smallest integer type that holds them, and its
    distinct values (missing one of them, see :func:`trialflow.mapping.factor`).

    The writers hold the codes of every column while they write the records: a code of
    one or two bytes a cell, not eight. The codes of a categorical column without missing
    values (a prepared text column) are taken as they are, not copied.
    """
    if is_categorical(col):
        codes = col.cat.codes.to_numpy()
        if not len(codes) or codes.min() >= 0:
            return codes, col.cat.categories.to_numpy(dtype=object)
        codes, uniques = factor(col)
    else:
        # Missing values are code -1 here, then one value of their own:
        # factorize(use_na_sentinel=False) would first look for missing values in every
        # cell, a pass over a text column as costly as the hashing itself.
        codes, uniques = pd.factorize(col)
        missing = codes < 0
        if missing.any():
            # As objects (dates as Timestamps, by pandas): a NaN appended stays a NaN.
            uniques = np.append(np.asarray(uniques, dtype=object), np.nan)
            codes[missing] = len(uniques) - 1
        uniques = np.asarray(uniques)
    return codes.astype(np.min_scalar_type(max(len(uniques) - 1, 0)), copy=False), uniques


def _text_codes(col: pd.Series) -> tuple[np.ndarray, list[bytes]]:
    """:func:`compact_codes` of a text column and the UTF-8 bytes of each distinct value
    (missing as ``b""``)."""
    codes, uniques = compact_codes(col)
    return codes, [("" if not isinstance(v, str) and pd.isna(v) else str(v)).encode("utf-8")
                   for v in uniques]


def put_cells(block: np.ndarray, pos: int, table: np.ndarray,
              codes: np.ndarray | None = None) -> None:
    """``block[:, pos:pos + width] = table[codes]``: each record's cell from a table of
    fixed-width byte strings (a row per distinct value, or per record without ``codes``).

    The cells are copied as opaque ``width``-byte items, not byte by byte: about twice as
    fast for the narrow cells of a record.

    Parameters
    ----------
    block : ndarray of uint8, shape (records, record length)
        The first ``len(codes)`` (or ``len(table)``) records are written.
    pos : int
        Offset of the cell in the record.
    table : ndarray of uint8, shape (distinct values, width)
        C-contiguous.
    codes : ndarray of int, optional
        Row of ``table`` for each record.
    """
    width = table.shape[1]
    items = table.view(f"V{width}")[:, 0]
    if codes is not None:
        items = items[codes]
    block[:len(items), pos:pos + width].view(f"V{width}")[:, 0] = items


def _write_records(fh: BinaryIO, frame: pd.DataFrame, spec: DatasetSpec, widths: list[int],
                   texts: dict[str, tuple[np.ndarray, list[bytes]]]) -> None:
    """The observations: fixed-width records, blank-padded to a multiple of 80 bytes.
    ``texts`` holds each text variable's :func:`_text_codes`."""
    n, reclen = len(frame), sum(widths)
    columns: list[tuple[int, int, object]] = []
    position = 0
    for var, width in zip(spec.variables, widths, strict=True):
        if var.type == "Char":
            codes, encoded = texts[var.name]
            # [:width]: a value longer than the width is an unused category (the width
            # holds every value present), never written.
            table = np.frombuffer(b"".join(e.ljust(width, b" ")[:width] for e in encoded),
                                  dtype=np.uint8).reshape(len(encoded), width)
            columns.append((position, width, (codes, table)))
        else:
            columns.append((position, width, frame[var.name].to_numpy(dtype=np.float64)))
        position += width
    rows = max(1, BLOCK_BYTES // reclen)
    block = np.empty((rows, reclen), dtype=np.uint8)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        # Numbers are converted a chunk at a time (numpy's per-call cost stays small),
        # and copied into the cache-sized blocks with the text.
        ibm = {pos: ieee_to_ibm(source[start:stop]) for pos, _, source in columns
               if not isinstance(source, tuple)}
        for first in range(start, stop, rows):
            last = min(first + rows, stop)
            for pos, _, source in columns:
                if isinstance(source, tuple):
                    codes, table = source
                    put_cells(block, pos, table, codes[first:last])
                else:
                    put_cells(block, pos, ibm[pos][first - start:last - start])
            fh.write(memoryview(block[:last - first]))
    fh.write(b" " * (-(n * reclen) % 80))


# --------------------------------------------------------------------------- XPT v5 reader
#
# pyreadstat makes one Python string per character cell (a 6-million-record QS is tens of
# millions of distinct str objects: gigabytes, and most of a stage's time). This reader
# decodes each distinct value once and shares the str objects; it covers the one-member
# version 5 files with plain formats that trialflow writes and returns None for anything
# else (version 8, several members, text that is not UTF-8, VAX namestrs...), which
# :func:`read_xpt` then reads with pyreadstat.

_MISSING_FIRST = np.array([0x2E, 0x5F, *range(0x41, 0x5B)], dtype=np.uint8)


def ibm_to_ieee(cards: np.ndarray) -> np.ndarray:
    """8-byte IBM floats (an (n, 8) uint8 array) as IEEE doubles; SAS missing as NaN."""
    bits = np.ascontiguousarray(cards).view(">u8").ravel().astype(np.uint64)
    fraction = (bits & np.uint64(0x00FFFFFFFFFFFFFF)).astype(np.float64)
    exp16 = ((bits >> np.uint64(56)) & np.uint64(0x7F)).astype(np.int64)
    values = np.ldexp(fraction, 4 * exp16 - 312)
    values = np.where(bits >> np.uint64(63) == 1, -values, values)
    # A missing value is a missing-value byte followed by seven zero bytes.
    missing = ((bits & np.uint64(0x00FFFFFFFFFFFFFF)) == 0) & np.isin(
        (bits >> np.uint64(56)).astype(np.uint8), _MISSING_FIRST)
    values[missing] = np.nan
    return values


@dataclass
class _Layout:
    name: str
    label: str
    names: list[str]
    labels: list[str]
    char: list[bool]
    widths: list[int]
    positions: list[int]
    formats: dict[str, str]
    data_start: int


def _layout(head: bytes) -> _Layout | None:
    """The header of a one-member XPT v5 file, or None if it is not that simple shape."""
    if not (head.startswith(_LIBRARY_HEADER) and head[240:320] == _MEMBER_HEADER
            and head[320:400] == _DSCRPTR_HEADER and head[560:614] == _NAMESTR_PREFIX):
        return None
    try:
        count = int(head[614:618])
    except ValueError:
        return None
    start = 640
    end = start + count * 140
    data_start = end + (-(count * 140) % 80) + 80
    if len(head) < data_start or head[data_start - 80:data_start] != _OBS_HEADER:
        return None
    names, labels, char, widths, positions, formats = [], [], [], [], [], {}
    for i in range(count):
        rec = head[start + 140 * i:start + 140 * (i + 1)]
        ntype, _, length, _ = np.frombuffer(rec[:8], dtype=">i2").tolist()
        name = rec[8:16].decode("ascii", "replace").rstrip()
        form = rec[56:64].decode("ascii", "replace").rstrip()
        fl, fd = np.frombuffer(rec[64:68], dtype=">i2").tolist()
        if ntype not in (1, 2) or fd or (fl and not form) or (ntype == 1 and length != 8):
            return None
        names.append(name)
        labels.append(rec[16:56].decode("ascii", "replace").rstrip())
        char.append(ntype == 2)
        widths.append(length)
        positions.append(int(np.frombuffer(rec[84:88], dtype=">i4")[0]))
        if form:
            formats[name] = f"{form}{fl or ''}"
    if positions != list(np.cumsum([0, *widths[:-1]])) or not all(widths):
        return None
    return _Layout(head[408:416].decode("ascii", "replace").rstrip(),
                   head[512:552].decode("ascii", "replace").rstrip(), names, labels, char,
                   widths, positions, formats, data_start)


_NAMESTR_PREFIX = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000"


_LIBRARY_V8 = b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"
_TRUNCATED_FIX = "copy or re-export the whole file (it was cut while being written or copied)"


def _check_records(path: Path, size: int) -> None:
    """Refuse a file that cannot be a SAS transport file before reading it.

    A transport file (version 5 or 8) is a sequence of 80-byte records that starts with
    a library header. A file whose size is not a multiple of 80 was cut off (pyreadstat
    would read the records before the cut and say nothing); one without the header is
    something else.
    """
    with open(path, "rb") as fh:
        head = fh.read(80)
    if not (head.startswith(_LIBRARY_HEADER[:48]) or head.startswith(_LIBRARY_V8)):
        raise InputError(str(path), "not a readable SAS transport file (no library header "
                         "record at byte offset 0)", fix="write it as XPT version 5 or 8")
    if size % 80:
        raise InputError(str(path), f"the file ends at byte offset {size}, inside the "
                         f"80-byte record that starts at byte offset {size - size % 80}: "
                         "it looks truncated", fix=_TRUNCATED_FIX)


def _read_v5_numpy(path: Path, chunk: int = CHUNK_ROWS,
                   columns: Collection[str] | None = None, categorical: bool = False
                   ) -> tuple[pd.DataFrame, _Layout] | None:
    """Data and layout of a simple XPT v5 file (see above), or None to use pyreadstat.

    Only the variables in ``columns`` (all when None) are decoded, and the records are
    read ``chunk`` at a time: the file's bytes are never all in memory at once (the QS
    of 21,900 subjects is a gigabyte). Text is gathered as codes into each column's
    distinct values and only then made a column (:func:`_text_column`)."""
    with open(path, "rb") as fh:
        head = fh.read(640)
        if len(head) < 640 or head[560:614] != _NAMESTR_PREFIX:
            return None
        try:
            count = int(head[614:618])
        except ValueError:
            return None
        head += fh.read(count * 140 + 160)
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        descriptors_end = 640 + count * 140 + (-(count * 140) % 80) + 80
        if size < descriptors_end:
            raise InputError(str(path), f"the file ends at byte offset {size}, inside the "
                             f"descriptions of its {count} variables (which end at byte "
                             f"offset {descriptors_end}): it looks truncated",
                             fix=_TRUNCATED_FIX)
        layout = _layout(head)
        if layout is None:
            return None
        reclen = sum(layout.widths)
        obs = size - layout.data_start
        n = obs // reclen
        fh.seek(layout.data_start + n * reclen)
        tail = np.fromfile(fh, dtype=np.uint8)
        if (tail != 0x20).any():
            fh.seek(layout.data_start)
            if _MEMBER_HEADER[:48] in fh.read():
                return None  # another member follows: leave the file to ReadStat
            # Neither blank padding nor a member: the last record was cut off.
            raise InputError(str(path), f"the last record, at byte offset "
                             f"{layout.data_start + n * reclen}, has {tail.size} of its "
                             f"{reclen} bytes (record {n + 1}): the file looks truncated",
                             fix=_TRUNCATED_FIX)
        if n and reclen < 80:
            fh.seek(layout.data_start + (n - 1) * reclen)
            if (np.fromfile(fh, dtype=np.uint8, count=reclen) == 0x20).all():
                return None  # a blank last record or padding: leave the call to ReadStat
        wanted = [(name, is_char, width, pos) for name, is_char, width, pos
                  in zip(layout.names, layout.char, layout.widths, layout.positions,
                         strict=True) if columns is None or name in columns]
        # Text as int32 codes (half an object pointer) until every chunk is read.
        data: dict[str, np.ndarray] = {
            name: np.empty(n, dtype=np.int32 if is_char else np.float64)
            for name, is_char, _, _ in wanted}
        seen: dict[str, dict[bytes, int]] = {name: {} for name, *_ in wanted}
        values: dict[str, list[str]] = {name: [] for name, *_ in wanted}
        fh.seek(layout.data_start)
        for start in range(0, n if wanted else 0, chunk):
            rows = min(chunk, n - start)
            records = np.fromfile(fh, dtype=np.uint8, count=rows * reclen
                                  ).reshape(rows, reclen)
            for name, is_char, width, pos in wanted:
                cells = _cells(records, pos, width)
                if not is_char:
                    data[name][start:start + rows] = ibm_to_ieee(cells)
                    continue
                codes = _decode_column(cells, width, seen[name], values[name])
                if codes is None:
                    return None
                data[name][start:start + rows] = codes
    columns_out: dict[str, np.ndarray | pd.Categorical] = {}
    for name, is_char, _, _ in wanted:
        # One column at a time leaves the codes: never two full copies of every column.
        column = data.pop(name)
        columns_out[name] = _text_column(column, values[name], categorical) \
            if is_char else column
    # copy=False: the columns are new arrays already; stacking them into blocks would
    # hold every column twice for a moment.
    return pd.DataFrame(columns_out, columns=[name for name, *_ in wanted],
                        copy=False), layout


def _cells(records: np.ndarray, pos: int, width: int) -> np.ndarray:
    """One variable's bytes in every record, as a contiguous (records, width) array.

    Copied as one ``width``-byte item per record: numpy copies a 2-D slice of the
    records byte by byte, about twice as slow.
    """
    items = records[:, pos:pos + width].view(f"V{width}")[:, 0].copy()
    return items.view(np.uint8).reshape(len(records), width)


def _decode_column(cells: np.ndarray, width: int, seen: dict[bytes, int],
                   values: list[str]) -> np.ndarray | None:
    """Fixed-width text cells as codes into the column's distinct values.

    ``seen`` (raw bytes to code) and ``values`` (decoded, '' blank) hold the values of
    the chunks before; a value met for the first time is appended, so the codes number
    the values in the order the records first show them, across chunks. None for text
    ReadStat would read otherwise (not UTF-8, NUL bytes).
    """
    part = cells.view(f"S{width}")[:, 0]
    # Records come sorted by their keys, so a value mostly repeats the one before: only
    # the first of each run is looked up.
    start = np.ones(len(part), dtype=bool)
    np.not_equal(part[1:], part[:-1], out=start[1:])
    runs = np.flatnonzero(start)
    heads = part[runs]
    codes, first = _distinct_rows(heads.view(np.uint8).reshape(len(heads), width))
    local = np.empty(len(first), dtype=np.int32)
    for i, raw in enumerate(heads[first].tolist()):
        code = seen.get(raw)
        if code is None:
            # Every cell is one of these values: a NUL byte is found here (numpy's bytes
            # type drops trailing NULs, so such a value is shorter than the width).
            if len(raw) < width or b"\0" in raw:
                return None
            try:
                values.append(raw.rstrip(b" ").decode("utf-8"))
            except UnicodeDecodeError:
                return None
            code = seen[raw] = len(values) - 1
        local[i] = code
    # Each run repeats its first value's code (a run's length from where the next starts).
    return np.repeat(local[codes], np.diff(runs, append=len(part)))


#: Odd 64-bit multiplier (2**64 over the golden ratio) mixing a cell's 8-byte words.
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _distinct_rows(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct rows of an (n, width) uint8 array, numbered in the order
    they first occur, and the index of each one's first row.

    Rows are hashed as integers (pandas' hash table) instead of sorted as text, which
    took most of the reading. A row of up to 8 bytes is its own key; wider rows are
    mixed into one key, and every row is compared with the first row of its key: rows
    that share a key by chance are then told apart by hashing their bytes.
    """
    n, width = cells.shape
    words = -(-width // 8)
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    padded[:, :width] = cells
    as_int = padded.view(np.uint64)
    key = as_int[:, 0].copy()
    for j in range(1, words):
        key *= _MIX
        key ^= as_int[:, j]
    codes = pd.factorize(key)[0]
    first = _first_rows(codes)
    if words > 1 and not (padded == padded[first[codes]]).all():
        codes = pd.factorize(padded.view(f"S{words * 8}").ravel().astype(object))[0]
        first = _first_rows(codes)
    return codes, first


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """The first row of each code, for codes numbered in order of first occurrence
    (a code first occurs where it exceeds every code before it)."""
    new = np.ones(len(codes), dtype=bool)
    np.greater(codes[1:], np.maximum.accumulate(codes)[:-1], out=new[1:])
    return np.flatnonzero(new)


def _text_column(codes: np.ndarray, values: list[str], categorical: bool
                 ) -> np.ndarray | pd.Categorical:
    """A text column from codes into its distinct values: a Categorical of them, or an
    object array with one shared str object per distinct value."""
    if categorical:
        return pd.Categorical.from_codes(
            codes, dtype=pd.CategoricalDtype(pd.Index(values, dtype=object)), validate=False)
    return np.array(values, dtype=object)[codes]
