"""Small builders for core tests: a dataset spec and a mapping context from inline data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from trialflow.derivations import CORE
from trialflow.mapping import Context
from trialflow.spec import (
    Arm,
    Codelist,
    DatasetSpec,
    Dictionary,
    DictionaryTerm,
    Study,
    Term,
    Variable,
)

STUDY = Study(id="STUDY1", title="A study", data_cutoff=dt.date(2020, 1, 1),
              month_length=30.4375, seed=1, subjects=3,
              arms=(Arm("A", "Arm A", 1, True), Arm("B", "Arm B", 2, False)), strata=())

CODELISTS = {
    "SEX": Codelist("SEX", "Sex", None, False, "text",
                    (Term("F", "Female", synonyms=("woman", "female")), Term("M", "Male"))),
    "RACE": Codelist("RACE", "Race", None, True, "text", (Term("ASIAN", "Asian"),)),
    "NY": Codelist("NY", "No Yes", None, False, "text",
                   (Term("N", "No"), Term("Y", "Yes"))),
}

DICTIONARY = Dictionary("test", "1", (
    DictionaryTerm("Neutrophil count decreased", "Neutrophil count decreased", "Investigations",
                   verbatim=("Neutropenia",)),
    DictionaryTerm("Diarrhea", "Diarrhoea", "Gastrointestinal disorders",
                   verbatim=("Loose stools",)),
))


def var(name: str, rule: Any = None, type_: str = "Char", length: int = 20,
        **kw: Any) -> Variable:
    """A spec variable with a rule; origin and mandatory filled in."""
    return Variable(name=name, label=kw.pop("label", f"{name} label"), type=type_,
                    length=length, origin=kw.pop("origin", "Assigned"),
                    mandatory=kw.pop("mandatory", False), rule=rule, **kw)


def spec(*variables: Variable, name: str = "XX", sources: tuple[dict[str, Any], ...] = (),
         keys: tuple[str, ...] | None = None, sort: tuple[str, ...] | None = None,
         **kw: Any) -> DatasetSpec:
    first = variables[0].name
    return DatasetSpec(name=name, label=kw.pop("label", f"{name} test"), cls="FINDINGS",
                       structure="test", standard="SDTMIG 3.4", keys=keys or (first,),
                       sort=sort or (first,), variables=variables,
                       sources=sources or ({"id": "main", "form": "demo"},), **kw)


def context(**forms: pd.DataFrame) -> Context:
    """A context over raw forms given as DataFrames (all values text)."""
    raw = {k: v.astype(str) for k, v in forms.items()}
    return Context(raw=raw, codelists=CODELISTS, study=STUDY, dictionary=DICTIONARY,
                   derivations=dict(CORE))
