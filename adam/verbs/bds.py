"""Basic data structure (BDS) verbs of :mod:`adam.engine`: one record per subject,
parameter and analysis timepoint, in admiral's vocabulary.

A BDS spec starts from a findings domain (``start: {dataset: QS, filter: ...}``) and
builds its analysis variables step by step:

* ``findings`` — PARAMCD, PARAM, AVAL, AVALC and ADT from the domain's --TESTCD,
  --TEST, --STRESN, --STRESC and --DTC (the date with a declared imputation);
* ``param_lookup`` — PARAM, PARAMN (and any other attribute) of each PARAMCD from the
  spec's ``parameters`` block (admiral ``derive_vars_merged_lookup``);
* ``derived_param`` — a parameter made of others per timepoint: the sum or mean of
  items, with a declared rule for missing items (none allowed, up to N, prorated by
  the items' maximum scores) (admiral ``derive_summary_records``);
* ``baseline_flag`` — ABLFL on the last record with a value on or before (or before) a
  reference date such as TRTSDT (admiral ``derive_var_extreme_flag`` restricted);
* ``base`` — BASE (or BASEC ...) from the baseline record (``derive_var_base``);
  ``change`` — CHG and PCHG (``derive_var_chg``, ``derive_var_pchg``);
* ``analysis_windows`` — AVISIT/AVISITN from study-day ranges declared in the spec, with
  the window variables AWLO, AWHI, AWTARGET, AWTDIFF, AWRANGE, AWU;
* ``locf`` — a record for each expected analysis visit a subject has no record for,
  copied from the last record before it, with DTYPE = LOCF (``derive_locf_records``).

The analysis flag (ANL01FL: one record per window, the one closest to its target) is
the general ``extreme_flag`` verb with ``order: [AWTDIFF, ...]``.

Example
-------
>>> import pandas as pd
>>> from adam.verbs.base import Context
>>> qs = pd.DataFrame({"USUBJID": ["1", "1"], "QSTESTCD": ["I1", "I2"],
...                    "QSTEST": ["Item 1", "Item 2"], "QSSTRESN": [2.0, None],
...                    "QSSTRESC": ["2", ""], "QSDTC": ["2020-01-05", "2020-01-05"]})
>>> ctx = Context(inputs={})
>>> out = findings(qs, ctx, prefix="QS")
>>> out = derived_param(out, ctx, paramcd="TOT", items={"I1": 4, "I2": 4},
...                     by=["USUBJID", "ADT"], max_missing=1, prorate=True)
>>> out[["PARAMCD", "AVAL"]].values.tolist()
[['I1', 2.0], ['I2', nan], ['TOT', 4.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adam.conditions import is_blank, select
from adam.dates import impute_dtc_dt
from adam.derive import derive_var_extreme_flag, derive_vars_merged, rows_where
from adam.verbs.base import (
    COND,
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

_SUBJECT_PARAM = ("USUBJID", "PARAMCD")


# --------------------------------------------------------------------------- helpers


def _blank_like(col: pd.Series, n: int) -> np.ndarray:
    """``n`` missing values of ``col``'s kind: '' for text, NaT for dates, NaN else."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if col.dtype.kind in "biufc":
        return np.full(n, np.nan)
    return np.full(n, "", dtype=object)


