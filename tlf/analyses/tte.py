"""Time-to-event analysis of any BDS parameter: Kaplan-Meier per arm, Cox and log-rank
per comparison, and the curves a Kaplan-Meier figure draws.

Per arm (ARD ``variable`` = the parameter, times in ``time_unit``): ``n``, ``events``
and ``pct`` (of n), ``censored`` and ``censored_pct``, the median and quartiles with
their Brookmeyer-Crowley limits (``median``, ``median_lcl`` ... ``q3_ucl``; PROC
LIFETEST defaults), and at each of ``landmarks`` (``variable_level`` = the time) the
event-free rate in percent with pointwise log-log limits (``rate``, ``rate_lcl``,
``rate_ucl``). Events by type (``EVNTDESC``) and censorings by reason (``CNSDTDSC``)
get ``n`` and ``pct`` of n per arm (events also ``pct_events``, of the arm's events),
every type in either arm for every arm, most frequent first.

Per comparison (``group1_level`` ``"A vs B"``, the two arms' records only):
``variable_level`` ``unstratified`` and, when ``strata`` are declared, ``stratified``:
Cox hazard ratio of A to B with Breslow ties and its two-sided limits and one-sided
upper limit (``hr``, ``hr_lcl``, ``hr_ucl``, ``hr_upper_1s``), and the log-rank
p-values (``p_2s``; ``p_1s`` for A better). An analysis without an estimate (no events,
a stratum without both arms) keeps its rows with NaN, printed NE.

With ``curve`` the figure's points too: ``curve_time``/``curve_surv`` (the steps from
(0, 1), ``variable_level`` the zero-padded step), ``censor_time``/``censor_surv`` (one
mark per censoring time) and ``at_risk`` (subjects with time >= t) at every tick of
``curve.at_risk_every`` or at ``curve.at_risk`` (``variable_level`` the time).

Example spec::

    - id: efs_itt
      family: tte
      population: itt
      dataset: ADTTE
      parameter: EFS
      group: {variable: TRT01P}
      time_unit: months
      landmarks: [6, 12]
      strata: [REGION1, AGEGR1]
      curve: {at_risk_every: 3}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tlf.analyses.base import TIME_UNITS, AnalysisContext, Comparison, Row, text_values
from trialflow.findings import Finding
from trialflow.stats import complete_strata, fit_cox, fit_km, logrank_test

__all__ = ["FAMILY", "N_MISSING_STRATA", "SCHEMA", "at_risk_ticks", "by_type_rows",
           "censor_points", "comparison_rows", "curve_points", "curve_rows", "km_rows",
           "missing_strata_findings", "run", "survival_at", "tte_frame"]

FAMILY = "tte"
#: Options of a time-to-event analysis (also read by :mod:`tlf.analyses.subgroups` and
#: :mod:`tlf.analyses.follow_up`).
TIME_SCHEMA: dict[str, Any] = {
    "time_unit": {"type": "string", "allowed": list(TIME_UNITS), "default": "days"},
    "aval_unit": {"type": "string", "allowed": list(TIME_UNITS), "default": "days"},
    "alpha": {"type": "float", "min": 0.001, "max": 0.5, "default": 0.05},
}
SCHEMA: dict[str, Any] = {
    **TIME_SCHEMA,
    "landmarks": {"type": "list", "schema": {"type": "number", "min": 0}, "default": []},
    "strata": {"type": "list", "schema": {"type": "string"}, "default": []},
    "event_types": {"type": "boolean", "default": True},
    "curve": {"type": "dict", "nullable": True, "schema": {
        "at_risk_every": {"type": "number", "min": 0, "excludes": "at_risk"},
        "at_risk": {"type": "list", "schema": {"type": "number", "min": 0},
                    "excludes": "at_risk_every"},
    }},
}

_KM = "KM, Brookmeyer-Crowley log-log CI"
_COX = "Cox PH, Breslow ties"
_RATE = "KM, log-log CI (Greenwood)"
_BY_TYPE = "Count (% of n)"
_CURVE = "KM product-limit estimate (PROC LIFETEST)"
_AT_RISK = "Number at risk (time >= t)"


def number_text(value: float) -> str:
    """A time as a level: ``6`` for 6.0, ``2.5`` for 2.5.

    Examples
    --------
    >>> number_text(6.0), number_text(2.5)
    ('6', '2.5')
    """
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def survival_at(table: pd.DataFrame, times: np.ndarray) -> tuple[np.ndarray, ...]:
    """Kaplan-Meier survival and its pointwise log-log limits at ``times``.

    The curve is a right-continuous step function: at ``t`` it takes the estimate of the
    last observed time at or before ``t`` (1, with limits 1, before the first one), as
    PROC LIFETEST's TIMELIST= does. Beyond the last observed time the estimate stays 0
    when the curve has reached 0 (the last observation was an event: everyone had had
    it), as SAS prints it, with missing limits (log-log limits do not exist at 0);
    otherwise (the last observation censored) nothing is known there and it is NaN.

    Examples
    --------
    >>> tab = fit_km([1, 2, 3, 4], [1, 1, 1, 0]).table
    >>> survival_at(tab, np.array([0.5, 2.0, 2.5, 9.0]))[0].round(6).tolist()
    [1.0, 0.5, 0.5, nan]
    >>> tab = fit_km([1, 2, 3, 4], [1, 1, 1, 1]).table
    >>> survival_at(tab, np.array([3.5, 9.0]))[0].round(6).tolist()
    [0.25, 0.0]
    """
    times = np.asarray(times, dtype=float)
    observed = table["time"].to_numpy(dtype=float)
    pos = np.searchsorted(observed, times, side="right")  # rows at or before t, +1
    beyond = times > (observed[-1] if observed.size else -np.inf)
    reached_zero = bool(observed.size) and float(table["survival"].iloc[-1]) == 0.0
    out = []
    for column in ("survival", "lcl", "ucl"):
        curve = np.r_[1.0, table[column].to_numpy(dtype=float)]
        if reached_zero:
            # The estimate stays at 0 for ever; limits as at the last time (missing).
            out.append(curve[pos])
        else:
            out.append(np.where(beyond, np.nan, curve[pos]))
    return tuple(out)


def tte_frame(ctx: AnalysisContext) -> pd.DataFrame:
    """The analysis's records with ``_TIME`` (AVAL in ``time_unit``) and ``_EVENT``."""
    data = ctx.records()
    for name in ("AVAL", "CNSR"):
        if name not in data:
            raise ctx.spec.error(f"{ctx.spec.dataset} has no {name}")
    factor = ctx.time_factor(ctx.spec.option("time_unit", "days"),
                             ctx.spec.option("aval_unit", "days"))
    return data.assign(_TIME=data["AVAL"].astype(float) / factor,
                       _EVENT=(data["CNSR"] == 0).astype(int))


