"""Time-to-event verbs of :mod:`adam.engine`: ADTTE parameters from declared sources.

``tte`` replaces the dataset being built (its subjects: ADSL, usually) by one record
per subject and parameter, as admiral's ``derive_param_tte`` does with
``event_source``/``censor_source`` objects. Each parameter names its start date and its
event and censoring sources; a source is any input dataset (ADSL, ADAE, ADRS, an SDTM
domain ...), a filter selecting its records, the date variable (a date, or --DTC text:
complete dates only unless an imputation is declared), and what it writes to
EVNTDESC / CNSDTDSC, SRCDOM, SRCVAR and SRCSEQ::

    - tte:
        parameters:
          - paramcd: TTDE
            param: Time to First Dermatologic Event
            paramn: 1
            start: {date: TRTSDT}
            events:
              - {dataset: ADAE, date: ASTDT, filter: {TRTEMFL: "Y", CQ01NAM: {present: true}},
                 description: Dematologic Event Occured, seq: AESEQ}
            censors:
              - {dataset: ADSL, date: EOSDT, description: Study Completion Date, cnsr: 1}

A source's ``set_values`` (admiral's ``set_values_to``) are constants written on the
records it gives, over what ``description`` writes: admiralonco's censoring sources
describe the event and the censoring apart (``lastalive_censor``: ``{EVNTDESC: Alive,
CNSDTDSC: Alive During Study}``).

The rule (:mod:`adam.tte`): the earliest event wins; without one, the latest censoring
date; on the same date the source declared first (a parameter's ``censor_ties: last``:
of two censoring dates on the same day, the source declared last, as admiral does), and
of one source's records on the same date the first in its ``order`` (``order: [AESEQ]``,
admiral's ``order`` of an event source; without one, the first in the dataset); ADT is
never before STARTDT; AVAL = ADT - STARTDT + 1 days. Variables of the subjects' dataset
listed in ``keep`` are carried to every record (treatment, population flags).

Example
-------
>>> import pandas as pd
>>> from adam.verbs.base import Context
>>> adsl = pd.DataFrame({"USUBJID": ["1", "2"], "TRTA": ["A", "B"],
...                      "TRTSDT": pd.to_datetime(["2020-01-01", "2020-01-01"]),
...                      "EOSDT": pd.to_datetime(["2020-03-01", "2020-02-01"])})
>>> ae = pd.DataFrame({"USUBJID": ["1"], "AESTDTC": ["2020-01-10"], "AESEQ": [3.0]})
>>> out = tte(adsl, Context(inputs={"ADSL": adsl, "AE": ae}), keep=["TRTA"], parameters=[
...     {"paramcd": "TTAE", "param": "Time to first AE", "start": {"date": "TRTSDT"},
...      "events": [{"dataset": "AE", "date": "AESTDTC", "description": "AE"}],
...      "censors": [{"dataset": "ADSL", "date": "EOSDT", "description": "End"}]}])
>>> out[["USUBJID", "AVAL", "CNSR", "TRTA"]].values.tolist()
[['1', 10.0, 0.0, 'A'], ['2', 32.0, 1.0, 'B']]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adam.conditions import condition_variables
from adam.derive import derive_vars_merged, share_columns
from adam.tte import Source, TTEParameter, derive_param_tte
from adam.verbs.base import (
    COND,
    DATASET,
    DATE_IMPUTATION,
    IMPUTATION,
    ORDER,
    SCALAR,
    VAR,
    VARS,
    Context,
    Verb,
    need,
)
from adam.verbs.subject import dates_of

__all__ = ["VERBS"]


def _source(spec: Mapping[str, Any], censor: bool) -> Source:
    return Source(dataset=spec.get("dataset", "ADSL"), date=spec["date"],
                  description=spec.get("description", ""), condition=spec.get("filter"),
                  censor=int(spec.get("cnsr", 1)) if censor else 0,
                  srcvar=spec.get("srcvar", spec["date"]), seq=spec.get("seq"),
                  order=tuple(spec.get("order") or ()))


def _prepared(context: Context, data: pd.DataFrame, sources: Sequence[Mapping[str, Any]]
              ) -> dict[str, pd.DataFrame]:
    """The source datasets with each source's date as a date (a --DTC text converted,
    with its declared imputation) in a column of its own."""
    frames: dict[str, pd.DataFrame] = {}
    for i, s in enumerate(sources):
        name = s.get("dataset", "ADSL")
        frame = data if name == "__SUBJECTS__" else context.dataset(name)
        used = ["USUBJID", s["date"], *sorted(condition_variables(s.get("filter"))),
                *([s["seq"]] if s.get("seq") else []),
                *(o.lstrip("-") for o in s.get("order") or [])]
        need(frame, used, name)
        # Only the variables the source uses (a copy of the whole dataset per source was
        # most of the verb's time: ADQS has 1.4 million records at 21,900 subjects).
        part = share_columns(frame, used)
        part[f"_D{i}"] = dates_of(frame, s["date"], s.get("highest_imputation", "n"),
                                  s.get("date_imputation", "first")).to_numpy()
        frames[f"{name}#{i}"] = part
    return frames


def _set_values(part: pd.DataFrame, source: np.ndarray,
                sources: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``part`` with each source's ``set_values`` on the records it gave (``source``: the
    position of that source among the events and censorings); a variable no record of
    another source has is blank there."""
    for i, s in enumerate(sources):
        for var, value in (s.get("set_values") or {}).items():
            blank = "" if isinstance(value, str) or value is None else np.nan
            old = part[var] if var in part.columns else pd.Series(blank, index=part.index)
            part[var] = old.where(source != i, value)
    return part


