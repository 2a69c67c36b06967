"""The spec model: what every dataset, raw form, codelist and the study are.

Specs are YAML files under ``specs/``. They are read with PyYAML's safe loader (never a
loader that can build Python objects) and validated against the cerberus schemas
below as they are loaded, so a broken spec stops the run with a message naming the
file, the dataset, the variable and the problem — before any data are touched.

The model holds what define.xml and a P21-style spec need:

* study: id, title, data cut-off, arms, strata, month length (30.4375 days);
* datasets: name, label, class, structure, keys, sort order, variables, methods;
* variables: name, label, type, length, codelist, origin, source/method, format,
  mandatory;
* codelists: NCI code, submission value, decode, collected values (synonyms);
* raw forms: the columns of each CRF export, their types and allowed values.

Example
-------
>>> from trialflow.spec import load_study
>>> load_study().id
'PRECIOUS'
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from cerberus import Validator

from trialflow import SPECS, STANDARDS
from trialflow.errors import SpecError

#: The sides of study.yaml's ``output.margins``, in the order of ``OutputStyle.margins``.
_MARGIN_SIDES = ("top", "right", "bottom", "left")

#: libyaml's safe loader parses the ~100 spec files in 0.1 s instead of 1.4 s; it builds
#: the same plain types as ``yaml.SafeLoader``, which stays the fallback.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --------------------------------------------------------------------------- schemas

_NAME = {"type": "string", "regex": r"^[A-Za-z][A-Za-z0-9_]*$"}

_RELATIVE_PATH = {"type": "string", "empty": False}

#: One source of a study's input data: a folder (every dataset file in it, named by its
#: stem) or one file (named by ``dataset``, else its stem).
_INPUT_SOURCE = {
    "type": "dict",
    "schema": {
        "path": {**_RELATIVE_PATH, "required": True},
        "dataset": {**_NAME, "maxlength": 8},
        "encoding": {"type": "string"},
    },
}

STUDY_SCHEMA: dict[str, Any] = {
    "study": {
        "type": "dict",
        "required": True,
        "schema": {
            "id": {"type": "string", "required": True, "regex": r"^[A-Za-z0-9_-]{1,20}$"},
            "title": {"type": "string", "required": True},
            "registry": {"type": "string"},
            "protocol": {"type": "string"},
            "sponsor": {"type": "string"},
            "phase": {"type": "string"},
            "indication": {"type": "string"},
            "sites": {"type": "integer", "min": 1},
            "data_cutoff": {"type": "date", "required": True},
            "enrolment_start": {"type": "date"},
            "enrolment_end": {"type": "date"},
            "month_length": {"type": "float", "allowed": [30.4375]},
            # Simulation settings (a study whose raw data trialflow simulates).
            "seed": {"type": "integer", "min": 0},
            "subjects": {"type": "integer", "min": 1},
            "simulation": _RELATIVE_PATH,
            "arms": {
                "type": "list",
                "required": True,
                "minlength": 1,
                "schema": {
                    "type": "dict",
                    "schema": {
                        "code": {**_NAME, "required": True, "maxlength": 20},
                        "name": {"type": "string", "required": True, "maxlength": 200},
                        # Display order (TRTxxPN).
                        "number": {"type": "integer", "required": True},
                        "test": {"type": "boolean"},
                        "control": {"type": "boolean"},
                    },
                },
            },
            "strata": {
                "type": "list",
                "schema": {
                    "type": "dict",
                    "schema": {
                        "name": {**_NAME, "required": True},
                        "label": {"type": "string", "required": True, "maxlength": 40},
                        "values": {"type": "list", "required": True, "minlength": 2,
                                   "schema": {"type": "string"}},
                    },
                },
            },
            # Where the study's data come in: raw CRF extracts, SDTM or ADaM, and from
            # where (paths relative to the study folder).
            "inputs": {
                "type": "dict",
                "schema": {
                    "layer": {"type": "string", "required": True,
                              "allowed": ["raw", "sdtm", "adam"]},
                    "sources": {"type": "list", "minlength": 1, "schema": _INPUT_SOURCE},
                },
            },
            # Published numbers the study's results reproduce (a YAML file).
            "targets": _RELATIVE_PATH,
            # The CDISC standards the study follows: where CDISC's published files are
            # (trialflow.cdisc) and the CT version of each package its codelists use.
            "standards": {
                "type": "dict",
                "schema": {
                    "library": _RELATIVE_PATH,
                    "ct": {"type": "dict",
                           "keysrules": {"type": "string", "allowed": ["SDTM", "ADaM"]},
                           "valuesrules": {"type": "string",
                                           "regex": r"^\d{4}-\d{2}-\d{2}$"}},
                },
            },
            # How documents look.
            "output": {
                "type": "dict",
                "schema": {
                    "page_size": {"type": "string", "allowed": ["letter", "a4"]},
                    "orientation": {"type": "string", "allowed": ["portrait", "landscape"]},
                    "font": {"type": "string"},
                    "font_size": {"type": "number", "min": 6, "max": 14},
                    "status": {"type": "string", "allowed": ["draft", "final"]},
                    "book_pdf": {"type": "boolean"},
                    "header": {"type": "list", "schema": {"type": "string"}},
                    "footer": {"type": "list", "schema": {"type": "string"}},
                    "margins": {"type": "dict", "schema": {
                        side: {"type": "number", "min": 0.25, "max": 3}
                        for side in _MARGIN_SIDES}},
                },
            },
        },
    }
}

_RAW_COLUMN = {
    "type": "dict",
    "schema": {
        "name": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9_]*$"},
        "label": {"type": "string", "required": True},
        "type": {"type": "string", "required": True,
                 "allowed": ["text", "integer", "float", "date"]},
        "required": {"type": "boolean", "default": False},
        "partial": {"type": "boolean", "default": False},
        "max_length": {"type": "integer", "min": 1},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "allowed": {"type": "list"},
        "codelist": {"type": "string"},
        # A date that cannot precede another date of the same record (an end date and
        # its start date): the name of that other date column.
        "not_before": {"type": "string"},
    },
}

#: Rule kinds of a raw form's ``checks``: the column's date must not be before (after) the
#: reference date.
_CHECK_RULES = ("not_before", "not_after")

FORM_SCHEMA: dict[str, Any] = {
    "form": {
        "type": "dict",
        "required": True,
        "schema": {
            "name": {"type": "string", "required": True, "regex": r"^[a-z][a-z0-9_]*$"},
            "label": {"type": "string", "required": True},
            "file": {"type": "string", "required": True, "regex": r"^[a-z0-9_]+\.csv$"},
            "keys": {"type": "list", "required": True, "minlength": 1,
                     "schema": {"type": "string"}},
            "repeating": {"type": "boolean", "required": True},
            # The form that lists the enrolled subjects: every other form's SUBJID must
            # be one of its subjects.
            "enrols": {"type": "boolean"},
            # A form that may legitimately have no records (a header-only export): an
            # event no subject may have had. Otherwise a header-only file stops the run,
            # since an export that lost its rows would silently remove every record.
            "may_be_empty": {"type": "boolean"},
            "description": {"type": "string"},
        },
    },
    "columns": {"type": "list", "required": True, "minlength": 1, "schema": _RAW_COLUMN},
    # Plausibility checks of a date column against another date: of the same record
    # (COLUMN), of the subject's record in another form (form.COLUMN; a form with one
    # record per subject), of the study (study.data_cutoff...), or a date (YYYY-MM-DD),
    # shifted by whole years. trialflow.rawdata reports a record that breaks one.
    "checks": {"type": "list", "schema": {"type": "dict", "schema": {
        "rule": {"type": "string", "required": True, "allowed": list(_CHECK_RULES)},
        "column": {"type": "string", "required": True},
        "reference": {"type": ["string", "date"], "required": True},
        "years": {"type": "integer"},
        "severity": {"type": "string", "allowed": ["error", "warning"]},
        "why": {"type": "string"},
    }}},
}

CODELIST_SCHEMA: dict[str, Any] = {
    "codelist": {
        "type": "dict",
        "required": True,
        "schema": {
            "id": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9_]*$"},
            "name": {"type": "string", "required": True},
            "nci_code": {"type": "string", "nullable": True, "regex": r"^C\d+$"},
            # The CDISC CT package the codelist is from (its version is the study's,
            # study.yaml standards.ct); default SDTM for a codelist with an NCI code.
            "ct": {"type": "string", "allowed": ["SDTM", "ADaM"]},
            "extensible": {"type": "boolean", "required": True},
            "data_type": {"type": "string", "required": True,
                          "allowed": ["text", "integer", "float"]},
            "description": {"type": "string"},
        },
    },
    "terms": {
        "type": "list",
        "required": True,
        "minlength": 1,
        "schema": {
            "type": "dict",
            "schema": {
                "submission_value": {"required": True, "type": ["string", "integer", "float"]},
                "nci_code": {"type": "string", "nullable": True,
                             "regex": r"^C\d+$"},
                "decode": {"type": "string", "required": True},
                "order": {"type": "integer"},
                # A term the sponsor adds to an extensible CDISC codelist although it has
                # an NCI code (a term of another CDISC codelist); a term without a code
                # in a CDISC codelist is an extension anyway.
                "extended": {"type": "boolean"},
                "synonyms": {"type": "list", "schema": {"type": ["string", "integer"]}},
            },
        },
    },
}

_VARIABLE = {
    "type": "dict",
    "schema": {
        "name": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9]{0,7}$"},
        "label": {"type": "string", "required": True, "maxlength": 40,
                  "regex": r"^[\x20-\x7E]*$"},
        "type": {"type": "string", "required": True, "allowed": ["Char", "Num"]},
        "length": {"type": "integer", "required": True, "min": 1, "max": 200},
        "codelist": {"type": "string", "nullable": True},
        "origin": {"type": "string", "required": True,
                   "allowed": ["Collected", "Derived", "Assigned", "Protocol", "Predecessor",
                               "Not Available"]},
        "source": {"type": "string"},
        "method": {"type": "string", "nullable": True},
        # One mapping rule, or a list of rules of which the first whose condition holds
        # writes a row (trialflow.mapping checks the vocabulary).
        "rule": {"type": ["dict", "list"]},
        "format": {"type": "string", "nullable": True},
        "mandatory": {"type": "boolean", "required": True},
        "core": {"type": "string", "allowed": ["Req", "Exp", "Perm", "Cond"]},
        "role": {"type": "string"},
        "comment": {"type": "string"},
    },
}

DATASET_SCHEMA: dict[str, Any] = {
    "dataset": {
        "type": "dict",
        "required": True,
        "schema": {
            "name": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9]{0,7}$"},
            "label": {"type": "string", "required": True, "maxlength": 40},
            "class": {"type": "string", "required": True},
            "structure": {"type": "string", "required": True},
            "standard": {"type": "string", "required": True},
            "keys": {"type": "list", "required": True, "minlength": 1,
                     "schema": {"type": "string"}},
            "sort": {"type": "list", "required": True, "minlength": 1,
                     "schema": {"type": "string"}},
            "builder": {"type": "string"},
            "comment": {"type": "string"},
        },
    },
    "variables": {"type": "list", "required": True, "minlength": 1, "schema": _VARIABLE},
    "methods": {
        "type": "list",
        "schema": {
            "type": "dict",
            "schema": {
                "id": {"type": "string", "required": True},
                "description": {"type": "string", "required": True},
                "type": {"type": "string", "allowed": ["Computation", "Imputation"]},
            },
        },
    },
    "parameters": {"type": "list"},
    "derivation": {"type": "dict"},
    # Source blocks: each makes records from one raw form (trialflow.mapping).
    "sources": {
        "type": "list",
        "schema": {
            "type": "dict",
            "schema": {
                "id": {"type": "string", "required": True},
                "form": {"type": "string", "required": True, "regex": r"^[a-z][a-z0-9_]*$"},
                "merge": {"type": "list", "schema": {"type": "dict", "schema": {
                    "form": {"type": "string", "required": True},
                    "on": {"type": "list", "schema": {"type": "string"}},
                    "required": {"type": "boolean"},
                    "reason": {"type": "string"},
                }}},
                "when": {"type": "dict"},
                "unmapped": {"type": "string"},
                "melt": {"type": "dict", "schema": {
                    "columns": {"type": "list", "required": True, "minlength": 1,
                                "schema": {"type": "string"}},
                    "name": {"type": "string"},
                    "value": {"type": "string"},
                    "drop_blank": {"type": "boolean"},
                }},
                "set": {"type": "dict"},
                "comment": {"type": "string"},
            },
        },
    },
    # Literal records (trial-design datasets such as TS, TA, TE).
    "rows": {"type": "list", "schema": {"type": "dict"}},
}

DICTIONARY_SCHEMA: dict[str, Any] = {
    "dictionary": {"type": "string", "required": True},
    "version": {"type": "string", "required": True},
    "terms": {
        "type": "list",
        "required": True,
        "minlength": 1,
        "schema": {
            "type": "dict",
            "schema": {
                "llt": {"type": "string", "required": True, "maxlength": 200},
                "pt": {"type": "string", "required": True, "maxlength": 200},
                "soc": {"type": "string", "required": True, "maxlength": 200},
                "hlt": {"type": "string"},
                "hlgt": {"type": "string"},
                # The dictionary's codes of each level (MedDRA: 8 digits).
                "llt_code": {"type": "integer", "min": 1},
                "pt_code": {"type": "integer", "min": 1},
                "hlt_code": {"type": "integer", "min": 1},
                "hlgt_code": {"type": "integer", "min": 1},
                "soc_code": {"type": "integer", "min": 1},
                "verbatim": {"type": "list", "schema": {"type": "string"}},
            },
        },
    },
}

# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Arm:
    code: str
    name: str
    number: int
    test: bool = False
    control: bool = False


@dataclass(frozen=True)
class Stratum:
    name: str
    label: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class InputSource:
    """One place a study's input datasets come from (a folder or one file)."""

    path: Path
    dataset: str | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class Inputs:
    """Where a study's data come in: the layer (``raw``, ``sdtm`` or ``adam``) and the
    folders or files (absolute paths). No sources for ``raw``: simulated."""

    layer: str = "raw"
    sources: tuple[InputSource, ...] = ()


