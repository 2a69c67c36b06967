"""ADSL rules, each on a small SDTM study written by hand (admiral style), with the real
spec (its steps, run by the verb engine).

Subjects (site 101, randomised 1 January 2020 unless said otherwise):

* 0001 PTC: pertuzumab, trastuzumab and eribulin in cycles 1-3; ER+, ECOG 0, measurable,
  visceral, lung metastases; prior LA/MBC line 1 with pertuzumab (start 2018-03 partial),
  line 2 T-DM1; FACT-B at cycle 1 (baseline) and cycle 2; alive (contact 2020-06-30).
* 0002 TC, but given pertuzumab (DM.ACTARMCD PTC); prior pertuzumab in line 2 for 100
  days; died 2020-05 (partial date) of disease progression.
* 0003 PTC: withdrew consent to data use (SUPPDM DATAUSE N).
* 0004 TC: an eligibility deviation (IE), never dosed.
* 0005 PTC: reacted to eribulin in cycle 1 and never got the antibodies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from adam_tables import dm_row, domain, dose, randomised, spec, study, usubjid

from adam import engine

D = pd.Timestamp
INSTRUMENT = spec("ADSL").derivation["instrument"]
ITEMS = [it for sub in INSTRUMENT["subscales"].values() for it in sub["items"]]


def questionnaire(subjid: str, visitnum: int, date: str, answer: float = 2.0,
                  missing: tuple[str, ...] = ()) -> list[dict]:
    """One FACT-B: every item answered ``answer`` except ``missing`` (NOT DONE)."""
    return [dict(USUBJID=usubjid(subjid), QSTESTCD=it, QSCAT="FACT-B V4",
                 QSSTRESN=np.nan if it in missing else answer,
                 QSSTAT="NOT DONE" if it in missing else "", VISITNUM=visitnum,
                 VISIT=f"CYCLE {visitnum} DAY 1", QSDTC=date) for it in ITEMS]


def prior(subjid: str, seq: int, line: int, start: str, end: str, **agents: str) -> tuple:
    cm = dict(USUBJID=usubjid(subjid), CMSEQ=seq, CMSPID=str(line), CMTRT="regimen",
              CMCAT="PRIOR ANTI-CANCER THERAPY", CMSCAT="LA/MBC", CMSTDTC=start,
              CMENDTC=end)
    qnams = {"CMLINE": str(line), "CMPERTUZ": "N", "CMTRASTU": "N", "CMTDM1": "N",
             "CMLAPAT": "N", "CMOTHER2": "N", **agents}
    supp = [dict(USUBJID=usubjid(subjid), RDOMAIN="CM", IDVAR="CMSEQ", IDVARVAL=str(seq),
                 QNAM=q, QVAL=v) for q, v in qnams.items()]
    return cm, supp


def small_study() -> dict[str, pd.DataFrame]:
    cm1, s1 = prior("0001", 1, 1, "2018-03", "2018-08-31", CMPERTUZ="Y", CMTRASTU="Y")
    cm2, s2 = prior("0001", 2, 2, "2018-09-15", "2019-12-01", CMTDM1="Y")
    cm3, s3 = prior("0002", 1, 1, "2017-01-01", "2018-01-01", CMTDM1="Y")
    cm4, s4 = prior("0002", 2, 2, "2018-02-01", "2018-05-11", CMPERTUZ="Y", CMTRASTU="Y")
    ex = [dose("0001", drug, c, date, seq=i * 3 + c)
          for i, drug in enumerate(["ERIBULIN", "PERTUZUMAB", "TRASTUZUMAB"])
          for c, date in ((1, "2020-01-05"), (2, "2020-01-26"), (3, "2020-02-16"))]
    ex += [dose("0002", "PERTUZUMAB", 1, "2020-01-06"),
           dose("0002", "TRASTUZUMAB", 1, "2020-01-06", seq=2),
           dose("0003", "TRASTUZUMAB", 1, "2020-01-07"),
           dose("0005", "ERIBULIN", 1, "2020-01-08")]
    return study(
        DM=domain("DM", [dm_row("0001", "PTC"), dm_row("0002", "TC", "PTC", dthdtc="2020-05"),
                         dm_row("0003", "PTC", age=70), dm_row("0004", "TC", ""),
                         dm_row("0005", "PTC", age=64)]),
        DS=[randomised(s) for s in ("0001", "0002", "0003", "0004", "0005")] + [
            dict(USUBJID=usubjid("0001"), DSSEQ=2, DSDECOD="PROGRESSIVE DISEASE",
                 DSCAT="DISPOSITION EVENT", DSSCAT="STUDY TREATMENT", DSSTDTC="2020-03-01"),
            dict(USUBJID=usubjid("0002"), DSSEQ=2, DSDECOD="DEATH",
                 DSCAT="DISPOSITION EVENT", DSSCAT="STUDY PARTICIPATION", DSSTDTC="2020-05")],
        SUPPDM=[dict(USUBJID=usubjid(s), QNAM=q, QVAL=v) for s, q, v in (
            ("0001", "STRAT1", "POSITIVE"), ("0001", "STRAT2", "LONG"), ("0001", "STRAT3", "2"),
            ("0001", "STRAT4", "VISCERAL"), ("0001", "CHEMO", "ERIBULIN"),
            ("0002", "STRAT2", "SHORT"), ("0003", "DATAUSE", "N"))],
        IE=[dict(USUBJID=usubjid("0004"), IESEQ=1, IETESTCD="IN06", IECAT="INCLUSION")],
        EX=domain("EX", ex),
        RS=[dict(USUBJID=usubjid("0001"), RSSEQ=1, RSTESTCD="ECOG101", RSCAT="ECOG",
                 RSSTRESC="0", RSSTRESN=0, VISITNUM=0, RSDTC="2019-12-20"),
            dict(USUBJID=usubjid("0002"), RSSEQ=1, RSTESTCD="ECOG101", RSCAT="ECOG",
                 RSSTRESC="2", RSSTRESN=2, VISITNUM=0, RSDTC="2019-12-20")],
        MI=[dict(USUBJID=usubjid("0001"), MISEQ=1, MITESTCD="ESTRCPT", MISTRESC="POSITIVE",
                 VISITNUM=0, MIDTC="2019-12-20")],
        FA=[dict(USUBJID=usubjid("0001"), FASEQ=i, FATESTCD=t, FALOC=loc, FASTRESC=v,
                 VISITNUM=0, FADTC="2019-12-20")
            for i, (t, loc, v) in enumerate([("MEASDIS", "", "Y"), ("VISCDIS", "", "Y"),
                                             ("METIND", "LUNG", "Y"),
                                             ("METIND", "BONE", "N")], start=1)],
        CM=domain("CM", [cm1, cm2, cm3, cm4]),
        SUPPCM=domain("SUPPCM", s1 + s2 + s3 + s4),
        SV=[dict(USUBJID=usubjid("0001"), VISITNUM=9900, VISIT="SURVIVAL FOLLOW-UP",
                 SVSTDTC="2020-06-30", SVENDTC="2020-06-30")],
        DD=[dict(USUBJID=usubjid("0002"), DDSEQ=1, DDTESTCD="PRCDTH",
                 DDSTRESC="DISEASE PROGRESSION", DDDTC="2020-05")],
        AE=[dict(USUBJID=usubjid("0002"), AESEQ=1, AEDECOD="Nausea", AESTDTC="2020-04-10",
                 AEENDTC="2020-04-20")],
        QS=domain("QS", questionnaire("0001", 1, "2020-01-05")
                  + questionnaire("0001", 2, "2020-01-26", 1.0)
                  + questionnaire("0002", 1, "2020-01-06")),
        CV=[dict(USUBJID=usubjid("0001"), CVSEQ=1, CVTESTCD="LVEF", CVSTRESN=62, CVLOBXFL="Y",
                 VISITNUM=0, CVDTC="2019-12-28"),
            dict(USUBJID=usubjid("0001"), CVSEQ=2, CVTESTCD="LVEF", CVSTRESN=55, CVLOBXFL="",
                 VISITNUM=5, CVDTC="2020-03-20"),
            dict(USUBJID=usubjid("0002"), CVSEQ=1, CVTESTCD="LVEF", CVSTRESN=60, CVLOBXFL="Y",
                 VISITNUM=0, CVDTC="2019-12-28"),
            dict(USUBJID=usubjid("0002"), CVSEQ=2, CVTESTCD="LVEF", CVSTRESN=45, CVLOBXFL="",
                 VISITNUM=5, CVDTC="2020-03-20")],
    )


@pytest.fixture(scope="module")
def built() -> pd.DataFrame:
    return engine.build(small_study(), spec("ADSL"))


@pytest.fixture(scope="module")
def adsl(built) -> pd.DataFrame:
    return built.set_index("SUBJID")


def test_one_record_per_randomised_subject_with_the_spec_variables_in_order(built) -> None:
    assert built["SUBJID"].tolist() == ["0001", "0002", "0003", "0004", "0005"]
    assert list(built.columns) == spec("ADSL").variable_names


def test_a_subject_never_randomised_is_not_in_adsl() -> None:
    sdtm = small_study()
    sdtm["DS"] = sdtm["DS"][sdtm["DS"]["USUBJID"] != usubjid("0005")]
    assert usubjid("0005") not in engine.build(sdtm, spec("ADSL"))["USUBJID"].tolist()


def test_trt01a_is_the_arm_given_and_trt01p_the_arm_randomised(adsl) -> None:
    r = adsl.loc["0002"]
    assert (r["TRT01P"], r["TRT01PN"], r["TRT01A"], r["TRT01AN"]) == ("TC", 2.0, "PTC", 1.0)
    assert adsl.loc["0004", "TRT01A"] == "" and np.isnan(adsl.loc["0004", "TRT01AN"])


def test_itt_excludes_withdrawn_data_use_fas_excludes_eligibility_deviations(adsl) -> None:
    assert adsl["ITTFL"].tolist() == ["Y", "Y", "N", "Y", "Y"]
    assert adsl["FASFL"].tolist() == ["Y", "Y", "N", "N", "Y"]


def test_safety_is_itt_and_any_dose(adsl) -> None:
    # 0003 was dosed but is not ITT; 0004 never dosed; 0005 had chemotherapy only
    assert adsl["SAFFL"].tolist() == ["Y", "Y", "N", "N", "Y"]


def test_cycles_count_antibody_cycles_zero_without_antibodies(adsl) -> None:
    assert adsl.loc["0001", "CYCLES"] == 3 and adsl.loc["0005", "CYCLES"] == 0
    assert np.isnan(adsl.loc["0004", "CYCLES"])
    assert adsl.loc["0001", "CHEMOA"] == "ERIBULIN" and adsl.loc["0001", "CHEMOP"] == "ERIBULIN"


def test_treatment_dates_from_doses_given(adsl) -> None:
    r = adsl.loc["0001"]
    assert (r["TRTSDT"], r["TRTEDT"], r["TRTDURD"]) == (D("2020-01-05"), D("2020-02-16"), 43)
    assert pd.isna(adsl.loc["0004", "TRTSDT"]) and adsl.loc["0004", "EOTSTT"] == ""


def test_strata_as_entered_at_randomisation(adsl) -> None:
    r = adsl.loc["0001"]
    assert (r["STRAT1R"], r["STRAT2R"], r["STRAT3R"], r["STRAT4R"]) == (
        "POSITIVE", "LONG", "2", "VISCERAL")


def test_baseline_characteristics(adsl) -> None:
    r = adsl.loc["0001"]
    assert (r["ECOGBL"], r["ECOGGR1"], r["ERSTAT"], r["MEASFL"], r["VISCFL"]) == (
        0, "0", "POSITIVE", "Y", "Y")
    # No finding: missing (blank in the files).
    assert (r["METLUNFL"], r["METBONFL"]) == ("Y", "N") and pd.isna(r["METLIVFL"])
    assert adsl.loc["0002", "ECOGGR1"] == "1-2"
    assert adsl["AGEGR1"].tolist() == ["<65", "<65", ">=65", "<65", "<65"]


def test_prior_regimens_lines_agents_and_tdm1_as_latest(adsl) -> None:
    r = adsl.loc["0001"]
    assert (r["NPRREG"], r["NPRREGGR"], r["PRPERFL"], r["PRTDM1FL"], r["PRLAPFL"]) == (
        2, "2", "Y", "Y", "N")
    assert r["TDM1LFL"] == "Y"
    assert adsl.loc["0002", "TDM1LFL"] == "N"      # T-DM1 in line 1, pertuzumab in line 2
    assert adsl.loc["0004", "NPRREG"] == 0 and adsl.loc["0004", "PRPERFL"] == "N"


def test_prior_pertuzumab_duration_imputes_a_partial_start_to_the_first_with_its_flag(
        adsl) -> None:
    r = adsl.loc["0001"]
    assert (r["PPERSTDT"], r["PPERSDTF"], r["PPERENDT"], r["PPEREDTF"]) == (
        D("2018-03-01"), "D", D("2018-08-31"), "")
    assert (r["PPERLINE"], r["PPERDUR"], r["PPERDURC"], r["PPERDUGR"]) == (
        1, 184, ">=180", "LONG")


def test_prior_pertuzumab_cut_off_is_120_days_in_second_line(adsl) -> None:
    r = adsl.loc["0002"]
    assert (r["PPERLINE"], r["PPERDUR"], r["PPERDURC"], r["PPERDUGR"]) == (
        2, 100, "<120", "SHORT")


@pytest.mark.parametrize(("line", "days", "category", "group"), [
    (1, 179, "<180", "SHORT"), (1, 180, ">=180", "LONG"), (2, 119, "<120", "SHORT"),
    (2, 120, ">=120", "LONG"), (3, 10, "", "")])
def test_prior_pertuzumab_duration_category_boundaries(line, days, category, group) -> None:
    end = (D("2018-01-01") + pd.Timedelta(days=days - 1)).strftime("%Y-%m-%d")
    cm, supp = prior("0001", 1, line, "2018-01-01", end, CMPERTUZ="Y")
    sdtm = small_study()
    sdtm["CM"], sdtm["SUPPCM"] = domain("CM", [cm]), domain("SUPPCM", supp)
    r = engine.build(sdtm, spec("ADSL")).set_index("SUBJID").loc["0001"]
    assert (r["PPERLINE"], r["PPERDUR"], r["PPERDURC"], r["PPERDUGR"]) == (
        line, days, category, group)


def test_death_partial_date_imputed_to_the_first_not_before_last_known_alive(adsl) -> None:
    r = adsl.loc["0002"]
    # 2020-05 would be 1 May, but the subject was known alive on 2020-04-20 (AE end),
    # which is not in May: the first of the month stands.
    assert (r["DTHDT"], r["DTHDTF"], r["DTHCAUS"], r["DTHFL"]) == (
        D("2020-05-01"), "D", "DISEASE PROGRESSION", "Y")
    assert (r["EOSSTT"], r["DCSREAS"]) == ("DISCONTINUED", "DEATH")


def test_last_known_alive_is_the_latest_contact(adsl) -> None:
    assert adsl.loc["0001", "LSTALVDT"] == D("2020-06-30")      # survival follow-up
    assert adsl.loc["0002", "LSTALVDT"] == D("2020-04-20")      # AE end
    assert adsl.loc["0004", "LSTALVDT"] == D("2020-01-01")      # randomisation only


def test_end_of_treatment_status_and_reason(adsl) -> None:
    r = adsl.loc["0001"]
    assert (r["EOTSTT"], r["DCTREAS"], r["DCTDT"]) == (
        "DISCONTINUED", "PROGRESSIVE DISEASE", D("2020-03-01"))
    assert adsl.loc["0002", "EOTSTT"] == "ONGOING"


def test_hrqol_population_needs_a_baseline_and_a_later_btoi(adsl) -> None:
    assert adsl.loc["0001", "QOLFL"] == "Y"
    assert adsl.loc["0002", "QOLFL"] == "N"      # baseline only


def test_lvef_decline_below_50_or_a_fall_of_15_points(adsl) -> None:
    assert adsl.loc["0002", "LVEFDFL"] == "Y"    # 45 %
    assert adsl.loc["0001", "LVEFDFL"] == "N"    # 62 -> 55: a fall of 7
    assert adsl.loc["0004", "LVEFDFL"] == ""     # never dosed


def test_new_anticancer_therapy_partial_start_is_imputed_to_the_first_with_flag() -> None:
    sdtm = small_study()
    new = domain("CM", [dict(USUBJID=usubjid("0001"), CMSEQ=3, CMTRT="Lapatinib",
                             CMCAT="SUBSEQUENT ANTI-CANCER THERAPY", CMSTDTC="2020-08"),
                        dict(USUBJID=usubjid("0001"), CMSEQ=4, CMTRT="Capecitabine",
                             CMCAT="SUBSEQUENT ANTI-CANCER THERAPY", CMSTDTC="2020-07")])
    sdtm["CM"] = pd.concat([sdtm["CM"], new], ignore_index=True)
    r = engine.build(sdtm, spec("ADSL")).set_index("SUBJID")
    assert (r.loc["0001", "NACTDT"], r.loc["0001", "NACTDTF"]) == (D("2020-07-01"), "D")
    assert pd.isna(r.loc["0002", "NACTDT"])


def test_a_prior_regimen_qualifier_belongs_to_its_own_cm_record() -> None:
    # SUPPCM qualifiers join CM by CMSEQ (IDVAR): 0002's line-2 regimen has pertuzumab,
    # its line-1 regimen (T-DM1) has not.
    r = engine.build(small_study(), spec("ADSL")).set_index("SUBJID").loc["0002"]
    assert (r["PRPERFL"], r["PRTDM1FL"], r["PPERLINE"], r["NPRREG"]) == ("Y", "Y", 2, 2)
