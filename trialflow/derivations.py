"""Named derivations: the rules that are not simple enough to declare.

A spec references them as ``{derive: NAME, params: {...}}``; each is documented here
and in the spec's ``methods``. They are vectorised functions of DataFrames (no loop
over records), registered in :data:`CORE`. Domain modules (``sdtm/<domain>.py``) add
their own through a ``DERIVATIONS`` mapping.

Row-phase derivations receive ``(frame, out, params, ctx, spec)``: the block's raw rows
and the variables computed so far for them. Dataset-phase derivations receive
``(data, params, ctx, spec)`` after the records of all blocks are put together and
sorted (--SEQ). Value derivations (``phase="value"``) return one value for a literal
record of a trial-design dataset: ``(params, ctx, spec)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from trialflow.errors import SpecError
from trialflow.isodates import as_date_column, iso_bounds_days, iso_days
from trialflow.mapping import (
    FORM_COL,
    ROW_COL,
    Context,
    Derivation,
    categorical,
    evaluate_condition,
    factor,
    fold,
    is_categorical,
    per_value,
    text,
)
from trialflow.rawdata import parse_edc_date
from trialflow.spec import DatasetSpec

_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


# --------------------------------------------------------------------------- dates


def iso_bounds(dtc: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Earliest and latest calendar day an ISO 8601 (possibly partial) date can be.

    ``2016-06-05`` gives that day twice, ``2016-06`` gives 1 and 30 June, ``2016`` gives
    1 January and 31 December; blank or malformed text gives NaT. Parsed once per
    distinct value, as dates of any year (``datetime64[s]``: pandas' nanosecond dates end
    in 2262, and an AE ending in 2300 must not read as not ended).
    """
    codes, uniques = factor(dtc)
    lo, hi = iso_bounds_days(pd.Series(uniques, dtype=object))
    return (as_date_column(lo[codes], dtc.index), as_date_column(hi[codes], dtc.index))


def complete_date(dtc: pd.Series) -> pd.Series:
    """The date of a complete ISO 8601 date (time ignored); NaT for partial or blank.
    Any year (``datetime64[s]``, see :func:`iso_bounds`)."""
    codes, uniques = factor(dtc)
    return as_date_column(iso_days(pd.Series(uniques, dtype=object))[codes], dtc.index)


def study_day(dates: pd.Series, ref: pd.Series) -> pd.Series:
    """Study day of ``dates`` relative to ``ref``: day 1 is the reference day, no day 0.

    Both are datetime Series on the same index; missing in either gives NaN.
    """
    diff = (dates - ref).dt.days.astype("float64")
    return diff.where(diff < 0, diff + 1)


def _dm_table(out: pd.DataFrame, ctx: Context, spec: DatasetSpec, variable: str
              ) -> pd.Series:
    """DM's ``variable`` indexed by USUBJID (a subject's first DM record)."""
    dm = ctx.domains.get("DM")
    if dm is None or "USUBJID" not in out.columns:
        raise SpecError(spec.file, f"needs DM.{variable}: build DM first and derive USUBJID "
                        "before this variable", spec.name)
    # Only the two columns are taken: dropping duplicate subjects from the whole of DM
    # copied every DM column for each lookup.
    subjects = dm["USUBJID"]
    first = ~subjects.duplicated().to_numpy()
    return dm[variable][first].set_axis(pd.Index(subjects[first], name="USUBJID"))


def _dm_lookup(out: pd.DataFrame, ctx: Context, spec: DatasetSpec, variable: str
               ) -> pd.Series:
    """A DM variable for each record, by USUBJID (from DM itself while building DM)."""
    if variable in out.columns and spec.name == "DM":
        return out[variable]
    table = _dm_table(out, ctx, spec, variable)
    # Looked up once per distinct subject (a categorical USUBJID is not hashed per row).
    return per_value(out["USUBJID"], lambda u: u.map(table).fillna(""))


