"""ADQS rules with the real spec (its steps, run by the verb engine, and the FACT-B
scoring spec), on questionnaires written by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from adam_tables import domain, spec, usubjid

from adam import engine

D = pd.Timestamp
SPEC = spec("ADQS")
SUBS = SPEC.derivation["instrument"]["subscales"]
ITEMS = [it for sub in SUBS.values() for it in sub["items"]]


def questionnaire(subjid: str, visitnum: int, date: str, answers: dict[str, float | None]
                  | None = None, default: float = 2.0) -> list[dict]:
    """One FACT-B: each item ``default`` unless ``answers`` says (None: not answered)."""
    answers = answers or {}
    rows = []
    for it in ITEMS:
        a = answers.get(it, default)
        rows.append(dict(USUBJID=usubjid(subjid), QSTESTCD=it, QSCAT="FACT-B V4",
                         QSSTRESN=np.nan if a is None else a,
                         QSSTAT="NOT DONE" if a is None else "", VISITNUM=visitnum,
                         VISIT="END OF TREATMENT" if visitnum == 9000 else
                         f"CYCLE {visitnum} DAY 1", QSDTC=date))
    return rows


def adsl(*subjids: str, trtsdt: str = "2020-01-05") -> pd.DataFrame:
    rows = [dict(STUDYID="PRECIOUS", USUBJID=usubjid(s), TRT01P="PTC", TRT01PN=1.0,
                 TRT01A="PTC", TRT01AN=1.0, RANDDT=D("2020-01-01"), TRTSDT=D(trtsdt),
                 STRAT1R="POSITIVE", STRAT2R="LONG", STRAT3R="2", STRAT4R="VISCERAL",
                 ITTFL="Y", FASFL="Y", SAFFL="Y", QOLFL="Y") for s in subjids]
    return pd.DataFrame(rows)


def build(rows: list[dict], sl: pd.DataFrame | None = None) -> pd.DataFrame:
    sl = sl if sl is not None else adsl("0001")
    return engine.build({"QS": domain("QS", rows), "ADSL": sl}, SPEC)


def score(out: pd.DataFrame, paramcd: str, visitnum: int = 1, subjid: str = "0001"
          ) -> pd.Series:
    sel = out[(out["USUBJID"] == usubjid(subjid)) & (out["PARAMCD"] == paramcd)
              & (out["AVISITN"] == visitnum)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_reversed_items_and_totals() -> None:
    out = build(questionnaire("0001", 1, "2020-01-05", default=3.0))
    # PWB: 7 reversed items of 3 -> 7 x 1; SWB: 7 x 3; EWB: 5 reversed (1) + 1 (3)
    assert score(out, "PWB")["AVAL"] == 7 and score(out, "SWB")["AVAL"] == 21
    assert score(out, "EWB")["AVAL"] == 8 and score(out, "FWB")["AVAL"] == 21
    assert score(out, "BCS")["AVAL"] == 8 * 1 + 2 * 3
    assert score(out, "BTOI")["AVAL"] == 7 + 21 + 14
    assert score(out, "FACTG")["AVAL"] == 7 + 21 + 8 + 21
    assert score(out, "FACTB")["AVAL"] == 7 + 21 + 8 + 21 + 14


def test_a_subscale_with_more_than_half_answered_is_prorated() -> None:
    # FWB (7 items, none reversed): 4 answered with 2 -> 8 x 7 / 4 = 14
    missing = {"GF1": None, "GF2": None, "GF3": None}
    r = score(build(questionnaire("0001", 1, "2020-01-05", missing)), "FWB")
    assert (r["AVAL"], r["NANSW"], r["NITEM"], r["PRORFL"]) == (14, 4, 7, "Y")


def test_a_subscale_with_half_or_fewer_answered_is_not_scored_nor_its_totals() -> None:
    missing = {"GF1": None, "GF2": None, "GF3": None, "GF4": None}
    out = build(questionnaire("0001", 1, "2020-01-05", missing))
    r = score(out, "FWB")
    assert np.isnan(r["AVAL"]) and r["NANSW"] == 3 and r["PRORFL"] == ""
    assert np.isnan(score(out, "BTOI")["AVAL"]) and np.isnan(score(out, "FACTB")["AVAL"])
    assert score(out, "PWB")["AVAL"] == 14 and score(out, "PWB")["PRORFL"] == ""


def test_baseline_is_cycle_1_on_or_before_the_first_dose() -> None:
    rows = questionnaire("0001", 1, "2020-01-05") + questionnaire("0002", 1, "2020-01-06")
    out = build(rows, adsl("0001", "0002"))
    assert score(out, "BTOI")["ABLFL"] == "Y"
    assert score(out, "BTOI", subjid="0002")["ABLFL"] == ""      # a day after the first dose
    assert np.isnan(score(out, "BTOI", subjid="0002")["BASE"])


def test_change_from_baseline_and_deterioration_of_5_points_or_more() -> None:
    # BTOI at baseline: PWB 14 + FWB 14 + BCS (8 reversed x 2 + 2 x 2 = 20) = 48.
    rows = (questionnaire("0001", 1, "2020-01-05")
            + questionnaire("0001", 2, "2020-01-26", {"GF1": 1, "GF2": 1, "GF3": 1, "GF4": 1})
            + questionnaire("0001", 3, "2020-02-16", {"GF1": 1, "GF2": 1, "GF3": 1,
                                                      "GF4": 1, "GF5": 1})
            + questionnaire("0001", 9000, "2020-03-01", {"GF1": 0, "GF2": 0, "GF3": 0}))
    out = build(rows)
    base = score(out, "BTOI")
    assert (base["AVAL"], base["BASE"], base["CRIT1FL"]) == (48, 48, "")
    assert np.isnan(base["CHG"])
    assert (score(out, "BTOI", 2)["CHG"], score(out, "BTOI", 2)["CRIT1FL"]) == (-4, "N")
    assert (score(out, "BTOI", 3)["CHG"], score(out, "BTOI", 3)["CRIT1FL"]) == (-5, "Y")
    eot = score(out, "BTOI", 9000)
    assert (eot["CHG"], eot["CRIT1FL"], eot["AVISIT"]) == (-6, "Y", "END OF TREATMENT")
    assert eot["CRIT1"] == "BTOI change from baseline <= -5 points"
    assert score(out, "FWB", 3)["CRIT1FL"] == ""                  # B-TOI only


def test_records_parameters_and_order() -> None:
    out = build(questionnaire("0001", 1, "2020-01-05"))
    assert list(out.columns) == SPEC.variable_names
    assert out.sort_values("ASEQ")["PARAMCD"].tolist() == [
        "PWB", "SWB", "EWB", "FWB", "BCS", "BTOI", "FACTG", "FACTB"]
    r = score(out, "BTOI")
    assert (r["PARAM"], r["ADY"], r["ADT"]) == (
        "FACT-B Trial Outcome Index (BTOI)", 5, D("2020-01-05"))


@pytest.mark.parametrize(("answered", "scored"), [(6, True), (4, True), (3, False)])
def test_prorating_threshold_more_than_half(answered: int, scored: bool) -> None:
    items = SUBS["PWB"]["items"]
    missing = {it: None for it in items[answered:]}
    r = score(build(questionnaire("0001", 1, "2020-01-05", missing)), "PWB")
    assert (not np.isnan(r["AVAL"])) == scored
