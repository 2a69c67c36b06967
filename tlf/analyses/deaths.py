"""Deaths: subjects who died, by cause and by timing against the last dose.

Per group (``n``, ``N``, ``pct``): subjects with ``flag`` = Y (``variable`` = the flag);
per cause (``variable`` = ``cause``, ``variable_level`` = the text, ``Unknown`` when
blank), most frequent first; and by timing (``variable`` ``timing``): death no more
than ``window_days`` after ``last_dose`` (``death_date - last_dose <= window``), later,
not treated (no last dose), and — only when such a death exists — date unknown. Dates
are ADaM numeric dates (days).

Example spec::

    - id: deaths
      family: deaths
      population: itt
      group: {variable: TRT01P, total: true}
      window_days: 30
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tlf.analyses.base import AnalysisContext, Row, is_yes, text_values

__all__ = ["FAMILY", "SCHEMA", "run", "timing_levels"]

FAMILY = "deaths"
SCHEMA: dict[str, Any] = {
    "flag": {"type": "string", "default": "DTHFL"},
    "cause": {"type": "string", "default": "DTHCAUS"},
    "death_date": {"type": "string", "default": "DTHDT"},
    "last_dose": {"type": "string", "default": "TRTEDT"},
    "window_days": {"type": "integer", "min": 0, "default": 30},
}
_UNKNOWN = "Date of death or last dose unknown"


def timing_levels(window: int) -> tuple[str, str, str]:
    """The timing levels, in display order.

    Examples
    --------
    >>> timing_levels(30)[0]
    'Within 30 days of last dose'
    """
    return (f"Within {window} days of last dose", f"More than {window} days after last dose",
            "Not treated")


def run(ctx: AnalysisContext) -> list[Row]:
    """N per group, deaths, deaths by cause, deaths by timing."""
    flag, cause_var = ctx.spec.option("flag"), ctx.spec.option("cause")
    death, last = ctx.spec.option("death_date"), ctx.spec.option("last_dose")
    window = int(ctx.spec.option("window_days"))
    adsl = ctx.dataset("ADSL")
    frame = ctx.subject_frame(c for c in (flag, cause_var, death, last) if c in adsl)
    died = is_yes(frame, flag)

    def number(column: str) -> pd.Series:
        return (pd.to_numeric(frame[column], errors="coerce") if column in frame
                else pd.Series(np.nan, index=frame.index))

    days = number(death) - number(last)
    untreated = number(last).isna()
    out = ctx.n_rows()
    out += ctx.count_rows(frame, died, flag)
    cause = (text_values(frame[cause_var]) if cause_var in frame
             else pd.Series("", index=frame.index, dtype=object))
    cause = cause.where(cause != "", "Unknown")[died]
    counts = cause.value_counts()
    for level in sorted(counts.index, key=lambda c: (-counts[c], c)):
        out += ctx.count_rows(frame, died & cause.reindex(frame.index).eq(level),
                              cause_var, level)
    within, later, not_treated = timing_levels(window)
    timing = {within: died & days.le(window), later: died & days.gt(window),
              not_treated: died & untreated}
    unknown = died & ~untreated & days.isna()
    if unknown.any():
        timing[_UNKNOWN] = unknown
    for level, hit in timing.items():
        out += ctx.count_rows(frame, hit, "timing", level)
    return out
