"""Compare two datasets the way PROC COMPARE and diffdf do: a double-programming QC check.

:func:`compare_datasets` matches the records of a base and a QC (compare) dataset by key
variables and reports, in a :class:`CompareResult`:

* the dataset labels (and names, shown but not counted: files of a QC are often named
  differently);
* variables only in one dataset, and the type, length and label of each common variable;
* observations only in one dataset (by key), and keys that are not unique;
* per common variable of the same type, how many matched records differ, and the first
  differing records (key values, base value, compare value).

Values are compared column by column on the whole aligned frame (no loop over records):

* missing equals missing (numeric NaN, and for text ``''``; trailing blanks do not count,
  as XPT pads text with blanks);
* numbers are equal when ``|base - compare| <= abs_tol + rel_tol * |base|`` (the
  tolerance is relative to the base value, as PROC COMPARE's ``METHOD=RELATIVE``; the
  bound is widened by one part in 10**9 so that a difference at the edge, such as
  ``2.6 - 2.5`` against 0.1, is within it despite binary rounding); with both tolerances
  0 they must be exactly equal (``METHOD=EXACT``);
* a variable whose type differs is reported as an attribute difference and its values
  are not compared (as PROC COMPARE and diffdf do);
* records with a duplicated key are reported, and paired by their order within the key
  (the first with the first...), as PROC COMPARE pairs them.

Datasets may be given as files (``.xpt``, Dataset-JSON ``.json``, ``.csv``, chosen by
extension), as frames, or as :class:`~trialflow.xpt.XptDataset`.

Why not datacompy: datacompy 1.x makes polars a hard dependency (for a pandas-only use),
lower-cases column names by default, and silently de-duplicates repeated keys by sorting
on the other columns instead of reporting them; it knows nothing of labels, lengths or
dataset labels. What it would give (a tolerant column compare) is a few vectorised lines
here.

Example
-------
>>> result = compare_datasets("build/adam/adsl.xpt", "qc/adsl.xpt", keys=["USUBJID"])
... # doctest: +SKIP
>>> result.equal  # doctest: +SKIP
True
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialflow.errors import InputError, TrialflowError
from trialflow.io import check_regular_file, read_regular_file, write_atomic
from trialflow.isodates import iso_days, iso_seconds, outside_pandas_ns, sas_days
from trialflow.safetext import console_text, force_text_cells, xlsx_safe_frame
from trialflow.xlsxreport import finish_sheet
from trialflow.xpt import SAS_EPOCH, XptDataset, read_xpt

#: Differing records listed per variable, by default.
MAX_ROWS = 10
_OCC = "__occurrence__"


class CompareError(TrialflowError):
    """Datasets that cannot be compared (unknown file type, key variable missing...)."""


@dataclass
class Dataset:
    """A dataset with the metadata compared: name, label, types, lengths, labels.

    Attributes
    ----------
    name : str
    label : str
    data : DataFrame
        Char variables as text (``''`` when missing), Num as float.
    types : dict of str to {'Char', 'Num'}
    lengths : dict of str to int
        Stored width in bytes (XPT), the declared length (Dataset-JSON), or the longest
        value (CSV, frames; 8 for numbers).
    labels : dict of str to str
    source : str
        Where it came from (a path, or ``<frame>``).
    """

    name: str
    label: str
    data: pd.DataFrame
    types: dict[str, str]
    lengths: dict[str, int]
    labels: dict[str, str] = field(default_factory=dict)
    source: str = "<frame>"
    #: Read from CSV: every column is text until the comparison settles its type (see
    #: :func:`compare_datasets`).
    from_text: bool = False
    #: What reading met that the comparison reports (e.g. dates that are not dates).
    notes: list[str] = field(default_factory=list)


DatasetLike = str | Path | pd.DataFrame | XptDataset | Dataset


@dataclass
class CompareResult:
    """What :func:`compare_datasets` found.

    Attributes
    ----------
    equal : bool
        True when nothing differs: dataset label, variables, attributes, observations,
        duplicate keys, values.
    base, qc : Dataset
        The two datasets as compared.
    keys : list of str
    abs_tol, rel_tol : float
    dataset : DataFrame
        ``item, base, compare, differs``: name, label, records, variables.
    only_in_base, only_in_qc : list of str
        Variables in one dataset only.
    attributes : DataFrame
        ``variable, attribute, base, compare``: type, length and label differences of
        the common variables, and variables in one dataset only (attribute ``present``).
    observations : DataFrame
        ``issue, <keys...>, count``: issue ``only in base``, ``only in compare``,
        ``duplicate key in base`` or ``duplicate key in compare``.
    value_summary : DataFrame
        ``variable, type, compared, differing, max_abs_diff``: one row per compared
        variable.
    values : DataFrame
        ``variable, <keys...>, base, compare, difference``: the first differing records
        of each variable (at most ``max_rows`` each).
    matched : int
        Records paired by key.
    notes : list of str
        What a reader should know about values that were compared (infinite numbers,
        dates outside 1677-2262 or that are not dates, CSV columns compared as text).
    """

    equal: bool
    base: Dataset
    qc: Dataset
    keys: list[str]
    abs_tol: float
    rel_tol: float
    dataset: pd.DataFrame
    only_in_base: list[str]
    only_in_qc: list[str]
    attributes: pd.DataFrame
    observations: pd.DataFrame
    value_summary: pd.DataFrame
    values: pd.DataFrame
    matched: int
    notes: list[str] = field(default_factory=list)

    @property
    def differing_variables(self) -> list[str]:
        """Variables with at least one differing value."""
        vs = self.value_summary
        return vs.loc[vs["differing"] > 0, "variable"].tolist()


# --------------------------------------------------------------------------- reading


def _text(col: pd.Series) -> pd.Series:
    """Text with '' for missing and without trailing blanks (worked out once per value)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    clean = pd.Series(uniques, dtype=object).astype("string").fillna("").str.rstrip()
    return pd.Series(clean.to_numpy(dtype=object)[codes], index=col.index, dtype=object)


