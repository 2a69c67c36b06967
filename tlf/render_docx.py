"""Render tables, listings and figures to Word (.docx).

Layout of every output, one section (and so one page orientation) per output:

* page header: the title block, centred — "Table 14.2.1", the title, the subtitle, the
  population — so it repeats on every page of a long listing;
* body: the table, its column-header rows marked to repeat on every page
  (``w:tblHeader``), then the footnotes and a "Source: ..." line; or, for a figure,
  the PNG scaled to the page, then footnotes and source;
* page footer: "Page X of Y", right-aligned, from ``PAGE`` and ``NUMPAGES`` fields.
  Pages are numbered through the whole file, so in a file of several outputs Y is the
  file's page count.

Speed: python-docx builds a table cell by cell through Python objects, minutes for a
long listing. Here python-docx builds only the skeleton of the document (styles,
sections, headers, footers, the table's properties and header rows); each table body
is left as a marker comment. When the package is written, the body rows are generated
as WordprocessingML text straight from the row strings and streamed into
``word/document.xml`` in place of the marker, so no per-cell objects are ever created.

Reproducibility: no wall-clock time is written. Document properties carry
``SOURCE_DATE_EPOCH`` (or a fixed date) and the zip is rewritten with fixed entry
timestamps (:mod:`tlf._package`): the same content gives byte-identical files.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

import docx
from docx.document import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section
from docx.shared import Pt, Twips
from docx.text.paragraph import Paragraph

from tlf._package import build_time, read_zip, strip_xml_illegal, write_zip
from tlf.document import Column, Figure, Listing, Output, Row, Table, TitleBlock
from trialflow.io import write_atomic

__all__ = ["PageSize", "write_docx"]

PageSize = Literal["letter", "a4"]

# Page geometry in twips (1/20 pt, 1/1440 inch), the unit of WordprocessingML.
_PAGE_TWIPS: dict[str, tuple[int, int]] = {"letter": (12240, 15840), "a4": (11906, 16838)}
_MARGIN = 1440          # 1 inch left, right and bottom
_HEADER_DISTANCE = 720  # page edge to the title block
_FOOTER_DISTANCE = 720
_INDENT_STEP = 180      # 1/8 inch per indentation level of a row
_CELL_MARGIN = 58       # about 1 mm of padding left and right in each cell
_FONT = "Times New Roman"
_FONT_HALF_POINTS = 18  # 9 pt: body, headers and footnotes
_LINE_TWIPS = 260       # height of one 9 pt line at single spacing, rounded up
_BORDER = '<w:{side} w:val="single" w:sz="6" w:space="0" w:color="000000"/>'

# Body rows are streamed into the package in blocks of this many rows: big enough that
# the per-block overhead is negligible, small enough to keep memory flat.
_ROWS_PER_CHUNK = 2000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_DOCUMENT_PART = "word/document.xml"


def _marker(i: int) -> str:
    return f"tf-rows:{i}"


@dataclass(frozen=True, slots=True)
class _Geometry:
    """One section's page in twips."""

    width: int
    height: int
    top: int

    @property
    def text_width(self) -> int:
        return self.width - 2 * _MARGIN

    @property
    def text_height(self) -> int:
        return self.height - self.top - _MARGIN


# --------------------------------------------------------------------------- text -> XML


def _text_xml(text: str, rpr: str = "") -> str:
    """Runs that print ``text``: escaped, ``\\n`` as a line break, ``\\t`` as a tab."""
    if not text.isprintable():
        # Rare: only text with line breaks, tabs or control characters comes here,
        # so the common path stays one C-level check.
        text = strip_xml_illegal(text.replace("\r\n", "\n").replace("\r", "\n"))
    parts = []
    for i, line in enumerate(text.split("\n")):
        if i:
            parts.append(f"<w:r>{rpr}<w:br/></w:r>")
        for j, piece in enumerate(line.split("\t")):
            if j:
                parts.append(f"<w:r>{rpr}<w:tab/></w:r>")
            if piece:
                parts.append(f'<w:r>{rpr}<w:t xml:space="preserve">{escape(piece)}</w:t></w:r>')
    return "".join(parts)


