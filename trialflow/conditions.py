"""Structured conditions: how specs say which records a rule applies to, without code.

Shared by every layer (ADaM derivations, TLF populations and record filters);
``adam.conditions`` re-exports these names.

A condition is a mapping of variable to test, all of which must hold:

* ``{PARAMCD: PD}`` — equals;
* ``{AVALC: {in: [CR, PR]}}`` — one of; ``{AVALC: {not_in: [NE]}}`` — none of;
* ``{DTHFL: {ne: Y}}`` — differs (missing differs too);
* ``{ADT: {present: true}}`` / ``{present: false}`` — non-missing / missing;
* ``{ATOXGRN: {ge: 3}}`` — compares (``gt``, ``ge``, ``lt``, ``le``; missing fails);
* ``{AGE: {between: [18, 64]}}`` — a closed range (both ends included);
* ``{AEDECOD: {contains: RASH}}`` — text containing a part (case-sensitive);
  ``{AEDECOD: {starts_with: APPLICATION}}``;
* ``{ASTDT: {ge: {var: TRTSDT}}}`` — a comparison with another variable of the same
  record (any operator but ``in``/``not_in``/``present``); missing on either side fails,
  except for ``ne``.

Conditions combine with ``and``, ``or`` and ``not``, which take a list of conditions
(``not``: one condition)::

    {or: [{AESER: Y}, {AETOXGR: {ge: 3}}]}
    {and: [{SAFFL: Y}, {not: {AEOUT: FATAL}}]}

and sit beside variable tests in the same mapping (all must hold).

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"PARAMCD": ["PD", "OVR"], "AVALC": ["Y", "SD"]})
>>> select(df, {"PARAMCD": "PD"}).tolist()
[True, False]
>>> select(df, {"or": [{"PARAMCD": "PD"}, {"AVALC": {"in": ["SD"]}}]}).tolist()
[True, True]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

OPERATORS = ("in", "not_in", "ne", "present", "gt", "ge", "lt", "le", "eq", "between",
             "contains", "starts_with")
COMBINATORS = ("and", "or", "not")
_COMPARE = {"gt": "gt", "ge": "ge", "lt": "lt", "le": "le", "eq": "eq"}


class ConditionError(KeyError):
    """A condition names a variable the data lack (the message says which)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _is_var(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"var"}


def _other(df: pd.DataFrame, ref: dict[str, Any]) -> pd.Series:
    name = ref["var"]
    if name not in df.columns:
        raise ConditionError(f"condition compares with {name!r}, which the dataset does "
                             "not have")
    return df[name]


def _blank(col: pd.Series) -> pd.Series:
    missing = col.isna()
    if col.dtype.kind not in "biufmM":  # text: blank is missing too
        missing |= col.astype(str).str.strip().eq("")
    return missing


def is_blank(col: pd.Series) -> pd.Series:
    """Missing values of ``col``: NaN/NaT, and for text also blank text.

    >>> is_blank(pd.Series(["A", " ", None])).tolist()
    [False, True, True]
    """
    return _blank(col)


def _test(df: pd.DataFrame, col: pd.Series, var: str, op: str, value: Any) -> pd.Series:
    if op == "in":
        return col.isin(value)
    if op == "not_in":
        return ~col.isin(value)
    if op == "present":
        present = ~_blank(col)
        return present if value else ~present
    if op == "between":
        lo, hi = value
        number = col if col.dtype.kind in "biufmM" else pd.to_numeric(col, errors="coerce")
        return (number.ge(lo) & number.le(hi)).fillna(False).astype(bool)
    if op in ("contains", "starts_with"):
        text = col.astype("string").fillna("")
        hit = text.str.contains(str(value), regex=False) if op == "contains" \
            else text.str.startswith(str(value))
        return hit.fillna(False).astype(bool)
    other = _other(df, value) if _is_var(value) else value
    if op == "ne":
        if _is_var(value):
            return (col.ne(other) & ~(col.isna() & other.isna())) | (col.isna() ^ other.isna())
        return col.ne(value) | col.isna()
    if op in _COMPARE:
        result = getattr(col, _COMPARE[op])(other)
        if _is_var(value):
            result &= col.notna() & other.notna()
        return result.fillna(False).astype(bool)
    raise ValueError(f"unknown condition operator {op!r} for {var}; use one of "
                     f"{', '.join(OPERATORS)}")


def select(df: pd.DataFrame, condition: dict[str, Any] | None) -> pd.Series:
    """Boolean mask of the rows of ``df`` meeting ``condition`` (all rows when None).

    Raises
    ------
    ConditionError
        The condition names a variable ``df`` does not have.
    """
    mask = pd.Series(True, index=df.index)
    for var, test in (condition or {}).items():
        if var == "and":
            for part in test:
                mask &= select(df, part)
            continue
        if var == "or":
            either = pd.Series(False, index=df.index)
            for part in test:
                either |= select(df, part)
            mask &= either
            continue
        if var == "not":
            mask &= ~select(df, test)
            continue
        if var not in df.columns:
            raise ConditionError(f"condition names {var!r}, which the dataset does not "
                                 "have")
        col = df[var]
        if isinstance(test, dict):
            for op, value in test.items():
                mask &= _test(df, col, var, op, value)
        else:
            mask &= col.eq(test)
    return mask.fillna(False).astype(bool)


def condition_variables(*conditions: dict[str, Any] | None) -> set[str]:
    """The variables the ``conditions`` test (what a reader must keep for them),
    including those compared with (``{var: X}``)."""
    found: set[str] = set()
    for c in conditions:
        for var, test in (c or {}).items():
            if var in ("and", "or"):
                found |= condition_variables(*test)
            elif var == "not":
                found |= condition_variables(test)
            else:
                found.add(var)
                if isinstance(test, dict):
                    found |= {v["var"] for v in test.values() if _is_var(v)}
    return found


def validate_condition(condition: Any) -> list[str]:
    """Problems with a condition as written in a spec (empty when it is well formed)."""
    if condition is None:
        return []
    if not isinstance(condition, dict):
        return ["a condition must be a mapping of variable to test"]
    problems = []
    for var, test in condition.items():
        if var in ("and", "or"):
            if not isinstance(test, list) or not test:
                problems.append(f"{var}: takes a list of conditions")
            else:
                for part in test:
                    problems += validate_condition(part)
        elif var == "not":
            problems += validate_condition(test)
        elif isinstance(test, dict):
            for op, value in test.items():
                if op not in OPERATORS:
                    problems.append(f"{var}: unknown operator {op!r} (allowed: "
                                    f"{', '.join(OPERATORS)}, and and/or/not)")
                elif op in ("in", "not_in") and not isinstance(value, list):
                    problems.append(f"{var}: {op} takes a list of values")
                elif op == "between" and (not isinstance(value, list) or len(value) != 2):
                    problems.append(f"{var}: between takes [low, high]")
                elif isinstance(value, dict) and not _is_var(value):
                    problems.append(f"{var}: {op} compares with a value or {{var: NAME}}")
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
