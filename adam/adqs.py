"""ADQS: FACT-B scores per questionnaire (ADaMIG 1.3 BDS), from SDTM QS and ADSL.

One record per subject, questionnaire and score: the five subscales (PWB, SWB, EWB,
FWB, BCS) and the totals (BTOI, FACTG, FACTB), scored as the instrument's scoring guide
says (``specs/instruments/factb.yaml``, :mod:`adam.scoring`): reversed items score
4 - answer; a subscale with more than half of its items answered is prorated (sum x
items / answered); a total needs all its subscales and more than 80 % of its items.
A questionnaire whose score cannot be computed keeps its record with AVAL missing, so
that the number of items answered (NANSW) shows why.

Baseline (ABLFL) is the questionnaire of the baseline visit (cycle 1 day 1) dated on or
before the first dose, with a score. CHG is the change from it at later questionnaires;
CRIT1FL flags a deterioration of the instrument's deterioration score (B-TOI change
<= -5 points) at a post-baseline questionnaire (Y), or its absence (N).

Example
-------
>>> spec = resolve(load_dataset_spec(SPECS / "adam" / "adqs.yaml"), load_study())
... # doctest: +SKIP
>>> adqs = build({"QS": qs, "ADSL": adsl}, spec)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from adam.dates import convert_dtc_to_dt, derive_vars_dy
from adam.derive import (
    derive_var_base,
    derive_var_chg,
    derive_var_extreme_flag,
    derive_var_obs_number,
    derive_vars_merged,
    keep_spec_vars,
    run_starts,
)
from adam.scoring import score_instrument
from trialflow.spec import DatasetSpec

KEY = ["USUBJID"]
BY_VISIT = ["STUDYID", "USUBJID", "VISITNUM", "VISIT", "QSDTC"]


def score_parameters(instrument: Mapping[str, Any]) -> pd.DataFrame:
    """PARAMCD, PARAM, PARAMN and NITEM (items in the score) of the instrument's scores:
    the subscales, then the totals, in the instrument's order."""
    rows = []
    subs = instrument["subscales"]
    name = instrument.get("instrument", "")
    for code, sub in subs.items():
        rows.append((code, sub["label"], len(sub["items"])))
    for code, tot in instrument.get("totals", {}).items():
        rows.append((code, tot["label"], sum(len(subs[s]["items"]) for s in tot["subscales"])))
    out = pd.DataFrame(rows, columns=["PARAMCD", "_LABEL", "NITEM"])
    out["PARAM"] = [lab if lab.upper().startswith(name.split("-")[0].upper()) or not name
                    else f"{name} {lab}" for lab in out["_LABEL"]]
    out["PARAM"] = out["PARAM"] + " (" + out["PARAMCD"] + ")"
    out["PARAMN"] = np.arange(1, len(out) + 1, dtype="float64")
    out["NITEM"] = out["NITEM"].astype("float64")
    return out.drop(columns="_LABEL")


def derive_scores(qs: pd.DataFrame, instrument: Mapping[str, Any]) -> pd.DataFrame:
    """The scores of every questionnaire, long: the QS visit variables, ADT (QSDTC),
    PARAMCD, AVAL (missing when not scoreable), NANSW (items answered) and NITEM.

    ADSL (QOLFL) and ADQS each call it on their QS: the builders stay pure functions of
    their inputs (no cache keyed on a frame), at the cost of scoring QS twice.
    """
    scored = score_instrument(qs, dict(instrument), BY_VISIT)
    params = score_parameters(instrument)
    subs = instrument["subscales"]
    totals = instrument.get("totals", {})
    for code, tot in totals.items():
        scored[f"{code}_N"] = sum(scored[f"{s}_N"] for s in tot["subscales"])
    codes = [*subs, *totals]
    # One record per questionnaire and score, by subject, then score (in PARAMN order),
    # then questionnaire (in the order scored, by visit and date): ADQS's sort order, so
    # that the writer has no records to reorder (a copy of every column at 21,900). Each
    # column is one take of the questionnaires' (``row``) or the scores' (``score``).
    subject = np.cumsum(run_starts(*(scored[c].to_numpy() for c in ("STUDYID", "USUBJID"))))
    row = np.tile(np.arange(len(scored)), len(codes))
    score = np.repeat(np.arange(len(codes)), len(scored))
    by_subject = np.argsort(subject[row], kind="stable")
    row, score = row[by_subject], score[by_subject]
    long = pd.DataFrame({c: scored[c].to_numpy()[row] for c in BY_VISIT})
    long["PARAMCD"] = params["PARAMCD"].to_numpy()[score]
    long["AVAL"] = scored[codes].to_numpy(dtype="float64")[row, score]
    long["NANSW"] = scored[[f"{c}_N" for c in codes]].to_numpy(dtype="float64")[row, score]
    for c in params.columns.drop("PARAMCD"):
        long[c] = params[c].to_numpy()[score]
    # The date of each questionnaire, converted once (not once per score).
    long["ADT"] = convert_dtc_to_dt(scored["QSDTC"]).to_numpy()[row]
    return long


