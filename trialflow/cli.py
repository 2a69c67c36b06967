"""The ``trialflow`` command line.

Subcommands::

    trialflow simulate   [--subjects N] [--seed S] [--out DIR]   raw CRF extracts -> DIR
    trialflow check-raw  [--raw DIR] [--reports DIR]             check raw extracts
    trialflow sdtm       [--raw DIR] [--out DIR] [--reports DIR] raw forms -> SDTM XPT/JSON
    trialflow adam       [--sdtm DIR] [--out DIR] [--reports DIR] SDTM -> ADaM XPT/JSON
    trialflow validate   [--data DIR ...] [--specs DIR] [--reports DIR]  check datasets vs specs
    trialflow define     [--sdtm DIR] [--adam DIR] [--out DIR]   define.xml 2.1 of both
    trialflow tlf        [--adam DIR] [--out DIR] [--targets FILE] ADaM -> ARD, TLFs
    trialflow run        [--raw DIR] [--out DIR]                 every stage, in order
    trialflow compare    BASE QC --keys VAR[,VAR...] [--abs-tol] [--rel-tol]  dataset vs QC

Exit codes: 0 ok, 1 data findings of severity error, 2 usage, spec or input error,
130 interrupted. A :class:`~trialflow.errors.TrialflowError` is printed as one line,
without a traceback: it describes a problem in the inputs, not in trialflow.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from trialflow import SPECS, __version__
from trialflow.errors import TrialflowError
from trialflow.findings import Finding, findings_frame
from trialflow.io import promote_staged, write_csv_atomic
from trialflow.pipeline import EXIT_FATAL, Stage, StageResult, one_line, run_stages
from trialflow.rawdata import read_forms
from trialflow.spec import (
    load_codelists,
    load_dataset_specs,
    load_dictionary,
    load_forms,
    load_study,
)

DEFAULT_BUILD = Path("build")
DEFAULT_RAW = DEFAULT_BUILD / "raw"
DEFAULT_REPORTS = DEFAULT_BUILD / "reports"
DEFAULT_SDTM = DEFAULT_BUILD / "sdtm"
DEFAULT_ADAM = DEFAULT_BUILD / "adam"
DEFAULT_TLF = DEFAULT_BUILD / "tlf"
DEFAULT_DEFINE = DEFAULT_BUILD / "define"
DEFINE_SDTM = "define-sdtm.xml"
DEFINE_ADAM = "define-adam.xml"
ARD = "ard.csv"
REPRODUCTION = "reproduction.xlsx"
TLF_INDEX = "index.csv"
RUN_LOG = "run.log"
#: Where `trialflow run` builds before moving the parts into OUT.
STAGING = ".staging"
RAW_FINDINGS = "raw_findings.csv"
SDTM_FINDINGS = "sdtm_findings.csv"
ADAM_FINDINGS = "adam_findings.csv"
RECONCILIATION = "reconciliation.csv"
VALIDATION = "validation.xlsx"
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
        try:
            forms = simulate_study(subjects=subjects, seed=seed)
        except (ValueError, RuntimeError) as exc:
            # The simulator gives up when the study's fixed margins (events, serious AEs,
            # dose reductions) cannot be placed in so few subjects with this seed.
            raise TrialflowError(f"cannot simulate {subjects} subjects with seed {seed}: "
                                 f"{exc} — simulate more subjects (at least 40 work) or "
                                 "try another seed") from None
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


def _sdtm_builder() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Import the SDTM layer only when asked (the core does not depend on it)."""
    from sdtm import build_sdtm, write_sdtm

    return build_sdtm, write_sdtm