def _byte_length(col: pd.Series) -> int:
    u = pd.Series(col.unique(), dtype=object)
    return int(u.str.encode("utf-8").str.len().max()) if len(u) else 0


def _from_frame(frame: pd.DataFrame, name: str = "", label: str = "",
                labels: dict[str, str] | None = None, source: str = "<frame>") -> Dataset:
    """A dataset from a frame: numbers (and dates) as Num, everything else as Char."""
    data = pd.DataFrame(index=frame.index)
    types: dict[str, str] = {}
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            moment = pd.to_datetime(col)
            if moment.dropna().eq(moment.dropna().dt.normalize()).all():
                data[c] = ((moment - SAS_EPOCH).dt.days).astype("float64")
            else:
                data[c] = (moment - SAS_EPOCH).dt.total_seconds().astype("float64")
            types[c] = "Num"
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            data[c], types[c] = col.astype("float64"), "Num"
        else:
            data[c], types[c] = _text(col), "Char"
    data = data.reset_index(drop=True)
    lengths = {c: (_byte_length(data[c]) if t == "Char" else 8) for c, t in types.items()}
    return Dataset(name=name, label=label, data=data, types=types, lengths=lengths,
                   labels=dict(labels or {}), source=source)


def _read_csv(path: Path) -> Dataset:
    """A CSV file as text: every column Char, exactly as written (``0001`` is not ``1``,
    ``0.10`` is not ``0.1``); :func:`compare_datasets` decides which columns are numbers.
    With a ``<stem>.labels.json`` beside it (pharmaverse's exports), each variable's
    type, label and dates as :mod:`trialflow.datasets` reads them.
    """
    if path.with_name(f"{path.stem}.labels.json").is_file():
        from trialflow.datasets import DatasetFile

        return _from_xpt(DatasetFile(path.stem.upper(), path).read(), str(path))
    data = read_regular_file(path)
    notes = []
    try:
        text = data.decode("utf-8-sig")
        if "\x00" in text:
            # pandas ends a text at a NUL byte (its parser drops the rest of the field, its
            # hashing takes "a\0b" for "a"): U+FFFD stands in, so nothing is lost.
            notes.append(f"{path.name}: {text.count(chr(0))} NUL byte(s), compared as "
                         "U+FFFD")
            text = text.replace("\x00", "\ufffd")
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                          na_filter=False)
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {data[exc.start]:02X} at byte "
                         f"offset {exc.start})", fix="save it as UTF-8 CSV") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise InputError(str(path), f"not a readable CSV file ({' '.join(str(exc).split())})",
                         fix="save it as comma-separated UTF-8 CSV") from None
    frame = pd.DataFrame({c: _text(raw[c]) for c in raw.columns}, index=raw.index)
    ds = _from_frame(frame, name=path.stem.upper(), source=str(path))
    return replace(ds, from_text=True, notes=notes)


