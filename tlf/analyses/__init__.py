"""Analysis families of the ARD: one module per general method, usable by any study.

A study declares its analyses in specs (``tlf/analyses/*.yaml`` of its folder, see
:mod:`tlf.spec`); each names a family, and the family computes the analysis's rows from
the ADaM (:mod:`tlf.analyses.base`). The families:

========================  ================================================================
``descriptive``           continuous and categorical summaries of subject-level variables
``exposure``              exposure variables, from ADSL or aggregated from a BDS dataset
``ae_overview``           subjects with at least one event of each declared kind
``ae_terms``              events by SOC and PT, by maximum grade or severity, most frequent
``deaths``                deaths by cause and by timing against the last dose
``tte``                   Kaplan-Meier, Cox and log-rank per comparison, curves
``subgroups``             hazard ratios by subgroup (forest plots)
``follow_up``             observed follow-up and reverse Kaplan-Meier
``response``              response categories, rates with exact limits, odds ratios
``ancova``                change from baseline by visit with ANCOVA (PROC GLM LS means)
========================  ================================================================

Each module has ``FAMILY``, ``SCHEMA`` (the spec keys it adds) and ``run(ctx)``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tlf.analyses.base import ARD_COLUMNS, KEY, TOTAL, Row

__all__ = ["ARD_COLUMNS", "FAMILY_MODULES", "KEY", "TOTAL", "Row", "families"]

#: The modules of the families, in documentation order.
FAMILY_MODULES: tuple[str, ...] = (
    "descriptive", "exposure", "ae_overview", "ae_terms", "deaths", "tte", "subgroups",
    "follow_up", "response", "ancova",
)


def families() -> dict[str, ModuleType]:
    """Every family module by its ``FAMILY`` name.

    Examples
    --------
    >>> sorted(families())[:3]
    ['ae_overview', 'ae_terms', 'ancova']
    """
    found = {}
    for name in FAMILY_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        found[module.FAMILY] = module
    return found
