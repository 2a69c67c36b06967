"""Figures: the ARD rows they draw (KM curves, subgroups, disposition) by hand, the
strings they print, and the full study's rendered DOCX/PNG."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from docx import Document

from tlf.analyses import ARD_COLUMNS, DAYS_PER_MONTH, disposition, km_curves, subgroups
from tlf.ard import read_ard
from tlf.build import build_outputs
from tlf.format import est, est_ci, median_ci, pvalue
from tlf.outputs import ArdView
from tlf.outputs.figure_consort import consort_boxes
from tlf.outputs.figure_forest import forest_lines
from tlf.outputs.figure_km import km_annotation, km_legend
from tlf.spec import TLF_SPECS, load_output_spec, load_output_specs
from trialflow.stats import fit_cox

FIGURES = ("f_14_1_1_consort", "f_14_2_1_km_pfs_itt", "f_14_2_2_km_pfs_tdm1",
           "f_14_2_3_km_os_itt", "f_14_2_4_forest_pfs", "f_14_2_5_km_ttd_btoi")


def _adtte(months: list[float], cnsr: list[int], **columns: list[str]) -> pd.DataFrame:
    n = len(months)
    return pd.DataFrame({
        "USUBJID": [f"S-{i}" for i in range(n)],
        "TRT01P": ["PTC"] * (n // 2) + ["TC"] * (n - n // 2),
        "PARAMCD": "PFS", "ITTFL": "Y", "AVAL": [m * DAYS_PER_MONTH for m in months],
        "CNSR": cnsr, **columns})


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(ARD_COLUMNS))


def _series(ard: pd.DataFrame, group: str, stat: str) -> list[float]:
    hit = ard[(ard["group"] == group) & (ard["stat"] == stat)]
    return [round(v, 6) for v in hit.sort_values("level")["value"]]


@pytest.fixture
def km_ard() -> pd.DataFrame:
    # PTC: events at 1, 2, 3, 4 months. TC: event 1, censored 2, event 3, censored 5:
    # S = 0.75 after 1, 0.75 * 1/2 = 0.375 after 3, flat to the censoring at 5.
    data = _adtte([1, 2, 3, 4, 1, 2, 3, 5], [0, 0, 0, 0, 0, 1, 0, 1])
    return _frame(km_curves.curve_rows("pfs_itt", "F", data, "PFS"))


def test_km_curve_steps_by_hand(km_ard: pd.DataFrame) -> None:
    assert _series(km_ard, "PTC", "curve_time") == [0, 1, 2, 3, 4]
    assert _series(km_ard, "PTC", "curve_surv") == [1, 0.75, 0.5, 0.25, 0]
    # The last point is the censoring at 5: the curve runs flat to it.
    assert _series(km_ard, "TC", "curve_time") == [0, 1, 3, 5]
    assert _series(km_ard, "TC", "curve_surv") == [1, 0.75, 0.375, 0.375]
    assert list(km_ard.loc[km_ard["stat"] == "curve_time", "level"])[:2] == ["000", "001"]


def test_km_censor_marks_by_hand(km_ard: pd.DataFrame) -> None:
    assert _series(km_ard, "PTC", "censor_time") == []
    assert _series(km_ard, "TC", "censor_time") == [2, 5]
    assert _series(km_ard, "TC", "censor_surv") == [0.75, 0.375]


def test_km_at_risk_every_three_months(km_ard: pd.DataFrame) -> None:
    at_risk = km_ard[km_ard["stat"] == "at_risk"]
    # Ticks 0 and 3 (the longest time is 5); at 3: PTC 3, 4 and TC 3, 5 are at risk.
    got = {(g, lv): v for g, lv, v in at_risk[["group", "level", "value"]].itertuples(
        index=False)}
    assert got == {("PTC", "0"): 4, ("PTC", "3"): 2, ("TC", "0"): 4, ("TC", "3"): 2}


def test_km_curves_use_the_tte_population() -> None:
    data = _adtte([1, 2, 3, 4, 1, 2, 3, 5], [0] * 8, TDM1LFL=["Y", "N"] * 4)
    ard = _frame(km_curves.build({"ADTTE": data}))
    tdm1 = ard[(ard["analysis"] == "pfs_tdm1_latest") & (ard["stat"] == "at_risk")
               & (ard["level"] == "0")]
    assert tdm1["value"].tolist() == [2, 2]


def test_subgroup_hr_equals_fit_cox_on_the_subset() -> None:
    months = [1, 2, 3, 4, 5, 6, 7, 8, 2, 3, 4, 5, 6, 7, 8, 9]
    cnsr = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    data = _adtte(months, cnsr, AGEGR1=["<65", ">=65"] * 8)
    ard = _frame(subgroups.build({"ADTTE": data}))
    view = ArdView(ard)
    sub = data[data["AGEGR1"] == "<65"]
    cox = fit_cox(sub["AVAL"], (sub["CNSR"] == 0).astype(int),
                  (sub["TRT01P"] == "PTC").astype(int))
    assert view.value("pfs_subgroups", "PTC vs TC", "AGEGR1", "hr", "<65") == cox.hr
    assert view.value("pfs_subgroups", "PTC vs TC", "AGEGR1", "hr_ucl", "<65") == cox.hr_ucl
    # <65 is subjects 0, 2, 4, 6 of each arm: PTC events at 1, 3, 5 (7 censored).
    assert view.count("pfs_subgroups", "PTC", "AGEGR1", "n", "<65") == 4
    assert view.count("pfs_subgroups", "PTC", "AGEGR1", "events", "<65") == 3
    assert view.count("pfs_subgroups", "TC", "Overall", "n") == 8


def test_subgroup_without_events_in_an_arm_has_no_hr() -> None:
    data = _adtte([1, 2, 3, 4, 1, 2, 3, 4], [1, 1, 1, 1, 0, 0, 0, 0],
                  ERSTAT=["POSITIVE"] * 8)
    view = ArdView(_frame(subgroups.build({"ADTTE": data})))
    assert math.isnan(view.value("pfs_subgroups", "PTC vs TC", "ERSTAT", "hr", "POSITIVE"))
    assert view.count("pfs_subgroups", "PTC", "ERSTAT", "n", "NEGATIVE") == 0


def test_disposition_by_hand() -> None:
    adsl = pd.DataFrame({
        "TRT01P": ["PTC", "PTC", "PTC", "PTC", "TC", "TC"],
        "RANDFL": "Y",
        "ITTFL": ["N", "Y", "Y", "Y", "Y", "Y"],
        "FASFL": ["N", "N", "Y", "Y", "Y", "Y"],
        "SAFFL": ["N", "Y", "N", "Y", "Y", "Y"],
        "EOTSTT": ["", "DISCONTINUED", "", "DISCONTINUED", "ONGOING", "DISCONTINUED"],
        "DCTREAS": ["", "ADVERSE EVENT", "", "PROGRESSIVE DISEASE", "", "ADVERSE EVENT"],
        "EOSSTT": ["DISCONTINUED", "ONGOING", "ONGOING", "DISCONTINUED", "ONGOING",
                   "ONGOING"],
        "DCSREAS": ["WITHDRAWAL BY SUBJECT", "", "", "DEATH", "", ""],
    })
    view = ArdView(_frame(disposition.build({"ADSL": adsl})))
    d = "disposition"
    assert view.count(d, "PTC", "excluded_itt", level="Consent to data use withdrawn") == 1
    assert view.count(d, "PTC", "excluded_fas", level="Eligibility violation") == 1
    assert view.count(d, "PTC", "not_treated") == 1
    assert view.count(d, "PTC", "not_treated", "N") == 3
    assert view.count(d, "PTC", "DCTREAS", level="ADVERSE EVENT") == 1
    assert view.count(d, "TC", "DCTREAS", level="PROGRESSIVE DISEASE") == 0
    assert view.count(d, "TC", "treatment", level="Ongoing") == 1
    # The ITT subject who withdrew is not in the study block (ITT only).
    assert view.count(d, "PTC", "DCSREAS", level="DEATH") == 1
    assert not view.has(d, "PTC", "DCSREAS", "n", "WITHDRAWAL BY SUBJECT")


def _tte_ard() -> ArdView:
    """The ARD rows one KM annotation reads, with PRECIOUS-like values."""
    rows = []
    for arm, (med, lcl, ucl) in {"PTC": (5.32, 4.01, 6.64), "TC": (4.17, 3.15, float("nan"))
                                 }.items():
        rows += [("pfs_itt", arm, "PFS", s, v) for s, v in
                 {"n": 108, "events": 90, "median": med, "median_lcl": lcl,
                  "median_ucl": ucl}.items()]
    rows += [("pfs_itt", "PTC vs TC", "unstratified", s, v) for s, v in
             {"hr": 0.757, "hr_lcl": 0.5655, "hr_ucl": 1.0134, "hr_upper_1s": 0.96701,
              "p_1s": 0.0295}.items()]
    rows += [("pfs_itt", "PTC vs TC", "stratified", "p_1s", 0.02156)]
    frame = pd.DataFrame(rows, columns=["analysis", "group", "variable", "stat", "value"])
    return ArdView(frame.assign(output="F", level="", method="m")[list(ARD_COLUMNS)])


def test_km_annotation_formats_the_named_rows() -> None:
    lines = km_annotation(_tte_ard(), "pfs_itt", "PFS", hr_model="unstratified",
                          p_model="stratified", p_stat="p_1s", hr_decimals=2,
                          ci_decimals=3)
    assert lines == ["Median (95% CI), months", "PTC: 5.3 (4.0, 6.6)", "TC: 4.2 (3.2, NE)",
                     "HR 0.76 (95% CI 0.566, 1.013)", "One-sided 95% upper limit 0.967",
                     "Stratified log-rank test, one-sided", "p = 0.022"]
    unstratified = km_annotation(_tte_ard(), "pfs_itt", "PFS", upper_1s=False)
    assert unstratified[-2:] == ["Log-rank test, one-sided", "p = 0.030"]
    assert "One-sided 95% upper limit 0.97" not in unstratified
    assert km_legend(_tte_ard(), "pfs_itt", "PFS")["PTC"] == "PTC (n = 108; events = 90)"


# --- the full study -------------------------------------------------------------------


@pytest.fixture(scope="module")
def study_ard(study_build) -> pd.DataFrame:  # noqa: ANN001 - session fixture
    return read_ard(study_build.out / "tlf" / "ard.csv")


def _km_params(name: str) -> dict:
    params = dict(load_output_spec(TLF_SPECS / f"{name}.yaml").parameters)
    return {k: params[k] for k in ("hr_model", "p_model", "p_stat", "hr_decimals",
                                   "ci_decimals", "upper_1s")} | {
        "analysis": params["analysis"], "paramcd": params["paramcd"]}


@pytest.mark.parametrize("name", FIGURES)
def test_study_figure_docx_embeds_its_png(study_build, name: str) -> None:  # noqa: ANN001
    tlf = study_build.out / "tlf"
    doc = Document(str(tlf / f"{name}.docx"))
    assert len(doc.inline_shapes) == 1
    blobs = [p.blob for p in doc.part.package.parts if p.content_type == "image/png"]
    assert blobs == [(tlf / f"{name}.png").read_bytes()]


def test_study_figures_are_deterministic(study_build, study_ard, tmp_path) -> None:  # noqa: ANN001
    specs = [s for s in load_output_specs() if s.name in FIGURES]
    assert sorted(s.name for s in specs) == sorted(FIGURES)
    for run in ("a", "b"):
        build_outputs(specs, study_ard, {}, tmp_path / run)
    for name in FIGURES:
        first = (tmp_path / "a" / f"{name}.png").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.png").read_bytes()
        assert first == (study_build.out / "tlf" / f"{name}.png").read_bytes()


@pytest.mark.parametrize(("name", "published"), [
    ("f_14_2_1_km_pfs_itt", ["PTC: 5.3 (4.0, 6.6)", "TC: 4.2 (3.2, 4.8)",
                             "One-sided 95% upper limit 0.967", "p = 0.022"]),
    ("f_14_2_2_km_pfs_tdm1", ["PTC: 5.3 (3.7, 6.6)", "TC: 4.2 (3.2, 5.3)",
                              "One-sided 95% upper limit 1.06", "p = 0.095"]),
    ("f_14_2_3_km_os_itt", ["PTC: 28.8 (21.2, NE)", "TC: 23.4 (19.1, 27.1)",
                            "One-sided 95% upper limit 1.03", "p = 0.062"]),
    ("f_14_2_5_km_ttd_btoi", ["PTC: 2.8 (1.6, 4.3)", "TC: 4.3 (2.9, 6.0)",
                              "HR 1.28 (95% CI 0.856, 1.903)", "p = 0.231"]),
])
def test_study_km_annotations_equal_the_ard(study_ard, name: str,  # noqa: ANN001
                                            published: list[str]) -> None:
    p = _km_params(name)
    a, v = p.pop("analysis"), p.pop("paramcd")
    view = ArdView(study_ard)
    lines = km_annotation(view, a, v, **p)
    # Every line is the ARD value formatted...
    for i, arm in enumerate(("PTC", "TC"), start=1):
        assert lines[i] == f"{arm}: " + median_ci(*(view.value(a, arm, v, s) for s in (
            "median", "median_lcl", "median_ucl")))
    hr = [view.value(a, "PTC vs TC", p["hr_model"], s) for s in ("hr", "hr_lcl", "hr_ucl")]
    cd = p["ci_decimals"]
    assert lines[3] == f"HR {est(hr[0], 2)} (95% CI {est(hr[1], cd)}, {est(hr[2], cd)})"
    assert lines[-1] == "p = " + pvalue(view.value(a, "PTC vs TC", p["p_model"], p["p_stat"]))
    # ... and the publication's numbers.
    assert set(published) <= set(lines)
    assert any(line.startswith("HR " + {"f_14_2_1_km_pfs_itt": "0.76",
                                        "f_14_2_2_km_pfs_tdm1": "0.80",
                                        "f_14_2_3_km_os_itt": "0.71",
                                        "f_14_2_5_km_ttd_btoi": "1.28"}[name])
               for line in lines)


def test_study_km_at_risk_starts_at_the_population(study_ard) -> None:  # noqa: ANN001
    view = ArdView(study_ard)
    for analysis, paramcd, pop in (("pfs_itt", "PFS", "itt"), ("os_itt", "OS", "itt"),
                                   ("pfs_tdm1_latest", "PFS", "tdm1_latest_regimen"),
                                   ("ttd_bt_oi", "TTDBTOI", "hrqol")):
        for arm in ("PTC", "TC"):
            assert view.count(analysis, arm, paramcd, "at_risk", "0") == \
                view.population_n(pop, arm)
            assert view.count(analysis, arm, paramcd, "at_risk", "0") == \
                view.count(analysis, arm, paramcd, "n")


def test_study_forest_lines(study_ard) -> None:  # noqa: ANN001
    spec = load_output_spec(TLF_SPECS / "f_14_2_4_forest_pfs.yaml")
    view = ArdView(study_ard)
    lines = forest_lines(view, "pfs_subgroups", spec.parameters["subgroups"])
    overall = lines[0]
    assert overall.counts == ("90/108", "94/109")  # paper: PFS events 90 and 94
    assert overall.hr_text == est_ci(view.value("pfs_itt", "PTC vs TC", "unstratified", "hr"),
                                     view.value("pfs_itt", "PTC vs TC", "unstratified",
                                                "hr_lcl"),
                                     view.value("pfs_itt", "PTC vs TC", "unstratified",
                                                "hr_ucl"), 2)
    assert overall.hr_text.startswith("0.76 ")
    levels = [line for line in lines[1:] if not line.header]
    assert len(levels) == sum(len(g["levels"]) for g in spec.parameters["subgroups"])
    # The paper: "the benefit of PTC ... was present for all subgroups" (HR < 1).
    assert all(line.hr < 1 for line in levels)
    tdm1 = next(line for line in lines if line.label == "Yes" and line.counts[0] == "68/82")
    assert tdm1.counts[1].endswith("/89")


def test_study_consort_boxes(study_ard) -> None:  # noqa: ANN001
    boxes = consort_boxes(ArdView(study_ard))
    assert boxes["randomised"] == "Randomised\n(n = 219)"
    assert boxes["allocated_PTC"].endswith("(n = 110)")
    assert boxes["allocated_TC"].endswith("(n = 109)")
    assert boxes["itt_PTC"].endswith("(n = 108)") and boxes["itt_TC"].endswith("(n = 109)")
    assert boxes["excluded_PTC"].startswith("Excluded from ITT\n(n = 2)")
    assert "Full analysis set (n = 104)" in boxes["analysis_PTC"]
    assert "Full analysis set (n = 106)" in boxes["analysis_TC"]
    assert "Safety population (n = 105)" in boxes["analysis_PTC"]
    assert "HR-QoL assessment (n = 91)" in boxes["analysis_TC"]
    assert "T-DM1 as latest regimen (n = 82)" in boxes["analysis_PTC"]
