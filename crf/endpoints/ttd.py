"""Time to deterioration of FACT-B TOI: drawn at questionnaire visits, then calibrated.

Deterioration is found at a questionnaire visit; censored patients are censored at
their last questionnaire. :func:`draw_ttd` draws the outcomes, :class:`TtdProblem` is the
calibration's search problem (moves and statistics compiled, see :mod:`crf.kernels`),
:func:`calibrate_ttd` runs it until the published results hold.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
from numba import njit

from crf import kernels as K
from crf.allocate import choose, scale_counts
from crf.calibrate import (
    MONTH,
    CompiledProblem,
    Kernels,
    Targets,
    median_targets,
    se_window,
)
from crf.config import SimulationConfig
from crf.endpoints.shared import coarse_to_fine, run_stage
from crf.fastsurv import Z95

__all__ = ["TtdProblem", "calibrate_ttd", "draw_ttd", "ttd_targets"]


def _flat_visits(visits: list[np.ndarray], idx: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """Questionnaire days of the patients ``idx`` as one array with offsets and counts."""
    counts = np.array([np.asarray(visits[i]).size for i in idx], dtype=np.int64)
    if (counts == 0).any():
        raise ValueError("every HR-QoL patient needs at least one post-baseline questionnaire")
    flat = np.concatenate([np.asarray(visits[i], dtype=np.int64) for i in idx])
    offsets = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
    return flat, offsets, counts


def draw_ttd(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame,
             visits: list[np.ndarray], hrqol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time to deterioration of FACT-B TOI: found at a questionnaire visit, or censored.

    Each HR-QoL patient deteriorates at a latent time from the arm's exponential
    distribution (published median, a starting point); the deterioration is seen at the
    first questionnaire on or after it. Exactly the arm's number of patients (published
    count, scaled to the arm's HR-QoL size) have the event: among those whose latent time
    falls within their questionnaires at random, topped up if needed by patients who
    deteriorate at their last questionnaire (after progression, at the end of
    treatment). The others are censored at their last questionnaire.

    Parameters
    ----------
    rng : numpy.random.Generator
        The study's generator.
    cfg : SimulationConfig
        The simulation spec (``ttd`` block).
    df : pandas.DataFrame
        ITT patients with ``arm``.
    visits : list of numpy.ndarray
        Post-baseline questionnaire study days per ITT patient, ascending.
    hrqol : numpy.ndarray
        HR-QoL population flags.

    Returns
    -------
    tuple of numpy.ndarray
        Visit index (-1 outside HR-QoL) and event flag (0/1) per ITT patient.
    """
    n = len(df)
    hrqol = np.asarray(hrqol, dtype=bool)
    vi = np.full(n, -1, dtype=np.int64)
    ev = np.zeros(n, dtype=np.int64)
    arms = list(cfg.arms)
    t = cfg.ttd
    published = cfg.populations.hrqol
    for a, arm in enumerate(arms):
        idx = np.flatnonzero((df["arm"] == arm).to_numpy() & hrqol)
        if idx.size == 0:
            continue
        _, _, counts = _flat_visits(visits, idx)
        n_ev = min(scale_counts([t.events[a]], idx.size / published[a])[0], idx.size)
        mean = t.median_months[a] * MONTH / math.log(2)
        latent = rng.exponential(mean, idx.size)
        first = np.array([int(np.searchsorted(np.asarray(visits[i]), latent[k], side="left"))
                          for k, i in enumerate(idx)])
        seen = first < counts
        pick = choose(rng, seen, min(n_ev, int(seen.sum())))
        extra = choose(rng, ~pick, n_ev - int(pick.sum()))
        vi[idx] = counts - 1
        vi[idx[pick]] = first[pick]
        ev[idx[pick | extra]] = 1
    return vi, ev


# ------------------------------------------------------------------------- kernels
# S rows; C = (flat visit days, offsets, counts, test arm (0/1), strata, test arm's
# patients, reference arm's patients, spot patients, spot visits, spot offsets, se
# guidance windows (2, 2)); components, in order (bit = index):
VI, EV, DAY = 0, 1, 2
KM0, KM1, COX, LR = 0, 1, 2, 3


