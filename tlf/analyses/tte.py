"""Time-to-event analyses from ADTTE: Kaplan-Meier per arm, Cox and log-rank between arms.

Every analysis gets both an unstratified and a stratified comparison (strata: the 16
combinations of STRAT1R-STRAT4R); which one a publication reports is the reproduction
report's business, not the ARD's. Times are shown in months (days / 30.4375); the hazard
ratio does not depend on the unit.

Besides the Kaplan-Meier medians, every analysis carries what a time-to-event summary
table prints: the quartiles with their Brookmeyer-Crowley limits, the event-free rates
at :data:`RATE_MONTHS` with pointwise log-log limits, censored subjects, and events and
censorings by type (ADTTE ``EVNTDESC`` and ``CNSDTDSC``). The ``*_fas`` analyses repeat
the ITT ones in the full analysis set (FASFL = Y), the publication's sensitivity analysis.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tlf.analyses import ARMS, COMPARISON, DAYS_PER_MONTH, STRATA, Row, is_yes, rows
from trialflow.findings import Finding
from trialflow.stats import complete_strata, fit_cox, fit_km, logrank_test

_KM = "KM, Brookmeyer-Crowley log-log CI"
_COX = "Cox PH, Breslow ties"
_RATE = "KM, log-log CI (Greenwood)"
_BY_TYPE = "Count (% of n)"

#: Months at which the Kaplan-Meier event-free rate is reported.
RATE_MONTHS: tuple[int, ...] = (6, 12)

#: analysis -> (output, PARAMCD, population flags that must all be Y).
TTE_ANALYSES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pfs_itt": ("Figure PFS (ITT)", "PFS", ("ITTFL",)),
    "pfs_tdm1_latest": ("Figure PFS (T-DM1 latest)", "PFS", ("ITTFL", "TDM1LFL")),
    "os_itt": ("Figure OS (ITT)", "OS", ("ITTFL",)),
    "table2_response": ("Table 2", "DOR", ("ITTFL", "MEASFL")),
    "ttd_bt_oi": ("Figure TTD B-TOI", "TTDBTOI", ("ITTFL", "QOLFL")),
    # Sensitivity analyses: the same end-points in the full analysis set.
    "pfs_fas": ("Table 14.2.7", "PFS", ("FASFL",)),
    "pfs_tdm1_latest_fas": ("Table 14.2.8", "PFS", ("FASFL", "TDM1LFL")),
    "os_fas": ("Table 14.2.9", "OS", ("FASFL",)),
    "dor_fas": ("Table 14.2.11", "DOR", ("FASFL", "MEASFL")),
}


def survival_at(table: pd.DataFrame, times: np.ndarray) -> tuple[np.ndarray, ...]:
    """Kaplan-Meier survival and its pointwise log-log limits at ``times``.

    The curve is a right-continuous step function: at ``t`` it takes the estimate of the
    last observed time at or before ``t`` (1, with limits 1, before the first one), as
    PROC LIFETEST's TIMELIST= does. Beyond the last observed time the estimate stays 0
    when the curve has reached 0 (the last observation was an event: everyone had had
    it), as SAS prints it, with missing limits (log-log limits do not exist at 0);
    otherwise (the last observation censored) nothing is known there and it is NaN.

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`trialflow.stats.KMResult.table` (``time, survival, lcl, ucl``).
    times : numpy.ndarray of float
        Where to read the curve, in the unit of ``table["time"]``.

    Returns
    -------
    tuple of numpy.ndarray
        Survival, lower and upper limit, each aligned with ``times``.

    Examples
    --------
    >>> tab = fit_km([1, 2, 3, 4], [1, 1, 1, 0]).table
    >>> survival_at(tab, np.array([0.5, 2.0, 2.5, 9.0]))[0].round(6).tolist()
    [1.0, 0.5, 0.5, nan]
    >>> tab = fit_km([1, 2, 3, 4], [1, 1, 1, 1]).table
    >>> survival_at(tab, np.array([3.5, 9.0]))[0].round(6).tolist()
    [0.25, 0.0]
    """
    times = np.asarray(times, dtype=float)
    observed = table["time"].to_numpy(dtype=float)
    pos = np.searchsorted(observed, times, side="right")  # rows at or before t, +1
    beyond = times > (observed[-1] if observed.size else -np.inf)
    reached_zero = bool(observed.size) and float(table["survival"].iloc[-1]) == 0.0
    out = []
    for column in ("survival", "lcl", "ucl"):
        curve = np.r_[1.0, table[column].to_numpy(dtype=float)]
        if reached_zero:
            # The estimate stays at 0 for ever; limits as at the last time (missing).
            out.append(curve[pos])
        else:
            out.append(np.where(beyond, np.nan, curve[pos]))
    return tuple(out)


def km_rows(analysis: str, output: str, data: pd.DataFrame, variable: str) -> list[Row]:
    """Per arm: n, events, pct (of n), median with its CI, and quartiles, in months.

    Also per arm: the quartiles' Brookmeyer-Crowley limits (``q1_lcl`` ... ``q3_ucl``),
    the censored subjects (``censored``, ``censored_pct`` of n) and the event-free rate in
    percent at each of :data:`RATE_MONTHS` (``rate_6m``, ``rate_6m_lcl``,
    ``rate_6m_ucl``, ...).

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
        out += rows(analysis, output, arm, variable, "",
                    {"q1_lcl": km.q1_lcl, "q1_ucl": km.q1_ucl, "q3_lcl": km.q3_lcl,
                     "q3_ucl": km.q3_ucl}, _KM)
        censored = km.n - km.events
        out += rows(analysis, output, arm, variable, "",
                    {"censored": censored, "censored_pct": 100.0 * censored / km.n},
                    "Count (% of n)")
        surv, lcl, ucl = survival_at(km.table, np.array(RATE_MONTHS, dtype=float))
        rates: dict[str, float] = {}
        for i, month in enumerate(RATE_MONTHS):
            rates |= {f"rate_{month}m": 100.0 * surv[i], f"rate_{month}m_lcl": 100.0 * lcl[i],
                      f"rate_{month}m_ucl": 100.0 * ucl[i]}
        out += rows(analysis, output, arm, variable, "", rates, _RATE)
    return out


