"""Tumour-response verbs of :mod:`adam.engine`: ADRS parameters in admiralonco's vocabulary.

An ADRS starts from the overall-response records of RS (``start: {dataset: RS, filter:
{RSTESTCD: OVRLRESP, RSEVAL: INVESTIGATOR}}``), gets its analysis date with the ``dt``
verb (a partial date imputed as the spec declares, e.g. ``highest_imputation: D,
date_imputation: last``) and its AVALC with ``assign``; then:

* ``overall_response`` — AVAL from AVALC (admiralonco's ``aval_resp``: CR 1, PR 2, SD 3,
  NON-CR/NON-PD 4, PD 5, NE 6, MISSING 7), and which assessments count: ANL01FL on the
  worst assessment of each date among those with a response and a date, on or after
  the ``reference_date`` (randomisation) and before the ``before`` date (a new
  anti-cancer therapy); optionally a second flag (ANL02FL) on the assessments up to and
  including the first PD;
* ``best_response`` — BOR, or CBOR with ``confirmed`` (admiralonco's ``bor_*`` and
  ``cbor_*`` events): CR, PR, SD (a CR, PR or SD at least ``ref_start_window`` days after
  the reference date), NON-CR/NON-PD (likewise), PD, NE (an SD, NON-CR/NON-PD or NE; a
  study may declare which responses make NE: ``ne_responses``), else MISSING; the first
  category that a subject has, at its earliest assessment;
* ``response`` — RSP, or CRSP with ``confirmed``: Y at the first (confirmed) CR or PR,
  else N;
* ``clinical_benefit`` — CB, or CCB with ``confirmed``: Y at the first (confirmed) CR or
  PR, or CR, PR, SD or NON-CR/NON-PD at least ``ref_start_window`` days on, else N;
* ``event_param`` — a parameter from the first (or last) record meeting a condition, in
  the dataset being built or another input, for every subject (admiral's
  ``derive_extreme_records``): PD (the first PD that counts), DEATH (ADSL.DTHDT), BCP
  and CBCP (from BOR and CBOR), LSTA (the last assessment that counts: ``mode: last``,
  no Y/N flag; whether assessments after the first PD count is its ``filter``);
* ``exist_param`` — Y/N: the subject has a record of a dataset meeting a condition
  (admiral's ``derive_param_exist_flag``), e.g. MDIS from TU.

Confirmation (``confirmed``) is admiralonco's ``event_joined`` rule
(:func:`adam.response.confirmed_response`): a CR is confirmed by a CR, a PR by a CR or
PR, at least ``ref_confirm`` days on, with only those (SD too for a PR with
``accept_sd``) or NE between, at most ``max_nr_ne`` NE, and no PR after a CR (unless
``no_pr_after_cr: false``).

Every parameter verb adds one record per subject of ``subjects`` (default ADSL; its
``keep`` variables, e.g. RANDDT, go on records that have no source record): the source
record it picked (all its variables, or the identifiers and those in ``keep``: admiral's
``keep_source_vars``) with AVALC, PARAMCD, PARAM, ``set_values`` (e.g. PARCAT1, ANL01FL)
and AVAL coded from AVALC by ``aval``.

Example
-------
>>> import pandas as pd
>>> from adam.verbs.base import Context
>>> adsl = pd.DataFrame({"USUBJID": ["1", "2"], "RANDDT": pd.to_datetime(["2020-01-01"] * 2)})
>>> ovr = pd.DataFrame({"USUBJID": ["1", "1"], "PARAMCD": "OVR", "AVALC": ["SD", "PR"],
...                     "ADT": pd.to_datetime(["2020-02-20", "2020-04-01"]),
...                     "RANDDT": pd.to_datetime(["2020-01-01"] * 2)})
>>> ctx = Context(inputs={"ADSL": adsl})
>>> ovr = overall_response(ovr, ctx, reference_date="RANDDT")
>>> out = best_response(ovr, ctx, paramcd="BOR", ref_start_window=42)
>>> out.loc[out["PARAMCD"].eq("BOR"), ["USUBJID", "AVALC", "AVAL"]].values.tolist()
[['1', 'PR', 2.0], ['2', 'MISSING', 7.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adam.conditions import condition_variables, select, validate_condition
from adam.derive import derive_var_extreme_flag, rows_where, share_columns
from adam.response import confirmed_response
from adam.verbs.base import (
    COND,
    DATASET,
    ORDER,
    SCALAR,
    VAR,
    VARS,
    Context,
    Verb,
    need,
)
from adam.verbs.subject import dates_of

__all__ = ["AVAL_RESP", "AVAL_YN", "NE_RESPONSES", "VERBS", "WORST"]

#: admiralonco's ``aval_resp``: AVAL of a response.
AVAL_RESP: dict[str, float] = {"CR": 1.0, "PR": 2.0, "SD": 3.0, "NON-CR/NON-PD": 4.0,
                               "PD": 5.0, "NE": 6.0, "MISSING": 7.0}
#: admiral's ``yn_to_numeric``.
AVAL_YN: dict[str, float] = {"Y": 1.0, "N": 0.0}
#: From the least bad to the worst response of a date (admiralonco's ``worst_resp``: an
#: evaluable response is worse than NE; a value not listed is the least bad of all).
WORST: tuple[str, ...] = ("NE", "CR", "PR", "SD", "NON-CR/NON-PD", "PD")
#: The responses that make a best overall response NE (admiralonco's ``bor_ne``).
NE_RESPONSES: tuple[str, ...] = ("SD", "NON-CR/NON-PD", "NE")
#: The assessments the parameter verbs take unless told otherwise.
ASSESSMENTS: dict[str, Any] = {"PARAMCD": "OVR", "ANL01FL": "Y"}
_RESPONSE = ("CR", "PR")
_BENEFIT = ("CR", "PR", "SD", "NON-CR/NON-PD")


# --------------------------------------------------------------------------- helpers


def _keys(data: pd.DataFrame, subjects: pd.DataFrame) -> list[str]:
    """STUDYID and USUBJID when both datasets have them, else USUBJID."""
    both = [v for v in ("STUDYID", "USUBJID")
            if v in data.columns and v in subjects.columns]
    return both if both == ["STUDYID", "USUBJID"] else ["USUBJID"]


def _subjects(context: Context, subjects: Mapping[str, Any] | None,
              extra: Sequence[str] = ()) -> tuple[pd.DataFrame, list[str]]:
    """The subjects that get a record (``{dataset, filter, keep}``, default ADSL), one
    record each, with their ``keep`` variables (and ``extra``), and those names."""
    s = dict(subjects or {})
    name = s.get("dataset", "ADSL")
    frame = context.dataset(name)
    keep = list(s.get("keep", ()))
    need(frame, ["USUBJID", *keep, *extra, *condition_variables(s.get("filter"))], name)
    ids = [v for v in ("STUDYID", "USUBJID") if v in frame.columns]
    cols = list(dict.fromkeys([*ids, *keep, *extra]))
    # Only these variables of the subjects meeting the filter (a selection of all of
    # ADSL's, per parameter, was a tenth of ADRS's time).
    frame = rows_where(share_columns(frame, cols), select(frame, s.get("filter")))
    return frame.drop_duplicates("USUBJID").reset_index(drop=True), keep


def _assessments(data: pd.DataFrame, assessments: Mapping[str, Any] | None,
                 date: str = "ADT") -> pd.DataFrame:
    """The records that count (``assessments``, default OVR with ANL01FL = Y) with a
    date, sorted by subject and date (their index is their place in ``data``)."""
    cond = ASSESSMENTS if assessments is None else assessments
    need(data, ["USUBJID", "AVALC", date, *condition_variables(cond)], "the dataset")
    # USUBJID, AVALC and the date are what the parameter verbs read of them.
    rows = share_columns(data, ["USUBJID", "AVALC", date])[select(data, cond)
                                                           & data[date].notna()]
    return rows.sort_values(["USUBJID", date], kind="mergesort")


def _late(rows: pd.DataFrame, subjects: pd.DataFrame, reference_date: str,
          window: int) -> np.ndarray:
    """Whether each record is at least ``window`` days after the subject's reference
    date (missing reference: no)."""
    ref = rows["USUBJID"].map(subjects.set_index("USUBJID")[reference_date])
    days = (rows["ADT"] - pd.to_datetime(ref)).dt.days
    return days.ge(window).fillna(False).to_numpy(dtype=bool)


def _confirmed(rows: pd.DataFrame, level: str, ref_confirm: int, max_nr_ne: int,
               accept_sd: bool, no_pr_after_cr: bool = True) -> np.ndarray:
    d = rows[["USUBJID", "ADT", "AVALC"]].reset_index(drop=True)
    return confirmed_response(d, level, ref_confirm, max_nr_ne, accept_sd,
                              no_pr_after_cr=no_pr_after_cr).to_numpy(dtype=bool)


def _pick(rows: pd.DataFrame, events: Sequence[tuple[str, np.ndarray]],
          by_date: bool) -> pd.DataFrame:
    """One record per subject: of the first event (in the order given) a subject has,
    its earliest record (``by_date``: the earliest record of any event, on the same date
    the event given first). Returns the records' index in ``data`` and the event's
    value (``_value``)."""
    parts = []
    pos = np.arange(len(rows))
    for number, (value, hit) in enumerate(events):
        parts.append(pd.DataFrame({"USUBJID": rows["USUBJID"].to_numpy()[hit],
                                   "ADT": rows["ADT"].to_numpy()[hit],
                                   "_pos": pos[hit], "_event": number,
                                   "_index": rows.index.to_numpy()[hit], "_value": value}))
    cand = pd.concat(parts, ignore_index=True)
    order = ["USUBJID", "ADT", "_event", "_pos"] if by_date else \
        ["USUBJID", "_event", "ADT", "_pos"]
    return cand.sort_values(order, kind="mergesort").drop_duplicates("USUBJID")


def _add_parameter(data: pd.DataFrame, found: pd.DataFrame, subjects: pd.DataFrame,
                   keep: Sequence[str], paramcd: str, param: str | None,
                   set_values: Mapping[str, Any] | None, aval: Mapping[str, float] | None,
                   missing: Any, value_var: str = "AVALC",
                   keep_source: Sequence[str] | None = None) -> pd.DataFrame:
    """``data`` with one record of ``paramcd`` per subject of ``subjects``: the subject's
    record of ``found`` if it has one (only its identifiers, ``value_var`` and the
    ``keep_source`` variables when those are given), else one with its ``keep`` variables
    and ``value_var`` = ``missing`` (left out when None)."""
    found = found[found["USUBJID"].isin(subjects["USUBJID"])]
    if keep_source is not None:
        need(found, keep_source, "the source records")
        found = found[[c for c in found.columns if c in ("STUDYID", "USUBJID", value_var)
                       or c in keep_source]]
    rest = subjects[~subjects["USUBJID"].isin(found["USUBJID"])]
    rest = rest[[c for c in rest.columns if c in ("STUDYID", "USUBJID") or c in keep]]
    if missing is not None:
        rest = rest.assign(**{value_var: missing})
    new = pd.concat([found, rest], ignore_index=True)
    # in the order of the subjects
    place = pd.Series(np.arange(len(subjects)), index=subjects["USUBJID"].to_numpy())
    new = new.iloc[np.argsort(new["USUBJID"].map(place).to_numpy(), kind="stable")]
    new = new.assign(PARAMCD=paramcd, **({"PARAM": param} if param is not None else {}),
                     **dict(set_values or {}))
    if aval is not None:
        new["AVAL"] = new[value_var].map({k: float(v) for k, v in aval.items()}).astype(
            "float64")
    out = pd.concat([data, new], ignore_index=True)
    return out


def _records(data: pd.DataFrame, picked: pd.DataFrame, value_var: str = "AVALC"
             ) -> pd.DataFrame:
    """The records of ``data`` that :func:`_pick` chose, with the event's value."""
    rows = data.loc[picked["_index"].to_numpy()].copy()
    rows[value_var] = picked["_value"].to_numpy()
    return rows


