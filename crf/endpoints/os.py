"""Overall survival and follow-up: deaths and last contacts, drawn, then calibrated.

:func:`draw_os` places deaths after progression (or on the PFS day when death is the PFS
event) and last contacts before the cut-off; :class:`OsProblem` is the calibration's
search problem (moves and statistics compiled, see :mod:`crf.kernels`);
:func:`calibrate_os` runs it until the OS and follow-up targets hold.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
from numba import njit

from crf import kernels as K
from crf.allocate import choose, scale_counts
from crf.calibrate import MONTH, CompiledProblem, Kernels, Targets, median_targets, se_window
from crf.config import SimulationConfig
from crf.endpoints.shared import (
    CLIN,
    DEATH,
    K_CLIN,
    K_DEATH,
    K_RECIST,
    KINDS,
    RECIST,
    OsState,
    PfsState,
    coarse_to_fine,
    run_stage,
)
from crf.fastsurv import Z90


def _arm_factor(cfg: SimulationConfig, df: pd.DataFrame, a: int) -> float:
    """This arm's ITT size relative to the published one (1 for the published study)."""
    pop = cfg.populations
    published = pop.randomised[a] - pop.not_itt_withdrew_data_consent[a]
    return float((df["arm"] == cfg.arms[a]).sum()) / published


def draw_os(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame,
            pfs: PfsState) -> OsState:
    """Deaths and last contacts, consistent with PFS and follow-up.

    A patient whose PFS event is death died on her PFS day; the other deaths follow a
    progression, after a post-progression survival drawn from the arm's exponential
    distribution (the patients more likely to die before the cut-off being the ones who
    die, with exact per-arm counts), on a day no later than the cut-off. The survivors
    were last contacted in the two months before the cut-off, except a few lost to
    follow-up, whose last contact falls anywhere from their PFS day on.

    Parameters
    ----------
    rng : numpy.random.Generator
        The study's generator.
    cfg : SimulationConfig
        The simulation spec (``os`` block).
    df : pandas.DataFrame
        ITT patients with ``arm`` and ``F``.
    pfs : PfsState
        The (calibrated) PFS outcomes.

    Returns
    -------
    OsState
    """
    n = len(df)
    o = cfg.os
    F = df["F"].to_numpy().astype(np.int64)
    pday = np.asarray(pfs.day, dtype=np.int64)
    kind = np.asarray(pfs.kind)
    death = kind == DEATH
    day = np.where(death, pday, 0).astype(np.int64)
    lost = np.zeros(n, dtype=bool)
    can_die = np.isin(kind, [RECIST, CLIN]) & (pday < F)
    for a, arm in enumerate(cfg.arms):
        sel = (df["arm"] == arm).to_numpy()
        factor = _arm_factor(cfg, df, a)
        n_death = scale_counts([o.deaths[a]], factor)[0]
        mean = o.post_progression_median_months[a] * MONTH / math.log(2)
        room = (F - pday).astype(float)
        p_die = 1.0 - np.exp(-np.maximum(room, 0.0) / mean)
        elig = sel & can_die
        k = min(max(n_death - int((sel & death).sum()), 0), int(elig.sum()))
        dies = choose(rng, elig, k, weights=p_die + 1e-9)
        idx = np.flatnonzero(dies)
        # post-progression survival, truncated at the cut-off (inverse CDF)
        u = rng.random(idx.size)
        pps = -mean * np.log1p(-u * p_die[idx])
        day[idx] = np.clip(pday[idx] + np.maximum(np.ceil(pps), 1).astype(np.int64),
                           pday[idx] + 1, F[idx])
        death |= dies
        n_lost = scale_counts([o.lost_to_follow_up[a]], factor)[0]
        alive = sel & ~death
        lost |= choose(rng, alive, min(n_lost, int(alive.sum())))
    alive = ~death
    lo = np.where(lost, pday, np.maximum(pday, F - LAST_CONTACT_WINDOW))
    span = np.maximum(F - lo, 0) + 1
    day = np.where(alive, lo + (rng.random(n) * span).astype(np.int64), day)
    return OsState(death=death, day=day.astype(np.int64), lost=lost)


LAST_CONTACT_WINDOW = 60  # days before the cut-off in which survivors were last contacted


