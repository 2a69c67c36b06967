"""Write a set of datasets as a submission does: each as XPT v5 and Dataset-JSON.

One prepared frame (variables in spec order, sorted by the spec's keys, lengths
checked) feeds both files, so the XPT and the JSON always hold the same records.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from trialflow.datasetjson import write_dataset_json
from trialflow.errors import SpecError
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


def load_builder(spec: DatasetSpec, package: str) -> Callable[..., pd.DataFrame]:
    """The ``build`` function of the module a dataset spec names as its builder.

    A spec may name only a module of ``package`` (``<package>.<name>``), never
    arbitrary code; a bad name is a SpecError naming the spec and the dataset.
    """
    if not spec.builder or not re.fullmatch(rf"{package}\.[a-z_][a-z0-9_]*", spec.builder):
        raise SpecError(spec.file, f"builder {spec.builder!r} must be a module of the "
                        f"{package} package ({package}.<name>)", spec.name)
    try:
        module = importlib.import_module(spec.builder)
    except ModuleNotFoundError:
        raise SpecError(spec.file, f"builder module {spec.builder!r} does not exist",
                        spec.name) from None
    build = getattr(module, "build", None)
    if build is None:
        raise SpecError(spec.file, f"builder module {spec.builder!r} has no build()",
                        spec.name)
    return build
