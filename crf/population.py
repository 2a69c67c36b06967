"""Who the patients are: baseline characteristics and analysis-population membership.

Each arm's patients are drawn with exact per-arm margins (see :mod:`crf.allocate`),
respecting how the characteristics depend on each other: lung, liver and brain
metastases are visceral; a pertuzumab regimen given second-line needs at least three
prior regimens (the latest regimen must not contain pertuzumab); T-DM1 as the latest
regimen implies T-DM1 exposure; lapatinib and other anti-HER2 agents need a free
regimen line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crf.allocate import choose, scale_counts, shuffled_labels
from crf.config import SimulationConfig


def _per_arm(value: Any, arm: int, factor: float) -> int:
    return scale_counts([value[arm]], factor)[0] if factor != 1.0 else int(value[arm])


def _age(rng: np.random.Generator, n: int, median: float, lo: int, hi: int,
         sd: float) -> np.ndarray:
    """Ages with the published median, minimum and maximum holding exactly."""
    age = np.sort(np.clip(np.round(rng.normal(median, sd, n)), lo, hi).astype(int))
    if n >= 3:
        mid = n // 2
        low_end = mid if n % 2 else mid - 1
        age[low_end: mid + 1] = median
        age[:low_end] = np.minimum(age[:low_end], median)
        age[mid + 1:] = np.maximum(age[mid + 1:], median)
        age[0], age[-1] = lo, hi
    return rng.permutation(age)


def draw_arm(rng: np.random.Generator, cfg: SimulationConfig, arm: int, n_itt: int,
             factor: float = 1.0) -> pd.DataFrame:
    """Baseline characteristics of one arm's ITT patients, margins exact."""
    b = cfg.baseline

    def k(value: Any) -> int:
        return scale_counts([value[arm]], factor)[0]

    n = n_itt
    df = pd.DataFrame(index=range(n))
    df["age"] = _age(rng, n, b.age.median[arm], b.age.min[arm],
                     b.age.max[arm], b.age.sd[arm])
    ecog_counts = {int(e): k(v) for e, v in b.ecog.items()}
    df["ecog"] = _fit_labels(rng, ecog_counts, n)
    df["er_pos"] = choose(rng, np.ones(n, bool), min(k(b.er_positive), n))
    df["pgr_pos"] = df["er_pos"] & (rng.random(n) < b.pgr_positive_given_er)
    vis = choose(rng, np.ones(n, bool), min(k(b.visceral), n))
    df["visceral"] = vis
    df["met_lung"] = choose(rng, vis, min(k(b.met_lung), int(vis.sum())))
    df["met_liver"] = choose(rng, vis, min(k(b.met_liver), int(vis.sum())))
    df["met_brain"] = choose(rng, vis, min(k(b.met_brain), int(vis.sum())))
    df["met_bone"] = choose(rng, np.ones(n, bool), min(k(b.met_bone), n))
    df["met_ln"] = rng.random(n) < b.met_lymph_node_p
    # visceral disease at another organ (pleura, peritoneum, adrenal...) when none above
    df["met_other"] = vis & ~(df["met_lung"] | df["met_liver"] | df["met_brain"]).to_numpy()
    df.loc[~df["visceral"] & ~df["met_bone"] & ~df["met_ln"], "met_ln"] = True

    nreg_counts = {int(r): k(v) for r, v in b.prior_regimens.items()}
    df["nreg"] = _fit_labels(rng, nreg_counts, n)
    nreg = df["nreg"].to_numpy()
    # pertuzumab history: second line needs >= 3 regimens; the rest first line or periop
    p1 = b.pertuzumab_first_line
    p2 = b.pertuzumab_second_line
    n_second = k(p2.short) + k(p2.long)
    n_periop = k(b.pertuzumab_perioperative_only)
    second = choose(rng, nreg >= 3, min(n_second, int((nreg >= 3).sum())))
    periop = choose(rng, ~second, n_periop)
    first = ~second & ~periop
    short = np.zeros(n, bool)
    short |= choose(rng, second, min(k(p2.short), int(second.sum())))
    short |= choose(rng, first, min(k(p1.short), int(first.sum())))
    df["pert_line"] = np.where(second, 2, np.where(periop, 0, 1))
    df["pert_short"] = short

    tdm1_any = choose(rng, np.ones(n, bool), min(k(b.tdm1_any), n))
    df["tdm1_any"] = tdm1_any
    # T-DM1 given before the latest line needs a free earlier line: with pertuzumab in
    # line 1 or 2, at least three regimens
    earlier_room = tdm1_any & ((nreg >= 3) | periop)
    n_not_latest = int(tdm1_any.sum()) - min(k(b.tdm1_latest), int(tdm1_any.sum()))
    not_latest = choose(rng, earlier_room, min(n_not_latest, int(earlier_room.sum())))
    df["tdm1_latest"] = tdm1_any & ~not_latest
    # free regimen lines for lapatinib / other anti-HER2 agents
    used = (df["pert_line"] > 0).astype(int) + df["tdm1_any"].astype(int)
    free = nreg - used.to_numpy()
    lap = choose(rng, free >= 1, min(k(b.lapatinib), int((free >= 1).sum())))
    free2 = free - lap
    oth = choose(rng, free2 >= 1, min(k(b.other_anti_her2), int((free2 >= 1).sum())))
    df["lapatinib"] = lap
    df["other_her2"] = oth
    df["her2_ihc3"] = rng.random(n) < b.her2_ihc3_p
    return df


def _fit_labels(rng: np.random.Generator, counts: dict[Any, int], n: int) -> np.ndarray:
    """Shuffled labels whose counts are adjusted (largest first) to sum to n."""
    counts = dict(counts)
    diff = n - sum(counts.values())
    if diff:
        top = max(counts, key=counts.get)
        counts[top] += diff
    return shuffled_labels(rng, counts)


def stratum_code(df: pd.DataFrame) -> np.ndarray:
    """Randomisation stratum (0..15) from the four stratification factors."""
    return (df["er_pos"].astype(int).to_numpy() * 8
            + df["pert_short"].astype(int).to_numpy() * 4
            + (df["nreg"].to_numpy() >= 3).astype(int) * 2
            + df["visceral"].astype(int).to_numpy())
