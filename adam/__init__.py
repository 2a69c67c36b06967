"""ADaM layer: derive the analysis datasets (ADaMIG 1.3) from SDTM, spec-driven.

Each dataset has its spec in ``specs/adam/<name>.yaml``: variables (label, type, length,
codelist, origin, and for every derived variable the method that derives it — the
computational methods of define.xml), keys and sort order, the parameters of a BDS
dataset, and a ``derivation`` block: the input datasets, the one it starts from and its
steps, each one verb of :mod:`adam.engine` (or a named derivation of :mod:`adam.named`).
A spec may name another ``builder:`` module with ``build(inputs, spec) -> DataFrame``;
none of the bundled studies does. Either way a dataset is a pure function of the SDTM
(and earlier ADaM) frames its spec lists under ``derivation.inputs``.

Two references in a ``derivation`` block are resolved here before building, so that the
builders stay pure: ``arms: study`` becomes the arms of ``specs/study.yaml`` and
``instrument: <name>`` the scoring spec ``specs/instruments/<name>.yaml``.

The layer reads only SDTM datasets (from disk: :func:`read_sdtm`) and its specs; it
never reads raw forms (DESIGN.md). From disk, a domain is read when the first dataset
that needs it is built, with only the variables the builders declare they read (the
engine's :func:`adam.engine.input_columns`: those its spec names; a builder module's
``input_columns(spec)``; a domain it does not list is read whole), and dropped after the
last dataset that needs it: at 100 times the study the SDTM would otherwise fill
gigabytes. Datasets are written by the one writer (:mod:`trialflow.xpt`), as XPT v5 and
Dataset-JSON.

Example
-------
>>> datasets = build_adam(read_sdtm(Path("build/sdtm")), load_dataset_specs(SPECS / "adam"),
...                       load_study())  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd

from adam.derive import as_categorical
from trialflow import SPECS
from trialflow.console import progress
from trialflow.datasets import DatasetFile, dataset_files
from trialflow.errors import InputError, SpecError
from trialflow.findings import Finding
from trialflow.package import load_builder, write_datasets
from trialflow.spec import DatasetSpec, InputSource, Study, read_yaml

#: Build order: ADSL first (every other dataset carries its variables), ADTTE last (its
#: sources are ADSL, ADRS and ADQS).
BUILD_ORDER: tuple[str, ...] = ("ADSL", "ADRS", "ADQS", "ADAE", "ADTTE")
STANDARD_OID = "ADaMIG.1.3"


def build_order(specs: Mapping[str, DatasetSpec]) -> list[str]:
    """Dataset names in an order that builds each after the ADaM datasets it reads
    (``derivation.inputs``): of those ready, ADSL and the names of
    :data:`BUILD_ORDER` first, then by name.

    Raises
    ------
    SpecError
        Datasets that read each other (a cycle).
    """
    preference = [n for n in BUILD_ORDER if n in specs] + sorted(
        n for n in specs if n not in BUILD_ORDER)
    needs = {n: {w for w in specs[n].derivation.get("inputs", []) if w in specs and w != n}
             for n in specs}
    order: list[str] = []
    while len(order) < len(specs):
        ready = next((n for n in preference if n not in order and needs[n] <= set(order)),
                     None)
        if ready is None:
            stuck = [n for n in preference if n not in order]
            raise SpecError(specs[stuck[0]].file, "the datasets read each other (derivation."
                            f"inputs): {', '.join(stuck)}", stuck[0])
        order.append(ready)
    return order


#: The builder of a spec that names none: the verb engine (any dataset of any study).
DEFAULT_BUILDER = "adam.engine"


def _with_builder(spec: DatasetSpec) -> DatasetSpec:
    return spec if spec.builder else dataclasses.replace(spec, builder=DEFAULT_BUILDER)


def _builder(spec: DatasetSpec) -> Callable[[Mapping[str, pd.DataFrame], DatasetSpec],
                                             pd.DataFrame]:
    return load_builder(_with_builder(spec), "adam")


def resolve(spec: DatasetSpec, study: Study, instruments: Path | None = None) -> DatasetSpec:
    """``spec`` with the references of its ``derivation`` block resolved: ``arms: study``
    (the study's arms: code, name, number) and ``instrument: <name>`` (the scoring spec)."""
    spec = _with_builder(spec)
    derivation = dict(spec.derivation)
    if derivation.get("arms") == "study":
        derivation["arms"] = [dataclasses.asdict(a) for a in study.arms]
    name = derivation.get("instrument")
    if isinstance(name, str):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise SpecError(spec.file, f"instrument {name!r} must name a file of "
                            "specs/instruments", spec.name)
        folder = instruments or (study.folder or SPECS) / "instruments"
        derivation["instrument"] = read_yaml(Path(folder) / f"{name}.yaml")
    return dataclasses.replace(spec, derivation=derivation)


def _empty(spec: DatasetSpec) -> pd.DataFrame:
    """A dataset without records, with its spec's variables (text or float)."""
    return pd.DataFrame({v.name: pd.Series(dtype=object if v.type == "Char" else "float64")
                         for v in spec.variables})


def input_columns(specs: Mapping[str, DatasetSpec]) -> dict[str, set[str] | None]:
    """The variables of each input domain the builders of ``specs`` (resolved) read,
    merged over the datasets: None when some builder reads the domain whole."""
    wanted: dict[str, set[str] | None] = {}
    for spec in specs.values():
        _builder(spec)  # a bad builder name is a SpecError here, as when building
        declare = getattr(importlib.import_module(spec.builder), "input_columns", None)
        declared = declare(spec) if declare is not None else {}
        for w in spec.derivation.get("inputs", []):
            cols = declared.get(w)
            if w in wanted and wanted[w] is None:
                continue
            wanted[w] = None if cols is None else {*wanted.get(w, set()), *cols}
    return wanted


def check_specs(specs: Mapping[str, DatasetSpec], study: Study) -> dict[str, DatasetSpec]:
    """The specs resolved (:func:`resolve`), in build order, each the engine builds
    checked against its contract: a misspelt key in the last dataset's spec stops the
    run before any data are read.

    Raises
    ------
    SpecError
        One line naming the spec file, the dataset, the step and what is allowed.
    """
    from adam.engine import check_spec

    resolved = {name: resolve(specs[name], study) for name in build_order(specs)}
    for spec in resolved.values():
        if spec.builder == DEFAULT_BUILDER:
            check_spec(spec)
    return resolved


def build_adam(sdtm: Mapping[str, pd.DataFrame], specs: Mapping[str, DatasetSpec],
               study: Study, sdtm_specs: Mapping[str, DatasetSpec] | None = None
               ) -> dict[str, pd.DataFrame]:
    """Build every ADaM dataset of ``specs`` from the SDTM domains ``sdtm``.

    A domain a spec needs but the study does not have (no records were ever mapped to
    it) is taken as empty, with the variables of its SDTM spec (``sdtm_specs``). From an
    :class:`SdtmDirectory`, each domain is read with only the variables the builders
    use, once, and let go after the last dataset that needs it.

    Returns
    -------
    dict of str to DataFrame
        The datasets by name, in build order, as their builders made them (dates as
        dates; the writer makes SAS dates of them).
    """
    order = build_order(specs)
    resolved = check_specs(specs, study)
    lazy = isinstance(sdtm, SdtmDirectory)
    columns = input_columns(resolved) if lazy else {}
    last_use = {w: i for i, name in enumerate(order)
                for w in resolved[name].derivation.get("inputs", [])}
    frames: dict[str, pd.DataFrame] = {} if lazy else dict(sdtm)
    out: dict[str, pd.DataFrame] = {}
    for i, name in enumerate(order):
        progress("ADaM datasets", i, len(order))
        spec = resolved[name]
        wanted = list(spec.derivation.get("inputs", []))
        inputs = {}
        for w in wanted:
            if w not in frames and lazy and w in sdtm:
                frames[w] = sdtm.read(w, columns.get(w))
            if w in frames:
                inputs[w] = frames[w]
            elif sdtm_specs is not None and w in sdtm_specs:
                inputs[w] = _empty(sdtm_specs[w])
            else:
                raise InputError(w, f"{name} needs the {w} dataset, which is not there",
                                 fix="run `trialflow sdtm` first, or pass --sdtm DIR")
        frames[name] = out[name] = _builder(spec)(inputs, spec)
        del inputs
        if lazy:  # an SDTM domain no later dataset needs is let go
            for w in [w for w in frames if w not in out and last_use.get(w, -1) <= i]:
                del frames[w]
    return out


class SdtmDirectory(Mapping[str, pd.DataFrame]):
    """Input datasets by name, read when asked for (from XPT, Dataset-JSON, sas7bdat or
    CSV: :class:`~trialflow.datasets.DatasetFile`).

    ``directory[name]`` reads a dataset whole; :meth:`read` only some of its variables
    (what :func:`build_adam` uses). Nothing is kept in memory between reads.
    """

    def __init__(self, files: Mapping[str, DatasetFile | Path]) -> None:
        self._files = {name: f if isinstance(f, DatasetFile) else DatasetFile(name, Path(f))
                       for name, f in files.items()}

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.read(name)

    def __contains__(self, name: object) -> bool:  # without reading (Mapping's reads)
        return name in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def read(self, name: str, columns: set[str] | None = None) -> pd.DataFrame:
        """Dataset ``name`` (text '' when blank, numbers as float), with only the
        variables in ``columns`` that it has (all when None)."""
        return self._files[name].read(columns=columns).data


def read_sdtm(source: Path | Sequence[InputSource]) -> SdtmDirectory:
    """The SDTM datasets of a folder (or of a study's input sources) by name, read when
    used: text '' when blank, numbers as float.

    Raises
    ------
    InputError
        A folder does not exist, there is no DM, or a file is not readable (every XPT
        header is read here).
    """
    sources = [InputSource(Path(source))] if isinstance(source, (str, Path)) \
        else list(source)
    for s in sources:
        if not Path(s.path).exists():
            raise InputError(str(s.path), "SDTM directory not found",
                             fix="run `trialflow sdtm` first, or pass --sdtm DIR")
    files = dataset_files(sources)
    if "DM" not in files:
        raise InputError(", ".join(str(s.path) for s in sources),
                         "no DM dataset (dm.xpt) to build ADaM from",
                         fix="run `trialflow sdtm` first, or pass --sdtm DIR")
    return SdtmDirectory(files)


def write_adam(datasets: Mapping[str, pd.DataFrame], specs: Mapping[str, DatasetSpec],
               out: Path, study: str) -> tuple[list[Path], list[Finding]]:
    """Write each dataset as ``<out>/<name>.xpt`` (XPT v5) and ``<name>.json``.

    The text of each is handed to the writer as categoricals, as the SDTM of a large
    study is: the writer then works once per distinct value and writes the records as
    codes (as text, writing ADQS was a quarter of the stage at 21,900 subjects). The
    files are the same.

    Returns
    -------
    paths : list of Path
    findings : list of Finding
        The writer's value-level findings.
    """
    return write_datasets({name: text_as_categorical(data, specs[name])
                           for name, data in datasets.items()},
                          specs, out, study, STANDARD_OID)


def text_as_categorical(data: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """``data`` with its text (the object columns of the spec's Char variables) as
    categoricals, sharing its other columns."""
    out = data.copy(deep=False)
    for var in spec.variables:
        if var.type == "Char" and var.name in data.columns and data[var.name].dtype == object:
            out[var.name] = as_categorical(data[var.name])
    return out
