"""Benchmark: render a 100,000-row listing to Word and print the seconds it takes.

Run from the repository root::

    .venv/bin/python bench/bench_docx.py [--rows N] [--out PATH]

The listing has eight columns of short display strings, the shape of an adverse-event
listing. Building the content is timed and printed separately; the number that matters
is ``write_docx``, from call to file on disk.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tlf.document import Column, Listing, Row, TitleBlock
from tlf.render_docx import write_docx

TERMS = ["Nausea", "Fatigue", "Diarrhoea", "Alopecia", "Neutropenia", "Rash & pruritus"]


def make_listing(n_rows: int) -> Listing:
    """An adverse-event-like listing with ``n_rows`` rows of eight columns."""
    columns = [
        Column("usubjid", "Subject", 1.4),
        Column("arm", "Arm", 0.8),
        Column("term", "Preferred term", 1.8),
        Column("start", "Start date\n(study day)", 1.2, "center"),
        Column("end", "End date\n(study day)", 1.2, "center"),
        Column("grade", "CTCAE\ngrade", 0.6, "center"),
        Column("serious", "Serious", 0.6, "center"),
        Column("outcome", "Outcome", 1.4),
    ]
    rows = [
        Row((f"PRECIOUS-{101 + i % 40:03d}-{i // 40 + 1:04d}", "PTC" if i % 2 else "TC",
             TERMS[i % len(TERMS)], f"2016-06-{1 + i % 28:02d} ({1 + i % 200})",
             f"2016-07-{1 + i % 28:02d} ({31 + i % 200})", str(1 + i % 4),
             "Y" if i % 17 == 0 else "N", "Recovered/resolved"))
        for i in range(n_rows)
    ]
    return Listing(TitleBlock("16.2.7", "Listing of Adverse Events", "Safety Population"),
                   columns, rows, footnotes=["CTCAE version 4.0."],
                   source="l_ae.py; ADAE", landscape=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the .docx (default: a temporary directory)")
    args = parser.parse_args()
    start = time.perf_counter()
    listing = make_listing(args.rows)
    built = time.perf_counter() - start
    print(f"Listing content: {args.rows} rows built and validated in {built:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "listing.docx"
        start = time.perf_counter()
        write_docx(listing, out)
        seconds = time.perf_counter() - start
        size_mb = out.stat().st_size / 1e6
    print(f"write_docx: {args.rows} rows x {len(listing.columns)} columns in "
          f"{seconds:.2f} s ({size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
