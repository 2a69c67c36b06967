"""Patient listings of any ADaM dataset: declared columns, order and filter.

Listings print ADaM records as they are, one row per qualifying record, and compute no
statistics. What they may derive is display only, declared per column (``format``):
numeric SAS dates as ISO 8601 text (an imputed date followed by its imputation flag,
``"2018-07-01 (D)"``), whole numbers, numbers to fixed decimals, a time in another unit,
a study day from two dates (no day 0, as ADaM ``--DY``), and Y/N flags from a condition
or from the days between two dates. Parameters::

    layout: listing
    parameters:
      dataset: ADAE                 # the records listed
      population: safety            # a declared population (tlf/analyses): its subjects
      where: {AESER: "Y"}           # which records
      merge:                        # values of other datasets, by subject
        - {dataset: ADSL, columns: {DTHDT: DTHDT}}
        - {dataset: ADCM, where: {CMCAT: PRIOR}, columns: {CMDECOD: CMDECOD}, records: true}
      group: TRT01P                 # rows in arm order (study.yaml), then
      sort: [USUBJID, ASTDT, AESEQ] # these, missing last
      columns:
        - {variable: USUBJID, header: Subject, width: 1.76}
        - {variable: ASTDT, header: "Start\\ndate", format: date, flag: ASTDTF}
        - {variable: ASTDY, header: "Study\\nday", align: right, format: integer}
        - {variable: DTHDY, header: "Study\\nday", format: study_day, date: DTHDT,
           reference: RANDDT}
        - {variable: DTH30FL, header: Within 30 days, format: within_days,
           from: TRTEDT, to: DTHDT, days: 30}

A merge without ``records`` takes one record per subject (the first); with ``records:
true`` it adds the subject's records (one row each; a subject without any keeps one row
with the merged columns blank). Every listing is built with pandas operations, whatever
its length; the subject identifier is repeated on every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tlf.analyses.base import text_values
from tlf.document import Column, Listing
from tlf.format import est
from tlf.outputs import Context, title_block
from tlf.spec import OutputSpec
from trialflow.conditions import ConditionError, select
from trialflow.errors import SpecError
from trialflow.xpt import sas_date_text

__all__ = ["FORMATS", "LAYOUTS", "PARAMETERS", "iso_date", "layout_listing", "study_day",
           "whole", "yes_no"]

#: Display formats of a listing column.
FORMATS: tuple[str, ...] = ("text", "date", "integer", "decimals", "time", "study_day",
                            "within_days", "yes_no")
_COLUMN: dict[str, Any] = {
    "variable": {"type": "string", "required": True},
    "header": {"type": "string", "required": True},
    "width": {"type": "number", "min": 0.1, "default": 1.0},
    "align": {"type": "string", "allowed": ["left", "center", "right"], "default": "left"},
    "format": {"type": "string", "allowed": list(FORMATS), "default": "text"},
    "flag": {"type": "string"},
    "decimals": {"type": "integer", "min": 0, "default": 1},
    "divide_by": {"type": "number", "min": 0.0001},
    "date": {"type": "string"},
    "reference": {"type": "string"},
    "from": {"type": "string"},
    "to": {"type": "string"},
    "days": {"type": "integer"},
    "where": {"type": "dict"},
}
PARAMETERS: dict[str, dict[str, Any]] = {"listing": {
    "dataset": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9]*$"},
    "population": {"type": "string", "nullable": True, "default": None},
    "where": {"type": "dict", "nullable": True, "default": None},
    "merge": {"type": "list", "default": [], "schema": {"type": "dict", "schema": {
        "dataset": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9]*$"},
        "where": {"type": "dict", "nullable": True, "default": None},
        "columns": {"type": "dict", "required": True, "valuesrules": {"type": "string"}},
        "records": {"type": "boolean", "default": False},
    }}},
    "group": {"type": "string", "nullable": True, "default": None},
    "sort": {"type": "list", "default": ["USUBJID"], "schema": {"type": "string"}},
    "columns": {"type": "list", "required": True, "minlength": 1,
                "schema": {"type": "dict", "schema": _COLUMN}},
}}


def iso_date(days: pd.Series, flags: pd.Series | None = None) -> pd.Series:
    """SAS numeric dates as ISO 8601 text, ``"YYYY-MM-DD"``; None where missing.

    Parameters
    ----------
    days : pandas.Series of float
        Days since 1960-01-01, as ADaM ``--DT`` variables hold them.
    flags : pandas.Series of str, optional
        The date's ADaM imputation flag (``--DTF``); a non-blank flag is printed after
        the date in parentheses, ``"2018-07-01 (D)"``.

    Examples
    --------
    >>> iso_date(pd.Series([0.0, 21366.0, None]), pd.Series(["", "D", ""])).tolist()
    ['1960-01-01', '2018-07-01 (D)', None]
    """
    text = pd.Series(sas_date_text(pd.to_numeric(days, errors="coerce").astype(float)
                                   .to_numpy()), index=days.index, dtype=object)
    if flags is not None:
        flag = flags.fillna("").astype(str).str.strip()
        text = text.where(flag.eq(""), text + " (" + flag + ")")
    return text.astype(object).where(text.notna(), None)


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """Study day of ``dates`` relative to ``reference`` (day 1), with no day 0: the rule
    of ADaM ``--DY``. Missing where either date is.

    Examples
    --------
    >>> study_day(pd.Series([10.0, 9.0, 8.0, None]), pd.Series([9.0] * 4)).tolist()
    [2, 1, -1, <NA>]
    """
    diff = pd.to_numeric(dates, errors="coerce") - pd.to_numeric(reference, errors="coerce")
    return (diff + (diff >= 0)).astype("Int64")


def yes_no(condition: pd.Series, known: pd.Series | None = None) -> pd.Series:
    """``"Y"`` where ``condition`` holds, ``"N"`` where not, None where not ``known``."""
    flag = condition.fillna(False).astype(bool).map({True: "Y", False: "N"}).astype(object)
    return flag if known is None else flag.where(known.astype(bool), None)


def whole(values: pd.Series) -> pd.Series:
    """Whole numbers (ages, days, grades) as nullable integers: the spreadsheet keeps
    them numeric and the document prints no ``.0``."""
    return pd.to_numeric(values, errors="coerce").astype(float).round().astype("Int64")


def _need(frame: pd.DataFrame, names: list[str], spec: OutputSpec, what: str) -> None:
    missing = [n for n in names if n and n not in frame]
    if missing:
        raise SpecError(str(spec.path or spec.name), f"{what}: the listing's records have "
                        f"no {', '.join(missing)}")


def _display(frame: pd.DataFrame, column: Mapping[str, Any], spec: OutputSpec) -> pd.Series:
    """The values a column prints."""
    name, how = column["variable"], column.get("format", "text")
    if how == "study_day":
        _need(frame, [column.get("date", ""), column.get("reference", "")], spec, name)
        return study_day(frame[column["date"]], frame[column["reference"]])
    if how == "within_days":
        _need(frame, [column.get("from", ""), column.get("to", "")], spec, name)
        days = (pd.to_numeric(frame[column["to"]], errors="coerce")
                - pd.to_numeric(frame[column["from"]], errors="coerce"))
        return yes_no(days <= int(column.get("days", 0)), known=days.notna())
    _need(frame, [name], spec, name)
    values = frame[name]
    if how == "date":
        flag = column.get("flag")
        return iso_date(values, frame[flag] if flag and flag in frame else None)
    if how == "integer":
        return whole(values)
    if how in ("decimals", "time"):
        number = pd.to_numeric(values, errors="coerce").astype(float)
        if how == "time":
            number = number / float(column.get("divide_by") or 1.0)
        decimals = int(column.get("decimals", 1))
        # Formatting one value at a time with est keeps the rounding rule of every output.
        return number.map(lambda v: est(v, decimals)).where(number.notna(), None)
    if how == "yes_no":
        try:
            hit = select(frame, column.get("where"))
        except ConditionError as exc:
            raise SpecError(str(spec.path or spec.name), f"column {name}: {exc}") from None
        return yes_no(hit, known=values.notna() & text_values(values).ne(""))
    return values


def _records(ctx: Context, spec: OutputSpec) -> pd.DataFrame:
    """The listed records: the dataset's records of the population, meeting ``where``,
    with the merged columns."""
    name = spec.parameter("dataset")
    frame = ctx.adam.get(name)
    if frame is None:
        raise SpecError(str(spec.path or spec.name), f"the listing needs {name}, which the "
                        "ADaM folder does not have")
    population = spec.parameter("population", None)
    where = spec.parameter("where", None)
    try:
        if population is not None:
            if ctx.plan is None or population not in ctx.plan.populations:
                raise SpecError(str(spec.path or spec.name), f"population {population!r} "
                                "is not declared in tlf/analyses")
            adsl = ctx.adam["ADSL"]
            subjects = adsl.loc[select(adsl, ctx.plan.populations[population].where),
                                "USUBJID"]
            frame = frame[frame["USUBJID"].isin(subjects)]
        frame = frame[select(frame, where)]
        for merge in spec.parameter("merge", []):
            other = ctx.adam.get(merge["dataset"])
            if other is None:
                raise SpecError(str(spec.path or spec.name), f"merge needs "
                                f"{merge['dataset']}, which the ADaM folder does not have")
            other = other[select(other, merge.get("where"))]
            columns = dict(merge["columns"])
            _need(other, list(columns), spec, f"merge of {merge['dataset']}")
            part = other[["USUBJID", *columns]].rename(columns=columns)
            if not merge.get("records"):
                part = part.drop_duplicates("USUBJID")
            # A merged name replaces the listed dataset's variable of the same name.
            frame = frame.drop(columns=[c for c in columns.values() if c in frame])
            frame = frame.merge(part, on="USUBJID", how="left",
                                validate="many_to_many" if merge.get("records")
                                else "many_to_one")
    except ConditionError as exc:
        raise SpecError(str(spec.path or spec.name), str(exc)) from None
    return frame


def _sorted(frame: pd.DataFrame, spec: OutputSpec, ctx: Context) -> pd.DataFrame:
    """Rows by arm (study order; other values after), then the spec's sort keys."""
    keys = list(spec.parameter("sort", ["USUBJID"]))
    _need(frame, keys, spec, "sort")
    group = spec.parameter("group", None)
    if group is not None and ctx.study is not None:
        _need(frame, [group], spec, "group")
        arms = sorted(ctx.study.arms, key=lambda a: a.number)
        rank = {**{a.name: i for i, a in enumerate(arms)},
                **{a.code: i for i, a in enumerate(arms)}}
        frame = frame.assign(_ARMRANK=text_values(frame[group]).map(rank).fillna(len(arms)))
        keys = ["_ARMRANK", *keys]
    ordered = frame.sort_values(keys, kind="mergesort", na_position="last")
    return ordered.drop(columns=["_ARMRANK"], errors="ignore").reset_index(drop=True)


def layout_listing(spec: OutputSpec, ctx: Context) -> Listing:
    """The listing the spec declares (see the module docstring)."""
    frame = _sorted(_records(ctx, spec), spec, ctx)
    specs = spec.parameter("columns")
    shown = pd.DataFrame({f"c{i}": _display(frame, c, spec).reset_index(drop=True)
                          for i, c in enumerate(specs)}, index=range(len(frame)))
    columns = [Column(f"c{i}", c["header"], c.get("width", 1.0), c.get("align", "left"))
               for i, c in enumerate(specs)]
    return Listing(title_block(spec), columns, shown, footnotes=spec.footnotes,
                   landscape=spec.landscape)


LAYOUTS = {"listing": layout_listing}