# --------------------------------------------------------------------------- verbs


def overall_response(data: pd.DataFrame, context: Context,
                     filter: dict[str, Any] | None = None,  # noqa: A002
                     source: str | None = None, date: str = "ADT",
                     reference_date: str | None = None, before: str | None = None,
                     aval: Mapping[str, float] | None = None,
                     worst: Sequence[str] = WORST, order: Sequence[str] = (),
                     new_var: str = "ANL01FL", until_first_pd: str | None = None,
                     progression: str = "PD") -> pd.DataFrame:
    """Overall-response records (those meeting ``filter``; all by default): AVALC from
    ``source`` (when given), AVAL coded from AVALC (``aval``, default
    :data:`AVAL_RESP`), ``new_var`` = Y on the assessments that count and
    ``until_first_pd`` = Y on those up to and including the first ``progression``.

    An assessment counts when it has a coded response and a ``date``, is on or after
    ``reference_date`` and before ``before`` (variables of the records; missing: no
    limit), and is the worst of its date (``worst``: from the least bad to the worst;
    then the last in ``order``). The first-progression flag looks at every record in
    date order (then ``order``); a subject without progression has it on all.
    """
    need(data, ["USUBJID", date, *([source] if source else []),
                *([reference_date] if reference_date else []), *([before] if before else []),
                *(o.lstrip("-") for o in order)], "the dataset")
    out = data.copy(deep=False)
    rows = select(out, filter)
    if source is not None:
        text = out[source].astype(object).where(out[source].notna(), "")
        old = out["AVALC"] if "AVALC" in out.columns else pd.Series("", index=out.index)
        out["AVALC"] = text.where(rows, old)
    need(out, ["AVALC"], "the dataset")
    coding = {k: float(v) for k, v in (AVAL_RESP if aval is None else aval).items()}
    coded = out["AVALC"].map(coding).astype("float64")
    out["AVAL"] = coded.where(rows, out["AVAL"] if "AVAL" in out.columns else np.nan)
    adt = dates_of(out, date)
    valid = rows & coded.notna() & adt.notna()
    if reference_date:
        valid &= (adt >= dates_of(out, reference_date)).fillna(False)
    if before:
        valid &= ~(adt >= dates_of(out, before)).fillna(False)
    rank = {v: i + 1.0 for i, v in enumerate(worst)}
    out["_WORST"] = out["AVALC"].map(rank).fillna(0.0)
    out["_ADT"] = adt
    out = _flag_worst(out, valid, order, new_var)
    if until_first_pd:
        out[until_first_pd] = _until_first(out, rows, adt, order, progression)
    del out["_WORST"], out["_ADT"]
    return out


