"""Named derivations: rules that no general verb expresses, declared by name in a study's
spec.

A study declares one in a spec step (``- named: {derivation: <name>, parameters:
{...}}``); nothing in a general builder runs because of which study it is. Each entry
has its function (the dataset being built first, then the context and the
parameters), the schema of its parameters (checked when the spec is loaded, so that a
misspelt key is one line naming the step and what is allowed), a check beyond the
schema, and the input datasets it reads. Each has its own tests.

* ``facit_scores`` — the scores of a FACIT questionnaire (FACT-B, FACT-G, ...) as its
  scoring guide gives them, from the instrument spec the derivation block names
  (``instrument: factb``): reversed items score 4 - answer; a subscale with more than
  half of its items answered is prorated (sum x items / answered); a total needs all its
  subscales and more than the instrument's share of its items
  (:mod:`adam.scoring`). It replaces the item records (QS) by one record per
  questionnaire and score: the ``by`` variables, PARAMCD, PARAM, PARAMN, AVAL, NANSW
  (items answered), NITEM (items in the score) and ADT. No general verb serves: the
  ``derived_param`` verb sums items per timepoint, but a FACIT total is conditioned on
  its subscales *and* on the share of all its items answered, and the reversed items,
  the proration and the item counts (NANSW, NITEM) are the instrument's.

Example
-------
>>> sorted(NAMED)
['facit_scores']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from adam.scoring import score_records

__all__ = ["NAMED", "Named"]


@dataclass(frozen=True)
class Named:
    """One named derivation: its function, the cerberus schema of its parameters, a
    check beyond the schema, the input datasets it reads and the variables it reads
    without naming them."""

    function: Callable[..., pd.DataFrame]
    schema: dict[str, Any] = field(default_factory=dict)
    check: Callable[[Mapping[str, Any]], None] = lambda params: None
    datasets: Callable[[Mapping[str, Any]], list[str]] = lambda params: []
    #: The variables it reads that neither its parameters nor their defaults name.
    reads: Callable[[Mapping[str, Any]], set[str]] = lambda params: set()


# --------------------------------------------------------------------------- facit_scores

#: The variables of a QS questionnaire: who, which visit, which date.
QUESTIONNAIRE = ("STUDYID", "USUBJID", "VISITNUM", "VISIT", "QSDTC")


def facit_scores(data: pd.DataFrame, context: Any, by: Sequence[str] = QUESTIONNAIRE,
                 date: str = "QSDTC") -> pd.DataFrame:
    """The scores of each questionnaire (a ``by`` group of the QS item records in
    ``data``: QSTESTCD, QSSTRESN) by the instrument of the derivation block (see the
    module doc); ADT is the complete date of ``date``."""
    instrument = context.derivation.get("instrument")
    if not isinstance(instrument, Mapping):
        raise ValueError("facit_scores scores the instrument the derivation names: write "
                         "`instrument: <name>` under derivation (specs/instruments/<name>"
                         ".yaml)")
    missing = [c for c in [*by, "QSTESTCD", "QSSTRESN"] if c not in data.columns]
    if missing:
        raise KeyError(f"the dataset has no variable {missing[0]}")
    return score_records(data, dict(instrument), list(by), date)


def _check_facit(params: Mapping[str, Any]) -> None:
    by = list(params.get("by", QUESTIONNAIRE))
    if params.get("date", "QSDTC") not in by:
        raise ValueError("facit_scores: date must be one of the by variables")
    if "USUBJID" not in by:
        raise ValueError("facit_scores: by must hold USUBJID")


_VAR = {"type": "string", "regex": r"^[A-Z][A-Z0-9_]{0,31}$"}

#: Named derivations by name.
NAMED: dict[str, Named] = {
    "facit_scores": Named(facit_scores,
                          {"by": {"type": "list", "minlength": 1, "schema": _VAR},
                           "date": _VAR},
                          check=_check_facit, reads=lambda p: {"QSTESTCD", "QSSTRESN"}),
}
