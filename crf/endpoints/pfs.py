"""Progression-free survival, best response and duration of response.

:func:`draw_best_response` and :func:`draw_pfs` generate the outcomes from visit-aware
processes (the rules are in :mod:`crf.endpoints.shared`); :class:`PfsProblem` is the
calibration's search problem, its moves and statistics compiled (:mod:`crf.kernels`);
:func:`calibrate_pfs` runs its stages until the PFS, T-DM1-subgroup and DoR targets hold.
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
    B_CR,
    B_MISSING,
    B_NE,
    B_NN,
    B_PD,
    B_PR,
    B_SD,
    BORS,
    CENS,
    CLIN,
    DEATH,
    K_CENS,
    K_CLIN,
    K_DEATH,
    K_RECIST,
    KINDS,
    RECIST,
    WINDOW,
    PfsState,
    coarse_to_fine,
    run_stage,
)
from crf.fastsurv import Z90, cox_fit, event_set
from crf.schedule import tumour_nominal_days


def draw_best_response(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame,
                       factor: float) -> np.ndarray:
    """Best overall response: exact counts in measurable disease, drawn otherwise."""
    bor = np.empty(len(df), dtype=object)
    for a, arm in enumerate(cfg.arms):
        sel = (df["arm"] == arm).to_numpy()
        meas = sel & df["measurable"].to_numpy()
        counts = {k: scale_counts([v[a]], factor)[0] for k, v in cfg.response.counts().items()
                  if k in ("CR", "PR", "SD", "PD", "NE", "MISSING")}
        idx = rng.permutation(np.flatnonzero(meas))
        labels = np.concatenate([[k] * v for k, v in counts.items()])
        labels = np.resize(labels, idx.size) if labels.size != idx.size else labels
        bor[idx] = labels
        non = np.flatnonzero(sel & ~df["measurable"].to_numpy())
        bor[non] = rng.choice(np.array(["NON-CR/NON-PD", "PD", "NE", "MISSING"], dtype=object),
                              size=non.size, p=[0.76, 0.18, 0.03, 0.03])
    return bor


def draw_pfs(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame, bor: np.ndarray,
             factor: float) -> PfsState:
    """Initial PFS kinds and times, consistent with best response and follow-up.

    Non-responders progress at a latent time drawn from the arm's PFS distribution
    (exponential with the published median, a starting point); responders respond at
    the first or second assessment and their response then lasts a latent time from the
    arm's duration-of-response distribution (Weibull with a falling hazard and the
    published median), so that long responses exist in both arms.
    Responders whose response outlasts the follow-up are the ones censored for PFS
    (ongoing at the cut-off); RECIST progression is placed at the assessment nearest to
    the latent time.
    """
    n = len(df)
    arms = list(cfg.arms)
    arm_of = np.array([arms.index(a) for a in df["arm"]])
    F = df["F"].to_numpy()
    nominal = tumour_nominal_days(cfg, int(F.max()))
    nv = nominal.size
    # sites book scans on the scheduled day more often than anywhere else in the window
    offsets = np.arange(-WINDOW, WINDOW + 1)
    w = np.exp(-np.abs(offsets) / 0.6)
    jitter = rng.choice(offsets, size=(n, nv), p=w / w.sum())
    p = cfg.pfs
    responders = np.isin(bor, ["PR", "CR"])
    # a third of the responses are first seen at the second assessment
    resp_visit = np.where(responders, (rng.random(n) < 0.35).astype(int), -1)
    rv0 = np.maximum(resp_visit, 0)
    resp_day = np.where(responders, nominal[rv0] + jitter[np.arange(n), rv0], -1)
    pfs_median = np.asarray(p.median_months, dtype=float)[arm_of] * MONTH
    dor_median = np.asarray(cfg.response.dor_median_months, dtype=float)[arm_of] * MONTH
    # responses last a Weibull time with a falling hazard: some responders stay in
    # response for years, in both arms, as with HER2-targeted therapy
    shape = float(cfg.response.dor_weibull_shape)
    dor = dor_median * (rng.exponential(1.0, n) / math.log(2)) ** (1.0 / shape)
    latent = np.where(responders, resp_day + dor, rng.exponential(pfs_median / math.log(2)))

    kind = np.empty(n, dtype=object)
    for a, arm in enumerate(arms):
        sel = (df["arm"] == arm).to_numpy()
        n_arm = int(sel.sum())
        n_ev = min(scale_counts([p.events[a]], factor)[0], n_arm)
        n_clin = scale_counts([p.clinical_progression[a]], factor)[0]
        n_death = scale_counts([p.death_without_progression[a]], factor)[0]
        free = sel.copy()
        # no post-baseline assessment: progression or death before the first visit
        missing = sel & (bor == "MISSING")
        mi = np.flatnonzero(missing)
        kind[mi] = np.where(np.arange(mi.size) % 2 == 0, CLIN, DEATH)
        n_clin -= int((kind[mi] == CLIN).sum())
        n_death -= int((kind[mi] == DEATH).sum())
        free &= ~missing
        pd_first = sel & (bor == "PD")
        kind[pd_first] = RECIST
        free &= ~pd_first
        ne = sel & (bor == "NE")
        ne_clin = choose(rng, ne, min(int(ne.sum()), max(n_clin, 0)))
        kind[ne_clin] = CLIN
        n_clin -= int(ne_clin.sum())
        # not censored: with no adequate scan, PFS would be censored at randomisation,
        # not at the NE scan the search would place it on
        kind[ne & ~ne_clin] = DEATH
        free &= ~ne
        n_events_left = n_ev - int(np.isin(kind[sel & ~free], [RECIST, CLIN, DEATH]).sum())
        # responders censored without progression: those still responding at the cut-off
        n_resp_cens = scale_counts([cfg.response.responders_censored[a]], factor)[0]
        beyond = 1.0 / (1.0 + np.exp(-np.clip((latent - F) / 45.0, -30, 30))) + 0.02
        arm_resp = free & responders
        resp_cens = choose(rng, arm_resp, min(n_resp_cens, int(arm_resp.sum())),
                           weights=beyond)
        kind[resp_cens] = CENS
        kind[arm_resp & ~resp_cens] = RECIST
        n_events_left -= int((arm_resp & ~resp_cens).sum())
        free &= ~arm_resp
        # censored: favour patients with short follow-up (ongoing at the cut-off)
        n_cens = int(free.sum()) - n_events_left
        w = 1.0 / F.astype(float) ** 1.5
        cens = choose(rng, free, min(max(n_cens, 0), int(free.sum())), weights=w)
        kind[cens] = CENS
        free &= ~cens
        clin = choose(rng, free, min(max(n_clin, 0), int(free.sum())))
        kind[clin] = CLIN
        free &= ~clin
        death = choose(rng, free, min(max(n_death, 0), int(free.sum())))
        kind[death] = DEATH
        free &= ~death
        kind[free] = RECIST

    kmax = np.searchsorted(nominal + WINDOW, F, side="right") - 1
    visit = np.full(n, -1)
    day = np.zeros(n, dtype=int)
    for i in range(n):  # per-patient constraint resolution on a handful of scalars
        kmin = _min_visit(bor[i], resp_visit[i], kind[i])
        if kind[i] in (RECIST, CENS):
            if kind[i] == CENS:
                k = max(kmin, kmax[i] - int(rng.integers(0, 2)))
            else:
                k = max(kmin, int(np.argmin(np.abs(nominal - latent[i]))))
            k = max(kmin, min(k, kmax[i])) if kmax[i] >= kmin else kmin
            if bor[i] == "PD":
                k = 0
            visit[i] = k
            day[i] = nominal[k] + jitter[i, k] if k >= 0 else 1
        else:
            lo, hi = _day_bounds(bor[i], kind[i], nominal, jitter[i], resp_day[i], F[i])
            day[i] = int(np.clip(round(latent[i]), lo, hi))
    state = PfsState(kind=kind, visit=visit, day=day, resp_visit=resp_visit,
                     resp_day=resp_day, jitter=jitter)
    _fix_days(state, nominal)
    return state


def _min_visit(bor: str, resp_visit: int, kind: str) -> int:
    if bor == "PD":
        return 0
    if bor == "MISSING":
        return -1
    if bor in ("PR", "CR"):
        return resp_visit + (1 if kind == RECIST else 0)
    if kind == RECIST:
        return 1
    return 0


def _day_bounds(bor: str, kind: str, nominal: np.ndarray, jit: np.ndarray, resp_day: int,
                F: int) -> tuple[int, int]:
    """Allowed study days for a clinical progression or death without progression."""
    first = int(nominal[0] + jit[0])
    if bor == "MISSING":
        return (3, first - 1)
    lo = first + 1
    if bor in ("PR", "CR"):
        lo = int(resp_day) + 1
    return (lo, max(lo, int(F)))


def _fix_days(state: PfsState, nominal: np.ndarray) -> None:
    idx = np.flatnonzero(state.visit >= 0)
    state.day[idx] = nominal[state.visit[idx]] + state.jitter[idx, state.visit[idx]]
    r = np.flatnonzero(state.resp_visit >= 0)
    state.resp_day[r] = nominal[state.resp_visit[r]] + state.jitter[r, state.resp_visit[r]]


def pfs_event(state: PfsState) -> np.ndarray:
    """PFS event indicator (1 = progression or death, 0 = censored)."""
    return (state.kind != CENS).astype(int)


# --------------------------------------------------------------------------- PFS rules


@njit(**K.JIT)
def pfs_consistent(kind: int, bor: int, visit: int, day: int, resp_visit: int,
                   resp_day: int, jit: np.ndarray, F: int, nominal: np.ndarray,
                   sd_min: int) -> bool:
    """Whether one patient's PFS outcome obeys the rules of :mod:`crf.endpoints.shared`.

    Compiled: the search checks every patient a move touches.

    Parameters
    ----------
    kind, bor : int
        Codes of the PFS kind (``KINDS``) and the best response (``BORS``).
    visit, day : int
        Assessment index (RECIST, CENS; -1 otherwise) and study day of the outcome.
    resp_visit, resp_day : int
        First response assessment and its day (-1 when not a responder).
    jit : numpy.ndarray
        The patient's window jitter per assessment (int64).
    F : int
        Last study day before the data cut-off.
    nominal : numpy.ndarray
        Nominal assessment days (int64).
    sd_min : int
        Minimum study day of a stable-disease assessment.

    Returns
    -------
    bool
    """
    first = nominal[0] + jit[0]
    if day > F or day < 1:
        return False
    if kind == K_RECIST or kind == K_CENS:
        if visit < 0 or visit >= nominal.size or day != nominal[visit] + jit[visit]:
            return False
    responder = bor == B_PR or bor == B_CR
    if resp_visit >= 0 and not responder:
        return False
    if bor == B_MISSING:
        return (kind == K_CLIN or kind == K_DEATH) and 3 <= day < first
    if bor == B_PD:
        return kind == K_RECIST and visit == 0
    if bor == B_SD or bor == B_NN:
        if first < sd_min:
            return False
        if kind == K_RECIST:
            return visit >= 1
        return kind == K_CENS or day > first
    if bor == B_NE:
        # censoring needs an adequate (not NE) scan, which these patients never have
        return kind != K_RECIST and kind != K_CENS and day > first
    if responder:
        if (resp_visit != 0 and resp_visit != 1) or resp_day != (nominal[resp_visit]
                                                                 + jit[resp_visit]):
            return False
        if kind == K_RECIST:
            return visit > resp_visit
        if kind == K_CENS:
            return visit >= resp_visit
        return day > resp_day
    return True


# --------------------------------------------------------------------------- PFS stage


SUBGROUPS = ("age65", "ecog0", "er_pos", "visceral", "nreg3", "pert_short", "pert_second",
             "tdm1_latest", "measurable")
_DERIVED = {"age65": ("age", lambda x: x >= 65), "ecog0": ("ecog", lambda x: x == 0),
            "nreg3": ("nreg", lambda x: x >= 3), "pert_second": ("pert_line", lambda x: x == 2)}
# The search asks each subgroup's first Newton step log HR to be below -0.01: the exact
# HR then prints below 1.00 with room to spare (checked exactly in the report).
SUB_MARGIN = 0.01
# crf.treatment: censored for PFS this close to the cut-off means still on treatment
ONGOING_DAYS = 75
# cycles are 21 days; some are a week late (about one in six, 5.5 % on average): 6 % room
EXPOSURE_DELAY_ROOM = 1.06
# patients long enough on treatment for the published maximum number of cycles per arm
# (crf.treatment should spare her the adverse-event stops)
EXPOSURE_CANDIDATES = 1


def subgroup_flags(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The prespecified PFS subgroups (one level each; the other is its complement)."""
    out = {}
    for g in SUBGROUPS:
        if g in df:
            out[g] = df[g].to_numpy().astype(bool)
        else:
            col, rule = _DERIVED[g]
            out[g] = rule(df[col].to_numpy())
    return out



