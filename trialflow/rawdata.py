"""Read raw CRF exports and check them against their form specs.

A raw export is a UTF-8, comma-separated file with one header line naming the columns
of its form spec (``specs/raw/<form>.yaml``). Everything is read as text
(``dtype=str``, blanks stay ``''``) so nothing is silently converted: the checks decide
what a value means, and the SDTM layer maps the text.

Two kinds of problems are kept apart:

* a file that cannot be read as the form at all (missing, empty, not UTF-8, wrong
  delimiter, wrong header, a row with the wrong number of fields) raises
  :class:`~trialflow.errors.InputError` — nothing downstream could be trusted;
* a record-level problem (blank required value, non-numeric number, out-of-range value,
  unknown codelist term, bad date, an end date before its start, a subject the
  enrolment form does not list ...) becomes a :class:`~trialflow.findings.Finding`,
  so that one run reports all of them, as a data-management listing would.

EDC dates are ``DD-MON-YYYY`` (``05-JUN-2016``); an unknown day or month is ``UN``
(``UN-JUN-2016``, ``UN-UN-2016``). :func:`parse_edc_date` turns them into ISO 8601 text,
keeping partial dates partial, for reuse by SDTM.

Example
-------
>>> from trialflow.spec import load_codelists, load_forms
>>> frames, findings = read_forms(Path("build/raw"), load_forms(),
...                                load_codelists())  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from trialflow.errors import InputError, SpecError
from trialflow.findings import Finding, Severity
from trialflow.io import read_regular_file
from trialflow.safetext import has_controls
from trialflow.spec import Codelist, RawCheck, RawColumn, RawForm, Study

#: Longest character value SDTM/ADaM (XPT v5) can hold, in bytes.
MAX_VALUE_BYTES = 200

_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    start=1)}
_EDC_DATE = r"^(?P<day>\d{2}|UN)-(?P<month>[A-Z]{3}|UN)-(?P<year>\d{4})$"
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_DATE_HELP = ("write dates as DD-MON-YYYY (e.g. 05-JUN-2016), with UN for an unknown day "
              "or month (UN-JUN-2016, UN-UN-2016)")

_INTEGER = r"[+-]?\d+"
_FLOAT = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
# A quoted CSV field: starts at the beginning of a field, "" is an escaped quote. Removing
# these before counting commas makes embedded commas and newlines invisible to the count.
_QUOTED = re.compile(r'(?:^|(?<=[,\n]))"(?:[^"]|"")*"(?=[,\r\n]|\Z)')
# A quote that opens a field but was not closed: everything after it is one field.
_OPEN_QUOTE = re.compile(r'(?:^|(?<=[,\n]))"')
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}

#: What a NUL byte in a raw file is read as (U+FFFD, the replacement character).
NUL_STAND_IN = "\ufffd"

#: The subject number column every form shares.
SUBJECT = "SUBJID"

_EXPORT_FIX = "re-export the form from the EDC as comma-separated UTF-8 CSV"


# --------------------------------------------------------------------------- dates


def _parse_dates(series: pd.Series) -> pd.DataFrame:
    """Parse EDC dates; like :func:`parse_edc_date` plus ``well_formed``.

    ``well_formed`` separates text that is not a date at all from a well-formed but
    impossible date (31-FEB-2016), which need different messages.
    """
    # A date column repeats few distinct dates: the string work is done once per
    # distinct text and spread to the records by the factor codes.
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    parsed = _parse_distinct_dates(pd.Series(uniques, dtype=object)).take(codes)
    parsed.index = series.index
    return parsed


def _parse_distinct_dates(series: pd.Series) -> pd.DataFrame:
    """:func:`_parse_dates` of every value of ``series`` (no factorising)."""
    text = series.astype("string").str.strip().str.upper()
    parts = text.str.extract(_EDC_DATE)
    year = pd.to_numeric(parts["year"], errors="coerce").astype("Int64")
    month = parts["month"].map(_MONTHS).astype("Int64")
    day = pd.to_numeric(parts["day"], errors="coerce").astype("Int64")
    day_unknown = parts["day"].eq("UN").fillna(False).astype(bool)
    month_unknown = parts["month"].eq("UN").fillna(False).astype(bool)

    # A known day with an unknown month cannot be written in ISO 8601, and a month name
    # that is not one of the twelve is a typo, not an unknown month.
    well_formed = (year.notna()
                   & ((month.notna() & (day.notna() | day_unknown))
                      | (month_unknown & day_unknown))).fillna(False).astype(bool)
    full = well_formed & day.notna().to_numpy() & month.notna().to_numpy()

    m = month.fillna(1).to_numpy(dtype=int)
    y = year.fillna(2000).to_numpy(dtype=int)
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days_in_month = _DAYS_IN_MONTH[np.clip(m, 1, 12) - 1] + ((m == 2) & leap)
    d = day.fillna(1).to_numpy(dtype=int)
    possible = (d >= 1) & (d <= days_in_month)
    valid = well_formed & (~full | possible)
    partial = valid & (day_unknown | month_unknown)

    yyyy = parts["year"].fillna("")
    mm = month.astype("string").str.zfill(2).fillna("")
    dd = parts["day"].fillna("")
    iso = np.select([valid & full, valid & ~month_unknown, valid],
                    [(yyyy + "-" + mm + "-" + dd).to_numpy(dtype=object),
                     (yyyy + "-" + mm).to_numpy(dtype=object), yyyy.to_numpy(dtype=object)],
                    default="")
    keep = valid.to_numpy()
    return pd.DataFrame({
        "iso": pd.Series(iso, index=series.index, dtype=object),
        "year": year.where(keep),
        "month": month.where(keep),
        "day": day.where(keep),
        "valid": valid,
        "partial": partial,
        "well_formed": well_formed,
    }, index=series.index)


def parse_edc_date(series: pd.Series) -> pd.DataFrame:
    """Parse EDC ``DD-MON-YYYY`` dates (``UN`` = unknown day or month) to ISO 8601.

    Parameters
    ----------
    series : pandas.Series
        Text dates as exported; surrounding blanks and letter case are ignored.

    Returns
    -------
    pandas.DataFrame
        Same index as ``series``, columns:

        ``iso``
            ISO 8601 text, partial dates kept partial (``2016-06-05``, ``2016-06``,
            ``2016``); ``''`` when the value is blank or not a valid date.
        ``year``, ``month``, ``day``
            Nullable integers; NA where unknown or the date is not valid.
        ``valid``
            True for a real calendar date, complete or partial.
        ``partial``
            True for a valid date with unknown day or month.

    Examples
    --------
    >>> dates = pd.Series(["05-JUN-2016", "UN-JUN-2016", "UN-UN-2016", "31-FEB-2016"])
    >>> parse_edc_date(dates)["iso"].tolist()
    ['2016-06-05', '2016-06', '2016', '']
    """
    return _parse_dates(series).drop(columns="well_formed")


# --------------------------------------------------------------------------- file level


def _read_text(path: Path) -> str:
    """The file as text, or an InputError saying why it cannot be read."""
    if not path.exists() and not path.is_symlink():
        raise InputError(str(path), "file not found",
                         fix="run `trialflow simulate` to create raw data, or pass --raw "
                             "pointing at the directory holding the EDC export")
    if path.is_dir():
        raise InputError(str(path), "is a directory, not a CSV file",
                         fix="remove or rename the directory")
    # A FIFO or a device is refused before it is opened: reading it would block or never
    # end.
    data = read_regular_file(path, fix="copy the EDC export into a regular file")
    try:
        # utf-8-sig: spreadsheet tools put a byte-order mark in front; it is not data.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, data, exc) from None
    if "\x00" in text:
        # pandas ends a text at a NUL byte: its CSV parser drops the rest of the field, and
        # its hashing takes "Nausea\0 and vomiting" for "Nausea" (so SDTM would map one
        # record's text onto another's). The NUL stands in as U+FFFD, which keeps the
        # rest, and the value is reported (rule control_character).
        text = text.replace("\x00", NUL_STAND_IN)
    if not text.strip():
        raise InputError(str(path), "file is empty (no header line)", fix=_EXPORT_FIX)
    if "\r" in text and "\n" not in text.rstrip("\r\n"):
        # Classic Mac OS line ends: the whole file would be one line (the header).
        raise InputError(str(path), "lines end with a carriage return only (CR, classic Mac "
                         "OS), so rows cannot be told apart",
                         fix="re-export the form with LF or CRLF line ends")
    return text


def _encoding_error(path: Path, data: bytes, exc: UnicodeDecodeError) -> InputError:
    """Locate a non-UTF-8 byte by data row and column, for the person fixing the file."""
    # UTF-16 (what Excel's "Unicode text" writes) fails on its first byte, and locating
    # a field in it byte-wise is meaningless: name the encoding instead.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:200]:
        bom = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        how = (f"byte-order mark {data[:2].hex(' ').upper()}" if bom
               else "NUL bytes between the letters")
        return InputError(str(path), f"not UTF-8 text: the file is UTF-16 ({how})",
                          fix="re-export the file as UTF-8 (in Excel: CSV UTF-8, not "
                              "Unicode text)")
    line_no = data.count(b"\n", 0, exc.start)  # 0 = header line
    start = data.rfind(b"\n", 0, exc.start) + 1
    end = data.find(b"\n", exc.start)
    # Shown as Latin-1 (which decodes any byte), the value reads as the site typed it
    # in a Latin-1 file (Müller, not M\ufffdller), so it can be found in the EDC.
    line = data[start:end if end >= 0 else len(data)].decode("latin-1")
    prefix = data[start:exc.start].decode("latin-1")
    field_no = len(next(csv.reader([prefix]))) - 1 if prefix else 0
    header_line = data.split(b"\n", 1)[0].decode("utf-8", "replace")
    header = next(csv.reader([header_line.lstrip("\ufeff").rstrip("\r")]))
    fields = next(csv.reader([line.rstrip("\r")]), [""])
    bad = data[exc.start:exc.end]
    return InputError(
        str(path), f"not UTF-8 text (byte {bad[:1].hex().upper()} at byte offset {exc.start}; "
                   "the value is shown as Latin-1)",
        row=line_no or None,
        variable=header[field_no] if line_no and field_no < len(header) else None,
        value=fields[field_no] if field_no < len(fields) else None,
        fix="re-export the file as UTF-8 (it is probably Latin-1 or Shift-JIS)")


def _check_header(text: str, path: Path, form: RawForm) -> list[str]:
    """Header names of the file; raise if they are not the form's columns."""
    first = text.split("\n", 1)[0].rstrip("\r")
    try:
        header = next(csv.reader([first]))
    except csv.Error as exc:  # e.g. a carriage return inside the header line
        raise InputError(str(path), f"header line cannot be read as CSV ({exc})",
                         value=first[:80], fix=_EXPORT_FIX) from None
    expected = form.column_names
    if len(header) == 1 and len(expected) > 1:
        used = [name for sep, name in _OTHER_DELIMITERS.items() if sep in header[0]]
        if used:
            raise InputError(str(path), f"wrong delimiter: the header is one column separated "
                             f"by {used[0]}, trialflow reads comma-separated files",
                             value=header[0][:80], fix=_EXPORT_FIX)
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise InputError(str(path), "column appears twice in the header", variable=dup[0],
                         fix=_EXPORT_FIX)
    missing = [c for c in expected if c not in header]
    if missing:
        raise InputError(str(path), f"header lacks column(s) {', '.join(missing)} of form "
                         f"{form.name!r}", variable=missing[0],
                         fix=f"export all columns of specs/raw/{form.name}.yaml "
                             f"({', '.join(expected)})")
    extra = [h for h in header if h not in expected]
    if extra:
        raise InputError(str(path), f"header has column(s) {', '.join(map(repr, extra))} that "
                         f"form {form.name!r} does not define", variable=extra[0],
                         fix=f"drop the column from the export or add it to "
                             f"specs/raw/{form.name}.yaml")
    return header


