"""Baseline characteristics: exact per-arm margins and the rules that tie them together."""

import numpy as np
import pytest

from crf.population import draw_arm
from crf.simulate import load_config


@pytest.fixture(scope="module")
def arms():
    cfg = load_config()
    rng = np.random.default_rng(3)
    return cfg, [draw_arm(rng, cfg, a, n) for a, n in enumerate((108, 109))]


def test_published_margins_are_exact(arms):
    cfg, (ptc, tc) = arms
    b = cfg.baseline
    for a, d in enumerate((ptc, tc)):
        assert int(d["er_pos"].sum()) == b.er_positive[a]
        assert int(d["visceral"].sum()) == b.visceral[a]
        assert int(d["met_lung"].sum()) == b.met_lung[a]
        assert int(d["met_liver"].sum()) == b.met_liver[a]
        assert int(d["met_bone"].sum()) == b.met_bone[a]
        assert int(d["met_brain"].sum()) == b.met_brain[a]
        assert int((d["ecog"] == 0).sum()) == b.ecog["0"][a]
        for k, v in b.prior_regimens.items():
            assert int((d["nreg"] == int(k)).sum()) == v[a]
        assert int(d["tdm1_any"].sum()) == b.tdm1_any[a]
        assert int(d["tdm1_latest"].sum()) == b.tdm1_latest[a]
        assert int(d["lapatinib"].sum()) == b.lapatinib[a]
        assert int(d["other_her2"].sum()) == b.other_anti_her2[a]
        first = d["pert_line"] == 1
        second = d["pert_line"] == 2
        assert int((first & d["pert_short"]).sum()) == b.pertuzumab_first_line.short[a]
        assert int((first & ~d["pert_short"]).sum()) == b.pertuzumab_first_line.long[a]
        assert int((second & d["pert_short"]).sum()) == b.pertuzumab_second_line.short[a]
        assert int((d["pert_line"] == 0).sum()) == b.pertuzumab_perioperative_only[a]


def test_age_median_min_max_are_exact(arms):
    cfg, (ptc, tc) = arms
    age = cfg.baseline.age
    for a, d in enumerate((ptc, tc)):
        assert np.median(d["age"]) == age.median[a]
        assert d["age"].min() == age.min[a]
        assert d["age"].max() == age.max[a]


def test_lung_liver_and_brain_metastases_are_visceral(arms):
    for d in arms[1]:
        assert not ((d["met_lung"] | d["met_liver"] | d["met_brain"]) & ~d["visceral"]).any()


def test_second_line_pertuzumab_leaves_a_later_line(arms):
    for d in arms[1]:
        assert (d.loc[d["pert_line"] == 2, "nreg"] >= 3).all()


def test_tdm1_latest_implies_tdm1_and_earlier_tdm1_has_a_free_line(arms):
    for d in arms[1]:
        assert not (d["tdm1_latest"] & ~d["tdm1_any"]).any()
        earlier = d["tdm1_any"] & ~d["tdm1_latest"]
        assert ((d.loc[earlier, "nreg"] >= 3) | (d.loc[earlier, "pert_line"] == 0)).all()
