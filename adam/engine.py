"""The ADaM builder for any dataset of any study: a spec's list of steps, each one verb.

A dataset spec with ``builder: adam.engine`` (the default for a spec without a builder)
describes its derivation as the dataset it starts from and a list of steps, each one of
admiral's verbs with its parameters::

    derivation:
      inputs: [DM, EX, DS]
      start: {dataset: DM, filter: {ARMCD: {ne: Scrnfail}}}
      steps:
        - merge: {dataset: EX, order: [EXSTDTC, EXSEQ], mode: first,
                  new_vars: {TRTSDTC: EXSTDTC}, filter: {EXDOSE: {gt: 0}}}
        - dt: {source: TRTSDTC, prefix: TRTS}
        - flag: {new_var: SAFFL, condition: {TRTSDT: {present: true}}}

Steps run in order on the dataset being built; each adds or replaces variables (or,
for the record-making verbs, records). The last step's variables that the spec
declares are kept, in spec order, sorted by the spec's sort keys (by the writer). A
``work_dataset`` step runs steps of its own on another input and keeps the result as
an input of the later steps; its steps may read the dataset being built, under the
spec's name (checked like any step when the spec is loaded).

Every verb is a function of :mod:`adam.verbs` with a parameter schema: a spec is checked
when it is loaded (:func:`check_spec`), so a misspelt key, a wrong type or an unknown
verb is one line naming the file, the step and what is allowed, before any data are
read. A variable or dataset the data lack is one line naming the spec, the step and the
missing item (:class:`~trialflow.errors.InputError`), never a traceback.

Example
-------
>>> import pandas as pd
>>> from trialflow.spec import DatasetSpec, Variable
>>> dm = pd.DataFrame({"USUBJID": ["1", "2"], "AGE": [70.0, 40.0]})
>>> spec = DatasetSpec("ADSL", "Subject-Level", "SUBJECT LEVEL ANALYSIS DATASET", "",
...     "ADaMIG 1.3", ("USUBJID",), ("USUBJID",),
...     (Variable("USUBJID", "Subject", "Char", 20, "Predecessor", True),
...      Variable("AGEGR1", "Age group", "Char", 4, "Derived", False)),
...     derivation={"inputs": ["DM"], "start": {"dataset": "DM"}, "steps": [
...         {"categorize": {"source": "AGE", "new_var": "AGEGR1",
...                         "groups": [{"lt": 65, "value": "<65"}], "otherwise": ">=65"}}]})
>>> build({"DM": dm}, spec)["AGEGR1"].tolist()
['>=65', '<65']
"""

from __future__ import annotations

import difflib
import inspect
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from cerberus import Validator

from adam import verbs
from adam.conditions import ConditionError, validate_condition
from adam.derive import keep_spec_vars
from trialflow.errors import InputError, SpecError
from trialflow.expression import ExpressionError
from trialflow.spec import DatasetSpec

__all__ = ["DERIVATION_SCHEMA", "build", "check_spec", "default_names", "input_columns",
           "schema_problem"]

#: The ``derivation`` block of a spec built by this engine.
DERIVATION_SCHEMA: dict[str, Any] = {
    "inputs": {"type": "list", "required": True, "minlength": 1,
               "schema": {"type": "string", "regex": r"^[A-Z][A-Z0-9]{0,7}$"}},
    "start": {"type": "dict", "required": True, "schema": verbs.START_SCHEMA},
    "steps": {"type": "list", "schema": {"type": "dict", "minlength": 1, "maxlength": 1}},
    # Resolved by adam.resolve: the study's arms (treatment verbs), an instrument.
    "arms": {"type": ["string", "list"]},
    "instrument": {"type": ["string", "dict"]},
    "comment": {"type": "string"},
}


def _allowed(schema: Mapping[str, Any]) -> str:
    return ", ".join(sorted(schema))


