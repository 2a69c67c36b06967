"""Subject-level verbs of :mod:`adam.engine`: one small function per derivation, admiral's
names (ADSL, and the variables any dataset takes from others).

Each verb takes the dataset being built first, then the build context, then its
parameters as the spec writes them, and returns the new dataset (sharing the columns it
does not change, see :mod:`adam.derive`). Each has a parameter schema (checked when the
spec is loaded) and says which input datasets it reads.

* ``merge`` — variables of one record per subject of another dataset
  (admiral ``derive_vars_merged``);
* ``merge_supp`` — supplemental qualifiers, QNAM -> variable;
* ``exist_flag`` — Y/N: the subject has a record meeting a condition
  (``derive_var_merged_exist_flag``);
* ``summary`` — count, sum, mean, min, max, first, last or join of a variable or an
  expression over the subject's records (``derive_var_merged_summary``);
* ``extreme_date`` — first or last date over several sources
  (``derive_vars_extreme_event``);
* ``dt`` — --DTC text to a date, with declared imputation and its flag
  (``derive_vars_dt``); ``dy`` — study days (``derive_vars_dy``); ``duration`` — a
  duration between two dates in days, weeks, months or years (``derive_vars_duration``);
* ``categorize`` — groups of a value by ranges, with "otherwise" and numeric codes;
  ``case`` — the value of the first condition that holds (``derive_vars_cat``);
* ``flag`` — a true/false value where a condition holds; ``assign`` — a constant or a
  copy; ``compute`` — arithmetic on variables (:mod:`trialflow.expression`);
* ``treatment`` — TRTxxP/A and their numbers from the study's arms; ``pool`` — a
  value with too few records in some level of another variable pooled (sites into a
  pooled site group);
* ``extreme_flag`` — flag the first or last record of each group in an order
  (``derive_var_extreme_flag``); ``obs_number`` — number the records in each group
  (``derive_var_obs_number``);
* ``filter`` — keep the records meeting a condition (dplyr's ``filter``);
  ``filter_exist`` — keep the records whose group (the subject) has a record in another
  dataset, or with ``exist: false`` has none (admiral ``filter_exist``,
  ``filter_not_exist``);
* ``work_dataset`` — steps on another input, kept as a dataset for the later steps
  (never written); its steps may read the dataset being built;
* ``named`` — a derivation the study declares by name (:mod:`adam.named`).

Example
-------
>>> import pandas as pd
>>> sl = pd.DataFrame({"USUBJID": ["1", "2"]})
>>> ex = pd.DataFrame({"USUBJID": ["1", "1"], "EXSTDTC": ["2020-01-03", "2020-01-01"]})
>>> from adam.verbs.base import Context
>>> ctx = Context(inputs={"EX": ex})
>>> merge(sl, ctx, dataset="EX", order=["EXSTDTC"], new_vars={"TRTSDTC": "EXSTDTC"}
...       )["TRTSDTC"].tolist()
['2020-01-01', nan]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adam.conditions import condition_variables, is_blank, select
from adam.dates import impute_dtc_dt
from adam.derive import (
    derive_var_extreme_flag,
    derive_var_merged_exist_flag,
    derive_var_obs_number,
    derive_vars_merged,
    left_join,
    rows_where,
    run_starts,
    share_columns,
)
from adam.verbs.base import (
    COND,
    DATASET,
    DATE_IMPUTATION,
    IMPUTATION,
    ORDER,
    SCALAR,
    START_SCHEMA,
    VAR,
    VARS,
    Context,
    Verb,
    by_vars,
    need,
)
from trialflow.derivations import study_day
from trialflow.expression import evaluate, parse

__all__ = ["VERBS"]


# --------------------------------------------------------------------------- verbs


def merge(data: pd.DataFrame, context: Context, dataset: str,
          new_vars: Mapping[str, str] | Sequence[str], by: Sequence[str] | None = None,
          filter: dict[str, Any] | None = None, order: Sequence[str] | None = None,  # noqa: A002
          mode: str = "first", exist_flag: str | None = None,
          true_value: str = "Y", false_value: str = "N") -> pd.DataFrame:
    """Add ``new_vars`` (``{new: source}`` or a list of names) from one record per group
    of ``dataset``: the ``mode`` record in ``order`` of those meeting ``filter`` (without
    an order they must be unique per group); ``exist_flag`` says whether there was one."""
    add = context.dataset(dataset)
    keys = by_vars(data, add, by)
    sources = list(new_vars.values()) if isinstance(new_vars, Mapping) else list(new_vars)
    need(add, [*keys, *sources, *(o.lstrip("-") for o in order or [])], dataset)
    need(data, keys, context.spec.name if context.spec else "the dataset")
    out = derive_vars_merged(data, add, keys, order=order, new_vars=new_vars,
                             filter_add=filter, mode=mode, exist_flag=exist_flag)
    if exist_flag:
        out[exist_flag] = np.where(out[exist_flag].eq("Y"), true_value, false_value)
    return out


def merge_supp(data: pd.DataFrame, context: Context, dataset: str,
               qnams: Mapping[str, str], by: Sequence[str] | None = None) -> pd.DataFrame:
    """Add supplemental qualifiers: ``{new variable: QNAM}`` -> its QVAL (blank when the
    subject has none)."""
    supp = context.dataset(dataset)
    keys = list(by) if by else ["USUBJID"]
    need(supp, [*keys, "QNAM", "QVAL"], dataset)
    out = data
    for new, qnam in qnams.items():
        out = derive_vars_merged(out, supp, keys, new_vars={new: "QVAL"},
                                 filter_add={"QNAM": qnam})
        out[new] = out[new].fillna("")
    return out


def exist_flag(data: pd.DataFrame, context: Context, dataset: str, new_var: str,
               condition: dict[str, Any] | None = None, filter: dict[str, Any] | None = None,  # noqa: A002
               by: Sequence[str] | None = None, true_value: str = "Y",
               false_value: str = "N") -> pd.DataFrame:
    """``new_var`` = ``true_value`` if the subject has a record of ``dataset`` (after
    ``filter``) meeting ``condition``, else ``false_value``."""
    add = context.dataset(dataset)
    keys = by_vars(data, add, by)
    need(add, [*keys, *condition_variables(condition, filter)], dataset)
    return derive_var_merged_exist_flag(data, add, keys, new_var, condition=condition,
                                        filter_add=filter, true_value=true_value,
                                        false_value=false_value)


_SUMMARIES = ("count", "sum", "mean", "min", "max", "first", "last", "nunique", "join")


def summary(data: pd.DataFrame, context: Context, dataset: str, new_var: str,
            function: str, source: str | None = None, expression: str | None = None,
            by: Sequence[str] | None = None, filter: dict[str, Any] | None = None,  # noqa: A002
            order: Sequence[str] | None = None, missing_value: Any = None,
            separator: str = "/") -> pd.DataFrame:
    """``new_var`` = a summary over the subject's records of ``dataset`` meeting
    ``filter`` of ``source`` (a variable) or ``expression`` (arithmetic on its
    variables): ``count`` (records), ``sum``, ``mean``, ``min``, ``max`` (missing
    ignored, as SAS), ``first``/``last`` (in ``order``), ``nunique``, ``join`` (distinct
    values in order of appearance). Subjects without records get ``missing_value``
    (``count`` and ``sum``: 0 unless given)."""
    add = context.dataset(dataset)
    keys = by_vars(data, add, by)
    order_vars = [o.lstrip("-") for o in order or []]
    need(add, [*keys, *order_vars, *([source] if source else [])], dataset)
    add = rows_where(add, select(add, filter))
    if expression is not None:
        values = evaluate(parse(expression), add)
    elif source is not None:
        values = add[source]
    else:
        values = pd.Series(1.0, index=add.index)
    frame = add[keys].assign(_v=values.to_numpy())
    if order:
        ascending = [not o.startswith("-") for o in order]
        # The order variables under names of their own: an order variable may also be
        # a by-variable or the summarised one.
        frame = frame.assign(**{f"_o{i}": add[k].to_numpy() for i, k in enumerate(order_vars)})
        frame = frame.sort_values(keys + [f"_o{i}" for i in range(len(order_vars))],
                                  ascending=[True] * len(keys) + ascending,
                                  kind="mergesort", na_position="first")
    g = frame.groupby(keys, sort=False)["_v"]
    if function == "count":
        result = g.size() if source is None and expression is None else g.count()
    elif function in ("sum", "mean", "min", "max", "nunique"):
        result = getattr(g, function)()
    elif function in ("first", "last"):
        result = g.first() if function == "first" else g.last()
    else:  # join
        result = g.agg(lambda s: separator.join(dict.fromkeys(
            str(v) for v in s if pd.notna(v) and str(v) != "")))
    part = result.rename(new_var).reset_index()
    out = left_join(data, part, keys)
    default = missing_value if missing_value is not None else (
        0.0 if function in ("count", "sum", "nunique") else
        "" if function == "join" else np.nan)
    out[new_var] = out[new_var].where(out[new_var].notna(), default)
    return out


def dates_of(frame: pd.DataFrame, variable: str, highest_imputation: str = "n",
              date_imputation: str = "first") -> pd.Series:
    """A date variable as dates: a --DTC text is converted (complete dates only unless
    an imputation is declared); a date stays a date."""
    col = frame[variable]
    if pd.api.types.is_datetime64_any_dtype(col):
        return col
    return impute_dtc_dt(col.astype(object).where(col.notna(), ""), highest_imputation,
                         date_imputation)[0]


def extreme_date(data: pd.DataFrame, context: Context, new_var: str,
                 sources: Sequence[Mapping[str, Any]], mode: str = "last",
                 by: Sequence[str] | None = None) -> pd.DataFrame:
    """``new_var`` = the last (``mode: last``) or first date of the subject over the
    ``sources``, each ``{dataset?, date, filter?, highest_imputation?,
    date_imputation?}`` (a --DTC text or a date; missing dates ignored). A source
    without a dataset is the dataset being built (ADSL's TRTEDT among the dates a
    subject was last known alive)."""
    parts = []
    keys = list(by) if by else ["USUBJID"]
    for s in sources:
        add = context.dataset(s["dataset"]) if "dataset" in s else data
        need(add, [*keys, s["date"]], s.get("dataset", "the dataset"))
        # Only the keys and the date of the records meeting the filter, and of those the
        # first of each run of equal ones (QS repeats a questionnaire's date on each of
        # its items: 6 million records at 21,900 subjects).
        kept = rows_where(share_columns(add, [*keys, s["date"]]),
                          select(add, s.get("filter")))
        kept = kept[run_starts(*(kept[c].to_numpy() for c in [*keys, s["date"]]))]
        dates = dates_of(kept, s["date"], s.get("highest_imputation", "n"),
                          s.get("date_imputation", "first"))
        parts.append(kept[keys].assign(_dt=dates.to_numpy())[dates.notna().to_numpy()])
    both = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=[*keys, "_dt"])
    g = both.groupby(keys)["_dt"]
    ext = (g.max() if mode == "last" else g.min()).rename(new_var).reset_index()
    out = left_join(data, ext, keys)
    out[new_var] = pd.to_datetime(out[new_var])
    return out


def dt(data: pd.DataFrame, context: Context, source: str, new_var: str | None = None,
       prefix: str | None = None, highest_imputation: str = "n",
       date_imputation: str = "first", min_dates: Sequence[str] = (),
       max_dates: Sequence[str] = (), flag: bool = True) -> pd.DataFrame:
    """A --DTC text (``source``) as a date: ``<prefix>DT`` (or ``new_var``), imputing a
    partial date up to ``highest_imputation`` (n, D, M, Y) to its ``first``, ``mid`` or
    ``last`` day, not before ``min_dates`` nor after ``max_dates`` within its period;
    ``<prefix>DTF`` says what was imputed (``flag``, when imputing)."""
    need(data, [source, *min_dates, *max_dates], "the dataset")
    col = data[source]
    text = col.astype(object).where(col.notna(), "")
    value, dtf = impute_dtc_dt(text, highest_imputation, date_imputation,
                               [data[c] for c in min_dates], [data[c] for c in max_dates])
    out = data.copy(deep=False)
    name = new_var or f"{prefix}DT"
    out[name] = value
    if flag and highest_imputation != "n":
        out[(name[:-2] if name.endswith("DT") else name) + "DTF"] = dtf
    return out


def dy(data: pd.DataFrame, context: Context, reference: str,
       vars: Mapping[str, str]) -> pd.DataFrame:  # noqa: A002
    """Study days ``{new variable: date variable}`` against ``reference`` (day 1 is the
    reference date; there is no day 0)."""
    need(data, [reference, *vars.values()], "the dataset")
    out = data.copy(deep=False)
    ref = dates_of(out, reference)
    for new, source in vars.items():
        out[new] = study_day(dates_of(out, source), ref)
    return out


_UNITS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}


def duration(data: pd.DataFrame, context: Context, new_var: str, start: str, end: str,
             unit: str = "days", add_one: bool = True, floor: bool = False,
             unit_var: str | None = None) -> pd.DataFrame:
    """``new_var`` = ``end - start`` (+ 1 day with ``add_one``) in ``unit`` (days,
    weeks, months of 365.25/12 days, years of 365.25 days), truncated to whole units
    with ``floor`` (an age in years); ``unit_var`` gets the unit's name (e.g. AGEU)."""
    need(data, [start, end], "the dataset")
    out = data.copy(deep=False)
    days = (dates_of(out, end) - dates_of(out, start)).dt.days.astype("float64")
    if add_one:
        days = days.where(days < 0, days + 1)
    value = days / _UNITS[unit]
    out[new_var] = np.floor(value) if floor else value
    if unit_var:
        out[unit_var] = np.where(out[new_var].notna(), unit.upper(), "")
    return out


