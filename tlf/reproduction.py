"""Reproduction report: every published number of the study next to the ARD's value.

For each number of the published targets (``precious-targets.yaml``) the report names
the ARD row that reproduces it, rounds that row's full-precision value half up (SAS
ROUND) to the precision the publication printed, and says whether the two agree. Where
the publication's label and the analysis that reproduces it differ, or a number cannot
be reached, the ``note`` column says why. The report reads the ARD only.

Written as ``reproduction.xlsx`` (one row per number: analysis, item, published,
computed, match, note) with a one-line console summary.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.packaging.core import DocumentProperties
from openpyxl.xml.functions import tostring

from tlf._package import build_time, read_zip, write_zip
from tlf.analyses import ARMS, COMPARISON
from tlf.ard import ANALYSIS_ORDER
from trialflow.io import write_atomic
from trialflow.safetext import xlsx_text_cell
from trialflow.spec import read_yaml
from trialflow.stats import round_half_up

__all__ = ["COLUMNS", "KNOWN_MISSES", "Target", "console_summary",
           "load_targets", "reproduce", "targets", "write_report"]

COLUMNS: tuple[str, ...] = ("analysis", "item", "published", "computed", "match", "note")

# YAML drops trailing zeros (0.490 loads as 0.49): the printed precision of these
# numbers is restored by hand.
_DECIMALS: dict[str, int] = {
    "pfs_tdm1_latest.hr_unstratified.hr": 2,
    "table2_response.duration_of_response.hr_unstratified.hr": 3,
    "table3_safety.death_due_to_ae.p": 3,
    "table3_safety.dose_reduction_due_to_grade3_ae.p": 3,
}
_SE_FLOOR = ("published as stratified, but reproduced by the unstratified Cox model: its "
             "standard error is the floor 2/sqrt(184 events) that no model with the 16 "
             "STRAT1R-STRAT4R strata reaches")
_NOTES: dict[str, str] = {
    "pfs_itt.hr_stratified.hr": _SE_FLOOR,
    "pfs_itt.hr_stratified.upper": _SE_FLOOR,
    "ttd_bt_oi.hr_stratified_two_sided.hr": _SE_FLOOR.replace("184", "97"),
    "ttd_bt_oi.hr_stratified_two_sided.low": _SE_FLOOR.replace("184", "97"),
    "ttd_bt_oi.hr_stratified_two_sided.high": _SE_FLOOR.replace("184", "97"),
    "table3_safety.discontinuation_due_to_ae.p": (
        "known unreachable: Fisher exact two-sided for 19/105 vs 11/108 is 0.116, so the "
        "published 0.115 cannot be reproduced from the published counts"),
}
#: The log-rank test behind each published p-value (the project's decisions: stratified
#: for the ITT PFS and the time to deterioration, unstratified for the T-DM1 subgroup and
#: OS).
_P_VALUES: dict[str, tuple[str, str]] = {
    "pfs_itt.p_stratified_logrank_one_sided": ("stratified", "p_1s"),
    "pfs_tdm1_latest.p_one_sided": ("unstratified", "p_1s"),
    "os_itt.p_one_sided": ("unstratified", "p_1s"),
    "ttd_bt_oi.p_logrank_two_sided": ("stratified", "p_2s"),
}
#: Items whose mismatch is expected (and explained in the note).
KNOWN_MISSES: frozenset[str] = frozenset({"table3_safety.discontinuation_due_to_ae.p"})

Key = tuple[str, str, str, str]  # group, variable, level, stat


@dataclass(frozen=True)
class Target:
    """One published number and the ARD row that reproduces it."""

    analysis: str
    item: str
    published: float
    key: Key
    decimals: int


def _decimals(path: str, value: Any) -> int:
    """Printed decimals: hand-set for dropped trailing zeros, else as YAML holds it."""
    if path in _DECIMALS:
        return _DECIMALS[path]
    if value is None or isinstance(value, int):
        return 0
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def _arm_pair(path: str, values: list[Any], variable: str, level: str, stat: str
              ) -> Iterator[tuple[str, Any, Key]]:
    """[PTC, TC] lists: one target per arm."""
    for arm, value in zip(ARMS, values, strict=True):
        yield f"{path}[{arm}]", value, (arm, variable, level, stat)


def _km_triples(path: str, medians: Mapping[str, list[Any]], variable: str
                ) -> Iterator[tuple[str, Any, Key]]:
    """{arm: [median, lcl, ucl]} of a Kaplan-Meier median."""
    for arm, triple in medians.items():
        for stat, value in zip(("median", "median_lcl", "median_ucl"), triple, strict=True):
            yield f"{path}.{arm}.{stat}", value, (arm, variable, "", stat)


def _hr(path: str, spec: Mapping[str, Any], model: str) -> Iterator[tuple[str, Any, Key]]:
    names = {"hr": "hr", "upper": "hr_upper_1s", "low": "hr_lcl", "high": "hr_ucl"}
    for name, value in spec.items():
        yield f"{path}.{name}", value, (COMPARISON, model, "", names[name])


def _walk(analysis: str, spec: Mapping[str, Any]) -> Iterator[tuple[str, Any, Key]]:
    """Targets of one analysis: (item path, published value, ARD key)."""
    a = analysis
    if a == "populations":
        for name, values in spec.items():
            if isinstance(values, list) and name != "notes":
                yield from _arm_pair(f"{a}.{name}", values, name, "", "n")
    elif a == "follow_up_months":
        for group, stats in spec.items():
            if group == "p_between_arms":
                yield f"{a}.{group}", stats, (COMPARISON, "OS AVAL (months)", "", "p_2s")
                continue
            for stat, value in stats.items():
                g = "Total" if group == "overall" else group
                yield f"{a}.{group}.{stat}", value, (g, "OS AVAL (months)", "", stat)
    elif a == "table1_baseline":
        for name, value in spec.items():
            if name == "age_years":
                for arm, stats in value.items():
                    for stat, v in stats.items():
                        yield f"{a}.{name}.{arm}.{stat}", v, (arm, name, "", stat)
            elif isinstance(value, list):
                yield from _arm_pair(f"{a}.{name}", value, name, "", "n")
            elif isinstance(value, dict):
                for level, values in value.items():
                    yield from _arm_pair(f"{a}.{name}.{level}", values, name, level, "n")
    elif a in ("pfs_itt", "pfs_tdm1_latest", "os_itt", "ttd_bt_oi"):
        variable = {"os_itt": "OS", "ttd_bt_oi": "TTDBTOI"}.get(a, "PFS")
        per_arm = {"events": ("", "events"), "deaths": ("", "events"), "n": ("", "n"),
                   "population": ("", "n"), "event_pct": ("", "pct"),
                   "death_pct": ("", "pct"),
                   "clinical_progression_events": ("Clinical progression", "n"),
                   "clinical_progression_pct_of_events": ("Clinical progression", "pct")}
        for name, value in spec.items():
            path = f"{a}.{name}"
            if name in per_arm:
                yield from _arm_pair(path, value, variable, *per_arm[name])
            elif name == "median":
                yield from _km_triples(path, value, variable)
            elif name.startswith("hr_"):
                # The published "stratified" hazard ratios are the unstratified model's
                # (see the note); p-values keep the test the publication names.
                yield from _hr(path, value, "unstratified")
            elif name.startswith("p_"):
                model, stat = _P_VALUES[path]
                yield path, value, (COMPARISON, model, "", stat)
    elif a == "table2_response":
        for level, values in spec["best_overall_response"].items():
            yield from _arm_pair(f"{a}.best_overall_response.{level}", values, "BOR", level, "n")
        for level, values in spec["pct_of_measurable"].items():
            yield from _arm_pair(f"{a}.pct_of_measurable.{level}", values, "BOR", level, "pct")
        for name, stat in (("n", "n"), ("pct", "pct"), ("upper", "upper_1s")):
            yield from _arm_pair(f"{a}.orr.{name}", spec["orr"][name], "ORR", "", stat)
        for name, stat in (("or", "or"), ("upper", "or_upper_1s")):
            yield f"{a}.odds_ratio.{name}", spec["odds_ratio"][name], (COMPARISON, "ORR", "",
                                                                       stat)
        dor = spec["duration_of_response"]
        for name, stat in (("n", "n"), ("median_months", "median"),
                           ("median_upper", "median_ucl")):
            yield from _arm_pair(f"{a}.duration_of_response.{name}", dor[name], "DOR", "",
                                 stat)
        for name in ("hr_unstratified", "hr_stratified"):
            yield from _hr(f"{a}.duration_of_response.{name}", dor[name],
                           name.removeprefix("hr_"))
    elif a == "exposure":
        for arm, triple in spec["cycles_median_min_max"].items():
            for stat, value in zip(("median", "min", "max"), triple, strict=True):
                yield f"{a}.cycles_median_min_max.{arm}.{stat}", value, (arm, "cycles", "",
                                                                         stat)
    elif a == "table3_safety":
        for name, value in spec.items():
            if name == "special_interest":
                for term, arms in value.items():
                    for arm, (all_grades, grade3) in arms.items():
                        yield f"{a}.{name}.{term}.{arm}.all", all_grades, (
                            arm, term, "all grades", "n")
                        yield f"{a}.{name}.{term}.{arm}.grade3", grade3, (
                            arm, term, "grade >=3", "n")
            elif isinstance(value, dict):
                for stat in ("n", "pct"):
                    yield from _arm_pair(f"{a}.{name}.{stat}", value[stat], name, "", stat)
                yield f"{a}.{name}.p", value["p"], (COMPARISON, name, "", "p_2s")


def targets(published: Mapping[str, Any]) -> list[Target]:
    """Every published number of the targets file, with its ARD key and precision.

    Parameters
    ----------
    published : mapping
        The parsed targets file (top-level keys are the ARD's ``analysis``).

    Returns
    -------
    list of Target
    """
    out = []
    for analysis in ANALYSIS_ORDER:
        for path, value, key in _walk(analysis, published.get(analysis) or {}):
            out.append(Target(analysis, path, math.nan if value is None else float(value),
                              key, _decimals(path, value)))
    return out


def reproduce(ard: pd.DataFrame, published: Mapping[str, Any]) -> pd.DataFrame:
    """Compare each published number with its ARD row, rounded to the printed precision.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; ``computed`` is NaN when the ARD has no such row or
        the value is not estimable (a published null, "not reached", matches NaN).
    """
    values = ard.set_index(["analysis", "group", "variable", "level", "stat"])["value"]
    values = values[~values.index.duplicated()]
    records = []
    for t in targets(published):
        raw = values.get((t.analysis, *t.key), math.nan)
        computed = float(round_half_up(raw, t.decimals))
        both_nan = math.isnan(computed) and math.isnan(t.published)
        match = both_nan or computed == float(round_half_up(t.published, t.decimals))
        note = _NOTES.get(t.item, "")
        if not match and not note and math.isnan(raw):
            note = f"no ARD row {t.analysis}/{'/'.join(t.key)}"
        records.append({"analysis": t.analysis, "item": t.item, "published": t.published,
                        "computed": computed, "match": bool(match), "note": note})
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
    ws.append(list(COLUMNS))
    for row in report.itertuples(index=False):
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
