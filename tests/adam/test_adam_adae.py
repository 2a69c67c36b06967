"""ADAE rules on small AE and ADSL tables written by hand, with the real spec (its steps,
run by the verb engine)."""

from __future__ import annotations

import pandas as pd
from adam_tables import domain, spec, usubjid

from adam import engine

D = pd.Timestamp


def adsl(*subjids: str) -> pd.DataFrame:
    """Safety subjects dosed from 10 January to 30 June 2020 (0004 never dosed)."""
    rows = []
    for s in subjids:
        dosed = s != "0004"
        rows.append(dict(STUDYID="PRECIOUS", USUBJID=usubjid(s), SITEID="101", AGE=60.0,
                         SEX="F", TRT01P="TC" if s == "0003" else "PTC", TRT01PN=1.0,
                         TRT01A="PTC", TRT01AN=1.0, RANDDT=D("2020-01-01"),
                         TRTSDT=D("2020-01-10") if dosed else pd.NaT,
                         TRTEDT=D("2020-06-30") if dosed else pd.NaT,
                         DTHDT=D("2020-07-20") if s == "0002" else pd.NaT,
                         ITTFL="Y", SAFFL="Y" if dosed else "N"))
    return pd.DataFrame(rows)


def ae(subjid: str, seq: int, decod: str, start: str, end: str = "", grade: str = "2",
       soc: str = "Investigations", **more) -> dict:
    return {**dict(USUBJID=usubjid(subjid), AESEQ=seq, AESPID=str(seq), AETERM=decod,
                   AEDECOD=decod, AEBODSYS=soc, AESOC=soc, AETOXGR=grade, AESTDTC=start,
                   AEENDTC=end, AESER="N", AEACN="DOSE NOT CHANGED",
                   AEOUT="RECOVERED/RESOLVED"), **more}


def build(rows: list[dict], subjects=("0001", "0002", "0003")) -> pd.DataFrame:
    out = engine.build({"AE": domain("AE", rows), "ADSL": adsl(*subjects)}, spec("ADAE"))
    return out.set_index(["USUBJID", "AESEQ"])


def rec(out: pd.DataFrame, subjid: str, seq: int) -> pd.Series:
    return out.loc[(usubjid(subjid), float(seq))]


def test_an_ae_that_starts_before_treatment_is_not_treatment_emergent() -> None:
    out = build([ae("0001", 1, "Nausea", "2020-01-05", "2020-01-12"),
                 ae("0001", 2, "Nausea", "2020-01-10")])
    assert rec(out, "0001", 1)["TRTEMFL"] == "" and rec(out, "0001", 2)["TRTEMFL"] == "Y"
    assert rec(out, "0001", 1)["ASTDY"] == 5          # counted from randomisation
    assert rec(out, "0001", 2)["AOCCFL"] == "Y" and rec(out, "0001", 1)["AOCCFL"] == ""


def test_a_partial_start_is_imputed_to_the_first_with_its_flag_not_before_first_dose() -> None:
    out = build([ae("0001", 1, "Nausea", "2020-01", "2020-01-20"),      # month of first dose
                 ae("0001", 2, "Nausea", "2020-03", "2020-03-20"),
                 ae("0001", 3, "Nausea", "2019-12"),                    # before treatment
                 ae("0001", 4, "Nausea", "2020")])                      # year only
    assert (rec(out, "0001", 1)["ASTDT"], rec(out, "0001", 1)["ASTDTF"]) == (
        D("2020-01-10"), "D")
    assert (rec(out, "0001", 2)["ASTDT"], rec(out, "0001", 2)["ASTDTF"]) == (
        D("2020-03-01"), "D")
    assert (rec(out, "0001", 3)["ASTDT"], rec(out, "0001", 3)["TRTEMFL"]) == (
        D("2019-12-01"), "")
    assert (rec(out, "0001", 4)["ASTDT"], rec(out, "0001", 4)["ASTDTF"]) == (
        D("2020-01-10"), "M")
    assert rec(out, "0001", 1)["TRTEMFL"] == "Y"


def test_a_partial_start_is_not_imputed_after_the_end() -> None:
    out = build([ae("0001", 1, "Nausea", "2020-01", "2020-01-08")])
    assert rec(out, "0001", 1)["ASTDT"] == D("2020-01-08")


