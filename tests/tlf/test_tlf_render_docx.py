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
from tlf.render_docx import write_docx
from trialflow.errors import TrialflowError


def cell_texts(tr) -> list[str]:  # noqa: ANN001 - a python-docx CT_Row
    """The text of each cell (w:tc) of a table row; w:br reads as "\\n", w:tab as "\\t"."""
    return ["\n".join(p.text for p in docx.table._Cell(tc, None).paragraphs)
            for tc in tr.tc_lst]


def expected_texts(row: Row) -> list[str]:
    return ["" if v is None else str(v) for v in row.cells]


def has_repeat_flag(tr) -> bool:  # noqa: ANN001
    return tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None


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
    assert [p.text for p in section.header.paragraphs] == [
        "Table 14.1.1", "Demographic and Baseline Characteristics", "Randomised subjects",
        "Intent-to-Treat Population"]
    body_text = [p.text for p in d.paragraphs]
    assert body_text == [*table.footnotes, "Source: t_dm.py; ADSL"]
    assert section.orientation == WD_ORIENT.PORTRAIT


def test_section_rows_span_and_indent(table: Table, tmp_path: Path) -> None:
    d = docx.Document(str(write_docx(table, tmp_path / "t.docx")))
    trs = d.tables[0]._tbl.tr_lst
    section_tc = trs[2].tc_lst[0]
    assert section_tc.grid_span == len(table.columns)
    assert section_tc.xpath(".//w:b")  # bold
    first_data_p = trs[3].tc_lst[0].p_lst[0]
    assert first_data_p.pPr.ind.left.twips == 180  # indent level 1
    assert trs[3].tc_lst[1].p_lst[0].pPr.jc is not None  # centred column


def test_footer_has_page_x_of_y_fields(table: Table, tmp_path: Path) -> None:
    d = docx.Document(str(write_docx(table, tmp_path / "t.docx")))
    footer = d.sections[0].footer._element
    instructions = [t.text.strip() for t in footer.iter(qn("w:instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert "Page" in footer.xpath("string(.)") and " of " in footer.xpath("string(.)")


def test_several_outputs_one_section_each(table: Table, listing: Listing,
                                          tmp_path: Path) -> None:
    d = docx.Document(str(write_docx([table, listing], tmp_path / "both.docx")))
    assert len(d.sections) == 2
    portrait, landscape = d.sections
    assert portrait.orientation == WD_ORIENT.PORTRAIT
    assert portrait.page_width < portrait.page_height
    assert landscape.orientation == WD_ORIENT.LANDSCAPE
    assert landscape.page_width > landscape.page_height
    assert landscape.header.paragraphs[0].text == "Listing 16.2.7"
    assert landscape.footer.is_linked_to_previous  # the same 'Page X of Y' footer
    # The listing's line breaks come back as breaks.
    trs = d.tables[1]._tbl.tr_lst
    assert cell_texts(trs[2]) == expected_texts(listing.body[1])
    assert "\n" in cell_texts(trs[2])[1]
    # No stray empty paragraph between the outputs: the first section ends in its source line.
    assert [p.text for p in d.paragraphs][:3] == [*table.footnotes, "Source: t_dm.py; ADSL"]


def test_text_is_escaped_and_cleaned(tmp_path: Path) -> None:
    cols = [Column("a", "A & <B>"), Column("b", "B")]
    t = Table(TitleBlock("1", "T <1>", "P & Q"), cols,
              [("x < y & z > w", "tab\there"), ("ctrl\x01char", 3.5), ("", None)])
    d = docx.Document(str(write_docx(t, tmp_path / "e.docx")))
    trs = d.tables[0]._tbl.tr_lst
    assert cell_texts(trs[0]) == ["A & <B>", "B"]
    assert cell_texts(trs[1]) == ["x < y & z > w", "tab\there"]
    assert cell_texts(trs[2]) == ["ctrlchar", "3.5"]  # the control character is dropped
    assert cell_texts(trs[3]) == ["", ""]
    assert d.sections[0].header.paragraphs[1].text == "T <1>"


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
    assert [p.text for p in d.paragraphs][1:] == ["+ censored.", "Source: f_km.py; ADTTE"]


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
    a = write_docx([table, listing, fig], tmp_path / "a.docx").read_bytes()
    b = write_docx([table, listing, fig], tmp_path / "b.docx").read_bytes()
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.docx") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "docProps/thumbnail.jpeg" not in zf.namelist()
    props = docx.Document(str(tmp_path / "a.docx")).core_properties
    assert props.created == props.modified == datetime(1980, 1, 1, tzinfo=UTC)


def test_source_date_epoch_sets_the_times(table: Table, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    a = write_docx(table, tmp_path / "a.docx").read_bytes()
    b = write_docx(table, tmp_path / "b.docx").read_bytes()
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
