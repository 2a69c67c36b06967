"""Word rendering: the content lands where it should, and the file is reproducible."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from tlf.document import Column, Figure, Listing, Row, Table, TitleBlock
from tlf.page import PageStyle, TextMetrics, page_style
from tlf.render_docx import bookmark_name, write_docx
from trialflow.errors import TrialflowError
from trialflow.spec import OutputStyle


def cell_texts(tr) -> list[str]:  # noqa: ANN001 - a python-docx CT_Row
    """The text of each cell (w:tc) of a table row; w:br reads as "\\n", w:tab as "\\t"."""
    return ["\n".join(p.text for p in docx.table._Cell(tc, None).paragraphs)
            for tc in tr.tc_lst]


def expected_texts(row: Row) -> list[str]:
    return ["" if v is None else str(v) for v in row.cells]


def has_repeat_flag(tr) -> bool:  # noqa: ANN001
    return tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None


def header_texts(part) -> list[str]:  # noqa: ANN001 - a python-docx header or footer
    return [p.text for p in part.paragraphs]


def title_lines(part) -> list[str]:  # noqa: ANN001
    """The title block of a page header: the paragraphs after the blank line that ends
    the study's header lines."""
    texts = header_texts(part)
    return texts[texts.index("") + 1:]


def test_table_cells_headers_and_title_block(table: Table, tmp_path: Path) -> None:
    out = write_docx(table, tmp_path / "t.docx")
    d = docx.Document(str(out))
    assert len(d.tables) == 1
    trs = d.tables[0]._tbl.tr_lst
    # Spanning-header row, column-header row, then one row per body row.
    assert len(trs) == 2 + len(table.body)
    assert cell_texts(trs[0]) == ["", "Treatment arm", ""]
    assert cell_texts(trs[1]) == [c.header for c in table.columns]
    for tr, row in zip(trs[2:], table.body, strict=True):
        assert cell_texts(tr) == expected_texts(row)
    # Header rows repeat on every page; body rows do not.
    assert [has_repeat_flag(tr) for tr in trs] == [True, True] + [False] * len(table.body)

    section = d.sections[0]
    assert section.different_first_page_header_footer
    title = ["Table 14.1.1", "Demographic and Baseline Characteristics",
             "Randomised subjects", "Intent-to-Treat Population"]
    assert title_lines(section.first_page_header) == title
    # Every page but the first says the output continues.
    assert title_lines(section.header) == ["Table 14.1.1 (continued)", *title[1:]]
    # Footnotes and the source line are in the footer of every page, not after the table.
    for footer in (section.first_page_footer, section.footer):
        assert header_texts(footer)[:3] == [*table.footnotes, "Source: t_dm.py; ADSL"]
    assert [p.text for p in d.paragraphs] == [""]
    assert section.orientation == WD_ORIENT.PORTRAIT


def test_section_rows_span_and_indent(table: Table, tmp_path: Path) -> None:
    d = docx.Document(str(write_docx(table, tmp_path / "t.docx")))
    trs = d.tables[0]._tbl.tr_lst
    section_tc = trs[2].tc_lst[0]
    assert section_tc.grid_span == len(table.columns)
    assert section_tc.xpath(".//w:b")  # bold
    first_data_p = trs[3].tc_lst[0].p_lst[0]
    assert first_data_p.pPr.ind.left.twips == 180  # indent level 1


def test_numbers_are_decimal_aligned_and_do_not_wrap(table: Table, tmp_path: Path) -> None:
    d = docx.Document(str(write_docx(table, tmp_path / "t.docx")))
    trs = d.tables[0]._tbl.tr_lst

    def indent(tr, j: int) -> int:  # noqa: ANN001
        ind = tr.tc_lst[j].p_lst[0].pPr.ind
        return 0 if ind is None or ind.left is None else ind.left.twips

    # "108" / "55.0 (29, 82)" / "70 (64.8)" / "0": the units digits line up, so a
    # number one digit shorter starts one digit (4.5 pt at 9 pt = 90 twips) further right.
    n, median, ecog, zero = (indent(trs[k], 1) for k in (3, 4, 6, 7))
    assert median - n == 90 and ecog - n == 90 and zero - n == 180
    assert all(trs[k].tc_lst[1].tcPr.find(qn("w:noWrap")) is not None for k in (3, 4, 6, 7))
    # The widest cell fits its column: numbers never wrap.
    widths = [int(g.get(qn("w:w"))) for g in d.tables[0]._tbl.tblGrid.iter(qn("w:gridCol"))]
    assert widths[1] >= 20 * 9 * 0.5 * len("55.0 (29, 82)") * 0.9


