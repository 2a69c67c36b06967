"""Reading and writing files: every output is written atomically.

A file is written to a temporary name in its target directory and then renamed over
the target (``os.replace``), so a reader — or a killed run — never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv_atomic(df: pd.DataFrame, path: Path) -> Path:
    """Write a DataFrame as UTF-8 CSV with LF line ends and no index, atomically.

    Missing values are written as empty cells, as an EDC export does.
    """
    return write_atomic(path, lambda tmp: df.to_csv(tmp, index=False, lineterminator="\n",
                                                    encoding="utf-8"))
