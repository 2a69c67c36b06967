"""FACT-B scoring rules on small hand-written questionnaires."""

import numpy as np
import pandas as pd
import pytest

from adam.scoring import score_instrument

SPEC = {"subscales": {"A": {"items": ["A1", "A2", "A3", "A4"], "reversed": ["A1"]},
                      "B": {"items": ["B1", "B2"], "reversed": []}},
        "totals": {"T": {"subscales": ["A", "B"]}}, "total_min_response_rate": 0.8}


def score(answers: dict):
    qs = pd.DataFrame({"USUBJID": "1", "VISIT": "V1", "QSTESTCD": list(answers),
                       "QSSTRESN": [np.nan if v is None else float(v) for v in answers.values()]})
    return score_instrument(qs, SPEC, ["USUBJID", "VISIT"]).iloc[0]


def test_reversed_items_score_four_minus_the_answer():
    r = score({"A1": 0, "A2": 1, "A3": 1, "A4": 1, "B1": 2, "B2": 2})
    assert r["A"] == 4 + 3 and r["B"] == 4 and r["T"] == 11


def test_a_subscale_with_more_than_half_answered_is_prorated():
    r = score({"A1": 4, "A2": 2, "A3": 2, "A4": None, "B1": 1, "B2": 1})
    assert r["A"] == pytest.approx((0 + 2 + 2) * 4 / 3)


def test_a_subscale_with_half_or_fewer_answered_is_not_scored():
    r = score({"A1": 4, "A2": 2, "A3": None, "A4": None, "B1": 1, "B2": 1})
    assert np.isnan(r["A"]) and np.isnan(r["T"])


def test_a_total_needs_more_than_80_percent_of_its_items():
    # 5 of 6 items answered = 83 %: scored; both subscales scorable
    assert not np.isnan(score({"A1": 1, "A2": 1, "A3": 1, "A4": None, "B1": 1, "B2": 1})["T"])


def test_the_real_factb_spec_has_the_published_item_counts():
    from trialflow import SPECS
    from trialflow.spec import read_yaml
    spec = read_yaml(SPECS / "instruments" / "factb.yaml")
    counts = {k: len(v["items"]) for k, v in spec["subscales"].items()}
    assert counts == {"PWB": 7, "SWB": 7, "EWB": 6, "FWB": 7, "BCS": 10}
    assert spec["totals"]["BTOI"]["subscales"] == ["PWB", "FWB", "BCS"]
