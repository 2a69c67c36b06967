"""Reproduction report: every published number of a study next to the ARD's value.

A study that declares published targets (``targets:`` in study.yaml, a YAML file of
numbers) says in ``tlf/reproduction/map.yaml`` which ARD row reproduces each of them.
The report rounds that row's full-precision value half up (SAS ROUND) to the precision
the publication printed and says whether the two agree; where a number cannot be
reached, or the publication's label and the analysis that reproduces it differ, the
``note`` column says why. The report reads the ARD only.

The map is a list of rules, tried in order for every number of the targets file (a
"leaf", named by its path: ``efs_itt.median.Drug[1]``); the first rule whose ``target``
pattern matches it gives its ARD row::

    arms: [Drug, Placebo]                  # what position i of an arm list stands for
    decimals: {efs_itt.hr.hr: 2}     # printed precision YAML cannot keep (0.80 -> 0.8)
    notes: {item: why}               # printed in the note column
    known_misses: [item, ...]        # expected mismatches (each needs a note)
    rules:
      - {target: "study.**", skip: true}
      - target: "populations.{name}[{arm}]"
        ard: {analysis_id: populations, group1_level: "{arm}", variable: "{name}",
              stat_name: n}
      - target: "{a}.median.{arm}[{i}]"
        only: {a: [efs_itt, death_itt]}
        bind: {param: {from: a, values: {efs_itt: EFS, death_itt: DEATH}}}
        map: {i: {0: median, 1: median_lcl, 2: median_ucl}}
        ard: {analysis_id: "{a}", group1_level: "{arm}", variable: "{param}",
              stat_name: "{i}"}

In a pattern ``{x}`` matches one key, ``[{x}]`` one list position (``[{arm}]`` binds the
arm of :data:`arms` at that position), ``*`` any one step and ``**`` the rest of the
path. ``only`` restricts what a placeholder may match, ``map`` rewrites a bound value,
``bind`` derives a new one; the ``ard`` template fills the ARD key columns (missing
ones are blank). A number that no rule maps is an error: nothing is left out silently.
Text in the targets file (notes, footnotes) is not a number and is not compared.

Written as ``reproduction.xlsx`` (one row per number: analysis, item, published,
computed, match, note, ard key) with a one-line console summary.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.packaging.core import DocumentProperties
from openpyxl.xml.functions import tostring

from tlf._package import build_time, read_zip, write_zip
from tlf.analyses.base import KEY
from tlf.spec import check_document
from trialflow.errors import SpecError
from trialflow.io import write_atomic
from trialflow.safetext import xlsx_text_cell
from trialflow.spec import read_yaml
from trialflow.stats import round_half_up

__all__ = ["COLUMNS", "MAP_SCHEMA", "Target", "TargetMap", "console_summary", "load_map",
           "load_targets", "reproduce", "targets", "write_report"]

COLUMNS: tuple[str, ...] = ("analysis", "item", "published", "computed", "match", "note",
                            "ard_key")
#: Where a study folder keeps the map of its published targets to ARD rows.
MAP_FILE = Path("tlf") / "reproduction" / "map.yaml"

_RULE: dict[str, Any] = {
    "target": {"type": "string", "required": True},
    "skip": {"type": "boolean", "default": False},
    "only": {"type": "dict", "valuesrules": {"type": "list"}},
    "map": {"type": "dict", "valuesrules": {"type": "dict"}},
    "bind": {"type": "dict", "valuesrules": {"type": "dict", "schema": {
        "from": {"type": "string", "required": True},
        "values": {"type": "dict", "required": True},
    }}},
    "ard": {"type": "dict", "schema": {k: {"type": "string"} for k in KEY}},
}
#: The schema of ``tlf/reproduction/map.yaml``.
MAP_SCHEMA: dict[str, Any] = {
    "arms": {"type": "list", "schema": {"type": "string"}, "default": []},
    "decimals": {"type": "dict", "valuesrules": {"type": "integer", "min": 0}, "default": {}},
    "notes": {"type": "dict", "valuesrules": {"type": "string"}, "default": {}},
    "known_misses": {"type": "list", "schema": {"type": "string"}, "default": []},
    "rules": {"type": "list", "required": True, "minlength": 1,
              "schema": {"type": "dict", "schema": _RULE}},
}

Key = tuple[str, ...]  # the ARD key of :data:`KEY`


@dataclass(frozen=True)
class TargetMap:
    """A checked map: the rules and the notes of the published targets."""

    arms: tuple[str, ...]
    decimals: dict[str, int]
    notes: dict[str, str]
    known_misses: frozenset[str]
    rules: tuple[dict[str, Any], ...]
    path: Path | None = None


@dataclass(frozen=True)
class Target:
    """One published number and the ARD row that reproduces it."""

    analysis: str
    item: str
    published: float
    key: Key
    decimals: int


def load_map(path: Path) -> TargetMap:
    """Read and check a map of published targets to ARD rows.

    Raises
    ------
    SpecError
        Not valid YAML, not the schema, a rule without ``ard`` that is not a skip, or a
        known miss without a note.
    """
    path = Path(path)
    doc = check_document(read_yaml(path), MAP_SCHEMA, path, "reproduction map")
    for i, rule in enumerate(doc["rules"]):
        if not rule.get("skip") and not rule.get("ard"):
            raise SpecError(str(path), f"rules[{i + 1}] ({rule['target']}): give ard: or "
                            "skip: true")
    unexplained = [m for m in doc["known_misses"] if m not in doc["notes"]]
    if unexplained:
        raise SpecError(str(path), f"known miss {unexplained[0]} needs a note saying why")
    return TargetMap(tuple(doc["arms"]), dict(doc["decimals"]), dict(doc["notes"]),
                     frozenset(doc["known_misses"]), tuple(doc["rules"]), path)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every number (or null) of the targets tree with its path of keys and indices."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    elif node is None or (isinstance(node, int | float) and not isinstance(node, bool)):
        yield path, node


_STEP = re.compile(r"\[[^\]]*\]|[^.\[]+")


def _steps(pattern: str) -> list[str]:
    """``"a.{b}[{arm}]"`` -> ``["a", "{b}", "[{arm}]"]``."""
    return _STEP.findall(pattern)


def _match(steps: list[str], path: tuple[Any, ...], arms: tuple[str, ...]
           ) -> dict[str, Any] | None:
    """The bindings of ``path`` under a pattern's steps, or None."""
    bound: dict[str, Any] = {}
    for i, step in enumerate(steps):
        if step == "**":
            return bound
        if i >= len(path):
            return None
        part = path[i]
        if step.startswith("["):
            if not isinstance(part, int):
                return None
            inner = step[1:-1]
            if inner == "*":
                continue
            if inner.startswith("{") and inner.endswith("}"):
                name = inner[1:-1]
                if name == "arm":
                    if part >= len(arms):
                        return None
                    bound[name] = arms[part]
                else:
                    bound[name] = part
                continue
            if inner != str(part):
                return None
            continue
        if isinstance(part, int):
            return None
        if step == "*":
            continue
        if step.startswith("{") and step.endswith("}"):
            bound[step[1:-1]] = part
        elif step != part:
            return None
    return bound if len(steps) == len(path) else None


