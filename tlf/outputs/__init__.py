"""Layouts: turn ARD rows (and, for listings, ADaM records) into documents.

One module per output family (``tables_tte.py``, ``figure_km.py``, ``listings.py``, ...).
Each module exposes ``LAYOUTS``, a dict from a layout name (what a spec's ``layout``
says) to a function ``layout(spec, ctx) -> Table | Listing | Figure``. The registry
:func:`layouts` gathers them from every module of this package, so adding an output
family is adding a module; a spec can only name a registered function (no code in specs).

Layouts compute nothing: every number comes from the ARD through :class:`ArdView`, and
is formatted with :mod:`tlf.format`. Listings print ADaM records as they are (a listing
shows data, not statistics). Figures draw with matplotlib from ARD rows and save their
PNG with :func:`save_png` (deterministic bytes).

Example
-------
>>> ctx = Context(read_ard(path), read_adam(adam_dir), Path("build/tlf"))  # doctest: +SKIP
>>> table = layouts()["tte_summary"](spec, ctx)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import io
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tlf.analyses import ARMS
from tlf.document import Figure, Listing, Table, TitleBlock
from tlf.spec import OutputSpec
from tlf.vector import save_svg
from trialflow.errors import SpecError, TrialflowError
from trialflow.io import write_atomic

__all__ = ["ArdView", "Context", "Layout", "arm_columns_n", "layouts", "program_of",
           "save_png", "source_line", "title_block"]

Output = Table | Listing | Figure


class ArdView:
    """Look up ARD values by their identifying columns, with clear errors.

    Parameters
    ----------
    ard : pandas.DataFrame
        The ARD (:func:`tlf.ard.read_ard`), columns ``analysis, output, group,
        variable, level, stat, value, method``.

    Examples
    --------
    >>> view = ArdView(ard)  # doctest: +SKIP
    >>> view.value("pfs_itt", "PTC", "PFS", "median")  # doctest: +SKIP
    5.3
    """

    KEY = ("analysis", "group", "variable", "level", "stat")

    def __init__(self, ard: pd.DataFrame) -> None:
        self.frame = ard
        #: The rows asked for but absent, in order; see :meth:`value`.
        self.missing: list[dict[str, str]] = []
        self._index = pd.Series(ard["value"].to_numpy(),
                                index=pd.MultiIndex.from_frame(ard[list(self.KEY)]))
        if not self._index.index.is_unique:
            dup = self._index.index[self._index.index.duplicated()][0]
            where = dict(zip(self.KEY, dup, strict=True))
            raise TrialflowError(f"the ARD has two rows for {where}")

    def value(self, analysis: str, group: str, variable: str, stat: str,
              level: str = "") -> float:
        """The value of one ARD row; NaN means not estimable.

        A row the analyses did not compute — an estimate without the data for it, such
        as a comparison in a study where one arm has no events — is NaN too, so it
        prints as "NE", and is recorded in :attr:`missing`: the build reports each one,
        and the tests require none for the study.
        """
        key = (analysis, group, variable, level, stat)
        try:
            return float(self._index.loc[key])
        except KeyError:
            self.missing.append(dict(zip(self.KEY, key, strict=True)))
            return float("nan")

    def count(self, analysis: str, group: str, variable: str, stat: str = "n",
              level: str = "") -> int:
        """A count (``n`` or ``N``) as an int; 0 for a row not computed (recorded in
        :attr:`missing`, as by :meth:`value`)."""
        value = self.value(analysis, group, variable, stat, level)
        return 0 if value != value else int(value)

    def has(self, analysis: str, group: str, variable: str, stat: str,
            level: str = "") -> bool:
        """Whether the ARD holds that row."""
        return (analysis, group, variable, level, stat) in self._index.index

    def rows(self, analysis: str, **where: str) -> pd.DataFrame:
        """The ARD rows of ``analysis`` matching every ``column=value`` of ``where``,
        in ARD order."""
        keep = self.frame["analysis"] == analysis
        for column, wanted in where.items():
            keep &= self.frame[column] == wanted
        return self.frame[keep]

    def population_n(self, population: str, arm: str) -> int:
        """Subjects of ``arm`` in ``population`` (``itt``, ``safety``, ``fas``, ...)."""
        return self.count("populations", arm, population)


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
    view : ArdView
        Lookup into ``ard``, built on construction.
    """

    ard: pd.DataFrame
    adam: Mapping[str, pd.DataFrame]
    out_dir: Path
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


def program_of(layout: Layout) -> str:
    """The repository path of the module that defines ``layout``, e.g.
    ``tlf/outputs/tables_tte.py``."""
    return layout.__module__.replace(".", "/") + ".py"


def source_line(spec: OutputSpec, layout: Layout) -> str:
    """``"Program: tlf/outputs/x.py; Dataset: ADTTE; ARD: build/tlf/ard.csv"``."""
    return f"Program: {program_of(layout)}; Dataset: {spec.source}"


def arm_columns_n(view: ArdView, population: str) -> dict[str, str]:
    """Column headers per arm, ``{"PTC": "PTC\\n(N=108)", ...}``, N from the ARD's
    populations."""
    return {arm: f"{arm}\n(N={view.population_n(population, arm)})" for arm in ARMS}


def save_png(figure: object, path: Path, dpi: int = 150) -> Path:
    """Save a matplotlib figure as PNG atomically, with no timestamp or version in it.

    Same drawing -> same bytes: matplotlib writes a "Software" text chunk by default,
    which is removed here.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})  # type: ignore[attr-defined]
    data = buffer.getvalue()
    save_svg(figure, Path(path).with_suffix(".svg"))  # issue 15 hook: vector twin (tlf/vector.py)
    return write_atomic(Path(path), lambda tmp: tmp.write_bytes(data))


def _discover() -> dict[str, Layout]:
    found: dict[str, Layout] = {}
    where: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, layout in getattr(module, "LAYOUTS", {}).items():
            if name in found:
                raise SpecError(module.__name__, f"layout {name!r} is also defined in "
                                f"{where[name]}")
            found[name], where[name] = layout, module.__name__
    return found


_REGISTRY: dict[str, Layout] = {}


def layouts() -> dict[str, Layout]:
    """Every layout of every module of this package, by name.

    Filled on first use: the modules import this package's helpers, so they cannot be
    imported while it is being initialised.
    """
    if not _REGISTRY:
        _REGISTRY.update(_discover())
    return _REGISTRY
