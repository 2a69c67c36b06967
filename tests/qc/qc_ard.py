"""QC of key analysis results (ARD rows) from the QC ADaM derivations.

Independent of tlf/ and trialflow.stats: counts with pandas, Kaplan-Meier medians by an
own product-limit estimate with SAS's median rule, the stratified Cox model with
statsmodels' PHReg (Breslow ties, as SAS PROC PHREG's default).

Rows produced (keys analysis, group, variable, level, stat: the ARD's analysis_id,
group1_level, variable, variable_level and stat_name):

* populations: randomised, itt, fas, safety, measurable_disease, hrqol,
  tdm1_latest_regimen per arm (n);
* table1_baseline: ECOG 0 (ECOGBL), ER positive (ERSTAT), visceral disease (VISCFL Y),
  measurable disease (MEASFL Y) per arm (n and N, ITT);
* pfs_itt / os_itt: n, events, KM median (months) per arm; for PFS the Cox HR stratified
  by the 16 strata of STRAT1R-STRAT4R with its two-sided 95 % and one-sided 95 % limits;
* table2_response: ORR n (CR + PR), N (known best response) and percent per arm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from qc_common import MONTH
from scipy.stats import norm
from statsmodels.duration.hazard_regression import PHReg

#: Arms in display order; the test arm first (specs/study.yaml: PTC test, TC reference).
ARMS = ["PTC", "TC"]
TEST_ARM = "PTC"
STRATA = ["STRAT1R", "STRAT2R", "STRAT3R", "STRAT4R"]
#: Relative tolerance of the comparison: the Cox estimate is iterative (Newton-Raphson
#: in both programs, stopped at slightly different points); counts and KM medians are
#: exact well within it.
REL_TOL = 1e-6
#: Two survival values closer than this are equal (S = 0.5 exactly on a flat stretch:
#: a product of fractions is not exact in binary).
_S_EPS = 1e-12


def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan-Meier median with SAS's rule (PROC LIFETEST).

    The median is the smallest time where S(t) < 0.5; when S(t) = 0.5 exactly on a flat
    stretch, the midpoint of that stretch's start and the next event time.

    Parameters
    ----------
    time : array of float
        Times (days).
    event : array of bool
        True for an event, False when censored.

    Returns
    -------
    float
        The median, NaN when S never falls below 0.5.
    """
    time = np.asarray(time, dtype="float64")
    event = np.asarray(event, dtype=bool)
    times = np.unique(time[event])
    if times.size == 0:
        return float("nan")
    deaths = np.bincount(np.searchsorted(times, time[event]),
                         minlength=times.size).astype("float64")
    # At risk at t: every subject whose time is t or later (censored at t included).
    at_risk = (time[None, :] >= times[:, None]).sum(axis=1).astype("float64")
    surv = np.cumprod(1.0 - deaths / at_risk)
    half = np.abs(surv - 0.5) <= _S_EPS
    below = (surv < 0.5) & ~half
    if half.any():
        i = int(np.flatnonzero(half)[0])
        # The stretch at 0.5 starts at times[i] and ends at the next event time.
        return float((times[i] + times[i + 1]) / 2) if i + 1 < times.size else float("nan")
    return float(times[np.flatnonzero(below)[0]]) if below.any() else float("nan")


def stratified_cox(data: pd.DataFrame) -> dict[str, float]:
    """HR of PTC vs TC, Cox model stratified by STRAT1R-STRAT4R, Breslow ties.

    Parameters
    ----------
    data : DataFrame
        AVAL (days), CNSR, TRT01P and the four strata of one ADTTE parameter.

    Returns
    -------
    dict
        hr, hr_lcl, hr_ucl (two-sided 95 % Wald) and hr_upper_1s (one-sided 95 %).
    """
    stratum = data[STRATA].astype(str).agg("|".join, axis=1)
    exog = (data["TRT01P"] == TEST_ARM).astype("float64").to_numpy()[:, None]
    model = PHReg(data["AVAL"].to_numpy(dtype="float64"), exog,
                  status=(data["CNSR"] == 0).astype("float64").to_numpy(),
                  strata=stratum.to_numpy(), ties="breslow")
    fit = model.fit()
    beta, se = float(fit.params[0]), float(fit.bse[0])
    z2, z1 = norm.ppf(0.975), norm.ppf(0.95)
    return {"hr": np.exp(beta), "hr_lcl": np.exp(beta - z2 * se),
            "hr_ucl": np.exp(beta + z2 * se), "hr_upper_1s": np.exp(beta + z1 * se)}


def _row(analysis: str, group: str, variable: str, level: str, stat: str,
         value: float) -> dict[str, object]:
    return {"analysis": analysis, "group": group, "variable": variable, "level": level,
            "stat": stat, "value": float(value)}


