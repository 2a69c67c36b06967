"""Subject-level summaries from ADSL: populations, follow-up, Table 1 and exposure.

Populations are the ADSL flags; every efficacy summary is of the ITT population
(ITTFL = Y), safety summaries of SAFFL = Y by the randomised arm TRT01P.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from tlf.analyses import (
    ARMS,
    COMPARISON,
    DAYS_PER_MONTH,
    Row,
    count_rows,
    is_yes,
    rows,
)
from trialflow.stats import sas_quartiles, wilcoxon_rank_sum_p

_PCTLDEF = "PCTLDEF=5"


def populations(adsl: pd.DataFrame) -> list[Row]:
    """Subjects per arm in each analysis population (ADSL flags, by TRT01P).

    The measurable-disease, HR-QoL and T-DM1-latest populations are subsets of the ITT
    population, as in the publication.
    """
    itt = is_yes(adsl, "ITTFL")
    flags = {
        "randomised": is_yes(adsl, "RANDFL"),
        "itt": itt,
        "fas": is_yes(adsl, "FASFL"),
        "safety": is_yes(adsl, "SAFFL"),
        "measurable_disease": itt & is_yes(adsl, "MEASFL"),
        "hrqol": itt & is_yes(adsl, "QOLFL"),
        "tdm1_latest_regimen": itt & is_yes(adsl, "TDM1LFL"),
    }
    out: list[Row] = []
    for name, mask in flags.items():
        n = mask.groupby(adsl["TRT01P"]).sum().reindex(list(ARMS), fill_value=0)
        n["Total"] = mask.sum()
        for arm, value in n.items():
            out += rows("populations", "Text", str(arm), name, "", {"n": value},
                        "Count of ADSL population flag")
    return out


def follow_up(adtte: pd.DataFrame) -> list[Row]:
    """Median [Q1, Q3] of the OS time in months for every ITT subject, and Wilcoxon p.

    The publication summarises the observed OS times of all subjects (events and
    censored alike) with SAS's default percentiles, not a reverse Kaplan-Meier.
    """
    os_ = adtte[(adtte["PARAMCD"] == "OS") & is_yes(adtte, "ITTFL")]
    months = os_["AVAL"] / DAYS_PER_MONTH
    out: list[Row] = []
    groups = {arm: months[os_["TRT01P"] == arm] for arm in ARMS} | {"Total": months}
    for group, values in groups.items():
        q1, med, q3 = sas_quartiles(values.to_numpy())
        out += rows("follow_up_months", "Text", group, "OS AVAL (months)", "",
                    {"n": values.size, "median": med, "q1": q1, "q3": q3}, _PCTLDEF)
    if groups[ARMS[0]].empty or groups[ARMS[1]].empty:
        return out  # no comparison without both arms
    p = wilcoxon_rank_sum_p(groups[ARMS[0]].to_numpy(), groups[ARMS[1]].to_numpy())
    out += rows("follow_up_months", "Text", COMPARISON, "OS AVAL (months)", "", {"p_2s": p},
                "Wilcoxon rank-sum, normal approx. with continuity correction")
    return out


def _levels(adsl: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    """Table 1 categories: (variable, level) -> subjects counted, over the ITT frame."""
    line = adsl["PPERLINE"]
    durc = adsl["PPERDURC"].astype(str).str.strip()
    cats: dict[tuple[str, str], pd.Series] = {
        ("ecog_ps", "0"): adsl["ECOGBL"] == 0,
        ("ecog_ps", "1, 2"): adsl["ECOGBL"].isin([1, 2]),
        ("estrogen_receptor", "positive"): adsl["ERSTAT"] == "POSITIVE",
        ("estrogen_receptor", "negative"): adsl["ERSTAT"] == "NEGATIVE",
        ("visceral_disease", ""): is_yes(adsl, "VISCFL"),
        ("measurable_disease", ""): is_yes(adsl, "MEASFL"),
        ("tdm1_latest_regimen", ""): is_yes(adsl, "TDM1LFL"),
    }
    for level, flag in {"lung": "METLUNFL", "liver": "METLIVFL", "bone": "METBONFL",
                        "brain": "METBRAFL"}.items():
        cats["metastatic_site", level] = is_yes(adsl, flag)
    for k in (2, 3, 4, 5):
        cats["previous_ct_regimens", str(k)] = adsl["NPRREG"] == k
    for level in ("<180", ">=180"):
        cats["prior_pertuzumab_first_line_days", level] = (line == 1) & (durc == level)
    for level in ("<120", ">=120"):
        cats["prior_pertuzumab_second_line_days", level] = (line == 2) & (durc == level)
    for level, flag in {"pertuzumab": "PRPERFL", "trastuzumab": "PRTRAFL",
                        "t_dm1": "PRTDM1FL", "lapatinib": "PRLAPFL",
                        "others": "PROTHFL"}.items():
        cats["prior_anti_her2_for_la_mbc", level] = is_yes(adsl, flag)
    return cats


def table1(adsl: pd.DataFrame) -> list[Row]:
    """Table 1: age median (min, max) and n (%) of each baseline category, ITT."""
    itt = adsl[is_yes(adsl, "ITTFL")]
    out: list[Row] = []
    for arm in ARMS:
        age = itt.loc[itt["TRT01P"] == arm, "AGE"].dropna()
        _, med, _ = sas_quartiles(age.to_numpy())
        out += rows("table1_baseline", "Table 1", arm, "age_years", "",
                    {"n": age.size, "median": med, "min": age.min(), "max": age.max()},
                    _PCTLDEF)
    for (variable, level), hit in _levels(itt).items():
        out += count_rows("table1_baseline", "Table 1", itt, hit, variable, level)
    return out


def exposure(adsl: pd.DataFrame) -> list[Row]:
    """Cycles of antibody treatment, median (min, max), safety population by TRT01P."""
    saf = adsl[is_yes(adsl, "SAFFL")]
    out: list[Row] = []
    for arm in ARMS:
        cycles = saf.loc[saf["TRT01P"] == arm, "CYCLES"].dropna()
        _, med, _ = sas_quartiles(cycles.to_numpy())
        out += rows("exposure", "Text", arm, "cycles", "",
                    {"n": cycles.size, "median": med, "min": cycles.min(),
                     "max": cycles.max()}, _PCTLDEF)
    return out


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """All subject-level summaries (ADSL; follow-up also ADTTE)."""
    adsl = adam["ADSL"]
    return [*populations(adsl), *follow_up(adam["ADTTE"]), *table1(adsl),
            *exposure(adsl)]
