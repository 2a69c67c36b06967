"""Render tables and listings to Excel (.xlsx), one worksheet per output.

Layout of each sheet, top to bottom: the title block ("Table 14.2.1" in bold, title,
subtitle, population), a blank row, the spanning-header row (merged cells) if the output
has column groups, the column-header row, the body, a blank row, the footnotes and a
"Source: ..." line. Everything above the body is frozen, so the headers stay in view
while scrolling, and repeats on every printed page.

The workbook is data, not a picture of a page: a body cell whose display string is a
plain number ("108", "0.022", "57.0") is stored as that number with the number format
that prints it the same way ("0", "0.000", "0.0"), so it can be summed and sorted;
``int``/``float`` values stay numbers; every other string stays text — also ones that
look like formulas ("=...") or error codes ("#N/A"), which Excel would otherwise
interpret (:mod:`trialflow.safetext`). Nothing is computed: the number is the one the
string shows. Listings get a filter on their column headers; columns are as wide as
their content (up to 60 characters); printing fits the width of one page, landscape or
portrait as the output. Every font is named (bold included), so no cell falls back to
another typeface. Figures have no spreadsheet form; render them with
:func:`tlf.render_docx.write_docx`.

Reproducibility: as for Word (:mod:`tlf._package`) — fixed document times from
``SOURCE_DATE_EPOCH`` or a fixed date, fixed zip entry times, byte-identical output.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterator, Sequence
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.packaging.core import DocumentProperties
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.xml.functions import tostring

from tlf._package import build_time, read_zip, strip_xml_illegal, write_zip
from tlf.document import CellValue, Listing, Table
from tlf.page import cell_text
from trialflow.io import write_atomic
from trialflow.safetext import stored_as_non_text

__all__ = ["write_xlsx"]

# Total width of the columns in Excel width units (about one digit each), matching the
# printable width of a page: 6.5 inches portrait, 9 inches landscape.
_TOTAL_WIDTH = {False: 90.0, True: 125.0}
_INDENT_PER_LEVEL = 2  # Excel indent steps (about a character each) per row level

_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})

_CORE_PART = "docProps/core.xml"

_THIN = Side(style="thin")
# The workbook's own default font, named, so that bold text keeps the same typeface.
_FONT = Font(name="Calibri", sz=11, family=2, scheme="minor")
_BOLD = Font(name="Calibri", sz=11, family=2, scheme="minor", bold=True)
#: The widest a column gets, in characters.
_MAX_WIDTH = 60

#: A display string that is a plain number: no leading zero (an identifier such as
#: "0117" stays text), at most 15 significant digits (what a double holds exactly).
_NUMBER = re.compile(r"-?(?:0|[1-9]\d{0,14})(?:\.(\d{1,10}))?")
#: Number formats by decimals, one object each (style lookups go by identity).
_FORMATS: dict[int, str] = {d: "0" if d == 0 else "0." + "0" * d for d in range(11)}


def as_number(text: str) -> tuple[int | float, str] | None:
    """``text`` as the number it shows and the format that shows it the same way, or
    None when it is not a plain number.

    Examples
    --------
    >>> as_number("108"), as_number("0.022"), as_number("57.0"), as_number("0117")
    ((108, '0'), (0.022, '0.000'), (57.0, '0.0'), None)
    >>> as_number("17 (18.9)"), as_number("<0.001"), as_number("-1.50")
    (None, None, (-1.5, '0.00'))
    """
    m = _NUMBER.fullmatch(text)
    if m is None:
        return None
    decimals = m.group(1)
    if decimals is None:
        return int(text), _FORMATS[0]
    return float(text), _FORMATS[len(decimals)]


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


class _Styles:
    """The style of each combination of style objects, worked out once per sheet.

    Giving a cell a font, alignment or border makes openpyxl hash the style object and
    look it up in the workbook's style lists, for every cell: most of the time of a
    long listing. The body shares a few style objects, so the first cell given a
    combination registers it as before (same style lists, same order, same file) and
    later cells copy its style record. Keys are the objects' ids; the objects are kept
    here, so the ids stay theirs.
    """

    def __init__(self) -> None:
        self._done: dict[tuple[tuple[str, int], ...], tuple[object, tuple[object, ...]]] = {}
        self._wrapped: dict[int, tuple[Alignment, Alignment | None]] = {}

    def apply(self, cell: WriteOnlyCell, style: dict[str, object]) -> None:
        key = tuple((name, id(value)) for name, value in style.items())
        hit = self._done.get(key)
        if hit is not None:
            cell._style = copy(hit[0])
            return
        for name, value in style.items():
            setattr(cell, name, value)
        self._done[key] = (copy(cell._style), tuple(style.values()))

    def style_id(self, ws: WriteOnlyWorksheet, style: dict[str, object]) -> int | None:
        """The workbook style index a cell with ``style`` is written with (registered
        now, as openpyxl registers it when it writes the cell); None for no style."""
        key = (("#id",), *((name, id(value)) for name, value in style.items()))
        hit = self._done.get(key)
        if hit is None:
            cell = WriteOnlyCell(ws)
            self.apply(cell, style)
            index = ws.parent._cell_styles.add(cell._style) if cell.has_style else None
            hit = (index, tuple(style.values()))
            self._done[key] = hit
        return hit[0]

    def wrapped(self, alignment: Alignment | None) -> Alignment:
        """``alignment`` (left when None) at the top of a cell with wrapped lines; one
        object per alignment, so that the cells sharing it share their style."""
        hit = self._wrapped.get(id(alignment))
        if hit is None:
            base = alignment or Alignment()
            hit = (Alignment(horizontal=base.horizontal, indent=base.indent,
                             vertical="top", wrap_text=True), alignment)
            self._wrapped[id(alignment)] = hit
        return hit[0]


def _text_cell(ws: WriteOnlyWorksheet, text: str, styles: _Styles | None = None,
               **style: object) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=strip_xml_illegal(text))
    # Always text: openpyxl would turn "=..." into a formula and "#N/A" into an error.
    cell.data_type = "s"
    if styles is not None and style:
        styles.apply(cell, style)
    else:
        for name, value in style.items():
            setattr(cell, name, value)
    return cell


def _value_cell(ws: WriteOnlyWorksheet, value: CellValue, alignment: Alignment | None,
                styles: _Styles) -> WriteOnlyCell | str | int | float | None:
    """What to append for one body value: the bare value where openpyxl keeps it as is."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        number = as_number(value)
        if number is not None:
            cell = WriteOnlyCell(ws, value=number[0])
            style: dict[str, object] = {"number_format": number[1]}
            if alignment is not None:
                style["alignment"] = alignment
            styles.apply(cell, style)
            return cell
        if "\n" in value:
            alignment = styles.wrapped(alignment)
        if alignment is not None:
            return _text_cell(ws, value, styles, alignment=alignment)
        text = strip_xml_illegal(value)
        # A bare string is cheapest, unless openpyxl would read it as a formula or an
        # error code; then it needs a cell forced to text.
        return _text_cell(ws, text) if stored_as_non_text(text) else text
    if alignment is None:
        return value
    cell = WriteOnlyCell(ws, value=value)
    styles.apply(cell, {"alignment": alignment})
    return cell


