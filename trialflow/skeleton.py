"""``trialflow init``: a small, runnable study folder to start a study from.

The skeleton is a complete study (as admiral's ``use_ad_template`` gives a script to
start from): a ``study.yaml``, specs for every layer with comments that say where each
rule lives, and a few rows of sample input, so ``trialflow run --study DIR`` builds a
package at once. Two starting points:

* ``raw`` — raw CRF extracts (``data/raw/*.csv``: demog, dosing, ae) with their form
  specs (``raw/``), the SDTM mapping (``sdtm/``: DM, EX, AE), the study's codelist of
  arms (``ct/``) and a small coding dictionary (``dictionary/``);
* ``sdtm`` — SDTM datasets (``data/sdtm/*.json``, Dataset-JSON: DM, EX, AE).

Both derive ADSL and ADAE (``adam/``) with the verbs of :mod:`adam.engine`. The
templates travel with the package (``trialflow/templates``); the JSON Schemas of the
specs are copied into ``.schemas/``, which each spec's first line names for editors.

Example
-------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "mystudy"
>>> sorted(p.name for p in write_skeleton(folder, "sdtm") if p.suffix == ".yaml")
['adae.yaml', 'adsl.yaml', 'study.yaml']
"""

from __future__ import annotations

import os
from pathlib import Path

from trialflow import PACKAGE
from trialflow.errors import TrialflowError
from trialflow.io import write_atomic

__all__ = ["STARTS", "TEMPLATES", "write_skeleton"]

#: Where the templates are (package data).
TEMPLATES = PACKAGE / "templates"
#: The layers a skeleton can start from.
STARTS: tuple[str, ...] = ("raw", "sdtm")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def write_skeleton(folder: Path, start: str = "raw") -> list[Path]:
    """Write a study skeleton that starts from ``start`` data into ``folder``.

    Parameters
    ----------
    folder : Path
        The new study folder; it must not exist, or be empty.
    start : {'raw', 'sdtm'}

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    TrialflowError
        ``folder`` is a file or a folder that is not empty, or ``start`` is unknown.
    """
    if start not in STARTS:
        raise TrialflowError(f"init: a study starts from {' or '.join(STARTS)}, not {start!r}")
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise TrialflowError(f"{folder}: already exists and is not an empty folder — give "
                             "a new folder for the study")
    written = []
    # The JSON Schemas travel with the study (.schemas/): each spec's first line names
    # its kind's schema, for editors with a YAML language server.
    for source, into in ((TEMPLATES / "common", folder), (TEMPLATES / start, folder),
                         (PACKAGE / "schemas", folder / ".schemas")):
        for path in _files(source):
            target = into / path.relative_to(source)
            data = path.read_bytes()
            written.append(write_atomic(target, lambda tmp, data=data: tmp.write_bytes(data)))
    os.utime(folder)
    return sorted(written)
