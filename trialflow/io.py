"""Reading and writing files: every output is written atomically.

A file is written to a temporary name in its target directory and then renamed over
the target (``os.replace``), so a reader — or a killed run — never sees half a file.
It gets the permissions the user's umask gives a new file (``0o666 & ~umask``, e.g.
0644), as ``open()`` would: the temporary file is created private (0600), and
colleagues on a shared server must be able to read the package.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from trialflow.safetext import csv_safe_frame


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, by its mode; None for a regular file."""
    for test, name in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character "
                       "device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def check_regular_file(path: Path, fix: str | None = None) -> os.stat_result:
    """Refuse anything but a regular file as input, before opening it.

    Reading a named pipe blocks until some other process writes to it (forever, in a
    batch run), and a device such as ``/dev/zero`` or ``/dev/urandom`` never ends: the
    run would hang or exhaust memory. Checked with ``os.stat`` (which follows a symbolic
    link to what it points at), so nothing is opened.

    Parameters
    ----------
    path : pathlib.Path
    fix : str, optional
        What to do, for the message (default: replace it with the regular file).

    Returns
    -------
    os.stat_result
        The file's status (its size, for a caller that needs it).

    Raises
    ------
    InputError
        The path does not exist, cannot be examined, or is not a regular file.
    """
    from trialflow.errors import InputError

    path = Path(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except PermissionError:
        raise InputError(str(path), "permission denied",
                         fix="make the file readable for this user") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot be examined ({exc.strerror or exc})") from None
    kind = _kind(status.st_mode)
    if kind is not None:
        raise InputError(str(path), f"is {kind}, not a regular file; trialflow reads only "
                         "regular files", fix=fix or "copy the data into a regular file and "
                         "pass that")
    return status


def read_regular_file(path: Path, fix: str | None = None) -> bytes:
    """The bytes of ``path`` after :func:`check_regular_file` (a FIFO or device is refused
    before it is opened)."""
    from trialflow.errors import InputError

    check_regular_file(path, fix)
    try:
        return Path(path).read_bytes()
    except PermissionError:
        raise InputError(str(path), "permission denied",
                         fix="make the file readable for this user") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror or exc})") from None


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def file_mode() -> int:
    """The mode a new file gets under the current umask (``0o666 & ~umask``)."""
    mask = os.umask(0o022)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return 0o666 & ~mask


def write_csv_atomic(df: pd.DataFrame, path: Path, *, report: bool = True) -> Path:
    """Write a DataFrame as UTF-8 CSV with LF line ends and no index, atomically.

    Missing values are written as empty cells, as an EDC export does.

    Parameters
    ----------
    df : pandas.DataFrame
    path : pathlib.Path
    report : bool, default True
        The file is a report a person opens in a spreadsheet (findings, reconciliation,
        the ARD, an index): every text cell goes through
        :func:`trialflow.safetext.csv_safe_frame` (control characters escaped, a
        formula-like start behind an apostrophe; numbers untouched). False for data
        that must stay byte for byte what they are (the raw extracts the simulator
        writes as an EDC would).
    """
    frame = csv_safe_frame(df) if report else df
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n",
                                                       encoding="utf-8"))


#: The journal of a promotion under way, in the package folder: the parts being moved.
PROMOTING = ".promoting"


def promote_staged(staging: Path, target: Path) -> list[Path]:
    """Move every directory of ``staging`` into ``target``, replacing what is there.

    A run builds its whole package under ``staging`` first; only when every stage has
    run are the parts moved into place, each by a rename. A run killed before this keeps
    the previous package intact. The promotion itself is journalled: the parts to move
    are written to ``target/.promoting`` first, each replaced part is renamed aside
    (``.old-<part>``) before the new one moves in, and the journal goes last. A run
    killed during the promotion leaves the journal, and :func:`recover_promotion` (which
    the next run calls first) finishes the job: the package is never left mixed.

    Parameters
    ----------
    staging : pathlib.Path
        The directory holding the new parts (``raw/``, ``sdtm/``, ...). Removed when
        empty afterwards.
    target : pathlib.Path
        The package directory (e.g. ``build``); on the same file system as ``staging``.

    Returns
    -------
    list of pathlib.Path
        The parts now in ``target``.
    """
    staging, target = Path(staging), Path(target)
    parts = sorted(p.name for p in staging.iterdir() if p.is_dir())
    journal = target / PROMOTING
    text = "".join(f"{name}\n" for name in parts)
    write_atomic(journal, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return _finish(staging, target, parts)


def _finish(staging: Path, target: Path, parts: list[str]) -> list[Path]:
    """Move the journalled ``parts`` still in ``staging`` into ``target``, then drop the
    replaced parts and the journal. Safe to run again after being killed at any point."""
    import shutil

    moved = []
    for name in parts:
        new, dest, old = staging / name, target / name, target / f".old-{name}"
        if new.is_dir():
            if dest.exists() and not old.exists():
                os.replace(dest, old)
            elif dest.exists():  # a stale leftover beside an older .old-: keep the new
                shutil.rmtree(dest)
            os.replace(new, dest)
        moved.append(dest)
    for name in parts:
        old = target / f".old-{name}"
        if old.exists():
            shutil.rmtree(old)
    (target / PROMOTING).unlink(missing_ok=True)
    if staging.is_dir() and not any(staging.iterdir()):
        staging.rmdir()
    return moved


def recover_promotion(staging: Path, target: Path) -> list[Path]:
    """Finish a promotion a killed run left half done (its journal is in ``target``).

    Returns
    -------
    list of pathlib.Path
        The parts it moved into place; empty when there was nothing to finish.
    """
    journal = Path(target) / PROMOTING
    if not journal.is_file():
        return []
    parts = [line.strip() for line in journal.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    return _finish(Path(staging), Path(target), parts)


def source_date_epoch(default: int = 0) -> int:
    """The seconds since 1970-01-01 UTC to stamp into files: ``SOURCE_DATE_EPOCH`` when
    set, else ``default``.

    Every date a writer embeds (XPT headers, Dataset-JSON, define.xml, DOCX/XLSX
    properties and zip entries) comes from here, so a rebuild is byte-identical.

    Raises
    ------
    TrialflowError
        ``SOURCE_DATE_EPOCH`` is set but is not a non-negative whole number: the
        reproducible-builds specification asks tools to fail then, not fall back.

    Examples
    --------
    >>> import os; os.environ.pop("SOURCE_DATE_EPOCH", None) and None
    >>> source_date_epoch(), source_date_epoch(315532800)
    (0, 315532800)
    """
    from trialflow.errors import TrialflowError

    raw = os.environ.get("SOURCE_DATE_EPOCH", "")
    if raw == "":
        return default
    if not raw.isdigit():
        raise TrialflowError(f"SOURCE_DATE_EPOCH must be a non-negative whole number of "
                             f"seconds since 1970-01-01 UTC, got {raw!r}")
    return int(raw)