def _dm_dates(out: pd.DataFrame, ctx: Context, spec: DatasetSpec, variable: str
              ) -> pd.Series:
    """:func:`complete_date` of a DM variable for each record, computed per subject."""
    if variable in out.columns and spec.name == "DM":
        return complete_date(out[variable])
    table = _dm_table(out, ctx, spec, variable)
    return per_value(out["USUBJID"], lambda u: complete_date(
        u.map(table).fillna("").astype(object)))


def _study_day(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any],
               ctx: Context, spec: DatasetSpec) -> pd.Series:
    dtc = params.get("dtc")
    if dtc not in out.columns:
        raise SpecError(spec.file, f"study_day needs params.dtc naming an earlier variable, "
                        f"got {dtc!r}", spec.name)
    ref = _dm_dates(out, ctx, spec, params.get("ref", "RFSTDTC"))
    return study_day(complete_date(out[dtc]), ref)


def _epoch(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any], ctx: Context,
           spec: DatasetSpec) -> pd.Series:
    """SCREENING before first dose, TREATMENT to last dose, FOLLOW-UP after it.

    The epochs are ``params.epochs`` (default ``[SCREENING, TREATMENT, FOLLOW-UP]``),
    their bounds DM.RFXSTDTC and DM.RFXENDTC. A subject never dosed has records in the
    first epoch up to DM.RFSTDTC (her reference start, e.g. randomisation) and, when
    ``params.untreated`` names one, in that epoch after it; without it, none. A
    partial date gets an epoch only when every day it can be falls in the same epoch;
    with ``params.partial: impute``, the epoch of the day it is imputed to as the
    analysis does: the first day it can be, but not before the first dose.
    """
    dtc = params.get("dtc")
    if dtc not in out.columns:
        raise SpecError(spec.file, f"epoch needs params.dtc naming an earlier variable, "
                        f"got {dtc!r}", spec.name)
    epochs = list(params.get("epochs") or ["SCREENING", "TREATMENT", "FOLLOW-UP"])
    untreated = params.get("untreated")
    partial = params.get("partial", "none")
    if partial not in ("none", "impute"):
        raise SpecError(spec.file, f"epoch: params.partial is none or impute, got "
                        f"{partial!r}", spec.name)
    if len(epochs) != 3 or (untreated is not None and not isinstance(untreated, str)):
        raise SpecError(spec.file, "epoch: params.epochs needs three epochs (before, during "
                        "and after treatment) and params.untreated one epoch name",
                        spec.name)
    # As datetime64 arrays: NaT compares False there as in pandas, without a Series per
    # comparison.
    start = _dm_dates(out, ctx, spec, "RFXSTDTC").to_numpy()
    end = _dm_dates(out, ctx, spec, "RFXENDTC").to_numpy()
    lo, hi = iso_bounds(out[dtc])
    # Epochs as codes into one table: one shared string per epoch, not one per record.
    names = np.array(["", *epochs, untreated or ""], dtype=object)
    never = np.isnat(start)
    if untreated is not None:
        ref = _dm_dates(out, ctx, spec, "RFSTDTC").to_numpy()
    else:
        ref = np.full(len(out), np.datetime64("NaT"), dtype="datetime64[ns]")

    def epoch_of(day: np.ndarray) -> np.ndarray:
        dosed = np.select([day < start, day <= end, day > end], [1, 2, 3], default=0)
        undosed = np.select([day <= ref, day > ref], [1, 4], default=0)
        return np.where(never, undosed, dosed)

    first, last = lo.to_numpy(), hi.to_numpy()
    if partial == "impute":
        # The first day possible, moved to the first dose when that falls within.
        dose_within = (first < start) & (last >= start)
        day = np.where(dose_within, start, first)
        codes = epoch_of(day)
    else:
        a, b = epoch_of(first), epoch_of(last)
        codes = np.where(a == b, a, 0)
    if is_categorical(out[dtc]):
        return categorical(codes, names, out.index)
    return pd.Series(names[codes], index=out.index, dtype=object)


