"""ADSL: one record per randomised subject (ADaMIG 1.3), from SDTM.

The spec is ``specs/adam/adsl.yaml``; every variable there names the method below that
derives it. What the methods need to know about the study (which DS record is the
randomisation, which drugs are the antibodies, the cut-offs of the prior pertuzumab
duration, the groupings, the sources of the date last known alive, ...) is declared in
the spec's ``derivation`` block, not here.

Populations (the study's conventions):

* ITTFL: randomised and not withdrawn from data use (SUPPDM DATAUSE = N);
* FASFL: ITT without an eligibility deviation (any IE record);
* SAFFL: ITT and any dose of a study drug (EX dose > 0); safety is summarised by the
  randomised arm TRT01P;
* MEASFL: measurable disease at baseline (FA MEASDIS);
* QOLFL: ITT with a baseline FACT-B B-TOI (cycle 1 day 1, on or before the first dose)
  and a B-TOI at a later questionnaire;
* TDM1LFL: the highest-line LA/MBC regimen before the study contained T-DM1.

Example
-------
>>> spec = resolve(load_dataset_spec(SPECS / "adam" / "adsl.yaml"), load_study())
... # doctest: +SKIP
>>> adsl = build(sdtm_frames, spec)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adam import adqs
from adam.conditions import condition_variables, select
from adam.dates import convert_dtc_to_dt, derive_vars_dt
from adam.derive import (
    derive_var_extreme_dt,
    derive_var_grouping,
    derive_var_merged_exist_flag,
    derive_var_merged_summary,
    derive_vars_merged,
    derive_vars_merged_supp,
    keep_spec_vars,
    rows_where,
    run_starts,
    share_columns,
)
from trialflow.spec import DatasetSpec

BY = ["STUDYID", "USUBJID"]
KEY = ["USUBJID"]
DM_VARS = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC",
           "COUNTRY", "ARM", "ARMCD", "ACTARM", "ACTARMCD", "DTHFL"]


# --------------------------------------------------------------------------- helpers


def _dt(data: pd.DataFrame, dtc: str, new: str) -> pd.DataFrame:
    """``data`` with ``new`` = the complete date of ``dtc`` (sharing the other columns:
    ``assign`` copied every one)."""
    out = data.copy(deep=False)
    out[new] = convert_dtc_to_dt(data[dtc])
    return out


def prior_regimens(cm: pd.DataFrame, suppcm: pd.DataFrame, category: str,
                   qnams: Sequence[str]) -> pd.DataFrame:
    """The prior anti-cancer regimens (CM, CMCAT ``category``) with their supplemental
    qualifiers (``qnams``, from SUPPCM by CMSEQ) as variables; CMLINE as a number."""
    prior = cm[cm["CMCAT"] == category].copy()
    prior["IDVARVAL"] = prior["CMSEQ"].map(lambda v: f"{v:.0f}" if pd.notna(v) else ""
                                           ).astype(object)
    supp = suppcm[suppcm["IDVAR"] == "CMSEQ"]
    prior = derive_vars_merged_supp(prior, supp, ["USUBJID", "IDVARVAL"],
                                    {q: q for q in qnams})
    if "CMLINE" in prior.columns:
        prior["CMLINE"] = pd.to_numeric(prior["CMLINE"], errors="coerce")
    return prior


# --------------------------------------------------------------------------- derivations


def derive_vars_dm(dm: pd.DataFrame, ds: pd.DataFrame, randomisation: dict[str, Any]
                   ) -> pd.DataFrame:
    """One record per randomised subject: the DM variables and RANDDT (the date of the
    DS record meeting ``randomisation``); RANDFL = Y."""
    rand = _dt(ds, "DSSTDTC", "RANDDT")
    adsl = derive_vars_merged(dm[DM_VARS], rand, KEY, order=["RANDDT"],
                              new_vars=["RANDDT"], filter_add=randomisation)
    adsl = adsl[adsl["RANDDT"].notna()].copy()
    adsl["RANDFL"] = "Y"
    return adsl


def derive_vars_trt(dataset: pd.DataFrame, arms: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """TRT01P/TRT01A = the planned/actual arm codes (ARMCD/ACTARMCD), TRT01PN/TRT01AN
    their numbers in the study's arm list."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    number = {a["code"]: float(a["number"]) for a in arms}
    out["TRT01P"] = out["ARMCD"].fillna("")
    out["TRT01A"] = out["ACTARMCD"].fillna("")
    out["TRT01PN"] = out["TRT01P"].map(number)
    out["TRT01AN"] = out["TRT01A"].map(number)
    return out


