"""Double programming of ADSL: populations, strata, treatments and dates vs production."""

from __future__ import annotations

from pathlib import Path

from qc_adsl import QC_VARS, SUPPORT_VARS
from qc_common import run_compare


def test_adsl_matches_production(qc_build, tmp_path: Path) -> None:
    """RANDFL, ITTFL, FASFL, SAFFL, MEASFL, QOLFL, TDM1LFL, STRAT1R-4R, TRT01P(N),
    TRT01A(N), RANDDT, TRTSDT, TRTEDT: equal, exactly, for every subject."""
    prod = qc_build.production("adsl")[QC_VARS]
    cmp = run_compare(prod, qc_build.adsl, ["USUBJID"], tmp_path, "adsl")
    assert len(qc_build.adsl) == len(prod) == 219
    assert cmp.code == 0, cmp.summary
    assert cmp.result.matched == 219


def test_adsl_supporting_variables_match_production(qc_build, tmp_path: Path) -> None:
    """NACTDT, LSTALVDT, DTHDT, ECOGBL, ERSTAT, VISCFL (inputs of the other QCs)."""
    prod = qc_build.production("adsl")[SUPPORT_VARS]
    cmp = run_compare(prod, qc_build.adsl, ["USUBJID"], tmp_path, "adsl_support")
    assert cmp.code == 0, cmp.summary
