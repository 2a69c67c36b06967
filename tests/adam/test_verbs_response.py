"""Tumour-response verbs of adam.engine (adam/verbs/response.py), each rule and option on a
small hand-written table (admiral style), with the expected values worked out by hand
from admiralonco's rules; and the engine's contract for them (misspelt keys, missing
variables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adam import engine
from adam.verbs.base import Context
from adam.verbs.response import (
    best_response,
    clinical_benefit,
    event_param,
    exist_param,
    overall_response,
    response,
)
from trialflow.errors import InputError, SpecError
from trialflow.spec import DatasetSpec, Variable

D = pd.to_datetime
RANDDT = "2020-01-01"


def adsl(*subjects: str, randdt: str | None = RANDDT, **more: list) -> pd.DataFrame:
    """ADSL: the subjects, all randomised on ``randdt``."""
    return pd.DataFrame({"STUDYID": "S", "USUBJID": list(subjects),
                         "RANDDT": D([randdt] * len(subjects)), **more})


def ovr(*rows: tuple, subject: str = "1", randdt: str = RANDDT) -> pd.DataFrame:
    """OVR records of one subject: (ADT, AVALC[, RSSEQ]), RSSEQ numbering them if not
    given."""
    return pd.DataFrame({
        "STUDYID": "S", "USUBJID": subject, "PARAMCD": "OVR",
        "ADT": D([r[0] for r in rows]), "AVALC": [r[1] for r in rows],
        "RSSEQ": [float(r[2]) if len(r) > 2 else float(i + 1) for i, r in enumerate(rows)],
        "VISIT": [f"WEEK {3 * (i + 1)}" for i in range(len(rows))],
        "RANDDT": D([randdt] * len(rows))})


def counted(frame: pd.DataFrame, sl: pd.DataFrame | None = None, **options) -> pd.DataFrame:
    """The OVR records with AVAL, ANL01FL and ANL02FL."""
    ctx = Context(inputs={"ADSL": sl if sl is not None else adsl("1")})
    return overall_response(frame, ctx, reference_date="RANDDT", order=["RSSEQ"],
                            until_first_pd="ANL02FL", **options)


def param(out: pd.DataFrame, paramcd: str, subject: str = "1") -> pd.Series:
    rows = out[out["PARAMCD"].eq(paramcd) & out["USUBJID"].eq(subject)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def run(verb, frame: pd.DataFrame, sl: pd.DataFrame | None = None, **params) -> pd.DataFrame:
    sl = sl if sl is not None else adsl("1")
    return verb(frame, Context(inputs={"ADSL": sl}), **params)


OVR = {"PARAMCD": "OVR", "ANL01FL": "Y", "ANL02FL": "Y"}


# --------------------------------------------------------------------------- OVR


def test_overall_response_codes_aval_as_admiralonco():
    out = counted(ovr(("2020-02-01", "CR"), ("2020-03-01", "PR"), ("2020-04-01", "SD"),
                      ("2020-05-01", "NON-CR/NON-PD"), ("2020-06-01", "NE"),
                      ("2020-07-01", "PD"), ("2020-08-01", "")))
    assert out["AVAL"].tolist()[:6] == [1.0, 2.0, 3.0, 4.0, 6.0, 5.0]
    assert np.isnan(out["AVAL"].iloc[6])


def test_an_assessment_without_a_response_or_before_randomisation_does_not_count():
    out = counted(ovr(("2019-12-31", "SD"), ("2020-01-01", "SD"), ("2020-02-01", "")))
    assert out["ANL01FL"].tolist() == ["", "Y", ""]


def test_an_assessment_without_a_date_does_not_count():
    frame = ovr(("2020-02-01", "SD"), ("2020-03-01", "PR"))
    frame.loc[1, "ADT"] = pd.NaT
    assert counted(frame)["ANL01FL"].tolist() == ["Y", ""]


def test_of_two_assessments_on_one_date_the_worst_counts_and_ne_is_the_least_bad():
    out = counted(ovr(("2020-02-01", "PD", 1), ("2020-02-01", "SD", 2),
                      ("2020-03-01", "NE", 3), ("2020-03-01", "CR", 4)))
    assert out["ANL01FL"].tolist() == ["Y", "", "", "Y"]


def test_the_worst_order_can_be_declared():
    out = counted(ovr(("2020-03-01", "NE", 3), ("2020-03-01", "CR", 4)),
                  worst=["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"])
    assert out["ANL01FL"].tolist() == ["Y", ""]


def test_the_same_response_twice_on_a_date_keeps_the_last_in_order():
    assert counted(ovr(("2020-02-01", "SD", 7), ("2020-02-01", "SD", 5)))[
        "ANL01FL"].tolist() == ["Y", ""]


def test_an_assessment_on_or_after_the_before_date_does_not_count():
    frame = ovr(("2020-02-01", "SD"), ("2020-03-01", "PR"), ("2020-04-01", "PR"))
    frame["NACTDT"] = D("2020-03-01")
    assert counted(frame, before="NACTDT")["ANL01FL"].tolist() == ["Y", "", ""]


def test_the_first_pd_flag_stops_after_the_first_progression():
    out = counted(ovr(("2020-02-01", "SD"), ("2020-03-01", "PD"), ("2020-04-01", "SD")))
    assert out["ANL02FL"].tolist() == ["Y", "Y", ""]
    assert out["ANL01FL"].tolist() == ["Y", "Y", "Y"]


def test_without_progression_every_assessment_is_before_it():
    assert counted(ovr(("2020-02-01", "SD"), ("2020-03-01", "PR")))[
        "ANL02FL"].tolist() == ["Y", "Y"]


def test_the_response_is_taken_from_the_source_variable_on_the_filtered_records():
    frame = pd.concat([ovr(("2020-02-01", "")), ovr(("2020-02-01", "Y"))], ignore_index=True)
    frame["PARAMCD"] = ["OVR", "PD"]
    frame["RSSTRESC"] = ["PR", "X"]
    out = counted(frame, source="RSSTRESC", filter={"PARAMCD": "OVR"})
    assert out["AVALC"].tolist() == ["PR", "Y"] and out["AVAL"].iloc[0] == 2.0


def test_a_partial_assessment_date_is_imputed_when_the_spec_declares_it():
    rs = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "1"], "RSSEQ": [1.0, 2.0],
                       "RSSTRESC": ["SD", "NE"], "RSDTC": ["2020-01-23", "2020-02"]})
    spec = _spec("ADRS", ["USUBJID", "ADT", "ADTF", "AVALC", "ANL01FL"], [
        {"merge": {"dataset": "ADSL", "new_vars": ["RANDDT"]}},
        {"dt": {"source": "RSDTC", "prefix": "A", "highest_imputation": "D",
                "date_imputation": "last"}},
        {"overall_response": {"source": "RSSTRESC", "reference_date": "RANDDT"}}],
        inputs=["RS", "ADSL"], start="RS")
    out = engine.build({"RS": rs, "ADSL": adsl("1")}, spec)
    assert out["ADT"].tolist() == [D("2020-01-23"), D("2020-02-29")]
    assert out["ADTF"].tolist() == ["", "D"] and out["ANL01FL"].tolist() == ["Y", "Y"]


# --------------------------------------------------------------------------- BOR


def bor(*rows, sl=None, **options) -> pd.Series:
    out = run(best_response, counted(ovr(*rows)), sl, paramcd="BOR", ref_start_window=42,
              assessments=OVR, **options)
    return param(out, "BOR")


def test_best_response_cr_before_pr_before_sd():
    r = bor(("2020-02-12", "SD"), ("2020-03-01", "PR"), ("2020-04-01", "CR"))
    assert (r["AVALC"], r["AVAL"], r["ADT"]) == ("CR", 1.0, D("2020-04-01"))


def test_best_response_is_at_the_first_assessment_of_its_category_with_its_record():
    r = bor(("2020-02-12", "SD"), ("2020-03-01", "PR"), ("2020-04-01", "PR"))
    assert (r["AVALC"], r["ADT"], r["VISIT"], r["RSSEQ"]) == ("PR", D("2020-03-01"),
                                                              "WEEK 6", 2.0)


def test_sd_counts_from_ref_start_window_days_after_randomisation():
    assert bor(("2020-02-12", "SD"))["AVALC"] == "SD"   # 42 days after 1 January
    assert bor(("2020-02-11", "SD"))["AVALC"] == "NE"   # 41 days


def test_non_cr_non_pd_needs_the_window_too():
    assert bor(("2020-02-12", "NON-CR/NON-PD"))["AVALC"] == "NON-CR/NON-PD"
    assert bor(("2020-02-11", "NON-CR/NON-PD"))["AVALC"] == "NE"


def test_an_early_sd_then_pd_is_pd():
    r = bor(("2020-01-20", "SD"), ("2020-02-20", "PD"))
    assert (r["AVALC"], r["AVAL"]) == ("PD", 5.0)


def test_only_ne_is_ne_and_no_assessment_is_missing_with_the_subjects_keep_variables():
    assert bor(("2020-02-12", "NE"))["AVALC"] == "NE"
    out = run(best_response, counted(ovr(("2020-02-12", "SD"))), adsl("1", "2"),
              paramcd="BOR", ref_start_window=42, assessments=OVR,
              subjects={"dataset": "ADSL", "keep": ["RANDDT"]})
    r = param(out, "BOR", "2")
    assert (r["AVALC"], r["AVAL"], r["RANDDT"]) == ("MISSING", 7.0, D(RANDDT))
    assert pd.isna(r["ADT"])


def test_assessments_after_the_first_pd_do_not_count_for_the_best_response():
    assert bor(("2020-02-12", "PD"), ("2020-03-25", "CR"))["AVALC"] == "PD"


def test_the_subjects_filter_limits_who_gets_a_record():
    out = run(best_response, counted(ovr(("2020-02-12", "SD"))), adsl("1", "2"),
              paramcd="BOR", ref_start_window=42,
              subjects={"filter": {"USUBJID": {"ne": "2"}}})
    assert out.loc[out["PARAMCD"].eq("BOR"), "USUBJID"].tolist() == ["1"]


def test_set_values_and_param_go_on_every_record():
    out = run(best_response, counted(ovr(("2020-02-12", "SD"))), adsl("1", "2"),
              paramcd="BOR", param="Best Overall Response", ref_start_window=42,
              set_values={"PARCAT1": "Tumor Response", "ANL01FL": "Y"})
    b = out[out["PARAMCD"].eq("BOR")]
    assert b["PARAM"].tolist() == ["Best Overall Response"] * 2
    assert b["PARCAT1"].tolist() == ["Tumor Response"] * 2 and b["ANL01FL"].eq("Y").all()


def test_the_aval_coding_can_be_declared():
    r = bor(("2020-02-12", "SD"), aval={"CR": 7, "PR": 6, "SD": 5, "MISSING": 1})
    assert r["AVAL"] == 5.0


# --------------------------------------------------------------------------- confirmation


def cbor(*rows, **options) -> pd.Series:
    return bor(*rows, confirmed=True, **options)


def test_a_cr_confirmed_by_a_cr_28_days_later():
    r = cbor(("2020-02-12", "CR"), ("2020-03-11", "CR"))
    assert (r["AVALC"], r["ADT"]) == ("CR", D("2020-02-12"))


def test_confirmation_needs_ref_confirm_days():
    assert cbor(("2020-02-12", "CR"), ("2020-03-10", "CR"))["AVALC"] == "SD"   # 27 days
    assert cbor(("2020-02-12", "CR"), ("2020-03-10", "CR"),
                ref_confirm=27)["AVALC"] == "CR"


def test_a_pr_is_confirmed_by_a_later_pr_or_cr():
    assert cbor(("2020-02-12", "PR"), ("2020-03-11", "CR"))["AVALC"] == "PR"


def test_at_most_max_nr_ne_ne_between():
    rows = (("2020-02-12", "PR"), ("2020-02-20", "NE"), ("2020-02-28", "NE"),
            ("2020-03-15", "PR"))
    assert cbor(*rows)["AVALC"] == "SD"
    assert cbor(*rows, max_nr_ne=2)["AVALC"] == "PR"


def test_sd_between_breaks_the_confirmation_of_a_pr_unless_accepted():
    rows = (("2020-02-12", "PR"), ("2020-02-26", "SD"), ("2020-03-15", "PR"))
    assert cbor(*rows)["AVALC"] == "SD"
    assert cbor(*rows, accept_sd=True)["AVALC"] == "PR"


def test_no_pr_after_a_cr_in_the_confirmation_of_a_pr():
    # PR confirmed by the PR 28 days on, but a CR came between: admiralonco's cbor_pr
    # refuses it (the CR itself is not confirmed either).
    r = cbor(("2020-02-12", "PR"), ("2020-02-20", "CR"), ("2020-03-11", "PR"))
    assert r["AVALC"] == "SD"


def test_an_unconfirmed_cr_before_the_window_is_missing_not_ne():
    # admiralonco's bor_ne takes SD, NON-CR/NON-PD and NE only.
    assert cbor(("2020-01-20", "CR"))["AVALC"] == "MISSING"


def test_an_unconfirmed_cr_before_the_window_is_ne_when_ne_takes_any_response_but_pd():
    # PRECIOUS's NE: any assessment but PD (ne_responses), so the lone CR is NE.
    r = cbor(("2020-01-20", "CR"), ne_responses=["CR", "PR", "SD", "NON-CR/NON-PD", "NE"])
    assert (r["AVALC"], r["ADT"]) == ("NE", D("2020-01-20"))


def test_a_pr_after_a_cr_may_confirm_a_pr_when_no_pr_after_cr_is_off():
    # As in the test above it, but without admiralonco's rule: the PR 28 days on confirms.
    r = cbor(("2020-02-12", "PR"), ("2020-02-20", "CR"), ("2020-03-11", "PR"),
             no_pr_after_cr=False)
    assert (r["AVALC"], r["ADT"]) == ("PR", D("2020-02-12"))


def test_keep_limits_the_variables_the_new_record_takes_from_its_source():
    rows = counted(ovr(("2020-03-01", "PR")))
    whole = param(run(best_response, rows, paramcd="BOR", ref_start_window=42), "BOR")
    assert (whole["RSSEQ"], whole["VISIT"]) == (1.0, "WEEK 3")
    out = run(best_response, rows, paramcd="BOR", ref_start_window=42, keep=["ADT"])
    kept = param(out, "BOR")
    assert (kept["AVALC"], kept["AVAL"], kept["ADT"]) == ("PR", 2.0, D("2020-03-01"))
    assert pd.isna(kept["RSSEQ"]) and pd.isna(kept["VISIT"])
    rsp = param(run(response, rows, paramcd="RSP", keep=["ADT"]), "RSP")
    assert (rsp["AVALC"], rsp["ADT"]) == ("Y", D("2020-03-01")) and pd.isna(rsp["RSSEQ"])


def test_event_param_keep_applies_to_the_dataset_being_built_too():
    rows = counted(ovr(("2020-02-01", "SD"), ("2020-03-01", "NE")))
    out = run(event_param, rows, paramcd="LSTA", filter={**OVR, "AVALC": {"ne": "NE"}},
              order=["ADT"], mode="last", exist_flag=None, keep=["ADT", "AVALC"])
    lsta = param(out, "LSTA")
    assert (lsta["AVALC"], lsta["ADT"]) == ("SD", D("2020-02-01"))
    assert pd.isna(lsta["RSSEQ"]) and pd.isna(lsta["AVAL"])


# --------------------------------------------------------------------------- RSP, CB


def test_response_is_y_at_the_first_cr_or_pr_and_n_without():
    out = run(response, counted(ovr(("2020-02-01", "SD"), ("2020-03-01", "PR"),
                                    ("2020-04-01", "CR"))), adsl("1", "2"),
              paramcd="RSP", assessments=OVR)
    r, n = param(out, "RSP"), param(out, "RSP", "2")
    assert (r["AVALC"], r["AVAL"], r["ADT"]) == ("Y", 1.0, D("2020-03-01"))
    assert (n["AVALC"], n["AVAL"]) == ("N", 0.0) and pd.isna(n["ADT"])


def test_confirmed_response_is_the_first_confirmed_cr_or_pr():
    # The first PR has an SD before its confirmation; the second is confirmed 28 days on.
    out = run(response, counted(ovr(("2020-02-01", "PR"), ("2020-02-10", "SD"),
                                    ("2020-02-15", "PR"), ("2020-03-14", "PR"))),
              paramcd="CRSP", confirmed=True, assessments=OVR)
    assert param(out, "CRSP")[["AVALC", "ADT"]].tolist() == ["Y", D("2020-02-15")]
    out = run(response, counted(ovr(("2020-02-01", "PR"), ("2020-02-20", "SD"))),
              paramcd="CRSP", confirmed=True, assessments=OVR)
    assert param(out, "CRSP")["AVALC"] == "N"


def test_clinical_benefit_from_an_early_response_or_a_late_sd():
    early = run(clinical_benefit, counted(ovr(("2020-01-20", "PR"))), paramcd="CB",
                ref_start_window=42, assessments=OVR)
    assert (param(early, "CB")["AVALC"], param(early, "CB")["ADT"]) == ("Y", D("2020-01-20"))
    late = run(clinical_benefit, counted(ovr(("2020-01-20", "SD"), ("2020-02-12", "SD"))),
               paramcd="CB", ref_start_window=42, assessments=OVR)
    assert param(late, "CB")["ADT"] == D("2020-02-12")
    none = run(clinical_benefit, counted(ovr(("2020-01-20", "SD"), ("2020-02-20", "PD"))),
               paramcd="CB", ref_start_window=42, assessments=OVR)
    assert param(none, "CB")["AVALC"] == "N"


def test_confirmed_clinical_benefit_takes_a_confirmed_response_or_a_late_benefit():
    rows = counted(ovr(("2020-01-10", "PR"), ("2020-01-20", "NE"), ("2020-01-30", "NE"),
                       ("2020-02-12", "PR")))
    out = run(clinical_benefit, rows, paramcd="CCB", confirmed=True, ref_start_window=42,
              assessments=OVR)
    # the first PR is not confirmed (two NE between); the last is a PR 42 days on
    assert param(out, "CCB")["ADT"] == D("2020-02-12")


# --------------------------------------------------------------------------- PD, DEATH...


def test_event_param_pd_is_the_first_pd_that_counts():
    rows = counted(ovr(("2020-02-01", "SD"), ("2020-03-01", "PD"), ("2020-04-01", "PD")))
    out = run(event_param, rows, adsl("1", "2"), paramcd="PD",
              filter={"PARAMCD": "OVR", "AVALC": "PD", "ANL01FL": "Y"}, order=["ADT", "RSSEQ"],
              subjects={"keep": ["RANDDT"]})
    r, n = param(out, "PD"), param(out, "PD", "2")
    assert (r["AVALC"], r["AVAL"], r["ADT"], r["RSSEQ"]) == ("Y", 1.0, D("2020-03-01"), 2.0)
    assert (n["AVALC"], n["AVAL"], n["RANDDT"]) == ("N", 0.0, D(RANDDT))


def test_event_param_death_from_adsl_takes_the_death_date_as_adt():
    sl = adsl("1", "2", DTHDT=D(["2020-05-01", None]))
    out = run(event_param, counted(ovr(("2020-02-01", "SD"))), sl, paramcd="DEATH",
              dataset="ADSL", filter={"DTHDT": {"present": True}}, date="DTHDT",
              keep=["RANDDT"], set_values={"PARCAT1": "Reference Event"})
    r, n = param(out, "DEATH"), param(out, "DEATH", "2")
    assert (r["AVALC"], r["ADT"], r["RANDDT"], r["PARCAT1"]) == (
        "Y", D("2020-05-01"), D(RANDDT), "Reference Event")
    assert n["AVALC"] == "N" and pd.isna(n["ADT"])


def test_lsta_is_the_last_assessment_and_may_follow_the_first_pd():
    rows = counted(ovr(("2020-02-01", "SD"), ("2020-03-01", "PD"), ("2020-04-01", "SD")))
    out = run(event_param, rows, adsl("1", "2"), paramcd="LSTA",
              filter={"PARAMCD": "OVR", "ANL01FL": "Y"}, order=["ADT", "RSSEQ"],
              mode="last", exist_flag=None)
    r, n = param(out, "LSTA"), param(out, "LSTA", "2")
    assert (r["AVALC"], r["AVAL"], r["ADT"]) == ("SD", 3.0, D("2020-04-01"))
    assert pd.isna(n["ADT"]) and pd.isna(n["AVAL"]) and pd.isna(n["AVALC"])


def test_lsta_up_to_the_first_pd_when_the_filter_says_so():
    rows = counted(ovr(("2020-02-01", "SD"), ("2020-03-01", "PD"), ("2020-04-01", "SD")))
    out = run(event_param, rows, paramcd="LSTA", filter=OVR, order=["ADT"], mode="last",
              exist_flag=None)
    assert param(out, "LSTA")["ADT"] == D("2020-03-01")


def test_event_param_from_the_best_response():
    rows = counted(ovr(("2020-03-01", "PR")))
    rows = run(best_response, rows, adsl("1", "2"), paramcd="BOR", ref_start_window=42)
    out = run(event_param, rows, adsl("1", "2"), paramcd="BCP",
              filter={"PARAMCD": "BOR", "AVALC": {"in": ["CR", "PR"]}})
    assert param(out, "BCP")[["AVALC", "AVAL", "ADT"]].tolist() == ["Y", 1.0, D("2020-03-01")]
    assert param(out, "BCP", "2")["AVALC"] == "N"


def test_event_param_without_an_order_needs_one_record_per_subject():
    rows = counted(ovr(("2020-02-01", "PD"), ("2020-03-01", "PD")))
    with pytest.raises(ValueError, match="give an order"):
        run(event_param, rows, paramcd="PD", filter={"AVALC": "PD"})


def test_exist_param_yes_no_and_missing():
    tu = pd.DataFrame({"USUBJID": ["1", "2"], "TUSTRESC": ["TARGET", "NON-TARGET"]})
    ctx = Context(inputs={"ADSL": adsl("1", "2", "3"), "TU": tu})
    out = exist_param(counted(ovr(("2020-02-01", "SD"))), ctx, paramcd="MDIS", dataset="TU",
                      condition={"TUSTRESC": "TARGET"}, missing_value="")
    m = out[out["PARAMCD"].eq("MDIS")]
    assert m["AVALC"].tolist() == ["Y", "N", ""]
    assert m["AVAL"].tolist()[:2] == [1.0, 0.0] and np.isnan(m["AVAL"].iloc[2])
    assert m["RANDDT"].isna().all()       # no subject variables unless kept


# --------------------------------------------------------------------------- the contract


def _spec(name: str, variables: list[str], steps: list[dict], inputs: list[str],
          start: str) -> DatasetSpec:
    return DatasetSpec(name, name, "BASIC DATA STRUCTURE", "", "ADaMIG 1.3", ("USUBJID",),
                       ("USUBJID",), tuple(Variable(v, v, "Char", 20, "Derived", False)
                                           for v in variables),
                       derivation={"inputs": inputs, "start": {"dataset": start},
                                   "steps": steps}, file="adrs.yaml")


def test_a_misspelt_option_is_one_line_naming_the_step_and_what_is_allowed():
    spec = _spec("ADRS", ["USUBJID"], [{"best_response": {
        "paramcd": "BOR", "ref_start_window": 42, "ref_confirmm": 28}}],
        ["ADRS", "ADSL"], "ADRS")
    with pytest.raises(SpecError) as err:
        engine.check_spec(spec)
    text = str(err.value)
    assert "adrs.yaml" in text and "step 1 (best_response)" in text and "\n" not in text
    assert "ref_confirmm: unknown field" in text and "ref_confirm, ref_start_window" in text


def test_a_missing_required_option_is_named():
    spec = _spec("ADRS", ["USUBJID"], [{"clinical_benefit": {"paramcd": "CB"}}],
                 ["ADRS", "ADSL"], "ADRS")
    with pytest.raises(SpecError, match=r"step 1 \(clinical_benefit\): ref_start_window: "
                                        "required field"):
        engine.check_spec(spec)


def test_a_malformed_nested_condition_is_refused_when_the_spec_is_read():
    spec = _spec("ADRS", ["USUBJID"], [{"response": {
        "paramcd": "RSP", "assessments": {"AVALC": {"one_of": ["CR"]}}}}],
        ["ADRS", "ADSL"], "ADRS")
    with pytest.raises(SpecError, match="assessments: AVALC: unknown operator"):
        engine.check_spec(spec)


def test_a_subjects_dataset_not_among_the_inputs_is_refused():
    spec = _spec("ADRS", ["USUBJID"], [{"response": {
        "paramcd": "RSP", "subjects": {"dataset": "DM"}}}], ["ADRS", "ADSL"], "ADRS")
    with pytest.raises(SpecError, match="reads DM, which is not under derivation.inputs"):
        engine.check_spec(spec)


def test_a_variable_the_data_lack_is_one_line_naming_the_step_and_the_variable():
    rs = pd.DataFrame({"USUBJID": ["1"], "ADT": D(["2020-02-01"]), "AVALC": ["SD"]})
    spec = _spec("ADRS", ["USUBJID"], [
        {"overall_response": {"reference_date": "RANDDT"}}], ["RS", "ADSL"], "RS")
    with pytest.raises(InputError) as err:
        engine.build({"RS": rs, "ADSL": adsl("1")}, spec)
    assert "ADRS step 1 (overall_response)" in str(err.value)
    assert "no variable RANDDT" in str(err.value)