# The longest text a cell holds (openpyxl cuts values there, as Excel does).
_CELL_TEXT_MAX = 32767


def _xml_text(text: str) -> str:
    """Text content escaped as lxml writes it."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def _cell_xml(ref: str, value: str | int | float, style: int | None) -> str:
    """One ``<c>`` element, byte for byte as openpyxl's write-only writer makes it."""
    s = "" if style is None else f' s="{style}"'
    if isinstance(value, str):
        text = strip_xml_illegal(value)[:_CELL_TEXT_MAX]
        if text == "":
            return f'<c r="{ref}"{s} t="inlineStr"></c>'
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>'
    number = "" if math.isnan(value) or math.isinf(value) else f"{value:.16g}"
    return f'<c r="{ref}"{s} t="n"><v>{number}</v></c>'


def _plain_body(output: Table | Listing) -> bool:
    """Whether every body value is text, a number or empty: what :func:`_body_xml`
    writes itself (anything else goes through openpyxl)."""
    return all(v is None or (type(v) in (str, int, float))
               for row in output.body for v in row.cells)


def _body_xml(ws: WriteOnlyWorksheet, output: Table | Listing, first: int,
              alignment: Callable[[int, int], Alignment | None], styles: _Styles,
              sections: dict[int, Alignment]) -> str:
    """The body rows' sheet XML, from row number ``first``.

    openpyxl builds a cell object and an XML element per value: most of the time of a
    long listing. Written here as text instead, with the same bytes: the same elements
    and attributes, the same escaping, the same style indices registered in the same
    order as openpyxl would register them.
    """
    letters = [get_column_letter(j + 1) for j in range(max(
        (len(r.cells) for r in output.body), default=0))]
    # The style index of each kind of cell (column, indent, wrapped lines), looked up
    # the first time a cell of that kind is written, so registered in the same order.
    kinds: dict[tuple[int, int, bool], int | None] = {}

    def style_of(j: int, indent: int, wrapped: bool) -> int | None:
        key = (j, indent, wrapped)
        if key not in kinds:
            align = alignment(j, indent)
            if wrapped:
                align = styles.wrapped(align)
            kinds[key] = None if align is None else styles.style_id(
                ws, {"alignment": align})
        return kinds[key]

    numbers: dict[tuple[int, int, str], int | None] = {}

    def number_style(j: int, indent: int, fmt: str) -> int | None:
        key = (j, indent, fmt)
        if key not in numbers:
            align = alignment(j, indent)
            style: dict[str, object] = {"number_format": fmt}
            if align is not None:
                style["alignment"] = align
            numbers[key] = styles.style_id(ws, style)
        return numbers[key]

    parts: list[str] = []
    for i, row in enumerate(output.body):
        r = first + i
        parts.append(f'<row r="{r}">')
        if row.kind == "section":
            text = row.cells[0]
            indent = sections.setdefault(
                row.indent, Alignment(indent=row.indent * _INDENT_PER_LEVEL))
            style = styles.style_id(ws, {"font": _BOLD, "alignment": indent})
            parts.append(_cell_xml(f"A{r}", cell_text(text), style))
        else:
            for j, v in enumerate(row.cells):
                if v is None or v == "":
                    continue
                number = as_number(v) if isinstance(v, str) else None
                if number is not None:
                    style = number_style(j, row.indent, number[1])
                    parts.append(_cell_xml(f"{letters[j]}{r}", number[0], style))
                    continue
                style = style_of(j, row.indent, isinstance(v, str) and "\n" in v)
                parts.append(_cell_xml(f"{letters[j]}{r}", v, style))
        parts.append("</row>")
    return "".join(parts)


