"""A study is a folder: its ``study.yaml`` and the specs of every layer.

A study folder holds everything that belongs to one study::

    study.yaml        identity, arms, strata, data cut-off, where the inputs come in,
                      output style, optionally published targets and simulation settings
    raw/              one spec per raw CRF form (studies that start from raw data)
    sdtm/             one spec per SDTM domain
    adam/             one spec per ADaM dataset
    ct/               the study's codelists (those of trialflow/standards/ct are shared)
    dictionary/       a coding dictionary for verbatim terms (meddra.yaml)
    instruments/      questionnaire scoring specs
    tlf/              one spec per table, listing or figure

Which study a command works on (:func:`find_study`): ``--study DIR``, else the
``TRIALFLOW_STUDY`` environment variable, else a ``study.yaml`` in the current
directory, else the bundled example (PRECIOUS).

What every study reuses lives once in :data:`trialflow.STANDARDS` (CDISC codelists,
standard variable metadata and method texts); a study writes only what differs.

Example
-------
>>> study = open_study(find_study(None))
>>> study.study.id, study.layers()
('PRECIOUS', ('sdtm', 'adam', 'tlf'))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from trialflow import SPECS
from trialflow.errors import InputError, SpecError, TrialflowError
from trialflow.spec import (
    Codelist,
    DatasetSpec,
    Dictionary,
    RawForm,
    Study,
    load_codelists,
    load_dataset_specs,
    load_dictionary,
    load_forms,
    load_study,
)

__all__ = ["ENV", "LAYERS", "STUDY_FILE", "StudyFolder", "find_study", "open_study",
           "require_folder"]

#: The environment variable that names the study folder when ``--study`` is not given.
ENV = "TRIALFLOW_STUDY"
STUDY_FILE = "study.yaml"
#: The layers in the order data flow through them; each but the first has a spec folder.
LAYERS: tuple[str, ...] = ("raw", "sdtm", "adam", "tlf")


def find_study(given: Path | str | None, cwd: Path | None = None) -> Path:
    """The study folder a command works on.

    Parameters
    ----------
    given : path, optional
        ``--study DIR`` (a folder holding ``study.yaml``, or the ``study.yaml`` itself).
    cwd : pathlib.Path, optional
        Where to look for a ``study.yaml`` when nothing names a study (default: the
        current directory).

    Returns
    -------
    pathlib.Path
        The folder: ``given``, else ``$TRIALFLOW_STUDY``, else ``cwd`` if it holds a
        ``study.yaml``, else the bundled example.

    Raises
    ------
    TrialflowError
        A named folder does not exist or holds no ``study.yaml``.
    """
    source = "--study"
    if given is None or str(given) == "":
        given, source = os.environ.get(ENV) or None, ENV
    if given is None:
        here = Path(cwd) if cwd is not None else Path.cwd()
        return here if (here / STUDY_FILE).is_file() else SPECS
    path = Path(given)
    if path.is_file() and path.name == STUDY_FILE:
        path = path.parent
    if not path.is_dir():
        raise TrialflowError(f"{path}: study folder not found (from {source}) — give a "
                             f"folder holding {STUDY_FILE}, or make one with "
                             "`trialflow init DIR`")
    if not (path / STUDY_FILE).is_file():
        raise TrialflowError(f"{path}: not a study folder, it has no {STUDY_FILE} (from "
                             f"{source}) — make one with `trialflow init DIR`")
    return path


def require_folder(path: Path, what: str, pattern: str | tuple[str, ...] = "*.yaml",
                   fix: str | None = None) -> Path:
    """``path`` if it is a folder with at least one file matching ``pattern`` (or one of
    several patterns).

    Raises
    ------
    InputError
        It is missing, not a folder, or holds no such file: a run with nothing to read
        must stop, not pass having checked nothing.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(str(path), f"{what} folder not found", fix=fix)
    patterns = (pattern,) if isinstance(pattern, str) else pattern
    if not any(next(iter(path.glob(p)), None) is not None for p in patterns):
        raise InputError(str(path), f"{what} folder is empty (no {' or '.join(patterns)})",
                         fix=fix)
    return path


