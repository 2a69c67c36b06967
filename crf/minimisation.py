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
    The second patient's preferred arm is 1 (it balances both factors), but its draw
    (0.85) is over ``p_preferred``, so it gets arm 0; the third ties and draws 0.76:

    >>> minimise(np.array([[0, 1], [0, 1], [1, 0]]), seed=1).tolist()
    [0, 0, 1]
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
                    shuffle_seed: int = 0, max_restarts: int = 500) -> tuple[np.ndarray, int]:
    """An enrolment order in which minimisation allocates every patient to ``arms``.

    The simulator draws each arm's patients with exact per-arm margins, then needs an
    order of arrival under which the minimisation algorithm, fed the same Mersenne
    Twister stream as :func:`minimise`, reproduces those arms. At each step it takes
    the next uniform number and picks one of the remaining patients whose allocation by
    that number would be their own arm — among those, one that brings the arms' margins
    closest to where they must end (so that the few allocations against the preferred
    arm are spent early, where they are needed, rather than found missing at the end);
    ties are broken at random. Patients are handled as groups of equal (factor levels,
    arm), so a step costs the number of groups, not patients. Returns indices into
    ``factors``, and the seed of the Mersenne Twister stream that reproduces the
    allocation: ``seed`` itself, or the first of ``seed + 1``, ``seed + 2``... under which
    such an order exists (some streams ask for more allocations against the preferred
    arm than the margins allow).
    """
    factors = np.asarray(factors, dtype=int)
    arms = np.asarray(arms, dtype=int)
    n, nf = factors.shape
    f = np.arange(nf)
    group = (factors @ (n_levels ** np.arange(nf))) * N_ARMS + arms
    keys, inverse = np.unique(group, return_inverse=True)
    key_levels = factors[np.unique(inverse, return_index=True)[1]]
    key_arms = keys % N_ARMS
    final = np.zeros((nf, n_levels, N_ARMS), dtype=int)
    np.add.at(final, (np.tile(f, n), factors.ravel(), np.repeat(arms, nf)), 1)
    final_diff = final[..., 0] - final[..., 1]
    for attempt in range(max_restarts):
        mt = random.Random(seed + attempt)
        rng = np.random.default_rng([shuffle_seed, attempt])
        members = [list(rng.permutation(np.flatnonzero(inverse == g))) for g in range(keys.size)]
        left = np.array([len(m) for m in members])
        counts = np.zeros((nf, n_levels, N_ARMS), dtype=int)
        order = np.empty(n, dtype=int)
        ok = True
        for step in range(n):
            u = mt.random()
            live = np.flatnonzero(left > 0)
            fits = [g for g in live
                    if _choose_arm(counts, key_levels[g], u, p_preferred) == key_arms[g]]
            if not fits:
                ok = False
                break
            fits = np.asarray(fits)
            sign = np.where(key_arms[fits] == 0, 1, -1)
            diff = counts[..., 0] - counts[..., 1]
            need = np.abs(final_diff - diff).sum()
            lv = key_levels[fits]
            before = np.abs(final_diff[f, lv] - diff[f, lv]).sum(axis=1)
            after = np.abs(final_diff[f, lv] - diff[f, lv] - sign[:, None]).sum(axis=1)
            score = need - before + after
            best = fits[score == score.min()]
            g = int(rng.choice(best, p=left[best] / left[best].sum()))
            pick = members[g].pop()
            left[g] -= 1
            order[step] = pick
            counts[f, key_levels[g], key_arms[g]] += 1
        if ok:
            return order, seed + attempt
    raise RuntimeError("no enrolment order reproduces the allocation; "
                       "the per-arm margins are too unbalanced for minimisation")