# ------------------------------------------------------------------------- kernels
# S rows (J is the window jitter, patients x assessments):
KIND, BOR, VISIT, DAY, RV, RDAY, EVENT = range(7)
FIELDS = ("kind", "bor", "visit", "day", "rv", "rday", "event")
# C: constants, by position
(C_TEST, C_ARM, C_STRATA, C_TDM1, C_MEAS, C_F, C_NOMINAL, C_KMAX, C_MEMBERS, C_SIG,
 C_ARM0, C_ARM1, C_TDM1_0, C_TDM1_1, C_MATES, C_MATES_OFF, C_STRATUM, C_STRATUM_OFF,
 C_TREATED0, C_TREATED1, C_HORIZON, C_GUIDES, C_POOL) = range(23)
# M: mode parameters
M_MODE, M_SWAP, M_RESP, M_PLACE, M_POOL, M_SD_MIN = range(6)
MODE_ALL, MODE_NONRESP, MODE_KM, MODE_DOR, MODE_DORSWAP, MODE_DORMIX = range(6)
# components, in the order they are evaluated (bit = index); guides: dor, dors, itt, tdm1
(DOR_KM0, DOR_KM1, ITT_KM0, ITT_KM1, TDM1_KM0, TDM1_KM1, DOR_COX, DOR_SCOX, ITT_COX, ITT_LR,
 TDM1_COX, SUB, EXPOSURE) = range(13)


