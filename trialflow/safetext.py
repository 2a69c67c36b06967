"""Text that is safe to show: on a terminal, in a CSV report, in a spreadsheet cell.

Every report trialflow writes may hold values it did not make: a site's free text, a
dataset name in a third-party XPT file, a key of a QC dataset. Three things can go wrong
with such a value once it leaves trialflow:

* **formula injection** (CWE-1236): a spreadsheet opening a CSV file, or an XLSX cell
  stored as a formula, evaluates text that begins with ``=``, ``+``, ``-`` or ``@`` (and
  a leading tab or carriage return hides such a start). Following OWASP, a CSV text cell
  that begins with one of them is written with a leading apostrophe, which spreadsheets
  read as "this is text"; an XLSX text cell is stored as a string cell (type ``s``),
  never as a formula or an error code. A value that is a plain number (``-0.5``,
  ``+3``, ``1e-9``) cannot be a formula and is left alone, and numbers held as numbers
  are never touched;
* **terminal escapes**: an ESC byte in a value printed to a terminal can recolour, move
  the cursor or retitle the window; a carriage return can overwrite what came before;
  a right-to-left override can make text read backwards. Control characters (C0, DEL,
  C1) and the Unicode bidirectional controls are escaped as ``\\xNN`` / ``\\uNNNN``
  (``\\t``, ``\\n``, ``\\r`` for the common ones) in console and CSV output;
* **unstorable characters**: an XLSX cell cannot hold most C0 control characters
  (openpyxl refuses them with an exception); they are escaped the same way there.

Datasets (XPT, Dataset-JSON) and the raw extracts are data, not reports: they are
written as they are, and these rules are not applied to them.

Examples
--------
>>> csv_cell("=1+1"), csv_cell("-0.5"), csv_cell("ok")
("'=1+1", '-0.5', 'ok')
>>> console_text("a\\x1b[31mb")
'a\\\\x1b[31mb'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_START", "console_text", "csv_cell", "csv_safe_frame", "escape_controls",
           "force_text_cells", "has_controls", "is_formula_like", "stored_as_non_text",
           "xlsx_safe_frame", "xlsx_text", "xlsx_text_cell"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_CONTROL_CLASS = "\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: Control characters (C0, DEL, C1) and the Unicode bidirectional controls.
CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
# What an XLSX cell cannot hold (XML 1.0), plus DEL, C1 and the bidi controls; tab, line
# feed and carriage return are text there (a multi-line cell).
_XLSX_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e"
                          "\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\n``).

    Examples
    --------
    >>> escape_controls("A\\x00B\\u202eC\\n")
    'A\\\\x00B\\\\u202eC\\\\n'
    """
    return CONTROL.sub(_escape, text)


def console_text(value: object) -> str:
    """``value`` as text fit for a terminal line: control characters escaped."""
    return escape_controls(str(value))


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (see the module doc).

    Examples
    --------
    >>> [is_formula_like(t) for t in ("=SUM(A1)", "@x", "-1", "-1+1", "\\tx", "a=b")]
    [True, True, False, True, True, False]
    """
    return text[:1] in FORMULA_START and text != "" and not _PLAIN_NUMBER.fullmatch(text)


def csv_cell(text: str) -> str:
    """One CSV text cell made safe: control characters escaped, a formula-like start
    behind an apostrophe."""
    safe = escape_controls(text)
    return "'" + safe if is_formula_like(text) else safe


def xlsx_text(text: str) -> str:
    """Text an XLSX cell can hold: the characters it cannot (and terminal controls)
    escaped; tab and line breaks kept."""
    return _XLSX_UNSAFE.sub(_escape, text)


def has_controls(values: pd.Series) -> np.ndarray:
    """Boolean mask: which values hold a control character (worked out per distinct value).

    Parameters
    ----------
    values : pandas.Series
        Text (other values are never flagged).

    Returns
    -------
    numpy.ndarray of bool
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    flags = np.fromiter((isinstance(u, str) and CONTROL.search(u) is not None
                         for u in uniques), dtype=bool, count=len(uniques))
    return flags[codes] if len(codes) else np.zeros(0, dtype=bool)


def _map_text(values: pd.Series, fix: Callable[[str], str]) -> pd.Series:
    """``fix`` applied once per distinct str value of ``values``; other values kept."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    fixed = np.empty(len(uniques), dtype=object)
    changed = False
    for i, u in enumerate(uniques):
        new = fix(u) if isinstance(u, str) else u
        changed |= new is not u and new != u
        fixed[i] = new
    if not changed:
        return values
    return pd.Series(fixed[codes], index=values.index, name=values.name, dtype=object)


def _safe_frame(frame: pd.DataFrame, fix: Callable[[str], str]) -> pd.DataFrame:
    text_columns = [c for c in frame.columns
                    if not (pd.api.types.is_numeric_dtype(frame[c])
                            or pd.api.types.is_datetime64_any_dtype(frame[c]))]
    out = frame
    for c in text_columns:
        fixed = _map_text(frame[c], fix)
        if fixed is not frame[c]:
            if out is frame:
                out = frame.copy(deep=False)
            out[c] = fixed
    names = [fix(c) if isinstance(c, str) else c for c in frame.columns]
    if names != list(frame.columns):
        out = out.set_axis(names, axis=1) if out is not frame else frame.set_axis(names, axis=1)
    return out


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` ready for a CSV report: every text cell (and column name) through
    :func:`csv_cell`. Numeric and date columns are kept as they are; the input is not
    changed (a shallow copy is returned when anything changes).

    Examples
    --------
    >>> f = pd.DataFrame({"v": ["=HYPERLINK(1)", "x"], "n": [-1.5, 2.0]})
    >>> csv_safe_frame(f).to_dict("list")
    {'v': ["'=HYPERLINK(1)", 'x'], 'n': [-1.5, 2.0]}
    """
    return _safe_frame(frame, csv_cell)


def xlsx_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` ready for a spreadsheet writer: text cells and column names through
    :func:`xlsx_text`. Pair it with :func:`force_text_cells` on the written workbook."""
    return _safe_frame(frame, xlsx_text)


def force_text_cells(sheets: Iterable[Any]) -> int:
    """Make every text cell of ``sheets`` (openpyxl worksheets) a string cell.

    openpyxl stores text that begins with ``=`` as a formula and ``#N/A`` as an error
    code; no report of trialflow holds a formula, so such a cell is turned back into the
    text it was. Returns how many cells were changed.
    """
    changed = 0
    for sheet in sheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type in ("f", "e") and isinstance(cell.value, str):
                    cell.data_type = "s"
                    changed += 1
    return changed


def stored_as_non_text(text: str) -> bool:
    """Whether openpyxl, given ``text`` as a bare value, would store it as something other
    than a string cell (a formula for ``=...``, an error code for ``#N/A``...): such text
    must be written as a cell typed ``s``.

    Examples
    --------
    >>> stored_as_non_text("=1+1"), stored_as_non_text("#N/A"), stored_as_non_text("+1")
    (True, True, False)
    """
    from openpyxl.cell.cell import ERROR_CODES

    return (len(text) > 1 and text[0] == "=") or text in ERROR_CODES


def xlsx_text_cell(ws: Any, value: object) -> Any:
    """What to append to a write-only openpyxl sheet for ``value``: a string cell for
    text (never a formula or error code), the value itself otherwise."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=xlsx_text(value))
    cell.data_type = "s"
    return cell