def _sdtm_stage(raw_dir: Path, out: Path, reports: Path) -> Stage:
    def run() -> StageResult:
        from trialflow.reconcile import reconcile

        build_sdtm, write_sdtm = _sdtm_builder()
        # Everything that can stop the run (specs, codelists, dictionary, raw files) is
        # read before anything is written: a broken input leaves no half-built SDTM.
        specs = load_dataset_specs(SPECS / "sdtm")
        codelists, study = load_codelists(), load_study()
        raw, raw_findings = read_forms(raw_dir, load_forms(), codelists)
        result = build_sdtm(raw, specs, codelists, study, load_dictionary())
        paths, written = write_sdtm(result.datasets, specs, out, study.id)
        report, lost = reconcile(raw, result.datasets, result.rejections)
        findings = [*result.findings, *written, *lost]
        write_csv_atomic(report, reports / RECONCILIATION)
        write_csv_atomic(findings_frame(findings), reports / SDTM_FINDINGS)
        _print_findings(findings, reports / SDTM_FINDINGS)
        rows = sum(len(d) for d in result.datasets.values())
        for name, data in result.datasets.items():
            print(f"  {name:<8} {len(data):>8} records", file=sys.stderr)
        totals = report[report["status"] == "total"]
        print(f"  reconciliation: {int(totals['raw'].sum())} raw records, "
              f"{int(totals['mapped'].sum())} mapped, {int(totals['rejected'].sum())} "
              f"rejected with a reason, {len(lost)} unaccounted -> "
              f"{reports / RECONCILIATION}", file=sys.stderr)
        if raw_findings:
            print(f"  note: the raw data have {len(raw_findings)} findings (see "
                  f"`trialflow check-raw`)", file=sys.stderr)
        print(f"  wrote {len(paths)} files to {out}/", file=sys.stderr)
        return StageResult(rows=rows, findings=findings,
                           outputs=[*paths, reports / RECONCILIATION, reports / SDTM_FINDINGS])

    return Stage("sdtm", run)


def _adam_stage(sdtm_dir: Path, out: Path, reports: Path) -> Stage:
    def run() -> StageResult:
        from adam import build_adam, read_sdtm, write_adam

        # Specs and SDTM are read before anything is written: a broken input leaves no
        # half-built ADaM.
        specs = load_dataset_specs(SPECS / "adam")
        sdtm_specs = load_dataset_specs(SPECS / "sdtm")
        study = load_study()
        load_codelists()
        sdtm = read_sdtm(sdtm_dir)
        datasets = build_adam(sdtm, specs, study, sdtm_specs)
        paths, found = write_adam(datasets, specs, out, study.id)
        write_csv_atomic(findings_frame(found), reports / ADAM_FINDINGS)
        _print_findings(found, reports / ADAM_FINDINGS)
        for name, data in datasets.items():
            print(f"  {name:<8} {len(data):>8} records", file=sys.stderr)
        print(f"  wrote {len(paths)} files to {out}/", file=sys.stderr)
        return StageResult(rows=sum(len(d) for d in datasets.values()), findings=found,
                           outputs=[*paths, reports / ADAM_FINDINGS])

    return Stage("adam", run)


#: The spec directories ``validate`` looks up a dataset's spec in, by default.
DEFAULT_SPEC_DIRS = (SPECS / "sdtm", SPECS / "adam")


def _validate_stage(data_dirs: Sequence[Path], specs_dirs: Sequence[Path],
                    reports: Path) -> Stage:
    def run() -> StageResult:
        import pandas as pd

        from trialflow.validate import console_summary, validate_directory, write_report

        specs = {}
        for specs_dir in specs_dirs:
            if not specs_dir.is_dir():
                raise TrialflowError(f"{specs_dir}: spec directory not found — pass --specs "
                                     "DIR (default: specs/sdtm and specs/adam of the "
                                     "repository)")
            specs.update(load_dataset_specs(specs_dir))
        study = load_study()
        codelists = load_codelists()
        found, summaries = [], []
        for data in data_dirs:
            f, summary = validate_directory(data, specs, codelists, study.id)
            found += f
            summaries.append(summary)
        summary = pd.concat(summaries, ignore_index=True)
        path = write_report(found, summary, reports / VALIDATION)
        print(console_summary(found, summary))
        print(f"  wrote {len(found)} findings to {path}", file=sys.stderr)
        # Validation findings carry counts; the stage reports one Finding per rule hit
        # so that the exit code follows the errors.
        as_findings = [Finding(f.dataset, None, f.variable, f.examples, f.rule, f.message,
                               "error" if f.severity == "error" else "warning")
                       for f in found]
        return StageResult(rows=int(summary["records"].sum()), findings=as_findings,
                           outputs=[path])

    return Stage("validate", run)


