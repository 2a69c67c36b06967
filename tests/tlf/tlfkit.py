"""Helpers of the TLF tests: studies with any number of arms, analysis plans from inline
specs, ARD lookups and layouts run on an ARD.

This folder has no ``__init__.py``: pytest puts it on ``sys.path`` (rootdir import mode
``prepend``), so ``import tlfkit`` works from its tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tlf.analyses.base import Population
from tlf.ard import build_ard
from tlf.document import Figure, Listing, Table
from tlf.outputs import Context, check_outputs, layouts
from tlf.spec import AnalysisPlan, OutputSpec, load_analyses, load_analysis, load_output_spec
from trialflow import SPECS
from trialflow.spec import Arm, Study, load_study

#: The bundled example's study folder and specs.
PRECIOUS_STUDY: Study = load_study(SPECS / "study.yaml")
TLF_SPECS: Path = SPECS / "tlf"


def precious_plan() -> AnalysisPlan:
    """The bundled example's analysis plan."""
    return load_analyses(TLF_SPECS / "analyses")


def precious_ard(adam: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The bundled example's analyses run on ``adam``."""
    return build_ard(precious_plan(), PRECIOUS_STUDY, adam)


def study(codes: Sequence[str], control: str | None = None,
          names: Sequence[str] | None = None) -> Study:
    """A study with arms ``codes`` (display order as given) and ``control``."""
    names = list(names) if names is not None else list(codes)
    arms = tuple(Arm(code=c, name=n, number=i + 1, control=(c == control))
                 for i, (c, n) in enumerate(zip(codes, names, strict=True)))
    return Study(id="T", title="Test study", data_cutoff=dt.date(2020, 1, 1),
                 month_length=30.4375, seed=None, subjects=None, arms=arms, strata=())


def plan(analyses: Sequence[Mapping[str, Any]],
         populations: Mapping[str, Mapping[str, Any] | None] | None = None) -> AnalysisPlan:
    """A plan from inline analysis specs (checked as a file's would be); populations
    ``{id: condition}`` (default ``all``: every ADSL subject)."""
    pops = populations if populations is not None else {"all": None}
    specs = {}
    for doc in analyses:
        spec = load_analysis(dict(doc), Path("inline.yaml"))
        specs[spec.id] = spec
    return AnalysisPlan({pid: Population(pid, pid, where) for pid, where in pops.items()},
                        specs)


def run(analyses: Sequence[Mapping[str, Any]], adam: Mapping[str, pd.DataFrame],
        arms: Study, populations: Mapping[str, Mapping[str, Any] | None] | None = None
        ) -> pd.DataFrame:
    """The ARD of inline analyses."""
    return build_ard(plan(analyses, populations), arms, adam)


def value(ard: pd.DataFrame, analysis: str, group: str, variable: str, stat: str,
          level: str = "", group2: str = "", group2_level: str = "") -> float:
    """The one ARD value of a key (an assertion error when there is not exactly one)."""
    hit = ard[(ard["analysis_id"] == analysis) & (ard["group1_level"] == group)
              & (ard["variable"] == variable) & (ard["variable_level"] == level)
              & (ard["stat_name"] == stat) & (ard["group2"] == group2)
              & (ard["group2_level"] == group2_level)]
    assert len(hit) == 1, (analysis, group, variable, level, stat, group2, group2_level,
                           len(hit))
    return float(hit["stat"].iloc[0])


def spec(name: str, folder: Path = TLF_SPECS) -> OutputSpec:
    """An output spec with its parameters checked (defaults filled in)."""
    return check_outputs([load_output_spec(folder / f"{name}.yaml")], None)[0]


def layout(output: OutputSpec, ard: pd.DataFrame, out_dir: Path,
           adam: Mapping[str, pd.DataFrame] | None = None,
           analyses: AnalysisPlan | None = None, arms: Study | None = None
           ) -> Table | Listing | Figure:
    """The document a layout makes of ``ard`` (PRECIOUS's plan and study by default)."""
    ctx = Context(ard, adam or {}, out_dir, analyses or precious_plan(),
                  arms or PRECIOUS_STUDY)
    return layouts()[output.layout](output, ctx)


def cells(table: Table) -> dict[tuple[str, str], tuple[str, ...]]:
    """Data rows by (parent, label) -> the other cells. The parent is the section row
    above, or for a row indented twice the row one level up; a row that is not indented
    has none."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    parents: dict[int, str] = {}
    for row in table.body:
        label = str(row.cells[0])
        if row.kind == "section":
            parents = {row.indent: label}
            continue
        if row.indent == 0:
            parents = {}
        out[parents.get(row.indent - 1, ""), label] = tuple(
            "" if c is None else str(c) for c in row.cells[1:])
        parents[row.indent] = label
    return out
