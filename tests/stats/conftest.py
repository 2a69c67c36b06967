"""Small published data sets shared by the statistics golden tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def gehan() -> pd.DataFrame:
    """Gehan (1965) leukaemia remission times in weeks, 6-MP (treat=1) vs placebo (treat=0).

    The same 42 records as R's ``MASS::gehan``. ``s1`` and ``s2`` are two
    made-up stratification variables with a rule anyone can recompute:
    s1 = row index mod 2, s2 = "a" when row index mod 3 == 0 else "b"
    (row index 0-based, in the order below).
    """
    time = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35,
            1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
    event = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0] + [1] * 21
    idx = np.arange(42)
    return pd.DataFrame({
        "time": np.array(time, dtype=float),
        "event": event,
        "treat": [1] * 21 + [0] * 21,
        "s1": idx % 2,
        "s2": np.where(idx % 3 == 0, "a", "b"),
    })

