"""The ARD: the bundled example's analysis specs on small ADaM tables (numbers worked out
by hand), the ARD's shape, and the full study's ARD against the published targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tlfkit import PRECIOUS_STUDY, precious_ard, precious_plan, value

from tlf.analyses import ARD_COLUMNS, KEY
from tlf.ard import build_ard, read_adam, read_ard, write_ard
from tlf.reproduction import load_map, load_targets, reproduce, targets
from trialflow import SPECS

TARGETS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / \
    "precious-targets.yaml"
MAP = SPECS / "tlf" / "reproduction" / "map.yaml"
MONTH = 30.4375

_ADSL_DEFAULTS: dict[str, object] = {
    "STUDYID": "S", "RANDFL": "Y", "ITTFL": "Y", "FASFL": "Y", "SAFFL": "Y", "MEASFL": "Y",
    "QOLFL": "Y", "TDM1LFL": "N", "AGE": 50.0, "ECOGBL": 0.0, "ERSTAT": "POSITIVE",
    "VISCFL": "Y", "METLUNFL": "N", "METLIVFL": "N", "METBONFL": "N", "METBRAFL": "N",
    "NPRREG": 2.0, "PPERLINE": 1.0, "PPERDURC": ">=180", "PRPERFL": "Y", "PRTRAFL": "Y",
    "PRTDM1FL": "Y", "PRLAPFL": "N", "PROTHFL": "N", "CYCLES": 4.0, "TRTDURD": 84.0,
    "CHEMOA": "ERIBULIN", "LVEFDFL": "N", "STRAT1R": "POSITIVE", "STRAT2R": "LONG",
    "STRAT3R": "2", "STRAT4R": "VISCERAL", "EOTSTT": "DISCONTINUED",
    "DCTREAS": "PROGRESSIVE DISEASE", "EOSSTT": "ONGOING", "DCSREAS": "", "DTHFL": "",
    "DTHCAUS": "", "DTHDT": np.nan, "TRTEDT": 100.0,
}


@pytest.fixture
def adam() -> dict[str, pd.DataFrame]:
    """Four subjects per arm; every number below can be worked out by hand."""
    ids = [f"S-{i}" for i in range(1, 9)]
    arm = ["PTC"] * 4 + ["TC"] * 4
    adsl = pd.DataFrame({"USUBJID": ids, "TRT01P": arm, **_ADSL_DEFAULTS})
    adsl["AGE"] = [40.0, 50.0, 60.0, 70.0, 30.0, 35.0, 45.0, 80.0]
    adsl["ECOGBL"] = [0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 1.0]
    # PFS in whole months. PTC: events at 1, 2, 3, 4 -> S(2) = 0.5 exactly, so SAS's
    # median is the midpoint of 2 and 3. TC: events at 1, 3, 4 and a censoring at 2 ->
    # S(1) = 0.75, S(3) = 0.75 * 1/2 = 0.375 < 0.5, so the median is 3.
    months = [1, 2, 3, 4, 1, 2, 3, 4]
    cnsr = [0, 0, 0, 0, 0, 1, 0, 0]
    tte = adsl[["USUBJID", "TRT01P", "ITTFL", "MEASFL", "QOLFL", "TDM1LFL", "STRAT1R",
                "STRAT2R", "STRAT3R", "STRAT4R", "ERSTAT", "PPERDURC", "VISCFL"]].assign(
        AGEGR1="<65", ECOGGR1="0", NPRREGGR="2")
    adtte = pd.concat([
        tte.assign(PARAMCD="PFS", AVAL=[m * MONTH for m in months], CNSR=cnsr,
                   EVNTDESC=["Clinical progression"] + ["Death"] * 7),
        tte.assign(PARAMCD="OS", AVAL=[m * MONTH * 3 for m in months], CNSR=cnsr,
                   EVNTDESC="Death"),
    ], ignore_index=True)
    adrs = adsl[["USUBJID", "TRT01P"]].assign(
        PARAMCD="BOR", AVALC=["PR", "SD", "NE", "PD", "PD", "PR", "SD", "SD"])
    # Grade >= 3 AEs: every PTC subject, no TC subject -> Fisher two-sided p for 4/4 vs
    # 0/4 = 2 * 1 / C(8, 4) = 2 / 70. Two TC subjects had a serious AE (one of them twice).
    adae = pd.DataFrame({
        "USUBJID": ids[:4] + ["S-5", "S-5", "S-6"],
        "TRTEMFL": "Y",
        "ATOXGRN": [3.0, 4.0, 3.0, 3.0, 1.0, 2.0, 1.0],
        "AEGR3FL": ["Y", "Y", "Y", "Y", "N", "N", "N"],
        "AESER": ["N", "N", "N", "N", "Y", "Y", "Y"],
        "AEFATFL": "N", "AEDISCFL": "N", "AERED3FL": "N",
        "AEBODSYS": "Blood", "AEDECOD": "Anaemia",
        **{f"CQ0{k}NAM": "" for k in range(1, 8)},
    })
    return {"ADSL": adsl, "ADTTE": adtte, "ADRS": adrs, "ADAE": adae}


def test_ard_columns_keys_and_methods(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    assert tuple(ard.columns) == ARD_COLUMNS
    assert not ard.duplicated(list(KEY)).any()
    assert ard["method"].ne("").all() and ard["stat_label"].ne("").all()
    assert set(ard["group1"]) == {"TRT01P"}
    assert set(ard["group1_level"]) <= {"PTC", "TC", "Total", "PTC vs TC"}
    median = ard[(ard["analysis_id"] == "pfs_itt") & (ard["stat_name"] == "median")]
    assert set(median["method"]) == {"KM, Brookmeyer-Crowley log-log CI"}
    assert set(ard["analysis_id"]) == set(precious_plan().analyses)


def test_km_median_by_hand(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    assert value(ard, "pfs_itt", "PTC", "PFS", "median") == pytest.approx(2.5)
    assert value(ard, "pfs_itt", "TC", "PFS", "median") == pytest.approx(3.0)
    assert value(ard, "pfs_itt", "TC", "PFS", "events") == 3
    assert value(ard, "pfs_itt", "TC", "PFS", "pct") == pytest.approx(75.0)
    # One of the four PTC events was clinical progression.
    assert value(ard, "pfs_itt", "PTC", "EVNTDESC", "pct_events",
                 "Clinical progression") == 25.0
    # One stratum: the stratified and unstratified comparisons coincide.
    assert value(ard, "pfs_itt", "PTC vs TC", "PFS", "hr", "stratified") == pytest.approx(
        value(ard, "pfs_itt", "PTC vs TC", "PFS", "hr", "unstratified"))


def test_counts_pct_and_fisher_by_hand(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    assert value(ard, "table3_safety", "PTC", "AEGR3FL", "n") == 4
    assert value(ard, "table3_safety", "TC", "AEGR3FL", "pct") == 0.0
    assert value(ard, "table3_safety", "PTC vs TC", "AEGR3FL", "p_2s") == \
        pytest.approx(2 / 70)
    # Subjects, not events: S-5 had two serious AEs.
    assert value(ard, "table3_safety", "TC", "AESER", "n") == 2
    assert value(ard, "table3_safety", "TC", "AESER", "pct") == 50.0
    assert value(ard, "table1_baseline", "PTC", "ECOGBL", "n", "1, 2") == 2
    assert value(ard, "table1_baseline", "TC", "AGE", "median") == 40.0


def test_response_by_hand(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    # PTC: PR, SD, NE, PD -> 1 responder of 3 with a known BOR; 1 of 4 measurable.
    assert value(ard, "table2_response", "PTC", "ORR", "N") == 3
    assert value(ard, "table2_response", "PTC", "ORR", "pct") == pytest.approx(100 / 3)
    assert value(ard, "table2_response", "PTC", "BOR", "pct", "NE") == 25.0
    # Woolf OR on all measurable: (1 * 3) / (3 * 1) = 1.
    assert value(ard, "table2_response", "PTC vs TC", "ORR", "or") == pytest.approx(1.0)


def test_write_and_read_back(adam: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    ard = precious_ard(adam)
    path = write_ard(ard, tmp_path / "tlf" / "ard.csv")
    back = read_ard(path)
    assert list(back.columns) == list(ARD_COLUMNS)
    pd.testing.assert_frame_equal(back, ard)


def test_adam_without_subjects_gives_zero_counts(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard({name: frame.iloc[0:0] for name, frame in adam.items()})
    assert value(ard, "populations", "PTC", "itt", "n") == 0
    assert value(ard, "populations", "PTC", "USUBJID", "N") == 0
    # No estimate can be made: medians and comparisons are not estimable (NaN, or no
    # row at all), so the outputs print NE.
    assert ard.loc[ard["stat_name"] == "median", "stat"].isna().all()
    assert ard.loc[ard["stat_name"].isin(["hr", "p_1s", "p_2s", "or"]), "stat"].isna().all()


def test_every_target_has_an_ard_key() -> None:
    if not TARGETS.is_file():
        pytest.skip(f"{TARGETS} not present")
    found = targets(load_targets(TARGETS), load_map(MAP))
    assert len(found) == 241
    assert len({t.item for t in found}) == len(found)


def test_the_map_refuses_a_number_no_rule_maps(tmp_path: Path) -> None:
    from trialflow.errors import SpecError

    mapping = load_map(MAP)
    with pytest.raises(SpecError, match="no rule maps the published number new.thing"):
        targets({"new": {"thing": 1.5}}, mapping)


@pytest.fixture(scope="module")
def full_run(study_build) -> Path:
    """The whole flow (simulate to TLF) of the study, built once per session."""
    if not TARGETS.is_file():
        pytest.skip(f"{TARGETS} not present")
    assert study_build.code == 0
    return study_build.out


def test_full_run_reproduces_the_publication(full_run: Path) -> None:
    ard = read_ard(full_run / "tlf" / "ard.csv")
    assert (full_run / "tlf" / "reproduction.xlsx").is_file()
    mapping = load_map(MAP)
    report = reproduce(ard, load_targets(TARGETS), mapping)
    assert len(report) == 241
    missed = set(report.loc[~report["match"], "item"])
    assert missed == set(mapping.known_misses), report[~report["match"]].to_string()


def test_full_run_ard_reads_adam_only(full_run: Path) -> None:
    plan = precious_plan()
    ard = build_ard(plan, PRECIOUS_STUDY, read_adam(full_run / "adam", plan.datasets()))
    written = read_ard(full_run / "tlf" / "ard.csv")
    pd.testing.assert_frame_equal(written.drop(columns="output_id"),
                                  ard.drop(columns="output_id"))