@njit(**K.JIT)
def _compute(c, S, J, C, out, W):
    day = S[DAY].astype(np.float64)
    ev, rv = S[EVENT], S[RV]
    test, strata = C[C_TEST], C[C_STRATA]
    beta = W[2]
    if c == DOR_KM0 or c == DOR_KM1:
        idx = C[C_ARM0] if c == DOR_KM0 else C[C_ARM1]
        ii = idx[rv[idx] >= 0]
        t = day[ii] - S[RDAY][ii] + 1.0
        K.km_months(t, ev[ii], K.order_of(W, c, t), out, 1)
    elif c == ITT_KM0 or c == ITT_KM1 or c == TDM1_KM0 or c == TDM1_KM1:
        if c == ITT_KM0:
            idx = C[C_ARM0]
        elif c == ITT_KM1:
            idx = C[C_ARM1]
        elif c == TDM1_KM0:
            idx = C[C_TDM1_0]
        else:
            idx = C[C_TDM1_1]
        t = day[idx]
        K.km_months(t, ev[idx], K.order_of(W, c, t), out, 1)
    elif c == DOR_COX or c == DOR_SCOX:
        r = rv >= 0
        stratified = c == DOR_SCOX
        key = K.sort_key(day[r] - S[RDAY][r] + 1.0, strata[r], stratified)
        n, n1, _, x = K.event_set_sorted(key, ev[r], test[r], K.order_of(W, c, key),
                                         stratified)
        beta[c] = K.cox_values(n, n1, x, beta[c], C[C_GUIDES][c - DOR_COX], out, 1)
    elif c == ITT_COX:
        n, n1, _, x = K.event_set_sorted(day, ev, test, K.order_of(W, c, day), False)
        beta[c] = K.cox_values(n, n1, x, beta[c], C[C_GUIDES][2], out, 1)
    elif c == ITT_LR:
        key = K.sort_key(day, strata, True)
        n, n1, d, x = K.event_set_sorted(key, ev, test, K.order_of(W, c, key), True)
        z = K.logrank_stat(n, n1, d, x)
        out[1] = K.ndtr(z)
        out[2] = z
    elif c == TDM1_COX:
        m = C[C_TDM1] == 1
        t = day[m]
        n, n1, d, x = K.event_set_sorted(t, ev[m], test[m], K.order_of(W, c, t), False)
        beta[c] = K.cox_values(n, n1, x, beta[c], C[C_GUIDES][3], out, 1)
        out[6] = K.ndtr(K.logrank_stat(n, n1, d, x))
    elif c == SUB:
        score, info = K.group_scores_sorted(day, ev, test, C[C_MEMBERS],
                                            K.order_of(W, c, day))
        excess = np.empty(score.size)
        n_bad = 0
        for g in range(score.size):
            e = (score[g] / info[g] if info[g] > 0 else 1.0) + SUB_MARGIN
            if e > 0:
                excess[n_bad] = e
                n_bad += 1
        out[0] = n_bad + 10.0 * K.psum(excess[:n_bad])
        out[1] = float(n_bad)
    else:
        # as crf.treatment reads PFS: a patient censored near the cut-off is still on
        # treatment, anyone else stops on her PFS day
        F = C[C_F]
        horizon = np.where((ev == 0) & (S[DAY] >= F - ONGOING_DAYS), F + 1, S[DAY])
        pen = 0.0
        for a in range(2):
            h = horizon[C[C_TREATED0] if a == 0 else C[C_TREATED1]]
            if EXPOSURE_CANDIDATES == 1:
                h = h[np.argmax(h):][:1] if h.size else h   # only the longest matters
            else:
                h = np.sort(h)
            n_short = 0
            total = 0
            for k in range(min(EXPOSURE_CANDIDATES, h.size)):
                short = C[C_HORIZON][a] - h[h.size - 1 - k]
                if short > 0:
                    n_short += 1
                    total += short
            pen += float(n_short) + float(total) / 100.0
        out[0] = pen
        out[1] = pen


