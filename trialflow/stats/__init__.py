"""Shared statistics core: the numbers a regulator's default SAS run would print.

Each function is a pure function of arrays or DataFrames and names, in its
module docstring, the SAS procedure and options it reproduces:

* :mod:`~trialflow.stats.km`: Kaplan-Meier (PROC LIFETEST, CONFTYPE=LOGLOG,
  Brookmeyer-Crowley limits for the quartiles).
* :mod:`~trialflow.stats.cox`: Cox hazard ratio (PROC PHREG, TIES=BRESLOW).
* :mod:`~trialflow.stats.logrank`: (stratified) log-rank test (PROC LIFETEST).
* :mod:`~trialflow.stats.binomial`: Clopper-Pearson limits, Woolf odds ratio,
  Fisher's exact test (PROC FREQ).
* :mod:`~trialflow.stats.descriptive`: SAS ROUND, PCTLDEF=5 percentiles,
  Wilcoxon rank-sum normal approximation (PROC NPAR1WAY).
"""

from trialflow.stats._inputs import complete_strata
from trialflow.stats.binomial import (
    clopper_pearson,
    cmh_2x2_p,
    fisher_exact_2s,
    risk_difference_wald,
    woolf_odds_ratio,
)
from trialflow.stats.cox import CoxResult, fit_cox
from trialflow.stats.descriptive import (
    round_half_up,
    sas_percentile,
    sas_quartiles,
    wilcoxon_rank_sum_p,
)
from trialflow.stats.km import KMResult, fit_km, reverse_km_median
from trialflow.stats.logrank import LogRankResult, logrank_test

__all__ = [
    "CoxResult",
    "KMResult",
    "LogRankResult",
    "clopper_pearson",
    "cmh_2x2_p",
    "complete_strata",
    "fisher_exact_2s",
    "fit_cox",
    "fit_km",
    "logrank_test",
    "reverse_km_median",
    "risk_difference_wald",
    "round_half_up",
    "sas_percentile",
    "sas_quartiles",
    "wilcoxon_rank_sum_p",
    "woolf_odds_ratio",
]