def _flag_worst(out: pd.DataFrame, valid: pd.Series, order: Sequence[str],
                new_var: str) -> pd.DataFrame:
    """``new_var`` = Y on the worst valid record of each subject and date."""
    out["_VALID"] = valid.to_numpy()
    out = derive_var_extreme_flag(out, ["USUBJID", "_ADT"], ["_WORST", *order], new_var,
                                  mode="last", filter={"_VALID": True}, true_value="Y",
                                  false_value="")
    del out["_VALID"]
    return out


def _until_first(out: pd.DataFrame, rows: pd.Series, adt: pd.Series, order: Sequence[str],
                 progression: str) -> np.ndarray:
    """Y on the records (``rows``) up to and including each subject's first
    ``progression`` in date order (missing dates last, as dplyr sorts), blank after."""
    cols = [o.lstrip("-") for o in order]
    frame = pd.DataFrame({"USUBJID": out["USUBJID"], "_d": adt,
                          **{f"_o{i}": out[c] for i, c in enumerate(cols)},
                          "_pd": out["AVALC"].eq(progression)})[rows.to_numpy()]
    keys = ["USUBJID", "_d", *(f"_o{i}" for i in range(len(cols)))]
    frame = frame.sort_values(keys, ascending=[True, True] + [not o.startswith("-")
                                                             for o in order],
                              kind="mergesort", na_position="last")
    frame["_n"] = frame.groupby("USUBJID").cumcount()
    first = frame.loc[frame["_pd"]].groupby("USUBJID")["_n"].min()
    limit = frame["USUBJID"].map(first)
    keep = limit.isna() | (frame["_n"] <= limit)
    flag = pd.Series("", index=out.index, dtype=object)
    flag.loc[frame.index[keep.to_numpy()]] = "Y"
    return flag.to_numpy()


