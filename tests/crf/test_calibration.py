"""The calibration step: rounding, distance, acceptance, per-patient rules, short runs.

The full-size reproduction (every published number at printed precision) is tested with
the whole pipeline; these are the small, fast checks of the pieces.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crf.calibrate import Problem, Targets, accept, distance, rounded, se_window, search, slack
from crf.config import load_config
from crf.endpoints.os import draw_os, os_consistent
from crf.endpoints.pfs import (
    PfsProblem,
    calibrate_pfs,
    draw_best_response,
    draw_pfs,
    pfs_consistent,
    pfs_targets,
)
from crf.endpoints.shared import (
    B_MISSING,
    B_PD,
    B_PR,
    B_SD,
    K_CENS,
    K_CLIN,
    K_DEATH,
    K_RECIST,
)
from crf.endpoints.ttd import calibrate_ttd
from crf.population import draw_arm, stratum_code
from crf.schedule import tumour_nominal_days
from trialflow.stats import round_half_up

# ---------------------------------------------------------------- rounding and distance


@pytest.mark.parametrize("x, d, expected", [
    (2.675, 2, 2.68), (0.125, 2, 0.13), (0.9665, 3, 0.967), (0.96649999, 3, 0.966),
    (-0.125, 2, -0.13), (4.15, 1, 4.2), (0.0, 1, 0.0), (28.75, 1, 28.8)])
def test_rounded_is_sas_round_half_up(x: float, d: int, expected: float) -> None:
    assert rounded(x, d) == expected


def test_rounded_agrees_with_round_half_up_near_halves() -> None:
    rng = np.random.default_rng(1)
    for d in (1, 2, 3):
        halves = (rng.integers(0, 2000, 500) + 0.5) / 10.0 ** d
        for x in np.r_[halves, np.nextafter(halves, 0), np.nextafter(halves, 9),
                       rng.random(500) * 30]:
            assert rounded(float(x), d) == round_half_up(float(x), d)


def test_rounded_keeps_nan() -> None:
    assert math.isnan(rounded(math.nan, 2))


def test_distance_is_zero_exactly_inside_the_rounding_window() -> None:
    assert distance(0.7551, 0.76, 2) == 0.0
    assert distance(0.7649, 0.76, 2) == 0.0
    assert distance(0.7549, 0.76, 2) > 0.0
    assert distance(0.7650, 0.76, 2) > 0.0       # rounds to 0.77
    assert distance(5.3, 5.3, 1) == 0.0


def test_distance_grows_with_the_gap_and_has_a_floor() -> None:
    near, mid, far = (distance(x, 0.490, 3) for x in (0.4894, 0.480, 0.300))
    assert 0.0 < near < mid < far
    assert near >= 0.1


def test_distance_for_not_estimable_and_missing_values() -> None:
    assert distance(math.nan, math.nan, 1) == 0.0     # published "not estimable"
    assert distance(30.0, math.nan, 1) > 0.0
    assert distance(math.nan, 5.3, 1) > 0.0
    assert distance(1.0, None, 2) == 0.0              # no target


def test_widening_the_window_accepts_more() -> None:
    assert distance(0.78, 0.76, 2) > 0.0
    assert distance(0.78, 0.76, 2, widen=10.0) == 0.0


def test_se_window_contains_every_printed_pair() -> None:
    # every (HR, upper) pair that prints as 0.76 / 0.967 has its se in the window
    lo, hi = se_window((0.76, 2), (0.967, 3), 1.6448536269514722)
    for hr in np.linspace(0.7550001, 0.7649999, 7):
        for up in np.linspace(0.9665001, 0.9674999, 7):
            se = (math.log(up) - math.log(hr)) / 1.6448536269514722
            assert lo <= se <= hi


# ---------------------------------------------------------------- acceptance and search


def test_acceptance_rule() -> None:
    assert accept(1.0, 1.0, 0.0, 0.999)          # equal: drift across plateaus
    assert accept(0.5, 1.0, 0.0, 0.999)          # better
    assert not accept(1.0001, 1.0, 0.0, 0.0)     # worse, cold: never
    # worse, hot: with probability exp(-increase / temperature)
    assert accept(1.5, 1.0, 1.0, math.exp(-0.5) - 1e-9)
    assert not accept(1.5, 1.0, 1.0, math.exp(-0.5) + 1e-9)
    assert slack(0.0, 0.3) == 0.0 and slack(1.0, 1.0) == 0.0


class _Toy(Problem):
    """Integer vector whose sum and first element must print as given."""

    def __init__(self) -> None:
        super().__init__(Targets({"sum": (37.0, 0), "first": (5.0, 0)}))
        self.arrays = {"x": np.zeros(8, dtype=np.int64)}
        self.add("sum", lambda: {"sum": float(self.arrays["x"].sum())}, ["sum"])
        self.add("first", lambda: {"first": float(self.arrays["x"][0])}, ["first"])
        self.set_active(None)

    def move(self, rng: np.random.Generator) -> set[str] | None:
        i = int(rng.integers(8))
        self.put("x", i, int(self.arrays["x"][i]) + int(rng.choice([-1, 1])))
        return {"sum", "first"} if i == 0 else {"sum"}


def test_cold_search_never_raises_the_loss_and_stops_at_zero() -> None:
    toy = _Toy()
    seen = [toy.loss]
    commit = toy.commit

    def record(loss: float) -> None:
        seen.append(loss)
        commit(loss)

    toy.commit = record  # type: ignore[method-assign]
    rep = search(toy, np.random.default_rng(3), 5000)
    assert rep.loss == 0.0 and toy.loss == 0.0
    assert all(b <= a for a, b in zip(seen, seen[1:], strict=False))
    assert toy.arrays["x"].sum() == 37 and toy.arrays["x"][0] == 5


def test_search_is_deterministic_and_returns_the_best_state() -> None:
    runs = []
    for _ in range(2):
        toy = _Toy()
        rep = search(toy, np.random.default_rng(11), 300, t_start=2.0, t_end=0.5)
        runs.append((rep.loss, rep.steps, toy.arrays["x"].tolist()))
        # the state left behind is the best one seen, with its loss recomputed
        assert toy.loss == pytest.approx(sum(toy.comp_loss.values()))
    assert runs[0] == runs[1]


# ---------------------------------------------------------------- PFS rules


NOMINAL = np.array([43, 85, 127, 169, 232, 295])
JIT = np.zeros(6, dtype=np.int64)


@pytest.mark.parametrize("case, ok", [
    # kind, bor, visit, day, resp_visit, resp_day, F
    ((K_RECIST, B_PD, 0, 43, -1, -1, 400), True),
    ((K_RECIST, B_PD, 1, 85, -1, -1, 400), False),       # PD: progression at the 1st scan
    ((K_RECIST, B_SD, 2, 127, -1, -1, 400), True),
    ((K_RECIST, B_SD, 0, 43, -1, -1, 400), False),       # SD needs a stable scan first
    ((K_RECIST, B_SD, 2, 128, -1, -1, 400), False),      # off the scan's day
    ((K_RECIST, B_SD, 4, 232, -1, -1, 200), False),      # after the cut-off
    ((K_CLIN, B_SD, -1, 60, -1, -1, 400), True),
    ((K_CLIN, B_SD, -1, 40, -1, -1, 400), False),        # before the first scan
    ((K_DEATH, B_MISSING, -1, 20, -1, -1, 400), True),
    ((K_CENS, B_MISSING, 0, 43, -1, -1, 400), False),    # missing: no scan at all
    ((K_RECIST, B_PR, 2, 127, 0, 43, 400), True),
    ((K_RECIST, B_PR, 1, 85, 1, 85, 400), False),        # progression after the response
    ((K_CENS, B_PR, 1, 85, 1, 85, 400), True),
    ((K_RECIST, B_PR, 2, 127, 0, 44, 400), False),       # response off its scan's day
    ((K_RECIST, B_SD, 2, 127, 0, 43, 400), False),       # only responders respond
])
def test_pfs_rules(case: tuple, ok: bool) -> None:
    kind, bor, visit, day, rv, rday, F = case
    assert pfs_consistent(kind, bor, visit, day, rv, rday, JIT, F, NOMINAL, 35) is ok


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    """A small synthetic ITT population (margins scaled to 40 per arm) with PFS drawn."""
    cfg = load_config()
    rng = np.random.default_rng(7)
    n_arm = 40
    factor = n_arm / 108
    parts = []
    for a, arm in enumerate(cfg.arms):
        d = draw_arm(rng, cfg, a, n_arm, factor)
        d["arm"] = arm
        parts.append(d)
    df = pd.concat(parts, ignore_index=True)
    df["stratum"] = stratum_code(df)
    df["measurable"] = rng.random(len(df)) < 0.85
    df["F"] = rng.integers(214, 1200, len(df))
    bor = draw_best_response(rng, cfg, df, factor)
    state = draw_pfs(rng, cfg, df, bor, factor)
    return {"cfg": cfg, "df": df, "bor": bor, "state": state, "rng": rng}


def _problem(small: dict[str, Any]) -> PfsProblem:
    cfg = small["cfg"]
    return PfsProblem(cfg, small["df"], small["bor"], small["state"],
                      pfs_targets(cfg.calibration, tuple(cfg.arms)))


def test_generated_pfs_obeys_the_rules(small: dict[str, Any]) -> None:
    assert _problem(small).inconsistent() == []


def test_a_proposal_that_breaks_a_rule_is_rejected(small: dict[str, Any]) -> None:
    prob = _problem(small)
    before = prob.snapshot()
    i = int(np.flatnonzero(prob.arrays["kind"] == K_RECIST)[0])
    # beyond the patient's cut-off: place_day refuses, and propose() undoes the attempt
    assert prob.place_day(i, int(prob.F[i]) + 30) is None
    prob.rollback()
    assert all(np.array_equal(before[k], prob.arrays[k]) for k in before)


@pytest.mark.parametrize("mode", ["all", "dor", "dorswap", "dormix", "nonresp", ("km", 0)])
def test_every_proposal_keeps_every_patient_consistent(small: dict[str, Any],
                                                       mode: Any) -> None:
    prob = _problem(small)
    prob.set_mode(mode)
    prob.set_active(None)
    before = prob.snapshot()
    rng = np.random.default_rng(5)
    made = 0
    for _ in range(400):
        if prob.propose(rng):
            made += 1
            assert prob.inconsistent() == []
            prob.rollback()
        assert all(np.array_equal(before[k], prob.arrays[k]) for k in before)
    assert made > 50


def test_short_pfs_calibration_keeps_the_rules_and_never_worsens(small: dict[str, Any]
                                                                 ) -> None:
    prob = _problem(small)
    prob.set_active(None)
    start = prob.loss
    rep = search(prob, np.random.default_rng(2), 300)
    assert rep.loss <= start
    assert prob.inconsistent() == []
    # the whole staged calibration, briefly: rules hold, counts are kept
    cfg, df = small["cfg"], small["df"]
    state, bor, report = calibrate_pfs(np.random.default_rng(3), cfg, df, small["bor"],
                                       small["state"], max_steps=400)
    assert report["steps"] <= 400 and set(report) >= {"loss", "steps", "seconds", "misses"}
    again = PfsProblem(cfg, df, bor, state, pfs_targets(cfg.calibration,
                                                        tuple(cfg.arms)))
    assert again.inconsistent() == []
    for arm in cfg.arms:
        sel = (df["arm"] == arm).to_numpy()
        assert (state.kind[sel] != "CENS").sum() == (small["state"].kind[sel] != "CENS").sum()
        assert sorted(bor[sel & df["measurable"].to_numpy()]) == sorted(
            small["bor"][sel & df["measurable"].to_numpy()])


def test_same_seed_same_calibration(small: dict[str, Any]) -> None:
    cfg, df = small["cfg"], small["df"]
    out = [calibrate_pfs(np.random.default_rng(9), cfg, df, small["bor"], small["state"],
                         max_steps=300) for _ in range(2)]
    assert np.array_equal(out[0][0].day, out[1][0].day)
    assert out[0][2]["loss"] == out[1][2]["loss"]


# ---------------------------------------------------------------- OS and TTD rules


def test_os_rules() -> None:
    assert os_consistent(True, 300, False, "RECIST", 200, 500)
    assert not os_consistent(True, 200, False, "RECIST", 200, 500)   # dies after progressing
    assert not os_consistent(True, 600, False, "RECIST", 200, 500)   # after the cut-off
    assert os_consistent(True, 200, False, "DEATH", 200, 500)
    assert not os_consistent(False, 480, False, "DEATH", 200, 500)   # PFS death is a death
    assert os_consistent(False, 450, False, "CENS", 300, 500)        # last seen recently
    assert not os_consistent(False, 400, False, "CENS", 300, 500)    # ... or lost
    assert os_consistent(False, 320, True, "CENS", 300, 500)
    assert not os_consistent(True, 400, False, "CENS", 300, 500)     # deaths follow an event


def test_drawn_os_obeys_the_rules(small: dict[str, Any]) -> None:
    cfg, df, state = small["cfg"], small["df"], small["state"]
    os_state = draw_os(np.random.default_rng(4), cfg, df, state)
    F = df["F"].to_numpy()
    assert all(os_consistent(bool(os_state.death[i]), int(os_state.day[i]),
                             bool(os_state.lost[i]), str(state.kind[i]), int(state.day[i]),
                             int(F[i])) for i in range(len(df)))


def test_ttd_calibration_keeps_counts_and_visits(small: dict[str, Any]) -> None:
    cfg, df, state = small["cfg"], small["df"], small["state"]
    rng = np.random.default_rng(6)
    visits = []
    for i in range(len(df)):
        d0 = int(rng.integers(1, 11))
        days = np.arange(d0 + 21, int(state.day[i]) + 8, 21)
        visits.append(days[days <= df["F"].iloc[i]])
    hrqol = np.array([v.size > 0 for v in visits]) & (rng.random(len(df)) < 0.9)
    vi, ev, rep = calibrate_ttd(rng, cfg, df, visits, hrqol, max_steps=300)
    assert rep["steps"] <= 300
    assert (vi[~hrqol] == -1).all() and (ev[~hrqol] == 0).all()
    for i in np.flatnonzero(hrqol):
        assert 0 <= vi[i] < visits[i].size
        if not ev[i]:
            assert vi[i] == visits[i].size - 1   # censored at the last questionnaire
    vi0, ev0, _ = calibrate_ttd(np.random.default_rng(6), cfg, df, visits, hrqol,
                                max_steps=0)
    for arm in cfg.arms:
        sel = (df["arm"] == arm).to_numpy()
        assert ev[sel].sum() == ev0[sel].sum()
    assert tumour_nominal_days(cfg, 100)[0] == 43
