"""Report workbooks a reviewer can work with: a title, bold named headers, a frozen
header row, filters, column widths from the content and printing fitted to the page
width — for every XLSX report of trialflow (validation, compare, reproduction).

Text stays text and numbers stay numbers (:mod:`trialflow.safetext` does the former);
nothing here changes a value. :func:`finish_sheet` works on an openpyxl worksheet that
pandas or openpyxl has filled, header in row 1; :func:`write_frame_xlsx` writes a whole
one-sheet report, reproducibly (fixed document and zip entry times).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from trialflow.io import source_date_epoch, write_atomic
from trialflow.safetext import force_text_cells, xlsx_safe_frame, xlsx_text

__all__ = ["finish_sheet", "write_frame_xlsx"]

#: The widest a column gets, in characters.
_MAX_WIDTH = 80


def finish_sheet(ws: Any, title: str | None = None, notes: Sequence[str] = ()) -> None:
    """Make a filled sheet (header in row 1, data below) a report.

    Parameters
    ----------
    ws : openpyxl.worksheet.worksheet.Worksheet
    title : str, optional
        Printed bold above the header (two rows are inserted: the title and a blank).
    notes : sequence of str
        Lines written below the data, after a blank row.
    """
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    bold = Font(name="Calibri", sz=11, family=2, scheme="minor", bold=True)
    ncol, nrow = ws.max_column, ws.max_row
    widths = [max((len(str(c.value)) for c in col[:500] if c.value is not None), default=0)
              for col in ws.iter_cols(min_row=1, max_row=nrow)]
    for cell in ws[1]:
        cell.font = bold
    header = 1
    if title:
        ws.insert_rows(1, 2)
        ws.cell(1, 1, xlsx_text(title)).data_type = "s"
        ws.cell(1, 1).font = bold
        header = 3
    last = header + nrow - 1
    for k, note in enumerate(notes):
        cell = ws.cell(last + 2 + k, 1, xlsx_text(note))
        cell.data_type = "s"
    ws.freeze_panes = f"A{header + 1}"
    if nrow > 1:
        ws.auto_filter.ref = f"A{header}:{get_column_letter(ncol)}{last}"
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(_MAX_WIDTH, width + 2)
    ws.print_title_rows = f"{header}:{header}"
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def write_frame_xlsx(frame: pd.DataFrame, path: Path, sheet: str, title: str,
                     notes: Sequence[str] = ()) -> Path:
    """Write ``frame`` as a one-sheet report (:func:`finish_sheet`), atomically, with the
    build time (``SOURCE_DATE_EPOCH``, else 1980-01-01) in its properties and zip entries."""
    safe = xlsx_safe_frame(frame)
    when = dt.datetime.fromtimestamp(source_date_epoch(315_532_800), tz=dt.UTC
                                     ).replace(tzinfo=None)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as xl:
        safe.to_excel(xl, sheet_name=sheet, index=False)
        book = xl.book
        force_text_cells(book.worksheets)
        finish_sheet(book[sheet], title, notes)
        book.properties.creator = book.properties.lastModifiedBy = "trialflow"
        book.properties.title = title
        book.properties.created = book.properties.modified = when
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, \
                zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename == "docProps/core.xml":
                    data = _fixed_modified(data, when)
                fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
                fixed.compress_type = zipfile.ZIP_DEFLATED
                fixed.external_attr = 0o644 << 16
                fixed.create_system = 3
                dst.writestr(fixed, data)

    return write_atomic(Path(path), write)


def _fixed_modified(core: bytes, when: dt.datetime) -> bytes:
    """openpyxl stamps the wall clock into "modified" when it saves: put the build time."""
    import re

    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                  lambda m: m.group(1) + stamp + m.group(2), core)
