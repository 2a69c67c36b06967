"""Layouts: turn ARD rows (and, for listings, ADaM records) into documents.

One module per output family (``tables_summary.py``, ``tables_tte.py``, ``figure_km.py``,
``listings.py``, ...). Each module exposes ``LAYOUTS``, a dict from a layout name (what a
spec's ``layout`` says) to a function ``layout(spec, ctx) -> Table | Listing | Figure``,
and ``PARAMETERS``, the cerberus schema of each layout's ``parameters`` (checked when
the specs are loaded, :func:`check_outputs`). The registry :func:`layouts` gathers them
from every module of this package, so adding an output family is adding a module; a
spec can only name a registered function (no code in specs).

Layouts compute nothing: every number comes from the ARD through
:class:`~tlf.outputs.cells.ArdView` as a :class:`~tlf.outputs.cells.Text` that knows its
ARD rows, so every printed number traces to one ARD row. Layouts know no study: arms,
labels, rows and parameters come from the specs and the ARD. Listings print ADaM
records as they are. Figures draw with matplotlib from ARD rows and save their PNG with
:func:`save_png` (deterministic bytes).

Example
-------
>>> ctx = Context(read_ard(path), adam, Path("build/tlf"), plan, study)  # doctest: +SKIP
>>> table = layouts()["tte_summary"](spec, ctx)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import io
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tlf.analyses.base import TOTAL
from tlf.document import Column, Figure, Listing, Table, TitleBlock
from tlf.outputs.cells import ArdView, At, Text, cat
from tlf.spec import AnalysisPlan, OutputSpec, check_document, find_keys
from tlf.vector import save_svg
from trialflow.errors import SpecError
from trialflow.io import write_atomic
from trialflow.spec import Study

if TYPE_CHECKING:
    from tlf.page import PageStyle

__all__ = ["ArdView", "At", "Context", "Layout", "analysis_groups", "check_outputs",
           "comparisons_of", "figure_area", "group_columns", "header_text", "layouts",
           "parameter_schemas", "program_of", "save_png", "source_line", "title_block"]

Output = Table | Listing | Figure


@dataclass
class Context:
    """What every layout may read.

    Attributes
    ----------
    ard : pandas.DataFrame
        The analysis results data.
    adam : mapping of str to pandas.DataFrame
        ADaM datasets by upper-case name (listings only).
    out_dir : pathlib.Path
        Where figures save their PNG.
    plan : AnalysisPlan or None
        The study's analyses (a layout may read an analysis's declared options).
    study : Study or None
        The study (arms, month length).
    page : PageStyle or None
        The study's page (figures are drawn at its printable size: :func:`figure_area`).
    view : ArdView
        Lookup into ``ard``, built on construction.
    """

    ard: pd.DataFrame
    adam: Mapping[str, pd.DataFrame]
    out_dir: Path
    plan: AnalysisPlan | None = None
    study: Study | None = None
    page: PageStyle | None = None
    view: ArdView = field(init=False)

    def __post_init__(self) -> None:
        self.view = ArdView(self.ard)


Layout = Callable[[OutputSpec, Context], Output]


def title_block(spec: OutputSpec) -> TitleBlock:
    """The title block of ``spec``; the paper's name for the output, if any, as subtitle."""
    subtitle = spec.subtitle
    if subtitle is None and spec.paper:
        subtitle = f"(Publication {spec.paper})"
    return TitleBlock(spec.number, spec.title, spec.population, subtitle)


def figure_area(ctx: Context, spec: OutputSpec, default: tuple[float, float]
                ) -> tuple[float, float]:
    """The width and height (inches) a figure is drawn at: the printable area of its
    page (the study's page, landscape as its spec says) less the header, title block,
    footnotes and footer lines around it.

    Drawn at that size, the figure is printed at 100 %: its text prints at the size it
    was set in (9 or 8 pt), never shrunk with a figure drawn larger than the page.
    ``default`` is the size without a page (a layout called outside a study's build).
    """
    if ctx.page is None:
        return default
    from tlf.page import compose

    # The figure as it will be printed, but for its image (not drawn yet): the page's
    # header, title block and notes decide the room left for it.
    stand_in = Figure(title_block(spec), ctx.out_dir / f"{spec.name}.png",
                      footnotes=spec.footnotes, landscape=spec.landscape,
                      source=f"Program: tlf/outputs/figure.py; Dataset: {spec.source}")
    geometry = compose(stand_in, ctx.page, spec.name, "tlf/outputs/figure.py").geometry
    # A line's height of room below, as the renderer keeps (render_docx.figure_width).
    return geometry.text_width / 72.0, (geometry.text_height - 14.0) / 72.0


def program_of(layout: Layout) -> str:
    """The repository path of the module that defines ``layout``, e.g.
    ``tlf/outputs/tables_tte.py``."""
    return layout.__module__.replace(".", "/") + ".py"


def source_line(spec: OutputSpec, layout: Layout) -> str:
    """``"Program: tlf/outputs/x.py; Dataset: ADTTE"``."""
    return f"Program: {program_of(layout)}; Dataset: {spec.source}"


