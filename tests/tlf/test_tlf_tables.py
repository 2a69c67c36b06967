"""Tables 14.1.2-14.1.4, 14.2.4, 14.2.10, 14.3.1 and 14.3.2: the ARD rows they need,
worked out by hand on small ADaM frames; layouts that print ARD values as they are; and
the study's rendered DOCX and XLSX, whose cells are the ARD's values formatted and
reproduce the publication's Tables 1-3."""

from __future__ import annotations

from pathlib import Path

import docx
import numpy as np
import openpyxl
import pandas as pd
import pytest
from tlfkit import cells as _cells
from tlfkit import layout, precious_ard, spec, value

from tlf.ard import read_ard
from tlf.document import Table
from tlf.format import pvalue
from tlf.spec import load_output_specs

COMPARISON = "PTC vs TC"
DAYS_PER_MONTH = 30.4375

#: The outputs of this family, by spec name.
OUTPUTS: tuple[str, ...] = (
    "t_14_1_2_baseline_itt", "t_14_1_3_baseline_fas", "t_14_1_4_follow_up",
    "t_14_2_4_response_itt", "t_14_2_10_response_fas", "t_14_3_1_exposure",
    "t_14_3_2_ae_summary",
)

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
    """Four subjects per arm; S-4 (PTC) is ITT but not FAS."""
    ids = [f"S-{i}" for i in range(1, 9)]
    adsl = pd.DataFrame({"USUBJID": ids, "TRT01P": ["PTC"] * 4 + ["TC"] * 4,
                         **_ADSL_DEFAULTS})
    adsl["AGE"] = [40.0, 50.0, 60.0, 70.0, 30.0, 35.0, 45.0, 80.0]
    adsl["ECOGBL"] = [0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 1.0]
    adsl["FASFL"] = ["Y", "Y", "Y", "N", "Y", "Y", "Y", "Y"]
    adsl["CYCLES"] = [0.0, 2.0, 4.0, 10.0, 1.0, 3.0, 3.0, 5.0]
    adsl["CHEMOA"] = ["ERIBULIN", "ERIBULIN", "DOCETAXEL", "ERIBULIN"] + ["VINORELBINE"] * 4
    months = [1, 2, 3, 4, 1, 2, 3, 4]
    cnsr = [0, 1, 0, 1, 0, 0, 1, 1]
    tte = adsl[["USUBJID", "TRT01P", "ITTFL", "FASFL", "MEASFL", "QOLFL", "TDM1LFL",
                "STRAT1R", "STRAT2R", "STRAT3R", "STRAT4R", "ERSTAT", "PPERDURC",
                "VISCFL"]].assign(AGEGR1="<65", ECOGGR1="0", NPRREGGR="2")
    adtte = pd.concat([
        tte.assign(PARAMCD="PFS", AVAL=[m * DAYS_PER_MONTH for m in months], CNSR=cnsr,
                   EVNTDESC="Death"),
        tte.assign(PARAMCD="OS", AVAL=[m * DAYS_PER_MONTH for m in months], CNSR=cnsr,
                   EVNTDESC="Death"),
        # Duration of response of the responders (PR): S-1 and S-4 (PTC), S-6 (TC).
        tte.iloc[[0, 3, 5]].assign(PARAMCD="DOR", AVAL=[2 * DAYS_PER_MONTH,
                                                        4 * DAYS_PER_MONTH,
                                                        1 * DAYS_PER_MONTH],
                                   CNSR=[0, 1, 0], EVNTDESC="Progression"),
    ], ignore_index=True)
    adrs = adsl[["USUBJID", "TRT01P"]].assign(
        PARAMCD="BOR", AVALC=["PR", "SD", "NE", "PR", "PD", "PR", "SD", "SD"])
    adae = pd.DataFrame({
        "USUBJID": ["S-1", "S-1", "S-2", "S-5"], "TRTEMFL": "Y",
        "ATOXGRN": [1.0, 3.0, 2.0, 1.0],
        "AEGR3FL": ["N", "Y", "N", "N"], "AESER": "N", "AEFATFL": "N", "AEDISCFL": "N",
        "AERED3FL": "N",
        "CQ02NAM": ["DIARRHEA", "DIARRHEA", "DIARRHEA", ""],
        "AEBODSYS": "Gastrointestinal", "AEDECOD": "Diarrhoea",
        **{f"CQ0{k}NAM": "" for k in (1, 3, 4, 5, 6, 7)},
    })
    return {"ADSL": adsl, "ADTTE": adtte, "ADRS": adrs, "ADAE": adae}


