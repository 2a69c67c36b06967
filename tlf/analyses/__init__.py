"""Analysis families of the ARD: one module per family, each a pure function of ADaM frames.

Every family returns a list of ARD rows (dicts with the columns of
:data:`ARD_COLUMNS`), built with :func:`rows`. The families are
:mod:`~tlf.analyses.baseline` (populations, follow-up, Table 1, exposure),
:mod:`~tlf.analyses.tte` (Kaplan-Meier and hazard ratios), :mod:`~tlf.analyses.response`
(Table 2) and :mod:`~tlf.analyses.safety` (Table 3).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: The ARD's columns, in order.
ARD_COLUMNS: tuple[str, ...] = (
    "analysis", "output", "group", "variable", "level", "stat", "value", "method",
)
#: Arms in display order; the first is the test arm (treat = 1 in the models).
ARMS: tuple[str, ...] = ("PTC", "TC")
#: The label of a between-arm comparison row.
COMPARISON = "PTC vs TC"
#: Randomisation strata: their 2 x 2 x 2 x 2 combinations are the model strata.
STRATA: tuple[str, ...] = ("STRAT1R", "STRAT2R", "STRAT3R", "STRAT4R")
#: Days per month in every output (DESIGN.md).
DAYS_PER_MONTH = 30.4375

Row = dict[str, object]


def rows(analysis: str, output: str, group: str, variable: str, level: str,
         stats: Mapping[str, float], method: str) -> list[Row]:
    """One ARD row per statistic of ``stats``, all sharing the other columns.

    Parameters
    ----------
    analysis, output, group, variable, level : str
        The row's identifying columns.
    stats : mapping of str to float
        Statistic name to full-precision value (NaN: not estimable).
    method : str
        The method, named as SAS would.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> rows("exposure", "Text", "PTC", "CYCLES", "", {"median": 7.0}, "PCTLDEF=5")[0]["value"]
    7.0
    """
    return [{"analysis": analysis, "output": output, "group": group, "variable": variable,
             "level": level, "stat": stat, "value": float(value), "method": method}
            for stat, value in stats.items()]


def by_arm(frame: pd.DataFrame, column: str = "TRT01P") -> dict[str, pd.DataFrame]:
    """The records of each arm of :data:`ARMS` (an empty frame for an arm without any)."""
    return {arm: frame[frame[column] == arm] for arm in ARMS}


def is_yes(frame: pd.DataFrame, flag: str) -> pd.Series:
    """Boolean mask of ``flag == 'Y'``; a flag the frame lacks is never Y."""
    if flag not in frame:
        return pd.Series(False, index=frame.index)
    # A flag column repeats a few values: strip each distinct one once, not every
    # record. A missing value (code -1) is never Y.
    codes, values = pd.factorize(frame[flag])
    yes = np.array([str(v).strip() == "Y" for v in values] + [False])
    return pd.Series(yes[codes], index=frame.index, name=flag)


def count_rows(analysis: str, output: str, population: pd.DataFrame, hit: pd.Series,
               variable: str, level: str = "", *, fisher: bool = False) -> list[Row]:
    """Subjects with ``hit`` per arm: n, N (the arm's population) and pct (0-100).

    Parameters
    ----------
    analysis, output, variable, level : str
        The rows' identifying columns.
    population : pandas.DataFrame
        One record per subject of the analysis population, with ``TRT01P``.
    hit : pandas.Series of bool
        Aligned with ``population``: whether the subject is counted.
    fisher : bool, default False
        Add a 'PTC vs TC' row with the two-sided Fisher exact p-value.

    Returns
    -------
    list of dict
    """
    from trialflow.stats import fisher_exact_2s

    counts = (hit.astype(bool).groupby(population["TRT01P"]).agg(["sum", "size"])
              .reindex(list(ARMS), fill_value=0))
    out: list[Row] = []
    for arm, (n, big_n) in counts.iterrows():
        pct = 100.0 * n / big_n if big_n else float("nan")
        out += rows(analysis, output, str(arm), variable, level,
                    {"n": n, "N": big_n, "pct": pct}, "Count (% of N)")
    (x1, n1), (x2, n2) = counts.loc[ARMS[0]], counts.loc[ARMS[1]]
    if fisher and n1 and n2:  # the test needs subjects in both arms
        out += rows(analysis, output, COMPARISON, variable, level,
                    {"p_2s": fisher_exact_2s(int(x1), int(n1), int(x2), int(n2))},
                    "Fisher exact two-sided")
    return out