def _check_field_counts(text: str, path: Path, header: list[str]) -> int:
    """Raise on the first data row whose number of fields differs from the header's.

    pandas pads a short row with blanks (and can shift a long row onto the index), so a
    file cut off mid-line would pass as blank values; counting fields first prevents that.
    Returns the number of data records.
    """
    collapsed = text.rstrip("\r\n")
    # Most exports quote nothing: the quote handling (a regex pass over the whole text)
    # is only needed when there is a quote.
    if '"' in collapsed:
        collapsed = _QUOTED.sub('""', collapsed)
        opened = _OPEN_QUOTE.search(collapsed.replace('""', "\x00\x00"))
        if opened:
            row = collapsed[:opened.start()].count("\n")
            raise InputError(str(path), "unbalanced quote character; rows cannot be told "
                             "apart", row=row or None, fix=_EXPORT_FIX)
    counts = _fields_per_line(collapsed)
    bad = np.flatnonzero(counts != len(header))
    if bad.size:
        i = int(bad[0])
        n, last = int(counts[i]), i == len(counts) - 1
        line = collapsed.split("\n")[i + 1].rstrip("\r")
        if line == "":
            problem = "blank line inside the data"
        elif n < len(header) and last:
            problem = (f"last line has {n} of {len(header)} fields: the file looks truncated "
                       f"(cut off while being written or copied)")
        else:
            problem = f"row has {n} fields, the header has {len(header)}"
        # The last field present is where a truncated line was cut.
        cut = header[n - 1] if n < len(header) and last and line else None
        raise InputError(str(path), problem, row=i + 1, variable=cut, value=line[:80],
                         fix=_EXPORT_FIX if not last else "copy or re-export the whole file")
    return len(counts)


