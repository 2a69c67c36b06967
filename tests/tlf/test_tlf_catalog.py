"""The catalogue tables: time-to-event summaries (14.2.x), TEAEs by SOC/PT and grade
(14.3.3, 14.3.4) and deaths (14.3.5).

Small inline ADaM frames whose counts and estimates are worked out by hand, then the full
study's rendered DOCX and XLSX against the ARD and the published numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from docx import Document
from scipy.stats import norm

from tlf.analyses import ARMS, DAYS_PER_MONTH
from tlf.analyses.ae_catalog import ae_rows, death_rows
from tlf.analyses.tte import TTE_ANALYSES, by_type_rows, km_rows, select, survival_at
from tlf.ard import read_ard
from tlf.format import est, est_ci, median_ci, n_pct, pvalue
from tlf.outputs import ArdView, Context, layouts
from tlf.spec import load_output_spec
from trialflow.stats import fit_km

SPECS = Path(__file__).resolve().parents[2] / "specs" / "tlf"
TARGETS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / \
    "precious-targets.yaml"
TTE_OUTPUTS = ("t_14_2_1_pfs_itt", "t_14_2_2_pfs_tdm1", "t_14_2_3_os_itt", "t_14_2_5_dor",
               "t_14_2_6_ttd_btoi", "t_14_2_7_pfs_fas", "t_14_2_8_pfs_tdm1_fas",
               "t_14_2_9_os_fas", "t_14_2_11_dor_fas")
AE_OUTPUTS = ("t_14_3_3_ae_soc_pt", "t_14_3_4_ae_soc_pt_grade", "t_14_3_5_deaths")


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _get(rows: list[dict] | pd.DataFrame, **key: str) -> float:
    frame = pd.DataFrame(rows) if isinstance(rows, list) else rows
    hit = frame
    for column, wanted in key.items():
        hit = hit[hit[column] == wanted]
    assert len(hit) == 1, key
    return float(hit["value"].iloc[0])


# --- time to event -------------------------------------------------------------------

@pytest.fixture
def adtte() -> pd.DataFrame:
    """PTC: events at 2 and 4 months, censored at 8 and 10. TC: events at 1, 3, 5, 7."""
    months = [2, 4, 8, 10, 1, 3, 5, 7]
    return pd.DataFrame({
        "USUBJID": [f"S-{i}" for i in range(8)],
        "TRT01P": ["PTC"] * 4 + ["TC"] * 4,
        "PARAMCD": "PFS",
        "AVAL": [m * DAYS_PER_MONTH for m in months],
        "CNSR": [0, 0, 1, 2, 0, 0, 0, 0],
        "EVNTDESC": ["Death", "Clinical progression", "Last assessment", "Randomisation",
                     "Progression", "Progression", "Death", "Progression"],
        "CNSDTDSC": ["", "", "Last assessment", "Randomisation", "", "", "", ""],
        "ITTFL": "Y", "FASFL": ["Y", "Y", "N", "Y", "Y", "Y", "Y", "N"],
    })


def test_events_by_type_count_subjects_and_fill_zero(adtte: pd.DataFrame) -> None:
    out = by_type_rows("x", "X", adtte)
    # TC: 3 progressions and a death of 4 subjects; PTC had no progression at all.
    assert _get(out, group="TC", variable="EVNTDESC", level="Progression", stat="n") == 3
    assert _get(out, group="TC", variable="EVNTDESC", level="Progression", stat="pct") == 75
    assert _get(out, group="PTC", variable="EVNTDESC", level="Progression", stat="n") == 0
    assert _get(out, group="PTC", variable="EVNTDESC", level="Death", stat="n") == 1
    # Censoring reasons come from CNSDTDSC of censored records only (CNSR 1 and 2).
    assert _get(out, group="PTC", variable="CNSDTDSC", level="Randomisation", stat="n") == 1
    assert _get(out, group="TC", variable="CNSDTDSC", level="Last assessment", stat="n") == 0
    assert not (pd.DataFrame(out)["level"] == "").any()


def test_event_types_in_descending_frequency(adtte: pd.DataFrame) -> None:
    out = pd.DataFrame(by_type_rows("x", "X", adtte))
    events = out[(out["variable"] == "EVNTDESC") & (out["group"] == "PTC")
                 & (out["stat"] == "n")]["level"].tolist()
    # Progression 3, Death 2, Clinical progression 1.
    assert events == ["Progression", "Death", "Clinical progression"]


def test_censored_quartile_limits_and_rates(adtte: pd.DataFrame) -> None:
    out = km_rows("x", "X", adtte, "PFS")
    assert _get(out, group="PTC", stat="censored") == 2
    assert _get(out, group="PTC", stat="censored_pct") == 50
    # PTC: S = 3/4 after 2 months, 3/4 * 2/3 = 1/2 after 4; flat to 10, then unknown.
    assert _get(out, group="PTC", stat="rate_6m") == pytest.approx(50.0)
    assert math.isnan(_get(out, group="PTC", stat="rate_12m"))
    # Greenwood: var = S^2 (1/(4*3) + 1/(3*2)) = 1/16; log-log limits S^exp(-+z se_g).
    se_g = 0.25 / (0.5 * abs(math.log(0.5)))
    z = norm.ppf(0.975)
    assert _get(out, group="PTC", stat="rate_6m_lcl") == pytest.approx(
        100 * 0.5 ** math.exp(z * se_g))
    assert _get(out, group="PTC", stat="rate_6m_ucl") == pytest.approx(
        100 * 0.5 ** math.exp(-z * se_g))
    # TC: every subject had an event; S(6) = 1/4, S(12) beyond the last time.
    assert _get(out, group="TC", stat="rate_6m") == pytest.approx(25.0)
    km = fit_km(adtte["AVAL"][4:] / DAYS_PER_MONTH, [1, 1, 1, 1])
    assert _get(out, group="TC", stat="q1_lcl") == km.q1_lcl
    assert _get(out, group="TC", stat="q3_ucl") == pytest.approx(km.q3_ucl, nan_ok=True)


def test_survival_at_is_a_right_continuous_step() -> None:
    table = fit_km([1, 2, 3, 4], [1, 1, 1, 1]).table
    surv, lcl, ucl = survival_at(table, np.array([0.0, 1.0, 1.5, 4.0, 4.5]))
    assert surv.tolist()[:4] == pytest.approx([1.0, 0.75, 0.75, 0.0])
    assert (lcl[0], ucl[0]) == (1.0, 1.0)
    # The curve reached 0 at its last time (an event): it stays 0 beyond, as SAS prints
    # it (issue #17; it was NaN); unknown beyond only when the last time is censored.
    assert surv[4] == 0.0 and math.isnan(lcl[4])
    censored = fit_km([1, 2, 3, 4], [1, 1, 1, 0]).table
    assert math.isnan(survival_at(censored, np.array([4.5]))[0][0])


def test_fas_analyses_select_fasfl(adtte: pd.DataFrame) -> None:
    assert {"pfs_fas", "pfs_tdm1_latest_fas", "os_fas", "dor_fas"} <= set(TTE_ANALYSES)
    for analysis in ("pfs_itt", "pfs_tdm1_latest", "os_itt", "table2_response", "ttd_bt_oi"):
        assert analysis in TTE_ANALYSES  # the figures and the reproduction read these
    _, paramcd, flags = TTE_ANALYSES["pfs_fas"]
    assert (paramcd, flags) == ("PFS", ("FASFL",))
    assert select(adtte, paramcd, flags)["USUBJID"].tolist() == [
        "S-0", "S-1", "S-3", "S-4", "S-5", "S-6"]


# --- adverse events ------------------------------------------------------------------

@pytest.fixture
def adsl() -> pd.DataFrame:
    """Three safety subjects per arm, one PTC subject never treated (not safety)."""
    return pd.DataFrame({
        "USUBJID": ["P1", "P2", "P3", "P4", "T1", "T2", "T3"],
        "TRT01P": ["PTC"] * 4 + ["TC"] * 3,
        "SAFFL": ["Y", "Y", "Y", "N", "Y", "Y", "Y"],
        "ITTFL": "Y",
        "DTHFL": ["Y", "", "Y", "Y", "Y", "", ""],
        "DTHCAUS": ["DISEASE PROGRESSION", "", "ADVERSE EVENT", "DISEASE PROGRESSION",
                    "DISEASE PROGRESSION", "", ""],
        # Days: P1 dies 30 days after the last dose, P3 31 days, P4 was never treated.
        "TRTEDT": [100.0, 100.0, 100.0, np.nan, 200.0, 200.0, 200.0],
        "DTHDT": [130.0, np.nan, 131.0, 50.0, 210.0, np.nan, np.nan],
    })


@pytest.fixture
def adae() -> pd.DataFrame:
    soc_b, soc_g = "Blood disorders", "Gastrointestinal disorders"
    return pd.DataFrame({
        "USUBJID": ["P1", "P1", "P1", "P2", "P3", "T1", "T2", "P4", "T3"],
        # TC's arm in ADAE is the actual one; the table must use ADSL's randomised arm.
        "TRT01P": ["PTC"] * 5 + ["PTC"] * 2 + ["PTC", "TC"],
        "TRTEMFL": ["Y", "Y", "Y", "Y", "Y", "Y", "Y", "Y", ""],
        "AEBODSYS": [soc_g, soc_g, soc_b, soc_g, soc_g, soc_b, soc_b, soc_g, soc_g],
        "AEDECOD": ["Nausea", "Nausea", "Anaemia", "Diarrhoea", "Nausea", "Anaemia",
                    "Neutropenia", "Nausea", "Nausea"],
        "ATOXGRN": [1.0, 3.0, 2.0, 2.0, 1.0, 4.0, 2.0, 5.0, 3.0],
    })


def test_ae_counted_once_per_subject_at_maximum_grade(adsl, adae) -> None:
    ard = pd.DataFrame(ae_rows(adsl, adae))
    grade = ard[ard["analysis"] == "ae_soc_pt_grade"]
    key = {"group": "PTC", "variable": "Gastrointestinal disorders", "level": "Nausea"}
    # P1 had nausea twice (grades 1 and 3), P3 once (grade 1): 2 subjects, max 3 and 1.
    assert _get(grade, **key, stat="n") == 2
    assert _get(grade, **key, stat="n_g3") == 1
    assert _get(grade, **key, stat="n_g1") == 1
    assert _get(grade, **key, stat="pct_g1") == pytest.approx(100 / 3)
    # The SOC: P1 (max 3), P2 (2), P3 (1). Any TEAE: P1's worst is 3 across SOCs.
    soc = {"group": "PTC", "variable": "Gastrointestinal disorders", "level": ""}
    assert [_get(grade, **soc, stat=f"n_g{g}") for g in (1, 2, 3, 4, 5)] == [1, 1, 1, 0, 0]
    assert [_get(grade, **{"group": "PTC", "variable": "ANY", "level": ""},
                 stat=f"n_g{g}") for g in (1, 2, 3)] == [1, 1, 1]
    # The non-safety subject P4's grade 5 event does not count anywhere.
    assert grade.loc[grade["stat"] == "n_g5", "value"].sum() == 0


def test_ae_population_arm_and_teae_flag(adsl, adae) -> None:
    ard = pd.DataFrame(ae_rows(adsl, adae))
    any_ = ard[(ard["analysis"] == "ae_soc_pt") & (ard["variable"] == "ANY")]
    # T1 and T2 count under TC (ADSL TRT01P); T3's event is not treatment-emergent.
    assert _get(any_, group="TC", stat="n") == 2
    assert _get(any_, group="TC", stat="N") == 3
    assert _get(any_, group="PTC", stat="N") == 3  # P4 is not in the safety population
    assert _get(any_, group="Total", stat="n") == 5
    assert _get(any_, group="Total", stat="pct") == pytest.approx(500 / 6)


def test_soc_and_pt_order(adsl, adae) -> None:
    ard = pd.DataFrame(ae_rows(adsl, adae))
    rows = ard[(ard["analysis"] == "ae_soc_pt") & (ard["group"] == "Total")
               & (ard["stat"] == "n")]
    order = list(zip(rows["variable"], rows["level"], rows["value"], strict=True))
    # Both SOCs have 3 subjects in total (Blood: P1, T1, T2; Gastrointestinal: P1, P2,
    # P3): the tie is broken alphabetically. Terms by descending total within their SOC.
    assert order == [
        ("ANY", "", 5.0),
        ("Blood disorders", "", 3.0), ("Blood disorders", "Anaemia", 2.0),
        ("Blood disorders", "Neutropenia", 1.0),
        ("Gastrointestinal disorders", "", 3.0),
        ("Gastrointestinal disorders", "Nausea", 2.0),
        ("Gastrointestinal disorders", "Diarrhoea", 1.0),
    ]


def test_soc_with_more_subjects_comes_first(adsl, adae) -> None:
    more = pd.concat([adae, adae.iloc[[3]].assign(USUBJID="T3", TRTEMFL="Y")])
    rows = pd.DataFrame(ae_rows(adsl, more))
    socs = rows[(rows["analysis"] == "ae_soc_pt") & (rows["level"] == "")
                & (rows["variable"] != "ANY")]["variable"].drop_duplicates().tolist()
    assert socs == ["Gastrointestinal disorders", "Blood disorders"]


def test_deaths_by_cause_and_timing(adsl) -> None:
    ard = pd.DataFrame(death_rows(adsl))
    assert _get(ard, group="PTC", variable="deaths", level="", stat="n") == 3
    assert _get(ard, group="PTC", variable="deaths", level="", stat="N") == 4
    assert _get(ard, group="Total", variable="DTHCAUS", level="DISEASE PROGRESSION",
                stat="n") == 3
    assert _get(ard, group="TC", variable="DTHCAUS", level="ADVERSE EVENT", stat="n") == 0
    within, later, untreated = ("Within 30 days of last dose",
                                "More than 30 days after last dose", "Not treated")
    # Day 30 after the last dose is within the window, day 31 is not.
    assert _get(ard, group="PTC", variable="timing", level=within, stat="n") == 1
    assert _get(ard, group="PTC", variable="timing", level=later, stat="n") == 1
    assert _get(ard, group="PTC", variable="timing", level=untreated, stat="n") == 1
    assert _get(ard, group="TC", variable="timing", level=within, stat="pct") == \
        pytest.approx(100 / 3)


def test_catalogue_scales_without_loops(adsl, adae) -> None:
    """100 copies of the study give 100 times the counts, the same structure."""
    big_sl = pd.concat([adsl.assign(USUBJID=adsl["USUBJID"] + f"-{k}") for k in range(100)])
    big_ae = pd.concat([adae.assign(USUBJID=adae["USUBJID"] + f"-{k}") for k in range(100)])
    small = pd.DataFrame(ae_rows(adsl, adae) + death_rows(adsl))
    big = pd.DataFrame(ae_rows(big_sl, big_ae) + death_rows(big_sl))
    pd.testing.assert_frame_equal(small.drop(columns="value"), big.drop(columns="value"))
    counts = small["stat"].str.startswith(("n", "N"))
    np.testing.assert_allclose(big.loc[counts, "value"], 100 * small.loc[counts, "value"])


# --- layouts on a small ARD -----------------------------------------------------------

def test_tte_layout_prints_ard_values(adtte: pd.DataFrame, adsl, adae) -> None:
    rows = km_rows("pfs_itt", "X", adtte, "PFS") + by_type_rows("pfs_itt", "X", adtte)
    ard = pd.DataFrame(rows)
    ard = pd.concat([ard, pd.DataFrame([
        {"analysis": "populations", "output": "", "group": g, "variable": "itt", "level": "",
         "stat": "n", "value": 4.0, "method": "m"} for g in ARMS])], ignore_index=True)
    ctx = Context(ard, {}, Path("."))
    spec = load_output_spec(SPECS / "t_14_2_1_pfs_itt.yaml")
    table = layouts()["tte_summary"](spec, ctx)
    cells = {r.cells[0]: r.cells[1:] for r in table.rows if r.kind == "data"}
    assert cells["Subjects with event, n (%)"] == ("2 (50.0)", "4 (100.0)")
    assert cells["Progression"] == ("0", "3 (75.0)")
    assert cells["Subjects censored, n (%)"] == ("2 (50.0)", "0")
    assert cells["At 12 months"][0] == "NE (NE, NE)"
    # No comparison rows in this ARD: the hazard ratio is not estimable.
    assert cells["Hazard ratio (95% CI)"] == ("NE (NE, NE)", "")


# --- the full study ---------------------------------------------------------------------

def _docx_rows(path: Path) -> list[tuple[str, ...]]:
    """The body table's rows as text, a merged (section) cell once."""
    rows = []
    for table in Document(str(path)).tables:
        for row in table.rows:
            cells, seen = [], set()
            for cell in row.cells:
                if id(cell._tc) not in seen:
                    seen.add(id(cell._tc))
                    cells.append(cell.text)
            rows.append(tuple(cells))
    return rows


