"""Randomisation by minimisation (Pocock-Simon) with Mersenne Twister random numbers.

For each new patient, the imbalance an allocation to each arm would cause is the sum,
over the stratification factors, of the absolute difference between the arms' counts
at the patient's level of that factor. The arm with the smaller imbalance is chosen
with probability ``p_preferred``; ties are split 1:1. The uniform random numbers come
from Python's :class:`random.Random` (MT19937), as the PRECIOUS protocol describes.

The allocation is sequential by nature — each patient's arm depends on everyone
before — so :func:`minimise` loops over patients; the work per patient is constant.
"""

from __future__ import annotations

import random

import numpy as np

N_ARMS = 2


def _choose_arm(counts: np.ndarray, levels: np.ndarray, u: float, p_preferred: float) -> int:
    """Arm (0 or 1) for a patient at ``levels``, given the counts so far and one uniform."""
    f = np.arange(levels.size)
    c = counts[f, levels]            # shape (factors, arms)
    imb0 = np.abs(c[:, 0] + 1 - c[:, 1]).sum()
    imb1 = np.abs(c[:, 1] + 1 - c[:, 0]).sum()
    if imb0 == imb1:
        return 0 if u < 0.5 else 1
    preferred = 0 if imb0 < imb1 else 1
    return preferred if u < p_preferred else 1 - preferred


def minimise(factors: np.ndarray, seed: int, p_preferred: float = 0.8,
             n_levels: int = 2) -> np.ndarray:
    """Allocate patients, in the given order, to arm 0 or 1 by minimisation.

    Parameters
    ----------
    factors : (n, f) integer array of factor levels (0 .. n_levels-1), in enrolment order.
    seed : seed of the Mersenne Twister stream.

    Examples
    --------
    >>> minimise(np.array([[0, 1], [0, 1], [1, 0]]), seed=1).tolist()
    [0, 1, 0]
    """
    factors = np.asarray(factors, dtype=int)
    mt = random.Random(seed)
    counts = np.zeros((factors.shape[1], n_levels, N_ARMS), dtype=int)
    arms = np.empty(factors.shape[0], dtype=int)
    f = np.arange(factors.shape[1])
    for i, levels in enumerate(factors):
        a = _choose_arm(counts, levels, mt.random(), p_preferred)
        counts[f, levels, a] += 1
        arms[i] = a
    return arms


def enrolment_order(factors: np.ndarray, arms: np.ndarray, seed: int,
                    p_preferred: float = 0.8, n_levels: int = 2,
                    shuffle_seed: int = 0, max_restarts: int = 200) -> np.ndarray:
    """An enrolment order in which minimisation allocates every patient to ``arms``.

    The simulator draws each arm's patients with exact per-arm margins, then needs an
    order of arrival under which the minimisation algorithm, fed the same Mersenne
    Twister stream as :func:`minimise`, reproduces those arms. At each step it takes
    the next uniform number and picks at random one of the remaining patients whose
    allocation by that number would be their own arm. Returns indices into ``factors``.
    """
    factors = np.asarray(factors, dtype=int)
    arms = np.asarray(arms, dtype=int)
    n, nf = factors.shape
    f = np.arange(nf)
    profile = factors @ (n_levels ** np.arange(nf))
    for attempt in range(max_restarts):
        mt = random.Random(seed)
        rng = np.random.default_rng([shuffle_seed, attempt])
        counts = np.zeros((nf, n_levels, N_ARMS), dtype=int)
        remaining = np.ones(n, dtype=bool)
        order = np.empty(n, dtype=int)
        ok = True
        for step in range(n):
            u = mt.random()
            cand = np.flatnonzero(remaining)
            # one decision per distinct (profile, arm) group among those remaining
            keys, first = np.unique(profile[cand] * N_ARMS + arms[cand], return_index=True)
            fits = np.array([_choose_arm(counts, factors[cand[j]], u, p_preferred)
                             == arms[cand[j]] for j in first])
            if not fits.any():
                ok = False
                break
            good_keys = keys[fits]
            pool = cand[np.isin(profile[cand] * N_ARMS + arms[cand], good_keys)]
            pick = int(rng.choice(pool))
            order[step] = pick
            remaining[pick] = False
            counts[f, factors[pick], arms[pick]] += 1
        if ok:
            return order
    raise RuntimeError("no enrolment order reproduces the allocation; "
                       "the per-arm margins are too unbalanced for minimisation")