def _dates_of_forms(ctx: Context, spec: DatasetSpec, params: dict[str, Any]) -> pd.DataFrame:
    """Complete ISO dates per subject from one (``form``, ``column``, ``when``) or several
    (``sources: [{form, column, when}, ...]``) raw forms."""
    sources = params.get("sources") or [params]
    parts = []
    for src in sources:
        form, column = src.get("form"), src.get("column")
        if form not in ctx.raw or column not in ctx.raw[form].columns:
            raise SpecError(spec.file, f"first_date/last_date need a form and column of a raw "
                            f"form; got {form!r}.{column!r}", spec.name)
        raw = ctx.raw[form]
        dates, subjects = raw[column], raw["SUBJID"]
        if "when" in src:
            # Only the two columns are selected, not a copy of the whole form.
            keep = evaluate_condition(src["when"], raw, ctx, spec)
            dates, subjects = dates[keep], subjects[keep]
        # ISO text only, parsed once per distinct date (parse_edc_date of the column would
        # also spread the year, month, day and flags to every record, unused here).
        codes, uniques = factor(dates)
        iso = parse_edc_date(pd.Series(uniques, dtype=object).fillna(""))["iso"]
        # Only complete dates fix a first or last day; partial ones cannot be ordered.
        complete = iso.str.len().eq(10).to_numpy()[codes]
        parts.append(pd.DataFrame({"SUBJID": text(subjects[complete]).to_numpy(),
                                   "iso": iso.to_numpy(dtype=object)[codes[complete]]}))
    return pd.concat(parts, ignore_index=True)


def _date_per_subject(frame: pd.DataFrame, params: dict[str, Any], ctx: Context,
                      spec: DatasetSpec, last: bool) -> pd.Series:
    """Each subject's first (or last) complete date of the forms, ``''`` if none."""
    dates = _dates_of_forms(ctx, spec, params)
    # Complete ISO dates order as text: reduce their sorted ranks (integers, which
    # groupby reduces in C) rather than the strings (a per-group Python fallback).
    ranks, uniques = pd.factorize(dates["iso"], sort=True)
    grouped = pd.Series(ranks, index=dates.index).groupby(dates["SUBJID"])
    rank = grouped.max() if last else grouped.min()
    per = pd.Series(np.asarray(uniques, dtype=object)[rank.to_numpy()], index=rank.index,
                    dtype=object)
    # Looked up once per distinct subject text, not hashed again for every record.
    return per_value(frame[params.get("subject", "SUBJID")],
                     lambda u: text(u).map(per).fillna(""))


def _first_date(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any],
                ctx: Context, spec: DatasetSpec) -> pd.Series:
    return _date_per_subject(frame, params, ctx, spec, last=False)


def _last_date(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any],
               ctx: Context, spec: DatasetSpec) -> pd.Series:
    return _date_per_subject(frame, params, ctx, spec, last=True)


# --------------------------------------------------------------------------- identifiers


def _column_of(frame: pd.DataFrame, given: str | None, name: str, spec: DatasetSpec) -> str:
    """The column ``given``, else ``name``, else the one ``<form>.<name>`` of the frame."""
    if given is not None:
        if given not in frame.columns:
            raise SpecError(spec.file, f"usubjid needs column {given!r}", spec.name,
                            "USUBJID")
        return given
    if name in frame.columns:
        return name
    merged = [c for c in frame.columns if str(c).endswith(f".{name}")]
    if len(merged) != 1:
        why = "no merged form brings one" if not merged else "several merged forms do"
        raise SpecError(spec.file, f"usubjid needs a {name} column: the form has none and "
                        f"{why} — name it with params: {{{name.lower()}: <form>.{name}}}",
                        spec.name, "USUBJID")
    return merged[0]