def analysis_groups(view: ArdView, analysis: str) -> tuple[list[str], bool]:
    """The arm levels of an analysis in display order, and whether it has ``Total``
    (from its population N rows, variable USUBJID)."""
    found = view.rows(analysis, variable="USUBJID", stat_name="N")
    if found.empty:
        raise SpecError("outputs", f"the ARD has no analysis {analysis!r} (or no N rows "
                        "for it)")
    levels = list(dict.fromkeys(found["group1_level"]))
    return [lv for lv in levels if lv != TOTAL], TOTAL in levels


def comparisons_of(view: ArdView, analysis: str) -> list[str]:
    """The comparison levels (``"A vs B"``) of an analysis, in ARD order."""
    arms, _ = analysis_groups(view, analysis)
    levels = view.rows(analysis)["group1_level"]
    return [lv for lv in dict.fromkeys(levels) if lv not in arms and lv != TOTAL]


def header_text(view: ArdView, analysis: str, group: str, header_n: bool = True,
                label: str | None = None, stat_at: At | None = None,
                stat: str = "N") -> Text | str:
    """``"Placebo\\n(N=86)"``: a group's label and its N from the ARD (``stat`` of
    ``stat_at``, default the analysis's population N)."""
    label = group if label is None else label
    if not header_n:
        return label
    at = stat_at or At(analysis, group, "USUBJID")
    return cat(label, "\n(N=", view.text(at, stat, 0), ")")


def group_columns(view: ArdView, analysis: str, *, total: bool = True,
                  header_n: bool = True, width: float = 1.0,
                  labels: Mapping[str, str] | None = None) -> list[Column]:
    """One centred column per arm of the analysis (and ``Total`` when it has one and
    ``total``), headed by the group and its N."""
    arms, has_total = analysis_groups(view, analysis)
    groups = [*arms, TOTAL] if total and has_total else arms
    labels = labels or {}
    return [Column(g, header_text(view, analysis, g, header_n, labels.get(g)), width=width,
                   align="center") for g in groups]


def save_png(figure: object, path: Path, dpi: int = 150) -> Path:
    """Save a matplotlib figure as PNG atomically, with no timestamp or version in it.

    Same drawing -> same bytes: matplotlib writes a "Software" text chunk by default,
    which is removed here.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})  # type: ignore[attr-defined]
    data = buffer.getvalue()
    save_svg(figure, Path(path).with_suffix(".svg"))  # the vector twin (tlf/vector.py)
    return write_atomic(Path(path), lambda tmp: tmp.write_bytes(data))


def _discover() -> tuple[dict[str, Layout], dict[str, dict[str, Any]]]:
    found: dict[str, Layout] = {}
    schemas: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "cells":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, layout in getattr(module, "LAYOUTS", {}).items():
            if name in found:
                raise SpecError(module.__name__, f"layout {name!r} is also defined in "
                                f"{where[name]}")
            found[name], where[name] = layout, module.__name__
            schemas[name] = getattr(module, "PARAMETERS", {}).get(name, {})
    return found, schemas


_REGISTRY: dict[str, Layout] = {}
_SCHEMAS: dict[str, dict[str, Any]] = {}


def layouts() -> dict[str, Layout]:
    """Every layout of every module of this package, by name.

    Filled on first use: the modules import this package's helpers, so they cannot be
    imported while it is being initialised.
    """
    if not _REGISTRY:
        found, schemas = _discover()
        _REGISTRY.update(found)
        _SCHEMAS.update(schemas)
    return _REGISTRY


def parameter_schemas() -> dict[str, dict[str, Any]]:
    """The cerberus schema of each layout's ``parameters``, by layout name."""
    layouts()
    return dict(_SCHEMAS)


def check_outputs(specs: Sequence[OutputSpec], plan: AnalysisPlan | None) -> list[OutputSpec]:
    """``specs`` with their parameters checked (and defaults filled in) against their
    layout's schema, and every analysis they name declared in ``plan``.

    Raises
    ------
    SpecError
        An unknown layout, a parameter the layout does not take or of the wrong type,
        or an analysis id no analysis spec declares.
    """
    registry = layouts()
    schemas = parameter_schemas()
    checked = []
    for spec in specs:
        path = Path(spec.path or spec.name)
        if spec.layout not in registry:
            raise SpecError(str(path), f"unknown layout {spec.layout!r}; known: "
                            f"{', '.join(sorted(registry))}")
        params = check_document(spec.parameters, schemas[spec.layout], path,
                                f"parameters of layout {spec.layout}")
        for key, value in _analysis_ids(params):
            if plan is not None and value not in plan.analyses:
                raise SpecError(str(path), f"parameters.{key}: no analysis {value!r} "
                                f"(declared: {', '.join(plan.analyses) or 'none'})")
        checked.append(spec.with_parameters(params))
    return checked


def _analysis_ids(doc: Any) -> list[tuple[str, str]]:
    """Every ``analysis`` (or ``*_analysis``) value inside a parameters document."""
    return find_keys(doc, lambda key, value: isinstance(value, str) and (
        key == "analysis" or str(key).endswith("_analysis")))
