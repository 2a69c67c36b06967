"""Efficacy outcomes per patient: best response, progression, death, deterioration.

Times are study days (randomisation = day 1), so an event on day ``t`` gives the
analysis value AVAL = t. The generator works per arm from visit-aware processes:

* RECIST progression is found at a tumour assessment (its nominal day plus the
  patient's window jitter); clinical progression and death fall between visits;
* best overall response constrains the timing: a patient whose best response is PD
  progresses at the first assessment; SD needs a first assessment at or after the SD
  minimum; a responder responds at the first or second assessment and progresses later;
  "missing" means no post-baseline assessment at all;
* nothing happens after the patient's data cut-off day ``F`` (cut-off - randomisation + 1);
* death follows progression (or is the PFS event itself) and precedes the cut-off;
  patients alive at the cut-off were last contacted in its last two months, except a
  few lost to follow-up;
* deterioration of quality of life is found at a questionnaire visit.

The calibration stages (:func:`calibrate_pfs`, :func:`calibrate_os`,
:func:`calibrate_ttd`) then move individual times within those constraints with the
search of :mod:`crf.calibrate`, evaluating only the statistics a move can change.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from crf.allocate import choose, scale_counts
from crf.calibrate import (
    MONTH,
    PENALTY,
    Problem,
    Targets,
    distance,
    km_arm_stats,
    median_targets,
    se_window,
)
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
    OsState,
    PfsState,
    coarse_to_fine,
    cox_values,
    run_stage,
)
from crf.endpoints.ttd import TtdProblem, calibrate_ttd, draw_ttd, ttd_targets  # noqa: F401
from crf.fastsurv import (
    Z90,
    cox_fit,
    event_set,
    group_scores,
    logrank_p,
    logrank_stat,
    percentile5,
    rank_sum_p,
)
from crf.schedule import tumour_nominal_days


def draw_best_response(rng: np.random.Generator, cfg: dict, df: pd.DataFrame,
                       factor: float) -> np.ndarray:
    """Best overall response: exact counts in measurable disease, drawn otherwise."""
    bor = np.empty(len(df), dtype=object)
    for a, arm in enumerate(cfg["arms"]):
        sel = (df["arm"] == arm).to_numpy()
        meas = sel & df["measurable"].to_numpy()
        counts = {k: scale_counts([v[a]], factor)[0] for k, v in cfg["response"].items()
                  if k in ("CR", "PR", "SD", "PD", "NE", "MISSING")}
        idx = rng.permutation(np.flatnonzero(meas))
        labels = np.concatenate([[k] * v for k, v in counts.items()])
        labels = np.resize(labels, idx.size) if labels.size != idx.size else labels
        bor[idx] = labels
        non = np.flatnonzero(sel & ~df["measurable"].to_numpy())
        bor[non] = rng.choice(np.array(["NON-CR/NON-PD", "PD", "NE", "MISSING"], dtype=object),
                              size=non.size, p=[0.76, 0.18, 0.03, 0.03])
    return bor


def draw_pfs(rng: np.random.Generator, cfg: dict, df: pd.DataFrame, bor: np.ndarray,
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
    arms = list(cfg["arms"])
    arm_of = np.array([arms.index(a) for a in df["arm"]])
    F = df["F"].to_numpy()
    nominal = tumour_nominal_days(cfg, int(F.max()))
    nv = nominal.size
    # sites book scans on the scheduled day more often than anywhere else in the window
    offsets = np.arange(-WINDOW, WINDOW + 1)
    w = np.exp(-np.abs(offsets) / 0.6)
    jitter = rng.choice(offsets, size=(n, nv), p=w / w.sum())
    p = cfg["pfs"]
    responders = np.isin(bor, ["PR", "CR"])
    # a third of the responses are first seen at the second assessment
    resp_visit = np.where(responders, (rng.random(n) < 0.35).astype(int), -1)
    rv0 = np.maximum(resp_visit, 0)
    resp_day = np.where(responders, nominal[rv0] + jitter[np.arange(n), rv0], -1)
    pfs_median = np.asarray(p["median_months"], dtype=float)[arm_of] * MONTH
    dor_median = np.asarray(cfg["response"]["dor_median_months"], dtype=float)[arm_of] * MONTH
    # responses last a Weibull time with a falling hazard: some responders stay in
    # response for years, in both arms, as with HER2-targeted therapy
    shape = float(cfg["response"]["dor_weibull_shape"])
    dor = dor_median * (rng.exponential(1.0, n) / math.log(2)) ** (1.0 / shape)
    latent = np.where(responders, resp_day + dor, rng.exponential(pfs_median / math.log(2)))

    kind = np.empty(n, dtype=object)
    for a, arm in enumerate(arms):
        sel = (df["arm"] == arm).to_numpy()
        n_arm = int(sel.sum())
        n_ev = min(scale_counts([p["events"][a]], factor)[0], n_arm)
        n_clin = scale_counts([p["clinical_progression"][a]], factor)[0]
        n_death = scale_counts([p["death_without_progression"][a]], factor)[0]
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
        n_resp_cens = scale_counts([cfg["response"]["responders_censored"][a]], factor)[0]
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


def pfs_consistent(kind: int, bor: int, visit: int, day: int, resp_visit: int,
                   resp_day: int, jit: np.ndarray, F: int, nominal: np.ndarray,
                   sd_min: int) -> bool:
    """Whether one patient's PFS outcome obeys the rules of the module docstring.

    Parameters
    ----------
    kind, bor : int
        Codes of the PFS kind (:data:`KINDS`) and the best response (:data:`BORS`).
    visit, day : int
        Assessment index (RECIST, CENS; -1 otherwise) and study day of the outcome.
    resp_visit, resp_day : int
        First response assessment and its day (-1 when not a responder).
    jit : numpy.ndarray
        The patient's window jitter per assessment.
    F : int
        Last study day before the data cut-off.
    nominal : numpy.ndarray
        Nominal assessment days.
    sd_min : int
        Minimum study day of a stable-disease assessment.

    Returns
    -------
    bool
    """
    first = int(nominal[0] + jit[0])
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
        if resp_visit not in (0, 1) or resp_day != nominal[resp_visit] + jit[resp_visit]:
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


class PfsProblem(Problem):
    """PFS, PFS in the T-DM1-latest subgroup and duration of response, searched together.

    The state is one row per ITT patient (integer codes), changed in place; every move
    checks the patients it touches against :func:`pfs_consistent` and is undone when one
    breaks a rule. A move names the components (one arm's Kaplan-Meier targets, one Cox
    model, the subgroups) its change can affect, and only those are recomputed: an
    exchange of outcomes between two patients of one arm leaves that arm's curve and the
    unstratified Cox model alone, a non-responder's move leaves the duration of response
    alone. ``mode`` restricts the moves for a stage (see :meth:`set_mode`).
    """

    def __init__(self, cfg: dict, df: pd.DataFrame, bor: np.ndarray, state: PfsState,
                 targets: Targets) -> None:
        super().__init__(targets)
        self.arms = tuple(cfg["arms"])
        self.test = (df["arm"] == self.arms[0]).to_numpy()
        self.arm_of = np.where(self.test, 0, 1)
        self.strata = df["stratum"].to_numpy().astype(np.int64)
        self.tdm1 = df["tdm1_latest"].to_numpy().astype(bool)
        self.meas = df["measurable"].to_numpy().astype(bool)
        self.F = df["F"].to_numpy().astype(np.int64)
        self.nominal = tumour_nominal_days(cfg, int(self.F.max()))[: state.jitter.shape[1]]
        self.kmax = np.searchsorted(self.nominal - WINDOW, self.F, side="right") - 1
        self.sd_min = int(cfg["schedule"]["sd_minimum_days"])
        flags = subgroup_flags(df)
        self.sub_names = [f"{g}={lv}" for g in SUBGROUPS for lv in (1, 0)]
        self.members = np.array([m for g in SUBGROUPS for m in (flags[g], ~flags[g])])
        self.sub_sig = (self.members[::2].T * (1 << np.arange(len(SUBGROUPS)))).sum(axis=1)
        self.arrays = {
            "kind": np.array([KINDS.index(k) for k in state.kind], dtype=np.int64),
            "bor": np.array([BORS.index(b) for b in bor], dtype=np.int64),
            "visit": np.asarray(state.visit, dtype=np.int64).copy(),
            "day": np.asarray(state.day, dtype=np.int64).copy(),
            "rv": np.asarray(state.resp_visit, dtype=np.int64).copy(),
            "rday": np.asarray(state.resp_day, dtype=np.int64).copy(),
            "jit": np.asarray(state.jitter, dtype=np.int64).copy(),
            "event": np.array([k != CENS for k in state.kind], dtype=np.int64),
        }
        self.arm_idx = [np.flatnonzero(self.test), np.flatnonzero(~self.test)]
        self.mates = {(a, m): np.flatnonzero((self.arm_of == a) & (self.meas == m))
                      for a in (0, 1) for m in (False, True)}
        self.stratum_idx = {int(s): np.flatnonzero(self.strata == s)
                            for s in np.unique(self.strata)}
        self._beta: dict[str, float] = {}
        self._last_mate = -1
        # Treatment runs to progression (or past the cut-off when ongoing), so the
        # published maximum number of cycles per arm needs patients progression-free
        # that long: the latest first dose, plus the cycles with room for week delays.
        treated = (df["treated"].to_numpy().astype(bool) if "treated" in df
                   else np.ones(len(df), dtype=bool))
        self.treated_idx = [idx[treated[idx]] for idx in self.arm_idx]
        ex = cfg["exposure"]["cycles"]["max"]
        first = int(cfg["enrolment"]["randomisation_to_first_dose_days"][1]) + 1
        cycle = int(cfg["schedule"]["cycle_days"])
        self.horizon = [first + int(math.ceil((m - 1) * cycle * EXPOSURE_DELAY_ROOM))
                        for m in ex]
        self._register()
        self.set_mode("all")

    # -- components ----------------------------------------------------------------
    def _register(self) -> None:
        A = self.arrays
        day, ev, rv, rday = A["day"], A["event"], A["rv"], A["rday"]
        test, strata, tdm1 = self.test, self.strata, self.tdm1
        for a, arm in enumerate(self.arms):
            idx = self.arm_idx[a]

            def dor_km(idx: np.ndarray = idx, arm: str = arm) -> dict[str, float]:
                ii = idx[rv[idx] >= 0]
                return km_arm_stats(f"dor.{arm}", day[ii] - rday[ii] + 1, ev[ii])

            self.add(f"dor_km_{a}", dor_km, [f"dor.{arm}.median", f"dor.{arm}.ucl"])
        for prefix, sel in (("itt", np.ones(test.size, bool)), ("tdm1", tdm1)):
            for a, arm in enumerate(self.arms):
                idx = self.arm_idx[a][sel[self.arm_idx[a]]]

                def km(idx: np.ndarray = idx, p: str = f"{prefix}.{arm}") -> dict[str, float]:
                    return km_arm_stats(p, day[idx], ev[idx])

                self.add(f"{prefix}_km_{a}", km,
                         [f"{prefix}.{arm}.{s}" for s in ("median", "lcl", "ucl")])

        def dor_cox(stratified: bool) -> dict[str, float]:
            r = rv >= 0
            name = "dors" if stratified else "dor"
            es = event_set(day[r] - rday[r] + 1, ev[r], test[r],
                           strata[r] if stratified else None)
            v, self._beta[name] = cox_values(name, es, self._beta.get(name, 0.0),
                                              self.guide(name))
            return v

        self.add("dor_cox", lambda: dor_cox(False), ["dor.hr", "dor.hr_upper_1s"])
        self.add("dor_scox", lambda: dor_cox(True), ["dors.hr", "dors.hr_upper_1s"])

        def itt_cox() -> dict[str, float]:
            # The published HR 0.76 (upper 0.967) implies se ~0.146, the floor 2/sqrt(184)
            # for 184 events: only a Cox model without strata gets there (16 strata give
            # ~0.16). The p value is the stratified log-rank test, as published.
            v, self._beta["itt"] = cox_values("itt", event_set(day, ev, test),
                                               self._beta.get("itt", 0.0), self.guide("itt"))
            return v

        def itt_lr() -> dict[str, float]:
            z = logrank_stat(event_set(day, ev, test, strata))
            return {"itt.p_1s": logrank_p(z)[1], "itt.logrank_z": z}

        def tdm1_cox() -> dict[str, float]:
            es = event_set(day[tdm1], ev[tdm1], test[tdm1])
            v, self._beta["tdm1"] = cox_values("tdm1", es, self._beta.get("tdm1", 0.0),
                                                self.guide("tdm1"))
            v["tdm1.p_1s"] = logrank_p(logrank_stat(es))[1]
            return v

        self.add("itt_cox", itt_cox, ["itt.hr", "itt.hr_upper_1s"])
        self.add("itt_lr", itt_lr, ["itt.p_1s"])
        self.add("tdm1_cox", tdm1_cox, ["tdm1.hr", "tdm1.hr_upper_1s", "tdm1.p_1s"])

        def sub() -> dict[str, float]:
            score, info = group_scores(day, ev, test, self.members)
            with np.errstate(divide="ignore", invalid="ignore"):
                excess = np.where(info > 0, score / info, 1.0) + SUB_MARGIN
            bad = excess > 0
            return {PENALTY: float(bad.sum() + 10.0 * excess[bad].sum()),
                    "sub.violations": float(bad.sum())}

        self.add("sub", sub, [])

        def exposure() -> dict[str, float]:
            # as crf.treatment reads PFS: a patient censored near the cut-off is still on
            # treatment, anyone else stops on her PFS day
            ongoing = (ev == 0) & (day >= self.F - ONGOING_DAYS)
            horizon = np.where(ongoing, self.F + 1, day)
            pen = 0.0
            for a in (0, 1):
                h = np.sort(horizon[self.treated_idx[a]])
                short = np.maximum(self.horizon[a] - h[::-1][:EXPOSURE_CANDIDATES], 0)
                pen += float((short > 0).sum()) + float(short.sum()) / 100.0
            return {PENALTY: pen, "exposure.short": pen}

        self.add("exposure", exposure, [])

    def guide(self, prefix: str) -> list[tuple[float, float]]:
        """The se window of a Cox model's printed HR and upper limit, at the current widening."""
        t = self.targets.items
        return [se_window(t[f"{prefix}.hr"], t[f"{prefix}.hr_upper_1s"], Z90, 1.0)]

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
        A = self.arrays
        nonresp = A["rv"] < 0
        # shares of (swap, response, placement) moves; the rest move one time
        if mode == "dor":
            self.pool = None
            self.mix = (0.1, 0.25, 0.3)
        elif mode == "dorswap":
            self.pool = None
            self.mix = (1.0, 0.0, 0.0)
        elif mode == "dormix":
            self.pool = None
            self.mix = (0.7, 0.05, 0.15)
        elif mode == "all":
            self.pool = np.arange(self.test.size)
            self.mix = (0.3, 0.05, 0.2)
        elif mode == "nonresp":
            self.pool = np.flatnonzero(nonresp)
            self.mix = (0.3, 0.0, 0.2)
        else:
            a = mode[1]
            self.pool = self.arm_idx[a][nonresp[self.arm_idx[a]]]
            self.mix = (0.15, 0.0, 0.2)

    def ok(self, i: int) -> bool:
        """Patient ``i`` obeys the rules."""
        A = self.arrays
        return pfs_consistent(int(A["kind"][i]), int(A["bor"][i]), int(A["visit"][i]),
                              int(A["day"][i]), int(A["rv"][i]), int(A["rday"][i]),
                              A["jit"][i], int(self.F[i]), self.nominal, self.sd_min)

    def move(self, rng: np.random.Generator) -> set[str] | None:
        A = self.arrays
        pool = self.pool if self.pool is not None else np.flatnonzero(A["rv"] >= 0)
        i = int(pool[rng.integers(pool.size)])
        p_swap, p_resp, p_place = self.mix
        r = rng.random()
        if r < p_swap:
            if self.mode == "dor" and rng.random() < 0.5:
                return self._swap_place(i, rng)
            return self._swap(i, rng)
        r -= p_swap
        if r < p_resp:
            return self._respond(i, rng)
        r -= p_resp
        if r < p_place:
            return self._place(i, rng)
        if A["kind"][i] == K_RECIST or A["kind"][i] == K_CENS:
            return self._visit(i, rng)
        return self._day(i, rng)

    def _swap(self, i: int, rng: np.random.Generator) -> set[str] | None:
        """Two patients of one arm and the same measurability exchange outcomes."""
        A = self.arrays
        mates = self.mates[(int(self.arm_of[i]), bool(self.meas[i]))]
        if self.mode in ("dorswap", "dormix"):
            # only who is in which stratum matters here
            mates = mates[self.strata[mates] != self.strata[i]]
        if mates.size and rng.random() < 0.5:
            # a near-swap: the mate's outcome is like this one's (a responder with a
            # similar duration, or a similar PFS day), so only the few comparisons
            # between the two times change: the finest step the strata allow
            if A["rv"][i] >= 0:
                mates = mates[A["rv"][mates] >= 0]
                t = A["day"][mates] - A["rday"][mates]
                t_i = A["day"][i] - A["rday"][i]
            else:
                mates = mates[A["rv"][mates] < 0]
                t, t_i = A["day"][mates], A["day"][i]
            if mates.size > 4:
                mates = mates[np.argsort(np.abs(t - t_i), kind="stable")[:4]]
        if mates.size == 0:
            return None
        j = int(mates[rng.integers(mates.size)])
        if j == i or (self.pool is not None and self.mode != "all" and A["rv"][j] >= 0):
            return None
        self._last_mate = j
        for key in ("kind", "bor", "visit", "day", "rv", "rday", "event"):
            a = A[key]
            vi, vj = a[i], a[j]
            if vi != vj:
                self.put(key, i, vj)
                self.put(key, j, vi)
        ji, jj = A["jit"][i].copy(), A["jit"][j].copy()
        self.put("jit", i, jj)
        self.put("jit", j, ji)
        if not (self.ok(i) and self.ok(j)):
            return None
        # the arm keeps its outcomes, so only what depends on who has which changes
        dirty = set()
        a = int(self.arm_of[i])
        if self.strata[i] != self.strata[j]:
            dirty.add("itt_lr")
            if A["rv"][i] >= 0 or A["rv"][j] >= 0:
                dirty.add("dor_scox")
        if self.tdm1[i] != self.tdm1[j]:
            dirty.update((f"tdm1_km_{a}", "tdm1_cox"))
        if self.sub_sig[i] != self.sub_sig[j]:
            dirty.add("sub")
        if self.F[i] != self.F[j]:
            dirty.add("exposure")
        return dirty

    def _swap_place(self, i: int, rng: np.random.Generator) -> set[str] | None:
        """Hand a responder's outcome to an arm mate, then re-time it there.

        The mate's follow-up may allow a duration of response the first patient's could
        not (a response ongoing for years needs years of follow-up).
        """
        A = self.arrays
        dirty = self._swap(i, rng)
        if dirty is None:
            return None
        holders = [k for k in (i, self._last_mate) if A["rv"][k] >= 0]
        k = holders[int(rng.integers(len(holders)))]
        more = self._place(k, rng)
        if more is None:
            return None
        return dirty | more

    def _respond(self, i: int, rng: np.random.Generator) -> set[str] | None:
        """A responder's first response at another assessment or another day."""
        A = self.arrays
        if A["rv"][i] < 0:
            return None
        old_day, old_rday = int(A["day"][i]), int(A["rday"][i])
        if rng.random() < 0.5:
            rv = int(rng.integers(0, 2))
            jv = int(rng.integers(-WINDOW, WINDOW + 1))
        else:
            rv = int(A["rv"][i])
            step = int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1)
            jv = min(WINDOW, max(-WINDOW, int(A["jit"][i, rv]) + step))
        self.put("jit", (i, rv), jv)
        self.put("rv", i, rv)
        self.put("rday", i, int(self.nominal[rv]) + jv)
        if A["kind"][i] in (K_RECIST, K_CENS) and A["visit"][i] == rv:
            self.put("day", i, int(A["rday"][i]))
        if not self.ok(i):
            return None
        return self._dirty_single(i, old_day, old_rday)

    def _visit(self, i: int, rng: np.random.Generator) -> set[str] | None:
        """A progression or censoring found at another assessment, or another day of it."""
        A = self.arrays
        old_day, old_rday = int(A["day"][i]), int(A["rday"][i])
        k = int(A["visit"][i])
        r = rng.random()
        if r < 0.15:
            # scans in one stratum on the same day: ties, as real schedules make them
            mates = self.stratum_idx[int(self.strata[i])]
            j = int(mates[rng.integers(mates.size)])
            if j == i or A["visit"][j] < 0:
                return None
            k = int(A["visit"][j])
            self.put("jit", (i, k), int(A["jit"][j, k]))
        elif r < 0.4:
            k += 1 if rng.random() < 0.5 else -1
        elif r < 0.5:
            # within the first two years, where most events are; for non-responders in
            # the last stages sometimes up to the cut-off (treatment long enough for the
            # published maximum of cycles)
            top = min(int(self.kmax[i]), 14)
            if self.mode in ("nonresp", "all") and rng.random() < 0.5:
                top = int(self.kmax[i])
            k = int(rng.integers(0, max(1, top) + 1))
        elif 0 <= k < self.nominal.size:
            step = int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1)
            self.put("jit", (i, k), min(WINDOW, max(-WINDOW, int(A["jit"][i, k]) + step)))
        if k < 0 or k >= self.nominal.size or k > self.kmax[i]:
            return None
        self.put("visit", i, k)
        self.put("day", i, int(self.nominal[k] + A["jit"][i, k]))
        if A["rv"][i] == k:
            self.put("rday", i, int(A["day"][i]))
        if not self.ok(i):
            return None
        return self._dirty_single(i, old_day, old_rday)

    def _day(self, i: int, rng: np.random.Generator) -> set[str] | None:
        """A clinical progression or death without progression on another day."""
        A = self.arrays
        old_day = int(A["day"][i])
        r = rng.random()
        if r < 0.2:
            new = int(rng.integers(3, min(int(self.F[i]), 700) + 1))
        else:
            step = int(rng.integers(1, 21 if r < 0.6 else 4))
            new = old_day + (step if rng.random() < 0.5 else -step)
        self.put("day", i, new)
        if not self.ok(i):
            return None
        return self._dirty_single(i, old_day, int(A["rday"][i]))

    def _place(self, i: int, rng: np.random.Generator) -> set[str] | None:
        """Put a time right beside (or on) another patient's: the smallest change of ranks.

        Outside the responder modes the PFS day is placed beside another patient's PFS
        day; in them the duration of response beside another responder's.
        """
        A = self.arrays
        delta = int(rng.integers(-1, 2))
        if self.pool is None:
            resp = np.flatnonzero(A["rv"] >= 0)
            j = int(resp[rng.integers(resp.size)])
            day = int(A["day"][j] - A["rday"][j]) + delta + int(A["rday"][i])
        else:
            j = int(rng.integers(self.test.size))
            day = int(A["day"][j]) + delta
        if j == i:
            return None
        return self.place_day(i, day)

    def place_day(self, i: int, day: int) -> set[str] | None:
        """Move patient ``i``'s PFS outcome to study ``day`` (on the assessment whose
        window holds it, for RECIST progression and censoring); None when not allowed."""
        A = self.arrays
        old_day, old_rday = int(A["day"][i]), int(A["rday"][i])
        if day == old_day:
            return None
        if A["kind"][i] == K_RECIST or A["kind"][i] == K_CENS:
            k = int(np.searchsorted(self.nominal, day - WINDOW, side="left"))
            if k >= self.nominal.size or abs(day - int(self.nominal[k])) > WINDOW:
                return None
            if k > self.kmax[i]:
                return None
            self.put("jit", (i, k), day - int(self.nominal[k]))
            self.put("visit", i, k)
            if A["rv"][i] == k:
                self.put("rday", i, day)
        self.put("day", i, day)
        if not self.ok(i):
            return None
        return self._dirty_single(i, old_day, old_rday)

    def _dirty_single(self, i: int, old_day: int, old_rday: int) -> set[str]:
        A = self.arrays
        a = int(self.arm_of[i])
        dirty = set()
        moved = A["day"][i] != old_day
        if moved:
            dirty.update((f"itt_km_{a}", "itt_cox", "itt_lr", "sub", "exposure"))
            if self.tdm1[i]:
                dirty.update((f"tdm1_km_{a}", "tdm1_cox"))
        if A["rv"][i] >= 0 and (moved or A["rday"][i] != old_rday):
            dirty.update((f"dor_km_{a}", "dor_cox", "dor_scox"))
        return dirty

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