@dataclass(frozen=True)
class OutputStyle:
    """How the study's documents look (``output:`` in study.yaml); the defaults are the
    look documents had before a study could declare one.

    Attributes
    ----------
    page_size : {"letter", "a4"}
    orientation : {"portrait", "landscape"}
        Of every output whose spec does not say ``landscape: true`` (those are landscape).
    margins : (top, right, bottom, left)
        Inches (study.yaml: ``margins: {top: 1, left: 0.75}``, sides left out are 1);
        the top and bottom margins grow to hold the header and footer lines.
    font : str
    font_size : float
        Points.
    status : {"draft", "final"}
        Printed on every page (DRAFT or FINAL).
    header, footer : tuple of str
        Line templates with fields such as ``{protocol}``, ``{data_cutoff}``,
        ``{status}``, ``{output}``, ``{program}``, ``{run_date}``, ``{page}`` and
        ``{pages}``; ``" | "`` separates left, centre and right parts (see
        :mod:`tlf.page`). Empty: the default lines.
    book_pdf : bool
        Whether the TLF book is also made as PDF (through LibreOffice, when installed).
        A study whose listings run to thousands of pages may say no: LibreOffice lays
        out such a listing for many minutes; book.docx and every output are still made.
    """

    page_size: str = "letter"
    orientation: str = "portrait"
    font: str = "Times New Roman"
    font_size: float = 9
    status: str = "final"
    header: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    margins: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    book_pdf: bool = True