def categorize(data: pd.DataFrame, context: Context, source: str, new_var: str,
               groups: Sequence[Mapping[str, Any]], otherwise: Any = "",
               new_var_n: str | None = None, otherwise_n: float | None = None
               ) -> pd.DataFrame:
    """``new_var`` = the ``value`` of the first group whose bounds hold for ``source``
    (``lt``, ``le``, ``gt``, ``ge`` numbers, ``in`` values); ``otherwise`` for a
    non-missing value no group takes; blank when missing. ``new_var_n`` gets the
    group's ``n``."""
    need(data, [source], "the dataset")
    src = data[source]
    number = pd.to_numeric(src, errors="coerce") if src.dtype.kind not in "fiu" else src
    present = src.notna() & ~(src.astype(str).str.strip().eq("") if src.dtype == object
                              else False)
    conds, values, numbers = [], [], []
    for g in groups:
        mask = present.copy()
        for op in ("ge", "gt", "le", "lt"):
            if op in g:
                mask &= getattr(number, op)(g[op]).fillna(False)
        if "in" in g:
            mask &= src.isin(g["in"])
        conds.append(mask.to_numpy(dtype=bool))
        values.append(g["value"])
        numbers.append(g.get("n", np.nan))
    conds.append(present.to_numpy(dtype=bool))
    values.append(otherwise)
    numbers.append(np.nan if otherwise_n is None else otherwise_n)
    out = data.copy(deep=False)
    blank = "" if isinstance(values[0], str) else np.nan
    out[new_var] = np.select(conds, values, blank)
    if new_var_n:
        out[new_var_n] = np.select(conds, numbers, np.nan)
    return out


