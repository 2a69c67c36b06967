"""Reconciliation: every raw record mapped, or rejected with a reason, or a finding."""

from __future__ import annotations

import pandas as pd

from trialflow.reconcile import reconcile


def test_every_record_is_mapped_rejected_or_reported() -> None:
    raw = {"ae": pd.DataFrame({"SUBJID": ["1", "2", "3"]}),
           "survival": pd.DataFrame({"SUBJID": ["1", "2"]})}
    datasets = {"AE": pd.DataFrame({"_FORM": ["ae", "ae"], "_ROW": [1, 1]}),
                "SUPPAE": pd.DataFrame({"_FORM": ["ae"], "_ROW": [1]}),
                "DS": pd.DataFrame({"_FORM": ["survival"], "_ROW": [2]})}
    rejections = pd.DataFrame({"form": ["survival", "survival", "ae"], "row": [1, 2, 2],
                               "reason": ["alive", "alive", "subject not in DM"]})
    report, findings = reconcile(raw, datasets, rejections)
    totals = report[report["status"] == "total"]
    assert totals[["form", "raw", "mapped", "rejected", "datasets"]].values.tolist() == [
        ["ae", 3, 1, 1, "AE 1; SUPPAE 1"], ["survival", 2, 1, 1, "DS 1"]]
    detail = report[report["status"] != "total"]
    assert detail[["form", "row", "SUBJID", "status", "reason"]].values.tolist() == [
        ["ae", 2, "2", "rejected", "subject not in DM"],
        ["ae", 3, "3", "unaccounted", "no source block takes this record"],
        ["survival", 1, "1", "rejected", "alive"]]
    assert [(f.source, f.row, f.rule) for f in findings] == [("ae.csv", 3, "unaccounted")]