def test_page_x_of_y_and_study_lines_in_the_header(table: Table, tmp_path: Path) -> None:
    style = page_style(None, OutputStyle(status="draft"), when="2024-01-02")
    style = PageStyle(**{**{f: getattr(style, f) for f in style.__dataclass_fields__},
                         "fields": {**style.fields, "protocol": "P-1",
                                    "data_cutoff": "2023-12-31"}})
    d = docx.Document(str(write_docx(table, tmp_path / "t.docx", style=style,
                                     names=["t_14_1_1_dm"], programs=["t_dm.py"])))
    section = d.sections[0]
    header = section.first_page_header._element
    assert [t.text.strip() for t in header.iter(qn("w:instrText"))] == ["PAGE", "NUMPAGES"]
    texts = header_texts(section.first_page_header)
    assert texts[:2] == ["Protocol: P-1\tDRAFT", "Data cut-off: 2023-12-31\tPage 1 of 1"]
    assert header_texts(section.footer)[-1] == (
        "Output: t_14_1_1_dm\tProgram: t_dm.py\tRun date: 2024-01-02")


def test_several_outputs_one_section_each(table: Table, listing: Listing,
                                          tmp_path: Path) -> None:
    d = docx.Document(str(write_docx([table, listing], tmp_path / "both.docx")))
    assert len(d.sections) == 2
    portrait, landscape = d.sections
    assert portrait.orientation == WD_ORIENT.PORTRAIT
    assert portrait.page_width < portrait.page_height
    assert landscape.orientation == WD_ORIENT.LANDSCAPE
    assert landscape.page_width > landscape.page_height
    assert title_lines(landscape.first_page_header)[0] == "Listing 16.2.7"
    assert header_texts(landscape.footer)[0] == "Study day 1 = day of randomisation."
    # Each output numbers its own pages: restart at 1, "of" the section's pages.
    for section in d.sections:
        assert section._sectPr.find(qn("w:pgNumType")).get(qn("w:start")) == "1"
        instr = [t.text.strip() for t in section.first_page_header._element.iter(
            qn("w:instrText"))]
        assert instr == ["PAGE", "SECTIONPAGES"]
    # The listing's line breaks come back as breaks.
    trs = d.tables[1]._tbl.tr_lst
    assert cell_texts(trs[2]) == expected_texts(listing.body[1])
    assert "\n" in cell_texts(trs[2])[1]


def test_contents_link_to_a_bookmark_per_output(table: Table, listing: Listing,
                                                tmp_path: Path) -> None:
    d = docx.Document(str(write_docx([table, listing], tmp_path / "book.docx",
                                     contents=True)))
    body = d.element.body
    marks = [b.get(qn("w:name")) for b in body.iter(qn("w:bookmarkStart"))]
    links = [h.get(qn("w:anchor")) for h in body.iter(qn("w:hyperlink"))]
    assert marks == links == [bookmark_name(0), bookmark_name(1)]
    assert d.paragraphs[0].text == "Table of Contents"
    assert d.paragraphs[1].text.startswith("Table 14.1.1\tDemographic")
    assert len(d.sections) == 3


