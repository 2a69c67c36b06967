"""Exact allocation: characteristics drawn as shuffled lists with fixed counts.

Drawing each characteristic as an exact allocation (rather than independent Bernoulli
draws) keeps every published margin exact while the joint distribution stays random.
"""

from __future__ import annotations

import numpy as np


def scale_counts(counts: list[int] | tuple[int, ...], factor: float) -> list[int]:
    """Scale integer counts by ``factor`` keeping their sum's proportion (largest remainder)."""
    raw = np.asarray(counts, dtype=float) * factor
    out = np.floor(raw).astype(int)
    short = int(round(raw.sum())) - int(out.sum())
    if short > 0:
        order = np.argsort(-(raw - out), kind="stable")
        out[order[:short]] += 1
    return out.tolist()


def choose(rng: np.random.Generator, eligible: np.ndarray, k: int,
           weights: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask selecting exactly ``k`` of the ``eligible`` positions at random.

    Raises ValueError when fewer than ``k`` are eligible: the margins contradict each
    other, and silently taking fewer would break a published count.
    """
    idx = np.flatnonzero(eligible)
    if k > idx.size:
        raise ValueError(f"cannot choose {k} of {idx.size} eligible subjects")
    p = None
    if weights is not None:
        w = np.asarray(weights, dtype=float)[idx]
        p = w / w.sum()
    picked = rng.choice(idx, size=k, replace=False, p=p) if k else np.array([], dtype=int)
    mask = np.zeros(eligible.size, dtype=bool)
    mask[picked] = True
    return mask


def shuffled_labels(rng: np.random.Generator, counts: dict[object, int]) -> np.ndarray:
    """An array with each label repeated its count, in random order."""
    labels = np.concatenate([np.repeat(np.array([k], dtype=object), v)
                             for k, v in counts.items()]) if counts else np.array([])
    return rng.permutation(labels)