def _fields_per_line(text: str) -> np.ndarray:
    r"""Number of comma-separated fields on each line after the first (the header).

    Counted on the UTF-8 bytes, where a comma or line break is never part of another
    character: the positions of both are found in one vectorised pass each, instead of
    splitting every line into a Python string.

    Examples
    --------
    >>> _fields_per_line("A,B\n1,2\n3\n").tolist()
    [2, 1, 1]
    """
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    breaks = np.flatnonzero(data == ord("\n"))
    commas = np.flatnonzero(data == ord(","))
    # Line i runs from break i to break i + 1 (the last line to the end of the text).
    ends = np.append(breaks, len(data))
    return np.diff(np.searchsorted(commas, ends)) + 1


# --------------------------------------------------------------------------- record level


class _Collector:
    """Collects findings for one file; only flagged rows are visited."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[int, int, Finding]] = []

    def flag(self, mask: pd.Series | np.ndarray, values: pd.Series, order: int, variable: str,
             rule: str, message: str | np.ndarray, severity: Severity = "error") -> None:
        """Findings for the rows of ``mask``; ``message`` is one text or one per row."""
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        text = values.to_numpy()
        per_row = not isinstance(message, str)
        self.items.extend(
            (int(i), order, Finding(self.source, int(i) + 1, variable, str(text[i]), rule,
                                    str(message[i]) if per_row else message, severity))
            for i in rows)

    def sorted(self) -> list[Finding]:
        # Row first: a data manager works through a listing record by record.
        return [f for _, _, f in sorted(self.items, key=lambda t: (t[0], t[1]))]


def _fold(values: pd.Series) -> pd.Series:
    """Vectorised twin of ``trialflow.spec._fold`` (case and whitespace folded)."""
    return values.str.replace(r"\s+", " ", regex=True).str.strip().str.upper()


def _check_column(out: _Collector, df: pd.DataFrame, order: int, col: RawColumn,
                  codelists: Mapping[str, Codelist]) -> None:
    name = col.name
    # Every check depends on the value alone, and CRF columns repeat few distinct values
    # (codes, dates, grades): check each distinct value once, then spread the verdicts
    # back to the rows through the factor codes.
    codes, distinct = pd.factorize(df[name])
    s = pd.Series(distinct, dtype=object)
    v = s.str.strip()
    present = v.ne("")

    def flag(mask: pd.Series, rule: str, message: str, severity: Severity = "error") -> None:
        bad = np.asarray(mask, dtype=bool)
        if bad.any():  # spread to the records only when some distinct value is flagged
            out.flag(bad[codes], df[name], order, name, rule, message, severity)

    if col.required:
        flag(~present, "required",
             f"{name} is required but blank — enter it in the EDC or query the site")
    lost = s.str.contains(NUL_STAND_IN, regex=False).to_numpy(dtype=bool)
    flag(lost, "control_character",
         f"{name} holds a NUL byte, or a character lost in an earlier conversion; it is "
         f"shown (and kept) as {NUL_STAND_IN} so nothing after it is lost — correct the "
         "entry in the EDC")
    controls = has_controls(s)
    if controls.any():
        breaks = s.str.fullmatch(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f"
                                 r"\u202a-\u202e\u2066-\u2069]*").to_numpy(dtype=bool)
        flag(controls & ~breaks, "control_character",
             f"{name} holds a control character (a NUL, escape or other non-printing "
             "character, shown escaped in the reports) that the EDC should not have let "
             "through — remove it in the EDC")
        flag(controls & breaks, "line_break",
             f"{name} holds a tab or line break (shown as \\t, \\n or \\r in the "
             "reports); it is kept, but SDTM values should be one line — check the entry",
             "warning")
    nbytes = s.str.encode("utf-8").str.len()
    flag(nbytes > MAX_VALUE_BYTES, "value_bytes",
         f"{name} is longer than {MAX_VALUE_BYTES} bytes, the most an SDTM character "
         f"variable holds — shorten it or split it over several records")
    if col.max_length is not None:
        flag(s.str.len() > col.max_length, "max_length",
             f"{name} is longer than the {col.max_length} characters the CRF field "
             f"allows — correct the entry")

    number = None
    if col.type in ("integer", "float"):
        pattern = _INTEGER if col.type == "integer" else _FLOAT
        numeric = v.str.fullmatch(pattern)
        what = ("a whole number (digits only, no units)" if col.type == "integer"
                else "a number (digits with . as decimal point, no units)")
        flag(present & ~numeric, col.type,
             f"{name} must be {what} — correct the entry")
        # Parsed by numpy (correctly rounded, and 1e999 is infinite rather than missing).
        number = pd.Series(np.nan, index=v.index)
        ok = numeric.fillna(False).to_numpy(dtype=bool)
        number[ok] = v[ok].to_numpy(dtype=str).astype(np.float64)
        flag(ok & ~np.isfinite(number.to_numpy()), "not_finite",
             f"{name} is too large to be held as a number (it overflows to infinity) — "
             "correct the entry")
        number = number.where(np.isfinite(number))
        if col.min is not None or col.max is not None:
            low = -np.inf if col.min is None else col.min
            high = np.inf if col.max is None else col.max
            flag((number < low) | (number > high), "range",
                 f"{name} is outside the plausible range {_range(col)} — verify the "
                 f"value against the source document")

    if col.allowed is not None:
        if number is not None:
            ok = number.isin([float(a) for a in col.allowed]) | number.isna()
        else:
            # Allowed values are EDC pick-list entries: compared exactly, so that the
            # SDTM mapping sees precisely the spelling the spec lists.
            ok = s.isin([str(a) for a in col.allowed]) | ~present
        flag(~ok, "allowed",
             f"{name} must be one of {', '.join(map(str, col.allowed))} — correct the "
             f"entry or extend 'allowed' in the form spec")

    if col.codelist is not None:
        codelist = codelists[col.codelist]
        known = _fold(s).isin(list(codelist.lookup())) | ~present
        severity: Severity = "warning" if codelist.extensible else "error"
        flag(~known, "codelist",
             f"{name} maps to no term of codelist {codelist.id} — correct the entry or "
             f"add it as a synonym in specs/ct", severity)

    if col.type == "date":
        dates = _parse_dates(s)
        flag(present & ~dates["well_formed"], "date",
             f"{name} is not a date — {_DATE_HELP}")
        flag(dates["well_formed"] & ~dates["valid"], "impossible_date",
             f"{name} is not a calendar date (no such day in that month) — correct it")
        if not col.partial:
            flag(dates["partial"], "partial_date",
                 f"{name} must be a complete date; UN is not allowed here — obtain the "
                 f"full date from the site")


def _before(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Whether date ``a`` is known to be before date ``b`` (``year, month, day`` columns of
    :func:`_parse_dates`, aligned).

    Partial dates are compared only as far as both are known: UN-MAR-2016 is before
    15-APR-2016, but not before UN-UN-2016 or 15-MAR-2016.
    """
    same_year = a["year"] == b["year"]
    same_month = same_year & (a["month"] == b["month"])
    # Nullable comparisons: an unknown part gives NA, which is "not known to be before".
    before = ((a["year"] < b["year"])
              | (same_year & (a["month"] < b["month"]))
              | (same_month & (a["day"] < b["day"])))
    return before.fillna(False).to_numpy(dtype=bool)