def _display(value: str | int | float | None) -> str:
    """What a cell prints. Numbers were meant to arrive formatted; print them plainly."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _ppr(align: str, indent: int = 0, extra: str = "") -> str:
    """Paragraph properties in schema order (keepNext, ind, jc)."""
    body = extra
    if indent:
        body += f'<w:ind w:left="{indent * _INDENT_STEP}"/>'
    if align != "left":
        body += f'<w:jc w:val="{align}"/>'
    return f"<w:pPr>{body}</w:pPr>" if body else ""


# --------------------------------------------------------------------------- tables


def _grid(columns: Sequence[Column], total: int) -> list[int]:
    """Column widths in twips, in proportion to ``Column.width``, summing to ``total``."""
    weights = [c.width for c in columns]
    scale = total / sum(weights)
    widths = [int(w * scale) for w in weights]
    widths[-1] += total - sum(widths)  # rounding remainder to the last column
    return widths


def _header_cell(text: str, width: int, span: int, align: str, border: bool) -> str:
    tcpr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if span > 1:
        tcpr += f'<w:gridSpan w:val="{span}"/>'
    if border:
        tcpr += f"<w:tcBorders>{_BORDER.format(side='bottom')}</w:tcBorders>"
    tcpr += '<w:vAlign w:val="bottom"/>'
    return f"<w:tc><w:tcPr>{tcpr}</w:tcPr><w:p>{_ppr(align)}{_text_xml(text)}</w:p></w:tc>"


def _table_skeleton(table: Table | Listing, widths: list[int], index: int) -> str:
    """The ``w:tbl`` with its properties and header rows; the body is a marker comment."""
    total = sum(widths)
    borders = _BORDER.format(side="top") + _BORDER.format(side="bottom")
    xml = [
        f"<w:tbl {nsdecls('w')}><w:tblPr>",
        f'<w:tblW w:w="{total}" w:type="dxa"/><w:jc w:val="center"/>',
        f"<w:tblBorders>{borders}</w:tblBorders>",
        '<w:tblLayout w:type="fixed"/>',
        f'<w:tblCellMar><w:left w:w="{_CELL_MARGIN}" w:type="dxa"/>'
        f'<w:right w:w="{_CELL_MARGIN}" w:type="dxa"/></w:tblCellMar>',
        '<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" '
        'w:lastColumn="0" w:noHBand="1" w:noVBand="1"/>',
        "</w:tblPr><w:tblGrid>",
        *(f'<w:gridCol w:w="{w}"/>' for w in widths),
        "</w:tblGrid>",
    ]
    header_tr = "<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"
    if table.column_groups:
        xml.append(header_tr)
        for first, span, text in table.group_spans():
            xml.append(_header_cell(text, sum(widths[first:first + span]), span, "center",
                                    border=bool(text)))
        xml.append("</w:tr>")
    xml.append(header_tr)
    for col, width in zip(table.columns, widths, strict=True):
        xml.append(_header_cell(col.header, width, 1, col.align, border=True))
    xml.append("</w:tr>")
    xml.append(f"<!--{_marker(index)}--></w:tbl>")
    return "".join(xml)


def _body_xml(table: Table | Listing) -> Iterator[bytes]:
    """The body rows of ``table`` as UTF-8 WordprocessingML, in blocks of rows.

    This is the hot loop of a long listing: per cell it does one ``isprintable`` check,
    three ``str.replace`` calls and one concatenation; everything else is precomputed.
    """
    ncol = len(table.columns)
    aligns = [c.align for c in table.columns]
    open_cell = [f"<w:tc><w:p>{_ppr(a)}" for a in aligns]
    open_run = '<w:r><w:t xml:space="preserve">'
    close_run = "</w:t></w:r>"
    close_cell = "</w:p></w:tc>"
    row_open = "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
    span = f'<w:tcPr><w:gridSpan w:val="{ncol}"/></w:tcPr>' if ncol > 1 else ""
    bold = "<w:rPr><w:b/></w:rPr>"

    def cell_xml(j: int, value: str | int | float | None, indent: int) -> str:
        text = _display(value)
        head = open_cell[j] if not (j == 0 and indent) else (
            f"<w:tc><w:p>{_ppr(aligns[0], indent)}")
        if not text:
            return head + close_cell
        if text.isprintable():
            return (head + open_run + text.replace("&", "&amp;").replace("<", "&lt;")
                    .replace(">", "&gt;") + close_run + close_cell)
        return head + _text_xml(text) + close_cell

    def row_xml(row: Row) -> str:
        if row.kind == "section":
            text = _display(row.cells[0])
            return (f"{row_open}<w:tc>{span}<w:p>"
                    f"{_ppr('left', row.indent, '<w:keepNext/>')}"
                    f"{_text_xml(text, bold)}</w:p></w:tc></w:tr>")
        return row_open + "".join(
            cell_xml(j, v, row.indent) for j, v in enumerate(row.cells)) + "</w:tr>"

    rows = table.body
    for start in range(0, len(rows), _ROWS_PER_CHUNK):
        block = rows[start:start + _ROWS_PER_CHUNK]
        yield "".join(row_xml(r) for r in block).encode("utf-8")


# --------------------------------------------------------------------------- document


def _set_geometry(section: Section, geo: _Geometry, landscape: bool) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width = Twips(geo.width)
    section.page_height = Twips(geo.height)
    section.left_margin = section.right_margin = section.bottom_margin = Twips(_MARGIN)
    section.top_margin = Twips(geo.top)
    section.header_distance = Twips(_HEADER_DISTANCE)
    section.footer_distance = Twips(_FOOTER_DISTANCE)


def _title_lines(output: Output) -> list[str]:
    t: TitleBlock = output.title
    return [output.label, t.title, *([t.subtitle] if t.subtitle else []), t.population]


def _geometry(output: Output, page_size: PageSize) -> _Geometry:
    short, long_ = _PAGE_TWIPS[page_size]
    width, height = (long_, short) if output.landscape else (short, long_)
    # The title block lives in the page header; reserve its height plus a blank line so
    # the body starts below it instead of Word pushing it down page by page.
    lines = sum(line.count("\n") + 1 for line in _title_lines(output))
    top = max(_MARGIN, _HEADER_DISTANCE + (lines + 1) * _LINE_TWIPS)
    return _Geometry(width, height, top)


def _write_title_block(section: Section, output: Output, first: bool) -> None:
    header = section.header
    if not first:
        header.is_linked_to_previous = False
    for i, line in enumerate(_title_lines(output)):
        p = header.paragraphs[0] if i == 0 else header.add_paragraph(style="Header")
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for run in parse_xml(f"<w:p {nsdecls('w')}>"
                             f"{_text_xml(line, '<w:rPr><w:b/></w:rPr>' if i == 0 else '')}"
                             "</w:p>"):
            p._p.append(run)


def _write_page_footer(section: Section) -> None:
    """'Page X of Y' with complex fields, the form Word itself writes."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    def field(instr: str) -> str:
        return (f'<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                f'<w:r><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>'
                f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                f"<w:r><w:t>1</w:t></w:r>"  # shown until the reader updates the field
                f'<w:r><w:fldChar w:fldCharType="end"/></w:r>')

    runs = (f'<w:r><w:t xml:space="preserve">Page </w:t></w:r>{field("PAGE")}'
            f'<w:r><w:t xml:space="preserve"> of </w:t></w:r>{field("NUMPAGES")}')
    for run in parse_xml(f"<w:p {nsdecls('w')}>{runs}</w:p>"):
        p._p.append(run)


