"""Provisional QC analysis of PRECIOUS straight from the raw CRF forms.

This is the independent statistical programmer's reproduction: it derives every
published number of the PRECIOUS paper (Cancer Sci. 2022;113:3169-3179) from the raw
EDC extracts (``<form>.csv`` read as text by :func:`trialflow.rawdata.read_forms`),
without SDTM/ADaM and without looking at how the simulator builds the data. Only the
specs (raw forms, codelists, AE dictionary, FACT-B scoring), the raw reader and the
shared statistics core (:mod:`trialflow.stats`) are used.

Every function is a pure function of the raw DataFrames (all columns text) and the
specs. The analysis conventions are the project's decided ones (see the brief in the
lead's note); where the raw data leave room for a choice, the choice is named in the
function that makes it.

Layers:

1. coding helpers: :func:`coded`, :func:`edc_date`, :func:`study_day`;
2. subject-level derivations (a QC "ADSL + ADTTE"): :func:`derive_subjects` and the
   ``derive_*`` functions it combines;
3. summaries per analysis block, named as in ``precious-targets.yaml``
   (:func:`summarise_populations` ... :func:`summarise_ttd`);
4. comparison with the publication: :func:`reproduce` returns one :class:`Row` per
   published number, :func:`format_comparison` prints them;
5. :func:`consistency_findings` lists raw records that contradict each other or the
   analysis conventions.

Run ``python -m tests.reproduction.raw_analysis RAW_DIR`` from the repository root to
print the comparison table and the consistency findings.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from trialflow import SPECS
from trialflow.rawdata import parse_edc_date, read_forms
from trialflow.spec import Codelist, load_codelists, load_forms, load_study, read_yaml
from trialflow.stats import (
    clopper_pearson,
    fisher_exact_2s,
    fit_cox,
    fit_km,
    logrank_test,
    round_half_up,
    sas_percentile,
    sas_quartiles,
    wilcoxon_rank_sum_p,
    woolf_odds_ratio,
)

Forms = Mapping[str, pd.DataFrame]

#: Default location of the published numbers (outside the repository: the reference
#: material is shared between the project's sessions). Override with TRIALFLOW_TARGETS.
DEFAULT_TARGETS = Path("/work/shared/reference/precious-targets.yaml")

#: The analysis blocks of precious-targets.yaml that the conventions cover.
BLOCKS: tuple[str, ...] = (
    "populations",
    "follow_up_months",
    "table1_baseline",
    "pfs_itt",
    "pfs_tdm1_latest",
    "os_itt",
    "table2_response",
    "exposure",
    "table3_safety",
    "ttd_bt_oi",
)

#: Random.csv stratification factors: their 2 x 2 x 2 x 2 combinations are the 16 strata
#: of the stratified log-rank tests and Cox models.
STRATA: tuple[str, ...] = ("STRER", "STRPER", "STRNREG", "STRVISC")

#: Visit of the baseline FACT-B questionnaire.
FACTB_BASELINE_VISIT = "CYCLE 1 DAY 1"
#: Tumour-assessment visit that is not post-baseline.
TUMOUR_BASELINE_VISIT = "SCREENING"
#: LVEF visit that holds the baseline value.
LVEF_BASELINE_VISIT = "SCREENING"
#: Stable disease counts towards the best overall response only from this study day on
#: (RECIST 1.1 minimum interval, per the project's convention).
SD_MIN_DAY = 35
#: Overall responses that make an assessment "adequate" for PFS censoring (anything but
#: NE or blank).
ADEQUATE = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD")
#: Best-overall-response hierarchy: lower rank is better.
BOR_RANK = {"CR": 1, "PR": 2, "SD": 3, "PD": 4}

#: Special-interest AEs of Table 3: target key -> (dictionary level, coded name).
SPECIAL_INTEREST: dict[str, tuple[str, str]] = {
    "stomatitis": ("PT", "Stomatitis"),
    "diarrhea": ("PT", "Diarrhoea"),
    "neutropenia": ("PT", "Neutrophil count decreased"),
    "febrile_neutropenia": ("PT", "Febrile neutropenia"),
    "infusion_reaction": ("PT", "Infusion related reaction"),
    "cardiac_dysfunction": ("PT", "Left ventricular dysfunction"),
    "skin_and_subcutaneous": ("SOC", "Skin and subcutaneous tissue disorders"),
}

#: Prior anti-HER2 agents of Table 1: target key -> priorther flag column.
ANTI_HER2: dict[str, str] = {
    "pertuzumab": "PERTUZ",
    "trastuzumab": "TRASTUZ",
    "t_dm1": "TDM1",
    "lapatinib": "LAPAT",
    "others": "OTHHER2",
}

#: Prior pertuzumab duration cut-offs (days) by the line of the pertuzumab regimen.
PERTUZUMAB_CUTOFF = {1: ("prior_pertuzumab_first_line_days", 180),
                     2: ("prior_pertuzumab_second_line_days", 120)}

#: Floating-point slack for threshold comparisons of derived scores: prorated FACT-B
#: scores are fractions (sum x 7 / 6 ...), so a change of exactly -5 can come out as
#: -4.999999999.
_EPS = 1e-9


# =========================================================================== specs


@dataclass(frozen=True)
class AnalysisSpecs:
    """Everything the analysis reads from ``specs/``.

    Attributes
    ----------
    codelists : mapping of str to Codelist
        Controlled terminology by codelist id.
    dictionary : pandas.DataFrame
        AE coding: ``KEY`` (folded verbatim), ``PT``, ``SOC``.
    instrument : mapping
        The FACT-B scoring spec (``specs/instruments/factb.yaml``).
    month_length : float
        Days per month (30.4375).
    test_arm, control_arm : str
        Arm codes; the test arm is treat = 1 in every model.
    """

    codelists: Mapping[str, Codelist]
    dictionary: pd.DataFrame
    instrument: Mapping[str, Any]
    month_length: float
    test_arm: str
    control_arm: str

    @property
    def arms(self) -> tuple[str, str]:
        """Arm codes in table order (test arm first)."""
        return (self.test_arm, self.control_arm)


def load_analysis_specs(specs_dir: Path = SPECS) -> AnalysisSpecs:
    """Load the codelists, AE dictionary, FACT-B scoring and study constants.

    Parameters
    ----------
    specs_dir : Path
        The project's ``specs/`` directory.

    Returns
    -------
    AnalysisSpecs
    """
    study = load_study(specs_dir / "study.yaml")
    test = [a.code for a in study.arms if a.test]
    control = [a.code for a in study.arms if not a.test]
    if len(test) != 1 or len(control) != 1:
        raise ValueError("the study spec must define one test and one control arm")
    terms = read_yaml(specs_dir / "dictionary" / "meddra.yaml")["terms"]
    # One row per verbatim spelling; the spec is small, the rows are built once.
    dictionary = pd.DataFrame(
        [{"KEY": _fold_text(v), "PT": t["pt"], "SOC": t["soc"]}
         for t in terms for v in t["verbatim"]])
    if dictionary["KEY"].duplicated().any():
        dup = dictionary.loc[dictionary["KEY"].duplicated(), "KEY"].iloc[0]
        raise ValueError(f"AE dictionary maps verbatim {dup!r} twice")
    return AnalysisSpecs(
        codelists=load_codelists(specs_dir / "ct"),
        dictionary=dictionary,
        instrument=read_yaml(specs_dir / "instruments" / "factb.yaml"),
        month_length=float(study.month_length),
        test_arm=test[0],
        control_arm=control[0],
    )


# =========================================================================== coding helpers


def _fold_text(value: Any) -> str:
    """Case- and whitespace-folded key of one spec value (as trialflow.spec folds)."""
    return " ".join(str(value).split()).upper()


def fold(values: pd.Series) -> pd.Series:
    """Fold text case- and whitespace-insensitively, the way codelist lookups are keyed.

    Parameters
    ----------
    values : pandas.Series
        Raw text.

    Returns
    -------
    pandas.Series
        Upper case, inner runs of blanks collapsed to one, ends stripped.
    """
    return values.astype(str).str.replace(r"\s+", " ", regex=True).str.strip().str.upper()


def coded(values: pd.Series, codelist: Codelist) -> pd.Series:
    """Map collected text (typed variants such as 'Pos', 'yes') to submission values.

    Parameters
    ----------
    values : pandas.Series
        Raw text as exported.
    codelist : Codelist
        The column's codelist.

    Returns
    -------
    pandas.Series
        Submission values; NaN where blank or not a term of the codelist (the raw checks
        report those, so the analysis treats them as not collected).
    """
    return fold(values).map(codelist.lookup())


def edc_date(values: pd.Series) -> pd.Series:
    """Parse EDC ``DD-MON-YYYY`` text to datetimes.

    A partial date is imputed to the first day of its known period (``UN-MAR-2014`` ->
    2014-03-01, ``UN-UN-2014`` -> 2014-01-01), the usual start-date convention; in the
    PRECIOUS forms only start dates (prior-therapy and AE starts) and birth dates are
    partial.

    Parameters
    ----------
    values : pandas.Series
        Raw date text.

    Returns
    -------
    pandas.Series
        ``datetime64`` values, NaT where blank or not a valid date.
    """
    parts = parse_edc_date(values)
    known = parts["year"].notna()
    ymd = pd.DataFrame({
        "year": parts["year"].astype(float),
        "month": parts["month"].astype(float).fillna(1.0).where(known),
        "day": parts["day"].astype(float).fillna(1.0).where(known),
    }, index=values.index)
    return pd.to_datetime(ymd, errors="coerce")


def study_day(date: pd.Series, randdt: pd.Series) -> pd.Series:
    """Study day relative to randomisation: ``date - RANDDT + 1`` (randomisation = day 1).

    Parameters
    ----------
    date, randdt : pandas.Series of datetime64
        Aligned on the same index.

    Returns
    -------
    pandas.Series of float
        NaN where either date is missing.
    """
    return (date - randdt).dt.days.astype(float) + 1.0


def _yes(values: pd.Series, specs: AnalysisSpecs) -> pd.Series:
    """True where an NY-coded raw value means Yes."""
    return coded(values, specs.codelists["NY"]).eq("Y")


def _per_subject(values: pd.Series | pd.DataFrame, index: pd.Index) -> pd.Series:
    """Align a per-subject Series onto the subject index (missing subjects -> NaN/NaT)."""
    return values.reindex(index)


def _flag(subject_ids: pd.Series, mask: pd.Series, index: pd.Index) -> pd.Series:
    """Subject-level 'any record with mask' flag on ``index`` (False when no records)."""
    hit = pd.Index(subject_ids[mask.to_numpy(dtype=bool)].unique())
    return pd.Series(index.isin(hit), index=index)


# =========================================================================== subjects


def derive_randomisation(forms: Forms, specs: AnalysisSpecs) -> pd.DataFrame:
    """Randomised subjects with arm, date, strata and the analysis populations.

    ITT = randomised minus withdrawals with DATAUSE = N; FAS = ITT minus subjects with an
    eligibility deviation; SAF = ITT subjects with at least one exposure record (analysed
    by randomised arm, per the project's convention).

    Parameters
    ----------
    forms : mapping of str to DataFrame
        Raw forms (text).
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed by SUBJID: ``ARM, TRT`` (1 = test arm), ``RANDDT``, the four strata,
        ``ITT, FAS, SAF``.
    """
    r = forms["random"]
    out = pd.DataFrame(index=pd.Index(r["SUBJID"].str.strip(), name="SUBJID"))
    out["ARM"] = coded(r["ARM"], specs.codelists["ARM"]).to_numpy()
    out["TRT"] = out["ARM"].eq(specs.test_arm).astype(int)
    out["RANDDT"] = edc_date(r["RANDDT"]).to_numpy()
    out["STRER"] = coded(r["STRER"], specs.codelists["POSNEG"]).to_numpy()
    # The other three strata are pick-list values (no codelist): compared folded.
    for col in STRATA[1:]:
        out[col] = fold(r[col]).to_numpy()
    w = forms["withdrawal"]
    no_data_use = w["SUBJID"].str.strip()[coded(w["DATAUSE"], specs.codelists["NY"]).eq("N")]
    out["ITT"] = ~out.index.isin(no_data_use)
    out["FAS"] = out["ITT"] & ~out.index.isin(forms["eligibility"]["SUBJID"].str.strip())
    out["SAF"] = out["ITT"] & out.index.isin(forms["exposure"]["SUBJID"].str.strip())
    return out


def derive_baseline(forms: Forms, subj: pd.DataFrame, specs: AnalysisSpecs) -> pd.DataFrame:
    """Table 1 characteristics from enrol and baseline forms.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation` (its index is used).
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed like ``subj``: ``AGE, ECOG, ER`` and Y/N flags ``MEAS, VISCERAL,
        METLUNG, METLIVER, METBONE, METBRAIN`` (False when not collected).
    """
    e = forms["enrol"].set_index(forms["enrol"]["SUBJID"].str.strip())
    b = forms["baseline"].set_index(forms["baseline"]["SUBJID"].str.strip())
    out = pd.DataFrame(index=subj.index)
    out["AGE"] = _per_subject(pd.to_numeric(e["AGE"], errors="coerce"), subj.index)
    out["ECOG"] = _per_subject(pd.to_numeric(b["ECOG"], errors="coerce"), subj.index)
    out["ER"] = _per_subject(coded(b["ER"], specs.codelists["POSNEG"]), subj.index)
    flags = {"MEAS": "MEASDIS", "VISCERAL": "VISCERAL", "METLUNG": "METLUNG",
             "METLIVER": "METLIVER", "METBONE": "METBONE", "METBRAIN": "METBRAIN"}
    for name, col in flags.items():
        out[name] = _yes(b[col], specs).reindex(subj.index, fill_value=False).astype(bool)
    return out


def prior_lambc(forms: Forms, specs: AnalysisSpecs) -> pd.DataFrame:
    """Prior regimens for locally advanced/metastatic disease (LINE given), decoded.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        One row per LA/MBC regimen: ``SUBJID, LINE`` (int), agent flags ``PERTUZ, TRASTUZ,
        TDM1, LAPAT, OTHHER2`` (bool), ``STDT, ENDT`` and ``DUR`` = ENDT - STDT + 1 days.
    """
    p = forms["priorther"]
    keep = fold(p["SETTING"]).eq("LA/MBC")
    out = pd.DataFrame({
        "SUBJID": p["SUBJID"].str.strip(),
        "LINE": pd.to_numeric(p["LINE"], errors="coerce"),
        "STDT": edc_date(p["STDT"]),
        "ENDT": edc_date(p["ENDT"]),
    })
    for col in ANTI_HER2.values():
        out[col] = _yes(p[col], specs)
    out = out.loc[keep.to_numpy()].copy()
    out["DUR"] = (out["ENDT"] - out["STDT"]).dt.days.astype(float) + 1.0
    return out


def derive_prior_therapy(forms: Forms, subj: pd.DataFrame,
                         specs: AnalysisSpecs) -> pd.DataFrame:
    """Per-subject prior-therapy variables of Table 1 and the T-DM1-latest subgroup.

    The pertuzumab duration uses the LA/MBC regimen with PERTUZ = Y; should a subject
    have more than one, the latest line is used (it is the exposure the stratification
    factor is about) and :func:`consistency_findings` lists the subject.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation`.
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed like ``subj``: ``NREG`` (number of distinct LA/MBC lines), ``ANY_<flag>``
        for each anti-HER2 flag, ``TDM1LAST``, ``PERLINE`` and ``PERDUR`` (line and days
        of the pertuzumab regimen, NaN if none).
    """
    lam = prior_lambc(forms, specs)
    out = pd.DataFrame(index=subj.index)
    out["NREG"] = _per_subject(lam.groupby("SUBJID")["LINE"].nunique(), subj.index)
    out["NREG"] = out["NREG"].fillna(0).astype(int)
    for col in ANTI_HER2.values():
        out[f"ANY_{col}"] = _flag(lam["SUBJID"], lam[col], subj.index)
    latest = lam.sort_values(["SUBJID", "LINE"]).drop_duplicates("SUBJID", keep="last")
    out["TDM1LAST"] = (latest.set_index("SUBJID")["TDM1"]
                       .reindex(subj.index, fill_value=False).astype(bool))
    per = (lam.loc[lam["PERTUZ"]].sort_values(["SUBJID", "LINE"])
           .drop_duplicates("SUBJID", keep="last").set_index("SUBJID"))
    out["PERLINE"] = _per_subject(per["LINE"], subj.index)
    out["PERDUR"] = _per_subject(per["DUR"], subj.index)
    return out


def tumour_assessments(forms: Forms, subj: pd.DataFrame, specs: AnalysisSpecs) -> pd.DataFrame:
    """Post-baseline tumour assessments (VISIT is not Screening) with study day.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation` (for RANDDT).
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        ``SUBJID, VISIT, ADT, ADY, OVERALL`` (OVRLRESP submission value, NaN if blank).
    """
    t = forms["tumour"]
    out = pd.DataFrame({
        "SUBJID": t["SUBJID"].str.strip(),
        "VISIT": fold(t["VISIT"]),
        "ADT": edc_date(t["ASSESSDT"]),
        "OVERALL": coded(t["OVERALL"], specs.codelists["OVRLRESP"]),
    })
    out = out.loc[out["VISIT"].ne(TUMOUR_BASELINE_VISIT)].copy()
    randdt = subj["RANDDT"].reindex(out["SUBJID"]).to_numpy()
    out["ADY"] = study_day(out["ADT"], pd.Series(randdt, index=out.index))
    return out


def derive_pfs(forms: Forms, subj: pd.DataFrame, tu: pd.DataFrame,
               specs: AnalysisSpecs) -> pd.DataFrame:
    """Progression-free survival per subject.

    Event = earliest of the first post-baseline OVERALL = PD, the clinical-progression
    date and death; otherwise censored at the last adequate assessment (OVERALL not NE),
    or at randomisation (day 1) when there is none. A clinical-progression event is one
    whose date is the clinprog date with no earlier date from another source (ties go to
    clinical progression: the investigator's judgement and the scan agree on the day).

    Parameters
    ----------
    forms : mapping of str to DataFrame
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation`.
    tu : pandas.DataFrame
        Output of :func:`tumour_assessments`.
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed like ``subj``: ``PDDT, CLINDT, DTHDT, PROGDT`` (first progression of
        either kind), ``LADT`` (last adequate assessment), ``PFS_EVENT, PFS_CLIN,
        PFS_ADT, PFS_DAYS, PFS_MONTHS``.
    """
    idx = subj.index
    cp = forms["clinprog"]
    sv = forms["survival"]
    out = pd.DataFrame(index=idx)
    out["PDDT"] = _per_subject(tu.loc[tu["OVERALL"].eq("PD")].groupby("SUBJID")["ADT"].min(),
                               idx)
    clin = pd.Series(edc_date(cp["PROGDT"]).to_numpy(), index=cp["SUBJID"].str.strip())
    out["CLINDT"] = _per_subject(clin.groupby(level=0).min(), idx)
    death = pd.Series(edc_date(sv["DTHDT"]).to_numpy(), index=sv["SUBJID"].str.strip())
    out["DTHDT"] = _per_subject(death.groupby(level=0).min(), idx)
    out["PROGDT"] = out[["PDDT", "CLINDT"]].min(axis=1)
    event_dt = out[["PDDT", "CLINDT", "DTHDT"]].min(axis=1)
    adequate = tu["OVERALL"].isin(ADEQUATE)
    out["LADT"] = _per_subject(tu.loc[adequate].groupby("SUBJID")["ADT"].max(), idx)
    out["PFS_EVENT"] = event_dt.notna().astype(int)
    out["PFS_CLIN"] = (out["PFS_EVENT"].eq(1) & out["CLINDT"].eq(event_dt)).astype(int)
    out["PFS_ADT"] = event_dt.fillna(out["LADT"]).fillna(subj["RANDDT"])
    out["PFS_DAYS"] = study_day(out["PFS_ADT"], subj["RANDDT"])
    out["PFS_MONTHS"] = out["PFS_DAYS"] / specs.month_length
    return out


def derive_response(subj: pd.DataFrame, tu: pd.DataFrame, pfs: pd.DataFrame,
                    specs: AnalysisSpecs) -> pd.DataFrame:
    """Best overall response and duration of response per subject.

    Only post-baseline assessments on or before the first progression (the earlier of
    RECIST PD and clinical progression: an assessment after an investigator-declared
    progression cannot improve the response) are used. CR > PR > SD (from study day 35)
    > PD; UNKNOWN when post-baseline assessments exist but none qualifies (all NE, SD
    before day 35 only, or all after the progression); MISSING when there is no
    post-baseline assessment.

    DoR runs from the first CR/PR date to the PFS event or censoring date,
    ``end - start + 1`` days.

    Parameters
    ----------
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation`.
    tu : pandas.DataFrame
        Output of :func:`tumour_assessments`.
    pfs : pandas.DataFrame
        Output of :func:`derive_pfs`.
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed like ``subj``: ``BOR``, ``RESPONDER``, ``FRSPDT``, ``DOR_EVENT``,
        ``DOR_DAYS``, ``DOR_MONTHS`` (NaN for non-responders).
    """
    idx = subj.index
    progdt = pfs["PROGDT"].reindex(tu["SUBJID"]).to_numpy()
    in_window = pd.Series(pd.isna(progdt) | (tu["ADT"].to_numpy() <= progdt), index=tu.index)
    rank = tu["OVERALL"].map(BOR_RANK)
    # SD before day 35 is too early to count as stable disease.
    rank = rank.where(~(tu["OVERALL"].eq("SD") & (tu["ADY"] < SD_MIN_DAY)))
    best = rank[in_window].groupby(tu.loc[in_window, "SUBJID"]).min()
    labels = {v: k for k, v in BOR_RANK.items()}
    has_post = idx.isin(tu["SUBJID"])
    bor = _per_subject(best.map(labels), idx)
    bor = bor.where(bor.notna(), np.where(has_post, "UNKNOWN", "MISSING"))
    out = pd.DataFrame({"BOR": bor}, index=idx)
    out["RESPONDER"] = out["BOR"].isin(["CR", "PR"])
    resp_rows = in_window & tu["OVERALL"].isin(["CR", "PR"])
    out["FRSPDT"] = _per_subject(tu.loc[resp_rows].groupby("SUBJID")["ADT"].min(), idx)
    days = (pfs["PFS_ADT"] - out["FRSPDT"]).dt.days.astype(float) + 1.0
    out["DOR_EVENT"] = pfs["PFS_EVENT"].where(out["RESPONDER"])
    out["DOR_DAYS"] = days.where(out["RESPONDER"])
    out["DOR_MONTHS"] = out["DOR_DAYS"] / specs.month_length
    return out


def derive_os(forms: Forms, subj: pd.DataFrame, specs: AnalysisSpecs) -> pd.DataFrame:
    """Overall survival: death date, else censored at the last-contact date.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation`.
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed like ``subj``: ``OS_EVENT, OS_ADT, OS_DAYS, OS_MONTHS`` (NaN days when the
        subject has neither date).
    """
    sv = forms["survival"].drop_duplicates("SUBJID")
    sv = sv.set_index(sv["SUBJID"].str.strip())
    death = _per_subject(edc_date(sv["DTHDT"]), subj.index)
    last = _per_subject(edc_date(sv["LSTCONDT"]), subj.index)
    out = pd.DataFrame(index=subj.index)
    out["OS_EVENT"] = death.notna().astype(int)
    out["OS_ADT"] = death.fillna(last)
    out["OS_DAYS"] = study_day(out["OS_ADT"], subj["RANDDT"])
    out["OS_MONTHS"] = out["OS_DAYS"] / specs.month_length
    return out


def score_factb(factb: pd.DataFrame, instrument: Mapping[str, Any]) -> pd.DataFrame:
    """Score FACT-B questionnaires by the FACIT rules of ``specs/instruments/factb.yaml``.

    Reversed items score ``4 - answer``. A subscale is scored when more than half of its
    items are answered: ``sum x items / answered`` (prorating). A total (B-TOI) is the
    sum of its subscales, scored only when every one of them is scored and more than
    ``total_min_response_rate`` of the total's items are answered.

    Parameters
    ----------
    factb : pandas.DataFrame
        The raw factb form (text; blank = unanswered).
    instrument : mapping
        The scoring spec.

    Returns
    -------
    pandas.DataFrame
        ``SUBJID, VISIT`` (folded), ``QSDT`` and one column per subscale and total.
    """
    subscales: Mapping[str, Mapping[str, Any]] = instrument["subscales"]
    items = [i for s in subscales.values() for i in s["items"]]
    answers = factb[items].apply(pd.to_numeric, errors="coerce")
    reversed_items = [i for s in subscales.values() for i in s.get("reversed", [])]
    scores = answers.copy()
    scores[reversed_items] = 4.0 - answers[reversed_items]
    out = pd.DataFrame({"SUBJID": factb["SUBJID"].str.strip(), "VISIT": fold(factb["VISIT"]),
                        "QSDT": edc_date(factb["QSDT"])})
    for name, sub in subscales.items():
        cols = list(sub["items"])
        n_ans = scores[cols].notna().sum(axis=1)
        prorated = scores[cols].sum(axis=1) * len(cols) / n_ans.where(n_ans > 0)
        out[name] = prorated.where(n_ans > len(cols) / 2)
    rate = float(instrument.get("total_min_response_rate", 0.0))
    for name, total in instrument["totals"].items():
        parts = list(total["subscales"])
        cols = [i for p in parts for i in subscales[p]["items"]]
        answered = scores[cols].notna().sum(axis=1) / len(cols)
        ok = out[parts].notna().all(axis=1) & (answered > rate)
        out[name] = out[parts].sum(axis=1).where(ok)
    return out


def derive_ttd(forms: Forms, subj: pd.DataFrame, specs: AnalysisSpecs) -> pd.DataFrame:
    """Time to deterioration of the FACT-B Trial Outcome Index.

    HR-QoL population = ITT subjects with a scored baseline (Cycle 1 Day 1) and at
    least one later (dated after baseline) scored questionnaire. Event = the first
    later questionnaire whose change from baseline is at or below the threshold (-5);
    otherwise censored at the last later scored questionnaire. Time from randomisation.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation`.
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed like ``subj``: ``BTOI_BASE, HRQOL, TTD_EVENT, TTD_DAYS, TTD_MONTHS``.
    """
    score = specs.instrument["deterioration"]["score"]
    threshold = float(specs.instrument["deterioration"]["threshold"])
    qs = score_factb(forms["factb"], specs.instrument)
    qs = qs.loc[qs[score].notna()]
    base = (qs.loc[qs["VISIT"].eq(FACTB_BASELINE_VISIT)].sort_values(["SUBJID", "QSDT"])
            .drop_duplicates("SUBJID").set_index("SUBJID"))
    qs = qs.assign(BASE=base[score].reindex(qs["SUBJID"]).to_numpy(),
                   BASEDT=base["QSDT"].reindex(qs["SUBJID"]).to_numpy())
    later = qs.loc[qs["QSDT"] > qs["BASEDT"]].sort_values(["SUBJID", "QSDT"])
    worse = later.loc[later[score] - later["BASE"] <= threshold + _EPS]
    first_worse = worse.groupby("SUBJID")["QSDT"].min()
    last = later.groupby("SUBJID")["QSDT"].max()
    out = pd.DataFrame(index=subj.index)
    out["BTOI_BASE"] = _per_subject(base[score], subj.index)
    out["HRQOL"] = subj["ITT"] & out["BTOI_BASE"].notna() & subj.index.isin(last.index)
    event_dt = _per_subject(first_worse, subj.index)
    out["TTD_EVENT"] = event_dt.notna().astype(int)
    adt = event_dt.fillna(_per_subject(last, subj.index))
    out["TTD_DAYS"] = study_day(adt, subj["RANDDT"]).where(out["HRQOL"])
    out["TTD_MONTHS"] = out["TTD_DAYS"] / specs.month_length
    return out


def derive_exposure(forms: Forms, subj: pd.DataFrame, specs: AnalysisSpecs) -> pd.DataFrame:
    """Cycles of anti-HER2 antibody per subject.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation`.
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed like ``subj``: ``CYCLES`` = distinct CYCLE with a trastuzumab or
        pertuzumab record (0 when none), ``PERTUZ_GIVEN`` (any pertuzumab record).
    """
    ex = forms["exposure"]
    drug = coded(ex["DRUG"], specs.codelists["EXTRT"])
    sid = ex["SUBJID"].str.strip()
    antibody = drug.isin(["TRASTUZUMAB", "PERTUZUMAB"])
    cycles = pd.to_numeric(ex["CYCLE"], errors="coerce")[antibody].groupby(sid[antibody])
    out = pd.DataFrame(index=subj.index)
    out["CYCLES"] = _per_subject(cycles.nunique(), subj.index).fillna(0).astype(int)
    out["PERTUZ_GIVEN"] = _flag(sid, drug.eq("PERTUZUMAB"), subj.index)
    return out


def coded_ae(forms: Forms, specs: AnalysisSpecs) -> pd.DataFrame:
    """Adverse events with decoded grade, seriousness, outcome, action, PT and SOC.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        ``SUBJID, AETERM, GRADE, SERIOUS, OUTCOME, ACTION, PT, SOC`` (PT/SOC NaN when
        the verbatim term is not in the dictionary).
    """
    ae = forms["ae"]
    coding = specs.dictionary.set_index("KEY")
    key = fold(ae["AETERM"])
    return pd.DataFrame({
        "SUBJID": ae["SUBJID"].str.strip(),
        "AETERM": ae["AETERM"],
        "GRADE": pd.to_numeric(ae["GRADE"], errors="coerce"),
        "SERIOUS": coded(ae["SERIOUS"], specs.codelists["NY"]),
        "OUTCOME": coded(ae["OUTCOME"], specs.codelists["OUT"]),
        "ACTION": coded(ae["ACTION"], specs.codelists["ACN"]),
        "PT": key.map(coding["PT"]),
        "SOC": key.map(coding["SOC"]),
    })


def derive_safety(forms: Forms, subj: pd.DataFrame, specs: AnalysisSpecs) -> pd.DataFrame:
    """Per-subject Table 3 flags (any AE of each kind; LVEF decline).

    Parameters
    ----------
    forms : mapping of str to DataFrame
    subj : pandas.DataFrame
        Output of :func:`derive_randomisation`.
    specs : AnalysisSpecs

    Returns
    -------
    pandas.DataFrame
        Indexed like ``subj``, boolean columns ``grade3_plus, serious, death_due_to_ae,
        discontinuation_due_to_ae, dose_reduction_due_to_grade3_ae, lvef_decline`` and,
        per special-interest key, ``<key>.all_grades`` and ``<key>.grade3_plus``.
    """
    ae = coded_ae(forms, specs)
    idx = subj.index
    g3 = ae["GRADE"] >= 3
    masks = {
        "grade3_plus": g3,
        "serious": ae["SERIOUS"].eq("Y"),
        "death_due_to_ae": ae["OUTCOME"].eq("FATAL"),
        "discontinuation_due_to_ae": ae["ACTION"].eq("DRUG WITHDRAWN"),
        "dose_reduction_due_to_grade3_ae": ae["ACTION"].eq("DOSE REDUCED") & g3,
    }
    for key, (level, name) in SPECIAL_INTEREST.items():
        hit = ae[level].eq(name)
        masks[f"{key}.all_grades"] = hit
        masks[f"{key}.grade3_plus"] = hit & g3
    out = pd.DataFrame({k: _flag(ae["SUBJID"], m, idx) for k, m in masks.items()}, index=idx)
    out["lvef_decline"] = derive_lvef_decline(forms, idx)
    return out


def derive_lvef_decline(forms: Forms, index: pd.Index) -> pd.Series:
    """Any post-screening LVEF < 50 % or a fall of >= 15 points from the Screening value.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    index : pandas.Index
        Subjects to flag.

    Returns
    -------
    pandas.Series of bool
    """
    lv = forms["lvef"]
    sid = lv["SUBJID"].str.strip()
    value = pd.to_numeric(lv["LVEF"], errors="coerce")
    is_base = fold(lv["VISIT"]).eq(LVEF_BASELINE_VISIT)
    base = value[is_base].groupby(sid[is_base]).first()
    fall = base.reindex(sid).to_numpy() - value.to_numpy()
    # A missing Screening value leaves only the < 50 % criterion (fall is NaN -> False).
    decline = ~is_base & ((value < 50) | pd.Series(fall >= 15 - _EPS, index=lv.index))
    return _flag(sid, decline, index)


def derive_subjects(forms: Forms, specs: AnalysisSpecs | None = None) -> pd.DataFrame:
    """The QC subject-level frame: populations, baseline, time-to-event and safety flags.

    Parameters
    ----------
    forms : mapping of str to DataFrame
        Raw forms as returned by :func:`trialflow.rawdata.read_forms`.
    specs : AnalysisSpecs, optional
        Loaded from ``specs/`` when omitted.

    Returns
    -------
    pandas.DataFrame
        One row per randomised subject (index SUBJID), columns of
        :func:`derive_randomisation`, :func:`derive_baseline`,
        :func:`derive_prior_therapy`, :func:`derive_pfs`, :func:`derive_response`,
        :func:`derive_os`, :func:`derive_ttd`, :func:`derive_exposure`,
        :func:`derive_safety`, plus ``MEASPOP`` (ITT and measurable), ``TDM1POP``
        (ITT and T-DM1 latest).
    """
    specs = specs or load_analysis_specs()
    subj = derive_randomisation(forms, specs)
    tu = tumour_assessments(forms, subj, specs)
    pfs = derive_pfs(forms, subj, tu, specs)
    parts = [subj, derive_baseline(forms, subj, specs), derive_prior_therapy(forms, subj, specs),
             pfs, derive_response(subj, tu, pfs, specs), derive_os(forms, subj, specs),
             derive_ttd(forms, subj, specs), derive_exposure(forms, subj, specs),
             derive_safety(forms, subj, specs)]
    out = pd.concat(parts, axis=1)
    out["MEASPOP"] = out["ITT"] & out["MEAS"]
    out["TDM1POP"] = out["ITT"] & out["TDM1LAST"]
    return out


# =========================================================================== summaries


def _pct(n: float, total: float) -> float:
    """100 n / total; NaN for an empty denominator."""
    return 100.0 * n / total if total else math.nan


def _by_arm(adsl: pd.DataFrame, population: str, specs: AnalysisSpecs
            ) -> dict[str, pd.DataFrame]:
    """Subjects of a population, split by randomised arm (test arm first)."""
    pop = adsl.loc[adsl[population]]
    return {arm: pop.loc[pop["ARM"].eq(arm)] for arm in specs.arms}


def _km_items(prefix: str, data: Mapping[str, pd.DataFrame], time: str, event: str
              ) -> dict[str, float]:
    """KM median and Brookmeyer-Crowley limits per arm, as ``<prefix>.<arm>.median`` etc."""
    out: dict[str, float] = {}
    for arm, d in data.items():
        km = fit_km(d[time], d[event])
        out[f"{prefix}.{arm}.median"] = km.median
        out[f"{prefix}.{arm}.lcl"] = km.median_lcl
        out[f"{prefix}.{arm}.ucl"] = km.median_ucl
    return out


def _model_data(data: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Both arms stacked for a Cox model / log-rank test."""
    return pd.concat(list(data.values()))


def summarise_populations(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """Analysis-population sizes per randomised arm.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        ``<population>.<arm>`` -> count, keys as in precious-targets.yaml.
    """
    flags = {"randomised": pd.Series(True, index=adsl.index), "itt": adsl["ITT"],
             "fas": adsl["FAS"], "safety": adsl["SAF"], "measurable_disease": adsl["MEASPOP"],
             "hrqol": adsl["HRQOL"], "tdm1_latest_regimen": adsl["TDM1POP"]}
    return {f"{name}.{arm}": int((flag & adsl["ARM"].eq(arm)).sum())
            for name, flag in flags.items() for arm in specs.arms}


def summarise_follow_up(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """Median [Q1, Q3] of the OS times (months, PCTLDEF=5) of the ITT; Wilcoxon p.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        ``overall|<arm>.median|q1|q3`` and ``p_between_arms``.
    """
    data = _by_arm(adsl, "ITT", specs)
    groups = {"overall": adsl.loc[adsl["ITT"], "OS_MONTHS"],
              **{arm: d["OS_MONTHS"] for arm, d in data.items()}}
    out: dict[str, float] = {}
    for name, months in groups.items():
        q1, med, q3 = sas_quartiles(months)
        out.update({f"{name}.median": med, f"{name}.q1": q1, f"{name}.q3": q3})
    test, control = specs.arms
    out["p_between_arms"] = wilcoxon_rank_sum_p(data[test]["OS_MONTHS"],
                                                data[control]["OS_MONTHS"])
    return out


def summarise_table1(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """Table 1 (ITT): demography, disease and prior therapy per arm.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        Keys as in ``table1_baseline`` of precious-targets.yaml.
    """
    out: dict[str, float] = {}
    for arm, d in _by_arm(adsl, "ITT", specs).items():
        out[f"age_years.{arm}.median"] = float(sas_percentile(d["AGE"], 0.5))
        out[f"age_years.{arm}.min"] = float(d["AGE"].min())
        out[f"age_years.{arm}.max"] = float(d["AGE"].max())
        counts = {
            "ecog_ps.0": d["ECOG"].eq(0),
            "ecog_ps.1, 2": d["ECOG"].isin([1, 2]),
            "estrogen_receptor.positive": d["ER"].eq("POSITIVE"),
            "estrogen_receptor.negative": d["ER"].eq("NEGATIVE"),
            "visceral_disease": d["VISCERAL"],
            "metastatic_site.lung": d["METLUNG"],
            "metastatic_site.liver": d["METLIVER"],
            "metastatic_site.bone": d["METBONE"],
            "metastatic_site.brain": d["METBRAIN"],
            "measurable_disease": d["MEAS"],
            "tdm1_latest_regimen": d["TDM1LAST"],
        }
        counts.update({f"previous_ct_regimens.{n}": d["NREG"].eq(n) for n in (2, 3, 4, 5)})
        for line, (key, cut) in PERTUZUMAB_CUTOFF.items():
            on_line = d["PERLINE"].eq(line)
            counts[f"{key}.<{cut}"] = on_line & (d["PERDUR"] < cut)
            counts[f"{key}.>={cut}"] = on_line & (d["PERDUR"] >= cut)
        counts.update({f"prior_anti_her2_for_la_mbc.{k}": d[f"ANY_{col}"]
                       for k, col in ANTI_HER2.items()})
        out.update({f"{k}.{arm}": int(v.sum()) for k, v in counts.items()})
    return out


def summarise_pfs(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """Primary end-point: PFS in the ITT.

    The published "stratified HR 0.76 (upper 0.967)" is matched by a Cox model WITHOUT
    strata: the published se (~0.146) is the floor 2/sqrt(184) for 184 events, which a
    model with 16 strata cannot reach (stratifying inflates the se). The p-value is the
    one-sided stratified (16 strata) log-rank test.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        Keys as in ``pfs_itt`` of precious-targets.yaml.
    """
    data = _by_arm(adsl, "ITT", specs)
    out: dict[str, float] = {}
    for arm, d in data.items():
        events = int(d["PFS_EVENT"].sum())
        clin = int(d["PFS_CLIN"].sum())
        out[f"events.{arm}"] = events
        out[f"event_pct.{arm}"] = _pct(events, len(d))
        out[f"clinical_progression_events.{arm}"] = clin
        out[f"clinical_progression_pct_of_events.{arm}"] = _pct(clin, events)
    out.update(_km_items("median", data, "PFS_MONTHS", "PFS_EVENT"))
    both = _model_data(data)
    cox = fit_cox(both["PFS_MONTHS"], both["PFS_EVENT"], both["TRT"])
    out["hr_stratified.hr"] = cox.hr
    out["hr_stratified.upper"] = cox.hr_upper_1s
    lr = logrank_test(both["PFS_MONTHS"], both["PFS_EVENT"], both["TRT"],
                      strata=both[list(STRATA)])
    out["p_stratified_logrank_one_sided"] = lr.p_1s
    return out


def summarise_pfs_tdm1(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """PFS in the T-DM1-latest subgroup: KM, unstratified Cox and log-rank (one-sided).

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        Keys as in ``pfs_tdm1_latest`` of precious-targets.yaml.
    """
    data = _by_arm(adsl, "TDM1POP", specs)
    out: dict[str, float] = {f"n.{arm}": len(d) for arm, d in data.items()}
    out.update(_km_items("median", data, "PFS_MONTHS", "PFS_EVENT"))
    both = _model_data(data)
    cox = fit_cox(both["PFS_MONTHS"], both["PFS_EVENT"], both["TRT"])
    out["hr_unstratified.hr"] = cox.hr
    out["hr_unstratified.upper"] = cox.hr_upper_1s
    out["p_one_sided"] = logrank_test(both["PFS_MONTHS"], both["PFS_EVENT"], both["TRT"]).p_1s
    return out


def summarise_os(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """OS in the ITT: deaths, KM, unstratified Cox and log-rank (one-sided).

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        Keys as in ``os_itt`` of precious-targets.yaml.
    """
    data = _by_arm(adsl, "ITT", specs)
    out: dict[str, float] = {}
    for arm, d in data.items():
        deaths = int(d["OS_EVENT"].sum())
        out[f"deaths.{arm}"] = deaths
        out[f"death_pct.{arm}"] = _pct(deaths, len(d))
    out.update(_km_items("median", data, "OS_MONTHS", "OS_EVENT"))
    both = _model_data(data)
    cox = fit_cox(both["OS_MONTHS"], both["OS_EVENT"], both["TRT"])
    out["hr_unstratified.hr"] = cox.hr
    out["hr_unstratified.upper"] = cox.hr_upper_1s
    out["p_one_sided"] = logrank_test(both["OS_MONTHS"], both["OS_EVENT"], both["TRT"]).p_1s
    return out


def summarise_response(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """Table 2: best overall response, ORR, odds ratio and duration of response.

    ORR = CR + PR over the measurable patients with a known BOR (UNKNOWN and MISSING
    excluded), with the one-sided 95 % Clopper-Pearson upper limit (in %). The odds
    ratio is Woolf's over ALL measurable patients (responders vs non-responders), with
    its one-sided 95 % upper limit. DoR: KM median and BC upper limit per arm, Cox HR
    unstratified and stratified (16 strata) with one-sided upper limits.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        Keys as in ``table2_response`` of precious-targets.yaml.
    """
    data = _by_arm(adsl, "MEASPOP", specs)
    out: dict[str, float] = {}
    resp: dict[str, tuple[int, int]] = {}
    for arm, d in data.items():
        counts = d["BOR"].value_counts()
        for cat, key in [("CR", "CR"), ("PR", "PR"), ("SD", "SD"), ("PD", "PD"),
                         ("UNKNOWN", "unknown"), ("MISSING", "missing")]:
            n = int(counts.get(cat, 0))
            out[f"best_overall_response.{key}.{arm}"] = n
            out[f"pct_of_measurable.{key}.{arm}"] = _pct(n, len(d))
        responders = int(d["RESPONDER"].sum())
        known = int(d["BOR"].isin(list(BOR_RANK)).sum())
        resp[arm] = (responders, len(d))
        out[f"orr.n.{arm}"] = responders
        out[f"orr.pct.{arm}"] = _pct(responders, known)
        upper = clopper_pearson(responders, known, sided=1)[1] if known else math.nan
        out[f"orr.upper.{arm}"] = 100.0 * float(upper)
    test, control = specs.arms
    or_, _, _, or_upper = woolf_odds_ratio(*resp[test], *resp[control])
    out["odds_ratio.or"] = or_
    out["odds_ratio.upper"] = or_upper

    dor = {arm: d.loc[d["RESPONDER"]] for arm, d in data.items()}
    for arm, d in dor.items():
        km = fit_km(d["DOR_MONTHS"], d["DOR_EVENT"])
        out[f"duration_of_response.n.{arm}"] = len(d)
        out[f"duration_of_response.median_months.{arm}"] = km.median
        out[f"duration_of_response.median_upper.{arm}"] = km.median_ucl
    both = _model_data(dor)
    for label, strata in [("hr_unstratified", None), ("hr_stratified", both[list(STRATA)])]:
        cox = fit_cox(both["DOR_MONTHS"], both["DOR_EVENT"], both["TRT"], strata=strata)
        out[f"duration_of_response.{label}.hr"] = cox.hr
        out[f"duration_of_response.{label}.upper"] = cox.hr_upper_1s
    return out


def summarise_exposure(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """Cycles of trastuzumab/pertuzumab per safety patient: median, min, max by arm.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        ``cycles_median_min_max.<arm>.median|min|max``.
    """
    out: dict[str, float] = {}
    for arm, d in _by_arm(adsl, "SAF", specs).items():
        out[f"cycles_median_min_max.{arm}.median"] = float(sas_percentile(d["CYCLES"], 0.5))
        out[f"cycles_median_min_max.{arm}.min"] = int(d["CYCLES"].min())
        out[f"cycles_median_min_max.{arm}.max"] = int(d["CYCLES"].max())
    return out


def summarise_safety(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """Table 3 (safety population, by randomised arm): n, %, Fisher two-sided p.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        Keys as in ``table3_safety`` of precious-targets.yaml.
    """
    data = _by_arm(adsl, "SAF", specs)
    test, control = specs.arms
    out: dict[str, float] = {}
    rows = ["grade3_plus", "serious", "death_due_to_ae", "discontinuation_due_to_ae",
            "dose_reduction_due_to_grade3_ae", "lvef_decline"]
    for row in rows:
        n = {arm: int(d[row].sum()) for arm, d in data.items()}
        for arm, d in data.items():
            out[f"{row}.n.{arm}"] = n[arm]
            out[f"{row}.pct.{arm}"] = _pct(n[arm], len(d))
        out[f"{row}.p"] = fisher_exact_2s(n[test], len(data[test]), n[control],
                                          len(data[control]))
    for key in SPECIAL_INTEREST:
        for arm, d in data.items():
            for level in ("all_grades", "grade3_plus"):
                out[f"special_interest.{key}.{arm}.{level}"] = int(d[f"{key}.{level}"].sum())
    return out


def summarise_ttd(adsl: pd.DataFrame, specs: AnalysisSpecs) -> dict[str, float]:
    """Time to B-TOI deterioration in the HR-QoL population.

    The published "stratified HR 1.28 (0.856-1.903)" is matched by an unstratified Cox
    model (same reason as for PFS: the published se is the unstratified floor for the
    number of events); the p-value is the two-sided stratified (16 strata) log-rank.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Output of :func:`derive_subjects`.
    specs : AnalysisSpecs

    Returns
    -------
    dict
        Keys as in ``ttd_bt_oi`` of precious-targets.yaml.
    """
    data = _by_arm(adsl, "HRQOL", specs)
    out: dict[str, float] = {}
    for arm, d in data.items():
        events = int(d["TTD_EVENT"].sum())
        out[f"population.{arm}"] = len(d)
        out[f"events.{arm}"] = events
        out[f"event_pct.{arm}"] = _pct(events, len(d))
    out.update(_km_items("median", data, "TTD_MONTHS", "TTD_EVENT"))
    both = _model_data(data)
    cox = fit_cox(both["TTD_MONTHS"], both["TTD_EVENT"], both["TRT"])
    out["hr_stratified_two_sided.hr"] = cox.hr
    out["hr_stratified_two_sided.low"] = cox.hr_lcl
    out["hr_stratified_two_sided.high"] = cox.hr_ucl
    out["p_logrank_two_sided"] = logrank_test(both["TTD_MONTHS"], both["TTD_EVENT"],
                                              both["TRT"], strata=both[list(STRATA)]).p_2s
    return out


#: Summary function of each analysis block.
SUMMARIES = {
    "populations": summarise_populations,
    "follow_up_months": summarise_follow_up,
    "table1_baseline": summarise_table1,
    "pfs_itt": summarise_pfs,
    "pfs_tdm1_latest": summarise_pfs_tdm1,
    "os_itt": summarise_os,
    "table2_response": summarise_response,
    "exposure": summarise_exposure,
    "table3_safety": summarise_safety,
    "ttd_bt_oi": summarise_ttd,
}


# =========================================================================== comparison


class Row(NamedTuple):
    """One published number and its reproduction.

    ``computed`` is rounded half up to the printed precision (NaN = not estimable).
    """

    analysis: str
    item: str
    published: float | None
    computed: float
    match: bool


#: Printed precision where it is not the default (count: exact; other numbers: 1
#: decimal, i.e. percentages, months, cycles). YAML drops trailing zeros (0.490, 1.000),
#: so the precision is written down here from the paper.
DECIMALS: dict[tuple[str, str], int] = {
    ("follow_up_months", "p_between_arms"): 3,
    ("pfs_itt", "hr_stratified.hr"): 2,
    ("pfs_itt", "hr_stratified.upper"): 3,
    ("pfs_itt", "p_stratified_logrank_one_sided"): 3,
    ("pfs_tdm1_latest", "hr_unstratified.hr"): 2,
    ("pfs_tdm1_latest", "hr_unstratified.upper"): 2,
    ("pfs_tdm1_latest", "p_one_sided"): 3,
    ("os_itt", "hr_unstratified.hr"): 2,
    ("os_itt", "hr_unstratified.upper"): 2,
    ("os_itt", "p_one_sided"): 3,
    ("table2_response", "odds_ratio.or"): 3,
    ("table2_response", "odds_ratio.upper"): 3,
    ("table2_response", "duration_of_response.hr_unstratified.hr"): 3,
    ("table2_response", "duration_of_response.hr_unstratified.upper"): 3,
    ("table2_response", "duration_of_response.hr_stratified.hr"): 3,
    ("table2_response", "duration_of_response.hr_stratified.upper"): 3,
    ("ttd_bt_oi", "hr_stratified_two_sided.hr"): 2,
    ("ttd_bt_oi", "hr_stratified_two_sided.low"): 3,
    ("ttd_bt_oi", "hr_stratified_two_sided.high"): 3,
    ("ttd_bt_oi", "p_logrank_two_sided"): 3,
}


def decimals(analysis: str, item: str, published: float | None) -> int:
    """Printed precision of one published number.

    Parameters
    ----------
    analysis, item : str
        Block and item key.
    published : float or None
        The published value (its type tells a count from a measure).

    Returns
    -------
    int
        Decimals to round to; Table 3 p-values have 3, counts 0, other numbers 1
        unless listed in :data:`DECIMALS`.
    """
    if (analysis, item) in DECIMALS:
        return DECIMALS[analysis, item]
    if analysis == "table3_safety" and item.endswith(".p"):
        return 3
    if isinstance(published, int) and not isinstance(published, bool):
        return 0
    return 1


def _list_labels(path: Sequence[str], n: int, arms: Sequence[str]) -> tuple[str, ...]:
    """Names of the elements of a list in precious-targets.yaml, from where it sits."""
    if path and path[-1] in arms:
        if n == 3:
            return ("median", "min", "max") if "cycles_median_min_max" in path else (
                "median", "lcl", "ucl")
        if n == 2 and "special_interest" in path:
            return ("all_grades", "grade3_plus")
    elif n == len(arms):
        return tuple(arms)
    raise ValueError(f"unexpected list of {n} at {'.'.join(path)} in the targets")


def flatten_targets(block: Mapping[str, Any], arms: Sequence[str] = ("PTC", "TC"),
                    path: tuple[str, ...] = ()) -> dict[str, float | None]:
    """Numeric leaves of one targets block as ``dotted.item -> value``.

    Text leaves (notes, definitions) are not numbers to reproduce and are skipped; a
    ``null`` inside a list (not reached) is kept as None.

    Parameters
    ----------
    block : mapping
        One block of precious-targets.yaml.
    arms : sequence of str
        Arm codes in the order the yaml lists per-arm pairs.
    path : tuple of str
        Keys above ``block`` (recursion).

    Returns
    -------
    dict
    """
    out: dict[str, float | None] = {}
    for key, value in block.items():
        here = (*path, str(key))
        if isinstance(value, Mapping):
            out.update(flatten_targets(value, arms, here))
        elif isinstance(value, list):
            labels = _list_labels(here, len(value), arms)
            for label, v in zip(labels, value, strict=True):
                if v is None or (isinstance(v, int | float) and not isinstance(v, bool)):
                    out[".".join((*here, label))] = v
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[".".join(here)] = value
    return out


def load_targets(path: Path | None = None) -> dict[str, Any]:
    """Read precious-targets.yaml (TRIALFLOW_TARGETS, else :data:`DEFAULT_TARGETS`).

    Parameters
    ----------
    path : Path, optional

    Returns
    -------
    dict
    """
    path = Path(path or os.environ.get("TRIALFLOW_TARGETS") or DEFAULT_TARGETS)
    return read_yaml(path)


def compare(analysis: str, item: str, published: float | None, computed: float) -> Row:
    """Round a computed number to the published precision and compare.

    Parameters
    ----------
    analysis, item : str
    published : float or None
        None means "not reached / not estimable": matched by a NaN.
    computed : float

    Returns
    -------
    Row
    """
    d = decimals(analysis, item, published)
    value = float(round_half_up(computed, d)) if computed is not None else math.nan
    if d == 0 and not math.isnan(value):
        value = int(value)
    if published is None:
        match = math.isnan(value)
    else:
        # Both sides rounded to d decimals: equal up to float noise in the last place.
        match = not math.isnan(value) and abs(
            value - float(round_half_up(published, d))) < 0.5 * 10.0 ** -(d + 1)
    return Row(analysis, item, published, value, bool(match))


def reproduce(forms: Forms, targets: Mapping[str, Any] | None = None,
              specs: AnalysisSpecs | None = None) -> list[Row]:
    """Reproduce every published number the analysis conventions cover.

    Parameters
    ----------
    forms : mapping of str to DataFrame
        Raw forms (text), e.g. from :func:`trialflow.rawdata.read_forms`.
    targets : mapping, optional
        Parsed precious-targets.yaml (read by :func:`load_targets` when omitted).
    specs : AnalysisSpecs, optional
        Loaded from ``specs/`` when omitted.

    Returns
    -------
    list of Row
        One per numeric leaf of the covered blocks, in the yaml's order. A published
        number with no computed counterpart raises KeyError: nothing is left out
        silently.
    """
    specs = specs or load_analysis_specs()
    targets = targets if targets is not None else load_targets()
    adsl = derive_subjects(forms, specs)
    rows: list[Row] = []
    for block in BLOCKS:
        computed = SUMMARIES[block](adsl, specs)
        for item, published in flatten_targets(targets[block], specs.arms).items():
            if item not in computed:
                raise KeyError(f"{block}.{item} is published but not computed")
            rows.append(compare(block, item, published, computed[item]))
    return rows


def _show(value: float | None) -> str:
    if value is None:
        return "NR"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return str(value)


def format_comparison(rows: Iterable[Row]) -> str:
    """The comparison as a fixed-width text table (for the lead's note).

    Parameters
    ----------
    rows : iterable of Row

    Returns
    -------
    str
        One line per row: analysis, item, published, computed, ``ok``/``MISS``; a
        closing line counts the matches.
    """
    rows = list(rows)
    width = max([len(r.item) for r in rows] + [4])
    lines = [f"{'analysis':<17} {'item':<{width}} {'published':>10} {'computed':>10}  match",
             "-" * (17 + width + 30)]
    lines += [f"{r.analysis:<17} {r.item:<{width}} {_show(r.published):>10} "
              f"{_show(r.computed):>10}  {'ok' if r.match else 'MISS'}" for r in rows]
    lines.append(f"{sum(r.match for r in rows)} of {len(rows)} published numbers reproduced")
    return "\n".join(lines)


def print_comparison(rows: Iterable[Row], file: Any = None) -> None:
    """Print :func:`format_comparison` (to stdout by default)."""
    print(format_comparison(rows), file=file or sys.stdout)


# =========================================================================== consistency


def consistency_findings(forms: Forms, specs: AnalysisSpecs | None = None) -> pd.DataFrame:
    """Raw records that contradict each other or the analysis conventions.

    Checks (each vectorised over subjects):

    * strata as entered at randomisation vs the CRF (ER, visceral, number of LA/MBC
      lines, pertuzumab duration class);
    * prior pertuzumab on more than one LA/MBC line, on line 3 or later, or on none;
      a partial regimen start date that makes the duration class depend on the imputed
      day;
    * a TC patient given pertuzumab (one is expected per the paper);
    * measurable patients with NON-CR/NON-PD or blank overall responses post-baseline;
      assessments after the first progression (the BOR window excludes them);
    * event or assessment dates before randomisation; death before a tumour assessment
      or before clinical progression; DEAD status without a death date; ITT subjects
      without a survival record or without any OS date;
    * censored patients seen (tumour assessment or dose) after their last-contact date;
      visits or doses after death; study drug given after the first progression or
      after the end-of-treatment date;
    * a fatal AE without a death due to an AE in the survival form, and vice versa;
    * responders whose DoR would be < 1 day;
    * AE verbatim terms not in the coding dictionary; FACT-B later questionnaires
      dated on or before baseline.

    Parameters
    ----------
    forms : mapping of str to DataFrame
    specs : AnalysisSpecs, optional

    Returns
    -------
    pandas.DataFrame
        ``check, SUBJID, detail``, one row per finding.
    """
    specs = specs or load_analysis_specs()
    adsl = derive_subjects(forms, specs)
    itt = adsl.loc[adsl["ITT"]]
    tu = tumour_assessments(forms, adsl, specs)
    found: list[pd.DataFrame] = []

    def add(check: str, mask: pd.Series, detail: pd.Series | str) -> None:
        sel = mask.fillna(False).astype(bool)
        d = detail if isinstance(detail, str) else detail[sel].astype(str)
        found.append(pd.DataFrame({"check": check, "SUBJID": mask.index[sel.to_numpy()],
                                   "detail": d if isinstance(d, str) else d.to_numpy()}))

    # Strata as entered vs the CRF.
    add("stratum ER differs from baseline ER", itt["STRER"].ne(itt["ER"]),
        "STRER=" + itt["STRER"].astype(str) + " ER=" + itt["ER"].astype(str))
    visc = np.where(itt["VISCERAL"], "VISCERAL", "NON-VISCERAL")
    add("stratum visceral differs from baseline VISCERAL", itt["STRVISC"].ne(visc),
        "STRVISC=" + itt["STRVISC"] + " VISCERAL=" + pd.Series(visc, index=itt.index))
    nreg = np.where(itt["NREG"] >= 3, ">=3", itt["NREG"].astype(str))
    add("stratum number of regimens differs from LA/MBC lines", itt["STRNREG"].ne(nreg),
        "STRNREG=" + itt["STRNREG"] + " lines=" + itt["NREG"].astype(str))
    cut = itt["PERLINE"].map({line: c for line, (_, c) in PERTUZUMAB_CUTOFF.items()})
    per_class = pd.Series(np.where(itt["PERDUR"] < cut, "SHORT", "LONG"), index=itt.index)
    add("stratum pertuzumab duration differs from prior-therapy dates",
        cut.notna() & itt["PERDUR"].notna() & itt["STRPER"].ne(per_class),
        "STRPER=" + itt["STRPER"] + " line=" + itt["PERLINE"].astype(str)
        + " days=" + itt["PERDUR"].astype(str))

    # Prior pertuzumab.
    lam = prior_lambc(forms, specs)
    per = lam.loc[lam["PERTUZ"]]
    n_per = per.groupby("SUBJID").size().reindex(itt.index).fillna(0)
    add("pertuzumab on more than one LA/MBC line", n_per > 1,
        n_per.astype(int).astype(str) + " lines")
    add("no LA/MBC pertuzumab regimen", n_per.eq(0), "perioperative only?")
    add("pertuzumab regimen on line >= 3 (no duration class)",
        itt["PERLINE"] >= 3, "line=" + itt["PERLINE"].astype(str))
    raw = forms["priorther"]
    partial = raw["STDT"].str.strip().str.startswith("UN")
    latest_day = (edc_date(raw["STDT"]) + pd.offsets.MonthEnd(0))
    dur_late = (edc_date(raw["ENDT"]) - latest_day).dt.days + 1
    sel = (fold(raw["SETTING"]).eq("LA/MBC") & _yes(raw["PERTUZ"], specs) & partial)
    line = pd.to_numeric(raw["LINE"], errors="coerce")
    cutoff = line.map({ln: c for ln, (_, c) in PERTUZUMAB_CUTOFF.items()})
    dur_early = (edc_date(raw["ENDT"]) - edc_date(raw["STDT"])).dt.days + 1
    ambiguous = sel & ((dur_early >= cutoff) != (dur_late >= cutoff))
    amb = pd.Series(ambiguous.to_numpy(), index=raw["SUBJID"].str.strip())
    amb = amb.groupby(level=0).any().reindex(itt.index, fill_value=False)
    add("pertuzumab duration class depends on the imputed start day", amb,
        "partial STDT, first-of-month imputation used")

    # Treatment actually received.
    add("randomised to control arm but given pertuzumab",
        adsl["SAF"] & adsl["ARM"].eq(specs.control_arm) & adsl["PERTUZ_GIVEN"],
        "analysed by randomised arm")

    # Tumour assessments.
    meas_ids = adsl.index[adsl["MEASPOP"]]
    odd = tu["SUBJID"].isin(meas_ids) & ~tu["OVERALL"].isin(["CR", "PR", "SD", "PD", "NE"])
    n_odd = odd.groupby(tu["SUBJID"]).sum().reindex(adsl.index).fillna(0)
    add("measurable patient with NON-CR/NON-PD or blank overall response", n_odd > 0,
        n_odd.astype(int).astype(str) + " assessment(s)")
    progdt = adsl["PROGDT"].reindex(tu["SUBJID"]).to_numpy()
    after = pd.Series(tu["ADT"].to_numpy() > progdt, index=tu.index)
    n_after = after.groupby(tu["SUBJID"]).sum().reindex(adsl.index).fillna(0)
    add("tumour assessment after first progression", n_after > 0,
        n_after.astype(int).astype(str) + " assessment(s) excluded from BOR")
    clin_first = adsl["CLINDT"].notna() & (adsl["PDDT"].isna() | (adsl["CLINDT"] < adsl["PDDT"]))
    add("assessments after clinical progression (BOR window reading matters)",
        clin_first & (n_after > 0) & adsl["MEASPOP"], "measurable patient")
    before = tu["ADY"] < 1
    add("post-baseline tumour assessment before randomisation",
        before.groupby(tu["SUBJID"]).any().reindex(adsl.index, fill_value=False), "ADY < 1")

    # Dates and survival.
    add("PFS date before randomisation", adsl["PFS_DAYS"] < 1,
        "day " + adsl["PFS_DAYS"].astype(str))
    last_tu = tu.groupby("SUBJID")["ADT"].max().reindex(adsl.index)
    add("death before a tumour assessment", adsl["DTHDT"] < last_tu,
        "death " + adsl["DTHDT"].astype(str) + " last assessment " + last_tu.astype(str))
    add("death before clinical progression", adsl["DTHDT"] < adsl["CLINDT"],
        "death " + adsl["DTHDT"].astype(str) + " clinprog " + adsl["CLINDT"].astype(str))
    sv = forms["survival"]
    dead_no_date = pd.Series((fold(sv["STATUS"]).eq("DEAD") & sv["DTHDT"].str.strip().eq(""))
                             .to_numpy(), index=sv["SUBJID"].str.strip())
    add("status DEAD without death date",
        dead_no_date.groupby(level=0).any().reindex(adsl.index, fill_value=False),
        "DTHDT blank")
    has_sv = adsl.index.isin(sv["SUBJID"].str.strip())
    add("ITT subject without survival record", adsl["ITT"] & ~has_sv, "no row")
    add("ITT subject without death or last-contact date", adsl["ITT"] & adsl["OS_DAYS"].isna(),
        "no OS date")
    add("OS date before randomisation", adsl["OS_DAYS"] < 1,
        "day " + adsl["OS_DAYS"].astype(str))
    # A patient seen at a visit was alive then: the last-contact date of a censored
    # patient cannot precede a tumour assessment or a dose (OS would be censored early).
    ex = forms["exposure"]
    ex_dt = pd.Series(edc_date(ex["STDT"]).to_numpy(), index=ex["SUBJID"].str.strip())
    seen = pd.concat([tu.set_index("SUBJID")["ADT"], ex_dt]).groupby(level=0).max()
    seen = seen.reindex(adsl.index)
    add("alive at a visit after the last-contact date",
        adsl["ITT"] & adsl["OS_EVENT"].eq(0) & (seen > adsl["OS_ADT"]),
        "last contact " + adsl["OS_ADT"].astype(str) + ", seen " + seen.astype(str))
    add("visit or dose after death", seen > adsl["DTHDT"],
        "death " + adsl["DTHDT"].astype(str) + ", seen " + seen.astype(str))
    after_prog = pd.Series(ex_dt.to_numpy() > adsl["PROGDT"].reindex(ex_dt.index).to_numpy(),
                           index=ex_dt.index)
    n_dose = after_prog.groupby(level=0).sum().reindex(adsl.index, fill_value=0)
    add("study drug given after the first progression", n_dose > 0,
        n_dose.astype(str) + " administration(s)")
    eot = forms["eot"]
    eot_dt = pd.Series(edc_date(eot["EOTDT"]).to_numpy(), index=eot["SUBJID"].str.strip())
    eot_dt = eot_dt.groupby(level=0).min()
    after_eot = pd.Series(ex_dt.to_numpy() > eot_dt.reindex(ex_dt.index).to_numpy(),
                          index=ex_dt.index)
    n_eot = after_eot.groupby(level=0).sum().reindex(adsl.index, fill_value=0)
    add("study drug given after the end-of-treatment date", n_eot > 0,
        n_eot.astype(str) + " administration(s)")
    # Table 3 counts AE deaths from AE outcome; survival records the cause of death.
    ae = coded_ae(forms, specs)
    fatal = _flag(ae["SUBJID"], ae["OUTCOME"].eq("FATAL"), adsl.index)
    cause = pd.Series(coded(sv["DTHCAUSE"], specs.codelists["DTHCAUS"]).to_numpy(),
                      index=sv["SUBJID"].str.strip()).groupby(level=0).first()
    cause = cause.reindex(adsl.index)
    add("fatal AE without a death recorded as due to an AE", fatal & cause.ne("ADVERSE EVENT"),
        "DTHCAUSE=" + cause.astype(str))
    add("death due to an AE without a fatal AE", ~fatal & cause.eq("ADVERSE EVENT"),
        "no AE with OUTCOME FATAL")
    add("responder with DoR < 1 day", adsl["DOR_DAYS"] < 1,
        "DoR days " + adsl["DOR_DAYS"].astype(str))

    # Coding and questionnaires.
    unc = ae["PT"].isna()
    found.append(pd.DataFrame({"check": "AE verbatim not in dictionary",
                               "SUBJID": ae.loc[unc, "SUBJID"].to_numpy(),
                               "detail": ae.loc[unc, "AETERM"].to_numpy()}))
    qs = score_factb(forms["factb"], specs.instrument)
    base_dt = qs.loc[qs["VISIT"].eq(FACTB_BASELINE_VISIT)].groupby("SUBJID")["QSDT"].min()
    early = qs["VISIT"].ne(FACTB_BASELINE_VISIT) & (
        qs["QSDT"].to_numpy() <= base_dt.reindex(qs["SUBJID"]).to_numpy())
    found.append(pd.DataFrame({"check": "FACT-B questionnaire dated on/before baseline",
                               "SUBJID": qs.loc[early, "SUBJID"].to_numpy(),
                               "detail": qs.loc[early, "VISIT"].to_numpy()}))
    return pd.concat(found, ignore_index=True)


# =========================================================================== command line


def read_raw(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """Read every raw form of ``raw_dir`` as text (record-level findings are ignored here).

    Parameters
    ----------
    raw_dir : Path

    Returns
    -------
    dict of str to DataFrame
    """
    frames, _ = read_forms(Path(raw_dir), load_forms(), load_codelists())
    return frames


def main(argv: Sequence[str] | None = None) -> int:
    """Print the comparison table and the consistency findings for a raw directory.

    Parameters
    ----------
    argv : sequence of str, optional
        ``[RAW_DIR]``; default ``$TRIALFLOW_RAW`` or ``build/raw``.

    Returns
    -------
    int
        0 when every published number is reproduced, 1 otherwise.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    raw_dir = Path(args[0] if args else os.environ.get("TRIALFLOW_RAW", "build/raw"))
    forms = read_raw(raw_dir)
    rows = reproduce(forms)
    print_comparison(rows)
    findings = consistency_findings(forms)
    print(f"\nConsistency findings ({len(findings)}):")
    if len(findings):
        summary = findings.groupby("check", sort=False)["SUBJID"].agg(
            n="size", subjects=lambda s: ", ".join(s.head(8)) + (" ..." if len(s) > 8 else ""))
        print(summary.to_string())
    return 0 if all(r.match for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
