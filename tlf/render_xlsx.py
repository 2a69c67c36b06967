"""Render tables and listings to Excel (.xlsx), one worksheet per output.

Layout of each sheet, top to bottom: the title block ("Table 14.2.1" in bold, title,
subtitle, population), a blank row, the spanning-header row (merged cells) if the output
has column groups, the column-header row, the body, a blank row, the footnotes and a
"Source: ..." line. Everything above the body is frozen, so the headers stay in view
while scrolling, and repeats on every printed page.

Cell values are written as given: display strings stay text — also ones that look like
formulas ("=...") or error codes ("#N/A"), which Excel would otherwise interpret — and
``int``/``float`` values stay numbers. Figures have no spreadsheet form; render them
with :func:`tlf.render_docx.write_docx`.

Reproducibility: as for Word (:mod:`tlf._package`) — fixed document times from
``SOURCE_DATE_EPOCH`` or a fixed date, fixed zip entry times, byte-identical output.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.packaging.core import DocumentProperties
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.xml.functions import tostring

from tlf._package import build_time, read_zip, strip_xml_illegal, write_zip
from tlf.document import CellValue, Listing, Table
from trialflow.io import write_atomic

__all__ = ["write_xlsx"]

# Total width of the columns in Excel width units (about one digit each), matching the
# printable width of a page: 6.5 inches portrait, 9 inches landscape.
_TOTAL_WIDTH = {False: 90.0, True: 125.0}
_INDENT_PER_LEVEL = 2  # Excel indent steps (about a character each) per row level

_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})

_CORE_PART = "docProps/core.xml"

_THIN = Side(style="thin")
_BOLD = Font(bold=True)


def _sheet_name(label: str, taken: set[str]) -> str:
    """A valid, unique sheet name from an output label such as ``"Table 14.2.1"``."""
    base = label.translate(_SHEET_NAME_BAD).strip("'")[:_SHEET_NAME_MAX] or "Output"
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[:_SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


def _text_cell(ws: WriteOnlyWorksheet, text: str, **style: object) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=strip_xml_illegal(text))
    # Always text: openpyxl would turn "=..." into a formula and "#N/A" into an error.
    cell.data_type = "s"
    for name, value in style.items():
        setattr(cell, name, value)
    return cell


def _value_cell(ws: WriteOnlyWorksheet, value: CellValue,
                alignment: Alignment | None) -> WriteOnlyCell | str | int | float | None:
    """What to append for one body value: the bare value where openpyxl keeps it as is."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if "\n" in value:
            base = alignment or Alignment()
            alignment = Alignment(horizontal=base.horizontal, indent=base.indent,
                                  vertical="top", wrap_text=True)
        if alignment is not None:
            return _text_cell(ws, value, alignment=alignment)
        text = strip_xml_illegal(value)
        # A bare string is cheapest, unless openpyxl would read it as a formula or an
        # error code; then it needs a cell forced to text.
        return _text_cell(ws, text) if text[:1] == "=" or text in ERROR_CODES else text
    if alignment is None:
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell.alignment = alignment
    return cell


