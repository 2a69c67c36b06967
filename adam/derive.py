"""Generic ADaM derivations, one per function, in admiral's vocabulary.

Every function takes the dataset first, then (where it applies) the dataset to add
from, the by-variables, the order, the new variable(s) and the filter, and returns a
new frame with the records **in the order they came in**: no function sorts the
dataset it is given (an ``order`` only decides which record of a group is taken).

The new frame shares the columns it does not change with the dataset it was given (a
shallow copy: at 100 times the study, ADQS has 1.4 million records and a full copy per
derivation was most of its time and memory). The derivations of the ``adam`` package
therefore add or replace whole columns (``out[var] = values``) and never write into
one (``out.loc[rows, var] = value`` only on a column they have just made): writing
into a shared column would change the input too.

``order`` is a list of variable names; a leading ``-`` sorts that variable descending
(``["-ATOXGRN", "ASTDT"]``: highest grade first, then earliest). Missing values sort
first, as in SAS. Conditions (``filter_add``, ``filter``) are the structured conditions
of :mod:`adam.conditions`.

Example
-------
>>> import pandas as pd
>>> sl = pd.DataFrame({"USUBJID": ["1", "2"]})
>>> ds = pd.DataFrame({"USUBJID": ["1"], "DSDECOD": ["RANDOMIZED"], "DSSTDTC": ["2020-01-01"]})
>>> derive_vars_merged(sl, ds, ["USUBJID"], new_vars={"RANDDTC": "DSSTDTC"},
...                    filter_add={"DSDECOD": "RANDOMIZED"})["RANDDTC"].tolist()
['2020-01-01', nan]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adam.conditions import condition_variables, select


def _order_keys(order: Sequence[str]) -> tuple[list[str], list[bool]]:
    cols = [o.lstrip("-") for o in order]
    return cols, [not o.startswith("-") for o in order]


def share_columns(data: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The variables ``names`` of ``data`` (each once), as a frame that shares their
    columns and index: ``data[names]`` copies every one (and is what raises when one is
    missing)."""
    names = list(dict.fromkeys(names))
    if not data.columns.is_unique or not set(names) <= set(data.columns):
        return data[names]
    return pd.DataFrame({n: data[n] for n in names}, index=data.index, columns=names,
                        copy=False)