def _item(path: tuple[Any, ...], bound: Mapping[str, Any]) -> str:
    """The path as text; a list position that stands for an arm shows the arm."""
    text = ""
    for i, part in enumerate(path):
        if isinstance(part, int):
            text += f"[{bound['arm']}]" if i == bound.get("_arm_at") else f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def _decimals(item: str, value: Any, overrides: Mapping[str, int]) -> int:
    """Printed decimals: set by the map for dropped trailing zeros, else as YAML holds it."""
    if item in overrides:
        return overrides[item]
    if value is None or isinstance(value, int):
        return 0
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def targets(published: Mapping[str, Any], mapping: TargetMap) -> list[Target]:
    """Every published number of the targets file with its ARD key and precision.

    Raises
    ------
    SpecError
        A number that no rule of the map matches.
    """
    out: list[Target] = []
    where = str(mapping.path or "reproduction map")
    for path, value in _leaves(published):
        for rule in mapping.rules:
            steps = _steps(rule["target"])
            bound = _match(steps, path, mapping.arms)
            if bound is None:
                continue
            if any(str(bound.get(k)) not in map(str, allowed)
                   for k, allowed in (rule.get("only") or {}).items()):
                continue
            bound["_arm_at"] = next((i for i, s in enumerate(steps) if s == "[{arm}]"), None)
            item = _item(path, bound)
            if rule.get("skip"):
                break
            for name, table in (rule.get("map") or {}).items():
                if name in bound:
                    lookup = {str(k): v for k, v in table.items()}
                    bound[name] = lookup.get(str(bound[name]), bound[name])
            for name, how in (rule.get("bind") or {}).items():
                lookup = {str(k): v for k, v in how["values"].items()}
                source = str(bound.get(how["from"]))
                if source not in lookup:
                    raise SpecError(where, f"{item}: bind {name} has no value for "
                                    f"{how['from']} = {source}")
                bound[name] = lookup[source]
            fields = {k: str(v) for k, v in bound.items() if not k.startswith("_")}
            key = tuple(str(rule["ard"].get(k, "")).format(**fields) for k in KEY)
            out.append(Target(str(path[0]), item,
                              math.nan if value is None else float(value), key,
                              _decimals(item, value, mapping.decimals)))
            break
        else:
            raise SpecError(where, f"no rule maps the published number "
                            f"{_item(path, {})} = {value!r}: add a rule (or a skip)")
    return out


