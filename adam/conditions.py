"""Structured conditions: how specs say which records a rule applies to, without code.

A condition is a mapping of variable to test, all of which must hold:

* ``{PARAMCD: PD}`` — equals;
* ``{AVALC: {in: [CR, PR]}}`` — one of;
* ``{AVALC: {not_in: [NE]}}`` — none of;
* ``{DTHFL: {ne: Y}}`` — differs (missing differs too);
* ``{ADT: {present: true}}`` / ``{present: false}`` — non-missing / missing;
* ``{ATOXGRN: {ge: 3}}`` — compares (``gt``, ``ge``, ``lt``, ``le``; missing fails).

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"PARAMCD": ["PD", "OVR"], "AVALC": ["Y", "SD"]})
>>> select(df, {"PARAMCD": "PD"}).tolist()
[True, False]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

OPERATORS = ("in", "not_in", "ne", "present", "gt", "ge", "lt", "le")
_COMPARE = {"gt": "gt", "ge": "ge", "lt": "lt", "le": "le"}


def select(df: pd.DataFrame, condition: dict[str, Any] | None) -> pd.Series:
    """Boolean mask of the rows of ``df`` meeting ``condition`` (all rows when None)."""
    mask = pd.Series(True, index=df.index)
    for var, test in (condition or {}).items():
        if var not in df.columns:
            raise KeyError(f"condition names {var!r}, which the dataset does not have")
        col = df[var]
        if isinstance(test, dict):
            for op, value in test.items():
                if op == "in":
                    mask &= col.isin(value)
                elif op == "not_in":
                    mask &= ~col.isin(value)
                elif op == "ne":
                    mask &= col.ne(value) | col.isna()
                elif op == "present":
                    present = col.notna()
                    if col.dtype.kind not in "biufmM":  # text: blank is missing too
                        present &= col.astype(str).str.strip().ne("")
                    mask &= present if value else ~present
                elif op in _COMPARE:
                    mask &= getattr(col, _COMPARE[op])(value).fillna(False).astype(bool)
                else:
                    raise ValueError(f"unknown condition operator {op!r} for {var}; "
                                     f"use one of {', '.join(OPERATORS)}")
        else:
            mask &= col.eq(test)
    return mask.fillna(False).astype(bool)


def condition_variables(*conditions: dict[str, Any] | None) -> set[str]:
    """The variables the ``conditions`` test (what a reader must keep for them)."""
    return {var for c in conditions for var in (c or {})}


def validate_condition(condition: Any) -> list[str]:
    """Problems with a condition as written in a spec (empty when it is well formed)."""
    if condition is None:
        return []
    if not isinstance(condition, dict):
        return ["a condition must be a mapping of variable to test"]
    problems = []
    for var, test in condition.items():
        if isinstance(test, dict):
            bad = [op for op in test if op not in OPERATORS]
            problems += [f"{var}: unknown operator {op!r}" for op in bad]
        elif isinstance(test, list | np.ndarray):
            problems.append(f"{var}: use {{in: [...]}} for a list of values")
    return problems


def check_condition(condition: Any, file: str, dataset: str, where: str) -> None:
    """Raise a :class:`~trialflow.errors.SpecError` naming the spec ``file``, the
    ``dataset`` and ``where`` (e.g. ``parameter PFS, event 1``) when ``condition`` is
    not well formed."""
    from trialflow.errors import SpecError

    problems = validate_condition(condition)
    if problems:
        raise SpecError(file, f"{where}: {'; '.join(problems)}", dataset)
