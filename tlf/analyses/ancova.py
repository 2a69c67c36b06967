"""Change from baseline by visit for any BDS parameter, with an analysis of covariance
as SAS PROC GLM prints it by default.

Per visit (``group2`` = the visit variable, ``group2_level`` = the visit) and arm: the
descriptive statistics (``n``, ``mean``, ``sd``, ``median``, ``q1``, ``q3``, ``min``,
``max``; SAS PCTLDEF=5, VARDEF=DF) of the baseline (``variable`` = ``baseline``), the
value (``value``) and the change (``change``). Then the model

    change = treatment + factors + baseline        (treatment and factors as classes)

fitted by ordinary least squares (statsmodels OLS) on the visit's records with every
term present, and from it, as PROC GLM's ``LSMEANS treatment / STDERR PDIFF CL`` prints
them:

* per arm (``variable`` = ``change``): ``lsmean``, ``lsmean_se``, ``lsmean_lcl``,
  ``lsmean_ucl`` — the model's prediction at the mean of the baseline over the model's
  records, averaged with equal weights over the levels of each factor;
* per comparison (``group1_level`` ``"A vs B"``): ``diff`` (A - B), ``diff_se``,
  ``diff_lcl``, ``diff_ucl``, ``t``, ``df`` and ``p_2s`` (two-sided t-test, no
  adjustment for multiple comparisons);
* with ``dose_response``: the same model with the treatment replaced by a numeric
  variable (the dose, e.g. TRT01PN), and the test of its coefficient
  (``group1_level`` empty, ``variable_level`` ``dose_response``: ``estimate``, ``se``,
  ``t``, ``df``, ``p_2s``).

Example spec (the CDISC pilot's primary analysis)::

    - id: adas_cog_week24
      family: ancova
      population: efficacy
      dataset: ADQSADAS
      parameter: ACTOT
      where: {DTYPE: LOCF}
      group: {variable: TRTP}
      comparisons: all_pairs
      visits: [Week 24]
      factors: [SITEGR1]
      dose_response: TRTPN
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import t as student_t

from tlf.analyses.base import AnalysisContext, Row, text_values
from tlf.analyses.descriptive import continuous_stats

__all__ = ["FAMILY", "SCHEMA", "AncovaFit", "fit_ancova", "dose_response", "run"]

FAMILY = "ancova"
SCHEMA: dict[str, Any] = {
    "visit": {"type": "string", "default": "AVISIT"},
    "visit_order": {"type": "string", "default": "AVISITN"},
    "visits": {"type": "list", "schema": {"type": "string"}},
    "value": {"type": "string", "default": "AVAL"},
    "change": {"type": "string", "default": "CHG"},
    "baseline": {"type": "string", "default": "BASE"},
    "factors": {"type": "list", "schema": {"type": "string"}, "default": []},
    "dose_response": {"type": "string", "nullable": True, "default": None},
    "alpha": {"type": "float", "min": 0.001, "max": 0.5, "default": 0.05},
}
_GLM = "ANCOVA, PROC GLM LSMEANS (OLS; {})"
_MEANS = "PROC MEANS, VARDEF=DF"
_PCTLDEF = "PCTLDEF=5"


class AncovaFit:
    """An OLS fit of ``y ~ group + factors + covariate`` with LS means as PROC GLM.

    Parameters
    ----------
    frame : pandas.DataFrame
        The records (no missing values in the columns used).
    y, group, covariate : str
        The response, the treatment (a class) and the covariate columns.
    factors : sequence of str
        Further class variables.
    levels : sequence of str
        The treatment levels, in display order (those without records are left out).

    Examples
    --------
    >>> f = pd.DataFrame({"y": [1.0, 2.0, 3.0, 5.0], "g": ["a", "a", "b", "b"],
    ...                   "x": [0.0, 1.0, 0.0, 1.0]})
    >>> fit = AncovaFit(f, "y", "g", "x", [], ["a", "b"])
    >>> [round(v, 6) for v in fit.lsmean("a")[:2]], round(fit.difference("b", "a")[0], 6)
    ([1.5, 0.353553], 2.5)
    """

    def __init__(self, frame: pd.DataFrame, y: str, group: str, covariate: str,
                 factors: Sequence[str], levels: Sequence[str]) -> None:
        self.levels = [lv for lv in levels if (frame[group] == lv).any()]
        self.factors = list(factors)
        columns = {"const": np.ones(len(frame))}
        # Treatment coding against the first level; LS means do not depend on it.
        for lv in self.levels[1:]:
            columns[f"g:{lv}"] = (frame[group] == lv).to_numpy(dtype=float)
        self._factor_levels: dict[str, list[str]] = {}
        for factor in self.factors:
            values = sorted(set(frame[factor]))
            self._factor_levels[factor] = values
            for value in values[1:]:
                columns[f"f:{factor}:{value}"] = (frame[factor] == value).to_numpy(dtype=float)
        columns["x"] = frame[covariate].to_numpy(dtype=float)
        self.design = pd.DataFrame(columns)
        self.fit = sm.OLS(frame[y].to_numpy(dtype=float), self.design).fit()
        self.df = float(self.fit.df_resid)
        self.x_mean = float(frame[covariate].mean())
        self._cov = np.asarray(self.fit.cov_params())
        self._beta = np.asarray(self.fit.params)

    def _l(self, level: str) -> np.ndarray:
        """The L vector of a treatment level's LS mean."""
        values = {"const": 1.0, "x": self.x_mean}
        for lv in self.levels[1:]:
            values[f"g:{lv}"] = 1.0 if lv == level else 0.0
        for factor, levels in self._factor_levels.items():
            # Equal weight on every level of a class factor (SAS LSMEANS default).
            for value in levels[1:]:
                values[f"f:{factor}:{value}"] = 1.0 / len(levels)
        return np.array([values[c] for c in self.design.columns])

    def _estimate(self, vector: np.ndarray) -> tuple[float, float]:
        est = float(vector @ self._beta)
        se = float(np.sqrt(vector @ self._cov @ vector))
        return est, se

    def lsmean(self, level: str, alpha: float = 0.05) -> tuple[float, float, float, float]:
        """LS mean, its standard error and two-sided 100(1 - alpha)% limits."""
        est, se = self._estimate(self._l(level))
        q = float(student_t.ppf(1 - alpha / 2, self.df))
        return est, se, est - q * se, est + q * se

    def difference(self, a: str, b: str, alpha: float = 0.05
                   ) -> tuple[float, float, float, float, float, float]:
        """LS mean of ``a`` minus that of ``b``: estimate, SE, limits, t and two-sided p."""
        est, se = self._estimate(self._l(a) - self._l(b))
        q = float(student_t.ppf(1 - alpha / 2, self.df))
        t = est / se if se > 0 else float("nan")
        p = float(2 * student_t.sf(abs(t), self.df)) if se > 0 else float("nan")
        return est, se, est - q * se, est + q * se, t, p