def best_response(data: pd.DataFrame, context: Context, paramcd: str,
                  ref_start_window: int, param: str | None = None, confirmed: bool = False,
                  ref_confirm: int = 28, max_nr_ne: int = 1, accept_sd: bool = False,
                  reference_date: str = "RANDDT",
                  assessments: dict[str, Any] | None = None,
                  subjects: Mapping[str, Any] | None = None,
                  set_values: Mapping[str, Any] | None = None,
                  aval: Mapping[str, float] | None = None,
                  missing_value: str = "MISSING", no_pr_after_cr: bool = True,
                  ne_responses: Sequence[str] = NE_RESPONSES,
                  keep: Sequence[str] | None = None) -> pd.DataFrame:
    """Best overall response (BOR; CBOR with ``confirmed``) of every subject (see the
    module doc): the record of the subject's best category at its earliest assessment;
    ``missing_value`` for a subject without assessments that count. NE is the category
    of the ``ne_responses`` (admiralonco's ``bor_ne``: SD, NON-CR/NON-PD, NE; a study
    whose NE is "any assessment but PD" adds CR and PR, which matters for an unconfirmed
    CR or PR in CBOR)."""
    subj, subj_keep = _subjects(context, subjects, [reference_date])
    rows = _assessments(data, assessments)
    v = rows["AVALC"].to_numpy()
    late = _late(rows, subj, reference_date, ref_start_window)
    if confirmed:
        cr = _confirmed(rows, "CR", ref_confirm, max_nr_ne, accept_sd, no_pr_after_cr)
        pr = _confirmed(rows, "PR", ref_confirm, max_nr_ne, accept_sd, no_pr_after_cr)
    else:
        cr, pr = v == "CR", v == "PR"
    events = [("CR", cr), ("PR", pr), ("SD", np.isin(v, ["CR", "PR", "SD"]) & late),
              ("NON-CR/NON-PD", (v == "NON-CR/NON-PD") & late), ("PD", v == "PD"),
              ("NE", np.isin(v, list(ne_responses)))]
    found = _records(data, _pick(rows, events, by_date=False))
    return _add_parameter(data, found, subj, subj_keep, paramcd, param, set_values,
                          AVAL_RESP if aval is None else aval, missing_value,
                          keep_source=keep)


