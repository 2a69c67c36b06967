"""QC derivation of ADQS, parameter BTOI (FACT-B Trial Outcome Index), from SDTM QS.

Sources: specs/adam/adqs.yaml (MT.AVAL, MT.ABLFL, MT.BASE, MT.CHG, MT.CRIT1) and
specs/instruments/factb.yaml (items, reversed items, proration, the 80 % rule of totals).
Only BTOI is derived: it is the paper's HR-QoL end-point (TTD in B-TOI) and the input of
ADSL.QOLFL and ADTTE TTDBTOI.
"""

from __future__ import annotations

import pandas as pd
from qc_common import sas_date, spec

#: Change from baseline at or below which B-TOI has deteriorated (factb.yaml).
_FACTB = spec("instruments/factb.yaml")
THRESHOLD = float(_FACTB["deterioration"]["threshold"])
CRIT1 = "BTOI change from baseline <= -5 points"
#: The questionnaire of a subject: QS records sharing these.
QUESTIONNAIRE = ["USUBJID", "VISITNUM", "QSDTC"]


def score_total(qs: pd.DataFrame, total: str = "BTOI") -> pd.DataFrame:
    """Score one FACT-B total on every questionnaire in QS.

    A subscale is ``sum of item scores x items / items answered`` when more than half of
    its items are answered (reversed items score ``4 - answer``); the total is the sum of
    its subscales when every one is scored and more than 80 % of all its items are
    answered (factb.yaml, FACIT guidance).

    Parameters
    ----------
    qs : DataFrame
        SDTM QS (FACT-B items, ``QSSTRESN`` missing when not answered).
    total : str
        A total of factb.yaml (``BTOI``).

    Returns
    -------
    DataFrame
        One row per questionnaire: USUBJID, VISITNUM, VISIT, QSDTC, ADT (SAS date) and
        AVAL (NaN when the total cannot be scored).
    """
    subscales = _FACTB["totals"][total]["subscales"]
    item_of = {i: s for s in subscales for i in _FACTB["subscales"][s]["items"]}
    reversed_items = {i for s in subscales for i in _FACTB["subscales"][s]["reversed"]}
    n_items = pd.Series({s: len(_FACTB["subscales"][s]["items"]) for s in subscales})

    # Every questionnaire gets a row, even when none of the total's items is answered.
    forms = qs[QUESTIONNAIRE + ["VISIT"]].drop_duplicates(QUESTIONNAIRE)
    items = qs[qs["QSTESTCD"].isin(item_of)].copy()
    items["SUBSCALE"] = items["QSTESTCD"].map(item_of)
    answer = items["QSSTRESN"]
    items["SCORE"] = answer.where(~items["QSTESTCD"].isin(reversed_items), 4 - answer)
    by = items.groupby(QUESTIONNAIRE + ["SUBSCALE"])
    sub = pd.DataFrame({"SUM": by["SCORE"].sum(min_count=1),
                        "NANS": by["SCORE"].count()}).reset_index()
    sub["NITEM"] = sub["SUBSCALE"].map(n_items)
    # Prorated: the mean item score times the number of items, when > half answered.
    sub["SCORE"] = (sub["SUM"] * sub["NITEM"] / sub["NANS"]).where(
        sub["NANS"] > sub["NITEM"] / 2)
    wide = sub.pivot_table(index=QUESTIONNAIRE, columns="SUBSCALE",
                           values=["SCORE", "NANS"], aggfunc="first", dropna=False)
    scores = wide["SCORE"].reindex(columns=subscales)
    answered = wide["NANS"].reindex(columns=subscales).fillna(0).sum(axis=1)
    ok = scores.notna().all(axis=1) & (answered > _FACTB["total_min_response_rate"]
                                       * n_items.sum())
    # Summed in the order the total lists its subscales (PWB + FWB + BCS).
    value = scores[subscales[0]]
    for s in subscales[1:]:
        value = value + scores[s]
    aval = value.where(ok).rename("AVAL").reset_index()
    out = forms.merge(aval, on=QUESTIONNAIRE, how="left")
    out["ADT"] = sas_date(out["QSDTC"])
    return out


def derive_adqs_btoi(qs: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """ADQS records of PARAMCD BTOI: AVAL, ABLFL, BASE, CHG, CRIT1FL per questionnaire.

    Parameters
    ----------
    qs : DataFrame
        SDTM QS.
    adsl : DataFrame
        QC ADSL (USUBJID, TRTSDT).

    Returns
    -------
    DataFrame
        USUBJID, PARAMCD, AVISITN, AVISIT, ADT, AVAL, ABLFL, BASE, CHG, CRIT1, CRIT1FL,
        one row per questionnaire of an ADSL subject.
    """
    rec = score_total(qs, "BTOI")
    rec = rec[rec["USUBJID"].isin(adsl["USUBJID"])]
    rec = rec.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="left")
    rec = rec.rename(columns={"VISITNUM": "AVISITN", "VISIT": "AVISIT"})
    rec["PARAMCD"] = "BTOI"
    # Baseline: the cycle 1 day 1 questionnaire on or before the first dose, when
    # scored (MT.ABLFL). A subject never dosed (no TRTSDT) has no baseline. Were there
    # several such questionnaires, the latest one would be the baseline (the value
    # closest to the first dose, the usual ADaM choice).
    cand = rec["AVISITN"].eq(1) & rec["ADT"].le(rec["TRTSDT"]) & rec["AVAL"].notna()
    last = rec[cand].sort_values(["USUBJID", "ADT"]).groupby("USUBJID").tail(1)
    rec["ABLFL"] = ""
    rec.loc[last.index, "ABLFL"] = "Y"
    base = last.set_index("USUBJID")[["AVAL", "ADT"]].rename(
        columns={"AVAL": "BASE", "ADT": "BASEDT"})
    rec = rec.join(base, on="USUBJID")
    # MT.CHG: only on questionnaires dated after the baseline one.
    rec["CHG"] = (rec["AVAL"] - rec["BASE"]).where(rec["ADT"] > rec["BASEDT"])
    has_chg = rec["CHG"].notna()
    rec["CRIT1"] = pd.Series(CRIT1, index=rec.index).where(has_chg, "")
    rec["CRIT1FL"] = pd.Series("N", index=rec.index).mask(
        rec["CHG"] <= THRESHOLD, "Y").where(has_chg, "")
    return rec[["USUBJID", "PARAMCD", "AVISITN", "AVISIT", "ADT", "AVAL", "ABLFL", "BASE",
                "CHG", "CRIT1", "CRIT1FL"]].reset_index(drop=True)