def _check_not_before(out: _Collector, df: pd.DataFrame, order: int, col: RawColumn) -> None:
    """Flag a date before the date it cannot precede (an end before its start)."""
    end, start = _parse_dates(df[col.name]), _parse_dates(df[col.not_before])
    out.flag(_before(end, start), df[col.name], order, col.name,
             "date_order", f"{col.name} is before {col.not_before} of the same record — "
             f"correct whichever date is wrong")


def _present(values: pd.Series) -> np.ndarray:
    """Whether each value has more than blanks; stripped once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return pd.Series(uniques, dtype=object).str.strip().ne("").to_numpy(dtype=bool)[codes]


def _range(col: RawColumn) -> str:
    if col.min is not None and col.max is not None:
        return f"{col.min:g} to {col.max:g}"
    return f">= {col.min:g}" if col.min is not None else f"<= {col.max:g}"


def _check_keys(out: _Collector, df: pd.DataFrame, form: RawForm) -> None:
    """Flag a record whose key repeats an earlier record's: SDTM could not tell them apart."""
    keys = list(form.keys)
    complete = np.logical_and.reduce([_present(df[k]) for k in keys])
    dup = df[keys].duplicated(keep="first") & complete
    if not dup.any():
        return  # the usual case: no key text to build for every record
    key_text = df[keys[0]]
    if len(keys) > 1:
        key_text = key_text.str.cat([df[k] for k in keys[1:]], sep="/")
    out.flag(dup, key_text, -1, "/".join(keys), "duplicate_key",
             f"another record has the same {'/'.join(keys)} — remove the duplicate or "
             f"correct the key")


