"""Reconciliation: every raw record is accounted for.

A raw record is *mapped* when at least one record of a built dataset has it as its
provenance (``_FORM``, ``_ROW``), or *rejected* with the reason a source block gave for
not taking it (for example "alive at the last contact" for the death records of DS).
A record neither mapped nor rejected with a reason is an error: the specs lost it.

The report (``reconciliation.csv``) has one summary row per form (``row`` blank: raw,
mapped and rejected counts, and the datasets the records went to) followed by one row
per rejected record with its reason.

Example
-------
>>> report, findings = reconcile(raw, datasets, rejections)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trialflow.findings import Finding
from trialflow.mapping import FORM_COL, ROW_COL

COLUMNS = ["form", "row", "SUBJID", "status", "raw", "mapped", "rejected", "datasets",
           "reason"]


def reconcile(raw: Mapping[str, pd.DataFrame], datasets: Mapping[str, pd.DataFrame],
              rejections: pd.DataFrame) -> tuple[pd.DataFrame, list[Finding]]:
    """Account for every raw record.

    Parameters
    ----------
    raw : mapping of str to DataFrame
        Raw forms by name.
    datasets : mapping of str to DataFrame
        Built datasets with provenance columns ``_FORM`` and ``_ROW``.
    rejections : DataFrame
        Columns ``form``, ``row``, ``reason``: records source blocks did not take.

    Returns
    -------
    report : DataFrame
        Columns :data:`COLUMNS`: per form a summary row (status ``total``), then the
        rejected records (status ``rejected``) and any unaccounted ones (status
        ``unaccounted``).
    findings : list of Finding
        One error per unaccounted record.
    """
    mapped_parts = []
    for name, data in datasets.items():
        if FORM_COL not in data.columns or data.empty:
            continue
        # Distinct provenance first (QS has 37 records per raw record; its _FORM is
        # categorical and is not turned into text record by record), then as before.
        prov = data[[FORM_COL, ROW_COL]].drop_duplicates()
        prov = prov.assign(**{FORM_COL: prov[FORM_COL].astype(str)})
        prov = prov[prov[FORM_COL].ne("")].drop_duplicates()
        mapped_parts.append(pd.DataFrame({"form": prov[FORM_COL].astype(str).to_numpy(),
                                          "row": prov[ROW_COL].astype(int).to_numpy(),
                                          "dataset": name}))
    mapped = (pd.concat(mapped_parts, ignore_index=True) if mapped_parts
              else pd.DataFrame(columns=["form", "row", "dataset"]))
    reasons = rejections.drop_duplicates(subset=["form", "row"], keep="first")
    # Split by form once: comparing the million-record form column with each form name
    # compared every string once per form.
    mapped_by_form = dict(tuple(mapped.groupby("form", sort=False)))

    summaries, details, findings = [], [], []
    for form, frame in raw.items():
        n = len(frame)
        rows = np.arange(1, n + 1)
        mine = mapped_by_form.get(form, mapped.iloc[:0])
        is_mapped = np.isin(rows, mine["row"].to_numpy())
        why = reasons[reasons["form"] == form].set_index("row")["reason"]
        reason = pd.Series(rows).map(why).to_numpy()
        rejected = ~is_mapped & pd.notna(reason)
        lost = ~is_mapped & pd.isna(reason)
        counts = mine.groupby("dataset", sort=True)["row"].nunique()
        summaries.append({"form": form, "row": None, "SUBJID": None, "status": "total",
                          "raw": n, "mapped": int(is_mapped.sum()),
                          "rejected": int(rejected.sum()),
                          "datasets": "; ".join(f"{d} {c}" for d, c in counts.items()),
                          "reason": (f"{int(lost.sum())} records unaccounted for" if lost.any()
                                     else "")})
        subj = frame["SUBJID"].to_numpy() if "SUBJID" in frame.columns else np.full(n, "")
        for mask, status in ((rejected, "rejected"), (lost, "unaccounted")):
            if mask.any():
                details.append(pd.DataFrame({
                    "form": form, "row": rows[mask], "SUBJID": subj[mask], "status": status,
                    "raw": None, "mapped": None, "rejected": None, "datasets": "",
                    "reason": np.where(pd.isna(reason[mask]), "no source block takes this "
                                       "record", reason[mask].astype(object))}))
        findings.extend(Finding(f"{form}.csv", int(r), None, None, "unaccounted",
                                "raw record is neither mapped to SDTM nor rejected with a "
                                "reason — add a source block or an 'unmapped' reason")
                        for r in rows[lost])
    report = pd.concat([pd.DataFrame(summaries, columns=COLUMNS), *details],
                       ignore_index=True)[COLUMNS]
    report["row"] = report["row"].astype("Int64")
    for c in ("raw", "mapped", "rejected"):
        report[c] = report[c].astype("Int64")
    return report, findings
