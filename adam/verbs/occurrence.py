"""Occurrence-data verbs of :mod:`adam.engine` (ADAE, ADCM, ADMH ...).

* ``occurrence_flag`` — flag the first occurrence of each group (subject, subject and
  SOC, subject, SOC and term ...) among the records meeting a filter, in a declared
  order: admiral's ``derive_var_extreme_flag`` as ADAE uses it for AOCCxxFL. With
  ``worst`` the first record of the group's *worst* one is flagged (AOCCIFL), worst by
  a variable whose values are ranked in the spec: severity (``AESEV``: MILD < MODERATE <
  SEVERE) in a study that collects severity, the toxicity grade (``ATOXGRN``, numbers:
  the highest) in one that grades by CTCAE. Neither is assumed: a study declares the
  one it has.

Example
-------
>>> import pandas as pd
>>> from adam.verbs.base import Context
>>> ae = pd.DataFrame({"USUBJID": ["1", "1", "1"], "AESEQ": [1.0, 2.0, 3.0],
...                    "AESEV": ["MILD", "SEVERE", "SEVERE"], "TRTEMFL": ["Y", "Y", "Y"]})
>>> occurrence_flag(ae, Context(inputs={}), new_var="AOCCIFL", by=["USUBJID"],
...                 order=["AESEQ"], filter={"TRTEMFL": "Y"},
...                 worst={"variable": "AESEV", "ranking": ["MILD", "MODERATE", "SEVERE"]}
...                 )["AOCCIFL"].tolist()
['', 'Y', '']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adam.derive import derive_var_extreme_flag
from adam.verbs.base import COND, ORDER, SCALAR, VAR, VARS, Context, Verb, need

__all__ = ["VERBS"]

_RANK = "__worst_rank__"


def occurrence_flag(data: pd.DataFrame, context: Context, new_var: str, order: Sequence[str],
                    by: Sequence[str] = ("USUBJID",),
                    filter: dict[str, Any] | None = None,  # noqa: A002 (admiral's name)
                    worst: Mapping[str, Any] | None = None, true_value: Any = "Y",
                    false_value: Any = "") -> pd.DataFrame:
    """``new_var`` = ``true_value`` on the first record in ``order`` of each ``by``
    group among the records meeting ``filter``, ``false_value`` on the others.

    ``worst = {variable, ranking?}`` puts the group's worst records first: the value
    last in ``ranking`` is the worst (a value not ranked, or blank, is below every
    ranked one); without ``ranking`` the variable is a number and the highest is the
    worst (a missing number is below every other).
    """
    need(data, [*by, *(o.lstrip("-") for o in order)], "the dataset")
    ordering = list(order)
    work = data
    if worst is not None:
        var = worst["variable"]
        need(data, [var], "the dataset")
        ranking = worst.get("ranking")
        if ranking:
            rank = data[var].map({v: float(i) for i, v in enumerate(ranking)})
        else:
            rank = pd.to_numeric(data[var], errors="coerce")
        work = data.copy(deep=False)
        # Missing sorts first as in SAS; descending puts it last, below every rank.
        work[_RANK] = rank.fillna(-np.inf).to_numpy(dtype="float64")
        ordering = [f"-{_RANK}", *ordering]
    out = derive_var_extreme_flag(work, list(by), ordering, new_var, mode="first",
                                  filter=filter, true_value=true_value,
                                  false_value=false_value)
    if worst is not None:
        del out[_RANK]
    return out


def _check(params: Mapping[str, Any]) -> None:
    worst = params.get("worst")
    if worst and worst.get("ranking") is not None and len(set(map(str, worst["ranking"]))) \
            != len(worst["ranking"]):
        raise ValueError("worst.ranking lists a value twice")


VERBS: dict[str, Verb] = {
    "occurrence_flag": Verb(occurrence_flag, {
        "new_var": {**VAR, "required": True}, "order": {**ORDER, "required": True},
        "by": VARS, "filter": COND,
        "worst": {"type": "dict", "schema": {
            "variable": {**VAR, "required": True},
            "ranking": {"type": "list", "minlength": 1,
                        "schema": {"type": ["string", "number"]}}}},
        "true_value": SCALAR, "false_value": SCALAR}, check=_check),
}
