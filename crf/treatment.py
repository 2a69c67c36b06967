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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crf.allocate import choose, scale_counts
from crf.config import SimulationConfig
from crf.endpoints.shared import CENS, DEATH

CYCLE = 21
# adverse-event stops come after at least this many days on treatment where possible
LATE_STOP = 150


@dataclass
class Treatment:
    """Per ITT patient (index = row of the ITT frame), plus one row per cycle."""

    first_day: np.ndarray     # study day of the first dose; 0 when never treated
    stop_day: np.ndarray      # day of the decision to stop; 0 when ongoing at cut-off
    reason: np.ndarray        # EOT reason submission value, '' when ongoing/untreated
    ae_stop: np.ndarray       # stopped because of an adverse event
    no_antibody: np.ndarray   # the chemotherapy-only patient
    cycles: pd.DataFrame      # pid, cycle, day, antibody
    misses: dict = field(default_factory=dict)  # calibration targets not reached

    def n_cycles(self, n: int) -> np.ndarray:
        """Cycles with antibody per patient."""
        c = self.cycles[self.cycles["antibody"]]
        return np.bincount(c["pid"].to_numpy(), minlength=n)


def draw_treatment(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame,
                   pfs_kind: np.ndarray, pfs_day: np.ndarray, factor: float,
                   calibrate: bool) -> Treatment:
    """First dose, stop day and reason, and the cycle calendar of every ITT patient."""
    n = len(df)
    arms = cfg.arms
    treated = df["treated"].to_numpy()
    F = df["F"].to_numpy()
    lo, hi = cfg.enrolment.randomisation_to_first_dose_days
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
    # they stop between their last scan (the PFS censoring day) and the next one
    stop[early] = np.minimum(pfs_day + rng.integers(7, 56, n), F)[early]

    ae_stop = np.zeros(n, dtype=bool)
    no_ab = np.zeros(n, dtype=bool)
    end = np.where(stop > 0, stop, F + 1)
    for a, arm in enumerate(arms):
        sel = (df["arm"] == arm).to_numpy() & treated
        k = scale_counts([cfg.exposure.ae_discontinuation[a]], factor)[0]
        # the patient treated longest in each arm gives the published maximum of cycles:
        # no adverse event stops her
        longest = np.flatnonzero(sel)[np.argmax((end - first)[sel])] if sel.any() else -1
        room = sel & (pfs_kind != DEATH) & ((end - first) > 45) & (np.arange(n) != longest)
        # stops for toxicity come after months of treatment, when it has accumulated
        # (and so leave the cycle distribution's middle to progression)
        late = room & ((end - first) > LATE_STOP + 30)
        pick = choose(rng, late, min(k, int(late.sum())))
        pick |= choose(rng, room & ~pick, min(k - int(pick.sum()), int((room & ~pick).sum())))
        ae_stop |= pick
        if cfg.exposure.cycles.min[a] == 0 and pick.any():
            no_ab[int(rng.choice(np.flatnonzero(pick)))] = True
    # an adverse event stops treatment late more often than early (toxicity accumulates)
    lo = np.where((end - first) > LATE_STOP + 30, first + LATE_STOP, first + 14)
    new_stop = lo + (rng.random(n) * np.maximum(end - 1 - lo, 1)).astype(int)
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


