"""Render tables, listings and figures to RTF, the format most sponsors submit.

The page is the one of the Word renderer (:mod:`tlf.render_docx`), from the same
composition (:func:`tlf.page.compose`): one section per output with its paper,
orientation and margins (``\\pgwsxn``, ``\\pghsxn``, ``\\lndscpsxn``, ``\\margtsxn``...),
a first-page header with the study's lines and the title block (``\\titlepg``,
``{\\headerf}``) and a header for the other pages whose label reads "(continued)",
the footnotes, source line and study footer lines in the footer of every page, the
column-header rows marked to repeat on every page (``\\trhdr``), body rows kept whole on
a page (``\\trkeep``), columns as wide as their content needs and numbers aligned on
the end of their integer part (a left indent per cell, ``\\li``, never wrapping:
``\\clNoWrap``). "Page x of y" is ``PAGE`` of ``NUMPAGES`` (``SECTIONPAGES`` when a file
holds several outputs, each restarting at 1: ``\\pgnrestart``). Figures are embedded as
PNG (``{\\pict\\pngblip ...}``) at the size the Word renderer gives them.

Why not rtflite: rtflite (pharmaverse) composes RTF tables from data frames and is the
library made for this job, but it does not serve these layouts: it paginates itself by
a fixed number of rows per page (``nrow``), repeating column headers by writing them
again after each forced page break instead of marking them as header rows, so a page
whose rows wrap differently than it estimated overflows; it has no decimal alignment;
and it would add polars, narwhals and pydantic to the dependencies for what is a few
hundred lines of plain text here. This writer is tested the same way: the RTF is parsed
(rows, repeated header rows, page setup, fonts) and its text compared with the Word
file's cells.

Reproducibility: the only date written (``\\creatim``) is ``SOURCE_DATE_EPOCH`` or the
fixed default of :func:`tlf._package.build_time`; the same content gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from docx.image.image import Image

from tlf._package import build_time
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
    font_family,
    line_pieces,
)
from tlf.render_docx import _outputs, figure_width, twips
from trialflow.io import write_atomic

__all__ = ["escape_rtf", "write_rtf"]

_FAMILY = {"serif": "froman", "sans": "fswiss", "mono": "fmodern"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BORDER = "\\brdrs\\brdrw10"
_LANDSCAPE = "\\landscape"
_LANDSCAPE_SECTION = "\\lndscpsxn"


def escape_rtf(text: str) -> str:
    """``text`` as RTF: ``\\``, ``{`` and ``}`` escaped, line breaks as ``\\line``, tabs as
    ``\\tab``, characters beyond ASCII as ``\\uN?`` (N signed 16-bit, as RTF wants)."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
    if text.isascii():
        return text.replace("\n", "\\line ").replace("\t", "\\tab ")
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\n":
            out.append("\\line ")
        elif ch == "\t":
            out.append("\\tab ")
        elif code < 128:
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code if code < 32768 else code - 65536}?")
        else:  # a surrogate pair, each half as its own \u
            hi, lo = divmod(code - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + hi - 65536}?\\u{0xDC00 + lo - 65536}?")
    return "".join(out)


def _field(instr: str) -> str:
    return f"{{\\field{{\\*\\fldinst {instr}}}{{\\fldrslt 1}}}}"


def _line(parts: tuple[LinePart, ...], width: int, pages: str, base: str) -> str:
    stops = ""
    if any(p.align == "center" for p in parts):
        stops += f"\\tqc\\tx{width // 2}"
    if any(p.align == "right" for p in parts):
        stops += f"\\tqr\\tx{width}"
    out = [f"\\pard\\plain{base}{stops} "]
    for piece in line_pieces(parts):
        if piece is None:
            out.append("\\tab ")
        elif piece == "{page}":
            out.append(_field("PAGE"))
        elif piece == "{pages}":
            out.append(_field(pages))
        else:
            out.append(escape_rtf(piece))
    out.append("\\par\n")
    return "".join(out)


def _centred(text: str, base: str, bold: bool = False) -> str:
    b = "\\b " if bold else " "
    return f"\\pard\\plain{base}\\qc{b}{escape_rtf(text)}\\par\n"