@njit(**K.JIT)
def _compute(c, S, J, C, out, W):
    day = S[DAY].astype(np.float64)
    ev = S[EV]
    test, strata = C[3], C[4]
    if c == KM0 or c == KM1:
        idx = C[5] if c == KM0 else C[6]
        t = day[idx]
        K.km_months(t, ev[idx], K.order_of(W, c, t), out, 1)
    else:
        stratified = c == LR
        key = K.sort_key(day, strata, stratified)
        n, n1, d, x = K.event_set_sorted(key, ev, test, K.order_of(W, c, key), stratified)
        if c == COX:
            W[2][c] = K.cox_values(n, n1, x, W[2][c], C[10], out, 1)
        else:
            z = K.logrank_stat(n, n1, d, x)
            out[1] = 2.0 * K.ndtr(-abs(z))
            out[2] = z


@njit(**K.JIT)
def _set(S, W, C, k, v, e):
    if S[VI, k] != v:
        K.put(S, W, VI, k, v)
        K.put(S, W, DAY, k, C[0][C[1][k] + v])
    if S[EV, k] != e:
        K.put(S, W, EV, k, e)


@njit(**K.JIT)
def _nearest(C, k, day):
    days = C[0][C[1][k]: C[1][k] + C[2][k]]
    j = np.searchsorted(days, day)
    if j >= days.size:
        return days.size - 1
    if j > 0 and day - days[j - 1] <= days[j] - day:
        return j - 1
    return j


@njit(**K.JIT)
def _move(S, J, C, M, W, rng):
    cnt, test, strata = C[2], C[3], C[4]
    n = test.size
    n_spots = C[9].size - 1
    r = rng.random()
    if r < 0.1 and n_spots > 0:
        # an event at a visit on a day a Kaplan-Meier target needs
        s = rng.integers(0, n_spots)
        lo, hi = C[9][s], C[9][s + 1]
        pick = rng.integers(0, hi - lo)
        k, v = C[7][lo + pick], C[8][lo + pick]
        a = 0 if test[k] else 1
        if not S[EV, k]:
            mates = C[5] if a == 0 else C[6]
            m_ev = 0
            for m in mates:
                if S[EV, m] == 1:
                    m_ev += 1
            pick_e = rng.integers(0, m_ev)
            for m in mates:
                if S[EV, m] == 1:
                    if pick_e == 0:
                        _set(S, W, C, m, cnt[m] - 1, 0)
                        break
                    pick_e -= 1
        _set(S, W, C, k, v, 1)
        return (1 << a) | (1 << COX) | (1 << LR)
    r = (r - 0.1) / 0.9
    k = rng.integers(0, n)
    a = 0 if test[k] else 1
    dirty = (1 << a) | (1 << COX) | (1 << LR)
    mates = C[5] if a == 0 else C[6]
    if r < 0.4:
        # the event passes to a censored arm mate, seen at her visit nearest the day
        j = mates[rng.integers(0, mates.size)]
        if S[EV, k] == S[EV, j]:
            return -1
        e, c = (k, j) if S[EV, k] else (j, k)
        old = S[DAY, e]
        _set(S, W, C, e, cnt[e] - 1, 0)
        v = _nearest(C, c, old) if rng.random() < 0.6 else rng.integers(0, cnt[c])
        _set(S, W, C, c, v, 1)
        return dirty
    if r < 0.55:
        # two patients with events in different strata trade days
        j = mates[rng.integers(0, mates.size)]
        if j == k or not (S[EV, k] and S[EV, j]) or strata[j] == strata[k]:
            return -1
        dk, dj = S[DAY, k], S[DAY, j]
        _set(S, W, C, k, _nearest(C, k, dj), 1)
        _set(S, W, C, j, _nearest(C, j, dk), 1)
        return dirty
    if not S[EV, k]:
        return -1
    q = rng.random()
    if q < 0.45:
        v = S[VI, k] + (1 if rng.random() < 0.5 else -1)
    elif q < 0.65:
        v = rng.integers(0, cnt[k])
    else:
        other = S[DAY, rng.integers(0, n)]
        v = _nearest(C, k, other + rng.integers(-3, 4))
    if v < 0 or v >= cnt[k] or v == S[VI, k]:
        return -1
    _set(S, W, C, k, v, 1)
    return dirty