def rows_where(data: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """The records of ``data`` where ``keep`` holds (``data`` itself when all do: a
    boolean selection of every record copies every column)."""
    return data if keep.all() else data[keep]


def _keys(data: pd.DataFrame, by_vars: Sequence[str], order: Sequence[str],
          *more: str) -> pd.DataFrame:
    """Only the variables of ``data`` that sorting by ``by_vars`` and ``order`` needs (and
    ``more``): sorting the whole dataset to find an order copied every column."""
    return share_columns(data, [*by_vars, *_order_keys(order)[0], *more])


def _sorted(data: pd.DataFrame, by_vars: Sequence[str], order: Sequence[str]) -> pd.DataFrame:
    """``data`` ordered by ``by_vars`` then ``order`` (stable, missing first)."""
    cols, ascending = _order_keys(order)
    keys = list(by_vars) + cols
    return data.sort_values(keys, ascending=[True] * len(by_vars) + ascending,
                            kind="mergesort", na_position="first")


def _new_vars(new_vars: Mapping[str, str] | Sequence[str] | None,
              data: pd.DataFrame, by_vars: Sequence[str]) -> dict[str, str]:
    if new_vars is None:
        return {c: c for c in data.columns if c not in by_vars}
    if isinstance(new_vars, Mapping):
        return dict(new_vars)
    return {c: c for c in new_vars}


def run_factorize(values: np.ndarray, use_na_sentinel: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values)``, found from the first value of each run of equal ones: a
    variable of a dataset in key order repeats each value (hashing every text was most
    of the time of a merge)."""
    start = run_starts(values)
    codes, uniques = pd.factorize(values[start], use_na_sentinel=use_na_sentinel)
    return codes[np.cumsum(start) - 1], uniques


def as_categorical(values: pd.Series) -> pd.Series:
    """Text ``values`` as a categorical column (categories in order of appearance,
    missing as missing): what the writer keeps the text of a large dataset as, writing
    each distinct value once and the records as codes, not as one text per record."""
    codes, uniques = run_factorize(values.to_numpy())
    return pd.Series(pd.Categorical.from_codes(codes, pd.Index(uniques, dtype=object),
                                               validate=False),
                     index=values.index, name=values.name)


def _match(dataset: pd.DataFrame, part: pd.DataFrame, by_vars: Sequence[str]
           ) -> np.ndarray | None:
    """For each record of ``dataset``, the position of the record of ``part`` (unique
    by-values) with the same by-values, -1 when there is none; missing matches missing,
    as in ``merge``. None when a by-variable's type differs between the two (merge's
    coercions are then left to merge)."""
    left = np.zeros(len(dataset), dtype=np.int64)
    right = np.zeros(len(part), dtype=np.int64)
    for key in by_vars:
        a, b = dataset[key], part[key]
        if a.dtype != b.dtype or not isinstance(a.dtype, np.dtype):
            return None
        codes, uniques = run_factorize(np.concatenate([a.to_numpy(), b.to_numpy()]),
                                       use_na_sentinel=False)
        # Both sides numbered together, then renumbered: the combined key stays small.
        codes, _ = pd.factorize(np.concatenate([left, right]) * len(uniques) + codes)
        left, right = codes[:len(left)], codes[len(left):]
    return pd.Index(right).get_indexer(left)


def left_join(dataset: pd.DataFrame, part: pd.DataFrame, by_vars: Sequence[str]
               ) -> pd.DataFrame:
    """``dataset`` with the variables of ``part`` (one record per by-group) of its
    by-group, missing where it has none; a variable ``dataset`` already has is replaced
    (and moves to the end). The records and index of ``dataset`` are kept.

    The result of ``dataset.drop(<part's variables>).merge(part, on=by_vars,
    how="left")``, made without copying ``dataset``: the result shares its unchanged
    columns (whole columns are only ever added or replaced, never written into) and
    each new column is one ``take`` of ``part``'s.
    """
    by_vars = list(by_vars)
    new = [c for c in part.columns if c not in by_vars]
    indexer = None
    if all(isinstance(part[c].dtype, np.dtype) for c in new):
        indexer = _match(dataset, part, by_vars)
    if indexer is None:
        out = dataset.drop(columns=[c for c in new if c in dataset.columns]).merge(
            part, on=by_vars, how="left", validate="m:1")
        out.index = dataset.index
        return out
    out = dataset.copy(deep=False)
    for c in new:
        if c in out.columns:
            del out[c]
    for c in new:
        out[c] = pd.api.extensions.take(part[c].to_numpy(), indexer, allow_fill=True)
    return out


def run_starts(*columns: np.ndarray) -> np.ndarray:
    """Whether each record starts a run of records equal in every column: the first
    record and each one that differs from the record just before it in some column (NaN
    never equals, so such a record starts a run of its own).

    Records in key order repeat most values (QS repeats the subject and date on every
    item): the run starts are all a group's extreme or distinct values depend on.
    """
    start = np.zeros(len(columns[0]), dtype=bool)
    start[:1] = True
    for values in columns:
        start[1:] |= values[1:] != values[:-1]
    return start


def derive_vars_merged(dataset: pd.DataFrame, dataset_add: pd.DataFrame,
                       by_vars: Sequence[str], order: Sequence[str] | None = None,
                       new_vars: Mapping[str, str] | Sequence[str] | None = None,
                       filter_add: dict[str, Any] | None = None, mode: str = "first",
                       exist_flag: str | None = None) -> pd.DataFrame:
    """Add variables of one record of ``dataset_add`` per by-group.

    ``new_vars`` maps new names to ``dataset_add`` variables (a list keeps the names).
    With ``order``, the ``mode`` (``first``/``last``) record of each group is taken;
    without it the filtered records must be unique per group (else ``ValueError``).
    ``exist_flag`` names a Y/N variable saying whether a record was found.
    """
    keep = select(dataset_add, filter_add)
    names = _new_vars(new_vars, dataset_add, by_vars)
    # Only the variables used, of the records meeting the filter.
    add = rows_where(_keys(dataset_add, by_vars, order or [], *names.values()), keep)
    if order:
        add = _sorted(add, by_vars, order)
        add = add.drop_duplicates(list(by_vars), keep="first" if mode == "first" else "last")
    elif add.duplicated(list(by_vars)).any():
        dup = add[add.duplicated(list(by_vars), keep=False)][list(by_vars)].iloc[0].tolist()
        raise ValueError(f"more than one record per {', '.join(by_vars)} to merge "
                         f"(e.g. {dup}); give an order")
    part = add[list(by_vars) + list(names.values())].copy()
    part.columns = list(by_vars) + list(names)
    if exist_flag:
        part[exist_flag] = "Y"
    out = left_join(dataset, part, by_vars)
    if exist_flag:
        out[exist_flag] = out[exist_flag].fillna("N")
    return out


def derive_var_merged_exist_flag(dataset: pd.DataFrame, dataset_add: pd.DataFrame,
                                 by_vars: Sequence[str], new_var: str,
                                 condition: dict[str, Any] | None = None,
                                 filter_add: dict[str, Any] | None = None,
                                 true_value: str = "Y", false_value: str = "N"
                                 ) -> pd.DataFrame:
    """``new_var`` = ``true_value`` if ``dataset_add`` has a record of the group (after
    ``filter_add``) meeting ``condition``, else ``false_value``."""
    # Only the by-variables and those the condition tests, of the records meeting the
    # filter.
    tested = [v for v in condition_variables(condition) if v in dataset_add.columns]
    add = rows_where(share_columns(dataset_add, [*by_vars, *tested]),
                     select(dataset_add, filter_add))
    hit = rows_where(share_columns(add, by_vars), select(add, condition)).drop_duplicates()
    hit = hit.assign(_hit=True)
    if "_hit" in dataset.columns:
        out = dataset.merge(hit, on=list(by_vars), how="left")
        out.index = dataset.index
    else:
        out = left_join(dataset, hit, by_vars)
    out[new_var] = np.where(out["_hit"].eq(True), true_value, false_value)
    del out["_hit"]  # not drop(): that copies every column
    return out


def derive_var_extreme_flag(dataset: pd.DataFrame, by_vars: Sequence[str],
                            order: Sequence[str], new_var: str, mode: str = "first",
                            filter: dict[str, Any] | None = None,  # noqa: A002 (admiral)
                            true_value: str = "Y", false_value: str = "") -> pd.DataFrame:
    """Flag the first (or last) record of each by-group in ``order`` among the records
    meeting ``filter``; the others get ``false_value``."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    keep = select(out, filter)
    cand = rows_where(_keys(out, by_vars, order), keep)
    if len(cand):
        ordered = _sorted(cand, by_vars, order)
        pick = ordered.drop_duplicates(list(by_vars),
                                       keep="first" if mode == "first" else "last").index
    else:
        pick = cand.index
    out[new_var] = false_value
    out.loc[pick, new_var] = true_value
    return out


def derive_var_obs_number(dataset: pd.DataFrame, by_vars: Sequence[str],
                          order: Sequence[str], new_var: str = "ASEQ") -> pd.DataFrame:
    """Number the records 1, 2, ... within each by-group in ``order`` (``ASEQ``)."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    ordered = _sorted(_keys(out, by_vars, order), by_vars, order)
    number = ordered.groupby(list(by_vars), sort=False).cumcount() + 1
    out[new_var] = number.reindex(out.index).astype("float64")
    return out


def keep_spec_vars(dataset: pd.DataFrame, spec: Any) -> pd.DataFrame:
    """The dataset's variables that ``spec`` (a DatasetSpec) declares, in spec order, its
    records numbered 0, 1, ...; work variables are dropped (a declared variable the
    dataset lacks is left for the writer to report).

    The new frame shares the dataset's columns: selecting them (or ``reset_index``)
    stacked them into blocks, a copy of every column (ADQS has 1.4 million records at
    100 times the study), which the writer, reading column by column, does not need.
    """
    out = share_columns(dataset, [v for v in spec.variable_names if v in dataset.columns])
    out.index = pd.RangeIndex(len(out))
    return out