@dataclass(frozen=True)
class StudyFolder:
    """One study: its folder and its parsed ``study.yaml``.

    The loaders read the folder's specs (each checked when loaded); a spec folder a
    command needs that is missing or empty is an error, never an empty result.
    """

    root: Path
    study: Study

    # ------------------------------------------------------------------ folders

    def folder(self, name: str) -> Path:
        """``root / name`` (whether or not it exists)."""
        return self.root / name

    def has(self, name: str) -> bool:
        """Whether the study has a spec folder ``name`` with at least one spec."""
        folder = self.folder(name)
        return folder.is_dir() and any(folder.glob("*.yaml"))

    def specs_of(self, name: str) -> Path:
        """The spec folder ``name``; an error if it is missing or empty."""
        return require_folder(self.folder(name), f"{self.study.id} {name} spec",
                              fix=f"add {name}/<name>.yaml specs to the study folder "
                                  f"{self.root}")

    def layers(self) -> tuple[str, ...]:
        """The layers this study builds: those after the one its inputs come in at, up
        to the last it has specs for.

        Raises
        ------
        SpecError
            Nothing to build, or a layer is missing between two the study has (e.g.
            ``tlf/`` but no ``adam/`` for a study that starts from SDTM).
        """
        after = LAYERS[LAYERS.index(self.study.inputs.layer) + 1:]
        present = [layer for layer in after if self.has(layer)]
        built = list(after[:len(present)])
        where = str(self.root / STUDY_FILE)
        if not present:
            raise SpecError(where, f"nothing to build: the inputs are "
                            f"{self.study.inputs.layer} and the study folder has no "
                            f"{'/, '.join(after)}/ specs")
        if present != built:
            gap = next(layer for layer in built if layer not in present)
            raise SpecError(where, f"the study has {present[-1]}/ specs but no {gap}/ "
                            f"specs before them (its inputs are {self.study.inputs.layer})"
                            f" — add {gap}/ or remove {present[-1]}/")
        return tuple(built)

    # ------------------------------------------------------------------ specs

    def forms(self) -> dict[str, RawForm]:
        """The raw-form specs (``raw/``)."""
        return load_forms(self.specs_of("raw"))

    def codelists(self) -> dict[str, Codelist]:
        """The standard codelists with the study's own (``ct/``, optional) over them."""
        return load_codelists(self.folder("ct"))

    def dictionary(self) -> Dictionary | None:
        """The coding dictionary (``dictionary/meddra.yaml``), or None."""
        path = self.folder("dictionary") / "meddra.yaml"
        return load_dictionary(path) if path.is_file() else None

    def dataset_specs(self, layer: str) -> dict[str, DatasetSpec]:
        """The dataset specs of ``sdtm/`` or ``adam/``."""
        return load_dataset_specs(self.specs_of(layer))

    def optional_dataset_specs(self, layer: str) -> dict[str, DatasetSpec]:
        """The dataset specs of ``layer``, or none when the study has no such folder
        (e.g. the SDTM specs of a study that starts from SDTM)."""
        return self.dataset_specs(layer) if self.has(layer) else {}

    def instruments(self) -> Path:
        """The folder of questionnaire scoring specs."""
        return self.folder("instruments")

    def inputs(self) -> Mapping[str, Path]:
        """The study's declared input sources as name -> path (see study.yaml inputs)."""
        return {(s.dataset or s.path.stem): s.path for s in self.study.inputs.sources}


def open_study(folder: Path | str) -> StudyFolder:
    """Read a study folder's ``study.yaml`` (checked) and return the study.

    Raises
    ------
    SpecError
        ``study.yaml`` is not a valid study spec.
    """
    root = Path(folder).resolve()
    return StudyFolder(root=root, study=load_study(root / STUDY_FILE))
