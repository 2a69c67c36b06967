"""The SDTM stage: raw CRF extracts -> SDTM domains, reconciled, written and reported.

:func:`build` loads the study's specs (SDTM, raw forms, codelists, dictionary) and the
raw extracts before writing anything, maps them, writes each domain as XPT v5 and
Dataset-JSON, and writes the reconciliation (every raw record mapped, or rejected with
a reason) and the findings. The command line (``trialflow sdtm``) and a notebook call
it alike.

Example
-------
>>> from trialflow.study import find_study, open_study
>>> result = build(open_study(find_study(None)), Path("build/raw"), Path("build/sdtm"),
...                Path("build/reports"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from sdtm import build_sdtm, write_sdtm
from trialflow.console import say
from trialflow.findings import findings_frame
from trialflow.io import write_csv_atomic
from trialflow.pipeline import StageResult
from trialflow.rawdata import read_forms
from trialflow.reconcile import reconcile
from trialflow.stages import print_findings
from trialflow.study import StudyFolder, require_folder

__all__ = ["RECONCILIATION", "SDTM_FINDINGS", "build"]

SDTM_FINDINGS = "sdtm_findings.csv"
RECONCILIATION = "reconciliation.csv"


def build(study: StudyFolder, raw_dir: Path, out: Path, reports: Path) -> StageResult:
    """Map the raw extracts of ``raw_dir`` to the study's SDTM domains into ``out``.

    Returns
    -------
    StageResult
        Records written, the mapping's and writer's findings, and every file written
        (datasets, ``reports/reconciliation.csv``, ``reports/sdtm_findings.csv``).
    """
    # Everything that can stop the run (specs, codelists, dictionary, raw files) is read
    # before anything is written: a broken input leaves no half-built SDTM.
    specs = study.dataset_specs("sdtm")
    codelists, forms = study.codelists(), study.forms()
    require_folder(raw_dir, "raw data", ("*.csv", "*.xpt", "*.sas7bdat"),
                   fix="simulate them (trialflow simulate) or pass --raw DIR")
    raw, raw_findings = read_forms(raw_dir, forms, codelists, study.study)
    result = build_sdtm(raw, specs, codelists, study.study, study.dictionary(), forms)
    paths, written = write_sdtm(result.datasets, specs, out, study.study.id)
    report, lost = reconcile(raw, result.datasets, result.rejections)
    findings = [*result.findings, *written, *lost]
    write_csv_atomic(report, reports / RECONCILIATION)
    write_csv_atomic(findings_frame(findings), reports / SDTM_FINDINGS)
    print_findings(findings, reports / SDTM_FINDINGS)
    for name, data in result.datasets.items():
        say(f"  {name:<8} {len(data):>8} records")
    totals = report[report["status"] == "total"]
    say(f"  reconciliation: {int(totals['raw'].sum())} raw records, "
        f"{int(totals['mapped'].sum())} mapped, {int(totals['rejected'].sum())} rejected "
        f"with a reason, {len(lost)} unaccounted -> {reports / RECONCILIATION}")
    if raw_findings:
        say(f"  note: the raw data have {len(raw_findings)} findings (see "
            "`trialflow check-raw`)")
    say(f"  wrote {len(paths)} files to {out}/")
    return StageResult(rows=sum(len(d) for d in result.datasets.values()), findings=findings,
                       outputs=[*paths, reports / RECONCILIATION, reports / SDTM_FINDINGS])
