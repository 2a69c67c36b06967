"""What every verb of :mod:`adam.engine` shares: the build context, the verb record,
the parameter schema pieces, and the ``start`` of a dataset.

The verbs themselves are in the modules of this package, one family each:
:mod:`adam.verbs.subject` (subject-level variables: merges, flags, dates, groupings,
treatment, work datasets), :mod:`adam.verbs.occurrence` (first-occurrence flags),
:mod:`adam.verbs.bds` (parameters, baseline, change, windows, LOCF),
:mod:`adam.verbs.tte` (time-to-event parameters) and :mod:`adam.verbs.response`
(tumour-response parameters). :data:`adam.verbs.VERBS` is their registry, by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from adam.conditions import select
from adam.dates import LEVELS
from adam.derive import rows_where
from trialflow.spec import DatasetSpec

__all__ = ["COND", "DATASET", "DATE_IMPUTATION", "IMPUTATION", "ORDER", "SCALAR",
           "START_SCHEMA", "VAR", "VARS", "Context", "Verb", "by_vars", "need", "start"]


# --------------------------------------------------------------------------- context

@dataclass
class Context:
    """What a verb may read besides the dataset being built: the input datasets (SDTM
    and ADaM built before), the spec, and its resolved derivation block (the study's
    arms under ``arms``)."""

    inputs: Mapping[str, pd.DataFrame]
    spec: DatasetSpec | None = None
    derivation: dict[str, Any] = field(default_factory=dict)

    def dataset(self, name: str) -> pd.DataFrame:
        if name not in self.inputs:
            raise KeyError(f"the input dataset {name} is not there")
        return self.inputs[name]


def need(frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise KeyError(f"{what} has no variable {missing[0]}")


def by_vars(data: pd.DataFrame, add: pd.DataFrame, by: Sequence[str] | None) -> list[str]:
    """The by-variables: as given, else STUDYID and USUBJID when both datasets have
    them, else USUBJID."""
    if by:
        return list(by)
    both = [v for v in ("STUDYID", "USUBJID") if v in data.columns and v in add.columns]
    return both if both == ["STUDYID", "USUBJID"] else ["USUBJID"]


# --------------------------------------------------------------------------- schemas

VAR = {"type": "string", "regex": r"^[A-Z][A-Z0-9_]{0,31}$"}
DATASET = {"type": "string", "regex": r"^[A-Z][A-Z0-9]{0,7}$"}
VARS = {"type": "list", "schema": VAR}
COND = {"type": "dict"}
ORDER = {"type": "list", "schema": {"type": "string", "regex": r"^-?[A-Z][A-Z0-9_]*$"}}
SCALAR = {"type": ["string", "number", "boolean"], "nullable": True}
IMPUTATION = {"type": "string", "allowed": list(LEVELS)}
DATE_IMPUTATION = {"type": "string", "allowed": ["first", "mid", "last"]}

START_SCHEMA: dict[str, Any] = {
    "dataset": {**DATASET, "required": True},
    "filter": COND,
    "keep": VARS,
}


# --------------------------------------------------------------------------- start


def start(context: Context, dataset: str, filter: dict[str, Any] | None = None,  # noqa: A002
          keep: Sequence[str] | None = None) -> pd.DataFrame:
    """The records the dataset starts from: those of ``dataset`` meeting ``filter``,
    with all its variables or those in ``keep``."""
    data = context.dataset(dataset)
    if keep:
        need(data, keep, dataset)
        data = data[list(keep)]
    out = rows_where(data, select(data, filter)).copy(deep=False)
    out.index = pd.RangeIndex(len(out))
    return out




@dataclass(frozen=True)
class Verb:
    """A verb: its function, its parameter schema, the checks beyond the schema, the
    input datasets it reads and the variables it reads without naming them."""

    function: Callable[..., pd.DataFrame]
    schema: dict[str, Any]
    check: Callable[[Mapping[str, Any]], None] = lambda params: None
    datasets: Callable[[Mapping[str, Any]], list[str]] = lambda params: (
        [params["dataset"]] if "dataset" in params else [])
    #: The variables it reads that neither its parameters nor their defaults name (QNAM
    #: and QVAL of a supplemental dataset, --TESTCD of a findings prefix).
    reads: Callable[[Mapping[str, Any]], set[str]] = lambda params: set()
