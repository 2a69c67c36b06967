"""The content model of a table, listing or figure: small typed parts, no layout code.

An output is composed of a few frozen dataclasses, in the manner of rtflite:

* :class:`TitleBlock`: output number, title, optional subtitle, population;
* :class:`Column` and :class:`ColumnGroup` (a spanning header over adjacent columns);
* :class:`Row`: one line of the body, a data row or a section header, optionally indented;
* :class:`Table`, :class:`Listing` and :class:`Figure`: the outputs themselves.

The content is what is printed. Cells hold display strings — numbers already formatted
by the caller (see :mod:`tlf.format`), headers already reading "Placebo (N=86)". Renderers
(:mod:`tlf.render_docx`, :mod:`tlf.render_xlsx`) only lay the content out; they compute
nothing. A cell may also hold an ``int`` or ``float``: the spreadsheet renderer keeps
it numeric, the Word renderer prints ``str(value)``. ``None`` is an empty cell.

Every part validates itself on construction, so a renderer never meets a row with the
wrong number of cells or a spanning header over columns that do not exist.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias, cast, get_args

import numpy as np
import pandas as pd

__all__ = [
    "Align",
    "CellValue",
    "Column",
    "ColumnGroup",
    "Figure",
    "Listing",
    "Output",
    "Row",
    "RowKind",
    "Table",
    "TitleBlock",
    "rows_from_frame",
]

Align: TypeAlias = Literal["left", "center", "right"]
#: ``"data"``: one cell per column. ``"section"``: a single cell that spans the whole
#: width, printed bold — the header of a block of rows ("Age (years)", a system organ class).
RowKind: TypeAlias = Literal["data", "section"]
CellValue: TypeAlias = str | int | float | None

_ALIGNS: frozenset[str] = frozenset(get_args(Align))
_ROW_KINDS: frozenset[str] = frozenset(get_args(RowKind))


@dataclass(frozen=True, slots=True)
class TitleBlock:
    """The lines printed above an output.

    Parameters
    ----------
    output_id : str
        The output's number without its kind, e.g. ``"14.2.1"``; the renderers print
        "Table 14.2.1", "Listing 16.2.4" or "Figure 14.2.1" (see ``Table.label``).
    title : str
        The title, e.g. ``"Progression-Free Survival"``.
    population : str
        The analysis population as it should read, e.g. ``"Intent-to-Treat Population"``.
    subtitle : str or None, default None
        An optional second title line.
    """

    output_id: str
    title: str
    population: str
    subtitle: str | None = None

    def __post_init__(self) -> None:
        for name in ("output_id", "title", "population"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"TitleBlock.{name} must be a non-empty string, got {value!r}")
        if self.subtitle is not None and not isinstance(self.subtitle, str):
            raise ValueError(f"TitleBlock.subtitle must be a string or None, got {self.subtitle!r}")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table or listing.

    Parameters
    ----------
    key : str
        Identifies the column: the name of the DataFrame column that holds its values
        when the rows are given as a DataFrame, and what :class:`ColumnGroup` refers to.
    header : str
        The header text as printed, e.g. ``"Placebo (N=86)"``; ``"\\n"`` breaks the line.
    width : float, default 1.0
        Relative width: the renderers share the page width in proportion to it.
    align : {"left", "center", "right"}, default "left"
        Alignment of the header and of the cells.
    """

    key: str
    header: str
    width: float = 1.0
    align: Align = "left"

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"Column.key must be a non-empty string, got {self.key!r}")
        if not isinstance(self.header, str):
            raise ValueError(f"Column {self.key!r}: header must be a string")
        if not (isinstance(self.width, int | float) and math.isfinite(self.width)
                and self.width > 0):
            raise ValueError(f"Column {self.key!r}: width must be a positive number, "
                             f"got {self.width!r}")
        if self.align not in _ALIGNS:
            raise ValueError(f"Column {self.key!r}: align must be one of {sorted(_ALIGNS)}, "
                             f"got {self.align!r}")