def derive_ard(adsl: pd.DataFrame, adtte: pd.DataFrame, adrs: pd.DataFrame
               ) -> pd.DataFrame:
    """The QC ARD rows listed in the module docstring.

    Parameters
    ----------
    adsl, adtte, adrs : DataFrame
        QC ADSL (with ECOGBL, ERSTAT, VISCFL), ADTTE and ADRS.

    Returns
    -------
    DataFrame
        analysis, group, variable, level, stat, value.
    """
    rows: list[dict[str, object]] = []
    itt = adsl[adsl["ITTFL"] == "Y"]
    # Populations by randomised arm (TRT01P): adsl.yaml says safety is summarised by
    # TRT01P. The subsets of Table 1 (measurable disease, T-DM1 latest) are counted
    # within ITT, the paper's analysis population; QOLFL already requires ITTFL.
    populations = {
        "randomised": adsl["RANDFL"] == "Y", "itt": adsl["ITTFL"] == "Y",
        "fas": adsl["FASFL"] == "Y", "safety": adsl["SAFFL"] == "Y",
        "measurable_disease": (adsl["ITTFL"] == "Y") & (adsl["MEASFL"] == "Y"),
        "hrqol": adsl["QOLFL"] == "Y",
        "tdm1_latest_regimen": (adsl["ITTFL"] == "Y") & (adsl["TDM1LFL"] == "Y")}
    for name, flag in populations.items():
        counts = adsl[flag].groupby("TRT01P").size().reindex(ARMS, fill_value=0)
        rows += [_row("populations", arm, name, "", "n", counts[arm]) for arm in ARMS]

    # Table 1 (ITT, % of the arm's N).
    big_n = itt.groupby("TRT01P").size().reindex(ARMS, fill_value=0)
    table1 = {("ECOGBL", "0"): itt["ECOGBL"] == 0,
              ("ERSTAT", "POSITIVE"): itt["ERSTAT"] == "POSITIVE",
              ("VISCFL", "Y"): itt["VISCFL"] == "Y",
              ("MEASFL", "Y"): itt["MEASFL"] == "Y"}
    for (variable, level), flag in table1.items():
        counts = itt[flag].groupby("TRT01P").size().reindex(ARMS, fill_value=0)
        for arm in ARMS:
            rows += [_row("table1_baseline", arm, variable, level, "n", counts[arm]),
                     _row("table1_baseline", arm, variable, level, "N", big_n[arm])]

    # KM (ITT): n, events, median in months.
    tte = adtte.merge(adsl[["USUBJID", "TRT01P", "ITTFL", *STRATA]], on="USUBJID")
    tte = tte[tte["ITTFL"] == "Y"]
    for analysis, param in (("pfs_itt", "PFS"), ("os_itt", "OS")):
        data = tte[tte["PARAMCD"] == param]
        for arm in ARMS:
            one = data[data["TRT01P"] == arm]
            event = (one["CNSR"] == 0).to_numpy()
            rows += [_row(analysis, arm, param, "", "n", len(one)),
                     _row(analysis, arm, param, "", "events", event.sum()),
                     _row(analysis, arm, param, "", "median",
                          km_median(one["AVAL"].to_numpy(), event) / MONTH)]
    pfs = tte[tte["PARAMCD"] == "PFS"]
    rows += [_row("pfs_itt", "PTC vs TC", "PFS", "stratified", stat, value)
             for stat, value in stratified_cox(pfs).items()]

    # ORR among the measurable ITT patients with a known best response (the paper:
    # 17/87 and 18/87, "unknown" (NE) and "missing" excluded from the denominator).
    bor = adrs[adrs["PARAMCD"] == "BOR"].merge(adsl[["USUBJID", "TRT01P", "ITTFL",
                                                      "MEASFL"]], on="USUBJID")
    bor = bor[(bor["ITTFL"] == "Y") & (bor["MEASFL"] == "Y")]
    known = bor[~bor["AVALC"].isin(["NE", "MISSING"])]
    resp = known["AVALC"].isin(["CR", "PR"]).groupby(known["TRT01P"]).sum()
    denom = known.groupby("TRT01P").size()
    for arm in ARMS:
        n, big = float(resp.get(arm, 0)), float(denom.get(arm, 0))
        rows += [_row("table2_response", arm, "ORR", "", "n", n),
                 _row("table2_response", arm, "ORR", "", "N", big),
                 _row("table2_response", arm, "ORR", "", "pct", 100 * n / big)]
    return pd.DataFrame(rows)


#: ARD key columns.
KEYS = ["analysis", "group", "variable", "level", "stat"]


def production_rows(ard: pd.DataFrame, qc: pd.DataFrame) -> pd.DataFrame:
    """The production ARD rows (read as text from ard.csv) with the keys of the QC rows
    (value as float); rows of a subgroup (group2) are not QC'd here.

    A QC row without a production row then shows as "only in compare".
    """
    ard = ard[ard["group2"] == ""].rename(columns={
        "analysis_id": "analysis", "group1_level": "group", "variable_level": "level",
        "stat_name": "stat", "stat": "value"})
    prod = ard.merge(qc[KEYS], on=KEYS, how="inner")
    value = pd.to_numeric(prod["value"].replace("", np.nan), errors="coerce")
    return prod[KEYS].assign(value=value.astype("float64"))
