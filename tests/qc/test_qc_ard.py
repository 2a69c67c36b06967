"""Double programming of key ARD numbers (Table 1 counts, populations, KM medians, the
stratified Cox HR of PFS, ORR), and of the SAS median rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from qc_ard import KEYS, REL_TOL, km_median, production_rows
from qc_common import run_compare


def test_ard_key_numbers_match_production(qc_build, tmp_path: Path) -> None:
    """Every QC row has a production row with the same value (relative 1e-6)."""
    ard = pd.read_csv(qc_build.ard_path, dtype=str, keep_default_na=False)
    prod = production_rows(ard, qc_build.ard)
    cmp = run_compare(prod, qc_build.ard, KEYS, tmp_path, "ard", rel_tol=REL_TOL)
    assert cmp.code == 0, cmp.summary
    assert cmp.result.matched == len(qc_build.ard)


def test_ard_covers_the_requested_numbers(qc_build) -> None:
    """The QC computes what the brief lists (so an empty selection cannot pass)."""
    got = set(map(tuple, qc_build.ard[KEYS].to_numpy().tolist()))
    for arm in ("PTC", "TC"):
        assert ("populations", arm, "itt", "", "n") in got
        assert ("table1_baseline", arm, "ECOGBL", "0", "n") in got
        assert ("pfs_itt", arm, "PFS", "", "median") in got
        assert ("os_itt", arm, "OS", "", "median") in got
        assert ("table2_response", arm, "ORR", "", "pct") in got
    assert ("pfs_itt", "PTC vs TC", "PFS", "stratified", "hr") in got


def test_km_median_smallest_time_below_half() -> None:
    """S drops from above 0.5 to below it at t = 3: the median is 3."""
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert km_median(time, np.ones(5, dtype=bool)) == 3.0


def test_km_median_flat_stretch_at_half_takes_the_midpoint() -> None:
    """S = 0.5 exactly from t = 2 to the next event at t = 6: median (2 + 6) / 2 = 4."""
    time = np.array([1.0, 2.0, 6.0, 8.0])
    assert km_median(time, np.ones(4, dtype=bool)) == 4.0


def test_km_median_censoring_and_not_reached() -> None:
    """Censored times count in the risk set; S never below 0.5 gives NaN."""
    time = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([True, False, False, False])
    assert np.isnan(km_median(time, event))
    # 4 at risk: S(1) = 3/4; censored at 2; 2 at risk at 3: S(3) = 3/8 < 0.5.
    assert km_median(time, np.array([True, False, True, False])) == 3.0