def response(data: pd.DataFrame, context: Context, paramcd: str, param: str | None = None,
             confirmed: bool = False, ref_confirm: int = 28, max_nr_ne: int = 1,
             accept_sd: bool = False, assessments: dict[str, Any] | None = None,
             subjects: Mapping[str, Any] | None = None,
             set_values: Mapping[str, Any] | None = None,
             aval: Mapping[str, float] | None = None, true_value: str = "Y",
             false_value: str = "N", no_pr_after_cr: bool = True,
             keep: Sequence[str] | None = None) -> pd.DataFrame:
    """Response (RSP; CRSP with ``confirmed``): ``true_value`` with the record of the
    subject's first (confirmed) CR or PR, else ``false_value``."""
    subj, subj_keep = _subjects(context, subjects)
    rows = _assessments(data, assessments)
    events = _responses(rows, confirmed, ref_confirm, max_nr_ne, accept_sd, true_value,
                        no_pr_after_cr)
    found = _records(data, _pick(rows, events, by_date=True))
    return _add_parameter(data, found, subj, subj_keep, paramcd, param, set_values,
                          _yn(aval, true_value, false_value), false_value,
                          keep_source=keep)


def _responses(rows: pd.DataFrame, confirmed: bool, ref_confirm: int, max_nr_ne: int,
               accept_sd: bool, value: str, no_pr_after_cr: bool = True
               ) -> list[tuple[str, np.ndarray]]:
    v = rows["AVALC"].to_numpy()
    if not confirmed:
        return [(value, np.isin(v, _RESPONSE))]
    return [(value, _confirmed(rows, level, ref_confirm, max_nr_ne, accept_sd,
                               no_pr_after_cr)) for level in ("CR", "PR")]


