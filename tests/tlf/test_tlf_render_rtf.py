"""RTF rendering: the file's structure (rows, repeated header rows, page setup, fonts)
parsed back, and its text equal to the Word file's cells."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from tlf.document import Column, Figure, Listing, Table, TitleBlock
from tlf.page import PageStyle, page_style
from tlf.render_docx import write_docx
from tlf.render_rtf import escape_rtf, write_rtf
from trialflow.spec import OutputStyle

_CONTROL = re.compile(r"\\([a-zA-Z]+)(-?\d+)? ?|\\([\\{}])|\\'([0-9a-f]{2})|([{}])|\n")


def rtf_text(rtf: str) -> str:
    """The text of an RTF fragment: control words dropped, escapes and \\uN undone."""
    out = []
    pos = 0
    skip_fallback = False
    for m in _CONTROL.finditer(rtf):
        chunk = rtf[pos:m.start()]
        if skip_fallback and chunk:
            chunk, skip_fallback = chunk[1:], False
        out.append(chunk)
        pos = m.end()
        word, number, escaped = m.group(1), m.group(2), m.group(3)
        if escaped:
            out.append(escaped)
        elif word == "u":
            value = int(number)
            out.append(chr(value + 65536 if value < 0 else value))
            skip_fallback = True
        elif word == "line":
            out.append("\n")
        elif word == "tab":
            out.append("\t")
    rest = rtf[pos:]
    out.append(rest[1:] if skip_fallback and rest else rest)
    # Characters beyond the BMP come as two \\u surrogates: join them.
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")


def rows_of(rtf: str) -> list[tuple[str, list[str]]]:
    """Each table row as (row definition, cell texts)."""
    rows = []
    for block in rtf.split("\\trowd")[1:]:
        body = block.split("\\row")[0]
        definition = body.split("\\pard", 1)[0]
        cells = [rtf_text(c.split("\\plain", 1)[1]).strip() if "\\plain" in c else ""
                 for c in ("\\pard" + body.split("\\pard", 1)[1]).split("\\cell")[:-1]]
        rows.append((definition, cells))
    return rows


def docx_rows(path: Path) -> list[list[str]]:
    d = docx.Document(str(path))
    return [["\n".join(p.text for p in docx.table._Cell(tc, None).paragraphs)
             for tc in tr.tc_lst] for t in d.tables for tr in t._tbl.tr_lst]


def test_rows_and_repeated_headers_match_the_docx(table: Table, tmp_path: Path) -> None:
    rtf = write_rtf(table, tmp_path / "t.rtf").read_text(encoding="ascii")
    rows = rows_of(rtf)
    # Spanning-header row, column-header row, body rows: as in the Word file, cell by cell.
    assert [cells for _, cells in rows] == docx_rows(write_docx(table, tmp_path / "t.docx"))
    flags = ["\\trhdr" in definition for definition, _ in rows]
    assert flags == [True, True] + [False] * len(table.body)
    assert all("\\trkeep" in d for d, _ in rows)
    # Numbers are aligned by indents and never wrap.
    n_row = rows[3][0]
    assert n_row.count("\\clNoWrap") == 3


def test_page_setup_fonts_header_and_footer(table: Table, listing: Listing,
                                            tmp_path: Path) -> None:
    style = page_style(None, OutputStyle(page_size="a4", font="Arial", font_size=10,
                                         status="draft"), when="2024-01-02")
    rtf = write_rtf([table, listing], tmp_path / "b.rtf", style=style,
                    names=["t_dm", "l_ae"], programs=["t.py", "l.py"]).read_text("ascii")
    assert rtf.startswith("{\\rtf1\\ansi")
    assert "{\\fonttbl{\\f0\\fswiss\\fcharset0 Arial;}}" in rtf
    assert "\\fs20" in rtf
    sections = rtf.split("\\sectd")[1:]
    assert len(sections) == 2
    # A4 portrait, then A4 landscape; each restarts its page numbers.
    assert "\\pgwsxn11906\\pghsxn16838" in sections[0] and "\\lndscpsxn" not in sections[0]
    assert "\\pgwsxn16838\\pghsxn11906\\lndscpsxn" in sections[1]
    for s, label in zip(sections, ["Table 14.1.1", "Listing 16.2.7"], strict=True):
        assert "\\titlepg" in s and "\\pgnrestart\\pgnstarts1" in s
        first = s.split("{\\headerf ")[1].split("}{\\header ")[0]
        later = s.split("{\\header ")[1].split("}{\\footerf ")[0]
        assert f"\\b {label}\\par" in first and f"\\b {label} (continued)\\par" in later
        assert "DRAFT" in rtf_text(first) and "{\\*\\fldinst PAGE}" in first
        assert "{\\*\\fldinst SECTIONPAGES}" in first
        footer = rtf_text(s.split("{\\footer ")[1])
        assert "Run date: 2024-01-02" in footer
    assert "Study day 1 = day of randomisation." in rtf_text(sections[1].split("{\\footer ")[1])


def test_single_output_counts_the_file_pages(table: Table, tmp_path: Path) -> None:
    rtf = write_rtf(table, tmp_path / "t.rtf").read_text("ascii")
    assert "{\\*\\fldinst NUMPAGES}" in rtf and "SECTIONPAGES" not in rtf
    assert "\\paperw12240\\paperh15840" in rtf  # letter, the default


def test_text_is_escaped(tmp_path: Path) -> None:
    t = Table(TitleBlock("1", "T {1}", "P"), [Column("a", "A\\B"), Column("b", "≥180 µg")],
              [("x {y} \\ z", "é\tü\nß"), ("ctrl\x01char", "𝛼")])
    rtf = write_rtf(t, tmp_path / "e.rtf").read_text("ascii")
    cells = [c for _, c in rows_of(rtf)]
    assert cells == [["A\\B", "≥180 µg"], ["x {y} \\ z", "é\tü\nß"], ["ctrlchar", "𝛼"]]
    assert escape_rtf("≥") == "\\u8805?"


def test_figure_is_embedded_as_png(tmp_path: Path, png_file: Callable[[Path], Path]) -> None:
    png = png_file(tmp_path / "km.png")
    fig = Figure(TitleBlock("14.2.1", "KM", "ITT"), png, footnotes=["+ censored."],
                 landscape=True)
    rtf = write_rtf(fig, tmp_path / "f.rtf").read_text("ascii")
    pict = rtf.split("{\\pict\\pngblip")[1].split("}")[0]
    assert "\\picw40\\pich20" in pict
    assert bytes.fromhex("".join(pict.split("\n", 1)[1].split())) == png.read_bytes()


def test_same_content_same_bytes(table: Table, listing: Listing, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    style = PageStyle()
    a = write_rtf([table, listing], tmp_path / "a.rtf", style=style, names=["t", "l"])
    b = write_rtf([table, listing], tmp_path / "b.rtf", style=style, names=["t", "l"])
    assert a.read_bytes() == b.read_bytes()
    assert "\\creatim\\yr2023\\mo11\\dy14\\hr22\\min13" in a.read_text("ascii")