def _usubjid(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any], ctx: Context,
             spec: DatasetSpec) -> pd.Series:
    """USUBJID = STUDYID-SITEID-SUBJID.

    The columns are ``studyid``, ``siteid`` and ``subjid`` when the rule names them;
    else the record's own column of that name, else the one column of that name a
    merged form brings (``<form>.STUDYID``, e.g. of the enrolment form).
    """
    cols = [_column_of(frame, params.get(key), name, spec) for key, name in
            (("studyid", "STUDYID"), ("siteid", "SITEID"), ("subjid", "SUBJID"))]
    # Joined once per distinct (study, site, subject) and spread by codes: one shared
    # string per subject, not a new string for every record of a large domain.
    factors = [factor(frame[c]) for c in cols]
    key = np.zeros(len(frame), dtype=np.int64)
    for codes, uniques in factors:
        key = key * len(uniques) + codes
    combo, _ = pd.factorize(key)
    first = np.empty(combo.max() + 1 if len(combo) else 0, dtype=np.intp)
    first[combo[::-1]] = np.arange(len(combo))[::-1]
    joined = None
    for codes, uniques in factors:
        part = text(pd.Series(uniques, dtype=object)).to_numpy()[codes[first]]
        joined = part if joined is None else joined + "-" + part
    if joined is None or not is_categorical(frame[cols[-1]]):
        joined = np.empty(0, dtype=object) if joined is None else joined
        return pd.Series(joined[combo], index=frame.index, dtype=object)
    return categorical(combo, joined, frame.index)


def _seq(data: pd.DataFrame, params: dict[str, Any], ctx: Context,
         spec: DatasetSpec) -> pd.Series:
    """--SEQ: 1, 2, ... within subject, in the dataset's sort order."""
    by = params.get("by", ["USUBJID"])
    # observed=True: a categorical key counts only the groups it has (as text keys do).
    return (data.groupby(by, sort=False, dropna=False, observed=True).cumcount() + 1
            ).astype("float64")


def _parent_seq(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any],
                ctx: Context, spec: DatasetSpec) -> pd.Series:
    """IDVARVAL of a supplemental qualifier: the --SEQ of the parent record made from the
    same raw record (matched on provenance), as text."""
    domain = params.get("domain")
    seq = params.get("seq", f"{domain}SEQ")
    parent = ctx.domains.get(domain)
    if parent is None or seq not in parent.columns:
        raise SpecError(spec.file, f"parent_seq needs dataset {domain!r} with {seq} built "
                        "first", spec.name)
    theirs, mine = _provenance_keys(parent, frame)
    # The first parent record made from a raw record is its parent.
    first = ~pd.Index(theirs).duplicated()
    table = pd.Series(parent[seq].to_numpy()[first], index=theirs[first])
    found = pd.Series(mine, index=frame.index).map(table)
    return per_value(found, lambda u: u.map(lambda v: "" if pd.isna(v) else str(int(v)))
                     .astype(object))


def _provenance_keys(*frames: pd.DataFrame) -> list[np.ndarray]:
    """Each record's raw form and row (``_FORM``, ``_ROW``) as one int64, comparable
    across ``frames``: matched as integers, not as a "form#row" string made for every
    record.

    Examples
    --------
    >>> a = pd.DataFrame({"_FORM": ["ae", "cm", "ae"], "_ROW": [1, 1, 2]})
    >>> b = pd.DataFrame({"_FORM": ["cm", "ae"], "_ROW": [1, 2]})
    >>> [k.tolist() for k in _provenance_keys(a, b)]
    [[1, 4, 2], [4, 2]]
    """
    factors = [factor(f[FORM_COL]) for f in frames]
    # Form names as text (as the reconciliation names them), one position per name.
    names = [pd.Index(uniques).astype(str) for _, uniques in factors]
    forms = pd.Index(np.concatenate([n.to_numpy(dtype=object) for n in names])).unique()
    rows = [f[ROW_COL].to_numpy().astype(np.int64) for f in frames]
    radix = max((int(r.max()) for r in rows if len(r)), default=0) + 1
    return [forms.get_indexer(n)[codes] * radix + r
            for (codes, _), n, r in zip(factors, names, rows, strict=True)]


