"""The TLF book: every output of a study in one DOCX and one PDF, in catalogue order,
with a table of contents and a PDF bookmark per output.

``book.docx`` is the Word renderer's file of several outputs (:func:`tlf.render_docx.
write_docx` with ``contents=True``): a table of contents whose entries link to a
bookmark at the start of each output, then one section per output, each numbering its
own pages ("Page x of y", ``PAGE`` of ``SECTIONPAGES``).

``book.pdf`` is made with LibreOffice (``soffice --headless --convert-to pdf``) when it
is installed, and skipped with a note when it is not (never a file that is not the
book). LibreOffice 7 does not evaluate ``SECTIONPAGES`` (it prints the section's first
page count for every page), so the PDF is not a conversion of ``book.docx``: each
output's own DOCX is converted (one LibreOffice process for all), and the PDFs are put
together with pypdf behind a contents page that gives the page where each output starts
in the book; each output keeps its own "Page x of y". pypdf adds one bookmark (outline
entry) per output, titled with its label and title, and one for the contents. The
document information carries the build time (``SOURCE_DATE_EPOCH``), so the same
outputs give the same PDF.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from tlf._package import build_time, read_zip, write_zip
from tlf.page import PageStyle, compose
from tlf.render_docx import (
    _BOLD,
    _fill,
    _line_xml,
    _set_geometry,
    _set_properties,
    _set_styles,
    _text_xml,
    twips,
    write_docx,
)
from trialflow.console import VERBOSE, say
from trialflow.errors import TrialflowError
from trialflow.io import write_atomic

if TYPE_CHECKING:
    from tlf.documents import Rendered

__all__ = ["BOOK_DOCX", "BOOK_PDF", "find_soffice", "to_pdf", "write_book"]

BOOK_DOCX = "book.docx"
BOOK_PDF = "book.pdf"
#: How long LibreOffice may take to convert the outputs, seconds.
_TIMEOUT = 900


def find_soffice() -> str | None:
    """The LibreOffice program (``soffice``), or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_cache() -> Path:
    """Where converted PDFs are kept by the DOCX's content: ``$TRIALFLOW_CACHE/pdf``,
    else ``$XDG_CACHE_HOME/trialflow/pdf``, else ``~/.cache/trialflow/pdf``."""
    root = os.environ.get("TRIALFLOW_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trialflow")
    return Path(root) / "pdf"


def _cache_key(path: Path, soffice: str) -> str:
    """The document's bytes and the LibreOffice that converts them."""
    digest = hashlib.sha256(Path(path).read_bytes())
    program = Path(soffice).resolve()
    digest.update(f"{program}:{program.stat().st_mtime_ns}".encode())
    return digest.hexdigest()


def to_pdf(files: Sequence[Path], out_dir: Path, soffice: str | None = None) -> list[Path]:
    """Convert DOCX (or RTF) files to PDF with LibreOffice, in one process.

    A document converted before, byte for byte the same and by the same LibreOffice, is
    taken from the cache (:func:`pdf_cache`) instead: after an edit to one output's spec
    only that output goes through LibreOffice again (each start of LibreOffice costs
    seconds).

    Parameters
    ----------
    files : sequence of Path
        The documents; their PDFs are named after them.
    out_dir : Path
        Where the PDFs go.
    soffice : str, optional
        The LibreOffice program; default :func:`find_soffice`.

    Returns
    -------
    list of Path
        The PDFs, in the order of ``files``.

    Raises
    ------
    TrialflowError
        LibreOffice is not installed, fails, or leaves a PDF unwritten.
    """
    soffice = soffice or find_soffice()
    if soffice is None:
        raise TrialflowError("LibreOffice (soffice) is not installed: cannot make PDF")
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = pdf_cache()
    keys = [_cache_key(f, soffice) for f in files]
    pdfs = [out_dir / f"{Path(f).stem}.pdf" for f in files]
    todo = []
    for f, key, pdf in zip(files, keys, pdfs, strict=True):
        cached = cache / f"{key}.pdf"
        if cached.is_file():
            shutil.copyfile(cached, pdf)
        else:
            todo.append(f)
    if todo:
        _convert(todo, out_dir, soffice)
    missing = [p.name for p in pdfs if not p.is_file()]
    if missing:
        raise TrialflowError(f"LibreOffice could not convert {', '.join(missing)} to PDF")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for f, key, pdf in zip(files, keys, pdfs, strict=True):
            if f in todo:
                shutil.copyfile(pdf, cache / f"{key}.pdf.{os.getpid()}")
                os.replace(cache / f"{key}.pdf.{os.getpid()}", cache / f"{key}.pdf")
    except OSError:
        pass  # a cache that cannot be written only costs time next run
    return pdfs