def calibrate_pfs(rng: np.random.Generator, cfg: dict, df: pd.DataFrame, bor: np.ndarray,
                  state: PfsState, max_steps: int = 250000
                  ) -> tuple[PfsState, np.ndarray, dict]:
    """Move PFS and response outcomes until the PFS, T-DM1-subgroup and DoR targets hold.

    Parameters
    ----------
    rng : numpy.random.Generator
        The study's generator (the search's only source of randomness).
    cfg : dict
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
    arms = tuple(cfg["arms"])
    prob = PfsProblem(cfg, df, bor, state, pfs_targets(cfg["calibration"], arms))
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
    t.items.update(median_targets("itt", cal["pfs_itt"]["median"], list(arms)))
    t.items["itt.hr"] = tuple(cal["pfs_itt"]["hr_stratified"])
    t.items["itt.hr_upper_1s"] = tuple(cal["pfs_itt"]["hr_upper_1s"])
    t.items["itt.p_1s"] = tuple(cal["pfs_itt"]["p_stratified_1s"])
    t.items.update(median_targets("tdm1", cal["pfs_tdm1"]["median"], list(arms)))
    t.items["tdm1.hr"] = tuple(cal["pfs_tdm1"]["hr"])
    t.items["tdm1.hr_upper_1s"] = tuple(cal["pfs_tdm1"]["hr_upper_1s"])
    t.items["tdm1.p_1s"] = tuple(cal["pfs_tdm1"]["p_1s"])
    dor = cal["dor"]
    for arm in arms:
        med, _, ucl = dor["median"][arm]
        t.items[f"dor.{arm}.median"] = (med, 1)
        t.items[f"dor.{arm}.ucl"] = (ucl, 1)
    t.items["dor.hr"] = tuple(dor["hr"])
    t.items["dor.hr_upper_1s"] = tuple(dor["hr_upper_1s"])
    t.items["dors.hr"] = tuple(dor["hr_stratified"])
    t.items["dors.hr_upper_1s"] = tuple(dor["hr_stratified_upper_1s"])
    return t


# --------------------------------------------------------------------------- OS


def _arm_factor(cfg: dict, df: pd.DataFrame, a: int) -> float:
    """This arm's ITT size relative to the published one (1 for the published study)."""
    pop = cfg["populations"]
    published = pop["randomised"][a] - pop["not_itt_withdrew_data_consent"][a]
    return float((df["arm"] == cfg["arms"][a]).sum()) / published


