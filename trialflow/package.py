"""Write a set of datasets as a submission does: each as XPT v5 and Dataset-JSON.

One prepared frame (variables in spec order, sorted by the spec's keys, lengths
checked) feeds both files, so the XPT and the JSON always hold the same records.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from trialflow.datasetjson import write_dataset_json
from trialflow.findings import Finding
from trialflow.spec import DatasetSpec
from trialflow.xpt import prepare, write_prepared


def write_datasets(datasets: Mapping[str, pd.DataFrame], specs: Mapping[str, DatasetSpec],
                   out: Path, study: str, standard_oid: str) -> tuple[list[Path], list[Finding]]:
    """Write each dataset as ``<out>/<name>.xpt`` (XPT v5) and ``<name>.json``.

    Returns
    -------
    paths : list of Path
    findings : list of Finding
        The writer's value-level findings.
    """
    paths: list[Path] = []
    findings: list[Finding] = []
    for name, data in datasets.items():
        spec = specs[name]
        frame, found = prepare(data, spec)
        findings.extend(found)
        paths += [write_prepared(frame, spec, Path(out) / f"{name.lower()}.xpt"),
                  write_dataset_json(frame, spec, Path(out) / f"{name.lower()}.json", study,
                                     standard_oid)]
    return paths, findings
