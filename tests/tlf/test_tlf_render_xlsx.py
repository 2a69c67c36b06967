"""Excel rendering: one sheet per output, values kept as given, reproducible files."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from tlf.document import Column, Figure, Listing, Table, TitleBlock
from tlf.render_xlsx import as_number, write_xlsx


def sheet_rows(ws) -> list[tuple]:  # noqa: ANN001 - an openpyxl worksheet
    return list(ws.iter_rows(values_only=True))


def test_table_layout_and_values(table: Table, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_xlsx(table, tmp_path / "t.xlsx"))
    assert wb.sheetnames == ["Table 14.1.1"]
    ws = wb["Table 14.1.1"]
    rows = sheet_rows(ws)
    assert [r[0] for r in rows[:4]] == ["Table 14.1.1", "Demographic and Baseline "
                                        "Characteristics", "Randomised subjects",
                                        "Intent-to-Treat Population"]
    assert ws["A1"].font.bold
    assert rows[4] == (None,) * 4
    assert rows[5] == (None, "Treatment arm", None, None)
    assert [str(r) for r in ws.merged_cells.ranges] == ["B6:C6"]
    assert rows[6] == tuple(c.header for c in table.columns)
    # Everything above the body is frozen and printed on every page.
    assert ws.freeze_panes == "A8"
    assert ws.print_title_rows == "$1:$7"
    body = rows[7:7 + len(table.body)]
    for got, row in zip(body, table.body, strict=True):
        want = list(row.cells) + [None] * (len(table.columns) - len(row.cells))
        # A plain number is stored as the number it shows.
        assert list(got) == [None if v == "" else (as_number(v)[0] if isinstance(v, str)
                                                   and as_number(v) else v) for v in want]
    assert ws["B9"].value == 108 and ws["B9"].number_format == "0"
    assert ws["D10"].value == 0.412 and ws["D10"].number_format == "0.000"
    assert ws["C10"].value == "56.0 (31, 80)" and ws["D13"].value == "<0.001"
    assert ws["A1"].font.name == ws["A2"].font.name or ws["A2"].font.name is None
    assert ws["A1"].font.name == "Calibri"  # bold keeps the typeface
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws["A8"].font.bold  # the section row
    assert ws["A9"].alignment.indent == 2  # indent level 1
    assert ws["B9"].alignment.horizontal == "center"
    tail = [r[0] for r in rows[7 + len(table.body):]]
    assert tail == [None, *table.footnotes, "Source: t_dm.py; ADSL"]
    widths = [ws.column_dimensions[c].width for c in "ABCD"]
    # At least the share of the page the columns ask for, and at least the content.
    assert widths[0] == pytest.approx(2 * widths[2]) and widths[1] == widths[2]
    assert widths[0] >= len("Characteristic") + 2


def test_numbers_stay_numbers_and_text_stays_text(tmp_path: Path) -> None:
    cols = [Column("a", "A"), Column("b", "B", align="right"), Column("c", "C")]
    t = Table(TitleBlock("1", "T", "P"), cols,
              [("=SUM(A1:A2)", 17, 2.5), ("#N/A", "17 (19.5)", "line 1\nline 2"),
               ("ctrl\x01char", None, 3)])
    ws = openpyxl.load_workbook(write_xlsx(t, tmp_path / "n.xlsx")).active
    first = 5  # label, title, population, blank row, column headers
    assert ws.cell(first + 1, 1).value == "=SUM(A1:A2)"
    assert ws.cell(first + 1, 1).data_type == "s"  # not a formula
    assert ws.cell(first + 1, 2).value == 17 and ws.cell(first + 1, 2).data_type == "n"
    assert ws.cell(first + 1, 3).value == 2.5
    assert ws.cell(first + 2, 1).value == "#N/A" and ws.cell(first + 2, 1).data_type == "s"
    assert ws.cell(first + 2, 2).value == "17 (19.5)"
    assert ws.cell(first + 2, 3).value == "line 1\nline 2"
    assert ws.cell(first + 2, 3).alignment.wrap_text
    assert ws.cell(first + 3, 1).value == "ctrlchar"
    assert ws.cell(first + 3, 3).value == 3


def test_one_sheet_per_output(table: Table, listing: Listing, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_xlsx([table, listing, table], tmp_path / "all.xlsx"))
    assert wb.sheetnames == ["Table 14.1.1", "Listing 16.2.7", "Table 14.1.1 (2)"]
    ws = wb["Listing 16.2.7"]
    assert ws.page_setup.orientation == "landscape"
    assert ws.freeze_panes == "A6"  # no subtitle, no spanning header
    assert ws.auto_filter.ref == "A5:C30"  # a filter on the listing's headers
    assert ws["C6"].value == 1  # study day as a number
    assert ws.column_dimensions["A"].width >= len("PRECIOUS-101-0001")
    assert [r[1] for r in sheet_rows(ws)[5:30]] == [r.cells[1] for r in listing.body]


def test_two_renders_are_byte_identical(table: Table, listing: Listing,
                                        tmp_path: Path) -> None:
    a = write_xlsx([table, listing], tmp_path / "a.xlsx").read_bytes()
    b = write_xlsx([table, listing], tmp_path / "b.xlsx").read_bytes()
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    props = openpyxl.load_workbook(tmp_path / "a.xlsx").properties
    assert props.created == props.modified == datetime(1980, 1, 1)
    assert props.creator == "trialflow"


def test_source_date_epoch_sets_the_times(table: Table, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    a = write_xlsx(table, tmp_path / "a.xlsx").read_bytes()
    assert a == write_xlsx(table, tmp_path / "b.xlsx").read_bytes()
    props = openpyxl.load_workbook(tmp_path / "a.xlsx").properties
    assert props.created == props.modified == datetime(2023, 11, 14, 22, 13, 20)


def test_written_atomically(table: Table, tmp_path: Path) -> None:
    target = tmp_path / "t.xlsx"
    target.write_bytes(b"old")
    write_xlsx(table, target)
    assert zipfile.is_zipfile(target)
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]


def test_figures_are_refused(tmp_path: Path, png_file: Callable[[Path], Path]) -> None:
    fig = Figure(TitleBlock("14.2.1", "KM", "ITT"), png_file(tmp_path / "km.png"))
    with pytest.raises(TypeError, match="write_docx"):
        write_xlsx(fig, tmp_path / "f.xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        write_xlsx([], tmp_path / "f.xlsx")