@njit(**K.JIT)
def _ok(S, J, C, M, i):
    return pfs_consistent(S[KIND, i], S[BOR, i], S[VISIT, i], S[DAY, i], S[RV, i],
                          S[RDAY, i], J[i], C[C_F][i], C[C_NOMINAL], int(M[M_SD_MIN]))


@njit(**K.JIT)
def _dirty_single(S, C, i, old_day, old_rday):
    a = C[C_ARM][i]
    dirty = 0
    moved = S[DAY, i] != old_day
    if moved:
        dirty |= ((1 << (ITT_KM0 + a)) | (1 << ITT_COX) | (1 << ITT_LR) | (1 << SUB)
                  | (1 << EXPOSURE))
        if C[C_TDM1][i]:
            dirty |= (1 << (TDM1_KM0 + a)) | (1 << TDM1_COX)
    if S[RV, i] >= 0 and (moved or S[RDAY, i] != old_rday):
        dirty |= (1 << (DOR_KM0 + a)) | (1 << DOR_COX) | (1 << DOR_SCOX)
    return dirty


@njit(**K.JIT)
def _responders(S):
    out = np.empty(S.shape[1], dtype=np.int64)
    m = 0
    for i in range(S.shape[1]):
        if S[RV, i] >= 0:
            out[m] = i
            m += 1
    return out[:m]


@njit(**K.JIT)
def _swap(S, J, C, M, W, rng, i):
    """Two patients of one arm and the same measurability exchange outcomes."""
    mode = int(M[M_MODE])
    strata = C[C_STRATA]
    g = C[C_ARM][i] * 2 + C[C_MEAS][i]
    mates = C[C_MATES][C[C_MATES_OFF][g]: C[C_MATES_OFF][g + 1]]
    if mode == MODE_DORSWAP or mode == MODE_DORMIX:
        # only who is in which stratum matters here
        mates = mates[strata[mates] != strata[i]]
    if mates.size and rng.random() < 0.5:
        # a near-swap: the mate's outcome is like this one's, so only the few
        # comparisons between the two times change
        if S[RV, i] >= 0:
            mates = mates[S[RV][mates] >= 0]
            t = S[DAY][mates] - S[RDAY][mates]
            t_i = S[DAY, i] - S[RDAY, i]
        else:
            mates = mates[S[RV][mates] < 0]
            t = S[DAY][mates]
            t_i = S[DAY, i]
        if mates.size > 4:
            mates = mates[np.argsort(np.abs(t - t_i), kind="mergesort")[:4]]
    if mates.size == 0:
        return -1
    j = mates[rng.integers(0, mates.size)]
    if j == i or (M[M_POOL] > 0 and mode != MODE_ALL and S[RV, j] >= 0):
        return -1
    W[7][1] = j
    for f in range(7):
        vi, vj = S[f, i], S[f, j]
        if vi != vj:
            K.put(S, W, f, i, vj)
            K.put(S, W, f, j, vi)
    for k in range(J.shape[1]):
        ji, jj = J[i, k], J[j, k]
        K.put_j(J, W, i, k, jj)
        K.put_j(J, W, j, k, ji)
    if not (_ok(S, J, C, M, i) and _ok(S, J, C, M, j)):
        return -1
    # the arm keeps its outcomes, so only what depends on who has which changes
    dirty = 0
    a = C[C_ARM][i]
    if strata[i] != strata[j]:
        dirty |= 1 << ITT_LR
        if S[RV, i] >= 0 or S[RV, j] >= 0:
            dirty |= 1 << DOR_SCOX
    if C[C_TDM1][i] != C[C_TDM1][j]:
        dirty |= (1 << (TDM1_KM0 + a)) | (1 << TDM1_COX)
    if C[C_SIG][i] != C[C_SIG][j]:
        dirty |= 1 << SUB
    if C[C_F][i] != C[C_F][j]:
        dirty |= 1 << EXPOSURE
    return dirty


@njit(**K.JIT)
def _place_day(S, J, C, M, W, i, day):
    """Move patient ``i``'s PFS outcome to study ``day``; -1 when not allowed."""
    nominal = C[C_NOMINAL]
    old_day, old_rday = S[DAY, i], S[RDAY, i]
    if day == old_day:
        return -1
    if S[KIND, i] == K_RECIST or S[KIND, i] == K_CENS:
        k = np.searchsorted(nominal, day - WINDOW)
        if k >= nominal.size or abs(day - nominal[k]) > WINDOW:
            return -1
        if k > C[C_KMAX][i]:
            return -1
        K.put_j(J, W, i, k, day - nominal[k])
        K.put(S, W, VISIT, i, k)
        if S[RV, i] == k:
            K.put(S, W, RDAY, i, day)
    K.put(S, W, DAY, i, day)
    if not _ok(S, J, C, M, i):
        return -1
    return _dirty_single(S, C, i, old_day, old_rday)