@dataclass(frozen=True)
class Standards:
    """The CDISC standards a study follows: the library folder (None: look for it, see
    :func:`trialflow.cdisc.find_library`) and the CT version of each package."""

    library: Path | None = None
    ct: tuple[tuple[str, str], ...] = ()

    def ct_version(self, package: str) -> str | None:
        """The study's version of a CT package (``SDTM``, ``ADaM``), or None."""
        return dict(self.ct).get(package)


@dataclass(frozen=True)
class Study:
    id: str
    title: str
    data_cutoff: dt.date
    month_length: float
    seed: int | None
    subjects: int | None
    arms: tuple[Arm, ...]
    strata: tuple[Stratum, ...]
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    #: The study folder (where study.yaml is); relative paths in study.yaml are from here.
    folder: Path | None = None
    inputs: Inputs = field(default_factory=Inputs)
    targets: Path | None = None
    simulation: Path | None = None
    output: OutputStyle = field(default_factory=OutputStyle)
    standards: Standards = field(default_factory=Standards)

    def arm(self, code: str) -> Arm:
        return next(a for a in self.arms if a.code == code)

    @property
    def control_arm(self) -> Arm | None:
        """The arm marked ``control: true`` (None when the study names none)."""
        return next((a for a in self.arms if a.control), None)