def _define_stage(sdtm_dir: Path | None, adam_dir: Path | None, out: Path) -> Stage:
    def run() -> StageResult:
        from trialflow.define import build_define, validate_define, write_define

        study, codelists = load_study(), load_codelists()
        jobs = [(layer, data, out / name)
                for layer, data, name in (("sdtm", sdtm_dir, DEFINE_SDTM),
                                          ("adam", adam_dir, DEFINE_ADAM))
                if data is not None]
        # Both documents are built before either is written: a missing dataset leaves
        # no half-written pair.
        trees = [(build_define(load_dataset_specs(SPECS / layer), data, codelists=codelists,
                               study=study), path) for layer, data, path in jobs]
        paths, findings = [], []
        for tree, path in trees:
            paths.append(write_define(tree, path))
            errors = validate_define(path)
            findings += [Finding(path.name, None, None, None, "define-xsd", message)
                         for message in errors]
            groups = len(tree.findall(".//{*}ItemGroupDef"))
            items = len(tree.findall(".//{*}ItemDef"))
            print(f"  wrote {path} ({groups} datasets, {items} items; schema: "
                  f"{'valid' if not errors else f'{len(errors)} errors'})", file=sys.stderr)
        # Schema errors are printed as the validator words them (file:line: message).
        for f in findings[:SHOW_FINDINGS]:
            print(f"error: {f.message}")
        if len(findings) > SHOW_FINDINGS:
            print(f"... and {len(findings) - SHOW_FINDINGS} more schema errors")
        return StageResult(findings=findings, outputs=paths)

    return Stage("define", run)


def _tlf_stage(adam_dir: Path, out: Path, targets: Path | None) -> Stage:
    def run() -> StageResult:
        from tlf.ard import build_ard, read_adam, read_ard, write_ard
        from tlf.build import build_outputs, index_frame
        from tlf.reproduction import (
            DEFAULT_TARGETS,
            console_summary,
            load_targets,
            reproduce,
            write_report,
        )
        from tlf.spec import load_output_specs

        # The targets are read before anything is written: a broken file leaves no
        # half-written TLF output.
        target_file = targets if targets is not None else DEFAULT_TARGETS
        published = None
        if targets is not None or target_file.is_file():
            published = load_targets(target_file)
        adam = read_adam(adam_dir)
        specs = load_output_specs()
        # Layouts read the ARD back from its file, so a table shows exactly what ard.csv
        # holds.
        outputs = [write_ard(build_ard(adam), out / ARD)]
        ard = read_ard(out / ARD)
        print(f"  wrote {len(ard)} analysis results to {out / ARD}", file=sys.stderr)
        built = build_outputs(specs, ard, adam, out)
        # An estimate the data cannot give prints as NE; say which, so NE is never a
        # silent surprise.
        not_computed = [
            Finding(b.spec.name, None, row["stat"], row["level"] or None, "ard_not_computed",
                    f"{b.spec.kind} {b.spec.number} prints NE: the ARD has no "
                    f"{row['stat']} of {row['analysis']} / {row['group']} / "
                    f"{row['variable']}", severity="warning")
            for b in built for row in b.missing]
        for f in not_computed[:SHOW_FINDINGS]:
            print(f"warning: {f.message}", file=sys.stderr)
        index = write_csv_atomic(index_frame(built, out), out / TLF_INDEX)
        outputs += [f for b in built for f in b.files] + [index]
        kinds = Counter(b.spec.kind for b in built)
        print(f"  wrote {len(built)} outputs ({', '.join(f'{n} {k}s' for k, n in kinds.items())})"
              f" to {out}/: DOCX for each, XLSX for tables and listings, PNG for figures;"
              f" contents in {out / TLF_INDEX}", file=sys.stderr)
        if published is None:
            print(f"  note: no published targets at {target_file}; reproduction report "
                  "skipped", file=sys.stderr)
        else:
            report = reproduce(ard, published)
            outputs.append(write_report(report, out / REPRODUCTION))
            print(console_summary(report))
            print(f"  wrote {len(report)} comparisons to {out / REPRODUCTION}",
                  file=sys.stderr)
        return StageResult(rows=len(ard), findings=not_computed, outputs=outputs)

    return Stage("tlf", run)


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


def _cmd_sdtm(args: argparse.Namespace) -> int:
    return run_stages([_sdtm_stage(args.raw, args.out, args.reports)])


def _cmd_validate(args: argparse.Namespace) -> int:
    # By default the SDTM, and the ADaM when it has been built.
    data = args.data or [DEFAULT_SDTM] + ([DEFAULT_ADAM] if DEFAULT_ADAM.is_dir() else [])
    specs = [args.specs] if args.specs is not None else list(DEFAULT_SPEC_DIRS)
    return run_stages([_validate_stage(data, specs, args.reports)])


def _cmd_adam(args: argparse.Namespace) -> int:
    return run_stages([_adam_stage(args.sdtm, args.out, args.reports)])