def draw_os(rng: np.random.Generator, cfg: dict, df: pd.DataFrame, pfs: PfsState) -> OsState:
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
    cfg : dict
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
    o = cfg["os"]
    F = df["F"].to_numpy().astype(np.int64)
    pday = np.asarray(pfs.day, dtype=np.int64)
    kind = np.asarray(pfs.kind)
    death = kind == DEATH
    day = np.where(death, pday, 0).astype(np.int64)
    lost = np.zeros(n, dtype=bool)
    can_die = np.isin(kind, [RECIST, CLIN]) & (pday < F)
    for a, arm in enumerate(cfg["arms"]):
        sel = (df["arm"] == arm).to_numpy()
        factor = _arm_factor(cfg, df, a)
        n_death = scale_counts([o["deaths"][a]], factor)[0]
        mean = o["post_progression_median_months"][a] * MONTH / math.log(2)
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
        n_lost = scale_counts([o["lost_to_follow_up"][a]], factor)[0]
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
    """The OS rules of the module docstring for one patient.

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
    """
    if day > F or day < pfs_day:
        return False
    if pfs_kind == DEATH:
        return death and day == pfs_day and not lost
    if death:
        return pfs_kind in (RECIST, CLIN) and day > pfs_day and not lost
    return lost or day >= F - LAST_CONTACT_WINDOW


