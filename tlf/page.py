"""The page every renderer lays an output on: paper, margins, font, the study's header and
footer lines, and the widths and alignment of columns measured from the content.

The study declares the look of its documents in ``study.yaml`` (``output:``, read into
:class:`trialflow.spec.OutputStyle`); :func:`page_style` turns that, the study's identity
and the run date into a :class:`PageStyle`, which the Word and RTF renderers
(:mod:`tlf.render_docx`, :mod:`tlf.render_rtf`) and the book (:mod:`tlf.book`) share, so
that the same output has the same geometry, the same column widths and the same header
and footer lines in every format. Nothing here computes a displayed value: the cells are
the ARD's display strings; this module only measures them.

Header and footer lines
-----------------------
Each line of ``output.header`` / ``output.footer`` is a template; ``" | "`` splits it
into parts printed left, (centre,) right: one part is left-aligned, two are left and
right, three left, centre and right. The fields a template may name are
:data:`FIELDS`: ``{study}``, ``{protocol}`` (the study's ``protocol:``, else its id),
``{title}``, ``{data_cutoff}``, ``{status}`` (DRAFT or FINAL), ``{output}`` (the output's
file name), ``{program}``, ``{run_date}`` (``SOURCE_DATE_EPOCH`` when set, else the day of
the run), ``{page}`` and ``{pages}`` (page x of y of the output, fields the word
processor fills in). Without declared lines the study gets :data:`DEFAULT_HEADER` and
:data:`DEFAULT_FOOTER`; lines that print no ``{page}`` get a "Page x of y" line added, so
no output is ever unnumbered.

Measuring text
--------------
Column widths and the decimal alignment of numbers need the width of text in the
study's font. The widths come from the Adobe font metrics (AFM) of the standard PDF fonts
that matplotlib ships (Times, Helvetica, Courier): Times New Roman and its free twin
Liberation Serif share Times' widths for every digit and punctuation mark, Arial and
Liberation Sans share Helvetica's. A font of another family is measured as Helvetica,
which is wider than most text faces, so columns err on the wide side. Being package data,
the metrics are the same on every machine: the same content gives the same layout bytes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import matplotlib

from trialflow.errors import SpecError
from trialflow.io import source_date_epoch
from trialflow.spec import OutputStyle, Study

__all__ = [
    "DEFAULT_FOOTER",
    "DEFAULT_HEADER",
    "FIELDS",
    "Geometry",
    "LinePart",
    "PageStyle",
    "TextMetrics",
    "cell_text",
    "column_layout",
    "decimal_indents",
    "line_pieces",
    "page_style",
    "run_date",
]

#: The fields a header or footer line may name.
FIELDS: tuple[str, ...] = ("study", "protocol", "title", "data_cutoff", "status", "output",
                           "program", "run_date", "page", "pages")
#: Header lines of a study that declares none: where the page comes from, and its status.
DEFAULT_HEADER: tuple[str, ...] = (
    "Protocol: {protocol} | {status}",
    "Data cut-off: {data_cutoff} | Page {page} of {pages}",
)
#: Footer lines of a study that declares none: what made the page, and when.
DEFAULT_FOOTER: tuple[str, ...] = (
    "Output: {output} | Program: {program} | Run date: {run_date}",
)

_PAGE_POINTS: dict[str, tuple[float, float]] = {"letter": (612.0, 792.0), "a4": (595.3, 841.9)}
#: Distance of the header (footer) from the top (bottom) edge of the page, points.
EDGE = 36.0
#: Padding at each side of a table cell, points (0.7 mm).
CELL_PAD = 2.0
#: Indentation step of a row level, points (1/8 inch).
INDENT_STEP = 9.0
#: Line height as a multiple of the font size: a little over what Times and Liberation
#: Serif take at single spacing (1.15), so estimated heights err on the tall side.
LINE_FACTOR = 1.25
#: Extra width given to measured text, so that a word processor whose font is a metric
#: twin with minute differences (or that rounds widths up) never needs to break it.
_SLACK = 1.02
#: The smallest font a listing is set in to fit its columns without breaking words,
#: points (when the study's font is larger; a smaller study font is kept).
SMALLEST_LISTING_FONT = 8.0

_TEMPLATE = string.Formatter()


# --------------------------------------------------------------------------- fonts


_AFM_FILES = {"serif": ("ptmr8a.afm", "ptmb8a.afm"), "sans": ("phvr8a.afm", "phvb8a.afm"),
              "mono": ("pcrr8a.afm", "pcrb8a.afm")}
_SERIF = ("times", "serif", "georgia", "garamond", "cambria", "book antiqua", "palatino")
_MONO = ("courier", "mono", "consolas")


def font_family(font: str) -> str:
    """``"serif"``, ``"sans"`` or ``"mono"``: the metrics a font is measured with, and
    the family an RTF font table declares (``\\froman``, ``\\fswiss``, ``\\fmodern``)."""
    name = font.casefold()
    if any(k in name for k in _MONO):
        return "mono"
    if any(k in name for k in _SERIF) and "sans" not in name:
        return "serif"
    return "sans"


@lru_cache(maxsize=8)
def _afm_widths(file: str) -> dict[str, int]:
    """Advance widths (1/1000 em) by character, from one of matplotlib's AFM files."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "afm" / file
    widths: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if not line.startswith("C "):
            continue
        fields = dict(part.strip().split(" ", 1) for part in line.split(";") if part.strip())
        code, width, name = int(fields["C"]), int(fields["WX"]), fields.get("N", "")
        by_name[name] = width
        if 32 <= code <= 126:
            widths[chr(code)] = width
    # StandardEncoding puts curly quotes at 39 and 96; text means the straight ones.
    widths["'"] = by_name.get("quotesingle", widths["'"])
    widths["`"] = by_name.get("grave", widths["`"])
    for char, name in (("\u2018", "quoteleft"), ("\u2019", "quoteright"),
                       ("\u201c", "quotedblleft"), ("\u201d", "quotedblright"),
                       ("\u2013", "endash"), ("\u2014", "emdash"), ("\u2022", "bullet"),
                       ("\u00b1", "plusminus"), ("\u00b0", "degree"), ("\u00d7", "multiply"),
                       ("\u2264", "lessequal"), ("\u2265", "greaterequal"),
                       ("\u00a0", "space"), ("\u2192", "arrowright"), ("\u2190", "arrowleft"),
                       ("\u2212", "minus"), ("\u00b5", "mu")):
        if name in by_name:
            widths[char] = by_name[name]
    return widths