def _convert(files: Sequence[Path], out_dir: Path, soffice: str) -> None:
    """One LibreOffice process converts ``files`` into ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="trialflow-soffice-") as profile:
        # A profile of its own: no clash with a LibreOffice the user has open, and no
        # state carried from one run to the next.
        cmd = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
               "--norestore", "--nolockcheck", "--convert-to", "pdf", "--outdir",
               str(out_dir), *(str(f) for f in files)]
        env = {**os.environ, "HOME": profile}
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT,
                                  env=env, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TrialflowError(f"LibreOffice took more than {_TIMEOUT} s to convert "
                                 f"{len(files)} documents to PDF") from exc
    missing = [f.name for f in files if not (out_dir / f"{Path(f).stem}.pdf").is_file()]
    if done.returncode != 0 or missing:
        raise TrialflowError(f"LibreOffice could not convert {', '.join(missing) or 'them'} "
                             f"to PDF (exit {done.returncode}): "
                             f"{(done.stderr or done.stdout).strip()[:500]}")


def _contents_docx(entries: Sequence[tuple[str, str, int]], style: PageStyle,
                   first: Rendered, path: Path) -> Path:
    """A document of the contents page(s) alone, with the book page of each output."""
    comp = compose(first.output, style, "book", "")
    document = docx.Document()
    _set_styles(document, style)
    _set_properties(document, [first.output])
    document.core_properties.title = "Table of Contents"
    section = document.sections[0]
    _set_geometry(section, comp)
    section.different_first_page_header_footer = False
    width = twips(comp.geometry.text_width)
    _fill(section.header, [_line_xml(parts, width, "NUMPAGES") for parts in comp.header]
          or [f"<w:p {nsdecls('w')}/>"])
    _fill(section.footer, [f"<w:p {nsdecls('w')}/>"])
    body = document.element.body
    body.sectPr.addprevious(parse_xml(
        f"<w:p {nsdecls('w')}><w:pPr><w:spacing w:after=\"240\"/><w:jc w:val=\"center\"/>"
        f"</w:pPr>{_text_xml('Table of Contents', _BOLD)}</w:p>"))
    label_tab = twips(90)
    for label, title, page in entries:
        body.sectPr.addprevious(parse_xml(
            f"<w:p {nsdecls('w')}><w:pPr><w:tabs>"
            f'<w:tab w:val="left" w:pos="{label_tab}"/>'
            f'<w:tab w:val="right" w:leader="dot" w:pos="{width}"/></w:tabs>'
            f'<w:spacing w:after="60"/><w:ind w:left="{label_tab}" w:right="{twips(24)}" '
            f'w:hanging="{label_tab}"/></w:pPr>'
            f"{_text_xml(label)}<w:r><w:tab/></w:r>{_text_xml(title)}"
            f"<w:r><w:tab/></w:r>{_text_xml(str(page))}</w:p>"))
    buffer = io.BytesIO()
    document.save(buffer)
    when = build_time()
    members = [(n, iter((d,))) for n, d in read_zip(buffer.getvalue())]
    return write_atomic(path, lambda tmp: write_zip(tmp, members, when))


def _pdf_date(when: object) -> str:
    return f"D:{when:%Y%m%d%H%M%S}Z"  # type: ignore[str-format]


def write_book_pdf(rendered: Sequence[Rendered], style: PageStyle, path: Path,
                   soffice: str | None = None) -> Path:
    """``book.pdf``: the contents, then every output's own PDF, one bookmark each."""
    from pypdf import PdfReader, PdfWriter

    docx_files = [next(f for f in r.files if f.suffix == ".docx") for r in rendered]
    with tempfile.TemporaryDirectory(prefix="trialflow-book-") as tmp:
        work = Path(tmp)
        pdfs = to_pdf(docx_files, work / "outputs", soffice)
        readers = [PdfReader(p) for p in pdfs]
        counts = [len(r.pages) for r in readers]
        # The contents come first: their own length moves every start page; two passes
        # settle it (the page numbers' widths seldom change the contents' length).
        toc_pages, toc_reader = 1, None
        for attempt in range(3):
            starts, page = [], toc_pages + 1
            for n in counts:
                starts.append(page)
                page += n
            entries = [(r.output.label, r.output.title.title, s)
                       for r, s in zip(rendered, starts, strict=True)]
            toc_docx = _contents_docx(entries, style, rendered[0], work / f"contents{attempt}.docx")
            toc_pdf = to_pdf([toc_docx], work / "contents", soffice)[0]
            toc_reader = PdfReader(toc_pdf)
            if len(toc_reader.pages) == toc_pages:
                break
            toc_pages = len(toc_reader.pages)
        assert toc_reader is not None
        writer = PdfWriter()
        for p in toc_reader.pages:
            writer.add_page(p)
        writer.add_outline_item(title="Table of Contents", page_number=0)
        for r, reader, start in zip(rendered, readers, starts, strict=True):
            for p in reader.pages:
                writer.add_page(p)
            writer.add_outline_item(title=f"{r.output.label} {r.output.title.title}",
                                    page_number=start - 1)
        when = build_time()
        writer.add_metadata({"/Title": f"{style.fields.get('study') or 'TLF'} TLF book",
                             "/Creator": "trialflow", "/Producer": "trialflow",
                             "/CreationDate": _pdf_date(when), "/ModDate": _pdf_date(when)})
        writer.page_mode = "/UseOutlines"
        buffer = io.BytesIO()
        writer.write(buffer)
    data = buffer.getvalue()
    return write_atomic(Path(path), lambda tmp: tmp.write_bytes(data))