def _calibrate_cycles(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame,
                      tr: Treatment) -> Treatment:
    """Set the number of cycles of a few patients so the published median, minimum and
    maximum per arm hold: the longest-treated patient gets exactly the maximum (her week
    delays removed if needed), anyone above it stops there, and patients beside the
    median gain or lose their last cycle (a hold before stopping, or no delays) until
    the median is right."""
    n = len(df)
    cyc = cfg.exposure.cycles
    safety = df["safety"].to_numpy()
    limit = np.where(tr.stop_day > 0, tr.stop_day, df["F"].to_numpy() + 1)
    for a, arm in enumerate(cfg.arms):
        sel = (df["arm"] == arm).to_numpy() & safety
        top = cyc.max[a]
        counts = tr.n_cycles(n)
        longest = int(np.flatnonzero(sel)[np.argmax((limit - tr.first_day)[sel])])
        for i in np.flatnonzero(sel & (counts > top)):
            if i != longest:
                _set_cycles(tr, i, top - 1 - int(rng.integers(4)), limit[i])
                tr.stop_day[i] = int(tr.cycles.loc[tr.cycles["pid"] == i, "day"].max() + 21)
                tr.reason[i] = "PHYSICIAN DECISION"
                limit[i] = tr.stop_day[i]
        if not _set_cycles(tr, longest, top, limit[longest]):
            raise RuntimeError(f"{arm}: no patient is treated long enough for {top} cycles")
        target = cyc.median[a]
        for _ in range(2000):
            counts = tr.n_cycles(n)
            med = float(np.median(counts[sel]))
            if med == target:
                break
            # move one patient from the short side of the median onto the target
            if med < target:
                side = (counts < target) & (limit - 1 - CYCLE * (target - 1) >= 2)
            else:
                side = counts > target
            cand = np.flatnonzero(sel & side & ~tr.no_antibody & (np.arange(n) != longest))
            if cand.size == 0:
                break
            # the nearest first, so the distribution changes as little as possible
            gap = np.abs(counts[cand] - target)
            i = int(rng.choice(cand[gap == gap.min()]))
            _set_cycles(tr, i, int(target), limit[i])
        counts = tr.n_cycles(n)
        tr.misses[f"{arm}.cycles_median"] = (float(np.median(counts[sel])), float(target))
        if tr.misses[f"{arm}.cycles_median"][0] == target:
            del tr.misses[f"{arm}.cycles_median"]
    return tr


def _set_cycles(tr: Treatment, i: int, k: int, limit: int) -> bool:
    """Give patient ``i`` exactly ``k`` cycles starting before study day ``limit``.

    Fewer: her first ``k`` cycles are kept (treatment held before stopping). More: every
    21 days from the first dose, without delays, the first dose moved earlier (not before
    study day 2) if needed — possible only if the k-th start then falls before
    ``limit``. Returns whether it could be done.
    """
    c = tr.cycles
    rows = c.index[c["pid"] == i]
    days = c.loc[rows, "day"].to_numpy()
    if k < 1:
        return False
    if k <= days.size:
        new_days = days[:k]
    else:
        # without delays, and with the first dose as early as the protocol allows
        # (the day after randomisation) if that is what it takes
        first = tr.first_day[i]
        if first + CYCLE * (k - 1) >= limit:
            first = max(2, int(limit) - 1 - CYCLE * (k - 1))
        new_days = first + CYCLE * np.arange(k)
        if new_days[-1] >= limit:
            return False
        tr.first_day[i] = first
    antibody = bool(c.loc[rows, "antibody"].iloc[0]) if rows.size else True
    add = pd.DataFrame({"pid": i, "cycle": np.arange(1, k + 1), "day": new_days,
                        "antibody": antibody})
    tr.cycles = pd.concat([c.drop(rows), add], ignore_index=True).sort_values(
        ["pid", "cycle"], kind="stable").reset_index(drop=True)
    return True


def qol_visit_days(tr: Treatment, n: int, F: np.ndarray) -> list[np.ndarray]:
    """Post-baseline questionnaire days: day 1 of every cycle from cycle 2, and the
    end-of-treatment visit a week after stopping (if before the cut-off; not after a
    death)."""
    c = tr.cycles[tr.cycles["cycle"] >= 2]
    by = c.groupby("pid")["day"].apply(np.asarray)
    out: list[np.ndarray] = []
    for i in range(n):
        days = by.get(i, np.array([], dtype=int))
        if (tr.stop_day[i] > 0 and tr.first_day[i] > 0 and tr.stop_day[i] + 7 <= F[i]
                and tr.reason[i] != "DEATH"):
            days = np.r_[days, tr.stop_day[i] + 7]
        out.append(np.unique(days.astype(int)))
    return out