@dataclass(frozen=True)
class TextMetrics:
    """The width of text in one font at one size.

    Parameters
    ----------
    font : str
        The font name as the study declares it, e.g. ``"Times New Roman"``.
    size : float
        The size in points.

    Examples
    --------
    >>> m = TextMetrics("Times New Roman", 10)
    >>> m.width("10"), m.width("10", bold=True)
    (10.0, 10.0)
    """

    font: str
    size: float

    def _table(self, bold: bool) -> dict[str, int]:
        return _afm_widths(_AFM_FILES[font_family(self.font)][bold])

    def width(self, text: str, bold: bool = False) -> float:
        """The advance width of ``text`` (one line) in points."""
        table = self._table(bold)
        total = 0
        for char in text:
            w = table.get(char)
            if w is None:
                # An accented letter is as wide as its base letter; anything else counts
                # as the widest common glyph, so a column is never too narrow for it.
                base = unicodedata.normalize("NFKD", char)[:1]
                w = table.get(base, 1000) if base != char else 1000
            total += w
        return total * self.size / 1000.0

    @property
    def line(self) -> float:
        """The height of one line at single spacing, points."""
        return self.size * LINE_FACTOR

    def longest_line(self, text: str, bold: bool = False) -> float:
        """The width of the widest of ``text``'s lines."""
        return max((self.width(line, bold) for line in text.split("\n")), default=0.0)

    def longest_word(self, text: str, bold: bool = False) -> float:
        """The width of the widest word of ``text``: the narrowest a column can be without
        breaking a word."""
        return max((self.width(word, bold) for word in text.split()), default=0.0)

    def lines(self, text: str, width: float, bold: bool = False) -> int:
        """How many lines ``text`` takes when wrapped at word boundaries in ``width``
        points (words wider than the width take a line of their own)."""
        space = self.width(" ", bold)
        count = 0
        for paragraph in text.split("\n"):
            count += 1
            used = 0.0
            for word in paragraph.split():
                w = self.width(word, bold)
                if used and used + space + w > width:
                    count += 1
                    used = w
                else:
                    used += (space if used else 0.0) + w
        return max(count, 1)


