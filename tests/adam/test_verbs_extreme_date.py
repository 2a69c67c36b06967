"""The extreme_date verb with the dataset being built as one of its sources (admiral's
LSTALVDT: the last of AE, laboratory and last-dose dates), on a hand-written table."""

from __future__ import annotations

import pandas as pd

from adam.verbs.base import Context
from adam.verbs.subject import extreme_date

D = pd.to_datetime


def test_a_source_without_a_dataset_is_the_dataset_being_built():
    sl = pd.DataFrame({"USUBJID": ["1", "2", "3"],
                       "TRTEDT": D(["2020-03-01", "2020-01-10", None])})
    ae = pd.DataFrame({"USUBJID": ["1", "2", "2"],
                       "AESTDTC": ["2020-02-01", "2020-02", "2019"]})
    out = extreme_date(sl, Context(inputs={"AE": ae}), new_var="LSTALVDT", sources=[
        {"dataset": "AE", "date": "AESTDTC", "highest_imputation": "M"},
        {"date": "TRTEDT"}])
    # 1: the last dose is later than the AE; 2: the AE of 2020-02 imputed to 1 February;
    # 3: no date at all
    assert out["LSTALVDT"].tolist()[:2] == [D("2020-03-01"), D("2020-02-01")]
    assert pd.isna(out["LSTALVDT"].iloc[2])