def _yn(aval: Mapping[str, float] | None, true_value: str, false_value: str
        ) -> Mapping[str, float]:
    if aval is not None:
        return aval
    return {true_value: 1.0, false_value: 0.0}


def clinical_benefit(data: pd.DataFrame, context: Context, paramcd: str,
                     ref_start_window: int, param: str | None = None,
                     confirmed: bool = False, ref_confirm: int = 28, max_nr_ne: int = 1,
                     accept_sd: bool = False, reference_date: str = "RANDDT",
                     assessments: dict[str, Any] | None = None,
                     subjects: Mapping[str, Any] | None = None,
                     set_values: Mapping[str, Any] | None = None,
                     aval: Mapping[str, float] | None = None, true_value: str = "Y",
                     false_value: str = "N", no_pr_after_cr: bool = True,
                     keep: Sequence[str] | None = None) -> pd.DataFrame:
    """Clinical benefit (CB; CCB with ``confirmed``): ``true_value`` with the subject's
    earliest record that is a (confirmed) CR or PR, or a CR, PR, SD or NON-CR/NON-PD at
    least ``ref_start_window`` days after ``reference_date``; else ``false_value``."""
    subj, subj_keep = _subjects(context, subjects, [reference_date])
    rows = _assessments(data, assessments)
    late = _late(rows, subj, reference_date, ref_start_window)
    events = _responses(rows, confirmed, ref_confirm, max_nr_ne, accept_sd, true_value,
                        no_pr_after_cr)
    events.append((true_value, np.isin(rows["AVALC"].to_numpy(), _BENEFIT) & late))
    found = _records(data, _pick(rows, events, by_date=True))
    return _add_parameter(data, found, subj, subj_keep, paramcd, param, set_values,
                          _yn(aval, true_value, false_value), false_value,
                          keep_source=keep)


