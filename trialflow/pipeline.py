"""A tiny stage runner: run named steps in order, time them, summarise, give an exit code.

Exit codes follow one convention across trialflow:

* 0 — every stage ran and no finding has severity ``error``;
* 1 — every stage ran but the data have error findings (see the reports);
* 2 — a stage could not run (usage, spec or input error): later stages are skipped.

Progress and the summary go to stderr so that stdout stays free for a command's own
output. Given a ``log`` path, :func:`run_stages` also writes a run log: per stage its
inputs and outputs with their SHA-256, rows, findings and time — what a reviewer needs to
tie a package to the data it came from.

Example
-------
>>> run_stages([Stage("hello", lambda: StageResult(rows=1))])  # doctest: +SKIP
0
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from trialflow.console import NORMAL, VERBOSE, say, verbosity
from trialflow.console import done as _end_progress
from trialflow.errors import TrialflowError
from trialflow.findings import Finding, count_errors
from trialflow.reuse import files_of, hashing_once, sha256_of

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_FATAL = 2
#: An uncaught exception: a bug in trialflow, not a problem of the inputs.
EXIT_INTERNAL = 3


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
    #: The stage did not run: its outputs were taken over from the last run.
    reused: bool = False


@dataclass(frozen=True)
class Stage:
    """A named step of a run; ``run`` does the work and reports a :class:`StageResult`.

    ``inputs`` are the data files or directories the stage reads (for the run log and
    its fingerprint); ``reads`` the spec files or folders it reads and ``options`` what
    else decides its outputs. A stage with ``reads`` (even empty) can be skipped when
    none of them changed (:mod:`trialflow.reuse`); None means it always runs.
    """

    name: str
    run: Callable[[], StageResult]
    inputs: tuple[Path, ...] = ()
    reads: tuple[Path, ...] | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reuse:
    """Where a run may take unchanged stages' outputs from: the previous ``package``,
    into the staging ``root``; files are named relative to ``roots``; ``force`` runs
    every stage."""

    package: Path
    root: Path
    roots: tuple[Path, ...]
    force: bool = False


def run_stages(stages: Sequence[Stage], stream: TextIO | None = None,
               log: Path | None = None, relative_to: Path | None = None,
               reuse: Reuse | None = None,
               provenance: Mapping[str, Any] | None = None) -> int:
    """Run ``stages`` in order and return the exit code (0, 1 or 2, see module doc).

    A :class:`~trialflow.errors.TrialflowError` stops the run with one line naming the
    stage and the problem; any other exception is a bug and propagates with its traceback.

    Parameters
    ----------
    stages : sequence of Stage
    stream : text stream, optional
        Where progress and summary go; default ``sys.stderr`` (looked up at call time so
        that test capture works).
    log : pathlib.Path, optional
        Write the run log there (see :func:`write_run_log`), also when a stage fails.
    relative_to : pathlib.Path, optional
        Paths under it are logged relative to it.
    reuse : Reuse, optional
        Skip each stage whose fingerprint and outputs the previous package recorded
        unchanged, taking its outputs over; record this run's stages in the staging
        folder's ``reports/stages.json``.

    Returns
    -------
    int
        Exit code.
    """
    # Each file is hashed once in a run (fingerprints, stages.json and run.log read the
    # same datasets).
    with hashing_once():
        return _run_stages(stages, stream, log, relative_to, reuse, provenance)


def _run_stages(stages: Sequence[Stage], stream: TextIO | None, log: Path | None,
                relative_to: Path | None, reuse: Reuse | None,
                provenance: Mapping[str, Any] | None) -> int:
    from trialflow import reuse as cache

    out = stream if stream is not None else sys.stderr
    done: list[tuple[str, float, StageResult]] = []
    code = EXIT_OK
    started = datetime.now(UTC)
    previous = cache.load_state(reuse.package) if reuse is not None else {}
    state: dict[str, Any] = {}
    for i, stage in enumerate(stages, start=1):
        if verbosity() >= NORMAL:
            console_clear()
            print(f"[{i}/{len(stages)}] {stage.name} ...", file=out, flush=True)
        start = time.perf_counter()
        try:
            fp, result = None, None
            if reuse is not None and stage.reads is not None:
                fp = cache.fingerprint(stage.name, [*stage.inputs, *stage.reads],
                                       stage.options, reuse.roots)
                record = previous.get(stage.name, {})
                if not reuse.force and record.get("fingerprint") == fp:
                    taken = cache.reuse_outputs(record, reuse.package, reuse.root)
                    if taken is not None:
                        result = StageResult(rows=int(record.get("rows", 0)),
                                             findings=cache.findings_of(record),
                                             outputs=taken, reused=True)
                        printed = str(record.get("stdout", ""))
                        if verbosity() >= NORMAL:
                            print("  unchanged since the last run (same code, specs, "
                                  "inputs and options): its outputs are taken over",
                                  file=out, flush=True)
                        # What the stage printed as its product (findings, the
                        # reproduction score) is printed again.
                        sys.stdout.write(printed)
            if result is None:
                with _Tee() as tee:
                    result = stage.run()
                printed = tee.text
            _check_outputs(stage, result)
            if fp is not None and reuse is not None:
                state[stage.name] = {**cache.state_of(fp, result.rows, result.findings,
                                                      result.outputs, reuse.root),
                                     "stdout": printed}
        except TrialflowError as exc:
            _summary(done, out)
            message = f"{stage.name} failed: {one_line(exc)}"
            print(f"trialflow: {message}", file=out, flush=True)
            if log is not None:
                write_run_log(log, stages, done, started, EXIT_FATAL, message,
                              relative_to=relative_to, provenance=provenance)
            return EXIT_FATAL
        except Exception as exc:
            # A bug: the log says where the run stopped, the caller reports the trace.
            if log is not None:
                write_run_log(log, stages, done, started, EXIT_INTERNAL,
                              f"{stage.name} failed: internal error: "
                              f"{type(exc).__name__}: {one_line(exc)}",
                              relative_to=relative_to, provenance=provenance)
            raise
        done.append((stage.name, time.perf_counter() - start, result))
        for path in result.outputs if verbosity() >= VERBOSE else []:
            say(f"  output: {path}", VERBOSE)
        if count_errors(result.findings):
            code = EXIT_FINDINGS
    _summary(done, out)
    if reuse is not None and state:
        from trialflow.io import write_atomic

        text = json.dumps(state, indent=1, sort_keys=True) + "\n"
        write_atomic(reuse.root / cache.STATE, lambda tmp: tmp.write_text(text,
                                                                         encoding="utf-8"))
    if log is not None:
        write_run_log(log, stages, done, started, code, relative_to=relative_to,
                      provenance=provenance)
    if code == EXIT_FINDINGS:
        print("trialflow: finished with data errors (exit 1); see the findings above",
              file=out, flush=True)
    return code


def console_clear() -> None:
    """End any progress line before a stage's header."""
    _end_progress("")