def _xlsx_rows(path: Path) -> list[tuple[str, ...]]:
    sheet = openpyxl.load_workbook(path).worksheets[0]

    def shown(cell) -> str:  # noqa: ANN001 - an openpyxl cell
        """What a cell shows: a number as its number format prints it."""
        v = cell.value
        if isinstance(v, int | float) and not isinstance(v, bool):
            fmt = cell.number_format
            decimals = len(fmt) - 2 if fmt.startswith("0.") else 0
            return f"{v:.{decimals}f}" if fmt.startswith("0") else str(v)
        return "" if v is None else str(v)

    return [tuple(shown(c) for c in row) for row in sheet.iter_rows()]


def _find(rows: list[tuple[str, ...]], label: str, after: str | None = None) -> tuple:
    """The cells after the label of the first row labelled ``label`` (after ``after``)."""
    start = 0
    if after is not None:
        start = next(i for i, r in enumerate(rows) if r and r[0].strip() == after)
    for row in rows[start:]:
        if row and row[0].strip() == label:
            return tuple(c for c in row[1:])
    raise AssertionError(f"no row {label!r}")


@pytest.fixture(scope="module")
def study(study_build) -> tuple[Path, pd.DataFrame]:
    out = study_build.out / "tlf"
    if not (out / "ard.csv").is_file():
        pytest.fail(f"the study build wrote no ARD in {out}")
    return out, read_ard(out / "ard.csv")