def event_param(data: pd.DataFrame, context: Context, paramcd: str,
                param: str | None = None, dataset: str | None = None,
                filter: dict[str, Any] | None = None,  # noqa: A002
                order: Sequence[str] | None = None, mode: str = "first",
                date: str | None = None, keep: Sequence[str] | None = None,
                exist_flag: str | None = "AVALC", true_value: str = "Y",
                false_value: str = "N", subjects: Mapping[str, Any] | None = None,
                set_values: Mapping[str, Any] | None = None,
                aval: Mapping[str, float] | None = None) -> pd.DataFrame:
    """A parameter from one record per subject: the ``mode`` (first/last) record in
    ``order`` of those meeting ``filter`` in ``dataset`` (default: the dataset being
    built; without an order they must be one per subject). From the dataset being built
    the record is copied whole, or its ``keep`` variables when given; from another, its
    ``keep`` variables. ``date`` (a date or --DTC variable) becomes ADT. ``exist_flag``
    (default AVALC) = ``true_value``, and ``false_value`` for subjects without a record
    (with ``exist_flag: null`` they get a record with their ``subjects.keep`` variables
    only, and the found record's AVALC and AVAL stay as they are). AVAL is coded from
    ``aval`` (with a flag, default Y 1, N 0)."""
    src = data if dataset is None else context.dataset(dataset)
    where = "the dataset" if dataset is None else dataset
    cols = [o.lstrip("-") for o in order or []]
    need(src, ["USUBJID", *cols, *([date] if date else []), *(keep or []),
               *condition_variables(filter)], where)
    rows = src[select(src, filter)]
    if order:
        asc = [not o.startswith("-") for o in order]
        rows = rows.sort_values(["USUBJID", *cols], ascending=[True, *asc],
                                kind="mergesort", na_position="first")
        rows = rows.drop_duplicates("USUBJID", keep="first" if mode == "first" else "last")
    elif rows["USUBJID"].duplicated().any():
        dup = rows.loc[rows["USUBJID"].duplicated(), "USUBJID"].iloc[0]
        raise ValueError(f"{where} has more than one record meeting the filter for "
                         f"USUBJID {dup}; give an order")
    if dataset is not None or keep is not None:
        ids = [c for c in ("STUDYID", "USUBJID") if c in rows.columns]
        found = rows[list(dict.fromkeys([*ids, *(keep or [])]))].copy()
    else:
        found = rows.copy()
    if date is not None:
        found["ADT"] = dates_of(rows, date).to_numpy()
    subj, subj_keep = _subjects(context, subjects)
    if exist_flag is not None:
        found[exist_flag] = true_value
        coding = _yn(aval, true_value, false_value)
    else:
        coding = aval
    return _add_parameter(data, found, subj, subj_keep, paramcd, param, set_values, coding,
                          false_value if exist_flag is not None else None,
                          value_var=exist_flag or "AVALC")