def _json_error(path: Path, text: str, exc: json.JSONDecodeError) -> InputError:
    """Where a Dataset-JSON document stops being JSON, as a byte offset."""
    offset = len(text[:exc.pos].encode("utf-8"))
    what = ("the document ends early: the file looks truncated" if exc.pos >= len(text)
            else exc.msg)
    return InputError(str(path), f"not a readable Dataset-JSON file ({what}, at byte offset "
                      f"{offset}, line {exc.lineno}, column {exc.colno})",
                      fix="copy or re-export the whole file as Dataset-JSON v1.1")


def _read_dataset_json(path: Path) -> Dataset:
    """Read a Dataset-JSON v1.1 file (the whole document; dates as SAS numbers).

    A truncated or malformed document, a row with the wrong number of values, or a
    ``records`` count the rows do not match is an :class:`InputError` naming where.
    """
    data = read_regular_file(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {data[exc.start]:02X} at byte "
                         f"offset {exc.start})", fix="write it as UTF-8") from None
    nul = text.count("\\u0000")
    try:
        # A NUL in a JSON string would be cut short by pandas' hashing (see _read_csv).
        doc = json.loads(text.replace("\\u0000", "\\ufffd") if nul else text)
    except json.JSONDecodeError as exc:
        raise _json_error(path, text, exc) from None
    except RecursionError:
        raise InputError(str(path), "not a readable Dataset-JSON file (nested too deeply)",
                         fix="write it as Dataset-JSON v1.1 (columns and rows)") from None
    fix = "write it as Dataset-JSON v1.1 (columns and rows)"
    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) for c in doc["columns"]):
        raise InputError(str(path), "not a Dataset-JSON file (no list of named columns)",
                         fix=fix)
    columns = doc["columns"]
    names = [c["name"] for c in columns]
    rows = doc.get("rows", [])
    if not isinstance(rows, list):
        raise InputError(str(path), "not a Dataset-JSON file ('rows' is not a list)", fix=fix)
    widths = np.fromiter((len(r) if isinstance(r, list) else -1 for r in rows), dtype=np.int64,
                         count=len(rows))
    bad = np.flatnonzero(widths != len(names))
    if bad.size:
        i = int(bad[0])
        raise InputError(str(path), f"row {i + 1} has {widths[i]} values, the document has "
                         f"{len(names)} columns" if widths[i] >= 0 else
                         f"row {i + 1} is not a list of values", row=i + 1, fix=fix)
    declared = doc.get("records")
    if declared is not None and declared != len(rows):
        raise InputError(str(path), f"the document declares {declared} records but holds "
                         f"{len(rows)} rows: the file looks truncated or edited",
                         variable="records", fix="copy or re-export the whole file")
    frame = pd.DataFrame(rows, columns=names) if rows else pd.DataFrame(columns=names)
    data_out = pd.DataFrame(index=frame.index)
    types: dict[str, str] = {}
    lengths: dict[str, int] = {}
    notes: list[str] = ([f"{path.name}: {nul} NUL character(s), compared as U+FFFD"]
                        if nul else [])
    for col in columns:
        c, kind = col["name"], col.get("dataType", "string")
        values = frame[c]
        if kind in ("date", "datetime"):
            moments = iso_days(values) if kind == "date" else iso_seconds(values)
            given = values.notna() & values.map(lambda v: v != "").to_numpy(dtype=bool)
            unreadable = given.to_numpy() & np.isnat(moments)
            if unreadable.any():
                # Not a date: compared as the text it is, never as "missing".
                data_out[c], types[c] = _text(values.astype(object)), "Char"
                first = int(np.flatnonzero(unreadable)[0])
                notes.append(f"{path.name} {c}: {int(unreadable.sum())} value(s) are not "
                             f"ISO 8601 {kind}s (row {first + 1}: {values.iloc[first]!r}); "
                             "the variable is compared as text")
            elif kind == "date":
                data_out[c], types[c] = sas_days(moments), "Num"
            else:
                secs = (moments - np.datetime64("1960-01-01T00:00:00", "s")).astype(float)
                secs[np.isnat(moments)] = np.nan
                data_out[c], types[c] = secs, "Num"
            far = int(outside_pandas_ns(moments).sum())
            if far:
                notes.append(f"{path.name} {c}: {far} date(s) before 1677-09-22 or after "
                             "2262-04-11 (compared as the dates they are)")
        elif kind in ("integer", "double", "float", "decimal"):
            data_out[c] = pd.to_numeric(values, errors="coerce").astype("float64")
            types[c] = "Num"
        else:
            data_out[c], types[c] = _text(values), "Char"
        lengths[c] = int(col["length"]) if col.get("length") is not None else (
            _byte_length(data_out[c]) if types[c] == "Char" else 8)
    return Dataset(name=str(doc.get("name") or path.stem).upper(),
                   label=str(doc.get("label") or ""), data=data_out, types=types,
                   lengths=lengths, labels={c["name"]: c.get("label") or "" for c in columns},
                   source=str(path), notes=notes)