def _section(comp: Composition, pages: str, base: str, first: bool) -> str:
    """Section break and properties, headers and footers of one output."""
    geo = comp.geometry
    width = twips(geo.text_width)
    props = (f"\\sectd\\pgwsxn{twips(geo.width)}\\pghsxn{twips(geo.height)}"
             f"{_LANDSCAPE_SECTION if geo.landscape else ''}"
             f"\\marglsxn{twips(geo.left)}\\margrsxn{twips(geo.right)}"
             f"\\margtsxn{twips(geo.top)}\\margbsxn{twips(geo.bottom)}"
             f"\\headery{twips(EDGE)}\\footery{twips(EDGE)}\\titlepg\\pgnrestart\\pgnstarts1"
             "\\sbkpage\n")
    lines = "".join(_line(parts, width, pages, base) for parts in comp.header)
    if comp.header:
        lines += f"\\pard\\plain{base} \\par\n"
    label, *rest = comp.title
    titles = "".join(_centred(t, base) for t in rest)
    first_header = lines + _centred(label, base, bold=True) + titles
    header = lines + _centred(label + CONTINUED, base, bold=True) + titles
    notes = "".join(f"\\pard\\plain{base} {escape_rtf(n)}\\par\n" for n in comp.notes)
    if comp.notes:
        notes += f"\\pard\\plain{base}\\sl-120\\slmult0 \\par\n"
    footer = notes + "".join(_line(parts, width, pages, base) for parts in comp.footer)
    if not footer:
        footer = f"\\pard\\plain{base} \\par\n"
    return ("" if first else "\\sect") + props + (
        f"{{\\headerf {first_header}}}{{\\header {header}}}"
        f"{{\\footerf {footer}}}{{\\footer {footer}}}\n")


def _cell_defs(edges: Sequence[int], top: bool = False, bottom: bool = False,
               valign_bottom: bool = False, nowrap: Sequence[bool] = ()) -> str:
    out = []
    for j, edge in enumerate(edges):
        d = "\\clvertalb" if valign_bottom else ""
        if top:
            d += f"\\clbrdrt{_BORDER}"
        if bottom:
            d += f"\\clbrdrb{_BORDER}"
        if nowrap and nowrap[j]:
            d += "\\clNoWrap"
        out.append(f"{d}\\cellx{edge}")
    return "".join(out)


def _table(table: Table | Listing, comp: Composition, base: str) -> Iterator[str]:
    """The table's rows: the header rows (``\\trhdr``), then the body."""
    assert comp.columns is not None
    widths = [twips(w) for w in comp.columns.widths]
    widths[-1] += twips(sum(comp.columns.widths)) - sum(widths)
    edges, x = [], 0
    for w in widths:
        x += w
        edges.append(x)
    gap = twips(CELL_PAD)
    row = f"\\trowd\\trgaph{gap}\\trleft{-gap}\\trqc"
    numeric = comp.columns.numeric
    has_groups = bool(table.column_groups)
    if has_groups:
        spans = table.group_spans()
        cells = []
        for first, span, text in spans:
            border = f"\\clbrdrt{_BORDER}" + (f"\\clbrdrb{_BORDER}" if text else "")
            cells.append(f"\\clvertalb{border}\\cellx{edges[first + span - 1]}")
        yield (f"{row}\\trhdr\\trkeep{''.join(cells)}\n"
               + "".join(f"\\pard\\plain\\intbl{base}\\qc {escape_rtf(text)}\\cell"
                         for _, _, text in spans) + "\\row\n")
    aligns = {"left": "\\ql", "center": "\\qc", "right": "\\qr"}
    heads = "".join(
        f"\\pard\\plain\\intbl{base}{aligns['center' if numeric[j] else c.align]} "
        f"{escape_rtf(c.header)}\\cell" for j, c in enumerate(table.columns))
    defs = _cell_defs(edges, top=not has_groups, bottom=True, valign_bottom=True)
    yield f"{row}\\trhdr\\trkeep{defs}\n{heads}\\row\n"
    body = table.body
    indents = comp.columns.indents
    plain = _cell_defs(edges, nowrap=numeric)
    last = _cell_defs(edges, bottom=True, nowrap=numeric)
    span_plain = f"\\cellx{edges[-1]}"
    span_last = f"\\clbrdrb{_BORDER}\\cellx{edges[-1]}"
    opening = [f"\\pard\\plain\\intbl{base}{aligns[c.align]} " for c in table.columns]
    step = twips(INDENT_STEP)
    i = 0
    for k, r in enumerate(body):
        is_last = k == len(body) - 1
        yield _row(r, i, row, plain if not is_last else last,
                   span_last if is_last else span_plain, opening, indents, base, step)
        i += r.kind == "data"


def _row(r: Row, i: int, row: str, defs: str, span_defs: str, opening: list[str],
         indents: dict[int, list[float]], base: str, step: int) -> str:
    if r.kind == "section":
        li = f"\\li{r.indent * step}" if r.indent else ""
        return (f"{row}\\trkeep{span_defs}\n\\pard\\plain\\intbl{base}\\keepn{li}\\b "
                f"{escape_rtf(cell_text(r.cells[0]))}\\cell\\row\n")
    cells = []
    for j, value in enumerate(r.cells):
        text = escape_rtf(cell_text(value))
        if j in indents:
            ind = twips(indents[j][i])
            li = f"\\li{ind}" if ind else ""
            cells.append(f"\\pard\\plain\\intbl{base}\\ql{li} {text}\\cell")
        elif j == 0 and r.indent:
            cells.append(f"{opening[0][:-1]}\\li{r.indent * step} {text}\\cell")
        else:
            cells.append(f"{opening[j]}{text}\\cell")
    return f"{row}\\trkeep{defs}\n{''.join(cells)}\\row\n"