def _append(data: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``data`` with the records of ``new`` after its own: a variable ``new`` lacks is
    missing on them ('' for text), one only ``new`` has is missing on ``data``'s."""
    if new.empty:
        return data
    parts = {}
    for c in dict.fromkeys([*data.columns, *new.columns]):
        old = data[c] if c in data.columns else None
        add = new[c] if c in new.columns else None
        if old is None:
            old = pd.Series(_blank_like(add, len(data)))
        if add is None:
            add = pd.Series(_blank_like(old, len(new)))
        both = pd.concat([old.reset_index(drop=True), add.reset_index(drop=True)],
                         ignore_index=True)
        if old.dtype == object and both.dtype != object:
            both = both.astype(object)
        parts[c] = both
    return pd.DataFrame(parts)


# --------------------------------------------------------------------------- verbs


def findings(data: pd.DataFrame, context: Context, prefix: str,
             highest_imputation: str = "n", date_imputation: str = "first",
             avalc: bool = True) -> pd.DataFrame:
    """The analysis variables of a findings domain's records: PARAMCD = --TESTCD,
    PARAM = --TEST, AVAL = --STRESN, AVALC = --STRESC (unless ``avalc`` is false),
    ADT = --DTC as a date (a partial date imputed up to ``highest_imputation``, with
    ADTF, as the ``dt`` verb does)."""
    p = prefix
    names = [f"{p}TESTCD", f"{p}TEST", f"{p}STRESN", f"{p}DTC", *([f"{p}STRESC"] if avalc
                                                                   else [])]
    need(data, names, "the dataset")
    out = data.copy(deep=False)
    out["PARAMCD"] = data[f"{p}TESTCD"]
    out["PARAM"] = data[f"{p}TEST"]
    out["AVAL"] = pd.to_numeric(data[f"{p}STRESN"], errors="coerce").astype("float64")
    if avalc:
        out["AVALC"] = data[f"{p}STRESC"]
    dtc = data[f"{p}DTC"]
    adt, adtf = impute_dtc_dt(dtc.astype(object).where(dtc.notna(), ""),
                              highest_imputation, date_imputation)
    out["ADT"] = adt
    if highest_imputation != "n":
        out["ADTF"] = adtf
    return out


def param_lookup(data: pd.DataFrame, context: Context,
                 variables: Sequence[str] | None = None) -> pd.DataFrame:
    """The attributes of each PARAMCD declared in the spec's ``parameters`` block
    (``- {paramcd: ACTOT, param: ..., paramn: 15}``): each key but ``paramcd``
    becomes the variable of its upper-case name (or only ``variables``). A PARAMCD
    the block does not declare keeps what it had."""
    declared = list(context.spec.parameters) if context.spec else []
    if not declared:
        raise ValueError("param_lookup reads the spec's parameters block, which is empty")
    need(data, ["PARAMCD"], "the dataset")
    table = pd.DataFrame([{k.upper(): v for k, v in p.items()} for p in declared])
    names = [c for c in table.columns if c != "PARAMCD"]
    if variables:
        missing = [v for v in variables if v not in names]
        if missing:
            raise KeyError(f"the spec's parameters declare no {missing[0].lower()}")
        names = list(variables)
    table = table[["PARAMCD", *names]].drop_duplicates("PARAMCD")
    found = derive_vars_merged(data, table.rename(columns={n: f"_new_{n}" for n in names}),
                               ["PARAMCD"])
    out = data.copy(deep=False)
    known = data["PARAMCD"].isin(table["PARAMCD"]).to_numpy()
    for n in names:
        new = found[f"_new_{n}"]
        if n in data.columns:
            old = data[n]
            values = np.where(known, new.to_numpy(dtype=object), old.to_numpy(dtype=object))
            out[n] = pd.Series(values, index=data.index).astype(
                "float64" if old.dtype.kind in "fiu" and table[n].dtype.kind in "fiu"
                else object)
        else:
            out[n] = new.to_numpy()
    return out


def derived_param(data: pd.DataFrame, context: Context, paramcd: str,
                  items: Mapping[str, float] | Sequence[str], by: Sequence[str],
                  function: str = "sum", max_missing: int = 0, prorate: bool = False,
                  value: str = "AVAL", set: Mapping[str, Any] | None = None  # noqa: A002
                  ) -> pd.DataFrame:
    """Add one record of parameter ``paramcd`` per ``by`` group that has a record of
    one of the ``items`` (PARAMCDs): AVAL = the ``sum`` or ``mean`` of the items'
    values (``value``).

    An item is missing when the group has no record of it or its value is missing.
    With more than ``max_missing`` missing items AVAL is missing. The mean is of the
    items present; a sum with ``prorate`` is scaled up to the whole scale: sum x (the
    items' total weight) / (the weight of the items present), the weight of an item
    being its maximum score when ``items`` maps each to one (else 1: sum x items /
    items present). The new records have the ``by`` variables, PARAMCD, ``value`` and
    the constants of ``set``; every other variable is missing.
    """
    need(data, ["PARAMCD", value, *by], "the dataset")
    weights = ({k: float(v) for k, v in items.items()} if isinstance(items, Mapping)
               else {k: 1.0 for k in items})
    rows = rows_where(data, data["PARAMCD"].isin(list(weights)))
    frame = rows[list(by)].copy()
    frame["_v"] = pd.to_numeric(rows[value], errors="coerce").to_numpy()
    frame["_w"] = rows["PARAMCD"].map(weights).to_numpy()
    frame["_w"] = frame["_w"].where(frame["_v"].notna(), 0.0)
    # Records of one item twice in a group would count twice: one record per item.
    frame["_item"] = rows["PARAMCD"].to_numpy()
    dup = frame.duplicated([*by, "_item"])
    if dup.any():
        first = frame.loc[dup, [*by, "_item"]].iloc[0].tolist()
        raise ValueError(f"item {first[-1]} has more than one record in the group "
                         f"{first[:-1]}: give by-variables that tell them apart")
    g = frame.groupby(list(by), sort=False, dropna=False)
    total = g["_v"].sum(min_count=1)
    present = g["_v"].count()
    weight = g["_w"].sum()
    missing = len(weights) - present
    if function == "mean":
        result = total / present
    elif prorate:
        result = total * sum(weights.values()) / weight
    else:
        result = total
    result = result.where(missing <= max_missing)
    new = result.rename(value).reset_index()
    new.insert(0, "PARAMCD", paramcd)
    for k, v in (set or {}).items():
        new[k] = v
    return _append(data, new)


def baseline_flag(data: pd.DataFrame, context: Context, reference: str,
                  new_var: str = "ABLFL", by: Sequence[str] = _SUBJECT_PARAM,
                  date: str = "ADT", order: Sequence[str] = (), value: str = "AVAL",
                  inclusive: bool = True, filter: dict[str, Any] | None = None,  # noqa: A002
                  true_value: str = "Y", false_value: str = "") -> pd.DataFrame:
    """``new_var`` on the last record in ``date`` (then ``order``) of each ``by``
    group with a non-missing ``value`` dated on or before (``inclusive``, else strictly
    before) the record's ``reference`` date, among those meeting ``filter``."""
    need(data, [*by, reference, date, value, *(o.lstrip("-") for o in order)],
         "the dataset")
    when = dates_of(data, date)
    ref = dates_of(data, reference)
    before = (when <= ref) if inclusive else (when < ref)
    keep = (select(data, filter) & before.fillna(False) & ~is_blank(data[value])
            & when.notna())
    work = data.copy(deep=False)
    work["__base__"] = keep.to_numpy()
    out = derive_var_extreme_flag(work, list(by), [date, *order], new_var, mode="last",
                                  filter={"__base__": True}, true_value=true_value,
                                  false_value=false_value)
    del out["__base__"]
    return out


def base(data: pd.DataFrame, context: Context, new_var: str = "BASE",
         source: str = "AVAL", by: Sequence[str] = _SUBJECT_PARAM,
         filter: dict[str, Any] | None = None) -> pd.DataFrame:  # noqa: A002
    """``new_var`` = ``source`` of the group's baseline record (``filter``, by default
    ABLFL = Y) on every record of the group; missing where the group has none."""
    base_filter = filter if filter is not None else {"ABLFL": "Y"}
    need(data, [*by, source], "the dataset")
    return derive_vars_merged(data, data, list(by), new_vars={new_var: source},
                              filter_add=base_filter)


def change(data: pd.DataFrame, context: Context, chg: str | None = "CHG",
           pchg: str | None = "PCHG", value: str = "AVAL", base: str = "BASE",
           filter: dict[str, Any] | None = None) -> pd.DataFrame:  # noqa: A002
    """``chg`` = ``value`` - ``base`` and ``pchg`` = 100 x that / ``base`` (missing when
    ``base`` is 0), on the records meeting ``filter`` (all by default, as admiral:
    0 on the baseline record); either may be left out (null)."""
    need(data, [value, base], "the dataset")
    out = data.copy(deep=False)
    keep = select(data, filter)
    v = pd.to_numeric(data[value], errors="coerce")
    b = pd.to_numeric(data[base], errors="coerce")
    diff = (v - b).where(keep)
    if chg:
        out[chg] = diff.astype("float64")
    if pchg:
        out[pchg] = (100 * diff / b.where(b != 0)).astype("float64")
    return out


def _range_text(lo: float | None, hi: float | None) -> str:
    def num(x: float) -> str:
        return f"{x:g}"
    if lo is not None and hi is not None:
        return f"{num(lo)}-{num(hi)}"
    if hi is not None:
        return f"<={num(hi)}"
    return f">={num(lo)}" if lo is not None else ""


def analysis_windows(data: pd.DataFrame, context: Context,
                     windows: Sequence[Mapping[str, Any]], day: str = "ADY",
                     filter: dict[str, Any] | None = None,  # noqa: A002
                     window_vars: bool = True, unit: str = "DAYS") -> pd.DataFrame:
    """AVISIT and AVISITN from the window (``windows``, each ``{avisit, avisitn, lo?,
    hi?, target?, range?}``, ends included) the record's ``day`` falls in: the first
    that holds; blank when none does or ``day`` is missing, and on the records not
    meeting ``filter``. With ``window_vars`` also AWLO, AWHI, AWTARGET, AWTDIFF
    (|AWTARGET - day|), AWRANGE (``range``, else written from lo and hi) and AWU
    (``unit``)."""
    need(data, [day], "the dataset")
    d = pd.to_numeric(data[day], errors="coerce").to_numpy(dtype="float64")
    keep = select(data, filter).to_numpy()
    conds = []
    for w in windows:
        hit = keep & ~np.isnan(d)
        if w.get("lo") is not None:
            hit &= d >= float(w["lo"])
        if w.get("hi") is not None:
            hit &= d <= float(w["hi"])
        conds.append(hit)

    def pick(values: list[Any], blank: Any) -> np.ndarray:
        return np.select(conds, values, blank) if conds else np.full(len(data), blank)

    out = data.copy(deep=False)
    out["AVISIT"] = pick([str(w["avisit"]) for w in windows], "").astype(object)
    out["AVISITN"] = pick([float(w["avisitn"]) for w in windows], np.nan).astype("float64")
    if window_vars:
        def num(key: str) -> np.ndarray:
            return pick([np.nan if w.get(key) is None else float(w[key]) for w in windows],
                        np.nan).astype("float64")
        out["AWLO"], out["AWHI"], out["AWTARGET"] = num("lo"), num("hi"), num("target")
        out["AWTDIFF"] = np.abs(out["AWTARGET"].to_numpy() - d)
        out["AWRANGE"] = pick([str(w.get("range") or _range_text(w.get("lo"), w.get("hi")))
                               for w in windows], "").astype(object)
        out["AWU"] = np.where(out["AVISIT"].ne("").to_numpy(), unit, "").astype(object)
    return out


def locf(data: pd.DataFrame, context: Context, visits: Sequence[Mapping[str, Any]],
         by: Sequence[str] = ("STUDYID", "USUBJID", "PARAMCD"), visit: str = "AVISITN",
         order: Sequence[str] = ("AVISITN", "ADT"), value: str = "AVAL",
         filter: dict[str, Any] | None = None,  # noqa: A002
         dtype: str = "LOCF", keep: Sequence[str] | None = None) -> pd.DataFrame:
    """Last observation carried forward (admiral ``derive_locf_records``): for each
    ``by`` group with records (meeting ``filter``, with a ``value``) and each expected
    visit of ``visits`` (``{AVISITN: 8, AVISIT: Week 8, ...}``: the variables the new
    record gets, ``visit`` among them) the group has no such record for, a copy of the
    group's last record (in ``order``) before that visit, with the visit's variables and
    DTYPE = ``dtype``. Only the ``keep`` variables are copied (all by default); the
    others are missing. A new record is never the baseline record: its ABLFL is blank.
    A visit before every record of the group gets none."""
    if any(visit not in v for v in visits):
        raise ValueError(f"each of the visits must give {visit}")
    need(data, [*by, visit, value, *(o.lstrip("-") for o in order)], "the dataset")
    if "DTYPE" not in data.columns:  # blank on the records as observed, made or not
        data = data.copy(deep=False)
        data["DTYPE"] = ""
    cand = rows_where(data, select(data, filter) & ~is_blank(data[value]))
    expected = pd.DataFrame([dict(v) for v in visits])
    expected["_want"] = pd.to_numeric(expected[visit], errors="coerce").to_numpy()
    groups = cand[list(by)].drop_duplicates()
    wanted = groups.merge(expected[["_want"]], how="cross")
    have = cand[list(by)].assign(_want=pd.to_numeric(cand[visit], errors="coerce")
                                 .to_numpy()).drop_duplicates()
    wanted = wanted.merge(have, on=[*by, "_want"], how="left", indicator=True)
    wanted = wanted[wanted["_merge"] == "left_only"].drop(columns="_merge")
    if wanted.empty:
        return data
    # Each missing visit with every record of its group, then the last one before it.
    pos = cand.assign(_row=np.arange(len(cand)),
                      _at=pd.to_numeric(cand[visit], errors="coerce").to_numpy())
    cols = [o.lstrip("-") for o in order]
    ordered = pos.sort_values([*by, *cols], ascending=[True] * len(by) + [
        not o.startswith("-") for o in order], kind="mergesort", na_position="first")
    ordered = ordered.assign(_rank=np.arange(len(ordered)))
    pairs = wanted.merge(ordered[[*by, "_row", "_at", "_rank"]], on=list(by))
    pairs = pairs[pairs["_at"] < pairs["_want"]]
    last = pairs.sort_values("_rank", kind="mergesort").drop_duplicates(
        [*by, "_want"], keep="last")
    if last.empty:
        return data
    last = last.sort_values([*by, "_want"], kind="mergesort")
    copied = cand.iloc[last["_row"].to_numpy()].reset_index(drop=True)
    if keep is not None:
        kept = list(dict.fromkeys([*by, value, *keep]))
        copied = pd.DataFrame({c: (copied[c] if c in kept else
                                   pd.Series(_blank_like(copied[c], len(copied))))
                               for c in copied.columns})
    consts = expected.set_index("_want").loc[last["_want"].to_numpy()].reset_index(drop=True)
    for c in consts.columns:
        copied[c] = consts[c].to_numpy()
    copied["DTYPE"] = dtype
    if "ABLFL" in copied.columns and "ABLFL" not in consts.columns:
        # A carried-forward record is a post-baseline visit, never the baseline record,
        # even when the record it copies is (ADaMIG: one ABLFL = Y per subject and
        # parameter).
        copied["ABLFL"] = ""
    return _append(data, copied)


# --------------------------------------------------------------------------- registry


def _check_windows(params: Mapping[str, Any]) -> None:
    for w in params["windows"]:
        lo, hi = w.get("lo"), w.get("hi")
        if lo is None and hi is None:
            raise ValueError(f"window {w['avisit']!r} needs lo, hi or both")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"window {w['avisit']!r}: lo {lo} is after hi {hi}")


