"""The mapping engine: executes the declarative rules of a dataset spec on raw forms.

A dataset spec (``specs/sdtm/<domain>.yaml``) says where every variable's value comes
from. The simple rules are declared there and run here; the vocabulary follows
pharmaverse's sdtm.oak:

=================================  ===================================================
rule                               meaning
=================================  ===================================================
``{assign: COL}``                  copy the raw text (assign without CT)
``{assign: COL, codelist: ID}``    map the collected value through a codelist (its
                                   submission value, decode or synonym) to the
                                   submission value; ``decode: true`` gives the decode
``{hardcode: VALUE}``              a constant (``codelist`` checks it is a term)
``{iso8601: COL}``                 EDC date text to ISO 8601, partial dates kept
                                   partial; ``time: COL`` appends a collected time
``{map: COL, values: {...}}``      a declared value map (``default`` for the rest)
``{number: COL}``                  the raw text as a number
``{derive: NAME, params: {...}}``  a named derivation function (``derivations``)
``when: CONDITION``                on any rule: the rows it writes
=================================  ===================================================

A variable's ``rule`` is one rule or a list; in a list the first rule whose ``when``
holds for a row writes that row. A condition is ``{column, op, value}`` with ``op`` one
of ``eq ne in not_in blank present lt le gt ge`` (``codelist`` maps the column first),
or ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``. Specs hold no code: no eval.

Records come from *source blocks* (``sources:``). Each block takes one raw form, merges
other forms by key (``merge``), keeps the rows its ``when`` selects (the others are
recorded with the block's ``unmapped`` reason for reconciliation), optionally melts
columns into rows (``melt``: one record per item of a questionnaire or per response of
a tumour assessment) and overrides variable rules for its records (``set``). Rules
name raw columns as ``COL`` (the block's form) or ``form.COL`` (a merged form).

Every record keeps its provenance (``_FORM``, ``_ROW``: the raw form and its 1-based
data row) so that reconciliation can account for every raw record; the writer drops
these columns.

Example
-------
>>> ctx = Context(raw={"ae": ae_frame}, codelists=load_codelists(), study=load_study())
... # doctest: +SKIP
>>> ae = map_dataset(ctx, spec)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialflow.errors import SpecError
from trialflow.findings import Finding, Severity
from trialflow.rawdata import parse_edc_date
from trialflow.spec import Codelist, DatasetSpec, Dictionary, Study, Variable

FORM_COL = "_FORM"
ROW_COL = "_ROW"
PROVENANCE = (FORM_COL, ROW_COL)

ACTIONS = ("assign", "hardcode", "iso8601", "map", "number", "derive")
MODIFIERS = {"assign": {"codelist", "decode"}, "hardcode": {"codelist"}, "iso8601": {"time"},
             "map": {"values", "default"}, "number": set(), "derive": {"params"}}
OPS = ("eq", "ne", "in", "not_in", "blank", "present", "lt", "le", "gt", "ge")
BLOCK_KEYS = {"id", "form", "merge", "when", "unmapped", "melt", "set", "comment"}


# --------------------------------------------------------------------------- context


@dataclass
class Derivation:
    """A named derivation function a spec may reference with ``{derive: NAME}``.

    Attributes
    ----------
    name : str
    func : callable
        ``phase == "row"``: ``func(frame, out, params, ctx, spec) -> Series`` where
        ``frame`` holds the block's raw rows and ``out`` the variables computed so far
        (same index). ``phase == "dataset"``: ``func(data, params, ctx, spec) -> Series``
        on the whole dataset, sorted by the spec's sort keys (e.g. --SEQ).
    phase : {'row', 'dataset'}
    description : str
        What it does, for define.xml and reviewers.
    """

    name: str
    func: Callable[..., pd.Series]
    phase: str = "row"
    description: str = ""


@dataclass
class Context:
    """Everything a mapping can read, and where it reports.

    Attributes
    ----------
    raw : dict of str to DataFrame
        Raw forms by form name, all text (as :func:`trialflow.rawdata.read_forms` gives),
        as object or categorical columns (:func:`factorised`).
    codelists : mapping of str to Codelist
    study : Study
    dictionary : Dictionary, optional
        Coding dictionary for ``{derive: dictionary}``.
    domains : dict of str to DataFrame
        Datasets built so far (with provenance columns), e.g. DM for study days.
    findings : list of Finding
        Data findings raised while mapping (CT misses, uncodable terms, bad dates).
    rejections : list of DataFrame
        Frames with columns form, row, reason: raw records a source block did not take.
    derivations : dict of str to Derivation
        The registry of named derivations.
    keys : dict of str to tuple of str
        Key columns of each raw form (``specs/raw``): a record that repeats an earlier
        record's key is rejected, not mapped twice.
    """

    raw: dict[str, pd.DataFrame]
    codelists: Mapping[str, Codelist]
    study: Study
    dictionary: Dictionary | None = None
    domains: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    rejections: list[pd.DataFrame] = field(default_factory=list)
    derivations: dict[str, Derivation] = field(default_factory=dict)
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def report(self, mask: np.ndarray | pd.Series, frame: pd.DataFrame, values: pd.Series,
               variable: str, rule: str, message: str, severity: Severity = "error",
               form_col: str = FORM_COL, row_col: str = ROW_COL) -> None:
        """Add one finding per flagged row, naming the raw form, row, variable and value.

        Only flagged rows are visited, so the cost is in the number of findings.
        """
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not idx.size:
            return
        # Take the flagged rows first: a categorical column is not materialised whole.
        forms = frame[form_col].iloc[idx].to_numpy()
        rows = frame[row_col].iloc[idx].to_numpy()
        vals = values.iloc[idx].to_numpy()
        self.findings.extend(
            Finding(f"{f}.csv", int(r), variable, str(v), rule, message, severity)
            for f, r, v in zip(forms, rows, vals, strict=True))

    def reject(self, frame: pd.DataFrame, mask: np.ndarray | pd.Series, reason: str) -> None:
        """Record raw rows a source block did not take, with the reason."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.rejections.append(pd.DataFrame({
                "form": frame[FORM_COL].to_numpy()[mask],
                "row": frame[ROW_COL].to_numpy()[mask].astype(int),
                "reason": reason}))


