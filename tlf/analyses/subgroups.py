"""Hazard ratios by subgroup for a forest plot, for any time-to-event parameter.

The first line (``group2`` empty) is the whole population; then, for each variable of
``subgroups`` (``group2``) and each of its levels (``group2_level``; the declared
``levels`` in order, else the data's values sorted): subjects and events per arm
(``n``, ``events``) and, per comparison, the unstratified Cox hazard ratio with its
two-sided limits (``hr``, ``hr_lcl``, ``hr_ucl``). A subgroup model is unstratified
(randomisation strata would leave most subgroups empty); a level where either arm has no
event gets NaN (the partial likelihood has no finite maximum: SAS warns and prints no
estimate), printed NE.

Example spec::

    - id: efs_subgroups
      family: subgroups
      population: itt
      dataset: ADTTE
      parameter: EFS
      group: {variable: TRT01P}
      subgroups:
        - {variable: AGEGR1, levels: ["<65", ">=65"]}
        - {variable: SEX}
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tlf.analyses.base import AnalysisContext, Row, text_values
from tlf.analyses.tte import TIME_SCHEMA, tte_frame
from trialflow.stats import fit_cox

__all__ = ["FAMILY", "SCHEMA", "run", "subgroup_rows"]

FAMILY = "subgroups"
SCHEMA: dict[str, Any] = {
    **TIME_SCHEMA,
    "subgroups": {"type": "list", "required": True, "minlength": 1, "schema": {
        "type": "dict", "schema": {
            "variable": {"type": "string", "required": True},
            "levels": {"type": "list", "schema": {"type": ["string", "number"]}},
        }}},
}
_COX = "Cox PH, Breslow ties, unstratified"


def subgroup_rows(ctx: AnalysisContext, data: pd.DataFrame, group2: str = "",
                  group2_level: str = "") -> list[Row]:
    """n and events per arm and the hazard ratio of each comparison in ``data``."""
    variable = ctx.spec.parameter or ""
    alpha = float(ctx.spec.option("alpha", 0.05))
    counts = (pd.DataFrame({"n": 1, "events": data["_EVENT"]})
              .groupby(data["_GROUP"]).sum().reindex(list(ctx.groups), fill_value=0))
    out: list[Row] = []
    for arm, (n, events) in counts.iterrows():
        out += ctx.rows(str(arm), variable, "", {"n": n, "events": events}, "Count",
                        group2, group2_level)
    for cmp in ctx.comparisons:
        hr = dict.fromkeys(("hr", "hr_lcl", "hr_ucl"), float("nan"))
        if counts.loc[cmp.test, "events"] > 0 and counts.loc[cmp.ref, "events"] > 0:
            pair = data[data["_GROUP"].isin([cmp.test, cmp.ref])]
            try:
                cox = fit_cox(pair["_TIME"].to_numpy(dtype=float), pair["_EVENT"].to_numpy(),
                              (pair["_GROUP"] == cmp.test).astype(int).to_numpy(),
                              alpha=alpha)
                hr = {"hr": cox.hr, "hr_lcl": cox.hr_lcl, "hr_ucl": cox.hr_ucl}
            except ValueError:  # not estimable in this subgroup: printed as NE
                pass
        out += ctx.rows(cmp.label, variable, "", hr, _COX, group2, group2_level)
    return out


def run(ctx: AnalysisContext) -> list[Row]:
    """N per arm, the overall line, then every level of every subgroup variable."""
    data = tte_frame(ctx)
    # Without records the lines are kept (zero subjects, NaN hazard ratios: NE).
    out = ctx.n_rows() + subgroup_rows(ctx, data)
    for sub in ctx.spec.option("subgroups"):
        variable = sub["variable"]
        if variable not in data:
            raise ctx.spec.error(f"subgroup variable {variable} is not in "
                                 f"{ctx.spec.dataset}")
        values = text_values(data[variable])
        levels = ([text_values(pd.Series([v])).iloc[0] for v in sub["levels"]]
                  if sub.get("levels") else sorted(set(values) - {""}))
        for level in levels:
            out += subgroup_rows(ctx, data[values == level], variable, level)
    return out