# --------------------------------------------------------------------------- visits


_VISIT_PATTERNS: list[tuple[str, str, int]] = [
    # (regex on the folded visit text, VISIT, VISITNUM base); {n} is the captured number
    (r"^SCREENING$", "SCREENING", 0),
    (r"^CYCLE (\d+) DAY 1$", "CYCLE {n} DAY 1", 0),
    (r"^WEEK (\d+)$", "WEEK {n}", 1000),
    (r"^END OF TREATMENT$", "END OF TREATMENT", 9000),
    (r"^SURVIVAL FOLLOW-UP$", "SURVIVAL FOLLOW-UP", 9900),
]


def visit_table(visits: pd.Series) -> pd.DataFrame:
    """Normalise collected visit names and number them.

    The schedule has three clocks, kept apart by VISITNUM ranges: SCREENING = 0,
    CYCLE n DAY 1 = n (treatment cycles, at most 200), WEEK w = 1000 + w (tumour
    assessments), END OF TREATMENT = 9000, SURVIVAL FOLLOW-UP = 9900.

    Returns
    -------
    DataFrame
        ``VISIT`` (upper case, single spaces) and ``VISITNUM`` (NaN for a visit outside
        the schedule), on the index of ``visits``.
    """
    codes, uniques = pd.factorize(visits, use_na_sentinel=False)
    if len(uniques) < len(visits):
        table = visit_table(pd.Series(uniques, dtype=object))
        out = table.iloc[codes].reset_index(drop=True)
        out.index = visits.index
        return out
    folded = fold(visits)
    name = pd.Series("", index=visits.index, dtype=object)
    num = pd.Series(np.nan, index=visits.index, dtype="float64")
    for pattern, template, base in _VISIT_PATTERNS:
        if "{n}" in template:
            n = pd.to_numeric(folded.str.extract(pattern, expand=False), errors="coerce")
            hit = n.notna().to_numpy()
            head, tail = template.split("{n}")
            name[hit] = head + n[hit].astype(int).astype(str) + tail
            num[hit] = base + n[hit].astype(float)
        else:
            hit = folded.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
            name[hit] = template
            num[hit] = float(base)
    return pd.DataFrame({"VISIT": name, "VISITNUM": num})


def _cycle_visit(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any],
                 ctx: Context, spec: DatasetSpec) -> pd.Series:
    """VISIT of a treatment cycle number: ``CYCLE n DAY 1`` (VISITNUM n)."""
    col = params.get("column", "CYCLE")
    if col not in frame.columns:
        raise SpecError(spec.file, f"cycle_visit needs column {col!r}", spec.name)
    n = pd.to_numeric(text(frame[col]), errors="coerce")
    name = "CYCLE " + n.astype("Int64").astype("string") + " DAY 1"
    return name.fillna("").astype(object)


def _visit_codes(frame: pd.DataFrame, params: dict[str, Any], spec: DatasetSpec
                 ) -> tuple[np.ndarray, pd.Series, pd.DataFrame]:
    """Factor codes of the visit column, its distinct values as text, and their
    :func:`visit_table`: the schedule is looked up once per distinct visit name."""
    col = params.get("column", "VISIT")
    if col not in frame.columns:
        raise SpecError(spec.file, f"visit derivations need column {col!r}", spec.name)
    codes, uniques = factor(frame[col])
    raw = text(pd.Series(uniques, dtype=object))
    return codes, raw, visit_table(raw)