def os_consistent(death: bool, day: int, lost: bool, pfs_kind: str, pfs_day: int,
                  F: int) -> bool:
    """The OS rules of :mod:`crf.endpoints.shared` for one patient.

    Parameters
    ----------
    death, day, lost : bool, int, bool
        Died, day of death or last contact, lost to follow-up.
    pfs_kind, pfs_day : str, int
        The patient's PFS outcome.
    F : int
        Last study day before the data cut-off.

    Returns
    -------
    bool

    Examples
    --------
    >>> os_consistent(True, 300, False, "RECIST", 200, 500)   # dies after progressing
    True
    >>> os_consistent(False, 400, False, "CENS", 300, 500)    # alive, last seen too early
    False
    """
    return bool(os_rule(int(death), int(day), int(lost), KINDS.index(pfs_kind), int(pfs_day),
                        int(F)))


@njit(**K.JIT)
def os_rule(death: int, day: int, lost: int, kind: int, pfs_day: int, F: int) -> bool:
    """:func:`os_consistent` on codes (``kind`` indexes ``KINDS``), compiled."""
    if day > F or day < pfs_day:
        return False
    if kind == K_DEATH:
        return death == 1 and day == pfs_day and lost == 0
    if death:
        return (kind == K_RECIST or kind == K_CLIN) and day > pfs_day and lost == 0
    return lost == 1 or day >= F - LAST_CONTACT_WINDOW


# ------------------------------------------------------------------------- kernels
# S rows; C = (test arm (0/1), arm index, F, PFS day, PFS kind, lowest last contact of a
# survivor, test arm's patients, reference arm's patients, spot patients, spot offsets,
# spot days, se guidance window (1, 2), follow-up targets (3 groups, 3 quantiles,
# value and decimals)); components, in order (bit = index):
DEATH_, DAY, LOST = 0, 1, 2
OS_KM0, FU0, OS_KM1, FU1, FU_ALL, FU_P, OS_COX = range(7)
_QUANTILES = (0.5, 0.25, 0.75)   # median, q1, q3


@njit(**K.JIT)
def _follow_up(day, targets, out):
    """Median and quartiles (SAS PCTLDEF=5) of the OS times in months into out[1:4].

    A missed quartile adds a guidance penalty (out[0]): how many times lie on the wrong
    side of its rounding window for the order statistics it is made of. A quantile stays
    put until several times have crossed (ties and gaps), so without the count the
    search would see no progress.
    """
    s = np.sort(day) / MONTH
    pen = 0.0
    for q_i in range(3):
        p = _QUANTILES[q_i]
        q = K.percentile5(s, p)
        out[1 + q_i] = q
        value, dec = targets[q_i, 0], int(targets[q_i, 1])
        if K.distance(q, K.T_VALUE, value, dec, 1.0) == 0:
            continue
        half = 0.5 * 10.0 ** float(-dec)
        lo, hi = value - half, value + half
        np_ = s.size * p
        j = math.floor(np_ + 1e-9)
        whole = abs(np_ - round(np_)) <= 1e-9
        first, last = (j, j + 1) if whole else (j + 1, j + 1)
        below_lo = np.searchsorted(s, lo)
        below_hi = np.searchsorted(s, hi)
        pen += max(0, last - below_hi) + max(0, below_lo - (first - 1))
    out[0] = 0.3 * pen