@dataclass(frozen=True)
class RawColumn:
    name: str
    label: str
    type: str
    required: bool = False
    partial: bool = False
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[Any, ...] | None = None
    codelist: str | None = None
    not_before: str | None = None


@dataclass(frozen=True)
class RawCheck:
    """A plausibility check of a date column of a raw form (the form spec's ``checks``).

    Attributes
    ----------
    rule : {'not_before', 'not_after'}
        The column's date must not be before (after) the reference date.
    column : str
        A date column of the form.
    reference : str
        ``COLUMN`` (same record), ``form.COLUMN`` (the subject's record in a form with
        one record per subject), ``study.<date>`` (e.g. ``study.data_cutoff``), or a
        date ``YYYY-MM-DD``.
    years : int
        Whole years added to the reference (``-101``: 101 years before it).
    severity : {'error', 'warning'}
    why : str
        What the check guards against, for the finding's message.
    """

    rule: str
    column: str
    reference: str
    years: int = 0
    severity: str = "error"
    why: str = ""


@dataclass(frozen=True)
class RawForm:
    name: str
    label: str
    file: str
    keys: tuple[str, ...]
    repeating: bool
    columns: tuple[RawColumn, ...]
    description: str = ""
    enrols: bool = False
    may_be_empty: bool = False
    checks: tuple[RawCheck, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> RawColumn:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Term:
    submission_value: Any
    decode: str
    nci_code: str | None = None
    order: int | None = None
    synonyms: tuple[Any, ...] = ()
    extended: bool = False


@dataclass(frozen=True)
class Codelist:
    id: str
    name: str
    nci_code: str | None
    extensible: bool
    data_type: str
    terms: tuple[Term, ...]
    #: The CDISC CT package (SDTM, ADaM) of a CDISC codelist; None for a sponsor's own.
    package: str | None = None

    def is_extension(self, term: Term) -> bool:
        """Whether a term is the sponsor's extension of a CDISC codelist: the codelist
        has an NCI code and the term has none, or says ``extended: true``."""
        return self.package is not None and (term.extended or term.nci_code is None)

    def lookup(self) -> dict[str, Any]:
        """Collected value (submission value, decode or synonym), case- and space-folded,
        to submission value."""
        table: dict[str, Any] = {}
        for t in self.terms:
            for v in (t.submission_value, t.decode, *t.synonyms):
                table[_fold(v)] = t.submission_value
        return table


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: str
    length: int
    origin: str
    mandatory: bool
    codelist: str | None = None
    source: str | None = None
    method: str | None = None
    rule: dict[str, Any] | list[dict[str, Any]] | None = None
    format: str | None = None
    core: str | None = None
    role: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Method:
    id: str
    description: str
    type: str = "Computation"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    label: str
    cls: str
    structure: str
    standard: str
    keys: tuple[str, ...]
    sort: tuple[str, ...]
    variables: tuple[Variable, ...]
    methods: tuple[Method, ...] = ()
    builder: str | None = None
    comment: str | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    derivation: dict[str, Any] = field(default_factory=dict, compare=False)
    file: str = ""
    sources: tuple[dict[str, Any], ...] = ()
    rows: tuple[dict[str, Any], ...] = ()

    @property
    def variable_names(self) -> list[str]:
        return [v.name for v in self.variables]

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)