def test_listing_columns_fit_their_longest_word(tmp_path: Path) -> None:
    words = ["RECOVERED/RESOLVED", "DRUG WITHDRAWN", "Hypersensitivity", "RELATED"]
    columns = [Column(f"c{j}", f"Column {j}", 1.0) for j in range(6)]
    rows = [tuple(words[(i + j) % 4] for j in range(6)) for i in range(8)]
    listing = Listing(TitleBlock("16.2.9", "AEs", "Safety"), columns, rows, landscape=True)
    d = docx.Document(str(write_docx(listing, tmp_path / "l.docx")))
    widths = [int(g.get(qn("w:w"))) / 20 for g in d.tables[0]._tbl.tblGrid.iter(
        qn("w:gridCol"))]
    longest = TextMetrics("Times New Roman", 8.5).width("RECOVERED/RESOLVED")
    # Six columns of "RECOVERED/RESOLVED" (103.5 pt each at 9 pt) do not fit 648 pt at
    # 9 pt with their padding: the listing is set in 8.5 pt, where every column is wider
    # than its longest word, so no word breaks.
    assert all(w > longest for w in widths)
    assert d.tables[0]._tbl.xpath(".//w:pStyle[@w:val='TFText17']")
    assert abs(sum(widths) - 648) < 0.1  # landscape letter, 1 inch margins


def test_figure_is_embedded(tmp_path: Path, png_file: Callable[[Path], Path]) -> None:
    png = png_file(tmp_path / "km.png")
    fig = Figure(TitleBlock("14.2.1", "Kaplan-Meier Plot of PFS", "ITT Population"), png,
                 footnotes=["+ censored."], source="f_km.py; ADTTE", landscape=True)
    out = write_docx(fig, tmp_path / "f.docx")
    d = docx.Document(str(out))
    assert len(d.inline_shapes) == 1
    images = [p for p in d.part.package.iter_parts() if p.content_type == "image/png"]
    assert len(images) == 1 and images[0].blob == png.read_bytes()
    section = d.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    shape = d.inline_shapes[0]
    usable = section.page_width - section.left_margin - section.right_margin
    assert shape.width <= usable
    assert abs(shape.height / shape.width - 0.5) < 0.01  # aspect ratio kept (40 x 20 px)
    assert header_texts(section.footer)[:2] == ["+ censored.", "Source: f_km.py; ADTTE"]


def test_figure_must_be_a_png(tmp_path: Path) -> None:
    title = TitleBlock("14.2.1", "KM", "ITT")
    with pytest.raises(FileNotFoundError):
        write_docx(Figure(title, tmp_path / "missing.png"), tmp_path / "f.docx")
    (tmp_path / "fake.png").write_bytes(b"GIF89a not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        write_docx(Figure(title, tmp_path / "fake.png"), tmp_path / "f.docx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.png"]


def test_two_renders_are_byte_identical(table: Table, listing: Listing, tmp_path: Path,
                                        png_file: Callable[[Path], Path]) -> None:
    png = png_file(tmp_path / "km.png")
    fig = Figure(TitleBlock("14.2.1", "KM", "ITT"), png)
    names = ["t", "l", "f"]
    a = write_docx([table, listing, fig], tmp_path / "a.docx", names=names).read_bytes()
    b = write_docx([table, listing, fig], tmp_path / "b.docx", names=names).read_bytes()
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.docx") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "docProps/thumbnail.jpeg" not in zf.namelist()
    props = docx.Document(str(tmp_path / "a.docx")).core_properties
    assert props.created == props.modified == datetime(1980, 1, 1, tzinfo=UTC)


def test_source_date_epoch_sets_the_times(table: Table, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    a = write_docx(table, tmp_path / "a.docx", names=["t"]).read_bytes()
    b = write_docx(table, tmp_path / "b.docx", names=["t"]).read_bytes()
    assert a == b
    props = docx.Document(str(tmp_path / "a.docx")).core_properties
    assert props.created == props.modified == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    with zipfile.ZipFile(tmp_path / "a.docx") as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(TrialflowError, match="SOURCE_DATE_EPOCH"):
        write_docx(table, tmp_path / "c.docx")


def test_written_atomically(table: Table, tmp_path: Path) -> None:
    target = tmp_path / "out" / "t.docx"
    target.parent.mkdir()
    target.write_bytes(b"old")
    write_docx(table, target)
    assert zipfile.is_zipfile(target)
    assert [p.name for p in target.parent.iterdir()] == ["t.docx"]  # no temporary left


def test_rejects_what_it_cannot_render(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        write_docx([], tmp_path / "x.docx")
    with pytest.raises(TypeError):
        write_docx(["not an output"], tmp_path / "x.docx")  # type: ignore[list-item]
