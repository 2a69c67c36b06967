"""Every file of every output, in the study's page style, and the TLF book.

:class:`Documents` is what the build (:func:`tlf.build.build_outputs`) hands each laid-out
output to: it writes ``<name>.docx`` and ``<name>.rtf`` for every output, ``<name>.xlsx``
for tables and listings, and lists a figure's ``<name>.png`` and, when the figure wrote
one, ``<name>.svg``; all on the study's page (:func:`tlf.page.page_style`). It keeps the
outputs in the order they came, the catalogue's (``index.csv``), for the book
(:meth:`Documents.write_book`, see :mod:`tlf.book`).

Example
-------
>>> docs = Documents(page_style(study))  # doctest: +SKIP
>>> built = build_outputs(specs, ard, adam, out, documents=docs)  # doctest: +SKIP
>>> docs.write_book(out)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tlf.document import Figure, Output
from tlf.page import PageStyle
from tlf.render_docx import write_docx
from tlf.render_rtf import write_rtf
from tlf.render_xlsx import write_xlsx

__all__ = ["Documents", "Rendered"]


@dataclass(frozen=True)
class Rendered:
    """One output as rendered: its file name, program, content and files."""

    name: str
    program: str
    output: Output
    files: tuple[Path, ...]


@dataclass
class Documents:
    """Renders outputs on one page style and remembers them for the book.

    Parameters
    ----------
    style : PageStyle, optional
        Default: today's look with no study fields.
    """

    style: PageStyle = field(default_factory=PageStyle)
    rendered: list[Rendered] = field(default_factory=list)

    def render(self, output: Output, name: str, program: str, out_dir: Path) -> tuple[Path, ...]:
        """Write every file of one output into ``out_dir``; returns them, DOCX first."""
        out_dir = Path(out_dir)
        meta = {"style": self.style, "names": [name], "programs": [program]}
        files = [write_docx(output, out_dir / f"{name}.docx", **meta),  # type: ignore[arg-type]
                 write_rtf(output, out_dir / f"{name}.rtf", **meta)]  # type: ignore[arg-type]
        if isinstance(output, Figure):
            files.append(output.image_png)
            svg = output.image_png.with_suffix(".svg")
            if svg.is_file():
                files.append(svg)
        else:
            files.append(write_xlsx(output, out_dir / f"{name}.xlsx", self.style.page_size))
        done = Rendered(name, program, output, tuple(files))
        self.rendered.append(done)
        return done.files

    def write_book(self, out_dir: Path, pdf: bool = True) -> list[Path]:
        """The TLF book of every output rendered so far (see :func:`tlf.book.write_book`);
        ``pdf=False``: the DOCX book only."""
        from tlf.book import write_book

        return write_book(self.rendered, self.style, Path(out_dir), pdf=pdf)