# --------------------------------------------------------------------------- loading


def _fold(value: Any) -> str:
    """Case- and whitespace-insensitive key, as sites type the same word many ways."""
    return " ".join(str(value).split()).upper()


class _Refused(Exception):
    """A YAML construct specs may not use (see :func:`read_yaml`); ``mark`` says where."""

    def __init__(self, problem: str, mark: Any) -> None:
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        super().__init__(f"{problem}{where}")


class StrictLoader(SAFE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader (libyaml's when available), refusing what a spec must not hold.

    * A key given twice in one mapping: YAML loaders keep the last one silently, so a
      second ``codelist:`` under a variable would quietly replace the first.
    * Aliases (``*name``, and so ``<<: *name`` merges): an alias repeats a node, and a few
      nested ones (the "billion laughs") make a document of a kilobyte expand to billions
      of values when it is walked: the run would exhaust memory. Specs spell values out.

    Only the constructor is Python; parsing stays in libyaml.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _Refused("an alias (*name) repeats the node anchored here; specs may not "
                           "use YAML anchors and aliases — write the value out",
                           node.start_mark)
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        first: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                seen = key in mapping
            except TypeError:
                raise _Refused(f"a key must be a single value, got {type(key).__name__}",
                               key_node.start_mark) from None
            if seen:
                at = first[key]
                raise _Refused(f"key {key!r} appears twice in one mapping (first at line "
                               f"{at.line + 1}); the second would silently replace the "
                               "first — keep one", key_node.start_mark)
            first[key] = key_node.start_mark
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


# YAML 1.2 booleans: only true and false. YAML 1.1 (PyYAML's default) also reads yes, no,
# on and off as booleans, so a key such as `on:` in `{form: enrol, on: [SUBJID]}` became
# True and the merge silently used its default.
_BOOL = "tag:yaml.org,2002:bool"
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in SAFE_LOADER.yaml_implicit_resolvers.items()}
StrictLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_yaml(path: Path) -> Any:
    """Read a YAML file with the safe loader; a syntax error becomes a SpecError.

    The loader is :class:`StrictLoader`: a key repeated within one mapping, and YAML
    aliases, are spec errors too. Only a regular file is read (a FIFO would block).
    """
    from trialflow.errors import InputError
    from trialflow.io import read_regular_file

    try:
        data = read_regular_file(Path(path))
    except InputError as exc:
        raise SpecError(str(path), exc.problem) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), f"not UTF-8 text ({exc.reason} at byte offset "
                        f"{exc.start})") from None
    try:
        return yaml.load(text, Loader=StrictLoader)
    except _Refused as exc:
        raise SpecError(str(path), f"invalid YAML: {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(str(path), f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SpecError(str(path), "invalid YAML: nested too deeply") from None


def _declared(raw: Any, section: str, key: str) -> Any:
    """``raw[section][key]`` when both are there, for naming the spec in an error before
    the schema has checked the document (any of them may be the wrong type)."""
    part = raw.get(section) if isinstance(raw, dict) else None
    return part.get(key) if isinstance(part, dict) else None


def _validate(doc: Any, schema: dict[str, Any], path: Path, list_key: str | None = None,
              dataset: str | None = None) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise SpecError(str(path), "expected a mapping at the top level", dataset)
    v = Validator(schema, allow_unknown=False)
    if v.validate(doc):
        return v.document
    # Report the first problem, naming the variable where the schema error sits inside
    # the variables/columns list, so the author can go straight to it.
    errors = v.errors
    key = sorted(errors)[0]
    detail = errors[key]
    variable = None
    if list_key and key == list_key and isinstance(detail, list) and isinstance(detail[0], dict):
        index = sorted(detail[0])[0]
        items = doc.get(list_key) or []
        item = items[index] if index < len(items) else {}
        variable = item.get("name") if isinstance(item, dict) else None
        if variable is None:
            variable = f"#{index + 1}"
        detail = detail[0][index]
    raise SpecError(str(path), f"{key}: {_flatten(detail)}", dataset, variable)


def _flatten(detail: Any) -> str:
    if isinstance(detail, list):
        return "; ".join(_flatten(d) for d in detail)
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    return str(detail)


def load_study(path: Path | None = None) -> Study:
    """Load a study's ``study.yaml`` (default: the bundled example's).

    Paths in it (inputs, targets, simulation) are taken relative to its folder and
    returned absolute.
    """
    path = Path(path or SPECS / "study.yaml")
    doc = _validate(read_yaml(path), STUDY_SCHEMA, path)["study"]
    folder = path.resolve().parent
    arms = tuple(Arm(**a) for a in doc["arms"])
    if len({a.code for a in arms}) != len(arms):
        raise SpecError(str(path), "arm codes must be unique")
    if len({a.number for a in arms}) != len(arms):
        raise SpecError(str(path), "arm numbers (display order) must be unique")
    if sum(a.control for a in arms) > 1:
        raise SpecError(str(path), "at most one arm can be the control (control: true)")
    strata = tuple(Stratum(s["name"], s["label"], tuple(s["values"]))
                   for s in doc.get("strata", []))
    inputs_doc = doc.get("inputs", {"layer": "raw"})
    sources = tuple(InputSource(path=(folder / s["path"]).resolve(),
                                dataset=s.get("dataset"), encoding=s.get("encoding"))
                    for s in inputs_doc.get("sources", ()))
    if inputs_doc["layer"] != "raw" and not sources:
        raise SpecError(str(path), f"inputs: layer {inputs_doc['layer']} needs sources "
                        "(the folders or files the datasets are read from)")
    simulation = doc.get("simulation")
    if simulation is not None and (doc.get("seed") is None or doc.get("subjects") is None):
        raise SpecError(str(path), "simulation: a simulated study also needs seed and "
                        "subjects")
    out_doc = doc.get("output", {})
    output = OutputStyle(**{k: tuple(v) if isinstance(v, list) else
                            (tuple(float(v.get(side, 1.0)) for side in _MARGIN_SIDES)
                             if k == "margins" else v)
                            for k, v in out_doc.items()})
    known = {"id", "title", "data_cutoff", "month_length", "seed", "subjects", "arms",
             "strata", "inputs", "targets", "simulation", "output", "standards"}
    std_doc = doc.get("standards", {})
    standards = Standards(
        library=(folder / std_doc["library"]).resolve() if "library" in std_doc else None,
        ct=tuple(sorted(std_doc.get("ct", {}).items())))
    return Study(id=doc["id"], title=doc["title"], data_cutoff=doc["data_cutoff"],
                 month_length=doc.get("month_length", 30.4375), seed=doc.get("seed"),
                 subjects=doc.get("subjects"), arms=arms, strata=strata,
                 extra={k: v for k, v in doc.items() if k not in known}, folder=folder,
                 inputs=Inputs(inputs_doc["layer"], sources),
                 targets=(folder / doc["targets"]).resolve() if "targets" in doc else None,
                 simulation=(folder / simulation).resolve() if simulation else None,
                 output=output, standards=standards)


def load_form(path: Path) -> RawForm:
    """Load one raw-form spec (``specs/raw/<form>.yaml``)."""
    path = Path(path)
    raw = read_yaml(path)
    name = _declared(raw, "form", "name")
    doc = _validate(raw, FORM_SCHEMA, path, "columns", dataset=name)
    cols = []
    for c in doc["columns"]:
        allowed = tuple(c["allowed"]) if "allowed" in c else None
        cols.append(RawColumn(name=c["name"], label=c["label"], type=c["type"],
                              required=c.get("required", False), partial=c.get("partial", False),
                              max_length=c.get("max_length"), min=c.get("min"), max=c.get("max"),
                              allowed=allowed, codelist=c.get("codelist"),
                              not_before=c.get("not_before")))
    names = [c.name for c in cols]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SpecError(str(path), "column defined twice", name, dup[0])
    f = doc["form"]
    for k in f["keys"]:
        if k not in names:
            raise SpecError(str(path), "key is not a column of the form", name, k)
    by_name = {c.name: c for c in cols}
    for c in cols:
        if c.not_before is None:
            continue
        other = by_name.get(c.not_before)
        if c.type != "date" or other is None or other.type != "date":
            raise SpecError(str(path), f"not_before: {c.name} and {c.not_before!r} must both "
                            "be date columns of the form", name, c.name)
    checks = tuple(RawCheck(rule=k["rule"], column=k["column"],
                            reference=(k["reference"].isoformat()
                                       if isinstance(k["reference"], dt.date)
                                       else k["reference"]),
                            years=k.get("years", 0), severity=k.get("severity", "error"),
                            why=k.get("why", "")) for k in doc.get("checks", []))
    for k in checks:
        target = by_name.get(k.column)
        if target is None or target.type != "date":
            raise SpecError(str(path), f"checks: {k.rule} names {k.column!r}, which is not a "
                            "date column of the form", name, k.column)
        if "." not in k.reference and not k.reference[:1].isdigit() and (
                by_name.get(k.reference) is None or by_name[k.reference].type != "date"):
            raise SpecError(str(path), f"checks: reference {k.reference!r} of {k.column} is "
                            "not a date column of the form (write form.COLUMN for another "
                            "form's)", name, k.column)
    return RawForm(name=f["name"], label=f["label"], file=f["file"], keys=tuple(f["keys"]),
                   repeating=f["repeating"], columns=tuple(cols),
                   description=f.get("description", ""), enrols=f.get("enrols", False),
                   may_be_empty=f.get("may_be_empty", False), checks=checks)


@lru_cache(maxsize=8)
def load_forms(directory: Path | None = None) -> dict[str, RawForm]:
    """All raw-form specs in ``specs/raw/``, by form name, in file-name order."""
    directory = Path(directory or SPECS / "raw")
    out: dict[str, RawForm] = {}
    files: dict[str, str] = {}
    for p in sorted(directory.glob("*.yaml")):
        form = load_form(p)
        if form.name in out:
            raise SpecError(str(p), f"form {form.name!r} is also defined in "
                            f"{directory / (files[form.name])}; one form, one spec file",
                            form.name)
        clash = next((n for n, f in out.items() if f.file == form.file), None)
        if clash is not None:
            raise SpecError(str(p), f"file {form.file!r} is also the export of form "
                            f"{clash!r}; each form reads its own file", form.name)
        out[form.name], files[form.name] = form, p.name
    return out


def load_codelist(path: Path) -> Codelist:
    """Load one codelist (``specs/ct/<id>.yaml``)."""
    path = Path(path)
    raw = read_yaml(path)
    cid = _declared(raw, "codelist", "id")
    doc = _validate(raw, CODELIST_SCHEMA, path, dataset=cid)
    c = doc["codelist"]
    terms = tuple(Term(submission_value=t["submission_value"], decode=t["decode"],
                       nci_code=t.get("nci_code"), order=t.get("order"),
                       synonyms=tuple(t.get("synonyms", ())),
                       extended=t.get("extended", False)) for t in doc["terms"])
    seen: dict[str, Any] = {}
    for t in terms:
        for v in (t.submission_value, t.decode, *t.synonyms):
            k = _fold(v)
            if k in seen and seen[k] != t.submission_value:
                raise SpecError(str(path), f"collected value {v!r} maps to two terms "
                                f"({seen[k]!r} and {t.submission_value!r})", c["id"])
            seen[k] = t.submission_value
    if "ct" in c and not c.get("nci_code"):
        raise SpecError(str(path), "ct: a CDISC codelist needs its nci_code", c["id"])
    package = c.get("ct", "SDTM") if c.get("nci_code") else None
    return Codelist(id=c["id"], name=c["name"], nci_code=c.get("nci_code"),
                    extensible=c["extensible"], data_type=c["data_type"], terms=terms,
                    package=package)


def _codelists_in(directory: Path) -> dict[str, Codelist]:
    out: dict[str, Codelist] = {}
    files: dict[str, str] = {}
    directory = Path(directory)
    for p in sorted(directory.glob("*.yaml")):
        cl = load_codelist(p)
        if cl.id in out:
            raise SpecError(str(p), f"codelist {cl.id} is also defined in "
                            f"{directory / files[cl.id]}; one codelist, one spec file", cl.id)
        files[cl.id] = p.name
        out[cl.id] = cl
    return out


@lru_cache(maxsize=8)
def load_codelists(directory: Path | None = None) -> dict[str, Codelist]:
    """The standard codelists (``trialflow/standards/ct``) with those of a study's
    ``ct/`` folder (default: the bundled example's) over them, by id.

    A study writes only the codelists that differ from the standard ones: its own file
    with a standard id (a subset, its collected synonyms) replaces the standard one.
    """
    standard = _codelists_in(STANDARDS / "ct")
    own = _codelists_in(Path(directory or SPECS / "ct"))
    return {**standard, **own}


@lru_cache(maxsize=1)
def standard_methods() -> dict[str, Method]:
    """The standard method texts (``trialflow/standards/methods.yaml``) by id."""
    doc = read_yaml(STANDARDS / "methods.yaml")
    return {m["id"]: Method(**m) for m in doc["methods"]}


@lru_cache(maxsize=4)
def standard_variables(standard: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The standard metadata (label, type, core, role) of the variables of ``standard``
    (``SDTMIG 3.4``: by dataset; ``ADaMIG 1.3``: any dataset, under ``*``), from
    ``trialflow/standards/variables``; empty for a standard trialflow has none of."""
    files = {"SDTMIG 3.4": "sdtmig-3.4.yaml", "ADaMIG 1.3": "adamig-1.3.yaml"}
    if standard not in files:
        return {}
    doc = read_yaml(STANDARDS / "variables" / files[standard])
    if "datasets" in doc:
        return doc["datasets"]
    return {"*": doc["variables"]}


def _with_standard(raw: Any) -> Any:
    """The spec document with each variable's missing label, type, core and role taken
    from the standard's metadata (a study writes only what is its own)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("dataset"), dict):
        return raw
    known = standard_variables(str(raw["dataset"].get("standard", "")))
    table = {**known.get("*", {}), **known.get(str(raw["dataset"].get("name")), {})}
    if not table or not isinstance(raw.get("variables"), list):
        return raw
    variables = []
    for v in raw["variables"]:
        # A name of the wrong type (a list...) is the schema's to report, not a lookup's.
        found = table.get(v["name"]) if isinstance(v, dict) and isinstance(
            v.get("name"), str) else None
        variables.append({**{k: found[k] for k in found if k not in v}, **v}
                         if found else v)
    return {**raw, "variables": variables}


def load_dataset_spec(path: Path) -> DatasetSpec:
    """Load one dataset spec (``specs/sdtm/<domain>.yaml`` or ``specs/adam/<name>.yaml``).

    A variable of the dataset's standard may leave out its label, type, core and role:
    they come from :func:`standard_variables`.
    """
    path = Path(path)
    raw = _with_standard(read_yaml(path))
    name = _declared(raw, "dataset", "name")
    doc = _validate(raw, DATASET_SCHEMA, path, "variables", dataset=name)
    d = doc["dataset"]
    variables = tuple(Variable(**v) for v in doc["variables"])
    names = [v.name for v in variables]
    for n in names:
        if names.count(n) > 1:
            raise SpecError(str(path), "variable defined twice", d["name"], n)
    for k in (*d["keys"], *d["sort"]):
        if k not in names:
            raise SpecError(str(path), "key/sort variable is not in the dataset", d["name"], k)
    methods = tuple(Method(**m) for m in doc.get("methods", []))
    # A method the spec names but does not write is a standard one (standards/methods).
    standard = standard_methods()
    named = [v.method for v in variables if v.method]
    own = {m.id for m in methods}
    methods += tuple(standard[m] for m in dict.fromkeys(named) if m not in own
                     and m in standard)
    method_ids = {m.id for m in methods}
    for v in variables:
        if v.method and v.method not in method_ids:
            raise SpecError(str(path), f"method {v.method!r} is not defined under methods",
                            d["name"], v.name)
        if v.origin == "Derived" and not v.method:
            raise SpecError(str(path), "a Derived variable needs a method", d["name"], v.name)
    return DatasetSpec(name=d["name"], label=d["label"], cls=d["class"],
                       structure=d["structure"], standard=d["standard"], keys=tuple(d["keys"]),
                       sort=tuple(d["sort"]), variables=variables, methods=methods,
                       builder=d.get("builder"), comment=d.get("comment"),
                       parameters=tuple(doc.get("parameters", [])),
                       derivation=doc.get("derivation", {}), file=str(path),
                       sources=tuple(doc.get("sources", [])), rows=tuple(doc.get("rows", [])))


def load_dataset_specs(directory: Path) -> dict[str, DatasetSpec]:
    """All dataset specs in a directory, by dataset name."""
    out: dict[str, DatasetSpec] = {}
    for p in sorted(Path(directory).glob("*.yaml")):
        spec = load_dataset_spec(p)
        if spec.name in out:
            raise SpecError(str(p), f"dataset {spec.name} is also defined in "
                            f"{out[spec.name].file}; one dataset, one spec file", spec.name)
        out[spec.name] = spec
    return out


@dataclass(frozen=True)
class DictionaryTerm:
    """One coded term: lowest level term, preferred term, high level (group) term and
    system organ class, with the code of each level where the dictionary has it."""

    llt: str
    pt: str
    soc: str
    hlt: str | None = None
    verbatim: tuple[str, ...] = ()
    hlgt: str | None = None
    llt_code: int | None = None
    pt_code: int | None = None
    hlt_code: int | None = None
    hlgt_code: int | None = None
    soc_code: int | None = None


@dataclass(frozen=True)
class Dictionary:
    """A coding dictionary (MedDRA-style) for verbatim terms."""

    name: str
    version: str
    terms: tuple[DictionaryTerm, ...]

    def lookup(self) -> dict[str, DictionaryTerm]:
        """Folded verbatim (or the LLT/PT name itself) to its term."""
        table: dict[str, DictionaryTerm] = {}
        for t in self.terms:
            for v in (t.llt, t.pt, *t.verbatim):
                table.setdefault(_fold(v), t)
        return table


def load_dictionary(path: Path | None = None) -> Dictionary:
    """Load a coding dictionary (default ``specs/dictionary/meddra.yaml``).

    A verbatim term listed under two different lowest level terms is a spec error: the
    coding would depend on the order of the file.
    """
    path = Path(path or SPECS / "dictionary" / "meddra.yaml")
    doc = _validate(read_yaml(path), DICTIONARY_SCHEMA, path, "terms")
    codes = ("hlgt", "llt_code", "pt_code", "hlt_code", "hlgt_code", "soc_code")
    terms = tuple(DictionaryTerm(llt=t["llt"], pt=t["pt"], soc=t["soc"], hlt=t.get("hlt"),
                                 verbatim=tuple(t.get("verbatim", ())),
                                 **{k: t.get(k) for k in codes}) for t in doc["terms"])
    seen: dict[str, str] = {}
    for t in terms:
        for v in (t.llt, *t.verbatim):
            k = _fold(v)
            if k in seen and seen[k] != t.llt:
                raise SpecError(str(path), f"verbatim {v!r} is coded to two terms "
                                f"({seen[k]!r} and {t.llt!r})", doc["dictionary"])
            seen[k] = t.llt
    return Dictionary(name=doc["dictionary"], version=doc["version"], terms=terms)
