"""A tiny stage runner: run named steps in order, time them, summarise, give an exit code.

Exit codes follow one convention across trialflow:

* 0 — every stage ran and no finding has severity ``error``;
* 1 — every stage ran but the data have error findings (see the reports);
* 2 — a stage could not run (usage, spec or input error): later stages are skipped.

Progress and the summary go to stderr so that stdout stays free for a command's own
output.

Example
-------
>>> run_stages([Stage("hello", lambda: StageResult(rows=1))])  # doctest: +SKIP
0
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from trialflow.errors import TrialflowError
from trialflow.findings import Finding, count_errors

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_FATAL = 2


@dataclass
class StageResult:
    """What a stage did.

    Attributes
    ----------
    rows : int
        Data rows written (summed over files); 0 for a stage that only checks.
    findings : list of Finding
        Data findings the stage raised.
    outputs : list of Path
        Files written.
    """

    rows: int = 0
    findings: list[Finding] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Stage:
    """A named step of a run; ``run`` does the work and reports a :class:`StageResult`."""

    name: str
    run: Callable[[], StageResult]


def run_stages(stages: Sequence[Stage], stream: TextIO | None = None) -> int:
    """Run ``stages`` in order and return the exit code (0, 1 or 2, see module doc).

    A :class:`~trialflow.errors.TrialflowError` stops the run with one line naming the
    stage and the problem; any other exception is a bug and propagates with its traceback.

    Parameters
    ----------
    stages : sequence of Stage
    stream : text stream, optional
        Where progress and summary go; default ``sys.stderr`` (looked up at call time so
        that test capture works).

    Returns
    -------
    int
        Exit code.
    """
    out = stream if stream is not None else sys.stderr
    done: list[tuple[str, float, StageResult]] = []
    code = EXIT_OK
    for i, stage in enumerate(stages, start=1):
        print(f"[{i}/{len(stages)}] {stage.name} ...", file=out, flush=True)
        start = time.perf_counter()
        try:
            result = stage.run()
        except TrialflowError as exc:
            _summary(done, out)
            print(f"trialflow: {stage.name} failed: {one_line(exc)}", file=out, flush=True)
            return EXIT_FATAL
        done.append((stage.name, time.perf_counter() - start, result))
        if count_errors(result.findings):
            code = EXIT_FINDINGS
    _summary(done, out)
    if code == EXIT_FINDINGS:
        print("trialflow: finished with data errors (exit 1); see the findings above",
              file=out, flush=True)
    return code


def one_line(exc: BaseException) -> str:
    """The error message on one line: some (e.g. YAML parser) messages span several."""
    return " | ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def _summary(done: list[tuple[str, float, StageResult]], out: TextIO) -> None:
    if not done:
        return
    print(f"{'stage':<12} {'seconds':>8} {'rows':>9} {'errors':>7} {'warnings':>9}", file=out)
    for name, seconds, r in done:
        errors = count_errors(r.findings)
        print(f"{name:<12} {seconds:>8.2f} {r.rows:>9} {errors:>7} "
              f"{len(r.findings) - errors:>9}", file=out)
    out.flush()