def fit_ancova(frame: pd.DataFrame, y: str, group: str, covariate: str,
               factors: Sequence[str], levels: Sequence[str]) -> AncovaFit:
    """:class:`AncovaFit` of ``frame`` (a function for symmetry with the other stats)."""
    return AncovaFit(frame, y, group, covariate, factors, levels)


def dose_response(frame: pd.DataFrame, y: str, dose: str, covariate: str,
                  factors: Sequence[str]) -> dict[str, float]:
    """The coefficient of a numeric ``dose`` in ``y ~ dose + factors + covariate``:
    estimate, SE, t, residual df and two-sided p (PROC GLM ``MODEL ... / SOLUTION``).

    Examples
    --------
    >>> f = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0, 5.0, 6.0], "d": [0, 0, 1, 1, 2, 2],
    ...                   "x": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]})
    >>> round(dose_response(f, "y", "d", "x", [])["estimate"], 6)
    2.0
    """
    columns = {"const": np.ones(len(frame)), "dose": frame[dose].to_numpy(dtype=float)}
    for factor in factors:
        for value in sorted(set(frame[factor]))[1:]:
            columns[f"f:{factor}:{value}"] = (frame[factor] == value).to_numpy(dtype=float)
    columns["x"] = frame[covariate].to_numpy(dtype=float)
    fit = sm.OLS(frame[y].to_numpy(dtype=float), pd.DataFrame(columns)).fit()
    return {"estimate": float(fit.params["dose"]), "se": float(fit.bse["dose"]),
            "t": float(fit.tvalues["dose"]), "df": float(fit.df_resid),
            "p_2s": float(fit.pvalues["dose"])}