# --------------------------------------------------------------------------- style


@dataclass(frozen=True)
class LinePart:
    """One part of a header or footer line: its text (a template) and where it sits."""

    text: str
    align: str  # "left", "center" or "right"


def _parts(line: str) -> tuple[LinePart, ...]:
    pieces = [p.strip() for p in line.split(" | ")]
    aligns = {1: ("left",), 2: ("left", "right"), 3: ("left", "center", "right")}[len(pieces)]
    return tuple(LinePart(p, a) for p, a in zip(pieces, aligns, strict=True) if p)


@dataclass(frozen=True)
class Geometry:
    """One output's page, in points."""

    width: float
    height: float
    top: float
    bottom: float
    left: float
    right: float
    landscape: bool

    @property
    def text_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def text_height(self) -> float:
        return self.height - self.top - self.bottom


@dataclass(frozen=True)
class PageStyle:
    """How every page of a study's outputs looks.

    Parameters
    ----------
    page_size : {"letter", "a4"}
    landscape : bool
        Whether outputs whose spec does not ask for landscape are landscape too.
    margins : (top, right, bottom, left)
        Margins in points; the top and bottom ones grow to hold the header and footer.
    font : str
    font_size : float
        Points; body, headers and footers.
    status : {"draft", "final"}
    header, footer : tuple of str
        Line templates (see the module docstring).
    fields : mapping of str to str
        The study's values of :data:`FIELDS` (all but ``output``, ``program``, ``page``
        and ``pages``, which each output brings).
    """

    page_size: str = "letter"
    landscape: bool = False
    margins: tuple[float, float, float, float] = (72.0, 72.0, 72.0, 72.0)
    font: str = "Times New Roman"
    font_size: float = 9.0
    status: str = "final"
    header: tuple[str, ...] = DEFAULT_HEADER
    footer: tuple[str, ...] = DEFAULT_FOOTER
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.page_size not in _PAGE_POINTS:
            raise ValueError(f"page_size must be one of {sorted(_PAGE_POINTS)}, "
                             f"got {self.page_size!r}")
        for line in (*self.header, *self.footer):
            _check_template(line)
        # Fields the caller did not give print empty (the status and run date, as ever).
        given = dict(self.fields)
        object.__setattr__(self, "fields", {
            **{f: "" for f in FIELDS}, "status": self.status.upper(),
            "run_date": given.get("run_date") or run_date(), **given})
        if not any("{page}" in line for line in (*self.header, *self.footer)):
            object.__setattr__(self, "footer", (*self.footer, " | Page {page} of {pages}"))

    @property
    def metrics(self) -> TextMetrics:
        return TextMetrics(self.font, self.font_size)

    @property
    def half_points(self) -> int:
        """The font size in half points, as Word and RTF store it."""
        return int(round(self.font_size * 2))

    def lines(self, which: str, output: str, program: str) -> list[tuple[LinePart, ...]]:
        """The header (``which="header"``) or footer lines of one output, fields filled in
        but for ``{page}`` and ``{pages}``, which stay for the renderer to make fields of."""
        values = {**self.fields, "output": output, "program": program,
                  "page": "{page}", "pages": "{pages}"}
        templates = self.header if which == "header" else self.footer
        lines = []
        for line in templates:
            # A part whose fields are all empty (a study without a data cut-off, a
            # document made outside a study) is left out rather than printed half.
            parts = tuple(LinePart(p.text.format_map(values), p.align) for p in _parts(line)
                          if not _empty(p.text, values))
            if parts:
                lines.append(parts)
        return lines

    def geometry(self, landscape: bool, header_lines: int, footer_height: float) -> Geometry:
        """The page of an output: landscape if its spec or the study says so; top and
        bottom margins big enough for ``header_lines`` lines and a footer of
        ``footer_height`` points."""
        short, long_ = _PAGE_POINTS[self.page_size]
        wide = landscape or self.landscape
        width, height = (long_, short) if wide else (short, long_)
        top, right, bottom, left = self.margins
        line = self.metrics.line
        top = max(top, EDGE + (header_lines + 1) * line)
        bottom = max(bottom, EDGE + footer_height + line)
        return Geometry(width, height, top, bottom, left, right, wide)


