"""The calibration step: small moves of generated event times towards published results.

The generator draws every patient from visit-aware processes; the calibration then runs
a deterministic local search (seeded) that proposes small moves — an event a few days
earlier or later within its visit window, a progression found one visit earlier or
later, two patients of one arm exchanging outcomes — and keeps a move when the summed
distance to all targets of the end-point does not grow. A target is met when the
statistic, rounded half up to the printed precision, equals the published value; its
distance is zero then, and otherwise grows with how far the unrounded value is outside
the rounding window. Every proposal respects the per-patient constraints (visit grid,
order of events, follow-up available before the data cut-off), so the search can only
reach consistent patients.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from crf.fastsurv import Z90, Z95, cox_binary, km_quantile, logrank_p, logrank_z, risk_table

MONTH = 30.4375


def rounded(x: float, decimals: int) -> float:
    """Round half up (SAS ROUND) for a scalar; NaN stays NaN."""
    if x is None or not math.isfinite(x):
        return math.nan
    scale = 10.0 ** decimals
    return math.floor(x * scale + 0.5 + 1e-9) / scale


def distance(x: float, target: float | None, decimals: int) -> float:
    """0 when ``x`` rounds to ``target``; otherwise grows with the gap in last-digit units.

    ``target`` None means no target; NaN means "not estimable" is the published value.
    """
    if target is None:
        return 0.0
    if isinstance(target, float) and math.isnan(target):
        return 0.0 if not math.isfinite(x) else 3.0
    if not math.isfinite(x):
        return 8.0
    if abs(rounded(x, decimals) - target) < 1e-9:
        return 0.0
    # log scale: far-off targets still pull, without one of them swamping the rest
    return 0.5 + math.log1p(abs(x - target) * 10.0 ** decimals)


@dataclass
class Targets:
    """Named statistic -> (published value, decimals)."""

    items: dict[str, tuple[float | None, int]] = field(default_factory=dict)

    def loss(self, values: dict[str, float]) -> float:
        return sum(distance(values[k], t, d) for k, (t, d) in self.items.items())

    def misses(self, values: dict[str, float]) -> dict[str, tuple[float, float]]:
        return {k: (values[k], t) for k, (t, d) in self.items.items()
                if distance(values[k], t, d) > 0}


def median_targets(prefix: str, spec: dict, arms: list[str]) -> dict[str, tuple]:
    """Targets for KM median and limits, in months at one decimal, from a spec block."""
    out = {}
    for arm in arms:
        med, lcl, ucl = spec[arm]
        out[f"{prefix}.{arm}.median"] = (med, 1)
        out[f"{prefix}.{arm}.lcl"] = (lcl, 1)
        out[f"{prefix}.{arm}.ucl"] = (ucl, 1)
    return out


def km_stats(prefix: str, time: np.ndarray, event: np.ndarray, test: np.ndarray,
             arms: tuple[str, str]) -> dict[str, float]:
    """KM median and BC limits in months for the test (1) and reference (0) arm."""
    out = {}
    for arm_name, flag in zip(arms, (True, False), strict=True):
        sel = test == flag
        m, lo, hi = km_quantile(time[sel], event[sel], 0.5, Z95)
        out[f"{prefix}.{arm_name}.median"] = m / MONTH
        out[f"{prefix}.{arm_name}.lcl"] = lo / MONTH
        out[f"{prefix}.{arm_name}.ucl"] = hi / MONTH
    return out


def cox_stats(prefix: str, time: np.ndarray, event: np.ndarray, test: np.ndarray,
              strata: np.ndarray | None = None) -> dict[str, float]:
    """HR, one-sided 95 % upper limit, two-sided 95 % limits and log-rank p values."""
    tab = risk_table(time, event, test, strata)
    b, se = cox_binary(tab)
    z = logrank_z(tab)
    p2, p1 = logrank_p(z)
    return {f"{prefix}.hr": math.exp(b), f"{prefix}.hr_upper_1s": math.exp(b + Z90 * se),
            f"{prefix}.hr_lcl": math.exp(b - Z95 * se), f"{prefix}.hr_ucl": math.exp(b + Z95 * se),
            f"{prefix}.p_1s": p1, f"{prefix}.p_2s": p2, f"{prefix}.logrank_z": z}


def search(state: dict[str, np.ndarray], evaluate: Callable[[dict], float],
           propose: Callable[[dict, np.random.Generator], dict | None],
           rng: np.random.Generator, max_steps: int, t_start: float = 0.0,
           t_end: float = 0.01) -> tuple[dict[str, np.ndarray], float, int]:
    """Stochastic local search (simulated annealing when ``t_start`` > 0).

    A proposal that does not raise the loss is always kept, which lets the search drift
    across the plateaus that rounded targets make; a worse one is kept with probability
    exp(-increase / temperature), the temperature falling geometrically from
    ``t_start`` to ``t_end``. Returns the best state seen, its loss and the steps used;
    stops as soon as every target is met (loss 0).
    """
    cur = evaluate(state)
    best_state, best = state, cur
    steps = 0
    ratio = (t_end / t_start) ** (1.0 / max_steps) if t_start > 0 else 1.0
    temp = t_start
    for steps in range(1, max_steps + 1):
        if best == 0.0:
            break
        temp *= ratio
        cand = propose(state, rng)
        if cand is None:
            continue
        loss = evaluate(cand)
        if loss <= cur or (temp > 0 and rng.random() < math.exp(-(loss - cur) / temp)):
            state, cur = cand, loss
            if cur < best:
                best_state, best = state, cur
    return best_state, best, steps
