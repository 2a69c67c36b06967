"""Output specs: one YAML file per table, listing or figure in ``specs/tlf/``.

A spec says what an output is — its number, title, population, footnotes, the layout
that draws it and that layout's parameters — and never how: the ``layout`` is a name
looked up in :func:`tlf.outputs.layouts`, not code (specs hold no executable code).

Example ``specs/tlf/t_14_2_1_pfs_itt.yaml``::

    name: t_14_2_1_pfs_itt
    kind: table
    number: "14.2.1"
    title: Progression-Free Survival
    population: Intent-to-Treat Population
    layout: tte_summary
    parameters: {analysis: pfs_itt, paramcd: PFS}
    footnotes: [Months = days / 30.4375.]
    source: ADTTE

The file stem must equal ``name``: ``build/tlf/<name>.docx`` is then found from the
spec's file name and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from trialflow import SPECS
from trialflow.errors import SpecError
from trialflow.spec import _validate, read_yaml

__all__ = ["OUTPUT_SCHEMA", "TLF_SPECS", "OutputSpec", "load_output_spec", "load_output_specs"]

#: Where the output specs live.
TLF_SPECS: Path = SPECS / "tlf"

OutputKind = Literal["table", "listing", "figure"]

OUTPUT_SCHEMA: dict[str, Any] = {
    "name": {"type": "string", "required": True, "regex": r"^[tlf]_[a-z0-9_]+$"},
    "kind": {"type": "string", "required": True, "allowed": ["table", "listing", "figure"]},
    "number": {"type": "string", "required": True, "regex": r"^\d+(\.\d+)*$"},
    "title": {"type": "string", "required": True, "empty": False},
    "subtitle": {"type": "string", "nullable": True},
    "population": {"type": "string", "required": True, "empty": False},
    "layout": {"type": "string", "required": True, "regex": r"^[a-z][a-z0-9_]*$"},
    "parameters": {"type": "dict", "default": {}},
    "footnotes": {"type": "list", "default": [], "schema": {"type": "string"}},
    "source": {"type": "string", "required": True, "empty": False},
    "landscape": {"type": "boolean", "default": False},
    "paper": {"type": "string", "nullable": True},
}


@dataclass(frozen=True)
class OutputSpec:
    """One output as its spec describes it.

    Attributes
    ----------
    name : str
        File stem of the output, ``t_``/``l_``/``f_`` + number + short name.
    kind : {"table", "listing", "figure"}
    number : str
        The output number without its kind, e.g. ``"14.2.1"``.
    title, population : str
        Printed in the title block.
    layout : str
        The name of the function in :func:`tlf.outputs.layouts` that builds it.
    parameters : dict
        Passed to the layout (analysis ids, PARAMCD, population flags, ...).
    footnotes : tuple of str
    source : str
        The ADaM datasets it reads; the program is added by the build.
    landscape : bool
    subtitle : str or None
    paper : str or None
        Where the publication shows it ("Table 1", "Figure 2A"), if it does.
    path : pathlib.Path or None
        The spec file.
    """

    name: str
    kind: OutputKind
    number: str
    title: str
    population: str
    layout: str
    source: str
    parameters: dict[str, Any] = field(default_factory=dict)
    footnotes: tuple[str, ...] = ()
    landscape: bool = False
    subtitle: str | None = None
    paper: str | None = None
    path: Path | None = None

    def parameter(self, key: str, default: Any = ...) -> Any:
        """A layout parameter; a missing required one is a :class:`SpecError`."""
        if key in self.parameters:
            return self.parameters[key]
        if default is ...:
            raise SpecError(str(self.path or self.name), f"layout {self.layout!r} needs "
                            f"parameters.{key}")
        return default


def load_output_spec(path: Path) -> OutputSpec:
    """Read and check one output spec.

    Raises
    ------
    SpecError
        Not valid YAML, not the schema, or a file name that is not ``<name>.yaml``.
    """
    path = Path(path)
    doc = _validate(read_yaml(path), OUTPUT_SCHEMA, path)
    if doc["name"] != path.stem:
        raise SpecError(str(path), f"name {doc['name']!r} must equal the file stem "
                        f"{path.stem!r}")
    return OutputSpec(**{**doc, "footnotes": tuple(doc["footnotes"]), "path": path})


def load_output_specs(directory: Path | None = None) -> list[OutputSpec]:
    """Every output spec of ``directory`` (default ``specs/tlf``), in output order.

    Order: tables, then figures, then listings, each by number — the order of a
    clinical study report's section 14 and 16.

    Raises
    ------
    SpecError
        A spec is invalid, or two specs share a kind and number.
    """
    directory = Path(directory) if directory is not None else TLF_SPECS
    if not directory.is_dir():
        raise SpecError(str(directory), "output spec directory not found")
    specs = [load_output_spec(p) for p in sorted(directory.glob("*.yaml"))]
    seen: dict[tuple[str, str], OutputSpec] = {}
    for s in specs:
        other = seen.setdefault((s.kind, s.number), s)
        if other is not s:
            raise SpecError(str(s.path), f"{s.kind} {s.number} is also {other.path}")
    rank = {"table": 0, "figure": 1, "listing": 2}
    return sorted(specs, key=lambda s: (rank[s.kind],
                                        tuple(int(x) for x in s.number.split("."))))
