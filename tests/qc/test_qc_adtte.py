"""Double programming of ADTTE (PFS, OS, DOR, TTDBTOI), and proof that the QC fails loudly
when production changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from qc_adtte import PARAMS
from qc_common import read_domain, run_compare

KEYS = ["USUBJID", "PARAMCD"]
VARS = [*KEYS, "STARTDT", "ADT", "AVAL", "CNSR"]


def test_adtte_matches_production(qc_build, tmp_path: Path) -> None:
    """STARTDT, ADT, AVAL and CNSR of every subject and parameter, exactly."""
    prod = qc_build.production("adtte")[VARS]
    cmp = run_compare(prod, qc_build.adtte, KEYS, tmp_path, "adtte")
    assert cmp.code == 0, cmp.summary
    assert cmp.result.matched == len(prod) == len(qc_build.adtte)
    assert sorted(qc_build.adtte["PARAMCD"].unique()) == sorted(PARAMS)


@pytest.mark.parametrize(("variable", "change"), [("AVAL", 1.0), ("CNSR", None)])
def test_qc_fails_loudly_when_production_changes(qc_build, tmp_path: Path, capsys,
                                                 variable: str, change: float | None
                                                 ) -> None:
    """One value changed in a copy of production ADTTE: exit 1, and the console and the
    XLSX report name the variable and the record's key."""
    copy = tmp_path / "adtte.xpt"
    shutil.copy(qc_build.adam / "adtte.xpt", copy)
    prod = read_domain(tmp_path, "adtte")[VARS]
    # The first PFS record: its AVAL one day longer, or its CNSR flipped.
    row = prod.index[prod["PARAMCD"] == "PFS"][0]
    subject = prod.at[row, "USUBJID"]
    old = prod.at[row, variable]
    prod.at[row, variable] = old + change if change is not None else float(old == 0)
    capsys.readouterr()

    cmp = run_compare(prod, qc_build.adtte, KEYS, tmp_path / "changed", "adtte")

    assert cmp.code == 1
    assert cmp.result.differing_variables == [variable]
    console = capsys.readouterr().out
    assert "NOT EQUAL" in console and variable in console and subject in console
    values = pd.read_excel(cmp.report, sheet_name="values", dtype={"USUBJID": str})
    assert values[["variable", "USUBJID", "PARAMCD"]].values.tolist() == [
        [variable, subject, "PFS"]]