def case(data: pd.DataFrame, context: Context, new_var: str,
         cases: Sequence[Mapping[str, Any]], otherwise: Any = "",
         new_var_n: str | None = None) -> pd.DataFrame:
    """``new_var`` = the ``value`` (or the variable ``from``) of the first case whose
    ``when`` condition holds, else ``otherwise``; ``new_var_n`` gets the case's ``n``."""
    conds, values, numbers = [], [], []
    for c in cases:
        conds.append(select(data, c["when"]).to_numpy())
        if "from" in c:
            need(data, [c["from"]], "the dataset")
            values.append(data[c["from"]].to_numpy(dtype=object))
        else:
            values.append(c.get("value"))
        numbers.append(c.get("n", np.nan))
    out = data.copy(deep=False)
    chosen = np.select(conds, values, otherwise) if conds else np.full(len(data), otherwise)
    out[new_var] = chosen
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
           if not isinstance(v, np.ndarray)) and isinstance(otherwise, (int, float)):
        out[new_var] = pd.to_numeric(out[new_var], errors="coerce")
    if new_var_n:
        out[new_var_n] = np.select(conds, numbers, np.nan)
    return out


def flag(data: pd.DataFrame, context: Context, new_var: str, condition: dict[str, Any],
         true_value: Any = "Y", false_value: Any = "N") -> pd.DataFrame:
    """``new_var`` = ``true_value`` where ``condition`` holds, else ``false_value``."""
    out = data.copy(deep=False)
    out[new_var] = np.where(select(out, condition), true_value, false_value)
    return out