class _Tee:
    """Copy what a stage prints on stdout (its product) while it still goes out, so a
    stage taken over from the last run can print it again."""

    def __enter__(self) -> _Tee:
        self._stdout = sys.stdout
        self._parts: list[str] = []
        sys.stdout = self  # type: ignore[assignment]
        return self

    def write(self, text: str) -> int:
        self._parts.append(text)
        return self._stdout.write(text)

    def flush(self) -> None:
        self._stdout.flush()

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self._stdout

    @property
    def text(self) -> str:
        return "".join(self._parts)


def _check_outputs(stage: Stage, result: StageResult) -> None:
    """Every file a stage says it wrote must be there: a run never logs (or promotes) a
    package with a file missing that its index promises."""
    missing = [Path(p) for p in result.outputs if not Path(p).exists()]
    if missing:
        raise TrialflowError(f"{stage.name} wrote {missing[0]}, which is gone "
                             f"({len(missing)} file(s) missing) — did another process "
                             "write to the same folder?")


def one_line(exc: BaseException) -> str:
    """The error message on one line: some (e.g. YAML parser) messages span several, and
    control characters (a third-party name with terminal escape codes) are escaped."""
    from trialflow.safetext import console_text

    return console_text(" | ".join(part.strip() for part in str(exc).splitlines()
                                   if part.strip()))


