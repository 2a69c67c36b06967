"""Figures: the Kaplan-Meier curve points, subgroup hazard ratios and disposition counts
of the ARD, worked out by hand; the printed strings of the KM, forest and CONSORT
layouts; and the study's figures (deterministic PNGs embedded in their DOCX)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from docx import Document
from tlfkit import PRECIOUS_STUDY, precious_plan, run, spec, study

from tlf.analyses import ARD_COLUMNS
from tlf.ard import read_ard
from tlf.build import build_outputs
from tlf.format import est, est_ci, median_ci, pvalue
from tlf.outputs import ArdView, At, check_outputs
from tlf.outputs.figure_consort import consort_boxes
from tlf.outputs.figure_forest import forest_lines
from tlf.outputs.figure_km import ARM_STYLES, arm_style, km_annotation, km_legend
from tlf.spec import load_output_specs
from trialflow.stats import fit_cox

FIGURES = ("f_14_1_1_consort", "f_14_2_1_km_pfs_itt", "f_14_2_2_km_pfs_tdm1",
           "f_14_2_3_km_os_itt", "f_14_2_4_forest_pfs", "f_14_2_5_km_ttd_btoi")
MONTH = 30.4375


def _adam(months: list[float], cnsr: list[int], **columns: list[str]
          ) -> dict[str, pd.DataFrame]:
    n = len(months)
    adsl = pd.DataFrame({"USUBJID": [f"S-{i}" for i in range(n)],
                         "TRT01P": ["PTC"] * (n // 2) + ["TC"] * (n - n // 2), "ITTFL": "Y",
                         **columns})
    return {"ADSL": adsl, "ADTTE": adsl.assign(PARAMCD="PFS",
                                               AVAL=[m * MONTH for m in months], CNSR=cnsr)}


def _series(ard: pd.DataFrame, group: str, stat: str) -> list[float]:
    hit = ard[(ard["group1_level"] == group) & (ard["stat_name"] == stat)]
    return [round(v, 6) for v in hit.sort_values("variable_level")["stat"]]


def _km(adam: dict[str, pd.DataFrame], **keys: object) -> pd.DataFrame:
    doc = {"id": "pfs", "family": "tte", "population": "all", "dataset": "ADTTE",
           "parameter": "PFS", "group": {"variable": "TRT01P"}, "time_unit": "months",
           "curve": {"at_risk_every": 3}, **keys}
    return run([doc], adam, PRECIOUS_STUDY)


@pytest.fixture
def km_ard() -> pd.DataFrame:
    # PTC: events at 1, 2, 3, 4 months. TC: event 1, censored 2, event 3, censored 5:
    # S = 0.75 after 1, 0.75 * 1/2 = 0.375 after 3, flat to the censoring at 5.
    return _km(_adam([1, 2, 3, 4, 1, 2, 3, 5], [0, 0, 0, 0, 0, 1, 0, 1]))


def test_km_curve_steps_by_hand(km_ard: pd.DataFrame) -> None:
    assert _series(km_ard, "PTC", "curve_time") == [0, 1, 2, 3, 4]
    assert _series(km_ard, "PTC", "curve_surv") == [1, 0.75, 0.5, 0.25, 0]
    # The last point is the censoring at 5: the curve runs flat to it.
    assert _series(km_ard, "TC", "curve_time") == [0, 1, 3, 5]
    assert _series(km_ard, "TC", "curve_surv") == [1, 0.75, 0.375, 0.375]
    steps = km_ard.loc[km_ard["stat_name"] == "curve_time", "variable_level"]
    assert list(steps)[:2] == ["000", "001"]


def test_km_censor_marks_by_hand(km_ard: pd.DataFrame) -> None:
    assert _series(km_ard, "PTC", "censor_time") == []
    assert _series(km_ard, "TC", "censor_time") == [2, 5]
    assert _series(km_ard, "TC", "censor_surv") == [0.75, 0.375]


def test_km_at_risk_every_three_months(km_ard: pd.DataFrame) -> None:
    at_risk = km_ard[km_ard["stat_name"] == "at_risk"]
    # Ticks 0 and 3 (the longest time is 5); at 3: PTC 3, 4 and TC 3, 5 are at risk.
    got = {(g, lv): v for g, lv, v in at_risk[["group1_level", "variable_level", "stat"]]
           .itertuples(index=False)}
    assert got == {("PTC", "0"): 4, ("PTC", "3"): 2, ("TC", "0"): 4, ("TC", "3"): 2}


def test_km_at_risk_at_declared_times_with_three_arms() -> None:
    adam = _adam([1, 2, 3, 4, 5, 6], [0] * 6)
    adam["ADSL"]["TRT01P"] = ["A", "A", "B", "B", "C", "C"]
    adam["ADTTE"]["TRT01P"] = adam["ADSL"]["TRT01P"]
    ard = run([{"id": "pfs", "family": "tte", "population": "all", "dataset": "ADTTE",
                "parameter": "PFS", "group": {"variable": "TRT01P"}, "time_unit": "months",
                "curve": {"at_risk": [0, 2.5, 5]}}], adam, study(["A", "B", "C"], "A"))
    at_risk = ard[ard["stat_name"] == "at_risk"]
    got = {(g, lv): v for g, lv, v in at_risk[["group1_level", "variable_level", "stat"]]
           .itertuples(index=False)}
    assert got == {("A", "0"): 2, ("A", "2.5"): 0, ("A", "5"): 0, ("B", "0"): 2,
                   ("B", "2.5"): 2, ("B", "5"): 0, ("C", "0"): 2, ("C", "2.5"): 2,
                   ("C", "5"): 2}


def test_km_curves_use_the_population() -> None:
    adam = _adam([1, 2, 3, 4, 1, 2, 3, 5], [0] * 8, TDM1LFL=["Y", "N"] * 4)
    doc = {"id": "pfs", "family": "tte", "population": "tdm1", "dataset": "ADTTE",
           "parameter": "PFS", "group": {"variable": "TRT01P"}, "curve": {"at_risk": [0]}}
    ard = run([doc], adam, PRECIOUS_STUDY, populations={"tdm1": {"TDM1LFL": "Y"}})
    tdm1 = ard[(ard["stat_name"] == "at_risk") & (ard["variable_level"] == "0")]
    assert tdm1["stat"].tolist() == [2, 2]


def _subgroups(adam: dict[str, pd.DataFrame], variable: str) -> pd.DataFrame:
    doc = {"id": "pfs_subgroups", "family": "subgroups", "population": "all",
           "dataset": "ADTTE", "parameter": "PFS", "group": {"variable": "TRT01P"},
           "subgroups": [{"variable": variable}]}
    return run([doc], adam, PRECIOUS_STUDY)


def test_subgroup_hr_equals_fit_cox_on_the_subset() -> None:
    months = [1, 2, 3, 4, 5, 6, 7, 8, 2, 3, 4, 5, 6, 7, 8, 9]
    cnsr = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    adam = _adam(months, cnsr, AGEGR1=["<65", ">=65"] * 8)
    adam["ADTTE"]["AGEGR1"] = adam["ADSL"]["AGEGR1"]
    view = ArdView(_subgroups(adam, "AGEGR1"))
    data = adam["ADTTE"]
    sub = data[data["AGEGR1"] == "<65"]
    cox = fit_cox(sub["AVAL"], (sub["CNSR"] == 0).astype(int),
                  (sub["TRT01P"] == "PTC").astype(int))
    at = At("pfs_subgroups", "PTC vs TC", "PFS", "", "AGEGR1", "<65")
    assert view.value(at, "hr") == cox.hr
    assert view.value(at, "hr_ucl") == cox.hr_ucl
    # <65 is subjects 0, 2, 4, 6 of each arm: PTC events at 1, 3, 5 (7 censored).
    assert view.value(at.but(group="PTC"), "n") == 4
    assert view.value(at.but(group="PTC"), "events") == 3
    assert view.value(At("pfs_subgroups", "TC", "PFS"), "n") == 8


def test_subgroup_without_events_in_an_arm_has_no_hr() -> None:
    adam = _adam([1, 2, 3, 4, 1, 2, 3, 4], [1, 1, 1, 1, 0, 0, 0, 0],
                 ERSTAT=["POSITIVE"] * 8)
    adam["ADTTE"]["ERSTAT"] = "POSITIVE"
    view = ArdView(_subgroups(adam, "ERSTAT"))
    assert math.isnan(view.value(At("pfs_subgroups", "PTC vs TC", "PFS", "", "ERSTAT",
                                    "POSITIVE"), "hr"))


def test_disposition_by_hand() -> None:
    adsl = pd.DataFrame({
        "USUBJID": [f"S{i}" for i in range(6)],
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
    plan = precious_plan()
    ard = run([dict(plan.analyses["disposition"].options,
                    id="disposition", family="descriptive", population="randomised",
                    group={"variable": "TRT01P"})], {"ADSL": adsl}, PRECIOUS_STUDY,
              populations={p.id: p.where for p in plan.populations.values()})
    view = ArdView(ard)

    def n(group: str, variable: str, level: str = "", stat: str = "n") -> float:
        return view.value(At("disposition", group, variable, level), stat)

    assert n("PTC", "excluded_itt", "Consent to data use withdrawn") == 1
    assert n("PTC", "excluded_fas", "Eligibility violation") == 1
    assert n("PTC", "not_treated") == 1
    assert n("PTC", "not_treated", stat="N") == 3
    assert n("PTC", "DCTREAS", "ADVERSE EVENT") == 1
    assert n("TC", "DCTREAS", "PROGRESSIVE DISEASE") == 0
    assert n("TC", "treatment", "Ongoing") == 1
    # The ITT subject who withdrew is not in the study block (ITT only).
    assert n("PTC", "DCSREAS", "DEATH") == 1
    assert not view.has(At("disposition", "PTC", "DCSREAS", "WITHDRAWAL BY SUBJECT"), "n")


def _tte_ard() -> ArdView:
    """The ARD rows one KM annotation reads, with PRECIOUS-like values."""
    rows = []
    for arm, (med, lcl, ucl) in {"PTC": (5.32, 4.01, 6.64), "TC": (4.17, 3.15, float("nan"))
                                 }.items():
        rows += [(arm, "PFS", "", s, v) for s, v in
                 {"n": 108, "events": 90, "median": med, "median_lcl": lcl,
                  "median_ucl": ucl}.items()]
        rows.append((arm, "USUBJID", "", "N", 108))
    rows += [("PTC vs TC", "PFS", "unstratified", s, v) for s, v in
             {"hr": 0.757, "hr_lcl": 0.5655, "hr_ucl": 1.0134, "hr_upper_1s": 0.96701,
              "p_1s": 0.0295}.items()]
    rows += [("PTC vs TC", "PFS", "stratified", "p_1s", 0.02156)]
    frame = pd.DataFrame(rows, columns=["group1_level", "variable", "variable_level",
                                        "stat_name", "stat"])
    frame = frame.assign(analysis_id="pfs_itt", output_id="", population="itt",
                         group1="TRT01P", group2="", group2_level="", stat_label="x",
                         method="m")
    return ArdView(frame[list(ARD_COLUMNS)])


def test_km_annotation_formats_the_named_rows() -> None:
    lines = km_annotation(_tte_ard(), "pfs_itt", hr_model="unstratified",
                          p_model="stratified", p_stat="p_1s", hr_decimals=2,
                          ci_decimals=3, time_unit="months")
    assert lines == ["Median (95% CI), months", "PTC: 5.3 (4.0, 6.6)", "TC: 4.2 (3.2, NE)",
                     "HR 0.76 (95% CI 0.566, 1.013)", "One-sided 95% upper limit 0.967",
                     "Stratified log-rank test, one-sided", "p = 0.022"]
    # Every printed number knows its ARD row.
    assert [r.text for r in lines[3].refs] == ["0.76", "0.566", "1.013"]
    unstratified = km_annotation(_tte_ard(), "pfs_itt", upper_1s=False)
    assert unstratified[-2:] == ["Log-rank test, one-sided", "p = 0.030"]
    assert "One-sided 95% upper limit 0.97" not in unstratified
    assert km_legend(_tte_ard(), "pfs_itt")["PTC"] == "PTC (n = 108; events = 90)"


def test_arm_styles_follow_the_display_order() -> None:
    assert arm_style(0) == ARM_STYLES[0] and arm_style(1)["linestyle"] == "--"
    assert arm_style(len(ARM_STYLES)) == ARM_STYLES[0]


# --- the full study -------------------------------------------------------------------


@pytest.fixture(scope="module")
def study_ard(study_build) -> pd.DataFrame:  # noqa: ANN001 - session fixture
    return read_ard(study_build.out / "tlf" / "ard.csv")


def _km_params(name: str) -> dict:
    params = dict(spec(name).parameters)
    return {k: params[k] for k in ("hr_model", "p_model", "p_stat", "hr_decimals",
                                   "ci_decimals", "upper_1s")} | {
        "analysis": params["analysis"]}


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
    from tlf.documents import Documents
    from tlf.page import page_style

    for again in ("a", "b"):
        # On the study's page, as the TLF stage draws them (figures take its size).
        build_outputs(check_outputs(specs, None), study_ard, {}, tmp_path / again,
                      precious_plan(), PRECIOUS_STUDY,
                      documents=Documents(page_style(PRECIOUS_STUDY)))
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
    a = p.pop("analysis")
    v = {"f_14_2_3_km_os_itt": "OS", "f_14_2_5_km_ttd_btoi": "TTDBTOI"}.get(name, "PFS")
    view = ArdView(study_ard)
    lines = [str(line) for line in km_annotation(view, a, **p, time_unit="months")]
    # Every line is the ARD value formatted...
    for i, arm in enumerate(("PTC", "TC"), start=1):
        assert lines[i] == f"{arm}: " + median_ci(*(view.value(At(a, arm, v), s) for s in (
            "median", "median_lcl", "median_ucl")))
    hr = [view.value(At(a, "PTC vs TC", v, p["hr_model"]), s) for s in ("hr", "hr_lcl",
                                                                      "hr_ucl")]
    cd = p["ci_decimals"]
    assert lines[3] == f"HR {est(hr[0], 2)} (95% CI {est(hr[1], cd)}, {est(hr[2], cd)})"
    assert lines[-1] == "p = " + pvalue(view.value(At(a, "PTC vs TC", v, p["p_model"]),
                                                   p["p_stat"]))
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
            at_risk = view.value(At(analysis, arm, paramcd, "0"), "at_risk")
            assert at_risk == view.value(At("populations", arm, pop), "n")
            assert at_risk == view.value(At(analysis, arm, paramcd), "n")


def test_study_forest_lines(study_ard) -> None:  # noqa: ANN001
    forest = spec("f_14_2_4_forest_pfs")
    view = ArdView(study_ard)
    lines = forest_lines(view, "pfs_subgroups", forest.parameters["subgroups"])
    overall = lines[0]
    assert overall.counts == ("90/108", "94/109")  # paper: PFS events 90 and 94
    cmp = At("pfs_itt", "PTC vs TC", "PFS", "unstratified")
    assert overall.hr_text == est_ci(view.value(cmp, "hr"), view.value(cmp, "hr_lcl"),
                                     view.value(cmp, "hr_ucl"), 2)
    assert overall.hr_text.startswith("0.76 ")
    levels = [line for line in lines[1:] if not line.header]
    assert len(levels) == sum(len(g["levels"]) for g in forest.parameters["subgroups"])
    # The paper: "the benefit of PTC ... was present for all subgroups" (HR < 1).
    assert all(line.hr < 1 for line in levels)
    tdm1 = next(line for line in lines if line.label == "Yes" and line.counts[0] == "68/82")
    assert tdm1.counts[1].endswith("/89")


def test_study_consort_boxes(study_ard) -> None:  # noqa: ANN001
    top, tiers = consort_boxes(ArdView(study_ard), spec("f_14_1_1_consort").parameters)
    boxes = {f"{k}_{arm}": "\n".join(map(str, tier[arm]))
             for k, tier in zip(("allocated", "excluded", "itt", "follow_up", "analysis"),
                                tiers, strict=True) for arm in ("PTC", "TC")}
    assert "\n".join(map(str, top)) == "Randomised\n(n = 219)"
    assert boxes["allocated_PTC"].endswith("(n = 110)")
    assert boxes["allocated_TC"].endswith("(n = 109)")
    assert boxes["itt_PTC"].endswith("(n = 108)") and boxes["itt_TC"].endswith("(n = 109)")
    assert boxes["excluded_PTC"].startswith("Excluded from ITT\n(n = 2)")
    assert "Full analysis set (n = 104)" in boxes["analysis_PTC"]
    assert "Full analysis set (n = 106)" in boxes["analysis_TC"]
    assert "Safety population (n = 105)" in boxes["analysis_PTC"]
    assert "HR-QoL assessment (n = 91)" in boxes["analysis_TC"]
    assert "T-DM1 as latest regimen (n = 82)" in boxes["analysis_PTC"]


def test_a_flow_diagram_of_three_arms(tmp_path) -> None:  # noqa: ANN001
    from tlf.outputs import Context
    from tlf.outputs.figure_consort import layout_consort
    from tlf.spec import load_output_spec

    adsl = pd.DataFrame({"USUBJID": [f"S{i}" for i in range(9)],
                         "ARM": ["P", "L", "H"] * 3, "SAFFL": ["Y"] * 8 + ["N"]})
    arms = study(["P", "L", "H"], control="P")
    ard = run([{"id": "flow", "family": "descriptive", "population": "all",
                "group": {"variable": "ARM", "total": True},
                "variables": [{"variable": "randomised", "where": {"USUBJID": {"present": True}}},
                              {"variable": "treated", "where": {"SAFFL": "Y"}}]}],
              {"ADSL": adsl}, arms)
    (tmp_path / "f_1_flow.yaml").write_text(
        "name: f_1_flow\nkind: figure\nnumber: '1'\ntitle: Flow\npopulation: All\n"
        "layout: consort\nsource: ADSL\nparameters:\n  analysis: flow\n"
        "  top: [All, {text: '(n = {n:0})', variable: randomised, group: Total}]\n"
        "  tiers:\n    - lines: ['{arm}', {text: '(n = {n:0})', variable: randomised}]\n"
        "    - side: true\n      lines: [{text: 'Treated (n = {n:0})', variable: treated}]\n")
    spec_ = check_outputs([load_output_spec(tmp_path / "f_1_flow.yaml")], None)[0]
    figure = layout_consort(spec_, Context(ard, {}, tmp_path, None, arms))
    assert figure.image_png.is_file()
    lines = {(e, str(t)) for e, _, t in figure.trace}
    assert ("top", "(n = 9)") in lines and ("tier 2, H", "Treated (n = 2)") in lines


def test_a_long_consort_line_breaks_at_spaces_keeping_its_indent() -> None:
    from tlf.outputs.figure_consort import text_width, wrap_to

    line = "  Excluded: consent to the use of data withdrawn before the cut-off (n = 12)"
    wrapped = wrap_to(line, 1.6)
    parts = wrapped.split("\n")
    assert len(parts) > 1 and " ".join(p.strip() for p in parts) == line.strip()
    assert parts[0].startswith("  Excluded:") and all(p.startswith("    ") for p in parts[1:])
    assert all(text_width(p) <= 1.6 for p in parts)
    assert wrap_to("Treated (n = 5)", 1.6) == "Treated (n = 5)"


def _flow_texts(extra: int = 0) -> tuple[str, list[dict[str, str]], list[dict]]:
    tiers = [{"A": "Allocated to A\n(n = 5)", "B": "Allocated to B\n(n = 4)"},
             {"A": "Excluded\n(n = 1)", "B": "Excluded\n(n = 0)"},
             {"A": "\n".join(["Analysed (n = 4)"] * (1 + extra)),
              "B": "\n".join(["Analysed (n = 4)"] * (1 + extra))}]
    return "Randomised\n(n = 9)", tiers, [{}, {"side": True}, {}]


def test_a_flow_diagram_is_drawn_at_its_page_width_with_8_pt_text() -> None:
    """Drawn exactly as wide as the area it is given (the page's printable width), with
    every text at 8 pt: printed at 100 %, it prints at 8 pt."""
    from tlf.outputs.figure_consort import draw_consort

    top, tiers, specs = _flow_texts()
    figure = draw_consort(top, tiers, specs, ["A", "B"], (6.5, 8.0))
    width, height = figure.get_size_inches()
    sizes = {t.get_fontsize() for ax in figure.axes for t in ax.texts if t.get_text()}
    assert width == 6.5 and height < 8.0 and sizes == {8.0}


def test_two_arms_put_exclusions_beside_their_column_when_the_page_is_wide_enough() -> None:
    from tlf.outputs.figure_consort import draw_consort

    top, tiers, specs = _flow_texts()

    def x_of(area: tuple[float, float], text: str) -> float:
        figure = draw_consort(top, tiers, specs, ["A", "B"], area)
        return next(t.get_position()[0] for t in figure.axes[0].texts
                    if t.get_text() == text)

    # Wide page: "Excluded" (centred in its box) sits left of arm A's column centre.
    assert x_of((9.0, 6.0), "Excluded") < x_of((9.0, 6.0), "Allocated to A")
    # Narrow page: it stays in arm A's column, under "Allocated to A".
    assert x_of((3.0, 6.0), "Excluded") == x_of((3.0, 6.0), "Allocated to A")


def test_a_flow_diagram_taller_than_its_page_is_an_error_not_a_shrunken_picture() -> None:
    from tlf.outputs.figure_consort import draw_consort
    from trialflow.errors import SpecError

    top, tiers, specs = _flow_texts(extra=60)
    with pytest.raises(SpecError, match=r"f_1_flow: the flow diagram needs [\d.]+ in of "
                                        r"height at 8 pt but its page leaves 6.00 in"):
        draw_consort(top, tiers, specs, ["A", "B"], (6.5, 6.0), name="f_1_flow")


def test_the_tlf_stage_counts_its_outputs_on_a_terminal(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    import io

    from tlf.spec import load_output_spec

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    adsl = pd.DataFrame({"USUBJID": ["S1", "S2"], "ARM": ["P", "H"]})
    arms = study(["P", "H"], control="P")
    ard = run([{"id": "flow", "family": "descriptive", "population": "all",
                "group": {"variable": "ARM", "total": True},
                "variables": [{"variable": "randomised",
                               "where": {"USUBJID": {"present": True}}}]}],
              {"ADSL": adsl}, arms)
    (tmp_path / "f_1_flow.yaml").write_text(
        "name: f_1_flow\nkind: figure\nnumber: '1'\ntitle: Flow\npopulation: All\n"
        "layout: consort\nsource: ADSL\nparameters:\n  analysis: flow\n"
        "  top: [All, {text: '(n = {n:0})', variable: randomised, group: Total}]\n"
        "  tiers:\n    - lines: ['{arm}', {text: '(n = {n:0})', variable: randomised}]\n")
    spec_ = check_outputs([load_output_spec(tmp_path / "f_1_flow.yaml")], None)[0]
    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.delenv("CI", raising=False)
    built = build_outputs([spec_], ard, {}, tmp_path, study=arms)
    assert built[0].files and err.getvalue().startswith("\r\x1b[K  outputs: 0/1 (")
