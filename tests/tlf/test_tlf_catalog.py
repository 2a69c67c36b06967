"""The catalogue tables: time-to-event summaries (14.2.x), TEAEs by SOC/PT and grade
(14.3.3, 14.3.4) and deaths (14.3.5).

Small inline ADaM frames whose counts and estimates are worked out by hand (the
families with the bundled example's arms), then the full study's rendered DOCX and XLSX
against the ARD and the published numbers.
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
from tlfkit import PRECIOUS_STUDY, layout, run, spec, value

from tlf.analyses.tte import survival_at
from tlf.ard import read_ard
from tlf.format import n_pct
from trialflow.stats import fit_km

TARGETS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / \
    "precious-targets.yaml"
AE_OUTPUTS = ("t_14_3_3_ae_soc_pt", "t_14_3_4_ae_soc_pt_grade", "t_14_3_5_deaths")
ARMS = ("PTC", "TC")
MONTH = 30.4375


# --- time to event -------------------------------------------------------------------

@pytest.fixture
def adtte() -> dict[str, pd.DataFrame]:
    """PTC: events at 2 and 4 months, censored at 8 and 10. TC: events at 1, 3, 5, 7."""
    months = [2, 4, 8, 10, 1, 3, 5, 7]
    ids = [f"S-{i}" for i in range(8)]
    adsl = pd.DataFrame({"USUBJID": ids, "TRT01P": ["PTC"] * 4 + ["TC"] * 4,
                         "ITTFL": "Y", "FASFL": ["Y", "Y", "N", "Y", "Y", "Y", "Y", "N"]})
    adtte = adsl.assign(
        PARAMCD="PFS", AVAL=[m * MONTH for m in months], CNSR=[0, 0, 1, 2, 0, 0, 0, 0],
        EVNTDESC=["Death", "Clinical progression", "Last assessment", "Randomisation",
                  "Progression", "Progression", "Death", "Progression"],
        CNSDTDSC=["", "", "Last assessment", "Randomisation", "", "", "", ""])
    return {"ADSL": adsl, "ADTTE": adtte}


def _tte(adam: dict[str, pd.DataFrame], population: str = "itt") -> pd.DataFrame:
    doc = {"id": "x", "family": "tte", "population": population, "dataset": "ADTTE",
           "parameter": "PFS", "group": {"variable": "TRT01P"}, "time_unit": "months",
           "landmarks": [6, 12]}
    return run([doc], adam, PRECIOUS_STUDY,
               populations={"itt": {"ITTFL": "Y"}, "fas": {"FASFL": "Y"}})


def test_events_by_type_count_subjects_and_fill_zero(adtte) -> None:
    ard = _tte(adtte)
    # TC: 3 progressions and a death of 4 subjects; PTC had no progression at all.
    assert value(ard, "x", "TC", "EVNTDESC", "n", "Progression") == 3
    assert value(ard, "x", "TC", "EVNTDESC", "pct", "Progression") == 75
    assert value(ard, "x", "TC", "EVNTDESC", "pct_events", "Progression") == 75
    assert value(ard, "x", "PTC", "EVNTDESC", "n", "Progression") == 0
    assert value(ard, "x", "PTC", "EVNTDESC", "n", "Death") == 1
    # Censoring reasons come from CNSDTDSC of censored records only (CNSR 1 and 2).
    assert value(ard, "x", "PTC", "CNSDTDSC", "n", "Randomisation") == 1
    assert value(ard, "x", "TC", "CNSDTDSC", "n", "Last assessment") == 0
    by_type = ard[ard["variable"].isin(["EVNTDESC", "CNSDTDSC"])]
    assert not (by_type["variable_level"] == "").any()


def test_event_types_in_descending_frequency(adtte) -> None:
    ard = _tte(adtte)
    events = ard[(ard["variable"] == "EVNTDESC") & (ard["group1_level"] == "PTC")
                 & (ard["stat_name"] == "n")]["variable_level"].tolist()
    # Progression 3, Death 2, Clinical progression 1.
    assert events == ["Progression", "Death", "Clinical progression"]


def test_censored_quartile_limits_and_rates(adtte) -> None:
    ard = _tte(adtte)
    assert value(ard, "x", "PTC", "PFS", "censored") == 2
    assert value(ard, "x", "PTC", "PFS", "censored_pct") == 50
    # PTC: S = 3/4 after 2 months, 3/4 * 2/3 = 1/2 after 4; flat to 10, then unknown.
    assert value(ard, "x", "PTC", "PFS", "rate", "6") == pytest.approx(50.0)
    assert math.isnan(value(ard, "x", "PTC", "PFS", "rate", "12"))
    # Greenwood: var = S^2 (1/(4*3) + 1/(3*2)) = 1/16; log-log limits S^exp(-+z se_g).
    se_g = 0.25 / (0.5 * abs(math.log(0.5)))
    z = norm.ppf(0.975)
    assert value(ard, "x", "PTC", "PFS", "rate_lcl", "6") == pytest.approx(
        100 * 0.5 ** math.exp(z * se_g))
    assert value(ard, "x", "PTC", "PFS", "rate_ucl", "6") == pytest.approx(
        100 * 0.5 ** math.exp(-z * se_g))
    # TC: every subject had an event; S(6) = 1/4, S(12) beyond the last time.
    assert value(ard, "x", "TC", "PFS", "rate", "6") == pytest.approx(25.0)
    km = fit_km(adtte["ADTTE"]["AVAL"][4:] / MONTH, [1, 1, 1, 1])
    assert value(ard, "x", "TC", "PFS", "q1_lcl") == km.q1_lcl
    assert value(ard, "x", "TC", "PFS", "q3_ucl") == pytest.approx(km.q3_ucl, nan_ok=True)


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


def test_the_population_selects_the_subjects(adtte) -> None:
    ard = _tte(adtte, "fas")
    assert value(ard, "x", "PTC", "PFS", "n") == 3 and value(ard, "x", "TC", "PFS", "n") == 3


# --- adverse events ------------------------------------------------------------------

@pytest.fixture
def safety() -> dict[str, pd.DataFrame]:
    """Three safety subjects per arm, one PTC subject never treated (not safety)."""
    adsl = pd.DataFrame({
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
    soc_b, soc_g = "Blood disorders", "Gastrointestinal disorders"
    adae = pd.DataFrame({
        "USUBJID": ["P1", "P1", "P1", "P2", "P3", "T1", "T2", "P4", "T3"],
        # TC's arm in ADAE is the actual one; the table must use ADSL's randomised arm.
        "TRT01P": ["PTC"] * 5 + ["PTC"] * 2 + ["PTC", "TC"],
        "TRTEMFL": ["Y", "Y", "Y", "Y", "Y", "Y", "Y", "Y", ""],
        "AEBODSYS": [soc_g, soc_g, soc_b, soc_g, soc_g, soc_b, soc_b, soc_g, soc_g],
        "AEDECOD": ["Nausea", "Nausea", "Anaemia", "Diarrhoea", "Nausea", "Anaemia",
                    "Neutropenia", "Nausea", "Nausea"],
        "ATOXGRN": [1.0, 3.0, 2.0, 2.0, 1.0, 4.0, 2.0, 5.0, 3.0],
    })
    return {"ADSL": adsl, "ADAE": adae}


_POPS = {"safety": {"SAFFL": "Y"}, "itt": {"ITTFL": "Y"}}


def _ae(adam: dict[str, pd.DataFrame], **keys: object) -> pd.DataFrame:
    doc = {"id": "ae", "family": "ae_terms", "population": "safety", "dataset": "ADAE",
           "where": {"TRTEMFL": "Y"}, "group": {"variable": "TRT01P", "total": True},
           "soc": "AEBODSYS", "term": "AEDECOD", **keys}
    return run([doc], adam, PRECIOUS_STUDY, populations=_POPS)


def test_ae_counted_once_per_subject_at_maximum_grade(safety) -> None:
    grade = _ae(safety, grade={"variable": "ATOXGRN", "levels": [1, 2, 3, 4, 5]})
    key = ("AEDECOD", "Nausea", "AEBODSYS", "Gastrointestinal disorders")

    def v(group: str, variable: str, stat: str, level: str = "", g2: str = "",
          g2l: str = "") -> float:
        return value(grade, "ae", group, variable, stat, level, g2, g2l)

    # P1 had nausea twice (grades 1 and 3), P3 once (grade 1): 2 subjects, max 3 and 1.
    assert v("PTC", key[0], "n", key[1], key[2], key[3]) == 2
    assert v("PTC", key[0], "n_g3", key[1], key[2], key[3]) == 1
    assert v("PTC", key[0], "n_g1", key[1], key[2], key[3]) == 1
    assert v("PTC", key[0], "pct_g1", key[1], key[2], key[3]) == pytest.approx(100 / 3)
    # The SOC: P1 (max 3), P2 (2), P3 (1). Any TEAE: P1's worst is 3 across SOCs.
    assert [v("PTC", "AEBODSYS", f"n_g{g}", "Gastrointestinal disorders")
            for g in (1, 2, 3, 4, 5)] == [1, 1, 1, 0, 0]
    assert [v("PTC", "ANY", f"n_g{g}") for g in (1, 2, 3)] == [1, 1, 1]
    # The non-safety subject P4's grade 5 event does not count anywhere.
    assert grade.loc[grade["stat_name"] == "n_g5", "stat"].sum() == 0


def test_ae_population_arm_and_teae_flag(safety) -> None:
    ard = _ae(safety)
    # T1 and T2 count under TC (ADSL TRT01P); T3's event is not treatment-emergent.
    assert value(ard, "ae", "TC", "ANY", "n") == 2
    assert value(ard, "ae", "TC", "ANY", "N") == 3
    assert value(ard, "ae", "PTC", "ANY", "N") == 3  # P4 is not in the safety population
    assert value(ard, "ae", "Total", "ANY", "n") == 5
    assert value(ard, "ae", "Total", "ANY", "pct") == pytest.approx(500 / 6)


def test_soc_and_pt_order(safety) -> None:
    ard = _ae(safety)
    rows = ard[(ard["group1_level"] == "Total") & (ard["stat_name"] == "n")]
    order = list(zip(rows["variable"], rows["variable_level"], rows["stat"], strict=True))
    # Both SOCs have 3 subjects in total (Blood: P1, T1, T2; Gastrointestinal: P1, P2,
    # P3): the tie is broken alphabetically. Terms by descending total within their SOC.
    assert order == [
        ("ANY", "", 5.0),
        ("AEBODSYS", "Blood disorders", 3.0), ("AEDECOD", "Anaemia", 2.0),
        ("AEDECOD", "Neutropenia", 1.0),
        ("AEBODSYS", "Gastrointestinal disorders", 3.0),
        ("AEDECOD", "Nausea", 2.0),
        ("AEDECOD", "Diarrhoea", 1.0),
    ]


def test_soc_with_more_subjects_comes_first(safety) -> None:
    more = {**safety, "ADAE": pd.concat([safety["ADAE"],
                                        safety["ADAE"].iloc[[3]].assign(USUBJID="T3",
                                                                        TRTEMFL="Y")])}
    ard = _ae(more)
    socs = ard[ard["variable"] == "AEBODSYS"]["variable_level"].drop_duplicates().tolist()
    assert socs == ["Gastrointestinal disorders", "Blood disorders"]


def _deaths(adam: dict[str, pd.DataFrame]) -> pd.DataFrame:
    doc = {"id": "d", "family": "deaths", "population": "itt",
           "group": {"variable": "TRT01P", "total": True}}
    return run([doc], adam, PRECIOUS_STUDY, populations=_POPS)


def test_deaths_by_cause_and_timing(safety) -> None:
    ard = _deaths(safety)
    assert value(ard, "d", "PTC", "DTHFL", "n") == 3
    assert value(ard, "d", "PTC", "DTHFL", "N") == 4
    assert value(ard, "d", "Total", "DTHCAUS", "n", "DISEASE PROGRESSION") == 3
    assert value(ard, "d", "TC", "DTHCAUS", "n", "ADVERSE EVENT") == 0
    within, later, untreated = ("Within 30 days of last dose",
                                "More than 30 days after last dose", "Not treated")
    # Day 30 after the last dose is within the window, day 31 is not.
    assert value(ard, "d", "PTC", "timing", "n", within) == 1
    assert value(ard, "d", "PTC", "timing", "n", later) == 1
    assert value(ard, "d", "PTC", "timing", "n", untreated) == 1
    assert value(ard, "d", "TC", "timing", "pct", within) == pytest.approx(100 / 3)


def test_catalogue_scales_without_loops(safety) -> None:
    """100 copies of the study give 100 times the counts, the same structure."""
    big = {name: pd.concat([frame.assign(USUBJID=frame["USUBJID"] + f"-{k}")
                            for k in range(100)]) for name, frame in safety.items()}
    small = pd.concat([_ae(safety), _deaths(safety)], ignore_index=True)
    large = pd.concat([_ae(big), _deaths(big)], ignore_index=True)
    pd.testing.assert_frame_equal(small.drop(columns="stat"), large.drop(columns="stat"))
    counts = small["stat_name"].str.startswith(("n", "N"))
    np.testing.assert_allclose(large.loc[counts, "stat"], 100 * small.loc[counts, "stat"])


# --- layouts on a small ARD -----------------------------------------------------------

def test_tte_layout_prints_ard_values(adtte, tmp_path: Path) -> None:
    ard = _tte(adtte).assign(analysis_id="pfs_itt")
    table = layout(spec("t_14_2_1_pfs_itt"), ard, tmp_path)
    cells = {r.cells[0]: r.cells[1:] for r in table.rows if r.kind == "data"}
    assert [c.header for c in table.columns[1:]] == ["PTC\n(N=4)", "TC\n(N=4)"]
    assert cells["Subjects with event, n (%)"] == ("2 (50.0)", "4 (100.0)")
    assert cells["Progression"] == ("0", "3 (75.0)")
    assert cells["Subjects censored, n (%)"] == ("2 (50.0)", "0")
    assert cells["At 12 months"][0] == "NE (NE, NE)"
    # One stratum-free analysis: only the unstratified comparison, in the PTC column.
    sections = [r.cells[0] for r in table.rows if r.kind == "section"]
    assert "Unstratified analysis (PTC vs TC)" in sections
    assert "Stratified analysis (PTC vs TC)" not in sections
    assert cells["Hazard ratio (95% CI)"][1] == ""


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
    frame = ard[(ard["analysis_id"] == analysis) & (ard["variable"] != "USUBJID")]
    keys = ["group2", "group2_level", "variable", "variable_level"]
    wide = frame.pivot_table(index=keys, columns=["group1_level", "stat_name"],
                             values="stat", aggfunc="first")
    items = list(frame[keys].drop_duplicates().itertuples(index=False, name=None))
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
