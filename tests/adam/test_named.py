"""Named derivations (adam/named.py), each on a small hand-written table: facit_scores,
the FACIT scores of each questionnaire; and how a spec declares one (its parameters are
checked when the spec is loaded, one line naming the step and what is allowed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adam.engine import build, check_spec
from adam.named import NAMED
from adam.verbs.base import Context
from trialflow.errors import InputError, SpecError
from trialflow.spec import DatasetSpec, Variable

D = pd.Timestamp
#: A small FACIT instrument: subscale A (3 items, A1 reversed), B (2 items), total T.
INSTRUMENT = {"instrument": "FACT-X",
              "subscales": {"A": {"label": "Alpha well-being", "items": ["A1", "A2", "A3"],
                                  "reversed": ["A1"]},
                            "B": {"label": "Beta subscale", "items": ["B1", "B2"],
                                  "reversed": []}},
              "totals": {"T": {"label": "FACT-X total", "subscales": ["A", "B"]}},
              "total_min_response_rate": 0.8}


def qs(*questionnaires: tuple[str, float, str, dict[str, float | None]]) -> pd.DataFrame:
    """QS item records: (USUBJID, VISITNUM, QSDTC, {item: answer or None})."""
    rows = [dict(STUDYID="S", USUBJID=s, VISITNUM=v, VISIT=f"V{v:g}", QSDTC=dtc,
                 QSTESTCD=item, QSSTRESN=np.nan if a is None else a)
            for s, v, dtc, answers in questionnaires for item, a in answers.items()]
    return pd.DataFrame(rows)


def scores(data: pd.DataFrame, **params) -> pd.DataFrame:
    ctx = Context(inputs={}, derivation={"instrument": INSTRUMENT})
    return NAMED["facit_scores"].function(data, ctx, **params)


ALL = {"A1": 1.0, "A2": 2.0, "A3": 3.0, "B1": 4.0, "B2": 0.0}


def test_one_record_per_questionnaire_and_score_subscales_then_totals():
    out = scores(qs(("1", 1, "2020-01-05", ALL)))
    assert out[["PARAMCD", "PARAMN", "AVAL", "NANSW", "NITEM"]].values.tolist() == [
        ["A", 1.0, 3.0 + 2.0 + 3.0, 3.0, 3.0],          # A1 reversed: 4 - 1
        ["B", 2.0, 4.0, 2.0, 2.0],
        ["T", 3.0, 12.0, 5.0, 5.0]]
    assert out["PARAM"].tolist() == ["FACT-X Alpha well-being (A)", "FACT-X Beta subscale (B)",
                                     "FACT-X total (T)"]
    assert (out["ADT"] == D("2020-01-05")).all() and set(out["VISIT"]) == {"V1"}


def test_a_subscale_with_more_than_half_answered_is_prorated_and_its_total_needs_80_percent():
    out = scores(qs(("1", 1, "2020-01-05", {**ALL, "A3": None})))
    a, t = out.set_index("PARAMCD").loc["A"], out.set_index("PARAMCD").loc["T"]
    assert (a["AVAL"], a["NANSW"]) == ((3.0 + 2.0) * 3 / 2, 2.0)
    # 4 of 5 items answered is 80 %, not more: the total is not scored.
    assert np.isnan(t["AVAL"]) and t["NANSW"] == 4.0


def test_records_come_by_subject_then_score_then_questionnaire():
    out = scores(qs(("2", 1, "2020-01-06", ALL), ("1", 2, "2020-01-26", ALL),
                    ("1", 1, "2020-01-05", ALL)))
    assert out[["USUBJID", "PARAMCD", "VISITNUM"]].values.tolist()[:4] == [
        ["1", "A", 1.0], ["1", "A", 2.0], ["1", "B", 1.0], ["1", "B", 2.0]]
    assert out["USUBJID"].tolist()[-3:] == ["2", "2", "2"]


def test_a_partial_questionnaire_date_gives_no_adt():
    out = scores(qs(("1", 1, "2020-01", ALL)))
    assert out["ADT"].isna().all() and out["AVAL"].notna().all()


def test_records_of_other_codes_are_not_items():
    data = pd.concat([qs(("1", 1, "2020-01-05", ALL)),
                      qs(("1", 1, "2020-01-05", {"ZZ9": 4.0}))], ignore_index=True)
    assert scores(data)["AVAL"].tolist() == [8.0, 4.0, 12.0]


def test_without_the_instrument_it_says_what_to_declare():
    with pytest.raises(ValueError, match="instrument: <name>"):
        NAMED["facit_scores"].function(qs(("1", 1, "2020-01-05", ALL)), Context(inputs={}))


# --------------------------------------------------------------------------- in a spec


def spec(parameters: dict | None = None) -> DatasetSpec:
    step = {"named": {"derivation": "facit_scores",
                      **({"parameters": parameters} if parameters is not None else {})}}
    return DatasetSpec("ADQS", "Scores", "BASIC DATA STRUCTURE", "", "ADaMIG 1.3",
                       ("USUBJID",), ("USUBJID",),
                       tuple(Variable(n, n, t, 20, "Derived", False) for n, t in (
                           ("USUBJID", "Char"), ("PARAMCD", "Char"), ("AVAL", "Num"))),
                       file="adqs.yaml", derivation={"inputs": ["QS"], "instrument": INSTRUMENT,
                                                     "start": {"dataset": "QS"},
                                                     "steps": [step]})


def test_a_spec_declares_it_as_a_step():
    out = build({"QS": qs(("1", 1, "2020-01-05", ALL))}, spec())
    assert out.values.tolist() == [["1", "A", 8.0], ["1", "B", 4.0], ["1", "T", 12.0]]


def test_a_misspelt_parameter_is_one_line_naming_the_step_and_what_is_allowed():
    with pytest.raises(SpecError, match=r"step 1 \(named\): facit_scores: parameters\.dte: "
                       r"unknown field \(did you mean date\? allowed: by, date\)"):
        check_spec(spec({"dte": "QSDTC"}))


def test_the_date_must_be_a_by_variable_and_an_unknown_name_is_refused():
    with pytest.raises(SpecError, match="date must be one of the by variables"):
        check_spec(spec({"by": ["USUBJID", "VISITNUM"], "date": "QSDTC"}))
    bad = spec()
    bad.derivation["steps"][0]["named"]["derivation"] = "facit_score"
    with pytest.raises(SpecError, match="unknown named derivation 'facit_score' "
                       r"\(known: facit_scores\)"):
        check_spec(bad)


def test_an_item_variable_the_data_lack_is_one_line_naming_the_step():
    data = qs(("1", 1, "2020-01-05", ALL)).drop(columns="QSSTRESN")
    with pytest.raises(InputError, match=r"ADQS step 1 \(named\): .*QSSTRESN"):
        build({"QS": data}, spec())
