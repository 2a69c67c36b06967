"""Build every output of ``specs/tlf`` from the ARD: DOCX for all, XLSX for tables and
listings, PNG for figures (embedded in their DOCX).

Example
-------
>>> adam = read_adam(Path("build/adam"))  # doctest: +SKIP
>>> made = build_outputs(load_output_specs(), ard, adam, Path("build/tlf"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from tlf.documents import Documents
from tlf.outputs import Context, layouts, program_of, source_line
from tlf.spec import OutputSpec
from trialflow.errors import SpecError

__all__ = ["BuiltOutput", "build_outputs", "index_frame"]


@dataclass(frozen=True)
class BuiltOutput:
    """One output, the files it was written to, and the ARD rows it asked for in vain
    (printed as "NE"; see :meth:`tlf.outputs.ArdView.value`)."""

    spec: OutputSpec
    files: tuple[Path, ...]
    missing: tuple[dict[str, str], ...] = ()


def build_outputs(specs: Sequence[OutputSpec], ard: pd.DataFrame,
                  adam: Mapping[str, pd.DataFrame], out_dir: Path,
                  documents: Documents | None = None) -> list[BuiltOutput]:
    """Lay out and render every output of ``specs``.

    Parameters
    ----------
    specs : sequence of OutputSpec
        The outputs, in order (:func:`tlf.spec.load_output_specs`).
    ard : pandas.DataFrame
        The analysis results data every number comes from.
    adam : mapping of str to pandas.DataFrame
        The ADaM datasets (read by listings only).
    out_dir : pathlib.Path
        Written to: ``<name>.docx``, ``<name>.xlsx`` (tables, listings), ``<name>.png``
        (figures); every file atomically.
    documents : Documents, optional
        Renders each output (DOCX, RTF, XLSX or PNG+SVG) on the study's page and keeps
        them for the book (:mod:`tlf.documents`); default today's page.

    Returns
    -------
    list of BuiltOutput

    Raises
    ------
    SpecError
        A spec names a layout that does not exist.
    """
    registry = layouts()
    ctx = Context(ard=ard, adam=adam, out_dir=Path(out_dir))
    built: list[BuiltOutput] = []
    for spec in specs:
        layout = registry.get(spec.layout)
        if layout is None:
            raise SpecError(str(spec.path or spec.name), f"unknown layout {spec.layout!r}; "
                            f"known: {', '.join(sorted(registry))}")
        asked = len(ctx.view.missing)
        output = layout(spec, ctx)
        output = replace(output, source=source_line(spec, layout))
        missing = tuple(ctx.view.missing[asked:])
        # Issue 15 hook: every file of the output on the study's page (tlf/documents.py).
        files = (documents or Documents()).render(output, spec.name, program_of(layout),
                                                  ctx.out_dir)
        built.append(BuiltOutput(spec, tuple(files), missing))
    return built


def index_frame(built: Sequence[BuiltOutput], root: Path) -> pd.DataFrame:
    """A table of contents: kind, number, title, population and files (relative to
    ``root``) of every output built."""
    return pd.DataFrame({
        "kind": [b.spec.kind for b in built],
        "number": [b.spec.number for b in built],
        "title": [b.spec.title for b in built],
        "population": [b.spec.population for b in built],
        "paper": [b.spec.paper or "" for b in built],
        "files": [" ".join(str(Path(f).relative_to(root)) for f in b.files) for b in built],
    })