@dataclass(frozen=True, slots=True)
class ColumnGroup:
    """A spanning header printed above adjacent columns, e.g. "Xanomeline arms".

    Parameters
    ----------
    header : str
        The spanning header text.
    keys : tuple of str
        The keys of the columns it spans; they must be adjacent, in table order.
    """

    header: str
    keys: Sequence[str]

    def __post_init__(self) -> None:
        if isinstance(self.keys, str):
            raise TypeError(f"ColumnGroup {self.header!r}: keys must be a sequence of column "
                            "keys, not one string")
        object.__setattr__(self, "keys", tuple(self.keys))
        if not self.keys:
            raise ValueError(f"ColumnGroup {self.header!r} spans no columns")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a table body.

    Parameters
    ----------
    cells : tuple of CellValue
        One value per column for a data row; exactly one (the text) for a section row.
    kind : {"data", "section"}, default "data"
        A section row is a bold heading spanning all columns.
    indent : int, default 0
        Indentation level of the first cell (each level is a fixed step).
    """

    cells: Sequence[CellValue]
    kind: RowKind = "data"
    indent: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "cells", tuple(self.cells))
        if self.kind not in _ROW_KINDS:
            raise ValueError(f"Row.kind must be one of {sorted(_ROW_KINDS)}, got {self.kind!r}")
        if self.kind == "section" and len(self.cells) != 1:
            raise ValueError(f"a section row has exactly one cell, got {len(self.cells)}")
        if not isinstance(self.indent, int) or self.indent < 0:
            raise ValueError(f"Row.indent must be a non-negative int, got {self.indent!r}")

    @classmethod
    def section(cls, text: str, indent: int = 0) -> Row:
        """A section-header row spanning the table, e.g. ``Row.section("Age (years)")``."""
        return cls((text,), kind="section", indent=indent)


def _cell(value: object) -> CellValue:
    """Normalise one value from a DataFrame or a caller's sequence to a CellValue."""
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        # A flag is shown as text; as a number Excel would show TRUE/1 unpredictably.
        return str(bool(value))
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise ValueError("a cell cannot hold an infinite number; pass display text")
        return value
    raise TypeError(f"a cell must be a str, int, float or None, got {type(value).__name__} "
                    f"{value!r}")


def rows_from_frame(frame: pd.DataFrame, columns: Sequence[Column],
                    kinds: Sequence[RowKind] | None = None,
                    indents: Sequence[int] | None = None) -> tuple[Row, ...]:
    """Turn a DataFrame of display values into rows, one per DataFrame row.

    Parameters
    ----------
    frame : pandas.DataFrame
        Must have a column named after every ``Column.key``; other columns are ignored.
        Missing values (NaN, None, NA) become empty cells.
    columns : sequence of Column
        The output's columns, in order.
    kinds : sequence of RowKind, optional
        Kind of each row; a section row takes its text from the first column.
    indents : sequence of int, optional
        Indentation level of each row.

    Returns
    -------
    tuple of Row
    """
    keys = [c.key for c in columns]
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise ValueError(f"the DataFrame has no column(s) {missing}; it has {list(frame.columns)}")
    n = len(frame)
    for name, seq in (("kinds", kinds), ("indents", indents)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} entries for {n} rows")
    values = frame[keys].to_numpy(dtype=object)
    rows = []
    for i in range(n):
        kind: RowKind = kinds[i] if kinds is not None else "data"
        cells = tuple(_cell(v) for v in values[i])
        rows.append(Row(cells[:1] if kind == "section" else cells, kind,
                        int(indents[i]) if indents is not None else 0))
    return tuple(rows)