def _visit(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any], ctx: Context,
           spec: DatasetSpec) -> pd.Series:
    codes, raw, table = _visit_codes(frame, params, spec)
    unknown_u = table["VISITNUM"].isna().to_numpy() & raw.ne("").to_numpy()
    unknown = unknown_u[codes]
    if unknown.any():
        ctx.report(unknown, frame, pd.Series(raw.to_numpy()[codes], index=frame.index),
                   str(params.get("column", "VISIT")), "visit",
                   f"visit name is not in the schedule (Screening, Cycle n Day 1, Week n, "
                   f"End of treatment), so {spec.name}.VISITNUM is blank — correct the "
                   f"visit name")
    visit = table["VISIT"].where(~unknown_u, raw.str.upper()).to_numpy(dtype=object)
    if is_categorical(frame[params.get("column", "VISIT")]):
        return categorical(codes, visit, frame.index)
    return pd.Series(visit[codes], index=frame.index, dtype=object)


def _visitnum(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any], ctx: Context,
              spec: DatasetSpec) -> pd.Series:
    codes, _, table = _visit_codes(frame, params, spec)
    return pd.Series(table["VISITNUM"].to_numpy(dtype="float64")[codes], index=frame.index)


# --------------------------------------------------------------------------- findings


def _lobxfl(data: pd.DataFrame, params: dict[str, Any], ctx: Context,
            spec: DatasetSpec) -> pd.Series:
    """--LOBXFL: Y on the last record with a result on or before first dose (DM.RFSTDTC),
    per subject and test."""
    by = list(params.get("by", ["USUBJID"]))
    dtc, result = params.get("dtc"), params.get("result")
    for c in (*by, dtc, result):
        if c not in data.columns:
            raise SpecError(spec.file, f"lobxfl needs variable {c!r}", spec.name)
    ref = complete_date(_dm_lookup(data, ctx, spec, "RFSTDTC"))
    when = complete_date(data[dtc])
    eligible = (when <= ref) & text(data[result]).ne("")
    cand = data.loc[eligible.to_numpy(), by].assign(_when=when[eligible])
    # The last eligible record per group; ties broken by dataset order (sorted by spec).
    last = cand.sort_values("_when", kind="mergesort").groupby(
        by, sort=False, observed=True).tail(1).index
    flag = pd.Series("", index=data.index, dtype=object)
    flag.loc[last] = "Y"
    return flag


def _dictionary(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any],
                ctx: Context, spec: DatasetSpec) -> pd.Series:
    """Code a verbatim term with the study dictionary (specs/dictionary); ``level`` is
    ``llt``, ``pt`` (the decode), ``hlt``, ``hlgt`` or ``soc``, or the code of one
    (``llt_code`` ... ``soc_code``). An uncodable term is a finding (only where
    ``report: true``, so one term is reported once, not once per level)."""
    if ctx.dictionary is None:
        raise SpecError(spec.file, "dictionary coding needs a dictionary", spec.name)
    col, level = params.get("verbatim"), params.get("level", "pt")
    levels = ("llt", "pt", "hlt", "hlgt", "soc")
    if col not in frame.columns or level not in (*levels, *(f"{x}_code" for x in levels)):
        raise SpecError(spec.file, f"dictionary needs params.verbatim (a column) and a level "
                        f"of llt/pt/hlt/hlgt/soc or its code (llt_code ...); got {col!r}, "
                        f"{level!r}", spec.name)
    lookup = ctx.dictionary.lookup()
    raw = text(frame[col])
    codes, uniques = pd.factorize(fold(raw))
    coded = np.array([str(getattr(lookup[u], level) or "") if u in lookup else ""
                      for u in uniques] + [""], dtype=object)
    known = np.array([u in lookup for u in uniques] + [False])[codes]
    if params.get("report"):
        ctx.report(raw.ne("").to_numpy() & ~known, frame, raw, str(col), "dictionary",
                   f"verbatim term is not in the coding dictionary ({ctx.dictionary.version}) "
                   f"— add it as a verbatim of the right term in specs/dictionary",
                   "error")
    return pd.Series(coded[codes], index=frame.index, dtype=object)


# --------------------------------------------------------------------------- values


