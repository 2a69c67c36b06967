"""The spec contract as JSON Schema, for editors (``trialflow schema``).

Every spec is checked when it is loaded, against cerberus schemas that live beside the
code that reads it (:mod:`trialflow.spec` for study, raw forms, codelists, dictionaries
and datasets; :mod:`adam.engine` and :mod:`adam.verbs` for ADaM derivations;
:mod:`tlf.spec`, :mod:`tlf.analyses` and :mod:`tlf.outputs` for analyses and outputs,
:mod:`tlf.reproduction` for the map of published targets). :func:`json_schemas` converts
those same schemas into
JSON Schema (draft 2020-12), so that an editor with a YAML language server (a spec's
first line ``# yaml-language-server: $schema=<path>``) completes keys and marks a
misspelt one while it is typed, with the rules trialflow applies when it runs.

The files are written to ``trialflow/schemas/`` (package data) by ``trialflow schema``;
a test keeps them equal to what the code would write.

The generator sits with the command line because it reads the contracts of every layer
(the core imports no layer).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trialflow import PACKAGE

__all__ = ["KINDS", "SCHEMAS", "convert", "json_schemas", "schema_of", "write_schemas"]

#: Where the schemas are (package data).
SCHEMAS = PACKAGE / "schemas"
#: The kinds of spec file, by the schema file name.
KINDS: tuple[str, ...] = ("study", "form", "codelist", "dictionary", "dataset", "output",
                          "analyses", "reproduction")
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _type(rule: Mapping[str, Any]) -> dict[str, Any]:
    names = rule.get("type")
    names = [names] if isinstance(names, str) else list(names or [])
    mapped = []
    for n in names:
        mapped += {"string": ["string"], "integer": ["integer"], "float": ["number"],
                   "number": ["number"], "boolean": ["boolean"], "dict": ["object"],
                   "list": ["array"], "date": ["string"], "datetime": ["string"]}[n]
    if rule.get("nullable"):
        mapped.append("null")
    mapped = list(dict.fromkeys(mapped))
    out: dict[str, Any] = {}
    if mapped:
        out["type"] = mapped[0] if len(mapped) == 1 else mapped
    if names == ["date"]:
        out["format"] = "date"
    return out


def convert(rule: Mapping[str, Any]) -> dict[str, Any]:
    """One cerberus field rule as a JSON Schema.

    Examples
    --------
    >>> convert({"type": "string", "allowed": ["a", "b"], "required": True})
    {'type': 'string', 'enum': ['a', 'b']}
    >>> convert({"type": "list", "minlength": 1, "schema": {"type": "integer", "min": 0}})
    {'type': 'array', 'minItems': 1, 'items': {'type': 'integer', 'minimum': 0}}
    """
    if "anyof" in rule:
        return {"anyOf": [convert(r) for r in rule["anyof"]]}
    out = _type(rule)
    kinds = out.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if "allowed" in rule:
        out["enum"] = list(rule["allowed"])
    if "regex" in rule:
        out["pattern"] = rule["regex"]
    if rule.get("empty") is False:
        out["minLength"] = 1
    for key, text, array in (("minlength", "minLength", "minItems"),
                             ("maxlength", "maxLength", "maxItems")):
        if key in rule:
            out[array if "array" in kinds and "string" not in kinds else text] = rule[key]
    if "min" in rule:
        out["minimum"] = rule["min"]
    if "max" in rule:
        out["maximum"] = rule["max"]
    inner = rule.get("schema")
    if inner is not None:
        if "array" in kinds:
            out["items"] = convert(inner)
        elif "object" in kinds:
            fields = _object(inner)
            fields.pop("type")  # keep the rule's own type (a nullable mapping: or null)
            out.update(fields)
    if "keysrules" in rule:
        out["propertyNames"] = convert(rule["keysrules"])
    if "valuesrules" in rule:
        out["additionalProperties"] = convert(rule["valuesrules"])
    return out


def _object(fields: Mapping[str, Any], allow_unknown: bool = False) -> dict[str, Any]:
    """A mapping of cerberus fields as a JSON Schema object."""
    out: dict[str, Any] = {"type": "object",
                           "properties": {k: convert(v) for k, v in fields.items()}}
    required = [k for k, v in fields.items() if v.get("required")]
    if required:
        out["required"] = required
    if not allow_unknown:
        out["additionalProperties"] = False
    return out


def _engine_derivation() -> dict[str, Any]:
    """The ``derivation`` block of a dataset built by :mod:`adam.engine`: its steps are
    each exactly one verb with that verb's parameters."""
    from adam import engine
    from adam.verbs import VERBS

    fields = dict(engine.DERIVATION_SCHEMA)
    out = _object({k: v for k, v in fields.items() if k != "steps"})
    out["properties"]["steps"] = {"type": "array", "items": {"oneOf": [
        {"type": "object", "properties": {name: _object(verb.schema)},
         "required": [name], "additionalProperties": False}
        for name, verb in sorted(VERBS.items())]}}
    return out