def _from_xpt(xpt: XptDataset, source: str = "<xpt>") -> Dataset:
    data = xpt.data.copy()
    for c, t in xpt.types.items():
        data[c] = _text(data[c]) if t == "Char" else data[c].astype("float64")
    return Dataset(name=xpt.name, label=xpt.label, data=data.reset_index(drop=True),
                   types=dict(xpt.types), lengths={c: int(w) for c, w in xpt.widths.items()},
                   labels=dict(xpt.labels), source=source)


def load_dataset(item: DatasetLike) -> Dataset:
    """Any :data:`DatasetLike` as a :class:`Dataset`.

    Parameters
    ----------
    item : str, Path, DataFrame, XptDataset or Dataset
        A :class:`Dataset` is copied with its text normalised (``''`` for missing, no
        trailing blanks) and its numbers as float. A path is read by its extension:
        ``.xpt`` (SAS transport v5 or v8), ``.json`` (Dataset-JSON) or ``.csv`` (every
        column text, no labels, and :func:`compare_datasets` settles which are numbers;
        with a ``<stem>.labels.json`` beside it, each variable's type, label and dates
        as :mod:`trialflow.datasets` reads them).

    Raises
    ------
    InputError
        A missing or unreadable file, or one that is not a regular file (a FIFO or a
        device would block the read or never end).
    CompareError
        An extension that is none of the three.
    """
    if isinstance(item, Dataset):
        # Text as compared: '' for missing, no trailing blanks; numbers as float.
        data = item.data.reset_index(drop=True).copy()
        for c, t in item.types.items():
            data[c] = _text(data[c]) if t == "Char" else pd.to_numeric(
                data[c], errors="coerce").astype("float64")
        return replace(item, data=data)
    if isinstance(item, XptDataset):
        return _from_xpt(item)
    if isinstance(item, pd.DataFrame):
        return _from_frame(item)
    path = Path(item)
    suffix = path.suffix.lower()
    if suffix not in (".xpt", ".json", ".csv"):
        raise CompareError(f"{path}: unknown dataset type {suffix or '(no extension)'!r} — "
                           "give a .xpt, .json (Dataset-JSON) or .csv file")
    check_regular_file(path)
    if suffix == ".xpt":
        return _from_xpt(read_xpt(path), str(path))
    if suffix == ".json":
        return _read_dataset_json(path)
    return _read_csv(path)


# --------------------------------------------------------------------------- comparing


def _dataset_items(base: Dataset, qc: Dataset) -> pd.DataFrame:
    rows = [("name", base.name, qc.name, False),
            ("label", base.label, qc.label, base.label != qc.label),
            ("records", len(base.data), len(qc.data), len(base.data) != len(qc.data)),
            ("variables", len(base.types), len(qc.types), len(base.types) != len(qc.types))]
    return pd.DataFrame(rows, columns=["item", "base", "compare", "differs"])


def _attributes(base: Dataset, qc: Dataset, common: list[str], only_base: list[str],
                only_qc: list[str]) -> pd.DataFrame:
    rows: list[tuple[str, str, Any, Any]] = []
    rows += [(v, "present", "yes", "no") for v in only_base]
    rows += [(v, "present", "no", "yes") for v in only_qc]
    for v in common:
        for attr, b, c in (("type", base.types[v], qc.types[v]),
                           ("length", base.lengths.get(v), qc.lengths.get(v)),
                           ("label", base.labels.get(v, ""), qc.labels.get(v, ""))):
            if b != c:
                rows.append((v, attr, b, c))
    return pd.DataFrame(rows, columns=["variable", "attribute", "base", "compare"],
                        dtype=object)


def _keyed(ds: Dataset, keys: list[str]) -> pd.DataFrame:
    """The data with the occurrence number of each record within its key."""
    frame = ds.data.copy()
    frame[_OCC] = frame.groupby(keys, dropna=False, sort=False).cumcount()
    return frame


def _duplicates(frame: pd.DataFrame, keys: list[str], issue: str) -> pd.DataFrame:
    counts = frame.groupby(keys, dropna=False, sort=True).size().rename("count")
    dup = counts[counts > 1].reset_index()
    dup.insert(0, "issue", issue)
    return dup