def _empty(template: str, values: Mapping[str, str]) -> bool:
    names = [name for _, name, _, _ in _TEMPLATE.parse(template) if name is not None]
    return bool(names) and not any(values.get(n) for n in names)


def _check_template(line: str) -> None:
    for _, name, spec, conv in _TEMPLATE.parse(line):
        if name is None:
            continue
        if name not in FIELDS or spec or conv:
            raise SpecError("study.yaml", f"output header/footer line {line!r}: unknown field "
                            f"{{{name}}}; allowed: {', '.join('{' + f + '}' for f in FIELDS)}")
    if len(line.split(" | ")) > 3:
        raise SpecError("study.yaml", f"output header/footer line {line!r}: at most three "
                        "parts (left | centre | right)")


def run_date() -> str:
    """The run date printed on pages: ``SOURCE_DATE_EPOCH`` when set, else today (UTC),
    as ``YYYY-MM-DD``."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    return dt.datetime.fromtimestamp(source_date_epoch(now), tz=dt.UTC).date().isoformat()


def page_style(study: Study | None, style: OutputStyle | None = None,
               when: str | None = None) -> PageStyle:
    """The page style of ``study`` (its ``output:``), with its fields filled in.

    Parameters
    ----------
    study : Study or None
        None gives the default look with no study fields (tests, notebooks).
    style : OutputStyle, optional
        Default: ``study.output``.
    when : str, optional
        The run date to print; default :func:`run_date`.
    """
    style = style if style is not None else (study.output if study is not None
                                             else OutputStyle())
    fields = {"status": style.status.upper(), "run_date": when or run_date()}
    if study is not None:
        fields |= {"study": study.id, "title": " ".join(study.title.split()),
                   "protocol": str(study.extra.get("protocol") or study.id),
                   "data_cutoff": study.data_cutoff.isoformat()}
    else:
        fields |= {"study": "", "title": "", "protocol": "", "data_cutoff": ""}
    return PageStyle(
        page_size=style.page_size, landscape=style.orientation == "landscape",
        margins=tuple(72.0 * float(m) for m in style.margins),  # type: ignore[arg-type]
        font=style.font, font_size=float(style.font_size), status=style.status,
        header=tuple(style.header) or DEFAULT_HEADER,
        footer=tuple(style.footer) or DEFAULT_FOOTER, fields=fields)


# --------------------------------------------------------------------------- columns

#: Where a number's integer part ends, the point numbers are aligned on: after the
#: first run of digits (or "NE") behind any opening parenthesis, sign or comparison.
_ANCHOR = re.compile(r"^[\s(\[<>\u2264\u2265+\-\u2212]*(?:\d+|NE\b)")


def is_numeric_column(cells: Iterable[str]) -> bool:
    """Whether every non-empty cell of a column starts with a number (or "NE"): the
    column is then decimal-aligned and never wraps."""
    seen = False
    for text in cells:
        if text == "":
            continue
        if _ANCHOR.match(text) is None:
            return False
        seen = True
    return seen


def decimal_indents(cells: Sequence[str], width: float,
                    metrics: TextMetrics) -> list[float] | None:
    """Left indents (points, from the cell's left padding) that align ``cells`` on the
    end of their first number's integer part, the block centred in ``width``.

    Returns None when the cells are not all numbers (see :func:`is_numeric_column`).
    A cell with no number (empty) gets 0.
    """
    heads, tails = [], []
    for text in cells:
        m = _ANCHOR.match(text)
        if text and m is None:
            return None
        cut = m.end() if m else 0
        heads.append(metrics.width(text[:cut]))
        tails.append(metrics.width(text[cut:]))
    if not heads:
        return None
    anchor = max(heads)
    block = anchor + max(tails)
    offset = max(0.0, (width - 2 * CELL_PAD - block) / 2)
    return [round(offset + anchor - h, 1) if text else 0.0
            for text, h in zip(cells, heads, strict=True)]


@dataclass(frozen=True)
class ColumnLayout:
    """The columns of one table or listing on its page.

    Attributes
    ----------
    widths : list of float
        Column widths in points, summing to the text width.
    numeric : list of bool
        Which columns are decimal-aligned (tables only).
    indents : dict of int to list of float
        For each decimal-aligned column, the left indent of each body row's cell.
    font_size : float
        The size of the table's text (headers and body), points.
    fits : bool
        Whether every column is at least as wide as its longest word (or, for numbers,
        its longest cell): no word is broken.
    """

    widths: list[float]
    numeric: list[bool]
    indents: dict[int, list[float]]
    font_size: float = 9.0
    fits: bool = True


def _unique_texts(values: Iterable[object]) -> set[str]:
    return {cell_text(v) for v in values}


def column_layout(output: object, text_width: float, metrics: TextMetrics) -> ColumnLayout:
    """Column widths from the content, as a browser lays out an automatic table.

    Each column has a minimum width (its longest word, or, for a column of numbers in a
    table, its longest cell: numbers and confidence intervals never wrap) and a natural
    width (its longest line). When the natural widths fit, every column gets its natural
    width and the rest of the line is shared in proportion to them; otherwise every
    column gets its minimum and the space left is shared in proportion to what each
    still lacks. Only when even the minimums do not fit are words broken, the minimums
    scaled down (a listing with too many columns for its page). Headers wrap at word
    boundaries like body text; the first column's indented rows count their indent.

    Parameters
    ----------
    output : Table or Listing
    text_width : float
        The printable width in points.
    metrics : TextMetrics
    """
    from tlf.document import Listing  # the content model imports nothing from here

    columns = output.columns
    body = [r for r in output.body if r.kind == "data"]
    listing = isinstance(output, Listing)
    ncol = len(columns)
    minimum, natural, numeric = [0.0] * ncol, [0.0] * ncol, [False] * ncol
    indents: dict[int, list[float]] = {}
    pad = 2 * CELL_PAD
    for j, col in enumerate(columns):
        texts = [r.cells[j] for r in body]
        unique = _unique_texts(texts)
        numeric[j] = (not listing and j > 0 and col.align != "left"
                      and is_numeric_column(unique))
        head_min = metrics.longest_word(col.header, bold=False)
        head_nat = metrics.longest_line(col.header)
        lines = [metrics.width(line) for t in unique for line in t.split("\n")]
        nat = max(lines, default=0.0)
        if numeric[j]:
            low = nat
        else:
            low = max((metrics.longest_word(t) for t in unique), default=0.0)
        if j == 0:
            levels = {r.indent for r in body}
            extra = max(levels, default=0) * INDENT_STEP
            low, nat = low + extra, nat + extra
        minimum[j] = max(low, head_min) * _SLACK + pad
        natural[j] = max(nat, head_nat, low) * _SLACK + pad
    # Section rows span the table: they need no column of their own.
    widths = _share(minimum, natural, text_width)
    fits = sum(minimum) <= text_width
    for j in range(ncol):
        if numeric[j]:
            texts = [r.cells[j] for r in body]
            found = decimal_indents([cell_text(t) for t in texts], widths[j], metrics)
            if found is None:
                numeric[j] = False
            else:
                indents[j] = found
    return ColumnLayout(widths, numeric, indents, metrics.size, fits)


def _share(minimum: list[float], natural: list[float], total: float) -> list[float]:
    low, high = sum(minimum), sum(natural)
    if high <= total:
        widths = [n + (total - high) * n / high for n in natural] if high else \
            [total / len(natural)] * len(natural)
    elif low <= total:
        lack = high - low
        widths = [m + (total - low) * (n - m) / lack for m, n in zip(minimum, natural,
                                                                      strict=True)]
    else:
        widths = [m * total / low for m in minimum]
    # Whole tenths of a point, the remainder to the widest column: exact sums, same bytes.
    widths = [math.floor(w * 10) / 10 for w in widths]
    widest = max(range(len(widths)), key=widths.__getitem__)
    widths[widest] = round(widths[widest] + total - sum(widths), 1)
    return widths


# --------------------------------------------------------------------------- composition


@dataclass(frozen=True)
class Composition:
    """Everything a renderer prints around and in one output, laid out on its page.

    Attributes
    ----------
    geometry : Geometry
    header : list of tuple of LinePart
        The study's header lines (``{page}``/``{pages}`` left for the renderer).
    title : list of str
        The title block: label, title, subtitle, population.
    notes : list of str
        Footnotes then the "Source: ..." line: printed at the foot of every page.
    footer : list of tuple of LinePart
        The study's footer lines.
    columns : ColumnLayout or None
        For a table or listing.
    name : str
        The output's file name (stem), for bookmarks and the book's contents.
    """

    geometry: Geometry
    header: list[tuple[LinePart, ...]]
    title: list[str]
    notes: list[str]
    footer: list[tuple[LinePart, ...]]
    columns: ColumnLayout | None
    name: str


#: What follows the output's label on every page but its first.
CONTINUED = " (continued)"


def compose(output: object, style: PageStyle, name: str = "", program: str = "") -> Composition:
    """Lay ``output`` out on ``style``'s page: header, title, notes and footer lines, the
    margins they need, and the columns.

    Parameters
    ----------
    output : Table, Listing or Figure
    style : PageStyle
    name : str
        The output's file name (``{output}``), e.g. ``"t_14_1_1_demographics"``.
    program : str
        The program that made it (``{program}``).
    """
    from tlf.document import Figure  # the content model imports nothing from here

    t = output.title  # type: ignore[attr-defined]
    title = [output.label, t.title, *([t.subtitle] if t.subtitle else []),  # type: ignore[attr-defined]
             t.population]
    source = output.source  # type: ignore[attr-defined]
    notes = [*output.footnotes, *([f"Source: {source}"] if source else [])]  # type: ignore[attr-defined]
    header = style.lines("header", name, program)
    footer = style.lines("footer", name, program)
    metrics = style.metrics
    # First with a provisional width, to know the margins; the text width does not depend
    # on them (only left and right margins, which are the study's).
    probe = style.geometry(output.landscape, 0, 0.0)  # type: ignore[attr-defined]
    width = probe.text_width
    title_lines = sum(line.count("\n") + 1 for line in title)
    label_width = metrics.width(output.label + CONTINUED, bold=True)  # type: ignore[attr-defined]
    title_lines += sum(metrics.lines(line, width) - (line.count("\n") + 1) for line in title[1:])
    title_lines += label_width > width
    header_lines = len(header) + (1 if header else 0) + title_lines
    note_lines = sum(metrics.lines(n, width) for n in notes)
    footer_height = (note_lines + (0.5 if notes else 0) + len(footer)) * metrics.line
    geometry = style.geometry(output.landscape, header_lines, footer_height)  # type: ignore[attr-defined]
    columns = None if isinstance(output, Figure) else _fitted(output, geometry.text_width,
                                                             metrics)
    return Composition(geometry, header, title, notes, footer, columns, name)


def _fitted(output: object, width: float, metrics: TextMetrics) -> ColumnLayout:
    """The column layout of a table, or of a listing in the largest font, down to
    :data:`SMALLEST_LISTING_FONT` in half points, whose words all fit unbroken."""
    from tlf.document import Listing

    layout = column_layout(output, width, metrics)
    size = metrics.size
    floor = min(size, SMALLEST_LISTING_FONT)
    while isinstance(output, Listing) and not layout.fits and size - 0.5 >= floor:
        size -= 0.5
        layout = column_layout(output, width, TextMetrics(metrics.font, size))
    return layout


def line_pieces(parts: Sequence[LinePart]) -> list[str | None]:
    """A header or footer line as every renderer writes it: its text cut around
    ``{page}`` and ``{pages}`` (kept as pieces of their own, for the format's page
    fields), and None where the line moves on to the next part's tab stop (centre or
    right).

    >>> line_pieces((LinePart("Page {page} of {pages}", "left"), LinePart("DRAFT", "right")))
    ['Page ', '{page}', ' of ', '{pages}', None, 'DRAFT']
    """
    pieces: list[str | None] = []
    position = "left"
    for part in parts:
        if part.align != position:
            pieces.append(None)
            position = part.align
        pieces += [p for p in re.split(r"(\{page\}|\{pages\})", part.text) if p]
    return pieces


def cell_text(value: object) -> str:
    """What a cell prints. Numbers were meant to arrive formatted; they print plainly.

    >>> cell_text(None), cell_text(3), cell_text("0.022")
    ('', '3', '0.022')
    """
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