@njit(**K.JIT)
def _place(S, J, C, M, W, rng, i):
    """Put a time right beside (or on) another patient's: the smallest change of ranks."""
    delta = rng.integers(-1, 2)
    if M[M_POOL] == 0:
        resp = _responders(S)
        j = resp[rng.integers(0, resp.size)]
        day = (S[DAY, j] - S[RDAY, j]) + delta + S[RDAY, i]
    else:
        j = rng.integers(0, S.shape[1])
        day = S[DAY, j] + delta
    if j == i:
        return -1
    return _place_day(S, J, C, M, W, i, day)


@njit(**K.JIT)
def _step(rng):
    step = rng.integers(1, 4)
    return step * (1 if rng.random() < 0.5 else -1)


@njit(**K.JIT)
def _respond(S, J, C, M, W, rng, i):
    """A responder's first response at another assessment or another day."""
    if S[RV, i] < 0:
        return -1
    old_day, old_rday = S[DAY, i], S[RDAY, i]
    if rng.random() < 0.5:
        rv = rng.integers(0, 2)
        jv = rng.integers(-WINDOW, WINDOW + 1)
    else:
        rv = S[RV, i]
        jv = min(WINDOW, max(-WINDOW, J[i, rv] + _step(rng)))
    K.put_j(J, W, i, rv, jv)
    K.put(S, W, RV, i, rv)
    K.put(S, W, RDAY, i, C[C_NOMINAL][rv] + jv)
    if (S[KIND, i] == K_RECIST or S[KIND, i] == K_CENS) and S[VISIT, i] == rv:
        K.put(S, W, DAY, i, S[RDAY, i])
    if not _ok(S, J, C, M, i):
        return -1
    return _dirty_single(S, C, i, old_day, old_rday)


@njit(**K.JIT)
def _visit(S, J, C, M, W, rng, i):
    """A progression or censoring found at another assessment, or another day of it."""
    nominal, kmax = C[C_NOMINAL], C[C_KMAX]
    mode = int(M[M_MODE])
    old_day, old_rday = S[DAY, i], S[RDAY, i]
    k = S[VISIT, i]
    r = rng.random()
    if r < 0.15:
        # scans in one stratum on the same day: ties, as real schedules make them
        s = int(C[C_STRATA][i])
        mates = C[C_STRATUM][C[C_STRATUM_OFF][s]: C[C_STRATUM_OFF][s + 1]]
        j = mates[rng.integers(0, mates.size)]
        if j == i or S[VISIT, j] < 0:
            return -1
        k = S[VISIT, j]
        K.put_j(J, W, i, k, J[j, k])
    elif r < 0.4:
        k += 1 if rng.random() < 0.5 else -1
    elif r < 0.5:
        # within the first two years, where most events are; for non-responders in the
        # last stages sometimes up to the cut-off
        top = min(kmax[i], 14)
        if (mode == MODE_NONRESP or mode == MODE_ALL) and rng.random() < 0.5:
            top = kmax[i]
        k = rng.integers(0, max(1, top) + 1)
    elif 0 <= k < nominal.size:
        K.put_j(J, W, i, k, min(WINDOW, max(-WINDOW, J[i, k] + _step(rng))))
    if k < 0 or k >= nominal.size or k > kmax[i]:
        return -1
    K.put(S, W, VISIT, i, k)
    K.put(S, W, DAY, i, nominal[k] + J[i, k])
    if S[RV, i] == k:
        K.put(S, W, RDAY, i, S[DAY, i])
    if not _ok(S, J, C, M, i):
        return -1
    return _dirty_single(S, C, i, old_day, old_rday)


@njit(**K.JIT)
def _day(S, J, C, M, W, rng, i):
    """A clinical progression or death without progression on another day."""
    old_day = S[DAY, i]
    r = rng.random()
    if r < 0.2:
        new = rng.integers(3, min(C[C_F][i], 700) + 1)
    else:
        step = rng.integers(1, 21 if r < 0.6 else 4)
        new = old_day + (step if rng.random() < 0.5 else -step)
    K.put(S, W, DAY, i, new)
    if not _ok(S, J, C, M, i):
        return -1
    return _dirty_single(S, C, i, old_day, S[RDAY, i])


@njit(**K.JIT)
def _move(S, J, C, M, W, rng):
    if M[M_POOL] > 0:
        pool = C[C_POOL]
    else:
        pool = _responders(S)
    i = pool[rng.integers(0, pool.size)]
    p_swap, p_resp, p_place = M[M_SWAP], M[M_RESP], M[M_PLACE]
    r = rng.random()
    if r < p_swap:
        if int(M[M_MODE]) == MODE_DOR and rng.random() < 0.5:
            # hand a responder's outcome to an arm mate, then re-time it there: the
            # mate's follow-up may allow a duration the first patient's could not
            dirty = _swap(S, J, C, M, W, rng, i)
            if dirty < 0:
                return -1
            j = W[7][1]
            if S[RV, i] >= 0 and S[RV, j] >= 0:
                k = i if rng.integers(0, 2) == 0 else j
            elif S[RV, i] >= 0:
                rng.integers(0, 1)
                k = i
            else:
                rng.integers(0, 1)
                k = j
            more = _place(S, J, C, M, W, rng, k)
            if more < 0:
                return -1
            return dirty | more
        return _swap(S, J, C, M, W, rng, i)
    r -= p_swap
    if r < p_resp:
        return _respond(S, J, C, M, W, rng, i)
    r -= p_resp
    if r < p_place:
        return _place(S, J, C, M, W, rng, i)
    if S[KIND, i] == K_RECIST or S[KIND, i] == K_CENS:
        return _visit(S, J, C, M, W, rng, i)
    return _day(S, J, C, M, W, rng, i)


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


