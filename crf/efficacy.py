"""Efficacy outcomes per patient: best response, progression, death, deterioration.

Times are study days (randomisation = day 1), so an event on day ``t`` gives the
analysis value AVAL = t. The generator works per arm from visit-aware processes:

* RECIST progression is found at a tumour assessment (its nominal day plus the
  patient's window jitter); clinical progression and death fall between visits;
* best overall response constrains the timing: a patient whose best response is PD
  progresses at the first assessment; SD needs a first assessment at or after the SD
  minimum; a responder responds at the first or second assessment and progresses later;
  "missing" means no post-baseline assessment at all;
* nothing happens after the patient's data cut-off day ``F`` (cut-off − randomisation + 1).

The calibration stages (:func:`calibrate_pfs`, :func:`calibrate_os`,
:func:`calibrate_ttd`) then move individual times within those constraints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crf.allocate import choose, scale_counts
from crf.calibrate import (MONTH, Targets, cox_stats, km_stats, median_targets, search)
from crf.fastsurv import risk_table, cox_binary
from crf.schedule import tumour_nominal_days

RECIST, CLIN, DEATH, CENS = "RECIST", "CLIN", "DEATH", "CENS"
WINDOW = 7


@dataclass
class PfsState:
    """Mutable per-patient PFS description used by the calibration."""

    kind: np.ndarray        # RECIST / CLIN / DEATH / CENS
    visit: np.ndarray       # assessment index of the event or censoring (RECIST, CENS)
    day: np.ndarray         # study day of event / censoring
    resp_visit: np.ndarray  # first response assessment index, -1 if not a responder
    resp_day: np.ndarray
    jitter: np.ndarray      # (n, visits) window jitter per assessment


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
    """Initial PFS kinds and times, consistent with best response and follow-up."""
    n = len(df)
    horizon = int(df["F"].max())
    nominal = tumour_nominal_days(cfg, horizon)
    nv = nominal.size
    # sites book scans on the scheduled day more often than anywhere else in the window
    offsets = np.arange(-WINDOW, WINDOW + 1)
    w = np.exp(-np.abs(offsets) / 0.6)
    jitter = rng.choice(offsets, size=(n, nv), p=w / w.sum())
    kind = np.empty(n, dtype=object)
    p = cfg["pfs"]
    for a, arm in enumerate(cfg["arms"]):
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
        kind[ne & ~ne_clin] = CENS
        free &= ~ne
        n_events_left = n_ev - int(np.isin(kind[sel & ~free], [RECIST, CLIN, DEATH]).sum())
        # responders censored without progression (ongoing response at the cut-off)
        n_resp_cens = scale_counts([cfg["response"]["responders_censored"][a]], factor)[0]
        resp_cens = choose(rng, free & (bor == "PR"), n_resp_cens)
        kind[resp_cens] = CENS
        free &= ~resp_cens
        kind[free & (bor == "PR")] = RECIST
        free &= ~(bor == "PR")
        # censored: favour patients with short follow-up (ongoing at the cut-off)
        n_cens = int(free.sum()) - n_events_left + int(
            (kind[sel & (bor == "PR")] == RECIST).sum())
        w = 1.0 / df["F"].to_numpy().astype(float) ** 1.5
        cens = choose(rng, free, max(n_cens, 0), weights=w)
        kind[cens] = CENS
        free &= ~cens
        clin = choose(rng, free, max(n_clin, 0))
        kind[clin] = CLIN
        free &= ~clin
        death = choose(rng, free, max(n_death, 0))
        kind[death] = DEATH
        free &= ~death
        kind[free] = RECIST

    resp_visit = np.full(n, -1)
    responders = bor == "PR"
    resp_visit[responders] = (rng.random(responders.sum()) < 0.35).astype(int)
    resp_day = np.where(responders, nominal[np.maximum(resp_visit, 0)]
                        + jitter[np.arange(n), np.maximum(resp_visit, 0)], -1)

    F = df["F"].to_numpy()
    kmax = np.searchsorted(nominal + WINDOW, F, side="right") - 1
    median = np.array([p["median_months"][cfg["arms"].index(a)] for a in df["arm"]]) * MONTH
    latent = rng.exponential(median / math.log(2))
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
    if bor == "PR":
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
    if bor == "PR":
        lo = int(resp_day) + 1
    return (lo, max(lo, int(F)))


def _fix_days(state: PfsState, nominal: np.ndarray) -> None:
    idx = np.flatnonzero(state.visit >= 0)
    state.day[idx] = nominal[state.visit[idx]] + state.jitter[idx, state.visit[idx]]
    r = np.flatnonzero(state.resp_visit >= 0)
    state.resp_day[r] = nominal[state.resp_visit[r]] + state.jitter[r, state.resp_visit[r]]


def pfs_event(state: PfsState) -> np.ndarray:
    return (state.kind != CENS).astype(int)


# --------------------------------------------------------------------------- PFS stage


SUBGROUPS = ("age65", "ecog0", "er_pos", "visceral", "nreg3", "pert_short", "pert_second",
             "tdm1_latest", "measurable")


def calibrate_pfs(rng: np.random.Generator, cfg: dict, df: pd.DataFrame, bor: np.ndarray,
                  state: PfsState, max_steps: int = 60000) -> tuple[PfsState, np.ndarray, dict]:
    """Move PFS and response outcomes until the PFS, T-DM1-subgroup and DoR targets hold.

    Returns the calibrated state, the best responses (outcomes can move between
    patients of one arm with the same measurability, so best response moves with them)
    and a report of the search.
    """
    cal = cfg["calibration"]
    arms = tuple(cfg["arms"])
    test = (df["arm"] == arms[0]).to_numpy()
    strata = df["stratum"].to_numpy()
    tdm1 = df["tdm1_latest"].to_numpy()
    meas = df["measurable"].to_numpy()
    F = df["F"].to_numpy()
    nominal = tumour_nominal_days(cfg, int(F.max()))
    sd_min = cfg["schedule"]["sd_minimum_days"]
    n = len(df)
    sub_masks = [df[g].to_numpy().astype(bool) for g in SUBGROUPS]
    t = pfs_targets(cal, arms)

    def stats(s: dict) -> dict[str, float]:
        day, ev = s["day"], s["event"]
        resp = s["resp_visit"] >= 0
        v = {}
        v.update(km_stats("itt", day, ev, test, arms))
        # The published HR 0.76 (upper 0.967) implies se ~0.146, the floor 2/sqrt(184) for
        # 184 events: only a Cox model without strata gets there (16 strata give ~0.16).
        # The p value is the stratified log-rank test, as published.
        v.update(cox_stats("itt", day, ev, test))
        v["itt.p_1s"] = cox_stats("itts", day, ev, test, strata)["itts.p_1s"]
        v.update(km_stats("tdm1", day[tdm1], ev[tdm1], test[tdm1], arms))
        v.update(cox_stats("tdm1", day[tdm1], ev[tdm1], test[tdm1]))
        dd = day[resp] - s["resp_day"][resp] + 1
        v.update(km_stats("dor", dd, ev[resp], test[resp], arms))
        v.update(cox_stats("dor", dd, ev[resp], test[resp]))
        v.update({k.replace("dor.", "dors."): x for k, x in
                  cox_stats("dor", dd, ev[resp], test[resp], strata[resp]).items()})
        return v

    def subgroup_penalty(s: dict) -> float:
        pen = 0.0
        for m in sub_masks:
            for sel in (m, ~m):
                if sel.sum() < 4:
                    continue
                b, _ = cox_binary(risk_table(s["day"][sel], s["event"][sel], test[sel]))
                if not math.isfinite(b) or b > -0.02:
                    pen += 1.0 + max(0.0, b if math.isfinite(b) else 1.0) * 10
        return pen

    def evaluate(s: dict) -> float:
        base = t.loss(stats(s))
        return base + subgroup_penalty(s)

    def consistent(c: dict, i: int) -> bool:
        """The per-patient rules of the module docstring, for patient ``i``."""
        k, b, rv = c["kind"][i], c["bor"][i], c["resp_visit"][i]
        jit = c["jitter"][i]
        day = c["day"][i]
        first = nominal[0] + jit[0]
        if day > F[i] or day < 1:
            return False
        if k in (RECIST, CENS):
            v = c["visit"][i]
            if v < 0 or day != nominal[v] + jit[v]:
                return False
        if b == "MISSING":
            return k in (CLIN, DEATH) and 3 <= day < first
        if b == "PD":
            return k == RECIST and c["visit"][i] == 0
        if b in ("SD", "NON-CR/NON-PD"):
            if first < sd_min:
                return False
            return {RECIST: c["visit"][i] >= 1, CENS: True}.get(k, day > first)
        if b == "NE":
            return k != RECIST and (k == CENS or day > first)
        if b == "PR":
            if rv not in (0, 1) or c["resp_day"][i] != nominal[rv] + jit[rv]:
                return False
            return {RECIST: c["visit"][i] > rv, CENS: c["visit"][i] >= rv}.get(
                k, day > c["resp_day"][i])
        return True

    kmax = np.searchsorted(nominal - WINDOW, F, side="right") - 1
    rows = ("kind", "bor", "resp_visit", "resp_day", "visit", "day", "event")
    pool = np.arange(n)
    swap_share = 0.15

    def propose(s: dict, g: np.random.Generator) -> dict | None:
        c = {k: v.copy() for k, v in s.items()}
        i = int(g.choice(pool))
        move = g.random()
        touched = [i]
        if move < swap_share:
            # two patients of one arm and the same measurability exchange outcomes
            mates = (test == test[i]) & (meas == meas[i]) & (np.arange(n) != i)
            if c["resp_visit"][i] >= 0 and g.random() < 0.5:
                # towards a stratum where the other arm has responders too, which the
                # stratified duration-of-response analysis needs to compare the arms
                other = np.unique(strata[(c["resp_visit"] >= 0) & (test != test[i])])
                near = mates & np.isin(strata, other) & (c["resp_visit"] < 0)
                mates = near if near.any() else mates
            j = int(g.choice(np.flatnonzero(mates)))
            for key in rows:
                c[key][i], c[key][j] = c[key][j], c[key][i]
            c["jitter"][[i, j]] = c["jitter"][[j, i]]
            touched.append(j)
        elif move < swap_share + 0.1:
            if c["resp_visit"][i] < 0:
                return None
            rv = int(g.integers(0, 2))
            c["resp_visit"][i] = rv
            c["jitter"][i, rv] = int(g.integers(-WINDOW, WINDOW + 1))
            c["resp_day"][i] = nominal[rv] + c["jitter"][i, rv]
            if c["kind"][i] in (RECIST, CENS) and c["visit"][i] == rv:
                c["day"][i] = c["resp_day"][i]
        elif c["kind"][i] in (RECIST, CENS):
            r = g.random()
            if r < 0.2:
                # scans in one stratum on the same day: ties, as real schedules make them
                mates = np.flatnonzero((strata == strata[i]) & (c["visit"] >= 0)
                                       & (np.arange(n) != i))
                if mates.size == 0:
                    return None
                j = int(g.choice(mates))
                k = int(c["visit"][j])
                c["visit"][i] = k
                c["jitter"][i, k] = c["jitter"][j, k]
            elif r < 0.45:
                c["visit"][i] = int(c["visit"][i] + g.choice([-1, 1]))
            elif r < 0.6:
                c["visit"][i] = int(g.integers(0, max(1, min(kmax[i], 14)) + 1))
            k = int(c["visit"][i])
            if k < 0 or k >= nominal.size:
                return None
            if r >= 0.6:
                c["jitter"][i, k] = int(np.clip(c["jitter"][i, k] + g.integers(-3, 4),
                                                -WINDOW, WINDOW))
            c["day"][i] = nominal[k] + c["jitter"][i, k]
            if c["resp_visit"][i] == k:
                c["resp_day"][i] = c["day"][i]
        else:
            if g.random() < 0.3:
                c["day"][i] = int(g.integers(3, min(F[i], 700) + 1))
            else:
                c["day"][i] = int(c["day"][i] + g.integers(-20, 21))
        if not all(consistent(c, j) for j in touched):
            return None
        return c

    s = {"kind": state.kind.copy(), "bor": bor.copy(), "resp_visit": state.resp_visit.copy(),
         "resp_day": state.resp_day.copy(), "visit": state.visit.copy(),
         "day": state.day.astype(int), "jitter": state.jitter.copy(),
         "event": pfs_event(state)}
    bad = [i for i in range(n) if not consistent(s, i)]
    if bad:
        detail = [(s["bor"][i], s["kind"][i], s["visit"][i], s["day"][i], F[i],
                   s["resp_visit"][i]) for i in bad[:5]]
        raise RuntimeError(f"generated PFS outcomes break the rules for {len(bad)} patients: "
                           f"{detail}")
    # Stage 1, per arm: the Kaplan-Meier medians and limits (ITT, T-DM1 subgroup, DoR),
    # which depend on that arm's patients only.
    for arm, flag in zip(arms, (True, False), strict=True):
        arm_t = Targets({k: v for k, v in t.items.items() if k.split(".")[1] == arm})

        def arm_loss(st: dict, arm_t: Targets = arm_t) -> float:
            day, ev = st["day"], st["event"]
            resp = st["resp_visit"] >= 0
            v = {}
            v.update(km_stats("itt", day, ev, test, arms))
            v.update(km_stats("tdm1", day[tdm1], ev[tdm1], test[tdm1], arms))
            dd = day[resp] - st["resp_day"][resp] + 1
            v.update(km_stats("dor", dd, ev[resp], test[resp], arms))
            return arm_t.loss(v)

        pool = np.flatnonzero(test == flag)
        s, _, _ = search(s, arm_loss, propose, rng, max_steps // 6, t_start=1.0)
    # Stage 2, responders: duration-of-response hazard ratios, keeping everything else.
    pool = np.flatnonzero(meas & (s["bor"] == "PR") | (s["resp_visit"] >= 0))
    swap_share = 0.4
    s, _, _ = search(s, lambda st: t.loss(stats(st)), propose, rng, max_steps // 3,
                     t_start=0.5)
    # Stage 3, everything: hazard ratios, log-rank p values and the subgroups too.
    pool = np.arange(n)
    swap_share = 0.5
    s, loss, steps = search(s, evaluate, propose, rng, max_steps // 3, t_start=0.2)
    out = PfsState(kind=s["kind"], visit=s["visit"], day=s["day"], resp_visit=s["resp_visit"],
                   resp_day=s["resp_day"], jitter=s["jitter"])
    v = stats(s)
    report = {"loss": loss, "steps": steps, "misses": t.misses(v),
              "subgroup_penalty": subgroup_penalty(s), "values": v}
    return out, s["bor"], report


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