def _differs(b: pd.Series, c: pd.Series, kind: str, abs_tol: float,
             rel_tol: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Which paired values differ, and for numbers the signed difference (compare - base).

    An infinite number is a value like any other: it equals only the same infinity (a
    tolerance relative to an infinite base would otherwise take in every number).
    """
    if kind == "Char":
        return (b.to_numpy(dtype=object) != c.to_numpy(dtype=object)), None
    bv, cv = b.to_numpy(dtype="float64"), c.to_numpy(dtype="float64")
    bn, cn = np.isnan(bv), np.isnan(cv)
    finite = np.isfinite(bv) & np.isfinite(cv)
    with np.errstate(invalid="ignore"):
        diff = cv - bv
        # A tolerance is met at its edge despite binary rounding (2.6 - 2.5 is
        # 0.10000000000000009): it is widened by one part in 10**9.
        outside = np.abs(diff) > (abs_tol + rel_tol * np.abs(bv)) * (1 + 1e-9)
    infinite = ~bn & ~cn & ~finite  # at least one side infinite, neither missing
    return (bn != cn) | (finite & outside) | (infinite & (bv != cv)), diff


def _settle_text_types(b: Dataset, c: Dataset, told: Mapping[str, str]
                       ) -> tuple[Dataset, Dataset, list[str]]:
    """Decide which text (CSV) columns are compared as numbers.

    A column is Num where ``told`` says so, where the other dataset holds it as a number,
    or, between two CSV files, where both spell every value as a number's own shortest
    text (``12``, ``0.1``, ``1e-05``: what a program writing numbers writes). Anything
    else stays text and is compared exactly: ``0001`` is not ``1`` and ``0.10`` is not
    ``0.1``.
    """
    notes: list[str] = []
    unknown = sorted(set(told) - set(b.types) - set(c.types))
    if unknown:
        raise CompareError(f"--types names {', '.join(unknown)}, in neither dataset")
    bad = {v: t for v, t in told.items() if t not in ("Num", "Char")}
    if bad:
        raise CompareError(f"types must be Num or Char, got {bad}")
    numeric: dict[str, set[str]] = {}
    for ds, other in ((b, c), (c, b)):
        if not ds.from_text:
            continue
        chosen = set()
        for v in ds.types:
            if v in told:
                if told[v] == "Num":
                    chosen.add(v)
            elif v in other.types and not other.from_text:
                if other.types[v] == "Num" and _canonical_numbers(ds.data[v]):
                    chosen.add(v)
            elif v in other.types:
                if _canonical_numbers(ds.data[v]) and _canonical_numbers(other.data[v]):
                    chosen.add(v)
        numeric[ds.source] = chosen
    out = []
    for ds in (b, c):
        chosen = numeric.get(ds.source, set()) if ds.from_text else set()
        if not chosen:
            out.append(ds)
            continue
        data = ds.data.copy()
        types, lengths = dict(ds.types), dict(ds.lengths)
        for v in sorted(chosen):
            data[v] = _as_numbers(data[v], v, ds.source)
            types[v], lengths[v] = "Num", 8
        out.append(replace(ds, data=data, types=types, lengths=lengths))
    for v in sorted(set(b.types) & set(c.types)):
        if (b.from_text or c.from_text) and out[0].types[v] != out[1].types[v]:
            notes.append(f"{v}: numbers in one dataset, text in the other (a CSV column is "
                         "a number only when every value is written as one); values not "
                         "compared")
    return out[0], out[1], notes


def _canonical_numbers(values: pd.Series) -> bool:
    """Whether every non-blank value is a number spelt as Python/pandas spell it
    (``repr`` of the float, or the integer itself), and at least one is given."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    text = pd.Series(uniques, dtype=object).astype(str)
    given = text.ne("")
    if not given.any():
        return False
    written = text[given]
    if not written.str.fullmatch(_NUMBER_TEXT).all():
        return False
    number = _exact_numbers(written)
    spelt = [repr(x) if ("." in t or "e" in t or "n" in t) else
             (str(int(x)) if abs(x) < 2**53 else "")
             for t, x in zip(written, number.tolist(), strict=True)]
    return bool((written.to_numpy(dtype=object) == np.array(spelt, dtype=object)).all())


def _exact_numbers(text: pd.Series) -> np.ndarray:
    """Number texts as the nearest doubles (numpy rounds correctly; pandas' own fast
    parser can be a unit in the last place off, which a CSV round trip must not be)."""
    return text.to_numpy(dtype=str).astype(np.float64)


#: What a number looks like in a CSV file (infinities included, ``nan`` not).
_NUMBER_TEXT = r"-?(?:\d+(?:\.\d+)?(?:e[+-]\d+)?|inf)"


def _as_numbers(values: pd.Series, variable: str, source: str) -> pd.Series:
    """A text column as numbers; a value that is not one stops the comparison."""
    text = values.astype(str).str.strip()
    form = text.str.fullmatch(r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity)",
                              case=False)
    bad = text.ne("") & ~form
    number = np.full(len(text), np.nan)
    ok = (text.ne("") & form).to_numpy()
    number[ok] = _exact_numbers(text[ok])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(source, "is to be compared as numbers but this value is not one",
                         row=row + 1, variable=variable, value=values.iloc[row],
                         fix="correct the value or compare the variable as text")
    return pd.Series(number, index=values.index, dtype="float64")


