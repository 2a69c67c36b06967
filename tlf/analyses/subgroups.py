"""Progression-free survival by prespecified subgroup (the forest plot, paper Figure 3).

Per level of each subgroup variable of :data:`SUBGROUPS` (ADTTE copies of the ADSL
baseline variables), in the ITT population: subjects and PFS events per arm, and the
unstratified Cox hazard ratio PTC vs TC with its two-sided 95 % limits. A subgroup
model is unstratified (the 16 randomisation strata would leave most of them empty);
a level where either arm has no subject or no event gets no hazard ratio (the partial
likelihood has no finite maximum there: SAS prints a warning and no estimate), so the
figure prints "NE". The first line, variable ``Overall``, is the whole ITT population.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from tlf.analyses import ARMS, COMPARISON, Row, rows
from tlf.analyses.tte import TTE_ANALYSES, select
from trialflow.stats import fit_cox

#: The analysis id of the subgroup rows.
ANALYSIS = "pfs_subgroups"
#: ADTTE subgroup variable -> its levels in display order (the values as stored).
SUBGROUPS: dict[str, tuple[str, ...]] = {
    "AGEGR1": ("<65", ">=65"),
    "ECOGGR1": ("0", "1-2"),
    "ERSTAT": ("POSITIVE", "NEGATIVE"),
    "NPRREGGR": ("2", ">=3"),
    "PPERDURC": ("<180", ">=180", "<120", ">=120"),
    "VISCFL": ("Y", "N"),
    "TDM1LFL": ("Y", "N"),
}
#: The variable of the whole-population line.
OVERALL = "Overall"

_OUTPUT = "Figure PFS subgroups (ITT)"
_COX = "Cox PH, Breslow ties, unstratified"


def subgroup_rows(data: pd.DataFrame, variable: str, level: str) -> list[Row]:
    """n and events per arm and the unstratified hazard ratio of one subgroup.

    Parameters
    ----------
    data : pandas.DataFrame
        The subgroup's PFS records (AVAL, CNSR, TRT01P).
    variable, level : str
        The subgroup, as the rows' ``variable`` and ``level``.

    Returns
    -------
    list of dict
    """
    event = data["CNSR"] == 0
    counts = (pd.DataFrame({"n": 1, "events": event.astype(int)})
              .groupby(data["TRT01P"]).sum().reindex(list(ARMS), fill_value=0))
    out: list[Row] = []
    for arm, (n, events) in counts.iterrows():
        out += rows(ANALYSIS, _OUTPUT, str(arm), variable, level,
                    {"n": n, "events": events}, "Count")
    hr = {"hr": float("nan"), "hr_lcl": float("nan"), "hr_ucl": float("nan")}
    if (counts["events"] > 0).all():
        try:
            cox = fit_cox(data["AVAL"].to_numpy(dtype=float), event.astype(int).to_numpy(),
                          (data["TRT01P"] == ARMS[0]).astype(int).to_numpy())
            hr = {"hr": cox.hr, "hr_lcl": cox.hr_lcl, "hr_ucl": cox.hr_ucl}
        except ValueError:  # not estimable in this subgroup: printed as NE
            pass
    out += rows(ANALYSIS, _OUTPUT, COMPARISON, variable, level, hr, _COX)
    return out


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """The overall line, then every level of every variable of :data:`SUBGROUPS`."""
    _, paramcd, flags = TTE_ANALYSES["pfs_itt"]
    data = select(adam["ADTTE"], paramcd, flags)
    if data.empty:
        return []
    out = subgroup_rows(data, OVERALL, "")
    for variable, levels in SUBGROUPS.items():
        if variable not in data:
            continue
        values = data[variable].astype(str).str.strip()
        for level in levels:
            out += subgroup_rows(data[values == level], variable, level)
    return out