def _visits(ctx: AnalysisContext, data: pd.DataFrame) -> list[str]:
    visit, order = ctx.spec.option("visit"), ctx.spec.option("visit_order")
    declared = ctx.spec.option("visits")
    if declared:
        return [str(v) for v in declared]
    keys = data[[visit, order]].drop_duplicates() if order in data else data[[visit]]
    keys = keys.assign(_v=text_values(keys[visit]))
    if order in keys:
        keys = keys.sort_values(order, kind="stable")
    return list(dict.fromkeys(keys["_v"]))


def run(ctx: AnalysisContext) -> list[Row]:
    """N per arm, then per visit the descriptive statistics and the ANCOVA."""
    data = ctx.records()
    names = {"baseline": ctx.spec.option("baseline"), "value": ctx.spec.option("value"),
             "change": ctx.spec.option("change")}
    visit = ctx.spec.option("visit")
    factors = list(ctx.spec.option("factors", []))
    dose = ctx.spec.option("dose_response")
    alpha = float(ctx.spec.option("alpha", 0.05))
    needed = [visit, *names.values(), *factors, *([dose] if dose else [])]
    missing = [c for c in needed if c not in data]
    if missing:
        raise ctx.spec.error(f"{ctx.spec.dataset} has no {', '.join(missing)}")
    out = ctx.n_rows()
    visits = text_values(data[visit])
    method = _GLM.format(", ".join([f"treatment ({ctx.spec.group.variable})", *factors,
                                    f"covariate {names['baseline']}"]))
    for label in _visits(ctx, data):
        at_visit = data[visits == label]
        for role, column in names.items():
            for arm in ctx.columns:
                values = at_visit[column] if arm == "Total" else at_visit.loc[
                    at_visit["_GROUP"] == arm, column]
                pct, moments = continuous_stats(values)
                out += ctx.rows(arm, role, "", pct, _PCTLDEF, visit, label)
                out += ctx.rows(arm, role, "", moments, _MEANS, visit, label)
        model = at_visit.dropna(subset=[names["change"], names["baseline"], *factors])
        model = model.assign(**{f: text_values(model[f]) for f in factors})
        if model["_GROUP"].nunique() < 1 or len(model) <= 2:
            continue
        fit = fit_ancova(model, names["change"], "_GROUP", names["baseline"], factors,
                         ctx.groups)
        for arm in fit.levels:
            est, se, lcl, ucl = fit.lsmean(arm, alpha)
            out += ctx.rows(arm, "change", "", {"lsmean": est, "lsmean_se": se,
                                                "lsmean_lcl": lcl, "lsmean_ucl": ucl},
                            method, visit, label)
        for cmp in ctx.comparisons:
            if cmp.test not in fit.levels or cmp.ref not in fit.levels:
                continue
            est, se, lcl, ucl, t, p = fit.difference(cmp.test, cmp.ref, alpha)
            out += ctx.rows(cmp.label, "change", "", {"diff": est, "diff_se": se,
                                                      "diff_lcl": lcl, "diff_ucl": ucl,
                                                      "t": t, "df": fit.df, "p_2s": p},
                            method, visit, label)
        if dose:
            numeric = model.assign(**{dose: pd.to_numeric(model[dose], errors="coerce")})
            numeric = numeric.dropna(subset=[dose])
            out += ctx.rows("", "change", "dose_response",
                            dose_response(numeric, names["change"], dose, names["baseline"],
                                          factors),
                            _GLM.format(", ".join([f"dose {dose} (numeric)", *factors,
                                                   f"covariate {names['baseline']}"])),
                            visit, label)
    return out
