"""Kaplan-Meier curves for the figures: step points, censor marks and numbers at risk.

The figures draw only ARD rows, so the whole curve is stored here, per analysis of
:data:`tlf.analyses.tte.TTE_ANALYSES` drawn as a figure and per arm, in months:

* ``curve_time`` / ``curve_surv``: the steps of the product-limit estimate, starting at
  (0, 1), one point per event time (the survival just after it), and a last point at the
  largest observed time when that is a censoring, so the curve runs to the end of
  follow-up. ``level`` is the zero-padded step index (``"000"``, ``"001"``, ...).
* ``censor_time`` / ``censor_surv``: one mark per distinct censoring time, at the
  survival the curve has there. ``level`` is the zero-padded mark index.
* ``at_risk``: subjects still at risk (time >= t) at every 3-month tick from 0 to the
  last tick within the analysis's longest follow-up; ``level`` is the month (``"6"``).
  Both arms share the ticks, so the figure's table is rectangular.

The population of each analysis is the one :mod:`tlf.analyses.tte` uses (same
:func:`~tlf.analyses.tte.select`), so the curves end at the medians of the ARD.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tlf.analyses import ARD_COLUMNS, ARMS, DAYS_PER_MONTH, Row
from tlf.analyses.tte import TTE_ANALYSES, select
from trialflow.stats import fit_km

#: The time-to-event analyses drawn as Kaplan-Meier figures.
KM_ANALYSES: tuple[str, ...] = ("pfs_itt", "pfs_tdm1_latest", "os_itt", "ttd_bt_oi")
#: Months between the ticks of the numbers-at-risk table.
TICK_MONTHS = 3

_KM = "KM product-limit estimate (PROC LIFETEST)"
_AT_RISK = "Number at risk (time >= t)"


def at_risk_ticks(months: pd.Series, step: int = TICK_MONTHS) -> np.ndarray:
    """Ticks 0, ``step``, 2 ``step``, ... up to the longest time of ``months``."""
    last = float(months.max()) if len(months) else 0.0
    return np.arange(0, int(last // step) * step + 1, step)


def curve_points(km_table: pd.DataFrame) -> pd.DataFrame:
    """The step points ``time, surv`` of a product-limit table (:func:`fit_km`).

    (0, 1), then each event time with the survival after it, then the last observed time
    if it is a censoring (a flat tail to the end of follow-up).
    """
    events = km_table.loc[km_table["n_event"] > 0, ["time", "survival"]]
    points = [pd.DataFrame({"time": [0.0], "survival": [1.0]}), events]
    last = km_table.iloc[-1:] if len(km_table) else km_table
    if len(last) and last["n_event"].iloc[0] == 0:
        points.append(last[["time", "survival"]])
    return (pd.concat(points, ignore_index=True)
            .rename(columns={"survival": "surv"}))


def censor_points(km_table: pd.DataFrame) -> pd.DataFrame:
    """``time, surv`` of each distinct censoring time, at the curve's survival there."""
    marks = km_table.loc[km_table["n_censor"] > 0, ["time", "survival"]]
    return marks.rename(columns={"survival": "surv"}).reset_index(drop=True)


def _frame_rows(analysis: str, output: str, arm: str, variable: str, levels: pd.Series,
                values: Mapping[str, pd.Series], method: str) -> list[Row]:
    """ARD rows for points: per level, one row per statistic of ``values``, in point order."""
    frame = pd.DataFrame({"level": levels.to_numpy(),
                          **{stat: np.asarray(v, dtype=float) for stat, v in values.items()}})
    long = frame.melt(id_vars="level", var_name="stat", value_name="value", ignore_index=False)
    # Keep each point's statistics together: sort by point, then by statistic order.
    long["order"] = long["stat"].map({stat: i for i, stat in enumerate(values)})
    long = long.reset_index().sort_values(["index", "order"], kind="stable")
    long = long.assign(analysis=analysis, output=output, group=arm, variable=variable,
                       method=method)
    return long[list(ARD_COLUMNS)].to_dict("records")


def _indexed(analysis: str, output: str, arm: str, variable: str, points: pd.DataFrame,
             prefix: str) -> list[Row]:
    """Rows ``<prefix>_time`` and ``<prefix>_surv`` per point, level = zero-padded index."""
    width = max(3, len(str(len(points))))
    levels = pd.Series(range(len(points)), dtype=int).map(lambda i: f"{i:0{width}d}")
    return _frame_rows(analysis, output, arm, variable, levels,
                       {f"{prefix}_time": points["time"], f"{prefix}_surv": points["surv"]},
                       _KM)


def curve_rows(analysis: str, output: str, data: pd.DataFrame, variable: str) -> list[Row]:
    """Step points, censor marks and numbers at risk of each arm of one analysis.

    Parameters
    ----------
    analysis, output, variable : str
        The rows' identifying columns (``variable`` is the PARAMCD).
    data : pandas.DataFrame
        ADTTE records of one parameter and population (AVAL in days, CNSR, TRT01P).

    Returns
    -------
    list of dict
    """
    months = data["AVAL"] / DAYS_PER_MONTH
    ticks = at_risk_ticks(months)
    out: list[Row] = []
    for arm in ARMS:
        mask = data["TRT01P"] == arm
        if not mask.any():
            continue
        arm_months = months[mask].to_numpy(dtype=float)
        km = fit_km(arm_months, (data.loc[mask, "CNSR"] == 0).astype(int))
        out += _indexed(analysis, output, arm, variable, curve_points(km.table), "curve")
        out += _indexed(analysis, output, arm, variable, censor_points(km.table), "censor")
        at_risk = (arm_months[None, :] >= ticks[:, None]).sum(axis=1)
        out += _frame_rows(analysis, output, arm, variable, pd.Series(ticks.astype(str)),
                           {"at_risk": pd.Series(at_risk)}, _AT_RISK)
    return out


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """The curves of every analysis of :data:`KM_ANALYSES`."""
    adtte = adam["ADTTE"]
    out: list[Row] = []
    for analysis in KM_ANALYSES:
        output, paramcd, flags = TTE_ANALYSES[analysis]
        data = select(adtte, paramcd, flags)
        if not data.empty:
            out += curve_rows(analysis, output, data, paramcd)
    return out
