"""ADRS: tumour response by investigator, RECIST 1.1 (ADaMIG 1.3 BDS), from RS and ADSL.

Parameters (``specs/adam/adrs.yaml`` declares their codes, names and order):

* OVR — the overall response of each post-baseline assessment as recorded (RS
  OVRLRESP; an assessment not done is NE). ANL01FL marks the assessments that count:
  on or after randomisation, up to the first progression (RECIST PD, or clinical
  progression), before the first new anti-cancer therapy, the worst one of a date;
* BOR / CBOR — best overall response, unconfirmed (as PRECIOUS reports it) and
  confirmed, from the OVR records that count (:mod:`adam.response`): stable disease
  needs the SD minimum (study day >= ``sd_min_days`` from randomisation); NE
  ("unknown") when there are assessments but none evaluable, MISSING when none;
* RSP / CRSP — Y with the date of the first (confirmed) CR or PR, else N;
* PD — Y with the date of the first progression, RECIST PD or clinical progression
  (PDSRC says which), else N; a progression after a new anti-cancer therapy does not
  count;
* LSTA — the last adequate (not NE) assessment that counts.

Example
-------
>>> spec = resolve(load_dataset_spec(SPECS / "adam" / "adrs.yaml"), load_study())
... # doctest: +SKIP
>>> adrs = build({"RS": rs, "ADSL": adsl}, spec)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from adam.conditions import condition_variables, select
from adam.dates import convert_dtc_to_dt, derive_vars_dy
from adam.derive import derive_var_obs_number, derive_vars_merged, keep_spec_vars
from adam.response import (
    derive_bor,
    derive_first,
    derive_last_adequate,
    derive_progression,
    filter_assessments,
)
from trialflow.spec import DatasetSpec

KEY = ["USUBJID"]


def derive_param_ovr(rs: pd.DataFrame, adsl: pd.DataFrame, ovr_filter: dict[str, Any]
                     ) -> pd.DataFrame:
    """OVR records: one per RS overall-response record (``ovr_filter``) of an ADSL
    subject; AVALC = RSSTRESC, NE when the assessment was not done; ADT = RSDTC."""
    o = rs[select(rs, ovr_filter) & rs["USUBJID"].isin(adsl["USUBJID"])].copy()
    o["PARAMCD"] = "OVR"
    o["AVALC"] = o["RSSTRESC"].fillna("").astype(str).str.strip().replace("", "NE")
    o["ADT"] = convert_dtc_to_dt(o["RSDTC"])
    o["AVISIT"] = o["VISIT"]
    o["AVISITN"] = o["VISITNUM"].astype("float64")
    o["SRCDOM"] = "RS"
    o["SRCVAR"] = "RSSTRESC"
    o["SRCSEQ"] = o["RSSEQ"].astype("float64")
    return o[["USUBJID", "PARAMCD", "AVALC", "ADT", "AVISIT", "AVISITN", "SRCDOM", "SRCVAR",
              "SRCSEQ"]].reset_index(drop=True)


def derive_clinical_progression(rs: pd.DataFrame, adsl: pd.DataFrame,
                                clinical_filter: dict[str, Any]) -> pd.DataFrame:
    """Clinical progressions that count: RS records meeting ``clinical_filter`` dated on
    or after randomisation and before the first new anti-cancer therapy (ADSL NACTDT).
    Returns USUBJID and ADT."""
    c = rs[select(rs, clinical_filter)].copy()
    c["ADT"] = convert_dtc_to_dt(c["RSDTC"])
    c = c.merge(adsl[["USUBJID", "RANDDT", "NACTDT"]], on="USUBJID", how="inner")
    keep = c["ADT"].notna() & (c["ADT"] >= c["RANDDT"]) & ~(c["ADT"] >= c["NACTDT"])
    return c.loc[keep, ["USUBJID", "ADT"]].reset_index(drop=True)


def derive_var_anl01fl(ovr: pd.DataFrame, adsl: pd.DataFrame, clinical: pd.DataFrame
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ANL01FL = Y on the OVR records that count (:func:`adam.response.filter_assessments`
    with the first new therapy, ADSL NACTDT, and the clinical progressions); also
    returns those records."""
    new_therapy = adsl.loc[adsl["NACTDT"].notna(), ["USUBJID", "NACTDT"]].rename(
        columns={"NACTDT": "NTSTDT"})
    kept = filter_assessments(ovr, adsl, new_therapy, clinical)
    flag = kept[["USUBJID", "SRCSEQ"]].assign(ANL01FL="Y")
    out = ovr.merge(flag, on=["USUBJID", "SRCSEQ"], how="left", validate="m:1")
    out.index = ovr.index
    out["ANL01FL"] = out["ANL01FL"].fillna("")
    return out, kept


