"""Subject disposition for the CONSORT diagram (Figure 14.1.1, paper Figure 1).

The analysis populations themselves are the ``populations`` rows of
:mod:`tlf.analyses.baseline`; this family adds what the diagram says about the subjects
between them, per randomised arm (each as n, N and pct, :func:`count_rows`):

* ``excluded_itt``: randomised but not ITT (consent to the use of data withdrawn);
  N = randomised.
* ``excluded_fas``: ITT but not FAS (an eligibility violation); N = ITT.
* ``not_treated``: ITT but not in the safety population (no dose of study drug);
  N = ITT.
* ``treatment`` (safety population): ``Ongoing`` and ``Discontinued`` (ADSL EOTSTT)
  at the data cut-off, and ``DCTREAS`` per reason for discontinuing treatment.
* ``study`` (ITT): ``Ongoing`` and ``Discontinued`` (EOSSTT), and ``DCSREAS`` per
  reason for leaving the study (death, lost to follow-up, ...).

Reasons are those the data hold, in alphabetical order (a reason seen in one arm only
is counted 0 in the other).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from tlf.analyses import Row, count_rows, is_yes

ANALYSIS = "disposition"
_OUTPUT = "Figure CONSORT"


def _status_rows(population: pd.DataFrame, status: str, reason: str,
                 variable: str) -> list[Row]:
    """Ongoing/Discontinued (``status``) and each reason of ``reason`` in ``population``."""
    state = population[status].astype(str).str.strip().str.upper()
    why = population[reason].astype(str).str.strip()
    out: list[Row] = []
    for level, hit in (("Ongoing", state.eq("ONGOING")),
                       ("Discontinued", state.eq("DISCONTINUED"))):
        out += count_rows(ANALYSIS, _OUTPUT, population, hit, variable, level)
    for level in sorted(why[why.ne("")].unique()):
        out += count_rows(ANALYSIS, _OUTPUT, population, why.eq(level), reason, level)
    return out


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """Exclusions between the populations and the end-of-treatment/study status."""
    adsl = adam["ADSL"]
    randomised = adsl[is_yes(adsl, "RANDFL")] if "RANDFL" in adsl else adsl
    itt = randomised[is_yes(randomised, "ITTFL")]
    safety = itt[is_yes(itt, "SAFFL")]
    out = count_rows(ANALYSIS, _OUTPUT, randomised, ~is_yes(randomised, "ITTFL"),
                     "excluded_itt", "Consent to data use withdrawn")
    out += count_rows(ANALYSIS, _OUTPUT, itt, ~is_yes(itt, "FASFL"), "excluded_fas",
                      "Eligibility violation")
    out += count_rows(ANALYSIS, _OUTPUT, itt, ~is_yes(itt, "SAFFL"), "not_treated")
    if {"EOTSTT", "DCTREAS"} <= set(safety.columns):
        out += _status_rows(safety, "EOTSTT", "DCTREAS", "treatment")
    if {"EOSSTT", "DCSREAS"} <= set(itt.columns):
        out += _status_rows(itt, "EOSSTT", "DCSREAS", "study")
    return out