def derive_vars_trtdt(dataset: pd.DataFrame, ex: pd.DataFrame,
                      dose_given: dict[str, Any]) -> pd.DataFrame:
    """TRTSDT/TRTEDT: the first start and last end of a dose given (EX meeting
    ``dose_given``); TRTDURD = TRTEDT - TRTSDT + 1."""
    e = _dt(_dt(ex, "EXSTDTC", "EXSTDT"), "EXENDTC", "EXENDT")
    e["EXENDT"] = e["EXENDT"].fillna(e["EXSTDT"])
    out = derive_vars_merged(dataset, e, KEY, order=["EXSTDT", "EXSEQ"],
                             new_vars={"TRTSDT": "EXSTDT"},
                             filter_add={**dose_given, "EXSTDT": {"present": True}})
    out = derive_vars_merged(out, e, KEY, order=["EXENDT", "EXSEQ"], mode="last",
                             new_vars={"TRTEDT": "EXENDT"},
                             filter_add={**dose_given, "EXENDT": {"present": True}})
    out["TRTDURD"] = (out["TRTEDT"] - out["TRTSDT"]).dt.days + 1.0
    return out


def derive_vars_strata(dataset: pd.DataFrame, suppdm: pd.DataFrame,
                       strata: Mapping[str, str]) -> pd.DataFrame:
    """The randomisation strata as entered (SUPPDM ``{new variable: QNAM}``)."""
    return derive_vars_merged_supp(dataset, suppdm, KEY, strata)


def derive_var_ittfl(dataset: pd.DataFrame, suppdm: pd.DataFrame,
                     withdrawn: dict[str, Any]) -> pd.DataFrame:
    """ITTFL = Y for a randomised subject without a SUPPDM record meeting ``withdrawn``
    (consent to data use withdrawn)."""
    out = derive_var_merged_exist_flag(dataset, suppdm, KEY, "_WD", withdrawn)
    out["ITTFL"] = np.where(out["RANDFL"].eq("Y") & out["_WD"].ne("Y"), "Y", "N")
    return out.drop(columns="_WD")


def derive_var_fasfl(dataset: pd.DataFrame, ie: pd.DataFrame) -> pd.DataFrame:
    """FASFL = Y for an ITT subject without any eligibility deviation (IE record)."""
    out = derive_var_merged_exist_flag(dataset, ie, KEY, "_IE")
    out["FASFL"] = np.where(out["ITTFL"].eq("Y") & out["_IE"].ne("Y"), "Y", "N")
    return out.drop(columns="_IE")


def derive_var_saffl(dataset: pd.DataFrame, ex: pd.DataFrame,
                     dose_given: dict[str, Any]) -> pd.DataFrame:
    """SAFFL = Y for an ITT subject with any dose given (EX meeting ``dose_given``)."""
    out = derive_var_merged_exist_flag(dataset, ex, KEY, "_EX", dose_given)
    out["SAFFL"] = np.where(out["ITTFL"].eq("Y") & out["_EX"].eq("Y"), "Y", "N")
    return out.drop(columns="_EX")


def derive_vars_baseline_disease(dataset: pd.DataFrame, rs: pd.DataFrame, mi: pd.DataFrame,
                                 fa: pd.DataFrame, sites: Mapping[str, str],
                                 receptors: Mapping[str, str] | None = None
                                 ) -> pd.DataFrame:
    """Baseline characteristics: ECOGBL (RS ECOG101), ERSTAT/PGRSTAT (MI), MEASFL and
    VISCFL (FA MEASDIS/VISCDIS), and a Y/N flag per metastatic site (FA METIND at
    ``sites``: ``{new variable: FALOC}``); ``receptors`` names the MI test of each
    receptor status (``{ERSTAT: ESTRCPT, PGRSTAT: PROGESTR}``, the CDISC test codes, by
    default). Missing findings stay blank."""
    receptors = receptors or {"ERSTAT": "ESTRCPT", "PGRSTAT": "PROGESTR"}
    out = derive_vars_merged(dataset, rs, KEY, order=["RSDTC"], mode="last",
                             new_vars={"ECOGBL": "RSSTRESN"},
                             filter_add={"RSTESTCD": "ECOG101",
                                         "RSSTRESN": {"present": True}})
    for new, test in receptors.items():
        out = derive_vars_merged(out, mi, KEY, order=["MIDTC"], mode="last",
                                 new_vars={new: "MISTRESC"}, filter_add={"MITESTCD": test})
    for new, test in (("MEASFL", "MEASDIS"), ("VISCFL", "VISCDIS")):
        out = derive_vars_merged(out, fa, KEY, order=["FADTC"], mode="last",
                                 new_vars={new: "FASTRESC"}, filter_add={"FATESTCD": test})
    for new, loc in sites.items():
        out = derive_vars_merged(out, fa, KEY, order=["FADTC"], mode="last",
                                 new_vars={new: "FASTRESC"},
                                 filter_add={"FATESTCD": "METIND", "FALOC": loc})
    for c in ["ERSTAT", "PGRSTAT", "MEASFL", "VISCFL", *sites]:
        out[c] = out[c].fillna("")
    return out


