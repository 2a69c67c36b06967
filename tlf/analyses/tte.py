"""Time-to-event analyses from ADTTE: Kaplan-Meier per arm, Cox and log-rank between arms.

Every analysis gets both an unstratified and a stratified comparison (strata: the 16
combinations of STRAT1R-STRAT4R); which one a publication reports is the reproduction
report's business, not the ARD's. Times are shown in months (days / 30.4375); the hazard
ratio does not depend on the unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tlf.analyses import ARMS, COMPARISON, DAYS_PER_MONTH, STRATA, Row, is_yes, rows
from trialflow.stats import fit_cox, fit_km, logrank_test

_KM = "KM, Brookmeyer-Crowley log-log CI"
_COX = "Cox PH, Breslow ties"

#: analysis -> (output, PARAMCD, population flags that must all be Y).
TTE_ANALYSES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pfs_itt": ("Figure PFS (ITT)", "PFS", ("ITTFL",)),
    "pfs_tdm1_latest": ("Figure PFS (T-DM1 latest)", "PFS", ("ITTFL", "TDM1LFL")),
    "os_itt": ("Figure OS (ITT)", "OS", ("ITTFL",)),
    "table2_response": ("Table 2", "DOR", ("ITTFL", "MEASFL")),
    "ttd_bt_oi": ("Figure TTD B-TOI", "TTDBTOI", ("ITTFL", "QOLFL")),
}


def km_rows(analysis: str, output: str, data: pd.DataFrame, variable: str) -> list[Row]:
    """Per arm: n, events, pct (of n), median with its CI, and quartiles, in months.

    Parameters
    ----------
    analysis, output, variable : str
        The rows' identifying columns (``variable`` is the PARAMCD).
    data : pandas.DataFrame
        ADTTE records of one parameter and population (AVAL in days, CNSR, TRT01P).

    Returns
    -------
    list of dict
    """
    out: list[Row] = []
    for arm in ARMS:
        sub = data[data["TRT01P"] == arm]
        if sub.empty:
            continue
        km = fit_km(sub["AVAL"] / DAYS_PER_MONTH, (sub["CNSR"] == 0).astype(int))
        out += rows(analysis, output, arm, variable, "",
                    {"n": km.n, "events": km.events, "pct": 100.0 * km.events / km.n},
                    "Count (% of n)")
        out += rows(analysis, output, arm, variable, "",
                    {"median": km.median, "median_lcl": km.median_lcl,
                     "median_ucl": km.median_ucl, "q1": km.q1, "q3": km.q3}, _KM)
    return out


def comparison_rows(analysis: str, output: str, data: pd.DataFrame) -> list[Row]:
    """PTC vs TC: Cox hazard ratio and log-rank p, unstratified and stratified.

    The hazard ratio comes with its two-sided 95 % limits and its one-sided 95 % upper
    limit; the log-rank test with its two-sided p and the one-sided p for PTC better.
    """
    treat = (data["TRT01P"] == ARMS[0]).astype(int).to_numpy()
    event = (data["CNSR"] == 0).astype(int).to_numpy()
    time = data["AVAL"].to_numpy(dtype=float)
    out: list[Row] = []
    for variable, strata in (("unstratified", None),
                             ("stratified", data[list(STRATA)].reset_index(drop=True))):
        cox = fit_cox(time, event, treat, strata=strata)
        lr = logrank_test(time, event, treat, strata=strata)
        by = "" if strata is None else ", stratified by STRAT1R-STRAT4R"
        out += rows(analysis, output, COMPARISON, variable, "",
                    {"hr": cox.hr, "hr_lcl": cox.hr_lcl, "hr_ucl": cox.hr_ucl,
                     "hr_upper_1s": cox.hr_upper_1s}, _COX + by)
        out += rows(analysis, output, COMPARISON, variable, "",
                    {"p_1s": lr.p_1s, "p_2s": lr.p_2s},
                    "Log-rank" if strata is None else "Stratified log-rank")
    return out


def select(adtte: pd.DataFrame, paramcd: str, flags: tuple[str, ...]) -> pd.DataFrame:
    """The ADTTE records of ``paramcd`` whose subjects have every flag of ``flags`` = Y."""
    keep = adtte["PARAMCD"] == paramcd
    for flag in flags:
        keep &= is_yes(adtte, flag)
    return adtte[keep]


def pfs_clinical_progression(data: pd.DataFrame) -> list[Row]:
    """PFS events that were clinical progression: n per arm and pct of the arm's events."""
    event = data["CNSR"] == 0
    clinical = event & data["EVNTDESC"].eq("Clinical progression")
    counts = (pd.DataFrame({"events": event, "clinical": clinical})
              .groupby(data["TRT01P"]).sum().reindex(list(ARMS), fill_value=0))
    out: list[Row] = []
    for arm, (events, n) in counts.iterrows():
        pct = 100.0 * n / events if events else np.nan
        out += rows("pfs_itt", TTE_ANALYSES["pfs_itt"][0], str(arm), "PFS",
                    "Clinical progression", {"n": n, "pct": pct}, "Count (% of events)")
    return out


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """Every time-to-event analysis of :data:`TTE_ANALYSES`."""
    adtte = adam["ADTTE"]
    out: list[Row] = []
    for analysis, (output, paramcd, flags) in TTE_ANALYSES.items():
        data = select(adtte, paramcd, flags)
        if data.empty:
            continue
        out += km_rows(analysis, output, data, paramcd)
        if data["TRT01P"].nunique() == len(ARMS) and (data["CNSR"] == 0).any():
            out += comparison_rows(analysis, output, data)
        if analysis == "pfs_itt":
            out += pfs_clinical_progression(data)
    return out