def schema_problem(v: Validator, schema: Mapping[str, Any]) -> str:
    """The first error of a cerberus validation as one phrase naming the key: a key the
    schema does not know first (a misspelling also makes a required key look missing),
    with the closest allowed key and the list of allowed ones."""
    found: list[tuple[str, str]] = []

    def walk(errors: Any, path: str = "") -> None:
        for key in sorted(errors, key=str):
            detail = errors[key]
            where = f"{path}.{key}" if path else str(key)
            for d in detail if isinstance(detail, list) else [detail]:
                if isinstance(d, dict):
                    walk(d, where)
                else:
                    found.append((where, str(d)))
    walk(v.errors)
    unknown = [(w, d) for w, d in found if d == "unknown field"]
    where, what = (unknown or found)[0]
    if what == "unknown field":
        *path, key = where.split(".")
        level = _level(schema, path)
        if level:
            close = difflib.get_close_matches(key, list(level), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            what = f"unknown field ({hint}allowed: {_allowed(level)})"
    return f"{where}: {what}"


def _level(schema: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any] | None:
    """The fields of the mapping at ``path`` (keys and list positions, as cerberus names
    them) within ``schema``; None when the path leads to no mapping of known fields."""
    fields: Mapping[str, Any] | None = schema
    rule: Mapping[str, Any] | None = None
    for part in path:
        if rule is not None and "list" in _types(rule) and part.isdigit():
            rule = rule.get("schema") if isinstance(rule.get("schema"), Mapping) else None
            fields = rule.get("schema") if rule and "dict" in _types(rule) else None
            continue
        if fields is None or part not in fields:
            return None
        rule = fields[part]
        fields = rule.get("schema") if "dict" in _types(rule) else None
    return fields if isinstance(fields, Mapping) else None


def _types(rule: Mapping[str, Any]) -> list[str]:
    kind = rule.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def check_spec(spec: DatasetSpec) -> None:
    """Check a spec's derivation against the engine's contract.

    Raises
    ------
    SpecError
        One line naming the spec file, the dataset, the step and the problem (an
        unknown verb or key, a missing parameter, a wrong type, a malformed condition
        or expression, a dataset that is not among the inputs), with what is allowed.
    """
    derivation = dict(spec.derivation)
    # A spec is checked when the stage starts and again when it is built: the second
    # time is a lookup (the verbs' schemas are many, cerberus is slow to walk them).
    key = _fingerprint(spec)
    if key in _CHECKED:
        return
    v = _validator(DERIVATION_SCHEMA)
    if not v.validate(derivation):
        raise SpecError(spec.file, f"derivation.{schema_problem(v, DERIVATION_SCHEMA)}",
                        spec.name)
    start = derivation["start"]
    for problem in validate_condition(start.get("filter")):
        raise SpecError(spec.file, f"derivation.start.filter: {problem}", spec.name)
    _check_steps(spec, derivation.get("steps") or [], set(derivation["inputs"]), "")
    _CHECKED.add(key)


#: The specs found well formed (:func:`_fingerprint`).
_CHECKED: set[str] = set()
#: One cerberus validator per schema (a validator is reusable; making one compiles the
#: schema), with the schema it was made for.
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Validator]] = {}


def _validator(schema: Mapping[str, Any]) -> Validator:
    found = _VALIDATORS.get(id(schema))
    if found is None or found[0] is not schema:
        found = _VALIDATORS[id(schema)] = (schema, Validator(schema, allow_unknown=False))
    return found[1]


def _fingerprint(spec: DatasetSpec) -> str:
    """What :func:`check_spec` reads of a spec, as text."""
    return json.dumps([spec.file, spec.name, bool(spec.parameters), spec.derivation],
                      sort_keys=True, default=repr)