def _analyses() -> dict[str, Any]:
    """A file of ``tlf/analyses/``: populations, and analyses each of one method family
    with the common keys and the family's own."""
    from tlf.analyses import families
    from tlf.spec import ANALYSIS_FILE_SCHEMA, ANALYSIS_SCHEMA

    body = _object({k: v for k, v in ANALYSIS_FILE_SCHEMA.items() if k != "analyses"})
    # An analysis may take keys from the file's defaults: required keys are checked once
    # merged (when loaded), so here none is required.
    variants = []
    for name, module in sorted(families().items()):
        item = _object({**ANALYSIS_SCHEMA, **module.SCHEMA})
        item.pop("required", None)
        item["required"] = ["id", "family"]
        item["properties"]["family"] = {"const": name}
        # group: TRT01P is short for group: {variable: TRT01P}.
        item["properties"]["group"] = {"anyOf": [{"type": "string"},
                                                 item["properties"]["group"]]}
        variants.append(item)
    body["properties"]["analyses"] = {"type": "array", "items": {"oneOf": variants}}
    return body


def schema_of(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind of spec file (see :data:`KINDS`)."""
    from trialflow import spec

    if kind == "study":
        body = _object(spec.STUDY_SCHEMA)
    elif kind == "form":
        body = _object(spec.FORM_SCHEMA)
    elif kind == "codelist":
        body = _object(spec.CODELIST_SCHEMA)
    elif kind == "dictionary":
        body = _object(spec.DICTIONARY_SCHEMA)
    elif kind == "dataset":
        body = _object(spec.DATASET_SCHEMA)
        # A variable of the dataset's standard may leave out what the standard says.
        variable = body["properties"]["variables"]["items"]
        variable["required"] = [r for r in variable["required"]
                                if r not in ("label", "type")]
        # Built by the ADaM engine (no builder named, an ADaMIG dataset): its steps are
        # checked verb by verb; other builders read their own derivation block.
        body["allOf"] = [{
            "if": {"properties": {"dataset": {
                "properties": {"standard": {"pattern": "^ADaMIG"}},
                "not": {"required": ["builder"]}}}},
            "then": {"properties": {"derivation": _engine_derivation()}}}]
    elif kind == "output":
        from tlf.outputs import parameter_schemas
        from tlf.spec import OUTPUT_SCHEMA

        body = _object(OUTPUT_SCHEMA)
        # The parameters are those of the layout the spec names.
        body["allOf"] = [
            {"if": {"properties": {"layout": {"const": name}}, "required": ["layout"]},
             "then": {"properties": {"parameters": _object(params)}}}
            for name, params in sorted(parameter_schemas().items())]
    elif kind == "analyses":
        body = _analyses()
    elif kind == "reproduction":
        from tlf.reproduction import MAP_SCHEMA

        body = _object(MAP_SCHEMA)
    else:
        raise ValueError(f"unknown kind of spec {kind!r}; one of {', '.join(KINDS)}")
    return {"$schema": _DRAFT, "$id": f"https://trialflow.dev/schemas/{kind}.schema.json",
            "title": f"trialflow {kind} spec", **body}


def json_schemas() -> dict[str, str]:
    """Every schema as the text of its file (``<kind>.schema.json``)."""
    return {f"{kind}.schema.json": json.dumps(schema_of(kind), indent=1, sort_keys=True)
            + "\n" for kind in KINDS}


def write_schemas(folder: Path = SCHEMAS) -> list[Path]:
    """Write :func:`json_schemas` into ``folder`` (atomically); return the paths."""
    from trialflow.io import write_atomic

    paths = []
    for name, text in json_schemas().items():
        paths.append(write_atomic(Path(folder) / name,
                                  lambda tmp, text=text: tmp.write_text(text,
                                                                        encoding="utf-8")))
    return paths