def _write_sheet(ws: WriteOnlyWorksheet, output: Table | Listing) -> None:
    columns = output.columns
    ncol = len(columns)
    scale = _TOTAL_WIDTH[output.landscape] / sum(c.width for c in columns)
    # Write-only sheets take column and page settings before the first row.
    for j, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = round(col.width * scale, 2)
    ws.page_setup.orientation = "landscape" if output.landscape else "portrait"
    ws.oddFooter.right.text = "Page &P of &N"
    t = output.title
    # Title lines, a blank row, the spanning-header row if any, the column headers.
    header_rows = (3 + bool(t.subtitle)) + 1 + bool(output.column_groups) + 1
    ws.freeze_panes = f"A{header_rows + 1}"
    ws.print_title_rows = f"1:{header_rows}"

    rows_written = 0

    def append(row: Sequence[object]) -> None:
        nonlocal rows_written
        ws.append(row)
        rows_written += 1

    append([_text_cell(ws, output.label, font=_BOLD)])
    append([_text_cell(ws, t.title)])
    if t.subtitle:
        append([_text_cell(ws, t.subtitle)])
    append([_text_cell(ws, t.population)])
    append([])
    top = Border(top=_THIN, bottom=_THIN)
    bottom = Border(bottom=_THIN)
    if output.column_groups:
        cells: list[WriteOnlyCell | None] = [None] * ncol
        row_no = rows_written + 1
        for first, span, text in output.group_spans():
            cells[first] = _text_cell(ws, text, alignment=Alignment(horizontal="center"),
                                      border=bottom if text else Border())
            if span > 1:
                ws.merged_cells.add(f"{get_column_letter(first + 1)}{row_no}:"
                                    f"{get_column_letter(first + span)}{row_no}")
        append(cells)
    append([_text_cell(ws, c.header, border=top if not output.column_groups else bottom,
                       alignment=Alignment(horizontal=c.align, vertical="bottom",
                                           wrap_text=True))
            for c in columns])
    if rows_written != header_rows:  # the freeze above must match what was written
        raise AssertionError(f"wrote {rows_written} header rows, froze {header_rows}")

    # One Alignment object per column and indent level, shared by every cell using it.
    aligned: dict[tuple[int, int], Alignment | None] = {}

    def alignment(j: int, indent: int) -> Alignment | None:
        key = (j, indent if j == 0 else 0)
        if key not in aligned:
            horizontal = columns[j].align
            aligned[key] = (None if horizontal == "left" and key[1] == 0 else
                            Alignment(horizontal=horizontal,
                                      indent=key[1] * _INDENT_PER_LEVEL))
        return aligned[key]

    for row in output.body:
        if row.kind == "section":
            text = row.cells[0]
            append([_text_cell(ws, "" if text is None else str(text), font=_BOLD,
                               alignment=Alignment(indent=row.indent * _INDENT_PER_LEVEL))])
        else:
            append([_value_cell(ws, v, alignment(j, row.indent))
                    for j, v in enumerate(row.cells)])
    append([])
    for note in output.footnotes:
        append([_text_cell(ws, note)])
    if output.source:
        append([_text_cell(ws, f"Source: {output.source}")])


def _outputs(doc: Table | Listing | Sequence[Table | Listing]) -> list[Table | Listing]:
    if isinstance(doc, Table | Listing):
        outputs = [doc]
    elif isinstance(doc, Sequence) and not isinstance(doc, str):
        outputs = list(doc)
    else:
        outputs = [doc]  # refused below with a message that says what to do
    if not outputs:
        raise ValueError("nothing to render: the list of outputs is empty")
    for o in outputs:
        if not isinstance(o, Table | Listing):
            raise TypeError(f"cannot render {type(o).__name__} to xlsx; expected Table or "
                            "Listing (render figures with write_docx)")
    return outputs


def write_xlsx(doc: Table | Listing | Sequence[Table | Listing], path: Path) -> Path:
    """Render one output, or several (one sheet each), to an Excel workbook.

    Parameters
    ----------
    doc : Table, Listing, or a sequence of them
        The content; each output becomes a sheet named after its label
        ("Table 14.2.1"), made valid and unique for Excel.
    path : pathlib.Path
        The .xlsx file to write; written atomically (temporary file, then rename).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    outputs = _outputs(doc)
    # Write-only mode streams rows to disk instead of holding a cell object per value.
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    for output in outputs:
        _write_sheet(wb.create_sheet(_sheet_name(output.label, taken)), output)
    buffer = io.BytesIO()
    wb.save(buffer)

    when = build_time()
    # openpyxl stamps "modified" with the wall clock when saving; replace its core
    # properties with ones that carry the build time only.
    core = DocumentProperties(
        creator="trialflow", lastModifiedBy="trialflow", created=when, modified=when,
        title="; ".join(f"{o.label} {o.title.title}" for o in outputs)[:255])
    core_xml = tostring(core.to_tree())
    members = read_zip(buffer.getvalue())

    def package() -> Iterator[tuple[str, Iterator[bytes]]]:
        for name, data in members:
            yield name, iter((core_xml if name == _CORE_PART else data,))

    return write_atomic(Path(path), lambda tmp: write_zip(tmp, package(), when))
