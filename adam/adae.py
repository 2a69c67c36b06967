"""ADAE: adverse events for analysis (ADaMIG 1.3 OCCDS), from AE and ADSL.

* ASTDT: AESTDTC, a partial date imputed to the first day it can be, but not before
  the first dose when the first dose falls in the partial period (nor after the end
  date); ASTDTF says what was imputed. AENDT: AEENDTC, a partial date imputed to the
  last day it can be, not after death (AENDTF). ASTDY/AENDY count from randomisation.
* TRTEMFL: Y when the event started on or after the first dose (and, when the spec
  declares a window, no later than that many days after the last dose). An event that
  started before the first dose is not treatment-emergent.
* ATOXGR/ATOXGRN: the CTCAE grade as text and number.
* CQnnNAM: the adverse events of special interest of the paper's Table 3, each a
  customised query declared in the spec as a condition on the coded terms.
* Flags declared in the spec (grade >= 3, fatal, led to discontinuation, dose reduced,
  dose reduced for a grade >= 3 event) and first-occurrence flags among the
  treatment-emergent events: per subject (AOCCFL), system organ class (AOCCSFL),
  preferred term (AOCCPFL), the subject's worst grade (AOCCIFL), and per query
  (AOCCnnFL).

A subject without adverse events has no record here; summaries take their
denominators from ADSL.

Example
-------
>>> spec = resolve(load_dataset_spec(SPECS / "adam" / "adae.yaml"), load_study())
... # doctest: +SKIP
>>> adae = build({"AE": ae, "ADSL": adsl}, spec)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adam.conditions import check_condition, select
from adam.dates import convert_dtc_to_dt, derive_vars_dt, derive_vars_dy
from adam.derive import (
    derive_var_condition_flag,
    derive_var_extreme_flag,
    derive_vars_merged,
    keep_spec_vars,
)
from trialflow.spec import DatasetSpec

KEY = ["USUBJID"]


def derive_vars_astdt_aendt(dataset: pd.DataFrame) -> pd.DataFrame:
    """ASTDT/ASTDTF and AENDT/AENDTF (see the module doc)."""
    out = dataset.assign(_AENDTC=convert_dtc_to_dt(dataset["AEENDTC"]))
    out = derive_vars_dt(out, "AST", "AESTDTC", "M", "first", min_dates=["TRTSDT"],
                         max_dates=["_AENDTC"])
    out = derive_vars_dt(out, "AEN", "AEENDTC", "M", "last", max_dates=["DTHDT"])
    return out.drop(columns="_AENDTC")


def derive_var_trtemfl(dataset: pd.DataFrame, window_after_last_dose: int | None = None
                       ) -> pd.DataFrame:
    """TRTEMFL = Y when ASTDT is on or after TRTSDT (and, with a window, on or before
    TRTEDT + window days)."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    emergent = out["ASTDT"].notna() & out["TRTSDT"].notna() & (out["ASTDT"] >= out["TRTSDT"])
    if window_after_last_dose is not None:
        # In days (a nanosecond Timedelta would cast the dates to nanoseconds).
        limit = out["TRTEDT"] + np.timedelta64(int(window_after_last_dose), "D")
        emergent &= out["ASTDT"] <= limit
    out["TRTEMFL"] = np.where(emergent, "Y", "")
    return out


def derive_vars_atoxgr(dataset: pd.DataFrame) -> pd.DataFrame:
    """ATOXGR = AETOXGR; ATOXGRN its number."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    out["ATOXGR"] = out["AETOXGR"].fillna("").astype(str)
    out["ATOXGRN"] = pd.to_numeric(out["ATOXGR"], errors="coerce")
    return out


def derive_vars_query(dataset: pd.DataFrame, queries: Sequence[Mapping[str, Any]]
                      ) -> pd.DataFrame:
    """CQnnNAM = the query's name on the events meeting its condition (``{id: CQnn, name,
    condition}``), blank elsewhere."""
    out = dataset.copy(deep=False)  # shares the input's columns (see adam.derive)
    for q in queries:
        out[f"{q['id']}NAM"] = np.where(select(out, q["condition"]), q["name"], "")
    return out


def derive_vars_flags(dataset: pd.DataFrame, flags: Sequence[Mapping[str, Any]]
                      ) -> pd.DataFrame:
    """Each declared flag ``{name, condition}``: Y on the events meeting it, else N."""
    out = dataset
    for f in flags:
        out = derive_var_condition_flag(out, f["name"], f["condition"], "Y", "N")
    return out


def derive_vars_occurrence(dataset: pd.DataFrame, queries: Sequence[Mapping[str, Any]]
                           ) -> pd.DataFrame:
    """First-occurrence flags among treatment-emergent events, in order of start date and
    AESEQ: AOCCFL (subject), AOCCSFL (SOC), AOCCPFL (PT), AOCCIFL (the subject's worst
    grade, earliest first), AOCCnnFL (query nn)."""
    te = {"TRTEMFL": "Y"}
    order = ["ASTDT", "AESEQ"]
    out = derive_var_extreme_flag(dataset, KEY, order, "AOCCFL", filter=te)
    out = derive_var_extreme_flag(out, [*KEY, "AEBODSYS"], order, "AOCCSFL", filter=te)
    out = derive_var_extreme_flag(out, [*KEY, "AEBODSYS", "AEDECOD"], order, "AOCCPFL",
                                  filter=te)
    out = derive_var_extreme_flag(out, KEY, ["-ATOXGRN", *order], "AOCCIFL", filter=te)
    for q in queries:
        nn = q["id"][2:]
        out = derive_var_extreme_flag(out, KEY, order, f"AOCC{nn}FL",
                                      filter={**te, f"{q['id']}NAM": {"present": True}})
    return out


def build(inputs: Mapping[str, pd.DataFrame], spec: DatasetSpec) -> pd.DataFrame:
    """ADAE from AE and ADSL (``inputs``) as ``spec`` declares it."""
    d = spec.derivation
    for q in d["queries"]:
        check_condition(q.get("condition"), spec.file, spec.name, f"query {q.get('id')}")
    for f in d["flags"]:
        check_condition(f.get("condition"), spec.file, spec.name, f"flag {f.get('name')}")
    adsl = inputs["ADSL"]
    ae = inputs["AE"]
    ae = ae[ae["USUBJID"].isin(adsl["USUBJID"])]
    ae = derive_vars_merged(ae.drop(columns=["STUDYID"]), adsl, KEY,
                            new_vars=list(d["adsl_vars"]))
    ae = derive_vars_astdt_aendt(ae)
    ae = derive_vars_dy(ae, "RANDDT", {"ASTDY": "ASTDT", "AENDY": "AENDT"})
    ae = derive_var_trtemfl(ae, d.get("window_after_last_dose"))
    ae = derive_vars_atoxgr(ae)
    ae = derive_vars_query(ae, d["queries"])
    ae = derive_vars_flags(ae, d["flags"])
    ae = derive_vars_occurrence(ae, d["queries"])
    return keep_spec_vars(ae, spec)