def _summary(done: list[tuple[str, float, StageResult]], out: TextIO) -> None:
    if not done or verbosity() < NORMAL:
        return
    print(f"{'stage':<12} {'seconds':>8} {'rows':>9} {'errors':>7} {'warnings':>9}", file=out)
    for name, seconds, r in done:
        errors = count_errors(r.findings)
        print(f"{name:<12} {seconds:>8.2f} {r.rows:>9} {errors:>7} "
              f"{len(r.findings) - errors:>9}", file=out)
    if len(done) > 1:
        print(f"{'total':<12} {sum(s for _, s, _ in done):>8.2f}", file=out)
    out.flush()


def dependency_versions() -> list[tuple[str, str]]:
    """Each runtime dependency of trialflow and the version installed, by name."""
    import re
    from importlib import metadata

    try:
        required = metadata.requires("trialflow") or []
    except metadata.PackageNotFoundError:
        return []
    names = sorted({re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0] for r in required
                    if "extra ==" not in r})
    found = []
    for name in names:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return found


def write_run_log(path: Path, stages: Sequence[Stage],
                  done: Sequence[tuple[str, float, StageResult]], started: datetime,
                  code: int, failure: str | None = None,
                  relative_to: Path | None = None,
                  provenance: Mapping[str, Any] | None = None) -> Path:
    """Write the run log: per stage its inputs and outputs with SHA-256, rows, findings
    and seconds; then the exit code.

    The log is plain text, one ``key: value`` line per fact, so it diffs well between
    two runs. Wall-clock times are in it on purpose: it records a run, not a dataset.

    Parameters
    ----------
    path : pathlib.Path
        The log file, written atomically.
    stages : sequence of Stage
        Every stage of the run (those after a failure are listed as not run).
    done : sequence of (name, seconds, StageResult)
        The stages that ran, in order.
    started : datetime.datetime
        When the run started (UTC).
    code : int
        The run's exit code.
    failure : str, optional
        The one-line message of the stage that failed.
    relative_to : pathlib.Path, optional
        Paths under it are written relative to it (a staged package is moved after the
        log is written, so absolute paths would name where it was built).
    provenance : mapping, optional
        More facts for the head of the log (study, seed, subjects ...).

    The head of the log says what a GxP reviewer asks next: the Python and every
    dependency's version, the code's git commit (and whether the tree had changes), and
    per stage the SHA-256 of every spec file it read.
    """
    from trialflow import __version__
    from trialflow.io import write_atomic

    def shown(f: Path) -> Path:
        if relative_to is not None and f.is_relative_to(relative_to):
            return f.relative_to(relative_to)
        return f

    from trialflow.reuse import git_state

    lines = [f"trialflow {__version__} run log",
             f"started: {started.isoformat(timespec='seconds')}",
             f"python: {platform.python_version()} on {platform.platform()}",
             f"argv: {' '.join(sys.argv)}",
             f"code: git {git_state()}",
             *[f"package: {name} {version}" for name, version in dependency_versions()],
             *[f"{key}: {value}" for key, value in (provenance or {}).items()], ""]
    ran = {name: (seconds, result) for name, seconds, result in done}
    failed_at = len(done) if failure is not None else None
    for i, stage in enumerate(stages):
        lines.append(f"[stage {stage.name}]")
        if stage.name not in ran:
            lines += ["status: failed" if i == failed_at else "status: not run", ""]
            continue
        seconds, result = ran[stage.name]
        errors = count_errors(result.findings)
        lines += ["status: reused (unchanged since the last run)" if result.reused
                  else "status: done", f"seconds: {seconds:.2f}", f"rows: {result.rows}",
                  f"findings: {errors} errors, {len(result.findings) - errors} warnings"]
        lines += [f"input: {shown(f)} sha256={sha256_of(f)}" for f in files_of(stage.inputs)]
        lines += [f"spec: {f} sha256={sha256_of(f)}" for f in files_of(stage.reads or ())]
        lines += [f"output: {shown(f)} sha256={sha256_of(f)}"
                  for f in files_of(result.outputs)]
        lines.append("")
    if failure is not None:
        lines.append(f"failed: {failure}")
    lines.append(f"exit code: {code}")
    text = "\n".join(lines) + "\n"
    return write_atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))