def derive_param_bor(kept: pd.DataFrame, adsl: pd.DataFrame, sd_min_days: int,
                     paramcd: str, confirmed: bool) -> pd.DataFrame:
    """BOR (or CBOR with ``confirmed``) for every ADSL subject."""
    b = derive_bor(kept, adsl, sd_min_days, confirmed)
    return b.assign(PARAMCD=paramcd)


def derive_param_response(kept: pd.DataFrame, adsl: pd.DataFrame, bor: pd.DataFrame,
                          paramcd: str, confirmed: bool) -> pd.DataFrame:
    """RSP: Y with the date of the first CR/PR, else N; CRSP (``confirmed``): Y with the
    date of the confirmed best response when it is CR or PR, else N."""
    if not confirmed:
        return derive_first(kept, adsl, ["CR", "PR"]).assign(PARAMCD=paramcd)
    out = adsl[["USUBJID"]].merge(bor[["USUBJID", "AVALC", "ADT"]], on="USUBJID", how="left")
    resp = out["AVALC"].isin(["CR", "PR"])
    out["AVALC"] = np.where(resp, "Y", "N")
    out["ADT"] = out["ADT"].where(resp)
    return out.assign(PARAMCD=paramcd)


def derive_param_pd(kept: pd.DataFrame, clinical: pd.DataFrame, adsl: pd.DataFrame
                    ) -> pd.DataFrame:
    """PD: Y with the earlier of the first RECIST PD that counts and the first clinical
    progression that counts (PDSRC RECIST or CLINICAL), else N."""
    return derive_progression(kept, clinical, adsl).assign(PARAMCD="PD")


def derive_param_lsta(kept: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """LSTA: the last adequate (not NE) assessment that counts; none when there is
    none."""
    last = derive_last_adequate(kept, adsl)
    return last[last["ADT"].notna()].assign(PARAMCD="LSTA")


def derive_var_aval(dataset: pd.DataFrame, coding: Mapping[str, float]) -> pd.DataFrame:
    """AVAL = the numeric code of AVALC (CR=1 ... MISSING=7; Y=1, N=0)."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    out["AVAL"] = out["AVALC"].map({k: float(v) for k, v in coding.items()})
    return out


def input_columns(spec: DatasetSpec) -> dict[str, set[str] | None]:
    """The SDTM variables :func:`build` reads, by domain."""
    d = spec.derivation
    return {"RS": {"USUBJID", "RSSTRESC", "RSDTC", "VISIT", "VISITNUM", "RSSEQ",
                   *condition_variables(d["ovr_filter"], d["clinical_filter"])}}


def build(inputs: Mapping[str, pd.DataFrame], spec: DatasetSpec) -> pd.DataFrame:
    """ADRS from RS and ADSL (``inputs``) as ``spec`` declares it."""
    d = spec.derivation
    rs, adsl = inputs["RS"], inputs["ADSL"]
    ovr = derive_param_ovr(rs, adsl, d["ovr_filter"])
    clinical = derive_clinical_progression(rs, adsl, d["clinical_filter"])
    ovr, kept = derive_var_anl01fl(ovr, adsl, clinical)
    bor = derive_param_bor(kept, adsl, d["sd_min_days"], "BOR", False)
    cbor = derive_param_bor(kept, adsl, d["sd_min_days"], "CBOR", True)
    subject_level = [
        bor,
        cbor,
        derive_param_response(kept, adsl, bor, "RSP", False),
        derive_param_response(kept, adsl, cbor, "CRSP", True),
        derive_param_pd(kept, clinical, adsl),
        derive_param_lsta(kept, adsl),
    ]
    derived = pd.concat(subject_level, ignore_index=True)
    derived["ANL01FL"] = "Y"
    derived["PDSRC"] = derived.get("PDSRC", pd.Series("", index=derived.index)).fillna("")
    adrs = pd.concat([ovr, derived], ignore_index=True)
    params = pd.DataFrame(spec.parameters)[["paramcd", "param", "paramn"]].rename(
        columns={"paramcd": "PARAMCD", "param": "PARAM", "paramn": "PARAMN"})
    adrs = adrs.merge(params, on="PARAMCD", how="left", validate="m:1")
    adrs["PARAMN"] = adrs["PARAMN"].astype("float64")
    adrs["PARCAT1"] = d["parcat1"]
    adrs = derive_var_aval(adrs, d["aval_coding"])
    adrs = derive_vars_merged(adrs, adsl, KEY, new_vars=list(d["adsl_vars"]))
    adrs = derive_vars_dy(adrs, "RANDDT", {"ADY": "ADT"})
    for c in ("AVISIT", "SRCDOM", "SRCVAR", "PDSRC"):
        adrs[c] = adrs[c].fillna("")
    adrs = derive_var_obs_number(adrs, KEY, ["PARAMN", "ADT", "AVISITN", "SRCSEQ"], "ASEQ")
    return keep_spec_vars(adrs, spec)