def km_rows(ctx: AnalysisContext, data: pd.DataFrame) -> list[Row]:
    """Per arm: counts, median and quartiles with CIs, landmark rates (module doc)."""
    variable = ctx.spec.parameter or ""
    alpha = float(ctx.spec.option("alpha", 0.05))
    landmarks = [float(t) for t in ctx.spec.option("landmarks", [])]
    out: list[Row] = []
    for arm in ctx.groups:
        sub = data[data["_GROUP"] == arm]
        if sub.empty:
            continue
        km = fit_km(sub["_TIME"], sub["_EVENT"], alpha=alpha)
        out += ctx.rows(arm, variable, "", {"n": km.n, "events": km.events,
                                             "pct": 100.0 * km.events / km.n},
                        "Count (% of n)")
        out += ctx.rows(arm, variable, "",
                        {"median": km.median, "median_lcl": km.median_lcl,
                         "median_ucl": km.median_ucl, "q1": km.q1, "q3": km.q3,
                         "q1_lcl": km.q1_lcl, "q1_ucl": km.q1_ucl, "q3_lcl": km.q3_lcl,
                         "q3_ucl": km.q3_ucl}, _KM)
        censored = km.n - km.events
        out += ctx.rows(arm, variable, "", {"censored": censored,
                                             "censored_pct": 100.0 * censored / km.n},
                        "Count (% of n)")
        if landmarks:
            surv, lcl, ucl = survival_at(km.table, np.array(landmarks))
            for i, t in enumerate(landmarks):
                out += ctx.rows(arm, variable, number_text(t),
                                {"rate": 100.0 * surv[i], "rate_lcl": 100.0 * lcl[i],
                                 "rate_ucl": 100.0 * ucl[i]}, _RATE)
    return out


