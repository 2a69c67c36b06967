"""The protocol's visit schedule, in study days (randomisation = day 1).

Tumour assessments: every 6 weeks for 6 months, then every 9 weeks; each within a
+/- 7-day window. RECIST progression is found at an assessment, so PFS times sit on
this grid plus the window jitter.
"""

from __future__ import annotations

import numpy as np

from crf.config import SimulationConfig


def tumour_nominal_days(cfg: SimulationConfig, horizon_days: int) -> np.ndarray:
    """Nominal study days of the post-baseline tumour assessments up to ``horizon_days``."""
    s = cfg.schedule
    weeks = list(s.tumour_weeks_first)
    step = s.tumour_interval_weeks_after
    while weeks[-1] * 7 < horizon_days + 7 * step:
        weeks.append(weeks[-1] + step)
    return np.asarray(weeks) * 7 + 1


def assessment_index_max(nominal: np.ndarray, last_day: np.ndarray, window: int) -> np.ndarray:
    """Index (0-based) of the last assessment whose window opens on or before ``last_day``."""
    return np.searchsorted(nominal - window, last_day, side="right") - 1
