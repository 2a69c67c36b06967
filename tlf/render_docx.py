"""Render tables, listings and figures to Word (.docx).

Layout of every output, one section (and so one page orientation) per output, on the
study's page (:class:`tlf.page.PageStyle`: paper, margins, font, header and footer lines
from study.yaml):

* page header: the study's header lines (protocol, data cut-off, DRAFT/FINAL, "Page x of
  y" by default), then the title block, centred — "Table 14.2.1", the title, the
  subtitle, the population. The first page of an output has its own header
  (``w:titlePg``); the others read "Table 14.2.1 (continued)";
* body: the table, its column-header rows marked to repeat on every page
  (``w:tblHeader``); or, for a figure, the PNG scaled to the page;
* page footer: the footnotes and the "Source: ..." line, then the study's footer lines
  (output file, program, run date): on every page, so no page lacks its footnotes and no
  page holds footnotes only.

Columns are as wide as their content needs (:func:`tlf.page.column_layout`): a listing's
words never break, a table's numbers and confidence intervals never wrap, and a table's
columns of numbers are aligned on the end of the first number's integer part (a left
indent per cell, measured with the font's metrics). Each output numbers its own pages
from 1: "Page x of y" is ``PAGE`` of ``NUMPAGES`` in a file of one output and ``PAGE`` of
``SECTIONPAGES`` in a file of several (the TLF book), where each section restarts at 1.
A file of several outputs may begin with a table of contents (``contents=True``) whose
entries link to a bookmark at the start of each output.

Speed: python-docx builds a table cell by cell through Python objects, minutes for a
long listing. Here python-docx builds only the skeleton of the document (styles,
sections, headers, footers, the table's properties and header rows); each table body
is left as a marker comment. When the package is written, the body rows are generated
as WordprocessingML text straight from the row strings and streamed into
``word/document.xml`` in place of the marker, so no per-cell objects are ever created.

Reproducibility: no wall-clock time is written. Document properties carry
``SOURCE_DATE_EPOCH`` (or a fixed date) and the zip is rewritten with fixed entry
timestamps (:mod:`tlf._package`): the same content gives byte-identical files. The run
date printed on pages is the style's (:func:`tlf.page.run_date`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

import docx
from docx.document import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section
from docx.shared import Pt, Twips

from tlf._package import build_time, read_zip, strip_xml_illegal, write_zip
from tlf.document import Figure, Listing, Output, Row, Table
from tlf.page import (
    CELL_PAD,
    CONTINUED,
    EDGE,
    INDENT_STEP,
    Composition,
    LinePart,
    PageStyle,
    cell_text,
    compose,
    line_pieces,
)
from trialflow.io import write_atomic

__all__ = ["PageSize", "bookmark_name", "twips", "write_docx"]

PageSize = Literal["letter", "a4"]

_BORDER = '<w:{side} w:val="single" w:sz="6" w:space="0" w:color="000000"/>'

# Body rows are streamed into the package in blocks of this many rows: big enough that
# the per-block overhead is negligible, small enough to keep memory flat.
_ROWS_PER_CHUNK = 2000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_DOCUMENT_PART = "word/document.xml"
_BOLD = "<w:rPr><w:b/></w:rPr>"


def twips(points: float) -> int:
    """Points to twips (1/20 pt), the unit of WordprocessingML and RTF."""
    return int(round(points * 20))


def bookmark_name(index: int) -> str:
    """The bookmark at the start of the ``index``-th output of a file (0-based)."""
    return f"tf_output_{index + 1:03d}"


def _marker(i: int) -> str:
    return f"tf-rows:{i}"


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


def _ppr(align: str, indent: int = 0, extra: str = "", pstyle: str = "") -> str:
    """Paragraph properties in schema order (pStyle, keepNext, ind, jc)."""
    body = pstyle + extra
    if indent:
        body += f'<w:ind w:left="{indent}"/>'
    if align != "left":
        body += f'<w:jc w:val="{align}"/>'
    return f"<w:pPr>{body}</w:pPr>" if body else ""


def _field(instr: str, rpr: str = "") -> str:
    """A complex field, the form Word itself writes; "1" shows until it is updated."""
    return (f'<w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r>{rpr}<w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>'
            f'<w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r>'
            f"<w:r>{rpr}<w:t>1</w:t></w:r>"
            f'<w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r>')


def _line_xml(parts: tuple[LinePart, ...], width: int, pages: str) -> str:
    """One header or footer line: its parts at a left, centre and right tab stop, with
    ``{page}`` and ``{pages}`` as fields."""
    stops = []
    if any(p.align == "center" for p in parts):
        stops.append(f'<w:tab w:val="center" w:pos="{width // 2}"/>')
    if any(p.align == "right" for p in parts):
        stops.append(f'<w:tab w:val="right" w:pos="{width}"/>')
    runs = []
    for piece in line_pieces(parts):
        if piece is None:
            runs.append("<w:r><w:tab/></w:r>")
        elif piece == "{page}":
            runs.append(_field("PAGE"))
        elif piece == "{pages}":
            runs.append(_field(pages))
        else:
            runs.append(_text_xml(piece))
    tabs = f"<w:tabs>{''.join(stops)}</w:tabs>" if stops else ""
    return f"<w:p {nsdecls('w')}><w:pPr>{tabs}</w:pPr>{''.join(runs)}</w:p>"


# --------------------------------------------------------------------------- tables


def _header_cell(text: str, width: int, span: int, align: str, border: bool,
                 pstyle: str = "") -> str:
    tcpr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if span > 1:
        tcpr += f'<w:gridSpan w:val="{span}"/>'
    if border:
        tcpr += f"<w:tcBorders>{_BORDER.format(side='bottom')}</w:tcBorders>"
    tcpr += '<w:vAlign w:val="bottom"/>'
    return (f"<w:tc><w:tcPr>{tcpr}</w:tcPr><w:p>{_ppr(align, pstyle=pstyle)}"
            f"{_text_xml(text)}</w:p></w:tc>")


def _table_skeleton(table: Table | Listing, widths: list[int], index: int,
                    numeric: list[bool], pstyle: str = "") -> str:
    """The ``w:tbl`` with its properties and header rows; the body is a marker comment."""
    total = sum(widths)
    borders = _BORDER.format(side="top") + _BORDER.format(side="bottom")
    pad = twips(CELL_PAD)
    xml = [
        f"<w:tbl {nsdecls('w')}><w:tblPr>",
        f'<w:tblW w:w="{total}" w:type="dxa"/><w:jc w:val="center"/>',
        f"<w:tblBorders>{borders}</w:tblBorders>",
        '<w:tblLayout w:type="fixed"/>',
        f'<w:tblCellMar><w:left w:w="{pad}" w:type="dxa"/>'
        f'<w:right w:w="{pad}" w:type="dxa"/></w:tblCellMar>',
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
                                    border=bool(text), pstyle=pstyle))
        xml.append("</w:tr>")
    xml.append(header_tr)
    for j, (col, width) in enumerate(zip(table.columns, widths, strict=True)):
        xml.append(_header_cell(col.header, width, 1, "center" if numeric[j] else col.align,
                                border=True, pstyle=pstyle))
    xml.append("</w:tr>")
    xml.append(f"<!--{_marker(index)}--></w:tbl>")
    return "".join(xml)


def _body_xml(table: Table | Listing, comp: Composition, pstyle: str) -> Iterator[bytes]:
    """The body rows of ``table`` as UTF-8 WordprocessingML, in blocks of rows.

    This is the hot loop of a long listing: per cell it does one ``isprintable`` check,
    three ``str.replace`` calls and one concatenation; everything else is precomputed.
    A decimal-aligned cell is left-aligned with its own indent (see
    :func:`tlf.page.decimal_indents`) and does not wrap.
    """
    assert comp.columns is not None
    ncol = len(table.columns)
    aligns = [c.align for c in table.columns]
    open_cell = [f"<w:tc><w:p>{_ppr(a, pstyle=pstyle)}" for a in aligns]
    nowrap = "<w:tc><w:tcPr><w:noWrap/></w:tcPr><w:p>"
    indents = comp.columns.indents
    open_run = '<w:r><w:t xml:space="preserve">'
    close_run = "</w:t></w:r>"
    close_cell = "</w:p></w:tc>"
    row_open = "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
    span = f'<w:tcPr><w:gridSpan w:val="{ncol}"/></w:tcPr>' if ncol > 1 else ""
    step = twips(INDENT_STEP)

    def cell_xml(i: int, j: int, value: str | int | float | None, indent: int) -> str:
        text = cell_text(value)
        if j in indents:
            ind = twips(indents[j][i])
            head = nowrap + _ppr("left", ind, pstyle=pstyle)
        elif j == 0 and indent:
            head = f"<w:tc><w:p>{_ppr(aligns[0], indent * step, pstyle=pstyle)}"
        else:
            head = open_cell[j]
        if not text:
            return head + close_cell
        if text.isprintable():
            return (head + open_run + text.replace("&", "&amp;").replace("<", "&lt;")
                    .replace(">", "&gt;") + close_run + close_cell)
        return head + _text_xml(text) + close_cell

    # Decimal indents are per data row, in the order of the data rows.
    data_index: list[int] = []
    n = 0
    for r in table.body:
        data_index.append(n)
        n += r.kind == "data"

    def row_xml(k: int, row: Row) -> str:
        if row.kind == "section":
            text = cell_text(row.cells[0])
            return (f"{row_open}<w:tc>{span}<w:p>"
                    f"{_ppr('left', row.indent * step, '<w:keepNext/>', pstyle)}"
                    f"{_text_xml(text, _BOLD)}</w:p></w:tc></w:tr>")
        i = data_index[k]
        return row_open + "".join(
            cell_xml(i, j, v, row.indent) for j, v in enumerate(row.cells)) + "</w:tr>"

    rows = table.body
    for start in range(0, len(rows), _ROWS_PER_CHUNK):
        yield "".join(row_xml(k, rows[k])
                      for k in range(start, min(start + _ROWS_PER_CHUNK, len(rows)))
                      ).encode("utf-8")


# --------------------------------------------------------------------------- document


def _set_geometry(section: Section, comp: Composition) -> None:
    geo = comp.geometry
    section.orientation = WD_ORIENT.LANDSCAPE if geo.landscape else WD_ORIENT.PORTRAIT
    section.page_width = Twips(twips(geo.width))
    section.page_height = Twips(twips(geo.height))
    section.left_margin = Twips(twips(geo.left))
    section.right_margin = Twips(twips(geo.right))
    section.top_margin = Twips(twips(geo.top))
    section.bottom_margin = Twips(twips(geo.bottom))
    section.header_distance = Twips(twips(EDGE))
    section.footer_distance = Twips(twips(EDGE))
    section.different_first_page_header_footer = True
    # Every output numbers its pages from 1.
    pg = section._sectPr.find(qn("w:pgNumType"))
    if pg is None:
        pg = parse_xml(f'<w:pgNumType {nsdecls("w")}/>')
        section._sectPr.append(pg)
    pg.set(qn("w:start"), "1")


def _fill(part: object, paragraphs: list[str]) -> None:
    """Replace the content of a header or footer with ``paragraphs`` (``w:p`` XML)."""
    element = part._element  # type: ignore[attr-defined]
    for p in list(element):
        element.remove(p)
    for p in paragraphs:
        element.append(parse_xml(p))


def _centred(text: str, rpr: str = "") -> str:
    return (f"<w:p {nsdecls('w')}><w:pPr><w:jc w:val=\"center\"/></w:pPr>"
            f"{_text_xml(text, rpr)}</w:p>")


def _write_header_footer(section: Section, comp: Composition, pages: str,
                         linked: bool) -> None:
    width = twips(comp.geometry.text_width)
    lines = [_line_xml(parts, width, pages) for parts in comp.header]
    if lines:
        lines.append(f"<w:p {nsdecls('w')}/>")
    label, *rest = comp.title
    first = [*lines, _centred(label, _BOLD), *(_centred(t) for t in rest)]
    later = [*lines, _centred(label + CONTINUED, _BOLD), *(_centred(t) for t in rest)]
    notes = [f"<w:p {nsdecls('w')}>{_text_xml(n)}</w:p>" for n in comp.notes]
    if notes:
        notes.append(f"<w:p {nsdecls('w')}><w:pPr><w:spacing w:after=\"0\" w:line=\"120\" "
                     'w:lineRule="exact"/></w:pPr></w:p>')
    foot = [*notes, *(_line_xml(parts, width, pages) for parts in comp.footer)]
    if not foot:
        foot = [f"<w:p {nsdecls('w')}/>"]
    for part, content in ((section.first_page_header, first), (section.header, later),
                          (section.first_page_footer, foot), (section.footer, foot)):
        if not linked:
            part.is_linked_to_previous = False
        _fill(part, content)


def _write_figure(document: Document, figure: Figure, comp: Composition) -> None:
    path = figure.image_png
    if not path.is_file():
        raise FileNotFoundError(f"{figure.label}: image {path} does not exist")
    with path.open("rb") as fh:
        if fh.read(8) != _PNG_SIGNATURE:
            raise ValueError(f"{figure.label}: image {path} is not a PNG file")
    width = figure_width(path, comp)
    p = document.add_paragraph()
    p.alignment = 1  # centre
    p.add_run().add_picture(str(path), width=Twips(width))


def figure_width(path: Path, comp: Composition) -> int:
    """The width in twips a figure's PNG is printed at: as large as the printable area
    allows, keeping its aspect ratio."""
    image = Image.from_file(str(path))
    geo = comp.geometry
    # A line's height of room below the figure, for rounding in the word processor.
    avail_h = twips(geo.text_height - 14.0)
    aspect = image.px_height / image.px_width
    return min(twips(geo.text_width), int(avail_h / aspect))


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


def _end_paragraph() -> str:
    """The paragraph a table must be followed by, as small as Word allows: a full page
    of table is not followed by a blank page."""
    return (f"<w:p {nsdecls('w')}><w:pPr><w:spacing w:before=\"0\" w:after=\"0\" "
            'w:line="20" w:lineRule="exact"/><w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>')


def _set_styles(document: Document, style: PageStyle) -> None:
    font = style.font
    normal = document.styles["Normal"]
    normal.font.name = font
    normal.font.size = Pt(style.half_points / 2)
    # East Asian and complex-script text must use the same font, or Word substitutes.
    rfonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), font)
    fmt = normal.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0
    # The template's document defaults name theme fonts (Calibri), which take precedence
    # over plain font names; name the font there too so nothing falls back to the theme.
    for rfonts in document.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:rFonts"):
        for attr in list(rfonts.attrib):
            del rfonts.attrib[attr]
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), font)
    # Headers and footers have styles of their own (with tab stops of their own): make
    # them plain Normal text, so the header lines sit where their tab stops say.
    for name in ("Header", "Footer"):
        if name in [s.name for s in document.styles]:
            element = document.styles[name].element
            ppr = element.find(qn("w:pPr"))
            if ppr is not None:
                element.remove(ppr)


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


def _contents_xml(outputs: Sequence[Output]) -> list[str]:
    """The table of contents: one paragraph per output, linked to its bookmark."""
    tabs = f'<w:tabs><w:tab w:val="left" w:pos="{twips(90)}"/></w:tabs>'
    paras = [f"<w:p {nsdecls('w')}><w:pPr><w:spacing w:after=\"120\"/><w:jc w:val=\"center\"/>"
             f"</w:pPr>{_text_xml('Table of Contents', _BOLD)}</w:p>"]
    for i, o in enumerate(outputs):
        link = (f'<w:hyperlink w:anchor="{bookmark_name(i)}" w:history="1">'
                f"{_text_xml(o.label)}<w:r><w:tab/></w:r>{_text_xml(o.title.title)}"
                "</w:hyperlink>")
        paras.append(f"<w:p {nsdecls('w')}><w:pPr>{tabs}<w:spacing w:after=\"60\"/>"
                     f'<w:ind w:left="{twips(90)}" w:hanging="{twips(90)}"/></w:pPr>'
                     f"{link}{_text_xml(' (' + o.title.population + ')')}</w:p>")
    return paras


def write_docx(doc: Output | Sequence[Output], path: Path,
               page_size: PageSize | None = None, style: PageStyle | None = None,
               names: Sequence[str] | None = None, programs: Sequence[str] | None = None,
               contents: bool = False) -> Path:
    """Render one output, or several (one section each), to a Word file.

    Parameters
    ----------
    doc : Table, Listing, Figure, or a sequence of them
        The content; several outputs go into one file in the given order, each
        starting on a new page with its own orientation, title block and page numbers.
    path : pathlib.Path
        The .docx file to write; written atomically (temporary file, then rename).
    page_size : {"letter", "a4"}, optional
        Paper size, overriding the style's.
    style : PageStyle, optional
        The study's page (:func:`tlf.page.page_style`); default today's look with no
        study fields.
    names, programs : sequence of str, optional
        Per output, its file name and program, for the ``{output}`` and ``{program}``
        fields; default the file's stem and "".
    contents : bool, default False
        Begin with a table of contents linking to each output (the TLF book).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    outputs = _outputs(doc)
    style = style if style is not None else PageStyle()
    if page_size is not None:
        if page_size not in ("letter", "a4"):
            raise ValueError(f"page_size must be one of ['a4', 'letter'], got {page_size!r}")
        style = PageStyle(**{**{f: getattr(style, f) for f in style.__dataclass_fields__},
                             "page_size": page_size})
    names = list(names) if names is not None else [Path(path).stem] * len(outputs)
    programs = list(programs) if programs is not None else [""] * len(outputs)
    comps = [compose(o, style, n, p) for o, n, p in zip(outputs, names, programs, strict=True)]
    pages = "NUMPAGES" if len(outputs) == 1 and not contents else "SECTIONPAGES"
    document = docx.Document()
    _set_styles(document, style)
    _set_properties(document, outputs)
    body = document.element.body
    bodies: dict[str, tuple[Table | Listing, Composition, str]] = {}
    first = True
    if contents:
        section = _start_section(document, first=True)
        _set_geometry(section, comps[0])
        section.different_first_page_header_footer = False
        width = twips(comps[0].geometry.text_width)
        _fill(section.header, [_line_xml(parts, width, pages) for parts in comps[0].header
                               if not any("{page" in p.text for p in parts)]
              or [f"<w:p {nsdecls('w')}/>"])
        _fill(section.footer, [f"<w:p {nsdecls('w')}/>"])
        for p in _contents_xml(outputs):
            body.sectPr.addprevious(parse_xml(p))
        first = False
    for i, (output, comp) in enumerate(zip(outputs, comps, strict=True)):
        section = _start_section(document, first=first)
        _set_geometry(section, comp)
        _write_header_footer(section, comp, pages, linked=first)
        first = False
        if len(outputs) > 1 or contents:
            body.sectPr.addprevious(parse_xml(
                f'<w:bookmarkStart {nsdecls("w")} w:id="{i + 1}" w:name="{bookmark_name(i)}"/>'))
            body.sectPr.addprevious(parse_xml(
                f'<w:bookmarkEnd {nsdecls("w")} w:id="{i + 1}"/>'))
        if isinstance(output, Figure):
            _write_figure(document, output, comp)
        else:
            assert comp.columns is not None
            widths = _twips_widths(comp.columns.widths)
            pstyle = _size_style(document, style, comp.columns.font_size)
            body.sectPr.addprevious(parse_xml(
                _table_skeleton(output, widths, i, comp.columns.numeric, pstyle)))
            bodies[_marker(i)] = (output, comp, pstyle)
            body.sectPr.addprevious(parse_xml(_end_paragraph()))

    buffer = io.BytesIO()
    document.save(buffer)
    members = read_zip(buffer.getvalue())

    def package() -> Iterator[tuple[str, Iterator[bytes]]]:
        for name, data in members:
            yield name, (_splice_bodies(data, bodies) if name == _DOCUMENT_PART
                         else iter((data,)))

    when = build_time()
    return write_atomic(Path(path), lambda tmp: write_zip(tmp, package(), when))