def assign(data: pd.DataFrame, context: Context, new_var: str, value: Any = None,
           source: str | None = None, filter: dict[str, Any] | None = None  # noqa: A002
           ) -> pd.DataFrame:
    """``new_var`` = the constant ``value`` or a copy of the variable ``source`` (on the
    records meeting ``filter``; others keep what they had, or blank)."""
    out = data.copy(deep=False)
    if source is not None:
        need(data, [source], "the dataset")
        new = data[source]
    else:
        new = pd.Series([value] * len(data), index=data.index,
                        dtype=object if isinstance(value, str) or value is None
                        else "float64")
    if filter is not None:
        keep = select(data, filter)
        old = out[new_var] if new_var in out.columns else pd.Series(
            "" if new.dtype == object else np.nan, index=data.index)
        new = new.where(keep, old)
    out[new_var] = new.to_numpy() if source is None else new
    return out


def compute(data: pd.DataFrame, context: Context, new_var: str, expression: str,
            filter: dict[str, Any] | None = None) -> pd.DataFrame:  # noqa: A002
    """``new_var`` = the arithmetic ``expression`` of variables
    (:mod:`trialflow.expression`), on the records meeting ``filter``."""
    out = data.copy(deep=False)
    value = evaluate(parse(expression), data)
    if filter is not None:
        value = value.where(select(data, filter))
    out[new_var] = value
    return out