def tte(data: pd.DataFrame, context: Context, parameters: Sequence[Mapping[str, Any]],
        keep: Sequence[str] = ()) -> pd.DataFrame:
    """One record per subject of ``data`` and parameter (see the module doc): USUBJID,
    PARAMCD, PARAM, PARAMN, STARTDT, ADT, AVAL, CNSR, EVNTDESC, CNSDTDSC, SRCDOM,
    SRCVAR, SRCSEQ, and the ``keep`` variables of ``data``."""
    need(data, ["USUBJID", *keep], "the dataset")
    parts = []
    for p in parameters:
        start = dict(p["start"])
        sources = [{**start, "dataset": start.get("dataset", "__SUBJECTS__"),
                    "description": ""}]
        sources += list(p["events"]) + list(p["censors"])
        frames = _prepared(context, data, sources)
        keys = list(frames)
        param = TTEParameter(
            paramcd=p["paramcd"], param=p["param"], start="_D0", start_dataset=keys[0],
            start_condition=start.get("filter"),
            events=tuple(_source({**s, "dataset": keys[1 + j], "date": f"_D{1 + j}",
                                  "srcvar": s.get("srcvar", s["date"])}, False)
                         for j, s in enumerate(p["events"])),
            censors=tuple(_source({**s, "dataset": keys[1 + len(p["events"]) + j],
                                   "date": f"_D{1 + len(p['events']) + j}",
                                   "srcvar": s.get("srcvar", s["date"])}, True)
                          for j, s in enumerate(p["censors"])),
            population=p.get("population"), censor_ties=p.get("censor_ties", "first"))
        part = derive_param_tte(data, frames, param)
        source = part["SRCDOM"].str.split("#")
        part["SRCDOM"] = source.str[0].replace("__SUBJECTS__", "")
        part = _set_values(part, source.str[1].astype(int).to_numpy() - 1,
                           [*p["events"], *p["censors"]])
        part["PARAMN"] = float(p["paramn"]) if "paramn" in p else np.nan
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["CNSR"] = out["CNSR"].astype("float64")
    out["SRCSEQ"] = pd.to_numeric(out["SRCSEQ"], errors="coerce")
    for c in ("SRCDOM", "SRCVAR", "EVNTDESC", "CNSDTDSC"):
        out[c] = out[c].fillna("")
    if keep:
        out = derive_vars_merged(out, data, ["USUBJID"], new_vars=list(keep))
    return out


_TTE_SOURCE = {"type": "dict", "schema": {
    "dataset": DATASET, "date": {**VAR, "required": True}, "filter": COND,
    "description": {"type": "string"}, "cnsr": {"type": "integer", "min": 1},
    "srcvar": VAR, "seq": VAR, "order": ORDER, "highest_imputation": IMPUTATION,
    "date_imputation": DATE_IMPUTATION,
    "set_values": {"type": "dict", "keysrules": VAR, "valuesrules": SCALAR}}}

_PARAMETER = {"type": "dict", "schema": {
    "paramcd": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9]{0,7}$"},
    "param": {"type": "string", "required": True, "maxlength": 200},
    "paramn": {"type": "number"},
    "population": COND,
    "censor_ties": {"type": "string", "allowed": ["first", "last"]},
    "start": {"type": "dict", "required": True, "schema": {
        "dataset": DATASET, "date": {**VAR, "required": True}, "filter": COND,
        "highest_imputation": IMPUTATION, "date_imputation": DATE_IMPUTATION}},
    "events": {"type": "list", "required": True, "minlength": 1, "schema": _TTE_SOURCE},
    "censors": {"type": "list", "required": True, "minlength": 1, "schema": _TTE_SOURCE}}}


def _datasets(params: Mapping[str, Any]) -> list[str]:
    found = []
    for p in params["parameters"]:
        for s in [p["start"], *p["events"], *p["censors"]]:
            if "dataset" in s:
                found.append(s["dataset"])
    return sorted(set(found))


def _check(params: Mapping[str, Any]) -> None:
    from adam.conditions import validate_condition

    codes = [p["paramcd"] for p in params["parameters"]]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise ValueError(f"parameter {dup[0]} is declared twice")
    for p in params["parameters"]:
        for s in [p["start"], *p["events"], *p["censors"]]:
            for problem in validate_condition(s.get("filter")):
                raise ValueError(f"parameter {p['paramcd']}: {problem}")
        for problem in validate_condition(p.get("population")):
            raise ValueError(f"parameter {p['paramcd']}, population: {problem}")


VERBS: dict[str, Verb] = {
    "tte": Verb(tte, {"parameters": {"type": "list", "required": True, "minlength": 1,
                                     "schema": _PARAMETER},
                      "keep": VARS},
                check=_check, datasets=_datasets),
}