def _cmd_define(args: argparse.Namespace) -> int:
    # ADaM by default only when it has been built (as validate); asked for, it must exist.
    adam = args.adam if args.adam is not None else (DEFAULT_ADAM if DEFAULT_ADAM.is_dir()
                                                     else None)
    return run_stages([_define_stage(args.sdtm, adam, args.out)])


def _cmd_tlf(args: argparse.Namespace) -> int:
    return run_stages([_tlf_stage(args.adam, args.out, args.targets)])


def _cmd_run(args: argparse.Namespace) -> int:
    out: Path = args.out
    # Every stage writes under OUT/.staging; the parts move into OUT only when all have
    # run, so a killed or failed run leaves the previous package as it was.
    root = out / STAGING
    if root.exists():
        shutil.rmtree(root)  # what a killed run left behind
    stages = []
    raw = args.raw
    if raw is None:
        study = load_study()
        raw = root / "raw"
        stages.append(_simulate_stage(study.subjects, study.seed, raw))
    reports = root / "reports"
    sdtm, adam = root / "sdtm", root / "adam"
    stages += [
        replace(_check_stage(raw, reports / RAW_FINDINGS), inputs=(raw,)),
        replace(_sdtm_stage(raw, sdtm, reports), inputs=(raw,)),
        replace(_adam_stage(sdtm, adam, reports), inputs=(sdtm,)),
        replace(_validate_stage([sdtm, adam], list(DEFAULT_SPEC_DIRS), reports),
                inputs=(sdtm, adam)),
        replace(_define_stage(sdtm, adam, root / "define"), inputs=(sdtm, adam)),
        replace(_tlf_stage(adam, root / "tlf", None), inputs=(adam,)),
    ]
    code = run_stages(stages, log=reports / RUN_LOG, relative_to=root)
    if code == EXIT_FATAL:
        print(f"trialflow: the package in {out} was left as it was; the partial run is in "
              f"{root} (its log: {reports / RUN_LOG})", file=sys.stderr)
        return code
    parts = promote_staged(root, out)
    print(f"package in {out}/: {', '.join(p.name + '/' for p in parts)}; TLF outputs listed "
          f"in {out / 'tlf' / TLF_INDEX}; run log {out / 'reports' / RUN_LOG}",
          file=sys.stderr)
    return code


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
                    "ADaM and tables.\nIt simulates and checks the raw extracts, maps them to "
                    "SDTM, derives ADaM from the SDTM,\nvalidates both, describes them in "
                    "define.xml and renders the tables, listings and figures.\nPaths are "
                    "relative to the current directory; specs are read from specs/ in the "
                    "repository.",
        epilog="Start with:  trialflow run      (simulate, check, SDTM, ADaM, validate, define, "
               "TLF, into build/)\n"
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
        "sdtm", formatter_class=fmt, epilog=_EXIT_CODES,
        help="map the raw CRF extracts to SDTM domains (XPT v5 and Dataset-JSON)",
        description="Map every raw form in DIR to the SDTM domains specified in specs/sdtm/ "
                    "and write\nOUT/<domain>.xpt (SAS transport version 5) and "
                    "OUT/<domain>.json (Dataset-JSON v1.1).\nAlso writes REPORTS/"
                    f"{RECONCILIATION} (every raw record mapped, or rejected with\nthe "
                    f"reason) and REPORTS/{SDTM_FINDINGS} (values that map to no codelist "
                    "term,\nuncodable AE terms, bad dates, lengths over the spec).")
    p.add_argument("--raw", type=Path, default=DEFAULT_RAW, metavar="DIR",
                   help=f"directory holding <form>.csv files (default: {DEFAULT_RAW})")
    p.add_argument("--out", type=Path, default=DEFAULT_SDTM, metavar="DIR",
                   help=f"where the datasets are written (default: {DEFAULT_SDTM})")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, metavar="DIR",
                   help=f"where the reports are written (default: {DEFAULT_REPORTS})")
    p.set_defaults(handler=_cmd_sdtm)

    p = sub.add_parser(
        "adam", formatter_class=fmt, epilog=_EXIT_CODES,
        help="derive the ADaM datasets from SDTM (XPT v5 and Dataset-JSON)",
        description="Read the SDTM datasets in DIR (*.xpt) and derive the ADaM datasets "
                    "specified in specs/adam/\n(ADSL, ADRS, ADQS, ADAE, ADTTE); write "
                    "OUT/<dataset>.xpt (SAS transport version 5)\nand OUT/<dataset>.json "
                    f"(Dataset-JSON v1.1), and REPORTS/{ADAM_FINDINGS} (what the writer\n"
                    "found: values longer than declared, variables missing).")
    p.add_argument("--sdtm", type=Path, default=DEFAULT_SDTM, metavar="DIR",
                   help=f"directory holding the SDTM .xpt files (default: {DEFAULT_SDTM})")
    p.add_argument("--out", type=Path, default=DEFAULT_ADAM, metavar="DIR",
                   help=f"where the datasets are written (default: {DEFAULT_ADAM})")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, metavar="DIR",
                   help=f"where {ADAM_FINDINGS} is written (default: {DEFAULT_REPORTS})")
    p.set_defaults(handler=_cmd_adam)

    p = sub.add_parser(
        "validate", formatter_class=fmt, epilog=_EXIT_CODES,
        help="check SDTM and ADaM datasets (XPT) against their specs and write a report",
        description="Read every DIR/*.xpt and check it against its spec, rule by rule in a "
                    "fixed order:\nunspecified variables, missing required variables, types "
                    "(and date formats), lengths,\nlabels, controlled terminology, key "
                    "uniqueness, sort order, ISO 8601 dates, USUBJID in DM\n(in ADSL for "
                    "ADaM), --SEQ (ASEQ) unique per subject. A dataset of another study (no\n"
                    "spec of ours) gets the checks that need no spec. --data may be given "
                    f"several times.\nWrites REPORTS/{VALIDATION} (one row per finding) and "
                    "prints a summary.")
    p.add_argument("--data", type=Path, action="append", metavar="DIR",
                   help=f"directory holding the .xpt files (default: {DEFAULT_SDTM}, and "
                        f"{DEFAULT_ADAM} if it exists); repeat for several")
    p.add_argument("--specs", type=Path, default=None, metavar="DIR",
                   help="directory of dataset specs (default: specs/sdtm and specs/adam of "
                        "the repository)")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, metavar="DIR",
                   help=f"where {VALIDATION} is written (default: {DEFAULT_REPORTS})")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser(
        "define", formatter_class=fmt, epilog=_EXIT_CODES,
        help="write define.xml (Define-XML 2.1) for the SDTM and ADaM datasets",
        description="Describe the datasets in Define-XML 2.1 from their specs (specs/sdtm, "
                    "specs/adam, specs/ct)\nand the built XPT files: datasets, variables, "
                    "codelists, value-level metadata\n(by test code, parameter and "
                    f"qualifier), methods and comments. Writes OUT/{DEFINE_SDTM}\nand "
                    f"OUT/{DEFINE_ADAM} and checks both against the Define-XML 2.1 schema "
                    "(schema\nerrors: exit 1). CreationDateTime is SOURCE_DATE_EPOCH when "
                    "set, so reruns are\nbyte-identical.")
    p.add_argument("--sdtm", type=Path, default=DEFAULT_SDTM, metavar="DIR",
                   help=f"directory holding the SDTM .xpt files (default: {DEFAULT_SDTM})")
    p.add_argument("--adam", type=Path, default=None, metavar="DIR",
                   help=f"directory holding the ADaM .xpt files (default: {DEFAULT_ADAM}, "
                        "skipped if it does not exist)")
    p.add_argument("--out", type=Path, default=DEFAULT_DEFINE, metavar="DIR",
                   help=f"where the define files are written (default: {DEFAULT_DEFINE})")
    p.set_defaults(handler=_cmd_define)

    p = sub.add_parser(
        "tlf", formatter_class=fmt, epilog=_EXIT_CODES,
        help="compute the analysis results (ARD) from ADaM, render the tables, listings "
             "and figures, and compare with the publication",
        description="Read the ADaM datasets in DIR (*.xpt: ADSL, ADRS, ADTTE, ADAE) and "
                    f"compute every\ndisplayed number once into OUT/{ARD} (analysis, output, "
                    "group, variable, level,\nstat, value, method; full precision). Render "
                    "every output in specs/tlf/ from it:\nDOCX for each, XLSX for tables "
                    f"and listings, PNG for figures, listed in OUT/{TLF_INDEX}.\nWhen the "
                    f"published targets file exists, also write OUT/{REPRODUCTION} (each\n"
                    "published number, the computed one rounded to the printed precision, "
                    "match, note)\nand print how many match.")
    p.add_argument("--adam", type=Path, default=DEFAULT_ADAM, metavar="DIR",
                   help=f"directory holding the ADaM .xpt files (default: {DEFAULT_ADAM})")
    p.add_argument("--out", type=Path, default=DEFAULT_TLF, metavar="DIR",
                   help=f"where the ARD and outputs are written (default: {DEFAULT_TLF})")
    p.add_argument("--targets", type=Path, default=None, metavar="FILE",
                   help="published targets (YAML; default: "
                        "../shared/reference/precious-targets.yaml beside the repository, "
                        "skipped if absent)")
    p.set_defaults(handler=_cmd_tlf)

    p = sub.add_parser(
        "run", formatter_class=fmt, epilog=_EXIT_CODES,
        help="run every stage (simulate unless --raw, check-raw, sdtm, adam, validate, "
             "define, tlf)",
        description="Run the whole flow into OUT. Stages:\n"
                    "  simulate   raw CRF extracts -> OUT/raw/<form>.csv (skipped with --raw)\n"
                    f"  check-raw  findings       -> OUT/reports/{RAW_FINDINGS}\n"
                    "  sdtm       SDTM domains   -> OUT/sdtm/<domain>.xpt and .json, "
                    f"OUT/reports/{RECONCILIATION}\n"
                    "  adam       ADaM datasets  -> OUT/adam/<dataset>.xpt and .json\n"
                    f"  validate   SDTM and ADaM  -> OUT/reports/{VALIDATION}\n"
                    f"  define     define.xml 2.1 -> OUT/define/{DEFINE_SDTM}, {DEFINE_ADAM}\n"
                    f"  tlf        ARD and outputs -> OUT/tlf/{ARD}, {REPRODUCTION}, "
                    f"{TLF_INDEX} (lists every table, listing and figure)\n"
                    "Every stage is built in OUT/.staging and moved into OUT only when all "
                    "have run.")
    p.add_argument("--raw", type=Path, metavar="DIR",
                   help="use the raw extracts in DIR instead of simulating them")
    p.add_argument("--out", type=Path, default=DEFAULT_BUILD, metavar="DIR",
                   help=f"build directory (default: {DEFAULT_BUILD})")
    p.set_defaults(handler=_cmd_run)
    _add_compare(sub, fmt)
    return parser


