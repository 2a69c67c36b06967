"""RECIST 1.1 response rules, each on a small hand-written table."""

import pandas as pd

from adam.response import (
    derive_bor,
    derive_first,
    derive_last_adequate,
    derive_progression,
    filter_assessments,
)

D = pd.to_datetime
ADSL = pd.DataFrame({"USUBJID": ["1"], "RANDDT": D(["2020-01-01"])})


def ovr(*rows, subject="1"):
    return pd.DataFrame({"USUBJID": subject, "ADT": D([r[0] for r in rows]),
                         "AVALC": [r[1] for r in rows]})


def bor(*rows, sd_min=35, confirmed=False, adsl=ADSL):
    kept = filter_assessments(ovr(*rows), adsl)
    return derive_bor(kept, adsl, sd_min, confirmed).iloc[0]


def test_sd_counts_only_at_or_after_the_minimum_duration():
    assert bor(("2020-02-04", "SD"))["AVALC"] == "SD"          # study day 35
    assert bor(("2020-02-03", "SD"))["AVALC"] == "NE"          # study day 34


def test_early_sd_then_pd_is_pd():
    assert bor(("2020-01-20", "SD"), ("2020-02-20", "PD"))["AVALC"] == "PD"


def test_pr_beats_sd_and_its_date_is_the_first_pr():
    r = bor(("2020-02-12", "SD"), ("2020-03-25", "PR"), ("2020-05-06", "PR"))
    assert (r["AVALC"], r["ADT"]) == ("PR", D("2020-03-25"))


def test_unknown_and_missing_stay_distinct():
    assert bor(("2020-02-12", "NE"))["AVALC"] == "NE"
    none = derive_bor(filter_assessments(ovr(("2019-12-20", "SD")), ADSL), ADSL, 35)
    assert none.iloc[0]["AVALC"] == "MISSING"      # only a pre-randomisation record


def test_assessments_after_the_first_progression_do_not_count():
    r = bor(("2020-02-12", "PD"), ("2020-03-25", "PR"))
    assert r["AVALC"] == "PD"


def test_assessments_after_a_new_anticancer_therapy_do_not_count():
    kept = filter_assessments(ovr(("2020-02-12", "SD"), ("2020-04-01", "PR")), ADSL,
                              pd.DataFrame({"USUBJID": ["1"], "NTSTDT": D(["2020-03-01"])}))
    assert kept["AVALC"].tolist() == ["SD"]


def test_two_assessments_on_one_date_keep_the_worst():
    kept = filter_assessments(ovr(("2020-02-12", "PR"), ("2020-02-12", "SD")), ADSL)
    assert kept["AVALC"].tolist() == ["SD"]


def test_confirmed_pr_needs_a_later_response_at_least_28_days_on():
    assert bor(("2020-02-12", "PR"), ("2020-03-01", "PR"), confirmed=True)["AVALC"] == "SD"
    assert bor(("2020-02-12", "PR"), ("2020-03-11", "PR"), confirmed=True)["AVALC"] == "PR"


def test_confirmation_tolerates_one_ne_in_between_but_not_two():
    one = bor(("2020-02-12", "PR"), ("2020-03-01", "NE"), ("2020-03-25", "PR"), confirmed=True)
    two = bor(("2020-02-12", "PR"), ("2020-02-20", "NE"), ("2020-03-01", "NE"),
              ("2020-03-25", "PR"), confirmed=True)
    assert (one["AVALC"], two["AVALC"]) == ("PR", "SD")


def test_response_flag_and_date_is_the_first_cr_or_pr():
    kept = filter_assessments(ovr(("2020-02-12", "SD"), ("2020-03-25", "PR")), ADSL)
    r = derive_first(kept, ADSL, ["CR", "PR"]).iloc[0]
    assert (r["AVALC"], r["ADT"]) == ("Y", D("2020-03-25"))


def test_last_adequate_assessment_skips_ne():
    kept = filter_assessments(ovr(("2020-02-12", "SD"), ("2020-03-25", "NE")), ADSL)
    assert derive_last_adequate(kept, ADSL).iloc[0]["ADT"] == D("2020-02-12")


def test_progression_is_the_earlier_of_recist_and_clinical():
    kept = filter_assessments(ovr(("2020-03-25", "PD")), ADSL)
    clin = pd.DataFrame({"USUBJID": ["1"], "ADT": D(["2020-03-01"])})
    r = derive_progression(kept, clin, ADSL).iloc[0]
    assert (r["AVALC"], r["ADT"], r["PDSRC"]) == ("Y", D("2020-03-01"), "CLINICAL")
    r = derive_progression(kept, clin.iloc[:0], ADSL).iloc[0]
    assert (r["ADT"], r["PDSRC"]) == (D("2020-03-25"), "RECIST")