def by_type_rows(ctx: AnalysisContext, data: pd.DataFrame) -> list[Row]:
    """Events by ``EVNTDESC`` and censorings by ``CNSDTDSC`` per arm (module doc)."""
    groups = list(ctx.groups)
    n = data["_GROUP"].value_counts().reindex(groups, fill_value=0)
    out: list[Row] = []
    for variable, chosen in (("EVNTDESC", data["_EVENT"] == 1),
                             ("CNSDTDSC", data["_EVENT"] == 0)):
        if variable not in data:
            continue
        sub = data[chosen]
        text = text_values(sub[variable])
        counts = pd.crosstab(text, sub["_GROUP"]).reindex(columns=groups, fill_value=0)
        counts = counts[counts.index != ""]
        order = counts.assign(_total=counts.sum(axis=1)).reset_index(names="_level")
        order = order.sort_values(["_total", "_level"], ascending=[False, True])
        events = data.loc[data["_EVENT"] == 1, "_GROUP"].value_counts().reindex(
            groups, fill_value=0)
        for level in order["_level"]:
            for arm in groups:
                k, big_n = int(counts.at[level, arm]), int(n[arm])
                stats = {"n": k, "pct": 100.0 * k / big_n if big_n else np.nan}
                if variable == "EVNTDESC":
                    stats["pct_events"] = 100.0 * k / events[arm] if events[arm] else np.nan
                out += ctx.rows(arm, variable, level, stats, _BY_TYPE)
    return out


def compare(data: pd.DataFrame, cmp: Comparison, strata: list[str] | None,
            alpha: float = 0.05) -> dict[str, float]:
    """Cox hazard ratio and log-rank p of ``cmp.test`` against ``cmp.ref`` on their
    records (NaN where not estimable)."""
    pair = data[data["_GROUP"].isin([cmp.test, cmp.ref])]
    treat = (pair["_GROUP"] == cmp.test).astype(int).to_numpy()
    event = pair["_EVENT"].to_numpy()
    time = pair["_TIME"].to_numpy(dtype=float)
    nan = float("nan")
    stats = dict.fromkeys(("hr", "hr_lcl", "hr_ucl", "hr_upper_1s", "p_1s", "p_2s"), nan)
    if len(set(treat)) < 2 or not event.any():
        return stats
    frame = None if strata is None else pair[strata].reset_index(drop=True)
    try:
        cox = fit_cox(time, event, treat, strata=frame, alpha=alpha)
        stats |= {"hr": cox.hr, "hr_lcl": cox.hr_lcl, "hr_ucl": cox.hr_ucl,
                  "hr_upper_1s": cox.hr_upper_1s}
    except ValueError:
        pass
    try:
        lr = logrank_test(time, event, treat, strata=frame)
        stats |= {"p_1s": lr.p_1s, "p_2s": lr.p_2s}
    except ValueError:
        pass
    return stats


#: The ARD statistic counting records left out of a stratified analysis.
N_MISSING_STRATA = "n_missing_strata"


def missing_strata_findings(ard: pd.DataFrame) -> list[Finding]:
    """A warning per stratified comparison that left records out for a missing stratum.

    Parameters
    ----------
    ard : pandas.DataFrame
        The analysis results data (as :func:`tlf.ard.build_ard` or ``ard.csv`` gives).

    Returns
    -------
    list of Finding
        Source: the analysis; variable: the comparison; value: the number of records.
    """
    hits = ard[ard["stat_name"] == N_MISSING_STRATA]
    return [Finding(str(row.analysis_id), None, str(row.group1_level), f"{float(row.stat):g}",
                    "missing_stratum",
                    f"{float(row.stat):g} records of {row.analysis_id} ({row.group1_level}) "
                    "have a missing stratification value and were left out of the "
                    "stratified hazard ratio and log-rank test, as SAS leaves them out",
                    "warning")
            for row in hits.itertuples(index=False)]


def comparison_rows(ctx: AnalysisContext, data: pd.DataFrame) -> list[Row]:
    """Hazard ratios and log-rank p-values, unstratified and stratified, per comparison.

    A record with a missing (blank) stratification value is left out of the stratified
    model and test, as SAS leaves it out; when there are such records, a row
    ``stat_name = n_missing_strata`` says how many (see :func:`missing_strata_findings`).
    """
    strata = list(ctx.spec.option("strata", []))
    missing = [s for s in strata if s not in data]
    if missing:
        raise ctx.spec.error(f"strata {', '.join(missing)} are not in {ctx.spec.dataset}")
    alpha = float(ctx.spec.option("alpha", 0.05))
    models: list[tuple[str, list[str] | None]] = [("unstratified", None)]
    if strata:
        models.append(("stratified", strata))
    out: list[Row] = []
    for cmp in ctx.comparisons:
        for model, by in models:
            stats = compare(data, cmp, by, alpha)
            suffix = "" if by is None else f", stratified by {', '.join(by)}"
            if by is not None:
                pair = data[data["_GROUP"].isin([cmp.test, cmp.ref])]
                missing = int((~complete_strata(pair[by], len(pair))[1]).sum())
                if missing:
                    # Records with a missing stratum are left out, as SAS leaves them out.
                    out += ctx.rows(cmp.label, ctx.spec.parameter or "", model,
                                    {N_MISSING_STRATA: missing},
                                    f"Count of records with a missing {', '.join(by)} value, "
                                    "left out of the stratified Cox model and log-rank "
                                    "test (as SAS)")
            out += ctx.rows(cmp.label, ctx.spec.parameter or "", model,
                            {k: stats[k] for k in ("hr", "hr_lcl", "hr_ucl", "hr_upper_1s")},
                            _COX + suffix)
            out += ctx.rows(cmp.label, ctx.spec.parameter or "", model,
                            {k: stats[k] for k in ("p_1s", "p_2s")},
                            "Log-rank" if by is None else "Stratified log-rank")
    return out


