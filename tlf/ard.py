"""Analysis results data (ARD): every displayed number, computed once, from ADaM only.

:func:`build_ard` runs each analysis family of :mod:`tlf.analyses` on the ADaM frames
and returns one row per displayed number, at full precision, with the columns
``analysis, output, group, variable, level, stat, value, method``. ``analysis`` is the
top-level key of the study's published targets (``populations``, ``pfs_itt``, ...),
``group`` an arm, ``Total`` or ``PTC vs TC``. Renderers and the reproduction report
only read these rows; they compute nothing.

The ARD reads ADaM datasets (:func:`read_adam`), never SDTM or raw data (DESIGN.md),
and is written atomically as CSV (:func:`write_ard`).

Example
-------
>>> ard = build_ard(read_adam(Path("build/adam")))  # doctest: +SKIP
>>> write_ard(ard, Path("build/tlf/ard.csv"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from tlf.analyses import (
    ARD_COLUMNS,
    ae_catalog,
    baseline,
    disposition,
    km_curves,
    response,
    safety,
    subgroups,
    tte,
)
from trialflow.errors import InputError
from trialflow.io import write_csv_atomic
from trialflow.xpt import read_xpt

__all__ = ["ANALYSIS_ORDER", "ARD_COLUMNS", "REQUIRED", "build_ard", "read_adam", "read_ard",
           "write_ard"]

#: The ADaM datasets the ARD needs.
REQUIRED: tuple[str, ...] = ("ADSL", "ADRS", "ADTTE", "ADAE")
#: The ``analysis`` values: the top-level keys of the published targets, in their order,
#: each FAS sensitivity analysis after its ITT one.
ANALYSIS_ORDER: tuple[str, ...] = (
    "populations", "follow_up_months", "table1_baseline", "table1_baseline_fas", "pfs_itt",
    "pfs_tdm1_latest", "os_itt", "table2_response", "table2_response_fas", "exposure",
    "table3_safety", "ttd_bt_oi",
)


def read_adam(directory: Path) -> dict[str, pd.DataFrame]:
    """The ADaM datasets of :data:`REQUIRED` (``<name>.xpt`` of ``directory``) by
    upper-case name.

    The other datasets are not read: no output uses them, and ADQS, the largest by far,
    would take most of the stage's time and memory.

    Raises
    ------
    InputError
        The directory does not exist or lacks a dataset of :data:`REQUIRED`.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "ADaM directory not found",
                         fix="run `trialflow adam` first, or pass --adam DIR")
    frames = {}
    for path in sorted(directory.glob("*.xpt")):
        if path.stem.upper() not in REQUIRED:
            continue
        ds = read_xpt(path)
        frames[ds.name] = ds.data
    missing = [name for name in REQUIRED if name not in frames]
    if missing:
        raise InputError(str(directory), f"no {', '.join(missing)} dataset to analyse",
                         fix="run `trialflow adam` first, or pass --adam DIR")
    return frames


def build_ard(adam: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The ARD of every analysis family, in a fixed order.

    Parameters
    ----------
    adam : mapping of str to pandas.DataFrame
        ADSL, ADRS, ADTTE and ADAE (ADaM as :func:`read_adam` returns them).

    Returns
    -------
    pandas.DataFrame
        One row per displayed number, columns :data:`ARD_COLUMNS`; ``value`` is float
        (NaN: not estimable, e.g. a median not reached).
    """
    found = [*baseline.build(adam), *tte.build(adam), *response.build(adam),
             *safety.build(adam),
             *disposition.build(adam), *km_curves.build(adam), *subgroups.build(adam),
             *ae_catalog.build(adam)]
    ard = pd.DataFrame(found, columns=list(ARD_COLUMNS))
    ard["value"] = ard["value"].astype(float)
    # Analyses in the order of the published targets; within one, rows as computed.
    order = {name: i for i, name in enumerate(ANALYSIS_ORDER)}
    ard = ard.sort_values("analysis", key=lambda s: s.map(order), kind="stable")
    return ard.reset_index(drop=True)



def write_ard(ard: pd.DataFrame, path: Path) -> Path:
    """Write the ARD as CSV atomically; values at full precision (``repr`` of the float)."""
    return write_csv_atomic(ard[list(ARD_COLUMNS)], Path(path))


def read_ard(path: Path) -> pd.DataFrame:
    """Read an ARD written by :func:`write_ard` back exactly.

    Text columns stay text (an empty ``level`` is ``''``, not missing) and ``value`` is
    parsed from its shortest round-trip form, so the floats are bit-identical; an empty
    value is NaN.
    """
    ard = pd.read_csv(Path(path), dtype=str, keep_default_na=False)
    ard["value"] = ard["value"].replace("", "nan").astype(float)
    return ard[list(ARD_COLUMNS)]