@pytest.mark.parametrize("name", TTE_OUTPUTS)
def test_tte_tables_match_the_ard(study, name: str) -> None:
    out, ard = study
    view = ArdView(ard)
    spec = load_output_spec(SPECS / f"{name}.yaml")
    analysis, paramcd = spec.parameters["analysis"], spec.parameters["paramcd"]
    for rows in (_docx_rows(out / f"{name}.docx"), _xlsx_rows(out / f"{name}.xlsx")):
        def v(arm: str, stat: str, variable: str = paramcd, level: str = "") -> float:
            return view.value(analysis, arm, variable, stat, level)

        expected = {
            "Subjects, n": [str(int(v(a, "n"))) for a in ARMS],
            "Subjects with event, n (%)": [n_pct(int(v(a, "events")), int(v(a, "n")))
                                           for a in ARMS],
            "Subjects censored, n (%)": [n_pct(int(v(a, "censored")), int(v(a, "n")))
                                         for a in ARMS],
            "Median (95% CI)": [median_ci(v(a, "median"), v(a, "median_lcl"),
                                          v(a, "median_ucl")) for a in ARMS],
            "25th percentile (95% CI)": [est_ci(v(a, "q1"), v(a, "q1_lcl"), v(a, "q1_ucl"),
                                                1) for a in ARMS],
            "At 6 months": [est_ci(v(a, "rate_6m"), v(a, "rate_6m_lcl"),
                                   v(a, "rate_6m_ucl"), 1) for a in ARMS],
        }
        for label, cells in expected.items():
            assert list(_find(rows, label)[:2]) == cells, (name, label)
        types = view.rows(analysis, group="PTC", variable="EVNTDESC", stat="n")["level"]
        assert len(types) > 0
        for level in types:
            assert list(_find(rows, level)[:2]) == [
                n_pct(int(v(a, "n", "EVNTDESC", level)), int(v(a, "n"))) for a in ARMS]
        for model, heading in (("stratified", "Stratified analysis (PTC vs TC)"),
                               ("unstratified", "Unstratified analysis (PTC vs TC)")):
            def c(stat: str, model: str = model) -> float:
                return view.value(analysis, "PTC vs TC", model, stat)

            assert _find(rows, "Hazard ratio (95% CI)", heading)[0] == est_ci(
                c("hr"), c("hr_lcl"), c("hr_ucl"), 3)
            assert _find(rows, "Upper limit of one-sided 95% CI", heading)[0] == est(
                c("hr_upper_1s"), 3)
            assert _find(rows, "Log-rank p-value, one-sided", heading)[0] == pvalue(
                c("p_1s"))
            assert _find(rows, "Log-rank p-value, two-sided", heading)[0] == pvalue(
                c("p_2s"))


