"""Double programming of ADQS B-TOI: score, baseline, change and deterioration flag."""

from __future__ import annotations

from pathlib import Path

from qc_common import run_compare

KEYS = ["USUBJID", "PARAMCD", "AVISITN", "ADT"]
VARS = [*KEYS, "AVAL", "ABLFL", "BASE", "CHG", "CRIT1", "CRIT1FL"]


def test_adqs_btoi_matches_production(qc_build, tmp_path: Path) -> None:
    """Every B-TOI record (one per questionnaire) equal, exactly (no tolerance)."""
    prod = qc_build.production("adqs")
    prod = prod.loc[prod["PARAMCD"] == "BTOI", VARS]
    cmp = run_compare(prod, qc_build.adqs, KEYS, tmp_path, "adqs_btoi")
    assert len(prod) > 0
    assert cmp.code == 0, cmp.summary
    assert cmp.result.matched == len(prod) == len(qc_build.adqs)