def derive_vars_prior_regimens(dataset: pd.DataFrame, prior: pd.DataFrame,
                               setting: str, agents: Mapping[str, str],
                               latest_agent: tuple[str, str]) -> pd.DataFrame:
    """From the prior regimens in ``setting`` (LA/MBC): NPRREG = number of lines; a Y/N
    flag per agent (``{new variable: SUPPCM QNAM}``: any regimen containing it); and
    ``latest_agent`` = (new variable, QNAM): Y when the highest-line regimen contains it
    (TDM1LFL)."""
    lines = prior[prior["CMSCAT"] == setting]
    out = derive_var_merged_summary(dataset, lines, KEY, "NPRREG", "CMLINE", "nunique",
                                    missing_value=0.0)
    out["NPRREG"] = out["NPRREG"].astype("float64")
    for new, qnam in agents.items():
        out = derive_var_merged_exist_flag(out, lines, KEY, new, {qnam: "Y"})
    new, qnam = latest_agent
    out = derive_vars_merged(out, lines, KEY, order=["CMLINE", "CMSEQ"], mode="last",
                             new_vars={"_LAST": qnam})
    out[new] = np.where(out["_LAST"].eq("Y"), "Y", "N")
    return out.drop(columns="_LAST")


def derive_vars_prior_pertuzumab(dataset: pd.DataFrame, prior: pd.DataFrame, setting: str,
                                 agent: str, cutoffs: Mapping[Any, int]) -> pd.DataFrame:
    """The prior regimen in ``setting`` containing pertuzumab (``agent`` = its SUPPCM QNAM;
    the highest line if several): PPERLINE, PPERSTDT (a partial start imputed to the
    first of the month, flag PPERSDTF), PPERENDT (a partial end to the last, PPEREDTF),
    PPERDUR = end - start + 1 days, PPERDURC '<c'/'>=c' with the line's cut-off c
    (``cutoffs``: {line: days}) and PPERDUGR SHORT (< c) or LONG."""
    reg = prior[(prior["CMSCAT"] == setting) & (prior[agent] == "Y")]
    reg = derive_vars_dt(reg, "PPERS", "CMSTDTC", "M", "first")
    reg = derive_vars_dt(reg, "PPERE", "CMENDTC", "M", "last")
    reg = reg.rename(columns={"PPERSDT": "PPERSTDT", "PPEREDT": "PPERENDT"})
    out = derive_vars_merged(dataset, reg, KEY, order=["CMLINE", "CMSEQ"], mode="last",
                             new_vars={"PPERLINE": "CMLINE", "PPERSTDT": "PPERSTDT",
                                       "PPERSDTF": "PPERSDTF", "PPERENDT": "PPERENDT",
                                       "PPEREDTF": "PPEREDTF"})
    out["PPERDUR"] = (out["PPERENDT"] - out["PPERSTDT"]).dt.days + 1.0
    cut = out["PPERLINE"].map({float(k): float(v) for k, v in cutoffs.items()})
    known = cut.notna() & out["PPERDUR"].notna()
    short = known & (out["PPERDUR"] < cut)
    label = cut.map(lambda c: f"{c:.0f}" if pd.notna(c) else "").astype(object)
    out["PPERDURC"] = np.where(short, "<" + label, np.where(known, ">=" + label, ""))
    out["PPERDUGR"] = np.where(short, "SHORT", np.where(known, "LONG", ""))
    for c in ("PPERSDTF", "PPEREDTF"):
        out[c] = out[c].fillna("")
    return out


