"""The CDISC pilot (examples/cdiscpilot01) end to end: its ADaM built from the pilot's own
SDTM by the verb engine, compared with the pilot's ADaM (../shared/external, skipped when
it is not beside the repository).

What the comparison gives is asserted exactly, differences included: each is listed in
the README ("The CDISC pilot's ADaM") with its reason. ADQSADAS has no reference file;
its total is checked against QS's own ACTOT and its week-24 analysis against the pilot's
Table 14-3.01.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from trialflow.cli import main
from trialflow.compare import CompareResult, compare_datasets
from trialflow.stats.descriptive import round_half_up
from trialflow.xpt import read_xpt

ROOT = Path(__file__).resolve().parents[2]
PILOT = ROOT / "examples" / "cdiscpilot01"
EXTERNAL = ROOT.parent / "shared" / "external" / "cdiscpilot01"

pytestmark = pytest.mark.skipif(not EXTERNAL.is_dir(),
                                reason="the CDISC pilot data are not beside the repository")


@pytest.fixture(scope="module")
def adam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pilot_adam")
    code = main(["adam", "--study", str(PILOT), "--out", str(out / "adam"),
                 "--reports", str(out / "reports")])
    assert code == 0
    return out / "adam"


def compare(adam: Path, name: str, keys: list[str]) -> CompareResult:
    return compare_datasets(EXTERNAL / "adam" / f"{name}.xpt", adam / f"{name}.xpt", keys)


def only_the_label_differs(r: CompareResult) -> bool:
    """Every variable (type, length, label) and record the same; the pilot's files have
    a blank dataset label."""
    items = r.dataset.set_index("item")
    return (r.attributes.empty and r.observations.empty and not r.only_in_base
            and not r.only_in_qc and items.loc["label", "base"] == ""
            and items.loc["label", "compare"] != ""
            and not items.drop(index="label")["differs"].any())


def test_adsl_equals_the_pilots_but_for_the_bmi_group_of_a_subject_without_bmi(adam):
    r = compare(adam, "adsl", ["USUBJID"])
    assert only_the_label_differs(r) and r.matched == 254
    assert len(r.value_summary) == 47 and r.differing_variables == ["BMIBLGR1"]
    assert r.values[["USUBJID", "base", "compare"]].values.tolist() == [
        ["01-702-1082", "<25", ""]]
    # The pilot's own BMIBL of that subject is missing: SAS puts missing below 25.
    ref = read_xpt(EXTERNAL / "adam" / "adsl.xpt").data.set_index("USUBJID")
    assert np.isnan(ref.loc["01-702-1082", "BMIBL"])


def test_adae_equals_the_pilots_in_every_value(adam):
    r = compare(adam, "adae", ["USUBJID", "AESEQ"])
    assert only_the_label_differs(r) and r.matched == 1191
    assert len(r.value_summary) == 53 and r.differing_variables == []


def test_adtte_equals_the_pilots_in_every_value(adam):
    r = compare(adam, "adtte", ["USUBJID", "PARAMCD"])
    assert only_the_label_differs(r) and r.matched == 254
    assert len(r.value_summary) == 24 and r.differing_variables == []
    ours = read_xpt(adam / "adtte.xpt").data
    assert ours["CNSR"].value_counts().to_dict() == {0.0: 152, 1.0: 102}


def test_adqscibc_equals_the_pilots_but_where_its_locf_records_mix_two_records(adam):
    ours = read_xpt(adam / "adqscibc.xpt").data
    ref = read_xpt(EXTERNAL / "adam" / "adqscibc.xpt").data
    observed = compare_datasets(ref[ref["DTYPE"] == ""], ours[ours["DTYPE"] == ""],
                                ["USUBJID", "QSSEQ"])
    assert observed.matched == 562 and observed.differing_variables == []
    assert observed.observations.empty and observed.attributes.empty
    locf = compare_datasets(ref[ref["DTYPE"] == "LOCF"], ours[ours["DTYPE"] == "LOCF"],
                            ["USUBJID", "AVISITN"])
    assert locf.matched == 168 and locf.observations.empty
    assert sorted(locf.differing_variables) == sorted(
        ["VISIT", "VISITNUM", "ADY", "ADT", "AWTDIFF", "QSSEQ"])
    differing = locf.value_summary.set_index("variable")["differing"]
    assert set(differing[differing > 0]) == {35}
    # In those 35 the pilot's record names (QSSEQ) a record that is not the analysis
    # record of its window, while its AVAL is the analysis record's (which is ours).
    ref_locf = ref[ref["DTYPE"] == "LOCF"]
    named = ref_locf.merge(ref[ref["DTYPE"] == ""], on=["USUBJID", "QSSEQ"],
                           suffixes=("", "_named"))
    ours_locf = ours[ours["DTYPE"] == "LOCF"].set_index(["USUBJID", "AVISITN"])
    mixed = named[named["ANL01FL_named"] == ""]
    assert len(mixed) == 35
    assert (mixed.set_index(["USUBJID", "AVISITN"])["AVAL"]
            == ours_locf.loc[mixed.set_index(["USUBJID", "AVISITN"]).index, "AVAL"]).all()


@pytest.fixture(scope="module")
def adas(adam: Path) -> pd.DataFrame:
    return read_xpt(adam / "adqsadas.xpt").data


def test_adqsadas_total_is_the_total_qs_derived_at_every_visit(adas):
    qsco = read_xpt(EXTERNAL / "sdtm_qs_tdf2018" / "qsco.xpt").data
    ours = adas[(adas["PARAMCD"] == "ACTOT") & (adas["DTYPE"] == "")]
    both = ours.merge(qsco[qsco["QSTESTCD"] == "ACTOT"], on=["USUBJID", "VISITNUM"])
    assert len(ours) == len(both) == 818
    assert np.array_equal(both["AVAL"], both["QSSTRESN"])
    # Prorated: item 8 (of 12 points) missing, the others 47 -> 47 x 70 / 58; items 6, 8
    # and 14 (5 + 12 + 5 points) missing, the others 16 -> 16 x 70 / 48.
    total = both.set_index(["USUBJID", "VISITNUM"])["AVAL"]
    assert total.loc[("01-701-1097", 3.0)] == 47 * 70 / 58
    assert total.loc[("01-711-1012", 201.0)] == 16 * 70 / 48


def test_adqsadas_records_per_analysis_visit(adas):
    total = adas[adas["PARAMCD"] == "ACTOT"]
    counts = total.groupby(["AVISITN", "DTYPE", "ANL01FL"]).size().to_dict()
    assert counts == {(0.0, "", "Y"): 254,
                      (8.0, "", ""): 17, (8.0, "", "Y"): 235, (8.0, "LOCF", "Y"): 19,
                      (16.0, "", ""): 4, (16.0, "", "Y"): 150, (16.0, "LOCF", "Y"): 104,
                      (24.0, "", ""): 3, (24.0, "", "Y"): 155, (24.0, "LOCF", "Y"): 99}
    assert len(adas) == 12463


def test_adqsadas_week_24_locf_reproduces_the_pilots_table_14_3_01(adas):
    # Table 14-3.01 (efficacy population): n, mean (SD), median (range) of the baseline,
    # week 24 and change, as printed (one decimal; SD two).
    t = adas[(adas["PARAMCD"] == "ACTOT") & (adas["EFFFL"] == "Y") & (adas["ANL01FL"] == "Y")]

    def printed(avisit: str, var: str) -> list[list[float]]:
        s = t[t["AVISIT"] == avisit].groupby("TRTPN")[var]
        rows = pd.concat([s.count(), s.mean(), s.std(), s.median(), s.min(), s.max()],
                         axis=1).to_numpy()
        return [[r[0], *round_half_up(r[1:2], 1), *round_half_up(r[2:3], 2),
                 *round_half_up(r[3:4], 1), *round_half_up(r[4:], 0)] for r in rows]

    assert printed("Baseline", "AVAL") == [[79, 24.1, 12.19, 21.0, 5, 61],
                                           [81, 24.4, 12.92, 21.0, 5, 57],
                                           [74, 21.3, 11.74, 18.0, 3, 57]]
    assert printed("Week 24", "AVAL") == [[79, 26.7, 13.79, 24.0, 5, 62],
                                          [81, 26.4, 13.18, 25.0, 6, 62],
                                          [74, 22.8, 12.48, 20.0, 3, 62]]
    assert printed("Week 24", "CHG") == [[79, 2.5, 5.80, 2.0, -11, 16],
                                         [81, 2.0, 5.55, 2.0, -11, 17],
                                         [74, 1.5, 4.26, 1.0, -7, 13]]
    week24 = t[t["AVISIT"] == "Week 24"]
    dose = smf.ols("CHG ~ TRTPN + C(SITEGR1) + BASE", week24).fit()
    assert round(dose.pvalues["TRTPN"], 3) == 0.245
    arms = smf.ols("CHG ~ C(TRTPN) + C(SITEGR1) + BASE", week24).fit()
    low, high = "C(TRTPN)[T.54.0]", "C(TRTPN)[T.81.0]"
    assert [round(arms.params[low], 1), round(arms.bse[low], 2),
            round(arms.pvalues[low], 3)] == [-0.5, 0.82, 0.569]
    assert [round(arms.params[high], 1), round(arms.bse[high], 2),
            round(arms.pvalues[high], 3)] == [-1.0, 0.84, 0.233]
    assert round(float(arms.t_test(f"{high} - {low} = 0").pvalue), 3) == 0.520