def by_type_rows(analysis: str, output: str, data: pd.DataFrame) -> list[Row]:
    """Events by ``EVNTDESC`` and censorings by ``CNSDTDSC``: n and pct (of n) per arm.

    ``variable`` is the ADTTE variable and ``level`` its text. Every type met in either
    arm gets a row for both arms (0 where the arm has none), in descending order of its
    frequency over both arms, then alphabetically.

    Parameters
    ----------
    analysis, output : str
        The rows' identifying columns.
    data : pandas.DataFrame
        ADTTE records of one parameter and population (CNSR, TRT01P and the
        description variables; a missing one gives no rows).

    Returns
    -------
    list of dict
    """
    n = data["TRT01P"].value_counts().reindex(list(ARMS), fill_value=0)
    out: list[Row] = []
    for variable, chosen in (("EVNTDESC", data["CNSR"] == 0), ("CNSDTDSC", data["CNSR"] > 0)):
        if variable not in data:
            continue
        sub = data[chosen]
        text = sub[variable].fillna("").astype(str).str.strip()
        counts = pd.crosstab(text, sub["TRT01P"]).reindex(columns=list(ARMS), fill_value=0)
        counts = counts[counts.index != ""]
        order = counts.assign(_total=counts.sum(axis=1)).reset_index(names="_level")
        order = order.sort_values(["_total", "_level"], ascending=[False, True])
        for level in order["_level"]:
            for arm in ARMS:
                k, big_n = int(counts.at[level, arm]), int(n[arm])
                out += rows(analysis, output, arm, variable, level,
                            {"n": k, "pct": 100.0 * k / big_n if big_n else np.nan},
                            _BY_TYPE)
    return out


