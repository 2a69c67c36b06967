"""The ADaM stage: SDTM -> ADaM datasets, written and reported.

:func:`build` loads the study's ADaM specs (and its SDTM specs when it has them),
reads the SDTM from a folder or from the study's declared input sources (XPT,
Dataset-JSON, sas7bdat or CSV), derives every dataset, writes each as XPT v5 and
Dataset-JSON, and writes the writer's findings. The command line (``trialflow adam``)
and a notebook call it alike.

Example
-------
>>> from trialflow.study import find_study, open_study
>>> result = build(open_study(find_study(None)), Path("build/sdtm"), Path("build/adam"),
...                Path("build/reports"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adam import build_adam, check_specs, read_sdtm, write_adam
from trialflow.console import say
from trialflow.findings import findings_frame
from trialflow.io import write_csv_atomic
from trialflow.pipeline import StageResult
from trialflow.spec import InputSource
from trialflow.stages import print_findings
from trialflow.study import StudyFolder

__all__ = ["ADAM_FINDINGS", "build"]

ADAM_FINDINGS = "adam_findings.csv"


def build(study: StudyFolder, sdtm: Path | Sequence[InputSource], out: Path,
          reports: Path) -> StageResult:
    """Derive the study's ADaM datasets from the SDTM in ``sdtm`` into ``out``.

    Parameters
    ----------
    study : StudyFolder
    sdtm : Path or sequence of InputSource
        A folder of SDTM datasets, or the study's input sources.
    out, reports : Path
        Where the datasets and ``adam_findings.csv`` are written.
    """
    # Specs and SDTM are read before anything is written: a broken input leaves no
    # half-built ADaM.
    specs = study.dataset_specs("adam")
    check_specs(specs, study.study)
    sdtm_specs = study.optional_dataset_specs("sdtm")
    study.codelists()
    data = read_sdtm(sdtm)
    datasets = build_adam(data, specs, study.study, sdtm_specs)
    paths, found = write_adam(datasets, specs, out, study.study.id)
    write_csv_atomic(findings_frame(found), reports / ADAM_FINDINGS)
    print_findings(found, reports / ADAM_FINDINGS)
    for name, frame in datasets.items():
        say(f"  {name:<8} {len(frame):>8} records")
    say(f"  wrote {len(paths)} files to {out}/")
    return StageResult(rows=sum(len(d) for d in datasets.values()), findings=found,
                       outputs=[*paths, reports / ADAM_FINDINGS])