@njit(**K.JIT)
def _search(S, J, C, M, T, W, rng, loss, max_steps, t_start, ratio, patience, keep_best):
    return K.search(_move, _compute, S, J, C, M, T, W, rng, loss, max_steps, t_start, ratio,
                    patience, keep_best)


@njit(**K.JIT)
def _refresh(S, J, C, T, W):
    return K.refresh(_compute, S, J, C, T, W)


@njit(**K.JIT)
def _propose(S, J, C, M, T, W, rng):
    return K.propose(_move, S, J, C, M, T, W, rng)


@njit(**K.JIT)
def _evaluate(S, J, C, T, W, dirty, bound):
    return K.evaluate(_compute, S, J, C, T, W, dirty, bound)


class TtdProblem(CompiledProblem):
    """Time to deterioration: which HR-QoL patients deteriorate, and at which visit.

    Works on the HR-QoL patients only. Moves: an event at another questionnaire of the
    same patient, the event passing to a censored patient of the arm (seen at her
    questionnaire nearest the old day), two events in different strata trading days, and
    an event placed at a questionnaire on a day a Kaplan-Meier target needs. Censored
    patients are always censored at their last questionnaire; the events per arm never
    change.
    """

    kernels = Kernels(_search, _refresh, _propose, _evaluate)

    def __init__(self, cfg: SimulationConfig, df: pd.DataFrame, visits: list[np.ndarray],
                 hrqol: np.ndarray, vi: np.ndarray, ev: np.ndarray, targets: Targets) -> None:
        self.arms = tuple(cfg.arms)
        self.idx = np.flatnonzero(np.asarray(hrqol, dtype=bool))
        self.flat, self.off, self.cnt = _flat_visits(visits, self.idx)
        test_all = (df["arm"] == self.arms[0]).to_numpy()
        self.test = test_all[self.idx]
        self.strata = df["stratum"].to_numpy()[self.idx]
        self.arm_idx = [np.flatnonzero(self.test), np.flatnonzero(~self.test)]
        v = np.asarray(vi, dtype=np.int64)[self.idx].copy()
        state = np.array([v, np.asarray(ev, dtype=np.int64)[self.idx],
                          self.flat[self.off + v]])
        super().__init__(targets, ("vi", "ev", "day"), state)
        # (patient, visit) pairs on the days each Kaplan-Meier target's rounding window
        # allows: the only visits where that median or limit can be seen
        owner = np.repeat(np.arange(self.test.size), self.cnt)
        index = np.arange(self.flat.size) - np.repeat(self.off, self.cnt)
        spots = []
        for a, arm in enumerate(self.arms):
            for q in ("median", "lcl", "ucl"):
                value, dec = targets.items[f"ttd.{arm}.{q}"]
                half = 0.5 * 10.0 ** -dec
                ok = ((self.flat >= (value - half) * MONTH) & (self.flat < (value + half) * MONTH)
                      & (self.test[owner] == (a == 0)))
                if ok.any():
                    spots.append((owner[ok], index[ok]))
        spot_off = np.r_[0, np.cumsum([w.size for w, _ in spots])].astype(np.int64)
        # The published HR 1.28 (0.856, 1.903) has se 0.2038, the floor 2/sqrt(97) for
        # 97 events: a Cox model without strata, as for PFS.
        t = targets.items
        guide = np.array([se_window(t["ttd.hr"], t["ttd.hr_lcl"], Z95, 1.0),
                          se_window(t["ttd.hr"], t["ttd.hr_ucl"], Z95, 1.0)])
        self.C = (self.flat, self.off, self.cnt, self.test.astype(np.int64),
                  self.strata.astype(np.float64), self.arm_idx[0].astype(np.int64),
                  self.arm_idx[1].astype(np.int64), _cat([w for w, _ in spots]),
                  _cat([i for _, i in spots]), spot_off, guide)
        for a, arm in enumerate(self.arms):
            self.add_compiled(f"ttd_km_{a}", [f"ttd.{arm}.{s}" for s in ("median", "lcl", "ucl")],
                              [f"ttd.{arm}.{s}" for s in ("median", "lcl", "ucl")])
        self.add_compiled("ttd_cox", ["ttd.hr", "ttd.hr_lcl", "ttd.hr_ucl"],
                          [f"ttd.{s}" for s in ("hr", "hr_upper_1s", "hr_lcl", "hr_ucl",
                                                "se")])
        self.add_compiled("ttd_lr", ["ttd.p_2s"], ["ttd.p_2s", "ttd.logrank_z"])
        self.build()

    def result(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Visit index and event per ITT patient (-1 and 0 outside HR-QoL)."""
        vi = np.full(n, -1, dtype=np.int64)
        ev = np.zeros(n, dtype=np.int64)
        vi[self.idx] = self.arrays["vi"]
        ev[self.idx] = self.arrays["ev"]
        return vi, ev


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return (np.concatenate(parts).astype(np.int64) if parts
            else np.zeros(0, dtype=np.int64))


def ttd_targets(cal: dict, arms: tuple[str, str]) -> Targets:
    """The time-to-deterioration calibration targets."""
    c = cal.ttd
    t = Targets()
    t.items.update(median_targets("ttd", c.median, list(arms)))
    t.items["ttd.hr"] = tuple(c.hr_stratified)
    t.items["ttd.hr_lcl"] = tuple(c.hr_lcl)
    t.items["ttd.hr_ucl"] = tuple(c.hr_ucl)
    t.items["ttd.p_2s"] = tuple(c.p_stratified_2s)
    return t


def calibrate_ttd(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame,
                  visits: list[np.ndarray], hrqol: np.ndarray,
                  start: tuple[np.ndarray, np.ndarray] | None = None,
                  max_steps: int = 150000) -> tuple[np.ndarray, np.ndarray, dict]:
    """Draw and calibrate the time to deterioration until its targets hold.

    Parameters
    ----------
    rng : numpy.random.Generator
        The study's generator.
    cfg : SimulationConfig
        The simulation spec.
    df : pandas.DataFrame
        ITT patients with ``arm`` and ``stratum``.
    visits : list of numpy.ndarray
        Post-baseline questionnaire days per ITT patient (ascending).
    hrqol : numpy.ndarray
        HR-QoL population flags.
    start : tuple, optional
        Initial (visit index, event); drawn with :func:`draw_ttd` when None.
    max_steps : int
        Budget of proposals.

    Returns
    -------
    tuple
        Visit index (-1 outside HR-QoL), event (0/1) — the deterioration is seen at
        ``visits[i][index]``, or the patient is censored there, always at her last
        questionnaire — and a report (``loss``, ``steps``, ``seconds``, ``misses``,
        ``values``, ``stages``).
    """
    t0 = time.perf_counter()
    arms = tuple(cfg.arms)
    vi, ev = start if start is not None else draw_ttd(rng, cfg, df, visits, hrqol)
    prob = TtdProblem(cfg, df, visits, hrqol, vi, ev, ttd_targets(cfg.calibration, arms))
    prob.set_active(None)
    hr_keys = ["ttd.hr", "ttd.hr_lcl", "ttd.hr_ucl"]
    stages: list[dict] = []
    used = 0
    tries = 0
    while prob.loss > 0 and used < max_steps:
        tries += 1
        if tries > 1:
            prob.set_widen(10.0, {k: 200.0 for k in hr_keys})
            used += run_stage(prob, rng, "ttd.shake", min(1000, max_steps - used), stages,
                           t_start=1.0, t_end=1.0, keep_best=False).steps
        used += coarse_to_fine(prob, rng, f"ttd.{tries}", ["ttd.p_2s"], hr_keys,
                          min(25000, max_steps - used), stages, 2000, 0.3)
    prob.set_widen(1.0)
    values = prob.values()
    vi_out, ev_out = prob.result(len(df))
    report = {"loss": prob.loss, "steps": used, "seconds": time.perf_counter() - t0,
              "misses": prob.targets.misses(values), "values": values, "stages": stages}
    return vi_out, ev_out, report

