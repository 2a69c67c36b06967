"""The TLF book of the study build, rendered to PDF with LibreOffice and read back page by
page (pdftotext): every output's title block, its own "Page x of y", the study line, its
footnotes on every page, listing words whole, and a PDF bookmark per output.

These tests need LibreOffice and poppler-utils (``.ci/run`` installs both); without them
they are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from tlf.spec import load_output_specs

SPECS = {s.name: s for s in load_output_specs()}
LABEL = {"table": "Table", "listing": "Listing", "figure": "Figure"}


def _need(program: str) -> None:
    if shutil.which(program) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is not installed (.ci/run installs it)")
        pytest.skip(f"{program} is not installed")


@pytest.fixture(scope="module")
def book(study_build) -> tuple[Path, list[str], pd.DataFrame]:
    """The book's PDF, the text of each of its pages, and the catalogue."""
    _need("soffice")
    _need("pdftotext")
    tlf = study_build.out / "tlf"
    pdf = tlf / "book.pdf"
    assert pdf.is_file(), "the TLF stage wrote no book.pdf though LibreOffice is installed"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    pages = text.split("\f")[:-1]
    index = pd.read_csv(tlf / "index.csv", dtype=str, keep_default_na=False)
    return pdf, pages, index


def _starts(pdf: Path) -> list[tuple[str, int]]:
    reader = PdfReader(pdf)
    return [(item.title, reader.get_destination_page_number(item)) for item in reader.outline]


def test_a_bookmark_per_output_in_catalogue_order(book) -> None:
    pdf, pages, index = book
    marks = _starts(pdf)
    labels = [f"{LABEL[k]} {n} {t}" for k, n, t in zip(index["kind"], index["number"],
                                                       index["title"], strict=True)]
    assert [title for title, _ in marks] == ["Table of Contents", *labels]
    starts = [page for _, page in marks]
    assert starts == sorted(starts) and starts[0] == 0
    # The contents give each output's first page in the book.
    contents = "".join(pages[:starts[1]])
    for (label, page) in marks[1:]:
        number = " ".join(label.split()[:2])
        assert re.search(re.escape(number) + r"\b.*?\.{3,}\s*" + str(page + 1) + r"\b",
                         contents, re.S), label


def test_every_page_has_its_title_page_number_study_line_and_footnotes(book) -> None:
    pdf, pages, index = book
    marks = _starts(pdf)
    bounds = [page for _, page in marks[1:]] + [len(pages)]
    assert len(marks) - 1 == len(index)
    for i, name in enumerate(index["files"].str.split().str[0].str.removesuffix(".docx")):
        spec = SPECS[name]
        label = f"{LABEL[spec.kind]} {spec.number}"
        own = pages[bounds[i]:bounds[i + 1]]
        assert own, name
        for k, text in enumerate(own, start=1):
            flat = " ".join(text.split())
            where = f"{name} page {k}"
            assert f"Page {k} of {len(own)}" in flat, where
            assert (label in flat if k == 1 else f"{label} (continued)" in flat), where
            assert " ".join(spec.title.split()) in flat and spec.population in flat, where
            assert "Protocol: JBCRG-M05" in flat and "FINAL" in flat, where
            assert "Data cut-off: 2019-07-31" in flat, where
            assert f"Output: {name}" in flat, where
            for note in spec.footnotes:
                assert " ".join(note.split()[:6]) in flat, (where, note)


def test_no_listing_word_is_split_across_lines(book, study_build) -> None:
    pdf, pages, index = book
    marks = _starts(pdf)
    bounds = [page for _, page in marks[1:]] + [len(pages)]
    names = list(index["files"].str.split().str[0].str.removesuffix(".docx"))
    checked = 0
    for i, name in enumerate(names):
        if SPECS[name].kind != "listing":
            continue
        words = set("\n".join(pages[bounds[i]:bounds[i + 1]]).split())
        sheet = openpyxl.load_workbook(study_build.out / "tlf" / f"{name}.xlsx").worksheets[0]
        first = sheet.freeze_panes and int(sheet.freeze_panes[1:])
        for row in sheet.iter_rows(min_row=first, values_only=True):
            for value in row:
                if isinstance(value, str):
                    for word in value.split():
                        assert word in words, f"{name}: {word!r} is split or missing"
                        checked += 1
    assert checked > 1000


def test_the_book_docx_holds_every_output_with_contents(study_build) -> None:
    tlf = study_build.out / "tlf"
    document = docx.Document(str(tlf / "book.docx"))
    assert document.paragraphs[0].text == "Table of Contents"
    assert len(document.sections) == len(SPECS) + 1
    assert len(document.tables) == sum(s.kind != "figure" for s in SPECS.values())