def write_book(rendered: Sequence[Rendered], style: PageStyle, out_dir: Path,
               pdf: bool = True) -> list[Path]:
    """Write ``book.docx`` and, when LibreOffice is installed and ``pdf``, ``book.pdf``.

    Parameters
    ----------
    rendered : sequence of Rendered
        The outputs in catalogue order, with their files (:class:`tlf.documents.Documents`).
    style : PageStyle
    out_dir : Path
    pdf : bool
        False: the DOCX book only (study.yaml ``output: {book_pdf: false}``).

    Returns
    -------
    list of Path
        The files written.
    """
    if not rendered:
        return []
    out_dir = Path(out_dir)
    files = [write_docx([r.output for r in rendered], out_dir / BOOK_DOCX, style=style,
                        names=[r.name for r in rendered],
                        programs=[r.program for r in rendered], contents=True)]
    if not pdf:
        say(f"  note: {out_dir / BOOK_PDF} not made (output: book_pdf: false in study.yaml)")
        return files
    soffice = find_soffice()
    if soffice is None:
        say(f"  note: LibreOffice (soffice) is not installed, so {out_dir / BOOK_PDF} was "
            "not made; install it (Debian: apt-get install libreoffice-writer) for the PDF")
        return files
    say(f"  making {out_dir / BOOK_PDF} with LibreOffice (outputs converted before are "
        "taken from the cache) ...", VERBOSE)
    files.append(write_book_pdf(rendered, style, out_dir / BOOK_PDF, soffice))
    return files
