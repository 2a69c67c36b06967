"""The time-to-event verb of the ADaM engine with ADAE as a source, and a study that
grades its adverse events by severity only (no AETOXGR anywhere), on small tables."""

from __future__ import annotations

import pandas as pd

from adam.engine import build
from adam.verbs import VERBS, Context
from trialflow.spec import DatasetSpec, Variable

D = pd.to_datetime

ADSL = pd.DataFrame({"STUDYID": ["S", "S"], "USUBJID": ["1", "2"],
                     "TRTSDT": D(["2020-01-01", "2020-01-01"]),
                     "RFENDT": D(["2020-06-30", "2020-03-31"]), "TRTA": ["A", "B"]})
ADAE = pd.DataFrame({"USUBJID": ["1", "1", "1"], "AESEQ": [3.0, 1.0, 2.0],
                     "ASTDT": D(["2020-01-20", "2020-01-20", "2020-01-10"]),
                     "TRTEMFL": ["Y", "Y", "N"], "CQ01NAM": ["DERM", "DERM", "DERM"]})


def ttde(source_order: list[str] | None = None) -> dict:
    event = {"dataset": "ADAE", "date": "ASTDT", "seq": "AESEQ", "description": "Event",
             "filter": {"TRTEMFL": "Y", "CQ01NAM": {"present": True}}}
    if source_order:
        event["order"] = source_order
    return {"paramcd": "TTDE", "param": "Time to first event", "start": {"date": "TRTSDT"},
            "events": [event],
            "censors": [{"dataset": "ADSL", "date": "RFENDT", "description": "End"}]}


def tte(parameter: dict) -> pd.DataFrame:
    return VERBS["tte"].function(ADSL, Context(inputs={"ADSL": ADSL, "ADAE": ADAE}),
                                 parameters=[parameter], keep=["TRTA"])


def test_an_adae_source_gives_the_first_treatment_emergent_event_of_the_query():
    out = tte(ttde(["AESEQ"])).set_index("USUBJID")
    assert out.loc["1", ["ADT", "AVAL", "CNSR", "SRCDOM", "SRCVAR"]].tolist() == [
        D("2020-01-20"), 20.0, 0.0, "ADAE", "ASTDT"]
    assert out.loc["2", ["ADT", "AVAL", "CNSR", "SRCDOM"]].tolist() == [
        D("2020-03-31"), 91.0, 1.0, "ADSL"]


def test_of_a_sources_records_on_one_date_the_first_in_its_order_is_taken():
    assert tte(ttde(["AESEQ"])).set_index("USUBJID").loc["1", "SRCSEQ"] == 1.0
    assert tte(ttde(["-AESEQ"])).set_index("USUBJID").loc["1", "SRCSEQ"] == 3.0


def test_without_an_order_the_first_of_them_in_the_dataset_is_taken():
    assert tte(ttde()).set_index("USUBJID").loc["1", "SRCSEQ"] == 3.0


def test_a_study_with_severity_and_no_toxicity_grade_builds_adae_and_adtte():
    ae = pd.DataFrame({"STUDYID": ["S"] * 3, "USUBJID": ["1", "1", "2"],
                       "AESEQ": [1.0, 2.0, 1.0], "AEDECOD": ["RASH", "RASH", "NAUSEA"],
                       "AESEV": ["MILD", "SEVERE", "MODERATE"],
                       "AESTDTC": ["2020-01-05", "2020-01-08", "2019-12-20"]})

    def spec(name: str, inputs: list[str], start: str, steps: list[dict],
             variables: list[tuple[str, str]]) -> DatasetSpec:
        return DatasetSpec(name, name, "", "", "ADaMIG 1.3", ("USUBJID",), ("USUBJID",),
                           tuple(Variable(n, n, t, 20, "Derived", False) for n, t in variables),
                           file=f"{name.lower()}.yaml",
                           derivation={"inputs": inputs, "start": {"dataset": start},
                                       "steps": steps})

    adae = build({"AE": ae, "ADSL": ADSL}, spec("ADAE", ["AE", "ADSL"], "AE", [
        {"merge": {"dataset": "ADSL", "new_vars": ["TRTSDT", "TRTA"]}},
        {"dt": {"source": "AESTDTC", "prefix": "AST"}},
        {"flag": {"new_var": "TRTEMFL", "condition": {"ASTDT": {"ge": {"var": "TRTSDT"}}},
                  "false_value": ""}},
        {"occurrence_flag": {"new_var": "AOCCIFL", "order": ["ASTDT", "AESEQ"],
                             "filter": {"TRTEMFL": "Y"},
                             "worst": {"variable": "AESEV",
                                       "ranking": ["MILD", "MODERATE", "SEVERE"]}}},
    ], [("USUBJID", "Char"), ("AESEQ", "Num"), ("ASTDT", "Num"), ("TRTEMFL", "Char"),
        ("AOCCIFL", "Char")]))
    assert adae[["AESEQ", "TRTEMFL", "AOCCIFL"]].values.tolist() == [
        [1.0, "Y", ""], [2.0, "Y", "Y"], [1.0, "", ""]]
    adtte = build({"ADSL": ADSL, "ADAE": adae}, spec("ADTTE", ["ADSL", "ADAE"], "ADSL", [
        {"tte": {"parameters": [{
            "paramcd": "TTSEV", "param": "Time to first severe event",
            "start": {"date": "TRTSDT"},
            "events": [{"dataset": "ADAE", "date": "ASTDT", "seq": "AESEQ",
                        "filter": {"TRTEMFL": "Y", "AOCCIFL": "Y"}, "description": "Event"}],
            "censors": [{"dataset": "ADSL", "date": "RFENDT", "description": "End"}]}]}},
    ], [("USUBJID", "Char"), ("AVAL", "Num"), ("CNSR", "Num")]))
    assert adtte.values.tolist() == [["1", 8.0, 0.0], ["2", 91.0, 1.0]]