def treatment(data: pd.DataFrame, context: Context, new_var: str, source: str,
              match: str = "name", value: str = "name", number: str | None = None
              ) -> pd.DataFrame:
    """A treatment variable from the study's arms: ``source`` (e.g. ARM or ACTARMCD)
    holds an arm's ``name`` or ``code`` (``match``); ``new_var`` gets the arm's ``name``
    or ``code`` (``value``) and ``number`` its number (study.yaml). A value that is no
    arm (screen failure, not treated) gives blank and missing."""
    need(data, [source], "the dataset")
    arms = context.derivation.get("arms")
    if not isinstance(arms, list) or not arms:
        raise ValueError("the treatment verb needs the study's arms: write `arms: study` "
                         "under derivation")
    lookup = {str(a[match]): a for a in arms}
    src = data[source].astype(str).str.strip()
    out = data.copy(deep=False)
    out[new_var] = src.map({k: str(a[value]) for k, a in lookup.items()}).fillna("")
    if number:
        out[number] = src.map({k: float(a["number"]) for k, a in lookup.items()}).astype(
            "float64")
    return out


def extreme_flag(data: pd.DataFrame, context: Context, new_var: str, by: Sequence[str],
                 order: Sequence[str], mode: str = "first",
                 filter: dict[str, Any] | None = None, true_value: str = "Y",  # noqa: A002
                 false_value: str = "") -> pd.DataFrame:
    """Flag the ``mode`` (first/last) record of each ``by`` group in ``order`` among the
    records meeting ``filter``."""
    need(data, [*by, *(o.lstrip("-") for o in order)], "the dataset")
    return derive_var_extreme_flag(data, by, order, new_var, mode=mode, filter=filter,
                                   true_value=true_value, false_value=false_value)


def obs_number(data: pd.DataFrame, context: Context, by: Sequence[str],
               order: Sequence[str], new_var: str = "ASEQ") -> pd.DataFrame:
    """Number the records 1, 2, ... within each ``by`` group in ``order``."""
    need(data, [*by, *(o.lstrip("-") for o in order)], "the dataset")
    return derive_var_obs_number(data, by, order, new_var)