def _value_notes(b: Dataset, c: Dataset, compared: list[str]) -> list[str]:
    """Infinite numbers among the compared values, per variable and dataset."""
    notes = []
    for v in compared:
        if b.types[v] != "Num":
            continue
        for ds, role in ((b, "base"), (c, "compare")):
            n = int(np.isinf(ds.data[v].to_numpy(dtype="float64")).sum())
            if n:
                notes.append(f"{v}: {n} infinite value(s) in the {role} dataset (compared "
                             "as values: equal only to the same infinity)")
    return notes


#: Columns of the observations and values listings besides the keys.
_LISTING_COLUMNS = ("variable", "base", "compare", "difference", "issue", "count")


def key_column(key: str) -> str:
    """The column of key variable ``key`` in the observations and values listings:
    ``key`` itself, or ``"<key> (key)"`` for a key that has the name of one of the
    listing's own columns (an ARD has a key called ``variable``).

    Examples
    --------
    >>> key_column("USUBJID"), key_column("variable")
    ('USUBJID', 'variable (key)')
    """
    return f"{key} (key)" if key in _LISTING_COLUMNS else key


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, with underscores added until no column of ``taken`` has it."""
    while name in taken:
        name = f"_{name}_"
    return name


def _listed_values(both: pd.DataFrame, keys: list[str],
                   listed: list[tuple[str, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """The listed differing records of every variable as one frame (built once)."""
    columns = ["variable", *map(key_column, keys), "base", "compare", "difference"]
    if not listed:
        return pd.DataFrame(columns=columns)
    idx = np.concatenate([i for _, i, _ in listed])
    out = {"variable": np.repeat([v for v, _, _ in listed], [i.size for _, i, _ in listed])}
    out.update({key_column(k): both[k].to_numpy()[idx] for k in keys})
    out["base"] = np.concatenate([both[f"{v}__b"].to_numpy(dtype=object)[i]
                                  for v, i, _ in listed])
    out["compare"] = np.concatenate([both[f"{v}__c"].to_numpy(dtype=object)[i]
                                     for v, i, _ in listed])
    out["difference"] = np.concatenate([d for _, _, d in listed]).astype("float64")
    return pd.DataFrame(out, columns=columns)


def compare_datasets(base: DatasetLike, qc: DatasetLike, keys: Sequence[str],
                     abs_tol: float = 0, rel_tol: float = 0,
                     max_rows: int = MAX_ROWS,
                     types: Mapping[str, str] | None = None) -> CompareResult:
    """Compare a base dataset with its QC (compare) dataset, matched by key variables.

    Parameters
    ----------
    base, qc : DatasetLike
        Paths (``.xpt``, ``.json``, ``.csv``), frames, :class:`~trialflow.xpt.XptDataset`
        or :class:`Dataset`.
    keys : sequence of str
        Variables that identify a record (``["USUBJID", "PARAMCD"]``); both datasets
        must have them, with the same type.
    abs_tol, rel_tol : float
        Numbers are equal when ``|base - compare| <= abs_tol + rel_tol * |base|``.
    max_rows : int
        Differing records listed per variable.
    types : mapping of str to {'Num', 'Char'}, optional
        How to compare variables of a CSV file (which holds only text). Without it a CSV
        variable is compared as numbers only when the other dataset holds it as a number,
        or when both CSV files spell every value as a number's shortest text (``0.1``,
        ``12``); otherwise as text, exactly.

    Returns
    -------
    CompareResult

    Raises
    ------
    CompareError
        No keys, a key missing from a dataset or typed differently, a negative tolerance.
    InputError
        A file that cannot be read.
    """
    keys = list(keys)
    if not keys:
        raise CompareError("no key variables given — pass --keys USUBJID[,PARAMCD...]")
    if abs_tol < 0 or rel_tol < 0:
        raise CompareError(f"tolerances must not be negative (abs {abs_tol}, rel {rel_tol})")
    b, c = load_dataset(base), load_dataset(qc)
    b, c, notes = _settle_text_types(b, c, dict(types or {}))
    notes = [*b.notes, *c.notes, *notes]
    for ds, role in ((b, "base"), (c, "compare")):
        missing = [k for k in keys if k not in ds.types]
        if missing:
            raise CompareError(f"{ds.source}: key variable {', '.join(missing)} not in the "
                               f"{role} dataset {ds.name} — check --keys")
    for k in keys:
        if b.types[k] != c.types[k]:
            raise CompareError(f"key variable {k} is {b.types[k]} in the base and "
                               f"{c.types[k]} in the compare dataset — it cannot match")
    common = [v for v in b.types if v in c.types]
    only_base = [v for v in b.types if v not in c.types]
    only_qc = [v for v in c.types if v not in b.types]
    attributes = _attributes(b, c, common, only_base, only_qc)
    items = _dataset_items(b, c)

    bk, ck = _keyed(b, keys), _keyed(c, keys)
    compared = [v for v in common if v not in keys and b.types[v] == c.types[v]]
    merged_names = {*keys, _OCC, *(f"{v}__b" for v in compared), *(f"{v}__c" for v in compared)}
    merged = bk[keys + [_OCC] + compared].merge(
        ck[keys + [_OCC] + compared], on=keys + [_OCC], how="outer",
        suffixes=("__b", "__c"), indicator=_free_name("__side__", merged_names), sort=True)
    side = merged[_free_name("__side__", merged_names)]
    parts = [merged.loc[side.eq("left_only"), keys].assign(issue="only in base", count=1),
             merged.loc[side.eq("right_only"), keys].assign(issue="only in compare", count=1),
             _duplicates(bk, keys, "duplicate key in base"),
             _duplicates(ck, keys, "duplicate key in compare")]
    shown = ["issue", *map(key_column, keys), "count"]
    parts = [p.rename(columns=dict(zip(keys, map(key_column, keys), strict=True)))[shown]
             for p in parts if not p.empty]
    observations = (pd.concat(parts, ignore_index=True) if parts
                    else pd.DataFrame(columns=shown))

    both = merged[side.eq("both")].reset_index(drop=True)
    summary_rows, listed = [], []
    for v in compared:
        kind = b.types[v]
        bad, diff = _differs(both[f"{v}__b"], both[f"{v}__c"], kind, abs_tol, rel_tol)
        n = int(bad.sum())
        max_diff = (float(np.nanmax(np.abs(diff[bad]))) if diff is not None and n
                    and not np.isnan(diff[bad]).all() else None)
        summary_rows.append((v, kind, len(both), n, max_diff))
        if n:
            idx = np.flatnonzero(bad)[:max_rows]
            listed.append((v, idx, diff[idx] if diff is not None
                           else np.full(idx.size, np.nan)))
    value_summary = pd.DataFrame(summary_rows, columns=["variable", "type", "compared",
                                                        "differing", "max_abs_diff"])
    values = _listed_values(both, keys, listed)
    notes += _value_notes(b, c, compared)
    equal = (not items["differs"].any() and attributes.empty and observations.empty
             and not (value_summary["differing"] > 0).any())
    return CompareResult(equal=bool(equal), base=b, qc=c, keys=keys, abs_tol=abs_tol,
                         rel_tol=rel_tol, dataset=items, only_in_base=only_base,
                         only_in_qc=only_qc, attributes=attributes, observations=observations,
                         value_summary=value_summary, values=values,
                         matched=len(both), notes=notes)


# --------------------------------------------------------------------------- reporting


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "."
    if isinstance(value, float):
        short = f"{value:.12g}"  # all digits only where they are needed to tell it apart
        return short if float(short) == value else repr(value)
    return repr(value) if isinstance(value, str) else str(value)


def console_summary(result: CompareResult, max_rows: int = 5) -> str:
    """A short PROC COMPARE-like summary of a comparison (text, several lines)."""
    b, c, r = result.base, result.qc, result
    lines = [f"Comparison of {b.name} ({b.source}) with {c.name} ({c.source})",
             f"  by {', '.join(r.keys)}; tolerance abs {r.abs_tol:g}, rel {r.rel_tol:g}",
             "",
             f"  {'':<10} {'base':<40} compare",
             f"  {'label':<10} {b.label!r:<40} {c.label!r}"
             + ("   <- differs" if b.label != c.label else ""),
             f"  {'records':<10} {len(b.data):<40} {len(c.data)}",
             f"  {'variables':<10} {len(b.types):<40} {len(c.types)}", ""]
    if r.only_in_base or r.only_in_qc:
        lines.append(f"Variables only in base: {', '.join(r.only_in_base) or '-'}; "
                     f"only in compare: {', '.join(r.only_in_qc) or '-'}")
    attrs = r.attributes[r.attributes["attribute"] != "present"]
    if not attrs.empty:
        lines.append(f"Attribute differences ({len(attrs)}):")
        lines += [f"  {a.variable:<8} {a.attribute:<7} base {_show(a.base)}, "
                  f"compare {_show(a.compare)}" for a in attrs.itertuples()]
    counts = r.observations["issue"].value_counts()
    lines.append(f"Observations: {r.matched} matched, "
                 f"{int(counts.get('only in base', 0))} only in base, "
                 f"{int(counts.get('only in compare', 0))} only in compare; duplicate keys: "
                 f"{int(counts.get('duplicate key in base', 0))} in base, "
                 f"{int(counts.get('duplicate key in compare', 0))} in compare")
    vs = r.value_summary
    bad = vs[vs["differing"] > 0]
    lines.append(f"Values: {len(vs)} variables compared, {len(bad)} with differences")
    for row in bad.itertuples():
        most = f" (max |diff| {row.max_abs_diff:.6g})" if pd.notna(row.max_abs_diff) else ""
        lines.append(f"  {row.variable:<8} {row.differing} of {row.compared} differ{most}")
        shown = r.values[r.values["variable"] == row.variable].head(max_rows)
        for d in shown.to_dict("records"):
            key = ", ".join(f"{k}={_show(d[key_column(k)])}" for k in r.keys)
            lines.append(f"    {key}: base {_show(d['base'])}, compare {_show(d['compare'])}")
    if r.notes:
        lines.append(f"Notes ({len(r.notes)}):")
        lines += [f"  {note}" for note in r.notes]
    lines.append("")
    lines.append("RESULT: " + ("EQUAL" if r.equal else "NOT EQUAL"))
    # Names and values come from the files compared: no control character reaches the
    # terminal unescaped.
    return "\n".join(console_text(line) for line in lines)


def report_frames(result: CompareResult) -> dict[str, pd.DataFrame]:
    """The sheets of the XLSX report: summary, attributes, observations, values."""
    r = result
    summary = r.dataset.assign(section="dataset")[["section", "item", "base", "compare",
                                                    "differs"]]
    extra = pd.DataFrame(
        [("comparison", "keys", ", ".join(r.keys), "", False),
         ("comparison", "tolerance", f"abs {r.abs_tol:g}, rel {r.rel_tol:g}", "", False),
         ("comparison", "source", r.base.source, r.qc.source, False),
         ("comparison", "matched records", r.matched, r.matched, False),
         ("comparison", "result", "EQUAL" if r.equal else "NOT EQUAL", "", not r.equal),
         *(("note", f"note {i}", note, "", False) for i, note in enumerate(r.notes, 1))],
        columns=summary.columns)
    per_var = pd.DataFrame({
        "section": "values", "item": r.value_summary["variable"],
        "base": r.value_summary["compared"].astype(object),
        "compare": r.value_summary["differing"].astype(object),
        "differs": r.value_summary["differing"] > 0})
    summary = pd.concat([extra, summary, per_var], ignore_index=True).astype(
        {"base": object, "compare": object})
    return {"summary": summary, "attributes": r.attributes,
            "observations": r.observations, "values": r.values}


def write_report(result: CompareResult, path: Path) -> Path:
    """Write the XLSX report (atomically).

    In the ``summary`` sheet the rows of section ``values`` give, per variable, the
    records compared (``base``) and the records that differ (``compare``).
    """
    # Keys, names and values come from the files compared: a text cell stays text (never
    # a formula), and characters a cell cannot hold are escaped.
    frames = {name: xlsx_safe_frame(frame) for name, frame in report_frames(result).items()}

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for name, frame in frames.items():
                frame.to_excel(xl, sheet_name=name, index=False)
            force_text_cells(xl.book.worksheets)
            for sheet in xl.book.worksheets:
                # Bold header, frozen, filters, widths, fitted to the page width.
                finish_sheet(sheet)

    return write_atomic(Path(path), write)