def _column_width(output: Table | Listing, j: int, share: float) -> float:
    """A column's width in characters: its longest line of text (header included), at
    least its share of the page, at most :data:`_MAX_WIDTH`."""
    texts = {c if isinstance(c, str) else ("" if c is None else str(c))
             for c in (r.cells[j] for r in output.body if r.kind == "data")}
    texts.add(output.columns[j].header)
    longest = max((len(line) for t in texts for line in t.split("\n")), default=0)
    if j == 0:
        longest += _INDENT_PER_LEVEL * max((r.indent for r in output.body), default=0)
    return round(min(float(_MAX_WIDTH), max(share, longest + 2.0)), 2)


def _write_sheet(ws: WriteOnlyWorksheet, output: Table | Listing,
                 page_size: str = "letter") -> tuple[str, str] | None:
    """Write one sheet; the body comes back as (placeholder rows, body XML) to be put in
    the saved sheet in place of the placeholder (None when openpyxl wrote it)."""
    columns = output.columns
    ncol = len(columns)
    scale = _TOTAL_WIDTH[output.landscape] / sum(c.width for c in columns)
    # Write-only sheets take column and page settings before the first row.
    for j, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = _column_width(
            output, j - 1, col.width * scale)
    ws.page_setup.orientation = "landscape" if output.landscape else "portrait"
    ws.page_setup.paperSize = "9" if page_size == "a4" else "1"  # ECMA-376 paper codes
    # Print as wide as one page, as long as it takes.
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.oddFooter.right.text = "Page &P of &N"
    t = output.title
    # Title lines, a blank row, the spanning-header row if any, the column headers.
    header_rows = (3 + bool(t.subtitle)) + 1 + bool(output.column_groups) + 1
    ws.freeze_panes = f"A{header_rows + 1}"
    ws.print_title_rows = f"1:{header_rows}"
    if isinstance(output, Listing) and output.body:
        ws.auto_filter.ref = (f"A{header_rows}:{get_column_letter(ncol)}"
                              f"{header_rows + len(output.body)}")

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
    styles = _Styles()
    # Section rows: one Alignment per indent level, for the same reason.
    sections: dict[int, Alignment] = {}

    def alignment(j: int, indent: int) -> Alignment | None:
        key = (j, indent if j == 0 else 0)
        if key not in aligned:
            horizontal = columns[j].align
            aligned[key] = (None if horizontal == "left" and key[1] == 0 else
                            Alignment(horizontal=horizontal,
                                      indent=key[1] * _INDENT_PER_LEVEL))
        return aligned[key]

    spliced = None
    if output.body and _plain_body(output):
        # Empty rows keep the body's row numbers; their XML is replaced by the body's
        # once the workbook is saved.
        first = rows_written + 1
        spliced = ("".join(f'<row r="{first + i}"></row>' for i in range(len(output.body))),
                   _body_xml(ws, output, first, alignment, styles, sections))
        for _ in output.body:
            append([])
    for row in output.body if spliced is None else ():
        if row.kind == "section":
            text = row.cells[0]
            indent = sections.setdefault(
                row.indent, Alignment(indent=row.indent * _INDENT_PER_LEVEL))
            append([_text_cell(ws, "" if text is None else str(text), styles, font=_BOLD,
                               alignment=indent)])
        else:
            append([_value_cell(ws, v, alignment(j, row.indent), styles)
                    for j, v in enumerate(row.cells)])
    append([])
    for note in output.footnotes:
        append([_text_cell(ws, note)])
    if output.source:
        append([_text_cell(ws, f"Source: {output.source}")])
    return spliced


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