class OsProblem(Problem):
    """Overall survival and follow-up: deaths, death days and last contacts move.

    Moves: a death day or last contact within its allowed range (often right beside
    another patient's time), a death passing from one patient to a survivor of the same
    arm, lost-to-follow-up status passing between survivors, and times placed at a
    quantile target (see :meth:`_quantile_swap`). The follow-up quartiles are order
    statistics, so their components also count how many times lie on the wrong side.
    """

    def __init__(self, cfg: dict, df: pd.DataFrame, pfs: PfsState, state: OsState,
                 targets: Targets) -> None:
        super().__init__(targets)
        self.arms = tuple(cfg["arms"])
        self.test = (df["arm"] == self.arms[0]).to_numpy()
        self.arm_of = np.where(self.test, 0, 1)
        self.F = df["F"].to_numpy().astype(np.int64)
        self.pday = np.asarray(pfs.day, dtype=np.int64)
        self.pkind = np.asarray(pfs.kind)
        self.forced = self.pkind == DEATH
        self.can_die = np.isin(self.pkind, [RECIST, CLIN]) & (self.pday < self.F)
        self.lo_alive = np.maximum(self.pday, self.F - LAST_CONTACT_WINDOW)
        self.arrays = {"death": np.asarray(state.death, dtype=np.int64).copy(),
                       "day": np.asarray(state.day, dtype=np.int64).copy(),
                       "lost": np.asarray(state.lost, dtype=np.int64).copy()}
        self.arm_idx = [np.flatnonzero(self.test), np.flatnonzero(~self.test)]
        self._beta: dict[str, float] = {}
        # (patients, study day) of every quantile target: moves place times right there
        t = targets.items
        everyone = np.arange(self.test.size)
        self.spots = [(everyone, t[f"fu.overall.{q}"][0] * MONTH) for q in ("median", "q1",
                                                                           "q3")]
        for a, arm in enumerate(self.arms):
            self.spots += [(self.arm_idx[a], t[f"fu.{arm}.{q}"][0] * MONTH)
                           for q in ("median", "q1", "q3")]
            self.spots += [(self.arm_idx[a], t[f"os.{arm}.{q}"][0] * MONTH)
                           for q in ("median", "lcl", "ucl")
                           if math.isfinite(t[f"os.{arm}.{q}"][0])]
        self._register()

    def _register(self) -> None:
        A = self.arrays
        day, death, test = A["day"], A["death"], self.test
        for a, arm in enumerate(self.arms):
            idx = self.arm_idx[a]

            def km(idx: np.ndarray = idx, arm: str = arm) -> dict[str, float]:
                return km_arm_stats(f"os.{arm}", day[idx], death[idx])

            self.add(f"os_km_{a}", km, [f"os.{arm}.{s}" for s in ("median", "lcl", "ucl")])

            def fu(idx: np.ndarray = idx, arm: str = arm) -> dict[str, float]:
                return _follow_up(f"fu.{arm}", day[idx], self.targets.items)

            self.add(f"fu_{a}", fu, [f"fu.{arm}.{s}" for s in ("median", "q1", "q3")])
        self.add("fu_all", lambda: _follow_up("fu.overall", day, self.targets.items),
                 [f"fu.overall.{s}" for s in ("median", "q1", "q3")])
        self.add("fu_p", lambda: {"fu.p": rank_sum_p(day[test], day[~test])}, ["fu.p"])

        def cox() -> dict[str, float]:
            es = event_set(day, death, test)
            t = self.targets.items
            v, self._beta["os"] = cox_values(
                "os", es, self._beta.get("os", 0.0),
                [se_window(t["os.hr"], t["os.hr_upper_1s"], Z90, 1.0)])
            v["os.p_1s"] = logrank_p(logrank_stat(es))[1]
            return v

        self.add("os_cox", cox, ["os.hr", "os.hr_upper_1s", "os.p_1s"])

    def ok(self, i: int) -> bool:
        """Patient ``i`` obeys the OS rules."""
        A = self.arrays
        return os_consistent(bool(A["death"][i]), int(A["day"][i]), bool(A["lost"][i]),
                             str(self.pkind[i]), int(self.pday[i]), int(self.F[i]))

    def move(self, rng: np.random.Generator) -> set[str] | None:
        A = self.arrays
        r = rng.random()
        if r < 0.15:
            # a time placed at a quantile target, by a patient whose rules allow it there
            who, at = self.spots[int(rng.integers(len(self.spots)))]
            v = int(round(at)) + int(rng.integers(-3, 4))
            lo = np.where(A["death"] == 1, self.pday + 1,
                          np.where(A["lost"] == 1, self.pday, self.lo_alive))
            fit = who[(lo[who] <= v) & (self.F[who] >= v) & ~self.forced[who]]
            if rng.random() < 0.7:
                # mostly a patient whose time is near already: a small change of the rest
                fit = fit[np.abs(A["day"][fit] - v) <= 90]
            if fit.size == 0:
                return None
            i = int(fit[rng.integers(fit.size)])
            if A["day"][i] == v:
                return None
            self.put("day", i, v)
            a = int(self.arm_of[i])
            return {f"os_km_{a}", "os_cox", f"fu_{a}", "fu_all", "fu_p"}
        if r < 0.25:
            return self._quantile_swap(rng)
        r = (r - 0.25) / 0.75
        i = int(rng.integers(self.test.size))
        a = int(self.arm_of[i])
        dirty = {f"os_km_{a}", "os_cox", f"fu_{a}", "fu_all", "fu_p"}
        if r < 0.3:
            # a death and a survivor of one arm trade places
            mates = self.arm_idx[a]
            j = int(mates[rng.integers(mates.size)])
            if j == i or A["death"][i] == A["death"][j] or A["lost"][i] or A["lost"][j]:
                return None
            d, s = (i, j) if A["death"][i] else (j, i)
            if self.forced[d] or not self.can_die[s]:
                return None
            old = int(A["day"][d])
            self.put("death", d, 0)
            self.put("day", d, int(self.lo_alive[d] + rng.integers(
                0, self.F[d] - self.lo_alive[d] + 1)))
            self.put("death", s, 1)
            lo, hi = int(self.pday[s]) + 1, int(self.F[s])
            new = old if rng.random() < 0.5 else int(rng.integers(lo, hi + 1))
            self.put("day", s, min(max(new, lo), hi))
            touched = (d, s)
        elif r < 0.35:
            # lost to follow-up passes to another survivor of the arm
            mates = self.arm_idx[a]
            j = int(mates[rng.integers(mates.size)])
            if not A["lost"][i] or A["lost"][j] or A["death"][j]:
                return None
            self.put("lost", i, 0)
            self.put("day", i, int(self.lo_alive[i] + rng.integers(
                0, self.F[i] - self.lo_alive[i] + 1)))
            self.put("lost", j, 1)
            self.put("day", j, int(rng.integers(self.pday[j], self.F[j] + 1)))
            touched = (i, j)
        else:
            if self.forced[i]:
                return None
            lo = int(self.pday[i]) + 1 if A["death"][i] else (
                int(self.pday[i]) if A["lost"][i] else int(self.lo_alive[i]))
            hi = int(self.F[i])
            q = rng.random()
            if q < 0.2:
                new = int(rng.integers(lo, hi + 1))
            elif q < 0.45:
                # beside another patient's time: the smallest change of ranks
                new = int(A["day"][int(rng.integers(self.test.size))]) + int(
                    rng.integers(-1, 2))
            else:
                step = int(rng.integers(1, 31 if q < 0.7 else 4))
                new = int(A["day"][i]) + (step if rng.random() < 0.5 else -step)
            if new < lo or new > hi or new == A["day"][i]:
                return None
            self.put("day", i, new)
            touched = (i,)
        if not all(self.ok(k) for k in touched):
            return None
        return dirty

    def _quantile_swap(self, rng: np.random.Generator) -> set[str] | None:
        """A survivor who cannot be last seen below a quantile target dies below it, and a
        patient who died there, but whose follow-up ends below it, survives instead.

        The deaths keep their days (so the Kaplan-Meier curve barely moves) while one
        more OS time falls below the target: what a follow-up quantile needs when
        too many survivors were enrolled early.
        """
        A = self.arrays
        who, at = self.spots[int(rng.integers(len(self.spots)))]
        v = int(round(at))
        above = who[(A["death"][who] == 0) & (A["lost"][who] == 0) & self.can_die[who]
                    & (self.lo_alive[who] > v) & (self.pday[who] < v)]
        if above.size == 0:
            return None
        i = int(above[rng.integers(above.size)])
        a = int(self.arm_of[i])
        mates = self.arm_idx[a]
        below = mates[(A["death"][mates] == 1) & ~self.forced[mates]
                      & (self.lo_alive[mates] <= v) & (np.abs(A["day"][mates] - v) <= 120)]
        if below.size == 0:
            return None
        j = int(below[rng.integers(below.size)])
        old = int(A["day"][j])
        self.put("death", j, 0)
        self.put("day", j, int(rng.integers(self.lo_alive[j], min(self.F[j], v) + 1)))
        self.put("death", i, 1)
        self.put("day", i, min(max(old, int(self.pday[i]) + 1), v))
        if not (self.ok(i) and self.ok(j)):
            return None
        return {f"os_km_{a}", "os_cox", f"fu_{a}", "fu_all", "fu_p"}

    def state(self) -> OsState:
        """The current OS outcomes."""
        A = self.arrays
        return OsState(death=A["death"].astype(bool), day=A["day"].copy(),
                       lost=A["lost"].astype(bool))


