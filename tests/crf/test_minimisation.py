"""Randomisation by minimisation: the rule, the Mersenne Twister stream, the balance."""

import random

import numpy as np
import pytest

from crf.minimisation import enrolment_order, minimise


def test_first_patient_is_a_tie_split_by_the_first_uniform():
    seed = 11
    u = random.Random(seed).random()
    arms = minimise(np.array([[0, 1, 0, 1]]), seed=seed)
    assert arms.tolist() == [0 if u < 0.5 else 1]


def test_second_identical_patient_goes_to_the_other_arm_when_preferred_always():
    arms = minimise(np.array([[1, 0], [1, 0]]), seed=3, p_preferred=1.0)
    assert arms[0] != arms[1]


def test_preferred_arm_taken_only_with_its_probability():
    # after one patient in arm 0 at levels (0, 0), an identical patient prefers arm 1;
    # with p_preferred = 0 the non-preferred arm 0 is always chosen
    first = minimise(np.array([[0, 0]]), seed=5, p_preferred=0.0)[0]
    both = minimise(np.array([[0, 0], [0, 0]]), seed=5, p_preferred=0.0)
    assert both[1] == first


def test_same_seed_same_allocation_and_other_seed_differs():
    f = np.random.default_rng(0).integers(0, 2, (300, 4))
    assert (minimise(f, seed=1) == minimise(f, seed=1)).all()
    assert (minimise(f, seed=1) != minimise(f, seed=2)).any()


def test_minimisation_balances_every_factor_level_far_better_than_chance():
    n = 2000
    f = np.random.default_rng(1).integers(0, 2, (n, 4))
    arms = minimise(f, seed=7)
    assert abs(int((arms == 0).sum()) - n // 2) <= 4
    for j in range(4):
        for level in (0, 1):
            sel = f[:, j] == level
            diff = abs(int((arms[sel] == 0).sum()) - int((arms[sel] == 1).sum()))
            # simple randomisation would give differences of order sqrt(n/2) ~ 32
            assert diff <= 10, (j, level, diff)


def _two_arms(rng, n0, n1, p0, p1):
    def block(k, ps):
        return np.column_stack([rng.permutation((np.arange(k) < round(k * p)).astype(int))
                                for p in ps])
    return (np.vstack([block(n0, p0), block(n1, p1)]),
            np.r_[np.zeros(n0, int), np.ones(n1, int)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_enrolment_order_is_one_under_which_minimisation_gives_the_arms(seed):
    rng = np.random.default_rng(seed)
    factors, arms = _two_arms(rng, 110, 109, [0.54, 0.21, 0.43, 0.67], [0.59, 0.2, 0.4, 0.69])
    order, mt_seed = enrolment_order(factors, arms, seed=100 + seed)
    assert sorted(order.tolist()) == list(range(219))
    assert (minimise(factors[order], seed=mt_seed) == arms[order]).all()