# --------------------------------------------------------------------------- compare


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number not below 0, got {text}")
    return value


def _cmd_compare(args: argparse.Namespace) -> int:
    from trialflow.compare import compare_datasets, console_summary, write_report

    keys = [k.strip() for k in args.keys.split(",") if k.strip()]
    result = compare_datasets(args.base, args.qc, keys, abs_tol=args.abs_tol,
                              rel_tol=args.rel_tol, max_rows=args.max_rows)
    report = args.report or DEFAULT_REPORTS / f"compare_{args.base.stem.lower()}.xlsx"
    print(console_summary(result))
    print(f"  wrote {write_report(result, report)}", file=sys.stderr)
    return 0 if result.equal else 1


def _add_compare(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "compare", formatter_class=fmt,
        epilog="exit status:\n  0    the datasets are equal\n  1    they differ\n"
               "  2    usage error, or a file that cannot be read (one line says which)\n",
        help="compare a dataset with its QC (double programming), like PROC COMPARE",
        description="Compare BASE with QC (.xpt, Dataset-JSON .json or .csv, by extension), "
                    "matching records by\n--keys: dataset label; variables in one only; "
                    "type, length and label; records in one\nonly; duplicate keys; values "
                    "per variable (missing equals missing; numbers within\n|base - qc| <= "
                    "ABS + REL * |base|). Prints a summary and writes an XLSX report\n"
                    "(sheets summary, attributes, observations, values).")
    p.add_argument("base", type=Path, metavar="BASE", help="the base (production) dataset")
    p.add_argument("qc", type=Path, metavar="QC", help="the QC (compare) dataset")
    p.add_argument("--keys", required=True, metavar="VAR[,VAR...]",
                   help="key variables that match records, e.g. USUBJID,PARAMCD")
    p.add_argument("--abs-tol", type=_tolerance, default=0.0, metavar="ABS",
                   help="absolute tolerance for numbers (default 0: exact)")
    p.add_argument("--rel-tol", type=_tolerance, default=0.0, metavar="REL",
                   help="tolerance relative to the base value (default 0)")
    p.add_argument("--max-rows", type=_positive_int, default=10, metavar="N",
                   help="differing records listed per variable (default 10)")
    p.add_argument("--report", type=Path, metavar="PATH",
                   help=f"XLSX report (default: {DEFAULT_REPORTS}/compare_<base>.xlsx)")
    p.set_defaults(handler=_cmd_compare)


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