@njit(**K.JIT)
def _compute(c, S, J, C, out, W):
    day = S[DAY].astype(np.float64)
    death = S[DEATH_]
    test = C[0]
    if c == OS_KM0 or c == OS_KM1:
        idx = C[6] if c == OS_KM0 else C[7]
        t = day[idx]
        K.km_months(t, death[idx], K.order_of(W, c, t), out, 1)
    elif c == FU0 or c == FU1:
        idx = C[6] if c == FU0 else C[7]
        _follow_up(S[DAY][idx], C[12][1 + (c - FU0) // 2], out)
    elif c == FU_ALL:
        _follow_up(S[DAY], C[12][0], out)
    elif c == FU_P:
        out[1] = K.rank_sum_p(day[test == 1], day[test == 0])
    else:
        n, n1, d, x = K.event_set_sorted(day, death, test, K.order_of(W, c, day), False)
        W[2][c] = K.cox_values(n, n1, x, W[2][c], C[11], out, 1)
        out[6] = K.ndtr(K.logrank_stat(n, n1, d, x))


@njit(**K.JIT)
def _ok(S, C, i):
    return os_rule(S[DEATH_, i], S[DAY, i], S[LOST, i], C[4][i], C[3][i], C[2][i])


@njit(**K.JIT)
def _dirty(a):
    return ((1 << (OS_KM0 if a == 0 else OS_KM1)) | (1 << (FU0 if a == 0 else FU1))
            | (1 << FU_ALL) | (1 << FU_P) | (1 << OS_COX))


@njit(**K.JIT)
def _quantile_swap(S, C, W, rng):
    """A survivor who cannot be last seen below a quantile target dies below it, and a
    patient who died there, but whose follow-up ends below it, survives instead.

    The deaths keep their days (so the Kaplan-Meier curve barely moves) while one more
    OS time falls below the target: what a follow-up quantile needs when too many
    survivors were enrolled early.
    """
    F, pday, kind, lo_alive = C[2], C[3], C[4], C[5]
    s = rng.integers(0, C[9].size - 1)
    who = C[8][C[9][s]: C[9][s + 1]]
    v = C[10][s]
    above = who[(S[DEATH_][who] == 0) & (S[LOST][who] == 0)
                & ((kind[who] == K_RECIST) | (kind[who] == K_CLIN)) & (pday[who] < F[who])
                & (lo_alive[who] > v) & (pday[who] < v)]
    if above.size == 0:
        return -1
    i = above[rng.integers(0, above.size)]
    a = C[1][i]
    mates = C[6] if a == 0 else C[7]
    below = mates[(S[DEATH_][mates] == 1) & (kind[mates] != K_DEATH)
                  & (lo_alive[mates] <= v) & (np.abs(S[DAY][mates] - v) <= 120)]
    if below.size == 0:
        return -1
    j = below[rng.integers(0, below.size)]
    old = S[DAY, j]
    K.put(S, W, DEATH_, j, 0)
    K.put(S, W, DAY, j, rng.integers(lo_alive[j], min(F[j], v) + 1))
    K.put(S, W, DEATH_, i, 1)
    K.put(S, W, DAY, i, min(max(old, pday[i] + 1), v))
    if not (_ok(S, C, i) and _ok(S, C, j)):
        return -1
    return _dirty(a)


@njit(**K.JIT)
def _move(S, J, C, M, W, rng):
    F, pday, kind, lo_alive = C[2], C[3], C[4], C[5]
    n = F.size
    r = rng.random()
    if r < 0.15:
        # a time placed at a quantile target, by a patient whose rules allow it there
        s = rng.integers(0, C[9].size - 1)
        who = C[8][C[9][s]: C[9][s + 1]]
        v = C[10][s] + rng.integers(-3, 4)
        lo = np.where(S[DEATH_] == 1, pday + 1, np.where(S[LOST] == 1, pday, lo_alive))
        fit = who[(lo[who] <= v) & (F[who] >= v) & (kind[who] != K_DEATH)]
        if rng.random() < 0.7:
            # mostly a patient whose time is near already: a small change of the rest
            fit = fit[np.abs(S[DAY][fit] - v) <= 90]
        if fit.size == 0:
            return -1
        i = fit[rng.integers(0, fit.size)]
        if S[DAY, i] == v:
            return -1
        K.put(S, W, DAY, i, v)
        return _dirty(C[1][i])
    if r < 0.25:
        return _quantile_swap(S, C, W, rng)
    r = (r - 0.25) / 0.75
    i = rng.integers(0, n)
    a = C[1][i]
    mates = C[6] if a == 0 else C[7]
    t0, t1 = i, -1
    if r < 0.3:
        # a death and a survivor of one arm trade places
        j = mates[rng.integers(0, mates.size)]
        if (j == i or S[DEATH_, i] == S[DEATH_, j] or S[LOST, i] == 1
                or S[LOST, j] == 1):
            return -1
        d, s = (i, j) if S[DEATH_, i] else (j, i)
        if kind[d] == K_DEATH or not ((kind[s] == K_RECIST or kind[s] == K_CLIN)
                                      and pday[s] < F[s]):
            return -1
        old = S[DAY, d]
        K.put(S, W, DEATH_, d, 0)
        K.put(S, W, DAY, d, lo_alive[d] + rng.integers(0, F[d] - lo_alive[d] + 1))
        K.put(S, W, DEATH_, s, 1)
        lo, hi = pday[s] + 1, F[s]
        new = old if rng.random() < 0.5 else rng.integers(lo, hi + 1)
        K.put(S, W, DAY, s, min(max(new, lo), hi))
        t0, t1 = d, s
    elif r < 0.35:
        # lost to follow-up passes to another survivor of the arm
        j = mates[rng.integers(0, mates.size)]
        if S[LOST, i] == 0 or S[LOST, j] == 1 or S[DEATH_, j] == 1:
            return -1
        K.put(S, W, LOST, i, 0)
        K.put(S, W, DAY, i, lo_alive[i] + rng.integers(0, F[i] - lo_alive[i] + 1))
        K.put(S, W, LOST, j, 1)
        K.put(S, W, DAY, j, rng.integers(pday[j], F[j] + 1))
        t1 = j
    else:
        if kind[i] == K_DEATH:
            return -1
        if S[DEATH_, i]:
            lo = pday[i] + 1
        elif S[LOST, i]:
            lo = pday[i]
        else:
            lo = lo_alive[i]
        hi = F[i]
        q = rng.random()
        if q < 0.2:
            new = rng.integers(lo, hi + 1)
        elif q < 0.45:
            # beside another patient's time: the smallest change of ranks
            new = S[DAY, rng.integers(0, n)] + rng.integers(-1, 2)
        else:
            step = rng.integers(1, 31 if q < 0.7 else 4)
            new = S[DAY, i] + (step if rng.random() < 0.5 else -step)
        if new < lo or new > hi or new == S[DAY, i]:
            return -1
        K.put(S, W, DAY, i, new)
    if not _ok(S, C, t0) or (t1 >= 0 and not _ok(S, C, t1)):
        return -1
    return _dirty(a)


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


class OsProblem(CompiledProblem):
    """Overall survival and follow-up: deaths, death days and last contacts move.

    Moves: a death day or last contact within its allowed range (often right beside
    another patient's time), a death passing from one patient to a survivor of the same
    arm, lost-to-follow-up status passing between survivors, and times placed at a
    quantile target (see ``_quantile_swap``). The follow-up quartiles are order
    statistics, so their components also count how many times lie on the wrong side.
    """

    kernels = Kernels(_search, _refresh, _propose, _evaluate)

    def __init__(self, cfg: SimulationConfig, df: pd.DataFrame, pfs: PfsState, state: OsState,
                 targets: Targets) -> None:
        S = np.array([np.asarray(state.death, dtype=np.int64),
                      np.asarray(state.day, dtype=np.int64),
                      np.asarray(state.lost, dtype=np.int64)])
        super().__init__(targets, ("death", "day", "lost"), S)
        self.arms = tuple(cfg.arms)
        self.test = (df["arm"] == self.arms[0]).to_numpy()
        self.arm_of = np.where(self.test, 0, 1)
        self.F = df["F"].to_numpy().astype(np.int64)
        self.pday = np.asarray(pfs.day, dtype=np.int64)
        self.pkind = np.array([KINDS.index(k) for k in pfs.kind], dtype=np.int64)
        self.lo_alive = np.maximum(self.pday, self.F - LAST_CONTACT_WINDOW)
        self.arm_idx = [np.flatnonzero(self.test), np.flatnonzero(~self.test)]
        # (patients, study day) of every quantile target: moves place times right there
        t = targets.items
        everyone = np.arange(self.test.size)
        spots = [(everyone, t[f"fu.overall.{q}"][0] * MONTH) for q in ("median", "q1", "q3")]
        for a, arm in enumerate(self.arms):
            spots += [(self.arm_idx[a], t[f"fu.{arm}.{q}"][0] * MONTH)
                      for q in ("median", "q1", "q3")]
            spots += [(self.arm_idx[a], t[f"os.{arm}.{q}"][0] * MONTH)
                      for q in ("median", "lcl", "ucl")
                      if math.isfinite(t[f"os.{arm}.{q}"][0])]
        off = np.r_[0, np.cumsum([w.size for w, _ in spots])].astype(np.int64)
        fu = np.array([[t[f"fu.{g}.{q}"] for q in ("median", "q1", "q3")]
                       for g in ("overall", *self.arms)], dtype=np.float64)
        i64 = np.int64
        self.C = (self.test.astype(i64), self.arm_of.astype(i64), self.F, self.pday,
                  self.pkind, self.lo_alive.astype(i64), self.arm_idx[0].astype(i64),
                  self.arm_idx[1].astype(i64),
                  np.concatenate([w for w, _ in spots]).astype(i64), off,
                  # the move's day: Python's round (half to even), as the search had it
                  np.array([int(round(at)) for _, at in spots], dtype=i64),
                  np.array([se_window(t["os.hr"], t["os.hr_upper_1s"], Z90, 1.0)]), fu)
        for a, arm in enumerate(self.arms):
            keys = [f"os.{arm}.{s}" for s in ("median", "lcl", "ucl")]
            self.add_compiled(f"os_km_{a}", keys, keys)
            keys = [f"fu.{arm}.{s}" for s in ("median", "q1", "q3")]
            self.add_compiled(f"fu_{a}", keys, keys)
        keys = [f"fu.overall.{s}" for s in ("median", "q1", "q3")]
        self.add_compiled("fu_all", keys, keys)
        self.add_compiled("fu_p", ["fu.p"], ["fu.p"])
        self.add_compiled("os_cox", ["os.hr", "os.hr_upper_1s", "os.p_1s"],
                          [*(f"os.{s}" for s in ("hr", "hr_upper_1s", "hr_lcl", "hr_ucl",
                                                 "se")), "os.p_1s"])
        self.build()

    def ok(self, i: int) -> bool:
        """Patient ``i`` obeys the OS rules."""
        return bool(_ok(self.S, self.C, i))

    def state(self) -> OsState:
        """The current OS outcomes."""
        A = self.arrays
        return OsState(death=A["death"].astype(bool), day=A["day"].copy(),
                       lost=A["lost"].astype(bool))


def os_targets(cal: dict, arms: tuple[str, str]) -> Targets:
    """The OS and follow-up calibration targets."""
    t = Targets()
    t.items.update(median_targets("os", cal.os.median, list(arms)))
    t.items["os.hr"] = tuple(cal.os.hr)
    t.items["os.hr_upper_1s"] = tuple(cal.os.hr_upper_1s)
    t.items["os.p_1s"] = tuple(cal.os.p_1s)
    fu = cal.follow_up
    for group in ("overall", *arms):
        med, q1, q3 = fu.overall if group == "overall" else fu.arms[group]
        t.items[f"fu.{group}.median"] = (med, 1)
        t.items[f"fu.{group}.q1"] = (q1, 1)
        t.items[f"fu.{group}.q3"] = (q3, 1)
    t.items["fu.p"] = tuple(fu.p)
    return t


def calibrate_os(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame, pfs: PfsState,
                 os_state: OsState, max_steps: int = 150000) -> tuple[OsState, dict]:
    """Move deaths, death days and last contacts until the OS and follow-up targets hold.

    Parameters
    ----------
    rng : numpy.random.Generator
        The study's generator.
    cfg : SimulationConfig
        The simulation spec.
    df : pandas.DataFrame
        ITT patients with ``arm`` and ``F``.
    pfs : PfsState
        The calibrated PFS outcomes (fixed here).
    os_state : OsState
        The generated OS outcomes (see :func:`draw_os`).
    max_steps : int
        Budget of proposals.

    Returns
    -------
    tuple
        The calibrated state and a report (``loss``, ``steps``, ``seconds``, ``misses``,
        ``values``, ``stages``).
    """
    t0 = time.perf_counter()
    arms = tuple(cfg.arms)
    prob = OsProblem(cfg, df, pfs, os_state, os_targets(cfg.calibration, arms))
    bad = [i for i in range(len(df)) if not prob.ok(i)]
    if bad:
        raise RuntimeError(f"generated OS outcomes break the rules for {len(bad)} patients "
                           f"(rows {bad[:5]})")
    prob.set_active(None)
    stages: list[dict] = []
    used = 0
    tries = 0
    while prob.loss > 0 and used < max_steps:
        tries += 1
        if tries > 1:
            prob.set_widen(10.0, {"os.hr": 200.0, "os.hr_upper_1s": 200.0})
            used += run_stage(prob, rng, "os.shake", min(1000, max_steps - used), stages,
                           t_start=1.0, t_end=1.0, keep_best=False).steps
        used += coarse_to_fine(prob, rng, f"os.{tries}", ["os.p_1s", "fu.p"],
                          ["os.hr", "os.hr_upper_1s"], min(30000, max_steps - used), stages,
                          2000, 0.5)
    prob.set_widen(1.0)
    values = prob.values()
    report = {"loss": prob.loss, "steps": used, "seconds": time.perf_counter() - t0,
              "misses": prob.targets.misses(values), "values": values, "stages": stages}
    return prob.state(), report