def derive_vars_new_therapy(dataset: pd.DataFrame, cm: pd.DataFrame, category: str
                            ) -> pd.DataFrame:
    """NACTDT: start of the first subsequent anti-cancer therapy (CM CMCAT ``category``),
    a partial date imputed to the first of the month (NACTDTF)."""
    sub = derive_vars_dt(cm[cm["CMCAT"] == category], "NACTS", "CMSTDTC", "M", "first")
    out = derive_vars_merged(dataset, sub, KEY, order=["NACTSDT", "CMSEQ"],
                             new_vars={"NACTDT": "NACTSDT", "NACTDTF": "NACTSDTF"},
                             filter_add={"NACTSDT": {"present": True}})
    out["NACTDTF"] = out["NACTDTF"].fillna("")
    return out


def derive_vars_chemo(dataset: pd.DataFrame, suppdm: pd.DataFrame, ex: pd.DataFrame,
                      dose_given: dict[str, Any], antibodies: Sequence[str]) -> pd.DataFrame:
    """CHEMOP: the physician's choice declared at randomisation (SUPPDM CHEMO); CHEMOA:
    the chemotherapy given (EX drugs other than the antibodies, dose given; several
    joined by '/' in order of first administration); CYCLES: the number of distinct
    cycles in which an antibody was given (0 if dosed without one, blank if never
    dosed)."""
    out = derive_vars_merged_supp(dataset, suppdm, KEY, {"CHEMOP": "CHEMO"})
    e = ex[select(ex, dose_given)].sort_values(["USUBJID", "EXSTDTC", "EXSEQ"],
                                               kind="mergesort")
    out = derive_var_merged_summary(out, e, KEY, "CHEMOA", "EXTRT", "join",
                                    filter_add={"EXTRT": {"not_in": list(antibodies)}},
                                    missing_value="")
    out = derive_var_merged_summary(out, e, KEY, "CYCLES", "VISITNUM", "nunique",
                                    filter_add={"EXTRT": {"in": list(antibodies)}})
    dosed = out["USUBJID"].isin(e["USUBJID"])
    out["CYCLES"] = out["CYCLES"].astype("float64").where(~dosed | out["CYCLES"].notna(), 0.0)
    out["CHEMOP"] = out["CHEMOP"].fillna("")
    return out


