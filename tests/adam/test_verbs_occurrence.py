"""Occurrence verbs of the ADaM engine (adam/verbs/occurrence.py), on small tables written
by hand: first occurrences, and first occurrences of the worst severity or grade as a
study declares it (severity in a study that has no toxicity grade)."""

from __future__ import annotations

import pandas as pd
import pytest

from adam.engine import check_spec
from adam.verbs import VERBS, Context
from trialflow.errors import SpecError
from trialflow.spec import DatasetSpec, Variable

SEVERITY = ["MILD", "MODERATE", "SEVERE"]


def ae(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["USUBJID", "AESEQ", "AEBODSYS", "AEDECOD", "AESEV",
                                       "ASTDT", "TRTEMFL"]).assign(
        ASTDT=lambda d: pd.to_datetime(d["ASTDT"]))


def flag(data: pd.DataFrame, **params) -> list[str]:
    out = VERBS["occurrence_flag"].function(data, Context(inputs={}), new_var="F", **params)
    return out["F"].tolist()


AE = ae([("1", 1.0, "SKIN", "RASH", "MILD", "2020-01-05", "Y"),
         ("1", 2.0, "GI", "NAUSEA", "SEVERE", "2020-01-03", "Y"),
         ("1", 3.0, "SKIN", "RASH", "SEVERE", "2020-01-05", "Y"),
         ("1", 4.0, "SKIN", "ITCH", "MODERATE", "2019-12-01", "N"),
         ("2", 1.0, "GI", "NAUSEA", "MODERATE", "2020-02-01", "Y")])


def test_the_first_occurrence_of_each_subject_in_start_date_order():
    assert flag(AE, order=["ASTDT", "AESEQ"], filter={"TRTEMFL": "Y"}) == [
        "", "Y", "", "", "Y"]


def test_the_first_occurrence_of_each_subject_and_soc_and_of_each_term():
    assert flag(AE, by=["USUBJID", "AEBODSYS"], order=["ASTDT", "AESEQ"],
                filter={"TRTEMFL": "Y"}) == ["Y", "Y", "", "", "Y"]
    assert flag(AE, by=["USUBJID", "AEBODSYS", "AEDECOD"], order=["ASTDT", "AESEQ"],
                filter={"TRTEMFL": "Y"}) == ["Y", "Y", "", "", "Y"]


def test_without_a_filter_every_record_counts():
    assert flag(AE, order=["ASTDT", "AESEQ"]) == ["", "", "", "Y", "Y"]


def test_the_first_occurrence_of_the_worst_severity_as_declared():
    # Subject 1: SEVERE on 3 Jan (AESEQ 2) and 5 Jan (AESEQ 3): the earlier one.
    assert flag(AE, order=["ASTDT", "AESEQ"], filter={"TRTEMFL": "Y"},
                worst={"variable": "AESEV", "ranking": SEVERITY}) == ["", "Y", "", "", "Y"]
    assert flag(AE, by=["USUBJID", "AEBODSYS"], order=["ASTDT", "AESEQ"],
                filter={"TRTEMFL": "Y"},
                worst={"variable": "AESEV", "ranking": SEVERITY}) == ["", "Y", "Y", "", "Y"]


def test_a_severity_not_ranked_or_blank_is_below_every_ranked_one():
    data = ae([("1", 1.0, "GI", "NAUSEA", "", "2020-01-01", "Y"),
               ("1", 2.0, "GI", "NAUSEA", "MILD", "2020-01-02", "Y"),
               ("1", 3.0, "GI", "NAUSEA", "UNKNOWN", "2020-01-03", "Y")])
    assert flag(data, order=["ASTDT"], worst={"variable": "AESEV",
                                              "ranking": SEVERITY}) == ["", "Y", ""]


def test_without_a_ranking_the_highest_number_is_the_worst():
    data = ae([("1", 1.0, "GI", "NAUSEA", "", "2020-01-01", "Y"),
               ("1", 2.0, "GI", "NAUSEA", "", "2020-01-02", "Y"),
               ("1", 3.0, "GI", "NAUSEA", "", "2020-01-03", "Y")]).assign(
        ATOXGRN=[2.0, 3.0, float("nan")])
    assert flag(data, order=["ASTDT"], worst={"variable": "ATOXGRN"}) == ["", "Y", ""]


def test_other_flag_values_as_declared():
    assert flag(AE, order=["ASTDT", "AESEQ"], filter={"TRTEMFL": "Y"},
                true_value="Y", false_value="N") == ["N", "Y", "N", "N", "Y"]


def test_a_ranking_that_lists_a_value_twice_is_refused_when_the_spec_is_loaded():
    spec = DatasetSpec("ADAE", "AE", "OCCURRENCE DATA STRUCTURE", "", "ADaMIG 1.3",
                       ("USUBJID",), ("USUBJID",),
                       (Variable("USUBJID", "Subject", "Char", 20, "Predecessor", True),),
                       file="adae.yaml", derivation={
                           "inputs": ["AE"], "start": {"dataset": "AE"}, "steps": [
                               {"occurrence_flag": {"new_var": "AOCCIFL", "order": ["ASTDT"],
                                                    "worst": {"variable": "AESEV",
                                                              "ranking": ["MILD", "MILD"]}}}]})
    with pytest.raises(SpecError, match="lists a value twice"):
        check_spec(spec)