_QUANTILES = (("median", 0.5), ("q1", 0.25), ("q3", 0.75))


def _follow_up(prefix: str, day: np.ndarray,
               targets: dict[str, tuple[float | None, int]] | None = None
               ) -> dict[str, float]:
    """Median and quartiles (SAS PCTLDEF=5) of the OS times, in months.

    With ``targets``, a missed quartile adds a guidance penalty: how many times lie on the
    wrong side of its rounding window for the order statistics it is made of. A quantile
    stays put until several times have crossed (ties and gaps), so without the count the
    search would see no progress.
    """
    s = np.sort(day) / MONTH
    out = {}
    pen = 0.0
    for name, p in _QUANTILES:
        key = f"{prefix}.{name}"
        q = percentile5(s, p)
        out[key] = q
        if targets is None or distance(q, *targets[key]) == 0:
            continue
        value, dec = targets[key]
        half = 0.5 * 10.0 ** -dec
        lo, hi = value - half, value + half
        np_ = s.size * p
        j = math.floor(np_ + 1e-9)
        whole = abs(np_ - round(np_)) <= 1e-9
        # order statistics (1-based) the quantile is made of
        first, last = (j, j + 1) if whole else (j + 1, j + 1)
        below_lo = int(np.searchsorted(s, lo, side="left"))
        below_hi = int(np.searchsorted(s, hi, side="left"))
        pen += max(0, last - below_hi) + max(0, below_lo - (first - 1))
    out[PENALTY] = 0.3 * pen
    return out


