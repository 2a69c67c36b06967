"""Helpers for the ADaM rule tests: small SDTM tables written by hand, the real specs.

``domain("DM", [{...}, ...])`` makes an SDTM table with every variable of its SDTM spec:
the columns a test gives and blanks for the rest ('' for text, NaN for numbers), as
``trialflow.xpt.read_xpt`` would read them. ``study(DM=..., EX=...)`` is every SDTM
domain, empty unless given. ``spec("ADSL")`` is the real ADaM spec with its references
resolved (study arms, instrument).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd

from adam import resolve
from trialflow import SPECS
from trialflow.spec import DatasetSpec, load_dataset_spec, load_dataset_specs, load_study

STUDYID = "PRECIOUS"


@cache
def sdtm_specs() -> dict[str, DatasetSpec]:
    return load_dataset_specs(SPECS / "sdtm")


@cache
def spec(name: str) -> DatasetSpec:
    """The ADaM spec of ``name`` with its derivation references resolved."""
    return resolve(load_dataset_spec(SPECS / "adam" / f"{name.lower()}.yaml"), load_study())


def usubjid(subjid: str, site: str = "101") -> str:
    return f"{STUDYID}-{site}-{subjid}"


def domain(name: str, rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """An SDTM table: the given rows, every other variable of the spec blank."""
    variables = sdtm_specs()[name].variables
    data = pd.DataFrame(rows or [])
    out = pd.DataFrame(index=data.index)
    for v in variables:
        if v.name in data.columns:
            col = data[v.name]
            out[v.name] = col.astype("float64") if v.type == "Num" else \
                col.fillna("").astype(str).astype(object)
        elif v.name == "STUDYID":
            out[v.name] = STUDYID
        elif v.name in ("DOMAIN", "RDOMAIN"):
            out[v.name] = name[4:] if name.startswith("SUPP") else name
        else:
            out[v.name] = pd.Series("" if v.type == "Char" else float("nan"),
                                    index=data.index, dtype=object if v.type == "Char"
                                    else "float64")
    return out


def study(**frames: pd.DataFrame | list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Every SDTM domain: the given ones (frames or lists of rows), the rest empty."""
    out = {}
    for name in sdtm_specs():
        given = frames.get(name)
        out[name] = given if isinstance(given, pd.DataFrame) else domain(name, given)
    return out


def dm_row(subjid: str, arm: str = "PTC", actarm: str | None = None, age: int = 60,
           dthdtc: str = "", rfxstdtc: str = "2020-01-05") -> dict[str, Any]:
    """A DM record of a subject (site 101)."""
    act = arm if actarm is None else actarm
    names = {"PTC": "Pertuzumab + Trastuzumab + Chemotherapy",
             "TC": "Trastuzumab + Chemotherapy", "": ""}
    return dict(USUBJID=usubjid(subjid), SUBJID=subjid, SITEID="101", AGE=age, AGEU="YEARS",
                SEX="F", RACE="ASIAN", ETHNIC="NOT REPORTED", COUNTRY="JPN", ARMCD=arm,
                ARM=names[arm], ACTARMCD=act, ACTARM=names[act], DTHDTC=dthdtc,
                DTHFL="Y" if dthdtc else "", RFXSTDTC=rfxstdtc)


def randomised(subjid: str, date: str = "2020-01-01") -> dict[str, Any]:
    """The DS randomisation record of a subject."""
    return dict(USUBJID=usubjid(subjid), DSSEQ=1, DSTERM="RANDOMIZED", DSDECOD="RANDOMIZED",
                DSCAT="PROTOCOL MILESTONE", DSSTDTC=date)


def dose(subjid: str, drug: str, cycle: int, date: str, amount: float = 1.0,
         seq: int | None = None) -> dict[str, Any]:
    """An EX record: ``drug`` given on ``date`` in cycle ``cycle``."""
    return dict(USUBJID=usubjid(subjid), EXSEQ=seq if seq is not None else cycle, EXTRT=drug,
                EXDOSE=amount, VISITNUM=cycle, VISIT=f"CYCLE {cycle} DAY 1",
                EXSTDTC=date, EXENDTC=date)
