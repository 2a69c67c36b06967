"""One run per output folder at a time: an advisory lock on ``OUT/.lock``.

:class:`RunLock` takes an exclusive ``flock`` on the lock file for as long as the run
lasts and writes who holds it (process id, host, start time, command line) into it. A
second run on the same folder fails at once with a message naming the holder. The
operating system drops the lock when the holding process ends, however it ends (even
SIGKILL), so a crashed run never leaves a stale lock behind; the file itself stays and
is reused.

Example
-------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with RunLock(folder):
...     (folder / ".lock").is_file()
True
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from trialflow.errors import TrialflowError

__all__ = ["LOCK", "RunLock"]

LOCK = ".lock"


class RunLock:
    """Hold ``folder/.lock`` exclusively (see the module doc)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise TrialflowError(f"{self.path.parent}: another trialflow run is building "
                                 f"this folder ({holder}) — wait for it to finish, or "
                                 "build elsewhere (--out DIR)") from None
        info = (f"pid {os.getpid()} on {socket.gethostname()}, started "
                f"{datetime.now(UTC).isoformat(timespec='seconds')}: "
                f"{' '.join(sys.argv[:6])}").encode("utf-8", "replace")
        os.ftruncate(fd, 0)
        os.pwrite(fd, info + b"\n", 0)
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
