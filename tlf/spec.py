"""TLF specs: the study's analyses and its outputs, each checked when it is read.

**Analyses** (``tlf/analyses/*.yaml`` of the study folder) say what is computed: each
file may declare ``populations`` (named conditions on ADSL), ``defaults`` (per family,
the keys its analyses in the file share) and ``analyses`` (a list), and every analysis
names its method family (:mod:`tlf.analyses`), its population, its dataset and records,
its grouping and the family's own keys::

    populations:
      itt: {label: Intent-to-Treat Population, where: {ITTFL: Y}}
    analyses:
      - id: efs_itt
        family: tte
        population: itt
        dataset: ADTTE
        parameter: EFS
        group: {variable: TRT01P}          # arms and their order from study.yaml
        comparisons: each_vs_control       # or all_pairs, none
        time_unit: months
        landmarks: [6, 12]

**Outputs** (``tlf/<name>.yaml``) say what is shown and how: number, title, population,
footnotes, the layout that draws it and the layout's parameters, which name analyses by
id. No spec holds code: a layout is a name looked up in :func:`tlf.outputs.layouts`.

Example ``tlf/t_14_2_1_efs_itt.yaml``::

    name: t_14_2_1_efs_itt
    kind: table
    number: "14.2.1"
    title: Event-Free Survival
    population: Intent-to-Treat Population
    layout: tte_summary
    parameters: {analysis: efs_itt}
    source: ADTTE

The file stem must equal ``name``: ``build/tlf/<name>.docx`` is then found from the
spec's file name and back. A misspelt key, a wrong type or an unknown family, population
or analysis is one line naming the file, the analysis or output and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cerberus import Validator

from tlf.analyses.base import COMPARISON_MODES, AnalysisSpec, Grouping, Population
from trialflow import SPECS
from trialflow.conditions import validate_condition
from trialflow.errors import SpecError
from trialflow.spec import _flatten, _validate, read_yaml

__all__ = ["ANALYSES_FOLDER", "ANALYSIS_FILE_SCHEMA", "ANALYSIS_SCHEMA", "OUTPUT_SCHEMA",
           "POPULATION_SCHEMA", "TLF_SPECS", "AnalysisPlan", "OutputSpec", "check_document",
           "find_keys", "load_analyses", "load_analysis", "load_output_spec", "load_output_specs",
           "schema_problem"]

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

    def with_parameters(self, parameters: dict[str, Any]) -> OutputSpec:
        """The same spec with its parameters replaced (checked, defaults filled in)."""
        from dataclasses import replace

        return replace(self, parameters=parameters)

    def parameter(self, key: str, default: Any = ...) -> Any:
        """A layout parameter (``default`` when absent or null); a missing required one
        is a :class:`SpecError`."""
        if key in self.parameters and (self.parameters[key] is not None or default is ...):
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


# ------------------------------------------------------------------------ analyses

#: Where a study folder keeps its analysis specs, under its ``tlf/`` folder.
ANALYSES_FOLDER = "analyses"
_ID = r"^[a-z][a-z0-9_]*$"

POPULATION_SCHEMA: dict[str, Any] = {
    "label": {"type": "string", "required": True, "empty": False},
    "where": {"type": "dict", "nullable": True, "default": None},
}
#: The keys every analysis has, whatever its family.
ANALYSIS_SCHEMA: dict[str, Any] = {
    "id": {"type": "string", "required": True, "regex": _ID},
    "family": {"type": "string", "required": True},
    "label": {"type": "string", "default": ""},
    "population": {"type": "string", "required": True, "regex": _ID},
    "dataset": {"type": "string", "regex": r"^[A-Z][A-Z0-9]*$", "default": "ADSL"},
    "where": {"type": "dict", "nullable": True, "default": None},
    "parameter": {"type": "string", "nullable": True, "default": None},
    "group": {"type": "dict", "required": True, "schema": {
        "variable": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9_]*$"},
        "total": {"type": "boolean", "default": False},
    }},
    "comparisons": {"type": "string", "allowed": list(COMPARISON_MODES),
                    "default": "each_vs_control"},
    # CDISC ARS analysis reason and purpose (controlled terms), for the ARS export.
    "reason": {"type": "string", "nullable": True, "default": None,
               "allowed": ["SPECIFIED IN PROTOCOL", "SPECIFIED IN SAP", "DATA DRIVEN",
                           "REQUESTED BY REGULATORY AGENCY"]},
    "purpose": {"type": "string", "nullable": True, "default": None,
                "allowed": ["PRIMARY OUTCOME MEASURE", "SECONDARY OUTCOME MEASURE",
                            "EXPLORATORY OUTCOME MEASURE"]},
}
#: One file of ``tlf/analyses/``. ``defaults`` gives, per family, keys every analysis of
#: that family in the file has unless it says otherwise (specs have no YAML anchors).
ANALYSIS_FILE_SCHEMA: dict[str, Any] = {
    "populations": {"type": "dict", "keysrules": {"type": "string", "regex": _ID},
                    "valuesrules": {"type": "dict", "schema": POPULATION_SCHEMA}},
    "defaults": {"type": "dict", "keysrules": {"type": "string"},
                 "valuesrules": {"type": "dict"}},
    "analyses": {"type": "list", "schema": {"type": "dict"}},
}


@dataclass(frozen=True)
class AnalysisPlan:
    """A study's populations and analyses (in the order of their files and entries)."""

    populations: dict[str, Population]
    analyses: dict[str, AnalysisSpec]

    def analysis(self, analysis_id: str) -> AnalysisSpec:
        """The analysis ``analysis_id``; a :class:`SpecError` naming the known ids."""
        if analysis_id not in self.analyses:
            raise SpecError("analyses", f"no analysis {analysis_id!r}; declared: "
                            f"{', '.join(self.analyses) or 'none'}")
        return self.analyses[analysis_id]

    def datasets(self) -> set[str]:
        """The ADaM datasets the analyses read."""
        return {"ADSL"} | {a.dataset for a in self.analyses.values()}


