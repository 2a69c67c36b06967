"""The ``trialflow`` command line.

Subcommands::

    trialflow simulate   [--subjects N] [--seed S] [--out DIR]   raw CRF extracts -> DIR
    trialflow check-raw  [--raw DIR] [--reports DIR]             check raw extracts
    trialflow run        [--raw DIR] [--out DIR]                 every stage built so far

Exit codes: 0 ok, 1 data findings of severity error, 2 usage, spec or input error,
130 interrupted. A :class:`~trialflow.errors.TrialflowError` is printed as one line,
without a traceback: it describes a problem in the inputs, not in trialflow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trialflow import __version__
from trialflow.errors import TrialflowError
from trialflow.findings import Finding, findings_frame
from trialflow.io import write_csv_atomic
from trialflow.pipeline import EXIT_FATAL, Stage, StageResult, one_line, run_stages
from trialflow.rawdata import read_forms
from trialflow.spec import load_codelists, load_forms, load_study

DEFAULT_BUILD = Path("build")
DEFAULT_RAW = DEFAULT_BUILD / "raw"
DEFAULT_REPORTS = DEFAULT_BUILD / "reports"
RAW_FINDINGS = "raw_findings.csv"
#: Findings printed to the terminal; the report file always has all of them.
SHOW_FINDINGS = 50

_EXIT_CODES = """\
exit status:
  0    done, no data errors
  1    done, but the data have errors (listed, and written to the findings report)
  2    usage error, or a spec/input file that cannot be used (one line says which)
  130  interrupted
"""


# --------------------------------------------------------------------------- stages


def _simulator() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Import the simulator only when asked: other commands must work without it."""
    try:
        from crf.simulate import simulate_study, write_raw
    except ModuleNotFoundError as exc:
        if exc.name not in ("crf", "crf.simulate"):
            raise  # a dependency of the simulator is missing: a real bug, keep the trace
        raise TrialflowError("the raw-data simulator (crf/simulate.py) is not available; "
                             "use --raw DIR to point at existing raw extracts") from None
    return simulate_study, write_raw


def _simulate_stage(subjects: int, seed: int, out: Path) -> Stage:
    def run() -> StageResult:
        simulate_study, write_raw = _simulator()
        forms = simulate_study(subjects=subjects, seed=seed)
        paths = [Path(p) for p in write_raw(forms, out)]
        print(f"  wrote {len(paths)} raw forms for {subjects} subjects (seed {seed}) "
              f"to {out}/", file=sys.stderr)
        return StageResult(rows=sum(len(f) for f in forms.values()), outputs=paths)

    return Stage("simulate", run)


def _check_stage(raw_dir: Path, report: Path | None) -> Stage:
    def run() -> StageResult:
        _, findings = read_forms(raw_dir, load_forms(), load_codelists())
        _print_findings(findings, report)
        if report is None:
            return StageResult(findings=findings)
        write_csv_atomic(findings_frame(findings), report)
        print(f"  wrote {len(findings)} findings to {report}", file=sys.stderr)
        return StageResult(rows=len(findings), findings=findings, outputs=[report])

    return Stage("check-raw", run)


def _print_findings(findings: list[Finding], report: Path | None) -> None:
    """List findings on stdout (it is the command's product); progress stays on stderr."""
    for f in findings[:SHOW_FINDINGS]:
        where = f"{f.source}" + (f" row {f.row}" if f.row is not None else "")
        print(f"{f.severity}: {where} {f.variable}={f.value!r} [{f.rule}] {f.message}")
    if len(findings) > SHOW_FINDINGS:
        rest = f"; all are in {report}" if report else ""
        print(f"... and {len(findings) - SHOW_FINDINGS} more findings{rest}")


# --------------------------------------------------------------------------- commands


def _cmd_simulate(args: argparse.Namespace) -> int:
    study = load_study()
    subjects = args.subjects if args.subjects is not None else study.subjects
    seed = args.seed if args.seed is not None else study.seed
    # Checking what was just written keeps the simulator honest: it must produce data
    # that pass the same checks as a real EDC export.
    return run_stages([_simulate_stage(subjects, seed, args.out), _check_stage(args.out, None)])