def os_targets(cal: dict, arms: tuple[str, str]) -> Targets:
    """The OS and follow-up calibration targets."""
    t = Targets()
    t.items.update(median_targets("os", cal["os"]["median"], list(arms)))
    t.items["os.hr"] = tuple(cal["os"]["hr"])
    t.items["os.hr_upper_1s"] = tuple(cal["os"]["hr_upper_1s"])
    t.items["os.p_1s"] = tuple(cal["os"]["p_1s"])
    fu = cal["follow_up"]
    for group in ("overall", *arms):
        med, q1, q3 = fu[group]
        t.items[f"fu.{group}.median"] = (med, 1)
        t.items[f"fu.{group}.q1"] = (q1, 1)
        t.items[f"fu.{group}.q3"] = (q3, 1)
    t.items["fu.p"] = tuple(fu["p"])
    return t


def calibrate_os(rng: np.random.Generator, cfg: dict, df: pd.DataFrame, pfs: PfsState,
                 os_state: OsState, max_steps: int = 150000) -> tuple[OsState, dict]:
    """Move deaths, death days and last contacts until the OS and follow-up targets hold.

    Parameters
    ----------
    rng : numpy.random.Generator
        The study's generator.
    cfg : dict
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
    arms = tuple(cfg["arms"])
    prob = OsProblem(cfg, df, pfs, os_state, os_targets(cfg["calibration"], arms))
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