@pytest.fixture(scope="module")
def published() -> dict:
    if not TARGETS.is_file():
        pytest.skip(f"{TARGETS} not present")
    return yaml.safe_load(TARGETS.read_text())


def test_pfs_table_shows_the_published_numbers(study, published) -> None:
    out, _ = study
    pfs = published["pfs_itt"]
    rows = _docx_rows(out / "t_14_2_1_pfs_itt.docx")
    header = next(r for r in rows if "PTC" in " ".join(r))
    n = published["populations"]["itt"]
    assert [h.replace("\n", " ") for h in header[1:]] == [f"PTC (N={n[0]})",
                                                         f"TC (N={n[1]})"]
    assert _find(rows, "Subjects, n") == tuple(str(k) for k in n)
    assert _find(rows, "Subjects with event, n (%)") == tuple(
        f"{e} ({p:.1f})" for e, p in zip(pfs["events"], pfs["event_pct"], strict=True))
    assert _find(rows, "Clinical progression") == tuple(
        f"{e} ({100 * e / k:.1f})" for e, k in zip(pfs["clinical_progression_events"], n,
                                                   strict=True))
    assert _find(rows, "Median (95% CI)") == tuple(
        f"{m:.1f} ({lo:.1f}, {hi:.1f})" for m, lo, hi in (pfs["median"]["PTC"],
                                                          pfs["median"]["TC"]))
    # The publication's one-sided stratified log-rank p.
    assert _find(rows, "Log-rank p-value, one-sided", "Stratified analysis (PTC vs TC)")[0] \
        == f"{pfs['p_stratified_logrank_one_sided']:.3f}"
    assert _find(rows, "Upper limit of one-sided 95% CI",
                 "Unstratified analysis (PTC vs TC)")[0] == f"{pfs['hr_stratified']['upper']:.3f}"