# --------------------------------------------------------------------------- public API


#: What an EDC or a SAS session may export a form as, beside the CSV of its spec.
SAS_EXPORTS: tuple[str, ...] = (".xpt", ".sas7bdat")


def export_path(raw_dir: Path, form: RawForm) -> Path:
    """The file a form was exported to: its spec's CSV, else a SAS export of the same
    stem (``ae.xpt`` or ``ae.sas7bdat`` for ``ae.csv``) when only that is there."""
    csv_path = Path(raw_dir) / form.file
    if csv_path.exists():
        return csv_path
    for suffix in SAS_EXPORTS:
        other = csv_path.with_suffix(suffix)
        if other.is_file():
            return other
    return csv_path


def _read_export(path: Path) -> str:
    """The export's text as CSV: a CSV as read; a SAS export (XPT or sas7bdat, through
    pyreadstat) written as the EDC's CSV would be: dates as ``DD-MON-YYYY``, whole
    numbers without a decimal point, other numbers as their shortest text, missing as
    blank. Then every check of the form applies to it alike."""
    if path.suffix.lower() not in SAS_EXPORTS:
        return _read_text(path)
    import pyreadstat

    reader = pyreadstat.read_xport if path.suffix.lower() == ".xpt" else \
        pyreadstat.read_sas7bdat
    try:
        data, _ = reader(str(path))
    except Exception as exc:  # pyreadstat raises its own types for unreadable files
        raise InputError(str(path), f"not a readable SAS export ({exc})",
                         fix=_EXPORT_FIX) from None
    columns = {}
    for name in data.columns:
        col = data[name]
        if pd.api.types.is_datetime64_any_dtype(col) or col.map(
                lambda v: isinstance(v, (dt.date, dt.datetime))).any():
            stamps = pd.to_datetime(col, errors="coerce")
            columns[name] = stamps.dt.strftime("%d-%b-%Y").str.upper().fillna("")
        elif pd.api.types.is_numeric_dtype(col):
            whole = col.notna() & np.isfinite(col) & (col == np.round(col))
            text = col.map(repr).where(col.notna(), "")
            text[whole] = col[whole].astype("int64").astype(str)
            columns[name] = text
        else:
            columns[name] = col.fillna("").astype(str)
    buffer = io.StringIO()
    pd.DataFrame(columns).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def read_form(path: Path, form: RawForm,
              codelists: Mapping[str, Codelist]) -> tuple[pd.DataFrame, list[Finding]]:
    """Read one raw CRF export and check it against its form spec.

    Parameters
    ----------
    path : Path
        The CSV export (UTF-8, comma-separated, one header line).
    form : RawForm
        Its spec from ``specs/raw/``.
    codelists : mapping of str to Codelist
        Codelists by id; every codelist a column names must be present.

    Returns
    -------
    frame : pandas.DataFrame
        All values as text exactly as exported (blanks are ``''``), columns in spec order.
    findings : list of Finding
        Record-level problems, ordered by row.

    Raises
    ------
    InputError
        The file is missing, empty, not UTF-8, not comma-separated, its header is not the
        form's columns, or a row has the wrong number of fields.
    SpecError
        A column refers to a codelist that is not defined.
    """
    path = Path(path)
    for col in form.columns:
        if col.codelist is not None and col.codelist not in codelists:
            raise SpecError(f"specs/raw/{form.name}.yaml",
                            f"codelist {col.codelist!r} is not defined in specs/ct",
                            form.name, col.name)
    text = _read_export(path)
    header = _check_header(text, path, form)
    records = _check_field_counts(text, path, header)
    if records == 0 and not form.may_be_empty:
        raise InputError(str(path), f"has a header but no records, and form {form.name!r} "
                         "must have some: an export that lost its rows would silently remove "
                         "every record", fix=f"re-export the form; if the study truly has "
                         f"none, set may_be_empty: true in specs/raw/{form.name}.yaml")
    frame = pd.read_csv(io.StringIO(text.rstrip("\r\n") + "\n"), dtype=str, sep=",",
                        keep_default_na=False, na_filter=False, skip_blank_lines=False)
    if len(frame) != records:  # defensive: the quote handling above and pandas disagree
        raise InputError(str(path), f"read {len(frame)} rows but counted {records}; quoting "
                         "is irregular", fix=_EXPORT_FIX)
    if list(frame.columns) != form.column_names:
        frame = frame[form.column_names]  # spec order (a copy; not needed when in order)

    out = _Collector(str(path))
    for order, col in enumerate(form.columns):
        _check_column(out, frame, order, col, codelists)
        if col.not_before is not None:
            _check_not_before(out, frame, order, col)
    _check_keys(out, frame, form)
    if records and not text.endswith("\n"):
        # A complete-looking last line without its line break may still have been cut
        # inside its last field (a truncated copy); only the EDC can tell.
        last = form.columns[-1].name
        out.flag(np.arange(records) == records - 1, frame[last], len(form.columns), last,
                 "no_final_newline", "the file does not end with a line break, so its "
                 "last record may be cut off — compare it with the EDC or re-export the "
                 "file", "warning")
    return frame, out.sorted()


