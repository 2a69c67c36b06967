"""Exact allocation helpers."""

import numpy as np
import pytest

from crf.allocate import choose, scale_counts, shuffled_labels


def test_scale_counts_keeps_the_total_proportional():
    assert scale_counts([110, 109], 1.0) == [110, 109]
    assert scale_counts([110, 109], 10.0) == [1100, 1090]
    assert sum(scale_counts([3, 3, 3], 0.5)) == 4 or sum(scale_counts([3, 3, 3], 0.5)) == 5


def test_choose_picks_exactly_k_of_the_eligible():
    rng = np.random.default_rng(0)
    eligible = np.array([True, False, True, True, False, True])
    mask = choose(rng, eligible, 3)
    assert mask.sum() == 3
    assert not (mask & ~eligible).any()


def test_choose_refuses_more_than_eligible():
    with pytest.raises(ValueError, match="cannot choose 3 of 2"):
        choose(np.random.default_rng(0), np.array([True, True, False]), 3)


def test_shuffled_labels_has_the_counts():
    labels = shuffled_labels(np.random.default_rng(0), {"a": 2, "b": 3})
    assert sorted(labels.tolist()) == ["a", "a", "b", "b", "b"]