def pool(data: pd.DataFrame, context: Context, source: str, new_var: str, across: str,
         min_count: int, value: Any, filter: dict[str, Any] | None = None  # noqa: A002
         ) -> pd.DataFrame:
    """``new_var`` = ``source``, except for a value of ``source`` with fewer than
    ``min_count`` records (of those meeting ``filter``) in some level of ``across``: it
    gets ``value`` (pooled). The levels of ``across`` are those the records have (blank
    is none); a level without records of the value counts 0.

    Example: sites with fewer than 3 subjects in some arm pooled into site 900
    (``{source: SITEID, new_var: SITEGR1, across: TRT01P, min_count: 3, value: "900"}``).
    """
    need(data, [source, across], "the dataset")
    counted = rows_where(data, select(data, filter) & ~is_blank(data[across]))
    counts = pd.crosstab(counted[source], counted[across])
    small = counts.index[(counts < min_count).any(axis=1)]
    out = data.copy(deep=False)
    src = data[source]
    out[new_var] = np.where(src.isin(small) & ~is_blank(src), value,
                            src.to_numpy(dtype=object))
    return out


def filter_records(data: pd.DataFrame, context: Context, condition: dict[str, Any]
                   ) -> pd.DataFrame:
    """The records of ``data`` meeting ``condition``, in their order (``filter``)."""
    need(data, sorted(condition_variables(condition)), "the dataset")
    out = rows_where(data, select(data, condition)).copy(deep=False)
    out.index = pd.RangeIndex(len(out))
    return out


def filter_exist(data: pd.DataFrame, context: Context, dataset: str,
                 by: Sequence[str] | None = None, filter: dict[str, Any] | None = None,  # noqa: A002
                 exist: bool = True) -> pd.DataFrame:
    """The records of ``data`` whose ``by`` group (default STUDYID and USUBJID, else
    USUBJID) has a record of ``dataset`` meeting ``filter`` (``exist: false``: has
    none), in their order (admiral ``filter_exist`` / ``filter_not_exist``)."""
    add = context.dataset(dataset)
    keys = by_vars(data, add, by)
    need(add, [*keys, *condition_variables(filter)], dataset)
    need(data, keys, context.spec.name if context.spec else "the dataset")
    found = rows_where(add, select(add, filter))
    if len(keys) == 1:
        there = data[keys[0]].isin(found[keys[0]].unique()).to_numpy()
    else:
        there = pd.MultiIndex.from_frame(data[keys]).isin(
            pd.MultiIndex.from_frame(found[keys].drop_duplicates()))
    out = rows_where(data, pd.Series(there == exist, index=data.index)).copy(deep=False)
    out.index = pd.RangeIndex(len(out))
    return out


def work_dataset(data: pd.DataFrame, context: Context, name: str,
                 start: Mapping[str, Any], steps: Sequence[Mapping[str, Any]] = ()
                 ) -> pd.DataFrame:
    """A work dataset: the records of ``start`` (as a spec's ``start``) through
    ``steps``, kept as the input dataset ``name`` for the later steps (``summary``,
    ``merge``, ``exist_flag`` ...), and never written. Its steps may read the dataset
    being built under the spec's name (an exposure record's fallback end date from
    ADSL, say). The dataset being built is returned unchanged.
    """
    from adam.verbs import VERBS
    from adam.verbs.base import start as start_records

    own = context.spec.name if context.spec else "DATA"
    inner = Context(inputs={**context.inputs, own: data}, spec=context.spec,
                    derivation=context.derivation)
    frame = start_records(inner, **start)
    for j, step in enumerate(steps, start=1):
        ((verb, params),) = step.items()
        try:
            frame = VERBS[verb].function(frame, inner, **params)
        except (KeyError, ValueError) as exc:
            text = exc.args[0] if exc.args else str(exc)
            raise type(exc)(f"work dataset {name}, step {j} ({verb}): {text}") from None
    context.inputs = {**context.inputs, name: frame}
    return data