def reproduce(ard: pd.DataFrame, published: Mapping[str, Any], mapping: TargetMap
              ) -> pd.DataFrame:
    """Compare each published number with its ARD row, rounded to the printed precision.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; ``computed`` is NaN when the ARD has no such row or
        the value is not estimable (a published null, "not reached", matches NaN).
    """
    values = ard.set_index(list(KEY))["stat"]
    values = values[~values.index.duplicated()]
    records = []
    for t in targets(published, mapping):
        raw = values.get(t.key, math.nan)
        computed = float(round_half_up(raw, t.decimals))
        both_nan = math.isnan(computed) and math.isnan(t.published)
        match = both_nan or computed == float(round_half_up(t.published, t.decimals))
        note = mapping.notes.get(t.item, "")
        if not match and not note and math.isnan(raw):
            note = f"no ARD row {'/'.join(k for k in t.key if k)}"
        records.append({"analysis": t.analysis, "item": t.item, "published": t.published,
                        "computed": computed, "match": bool(match), "note": note,
                        "ard_key": " / ".join(t.key)})
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))


def console_summary(report: pd.DataFrame) -> str:
    """One summary line, then one line per number that does not match."""
    lines = [f"reproduction: {int(report['match'].sum())}/{len(report)} published numbers "
             "matched"]
    for row in report[~report["match"]].itertuples():
        lines.append(f"  {row.item}: published {row.published:g}, computed "
                     f"{row.computed:g}" + (f" ({row.note})" if row.note else ""))
    return "\n".join(lines)


def write_report(report: pd.DataFrame, path: Path) -> Path:
    """Write the report as one XLSX sheet, atomically and with a fixed build time."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("reproduction")
    columns = [c for c in COLUMNS if c in report]
    ws.append(columns)
    for row in report[columns].itertuples(index=False):
        # A NaN cell cannot be stored; blank means "not estimable" (e.g. not reached).
        # Items and notes come from the targets file: text cells stay text, never a
        # formula.
        ws.append([None if isinstance(v, float) and math.isnan(v) else xlsx_text_cell(ws, v)
                   for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    when = build_time()
    # openpyxl stamps the wall clock into docProps/core.xml; replace it so that the
    # same report gives the same bytes (as the other renderers do).
    core = tostring(DocumentProperties(creator="trialflow", lastModifiedBy="trialflow",
                                       created=when, modified=when,
                                       title="Reproduction of the published results")
                    .to_tree())
    members = read_zip(buffer.getvalue())

    def package() -> Iterator[tuple[str, Iterator[bytes]]]:
        for name, data in members:
            yield name, iter((core if name == "docProps/core.xml" else data,))

    return write_atomic(Path(path), lambda tmp: write_zip(tmp, package(), when))


def load_targets(path: Path) -> dict[str, Any]:
    """The published targets file (YAML, safe loading)."""
    return dict(read_yaml(Path(path)))