def _check_derived(params: Mapping[str, Any]) -> None:
    items = params["items"]
    if params.get("prorate") and params.get("function", "sum") != "sum":
        raise ValueError("prorate applies to a sum (a mean is of the items present)")
    if isinstance(items, Mapping) and any(not isinstance(v, (int, float)) or v <= 0
                                          for v in items.values()):
        raise ValueError("items maps each item to its maximum score (a positive number)")
    if params.get("max_missing", 0) >= len(items):
        raise ValueError("max_missing must leave at least one item")


_WINDOW = {"type": "dict", "schema": {
    "avisit": {"type": "string", "required": True},
    "avisitn": {"type": "number", "required": True},
    "lo": {"type": "number", "nullable": True}, "hi": {"type": "number", "nullable": True},
    "target": {"type": "number"}, "range": {"type": "string"}}}

VERBS: dict[str, Verb] = {
    "findings": Verb(findings, {
        "prefix": {"type": "string", "required": True, "regex": r"^[A-Z]{2,4}$"},
        "highest_imputation": IMPUTATION, "date_imputation": DATE_IMPUTATION,
        "avalc": {"type": "boolean"}},
        reads=lambda p: {f"{p['prefix']}{s}" for s in ("TESTCD", "TEST", "STRESN", "STRESC",
                                                       "DTC")}),
    "param_lookup": Verb(param_lookup, {"variables": VARS}),
    "derived_param": Verb(derived_param, {
        "paramcd": {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9]{0,7}$"},
        "items": {"type": ["dict", "list"], "required": True, "minlength": 1},
        "by": {**VARS, "required": True, "minlength": 1},
        "function": {"type": "string", "allowed": ["sum", "mean"]},
        "max_missing": {"type": "integer", "min": 0}, "prorate": {"type": "boolean"},
        "value": VAR, "set": {"type": "dict", "keysrules": VAR, "valuesrules": SCALAR}},
        check=_check_derived),
    "baseline_flag": Verb(baseline_flag, {
        "reference": {**VAR, "required": True}, "new_var": VAR, "by": VARS, "date": VAR,
        "order": ORDER, "value": VAR, "inclusive": {"type": "boolean"}, "filter": COND,
        "true_value": SCALAR, "false_value": SCALAR}),
    "base": Verb(base, {"new_var": VAR, "source": VAR, "by": VARS, "filter": COND}),
    "change": Verb(change, {"chg": {**VAR, "nullable": True},
                            "pchg": {**VAR, "nullable": True}, "value": VAR, "base": VAR,
                            "filter": COND}),
    "analysis_windows": Verb(analysis_windows, {
        "windows": {"type": "list", "required": True, "minlength": 1, "schema": _WINDOW},
        "day": VAR, "filter": COND, "window_vars": {"type": "boolean"},
        "unit": {"type": "string"}}, check=_check_windows),
    "locf": Verb(locf, {
        "visits": {"type": "list", "required": True, "minlength": 1,
                   "schema": {"type": "dict", "keysrules": VAR, "valuesrules": SCALAR}},
        "by": VARS, "visit": VAR, "order": ORDER, "value": VAR, "filter": COND,
        "dtype": {"type": "string"}, "keep": VARS}),
}
