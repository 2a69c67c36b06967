"""The content model validates itself and normalises what callers pass."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tlf.document import (
    Column,
    ColumnGroup,
    Figure,
    Listing,
    Row,
    Table,
    TitleBlock,
    rows_from_frame,
)

TITLE = TitleBlock("14.2.1", "Progression-Free Survival", "Intent-to-Treat Population")
COLS = [Column("a", "A"), Column("b", "B", 2.0, "center"), Column("c", "C", align="right")]


def test_labels() -> None:
    assert Table(TITLE, COLS, []).label == "Table 14.2.1"
    assert Listing(TITLE, COLS, []).label == "Listing 14.2.1"
    assert Figure(TITLE, Path("km.png")).label == "Figure 14.2.1"


def test_outputs_are_frozen_and_hashable(table: Table) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.source = "x"  # type: ignore[misc]
    assert hash(table) == hash(dataclasses.replace(table))
    assert isinstance(table.columns, tuple) and isinstance(table.footnotes, tuple)


def test_plain_sequences_become_rows() -> None:
    t = Table(TITLE, COLS, [["x", 1, None], ("y", 2.5, "z")], footnotes="one note")
    assert t.body == (Row(("x", 1, None)), Row(("y", 2.5, "z")))
    assert t.footnotes == ("one note",)


def test_dataframe_rows() -> None:
    frame = pd.DataFrame({"c": ["1", None, "3"], "a": ["x", "y", "z"],
                          "b": [np.int64(7), 8, 9], "ignored": [0, 0, 0]})
    frame.loc[1, "a"] = np.nan
    t = Table(TITLE, COLS, frame)
    assert [r.cells for r in t.body] == [("x", 7, "1"), (None, 8, None), ("z", 9, "3")]
    assert all(type(r.cells[1]) is int for r in t.body)


def test_rows_from_frame_kinds_and_indents() -> None:
    frame = pd.DataFrame({"a": ["Age", "n", "Mean"], "b": ["", "10", "5.1"],
                          "c": ["", "12", "5.3"]})
    rows = rows_from_frame(frame, COLS, kinds=["section", "data", "data"], indents=[0, 1, 1])
    assert rows[0] == Row.section("Age")
    assert rows[1] == Row(("n", "10", "12"), indent=1)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Table(TITLE, COLS, [("x", "y")]), "has 2 cells for 3 columns"),
    (lambda: Row(("a", "b"), kind="section"), "exactly one cell"),
    (lambda: Row(("a",), kind="total"), "Row.kind"),   # type: ignore[arg-type]
    (lambda: Row(("a",), indent=-1), "indent"),
    (lambda: Table(TITLE, [Column("a", "A"), Column("a", "B")], []), "duplicate column keys"),
    (lambda: Table(TITLE, [], []), "no columns"),
    (lambda: Table(TITLE, COLS, [], column_groups=[ColumnGroup("G", ("a", "x"))]),
     "unknown column"),
    (lambda: Table(TITLE, COLS, [], column_groups=[ColumnGroup("G", ("a", "c"))]),
     "adjacent"),
    (lambda: Table(TITLE, COLS, [], column_groups=[ColumnGroup("G", ("a", "b")),
                                                   ColumnGroup("H", ("b", "c"))]), "overlaps"),
    (lambda: Column("a", "A", width=0), "width"),
    (lambda: Column("a", "A", align="justify"), "align"),  # type: ignore[arg-type]
    (lambda: TitleBlock("14.1", "", "ITT"), "title"),
    (lambda: Table(TITLE, COLS, [("x", float("inf"), "z")]), "infinite"),
])
def test_invalid_content_is_rejected(make, message: str) -> None:  # noqa: ANN001
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_group_spans_cover_every_column_once() -> None:
    cols = [Column(k, k.upper()) for k in "abcde"]
    t = Table(TITLE, cols, [], column_groups=[ColumnGroup("BC", ("b", "c"))])
    assert t.group_spans() == [(0, 1, ""), (1, 2, "BC"), (3, 1, ""), (4, 1, "")]