def _study_field(params: dict[str, Any], ctx: Context, spec: DatasetSpec) -> Any:
    """A field of specs/study.yaml (``field: id``, ``title``, ``data_cutoff`` ...)."""
    key = params.get("field")
    value = getattr(ctx.study, str(key), None)
    if value is None:
        value = ctx.study.extra.get(key)
    if value is None:
        raise SpecError(spec.file, f"study has no field {key!r}", spec.name)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _count_subjects(params: dict[str, Any], ctx: Context, spec: DatasetSpec) -> Any:
    """Number of subjects in DM (optionally those with ``variable`` non-blank)."""
    dm = ctx.domains.get("DM")
    if dm is None:
        raise SpecError(spec.file, "count_subjects needs DM built first", spec.name)
    var = params.get("variable")
    return str(int(text(dm[var]).ne("").sum()) if var else len(dm))


def _dm_date(params: dict[str, Any], ctx: Context, spec: DatasetSpec) -> Any:
    """Earliest (``which: min``) or latest DM date of a variable, e.g. study start."""
    dm = ctx.domains.get("DM")
    var = params.get("variable")
    if dm is None or var not in dm.columns:
        raise SpecError(spec.file, f"dm_date needs DM.{var}", spec.name)
    dates = text(dm[var]).str.slice(0, 10)
    dates = dates[dates.str.len().eq(10)]
    if dates.empty:
        return ""
    return dates.max() if params.get("which") == "max" else dates.min()


def _ct_version(params: dict[str, Any], ctx: Context, spec: DatasetSpec) -> Any:
    """The version of a CDISC CT package (``package: SDTM``) the study names in
    study.yaml (``standards: {ct: {SDTM: 2025-03-28}}``), e.g. for TS.TSVCDVER."""
    package = params.get("package", "SDTM")
    version = ctx.study.standards.ct_version(package)
    if version is None:
        raise SpecError(spec.file, f"ct_version: study.yaml names no {package} CT version "
                        f"(standards: {{ct: {{{package}: YYYY-MM-DD}}}})", spec.name)
    return version


CORE: dict[str, Derivation] = {d.name: d for d in [
    Derivation("usubjid", _usubjid, "row", "STUDYID-SITEID-SUBJID"),
    Derivation("study_day", _study_day, "row",
               "date - DM.RFSTDTC + 1 on or after the reference day, date - DM.RFSTDTC "
               "before it (no day 0); complete dates only"),
    Derivation("epoch", _epoch, "row",
               "SCREENING before first dose, TREATMENT to last dose, FOLLOW-UP after"),
    Derivation("first_date", _first_date, "row", "earliest complete date of a form"),
    Derivation("last_date", _last_date, "row", "latest complete date of a form"),
    Derivation("visit", _visit, "row", "collected visit name normalised"),
    Derivation("visitnum", _visitnum, "row", "visit number from the schedule"),
    Derivation("cycle_visit", _cycle_visit, "row", "CYCLE n DAY 1 from a cycle number"),
    Derivation("seq", _seq, "dataset", "sequence number within subject, in sort order"),
    Derivation("lobxfl", _lobxfl, "dataset", "last observation before exposure flag"),
    Derivation("parent_seq", _parent_seq, "row", "--SEQ of the parent record"),
    Derivation("dictionary", _dictionary, "row", "dictionary coding of a verbatim term"),
    Derivation("study_field", _study_field, "value", "a field of specs/study.yaml"),
    Derivation("count_subjects", _count_subjects, "value", "number of subjects in DM"),
    Derivation("dm_date", _dm_date, "value", "earliest or latest date of a DM variable"),
    Derivation("ct_version", _ct_version, "value", "the study's version of a CT package"),
]}


def registry(*extra: Mapping[str, Derivation]) -> dict[str, Derivation]:
    """The core derivations plus those of domain modules; a name defined twice is a bug."""
    out = dict(CORE)
    for more in extra:
        for name, d in more.items():
            if name in out and out[name] is not d:
                raise SpecError("trialflow.derivations", f"derivation {name!r} defined twice")
            out[name] = d
    return out