# --------------------------------------------------------------------------- helpers


def per_value(values: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a Series-to-Series function once per distinct value and spread the results.

    CRF columns repeat a handful of values (codes, dates, grades), so string work on the
    distinct values and a take by factor codes is what keeps mapping fast at 100 times
    the study's size. Missing values are passed to ``func`` as one distinct value.
    """
    codes, uniques = factor(values)
    mapped = func(pd.Series(uniques, dtype=object))
    return pd.Series(mapped.to_numpy()[codes], index=values.index, dtype=mapped.dtype)


def is_categorical(values: pd.Series) -> bool:
    """Whether a column holds factor codes (the compact text of large mapped frames)."""
    return isinstance(values.dtype, pd.CategoricalDtype)


def factor(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Factor codes and distinct values, missing values (NaN) one distinct value.

    A categorical column already is codes and distinct values: its categories, plus NaN
    last for code -1, so no string is hashed (a 6-million-record QS column costs a take,
    not a hash of every cell). Unused categories may appear among the distinct values.
    """
    if is_categorical(values):
        cat = values.array
        uniques = np.append(cat.categories.to_numpy(dtype=object), np.nan)
        codes = cat.codes.astype(np.intp)
        codes[codes < 0] = len(uniques) - 1
        return codes, uniques
    # Without missing values both factorisations agree; only use_na_sentinel=False
    # first tests every cell for a missing value, a pass as long as the hashing.
    codes, uniques = pd.factorize(values)
    if len(codes) and codes.min() < 0:
        return pd.factorize(values, use_na_sentinel=False)
    return codes, uniques


def categorical(codes: np.ndarray, table: np.ndarray | pd.Series | list[Any],
                index: pd.Index) -> pd.Series:
    """A categorical column: ``table[codes]`` stored as codes of the distinct values.

    ``table`` may repeat values (two raw spellings that fold to one term) and hold NaN:
    its distinct values become the categories, NaN stays missing. Eight bytes a cell
    (a pointer to a shared string) become one or two (a code).
    """
    table_codes, uniques = pd.factorize(pd.Series(np.asarray(table, dtype=object),
                                                  dtype=object))
    # Gathered straight into the code width pandas keeps for this many categories, so
    # from_codes need not convert a record-length array of int64 codes again.
    width = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                 if len(uniques) < np.iinfo(t).max or t is np.int64)
    new_codes = (table_codes.astype(width)[np.asarray(codes)] if len(table_codes)
                 else np.asarray(codes))
    return pd.Series(pd.Categorical.from_codes(new_codes, categories=pd.Index(
        uniques, dtype=object), validate=False), index=index)