def _figure(figure: Figure, comp: Composition, base: str) -> str:
    path = figure.image_png
    if not path.is_file():
        raise FileNotFoundError(f"{figure.label}: image {path} does not exist")
    data = path.read_bytes()
    if data[:8] != _PNG_SIGNATURE:
        raise ValueError(f"{figure.label}: image {path} is not a PNG file")
    image = Image.from_blob(data)
    width = figure_width(path, comp)
    height = int(width * image.px_height / image.px_width)
    hexdata = data.hex()
    lines = "\n".join(hexdata[i:i + 128] for i in range(0, len(hexdata), 128))
    return (f"\\pard\\plain{base}\\qc {{\\pict\\pngblip\\picw{image.px_width}"
            f"\\pich{image.px_height}\\picwgoal{width}\\pichgoal{height}\n{lines}}}\\par\n")


def _info(outputs: Sequence[Output]) -> str:
    when = build_time()
    stamp = (f"\\yr{when.year}\\mo{when.month}\\dy{when.day}\\hr{when.hour}"
             f"\\min{when.minute}")
    title = escape_rtf("; ".join(f"{o.label} {o.title.title}" for o in outputs)[:255])
    return (f"{{\\info{{\\title {title}}}{{\\author trialflow}}{{\\operator trialflow}}"
            f"{{\\creatim{stamp}}}{{\\revtim{stamp}}}}}\n")


def write_rtf(doc: Output | Sequence[Output], path: Path, style: PageStyle | None = None,
              names: Sequence[str] | None = None,
              programs: Sequence[str] | None = None) -> Path:
    """Render one output, or several (one section each), to an RTF file.

    Parameters
    ----------
    doc : Table, Listing, Figure, or a sequence of them
    path : pathlib.Path
        The .rtf file to write; written atomically.
    style : PageStyle, optional
        The study's page (:func:`tlf.page.page_style`); default today's look.
    names, programs : sequence of str, optional
        Per output, its file name and program (``{output}``, ``{program}``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    outputs = _outputs(doc)
    style = style if style is not None else PageStyle()
    names = list(names) if names is not None else [Path(path).stem] * len(outputs)
    programs = list(programs) if programs is not None else [""] * len(outputs)
    comps = [compose(o, style, n, p) for o, n, p in zip(outputs, names, programs, strict=True)]
    pages = "NUMPAGES" if len(outputs) == 1 else "SECTIONPAGES"
    base = f"\\f0\\fs{style.half_points}"
    first_geo = comps[0].geometry
    family = _FAMILY[font_family(style.font)]

    def chunks() -> Iterator[str]:
        yield ("{\\rtf1\\ansi\\ansicpg1252\\deff0\\deflang1033\\uc1\n"
               f"{{\\fonttbl{{\\f0\\{family}\\fcharset0 {escape_rtf(style.font)};}}}}\n"
               "{\\colortbl;\\red0\\green0\\blue0;}\n")
        yield _info(outputs)
        yield (f"\\paperw{twips(first_geo.width)}\\paperh{twips(first_geo.height)}"
               f"\\margl{twips(first_geo.left)}\\margr{twips(first_geo.right)}"
               f"\\margt{twips(first_geo.top)}\\margb{twips(first_geo.bottom)}"
               f"{_LANDSCAPE if first_geo.landscape else ''}\\widowctrl\\fet0\n")
        for k, (output, comp) in enumerate(zip(outputs, comps, strict=True)):
            yield _section(comp, pages, base, first=k == 0)
            if isinstance(output, Figure):
                yield _figure(output, comp, base)
            else:
                assert comp.columns is not None
                # A listing may be set smaller than the study's font to fit its columns.
                yield from _table(output, comp,
                                  f"\\f0\\fs{int(round(comp.columns.font_size * 2))}")
                # A table must be followed by a paragraph; as small as can be.
                yield f"\\pard\\plain{base}\\fs2\\sl-20\\slmult0 \\par\n"
        yield "}\n"

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="ascii", newline="\n") as fh:
            block: list[str] = []
            for chunk in chunks():
                block.append(chunk)
                if len(block) >= 2000:
                    fh.write("".join(block))
                    block.clear()
            fh.write("".join(block))

    return write_atomic(Path(path), write)
