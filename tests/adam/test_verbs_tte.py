"""The tte verb of adam.engine (adam/verbs/tte.py) on small hand-written tables: the
admiral rule, admiralonco's sources (set_values on a source, a start from ADRS) and the
tie between two censoring dates of one day (censor_ties)."""

from __future__ import annotations

import pandas as pd
import pytest

from adam import engine
from adam.verbs.base import Context
from adam.verbs.tte import tte
from trialflow.errors import SpecError
from trialflow.spec import DatasetSpec, Variable

D = pd.to_datetime


def adsl() -> pd.DataFrame:
    return pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2", "3"], "ARM": ["A", "B", "A"],
                         "RANDDT": D(["2020-01-01", "2020-01-01", None]),
                         "LSTALVDT": D(["2020-06-01", "2020-01-01", "2020-03-01"])})


def adrs() -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": ["1", "1", "2"], "PARAMCD": ["DEATH", "RSP", "DEATH"],
                         "AVALC": ["Y", "Y", "N"], "ASEQ": [8.0, 15.0, 8.0],
                         "ADT": D(["2020-05-01", "2020-02-01", None])})


DEATH = {"dataset": "ADRS", "filter": {"PARAMCD": "DEATH", "AVALC": "Y"}, "date": "ADT",
         "seq": "ASEQ", "description": "Death"}
ALIVE = {"dataset": "ADSL", "date": "LSTALVDT",
         "set_values": {"EVNTDESC": "Alive", "CNSDTDSC": "Alive During Study"}}
RAND = {"dataset": "ADSL", "date": "RANDDT",
        "set_values": {"EVNTDESC": "Randomization", "CNSDTDSC": "Randomization"}}


def os_(**more) -> pd.DataFrame:
    sl = adsl()
    out = tte(sl, Context(inputs={"ADSL": sl, "ADRS": adrs()}), keep=["ARM"], parameters=[
        {"paramcd": "OS", "param": "Overall Survival", "start": {"date": "RANDDT"},
         "events": [DEATH], "censors": [ALIVE, RAND], **more}])
    return out.set_index("USUBJID")


def test_an_event_from_adrs_with_its_sequence_number():
    r = os_().loc["1"]
    assert (r["CNSR"], r["AVAL"], r["EVNTDESC"], r["CNSDTDSC"]) == (0.0, 122.0, "Death", "")
    assert (r["SRCDOM"], r["SRCVAR"], r["SRCSEQ"], r["ARM"]) == ("ADRS", "ADT", 8.0, "A")


def test_a_source_sets_event_and_censoring_descriptions_apart():
    out = os_(censor_ties="last")
    # subject 2: last known alive on the day of randomisation; the source listed last wins
    r = out.loc["2"]
    assert (r["CNSR"], r["AVAL"], r["EVNTDESC"], r["CNSDTDSC"], r["SRCVAR"]) == (
        1.0, 1.0, "Randomization", "Randomization", "RANDDT")


def test_on_one_day_the_censoring_source_listed_first_wins_by_default():
    r = os_().loc["2"]
    assert (r["EVNTDESC"], r["CNSDTDSC"], r["SRCVAR"]) == ("Alive", "Alive During Study",
                                                          "LSTALVDT")


def test_a_subject_without_a_start_date_gets_no_record():
    assert "3" not in os_().index


def test_the_start_can_be_a_record_of_another_dataset():
    sl = adsl()
    out = tte(sl, Context(inputs={"ADSL": sl, "ADRS": adrs()}), parameters=[
        {"paramcd": "RSD", "param": "Duration of Response",
         "start": {"dataset": "ADRS", "filter": {"PARAMCD": "RSP", "AVALC": "Y"},
                   "date": "ADT"},
         "events": [DEATH], "censors": [ALIVE]}])
    assert out[["USUBJID", "STARTDT", "AVAL", "CNSR"]].values.tolist() == [
        ["1", D("2020-02-01"), 91.0, 0.0]]   # 29 + 31 + 30 days, + 1


def test_set_values_and_censor_ties_are_checked_when_the_spec_is_read():
    spec = DatasetSpec("ADTTE", "TTE", "BASIC DATA STRUCTURE", "", "ADaMIG 1.3",
                       ("USUBJID",), ("USUBJID",),
                       (Variable("USUBJID", "Subject", "Char", 20, "Predecessor", True),),
                       derivation={"inputs": ["ADSL"], "start": {"dataset": "ADSL"},
                                   "steps": [{"tte": {"parameters": [
                                       {"paramcd": "OS", "param": "OS",
                                        "start": {"date": "RANDDT"}, "censor_ties": "latest",
                                        "events": [{"date": "DTHDT"}],
                                        "censors": [{"date": "LSTALVDT"}]}]}}]},
                       file="adtte.yaml")
    with pytest.raises(SpecError, match="censor_ties"):
        engine.check_spec(spec)
