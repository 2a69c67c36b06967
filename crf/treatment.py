"""Study treatment: when each patient starts, which cycles she gets, when and why she stops.

Treatment continues in 3-weekly cycles until progression, death, an intolerable adverse
event or withdrawal, so the number of cycles follows from the PFS outcome: a patient
stops on her progression (or death) day, on the day an adverse event leads to
discontinuation, or at withdrawal; a patient censored for PFS close to the cut-off is
still on treatment then. Some cycles are delayed a week, as real schedules are.

"Cycles on study treatment" counts the cycles in which a HER2 antibody (trastuzumab,
with pertuzumab in PTC) was given: one PTC patient reacted to the chemotherapy infused
first on cycle 1, day 1, never received the antibodies and stopped — the 0 in the
published range (0, 54).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crf.allocate import choose, scale_counts
from crf.efficacy import CENS, DEATH

CYCLE = 21


@dataclass
class Treatment:
    """Per ITT patient (index = row of the ITT frame), plus one row per cycle."""

    first_day: np.ndarray     # study day of the first dose; 0 when never treated
    stop_day: np.ndarray      # day of the decision to stop; 0 when ongoing at cut-off
    reason: np.ndarray        # EOT reason submission value, '' when ongoing/untreated
    ae_stop: np.ndarray       # stopped because of an adverse event
    no_antibody: np.ndarray   # the chemotherapy-only patient
    cycles: pd.DataFrame      # pid, cycle, day, antibody

    def n_cycles(self, n: int) -> np.ndarray:
        """Cycles with antibody per patient."""
        c = self.cycles[self.cycles["antibody"]]
        return np.bincount(c["pid"].to_numpy(), minlength=n)


def draw_treatment(rng: np.random.Generator, cfg: dict, df: pd.DataFrame, pfs_kind: np.ndarray,
                   pfs_day: np.ndarray, factor: float, calibrate: bool) -> Treatment:
    """First dose, stop day and reason, and the cycle calendar of every ITT patient."""
    n = len(df)
    arms = cfg["arms"]
    treated = df["treated"].to_numpy()
    F = df["F"].to_numpy()
    lo, hi = cfg["enrolment"]["randomisation_to_first_dose_days"]
    first = np.where(treated, 1 + rng.integers(lo, hi + 1, n), 0)
    # nobody is dosed after her progression or death
    first = np.where(treated & (pfs_kind != CENS), np.minimum(first, pfs_day - 1), first)
    first = np.where(treated, np.maximum(first, 2), 0)
    reason = np.full(n, "", dtype=object)
    stop = np.zeros(n, dtype=int)
    event = pfs_kind != CENS
    reason[treated & event] = "PROGRESSIVE DISEASE"
    reason[treated & (pfs_kind == DEATH)] = "DEATH"
    stop[treated & event] = pfs_day[treated & event]
    # censored for PFS: still on treatment if censored near the cut-off, else stopped
    ongoing = treated & ~event & (pfs_day >= F - 75)
    early = treated & ~event & ~ongoing
    reason[early] = np.where(rng.random(n) < 0.5, "WITHDRAWAL BY SUBJECT",
                             "PHYSICIAN DECISION")[early]
    stop[early] = pfs_day[early]

    ae_stop = np.zeros(n, dtype=bool)
    no_ab = np.zeros(n, dtype=bool)
    for a, arm in enumerate(arms):
        sel = (df["arm"] == arm).to_numpy() & treated
        k = scale_counts([cfg["exposure"]["ae_discontinuation"][a]], factor)[0]
        room = sel & (pfs_kind != DEATH) & ((np.where(stop > 0, stop, F) - first) > 45)
        pick = choose(rng, room, min(k, int(room.sum())))
        ae_stop |= pick
        if cfg["exposure"]["cycles"]["min"][a] == 0 and pick.any():
            no_ab[int(rng.choice(np.flatnonzero(pick)))] = True
    end = np.where(stop > 0, stop, F)
    new_stop = first + 14 + (rng.random(n) * (end - first - 30)).astype(int)
    new_stop = np.where(no_ab, first + 2, new_stop)
    stop = np.where(ae_stop, new_stop, stop)
    reason[ae_stop] = "ADVERSE EVENT"

    delay_p = np.where(df["arm"].to_numpy() == arms[0], 0.16, 0.16)
    cycles = _calendar(rng, first, np.where(stop > 0, stop, F + 1), treated, delay_p)
    cycles["antibody"] = ~no_ab[cycles["pid"].to_numpy()]
    tr = Treatment(first_day=first, stop_day=stop, reason=reason, ae_stop=ae_stop,
                   no_antibody=no_ab, cycles=cycles)
    if calibrate:
        tr = _calibrate_cycles(rng, cfg, df, tr)
    return tr


def _calendar(rng: np.random.Generator, first: np.ndarray, until: np.ndarray,
              treated: np.ndarray, delay_p: np.ndarray) -> pd.DataFrame:
    """Cycle start days: every 21 days from the first dose, a week later when delayed,
    for as long as the start falls before ``until``."""
    pid = np.flatnonzero(treated)
    n_max = np.maximum(1, (until[pid] - first[pid]) // CYCLE + 1)
    rep = np.repeat(pid, n_max)
    gap = np.where(rng.random(rep.size) < delay_p[rep], CYCLE + 7, CYCLE)
    starts = np.r_[0, np.cumsum(n_max)[:-1]]
    within = np.arange(rep.size) - np.repeat(starts, n_max)
    gap[within == 0] = 0
    offset = np.cumsum(gap)
    offset -= np.repeat(offset[starts], n_max)
    day = first[rep] + offset
    keep = (day < until[rep]) | (within == 0)
    out = pd.DataFrame({"pid": rep[keep], "cycle": within[keep] + 1, "day": day[keep]})
    return out.reset_index(drop=True)


def _calibrate_cycles(rng: np.random.Generator, cfg: dict, df: pd.DataFrame,
                      tr: Treatment) -> Treatment:
    """Set the number of cycles of a few patients so the published median, minimum and
    maximum per arm hold: stop a long-treated patient at the maximum, and re-draw the
    week delays of patients beside the median until the median is right."""
    n = len(df)
    cyc = cfg["exposure"]["cycles"]
    safety = df["safety"].to_numpy()
    counts = tr.n_cycles(n)
    for a, arm in enumerate(cfg["arms"]):
        sel = (df["arm"] == arm).to_numpy() & safety
        # maximum: the longest-treated patient gets exactly the published maximum
        longest = int(np.flatnonzero(sel)[np.argmax(counts[sel])])
        over = sel & (counts > cyc["max"][a])
        for i in np.flatnonzero(over):
            _set_cycles(tr, i, cyc["max"][a] - (0 if i == longest else 1 + int(rng.integers(4))),
                        "PHYSICIAN DECISION")
        counts = tr.n_cycles(n)
        if counts[longest] < cyc["max"][a]:
            raise RuntimeError(f"{arm}: no patient is treated long enough for "
                               f"{cyc['max'][a]} cycles")
        # median: move patients across it one at a time
        target = cyc["median"][a]
        for _ in range(400):
            counts = tr.n_cycles(n)
            med = float(np.median(counts[sel]))
            if med == target:
                break
            side = counts[sel] == (int(np.ceil(med)) if med > target else int(np.floor(med)))
            cand = np.flatnonzero(sel)[side & ~tr.no_antibody[sel]]
            i = int(rng.choice(cand))
            _set_cycles(tr, i, counts[i] - 1 if med > target else counts[i] + 1, None)
        else:
            raise RuntimeError(f"{arm}: cycles median did not reach {target}")
    return tr


def _set_cycles(tr: Treatment, i: int, k: int, reason: str | None) -> None:
    """Give patient ``i`` exactly ``k`` antibody cycles, keeping her stop day unless a new
    stop (``reason``) is declared: fewer cycles by week delays, more by removing them."""
    c = tr.cycles
    rows = c.index[c["pid"] == i]
    days = c.loc[rows, "day"].to_numpy()
    until = tr.stop_day[i] if tr.stop_day[i] > 0 else None
    if reason is not None and k < len(rows):
        tr.stop_day[i] = int(days[k] + 7)
        tr.reason[i] = reason
        tr.cycles = c.drop(rows[k:]).reset_index(drop=True)
        return
    first = tr.first_day[i]
    limit = until if until is not None else days[-1] + CYCLE
    # regular 21-day spacing with the delays spread evenly to fit k starts before limit
    span = max(limit - 1 - first, 0)
    if k <= 0:
        return
    need_delays = max(0, int(np.ceil((span - (k - 1) * CYCLE - CYCLE + 1) / 7))) if k > 1 else 0
    if k > 1 and (k - 1) * CYCLE > span:
        return  # cannot fit more cycles before the stop day
    need_delays = min(need_delays, k - 1)
    gaps = np.full(k - 1, CYCLE)
    if need_delays:
        gaps[np.linspace(0, k - 2, need_delays).astype(int)] += 7
    new_days = first + np.r_[0, np.cumsum(gaps)]
    if until is not None and new_days[-1] >= until:
        return
    keep = c.drop(rows)
    add = pd.DataFrame({"pid": i, "cycle": np.arange(1, k + 1), "day": new_days,
                        "antibody": True})
    tr.cycles = pd.concat([keep, add], ignore_index=True).sort_values(
        ["pid", "cycle"], kind="stable").reset_index(drop=True)


def qol_visit_days(tr: Treatment, n: int, F: np.ndarray) -> list[np.ndarray]:
    """Post-baseline questionnaire days: day 1 of every cycle from cycle 2, and the
    end-of-treatment visit a week after stopping (if before the cut-off)."""
    c = tr.cycles[tr.cycles["cycle"] >= 2]
    by = c.groupby("pid")["day"].apply(np.asarray)
    out: list[np.ndarray] = []
    for i in range(n):
        days = by.get(i, np.array([], dtype=int))
        if tr.stop_day[i] > 0 and tr.first_day[i] > 0 and tr.stop_day[i] + 7 <= F[i]:
            days = np.r_[days, tr.stop_day[i] + 7]
        out.append(np.unique(days.astype(int)))
    return out