def _add_text_paragraph(document: Document, text: str,
                        space_before: bool = False) -> Paragraph:
    p = document.add_paragraph()
    if space_before:
        p.paragraph_format.space_before = Pt(6)
    for run in parse_xml(f"<w:p {nsdecls('w')}>{_text_xml(text)}</w:p>"):
        p._p.append(run)
    return p


def _write_notes(document: Document, output: Output) -> None:
    """Footnotes, then the source line; always at least one paragraph after a table."""
    lines = [*output.footnotes, *([f"Source: {output.source}"] if output.source else [])]
    if not lines:
        document.add_paragraph()
    for i, line in enumerate(lines):
        _add_text_paragraph(document, line, space_before=(i == 0))


def _write_figure(document: Document, figure: Figure, geo: _Geometry) -> None:
    path = figure.image_png
    if not path.is_file():
        raise FileNotFoundError(f"{figure.label}: image {path} does not exist")
    with path.open("rb") as fh:
        if fh.read(8) != _PNG_SIGNATURE:
            raise ValueError(f"{figure.label}: image {path} is not a PNG file")
    image = Image.from_file(str(path))
    # Fit within the text area, keeping room below for the footnotes and source line.
    notes = len(figure.footnotes) + (1 if figure.source else 0)
    avail_h = geo.text_height - (notes + 2) * _LINE_TWIPS
    avail_w = geo.text_width
    aspect = image.px_height / image.px_width
    width = min(avail_w, int(avail_h / aspect))
    p = document.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run().add_picture(str(path), width=Twips(width))
    _write_notes(document, figure)


def _start_section(document: Document, first: bool) -> Section:
    if first:
        return document.sections[0]
    section = document.add_section(WD_SECTION.NEW_PAGE)
    # add_section ends the previous section with a new empty paragraph; move its section
    # properties onto the previous output's last paragraph instead, so a page that is
    # exactly full is not followed by a blank page holding only that empty paragraph.
    body = document.element.body
    break_p = body.sectPr.getprevious()
    last_p = break_p.getprevious()
    if last_p is not None and last_p.tag == break_p.tag:
        last_p.set_sectPr(break_p.pPr.sectPr)
        body.remove(break_p)
    return section


