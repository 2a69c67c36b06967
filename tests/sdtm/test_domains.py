"""SDTM domains from a three-patient inline extract, through the real specs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sdtm_tiny import raw_forms, records

from sdtm import SdtmResult
from trialflow.reconcile import reconcile


def test_mapping_raises_no_findings_on_clean_input(sdtm: SdtmResult) -> None:
    assert sdtm.findings == []


def test_dm_one_record_per_subject_with_planned_and_actual_arm(sdtm: SdtmResult) -> None:
    assert records(sdtm, "DM", "USUBJID", "ARMCD", "ACTARMCD", "ARMNRS") == [
        ["PRECIOUS-101-0001", "PTC", "PTC", ""],
        ["PRECIOUS-101-0003", "PTC", "", "ASSIGNED, NOT TREATED"],
        ["PRECIOUS-102-0002", "TC", "PTC", ""],  # TC patient who received pertuzumab
    ]
    assert records(sdtm, "DM", "ACTARM")[2] == ["Pertuzumab + Trastuzumab + Chemotherapy"]


def test_dm_reference_dates_death_and_demographics(sdtm: SdtmResult) -> None:
    dm = sdtm.datasets["DM"].set_index("SUBJID")
    assert dm.loc["0001", ["RFSTDTC", "RFENDTC", "RFICDTC", "BRTHDTC"]].tolist() == [
        "2015-08-10", "2015-09-07", "2015-08-01", "1955-02"]
    assert dm.loc["0001", "RFPENDTC"] == "2019-07-20"
    assert dm.loc["0002", ["DTHDTC", "DTHFL", "BRTHDTC"]].tolist() == ["2015-08-25", "Y",
                                                                       "1950"]
    # Randomised, never dosed: the reference dates are the randomisation date.
    assert dm.loc["0003", ["RFSTDTC", "RFENDTC", "RFXSTDTC", "DTHFL"]].tolist() == [
        "2015-08-07", "2015-08-07", "", ""]
    assert dm.loc["0001", ["SEX", "RACE", "AGE", "AGEU", "COUNTRY"]].tolist() == [
        "F", "ASIAN", 60.0, "YEARS", "JPN"]


def test_suppdm_strata_as_recorded_chemotherapy_and_data_use(sdtm: SdtmResult) -> None:
    supp = sdtm.datasets["SUPPDM"]
    s1 = supp[supp["USUBJID"] == "PRECIOUS-101-0001"].set_index("QNAM")["QVAL"]
    assert s1[["STRAT1", "STRAT2", "STRAT3", "STRAT4", "CHEMO", "RANDNO", "ELIGYN"]].tolist() \
        == ["POSITIVE", "LONG", "2", "VISCERAL", "ERIBULIN", "1", "Y"]
    s3 = supp[supp["USUBJID"] == "PRECIOUS-101-0003"].set_index("QNAM")["QVAL"]
    assert s3["DATAUSE"] == "N"


def test_ae_coded_graded_with_causality_and_study_day(sdtm: SdtmResult) -> None:
    assert records(sdtm, "AE", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS",
                   "AETOXGR", "AESER", "AEOUT", "AEREL", "AESDTH", "AESTDTC", "AESTDY",
                   "EPOCH") == [
        ["PRECIOUS-101-0001", 1.0, "NEUTROPENIA G3", "Neutrophil count decreased",
         "Investigations", "3", "N", "RECOVERED/RESOLVED", "RELATED", "", "2015-08",
         None, "TREATMENT"],  # August 2015 holds the first dose (10 August): as ADAE imputes
        ["PRECIOUS-102-0002", 1.0, "Respiratory failure", "Respiratory failure",
         "Respiratory, thoracic and mediastinal disorders", "5", "Y", "FATAL",
         "NOT RELATED", "Y", "2015-08-20", 10.0, "TREATMENT"],
    ]


def test_suppae_causality_per_drug_linked_by_aeseq(sdtm: SdtmResult) -> None:
    assert records(sdtm, "SUPPAE", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL") == [
        ["PRECIOUS-101-0001", "AESEQ", "1", "AERELCHM", "RELATED"],
        ["PRECIOUS-101-0001", "AESEQ", "1", "AERELPER", "NOT RELATED"],
        ["PRECIOUS-101-0001", "AESEQ", "1", "AERELTRA", "NOT RELATED"],
        ["PRECIOUS-102-0002", "AESEQ", "1", "AERELCHM", "NOT RELATED"],
        ["PRECIOUS-102-0002", "AESEQ", "1", "AERELTRA", "NOT RELATED"],
    ]


def test_rs_recist_per_visit_clinical_progression_and_ecog(sdtm: SdtmResult) -> None:
    rs = sdtm.datasets["RS"]
    s1 = rs[rs["USUBJID"] == "PRECIOUS-101-0001"]
    assert s1[["RSCAT", "RSTESTCD", "RSSTRESC", "VISIT", "RSDTC"]].values.tolist() == [
        ["ECOG", "ECOG101", "0", "SCREENING", "2015-08-04"],
        ["RECIST 1.1", "NEWLPROG", "N", "WEEK 6", "2015-09-21"],
        ["RECIST 1.1", "NTRGRESP", "NON-CR/NON-PD", "WEEK 6", "2015-09-21"],
        ["RECIST 1.1", "OVRLRESP", "NON-CR/NON-PD", "WEEK 6", "2015-09-21"],
        ["RECIST 1.1", "TRGRESP", "NA", "WEEK 6", "2015-09-21"],
    ]
    assert s1["RSDY"].tolist()[1] == 43.0 and s1["VISITNUM"].tolist()[1] == 1006.0
    s2 = rs[rs["RSCAT"] == "CLINICAL PROGRESSION"]
    assert s2[["USUBJID", "RSTESTCD", "RSSTRESC", "RSDTC"]].values.tolist() == [
        ["PRECIOUS-102-0002", "CLINPROG", "Y", "2015-08-18"]]
    assert records(sdtm, "SUPPRS", "IDVARVAL", "QNAM", "QVAL") == [["1", "CPBASIS", "PET"]]


def test_qs_items_as_collected_and_standardised_unanswered_kept(sdtm: SdtmResult) -> None:
    qs = sdtm.datasets["QS"]
    assert len(qs) == 37 and qs["QSTESTCD"].is_unique
    gs7 = qs[qs["QSTESTCD"] == "GS7"].iloc[0]
    assert (gs7["QSORRES"], gs7["QSSTAT"], np.isnan(gs7["QSSTRESN"])) == ("", "NOT DONE", True)
    gp1 = qs[qs["QSTESTCD"] == "GP1"].iloc[0]
    assert (gp1["QSORRES"], gp1["QSSTRESC"], gp1["QSSTRESN"], gp1["VISIT"], gp1["QSDY"]) == (
        "2", "2", 2.0, "CYCLE 1 DAY 1", 1.0)


def test_ex_per_cycle_with_doses_reductions_and_route(sdtm: SdtmResult) -> None:
    assert records(sdtm, "EX", "USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXADJ",
                   "VISIT", "EXSTDY") == [
        ["PRECIOUS-101-0001", "ERIBULIN", 1.12, "mg/m2", "INTRAVENOUS", "Adverse event",
         "CYCLE 2 DAY 1", 22.0],
        ["PRECIOUS-101-0001", "PERTUZUMAB", 840.0, "mg", "INTRAVENOUS", "", "CYCLE 1 DAY 1",
         1.0],
        ["PRECIOUS-102-0002", "CAPECITABINE", 2000.0, "mg/m2", "ORAL", "", "CYCLE 1 DAY 1",
         1.0],
        ["PRECIOUS-102-0002", "PERTUZUMAB", 840.0, "mg", "INTRAVENOUS", "", "CYCLE 1 DAY 1",
         1.0],
    ]


def test_ds_randomisation_end_of_treatment_death_and_withdrawal(sdtm: SdtmResult) -> None:
    ds = sdtm.datasets["DS"]
    got = ds[["USUBJID", "DSDECOD", "DSSCAT", "DSSTDTC"]].values.tolist()
    assert ["PRECIOUS-101-0001", "RANDOMIZED", "", "2015-08-05"] in got
    assert ["PRECIOUS-101-0001", "PROGRESSIVE DISEASE", "STUDY TREATMENT", "2015-09-14"] in got
    assert ["PRECIOUS-102-0002", "DEATH", "STUDY PARTICIPATION", "2015-08-25"] in got
    assert ["PRECIOUS-101-0003", "WITHDRAWAL BY SUBJECT", "STUDY PARTICIPATION",
            "2015-08-08"] in got
    assert records(sdtm, "DD", "USUBJID", "DDORRES", "DDSTRESC") == [
        ["PRECIOUS-102-0002", "Fatal adverse event (see AE form)", "ADVERSE EVENT"]]


def test_cm_prior_and_subsequent_regimens_with_line_and_agents(sdtm: SdtmResult) -> None:
    assert records(sdtm, "CM", "CMCAT", "CMSPID", "CMTRT", "CMSTDTC") == [
        ["PRIOR ANTI-CANCER THERAPY", "PERIOP", "P+T+Docetaxel", "2012-01"],
        ["PRIOR ANTI-CANCER THERAPY", "1", "T-DM1", "2014-03-01"],
        ["SUBSEQUENT ANTI-CANCER THERAPY", "1", "Lapatinib + Capecitabine", "2015-10"],
    ]
    supp = sdtm.datasets["SUPPCM"]
    prior1 = supp[supp["IDVARVAL"] == "2"].set_index("QNAM")["QVAL"]
    assert prior1[["CMLINE", "CMTDM1", "CMPERTUZ"]].tolist() == ["1", "Y", "N"]


def test_ie_mi_fa_cv_tr_from_their_forms(sdtm: SdtmResult) -> None:
    assert records(sdtm, "IE", "IETESTCD", "IECAT", "IEORRES") == [["IN06", "INCLUSION", "N"]]
    mi = sdtm.datasets["MI"]
    assert mi[mi["USUBJID"] == "PRECIOUS-101-0001"][["MITESTCD", "MISTRESC"]].values.tolist() \
        == [["ESTRCPT", "POSITIVE"], ["HER2", "3+"]]  # CDISC test codes, not ER
    fa = sdtm.datasets["FA"]
    assert len(fa) == 3 * 8 and set(fa["FALOC"]) == {"", "LUNG", "LIVER", "BONE", "BRAIN",
                                                      "LYMPH NODE", "OTHER"}
    assert records(sdtm, "CV", "CVSTRESN", "CVMETHOD", "CVLOBXFL") == [
        [65.0, "ECHOCARDIOGRAPHY", "Y"], [60.0, "MUGA", ""]]
    assert records(sdtm, "TR", "USUBJID", "TRSTRESN", "TRMETHOD", "VISIT") == [
        ["PRECIOUS-102-0002", 50.0, "MRI", "SCREENING"]]


def test_sv_visits_from_the_domains_and_the_survival_contact(sdtm: SdtmResult) -> None:
    sv = sdtm.datasets["SV"]
    s1 = sv[sv["USUBJID"] == "PRECIOUS-101-0001"]
    assert s1[["VISIT", "SVSTDTC", "SVENDTC"]].values.tolist() == [
        ["SCREENING", "2015-08-03", "2015-08-04"], ["CYCLE 1 DAY 1", "2015-08-10", "2015-08-10"],
        ["CYCLE 2 DAY 1", "2015-08-31", "2015-09-07"], ["WEEK 6", "2015-09-21", "2015-09-21"],
        ["END OF TREATMENT", "2015-09-15", "2015-09-15"],
        ["SURVIVAL FOLLOW-UP", "2019-07-20", "2019-07-20"]]
    assert s1["SVSTDY"].tolist()[0] == -7.0 and "EPOCH" not in sv.columns  # not in SDTMIG SV
    assert set(s1["SVPRESP"]) == set(s1["SVOCCUR"]) == {"Y"}


def test_trial_design_datasets(sdtm: SdtmResult) -> None:
    ts = sdtm.datasets["TS"].set_index("TSPARMCD")
    assert ts.loc["ACTSUB", "TSVAL"] == "3" and ts.loc["DCUTDTC", "TSVAL"] == "2019-07-31"
    assert ts.loc["SSTDTC", "TSVAL"] == "2015-08-01"
    strat = sdtm.datasets["TS"][sdtm.datasets["TS"]["TSPARMCD"] == "STRATFCT"]
    assert strat["TSSEQ"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert records(sdtm, "TA", "ARMCD", "TAETORD", "EPOCH")[:3] == [
        ["PTC", 1.0, "SCREENING"], ["PTC", 2.0, "TREATMENT"], ["PTC", 3.0, "FOLLOW-UP"]]
    assert len(sdtm.datasets["TE"]) == 4


def test_every_raw_record_is_accounted_for(sdtm: SdtmResult) -> None:
    report, lost = reconcile(raw_forms(), sdtm.datasets, sdtm.rejections)
    assert lost == []
    rejected = report[report["status"] == "rejected"]
    assert rejected[["form", "row", "reason"]].values.tolist() == [
        ["tumour", 1, "screening assessment without target lesions (no response at "
                      "baseline, no sum of diameters)"]]


def test_ct_miss_in_raw_data_is_a_finding_naming_form_row_variable_value() -> None:
    from sdtm import build_sdtm
    from trialflow import SPECS
    from trialflow.spec import load_codelists, load_dataset_specs, load_dictionary, load_study

    raw = raw_forms()
    raw["ae"].loc[0, "OUTCOME"] = "Got better"
    specs = {k: v for k, v in load_dataset_specs(SPECS / "sdtm").items() if k in ("DM", "AE")}
    result = build_sdtm(raw, specs, load_codelists(), load_study(), load_dictionary())
    assert [(f.source, f.row, f.variable, f.value, f.rule) for f in result.findings] == [
        ("ae.csv", 1, "OUTCOME", "Got better", "ct_unmapped")]
    assert result.datasets["AE"]["AEOUT"].iloc[0] == "GOT BETTER"
    assert isinstance(result.datasets["AE"], pd.DataFrame)