class PfsProblem(CompiledProblem):
    """PFS, PFS in the T-DM1-latest subgroup and duration of response, searched together.

    The state is one row per ITT patient (integer codes), changed in place; every move
    checks the patients it touches against :func:`pfs_consistent` and is undone when one
    breaks a rule. A move names the components (one arm's Kaplan-Meier targets, one Cox
    model, the subgroups) its change can affect, and only those are recomputed: an
    exchange of outcomes between two patients of one arm leaves that arm's curve and the
    unstratified Cox model alone, a non-responder's move leaves the duration of response
    alone. ``mode`` restricts the moves for a stage (see :meth:`set_mode`).
    """

    kernels = Kernels(_search, _refresh, _propose, _evaluate)

    def __init__(self, cfg: SimulationConfig, df: pd.DataFrame, bor: np.ndarray, state: PfsState,
                 targets: Targets) -> None:
        S = np.array([[KINDS.index(k) for k in state.kind],
                      [BORS.index(b) for b in bor],
                      np.asarray(state.visit, dtype=np.int64),
                      np.asarray(state.day, dtype=np.int64),
                      np.asarray(state.resp_visit, dtype=np.int64),
                      np.asarray(state.resp_day, dtype=np.int64),
                      [k != CENS for k in state.kind]], dtype=np.int64)
        super().__init__(targets, FIELDS, S, np.asarray(state.jitter, dtype=np.int64))
        self.arrays["jit"] = self.J
        self.arms = tuple(cfg.arms)
        self.test = (df["arm"] == self.arms[0]).to_numpy()
        self.arm_of = np.where(self.test, 0, 1)
        self.strata = df["stratum"].to_numpy().astype(np.int64)
        self.tdm1 = df["tdm1_latest"].to_numpy().astype(bool)
        self.meas = df["measurable"].to_numpy().astype(bool)
        self.F = df["F"].to_numpy().astype(np.int64)
        self.nominal = tumour_nominal_days(cfg, int(self.F.max()))[: state.jitter.shape[1]]
        self.kmax = np.searchsorted(self.nominal - WINDOW, self.F, side="right") - 1
        self.sd_min = int(cfg.schedule.sd_minimum_days)
        flags = subgroup_flags(df)
        self.sub_names = [f"{g}={lv}" for g in SUBGROUPS for lv in (1, 0)]
        self.members = np.array([m for g in SUBGROUPS for m in (flags[g], ~flags[g])])
        self.sub_sig = (self.members[::2].T * (1 << np.arange(len(SUBGROUPS)))).sum(axis=1)
        self.arm_idx = [np.flatnonzero(self.test), np.flatnonzero(~self.test)]
        mates = [np.flatnonzero((self.arm_of == a) & (self.meas == m))
                 for a in (0, 1) for m in (False, True)]
        strata_idx = [np.flatnonzero(self.strata == s) for s in range(self.strata.max() + 1)]
        # Treatment runs to progression (or past the cut-off when ongoing), so the
        # published maximum number of cycles per arm needs patients progression-free
        # that long: the latest first dose, plus the cycles with room for week delays.
        treated = (df["treated"].to_numpy().astype(bool) if "treated" in df
                   else np.ones(len(df), dtype=bool))
        treated_idx = [idx[treated[idx]] for idx in self.arm_idx]
        ex = cfg.exposure.cycles.max
        first = int(cfg.enrolment.randomisation_to_first_dose_days[1]) + 1
        cycle = int(cfg.schedule.cycle_days)
        self.horizon = [first + int(math.ceil((m - 1) * cycle * EXPOSURE_DELAY_ROOM))
                        for m in ex]
        t = targets.items
        guides = np.array([[se_window(t[f"{p}.hr"], t[f"{p}.hr_upper_1s"], Z90, 1.0)]
                           for p in ("dor", "dors", "itt", "tdm1")])
        i64 = np.int64
        self._const = [
            self.test.astype(i64), self.arm_of.astype(i64), self.strata.astype(np.float64),
            self.tdm1.astype(i64), self.meas.astype(i64), self.F, self.nominal.astype(i64),
            self.kmax.astype(i64), self.members.astype(np.bool_), self.sub_sig.astype(i64),
            self.arm_idx[0].astype(i64), self.arm_idx[1].astype(i64),
            *(idx[self.tdm1[idx]].astype(i64) for idx in self.arm_idx),
            *_csr(mates), *_csr(strata_idx), treated_idx[0].astype(i64),
            treated_idx[1].astype(i64), np.array(self.horizon, dtype=i64), guides,
            np.zeros(0, dtype=i64)]
        self.M = np.zeros(6)
        self.M[M_SD_MIN] = self.sd_min
        self._register()
        self.build()
        self.set_mode("all")

    def _register(self) -> None:
        s3 = ("median", "lcl", "ucl")
        for a, arm in enumerate(self.arms):
            self.add_compiled(f"dor_km_{a}", [f"dor.{arm}.median", f"dor.{arm}.ucl"],
                              [f"dor.{arm}.{s}" for s in s3])
        for prefix in ("itt", "tdm1"):
            for a, arm in enumerate(self.arms):
                keys = [f"{prefix}.{arm}.{s}" for s in s3]
                self.add_compiled(f"{prefix}_km_{a}", keys, keys)
        cox = ("hr", "hr_upper_1s", "hr_lcl", "hr_ucl", "se")
        self.add_compiled("dor_cox", ["dor.hr", "dor.hr_upper_1s"], [f"dor.{s}" for s in cox])
        self.add_compiled("dor_scox", ["dors.hr", "dors.hr_upper_1s"],
                          [f"dors.{s}" for s in cox])
        self.add_compiled("itt_cox", ["itt.hr", "itt.hr_upper_1s"], [f"itt.{s}" for s in cox])
        # The published HR 0.76 (upper 0.967) implies se ~0.146, the floor 2/sqrt(184)
        # for 184 events: only a Cox model without strata gets there (16 strata give
        # ~0.16). The p value is the stratified log-rank test, as published.
        self.add_compiled("itt_lr", ["itt.p_1s"], ["itt.p_1s", "itt.logrank_z"])
        self.add_compiled("tdm1_cox", ["tdm1.hr", "tdm1.hr_upper_1s", "tdm1.p_1s"],
                          [*(f"tdm1.{s}" for s in cox), "tdm1.p_1s"])
        self.add_compiled("sub", [], ["sub.violations"])
        self.add_compiled("exposure", [], ["exposure.short"])

    # -- moves ---------------------------------------------------------------------
    def set_mode(self, mode: str | tuple[str, int]) -> None:
        """Restrict the moves (see the class docstring) and set their mixture.

        Modes: ``"dor"`` responders' own times (the duration-of-response times change),
        ``"dorswap"`` responders exchange outcomes with patients of their arm in other
        strata (only who has which duration changes, i.e. the stratified analysis),
        ``"dormix"`` mostly such exchanges and some of the responders' own times,
        ``("km", arm)`` and ``"nonresp"`` non-responders only (one arm, or both),
        ``"all"`` anyone.
        """
        self.mode = mode
        nonresp = self.arrays["rv"] < 0
        # shares of (swap, response, placement) moves; the rest move one time
        pool: np.ndarray | None
        if mode == "dor":
            code, pool, self.mix = MODE_DOR, None, (0.1, 0.25, 0.3)
        elif mode == "dorswap":
            code, pool, self.mix = MODE_DORSWAP, None, (1.0, 0.0, 0.0)
        elif mode == "dormix":
            code, pool, self.mix = MODE_DORMIX, None, (0.7, 0.05, 0.15)
        elif mode == "all":
            code, pool, self.mix = MODE_ALL, np.arange(self.test.size), (0.3, 0.05, 0.2)
        elif mode == "nonresp":
            code, pool, self.mix = MODE_NONRESP, np.flatnonzero(nonresp), (0.3, 0.0, 0.2)
        else:
            a = mode[1]
            code, pool = MODE_KM, self.arm_idx[a][nonresp[self.arm_idx[a]]]
            self.mix = (0.15, 0.0, 0.2)
        self.pool = pool
        self.M[M_MODE] = code
        self.M[[M_SWAP, M_RESP, M_PLACE]] = self.mix
        self.M[M_POOL] = 0.0 if pool is None else 1.0
        self._const[C_POOL] = (np.zeros(0, dtype=np.int64) if pool is None
                               else pool.astype(np.int64))
        self.C = tuple(self._const)

    def ok(self, i: int) -> bool:
        """Patient ``i`` obeys the rules."""
        return bool(_ok(self.S, self.J, self.C, self.M, i))

    def place_day(self, i: int, day: int) -> set[str] | None:
        """Move patient ``i``'s PFS outcome to study ``day`` (on the assessment whose
        window holds it, for RECIST progression and censoring); None when not allowed
        (the attempt stays in the undo log, as a move's would)."""
        dirty = int(_place_day(self.S, self.J, self.C, self.M, self.W, i, day))
        if dirty < 0:
            return None
        return {n for c, n in enumerate(self.order) if (dirty >> c) & 1}

    # -- output --------------------------------------------------------------------
    def inconsistent(self) -> list[int]:
        """Patients breaking a rule (none, after generation and after every move)."""
        return [i for i in range(self.test.size) if not self.ok(i)]

    def state(self) -> tuple[PfsState, np.ndarray]:
        """The PFS state and best responses as string labels."""
        A = self.arrays
        kind = np.array([KINDS[k] for k in A["kind"]], dtype=object)
        bor = np.array([BORS[b] for b in A["bor"]], dtype=object)
        return PfsState(kind=kind, visit=A["visit"].copy(), day=A["day"].copy(),
                        resp_visit=A["rv"].copy(), resp_day=A["rday"].copy(),
                        jitter=A["jit"].copy()), bor

    def subgroup_hrs(self) -> dict[str, float]:
        """Exact (Newton) unstratified Cox HR of every subgroup level."""
        A = self.arrays
        out = {}
        for name, m in zip(self.sub_names, self.members, strict=True):
            b, _ = cox_fit(event_set(A["day"][m], A["event"][m], self.test[m]))
            out[name] = math.exp(b) if math.isfinite(b) else math.nan
        return out