def schema_problem(errors: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    """One line for the first cerberus error: the key, the problem and, for an unknown
    key, what is allowed there.

    Examples
    --------
    >>> schema_problem({"landmark": ["unknown field"]}, {"landmarks": {}, "strata": {}})
    "unknown key 'landmark' (allowed: landmarks, strata)"
    """
    key = sorted(errors, key=str)[0]
    detail = errors[key]
    if detail == ["unknown field"]:
        return f"unknown key {key!r} (allowed: {', '.join(sorted(schema))})"
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        inner = schema.get(key, {})
        sub = inner.get("schema", {}) if isinstance(inner, dict) else {}
        if isinstance(sub, dict) and sub.get("type") == "dict":
            sub = sub.get("schema", {})
        index = sorted(detail[0], key=str)[0]
        where = f"{key}[{index + 1}]" if isinstance(index, int) else f"{key}.{index}"
        nested = detail[0][index]
        if isinstance(nested, list) and nested and isinstance(nested[0], dict):
            return f"{where}: " + schema_problem(nested[0], sub if isinstance(sub, dict)
                                                 else {})
        return f"{where}: {_flatten(nested)}"
    return f"{key}: {_flatten(detail)}"


def check_document(doc: Any, schema: Mapping[str, Any], path: Path, where: str
                   ) -> dict[str, Any]:
    """``doc`` normalised by ``schema`` (defaults filled in), or a one-line
    :class:`SpecError` naming ``path``, ``where`` and the first problem."""
    if not isinstance(doc, dict):
        raise SpecError(str(path), f"{where}: expected a mapping")
    validator = Validator(dict(schema), allow_unknown=False)
    if not validator.validate(doc):
        raise SpecError(str(path), f"{where}: {schema_problem(validator.errors, schema)}")
    return validator.document


def find_keys(doc: Any, match: Callable[[Any, Any], bool], trail: str = ""
              ) -> list[tuple[str, Any]]:
    """Every key inside ``doc`` (nested mappings and lists) that ``match(key, value)``
    accepts, as its path (``a.b[2].where``) and value, in document order; a matched
    value is not looked into.

    >>> find_keys({"rows": [{"where": {"X": 1}}]}, lambda key, value: key == "where")
    [('rows[1].where', {'X': 1})]
    """
    found: list[tuple[str, Any]] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{trail}.{key}" if trail else str(key)
            found += [(here, value)] if match(key, value) else find_keys(value, match, here)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += find_keys(value, match, f"{trail}[{i + 1}]")
    return found


def _conditions(doc: Any) -> list[str]:
    """Problems of every ``where`` condition inside ``doc``."""
    return [f"{here}: {p}" for here, value in find_keys(doc, lambda key, _: key == "where")
            for p in validate_condition(value)]


def load_analysis(doc: Any, path: Path) -> AnalysisSpec:
    """One analysis of a file: the common keys and its family's, checked together."""
    from tlf.analyses import families

    known = families()
    if isinstance(doc, dict) and isinstance(doc.get("group"), str):
        doc = {**doc, "group": {"variable": doc["group"]}}  # group: TRT01P
    name = doc.get("id", "?") if isinstance(doc, dict) else "?"
    family = doc.get("family") if isinstance(doc, dict) else None
    if family not in known:
        raise SpecError(str(path), f"analysis {name}: family {family!r} is not one of "
                        f"{', '.join(sorted(known))}")
    schema = {**ANALYSIS_SCHEMA, **known[family].SCHEMA}
    checked = check_document(doc, schema, path, f"analysis {name}")
    problems = _conditions(checked)
    if problems:
        raise SpecError(str(path), f"analysis {name}: {problems[0]}")
    common = {k: checked[k] for k in ANALYSIS_SCHEMA if k not in ("group",)}
    options = {k: v for k, v in checked.items() if k not in ANALYSIS_SCHEMA}
    return AnalysisSpec(**common, group=Grouping(**checked["group"]), options=options,
                        path=path)


def load_analyses(folder: Path) -> AnalysisPlan:
    """Every population and analysis of the ``*.yaml`` files of ``folder`` (file order,
    then entry order).

    Raises
    ------
    SpecError
        A file or analysis breaks its schema, an id is declared twice, or an analysis
        names a population no file declares.
    """
    populations: dict[str, Population] = {}
    analyses: dict[str, AnalysisSpec] = {}
    where: dict[str, Path] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        doc = check_document(read_yaml(path), ANALYSIS_FILE_SCHEMA, path, "file")
        for pid, pop in (doc.get("populations") or {}).items():
            if pid in populations:
                raise SpecError(str(path), f"population {pid} is also declared in "
                                f"{where[pid]}")
            problems = validate_condition(pop.get("where"))
            if problems:
                raise SpecError(str(path), f"population {pid}: where: {problems[0]}")
            populations[pid] = Population(pid, pop["label"], pop.get("where"))
            where[pid] = path
        defaults = doc.get("defaults") or {}
        for entry in doc.get("analyses") or ():
            if isinstance(entry, dict) and entry.get("family") in defaults:
                entry = {**defaults[entry["family"]], **entry}
            spec = load_analysis(entry, path)
            if spec.id in analyses:
                raise SpecError(str(path), f"analysis {spec.id} is also declared in "
                                f"{analyses[spec.id].path}")
            analyses[spec.id] = spec
    for spec in analyses.values():
        if spec.population not in populations:
            raise SpecError(str(spec.path), f"analysis {spec.id}: population "
                            f"{spec.population!r} is not declared (declared: "
                            f"{', '.join(sorted(populations)) or 'none'})")
        for key in ("population",):
            for item in spec.options.get("variables") or ():
                pop = item.get(key)
                if pop and pop not in populations:
                    raise SpecError(str(spec.path), f"analysis {spec.id}: variable "
                                    f"{item['variable']}: population {pop!r} is not "
                                    "declared")
    return AnalysisPlan(populations, analyses)
