"""Time-to-event parameters from declared event and censoring sources (ADTTE engine).

Each parameter is declared in ``specs/adam/adtte.yaml`` as a start date, a list of
event sources and a list of censoring sources. A source names a dataset, a condition
selecting its records, the date variable, and the descriptions that end up in
EVNTDESC / CNSDTDSC. The rule, as in admiral's ``derive_param_tte``:

* a subject with any event record gets the **earliest** event date (CNSR = 0); on the
  same date, the source declared first wins;
* otherwise the **latest** censoring date (CNSR = the source's censoring value, >= 1);
  on the same date, the source declared first wins (``censor_ties="last"``: the one
  declared last, as admiral's ``derive_param_tte`` picks it);
* ADT is never before STARTDT; AVAL = ADT - STARTDT + 1 (days);
* a subject with neither a start date nor any source date gets no record.

Example
-------
>>> import pandas as pd
>>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2020-01-01"])})
>>> rs = pd.DataFrame({"USUBJID": ["1"], "PARAMCD": ["PD"],
...                    "ADT": pd.to_datetime(["2020-02-01"])})
>>> p = TTEParameter("PFS", "Progression-free survival", "RANDDT",
...     events=(Source("ADRS", "ADT", "Disease progression", {"PARAMCD": "PD"}),),
...     censors=(Source("ADSL", "RANDDT", "Randomisation", censor=2),))
>>> int(derive_param_tte(adsl, {"ADRS": rs, "ADSL": adsl}, p)["AVAL"].iloc[0])
32
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from adam.conditions import select
from adam.derive import rows_where, share_columns

KEY = "USUBJID"


@dataclass(frozen=True)
class Source:
    """One event or censoring source of a time-to-event parameter."""

    dataset: str
    date: str
    description: str
    condition: dict[str, Any] | None = None
    censor: int = 0
    srcvar: str | None = None
    seq: str | None = None
    #: Records of the source on the same date: the first in this order is taken (a
    #: leading ``-`` sorts descending); without it, the first in the dataset's order.
    order: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, d: dict[str, Any], censor: bool) -> Source:
        return cls(dataset=d["dataset"], date=d["date"], description=d["description"],
                   condition=d.get("condition"), censor=int(d.get("cnsr", 1)) if censor else 0,
                   srcvar=d.get("srcvar", d["date"]), seq=d.get("seq"))


@dataclass(frozen=True)
class TTEParameter:
    """A time-to-event parameter: PARAMCD, PARAM, start date variable and sources."""

    paramcd: str
    param: str
    start: str
    events: tuple[Source, ...]
    censors: tuple[Source, ...]
    population: dict[str, Any] | None = None
    start_dataset: str = "ADSL"
    start_condition: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    censor_ties: str = "first"

    @classmethod
    def from_spec(cls, d: dict[str, Any]) -> TTEParameter:
        return cls(paramcd=d["paramcd"], param=d["param"], start=d["start"]["date"],
                   start_dataset=d["start"].get("dataset", "ADSL"),
                   start_condition=d["start"].get("condition"),
                   events=tuple(Source.from_spec(s, False) for s in d["events"]),
                   censors=tuple(Source.from_spec(s, True) for s in d["censors"]),
                   population=d.get("population"))


def _source_dates(datasets: dict[str, pd.DataFrame], sources: tuple[Source, ...],
                  latest: bool) -> pd.DataFrame:
    """One candidate date per subject and source: its earliest (events) or latest
    (censoring) qualifying date, with the source's declared position."""
    parts = []
    for order, src in enumerate(sources):
        if src.dataset not in datasets:
            raise KeyError(f"source dataset {src.dataset} is not available")
        d = datasets[src.dataset]
        keep = select(d, src.condition) & d[src.date].notna()
        cols = [KEY, src.date] + ([src.seq] if src.seq else [])
        # Only these variables of the records kept: selecting records of the whole
        # dataset (ADQS: 1.4 million records at 21,900 subjects) copied every column.
        c = rows_where(share_columns(d, cols), keep).rename(
            columns={src.date: "ADT", **({src.seq: "SRCSEQ"} if src.seq else {})})
        if src.order:
            ties = d.loc[c.index, [o.lstrip("-") for o in src.order]].to_numpy()
            c = c.assign(**{f"_t{i}": ties[:, i] for i in range(len(src.order))})
            c = c.sort_values([KEY, "ADT", *(f"_t{i}" for i in range(len(src.order)))],
                              ascending=[True, not latest,
                                         *(not o.startswith("-") for o in src.order)],
                              kind="stable", na_position="first")
            c = c.drop(columns=[f"_t{i}" for i in range(len(src.order))])
        else:
            c = c.sort_values([KEY, "ADT"], ascending=[True, not latest], kind="stable")
        c = c.drop_duplicates(KEY)
        c["_order"] = order
        c["SRCDOM"] = src.dataset
        c["SRCVAR"] = src.srcvar or src.date
        c["CNSR"] = src.censor
        c["_desc"] = src.description
        parts.append(c)
    cols = [KEY, "ADT", "SRCSEQ", "_order", "SRCDOM", "SRCVAR", "CNSR", "_desc"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    return out.reindex(columns=cols)


def derive_param_tte(dataset_adsl: pd.DataFrame, datasets: dict[str, pd.DataFrame],
                     parameter: TTEParameter) -> pd.DataFrame:
    """One record per subject of ``dataset_adsl`` for ``parameter``.

    Returns USUBJID, PARAMCD, PARAM, STARTDT, ADT, AVAL, CNSR, EVNTDESC, CNSDTDSC,
    SRCDOM, SRCVAR, SRCSEQ. Records come out in the order of ``dataset_adsl``.
    """
    subjects = dataset_adsl
    if parameter.population:
        subjects = subjects[select(subjects, parameter.population)]
    start_src = datasets.get(parameter.start_dataset, dataset_adsl)
    start_src = start_src[select(start_src, parameter.start_condition)]
    start = start_src[[KEY, parameter.start]].dropna().sort_values(
        [KEY, parameter.start], kind="stable").drop_duplicates(KEY).rename(
        columns={parameter.start: "STARTDT"})
    ev = _source_dates(datasets, parameter.events, latest=False)
    ev = ev.sort_values([KEY, "ADT", "_order"], kind="stable").drop_duplicates(KEY)
    cn = _source_dates(datasets, parameter.censors, latest=True)
    cn = cn.sort_values([KEY, "ADT", "_order"],
                        ascending=[True, False, parameter.censor_ties == "first"],
                        kind="stable").drop_duplicates(KEY)
    cn = cn[~cn[KEY].isin(ev[KEY])]
    # An empty part (no event, or no censoring left) would only blur the column types.
    chosen = pd.concat([f for f in (ev, cn) if len(f)] or [ev], ignore_index=True)
    out = subjects[[KEY]].merge(start, on=KEY, how="inner").merge(chosen, on=KEY, how="inner")
    out["ADT"] = out[["ADT", "STARTDT"]].max(axis=1)
    out["AVAL"] = (out["ADT"] - out["STARTDT"]).dt.days.astype(float) + 1.0
    out["PARAMCD"] = parameter.paramcd
    out["PARAM"] = parameter.param
    is_event = out["CNSR"] == 0
    out["EVNTDESC"] = out["_desc"]
    out["CNSDTDSC"] = np.where(is_event, "", out["_desc"])
    out["CNSR"] = out["CNSR"].astype(int)
    cols = [KEY, "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC",
            "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ"]
    return out[cols].reset_index(drop=True)