def test_a_partial_end_is_imputed_to_the_last_day_not_after_death() -> None:
    out = build([ae("0001", 1, "Nausea", "2020-02-01", "2020-02"),
                 ae("0002", 1, "Respiratory failure", "2020-07-01", "2020-07", grade="5",
                    AEOUT="FATAL")])
    assert (rec(out, "0001", 1)["AENDT"], rec(out, "0001", 1)["AENDTF"]) == (
        D("2020-02-29"), "D")
    assert rec(out, "0002", 1)["AENDT"] == D("2020-07-20")


def test_a_subject_with_no_aes_has_no_record() -> None:
    out = build([ae("0001", 1, "Nausea", "2020-02-01")])
    subjects = set(out.index.get_level_values("USUBJID"))
    assert subjects == {usubjid("0001")}            # 0002 and 0003 are in ADSL only


def test_grade_and_table3_flags() -> None:
    out = build([ae("0001", 1, "Neutrophil count decreased", "2020-02-01", grade="3",
                    AEACN="DOSE REDUCED"),
                 ae("0001", 2, "Neutrophil count decreased", "2020-03-01", grade="2",
                    AEACN="DOSE REDUCED"),
                 ae("0002", 1, "Interstitial lung disease", "2020-07-01", grade="5",
                    AEOUT="FATAL", AESER="Y", AEACN="DRUG WITHDRAWN")])
    a, b, c = rec(out, "0001", 1), rec(out, "0001", 2), rec(out, "0002", 1)
    assert (a["ATOXGR"], a["ATOXGRN"], a["AEGR3FL"], a["AEREDFL"], a["AERED3FL"]) == (
        "3", 3, "Y", "Y", "Y")
    assert (b["AEGR3FL"], b["AEREDFL"], b["AERED3FL"]) == ("N", "Y", "N")
    assert (c["AEFATFL"], c["AEDISCFL"], c["AESER"], c["AEGR3FL"]) == ("Y", "Y", "Y", "Y")


def test_events_of_special_interest_are_customised_queries() -> None:
    out = build([ae("0001", 1, "Stomatitis", "2020-02-01", soc="Gastrointestinal disorders"),
                 ae("0001", 2, "Rash", "2020-02-02",
                    soc="Skin and subcutaneous tissue disorders"),
                 ae("0001", 3, "Left ventricular dysfunction", "2020-02-03",
                    soc="Cardiac disorders"),
                 ae("0001", 4, "Nausea", "2020-02-04", soc="Gastrointestinal disorders")])
    assert rec(out, "0001", 1)["CQ01NAM"] == "Stomatitis"
    assert rec(out, "0001", 2)["CQ07NAM"] == "Skin and subcutaneous tissue disorders"
    assert rec(out, "0001", 3)["CQ06NAM"] == "Left ventricular dysfunction"
    assert all(rec(out, "0001", 4)[f"CQ0{i}NAM"] == "" for i in range(1, 8))


def test_first_occurrence_flags() -> None:
    out = build([ae("0001", 1, "Stomatitis", "2020-02-01", grade="1",
                    soc="Gastrointestinal disorders"),
                 ae("0001", 2, "Stomatitis", "2020-02-10", grade="3",
                    soc="Gastrointestinal disorders"),
                 ae("0001", 3, "Diarrhoea", "2020-02-05", grade="3",
                    soc="Gastrointestinal disorders")])
    flags = out.loc[usubjid("0001"), ["AOCCFL", "AOCCSFL", "AOCCPFL", "AOCCIFL", "AOCC01FL",
                                      "AOCC02FL"]]
    assert flags.loc[1.0].tolist() == ["Y", "Y", "Y", "", "Y", ""]
    assert flags.loc[2.0].tolist() == ["", "", "", "", "", ""]
    assert flags.loc[3.0].tolist() == ["", "", "Y", "Y", "", "Y"]   # worst grade, earliest


def test_safety_uses_the_randomised_arm_and_the_spec_order() -> None:
    out = engine.build({"AE": domain("AE", [ae("0003", 1, "Nausea", "2020-02-01")]),
                   "ADSL": adsl("0003")}, spec("ADAE"))
    assert list(out.columns) == spec("ADAE").variable_names
    assert (out["TRT01P"].iloc[0], out["TRT01A"].iloc[0]) == ("TC", "PTC")


def test_an_ae_of_a_subject_not_in_adsl_has_no_record() -> None:
    out = build([ae("0001", 1, "Nausea", "2020-02-01"), ae("0009", 1, "Nausea", "2020-02-01")])
    assert set(out.index.get_level_values("USUBJID")) == {usubjid("0001")}
