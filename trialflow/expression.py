"""Arithmetic on variables, written in a spec as text and evaluated column-wise.

A computed variable such as BMI is written as ``WEIGHTBL / (HEIGHTBL / 100) ** 2``.
The text is parsed with Python's own parser into a syntax tree and **only** these nodes
are allowed: numbers, variable names (upper case, as CDISC names are), ``+ - * / **``,
unary minus, parentheses, and the functions ``abs``, ``round(x, digits)`` (SAS rounding:
half away from zero), ``floor``, ``ceil``, ``min(a, b, ...)`` and ``max(a, b, ...)``
(element-wise, ignoring missing, as SAS's MIN and MAX). Anything else (attribute access,
calls of other names, strings, subscripts, comparisons, lambdas) is refused when the
spec is loaded, so a spec never holds executable code: the tree is walked by
:func:`evaluate`, never compiled or passed to ``eval``.

Missing values propagate (``x + missing`` is missing), as in a SAS data step; division
by zero gives missing, not infinity.

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"WEIGHTBL": [70.0, None], "HEIGHTBL": [175.0, 160.0]})
>>> evaluate(parse("round(WEIGHTBL / (HEIGHTBL / 100) ** 2, 1)"), data).tolist()
[22.9, nan]
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["ExpressionError", "evaluate", "parse", "variables"]

_FUNCTIONS = {"abs": 1, "round": 2, "floor": 1, "ceil": 1, "min": -1, "max": -1}
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
           ast.Div: np.divide, ast.Pow: np.power}


class ExpressionError(ValueError):
    """An expression that is not allowed (the message says what and where)."""


def parse(text: str) -> ast.expr:
    """The checked syntax tree of ``text``.

    Raises
    ------
    ExpressionError
        Not valid arithmetic, or a construct outside the allowed set.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression must be non-empty text")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"not valid arithmetic: {text!r} ({exc.msg})") from None
    _check(tree, text)
    return tree


def _check(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
            raise ExpressionError(f"only numbers may be written in {text!r}, not "
                                  f"{node.value!r}")
    elif isinstance(node, ast.Name):
        if not node.id.isupper() and node.id not in _FUNCTIONS:
            raise ExpressionError(f"{node.id!r} in {text!r} is not a variable name (upper "
                                  "case) or one of " + ", ".join(_FUNCTIONS))
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed in "
                                  f"{text!r}; use + - * / **")
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(f"only unary minus is allowed in {text!r}")
        _check(node.operand, text)
    elif isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCTIONS or node.keywords:
            raise ExpressionError(f"only the functions {', '.join(_FUNCTIONS)} may be "
                                  f"called in {text!r}")
        arity = _FUNCTIONS[name]
        if arity > 0 and len(node.args) != arity and not (name == "round"
                                                          and len(node.args) == 1):
            raise ExpressionError(f"{name} takes {arity} argument(s) in {text!r}")
        if name == "round" and len(node.args) == 2 and not isinstance(node.args[1],
                                                                      ast.Constant):
            raise ExpressionError(f"round's digits must be a number in {text!r}")
        for arg in node.args:
            _check(arg, text)
    else:
        raise ExpressionError(f"{type(node).__name__} is not allowed in {text!r}: use "
                              "numbers, variables, + - * / **, parentheses and "
                              + ", ".join(_FUNCTIONS))


def variables(tree: ast.AST) -> set[str]:
    """The variable names an expression reads."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in
            _FUNCTIONS}


def evaluate(tree: ast.expr, data: pd.DataFrame | Mapping[str, pd.Series]) -> pd.Series:
    """The expression's value on every record of ``data`` (float; missing propagates).

    Raises
    ------
    ExpressionError
        A variable the data do not have.
    """
    index = data.index if isinstance(data, pd.DataFrame) else None
    value = _eval(tree, data)
    if np.ndim(value) == 0:
        value = np.full(len(index) if index is not None else 1, float(value))
    return pd.Series(np.asarray(value, dtype="float64"), index=index)


def _eval(node: ast.AST, data: pd.DataFrame | Mapping[str, pd.Series]) -> np.ndarray | float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in data:
            raise ExpressionError(f"the expression reads {node.id}, which the dataset "
                                  "does not have")
        return pd.to_numeric(pd.Series(data[node.id]), errors="coerce").to_numpy(
            dtype="float64")
    if isinstance(node, ast.BinOp):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = _BINARY[type(node.op)](_eval(node.left, data), _eval(node.right, data))
        return np.where(np.isfinite(out), out, np.nan)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, data)
        return -operand if isinstance(node.op, ast.USub) else operand
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    name = node.func.id
    args = [_eval(a, data) for a in node.args]
    if name == "abs":
        return np.abs(args[0])
    if name == "floor":
        return np.floor(args[0])
    if name == "ceil":
        return np.ceil(args[0])
    if name == "round":
        # Imported here: trialflow.stats imports scipy, a second of the adam stage's
        # time when no spec rounds.
        from trialflow.stats.descriptive import round_half_up

        digits = int(args[1]) if len(args) == 2 else 0
        return round_half_up(np.asarray(args[0], dtype="float64"), digits)
    stacked = np.vstack([np.broadcast_to(np.asarray(a, dtype="float64"),
                                         np.broadcast(*args).shape) for a in args])
    with np.errstate(invalid="ignore"), _quiet():
        return np.nanmin(stacked, axis=0) if name == "min" else np.nanmax(stacked, axis=0)


class _quiet:
    """Silence numpy's all-NaN-slice warning: an all-missing MIN is missing, as in SAS."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