def factorised(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns as categoricals, each hashed once here.

    Rules, conditions and derivations read the same raw columns again and again, each
    through :func:`factor`; a categorical is factor codes already, so a column is hashed
    once per study, not once per reader. The categories are the distinct values in order
    of first appearance (as :func:`pandas.factorize` gives them); other columns are
    shared, not copied.

    Examples
    --------
    >>> f = factorised(pd.DataFrame({"A": ["x", "y", "x"], "N": [1, 2, 3]}))
    >>> f["A"].cat.categories.tolist(), f["A"].tolist(), f["N"].dtype.name
    (['x', 'y'], ['x', 'y', 'x'], 'int64')
    """
    return pd.DataFrame({name: categorical(*factor(col), frame.index) if col.dtype == object
                         else col for name, col in frame.items()},
                        index=frame.index, copy=False)


def keep_categorical(values: pd.Series, func: Callable[[pd.Series], pd.Series]
                     ) -> pd.Series:
    """:func:`per_value` for text results: categorical in, categorical out.

    The mapping engine keeps the text of large (melted) frames as categoricals from the
    raw form to the written dataset; an object column in gives an object column out, as
    :func:`per_value` does.
    """
    if not is_categorical(values):
        return per_value(values, func)
    codes, uniques = factor(values)
    mapped = func(pd.Series(uniques, dtype=object))
    return categorical(codes, mapped.to_numpy(dtype=object), values.index)


def _strip(values: pd.Series) -> pd.Series:
    return values.str.strip()


def _fold_all(values: pd.Series) -> pd.Series:
    return (values.astype("string").fillna("").str.replace(r"\s+", " ", regex=True)
            .str.strip().str.upper().astype(object))


def _text_all(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.strip().astype(object)


def fold(values: pd.Series) -> pd.Series:
    """Case- and whitespace-insensitive text (twin of ``trialflow.spec._fold``)."""
    return per_value(values, _fold_all)


def text(values: pd.Series) -> pd.Series:
    """Raw values as stripped text with ``''`` for missing (merged rows with no match)."""
    return per_value(values, _text_all)


def _ctext(values: pd.Series) -> pd.Series:
    """:func:`text`, categorical for a categorical column (the engine's own use)."""
    return keep_categorical(values, _text_all)


def _cfold(values: pd.Series) -> pd.Series:
    """:func:`fold`, categorical for a categorical column (the engine's own use)."""
    return keep_categorical(values, _fold_all)


def _numbers(values: pd.Series) -> pd.Series:
    """Text as float64 (NaN where not a number); once per distinct value of a factor."""
    if is_categorical(values):
        return per_value(values, lambda u: pd.to_numeric(u, errors="coerce")
                         .astype("float64"))
    return pd.to_numeric(values, errors="coerce").astype("float64")


def is_categorical_frame(frame: pd.DataFrame) -> bool:
    """Whether a source frame keeps its text as categoricals (a melted form, see
    :func:`_melt`): its variables are then built as categoricals too."""
    return FORM_COL in frame.columns and is_categorical(frame[FORM_COL])


def blank_like(index: pd.Index, var: Variable) -> pd.Series:
    """An all-missing column of the variable's type."""
    if var.type == "Num":
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.Series("", index=index, dtype=object)


def map_codelist(values: pd.Series, codelist: Codelist, decode: bool = False
                 ) -> tuple[pd.Series, np.ndarray]:
    """Map collected values to submission values (or decodes) of a codelist.

    Parameters
    ----------
    values : Series
        Collected text; matched case- and space-insensitively against each term's
        submission value, decode and synonyms.
    codelist : Codelist
    decode : bool
        Return the decode instead of the submission value.

    Returns
    -------
    mapped : Series
        Submission values (or decodes) as text; ``''`` for blanks and for values that
        match no term.
    unmapped : ndarray of bool
        Non-blank values that match no term.
    """
    lookup = codelist.lookup()
    if decode:
        decodes = {str(t.submission_value): t.decode for t in codelist.terms}
        lookup = {k: decodes[str(v)] for k, v in lookup.items()}
    folded = _cfold(values)
    # Map each distinct value once: CRF columns repeat a handful of values.
    codes, uniques = pd.factorize(folded)
    table = np.array([str(lookup[u]) if u in lookup else "" for u in uniques] + [""],
                     dtype=object)
    if is_categorical(folded):
        mapped = categorical(codes, table, values.index)
    else:
        mapped = pd.Series(table[codes], index=values.index, dtype=object)
    present = folded.ne("").to_numpy()
    known = np.array([u in lookup for u in uniques] + [False])[codes]
    return mapped, present & ~known


def _column(frame: pd.DataFrame, name: Any, spec: DatasetSpec, var: str,
            out: pd.DataFrame | None = None) -> pd.Series:
    """A raw column (``COL`` or ``form.COL``) or, written ``<DATASET>.VAR``, a variable
    of this dataset computed earlier in spec order."""
    if (out is not None and isinstance(name, str) and name.startswith(f"{spec.name}.")
            and name.split(".", 1)[1] in out.columns):
        return out[name.split(".", 1)[1]]
    if not isinstance(name, str) or name not in frame.columns:
        raise SpecError(spec.file, f"rule refers to column {name!r}, which the source form "
                        f"(or its merged forms) does not have", spec.name, var)
    return frame[name]


def _codelist(ctx: Context, cid: Any, spec: DatasetSpec, var: str) -> Codelist:
    if cid not in ctx.codelists:
        raise SpecError(spec.file, f"codelist {cid!r} is not defined in specs/ct",
                        spec.name, var)
    return ctx.codelists[cid]


# --------------------------------------------------------------------------- conditions


def evaluate_condition(cond: Mapping[str, Any], frame: pd.DataFrame, ctx: Context,
                       spec: DatasetSpec, var: str = "",
                       out: pd.DataFrame | None = None) -> np.ndarray:
    """Rows of ``frame`` where a structured condition holds.

    Parameters
    ----------
    cond : mapping
        ``{column, op, value[, codelist]}`` or ``{all: [...]}`` / ``{any: [...]}`` /
        ``{not: cond}``. Text is compared case- and space-insensitively; ``lt``..``ge``
        compare numbers; ``codelist`` maps the column to submission values first.

    Returns
    -------
    ndarray of bool
    """
    if not isinstance(cond, Mapping):
        raise SpecError(spec.file, f"a condition must be a mapping, got {cond!r}",
                        spec.name, var)
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        parts = [evaluate_condition(c, frame, ctx, spec, var, out) for c in cond[key]]
        if not parts:
            return np.full(len(frame), key == "all")
        return np.logical_and.reduce(parts) if key == "all" else np.logical_or.reduce(parts)
    if "not" in cond:
        return ~evaluate_condition(cond["not"], frame, ctx, spec, var, out)
    op = cond.get("op", "eq")
    if op not in OPS or "column" not in cond:
        raise SpecError(spec.file, f"condition {dict(cond)!r} needs 'column' and an 'op' of "
                        f"{', '.join(OPS)}", spec.name, var)
    values = _column(frame, cond["column"], spec, var, out)
    if "codelist" in cond:
        values, _ = map_codelist(values, _codelist(ctx, cond["codelist"], spec, var))
    folded = _cfold(values)
    if op == "blank":
        return folded.eq("").to_numpy()
    if op == "present":
        return folded.ne("").to_numpy()
    if op in ("lt", "le", "gt", "ge"):
        number = _numbers(folded).to_numpy(dtype=float)
        limit = float(cond["value"])
        with np.errstate(invalid="ignore"):
            result = {"lt": number < limit, "le": number <= limit, "gt": number > limit,
                      "ge": number >= limit}[op]
        return np.asarray(result, dtype=bool)
    wanted = cond.get("value")
    options = wanted if isinstance(wanted, list) else [wanted]
    targets = fold(pd.Series([str(o) for o in options], dtype=object)).tolist()
    hit = folded.isin(targets).to_numpy()
    return ~hit if op in ("ne", "not_in") else hit


# --------------------------------------------------------------------------- rules


def check_rule(rule: Any, spec: DatasetSpec, var: str) -> None:
    """Raise SpecError unless ``rule`` is in the vocabulary (one action, known keys)."""
    rules = rule if isinstance(rule, list) else [rule]
    for r in rules:
        if not isinstance(r, Mapping):
            raise SpecError(spec.file, f"a rule must be a mapping, got {r!r}", spec.name, var)
        actions = [a for a in ACTIONS if a in r]
        if len(actions) != 1:
            raise SpecError(spec.file, f"a rule needs exactly one of {', '.join(ACTIONS)}; "
                            f"got {sorted(r)}", spec.name, var)
        unknown = set(r) - {actions[0], "when"} - MODIFIERS[actions[0]]
        if unknown:
            raise SpecError(spec.file, f"rule {actions[0]!r} does not take "
                            f"{', '.join(sorted(unknown))}", spec.name, var)
        if actions[0] == "map" and not isinstance(r.get("values"), Mapping):
            raise SpecError(spec.file, "a map rule needs 'values' (raw value: result)",
                            spec.name, var)


def _apply_rule(rule: Mapping[str, Any], frame: pd.DataFrame, out: pd.DataFrame,
                var: Variable, ctx: Context, spec: DatasetSpec) -> pd.Series:
    """The values one rule gives for every row of ``frame`` (the caller applies ``when``)."""
    target = f"{spec.name}.{var.name}"
    if "assign" in rule:
        col = rule["assign"]
        values = _ctext(_column(frame, col, spec, var.name, out))
        if "codelist" not in rule:
            return values
        codelist = _codelist(ctx, rule["codelist"], spec, var.name)
        mapped, unmapped = map_codelist(values, codelist, bool(rule.get("decode")))
        if unmapped.any():
            # Not a silent NA: the value is kept as collected (it stays visible in the
            # dataset and the validator flags it again) and reported where it came from.
            severity: Severity = "warning" if codelist.extensible else "error"
            form_col, row_col = _provenance_of(frame, col)
            ctx.report(unmapped, frame, values, str(col), "ct_unmapped",
                       f"{col} maps to no term of codelist {codelist.id} (for {target}) — "
                       f"correct the value or add it as a synonym in specs/ct",
                       severity, form_col, row_col)
            mapped = mapped.astype(object).where(~unmapped, values.astype(object).str.upper())
        return mapped
    if "hardcode" in rule:
        value = rule["hardcode"]
        if "codelist" in rule:
            codelist = _codelist(ctx, rule["codelist"], spec, var.name)
            if str(value) not in {str(t.submission_value) for t in codelist.terms}:
                raise SpecError(spec.file, f"hard-coded value {value!r} is not a term of "
                                f"codelist {codelist.id}", spec.name, var.name)
        if var.type == "Num":
            return pd.Series(float(value), index=frame.index, dtype="float64")
        if is_categorical_frame(frame):
            return categorical(np.zeros(len(frame), dtype=np.int8), [str(value)], frame.index)
        return pd.Series(str(value), index=frame.index, dtype=object)
    if "iso8601" in rule:
        col = rule["iso8601"]
        raw = _ctext(_column(frame, col, spec, var.name, out))
        if is_categorical(raw):
            # Parse the distinct dates only and keep the codes: no per-record frame.
            codes, uniques = factor(raw)
            parsed = parse_edc_date(pd.Series(uniques, dtype=object).fillna(""))
            iso = categorical(codes, parsed["iso"].to_numpy(dtype=object), raw.index)
            valid = parsed["valid"].to_numpy(dtype=bool)[codes]
        else:
            parsed = parse_edc_date(raw)  # once per distinct date text
            iso = parsed["iso"].astype(object)
            valid = parsed["valid"].to_numpy(dtype=bool)
        bad = raw.ne("").to_numpy() & ~valid
        form_col, row_col = _provenance_of(frame, col)
        ctx.report(bad, frame, raw, str(col), "iso8601",
                   f"{col} is not a valid date, so {target} is left blank — correct the "
                   f"date in the EDC", "error", form_col, row_col)
        if "time" in rule:
            iso = iso.astype(object)
            tm = text(_column(frame, rule["time"], spec, var.name, out))
            ok = tm.str.fullmatch(r"\d{2}:\d{2}(:\d{2})?") & iso.str.len().eq(10)
            iso = iso.where(~ok, iso + "T" + tm)
        return iso
    if "map" in rule:
        col = rule["map"]
        values = text(_column(frame, col, spec, var.name, out))
        table = {fold(pd.Series([str(k)])).iloc[0]: v for k, v in rule["values"].items()}
        folded = fold(values)
        mapped = folded.map(table)
        missing = mapped.isna() & folded.ne("")
        if "default" in rule:
            mapped = mapped.where(~missing, rule["default"])
        elif missing.any():
            form_col, row_col = _provenance_of(frame, col)
            ctx.report(missing.to_numpy(), frame, values, str(col), "value_unmapped",
                       f"{col} has a value the spec's map for {target} does not list — add "
                       f"it to the map in {spec.file}", "error", form_col, row_col)
            mapped = mapped.where(~missing, values)
        if var.type == "Num":
            return pd.to_numeric(mapped, errors="coerce").astype("float64")
        return mapped.fillna("").astype(str).astype(object)
    if "number" in rule:
        col = rule["number"]
        raw = _ctext(_column(frame, col, spec, var.name, out))
        number = _numbers(raw)
        bad = raw.ne("").to_numpy() & number.isna().to_numpy()
        form_col, row_col = _provenance_of(frame, col)
        ctx.report(bad, frame, raw, str(col), "number",
                   f"{col} is not a number, so {target} is left blank — correct the entry",
                   "error", form_col, row_col)
        return number
    name = rule["derive"]
    derivation = ctx.derivations.get(name)
    if derivation is None:
        raise SpecError(spec.file, f"derivation {name!r} is not defined (known: "
                        f"{', '.join(sorted(ctx.derivations))})", spec.name, var.name)
    if derivation.phase != "row":
        raise SpecError(spec.file, f"derivation {name!r} works on the whole dataset and "
                        "cannot be used with 'when' or in a rule list", spec.name, var.name)
    return derivation.func(frame, out, dict(rule.get("params") or {}), ctx, spec)


def _provenance_of(frame: pd.DataFrame, col: Any) -> tuple[str, str]:
    """Provenance columns for a column: a merged form's own form and row, if merged."""
    if isinstance(col, str) and "." in col:
        form = col.split(".", 1)[0]
        if f"{form}.{ROW_COL}" in frame.columns:
            return f"{form}.{FORM_COL}", f"{form}.{ROW_COL}"
    return FORM_COL, ROW_COL


def apply_rules(rule: Any, frame: pd.DataFrame, out: pd.DataFrame, var: Variable,
                ctx: Context, spec: DatasetSpec) -> pd.Series:
    """Evaluate a variable's rule (or rule list) on the rows of ``frame``.

    In a list, each row is written by the first rule whose ``when`` holds for it; rows
    that no rule writes are missing.
    """
    check_rule(rule, spec, var.name)
    rules = rule if isinstance(rule, list) else [rule]
    # Made only when rules write part of the rows: most variables are written whole by
    # their first rule, and a blank column of every record (QS: millions) is not free.
    result: pd.Series | None = None
    todo = np.ones(len(frame), dtype=bool)
    # Text of a categorical frame is gathered as codes into one table of values ('' at
    # code 0, for rows no rule writes), not as an object column of every record.
    as_codes = var.type != "Num" and is_categorical_frame(frame)
    codes = np.zeros(len(frame), dtype=np.intp) if as_codes else None
    table: list[Any] = [""]
    for r in rules:
        mask = todo.copy()
        if "when" in r:
            mask &= evaluate_condition(r["when"], frame, ctx, spec, var.name, out)
        if not mask.any():
            continue
        if mask.all():
            # Every row (one rule, or a first rule whose `when` holds everywhere): no
            # subset copy of the frame — copying every raw column once per variable was
            # the mapping's largest cost at scale.
            return _coerce(_apply_rule(r, frame, out, var, ctx, spec), var).set_axis(
                frame.index)
        # Evaluate on the selected rows only, so that findings (CT misses, bad dates)
        # are raised for values that are actually written.
        sub = frame.loc[mask]
        values = _apply_rule(r, sub, out.loc[mask], var, ctx, spec)
        if codes is not None:
            part_codes, part_values = factor(_coerce(values, var))
            codes[mask] = part_codes + len(table)
            table.extend(part_values)
        else:
            if result is None:
                result = blank_like(frame.index, var)
            result.loc[mask] = _coerce(values, var).to_numpy()
        todo &= ~mask
    if codes is not None:
        return categorical(codes, table, frame.index)
    return blank_like(frame.index, var) if result is None else result


def _coerce(values: pd.Series, var: Variable) -> pd.Series:
    if var.type == "Num":
        return _numbers(values)
    if is_categorical(values):
        return keep_categorical(values, _as_text)
    return _as_text(values)


def _as_text(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").astype(object)


# --------------------------------------------------------------------------- blocks


def _merge(frame: pd.DataFrame, merge: Mapping[str, Any], ctx: Context,
           spec: DatasetSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Left-join another form on keys; its columns become ``form.COL``.

    Returns the merged frame and the rows that found no partner (for ``required``).
    """
    form = merge.get("form")
    if form not in ctx.raw:
        raise SpecError(spec.file, f"merge names form {form!r}, which is not a raw form",
                        spec.name)
    on = merge.get("on", ["SUBJID"])
    other = ctx.raw[form].copy(deep=False)  # shared raw text, own provenance columns
    other[FORM_COL] = form
    other[ROW_COL] = np.arange(1, len(other) + 1)
    missing = [k for k in on if k not in other.columns or k not in frame.columns]
    if missing:
        raise SpecError(spec.file, f"merge with {form} on {missing} : no such column",
                        spec.name)
    # A merged form adds attributes to a record; it must not multiply records. Duplicate
    # keys are reported by the raw checks; the first record is used.
    # A frame of our own (a shallow copy, not a slice pandas would warn about setting).
    right = _without(other, other.duplicated(subset=on, keep="first").to_numpy()
                     ).copy(deep=False)
    right.columns = [f"{form}.{c}" for c in right.columns]
    # The join keys are added to the frames in place and to a shallow copy of the left
    # frame: assign, rename and drop would each copy every column of a large form.
    left = frame.copy(deep=False)
    keys = [f"__key{i}" for i in range(len(on))]
    for key, k in zip(keys, on, strict=True):
        left[key], right[key] = _join_codes(frame[k], right[f"{form}.{k}"])
    merged = left.merge(right, on=keys, how="left", sort=False)
    for key in keys:
        del merged[key]
    merged.index = frame.index
    unmatched = merged[f"{form}.{ROW_COL}"].isna().to_numpy()
    return merged, unmatched


def _stripped_ids(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each value's stripped text as an integer (equal text, equal integer) and whether
    that text is blank; stripped once per distinct value (a key repeats its values).

    Examples
    --------
    >>> ids, blank = _stripped_ids(pd.Series(["a", " a", " ", "b"]))
    >>> ids.tolist(), blank.tolist()
    ([0, 0, 1, 2], [False, False, True, False])
    """
    codes, uniques = factor(values)
    stripped = _strip(pd.Series(uniques, dtype=object))
    ids, _ = pd.factorize(stripped, use_na_sentinel=False)
    return ids[codes], stripped.eq("").to_numpy(dtype=bool)[codes]


def _join_codes(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Join keys of two columns as integers, equal where their :func:`text` is equal.

    The text is compared once per distinct value; the join then hashes integers, not a
    text copy of every record.

    Examples
    --------
    >>> a, b = _join_codes(pd.Series(["01", " 02", "01"]), pd.Series(["02", "03"]))
    >>> a.tolist(), b.tolist()
    ([0, 1, 0], [1, 2])
    """
    lcodes, lvalues = factor(left)
    rcodes, rvalues = factor(right)
    distinct = pd.Series(np.concatenate([np.asarray(lvalues, dtype=object),
                                         np.asarray(rvalues, dtype=object)]), dtype=object)
    ids, _ = pd.factorize(_text_all(distinct))
    return ids[:len(lvalues)][lcodes], ids[len(lvalues):][rcodes]


def _melt(frame: pd.DataFrame, melt: Mapping[str, Any], spec: DatasetSpec) -> pd.DataFrame:
    """One row per (record, item): ``columns`` become rows with ``name`` and ``value``."""
    columns = list(melt.get("columns") or [])
    name, value = melt.get("name", "ITEM"), melt.get("value", "RESULT")
    missing = [c for c in columns if c not in frame.columns]
    if not columns or missing:
        raise SpecError(spec.file, f"melt needs 'columns' of the form; not found: {missing}",
                        spec.name)
    n, k = len(frame), len(columns)
    # Record-major order: all items of the first record, then the next, as collected.
    # The melted frame is k times the form: its text is kept as categoricals (codes of
    # the form's distinct values, factorised once on the n records and repeated), not as
    # k copies of every pointer, and the variables built from it stay categorical.
    rows = np.repeat(np.arange(n), k)
    index = pd.RangeIndex(n * k)
    melted: dict[str, pd.Series] = {}
    for c in frame.columns:
        if c in columns:
            continue
        col = frame[c]
        if col.dtype == object or is_categorical(col):
            # Coded on the n records, then repeated: the k-fold take is of the narrow
            # category codes, not of intp codes recoded afterwards.
            coded = categorical(*factor(col), frame.index).array
            melted[c] = pd.Series(coded.take(rows), index=index)
        else:
            melted[c] = pd.Series(col.to_numpy()[rows], index=index)
    melted[name] = categorical(np.tile(np.arange(k), n), columns, index)
    melted[value] = _interleaved([frame[c] for c in columns], index)
    base = pd.DataFrame(melted, index=index, copy=False)  # the columns are new already
    del melted
    if melt.get("drop_blank"):
        base = _renumbered(base[_ctext(base[value]).ne("").to_numpy()], copy=False)
    return base


def _interleaved(columns: list[pd.Series], index: pd.Index) -> pd.Series:
    """The cells of ``columns`` record by record (the first record's, then the next
    one's) as a categorical on ``index``.

    Built from each column's factor codes, so that no object array of every cell is
    made and hashed; the categories are the distinct values in order of first
    appearance, as factorising the interleaved cells would give them.

    Examples
    --------
    >>> a, b = pd.Series(["x", "y"]), pd.Series(["y", "z"])
    >>> _interleaved([a, b], pd.RangeIndex(4)).tolist()
    ['x', 'y', 'y', 'z']
    """
    factors = [factor(c) for c in columns]
    offsets = np.cumsum([0] + [len(uniques) for _, uniques in factors[:-1]])
    # One code per distinct value over all columns (a value may be in several).
    same, distinct = pd.factorize(pd.Series(np.concatenate(
        [np.asarray(uniques, dtype=object) for _, uniques in factors]), dtype=object),
        use_na_sentinel=False)
    cells = np.stack([same[offset + codes] for (codes, _), offset
                      in zip(factors, offsets, strict=True)], axis=1).reshape(-1)
    # Integer codes in order of first appearance: a hash of integers, not of text.
    codes, first = pd.factorize(cells)
    return categorical(codes, np.asarray(distinct, dtype=object)[first], index)


def source_frame(block: Mapping[str, Any], ctx: Context, spec: DatasetSpec) -> pd.DataFrame:
    """The raw rows a source block makes records from (merged, filtered, melted)."""
    unknown = set(block) - BLOCK_KEYS
    if unknown:
        raise SpecError(spec.file, f"source block {block.get('id', '?')!r} has unknown "
                        f"key(s) {', '.join(sorted(unknown))}", spec.name)
    form = block.get("form")
    if form not in ctx.raw:
        raise SpecError(spec.file, f"source block names form {form!r}, which is not a raw "
                        "form", spec.name)
    # A shallow copy: the provenance columns are added to it, the raw text is shared.
    frame = ctx.raw[form].copy(deep=False)
    frame[FORM_COL] = form
    frame[ROW_COL] = np.arange(1, len(frame) + 1)
    keys = [k for k in ctx.keys.get(form, ()) if k in frame.columns]
    if keys:
        # Two records with one key would become two SDTM records SDTM cannot tell apart
        # (two DM records for one subject); the raw checks report the duplicate as an
        # error, and the first record, as entered first, is the one mapped.
        parts = [_stripped_ids(frame[k]) for k in keys]
        ids = pd.DataFrame({k: i for k, (i, _) in zip(keys, parts, strict=True)})
        # A record with a blank key part is no duplicate (the raw checks report the blank).
        dup = (ids.duplicated(keep="first").to_numpy()
               & ~np.logical_or.reduce([blank for _, blank in parts]))
        ctx.reject(frame, dup, f"duplicate {'/'.join(keys)}: an earlier {form} record has "
                   "the same key (raw finding duplicate_key); the first record is mapped")
        frame = _without(frame, dup)
    merges = list(spec.derivation.get("merge", [])) + list(block.get("merge", []))
    for m in merges:
        frame, unmatched = _merge(frame, m, ctx, spec)
        if m.get("required"):
            reason = m.get("reason") or f"no {m['form']} record for this subject"
            ctx.reject(frame, unmatched, reason)
            frame = _without(frame, unmatched)
    if "when" in block:
        keep = evaluate_condition(block["when"], frame, ctx, spec)
        reason = block.get("unmapped") or f"not selected by source block {block.get('id')}"
        ctx.reject(frame, ~keep, reason)
        frame = _without(frame, ~keep)
    if "melt" in block:
        frame = _melt(frame, block["melt"], spec)
    return _renumbered(frame, copy=False)  # a frame of this function's own


def _without(frame: pd.DataFrame, drop: np.ndarray) -> pd.DataFrame:
    """``frame`` without the ``drop`` rows; the frame itself when none are dropped (a
    boolean selection copies every column, usually to drop nothing)."""
    return frame[~drop] if drop.any() else frame


def map_block(block: Mapping[str, Any], ctx: Context, spec: DatasetSpec) -> pd.DataFrame:
    """Records of one source block: every spec variable (row-phase rules) + provenance."""
    frame = source_frame(block, ctx, spec)
    overrides = block.get("set") or {}
    unknown = set(overrides) - set(spec.variable_names)
    if unknown:
        raise SpecError(spec.file, f"source block {block.get('id', '?')!r} sets variables "
                        f"not in the dataset: {', '.join(sorted(unknown))}", spec.name)
    out = pd.DataFrame(index=frame.index)
    rules = {}
    for var in spec.variables:
        rule = overrides.get(var.name, var.rule)
        if rule is None:
            raise SpecError(spec.file, f"no rule says where {var.name} comes from in source "
                            f"block {block.get('id', '?')!r}", spec.name, var.name)
        rules[var.name] = rule
    # Spec order is SDTM order (EPOCH before --DTC), not dependency order: evaluate plain
    # rules first, then derivations (which read them), then rules that read this
    # dataset's own variables (written DM.ACTARMCD).
    for var in sorted(spec.variables, key=lambda v: _rule_depth(v.name, rules, spec)):
        rule = rules[var.name]
        if _is_dataset_phase(rule, ctx):
            out[var.name] = blank_like(frame.index, var)
            continue
        out[var.name] = apply_rules(rule, frame, out, var, ctx, spec)
    # The variables in spec order and the provenance, framed without copying the columns
    # (selecting them from ``out`` would copy every one of a QS of millions of records);
    # .array keeps a categorical _FORM as codes (.to_numpy() would materialise it).
    columns = {name: out[name] for name in spec.variable_names}
    columns[FORM_COL] = pd.Series(frame[FORM_COL].array, index=frame.index)
    columns[ROW_COL] = pd.Series(frame[ROW_COL].to_numpy(), index=frame.index)
    del out, frame
    return pd.DataFrame(columns, copy=False)


def _rule_depth(name: str, rules: Mapping[str, Any], spec: DatasetSpec,
                _seen: frozenset[str] = frozenset()) -> int:
    """When a variable's rule runs: after the variables its derivation's parameters name
    (``{derive: study_day, params: {dtc: DMDTC, ref: RFSTDTC}}`` after DMDTC and
    RFSTDTC), else in its :func:`_rule_pass`.

    Examples
    --------
    >>> spec = DatasetSpec("DM", "", "", "", "", (), (), ())
    >>> rules = {"A": {"derive": "x", "params": {"ref": "B"}},
    ...          "B": {"assign": "DM.C"}, "C": {"assign": "C"}}
    >>> [_rule_depth(n, rules, spec) for n in "ABC"]
    [4, 3, 1]
    """
    rule = rules[name]
    depth = _rule_pass(rule, spec)
    for r in rule if isinstance(rule, list) else [rule]:
        params = r.get("params") if isinstance(r, Mapping) else None
        for value in (params or {}).values():
            if isinstance(value, str) and value in rules and value != name \
                    and value not in _seen:
                depth = max(depth, _rule_depth(value, rules, spec, _seen | {name}) + 1)
    return depth


def _rule_pass(rule: Any, spec: DatasetSpec) -> int:
    """1: plain rule; 2: uses a derivation; 3: reads a variable of this dataset."""
    if f"'{spec.name}." in repr(rule):
        return 3
    rules = rule if isinstance(rule, list) else [rule]
    return 2 if any(isinstance(r, Mapping) and "derive" in r for r in rules) else 1


def _is_dataset_phase(rule: Any, ctx: Context) -> bool:
    if isinstance(rule, Mapping) and "derive" in rule:
        d = ctx.derivations.get(rule["derive"])
        return d is not None and d.phase == "dataset"
    return False


def literal_rows(spec: DatasetSpec, ctx: Context) -> pd.DataFrame:
    """Records written out in the spec (``rows:``), e.g. TS, TA, TE.

    A value may be a literal, ``{study: FIELD}`` (from specs/study.yaml) or
    ``{derive: NAME, params: {...}}`` (a derivation returning one value).
    """
    records = []
    for i, row in enumerate(spec.rows, start=1):
        unknown = set(row) - set(spec.variable_names)
        if unknown:
            raise SpecError(spec.file, f"row {i} has variables not in the dataset: "
                            f"{', '.join(sorted(unknown))}", spec.name)
        record = {k: _literal(v, ctx, spec, k) for k, v in row.items()}
        # A variable a row leaves out takes its variable rule when that gives one value
        # for every record: a constant or a value derivation (the study identifier).
        for var in spec.variables:
            rule = var.rule
            if var.name in record or not isinstance(rule, Mapping):
                continue
            if "hardcode" in rule:
                record[var.name] = rule["hardcode"]
            elif "derive" in rule and getattr(ctx.derivations.get(rule["derive"]), "phase",
                                              None) == "value":
                record[var.name] = _literal(rule, ctx, spec, var.name)
        records.append(record)
    frame = pd.DataFrame(records, columns=spec.variable_names)
    for var in spec.variables:
        frame[var.name] = _coerce(frame[var.name], var)
    frame[FORM_COL] = ""
    frame[ROW_COL] = 0
    return frame


def _literal(value: Any, ctx: Context, spec: DatasetSpec, var: str) -> Any:
    if isinstance(value, Mapping):
        if "study" in value:
            key = value["study"]
            study = ctx.study
            found = getattr(study, key, None)
            if found is None:
                found = study.extra.get(key)
            if found is None:
                raise SpecError(spec.file, f"study has no field {key!r}", spec.name, var)
            return found.isoformat() if hasattr(found, "isoformat") else found
        if "derive" in value:
            derivation = ctx.derivations.get(value["derive"])
            if derivation is None or derivation.phase != "value":
                raise SpecError(spec.file, f"{value['derive']!r} is not a value derivation",
                                spec.name, var)
            return derivation.func(dict(value.get("params") or {}), ctx, spec)
        raise SpecError(spec.file, f"cannot read value {dict(value)!r}", spec.name, var)
    return value


def sort_frame(data: pd.DataFrame, keys: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Sort as SAS does: missing (blank or NaN) first, stable for equal keys."""
    if data.empty:
        return _renumbered(data)
    # Each key as the ranks of its sorted distinct values (NaN -1: first), then one
    # stable lexsort: the order sort_values(kind="mergesort", na_position="first") gives,
    # without building a frame of sort keys.
    ranks = []
    for k in keys:
        col = data[k]
        if is_categorical(col) or col.dtype == object:
            # Rank the distinct values as text (in order of appearance, not sorted), then
            # spread the ranks by the codes: no text copy of every record. Blank sorts
            # before any text, as a SAS missing character value does.
            codes, uniques = factor(col)
            text_of = pd.Series(uniques, dtype=object).fillna("").astype(str)
            ranks.append(pd.factorize(text_of, sort=True)[0][codes])
            continue
        ranks.append(pd.factorize(col, sort=True)[0])
    if not ranks:
        return _renumbered(data)
    order = _stable_order(ranks)
    del ranks  # not kept alive beside the sorted copy
    if order is None:
        # Already in order (a dataset sorted when it was built, sorted again by the
        # writer): no copy of every column.
        return _renumbered(data)
    return _renumbered(data.take(order), copy=False)


def _stable_order(ranks: list[np.ndarray]) -> np.ndarray | None:
    """The stable sort order of rows by several rank keys (``-1`` first), or None if the
    rows are in that order already.

    The keys are folded into one int64 (mixed radix: each key's ranks times the number of
    combinations of the keys after it), which is checked for order in one pass and else
    sorted once; a lexsort makes one indirect pass per key. Keys with more combinations
    than an int64 holds are lexsorted.

    Examples
    --------
    >>> _stable_order([np.array([1, 0, 1]), np.array([0, 1, -1])]).tolist()
    [1, 2, 0]
    >>> _stable_order([np.array([0, 0, 1])]) is None
    True
    """
    sizes = [int(r.max()) + 2 if len(r) else 1 for r in ranks]
    if np.prod(np.array(sizes, dtype=float)) < 2.0 ** 62:
        key = np.zeros(len(ranks[0]), dtype=np.int64)
        for r, size in zip(ranks, sizes, strict=True):
            key *= size
            key += r
            key += 1  # in place: no record-length temporary for r + 1
        if (key[1:] >= key[:-1]).all():
            return None
        return np.argsort(key, kind="stable")
    order = np.lexsort(ranks[::-1])
    return None if (order[1:] > order[:-1]).all() else order


def _renumbered(data: pd.DataFrame, copy: bool = True) -> pd.DataFrame:
    """``data.reset_index(drop=True)`` without its deep copy of every column (a QS of
    millions of records copied whole); ``copy`` makes a shallow copy first, so that the
    caller's frame keeps its index."""
    out = data.copy(deep=False) if copy else data
    out.index = pd.RangeIndex(len(out))
    return out


def map_dataset(ctx: Context, spec: DatasetSpec) -> pd.DataFrame:
    """Build a dataset from its spec: source blocks or literal rows, then dataset phase.

    Returns
    -------
    DataFrame
        The spec's variables in spec order, sorted by the spec's sort keys, then the
        provenance columns ``_FORM`` and ``_ROW``.
    """
    for var in spec.variables:
        if var.rule is not None:
            check_rule(var.rule, spec, var.name)
    if spec.rows:
        data = literal_rows(spec, ctx)
    elif spec.sources:
        parts = [map_block(b, ctx, spec) for b in spec.sources]
        # A block that took no record is left out when others did: it adds no rows, and
        # its (text) columns must not weigh in on a column's type, which pandas says
        # it will stop ignoring (a categorical block beside an empty object one).
        parts = [p for p in parts if len(p)] or parts
        # One block (QS) is its own dataset: concat would copy it whole, and the block
        # would stay alive beside the copy while the dataset is sorted.
        data = (parts[0] if len(parts) == 1 else
                pd.concat(parts, ignore_index=True) if parts else pd.DataFrame())
        del parts
    else:
        raise SpecError(spec.file, "a dataset spec needs 'sources' or 'rows'", spec.name)
    return finish_dataset(data, spec, ctx)


def finish_dataset(data: pd.DataFrame, spec: DatasetSpec, ctx: Context) -> pd.DataFrame:
    """Sort by the spec's keys, run dataset-phase derivations (--SEQ ...), order columns."""
    for var in spec.variables:
        if var.name not in data.columns:
            data[var.name] = blank_like(data.index, var)
    for col in PROVENANCE:
        if col not in data.columns:
            data[col] = "" if col == FORM_COL else 0
    data = sort_frame(data, spec.sort)
    for var in spec.variables:
        if var.rule is not None and _is_dataset_phase(var.rule, ctx):
            params = dict(var.rule.get("params") or {})
            derivation = ctx.derivations[var.rule["derive"]]
            data[var.name] = _coerce(derivation.func(data, params, ctx, spec), var).to_numpy()
    return data[[*spec.variable_names, *PROVENANCE]]
