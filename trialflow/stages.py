"""The core's stages: check the raw extracts, validate datasets, write define.xml.

Each function loads what it needs of the study, does the work, writes its files and
reports (progress on stderr, findings on stdout), and returns a
:class:`~trialflow.pipeline.StageResult`: the command line and a notebook call them
alike. The stages of the layers are in ``crf/stage.py`` (simulate), ``sdtm/stage.py``,
``adam/stage.py`` and ``tlf/stage.py``.

Example
-------
>>> study = open_study(find_study(None))  # doctest: +SKIP
>>> check_raw(study, Path("build/raw"), Path("build/reports/raw_findings.csv"))
...     # doctest: +SKIP
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from trialflow.console import NORMAL, say, verbosity
from trialflow.datasets import dataset_files
from trialflow.errors import SpecError, TrialflowError
from trialflow.findings import Finding, findings_frame
from trialflow.io import write_csv_atomic
from trialflow.pipeline import StageResult
from trialflow.rawdata import read_forms
from trialflow.safetext import console_text
from trialflow.spec import InputSource
from trialflow.study import StudyFolder, require_folder

__all__ = ["DEFINE_ADAM", "DEFINE_SDTM", "RAW_FINDINGS", "SHOW_FINDINGS", "VALIDATION",
           "check_raw", "print_findings", "validate", "write_defines"]

RAW_FINDINGS = "raw_findings.csv"
VALIDATION = "validation.xlsx"
DEFINE_SDTM = "define-sdtm.xml"
DEFINE_ADAM = "define-adam.xml"
#: Findings printed to the terminal; the report file always has all of them.
SHOW_FINDINGS = 50


def print_findings(findings: Sequence[Finding], report: Path | None,
                   stream: TextIO | None = None) -> None:
    """List findings on stdout (a command's product); progress stays on stderr."""
    out = stream if stream is not None else sys.stdout
    for f in findings[:SHOW_FINDINGS]:
        # Third-party names and values may carry terminal escape codes: shown escaped.
        where = console_text(f.source) + (f" row {f.row}" if f.row is not None else "")
        print(f"{f.severity}: {where} {console_text(f.variable)}={f.value!r} [{f.rule}] "
              f"{console_text(f.message)}", file=out)
    if len(findings) > SHOW_FINDINGS:
        rest = f"; all are in {report}" if report else ""
        print(f"... and {len(findings) - SHOW_FINDINGS} more findings{rest}", file=out)


def check_raw(study: StudyFolder, raw_dir: Path, report: Path | None) -> StageResult:
    """Check the raw extracts in ``raw_dir`` against the study's raw-form specs.

    Writes ``report`` (CSV, one row per finding) unless it is None.

    Raises
    ------
    InputError
        The raw folder is missing or holds no CSV file, or a file cannot be read as
        its form.
    """
    require_folder(raw_dir, "raw data", ("*.csv", "*.xpt", "*.sas7bdat"),
                   fix="simulate them (trialflow simulate) or pass --raw DIR")
    _, findings = read_forms(raw_dir, study.forms(), study.codelists(), study.study)
    print_findings(findings, report)
    if report is None:
        return StageResult(findings=findings)
    write_csv_atomic(findings_frame(findings), report)
    say(f"  wrote {len(findings)} findings to {report}")
    return StageResult(rows=len(findings), findings=findings, outputs=[report])


def validate(study: StudyFolder, data: Iterable[Path | Sequence[InputSource]],
             reports: Path, spec_dirs: Sequence[Path] | None = None) -> StageResult:
    """Check datasets against their specs and CDISC basics; write ``validation.xlsx``.

    Parameters
    ----------
    study : StudyFolder
    data : iterable of folders (their ``*.xpt``) or of input-source lists
        The datasets, group by group (SDTM, then ADaM); a study's declared inputs may
        be of any format :mod:`trialflow.datasets` reads.
    reports : Path
        Where ``validation.xlsx`` is written.
    spec_dirs : sequence of Path, optional
        Folders of dataset specs (default: the study's ``sdtm/`` and ``adam/`` that
        exist).
    """
    import pandas as pd

    from trialflow.spec import load_dataset_specs
    from trialflow.validate import console_summary, validate_directory, validate_files, write_report

    specs: dict = {}
    groups = ([study.optional_dataset_specs(layer) for layer in ("sdtm", "adam")]
              if spec_dirs is None else [])
    for folder in spec_dirs or []:
        if not Path(folder).is_dir():
            raise TrialflowError(f"{folder}: spec directory not found — pass --specs "
                                 "DIR (default: the study's sdtm/ and adam/ specs)")
        groups.append(load_dataset_specs(folder))
    for group in groups:
        for name, spec in group.items():
            if name in specs:  # one dataset, one spec: never a silent override
                raise SpecError(spec.file, f"dataset {name} is also defined in "
                                f"{specs[name].file}; one dataset, one spec file", name)
            specs[name] = spec
    codelists = study.codelists()
    found, summaries = [], []
    for group in data:
        if not isinstance(group, (str, Path)):
            files = list(dataset_files(group).values())
            f, summary = validate_files(files, specs, codelists, study.study.id)
        else:
            f, summary = validate_directory(group, specs, codelists, study.study.id)
        found += f
        summaries.append(summary)
    summary = pd.concat(summaries, ignore_index=True)
    path = write_report(found, summary, reports / VALIDATION)
    if verbosity() >= NORMAL:
        print(console_summary(found, summary))
    say(f"  wrote {len(found)} findings to {path}")
    # Validation findings carry counts; the stage reports one Finding per rule hit so
    # that the exit code follows the errors.
    as_findings = [Finding(f.dataset, None, f.variable, f.examples, f.rule, f.message,
                           "error" if f.severity == "error" else "warning") for f in found]
    return StageResult(rows=int(summary["records"].sum()), findings=as_findings,
                       outputs=[path])


def write_defines(study: StudyFolder, sdtm_dir: Path | None, adam_dir: Path | None,
                  out: Path) -> StageResult:
    """Write Define-XML 2.1 for the SDTM and the ADaM the study has specs for, and check
    each against the schema (schema errors are findings)."""
    from trialflow.define import build_define, validate_define, write_define
    from trialflow.define_html import add_stylesheet, render_html

    codelists = study.codelists()
    jobs = [(layer, data, out / name)
            for layer, data, name in (("sdtm", sdtm_dir, DEFINE_SDTM),
                                      ("adam", adam_dir, DEFINE_ADAM))
            if data is not None and study.has(layer)]
    if not jobs:
        raise TrialflowError(f"{study.root}: nothing to describe — define.xml needs the "
                             "sdtm/ or adam/ specs of the datasets and the datasets")
    # Both documents are built before either is written: a missing dataset leaves no
    # half-written pair.
    trees = [(build_define(study.dataset_specs(layer), data, codelists=codelists,
                           study=study.study), path) for layer, data, path in jobs]
    paths, findings = [], []
    for tree, path in trees:
        paths.append(write_define(add_stylesheet(tree), path))
        errors = validate_define(path)
        # A browser shows it through the stylesheet; define-*.html for one that will not.
        paths += render_html(path)
        findings += [Finding(path.name, None, None, None, "define-xsd", message)
                     for message in errors]
        groups = len(tree.findall(".//{*}ItemGroupDef"))
        items = len(tree.findall(".//{*}ItemDef"))
        say(f"  wrote {path} ({groups} datasets, {items} items; schema: "
             f"{'valid' if not errors else f'{len(errors)} errors'})")
    # Schema errors are printed as the validator words them (file:line: message).
    for f in findings[:SHOW_FINDINGS]:
        print(f"error: {f.message}")
    if len(findings) > SHOW_FINDINGS:
        print(f"... and {len(findings) - SHOW_FINDINGS} more schema errors")
    return StageResult(findings=findings, outputs=paths)