def _size_style(document: Document, style: PageStyle, size: float) -> str:
    """The ``w:pStyle`` of table text set in ``size`` points, when it is not the study's
    size (a listing made smaller to fit its columns); the style is added once."""
    half = int(round(size * 2))
    if half == style.half_points:
        return ""
    name = f"TFText{half}"
    if name not in [s.name for s in document.styles]:
        added = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        added.base_style = document.styles["Normal"]
        added.font.size = Pt(half / 2)
    return f'<w:pStyle w:val="{name}"/>'


def _twips_widths(points: Sequence[float]) -> list[int]:
    """Column widths in twips summing exactly to the total's twips."""
    total = twips(sum(points))
    widths = [twips(p) for p in points]
    widths[-1] += total - sum(widths)
    return widths


def _splice_bodies(document_xml: bytes,
                   bodies: dict[str, tuple[Table | Listing, Composition, str]]
                   ) -> Iterator[bytes]:
    """``document.xml`` with each body marker replaced by that table's streamed rows."""
    pattern = re.compile(rb"<!--(tf-rows:\d+)-->")
    found = pattern.findall(document_xml)
    if sorted(m.decode() for m in found) != sorted(bodies):
        raise RuntimeError(f"table body markers in {_DOCUMENT_PART} do not match the tables: "
                           f"found {found}, expected {sorted(bodies)}")
    pos = 0
    for m in pattern.finditer(document_xml):
        yield document_xml[pos:m.start()]
        yield from _body_xml(*bodies[m.group(1).decode()])
        pos = m.end()
    yield document_xml[pos:]
