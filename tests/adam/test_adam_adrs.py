"""ADRS rules on small RS and ADSL tables written by hand, with the real spec (its steps,
run by the verb engine): PRECIOUS's conventions of which assessments count, the SD
minimum as a study day, NE for any assessment but PD, confirmation, progression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from adam_tables import domain, spec, usubjid

from adam import engine

D = pd.Timestamp


def adsl(*subjects: tuple[str, str | None]) -> pd.DataFrame:
    """ADSL rows: (SUBJID, NACTDT or None); randomised 1 January 2020."""
    rows = []
    for subjid, nact in subjects:
        rows.append(dict(STUDYID="PRECIOUS", USUBJID=usubjid(subjid), TRT01P="PTC",
                         TRT01PN=1.0, TRT01A="PTC", TRT01AN=1.0, RANDDT=D("2020-01-01"),
                         NACTDT=D(nact) if nact else pd.NaT, STRAT1R="POSITIVE",
                         STRAT2R="LONG", STRAT3R="2", STRAT4R="VISCERAL", ITTFL="Y",
                         FASFL="Y", SAFFL="Y", MEASFL="Y"))
    return pd.DataFrame(rows)


def rs(subjid: str, *assessments: tuple[str, str], clinical: str | None = None) -> list[dict]:
    """RS OVRLRESP records (date, response; '' = not done), and a clinical progression."""
    rows = [dict(USUBJID=usubjid(subjid), RSSEQ=i, RSTESTCD="OVRLRESP", RSCAT="RECIST 1.1",
                 RSSTRESC=resp, RSSTAT="NOT DONE" if resp == "" else "", VISITNUM=1000 + i,
                 VISIT=f"WEEK {i}", RSDTC=date)
            for i, (date, resp) in enumerate(assessments, start=1)]
    if clinical:
        rows.append(dict(USUBJID=usubjid(subjid), RSSEQ=99, RSTESTCD="CLINPROG",
                         RSCAT="CLINICAL PROGRESSION", RSSTRESC="Y", RSDTC=clinical))
    return rows


def build(rows: list[dict], subjects) -> pd.DataFrame:
    return engine.build({"RS": domain("RS", rows), "ADSL": adsl(*subjects)}, spec("ADRS"))


def param(adrs: pd.DataFrame, subjid: str, paramcd: str) -> pd.Series:
    sel = adrs[(adrs["USUBJID"] == usubjid(subjid)) & (adrs["PARAMCD"] == paramcd)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_sd_needs_the_minimum_duration_from_randomisation() -> None:
    out = build(rs("0001", ("2020-02-04", "SD")) + rs("0002", ("2020-02-03", "SD")),
                [("0001", None), ("0002", None)])
    assert param(out, "0001", "BOR")["AVALC"] == "SD"       # study day 35
    assert param(out, "0002", "BOR")["AVALC"] == "NE"       # study day 34: unknown


def test_no_post_baseline_assessment_is_missing_not_unknown() -> None:
    out = build(rs("0001", ("2020-02-12", "")), [("0001", None), ("0002", None)])
    assert param(out, "0001", "BOR")["AVALC"] == "NE"       # assessed, not evaluable
    none = param(out, "0002", "BOR")
    assert (none["AVALC"], none["AVAL"]) == ("MISSING", 7) and pd.isna(none["ADT"])
    assert param(out, "0002", "RSP")["AVALC"] == "N"
    assert param(out, "0002", "PD")["AVALC"] == "N"
    assert out[(out["USUBJID"] == usubjid("0002")) & (out["PARAMCD"] == "LSTA")].empty


def test_a_not_done_assessment_is_ne_and_not_an_adequate_one() -> None:
    out = build(rs("0001", ("2020-02-12", "SD"), ("2020-03-25", "")), [("0001", None)])
    ovr = out[out["PARAMCD"] == "OVR"]
    assert ovr["AVALC"].tolist() == ["SD", "NE"]
    assert param(out, "0001", "LSTA")["ADT"] == D("2020-02-12")


def test_progression_after_a_new_therapy_does_not_count() -> None:
    out = build(rs("0001", ("2020-02-12", "SD"), ("2020-04-01", "PD")),
                [("0001", "2020-03-15")])
    ovr = out[out["PARAMCD"] == "OVR"].sort_values("ADT")
    assert ovr["ANL01FL"].tolist() == ["Y", ""]
    assert param(out, "0001", "PD")["AVALC"] == "N"
    assert param(out, "0001", "LSTA")["ADT"] == D("2020-02-12")
    assert param(out, "0001", "BOR")["AVALC"] == "SD"


def test_clinical_progression_after_a_new_therapy_does_not_count() -> None:
    out = build(rs("0001", ("2020-02-12", "SD"), clinical="2020-04-01"),
                [("0001", "2020-03-15")])
    assert param(out, "0001", "PD")["AVALC"] == "N"


def test_assessments_after_the_first_progression_do_not_count() -> None:
    out = build(rs("0001", ("2020-02-12", "PD"), ("2020-03-25", "PR")), [("0001", None)])
    ovr = out[out["PARAMCD"] == "OVR"].sort_values("ADT")
    assert ovr["ANL01FL"].tolist() == ["Y", ""]
    assert param(out, "0001", "BOR")["AVALC"] == "PD"
    assert param(out, "0001", "RSP")["AVALC"] == "N"


def test_clinical_progression_is_progression_and_ends_response_assessment() -> None:
    out = build(rs("0001", ("2020-02-12", "SD"), ("2020-03-25", "PR"), clinical="2020-03-01"),
                [("0001", None)])
    pd_ = param(out, "0001", "PD")
    assert (pd_["AVALC"], pd_["ADT"], pd_["PDSRC"]) == ("Y", D("2020-03-01"), "CLINICAL")
    assert param(out, "0001", "BOR")["AVALC"] == "SD"        # the PR came after it


def test_recist_progression_and_its_source() -> None:
    out = build(rs("0001", ("2020-02-12", "SD"), ("2020-03-25", "PD")), [("0001", None)])
    pd_ = param(out, "0001", "PD")
    assert (pd_["AVALC"], pd_["AVAL"], pd_["ADT"], pd_["PDSRC"]) == (
        "Y", 1, D("2020-03-25"), "RECIST")
    assert param(out, "0001", "LSTA")["ADT"] == D("2020-03-25")


def test_response_and_confirmed_response_are_parameters() -> None:
    out = build(rs("0001", ("2020-02-12", "PR"), ("2020-03-01", "PR"))
                + rs("0002", ("2020-02-12", "PR"), ("2020-03-25", "PR")),
                [("0001", None), ("0002", None)])
    assert param(out, "0001", "BOR")["AVALC"] == "PR"
    assert param(out, "0001", "CBOR")["AVALC"] == "SD"      # second PR only 18 days on
    assert param(out, "0001", "CRSP")["AVALC"] == "N"
    rsp = param(out, "0002", "RSP")
    assert (rsp["AVALC"], rsp["AVAL"], rsp["ADT"]) == ("Y", 1, D("2020-02-12"))
    crsp = param(out, "0002", "CRSP")
    assert (crsp["AVALC"], crsp["ADT"]) == ("Y", D("2020-02-12"))


def test_parameters_names_sequence_and_adsl_variables() -> None:
    out = build(rs("0001", ("2020-02-12", "SD")), [("0001", None)])
    assert list(out.columns) == spec("ADRS").variable_names
    assert set(out["PARAMCD"]) == {"OVR", "BOR", "CBOR", "RSP", "CRSP", "PD", "LSTA"}
    assert param(out, "0001", "BOR")["PARAM"] == "Best Overall Response by Investigator"
    ovr = param(out, "0001", "OVR")
    assert (ovr["ADY"], ovr["AVAL"], ovr["SRCDOM"], ovr["SRCSEQ"], ovr["TRT01P"]) == (
        43, 3, "RS", 1, "PTC")
    assert sorted(out["ASEQ"]) == list(np.arange(1.0, len(out) + 1))


@pytest.mark.parametrize(("responses", "bor"), [
    (["CR"], "CR"), (["SD", "PR"], "PR"), (["NON-CR/NON-PD"], "NON-CR/NON-PD"),
    (["PD"], "PD")])
def test_best_response_order(responses, bor) -> None:
    dates = ["2020-02-12", "2020-03-25", "2020-05-06"]
    out = build(rs("0001", *zip(dates, responses, strict=False)), [("0001", None)])
    assert param(out, "0001", "BOR")["AVALC"] == bor


def test_two_assessments_on_one_date_the_worst_counts() -> None:
    out = build(rs("0001", ("2020-02-12", "PR"), ("2020-02-12", "SD")), [("0001", None)])
    ovr = out[out["PARAMCD"] == "OVR"].sort_values("SRCSEQ")
    assert ovr["ANL01FL"].tolist() == ["", "Y"]
    assert param(out, "0001", "BOR")["AVALC"] == "SD"
    assert param(out, "0001", "RSP")["AVALC"] == "N"


def test_an_early_sd_then_pd_is_pd_and_pr_beats_sd_at_the_first_pr() -> None:
    out = build(rs("0001", ("2020-01-20", "SD"), ("2020-02-20", "PD"))
                + rs("0002", ("2020-02-12", "SD"), ("2020-03-25", "PR"), ("2020-05-06", "PR")),
                [("0001", None), ("0002", None)])
    assert param(out, "0001", "BOR")["AVALC"] == "PD"
    bor = param(out, "0002", "BOR")
    assert (bor["AVALC"], bor["AVAL"], bor["ADT"]) == ("PR", 2, D("2020-03-25"))
    # A derived parameter has no visit nor source record (blank in the files).
    assert pd.isna(bor["AVISITN"]) and pd.isna(bor["SRCSEQ"])
    assert pd.isna(bor["AVISIT"]) or bor["AVISIT"] == ""


def test_only_an_assessment_before_randomisation_is_missing() -> None:
    out = build(rs("0001", ("2019-12-20", "SD")), [("0001", None)])
    assert param(out, "0001", "OVR")["ANL01FL"] == ""
    assert param(out, "0001", "BOR")["AVALC"] == "MISSING"


def test_confirmation_tolerates_one_ne_between_but_not_two() -> None:
    out = build(rs("0001", ("2020-02-12", "PR"), ("2020-03-01", "NE"), ("2020-03-25", "PR"))
                + rs("0002", ("2020-02-12", "PR"), ("2020-02-20", "NE"), ("2020-03-01", "NE"),
                     ("2020-03-25", "PR")), [("0001", None), ("0002", None)])
    assert param(out, "0001", "CBOR")["AVALC"] == "PR"
    assert param(out, "0002", "CBOR")["AVALC"] == "SD"
    assert (param(out, "0001", "CRSP")["AVALC"], param(out, "0002", "CRSP")["AVALC"]) == (
        "Y", "N")


def test_an_unconfirmed_early_response_is_unknown_not_missing() -> None:
    out = build(rs("0001", ("2020-01-20", "PR")), [("0001", None)])
    assert (param(out, "0001", "BOR")["AVALC"], param(out, "0001", "CBOR")["AVALC"]) == (
        "PR", "NE")


def test_a_confirmed_response_is_dated_at_the_confirmed_best_response() -> None:
    # A confirmed PR, then a confirmed CR: CBOR is the CR, and CRSP takes its date.
    out = build(rs("0001", ("2020-02-12", "PR"), ("2020-03-25", "PR"), ("2020-05-06", "CR"),
                   ("2020-06-17", "CR")), [("0001", None)])
    cbor, crsp = param(out, "0001", "CBOR"), param(out, "0001", "CRSP")
    assert (cbor["AVALC"], cbor["ADT"]) == ("CR", D("2020-05-06"))
    assert (crsp["AVALC"], crsp["ADT"]) == ("Y", D("2020-05-06"))
    assert param(out, "0001", "RSP")["ADT"] == D("2020-02-12")


def test_progression_on_the_same_date_by_recist_and_clinically_is_recist() -> None:
    out = build(rs("0001", ("2020-03-01", "PD"), clinical="2020-03-01")
                + rs("0002", clinical="2020-03-01"), [("0001", None), ("0002", None)])
    assert param(out, "0001", "PD")[["ADT", "PDSRC"]].tolist() == [D("2020-03-01"), "RECIST"]
    assert param(out, "0002", "PD")[["ADT", "PDSRC"]].tolist() == [D("2020-03-01"),
                                                                    "CLINICAL"]
    assert param(out, "0002", "BOR")["AVALC"] == "MISSING"


def test_a_misspelt_key_of_a_step_is_one_line_naming_file_step_and_the_allowed_keys(
        tmp_path, capsys) -> None:
    """The exit-2 one-line error of the command line, for a misspelt option of ADRS's
    best response step (the SD minimum: ``ref_start_window``)."""
    import shutil

    from trialflow import SPECS
    from trialflow.cli import main

    study = tmp_path / "study"
    shutil.copytree(SPECS, study)
    path = study / "adam" / "adrs.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("ref_start_window: 34") == 2
    path.write_text(text.replace("ref_start_window: 34", "ref_start_windw: 34", 1),
                    encoding="utf-8")
    assert main(["adam", "--study", str(study), "--sdtm", str(tmp_path / "none"),
                 "--out", str(tmp_path / "adam")]) == 2
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if x.startswith("trialflow:")][-1]
    assert str(path) in line and "(best_response): ref_start_windw: unknown field (did you " \
        "mean ref_start_window? allowed: accept_sd, assessments, aval, confirmed, keep, " in line
    assert "Traceback" not in err and not (tmp_path / "adam").exists()
