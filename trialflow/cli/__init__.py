"""The ``trialflow`` command line: parse the arguments, dispatch, turn errors into exit
statuses. The commands are declared in :mod:`trialflow.cli.parser` and carried out in
:mod:`trialflow.cli.commands` and :mod:`trialflow.cli.run`.

Exit codes: 0 ok, 1 data findings of severity error, 2 usage, spec or input error,
3 internal error, 130 interrupted. A :class:`~trialflow.errors.TrialflowError` is printed
as one line, without a traceback: it describes a problem in the inputs, not in
trialflow. Any other exception is a bug in trialflow: one line says so and names a
file with the traceback (exit 3), never status 1, which means "data findings".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from trialflow.cli import commands
from trialflow.cli.parser import build_parser
from trialflow.cli.run import RUN_LOG, STAGING, run
from trialflow.console import NORMAL, QUIET, VERBOSE, set_verbosity
from trialflow.errors import TrialflowError
from trialflow.pipeline import EXIT_FATAL, EXIT_INTERNAL, one_line

__all__ = ["RUN_LOG", "STAGING", "build_parser", "main"]

_HANDLERS: dict[str, Callable[..., int]] = {
    "init": commands.init, "simulate": commands.simulate, "check-raw": commands.check_raw,
    "sdtm": commands.sdtm, "adam": commands.adam, "validate": commands.validate,
    "define": commands.define, "tlf": commands.tlf, "run": run, "compare": commands.compare,
    "schema": commands.schema,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status instead of exiting.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 ok, 1 data errors, 2 usage/spec/input error, 130 interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits for --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_FATAL
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_FATAL
    set_verbosity(QUIET if getattr(args, "quiet", False) else
                  VERBOSE if getattr(args, "verbose", False) else NORMAL)
    try:
        return _HANDLERS[args.command](args)
    except TrialflowError as exc:
        print(f"trialflow: {one_line(exc)}", file=sys.stderr)
        return EXIT_FATAL
    except OSError as exc:  # e.g. build/ not writable: the environment, not a bug
        print(f"trialflow: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("trialflow: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in trialflow: keep the trace, say where it is
        path = _write_traceback(exc)
        print(f"trialflow: internal error ({type(exc).__name__}: {one_line(exc)[:200]}) — "
              f"this is a bug in trialflow; the traceback is in {path}", file=sys.stderr)
        return EXIT_INTERNAL


def _write_traceback(exc: BaseException) -> Path:
    """Write the traceback of ``exc`` to a file of its own in the temporary folder."""
    import os
    import tempfile
    import traceback
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    fd, name = tempfile.mkstemp(prefix=f"trialflow-error-{stamp}-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"argv: {sys.argv}\n")
        fh.write("".join(traceback.format_exception(exc)))
    return Path(name)