def exist_param(data: pd.DataFrame, context: Context, paramcd: str, dataset: str,
                condition: dict[str, Any], param: str | None = None,
                filter: dict[str, Any] | None = None,  # noqa: A002
                true_value: str = "Y", false_value: str = "N", missing_value: str = "N",
                subjects: Mapping[str, Any] | None = None,
                set_values: Mapping[str, Any] | None = None,
                aval: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Y/N parameter (AVALC): ``true_value`` when the subject has a record of
    ``dataset`` (among those meeting ``filter``) meeting ``condition``, ``false_value``
    when it has records but none does, ``missing_value`` when it has none (admiral's
    ``derive_param_exist_flag``). AVAL: ``aval`` (default Y 1, N 0)."""
    add = context.dataset(dataset)
    need(add, ["USUBJID", *condition_variables(condition, filter)], dataset)
    add = add[select(add, filter)]
    subj, keep = _subjects(context, subjects)
    hit = add.loc[select(add, condition), "USUBJID"].unique()
    value = np.select([subj["USUBJID"].isin(hit), subj["USUBJID"].isin(add["USUBJID"])],
                      [true_value, false_value], missing_value)
    found = subj.assign(AVALC=value)
    coding = aval if aval is not None else {true_value: 1.0, false_value: 0.0,
                                            **({missing_value: 0.0}
                                               if missing_value == false_value else {})}
    return _add_parameter(data, found, subj, keep, paramcd, param, set_values, coding,
                          None)


# --------------------------------------------------------------------------- registry

SUBJECTS = {"type": "dict", "schema": {"dataset": DATASET, "filter": COND, "keep": VARS}}
SET_VALUES = {"type": "dict", "keysrules": VAR, "valuesrules": SCALAR}
AVAL = {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": {"type": "number"}}
PARAMCD = {"type": "string", "required": True, "regex": r"^[A-Z][A-Z0-9]{0,7}$"}
DAYS = {"type": "integer", "min": 0}

#: What every parameter verb takes.
_PARAMETER: dict[str, Any] = {
    "paramcd": PARAMCD, "param": {"type": "string", "maxlength": 200},
    "subjects": SUBJECTS, "set_values": SET_VALUES, "aval": AVAL}
_CONFIRMATION: dict[str, Any] = {
    "confirmed": {"type": "boolean"}, "ref_confirm": DAYS,
    "max_nr_ne": {"type": "integer", "min": 0}, "accept_sd": {"type": "boolean"},
    "no_pr_after_cr": {"type": "boolean"}}


def _check_conditions(params: Mapping[str, Any]) -> None:
    """The conditions the engine does not check itself (nested ones)."""
    for where, cond in (("assessments", params.get("assessments")),
                        ("subjects.filter", (params.get("subjects") or {}).get("filter"))):
        for problem in validate_condition(cond):
            raise ValueError(f"{where}: {problem}")


def _check_event(params: Mapping[str, Any]) -> None:
    _check_conditions(params)
    if params.get("mode") == "last" and not params.get("order"):
        raise ValueError("mode last needs an order")


def _subject_datasets(params: Mapping[str, Any]) -> list[str]:
    return [(params.get("subjects") or {}).get("dataset", "ADSL")]


VERBS: dict[str, Verb] = {
    "overall_response": Verb(overall_response, {
        "filter": COND, "source": VAR, "date": VAR, "reference_date": VAR, "before": VAR,
        "aval": AVAL, "worst": {"type": "list", "schema": {"type": "string"}},
        "order": ORDER, "new_var": VAR, "until_first_pd": VAR,
        "progression": {"type": "string"}}),
    "best_response": Verb(best_response, {
        **_PARAMETER, **_CONFIRMATION, "ref_start_window": {**DAYS, "required": True},
        "reference_date": VAR, "assessments": COND, "missing_value": {"type": "string"},
        "ne_responses": {"type": "list", "minlength": 1, "schema": {"type": "string"}},
        "keep": VARS},
        check=_check_conditions, datasets=_subject_datasets),
    "response": Verb(response, {
        **_PARAMETER, **_CONFIRMATION, "assessments": COND, "keep": VARS,
        "true_value": {"type": "string"}, "false_value": {"type": "string"}},
        check=_check_conditions, datasets=_subject_datasets),
    "clinical_benefit": Verb(clinical_benefit, {
        **_PARAMETER, **_CONFIRMATION, "ref_start_window": {**DAYS, "required": True},
        "reference_date": VAR, "assessments": COND, "keep": VARS,
        "true_value": {"type": "string"}, "false_value": {"type": "string"}},
        check=_check_conditions, datasets=_subject_datasets),
    "event_param": Verb(event_param, {
        **_PARAMETER, "dataset": DATASET, "filter": COND, "order": ORDER,
        "mode": {"type": "string", "allowed": ["first", "last"]}, "date": VAR,
        "keep": VARS, "exist_flag": {**VAR, "nullable": True},
        "true_value": {"type": "string"}, "false_value": {"type": "string"}},
        check=_check_event,
        datasets=lambda p: [*_subject_datasets(p), *([p["dataset"]] if "dataset" in p
                                                     else [])]),
    "exist_param": Verb(exist_param, {
        **_PARAMETER, "dataset": {**DATASET, "required": True},
        "condition": {**COND, "required": True}, "filter": COND,
        "true_value": {"type": "string"}, "false_value": {"type": "string"},
        "missing_value": {"type": "string"}},
        check=_check_conditions,
        datasets=lambda p: [*_subject_datasets(p), p["dataset"]]),
}
