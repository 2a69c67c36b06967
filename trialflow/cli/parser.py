"""The ``trialflow`` argument parser: every command, its options and its help.

Each command is declared once in :data:`COMMANDS` (name, one-line help, description,
options); :func:`build_parser` turns the table into argparse parsers. Every command but
``compare`` and ``init`` takes ``--study DIR``. What each command does is in
:mod:`trialflow.cli.commands`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialflow import __version__
from trialflow.study import ENV

__all__ = ["COMMANDS", "EXIT_CODES", "Command", "build_parser"]

EXIT_CODES = """\
exit status:
  0    done, no data errors
  1    done, but the data have errors (listed, and written to the findings report)
  2    usage error, or a spec/input file that cannot be used (one line says which)
  3    internal error: a bug in trialflow (one line names the file with the traceback)
  130  interrupted
"""

_STUDY_HELP = (f"the study folder (holding study.yaml; default: ${ENV}, else a study.yaml "
               "in the current directory, else the bundled example, PRECIOUS)")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number not below 0, got {text}")
    return value


def _types(text: str) -> dict[str, str]:
    """``VAR=Num,VAR=Char`` as a mapping."""
    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, kind = part.partition("=")
        if kind not in ("Num", "Char") or not name:
            raise argparse.ArgumentTypeError(f"{part!r}: write VAR=Num or VAR=Char")
        out[name.strip()] = kind
    return out


def _opt(*flags: str, **kwargs: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    return flags, kwargs


@dataclass(frozen=True)
class Command:
    """One subcommand: what ``trialflow <name> --help`` shows and the options it takes."""

    name: str
    help: str
    description: str
    options: list[tuple[tuple[str, ...], dict[str, Any]]] = field(default_factory=list)
    study: bool = True
    epilog: str = EXIT_CODES


COMMANDS: list[Command] = [
    Command(
        "init", "write a small, runnable study folder to start your own study from",
        "Write a study skeleton into DIR: study.yaml, specs for every layer with comments "
        "that say\nwhere each rule lives, and a few rows of sample input, so that\n"
        "`trialflow run --study DIR` works at once. --from raw (default) starts from raw "
        "CRF\nextracts (CSV); --from sdtm starts from SDTM datasets (XPT).",
        [_opt("dir", type=Path, metavar="DIR", help="the new study folder (must not exist "
              "or be empty)"),
         _opt("--from", dest="layer", choices=("raw", "sdtm"), default="raw",
              help="where the study's data come in (default: raw)")],
        study=False),
    Command(
        "simulate", "write simulated raw CRF extracts (one CSV per form) and check them",
        "Simulate the study's raw CRF extracts, as an EDC would export them: one CSV per "
        "form\nin the study's raw/ specs (e.g. OUT/ae.csv), then check them with the same "
        "rules as\ncheck-raw. The same subjects and seed always give the same files. Only "
        "a study that\ndeclares `simulation:` in its study.yaml (the bundled example) can be "
        "simulated.",
        [_opt("--subjects", type=_positive_int, metavar="N",
              help="number of subjects (default: 'subjects' in study.yaml)"),
         _opt("--seed", type=_non_negative_int, metavar="S",
              help="random seed (default: 'seed' in study.yaml)"),
         _opt("--out", type=Path, default=Path("build/raw"), metavar="DIR",
              help="directory for the CSV files (default: build/raw)")]),
    Command(
        "check-raw", "check raw CRF extracts against the study's raw/ specs",
        "Read every raw CRF extract named by the study's raw/*.yaml from DIR and check "
        "it:\nfile structure (encoding, delimiter, header, truncated rows) stops with exit "
        "2;\nrecord problems (blank required values, bad numbers or dates, values outside\n"
        "ranges or codelists) are listed and written to REPORTS/raw_findings.csv.",
        [_opt("--raw", type=Path, default=Path("build/raw"), metavar="DIR",
              help="directory holding <form>.csv files (default: build/raw)"),
         _opt("--reports", type=Path, default=Path("build/reports"), metavar="DIR",
              help="where raw_findings.csv is written (default: build/reports)")]),
    Command(
        "sdtm", "map the raw CRF extracts to SDTM domains (XPT v5 and Dataset-JSON)",
        "Map every raw form in DIR to the SDTM domains of the study's sdtm/ specs and "
        "write\nOUT/<domain>.xpt (SAS transport version 5) and OUT/<domain>.json "
        "(Dataset-JSON v1.1).\nAlso writes REPORTS/reconciliation.csv (every raw record "
        "mapped, or rejected with\nthe reason) and REPORTS/sdtm_findings.csv (values that "
        "map to no codelist term,\nuncodable AE terms, bad dates, lengths over the spec).",
        [_opt("--raw", type=Path, default=Path("build/raw"), metavar="DIR",
              help="directory holding <form>.csv files (default: build/raw)"),
         _opt("--out", type=Path, default=Path("build/sdtm"), metavar="DIR",
              help="where the datasets are written (default: build/sdtm)"),
         _opt("--reports", type=Path, default=Path("build/reports"), metavar="DIR",
              help="where the reports are written (default: build/reports)")]),
    Command(
        "adam", "derive the ADaM datasets from SDTM (XPT v5 and Dataset-JSON)",
        "Read the SDTM datasets in DIR (.xpt, .json, .sas7bdat or .csv) and derive the "
        "ADaM\ndatasets of the study's adam/ specs; write OUT/<dataset>.xpt (SAS transport "
        "version 5)\nand OUT/<dataset>.json (Dataset-JSON v1.1), and "
        "REPORTS/adam_findings.csv (what the\nwriter found: values longer than declared, "
        "variables missing).",
        [_opt("--sdtm", type=Path, default=None, metavar="DIR",
              help="directory holding the SDTM datasets (default: the study's inputs when "
                   "it starts from SDTM, else build/sdtm)"),
         _opt("--out", type=Path, default=Path("build/adam"), metavar="DIR",
              help="where the datasets are written (default: build/adam)"),
         _opt("--reports", type=Path, default=Path("build/reports"), metavar="DIR",
              help="where adam_findings.csv is written (default: build/reports)")]),
    Command(
        "validate", "check SDTM and ADaM datasets (XPT) against their specs and write a "
        "report",
        "Read every DIR/*.xpt and check it against its spec, rule by rule in a fixed "
        "order:\nunspecified variables, missing required variables, types (and date "
        "formats), lengths,\nlabels, controlled terminology, key uniqueness, sort order, "
        "ISO 8601 dates, USUBJID in DM\n(in ADSL for ADaM), --SEQ (ASEQ) unique per "
        "subject. A dataset of another study (no\nspec of ours) gets the checks that need "
        "no spec. --data may be given several times.\nWith a CDISC library folder, every "
        "dataset is also checked against CDISC CT and the\nSDTMIG 3.4 / ADaMIG 1.3 tables "
        "(trialflow.conformance); --core adds CDISC CORE.\nWrites REPORTS/validation.xlsx "
        "(one row per finding) and prints a summary.",
        [_opt("--data", type=Path, action="append", metavar="DIR",
              help="directory holding the .xpt files (default: build/sdtm, and build/adam "
                   "if it exists); repeat for several"),
         _opt("--specs", type=Path, default=None, metavar="DIR",
              help="directory of dataset specs (default: the study's sdtm/ and adam/)"),
         _opt("--reports", type=Path, default=Path("build/reports"), metavar="DIR",
              help="where validation.xlsx is written (default: build/reports)"),
         _opt("--cdisc-library", type=Path, default=None, metavar="DIR",
              help="folder of CDISC's CT and IG tables for the conformance checks "
                   "(default: $TRIALFLOW_CDISC_LIBRARY, the study's standards.library, "
                   "else ../shared/external/cdisc-library beside the repository)"),
         _opt("--core", action="store_true",
              help="also run CDISC CORE (SDTMIG 3.4) on the SDTM and fold its findings "
                   "in, with the study's core-allowlist.yaml"),
         _opt("--define", type=Path, default=None, metavar="FILE",
              help="the define.xml CORE reads with the SDTM (default: "
                   "build/define/define-sdtm.xml when it exists)")]),
    Command(
        "define", "write define.xml (Define-XML 2.1) for the SDTM and ADaM datasets",
        "Describe the datasets in Define-XML 2.1 from the study's specs (sdtm/, adam/, "
        "ct/)\nand the built XPT files: datasets, variables, codelists, value-level "
        "metadata\n(by test code, parameter and qualifier), methods and comments. Writes "
        "OUT/define-sdtm.xml\nand OUT/define-adam.xml and checks both against the "
        "Define-XML 2.1 schema (schema\nerrors: exit 1). CreationDateTime is "
        "SOURCE_DATE_EPOCH when set, so reruns are\nbyte-identical.",
        [_opt("--sdtm", type=Path, default=Path("build/sdtm"), metavar="DIR",
              help="directory holding the SDTM .xpt files (default: build/sdtm)"),
         _opt("--adam", type=Path, default=None, metavar="DIR",
              help="directory holding the ADaM .xpt files (default: build/adam, skipped "
                   "if it does not exist)"),
         _opt("--out", type=Path, default=Path("build/define"), metavar="DIR",
              help="where the define files are written (default: build/define)")]),
    Command(
        "tlf", "compute the analysis results (ARD) from ADaM and render the tables, "
        "listings and figures",
        "Read the ADaM datasets in DIR (*.xpt) and compute every displayed number once "
        "into\nOUT/ard.csv (analysis, output, group, variable, level, stat, value, method; "
        "full\nprecision). Render every output of the study's tlf/ specs from it: DOCX for "
        "each,\nXLSX for tables and listings, PNG for figures, listed in OUT/index.csv. "
        "When the\nstudy declares published targets (targets: in study.yaml) or --targets "
        "is given,\nalso write OUT/reproduction.xlsx and print how many published numbers "
        "match.",
        [_opt("--adam", type=Path, default=Path("build/adam"), metavar="DIR",
              help="directory holding the ADaM .xpt files (default: build/adam)"),
         _opt("--out", type=Path, default=Path("build/tlf"), metavar="DIR",
              help="where the ARD and outputs are written (default: build/tlf)"),
         _opt("--targets", type=Path, default=None, metavar="FILE",
              help="published targets (YAML; default: the study's targets:, if any)")]),
    Command(
        "run", "run every stage the study needs, from where its data come in to its "
        "outputs",
        "Build the study's package into OUT. The stages follow from study.yaml (inputs: "
        "layer)\nand the spec folders the study has:\n"
        "  simulate   raw CRF extracts -> OUT/raw/<form>.csv (a simulated study, unless "
        "--raw)\n"
        "  check-raw  findings       -> OUT/reports/raw_findings.csv\n"
        "  sdtm       SDTM domains   -> OUT/sdtm/<domain>.xpt and .json, "
        "OUT/reports/reconciliation.csv\n"
        "  adam       ADaM datasets  -> OUT/adam/<dataset>.xpt and .json\n"
        "  validate   SDTM and ADaM  -> OUT/reports/validation.xlsx\n"
        "  define     define.xml 2.1 -> OUT/define/define-sdtm.xml, define-adam.xml\n"
        "  tlf        ARD and outputs -> OUT/tlf/ard.csv, index.csv (and reproduction.xlsx "
        "when\n             the study declares published targets)\n"
        "A study that starts from SDTM begins at adam; one that starts from ADaM runs tlf "
        "only.\nEvery stage is built in OUT/.staging and moved into OUT only when all have "
        "run.\nA stage whose code, specs, inputs and options are unchanged since the last "
        "run into OUT\nis not run again: its outputs are taken over (--force runs all).",
        [_opt("--raw", type=Path, metavar="DIR",
              help="use the raw extracts in DIR instead of the study's (or simulating)"),
         _opt("--out", type=Path, default=Path("build"), metavar="DIR",
              help="build directory (default: build)"),
         _opt("--force", action="store_true",
              help="run every stage, even those whose code, specs, inputs and options "
                   "are unchanged since the last run into OUT")]),
    Command(
        "schema", "write the JSON Schema of every kind of spec, for editors",
        "Write the spec contract as JSON Schema (draft 2020-12), one file per kind of spec:"
        "\nstudy, form (raw/), codelist (ct/), dictionary, dataset (sdtm/, adam/ with every "
        "ADaM\nverb and its parameters) and output (tlf/). A spec whose first line is\n"
        "  # yaml-language-server: $schema=<path to the kind's schema>\nis then checked by "
        "an editor with a YAML language server as it is typed, with the\nrules trialflow "
        "applies when it runs.",
        [_opt("--out", type=Path, default=None, metavar="DIR",
              help="where to write them (default: the package's trialflow/schemas)")],
        study=False),
    Command(
        "compare", "compare a dataset with its QC (double programming), like PROC COMPARE",
        "Compare BASE with QC (.xpt, Dataset-JSON .json or .csv, by extension), matching "
        "records by\n--keys: dataset label; variables in one only; type, length and label; "
        "records in one\nonly; duplicate keys; values per variable (missing equals missing; "
        "numbers within\n|base - qc| <= ABS + REL * |base|). Prints a summary and writes an "
        "XLSX report\n(sheets summary, attributes, observations, values).",
        [_opt("base", type=Path, metavar="BASE", help="the base (production) dataset"),
         _opt("qc", type=Path, metavar="QC", help="the QC (compare) dataset"),
         _opt("--keys", required=True, metavar="VAR[,VAR...]",
              help="key variables that match records, e.g. USUBJID,PARAMCD"),
         _opt("--abs-tol", type=_tolerance, default=0.0, metavar="ABS",
              help="absolute tolerance for numbers (default 0: exact)"),
         _opt("--rel-tol", type=_tolerance, default=0.0, metavar="REL",
              help="tolerance relative to the base value (default 0)"),
         _opt("--types", type=_types, default=None, metavar="VAR=Num|Char[,...]",
              help="how to read CSV columns (a CSV column is text unless the other "
                   "dataset holds it as a number or both write it as numbers), e.g. "
                   "AVAL=Num,SUBJID=Char"),
         _opt("--max-rows", type=_positive_int, default=10, metavar="N",
              help="differing records listed per variable (default 10)"),
         _opt("--report", type=Path, metavar="PATH",
              help="XLSX report (default: build/reports/compare_<base>.xlsx)")],
        study=False,
        epilog="exit status:\n  0    the datasets are equal\n  1    they differ\n"
               "  2    usage error, or a file that cannot be read (one line says which)\n"),
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of :data:`COMMANDS` (exposed for documentation and tests)."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="trialflow", formatter_class=fmt,
        description="trialflow turns the data of a clinical trial into CDISC SDTM, ADaM "
                    "and tables.\nA study is a folder: study.yaml and the specs of each "
                    "layer. It checks the raw\nextracts, maps them to SDTM, derives ADaM, "
                    "validates both, describes them in define.xml\nand renders the tables, "
                    "listings and figures. Paths are relative to the current\ndirectory.",
        epilog="Start with:  trialflow init mystudy && trialflow run --study mystudy\n"
               "The bundled example:  trialflow run   (PRECIOUS, simulated, into build/)\n"
               "Help on one command:  trialflow <command> --help\n\n" + EXIT_CODES)
    parser.add_argument("--version", action="version", version=f"trialflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for command in COMMANDS:
        p = sub.add_parser(command.name, formatter_class=fmt, help=command.help,
                           description=command.description, epilog=command.epilog)
        for flags, kwargs in command.options:
            p.add_argument(*flags, **kwargs)
        loud = p.add_mutually_exclusive_group()
        loud.add_argument("-q", "--quiet", action="store_true",
                          help="show errors and the final line only")
        loud.add_argument("-v", "--verbose", action="store_true",
                          help="show more (every dataset and its records)")
        if command.study:
            p.add_argument("--study", type=Path, metavar="DIR", help=_STUDY_HELP)
    return parser