def comparison_rows(analysis: str, output: str, data: pd.DataFrame) -> list[Row]:
    """PTC vs TC: Cox hazard ratio and log-rank p, unstratified and stratified.

    The hazard ratio comes with its two-sided 95 % limits and its one-sided 95 % upper
    limit; the log-rank test with its two-sided p and the one-sided p for PTC better.

    A record with a missing (blank) stratification value is left out of the stratified
    model and test, as SAS leaves it out; when there are such records, a row
    ``stat = n_missing_strata`` says how many (see :func:`missing_strata_findings`).
    """
    treat = (data["TRT01P"] == ARMS[0]).astype(int).to_numpy()
    event = (data["CNSR"] == 0).astype(int).to_numpy()
    time = data["AVAL"].to_numpy(dtype=float)
    out: list[Row] = []
    nan = float("nan")
    for variable, strata in (("unstratified", None),
                             ("stratified", data[list(STRATA)].reset_index(drop=True))):
        # A small or one-sided analysis set (no events, one arm, strata without both
        # arms) has no estimate: its rows are kept, with NaN, and print as NE.
        hr = dict.fromkeys(("hr", "hr_lcl", "hr_ucl", "hr_upper_1s"), nan)
        p = dict.fromkeys(("p_1s", "p_2s"), nan)
        if len(set(treat)) == len(ARMS) and event.any():
            try:
                cox = fit_cox(time, event, treat, strata=strata)
                hr = {"hr": cox.hr, "hr_lcl": cox.hr_lcl, "hr_ucl": cox.hr_ucl,
                      "hr_upper_1s": cox.hr_upper_1s}
            except ValueError:
                pass
            try:
                lr = logrank_test(time, event, treat, strata=strata)
                p = {"p_1s": lr.p_1s, "p_2s": lr.p_2s}
            except ValueError:
                pass
        by = "" if strata is None else ", stratified by STRAT1R-STRAT4R"
        out += rows(analysis, output, COMPARISON, variable, "", hr, _COX + by)
        out += rows(analysis, output, COMPARISON, variable, "", p,
                    "Log-rank" if strata is None else "Stratified log-rank")
        missing = 0 if strata is None else int((~complete_strata(strata, len(strata))[1]).sum())
        if missing:
            out += rows(analysis, output, COMPARISON, variable, "",
                        {N_MISSING_STRATA: missing}, _LEFT_OUT)
    return out


#: The ARD statistic counting records left out of a stratified analysis.
N_MISSING_STRATA = "n_missing_strata"
_LEFT_OUT = ("Count of records with a missing STRAT1R-STRAT4R value, left out of the "
             "stratified Cox model and log-rank test (as SAS)")


def missing_strata_findings(ard: pd.DataFrame) -> list[Finding]:
    """A warning per stratified analysis that left records out for a missing stratum.

    Parameters
    ----------
    ard : pandas.DataFrame
        The analysis results data (as :func:`tlf.ard.build_ard` or ``ard.csv`` gives).

    Returns
    -------
    list of Finding
        Source: the output; variable: the analysis; value: the number of records.
    """
    hits = ard[ard["stat"] == N_MISSING_STRATA]
    return [Finding(str(row.output), None, str(row.analysis), f"{float(row.value):g}",
                    "missing_stratum",
                    f"{float(row.value):g} records of {row.analysis} have a missing "
                    "stratification value (STRAT1R-STRAT4R) and were left out of the "
                    "stratified hazard ratio and log-rank test, as SAS leaves them out — "
                    "complete the strata in the randomisation form", "warning")
            for row in hits.itertuples(index=False)]


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
        out += by_type_rows(analysis, output, data)
        out += comparison_rows(analysis, output, data)
        if analysis == "pfs_itt":
            out += pfs_clinical_progression(data)
    return out