def test_a_document_converted_before_is_taken_from_the_pdf_cache(
        study_build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LibreOffice runs for documents it has not converted; the same bytes again come
    from the cache (an edit to one output's spec converts that output only)."""
    from tlf import book

    _need("soffice")
    monkeypatch.setenv("TRIALFLOW_CACHE", str(tmp_path / "cache"))
    source = study_build.out / "tlf" / "t_14_1_1_populations.docx"
    first = book.to_pdf([source], tmp_path / "one")
    assert len(list((tmp_path / "cache" / "pdf").glob("*.pdf"))) == 1

    def no_libreoffice(*args: object) -> None:
        raise AssertionError("LibreOffice ran for a document it had converted")

    monkeypatch.setattr(book, "_convert", no_libreoffice)
    again = book.to_pdf([source], tmp_path / "two")
    assert again[0].read_bytes() == first[0].read_bytes()
    edited = tmp_path / "edited.docx"
    edited.write_bytes(source.read_bytes() + b"\0")  # other bytes: not in the cache
    with pytest.raises(AssertionError, match="LibreOffice ran"):
        book.to_pdf([edited], tmp_path / "three")


def _printed_sizes(svg: Path, docx_file: Path) -> tuple[float, list[float]]:
    """The scale a figure prints at (its width on the page over its drawn width) and the
    font sizes (pt) of its texts as drawn, read from the SVG twin and the DOCX."""
    text = svg.read_text(encoding="utf-8")
    drawn = float(re.search(r'<svg[^>]* width="([\d.]+)pt"', text).group(1))
    sizes = [float(s) for s in re.findall(r"font-size: ([\d.]+)px", text)]
    (shape,) = docx.Document(str(docx_file)).inline_shapes
    printed = shape.width / 914400 * 72  # EMU to points
    return printed / drawn, sizes


@pytest.mark.parametrize("name", ["f_14_1_1_consort", "f_14_2_1_km_pfs_itt",
                                  "f_14_2_2_km_pfs_tdm1",
                                  "f_14_2_3_km_os_itt", "f_14_2_4_forest_pfs",
                                  "f_14_2_5_km_ttd_btoi"])
def test_figure_text_prints_at_8_pt_or_more(study_build, name: str) -> None:
    """The CONSORT diagram, Kaplan-Meier and forest plots are drawn at their page's
    printable size, so they print at (nearly) 100 %: their 8, 9 and 10 pt text prints at
    8 pt or more (a forest plot with more lines than its page holds at 9 pt spacing is
    set a little smaller)."""
    tlf = study_build.out / "tlf"
    scale, sizes = _printed_sizes(tlf / f"{name}.svg", tlf / f"{name}.docx")
    assert sizes and 0.85 <= scale <= 1.0 + 1e-9
    assert min(sizes) * scale >= 8.0


def test_no_confidence_interval_is_split_across_lines(book) -> None:
    """An interval "(0.458, 2.002)" never ends a line at its comma."""
    _, pages, _ = book
    split = [line for page in pages for line in page.splitlines()
             if re.search(r"\(\d+(\.\d+)?,\s*$", line)]
    assert split == []


def test_the_rtf_opens_in_libreoffice(study_build, tmp_path: Path) -> None:
    """LibreOffice reads a table's RTF and prints the same title and numbers as its DOCX."""
    from tlf import book

    _need("soffice")
    _need("pdftotext")
    tlf = study_build.out / "tlf"
    book._convert([tlf / "t_14_1_1_populations.rtf"], tmp_path, book.find_soffice())
    pdf = tmp_path / "t_14_1_1_populations.pdf"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    cells = {w for t in docx.Document(str(tlf / "t_14_1_1_populations.docx")).tables
             for row in t.rows for c in row.cells for w in c.text.split()}
    numbers = {w for w in cells if re.fullmatch(r"\d+", w)}
    assert "Table 14.1.1" in text and "Analysis Populations" in text
    assert len(numbers) > 5 and numbers <= set(text.split())


def test_a_study_may_leave_out_the_book_pdf(table, tmp_path: Path,  # noqa: ANN001
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """study.yaml ``output: {book_pdf: false}``: book.docx is made, book.pdf is not, and
    the run says why (a listing of thousands of pages keeps LibreOffice busy for long)."""
    from tlf.documents import Documents
    from tlf.page import page_style

    documents = Documents(page_style(None))
    documents.render(table, "t_14_1_1", "tlf/outputs/x.py", tmp_path)
    made = documents.write_book(tmp_path, pdf=False)
    assert [p.name for p in made] == ["book.docx"] and not (tmp_path / "book.pdf").exists()
    assert "book.pdf not made (output: book_pdf: false in study.yaml)" in capsys.readouterr().err


def test_book_pdf_in_study_yaml_is_a_boolean(tmp_path: Path) -> None:
    from trialflow.errors import SpecError
    from trialflow.spec import load_study

    card = (Path(__file__).resolve().parents[2] / "specs" / "study.yaml").read_text()
    path = tmp_path / "study.yaml"
    path.write_text(card)
    assert load_study(path).output.book_pdf is True  # the default
    path.write_text(card.replace("study:\n", "study:\n  output: {book_pdf: false}\n", 1))
    assert load_study(path).output.book_pdf is False
    path.write_text(card.replace("study:\n", "study:\n  output: {book_pdf: maybe}\n", 1))
    with pytest.raises(SpecError, match="book_pdf"):
        load_study(path)
