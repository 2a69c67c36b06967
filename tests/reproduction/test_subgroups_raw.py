"""Figure 3 of the paper: the PFS benefit of PTC holds in every prespecified subgroup.

The published forest plot shows a hazard ratio below 1 in each subgroup; here each
subgroup level's unstratified Cox hazard ratio (Breslow ties) is computed from the raw
forms with the independent QC analysis.
"""

from __future__ import annotations

import pandas as pd
import pytest

from trialflow.stats import fit_cox

from .raw_analysis import derive_subjects

SUBGROUPS = {
    "age < 65": lambda s: s["AGE"] < 65,
    "ECOG 0": lambda s: s["ECOG"] == 0,
    "ER positive": lambda s: s["ER"] == "POSITIVE",
    "visceral disease": lambda s: s["VISCERAL"].astype(bool),
    "measurable disease": lambda s: s["MEAS"].astype(bool),
    "pertuzumab < 180/120 days": lambda s: (s["PERDUR"] < s["PERLINE"].map({1: 180, 2: 120})),
    "2 previous regimens": lambda s: s["NREG"] == 2,
    "pertuzumab first line": lambda s: s["PERLINE"] == 1,
    "T-DM1 latest regimen": lambda s: s["TDM1LAST"].astype(bool),
}


@pytest.fixture(scope="module")
def itt(raw_forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    s = derive_subjects(raw_forms)
    return s[s["ITT"]]


@pytest.mark.parametrize("name", sorted(SUBGROUPS))
@pytest.mark.parametrize("level", [True, False])
def test_pfs_hazard_ratio_is_below_one_in_every_subgroup(itt, name, level):
    sel = itt[SUBGROUPS[name](itt).fillna(False).astype(bool) == level]
    res = fit_cox(sel["PFS_DAYS"].to_numpy(float), sel["PFS_EVENT"].to_numpy(int),
                  sel["TRT"].to_numpy(int))
    assert res.hr < 1.0, f"{name} = {level}: HR {res.hr:.3f} (n = {len(sel)})"