def _cmd_check_raw(args: argparse.Namespace) -> int:
    return run_stages([_check_stage(args.raw, args.reports / RAW_FINDINGS)])


def _cmd_run(args: argparse.Namespace) -> int:
    stages = []
    raw = args.raw
    if raw is None:
        study = load_study()
        raw = args.out / "raw"
        stages.append(_simulate_stage(study.subjects, study.seed, raw))
    stages.append(_check_stage(raw, args.out / "reports" / RAW_FINDINGS))
    return run_stages(stages)


# --------------------------------------------------------------------------- parser


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation tools and tests)."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="trialflow", formatter_class=fmt,
        description="trialflow turns raw CRF extracts of a clinical trial into CDISC SDTM, "
                    "ADaM and tables.\nSo far it simulates and checks the raw extracts; the "
                    "SDTM, ADaM and TLF stages are being added.\nPaths are relative to the "
                    "current directory; specs are read from specs/ in the repository.",
        epilog="Start with:  trialflow run      (simulate, then check, into build/)\n"
               "Help on one command:  trialflow <command> --help\n\n" + _EXIT_CODES)
    parser.add_argument("--version", action="version", version=f"trialflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    p = sub.add_parser(
        "simulate", formatter_class=fmt, epilog=_EXIT_CODES,
        help="write simulated raw CRF extracts (one CSV per form) and check them",
        description="Simulate the study's raw CRF extracts, as an EDC would export them: "
                    "one CSV per form\nin specs/raw/ (e.g. OUT/ae.csv), then check them "
                    "with the same rules as check-raw.\nThe same subjects and seed always "
                    "give the same files.")
    p.add_argument("--subjects", type=_positive_int, metavar="N",
                   help="number of subjects (default: 'subjects' in specs/study.yaml)")
    p.add_argument("--seed", type=_non_negative_int, metavar="S",
                   help="random seed (default: 'seed' in specs/study.yaml)")
    p.add_argument("--out", type=Path, default=DEFAULT_RAW, metavar="DIR",
                   help=f"directory for the CSV files (default: {DEFAULT_RAW})")
    p.set_defaults(handler=_cmd_simulate)

    p = sub.add_parser(
        "check-raw", formatter_class=fmt, epilog=_EXIT_CODES,
        help="check raw CRF extracts against specs/raw and write a findings report",
        description="Read every raw CRF extract named by specs/raw/*.yaml from DIR and check "
                    "it:\nfile structure (encoding, delimiter, header, truncated rows) stops "
                    "with exit 2;\nrecord problems (blank required values, bad numbers or "
                    "dates, values outside\nranges or codelists) are listed and written to "
                    f"REPORTS/{RAW_FINDINGS}.")
    p.add_argument("--raw", type=Path, default=DEFAULT_RAW, metavar="DIR",
                   help=f"directory holding <form>.csv files (default: {DEFAULT_RAW})")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, metavar="DIR",
                   help=f"where {RAW_FINDINGS} is written (default: {DEFAULT_REPORTS})")
    p.set_defaults(handler=_cmd_check_raw)

    p = sub.add_parser(
        "run", formatter_class=fmt, epilog=_EXIT_CODES,
        help="run every stage built so far (simulate unless --raw, then check-raw)",
        description="Run the whole flow into OUT. Stages so far:\n"
                    "  simulate   raw CRF extracts -> OUT/raw/<form>.csv (skipped with --raw)\n"
                    f"  check-raw  findings       -> OUT/reports/{RAW_FINDINGS}\n"
                    "SDTM, ADaM and TLF stages are being added.")
    p.add_argument("--raw", type=Path, metavar="DIR",
                   help="use the raw extracts in DIR instead of simulating them")
    p.add_argument("--out", type=Path, default=DEFAULT_BUILD, metavar="DIR",
                   help=f"build directory (default: {DEFAULT_BUILD})")
    p.set_defaults(handler=_cmd_run)
    return parser


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
    try:
        return args.handler(args)
    except TrialflowError as exc:
        print(f"trialflow: {one_line(exc)}", file=sys.stderr)
        return EXIT_FATAL
    except OSError as exc:  # e.g. build/ not writable: the environment, not a bug
        print(f"trialflow: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("trialflow: interrupted", file=sys.stderr)
        return 130