def calibrate_pfs(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame,
                  bor: np.ndarray, state: PfsState, max_steps: int = 250000
                  ) -> tuple[PfsState, np.ndarray, dict]:
    """Move PFS and response outcomes until the PFS, T-DM1-subgroup and DoR targets hold.

    Parameters
    ----------
    rng : numpy.random.Generator
        The study's generator (the search's only source of randomness).
    cfg : SimulationConfig
        The simulation spec.
    df : pandas.DataFrame
        ITT patients: arm, stratum, tdm1_latest, measurable, F and the subgroup columns.
    bor : numpy.ndarray
        Best overall responses.
    state : PfsState
        The generated PFS outcomes.
    max_steps : int
        Budget of proposals over all stages.

    Returns
    -------
    tuple
        The calibrated state, the best responses (outcomes move between patients of one
        arm with the same measurability, and the best response moves with them) and a
        report: ``loss``, ``steps``, ``seconds``, ``misses`` (stat -> (value, target)),
        ``values``, ``subgroup_hr`` and one entry per search stage in ``stages``.

    Notes
    -----
    The stages, each from coarse to printed precision (:data:`CONTINUATION`):

    1. responders' own times: duration-of-response medians, limits and unstratified
       hazard ratio;
    2. responders exchanging outcomes with arm mates in other strata: the stratified DoR
       hazard ratio (only who has which duration changes, so stage 1's targets stay
       met); every other try also moves responders' own times, since some sets of
       durations admit no assignment to strata that meets the stratified targets;
    3. per arm, non-responders: the Kaplan-Meier targets (ITT, T-DM1 subgroup);
    4. non-responders of both arms: everything (DoR stays met, as responders no longer
       move).

    The first stage whose targets are not met runs next, so a later stage never works on
    top of an unmet earlier one; a stage that fails is retried after a short hot random
    walk, within the budget.
    """
    t0 = time.perf_counter()
    arms = tuple(cfg.arms)
    prob = PfsProblem(cfg, df, bor, state, pfs_targets(cfg.calibration, arms))
    bad = prob.inconsistent()
    if bad:
        raise RuntimeError(f"generated PFS outcomes break the rules for {len(bad)} patients "
                           f"(rows {bad[:5]})")
    stages: list[dict] = []
    used = 0
    dor_a = {"dor_km_0", "dor_km_1", "dor_cox"}
    dor_km = [f"dor.{arm}.{s}" for arm in arms for s in ("median", "ucl")]
    # name: moves, components, widened keys, loosened hazard ratios, steps of one try,
    # patience per level, walking temperature
    plan = {"dor": ("dor", dor_a, dor_km, ["dor.hr", "dor.hr_upper_1s"], 25000, 3000, 0.3),
            "dors": ("dorswap", dor_a | {"dor_scox"}, [], ["dors.hr", "dors.hr_upper_1s"],
                     12000, 1000, 1.0)}
    for a, arm in enumerate(arms):
        plan[f"km.{arm}"] = (("km", a), {f"itt_km_{a}", f"tdm1_km_{a}"}, [], [], 8000, 2000,
                             0.3)
    plan["all"] = ("nonresp", None, ["itt.p_1s", "tdm1.p_1s"],
                   ["itt.hr", "itt.hr_upper_1s", "tdm1.hr", "tdm1.hr_upper_1s"], 40000, 3000,
                   0.2)
    order = list(plan)
    tries = dict.fromkeys(order, 0)
    shaken = False
    # The first stage whose targets are not met runs next; a stage that fails is shaken
    # (a short hot walk) before its next try, and a stratified-DoR stage that fails twice
    # sends the search back to the responders' own times.
    while used < max_steps:
        todo = None
        for name in order:
            mode, active, *_ = plan[name]
            prob.set_mode(mode)
            prob.set_active(active)
            prob.set_widen(1.0)
            if prob.loss > 0:
                todo = name
                break
        if todo is None:
            break
        mode, active, widen_keys, hr_keys, try_steps, patience, t_walk = plan[todo]
        tries[todo] += 1
        if todo == "dors" and tries[todo] % 2 == 0:
            # every other try, responders' own times move too: some durations admit no
            # stratum assignment that meets the stratified targets
            mode, t_walk = "dormix", 0.5
        if tries[todo] > 1 and not shaken:
            shake = todo if not (todo == "dors" and tries[todo] % 4 == 1) else "dor"
            s_mode, s_active, *_ = plan[shake]
            prob.set_mode(s_mode)
            prob.set_active(s_active)
            prob.set_widen(10.0, {k: 200.0 for k in plan[shake][3]})
            used += run_stage(prob, rng, f"{shake}.shake", min(1000, max_steps - used), stages,
                           t_start=1.0, t_end=1.0, keep_best=False).steps
            if shake != todo:
                shaken = True
                continue  # the earlier stage is unmet now: it runs first
            prob.set_mode(mode)
            prob.set_active(active)
        shaken = False
        budget = min(try_steps, max_steps - used)
        used += coarse_to_fine(prob, rng, f"{todo}.{tries[todo]}", widen_keys, hr_keys, budget,
                          stages, patience, t_walk)
    prob.set_mode("all")
    prob.set_active(None)
    prob.set_widen(1.0)
    state_out, bor_out = prob.state()
    values = prob.values()
    report = {"loss": prob.loss, "steps": used, "seconds": time.perf_counter() - t0,
              "misses": prob.targets.misses(values),
              "subgroup_penalty": prob.comp_loss.get("sub", 0.0), "values": values,
              "subgroup_hr": prob.subgroup_hrs(), "stages": stages}
    return state_out, bor_out, report


