"""What a person sees while trialflow works: progress, notes, and how much of it.

Everything here goes to stderr (stdout is a command's product: findings, summaries).

* :func:`say` prints a note at a verbosity level: ``--quiet`` keeps errors and the
  final line only, ``--verbose`` adds detail. Paths under a staging folder are shown as
  where they will be once the run has moved them into place (:func:`show_paths_as`),
  so a line never names a file that no longer exists when the run is over.
* :func:`progress` shows a counter with elapsed time for a long step (calibration
  steps, datasets, outputs) on a terminal only, rewriting one line; in CI (``CI`` set)
  and in logs (stderr not a terminal) it prints nothing, so logs stay plain lines.

Example
-------
>>> set_verbosity(QUIET); say("hidden"); set_verbosity(NORMAL)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

__all__ = ["NORMAL", "QUIET", "VERBOSE", "done", "progress", "say", "set_verbosity",
           "show_paths_as", "verbosity"]

QUIET, NORMAL, VERBOSE = 0, 1, 2
_state: dict[str, object] = {"level": NORMAL, "paths": None, "line": False}
_started: dict[str, float] = {}


def set_verbosity(level: int) -> None:
    """How much to show: :data:`QUIET`, :data:`NORMAL` or :data:`VERBOSE`."""
    _state["level"] = level


def verbosity() -> int:
    return int(_state["level"])  # type: ignore[call-overload]


def show_paths_as(staging: Path | None, final: Path | None = None) -> None:
    """Show paths under ``staging`` as under ``final`` (None: as they are)."""
    _state["paths"] = None if staging is None else (str(staging), str(final))


def _shown(text: str) -> str:
    paths = _state["paths"]
    if paths is None:
        return text
    staging, final = paths  # type: ignore[misc]
    return text.replace(staging + os.sep, final + os.sep).replace(staging, final)


def _terminal() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def _clear() -> None:
    if _state["line"]:
        sys.stderr.write("\r\033[K")
        _state["line"] = False


def say(text: str, level: int = NORMAL) -> None:
    """Print ``text`` on stderr when the verbosity is at least ``level``."""
    if verbosity() >= level:
        _clear()
        print(_shown(text), file=sys.stderr, flush=True)


def progress(step: str, done_: int, total: int | None = None) -> None:
    """Show ``step``: ``done_`` of ``total`` and the time since the step began, on one
    rewritten terminal line (nothing when not on a terminal, or when quiet)."""
    now = time.monotonic()
    started = _started.setdefault(step, now)
    if verbosity() < NORMAL or not _terminal():
        return
    count = f"{done_}/{total}" if total else f"{done_}"
    sys.stderr.write(f"\r\033[K  {step}: {count} ({now - started:.0f} s)")
    sys.stderr.flush()
    _state["line"] = True


def done(step: str) -> None:
    """End ``step``'s progress line."""
    _started.pop(step, None)
    _clear()