def _splice(sheet: bytes, body: tuple[str, str]) -> bytes:
    """The saved sheet with its placeholder rows replaced by the body's XML."""
    # openpyxl's sheet writer writes ASCII, other characters as decimal references.
    placeholder, xml = (part.encode("ascii", "xmlcharrefreplace") for part in body)
    if sheet.count(placeholder) != 1:
        raise AssertionError("the sheet's placeholder rows are not where they were written")
    return sheet.replace(placeholder, xml)


def write_xlsx(doc: Table | Listing | Sequence[Table | Listing], path: Path,
               page_size: str = "letter") -> Path:
    """Render one output, or several (one sheet each), to an Excel workbook.

    Parameters
    ----------
    doc : Table, Listing, or a sequence of them
        The content; each output becomes a sheet named after its label
        ("Table 14.2.1"), made valid and unique for Excel.
    path : pathlib.Path
        The .xlsx file to write; written atomically (temporary file, then rename).
    page_size : {"letter", "a4"}, default "letter"
        The paper it prints on.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    outputs = _outputs(doc)
    # Write-only mode streams rows to disk instead of holding a cell object per value.
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    spliced: list[tuple[WriteOnlyWorksheet, tuple[str, str]]] = []
    for output in outputs:
        ws = wb.create_sheet(_sheet_name(output.label, taken))
        body = _write_sheet(ws, output, page_size)
        if body is not None:
            spliced.append((ws, body))
    buffer = io.BytesIO()
    wb.save(buffer)

    when = build_time()
    # openpyxl stamps "modified" with the wall clock when saving; replace its core
    # properties with ones that carry the build time only.
    core = DocumentProperties(
        creator="trialflow", lastModifiedBy="trialflow", created=when, modified=when,
        title="; ".join(f"{o.label} {o.title.title}" for o in outputs)[:255])
    core_xml = tostring(core.to_tree())
    # A sheet's part name is known once the workbook is saved.
    bodies = {ws.path.lstrip("/"): body for ws, body in spliced}
    members = [(name, _splice(data, bodies[name]) if name in bodies else data)
               for name, data in read_zip(buffer.getvalue())]

    def package() -> Iterator[tuple[str, Iterator[bytes]]]:
        for name, data in members:
            yield name, iter((core_xml if name == _CORE_PART else data,))

    return write_atomic(Path(path), lambda tmp: write_zip(tmp, package(), when))