def _as_rows(rows: Iterable[Row | Sequence[CellValue]] | pd.DataFrame,
             columns: Sequence[Column]) -> tuple[Row, ...]:
    if isinstance(rows, pd.DataFrame):
        return rows_from_frame(rows, columns)
    out = []
    for r in rows:
        if isinstance(r, Row):
            out.append(r)
        elif isinstance(r, str):
            raise TypeError("a row must be a Row or a sequence of cells, not a string")
        else:
            out.append(Row(tuple(_cell(v) for v in r)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Tabular:
    """What tables and listings share; see :class:`Table`."""

    title: TitleBlock
    columns: Sequence[Column]
    rows: Sequence[Row | Sequence[CellValue]] | pd.DataFrame
    footnotes: Sequence[str] = ()
    source: str = ""
    landscape: bool = False
    column_groups: Sequence[ColumnGroup] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.title, TitleBlock):
            raise TypeError("title must be a TitleBlock")
        columns = tuple(self.columns)
        if not all(isinstance(c, Column) for c in columns):
            raise TypeError(f"{self.label}: columns must be Column objects")
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "rows", _as_rows(self.rows, columns))
        footnotes = (self.footnotes,) if isinstance(self.footnotes, str) else self.footnotes
        object.__setattr__(self, "footnotes", tuple(footnotes))
        object.__setattr__(self, "column_groups", tuple(self.column_groups))
        if not all(isinstance(f, str) for f in self.footnotes):
            raise TypeError(f"{self.label}: footnotes must be strings")
        if not columns:
            raise ValueError(f"{self.label}: no columns")
        keys = [c.key for c in columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.label}: duplicate column keys in {keys}")
        ncol = len(columns)
        for i, row in enumerate(self.body):
            if row.kind == "data" and len(row.cells) != ncol:
                raise ValueError(f"{self.label}: row {i} has {len(row.cells)} cells for "
                                 f"{ncol} columns: {row.cells!r}")
        self._check_groups(keys)
        if not isinstance(self.source, str):
            raise TypeError(f"{self.label}: source must be a string")

    def _check_groups(self, keys: list[str]) -> None:
        taken: set[int] = set()
        for g in self.column_groups:
            unknown = [k for k in g.keys if k not in keys]
            if unknown:
                raise ValueError(f"{self.label}: column group {g.header!r} names unknown "
                                 f"column(s) {unknown}")
            pos = [keys.index(k) for k in g.keys]
            if pos != list(range(pos[0], pos[0] + len(pos))):
                raise ValueError(f"{self.label}: column group {g.header!r} must span adjacent "
                                 f"columns in table order, got {list(g.keys)}")
            if taken & set(pos):
                raise ValueError(f"{self.label}: column group {g.header!r} overlaps another")
            taken |= set(pos)

    kind_name = "Table"

    @property
    def label(self) -> str:
        """The output's name as printed, e.g. ``"Table 14.2.1"``."""
        return f"{self.kind_name} {self.title.output_id}"

    @property
    def body(self) -> tuple[Row, ...]:
        """The rows, normalised to :class:`Row` objects (``rows`` as given may be a frame)."""
        return cast(tuple[Row, ...], self.rows)

    def group_spans(self) -> list[tuple[int, int, str]]:
        """The spanning-header row as ``(first column index, column count, text)``.

        Columns under no group appear as spans of one with empty text, so the spans
        cover every column exactly once, left to right.
        """
        keys = [c.key for c in self.columns]
        starts = {keys.index(g.keys[0]): g for g in self.column_groups}
        spans, i = [], 0
        while i < len(keys):
            g = starts.get(i)
            if g is None:
                spans.append((i, 1, ""))
                i += 1
            else:
                spans.append((i, len(g.keys), g.header))
                i += len(g.keys)
        return spans


@dataclass(frozen=True, slots=True)
class Table(_Tabular):
    """A summary table.

    Parameters
    ----------
    title : TitleBlock
    columns : sequence of Column
    rows : sequence of Row (or of cell sequences), or pandas.DataFrame
        The body. A DataFrame must have one column per ``Column.key`` and gives data rows
        only; use :func:`rows_from_frame` for section rows and indentation.
    footnotes : sequence of str, default ()
        Printed below the body, one paragraph each, in order.
    source : str, default ""
        Program and dataset names, printed as "Source: ..." after the footnotes.
    landscape : bool, default False
        Print on landscape pages.
    column_groups : sequence of ColumnGroup, default ()
        Spanning headers, printed on one row above the column headers.
    """

    kind_name = "Table"


@dataclass(frozen=True, slots=True)
class Listing(_Tabular):
    """A patient listing: the same shape as :class:`Table`, usually with many rows."""

    kind_name = "Listing"


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure: a PNG image with its title block, footnotes and source.

    Parameters
    ----------
    title : TitleBlock
    image_png : pathlib.Path
        The PNG file to embed; it is read when the document is rendered.
    footnotes : sequence of str, default ()
    source : str, default ""
    landscape : bool, default False
    trace : sequence of (str, str, str), default ()
        Every text the image prints that holds numbers, as ``(element, position,
        text)`` (e.g. ``("at risk", "Placebo @ 20", "52")``): how the figure's numbers trace
        to ARD rows (:class:`tlf.outputs.cells.Text`). Not rendered.
    """

    title: TitleBlock
    image_png: Path
    footnotes: Sequence[str] = ()
    source: str = ""
    landscape: bool = False
    trace: Sequence[tuple[str, str, str]] = ()

    kind_name = "Figure"

    def __post_init__(self) -> None:
        if not isinstance(self.title, TitleBlock):
            raise TypeError("title must be a TitleBlock")
        object.__setattr__(self, "image_png", Path(self.image_png))
        footnotes = (self.footnotes,) if isinstance(self.footnotes, str) else self.footnotes
        object.__setattr__(self, "footnotes", tuple(footnotes))
        if not all(isinstance(f, str) for f in self.footnotes):
            raise TypeError(f"{self.label}: footnotes must be strings")
        if not isinstance(self.source, str):
            raise TypeError(f"{self.label}: source must be a string")

    @property
    def label(self) -> str:
        """The output's name as printed, e.g. ``"Figure 14.2.1"``."""
        return f"{self.kind_name} {self.title.output_id}"


Output: TypeAlias = Table | Listing | Figure
