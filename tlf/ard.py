"""Analysis results data (ARD): every displayed number, computed once, from ADaM only.

:func:`build_ard` runs each analysis of the study's plan (:func:`tlf.spec.load_analyses`)
with its family (:mod:`tlf.analyses`) and returns one row per number, at full
precision, in the shape of the pharmaverse ``cards`` ARD:

``analysis_id, output_id, population, group1, group1_level, group2, group2_level,
variable, variable_level, stat_name, stat_label, stat, method``

``group1`` is the treatment variable and ``group1_level`` an arm, ``Total`` or a
comparison ``"A vs B"``; ``group2``/``group2_level`` a subgroup or parent term;
``output_id`` lists the outputs that print the row (``;``-separated; filled in when the
outputs are built, :func:`with_outputs`). Rows are unique by
:data:`~tlf.analyses.base.KEY`. Renderers and the reproduction report only read these
rows; they compute nothing.

The ARD reads ADaM datasets (:func:`read_adam`), never SDTM or raw data, and is written
atomically as CSV (:func:`write_ard`).

Example
-------
>>> plan = load_analyses(study.folder("tlf") / "analyses")  # doctest: +SKIP
>>> ard = build_ard(plan, study.study, read_adam(Path("build/adam"), plan.datasets()))
...     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from tlf.analyses import ARD_COLUMNS, KEY, families
from tlf.analyses.base import AnalysisContext
from tlf.spec import AnalysisPlan
from trialflow.datasets import dataset_files
from trialflow.errors import InputError, TrialflowError
from trialflow.io import write_csv_atomic
from trialflow.spec import InputSource, Study

__all__ = ["ARD_COLUMNS", "KEY", "build_ard", "read_adam", "read_ard", "with_outputs",
           "write_ard"]

def read_adam(directory: Path, datasets: Iterable[str] = ("ADSL",)) -> dict[str, pd.DataFrame]:
    """The ADaM ``datasets`` of ``directory`` (``<name>.xpt``, else ``.json``,
    ``.sas7bdat`` or ``.csv``), by upper-case name.

    Only the datasets named are read: the others may be large (questionnaires) and no
    analysis or listing uses them.

    Raises
    ------
    InputError
        The directory does not exist or lacks a dataset named.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "ADaM directory not found",
                         fix="run `trialflow adam` first, or pass --adam DIR")
    files = dataset_files([InputSource(directory)])
    wanted = sorted({d.upper() for d in datasets})
    missing = [name for name in wanted if name not in files]
    if missing:
        raise InputError(str(directory), f"no {', '.join(missing)} dataset to analyse",
                         fix="run `trialflow adam` first, or pass --adam DIR")
    return {name: files[name].read().data for name in wanted}


def build_ard(plan: AnalysisPlan, study: Study, adam: Mapping[str, pd.DataFrame]
              ) -> pd.DataFrame:
    """The ARD of every analysis of ``plan``, analyses in plan order.

    Parameters
    ----------
    plan : AnalysisPlan
        The study's populations and analyses.
    study : Study
        Arms (order, control) and month length (study.yaml).
    adam : mapping of str to pandas.DataFrame
        The ADaM datasets by upper-case name (:func:`read_adam`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ARD_COLUMNS`; ``stat`` is float (NaN: not estimable).

    Raises
    ------
    TrialflowError
        Two rows share a key (a spec declares the same number twice).
    """
    registry = families()
    found: list[dict[str, object]] = []
    for spec in plan.analyses.values():
        ctx = AnalysisContext(spec, plan.populations[spec.population], study, adam,
                              plan.populations)
        found += registry[spec.family].run(ctx)
    ard = pd.DataFrame(found, columns=list(ARD_COLUMNS))
    ard["stat"] = ard["stat"].astype(float)
    duplicated = ard.duplicated(list(KEY))
    if duplicated.any():
        first = ard.loc[duplicated, list(KEY)].iloc[0].to_dict()
        raise TrialflowError(f"the ARD has two rows for {first}: an analysis declares the "
                             "same variable or level twice")
    return ard.reset_index(drop=True)


def with_outputs(ard: pd.DataFrame, shown: Mapping[int, Iterable[str]]) -> pd.DataFrame:
    """``ard`` with ``output_id`` filled in: for each row position, the outputs that
    print it (``;``-separated, in the order given)."""
    ids = pd.Series({i: ";".join(dict.fromkeys(outputs)) for i, outputs in shown.items()},
                    dtype=object)
    return ard.assign(output_id=ids.reindex(ard.index).fillna("").to_numpy())


def write_ard(ard: pd.DataFrame, path: Path) -> Path:
    """Write the ARD as CSV atomically; ``stat`` at full precision (shortest round trip)."""
    return write_csv_atomic(ard[list(ARD_COLUMNS)], Path(path))


def read_ard(path: Path) -> pd.DataFrame:
    """Read an ARD written by :func:`write_ard` back exactly.

    Text columns stay text (an empty level is ``''``, not missing) and ``stat`` is
    parsed from its shortest round-trip form, so the floats are bit-identical; an empty
    value is NaN.
    """
    ard = pd.read_csv(Path(path), dtype=str, keep_default_na=False)
    ard["stat"] = ard["stat"].replace("", "nan").astype(float)
    return ard[list(ARD_COLUMNS)]
