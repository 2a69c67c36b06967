"""The published numbers from the ADaM datasets alone.

The calibrated study is built as ``make tlf`` builds it (``trialflow run``: simulate with
the subjects and seed of ``specs/study.yaml``, SDTM, ADaM, validate) into a temporary
directory; the populations, event counts and the counts of Tables 1-3 are then counted
from the ADaM files only and compared with the publication
(``../shared/reference/precious-targets.yaml``). Skipped only without the targets file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from trialflow.xpt import read_xpt

TARGETS = Path(__file__).resolve().parents[3] / "shared" / "reference" / \
    "precious-targets.yaml"
ARMS = ("PTC", "TC")


@pytest.fixture(scope="module")
def build(study_build) -> tuple[int, Path]:
    if not TARGETS.is_file():
        pytest.skip("the publication's targets are not available")
    return study_build.code, study_build.out


@pytest.fixture(scope="module")
def adam(build) -> dict[str, pd.DataFrame]:
    return {p.stem.upper(): read_xpt(p).data for p in sorted((build[1] / "adam").glob("*.xpt"))}


def test_the_run_writes_the_five_adam_datasets_and_validation_finds_no_error(build) -> None:
    code, out = build
    assert code == 0
    assert {p.stem for p in (out / "adam").glob("*.xpt")} == {
        "adsl", "adrs", "adqs", "adae", "adtte"}
    found = pd.read_excel(out / "reports" / "validation.xlsx", sheet_name="findings")
    assert (found["severity"] != "error").all()


def _n(data: pd.DataFrame, mask: Any = True) -> list[int]:
    """Subjects per randomised arm."""
    sel = data[mask] if mask is not True else data
    return [int(sel.loc[sel["TRT01P"] == a, "USUBJID"].nunique()) for a in ARMS]


def counts(adam: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The published counts, from ADaM only (keys as in precious-targets.yaml)."""
    sl, rs, tte, ae = adam["ADSL"], adam["ADRS"], adam["ADTTE"], adam["ADAE"]
    itt = sl[sl["ITTFL"] == "Y"]
    saf = sl[sl["SAFFL"] == "Y"]
    out: dict[str, Any] = {
        "populations.randomised": _n(sl),
        "populations.itt": _n(itt),
        "populations.fas": _n(sl, sl["FASFL"] == "Y"),
        "populations.safety": _n(saf),
        "populations.measurable_disease": _n(itt, itt["MEASFL"] == "Y"),
        "populations.hrqol": _n(sl, sl["QOLFL"] == "Y"),
        "populations.tdm1_latest_regimen": _n(itt, itt["TDM1LFL"] == "Y"),
    }
    t = tte[tte["ITTFL"] == "Y"]
    pfs, os_ = t[t["PARAMCD"] == "PFS"], t[t["PARAMCD"] == "OS"]
    out["pfs_itt.events"] = _n(pfs, pfs["CNSR"] == 0)
    out["pfs_itt.clinical_progression_events"] = _n(
        pfs, (pfs["CNSR"] == 0) & (pfs["EVNTDESC"] == "Clinical progression"))
    out["pfs_tdm1_latest.n"] = _n(pfs, pfs["TDM1LFL"] == "Y")
    out["os_itt.deaths"] = _n(os_, os_["CNSR"] == 0)
    ttd = tte[tte["PARAMCD"] == "TTDBTOI"]
    out["ttd_bt_oi.population"] = _n(ttd)
    out["ttd_bt_oi.events"] = _n(ttd, ttd["CNSR"] == 0)
    r = rs[(rs["ITTFL"] == "Y") & (rs["MEASFL"] == "Y")]
    bor = r[r["PARAMCD"] == "BOR"]
    for label, value in (("CR", "CR"), ("PR", "PR"), ("SD", "SD"), ("PD", "PD"),
                         ("unknown", "NE"), ("missing", "MISSING")):
        out[f"table2_response.best_overall_response.{label}"] = _n(bor, bor["AVALC"] == value)
    out["table2_response.orr.n"] = _n(r, (r["PARAMCD"] == "RSP") & (r["AVALC"] == "Y"))
    dor = t[(t["PARAMCD"] == "DOR") & (t["MEASFL"] == "Y")]
    out["table2_response.duration_of_response.n"] = _n(dor)
    t1 = "table1_baseline"
    out[f"{t1}.ecog_ps.0"] = _n(itt, itt["ECOGGR1"] == "0")
    out[f"{t1}.ecog_ps.1, 2"] = _n(itt, itt["ECOGGR1"] == "1-2")
    out[f"{t1}.estrogen_receptor.positive"] = _n(itt, itt["ERSTAT"] == "POSITIVE")
    out[f"{t1}.estrogen_receptor.negative"] = _n(itt, itt["ERSTAT"] == "NEGATIVE")
    out[f"{t1}.visceral_disease"] = _n(itt, itt["VISCFL"] == "Y")
    for site, var in (("lung", "METLUNFL"), ("liver", "METLIVFL"), ("bone", "METBONFL"),
                      ("brain", "METBRAFL")):
        out[f"{t1}.metastatic_site.{site}"] = _n(itt, itt[var] == "Y")
    out[f"{t1}.measurable_disease"] = _n(itt, itt["MEASFL"] == "Y")
    for k in (2, 3, 4, 5):
        out[f"{t1}.previous_ct_regimens.{k}"] = _n(itt, itt["NPRREG"] == k)
    for key, line in (("prior_pertuzumab_first_line_days", ("<180", ">=180")),
                      ("prior_pertuzumab_second_line_days", ("<120", ">=120"))):
        for c in line:
            out[f"{t1}.{key}.{c}"] = _n(itt, itt["PPERDURC"] == c)
    for agent, var in (("pertuzumab", "PRPERFL"), ("trastuzumab", "PRTRAFL"),
                       ("t_dm1", "PRTDM1FL"), ("lapatinib", "PRLAPFL"), ("others", "PROTHFL")):
        out[f"{t1}.prior_anti_her2_for_la_mbc.{agent}"] = _n(itt, itt[var] == "Y")
    out[f"{t1}.tdm1_latest_regimen"] = _n(itt, itt["TDM1LFL"] == "Y")
    for arm in ARMS:
        age = itt.loc[itt["TRT01P"] == arm, "AGE"]
        out[f"{t1}.age_years.{arm}"] = {"median": float(age.median()),
                                        "min": float(age.min()), "max": float(age.max())}
        cyc = saf.loc[saf["TRT01P"] == arm, "CYCLES"]
        out[f"exposure.cycles_median_min_max.{arm}"] = [float(cyc.median()),
                                                        float(cyc.min()), float(cyc.max())]
    a = ae[(ae["SAFFL"] == "Y") & (ae["TRTEMFL"] == "Y")]
    t3 = "table3_safety"
    out[f"{t3}.grade3_plus.n"] = _n(a, a["AEGR3FL"] == "Y")
    out[f"{t3}.serious.n"] = _n(a, a["AESER"] == "Y")
    out[f"{t3}.death_due_to_ae.n"] = _n(a, a["AEFATFL"] == "Y")
    out[f"{t3}.discontinuation_due_to_ae.n"] = _n(a, a["AEDISCFL"] == "Y")
    out[f"{t3}.dose_reduction_due_to_grade3_ae.n"] = _n(a, a["AERED3FL"] == "Y")
    out[f"{t3}.lvef_decline.n"] = _n(saf, saf["LVEFDFL"] == "Y")
    for name, cq in (("stomatitis", "CQ01"), ("diarrhea", "CQ02"), ("neutropenia", "CQ03"),
                     ("febrile_neutropenia", "CQ04"), ("infusion_reaction", "CQ05"),
                     ("cardiac_dysfunction", "CQ06"), ("skin_and_subcutaneous", "CQ07")):
        q = a[a[f"{cq}NAM"] != ""]
        anyg, g3 = _n(q), _n(q, q["AEGR3FL"] == "Y")
        for i, arm in enumerate(ARMS):
            out[f"{t3}.special_interest.{name}.{arm}"] = [anyg[i], g3[i]]
    return out


def _target(targets: dict[str, Any], key: str) -> Any:
    node: Any = targets
    parts = key.split(".")
    i = 0
    while i < len(parts):
        # keys such as "1, 2" contain no dots; "age_years.PTC" walks into the arm
        node = node[parts[i] if parts[i] in node else int(parts[i])]
        i += 1
    return node


def test_adam_reproduces_the_published_counts(adam) -> None:
    targets = yaml.safe_load(TARGETS.read_text(encoding="utf-8"))
    got = counts(adam)
    wrong = {}
    for key, value in got.items():
        want = _target(targets, key)
        if isinstance(want, dict):
            want = {k: want[k] for k in value}
        if value != want:
            wrong[key] = (value, want)
    assert wrong == {}, "\n".join(f"{k}: ADaM {v[0]}, published {v[1]}"
                                  for k, v in wrong.items())


def test_sdtm_dm_holds_the_219_randomised_patients_with_their_arms(build) -> None:
    dm = read_xpt(build[1] / "sdtm" / "dm.xpt").data
    assert len(dm) == 219 and dm["USUBJID"].is_unique
    assert dm["ARMCD"].value_counts().to_dict() == {"PTC": 110, "TC": 109}
