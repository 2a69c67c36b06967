"""ANCOVA as SAS PROC GLM prints it: LS means, their differences and the dose-response
test, against SAS's documented output, hand computation and an independent coding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t
from tlfkit import run, study, value

from tlf.analyses.ancova import AncovaFit, dose_response

# The analysis-of-covariance example of the SAS/STAT PROC GLM documentation
# (Snedecor and Cochran's drug trial: PostTreatment = Drug PreTreatment).
_DRUG = """A 11 6 A 8 0 A 5 2 A 14 8 A 19 11 A 6 4 A 10 13 A 6 1 A 11 8 A 3 0
D 6 0 D 6 2 D 7 3 D 8 1 D 18 18 D 8 4 D 19 14 D 8 9 D 5 1 D 15 9
F 16 13 F 13 10 F 11 18 F 9 5 F 21 23 F 16 12 F 12 5 F 12 16 F 7 1 F 12 20""".split()
DRUG = pd.DataFrame({"drug": _DRUG[0::3], "pre": [float(v) for v in _DRUG[1::3]],
                     "post": [float(v) for v in _DRUG[2::3]]})


def test_ls_means_equal_sas_glm_output() -> None:
    fit = AncovaFit(DRUG, "post", "drug", "pre", [], ["A", "D", "F"])
    # SAS prints: LSMEAN 6.7149635, 6.8239348, 10.1611017; Standard Error 1.2884943,
    # 1.2724690, 1.3159234; Pr > |t| for the differences 0.9521 (A-D), 0.0793 (A-F),
    # 0.0835 (D-F).
    for drug, mean, se in (("A", 6.7149635, 1.2884943), ("D", 6.8239348, 1.2724690),
                           ("F", 10.1611017, 1.3159234)):
        est, stderr, _, _ = fit.lsmean(drug)
        assert round(est, 7) == mean and round(stderr, 7) == se
    for a, b, p in (("A", "D", 0.9521), ("A", "F", 0.0793), ("D", "F", 0.0835)):
        assert round(fit.difference(a, b)[5], 4) == p
    assert fit.df == 26  # 30 records - 3 drugs - 1 slope


def test_ls_means_by_the_one_way_ancova_formula() -> None:
    # LS mean_i = mean(y_i) - b (mean(x_i) - mean(x)), b the pooled within-group slope.
    centred = DRUG.assign(xc=DRUG["pre"] - DRUG.groupby("drug")["pre"].transform("mean"),
                          yc=DRUG["post"] - DRUG.groupby("drug")["post"].transform("mean"))
    b = (centred["xc"] * centred["yc"]).sum() / (centred["xc"] ** 2).sum()
    fit = AncovaFit(DRUG, "post", "drug", "pre", [], ["A", "D", "F"])
    for drug, part in DRUG.groupby("drug"):
        hand = part["post"].mean() - b * (part["pre"].mean() - DRUG["pre"].mean())
        assert fit.lsmean(str(drug))[0] == pytest.approx(hand, abs=1e-10)
    diff, se, lcl, ucl, t, p = fit.difference("F", "A")
    assert (lcl, ucl) == pytest.approx((diff - student_t.ppf(0.975, 26) * se,
                                        diff + student_t.ppf(0.975, 26) * se))


def test_ls_means_average_the_factor_levels_with_equal_weight() -> None:
    # An unbalanced design with a class factor: the LS mean is the prediction at the
    # covariate's mean averaged over the factor's levels with equal weights. With
    # sum-to-zero (effect) coding the factor effects cancel in that average, so the LS
    # mean is intercept + treatment effect + slope * mean(x): an independent check.
    rng = np.random.default_rng(7)
    n = 40
    frame = pd.DataFrame({"g": rng.choice(["P", "L", "H"], n, p=[0.5, 0.3, 0.2]),
                          "site": rng.choice(["s1", "s2", "s3"], n, p=[0.6, 0.3, 0.1]),
                          "x": rng.normal(20, 5, n)})
    frame["y"] = (frame["g"].map({"P": 0.0, "L": -1.0, "H": -2.0})
                  + frame["site"].map({"s1": 0.0, "s2": 1.5, "s3": -0.5})
                  + 0.3 * frame["x"] + rng.normal(0, 1, n))
    fit = AncovaFit(frame, "y", "g", "x", ["site"], ["P", "L", "H"])

    def effect(column: pd.Series, levels: list[str]) -> np.ndarray:
        out = np.zeros((len(column), len(levels) - 1))
        for j, level in enumerate(levels[:-1]):
            out[:, j] = (column == level).astype(float) - (column == levels[-1]).astype(float)
        return out

    arms, sites = ["P", "L", "H"], ["s1", "s2", "s3"]
    x = np.column_stack([np.ones(n), effect(frame["g"], arms), effect(frame["site"], sites),
                         frame["x"]])
    beta = np.linalg.lstsq(x, frame["y"].to_numpy(), rcond=None)[0]
    arm_effects = [*beta[1:3], -beta[1:3].sum()]
    for arm, eff in zip(arms, arm_effects, strict=True):
        expected = beta[0] + eff + beta[-1] * frame["x"].mean()
        assert fit.lsmean(arm)[0] == pytest.approx(expected, abs=1e-9)


def test_dose_response_by_hand() -> None:
    # Balanced covariate within each dose: the dose slope is that of the dose means,
    # (1.5, 3.5, 5.5) over doses (0, 1, 2): 2.
    frame = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0, 5.0, 6.0], "d": [0, 0, 1, 1, 2, 2],
                          "x": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]})
    got = dose_response(frame, "y", "d", "x", [])
    assert got["estimate"] == pytest.approx(2.0)
    assert got["df"] == 3


@pytest.fixture
def adqs() -> dict[str, pd.DataFrame]:
    """Three arms of the drug trial as a BDS change-from-baseline dataset at one visit."""
    ids = [f"S{i:02d}" for i in range(30)]
    arm = DRUG["drug"].map({"A": "Placebo", "D": "Low", "F": "High"})
    adsl = pd.DataFrame({"USUBJID": ids, "TRTP": arm, "TRTPN": arm.map(
        {"Placebo": 0.0, "Low": 54.0, "High": 81.0}), "EFFFL": "Y"})
    adqs = adsl.assign(PARAMCD="SCORE", AVISIT="Week 24", AVISITN=24.0,
                       BASE=DRUG["pre"], AVAL=DRUG["pre"] + DRUG["post"],
                       CHG=DRUG["post"], SITEGR1=["1", "2"] * 15)
    return {"ADSL": adsl, "ADQS": adqs}


def test_the_ancova_family_with_three_arms(adqs) -> None:
    arms = study(["PBO", "LO", "HI"], control="PBO", names=["Placebo", "Low", "High"])
    doc = {"id": "score", "family": "ancova", "population": "eff", "dataset": "ADQS",
           "parameter": "SCORE", "group": {"variable": "TRTP"}, "comparisons": "all_pairs",
           "dose_response": "TRTPN"}
    ard = run([doc], adqs, arms, populations={"eff": {"EFFFL": "Y"}})
    at = {"group2": "AVISIT", "group2_level": "Week 24"}
    assert value(ard, "score", "Placebo", "change", "lsmean", **at) == pytest.approx(
        6.7149635, abs=1e-7)
    assert value(ard, "score", "High", "change", "lsmean_se", **at) == pytest.approx(
        1.3159234, abs=1e-7)
    assert value(ard, "score", "High vs Placebo", "change", "diff", **at) == pytest.approx(
        10.1611017 - 6.7149635, abs=1e-6)
    assert round(value(ard, "score", "High vs Low", "change", "p_2s", **at), 4) == 0.0835
    assert value(ard, "score", "Low", "baseline", "mean", **at) == pytest.approx(10.0)
    assert value(ard, "score", "Low", "change", "n", **at) == 10
    fit = dose_response(adqs["ADQS"], "CHG", "TRTPN", "BASE", [])
    assert value(ard, "score", "", "change", "p_2s", "dose_response", **at) == \
        pytest.approx(fit["p_2s"])


def test_factors_enter_the_model(adqs) -> None:
    arms = study(["PBO", "LO", "HI"], control="PBO", names=["Placebo", "Low", "High"])
    doc = {"id": "score", "family": "ancova", "population": "eff", "dataset": "ADQS",
           "parameter": "SCORE", "group": {"variable": "TRTP"}, "factors": ["SITEGR1"]}
    ard = run([doc], adqs, arms, populations={"eff": {"EFFFL": "Y"}})
    fit = AncovaFit(adqs["ADQS"].rename(columns={"TRTP": "_GROUP"}), "CHG", "_GROUP",
                    "BASE", ["SITEGR1"], ["Placebo", "Low", "High"])
    assert value(ard, "score", "Low vs Placebo", "change", "diff", group2="AVISIT",
                 group2_level="Week 24") == pytest.approx(fit.difference("Low", "Placebo")[0])
    assert value(ard, "score", "Low vs Placebo", "change", "df", group2="AVISIT",
                 group2_level="Week 24") == 25
