"""DM (Demographics): one record per enrolled subject.

Fully declared in ``specs/sdtm/dm.yaml`` except the actual arm, which depends on
which drugs the subject received (``actarmcd`` below).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trialflow.errors import SpecError
from trialflow.mapping import Context, Derivation, fold, map_dataset, text
from trialflow.spec import DatasetSpec


def _actarmcd(frame: pd.DataFrame, out: pd.DataFrame, params: dict[str, Any], ctx: Context,
              spec: DatasetSpec) -> pd.Series:
    """ACTARMCD from what was given: the arm whose defining drug the subject received
    (``defining: {ARMCD: DRUG}``), else ``otherwise`` if dosed at all, else blank.

    A dose counts when its amount is above zero. One TC patient in PRECIOUS received
    pertuzumab: by this rule the actual arm is PTC, so safety analyses by actual
    treatment count the patient there.
    """
    form = params.get("form", "exposure")
    drug_col, dose_col = params.get("drug", "DRUG"), params.get("dose", "DOSE")
    defining: dict[str, str] = params.get("defining") or {}
    otherwise = params.get("otherwise", "")
    if form not in ctx.raw or not {drug_col, dose_col} <= set(ctx.raw[form].columns):
        raise SpecError(spec.file, f"actarmcd needs {form}.{drug_col} and {form}.{dose_col}",
                        spec.name, "ACTARMCD")
    ex = ctx.raw[form]
    given = pd.to_numeric(text(ex[dose_col]), errors="coerce").fillna(0).to_numpy() > 0
    subj = text(ex["SUBJID"])[given]
    drugs = fold(ex[drug_col])[given]
    subjects = text(frame["SUBJID"])
    result = pd.Series(np.where(subjects.isin(set(subj)), otherwise, ""), index=frame.index,
                       dtype=object)
    # The first listed arm wins if a subject received the defining drugs of two arms.
    for armcd, drug in reversed(list(defining.items())):
        got = set(subj[drugs.eq(fold(pd.Series([drug])).iloc[0]).to_numpy()])
        result = result.where(~subjects.isin(got), armcd)
    return result


DERIVATIONS = {
    "actarmcd": Derivation("actarmcd", _actarmcd, "row",
                           "arm whose defining drug was received; the other arm if dosed"),
}


def build(inputs: Context, spec: DatasetSpec) -> pd.DataFrame:
    """DM from the enrolment form and the forms merged in its spec."""
    return map_dataset(inputs, spec)
