"""SDTM layer: map the raw CRF forms to SDTMIG 3.4 domains, spec-driven.

Each domain has its spec in ``specs/sdtm/<domain>.yaml``. Most domains are fully
declared there and built by the core mapping engine (:mod:`trialflow.mapping`); a
domain whose spec names a ``builder`` (``sdtm.dm``, ``sdtm.sv``) is built by that
module's ``build(inputs, spec) -> DataFrame``, which may add named derivations
(``DERIVATIONS``) for what the engine cannot declare.

The layer reads only the raw forms and its specs (DESIGN.md: a layer reads what the
layer before it wrote).

Example
-------
>>> result = build_sdtm(raw_frames, load_dataset_specs(SPECS / "sdtm"), ...)
... # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sdtm import dm, sv
from trialflow.console import progress
from trialflow.derivations import registry
from trialflow.findings import Finding
from trialflow.mapping import Context, factorised, map_dataset
from trialflow.package import load_builder, write_datasets
from trialflow.spec import Codelist, DatasetSpec, Dictionary, RawForm, Study, load_forms

#: Build order: DM first (every --DY and EPOCH needs RFSTDTC), a SUPP-- after its parent
#: (IDVARVAL is the parent's --SEQ), SV after the domains whose visits it collects, TS
#: after DM (it counts subjects). Specs not listed are built last, in name order.
BUILD_ORDER: tuple[str, ...] = (
    "DM", "SUPPDM", "AE", "SUPPAE", "CM", "SUPPCM", "EX", "DS", "DD", "IE", "MI", "FA",
    "RS", "SUPPRS", "TR", "QS", "CV", "SV", "TE", "TA", "TS",
)

DERIVATIONS = registry(dm.DERIVATIONS, sv.DERIVATIONS)


@dataclass
class SdtmResult:
    """The built domains (with provenance columns) and what mapping found."""

    datasets: dict[str, pd.DataFrame]
    findings: list[Finding] = field(default_factory=list)
    rejections: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["form", "row", "reason"]))


def build_order(specs: Mapping[str, DatasetSpec]) -> list[str]:
    """Dataset names in the order they must be built."""
    known = [n for n in BUILD_ORDER if n in specs]
    return known + sorted(n for n in specs if n not in BUILD_ORDER)


def _builder(spec: DatasetSpec) -> Callable[[Context, DatasetSpec], pd.DataFrame]:
    if not spec.builder:
        return map_dataset
    return load_builder(spec, "sdtm")


def build_sdtm(raw: Mapping[str, pd.DataFrame], specs: Mapping[str, DatasetSpec],
               codelists: Mapping[str, Codelist], study: Study,
               dictionary: Dictionary | None = None,
               forms: Mapping[str, RawForm] | None = None) -> SdtmResult:
    """Build every SDTM domain from the raw forms.

    Parameters
    ----------
    raw : mapping of str to DataFrame
        Raw forms by form name, all text.
    specs : mapping of str to DatasetSpec
        SDTM dataset specs by dataset name (``specs/sdtm``).
    codelists, study, dictionary
        As loaded by :mod:`trialflow.spec`.
    forms : mapping of str to RawForm, optional
        Raw form specs (default ``specs/raw``); their keys decide which records are
        duplicates, rejected rather than mapped twice.

    Returns
    -------
    SdtmResult
    """
    forms = load_forms() if forms is None else forms
    # The raw text as categoricals: every reader of a column takes its codes instead of
    # hashing its text again (outputs are the same; the engine treats both alike).
    ctx = Context(raw={name: factorised(frame) for name, frame in raw.items()},
                  codelists=codelists, study=study, dictionary=dictionary,
                  derivations=DERIVATIONS,
                  keys={f.name: f.keys for f in forms.values() if f.name in raw})
    order = build_order(specs)
    for i, name in enumerate(order):
        progress("SDTM domains", i, len(order))
        spec = specs[name]
        ctx.domains[name] = _builder(spec)(ctx, spec)
    rejections = (pd.concat(ctx.rejections, ignore_index=True) if ctx.rejections
                  else pd.DataFrame(columns=["form", "row", "reason"]))
    return SdtmResult(datasets=ctx.domains, findings=ctx.findings, rejections=rejections)


def write_sdtm(datasets: Mapping[str, pd.DataFrame], specs: Mapping[str, DatasetSpec],
               out: Path, study: str) -> tuple[list[Path], list[Finding]]:
    """Write each dataset as ``<out>/<name>.xpt`` (XPT v5) and ``<name>.json``.

    Returns
    -------
    paths : list of Path
    findings : list of Finding
        The writer's value-level findings.
    """
    return write_datasets(datasets, specs, out, study, "SDTMIG.3.4")
