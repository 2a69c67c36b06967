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

from tlf.document import Figure, Listing, Table
from tlf.documents import Documents
from tlf.outputs import Context, layouts, program_of, source_line
from tlf.outputs.cells import trace_rows
from tlf.spec import AnalysisPlan, OutputSpec
from trialflow.console import done, progress
from trialflow.errors import SpecError
from trialflow.spec import Study

__all__ = ["TRACE_COLUMNS", "BuiltOutput", "build_outputs", "cells_of", "index_frame",
           "trace_frame"]

#: The columns of ``trace.csv``: each printed number of each output and its ARD row.
TRACE_COLUMNS: tuple[str, ...] = (
    "output_id", "row", "column", "number", "text", "ard_row", "analysis_id",
    "group1_level", "group2", "group2_level", "variable", "variable_level", "stat_name",
)


@dataclass(frozen=True)
class BuiltOutput:
    """One output, the files it was written to, the ARD rows it asked for in vain
    (printed as "NE"; see :meth:`tlf.outputs.cells.ArdView.value`) and the trace of
    every number it prints (:data:`TRACE_COLUMNS`)."""

    spec: OutputSpec
    files: tuple[Path, ...]
    missing: tuple[dict[str, str], ...] = ()
    trace: tuple[dict[str, object], ...] = ()


def cells_of(output: Table | Listing | Figure) -> list[tuple[str, str, object]]:
    """Every printed text of an output as ``(row, column, text)``: the column headers
    (row ``header``), spanning headers (row ``group header``) and body cells (row = the
    body row's 1-based number, column = the column key) of a table, or a figure's
    traced texts."""
    if isinstance(output, Figure):
        return list(output.trace)
    out: list[tuple[str, str, object]] = [("header", c.key, c.header) for c in output.columns]
    out += [("group header", g.keys[0], g.header) for g in output.column_groups]
    if isinstance(output, Listing):
        return out  # records, not statistics
    keys = [c.key for c in output.columns]
    for i, row in enumerate(output.body):
        out += [(str(i + 1), keys[j] if row.kind == "data" else "section", cell)
                for j, cell in enumerate(row.cells)]
    return out


def build_outputs(specs: Sequence[OutputSpec], ard: pd.DataFrame,
                  adam: Mapping[str, pd.DataFrame], out_dir: Path,
                  plan: AnalysisPlan | None = None,
                  study: Study | None = None,
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
    plan : AnalysisPlan, optional
        The study's analyses (populations of listings, options of analyses).
    study : Study, optional
        The study (arm order of listings).
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
    ctx = Context(ard=ard, adam=adam, out_dir=Path(out_dir), plan=plan, study=study,
                  page=documents.style if documents is not None else None)
    built: list[BuiltOutput] = []
    for i, spec in enumerate(specs):
        progress("outputs", i, len(specs))
        layout = registry.get(spec.layout)
        if layout is None:
            raise SpecError(str(spec.path or spec.name), f"unknown layout {spec.layout!r}; "
                            f"known: {', '.join(sorted(registry))}")
        asked = len(ctx.view.missing)
        output = layout(spec, ctx)
        output = replace(output, source=source_line(spec, layout))
        missing = tuple(ctx.view.missing[asked:])
        # Every file of the output on the study's page (DOCX, RTF, XLSX or PNG+SVG).
        files = (documents or Documents()).render(output, spec.name, program_of(layout),
                                                  ctx.out_dir)
        trace = tuple(trace_rows(spec.name, cells_of(output), ctx.view))
        built.append(BuiltOutput(spec, tuple(files), missing, trace))
    done("outputs")
    return built


def trace_frame(built: Sequence[BuiltOutput]) -> pd.DataFrame:
    """The trace of every output: one row per printed number (:data:`TRACE_COLUMNS`)."""
    return pd.DataFrame([row for b in built for row in b.trace], columns=list(TRACE_COLUMNS))


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
