"""Named derivations: USUBJID, study day, --SEQ, EPOCH, visits, coding, LOBXFL, SUPP links."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialflow.derivations import iso_bounds, study_day, visit_table
from trialflow.mapping import map_dataset

from .helpers import context, spec, var

DM = pd.DataFrame({"USUBJID": ["S-1-001", "S-1-002"], "RFSTDTC": ["2016-06-05", ""],
                   "RFXSTDTC": ["2016-06-05", ""], "RFXENDTC": ["2016-08-31", ""],
                   "_FORM": "enrol", "_ROW": [1, 2]})


def _ctx(**forms: pd.DataFrame):
    ctx = context(**forms)
    ctx.domains["DM"] = DM
    return ctx


def test_usubjid_joins_study_site_and_subject() -> None:
    enrol = pd.DataFrame({"STUDYID": ["S"], "SITEID": ["1"], "SUBJID": ["001"]})
    ctx = _ctx(demo=enrol)
    s = spec(var("USUBJID", {"derive": "usubjid", "params": {"studyid": "STUDYID",
                                                             "siteid": "SITEID"}}))
    assert map_dataset(ctx, s)["USUBJID"].tolist() == ["S-1-001"]


def test_study_day_has_no_day_zero() -> None:
    ref = pd.to_datetime(pd.Series(["2016-06-05"] * 4))
    dates = pd.to_datetime(pd.Series(["2016-06-04", "2016-06-05", "2016-06-06", "2016-05-06"]))
    assert study_day(dates, ref).tolist() == [-1.0, 1.0, 2.0, -30.0]


def test_study_day_from_dm_rfstdtc_partial_date_and_no_reference_give_blank() -> None:
    raw = pd.DataFrame({"USUBJID": ["S-1-001", "S-1-001", "S-1-002", "S-1-001"],
                        "DT": ["07-JUN-2016", "UN-JUN-2016", "07-JUN-2016", "04-JUN-2016"]})
    s = spec(var("USUBJID", {"assign": "USUBJID"}), var("XXDTC", {"iso8601": "DT"}),
             var("XXDY", {"derive": "study_day", "params": {"dtc": "XXDTC"}}, type_="Num"),
             sort=("USUBJID", "XXDTC"))
    out = map_dataset(_ctx(demo=raw), s)
    got = dict(zip(out["XXDTC"] + "/" + out["USUBJID"], out["XXDY"], strict=True))
    assert got["2016-06-07/S-1-001"] == 3.0 and got["2016-06-04/S-1-001"] == -1.0
    assert np.isnan(got["2016-06/S-1-001"]) and np.isnan(got["2016-06-07/S-1-002"])


def test_seq_numbers_records_within_subject_in_sort_order() -> None:
    raw = pd.DataFrame({"USUBJID": ["B", "A", "B", "A"], "DTC": ["2", "3", "1", "1"]})
    s = spec(var("USUBJID", {"assign": "USUBJID"}), var("DTC", {"assign": "DTC"}),
             var("XXSEQ", {"derive": "seq"}, type_="Num"), sort=("USUBJID", "DTC"))
    out = map_dataset(context(demo=raw), s)
    assert out[["USUBJID", "DTC", "XXSEQ"]].values.tolist() == [
        ["A", "1", 1.0], ["A", "3", 2.0], ["B", "1", 1.0], ["B", "2", 2.0]]


def test_epoch_from_first_and_last_dose_with_partial_dates() -> None:
    raw = pd.DataFrame({"USUBJID": ["S-1-001"] * 6 + ["S-1-002"],
                        "DT": ["04-JUN-2016", "05-JUN-2016", "31-AUG-2016", "01-SEP-2016",
                               "UN-JUN-2016", "UN-JUL-2016", "07-JUN-2016"]})
    s = spec(var("USUBJID", {"assign": "USUBJID"}), var("EPOCH", {"derive": "epoch",
                                                                  "params": {"dtc": "XXDTC"}}),
             var("XXDTC", {"iso8601": "DT"}), sort=("USUBJID",))
    out = map_dataset(_ctx(demo=raw), s)
    # June 2016 spans screening and treatment: no epoch; July lies within treatment.
    assert out["EPOCH"].tolist() == ["SCREENING", "TREATMENT", "TREATMENT", "FOLLOW-UP", "",
                                     "TREATMENT", ""]


def test_epoch_of_a_partial_date_as_the_analysis_imputes_it() -> None:
    raw = pd.DataFrame({"USUBJID": ["S-1-001"] * 3,
                        "DT": ["UN-JUN-2016", "UN-AUG-2016", "UN-MAY-2016"]})
    s = spec(var("USUBJID", {"assign": "USUBJID"}),
             var("EPOCH", {"derive": "epoch", "params": {"dtc": "XXDTC",
                                                         "partial": "impute"}}),
             var("XXDTC", {"iso8601": "DT"}), sort=("USUBJID",))
    out = map_dataset(_ctx(demo=raw), s)
    # June: the first day possible (1 June) moved to the first dose (5 June), TREATMENT;
    # August: 1 August, before the last dose (31 August); May: wholly before the dose.
    assert out["EPOCH"].tolist() == ["TREATMENT", "TREATMENT", "SCREENING"]


def test_epoch_of_a_subject_never_dosed_from_her_reference_start() -> None:
    # S-1-003 was randomised on 2016-06-10 (RFSTDTC) and never dosed (no RFXSTDTC).
    dm = pd.concat([DM, pd.DataFrame({"USUBJID": ["S-1-003"], "RFSTDTC": ["2016-06-10"],
                                      "RFXSTDTC": [""], "RFXENDTC": [""],
                                      "_FORM": "enrol", "_ROW": [3]})], ignore_index=True)
    raw = pd.DataFrame({"USUBJID": ["S-1-003"] * 4 + ["S-1-002"],
                        "DT": ["01-JUN-2016", "10-JUN-2016", "11-JUN-2016", "UN-JUN-2016",
                               "07-JUN-2016"]})
    s = spec(var("USUBJID", {"assign": "USUBJID"}),
             var("EPOCH", {"derive": "epoch", "params": {"dtc": "XXDTC",
                                                         "untreated": "FOLLOW-UP"}}),
             var("XXDTC", {"iso8601": "DT"}), sort=("USUBJID", "XXDTC"))
    ctx = context(demo=raw)
    ctx.domains["DM"] = dm
    out = map_dataset(ctx, s)
    # S-1-002 has no reference start at all: no epoch. S-1-003: SCREENING up to and on
    # the randomisation day, FOLLOW-UP after; June 2016 spans both: none.
    assert out[["USUBJID", "XXDTC", "EPOCH"]].values.tolist() == [
        ["S-1-002", "2016-06-07", ""], ["S-1-003", "2016-06", ""],
        ["S-1-003", "2016-06-01", "SCREENING"], ["S-1-003", "2016-06-10", "SCREENING"],
        ["S-1-003", "2016-06-11", "FOLLOW-UP"]]


def test_rules_run_after_the_variables_their_parameters_name() -> None:
    raw = pd.DataFrame({"USUBJID": ["S-1-001"], "DT": ["07-JUN-2016"], "RD": ["05-JUN-2016"]})
    # In DM, DMDY (declared first) counts from RFSTDTC, which copies RFXSTDTC (a variable
    # of DM itself, computed in the last pass): the day is computed after both; before
    # them it would have no reference and be blank.
    s = spec(var("USUBJID", {"assign": "USUBJID"}),
             var("DMDY", {"derive": "study_day", "params": {"dtc": "DMDTC",
                                                            "ref": "RFSTDTC"}}, type_="Num"),
             var("RFSTDTC", {"assign": "DM.RFXSTDTC"}), var("RFXSTDTC", {"iso8601": "RD"}),
             var("DMDTC", {"iso8601": "DT"}), name="DM")
    out = map_dataset(context(demo=raw), s)
    assert out["DMDY"].tolist() == [3.0]


def test_visit_names_are_normalised_and_numbered_by_schedule() -> None:
    t = visit_table(pd.Series(["Screening", "Cycle 12 Day 1", "week 6", "End of treatment",
                               "Survival follow-up", "Unscheduled"]))
    assert t["VISIT"].tolist()[:5] == ["SCREENING", "CYCLE 12 DAY 1", "WEEK 6",
                                       "END OF TREATMENT", "SURVIVAL FOLLOW-UP"]
    assert t["VISITNUM"].tolist()[:5] == [0.0, 12.0, 1006.0, 9000.0, 9900.0]
    assert np.isnan(t["VISITNUM"].iloc[5])


def test_visit_outside_the_schedule_is_a_finding() -> None:
    raw = pd.DataFrame({"USUBJID": ["A", "A"], "VISIT": ["Week 6", "Unscheduled 1"]})
    s = spec(var("USUBJID", {"assign": "USUBJID"}), var("VISIT", {"derive": "visit"}),
             var("VISITNUM", {"derive": "visitnum"}, type_="Num"))
    ctx = context(demo=raw)
    out = map_dataset(ctx, s)
    assert out["VISIT"].tolist() == ["WEEK 6", "UNSCHEDULED 1"]
    assert [(f.row, f.value, f.rule) for f in ctx.findings] == [(2, "Unscheduled 1", "visit")]


def test_dictionary_codes_verbatim_terms_and_reports_uncodable_ones() -> None:
    raw = pd.DataFrame({"USUBJID": ["A", "A", "A"],
                        "AETERM": ["NEUTROPENIA", "loose  stools", "Headache"]})
    s = spec(var("USUBJID", {"assign": "USUBJID"}),
             var("AEDECOD", {"derive": "dictionary", "params": {"verbatim": "AETERM",
                                                                "level": "pt", "report": True}}),
             var("AEBODSYS", {"derive": "dictionary", "params": {"verbatim": "AETERM",
                                                                 "level": "soc"}}),
             var("AELLT", {"derive": "dictionary", "params": {"verbatim": "AETERM",
                                                              "level": "llt"}}))
    ctx = context(demo=raw)
    out = map_dataset(ctx, s)
    assert out["AEDECOD"].tolist() == ["Neutrophil count decreased", "Diarrhoea", ""]
    assert out["AELLT"].tolist()[1] == "Diarrhea"
    assert out["AEBODSYS"].tolist()[1] == "Gastrointestinal disorders"
    # One finding per uncodable term, not one per coded level.
    assert [(f.row, f.value, f.rule) for f in ctx.findings] == [(3, "Headache", "dictionary")]


def test_lobxfl_flags_last_result_on_or_before_first_dose() -> None:
    raw = pd.DataFrame({"USUBJID": ["S-1-001"] * 4, "DT": ["01-JUN-2016", "05-JUN-2016",
                                                             "03-JUN-2016", "10-JUN-2016"],
                        "RES": ["60", "", "61", "62"]})
    s = spec(var("USUBJID", {"assign": "USUBJID"}), var("XXDTC", {"iso8601": "DT"}),
             var("XXORRES", {"assign": "RES"}),
             var("XXLOBXFL", {"derive": "lobxfl", "params": {"dtc": "XXDTC",
                                                             "result": "XXORRES"}}),
             sort=("USUBJID", "XXDTC"))
    out = map_dataset(_ctx(demo=raw), s)
    # 05 Jun has no result, so the 03 Jun measurement is the baseline.
    assert out["XXLOBXFL"].tolist() == ["", "Y", "", ""]


def test_parent_seq_links_a_supplemental_record_to_its_parent() -> None:
    ae = pd.DataFrame({"USUBJID": ["A", "A"], "AESEQ": [2.0, 1.0], "_FORM": ["ae", "ae"],
                       "_ROW": [1, 2]})
    raw = pd.DataFrame({"USUBJID": ["A", "A"], "X": ["p", "q"]})
    ctx = context(ae=raw)
    ctx.domains["AE"] = ae
    s = spec(var("USUBJID", {"assign": "USUBJID"}),
             var("IDVARVAL", {"derive": "parent_seq", "params": {"domain": "AE"}}),
             sources=({"id": "s", "form": "ae"},))
    assert map_dataset(ctx, s)["IDVARVAL"].tolist() == ["2", "1"]


def test_first_and_last_date_of_a_form_ignore_partial_dates() -> None:
    ex = pd.DataFrame({"SUBJID": ["001", "001", "001", "002"],
                       "STDT": ["10-AUG-2015", "UN-JUL-2015", "01-SEP-2015", "05-MAY-2016"],
                       "DOSE": ["75", "75", "75", "0"]})
    demo = pd.DataFrame({"SUBJID": ["001", "002", "003"]})
    s = spec(var("SUBJID", {"assign": "SUBJID"}),
             var("FIRST", {"derive": "first_date", "params": {"form": "ex", "column": "STDT"}}),
             var("LAST", {"derive": "last_date", "params": {
                 "form": "ex", "column": "STDT",
                 "when": {"column": "DOSE", "op": "gt", "value": 0}}}))
    out = map_dataset(context(demo=demo, ex=ex), s)
    assert out[["FIRST", "LAST"]].values.tolist() == [["2015-08-10", "2015-09-01"],
                                                      ["2016-05-05", ""], ["", ""]]


def test_iso_bounds_of_partial_dates() -> None:
    lo, hi = iso_bounds(pd.Series(["2016-02", "2015", "2016-06-05", ""]))
    assert [d.strftime("%Y-%m-%d") for d in lo[:3]] == ["2016-02-01", "2015-01-01",
                                                        "2016-06-05"]
    assert [d.strftime("%Y-%m-%d") for d in hi[:3]] == ["2016-02-29", "2015-12-31",
                                                        "2016-06-05"]
    assert pd.isna(lo[3]) and pd.isna(hi[3])
