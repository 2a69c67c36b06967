"""SV (Subject Visits): one record per subject and visit that took place.

A visit took place if any domain has a record at it: SV collects VISITNUM, VISIT and
the record dates from the domains built before it (named in the spec's
``derivation.visits_from``), plus its own declared sources (the survival follow-up
contact). SVSTDTC is the earliest and SVENDTC the latest complete date seen at the
visit.
"""

from __future__ import annotations

import pandas as pd

from trialflow.derivations import complete_date
from trialflow.errors import SpecError
from trialflow.mapping import (
    FORM_COL,
    ROW_COL,
    Context,
    Derivation,
    apply_rules,
    finish_dataset,
    map_block,
)
from trialflow.spec import DatasetSpec

DERIVATIONS: dict[str, Derivation] = {}


def _visits(ctx: Context, spec: DatasetSpec) -> pd.DataFrame:
    """(USUBJID, VISITNUM, VISIT, DTC) of every record at a scheduled visit."""
    parts = []
    for entry in spec.derivation.get("visits_from", []):
        name, dtc = entry.get("dataset"), entry.get("dtc")
        data = ctx.domains.get(name)
        if data is None or dtc not in data.columns:
            raise SpecError(spec.file, f"visits_from needs dataset {name!r} (built before SV) "
                            f"with {dtc!r}", spec.name)
        for col in (dtc, entry.get("end")):
            if col is None:
                continue
            cols = data[["STUDYID", "USUBJID", "VISITNUM", "VISIT", col]]
            # Each distinct (subject, visit, name, date) once, first occurrences in order:
            # the first VISIT and the earliest and latest date of a visit are the same,
            # and QS's 37 items per visit (millions of records) are not concatenated.
            cols = cols[cols["VISITNUM"].notna().to_numpy()].drop_duplicates()
            parts.append(cols.rename(columns={col: "DTC"}))
    if not parts:
        return pd.DataFrame(columns=["STUDYID", "USUBJID", "VISITNUM", "VISIT", "DTC"])
    visits = pd.concat(parts, ignore_index=True)
    return visits[visits["VISITNUM"].notna()]


def build(inputs: Context, spec: DatasetSpec) -> pd.DataFrame:
    """SV: visits seen in other domains, collapsed per subject and visit, plus the
    declared sources (survival follow-up contact)."""
    visits = _visits(inputs, spec)
    # Complete dates as datetimes: min/max then run in compiled code, not per string.
    visits = visits.assign(DTC=complete_date(visits["DTC"]))
    keys = ["STUDYID", "USUBJID", "VISITNUM"]
    # observed=True: were a key categorical, only the visits seen count (as with text).
    first = visits.groupby(keys, sort=False, as_index=False, observed=True)["VISIT"].first()
    span = visits.groupby(keys, sort=False, observed=True).agg(SVSTDTC=("DTC", "min"),
                                                                SVENDTC=("DTC", "max"))
    collected = first.merge(span.reset_index(), on=keys, how="left")
    for col in ("SVSTDTC", "SVENDTC"):
        collected[col] = collected[col].dt.strftime("%Y-%m-%d").fillna("").astype(object)
    collected[FORM_COL] = ""
    collected[ROW_COL] = 0
    parts = [collected] + [map_block(b, inputs, spec) for b in spec.sources]
    data = pd.concat(parts, ignore_index=True)
    data = data.drop_duplicates(subset=keys, keep="first").reset_index(drop=True)
    # Variables that follow from the others (study days, epoch) are derived again over
    # all records, collected and declared alike, with the spec's own rules.
    for name in spec.derivation.get("recompute", []):
        if name not in spec.variable_names:
            raise SpecError(spec.file, f"recompute names {name!r}, not a variable", spec.name)
        var = spec.variable(name)
        data[name] = apply_rules(var.rule, data, data, var, inputs, spec).to_numpy()
    return finish_dataset(data, spec, inputs)
