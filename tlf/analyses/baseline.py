"""Subject-level summaries from ADSL: populations, follow-up, Table 1 and exposure.

Populations are the ADSL flags; every efficacy summary is of the ITT population
(ITTFL = Y), safety summaries of SAFFL = Y by the randomised arm TRT01P. Table 1 is
also summarised on the FAS (FASFL = Y), the publication's sensitivity analysis set.
Summaries that a CSR table shows for all subjects carry a ``Total`` group as well.
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
from trialflow.stats import reverse_km_median, sas_quartiles, wilcoxon_rank_sum_p

_PCTLDEF = "PCTLDEF=5"
_MEANS = "PROC MEANS, VARDEF=DF"
_COUNT = "Count (% of N)"
#: Table 1 on each analysis set: analysis id -> (output, ADSL population flag).
TABLE1_ANALYSES: dict[str, tuple[str, str]] = {
    "table1_baseline": ("Table 1", "ITTFL"),
    "table1_baseline_fas": ("Tables S8-S10", "FASFL"),
}
#: Chemotherapy received (ADSL CHEMOA), in the order of the CHEMO codelist.
CHEMO_ORDER: tuple[str, ...] = ("DOCETAXEL", "PACLITAXEL", "NAB-PACLITAXEL", "VINORELBINE",
                                "ERIBULIN", "CAPECITABINE", "GEMCITABINE")


def total_count_rows(analysis: str, output: str, population: pd.DataFrame, hit: pd.Series,
                     variable: str, level: str = "") -> list[Row]:
    """:func:`~tlf.analyses.count_rows` per arm plus the same n, N, pct for ``Total``."""
    n, big_n = int(hit.astype(bool).sum()), len(population)
    total = rows(analysis, output, "Total", variable, level,
                 {"n": n, "N": big_n, "pct": 100.0 * n / big_n if big_n else float("nan")},
                 _COUNT)
    return [*count_rows(analysis, output, population, hit, variable, level), *total]


def descriptive(values: pd.Series) -> tuple[dict[str, float], dict[str, float]]:
    """Percentile statistics (n, median, q1, q3, min, max; PCTLDEF=5) and moments
    (mean, sd with divisor n - 1) of the non-missing ``values``."""
    values = values.dropna()
    q1, med, q3 = sas_quartiles(values.to_numpy(dtype=float))
    return ({"n": values.size, "median": med, "q1": q1, "q3": q3, "min": values.min(),
             "max": values.max()},
            {"mean": values.mean(), "sd": values.std(ddof=1)})


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
    """Median [Q1, Q3] of the OS time in months for every ITT subject, and Wilcoxon p;
    and the reverse Kaplan-Meier median follow-up.

    The publication summarises the observed OS times of all subjects (events and
    censored alike) with SAS's default percentiles, not a reverse Kaplan-Meier; the
    reverse Kaplan-Meier rows (variable ``reverse_km``) are the CSR's addition.
    """
    os_ = adtte[(adtte["PARAMCD"] == "OS") & is_yes(adtte, "ITTFL")]
    months = os_["AVAL"] / DAYS_PER_MONTH
    out: list[Row] = []
    groups = {arm: months[os_["TRT01P"] == arm] for arm in ARMS} | {"Total": months}
    for group, values in groups.items():
        q1, med, q3 = sas_quartiles(values.to_numpy())
        out += rows("follow_up_months", "Text", group, "OS AVAL (months)", "",
                    {"n": values.size, "median": med, "q1": q1, "q3": q3}, _PCTLDEF)
    if not (groups[ARMS[0]].empty or groups[ARMS[1]].empty):  # a comparison needs both
        p = wilcoxon_rank_sum_p(groups[ARMS[0]].to_numpy(), groups[ARMS[1]].to_numpy())
        out += rows("follow_up_months", "Text", COMPARISON, "OS AVAL (months)", "",
                    {"p_2s": p}, "Wilcoxon rank-sum, normal approx. with continuity correction")
    return [*out, *reverse_km_rows(os_)]


def reverse_km_rows(os_: pd.DataFrame) -> list[Row]:
    """Reverse Kaplan-Meier follow-up of the OS records per arm and in total, in months.

    Censoring is the event and death censors (SAS ``TIME aval*cnsr(0)`` instead of
    ``cnsr(1)``): ``n``, ``censored`` (the reversed events), the median with its
    Brookmeyer-Crowley log-log 95 % limits, and the quartiles.
    """
    out: list[Row] = []
    groups = {arm: os_[os_["TRT01P"] == arm] for arm in ARMS} | {"Total": os_}
    for group, sub in groups.items():
        if sub.empty:
            continue  # nothing to estimate from
        km = reverse_km_median(sub["AVAL"] / DAYS_PER_MONTH, (sub["CNSR"] == 0).astype(int))
        out += rows("follow_up_months", "Text", group, "reverse_km", "",
                    {"n": km.n, "censored": km.events, "median": km.median,
                     "median_lcl": km.median_lcl, "median_ucl": km.median_ucl,
                     "q1": km.q1, "q3": km.q3}, "Reverse Kaplan-Meier")
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


def table1(adsl: pd.DataFrame, analysis: str = "table1_baseline") -> list[Row]:
    """Table 1: age median (min, max) and n (%) of each baseline category, per arm and
    in total, on the analysis set of ``analysis`` (:data:`TABLE1_ANALYSES`)."""
    output, flag = TABLE1_ANALYSES[analysis]
    pop = adsl[is_yes(adsl, flag)]
    out: list[Row] = []
    ages = {arm: pop.loc[pop["TRT01P"] == arm, "AGE"] for arm in ARMS} | {"Total": pop["AGE"]}
    for group, age in ages.items():
        pct, _ = descriptive(age)
        out += rows(analysis, output, group, "age_years", "",
                    {k: pct[k] for k in ("n", "median", "min", "max")}, _PCTLDEF)
    for (variable, level), hit in _levels(pop).items():
        out += total_count_rows(analysis, output, pop, hit, variable, level)
    return out


def exposure(adsl: pd.DataFrame) -> list[Row]:
    """Exposure, safety population by TRT01P: cycles of antibody treatment (the
    publication's median (min, max), then mean, SD and quartiles, also in total), the
    treatment duration in days (TRTDURD) and the chemotherapy received (CHEMOA)."""
    saf = adsl[is_yes(adsl, "SAFFL")]
    out: list[Row] = []
    for arm in ARMS:
        cycles = saf.loc[saf["TRT01P"] == arm, "CYCLES"].dropna()
        _, med, _ = sas_quartiles(cycles.to_numpy())
        out += rows("exposure", "Text", arm, "cycles", "",
                    {"n": cycles.size, "median": med, "min": cycles.min(),
                     "max": cycles.max()}, _PCTLDEF)
    # The CSR table's further statistics, after the published rows (kept as they were).
    # TRTDURD and CHEMOA are permissible ADSL variables: no rows when a study lacks them.
    for variable, column in (("cycles", "CYCLES"), ("duration_days", "TRTDURD")):
        if column not in saf:
            continue
        groups = {arm: saf.loc[saf["TRT01P"] == arm, column] for arm in ARMS}
        for group, values in (groups | {"Total": saf[column]}).items():
            pct, moments = descriptive(values)
            if variable == "cycles" and group != "Total":
                pct = {"q1": pct["q1"], "q3": pct["q3"]}  # the rest is above
            out += rows("exposure", "Table S5", group, variable, "", pct, _PCTLDEF)
            out += rows("exposure", "Table S5", group, variable, "", moments, _MEANS)
    if "CHEMOA" not in saf:
        return out
    chemo = saf["CHEMOA"].astype(str).str.strip()
    extra = sorted(set(chemo) - set(CHEMO_ORDER) - {"", "nan"})
    for level in (*CHEMO_ORDER, *extra):
        out += total_count_rows("exposure", "Table S5", saf, chemo == level,
                                "chemotherapy_received", level)
    return out


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """All subject-level summaries (ADSL; follow-up also ADTTE)."""
    adsl = adam["ADSL"]
    return [*populations(adsl), *follow_up(adam["ADTTE"]),
            *(row for analysis in TABLE1_ANALYSES for row in table1(adsl, analysis)),
            *exposure(adsl)]