def test_os_and_dor_tables_show_the_published_numbers(study, published) -> None:
    out, _ = study
    os_ = _docx_rows(out / "t_14_2_3_os_itt.docx")
    assert _find(os_, "Subjects with event, n (%)") == tuple(
        f"{d} ({p:.1f})" for d, p in zip(published["os_itt"]["deaths"],
                                         published["os_itt"]["death_pct"], strict=True))
    assert _find(os_, "Median (95% CI)")[0] == "28.8 (21.2, NE)"
    dor = published["table2_response"]["duration_of_response"]
    rows = _docx_rows(out / "t_14_2_5_dor.docx")
    assert _find(rows, "Subjects, n") == tuple(str(k) for k in dor["n"])
    medians = _find(rows, "Median (95% CI)")
    for cell, median, upper in zip(medians, dor["median_months"], dor["median_upper"],
                                   strict=True):
        assert cell.startswith(f"{median:.1f} (") and cell.endswith(f", {upper:.1f})")
    assert _find(rows, "Hazard ratio (95% CI)", "Unstratified analysis (PTC vs TC)")[0] \
        .startswith(f"{dor['hr_unstratified']['hr']:.3f} (")


@pytest.mark.parametrize("name", AE_OUTPUTS)
def test_ae_tables_match_the_ard_in_order(study, name: str) -> None:
    out, ard = study
    analysis = {"t_14_3_3_ae_soc_pt": "ae_soc_pt", "t_14_3_4_ae_soc_pt_grade":
                "ae_soc_pt_grade", "t_14_3_5_deaths": "deaths"}[name]
    frame = ard[ard["analysis"] == analysis]
    wide = frame.pivot_table(index=["variable", "level"], columns=["group", "stat"],
                             values="value", aggfunc="first")
    items = list(frame[["variable", "level"]].drop_duplicates().itertuples(index=False,
                                                                         name=None))
    if analysis == "ae_soc_pt_grade":
        stats = [(arm, s) for arm in ARMS for s in (*(f"n_g{g}" for g in range(1, 6)), "n")]
    else:
        stats = [(g, "n") for g in (*ARMS, "Total")]
    expected = [[n_pct(int(wide.at[item, (g, s)]), int(wide.at[item, (g, "N")]))
                 for g, s in stats] for item in items]
    for rows in (_docx_rows(out / f"{name}.docx"), _xlsx_rows(out / f"{name}.xlsx")):
        # Data rows have one cell per column; section and title rows do not.
        data = [list(r[1:]) for r in rows
                if len(r) == len(stats) + 1 and r[1] and r[1][0].isdigit()]
        assert data == expected, name


