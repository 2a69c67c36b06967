"""Double programming of ADRS subject-level parameters: BOR, RSP, PD, LSTA."""

from __future__ import annotations

from pathlib import Path

from qc_adrs import PARAMS
from qc_common import run_compare

KEYS = ["USUBJID", "PARAMCD"]
VARS = [*KEYS, "AVALC", "ADT", "PDSRC"]


def test_adrs_subject_parameters_match_production(qc_build, tmp_path: Path) -> None:
    """AVALC, ADT and PDSRC of BOR, RSP, PD (every subject) and LSTA (when adequate)."""
    prod = qc_build.production("adrs")
    prod = prod.loc[prod["PARAMCD"].isin(PARAMS), VARS]
    cmp = run_compare(prod, qc_build.adrs, KEYS, tmp_path, "adrs")
    assert cmp.code == 0, cmp.summary
    n_subjects = len(qc_build.adsl)
    counts = qc_build.adrs["PARAMCD"].value_counts()
    assert all(counts[p] == n_subjects for p in ("BOR", "RSP", "PD"))
    assert cmp.result.matched == len(prod)
