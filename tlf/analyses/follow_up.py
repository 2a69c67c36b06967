"""Duration of follow-up from a time-to-event parameter (usually overall survival).

Two summaries per arm (and ``Total`` when the analysis has it), times in ``time_unit``:

* ``variable`` ``observed_time``: the percentiles of the observed times of every
  subject, events and censorings alike (``n``, ``median``, ``q1``, ``q3``; SAS
  PCTLDEF=5), and per comparison the two-sided Wilcoxon rank-sum p-value (``p_2s``;
  PROC NPAR1WAY normal approximation with continuity correction);
* ``variable`` ``reverse_km``: the reverse Kaplan-Meier estimate, censoring as the
  event (``n``, ``censored`` with ``censored_pct`` of n, ``median`` with its
  Brookmeyer-Crowley limits, ``q1``, ``q3``).

Example spec::

    - id: follow_up
      family: follow_up
      population: itt
      dataset: ADTTE
      parameter: DEATH
      group: {variable: TRT01P, total: true}
      time_unit: months
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tlf.analyses.base import TOTAL, AnalysisContext, Row
from tlf.analyses.tte import TIME_SCHEMA, tte_frame
from trialflow.stats import reverse_km_median, sas_quartiles, wilcoxon_rank_sum_p

__all__ = ["FAMILY", "SCHEMA", "run"]

FAMILY = "follow_up"
SCHEMA: dict[str, Any] = dict(TIME_SCHEMA)


def run(ctx: AnalysisContext) -> list[Row]:
    """N per group, observed-time percentiles with Wilcoxon p, reverse Kaplan-Meier."""
    data = tte_frame(ctx)
    out = ctx.n_rows()
    groups: dict[str, pd.DataFrame] = {g: data[data["_GROUP"] == g] for g in ctx.groups}
    if ctx.total:
        groups[TOTAL] = data
    for group, sub in groups.items():
        q1, med, q3 = sas_quartiles(sub["_TIME"].to_numpy())
        out += ctx.rows(group, "observed_time", "",
                        {"n": len(sub), "median": med, "q1": q1, "q3": q3}, "PCTLDEF=5")
    for cmp in ctx.comparisons:
        a, b = groups[cmp.test]["_TIME"], groups[cmp.ref]["_TIME"]
        if len(a) and len(b):
            out += ctx.rows(cmp.label, "observed_time", "",
                            {"p_2s": wilcoxon_rank_sum_p(a.to_numpy(), b.to_numpy())},
                            "Wilcoxon rank-sum, normal approx. with continuity correction")
    alpha = float(ctx.spec.option("alpha", 0.05))
    for group, sub in groups.items():
        if sub.empty:
            continue
        km = reverse_km_median(sub["_TIME"], sub["_EVENT"], alpha=alpha)
        out += ctx.rows(group, "reverse_km", "",
                        {"n": km.n, "censored": km.events,
                         "censored_pct": 100.0 * km.events / km.n, "median": km.median,
                         "median_lcl": km.median_lcl, "median_ucl": km.median_ucl,
                         "q1": km.q1, "q3": km.q3}, "Reverse Kaplan-Meier")
    return out