def test_ae_tables_show_the_published_numbers(study, published) -> None:
    out, _ = study
    special = published["table3_safety"]["special_interest"]
    rows = _docx_rows(out / "t_14_3_3_ae_soc_pt.docx")
    for term, key in (("Stomatitis", "stomatitis"), ("Diarrhoea", "diarrhea"),
                      ("Febrile neutropenia", "febrile_neutropenia"),
                      ("Neutrophil count decreased", "neutropenia")):
        counts = [int(c.split(" ")[0]) for c in _find(rows, term)[:2]]
        assert counts == [special[key]["PTC"][0], special[key]["TC"][0]], term
    header = next(r for r in rows if "PTC" in " ".join(r))
    assert "(N=105)" in header[1] and "(N=108)" in header[2]
    deaths = _docx_rows(out / "t_14_3_5_deaths.docx")
    assert [c.split(" ")[0] for c in _find(deaths, "Subjects who died, n (%)")[:2]] == [
        str(d) for d in published["os_itt"]["deaths"]]
    # One death due to an adverse event in each arm (Table 3).
    assert [c.split(" ")[0] for c in _find(deaths, "Adverse event")[:2]] == [
        str(k) for k in published["table3_safety"]["death_due_to_ae"]["n"]]
    grade = _docx_rows(out / "t_14_3_4_ae_soc_pt_grade.docx")
    g3plus = published["table3_safety"]["grade3_plus"]["n"]
    cells = _find(grade, "Any TEAE")
    # Grade >= 3: the grade 3, 4 and 5 columns of each arm add up to Table 3's count.
    assert [sum(int(c.split(" ")[0]) for c in cells[6 * i + 2: 6 * i + 5])
            for i in range(2)] == g3plus