def _value(ard: pd.DataFrame, analysis: str, group: str, variable: str, stat: str,
           level: str = "") -> float:
    return value(ard, analysis, group, variable, stat, level)


def _table(name: str, ard: pd.DataFrame, tmp_path: Path) -> Table:
    return layout(spec(name), ard, tmp_path)


# --- ARD rows by hand --------------------------------------------------------------

def test_table1_total_counts_both_arms(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    # ECOG 0: S-1, S-2 (PTC) and S-5, S-6, S-7 (TC) -> 5 of 8.
    assert _value(ard, "table1_baseline", "Total", "ECOGBL", "n", "0") == 5
    assert _value(ard, "table1_baseline", "Total", "ECOGBL", "N", "0") == 8
    assert _value(ard, "table1_baseline", "Total", "ECOGBL", "pct", "0") == 62.5
    # Ages 30, 35, 40, 45, 50, 60, 70, 80: median (45 + 50) / 2.
    assert _value(ard, "table1_baseline", "Total", "AGE", "median") == 47.5
    assert _value(ard, "table1_baseline", "Total", "AGE", "max") == 80.0


def test_table1_fas_excludes_non_fas_subjects(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    # S-4 (ECOG 2, age 70) is not in the FAS: PTC has 3 subjects, one with ECOG 1 or 2.
    assert _value(ard, "table1_baseline_fas", "PTC", "ECOGBL", "N", "1, 2") == 3
    assert _value(ard, "table1_baseline_fas", "PTC", "ECOGBL", "n", "1, 2") == 1
    assert _value(ard, "table1_baseline_fas", "PTC", "AGE", "max") == 60.0
    # The ITT rows are untouched.
    assert _value(ard, "table1_baseline", "PTC", "ECOGBL", "n", "1, 2") == 2


def test_reverse_km_by_hand(adam: dict[str, pd.DataFrame]) -> None:
    # PTC: deaths at 1 and 3 months, censored at 2 and 4. Reversed: censorings are the
    # events, deaths censor. At 2: 3 at risk -> S = 2/3; at 4: 1 at risk -> S = 0. The
    # median is the first time S < 0.5, 4 months; Q1 (S < 0.75) is 2 months.
    from tlfkit import PRECIOUS_STUDY, run

    ptc = {name: adam[name][adam[name]["TRT01P"] == "PTC"] for name in ("ADSL", "ADTTE")}
    ard = run([{"id": "follow_up_months", "family": "follow_up", "population": "all",
                "dataset": "ADTTE", "parameter": "OS", "time_unit": "months",
                "group": {"variable": "TRT01P", "total": True}}], ptc, PRECIOUS_STUDY)
    assert _value(ard, "follow_up_months", "PTC", "reverse_km", "median") == \
        pytest.approx(4.0)
    assert _value(ard, "follow_up_months", "PTC", "reverse_km", "q1") == pytest.approx(2.0)
    assert _value(ard, "follow_up_months", "PTC", "reverse_km", "censored") == 2
    # The observed median of 1, 2, 3, 4 months is 2.5: the two methods differ.
    assert _value(ard, "follow_up_months", "PTC", "observed_time", "median") == \
        pytest.approx(2.5)
    # One arm only: no reverse Kaplan-Meier for the empty arm, and no Wilcoxon comparison.
    reverse = ard[ard["variable"] == "reverse_km"]
    assert set(reverse["group1_level"]) == {"PTC", "Total"}
    assert COMPARISON not in set(ard["group1_level"])
    assert set(ard.loc[ard["variable"] == "reverse_km", "method"]) == {"Reverse Kaplan-Meier"}


def test_exposure_moments_quartiles_and_chemotherapy(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    # PTC cycles 0, 2, 4, 10: mean 4, SD sqrt(56 / 3); PCTLDEF=5 Q1 = (0 + 2) / 2 = 1.
    assert _value(ard, "exposure", "PTC", "CYCLES", "mean") == 4.0
    assert _value(ard, "exposure", "PTC", "CYCLES", "sd") == pytest.approx((56 / 3) ** 0.5)
    assert _value(ard, "exposure", "PTC", "CYCLES", "q1") == 1.0
    assert _value(ard, "exposure", "Total", "CYCLES", "median") == 3.0
    assert _value(ard, "exposure", "PTC", "CHEMOA", "n", "ERIBULIN") == 3
    assert _value(ard, "exposure", "Total", "CHEMOA", "pct", "ERIBULIN") == \
        37.5
    assert _value(ard, "exposure", "TC", "CHEMOA", "n", "DOCETAXEL") == 0
    # The published rows keep their values and method.
    assert _value(ard, "exposure", "PTC", "CYCLES", "median") == 3.0


def test_response_fas_uses_the_fas(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    # ITT PTC: PR, SD, NE, PR -> 2 responders of 3 known; FAS drops S-4 (PR) -> 1 of 2.
    assert _value(ard, "table2_response", "PTC", "ORR", "n") == 2
    assert _value(ard, "table2_response_fas", "PTC", "ORR", "n") == 1
    assert _value(ard, "table2_response_fas", "PTC", "ORR", "N") == 2
    assert _value(ard, "table2_response_fas", "PTC", "USUBJID", "N") == 3
    # Woolf OR on all measurable FAS subjects: (1 * 3) / (2 * 1) = 1.5.
    assert _value(ard, "table2_response_fas", COMPARISON, "ORR", "or") == pytest.approx(1.5)


def test_special_interest_rows_have_fisher_p(adam: dict[str, pd.DataFrame]) -> None:
    ard = precious_ard(adam)
    # Diarrhea at any grade: S-1, S-2 of 4 PTC vs none of 4 TC. With 2 cases among 8,
    # P(PTC has k) = C(4, k) C(4, 2 - k) / C(8, 2) = 6/28, 16/28, 6/28 for k = 0, 1, 2;
    # the two-sided p sums those no more likely than the observed 6/28: 12/28.
    assert _value(ard, "table3_safety", "PTC", "CQ02NAM", "n", "all grades") == 2
    assert _value(ard, "table3_safety", COMPARISON, "CQ02NAM", "p_2s", "all grades") == \
        pytest.approx(12 / 28)
    assert _value(ard, "table3_safety", "PTC", "CQ02NAM", "n", "grade >=3") == 1


# --- layouts: ARD values printed as they are -----------------------------------------


def test_baseline_layout_paper_rows_and_total(adam: dict[str, pd.DataFrame],
                                              tmp_path: Path) -> None:
    table = _table("t_14_1_2_baseline_itt", precious_ard(adam), tmp_path)
    assert [c.header for c in table.columns[1:]] == ["PTC\n(N=4)", "TC\n(N=4)",
                                                     "Total\n(N=8)"]
    cells = _cells(table)
    assert cells["ECOG performance status, n (%)", "0"] == ("2 (50.0)", "3 (75.0)",
                                                            "5 (62.5)")
    assert cells["Age (years)", "Median (min, max)"] == ("55.0 (40, 70)", "40.0 (30, 80)",
                                                         "47.5 (30, 80)")
    # Publication order: ECOG first, T-DM1 as latest regimen last.
    labels = [str(r.cells[0]) for r in table.body]
    assert labels.index("ECOG performance status, n (%)") < labels.index(
        "Measurable disease, n (%)") < labels.index(
        "T-DM1 as the latest regimen before randomisation, n (%)") == len(labels) - 1


def test_baseline_fas_layout_uses_fas_n(adam: dict[str, pd.DataFrame],
                                        tmp_path: Path) -> None:
    table = _table("t_14_1_3_baseline_fas", precious_ard(adam), tmp_path)
    assert table.columns[1].header == "PTC\n(N=3)"
    assert _cells(table)["ECOG performance status, n (%)", "1, 2"][0] == "1 (33.3)"


def test_follow_up_layout(adam: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    table = _table("t_14_1_4_follow_up", precious_ard(adam), tmp_path)
    cells = _cells(table)
    observed = cells["Observed follow-up (OS time of every subject)", "Median (Q1, Q3)"]
    # Both arms 1, 2, 3, 4 months: median 2.5, Q1 1.5, Q3 3.5; identical arms, p = 1.
    assert observed == ("2.5 (1.5, 3.5)", "2.5 (1.5, 3.5)", "2.5 (1.5, 3.5)", "1.000")
    assert cells["Reverse Kaplan-Meier", "Censored for OS, n (%)"][0] == "2 (50.0)"
    assert cells["Reverse Kaplan-Meier", "Median (95% CI)"][0].startswith("4.0 (")


def test_response_layout(adam: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    table = _table("t_14_2_4_response_itt", precious_ard(adam), tmp_path)
    cells = _cells(table)
    assert cells["Best overall response, n (%)", "Partial response (PR)"] == \
        ("2 (50.0)", "1 (25.0)", "")
    orr = "Overall response rate (CR + PR)"
    assert cells[orr, "Responders, n (%)"] == ("2 (66.7)", "1 (25.0)", "")
    # The odds ratio is in the comparison column only: (2 * 3) / (2 * 1) = 3.
    assert cells[orr, "Odds ratio (95% CI)"][:2] == ("", "")
    assert cells[orr, "Odds ratio (95% CI)"][2].startswith("3.000 (")
    dor = "Duration of response (CR + PR), months"
    assert cells[dor, "n"] == ("2", "1", "")
    assert cells[dor, "Events, n (%)"] == ("1 (50.0)", "1 (100.0)", "")
    # TC: one response, ended at 1 month -> median 1.0.
    assert cells[dor, "Median (95% CI)"][1].startswith("1.0 (")
    fas = _table("t_14_2_10_response_fas", precious_ard(adam), tmp_path)
    assert fas.columns[1].header == "PTC\n(N=3)"
    # The FAS duration of response (tte.py's dor_fas) leaves out S-4, a PTC responder.
    assert _cells(fas)[dor, "n"] == ("1", "1", "")


def test_exposure_layout(adam: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    cells = _cells(_table("t_14_3_1_exposure", precious_ard(adam), tmp_path))
    heading = "Cycles of HER2-antibody treatment"
    assert cells[heading, "Mean (SD)"][0] == "4.0 (4.32)"  # sqrt(56/3) = 4.320...
    assert cells[heading, "Min, max"] == ("0, 10", "1, 5", "0, 10")
    assert cells["Chemotherapy received, n (%)", "Eribulin"] == ("3 (75.0)", "0", "3 (37.5)")


def test_ae_summary_layout(adam: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    cells = _cells(_table("t_14_3_2_ae_summary", precious_ard(adam), tmp_path))
    assert cells["", "Grade \u22653 AE"] == ("1 (25.0)", "0", "1.000")
    assert cells["AEs of special interest, n (%)", "Diarrhea"] == ("", "", "")
    assert cells["Diarrhea", "All grades"] == ("2 (50.0)", "0", pvalue(12 / 28))
    assert cells["Diarrhea", "Grade \u22653"] == ("1 (25.0)", "0", "1.000")
    assert cells["Stomatitis", "All grades"] == ("0", "0", "1.000")


# --- the study's rendered outputs ------------------------------------------------------

@pytest.fixture(scope="module")
def study(study_build) -> tuple[Path, pd.DataFrame]:
    """The rendered outputs of the study and its ARD."""
    out = study_build.out / "tlf"
    return out, read_ard(out / "ard.csv")


def shown(cell) -> str:  # noqa: ANN001 - an openpyxl cell
    """What a cell shows: a number as its number format prints it ("0.0" -> "5.0")."""
    v = cell.value
    if v is None:
        return ""
    if isinstance(v, int | float) and not isinstance(v, bool):
        fmt = cell.number_format
        decimals = len(fmt) - 2 if fmt.startswith("0.") else 0
        return f"{v:.{decimals}f}" if fmt.startswith("0") else str(v)
    return str(v)


def _rendered_xlsx(path: Path, table: Table) -> list[tuple[str, ...]]:
    """The body rows of the rendered sheet ('' for an empty cell)."""
    ws = openpyxl.load_workbook(path).active
    values = [tuple(shown(c) for c in row) for row in ws.iter_rows()]
    header = 3 + bool(table.title.subtitle) + 1 + 1  # title lines, blank, headers
    assert values[header - 1][1] == table.columns[1].header
    return values[header:header + len(table.body)]


def _rendered_docx(path: Path) -> list[tuple[str, ...]]:
    """The body rows of the rendered Word table (header row dropped)."""
    body = docx.Document(str(path)).tables[0].rows[1:]
    return [tuple(c.text for c in r.cells) for r in body]


def _expected(table: Table) -> list[tuple[str, ...]]:
    return [(str(r.cells[0]),) if r.kind == "section" else
            tuple("" if c is None else str(c) for c in r.cells) for r in table.body]


@pytest.mark.parametrize("name", OUTPUTS)
def test_rendered_cells_are_the_layout_cells(study: tuple[Path, pd.DataFrame], name: str,
                                             tmp_path: Path) -> None:
    out, ard = study
    table = _table(name, ard, tmp_path)
    expected = _expected(table)
    width = len(table.columns)
    xlsx = _rendered_xlsx(out / f"{name}.xlsx", table)
    docx_rows = _rendered_docx(out / f"{name}.docx")
    assert len(docx_rows) == len(expected)
    for want, got_x, got_d in zip(expected, xlsx, docx_rows, strict=True):
        n = len(want)  # a section row is one (merged) cell
        assert got_x[:n] == want and all(c == "" for c in got_x[n:width])
        assert got_d[:n] == want


# Published numbers (precious-targets.yaml) as they read in the rendered cells.
PUBLISHED: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "t_14_1_2_baseline_itt": (
        ("0", ("78 (72.2)", "73 (67.0)")),
        ("Visceral disease involvement, n (%)", ("73 (67.6)", "75 (68.8)")),
        ("T-DM1", ("104 (96.3)", "108 (99.1)")),
        ("Median (min, max)", ("57.0 (27, 81)", "60.0 (32, 83)")),
    ),
    "t_14_1_4_follow_up": (
        ("Median (Q1, Q3)", ("14.4 (9.0, 21.0)", "14.2 (8.7, 22.5)", "14.2 (9.0, 22.2)",
                             "0.926")),
    ),
    "t_14_2_4_response_itt": (
        ("Stable disease (SD)", ("57 (63.3)", "49 (53.3)")),
        ("Responders, n (%)", ("17 (19.5)", "18 (20.7)")),
        ("One-sided 95% upper limit", ("27.9", "29.1")),
        ("Odds ratio, one-sided 95% upper limit", ("", "", "1.778")),
        ("Unstratified hazard ratio, one-sided 95% upper limit", ("", "", "0.945")),
    ),
    "t_14_3_1_exposure": (("Min, max", ("0, 54", "1, 25")),),
    "t_14_3_2_ae_summary": (
        ("Grade \u22653 AE", ("65 (61.9)", "75 (69.4)", "0.253")),
        ("LVEF decline (<50% or \u226515% reduction from baseline)", ("3 (2.9)", "0",
                                                                       "0.118")),
    ),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_rendered_cells_reproduce_the_publication(study: tuple[Path, pd.DataFrame],
                                                  name: str) -> None:
    out, _ = study
    doc = docx.Document(str(out / f"{name}.docx")).tables[0].rows
    rendered = [tuple(c.text for c in r.cells) for r in doc]
    for label, cells in PUBLISHED[name]:
        # The first row with that label (Cycles come before the treatment duration).
        row = next(r for r in rendered if r[0] == label)
        assert row[1:1 + len(cells)] == cells, (name, label)
    if name == "t_14_2_4_response_itt":
        median = next(r for r in rendered if r[0] == "Median (95% CI)")
        # Published DoR: 8.3 (upper 18.2) and 4.1 (upper 13.4) months.
        assert median[1].startswith("8.3 (") and median[1].endswith(", 18.2)")
        assert median[2].startswith("4.1 (") and median[2].endswith(", 13.4)")


def test_every_spec_of_the_family_is_built(study: tuple[Path, pd.DataFrame]) -> None:
    out, _ = study
    names = {s.name for s in load_output_specs()}
    for name in OUTPUTS:
        assert name in names
        assert (out / f"{name}.docx").is_file() and (out / f"{name}.xlsx").is_file()
    assert spec("t_14_1_2_baseline_itt").paper == "Table 1"