def derive_var_prorfl(dataset: pd.DataFrame) -> pd.DataFrame:
    """PRORFL = Y when the score was computed from fewer items than it has (prorated)."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    out["PRORFL"] = np.where(out["AVAL"].notna() & (out["NANSW"] < out["NITEM"]), "Y", "")
    return out


def derive_var_ablfl(dataset: pd.DataFrame, baseline_visitnum: float) -> pd.DataFrame:
    """ABLFL = Y on the score of the baseline visit dated on or before the first dose
    (TRTSDT), when it was scored; one per subject and parameter."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    out["_CAND"] = np.where(out["VISITNUM"].eq(baseline_visitnum) & out["AVAL"].notna()
                            & (out["ADT"] <= out["TRTSDT"]), "Y", "")
    out = derive_var_extreme_flag(out, ["USUBJID", "PARAMCD"], ["ADT"], "ABLFL", mode="last",
                                  filter={"_CAND": "Y"})
    del out["_CAND"]  # not drop(): that copies every column
    return out


def derive_var_postbaseline_chg(dataset: pd.DataFrame) -> pd.DataFrame:
    """BASE on every record of the subject and parameter; CHG = AVAL - BASE on the
    records dated after the baseline questionnaire."""
    out = derive_var_base(dataset, ["USUBJID", "PARAMCD"], "AVAL", "BASE")
    out = derive_vars_merged(out, out, ["USUBJID", "PARAMCD"], new_vars={"_BLDT": "ADT"},
                             filter_add={"ABLFL": "Y"})
    out["_POST"] = np.where(out["ADT"] > out["_BLDT"], "Y", "")
    out = derive_var_chg(out, {"_POST": "Y"})
    del out["_BLDT"], out["_POST"]  # not drop(): that copies every column
    return out


def derive_vars_crit(dataset: pd.DataFrame, paramcd: str, threshold: float) -> pd.DataFrame:
    """CRIT1 (its text) and CRIT1FL on the ``paramcd`` records with a change from
    baseline: Y when CHG <= ``threshold`` (a deterioration), else N."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    on = out["PARAMCD"].eq(paramcd) & out["CHG"].notna()
    text = f"{paramcd} change from baseline <= {threshold:g} points"
    crit = np.full(len(out), "", dtype=object)
    crit[on.to_numpy()] = text  # one shared text, not a string per record
    out["CRIT1"] = crit
    out["CRIT1FL"] = np.where(on & (out["CHG"] <= threshold), "Y", np.where(on, "N", ""))
    return out


def input_columns(spec: DatasetSpec) -> dict[str, set[str] | None]:
    """The SDTM variables :func:`build` reads, by domain (QS is the largest dataset)."""
    return {"QS": {*BY_VISIT, "QSTESTCD", "QSSTRESN"}}


def build(inputs: Mapping[str, pd.DataFrame], spec: DatasetSpec) -> pd.DataFrame:
    """ADQS from QS and ADSL (``inputs``) as ``spec`` declares it."""
    d = spec.derivation
    instrument = d["instrument"]
    adsl = inputs["ADSL"]
    qs = derive_scores(inputs["QS"], instrument)
    qs = qs[qs["USUBJID"].isin(adsl["USUBJID"])]
    qs = derive_vars_merged(qs.drop(columns="STUDYID"), adsl, KEY,
                            new_vars=list(d["adsl_vars"]))
    qs["AVISIT"] = qs["VISIT"]
    qs["AVISITN"] = qs["VISITNUM"].astype("float64")
    qs["PARCAT1"] = d["parcat1"]
    qs = derive_vars_dy(qs, "RANDDT", {"ADY": "ADT"})
    qs = derive_var_prorfl(qs)
    qs = derive_var_ablfl(qs, d["baseline_visitnum"])
    qs = derive_var_postbaseline_chg(qs)
    det = instrument["deterioration"]
    qs = derive_vars_crit(qs, det["score"], float(det["threshold"]))
    qs = derive_var_obs_number(qs, KEY, ["PARAMN", "ADT", "AVISITN"], "ASEQ")
    return keep_spec_vars(qs, spec)