# --------------------------------------------------------------------------- curves


def at_risk_ticks(times: pd.Series, step: float) -> np.ndarray:
    """Ticks 0, ``step``, 2 ``step``, ... up to the longest of ``times``.

    Examples
    --------
    >>> at_risk_ticks(pd.Series([1.0, 7.5]), 3).tolist()
    [0.0, 3.0, 6.0]
    """
    last = float(times.max()) if len(times) else 0.0
    return np.arange(0, int(last // step) * step + step / 2, step, dtype=float)


def curve_points(km_table: pd.DataFrame) -> pd.DataFrame:
    """The step points ``time, surv`` of a product-limit table (:func:`fit_km`):
    (0, 1), each event time with the survival after it, then the last observed time if
    it is a censoring (a flat tail to the end of follow-up)."""
    events = km_table.loc[km_table["n_event"] > 0, ["time", "survival"]]
    points = [pd.DataFrame({"time": [0.0], "survival": [1.0]}), events]
    last = km_table.iloc[-1:] if len(km_table) else km_table
    if len(last) and last["n_event"].iloc[0] == 0:
        points.append(last[["time", "survival"]])
    return pd.concat(points, ignore_index=True).rename(columns={"survival": "surv"})


def censor_points(km_table: pd.DataFrame) -> pd.DataFrame:
    """``time, surv`` of each distinct censoring time, at the curve's survival there."""
    marks = km_table.loc[km_table["n_censor"] > 0, ["time", "survival"]]
    return marks.rename(columns={"survival": "surv"}).reset_index(drop=True)


def _point_rows(ctx: AnalysisContext, arm: str, points: pd.DataFrame, prefix: str
                ) -> list[Row]:
    width = max(3, len(str(len(points))))
    out: list[Row] = []
    for i, (time, surv) in enumerate(zip(points["time"], points["surv"], strict=True)):
        out += ctx.rows(arm, ctx.spec.parameter or "", f"{i:0{width}d}",
                        {f"{prefix}_time": time, f"{prefix}_surv": surv}, _CURVE)
    return out


def curve_rows(ctx: AnalysisContext, data: pd.DataFrame) -> list[Row]:
    """Step points, censor marks and numbers at risk of each arm (module doc)."""
    curve = ctx.spec.option("curve") or {}
    if "at_risk" in curve:
        ticks = np.array(sorted(float(t) for t in curve["at_risk"]))
    else:
        ticks = at_risk_ticks(data["_TIME"], float(curve.get("at_risk_every") or 1.0))
    out: list[Row] = []
    for arm in ctx.groups:
        mask = data["_GROUP"] == arm
        if not mask.any():
            continue
        times = data.loc[mask, "_TIME"].to_numpy(dtype=float)
        km = fit_km(times, data.loc[mask, "_EVENT"])
        out += _point_rows(ctx, arm, curve_points(km.table), "curve")
        out += _point_rows(ctx, arm, censor_points(km.table), "censor")
        at_risk = (times[None, :] >= ticks[:, None]).sum(axis=1)
        for tick, n in zip(ticks, at_risk, strict=True):
            out += ctx.rows(arm, ctx.spec.parameter or "", number_text(tick),
                            {"at_risk": n}, _AT_RISK)
    return out


def run(ctx: AnalysisContext) -> list[Row]:
    """N per arm, Kaplan-Meier, events by type, comparisons and (``curve``) curves."""
    data = tte_frame(ctx)
    out = ctx.n_rows()
    if data.empty:
        return out
    out += km_rows(ctx, data)
    if ctx.spec.option("event_types", True):
        out += by_type_rows(ctx, data)
    out += comparison_rows(ctx, data)
    if ctx.spec.option("curve"):
        out += curve_rows(ctx, data)
    return out