def read_forms(raw_dir: Path, forms: Mapping[str, RawForm] | Iterable[RawForm],
               codelists: Mapping[str, Codelist], study: Study | None = None
               ) -> tuple[dict[str, pd.DataFrame], list[Finding]]:
    """Read and check the export of every form in ``raw_dir``.

    Parameters
    ----------
    raw_dir : Path
        Directory holding ``<form>.csv`` files (the ``file`` of each form spec).
    forms : mapping or iterable of RawForm
        Form specs, e.g. :func:`trialflow.spec.load_forms`.
    codelists : mapping of str to Codelist
        Codelists by id, e.g. :func:`trialflow.spec.load_codelists`.
    study : Study, optional
        For checks that refer to the study's dates (``study.data_cutoff``); loaded from
        ``specs/study.yaml`` when a check needs it and none is given.

    Returns
    -------
    frames : dict of str to pandas.DataFrame
        Form name to its data (all text).
    findings : list of Finding
        Record-level findings of all forms, form by form, including records of subjects
        the enrolment form (the form spec with ``enrols: true``) does not list, and the
        plausibility checks of each form spec's ``checks`` (a death before the
        randomisation, a dose after the death...).

    Raises
    ------
    InputError
        ``raw_dir`` does not exist, or the first file that cannot be read as its form
        (see :func:`read_form`).
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise InputError(str(raw_dir), "raw data directory not found",
                         fix="run `trialflow simulate` to create it, or pass --raw pointing at "
                             "the directory holding the EDC export")
    items = list(forms.values() if isinstance(forms, Mapping) else forms)
    frames: dict[str, pd.DataFrame] = {}
    found: dict[str, list[Finding]] = {}
    for form in items:
        frames[form.name], found[form.name] = read_form(export_path(raw_dir, form), form,
                                                        codelists)
    enrolment = next((f for f in items if f.enrols), None)
    by_name = {f.name: f for f in items}
    if study is None and any(k.reference.startswith("study.") for f in items
                             for k in f.checks):
        from trialflow.spec import load_study

        study = load_study()
    findings: list[Finding] = []
    for form in items:
        extra = ([] if enrolment is None or form is enrolment else
                 _not_enrolled(frames[form.name], raw_dir / form.file, frames[enrolment.name],
                               enrolment.file))
        extra += _plausibility(form, frames, by_name, raw_dir / form.file, study)
        # Stable sort by row: each form's findings stay a record-by-record listing.
        findings.extend(sorted([*found[form.name], *extra], key=lambda f: f.row or 0))
    return frames, findings


def _not_enrolled(frame: pd.DataFrame, path: Path, enrolled: pd.DataFrame,
                  enrol_file: str) -> list[Finding]:
    """Records of subjects the enrolment form does not list: SDTM has no DM record for
    them, so they cannot be mapped and would otherwise only show up as rejected."""
    if SUBJECT not in frame.columns or SUBJECT not in enrolled.columns:
        return []
    # Stripped and looked up once per distinct subject, not once per record.
    codes, uniques = pd.factorize(frame[SUBJECT], use_na_sentinel=False)
    subjects = pd.Series(uniques, dtype=object).str.strip()
    unknown = subjects.ne("") & ~subjects.isin(set(enrolled[SUBJECT].str.strip()))
    out = _Collector(str(path))
    out.flag(unknown.to_numpy(dtype=bool)[codes], frame[SUBJECT], 0, SUBJECT, "not_enrolled",
             f"subject is not in {enrol_file} (the enrolment form), so the record cannot be "
             f"mapped — correct the subject number or enter the enrolment")
    return out.sorted()


# --------------------------------------------------------------------------- plausibility


def _reference(check: RawCheck, form: RawForm, frames: Mapping[str, pd.DataFrame],
               forms: Mapping[str, RawForm], study: Study | None
               ) -> tuple[pd.Series, str]:
    """The reference date of every record of ``form`` for ``check`` (EDC text, ``''``
    where there is none), and how to name it in a message."""
    frame = frames[form.name]
    ref = check.reference
    spec = f"specs/raw/{form.name}.yaml"

    def constant(iso: str) -> pd.Series:
        year, month, day = iso.split("-")
        edc = f"{day}-{[m for m, i in _MONTHS.items() if i == int(month)][0]}-{year}"
        return pd.Series(edc, index=frame.index, dtype=object)

    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", ref):
        return constant(ref), "the date"
    if ref.startswith("study."):
        name = ref.split(".", 1)[1]
        value = getattr(study, name, None) if study is not None else None
        if value is None and study is not None:
            value = study.extra.get(name)
        if not hasattr(value, "isoformat"):
            raise SpecError(spec, f"checks: reference {ref!r} is not a date of specs/study.yaml",
                            form.name, check.column)
        return constant(value.isoformat()), ref
    if "." not in ref:
        return frame[ref], f"{ref} of the same record"
    other_name, column = ref.split(".", 1)
    other = forms.get(other_name)
    if other is None or column not in other.column_names or \
            other.column(column).type != "date":
        raise SpecError(spec, f"checks: reference {ref!r} is not a date column of a raw form",
                        form.name, check.column)
    if tuple(other.keys) != (SUBJECT,):
        raise SpecError(spec, f"checks: reference {ref!r} is in form {other_name!r}, which "
                        f"has several records per subject; refer to a form keyed by {SUBJECT}",
                        form.name, check.column)
    source = frames[other_name]
    subjects = source[SUBJECT].str.strip()
    first = ~subjects.duplicated().to_numpy()  # a repeat is a duplicate_key finding there
    table = pd.Series(source[column].to_numpy()[first], index=subjects.to_numpy()[first])
    # Looked up once per distinct subject text.
    codes, uniques = pd.factorize(frame[SUBJECT], use_na_sentinel=False)
    looked_up = pd.Series(uniques, dtype=object).str.strip().map(table).fillna("")
    return (pd.Series(looked_up.to_numpy(dtype=object)[codes], index=frame.index),
            f"{ref} of the subject")


def _plausibility(form: RawForm, frames: Mapping[str, pd.DataFrame],
                  forms: Mapping[str, RawForm], path: Path, study: Study | None
                  ) -> list[Finding]:
    """Findings of the form spec's ``checks`` (see :class:`~trialflow.spec.RawCheck`).

    The record is kept: the finding is the data-management query. Dates are compared as
    far as both are known (partial dates), and a record without its reference date
    (blank, or no record of the subject in the other form) is not flagged.
    """
    frame = frames[form.name]
    out = _Collector(str(path))
    order = len(form.columns)
    for check in form.checks:
        reference, named = _reference(check, form, frames, forms, study)
        mine, ref = _parse_dates(frame[check.column]), _parse_dates(reference)
        if check.years:
            ref = ref.assign(year=ref["year"] + check.years)
        if check.rule == "not_before":
            bad, word = _before(mine, ref), "before"
        else:
            bad, word = _before(ref, mine), "after"
        if not bad.any():
            continue
        shift = (f" {'plus' if check.years > 0 else 'minus'} {abs(check.years)} "
                 f"year{'s' if abs(check.years) != 1 else ''}" if check.years else "")
        why = check.why or "correct whichever date is wrong"
        messages = (f"{check.column} is {word} {named} ("
                    + reference.astype(str) + f"){shift} — {why}").to_numpy(dtype=object)
        severity: Severity = "warning" if check.severity == "warning" else "error"
        out.flag(bad, frame[check.column], order, check.column, check.rule, messages,
                 severity)
    return out.sorted()