def pfs_targets(cal: dict, arms: tuple[str, str]) -> Targets:
    """The PFS, PFS-in-T-DM1-subgroup and duration-of-response calibration targets."""
    t = Targets()
    t.items.update(median_targets("itt", cal.pfs_itt.median, list(arms)))
    t.items["itt.hr"] = tuple(cal.pfs_itt.hr_stratified)
    t.items["itt.hr_upper_1s"] = tuple(cal.pfs_itt.hr_upper_1s)
    t.items["itt.p_1s"] = tuple(cal.pfs_itt.p_stratified_1s)
    t.items.update(median_targets("tdm1", cal.pfs_tdm1.median, list(arms)))
    t.items["tdm1.hr"] = tuple(cal.pfs_tdm1.hr)
    t.items["tdm1.hr_upper_1s"] = tuple(cal.pfs_tdm1.hr_upper_1s)
    t.items["tdm1.p_1s"] = tuple(cal.pfs_tdm1.p_1s)
    dor = cal.dor
    for arm in arms:
        med, _, ucl = dor.median[arm]
        t.items[f"dor.{arm}.median"] = (med, 1)
        t.items[f"dor.{arm}.ucl"] = (ucl, 1)
    t.items["dor.hr"] = tuple(dor.hr)
    t.items["dor.hr_upper_1s"] = tuple(dor.hr_upper_1s)
    t.items["dors.hr"] = tuple(dor.hr_stratified)
    t.items["dors.hr_upper_1s"] = tuple(dor.hr_stratified_upper_1s)
    return t


def _csr(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Index lists as one array and offsets (group g is flat[off[g]:off[g + 1]])."""
    off = np.r_[0, np.cumsum([g.size for g in groups])].astype(np.int64)
    flat = (np.concatenate(groups) if groups else np.zeros(0)).astype(np.int64)
    return flat, off
