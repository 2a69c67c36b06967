"""Response: categories of a subject-level response (best overall response), a response
rate with exact limits, and its comparisons.

The subjects are the population's; each has the ``value`` (default AVALC) of its record
of the analysis dataset (``parameter``/``where``: one per subject), or ``missing`` when
it has none. Rows (ARD ``variable`` = the parameter):

* per ``categories`` level: subjects whose value is one of its ``values``: ``n``,
  ``N`` (the arm's subjects), ``pct``;
* the rate (``variable`` = ``rate.name``): responders (``rate.responders``) over the
  subjects whose value is not in ``rate.exclude``: ``n``, ``N``, ``pct`` and the
  Clopper-Pearson limits in percent (``lcl``, ``ucl``; ``upper_1s``, the one-sided
  upper limit), as PROC FREQ's BINOMIAL prints them;
* per comparison: the odds ratio with Woolf limits (``or``, ``or_lcl``, ``or_ucl``,
  ``or_upper_1s``; over the rate's subjects, or all subjects with
  ``odds_ratio_denominator: all``), the difference of rates in percent with Wald limits
  (``diff``, ``diff_lcl``, ``diff_ucl``; PROC FREQ RISKDIFF), and with ``test`` the
  Fisher exact two-sided p-value or the Cochran-Mantel-Haenszel p-value over
  ``strata`` (``p_2s``).

Example spec::

    - id: orr
      family: response
      population: measurable
      dataset: ADRS
      parameter: BESTRSP
      missing: MISSING
      categories: [{level: CR, values: [CR]}, {level: PR, values: [PR]}]
      rate: {name: ORR, responders: [CR, PR], exclude: [NE, MISSING]}
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tlf.analyses.base import AnalysisContext, Row, text_values
from trialflow.stats import (
    clopper_pearson,
    cmh_2x2_p,
    fisher_exact_2s,
    risk_difference_wald,
    woolf_odds_ratio,
)

__all__ = ["FAMILY", "SCHEMA", "response_frame", "run"]

FAMILY = "response"
SCHEMA: dict[str, Any] = {
    "value": {"type": "string", "default": "AVALC"},
    "missing": {"type": "string", "default": "MISSING"},
    "categories": {"type": "list", "schema": {"type": "dict", "schema": {
        "level": {"type": "string", "required": True},
        "values": {"type": "list", "required": True, "schema": {"type": "string"}},
    }}},
    "rate": {"type": "dict", "required": True, "schema": {
        "name": {"type": "string", "required": True},
        "responders": {"type": "list", "required": True, "minlength": 1,
                       "schema": {"type": "string"}},
        "exclude": {"type": "list", "schema": {"type": "string"}, "default": []},
    }},
    "alpha": {"type": "float", "min": 0.001, "max": 0.5, "default": 0.05},
    "odds_ratio_denominator": {"type": "string", "allowed": ["rate", "all"],
                               "default": "rate"},
    "test": {"type": "string", "allowed": ["fisher", "cmh"]},
    "strata": {"type": "list", "schema": {"type": "string"}, "default": []},
}
_COUNT = "Count (% of N)"


def response_frame(ctx: AnalysisContext) -> pd.DataFrame:
    """One record per subject of the population: USUBJID, _GROUP, the response
    (``_VALUE``; ``missing`` without a record) and the strata."""
    value = ctx.spec.option("value", "AVALC")
    records = ctx.records()
    if value not in records:
        raise ctx.spec.error(f"{ctx.spec.dataset} has no {value}")
    strata = list(ctx.spec.option("strata", []))
    first = records.drop_duplicates("USUBJID")
    frame = ctx.subject_frame([s for s in strata if s in ctx.dataset("ADSL")])
    frame = frame.merge(first[["USUBJID", value]], on="USUBJID", how="left",
                        validate="one_to_one")
    text = text_values(frame[value])
    frame["_VALUE"] = text.where(text.ne(""), ctx.spec.option("missing", "MISSING"))
    return frame.drop(columns=value)


def _comparison_rows(ctx: AnalysisContext, data: pd.DataFrame, rated: pd.DataFrame,
                     name: str, responders: list[str]) -> list[Row]:
    alpha = float(ctx.spec.option("alpha", 0.05))
    all_subjects = ctx.spec.option("odds_ratio_denominator") == "all"
    test = ctx.spec.option("test")
    out: list[Row] = []
    for cmp in ctx.comparisons:
        def counts(frame: pd.DataFrame, arm: str) -> tuple[int, int]:
            sub = frame[frame["_GROUP"] == arm]
            return int(sub["_VALUE"].isin(responders).sum()), len(sub)

        (x1, n1), (x2, n2) = counts(rated, cmp.test), counts(rated, cmp.ref)
        if n1 == 0 or n2 == 0:
            continue
        source = data if all_subjects else rated
        (a1, m1), (a2, m2) = counts(source, cmp.test), counts(source, cmp.ref)
        or_, lcl, ucl, upper = woolf_odds_ratio(a1, m1, a2, m2, alpha=alpha)
        out += ctx.rows(cmp.label, name, "", {"or": or_, "or_lcl": lcl, "or_ucl": ucl,
                                              "or_upper_1s": upper}, "Woolf logit")
        diff, dl, du = risk_difference_wald(x1, n1, x2, n2, alpha=alpha)
        out += ctx.rows(cmp.label, name, "", {"diff": 100 * diff, "diff_lcl": 100 * dl,
                                              "diff_ucl": 100 * du},
                        "Risk difference, Wald CI (PROC FREQ RISKDIFF)")
        if test == "fisher":
            out += ctx.rows(cmp.label, name, "", {"p_2s": fisher_exact_2s(x1, n1, x2, n2)},
                            "Fisher exact two-sided")
        elif test == "cmh":
            strata = list(ctx.spec.option("strata", []))
            pair = rated[rated["_GROUP"].isin([cmp.test, cmp.ref])]
            p = cmh_2x2_p((pair["_GROUP"] == cmp.test).to_numpy(),
                          pair["_VALUE"].isin(responders).to_numpy(),
                          pair[strata] if strata else None)
            out += ctx.rows(cmp.label, name, "", {"p_2s": p},
                            "Cochran-Mantel-Haenszel (general association)"
                            + (f", stratified by {', '.join(strata)}" if strata else ""))
    return out


def run(ctx: AnalysisContext) -> list[Row]:
    """N per arm, the categories, the rate with its limits and the comparisons."""
    data = response_frame(ctx)
    variable = ctx.spec.parameter or ctx.spec.option("value", "AVALC")
    out = ctx.n_rows()
    for category in ctx.spec.option("categories", []):
        out += ctx.count_rows(data, data["_VALUE"].isin(category["values"]), variable,
                              category["level"], method=_COUNT)
    rate = ctx.spec.option("rate")
    name, responders = rate["name"], list(rate["responders"])
    rated = data[~data["_VALUE"].isin(rate.get("exclude") or [])]
    responder = rated["_VALUE"].isin(responders)
    out += ctx.count_rows(rated, responder, name, method=_COUNT)
    alpha = float(ctx.spec.option("alpha", 0.05))
    counts = (responder.groupby(rated["_GROUP"]).agg(["sum", "size"])
              .reindex(list(ctx.columns), fill_value=0))
    if ctx.total:
        counts.loc["Total"] = [int(responder.sum()), len(rated)]
    for group, (x, n) in counts.iterrows():
        if n == 0:
            continue
        lcl, ucl = clopper_pearson(int(x), int(n), alpha=alpha, sided=2)
        _, upper = clopper_pearson(int(x), int(n), alpha=alpha, sided=1)
        out += ctx.rows(str(group), name, "", {"lcl": 100.0 * lcl, "ucl": 100.0 * ucl,
                                               "upper_1s": 100.0 * upper},
                        "Clopper-Pearson exact")
    out += _comparison_rows(ctx, data, rated, name, responders)
    return out
