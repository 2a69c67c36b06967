"""What each ``trialflow`` command does: find the study, call the stage(s), return the
exit status. The stages themselves live with their layers (``trialflow/stages.py``,
``crf/stage.py``, ``sdtm/stage.py``, ``adam/stage.py``, ``tlf/stage.py``); the whole
flow (``run``) is in :mod:`trialflow.cli.run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trialflow.pipeline import Stage, run_stages
from trialflow.spec import InputSource
from trialflow.study import StudyFolder, find_study, open_study

__all__ = ["adam", "check_raw", "compare", "define", "init", "schema", "sdtm", "simulate",
           "tlf", "validate"]

_BUILD = Path("build")


def _study(args: argparse.Namespace) -> StudyFolder:
    return open_study(find_study(getattr(args, "study", None)))


def init(args: argparse.Namespace) -> int:
    from trialflow.skeleton import write_skeleton

    written = write_skeleton(args.dir, args.layer)
    print(f"wrote a study that starts from {args.layer} data into {args.dir}/ "
          f"({len(written)} files); build it with:  trialflow run --study {args.dir} "
          f"--out {args.dir}/build", file=sys.stderr)
    return 0


def simulate(args: argparse.Namespace) -> int:
    from crf.stage import simulate as simulate_stage
    from trialflow.stages import check_raw as check_stage

    study = _study(args)
    # Checking what was just written keeps the simulator honest: it must produce data
    # that pass the same checks as a real EDC export.
    return run_stages([
        Stage("simulate", lambda: simulate_stage(study, args.out, args.subjects, args.seed)),
        Stage("check-raw", lambda: check_stage(study, args.out, None))])


def check_raw(args: argparse.Namespace) -> int:
    from trialflow.stages import RAW_FINDINGS
    from trialflow.stages import check_raw as check_stage

    study = _study(args)
    return run_stages([Stage("check-raw", lambda: check_stage(
        study, args.raw, args.reports / RAW_FINDINGS))])


def sdtm(args: argparse.Namespace) -> int:
    from sdtm.stage import build

    study = _study(args)
    return run_stages([Stage("sdtm", lambda: build(study, args.raw, args.out, args.reports))])


def adam(args: argparse.Namespace) -> int:
    from adam.stage import build

    study = _study(args)
    source: Path | list[InputSource] = args.sdtm if args.sdtm is not None else (
        list(study.study.inputs.sources) if study.study.inputs.layer == "sdtm"
        else _BUILD / "sdtm")
    return run_stages([Stage("adam", lambda: build(study, source, args.out, args.reports))])


def validate(args: argparse.Namespace) -> int:
    from trialflow.stages import validate as validate_stage

    study = _study(args)
    # By default the SDTM, and the ADaM when it has been built.
    data = args.data or [_BUILD / "sdtm"] + ([_BUILD / "adam"]
                                             if (_BUILD / "adam").is_dir() else [])
    specs = [args.specs] if args.specs is not None else None
    define = args.define if args.define is not None else (
        _BUILD / "define" / "define-sdtm.xml")
    return run_stages([Stage("validate", lambda: validate_stage(
        study, data, args.reports, specs, cdisc_library=args.cdisc_library,
        core=args.core, define=define))])


def define(args: argparse.Namespace) -> int:
    from trialflow.stages import write_defines

    study = _study(args)
    # ADaM by default only when it has been built (as validate); asked for, it must exist.
    adam_dir = args.adam if args.adam is not None else (
        _BUILD / "adam" if (_BUILD / "adam").is_dir() else None)
    return run_stages([Stage("define", lambda: write_defines(study, args.sdtm, adam_dir,
                                                             args.out))])


def tlf(args: argparse.Namespace) -> int:
    from tlf.stage import build

    study = _study(args)
    return run_stages([Stage("tlf", lambda: build(study, args.adam, args.out, args.targets))])


def schema(args: argparse.Namespace) -> int:
    from trialflow.cli.schema import SCHEMAS, write_schemas

    paths = write_schemas(args.out or SCHEMAS)
    print(f"wrote {len(paths)} JSON Schemas to {paths[0].parent}/", file=sys.stderr)
    return 0


def compare(args: argparse.Namespace) -> int:
    from trialflow.compare import compare_datasets, console_summary, write_report

    keys = [k.strip() for k in args.keys.split(",") if k.strip()]
    result = compare_datasets(args.base, args.qc, keys, abs_tol=args.abs_tol,
                              rel_tol=args.rel_tol, max_rows=args.max_rows, types=args.types)
    report = args.report or _BUILD / "reports" / f"compare_{args.base.stem.lower()}.xlsx"
    print(console_summary(result))
    print(f"  wrote {write_report(result, report)}", file=sys.stderr)
    return 0 if result.equal else 1
