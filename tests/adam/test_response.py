"""RECIST 1.1 confirmation of a response (adam/response.py), each rule on a small
hand-written table of one subject's assessments."""

import pandas as pd

from adam.response import confirmed_response

D = pd.to_datetime


def assessments(*rows: tuple[str, str]) -> pd.DataFrame:
    """One subject's assessments (date, response), sorted by date."""
    return pd.DataFrame({"USUBJID": "1", "ADT": D([r[0] for r in rows]),
                         "AVALC": [r[1] for r in rows]})


def test_a_pr_needs_a_later_cr_or_pr_at_least_28_days_on():
    d = assessments(("2020-02-12", "PR"), ("2020-03-01", "PR"), ("2020-03-11", "CR"))
    assert confirmed_response(d, "PR").tolist() == [True, False, False]
    assert confirmed_response(d, "CR").tolist() == [False, False, False]


def test_a_cr_needs_a_later_cr():
    d = assessments(("2020-02-12", "CR"), ("2020-03-11", "PR"), ("2020-04-01", "CR"))
    assert confirmed_response(d, "CR").tolist() == [False, False, False]   # a PR between
    d = assessments(("2020-02-12", "CR"), ("2020-03-11", "CR"))
    assert confirmed_response(d, "CR").tolist() == [True, False]


def test_one_ne_between_is_tolerated_but_not_two():
    one = assessments(("2020-02-12", "PR"), ("2020-03-01", "NE"), ("2020-03-25", "PR"))
    two = assessments(("2020-02-12", "PR"), ("2020-02-20", "NE"), ("2020-03-01", "NE"),
                      ("2020-03-25", "PR"))
    assert confirmed_response(one, "PR").tolist()[0]
    assert not confirmed_response(two, "PR").tolist()[0]
    assert confirmed_response(two, "PR", max_nr_ne=2).tolist()[0]


def test_sd_between_breaks_the_confirmation_of_a_pr_unless_accepted():
    d = assessments(("2020-02-12", "PR"), ("2020-03-01", "SD"), ("2020-03-25", "PR"))
    assert not confirmed_response(d, "PR").tolist()[0]
    assert confirmed_response(d, "PR", accept_sd=True).tolist()[0]


def test_no_pr_after_a_cr_when_asked():
    d = assessments(("2020-01-01", "PR"), ("2020-01-10", "CR"), ("2020-02-01", "PR"))
    assert confirmed_response(d, "PR").tolist() == [True, False, False]
    assert confirmed_response(d, "PR", no_pr_after_cr=True).tolist() == [False, False, False]


def test_subjects_do_not_confirm_each_other():
    d = pd.concat([assessments(("2020-02-12", "PR")),
                   assessments(("2020-03-25", "PR")).assign(USUBJID="2")], ignore_index=True)
    assert confirmed_response(d, "PR").tolist() == [False, False]