def named(data: pd.DataFrame, context: Context, derivation: str,
          parameters: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A derivation the study declares by name: one that no general verb expresses
    (see :mod:`adam.named`)."""
    from adam.named import NAMED

    return NAMED[derivation].function(data, context, **dict(parameters or {}))


# --------------------------------------------------------------------------- registry


def _check_expression(params: Mapping[str, Any]) -> None:
    if params.get("expression") is not None:
        parse(params["expression"])


def _check_summary(params: Mapping[str, Any]) -> None:
    _check_expression(params)
    if params.get("source") and params.get("expression"):
        raise ValueError("give source or expression, not both")
    if params["function"] in ("first", "last") and not params.get("order"):
        raise ValueError(f"function {params['function']} needs an order")
    if params["function"] not in ("count",) and not (params.get("source")
                                                     or params.get("expression")):
        raise ValueError(f"function {params['function']} needs a source or an expression")


def _check_named(params: Mapping[str, Any]) -> None:
    from cerberus import Validator

    from adam.engine import schema_problem
    from adam.named import NAMED

    name = params["derivation"]
    if name not in NAMED:
        raise ValueError(f"unknown named derivation {name!r} (known: "
                         f"{', '.join(sorted(NAMED)) or 'none'})")
    given = dict(params.get("parameters") or {})
    v = Validator(NAMED[name].schema, allow_unknown=False)
    if not v.validate(given):
        raise ValueError(f"{name}: parameters.{schema_problem(v, NAMED[name].schema)}")
    NAMED[name].check(given)


def _check_dt(params: Mapping[str, Any]) -> None:
    if ("new_var" in params) == ("prefix" in params):
        raise ValueError("give prefix or new_var (one of them)")


def _check_assign(params: Mapping[str, Any]) -> None:
    if ("value" in params) == ("source" in params):
        raise ValueError("give value or source (one of them)")


_GROUP = {"type": "dict", "schema": {
    "value": {**SCALAR, "required": True}, "n": {"type": "number"},
    "lt": {"type": "number"}, "le": {"type": "number"}, "gt": {"type": "number"},
    "ge": {"type": "number"}, "in": {"type": "list"}}}

VERBS: dict[str, Verb] = {
    "merge": Verb(merge, {
        "dataset": {**DATASET, "required": True},
        "new_vars": {"type": ["dict", "list"], "required": True},
        "by": VARS, "filter": COND, "order": ORDER,
        "mode": {"type": "string", "allowed": ["first", "last"]},
        "exist_flag": VAR, "true_value": SCALAR, "false_value": SCALAR}),
    "merge_supp": Verb(merge_supp, {
        "dataset": {**DATASET, "required": True},
        "qnams": {"type": "dict", "required": True, "keysrules": VAR,
                  "valuesrules": {"type": "string"}},
        "by": VARS}, reads=lambda p: {"QNAM", "QVAL"}),
    "exist_flag": Verb(exist_flag, {
        "dataset": {**DATASET, "required": True}, "new_var": {**VAR, "required": True},
        "condition": COND, "filter": COND, "by": VARS,
        "true_value": SCALAR, "false_value": SCALAR}),
    "summary": Verb(summary, {
        "dataset": {**DATASET, "required": True}, "new_var": {**VAR, "required": True},
        "function": {"type": "string", "required": True, "allowed": list(_SUMMARIES)},
        "source": VAR, "expression": {"type": "string"}, "by": VARS, "filter": COND,
        "order": ORDER, "missing_value": SCALAR, "separator": {"type": "string"}},
        check=_check_summary),
    "extreme_date": Verb(extreme_date, {
        "new_var": {**VAR, "required": True},
        "mode": {"type": "string", "allowed": ["first", "last"]}, "by": VARS,
        "sources": {"type": "list", "required": True, "minlength": 1, "schema": {
            "type": "dict", "schema": {
                "dataset": DATASET, "date": {**VAR, "required": True},
                "filter": COND, "highest_imputation": IMPUTATION,
                "date_imputation": DATE_IMPUTATION}}}},
        datasets=lambda p: [s["dataset"] for s in p["sources"] if "dataset" in s]),
    "dt": Verb(dt, {
        "source": {**VAR, "required": True}, "new_var": VAR,
        "prefix": {"type": "string", "regex": r"^[A-Z][A-Z0-9]{0,5}$"},
        "highest_imputation": IMPUTATION, "date_imputation": DATE_IMPUTATION,
        "min_dates": VARS, "max_dates": VARS, "flag": {"type": "boolean"}},
        check=_check_dt),
    "dy": Verb(dy, {"reference": {**VAR, "required": True},
                    "vars": {"type": "dict", "required": True, "keysrules": VAR,
                             "valuesrules": VAR}}),
    "duration": Verb(duration, {
        "new_var": {**VAR, "required": True}, "start": {**VAR, "required": True},
        "end": {**VAR, "required": True},
        "unit": {"type": "string", "allowed": list(_UNITS)}, "add_one": {"type": "boolean"},
        "floor": {"type": "boolean"}, "unit_var": VAR}),
    "categorize": Verb(categorize, {
        "source": {**VAR, "required": True}, "new_var": {**VAR, "required": True},
        "groups": {"type": "list", "required": True, "minlength": 1, "schema": _GROUP},
        "otherwise": SCALAR, "new_var_n": VAR, "otherwise_n": {"type": "number"}}),
    "case": Verb(case, {
        "new_var": {**VAR, "required": True},
        "cases": {"type": "list", "required": True, "minlength": 1, "schema": {
            "type": "dict", "schema": {"when": {**COND, "required": True},
                                       "value": SCALAR, "from": VAR,
                                       "n": {"type": "number"}}}},
        "otherwise": SCALAR, "new_var_n": VAR}),
    "flag": Verb(flag, {"new_var": {**VAR, "required": True},
                        "condition": {**COND, "required": True},
                        "true_value": SCALAR, "false_value": SCALAR}),
    "assign": Verb(assign, {"new_var": {**VAR, "required": True}, "value": SCALAR,
                            "source": VAR, "filter": COND}, check=_check_assign),
    "compute": Verb(compute, {"new_var": {**VAR, "required": True},
                              "expression": {"type": "string", "required": True},
                              "filter": COND}, check=_check_expression),
    "treatment": Verb(treatment, {
        "new_var": {**VAR, "required": True}, "source": {**VAR, "required": True},
        "match": {"type": "string", "allowed": ["name", "code"]},
        "value": {"type": "string", "allowed": ["name", "code"]}, "number": VAR}),
    "extreme_flag": Verb(extreme_flag, {
        "new_var": {**VAR, "required": True}, "by": {**VARS, "required": True},
        "order": {**ORDER, "required": True},
        "mode": {"type": "string", "allowed": ["first", "last"]}, "filter": COND,
        "true_value": SCALAR, "false_value": SCALAR}),
    "obs_number": Verb(obs_number, {"by": {**VARS, "required": True},
                                    "order": {**ORDER, "required": True},
                                    "new_var": VAR}),
    "pool": Verb(pool, {
        "source": {**VAR, "required": True}, "new_var": {**VAR, "required": True},
        "across": {**VAR, "required": True},
        "min_count": {"type": "integer", "required": True, "min": 1},
        "value": {**SCALAR, "required": True, "nullable": False}, "filter": COND}),
    "filter": Verb(filter_records, {"condition": {**COND, "required": True}},
                   datasets=lambda p: []),
    "filter_exist": Verb(filter_exist, {
        "dataset": {**DATASET, "required": True}, "by": VARS, "filter": COND,
        "exist": {"type": "boolean"}}),
    "work_dataset": Verb(work_dataset, {
        "name": {**DATASET, "required": True},
        "start": {"type": "dict", "required": True, "schema": START_SCHEMA},
        "steps": {"type": "list", "schema": {"type": "dict", "minlength": 1,
                                             "maxlength": 1}}},
        datasets=lambda p: [p["start"]["dataset"]]),
    "named": Verb(named, {"derivation": {"type": "string", "required": True},
                          "parameters": {"type": "dict"}}, check=_check_named,
                  datasets=lambda p: _named_datasets(p), reads=lambda p: _named_reads(p)),
}


def _named_datasets(params: Mapping[str, Any]) -> list[str]:
    from adam.named import NAMED

    found = NAMED.get(params["derivation"])
    return found.datasets(dict(params.get("parameters") or {})) if found else []


def _named_reads(params: Mapping[str, Any]) -> set[str]:
    from adam.engine import default_names
    from adam.named import NAMED

    found = NAMED.get(params["derivation"])
    if found is None:
        return set()
    return found.reads(dict(params.get("parameters") or {})) | default_names(found.function)