def _set_styles(document: Document) -> None:
    normal = document.styles["Normal"]
    normal.font.name = _FONT
    normal.font.size = Pt(_FONT_HALF_POINTS / 2)
    # East Asian and complex-script text must use the same font, or Word substitutes.
    rfonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), _FONT)
    fmt = normal.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0
    # The template's document defaults name theme fonts (Calibri), which take precedence
    # over plain font names; name the font there too so nothing falls back to the theme.
    for rfonts in document.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:rFonts"):
        for attr in list(rfonts.attrib):
            del rfonts.attrib[attr]
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), _FONT)


def _set_properties(document: Document, outputs: Sequence[Output]) -> None:
    when = build_time()
    props = document.core_properties
    props.author = props.last_modified_by = "trialflow"
    props.comments = ""
    props.title = "; ".join(f"{o.label} {o.title.title}" for o in outputs)[:255]
    props.revision = 1
    props.created = props.modified = when
    # The default template carries a thumbnail of an empty page: misleading, drop it.
    rels = document.part.package.rels
    for rid in [rid for rid, rel in rels.items() if rel.reltype == RT.THUMBNAIL]:
        del rels[rid]


def _outputs(doc: Output | Sequence[Output]) -> list[Output]:
    if isinstance(doc, Table | Listing | Figure):
        outputs: list[Output] = [doc]
    elif isinstance(doc, Sequence) and not isinstance(doc, str):
        outputs = list(doc)
    else:
        outputs = [doc]  # refused below with a message that names the type
    if not outputs:
        raise ValueError("nothing to render: the list of outputs is empty")
    for o in outputs:
        if not isinstance(o, Table | Listing | Figure):
            raise TypeError(f"cannot render {type(o).__name__} to docx; "
                            "expected Table, Listing or Figure")
    return outputs


def write_docx(doc: Output | Sequence[Output], path: Path,
               page_size: PageSize = "letter") -> Path:
    """Render one output, or several (one section each), to a Word file.

    Parameters
    ----------
    doc : Table, Listing, Figure, or a sequence of them
        The content; several outputs go into one file in the given order, each
        starting on a new page with its own orientation and title block.
    path : pathlib.Path
        The .docx file to write; written atomically (temporary file, then rename).
    page_size : {"letter", "a4"}, default "letter"
        Paper size; margins are 1 inch.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    outputs = _outputs(doc)
    if page_size not in _PAGE_TWIPS:
        raise ValueError(f"page_size must be one of {sorted(_PAGE_TWIPS)}, got {page_size!r}")
    document = docx.Document()
    _set_styles(document)
    _set_properties(document, outputs)
    bodies: dict[str, Table | Listing] = {}
    for i, output in enumerate(outputs):
        section = _start_section(document, first=(i == 0))
        geo = _geometry(output, page_size)
        _set_geometry(section, geo, output.landscape)
        _write_title_block(section, output, first=(i == 0))
        if i == 0:
            _write_page_footer(section)
        if isinstance(output, Figure):
            _write_figure(document, output, geo)
        else:
            widths = _grid(output.columns, geo.text_width)
            document.element.body.sectPr.addprevious(
                parse_xml(_table_skeleton(output, widths, i)))
            bodies[_marker(i)] = output
            _write_notes(document, output)

    buffer = io.BytesIO()
    document.save(buffer)
    members = read_zip(buffer.getvalue())

    def package() -> Iterator[tuple[str, Iterator[bytes]]]:
        for name, data in members:
            yield name, (_splice_bodies(data, bodies) if name == _DOCUMENT_PART
                         else iter((data,)))

    when = build_time()
    return write_atomic(Path(path), lambda tmp: write_zip(tmp, package(), when))


def _splice_bodies(document_xml: bytes, bodies: dict[str, Table | Listing]) -> Iterator[bytes]:
    """``document.xml`` with each body marker replaced by that table's streamed rows."""
    pattern = re.compile(rb"<!--(tf-rows:\d+)-->")
    found = pattern.findall(document_xml)
    if sorted(m.decode() for m in found) != sorted(bodies):
        raise RuntimeError(f"table body markers in {_DOCUMENT_PART} do not match the tables: "
                           f"found {found}, expected {sorted(bodies)}")
    pos = 0
    for m in pattern.finditer(document_xml):
        yield document_xml[pos:m.start()]
        yield from _body_xml(bodies[m.group(1).decode()])
        pos = m.end()
    yield document_xml[pos:]
