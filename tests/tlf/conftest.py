"""Small inline outputs shared by the TLF presentation-layer tests."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tlf.document import Column, ColumnGroup, Listing, Row, Table, TitleBlock


def write_png(path: Path, width: int = 40, height: int = 20) -> Path:
    """Write a small valid grey PNG without any imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + bytes([(x * 6) % 256 for x in range(width)])
                   for _ in range(height))
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


@pytest.fixture
def png_file() -> Callable[[Path], Path]:
    """``png_file(path)`` writes a 40 x 20 pixel PNG to ``path`` and returns the path."""
    return write_png


@pytest.fixture
def table() -> Table:
    """A demographics-like table with a spanning header, a section row and indentation."""
    columns = [
        Column("stat", "Characteristic", 2.0),
        Column("ptc", "PTC\n(N=108)", 1.0, "center"),
        Column("tc", "TC (N=111)", 1.0, "center"),
        Column("p", "p-value", 0.8, "right"),
    ]
    rows = [
        Row.section("Age (years)"),
        Row(("n", "108", "111", ""), indent=1),
        Row(("Median (range)", "55.0 (29, 82)", "56.0 (31, 80)", "0.412"), indent=1),
        Row.section("ECOG performance status"),
        Row(("0", "70 (64.8)", "73 (65.8)", None), indent=1),
        Row(("Sex & <other>", "0", "1 (0.9)", "<0.001"), indent=1),
    ]
    return Table(
        TitleBlock("14.1.1", "Demographic and Baseline Characteristics",
                   "Intent-to-Treat Population", subtitle="Randomised subjects"),
        columns, rows,
        footnotes=["PTC = pertuzumab + trastuzumab + chemotherapy.", "TC = trastuzumab + "
                   "chemotherapy."],
        source="t_dm.py; ADSL",
        column_groups=[ColumnGroup("Treatment arm", ("ptc", "tc"))],
    )


@pytest.fixture
def listing() -> Listing:
    """A short landscape listing whose cells include breaks, tabs and numbers."""
    columns = [Column("id", "Subject", 1.5), Column("term", "Preferred term", 2.0),
               Column("day", "Study day", 0.7, "right")]
    rows = [(f"PRECIOUS-101-{i:04d}", "Nausea" if i % 2 else "Rash\nmaculopapular", str(i))
            for i in range(1, 26)]
    return Listing(TitleBlock("16.2.7", "Adverse Events", "Safety Population"), columns, rows,
                   footnotes=["Study day 1 = day of randomisation."], source="l_ae.py; ADAE",
                   landscape=True)