def _check_steps(spec: DatasetSpec, steps: list[Any], available: set[str],
                 within: str) -> set[str]:
    """Check each step of ``steps`` (and the steps of the work datasets they make);
    ``available`` are the datasets a step may read. Returns them with the work
    datasets the steps made."""
    available = set(available)
    for i, step in enumerate(steps, start=1):
        where = f"{within}step {i}"
        if not isinstance(step, dict) or len(step) != 1:
            raise SpecError(spec.file, f"{where}: a step is one verb and its parameters "
                            "(- verb: {...})", spec.name)
        ((name, params),) = step.items()
        where = f"{where} ({name})"
        verb = verbs.VERBS.get(name)
        if verb is None:
            close = difflib.get_close_matches(name, list(verbs.VERBS), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise SpecError(spec.file, f"{where}: unknown verb {name!r} ({hint}allowed: "
                            f"{', '.join(sorted(verbs.VERBS))})", spec.name)
        if not isinstance(params, dict):
            raise SpecError(spec.file, f"{where}: parameters must be a mapping of key to "
                            f"value (allowed keys: {_allowed(verb.schema)})", spec.name)
        pv = _validator(verb.schema)
        if not pv.validate(params):
            raise SpecError(spec.file, f"{where}: {schema_problem(pv, verb.schema)}",
                            spec.name)
        try:
            verb.check(params)
        except (ValueError, ExpressionError) as exc:
            raise SpecError(spec.file, f"{where}: {exc}", spec.name) from None
        for key in ("filter", "condition"):
            for problem in validate_condition(params.get(key)):
                raise SpecError(spec.file, f"{where}: {key}: {problem}", spec.name)
        for j, case in enumerate(params.get("cases") or [], start=1):
            for problem in validate_condition(case.get("when")):
                raise SpecError(spec.file, f"{where}: case {j}: {problem}", spec.name)
        used = verb.datasets(params)
        missing = [d for d in used if d not in available]
        if missing:
            raise SpecError(spec.file, f"{where}: reads {missing[0]}, which is not under "
                            "derivation.inputs nor a work dataset made before", spec.name)
        if name == "param_lookup" and not spec.parameters:
            raise SpecError(spec.file, f"{where}: reads the spec's parameters block, which "
                            "is empty (declare parameters: - {paramcd, param, paramn})",
                            spec.name)
        if name == "work_dataset":
            # Its steps may read the dataset being built, under the spec's name.
            for problem in validate_condition(params["start"].get("filter")):
                raise SpecError(spec.file, f"{where}: start.filter: {problem}", spec.name)
            _check_steps(spec, params.get("steps") or [], available | {spec.name},
                         f"{where}, work dataset {params['name']}, ")
            available.add(params["name"])
    return available


def input_columns(spec: DatasetSpec) -> dict[str, set[str] | None]:
    """The variables of each input that the spec may read: every name the derivation
    writes (in its steps, conditions and expressions: any upper-case word), the
    defaults of the verbs it uses, what a verb reads without naming it (QNAM and QVAL of
    a supplemental dataset, a findings prefix's --TESTCD ...), the spec's variables,
    STUDYID and USUBJID. The reader keeps those of them a dataset has, so that a large
    SDTM domain (QS: 6 million records at 21,900 subjects) is not read whole; naming
    more than is read costs nothing.
    """
    derivation = spec.derivation
    names = {"STUDYID", "USUBJID", *spec.variable_names}
    names |= _names(derivation.get("start")) | _names(list(spec.parameters))
    for verb, params in _steps(derivation.get("steps") or []):
        found = verbs.VERBS.get(verb)
        names |= _names(params)
        if found is not None:
            names |= default_names(found.function) | found.reads(params)
    return {w: set(names) for w in derivation.get("inputs", [])}


_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def _names(value: Any) -> set[str]:
    """Every upper-case word of ``value`` (its text, keys and items, nested)."""
    if isinstance(value, str):
        return set(_NAME.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(_names(k) | _names(v) for k, v in value.items()))
    if isinstance(value, (list, tuple, set)):
        return set().union(*(_names(v) for v in value))
    return set()


def default_names(function: Any) -> set[str]:
    """The upper-case words of the defaults of ``function``'s parameters (a verb's
    ``date="ADT"``, ``by=("USUBJID", "PARAMCD")``)."""
    return set().union(*(_names(p.default) for p in inspect.signature(function)
                         .parameters.values() if p.default is not inspect.Parameter.empty))


def _steps(steps: Sequence[Any]) -> list[tuple[str, Any]]:
    """Every step as (verb, parameters), those of work datasets too."""
    out: list[tuple[str, Any]] = []
    for step in steps:
        if not isinstance(step, Mapping) or len(step) != 1:
            continue
        ((verb, params),) = step.items()
        out.append((verb, params))
        if verb == "work_dataset" and isinstance(params, Mapping):
            out += _steps(params.get("steps") or [])
    return out


def build(inputs: Mapping[str, pd.DataFrame], spec: DatasetSpec) -> pd.DataFrame:
    """Run the spec's steps on the input datasets and keep the spec's variables.

    Raises
    ------
    SpecError
        The derivation breaks the engine's contract (see :func:`check_spec`).
    InputError
        A step needs a variable or dataset the data do not have.
    """
    check_spec(spec)
    context = verbs.Context(inputs=inputs, spec=spec, derivation=dict(spec.derivation))
    start = spec.derivation["start"]
    try:
        data = verbs.start(context, **start)
    except (KeyError, ConditionError, ExpressionError) as exc:
        raise InputError(spec.file, f"{spec.name} start: {_missing(exc)}") from None
    for i, step in enumerate(spec.derivation.get("steps") or [], start=1):
        ((name, params),) = step.items()
        try:
            data = verbs.VERBS[name].function(data, context, **params)
        except (KeyError, ConditionError, ExpressionError, ValueError) as exc:
            raise InputError(spec.file, f"{spec.name} step {i} ({name}): {_missing(exc)}",
                             fix="add what is missing to the data or change the step"
                             ) from None
    return keep_spec_vars(data, spec)


def _missing(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    return str(text)