def derive_vars_disposition(dataset: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """End of treatment: EOTSTT DISCONTINUED with DCTREAS (DSDECOD) and DCTDT when DS has
    a STUDY TREATMENT disposition event, ONGOING if treated without one, blank if never
    treated. End of study: EOSSTT DISCONTINUED with DCSREAS and EOSDT for a STUDY
    PARTICIPATION event (death, lost to follow-up, withdrawal), else ONGOING."""
    d = _dt(ds, "DSSTDTC", "DSSTDT")
    out = derive_vars_merged(dataset, d, KEY, order=["DSSTDT", "DSSEQ"],
                             new_vars={"DCTREAS": "DSDECOD", "DCTDT": "DSSTDT"},
                             filter_add={"DSCAT": "DISPOSITION EVENT",
                                         "DSSCAT": "STUDY TREATMENT"}, exist_flag="_EOT")
    out["EOTSTT"] = np.where(out["_EOT"].eq("Y"), "DISCONTINUED",
                             np.where(out["TRTSDT"].notna(), "ONGOING", ""))
    out = derive_vars_merged(out, d, KEY, order=["DSSTDT", "DSSEQ"],
                             new_vars={"DCSREAS": "DSDECOD", "EOSDT": "DSSTDT"},
                             filter_add={"DSCAT": "DISPOSITION EVENT",
                                         "DSSCAT": "STUDY PARTICIPATION"}, exist_flag="_EOS")
    out["EOSSTT"] = np.where(out["_EOS"].eq("Y"), "DISCONTINUED", "ONGOING")
    for c in ("DCTREAS", "DCSREAS"):
        out[c] = out[c].fillna("")
    return out.drop(columns=["_EOT", "_EOS"])


def derive_var_lstalvdt(dataset: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame],
                        sources: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """LSTALVDT: the latest complete date among the declared sources (``{dataset, date
    (a --DTC variable), condition}``): the survival follow-up contact, tumour
    assessments, doses, adverse events, questionnaires, LVEF, randomisation."""
    frames = []
    for src in sources:
        data = sdtm[src["dataset"]]
        # Only the subject and the date of the records meeting the condition (a copy of
        # the whole domain per source, QS: 6 million records, is what this used to
        # cost), and of those only the first of each run of equal ones.
        part = rows_where(share_columns(data, ["USUBJID", src["date"]]),
                          select(data, src.get("condition")))
        subject, dtc = part["USUBJID"].to_numpy(), part[src["date"]].to_numpy()
        new = run_starts(subject, dtc)
        dates = pd.DataFrame({"USUBJID": subject[new],
                              "_DT": convert_dtc_to_dt(pd.Series(dtc[new])).to_numpy()})
        frames.append((dates, "_DT", None))
    return derive_var_extreme_dt(dataset, KEY, "LSTALVDT", frames, mode="last")


def derive_vars_death(dataset: pd.DataFrame, dm: pd.DataFrame, dd: pd.DataFrame
                      ) -> pd.DataFrame:
    """DTHDT from DM.DTHDTC (a partial date imputed to the first day possible, not before
    LSTALVDT; flag DTHDTF) and DTHCAUS, the primary cause of death (DD PRCDTH). DTHFL is
    DM's."""
    out = derive_vars_merged(dataset, dm, KEY, new_vars=["DTHDTC"])
    out = derive_vars_dt(out, "DTH", "DTHDTC", "M", "first", min_dates=["LSTALVDT"])
    out = derive_vars_merged(out, dd, KEY, order=["DDSEQ"], new_vars={"DTHCAUS": "DDSTRESC"},
                             filter_add={"DDTESTCD": "PRCDTH"})
    out["DTHCAUS"] = out["DTHCAUS"].fillna("")
    return out.drop(columns="DTHDTC")


def derive_var_lvefdfl(dataset: pd.DataFrame, cv: pd.DataFrame, below: float,
                       fall: float) -> pd.DataFrame:
    """LVEFDFL = Y for a dosed subject with a post-baseline LVEF (dated after the first
    dose) below ``below`` % or at least ``fall`` points under the baseline (CVLOBXFL),
    N for other dosed subjects, blank if never dosed."""
    lv = _dt(cv[cv["CVTESTCD"] == "LVEF"], "CVDTC", "ADT")
    lv = derive_vars_merged(lv, lv, KEY, order=["ADT"], mode="last",
                            new_vars={"BASE": "CVSTRESN"}, filter_add={"CVLOBXFL": "Y"})
    lv = derive_vars_merged(lv, dataset, KEY, new_vars=["TRTSDT"])
    post = lv[lv["ADT"] > lv["TRTSDT"]]
    hit = post[(post["CVSTRESN"] < below) | (post["BASE"] - post["CVSTRESN"] >= fall)]
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    out["LVEFDFL"] = np.where(out["USUBJID"].isin(hit["USUBJID"]), "Y",
                              np.where(out["TRTSDT"].notna(), "N", ""))
    return out


def derive_var_qolfl(dataset: pd.DataFrame, qs: pd.DataFrame, instrument: Mapping[str, Any],
                     baseline_visitnum: float) -> pd.DataFrame:
    """QOLFL = Y for an ITT subject with a baseline score of the instrument's
    deterioration score (B-TOI; baseline per :func:`adam.adqs.derive_var_ablfl`) and a
    score at a later questionnaire."""
    score = instrument["deterioration"]["score"]
    scores = adqs.derive_scores(qs, instrument)
    scores = scores[scores["PARAMCD"] == score]
    scores = derive_vars_merged(scores, dataset, KEY, new_vars=["TRTSDT"])
    scores = adqs.derive_var_ablfl(scores, baseline_visitnum)
    scores = derive_vars_merged(scores, scores, KEY, new_vars={"_BLDT": "ADT"},
                                filter_add={"ABLFL": "Y"})
    later = scores[scores["AVAL"].notna() & (scores["ADT"] > scores["_BLDT"])]
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    ok = out["USUBJID"].isin(later["USUBJID"]) & out["ITTFL"].eq("Y")
    out["QOLFL"] = np.where(ok, "Y", "N")
    return out


def derive_vars_groupings(dataset: pd.DataFrame, groupings: Mapping[str, Mapping[str, Any]]
                          ) -> pd.DataFrame:
    """Each declared grouping ``{new variable: {source, groups, n?}}``
    (:func:`adam.derive.derive_var_grouping`)."""
    out = dataset
    for new, g in groupings.items():
        out = derive_var_grouping(out, g["source"], new, g["groups"], g.get("n"))
    return out


# --------------------------------------------------------------------------- build


def input_columns(spec: DatasetSpec) -> dict[str, set[str] | None]:
    """The SDTM variables :func:`build` reads, by domain (the reader keeps no others:
    QS alone has 6 million records at 21,900 subjects). ``spec`` is resolved."""
    d = spec.derivation
    key = {"STUDYID", "USUBJID"}
    cols: dict[str, set[str]] = {
        "DM": {*DM_VARS, "DTHDTC"},
        "DS": {"DSSTDTC", "DSSEQ", "DSDECOD", "DSCAT", "DSSCAT",
               *condition_variables(d["randomisation"])},
        "EX": {"EXSTDTC", "EXENDTC", "EXSEQ", "EXTRT", "VISITNUM",
               *condition_variables(d["dose_given"])},
        "SUPPDM": {"QNAM", "QVAL", *condition_variables(d["data_use_withdrawn"])},
        "IE": set(),
        "RS": {"RSDTC", "RSTESTCD", "RSSTRESN"},
        "MI": {"MIDTC", "MITESTCD", "MISTRESC"},
        "FA": {"FADTC", "FATESTCD", "FASTRESC", "FALOC"},
        "CM": {"CMCAT", "CMSCAT", "CMSEQ", "CMSTDTC", "CMENDTC"},
        "SUPPCM": {"IDVAR", "IDVARVAL", "QNAM", "QVAL"},
        "DD": {"DDSEQ", "DDTESTCD", "DDSTRESC"},
        "QS": {"VISITNUM", "VISIT", "QSDTC", "QSTESTCD", "QSSTRESN"},
        "CV": {"CVTESTCD", "CVDTC", "CVSTRESN", "CVLOBXFL"},
    }
    for src in d["last_alive_sources"]:
        cols.setdefault(src["dataset"], set()).update(
            {src["date"], *condition_variables(src.get("condition"))})
    return {name: c | key for name, c in cols.items()}


def build(inputs: Mapping[str, pd.DataFrame], spec: DatasetSpec) -> pd.DataFrame:
    """ADSL from the SDTM domains in ``inputs`` (DM, SUPPDM, DS, DD, IE, RS, MI, FA, CM,
    SUPPCM, EX, SV, AE, QS, CV) as ``spec`` declares it."""
    d = spec.derivation
    dm, ds, ex = inputs["DM"], inputs["DS"], inputs["EX"]
    adsl = derive_vars_dm(dm, ds, d["randomisation"])
    adsl = derive_vars_trt(adsl, d["arms"])
    adsl = derive_vars_trtdt(adsl, ex, d["dose_given"])
    adsl = derive_vars_strata(adsl, inputs["SUPPDM"], d["strata"])
    adsl = derive_var_ittfl(adsl, inputs["SUPPDM"], d["data_use_withdrawn"])
    adsl = derive_var_fasfl(adsl, inputs["IE"])
    adsl = derive_var_saffl(adsl, ex, d["dose_given"])
    adsl = derive_vars_baseline_disease(adsl, inputs["RS"], inputs["MI"], inputs["FA"],
                                        d["metastatic_sites"], d.get("receptors"))
    p = d["prior_therapy"]
    prior = prior_regimens(inputs["CM"], inputs["SUPPCM"], p["category"], p["qualifiers"])
    adsl = derive_vars_prior_regimens(adsl, prior, p["setting"], p["agents"],
                                      (p["latest"]["variable"], p["latest"]["qnam"]))
    adsl = derive_vars_prior_pertuzumab(adsl, prior, p["setting"], p["pertuzumab"],
                                        p["pertuzumab_cutoffs"])
    adsl = derive_vars_new_therapy(adsl, inputs["CM"], d["subsequent_therapy"])
    adsl = derive_vars_chemo(adsl, inputs["SUPPDM"], ex, d["dose_given"], d["antibodies"])
    adsl = derive_vars_disposition(adsl, ds)
    adsl = derive_var_lstalvdt(adsl, inputs, d["last_alive_sources"])
    adsl = derive_vars_death(adsl, dm, inputs["DD"])
    adsl = derive_var_lvefdfl(adsl, inputs["CV"], **d["lvef_decline"])
    adsl = derive_var_qolfl(adsl, inputs["QS"], d["instrument"], d["qol_baseline_visitnum"])
    adsl = derive_vars_groupings(adsl, d["groupings"])
    return keep_spec_vars(adsl, spec)
