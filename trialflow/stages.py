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
from trialflow.errors import InputError, SpecError, TrialflowError
from trialflow.findings import Finding, findings_frame
from trialflow.io import write_csv_atomic
from trialflow.pipeline import StageResult
from trialflow.rawdata import read_forms
from trialflow.safetext import console_text
from trialflow.spec import InputSource
from trialflow.study import StudyFolder, require_folder

__all__ = ["ACRF", "DEFINE_ADAM", "DEFINE_SDTM", "RAW_FINDINGS", "SHOW_FINDINGS", "VALIDATION",
           "check_raw", "print_findings", "validate", "write_defines"]

RAW_FINDINGS = "raw_findings.csv"
VALIDATION = "validation.xlsx"
DEFINE_SDTM = "define-sdtm.xml"
DEFINE_ADAM = "define-adam.xml"
#: The annotated CRF, written beside define-sdtm.xml for a study that maps raw forms.
ACRF = "acrf.pdf"
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
             reports: Path, spec_dirs: Sequence[Path] | None = None,
             cdisc_library: Path | None = None, core: bool = False,
             define: Path | None = None) -> StageResult:
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
    cdisc_library : Path, optional
        The CDISC library folder (:func:`trialflow.cdisc.find_library`); when one is
        found, the CDISC conformance checks (:mod:`trialflow.conformance`) run too.
    core : bool
        Also run CDISC CORE on the first group (the SDTM) with ``define`` and fold its
        findings in (:mod:`trialflow.core`).
    define : Path, optional
        The define.xml CORE reads with the SDTM.
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
    for spec_group in groups:
        for name, spec in spec_group.items():
            if name in specs:  # one dataset, one spec: never a silent override
                raise SpecError(spec.file, f"dataset {name} is also defined in "
                                f"{specs[name].file}; one dataset, one spec file", name)
            specs[name] = spec
    codelists = study.codelists()
    checker, found = _conformance(study, cdisc_library, codelists)
    summaries = []
    groups = list(data)
    for group in groups:
        if not isinstance(group, (str, Path)):
            files = list(dataset_files(group).values())
            f, summary = validate_files(files, specs, codelists, study.study.id, checker)
        else:
            f, summary = validate_directory(group, specs, codelists, study.study.id,
                                            checker)
        found += f
        summaries.append(summary)
    if core and groups:
        from trialflow.core import core_findings

        first = groups[0]
        folder = first if isinstance(first, (str, Path)) else Path(first[0].path)
        found += core_findings(study, Path(folder), define, reports / "core")
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


def _conformance(study: StudyFolder, given: Path | None, codelists
                 ) -> tuple[object | None, list]:
    """The CDISC conformance checker of a study and the findings on its codelists, or
    (None, []) with a note when no CDISC library folder is found."""
    from trialflow.cdisc import Library, find_library
    from trialflow.conformance import Conformance, spec_codelist_findings

    folder = find_library(given, study.study.standards.library)
    if folder is None:
        say("  note: no CDISC library folder (--cdisc-library DIR or TRIALFLOW_CDISC_LIBRARY):"
             " the CDISC terminology and IG checks are skipped")
        return None, []
    library = Library(folder)
    versions = study.study.standards
    sdtm_ct = library.terminology("SDTM", versions.ct_version("SDTM"))
    adam_ct = library.terminology("ADaM", versions.ct_version("ADaM"))
    say(f"  CDISC library {folder}: {sdtm_ct.name}, {adam_ct.name}, SDTMIG 3.4, ADaMIG 1.3")
    return (Conformance(library, sdtm_ct, adam_ct, codelists),
            spec_codelist_findings(codelists, sdtm_ct, adam_ct))


def write_defines(study: StudyFolder, sdtm_dir: Path | None, adam_dir: Path | None,
                  out: Path) -> StageResult:
    """Write Define-XML 2.1 for the SDTM and the ADaM the study has specs for, and check
    each against the schema (schema errors are findings).

    A study whose SDTM is mapped from raw forms also gets its annotated CRF
    (``acrf.pdf``, :mod:`trialflow.acrf`), which define-sdtm.xml links to.
    """
    from trialflow.acrf import annotations, write_acrf
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
    from trialflow.define import _dataset_path

    # Every dataset described must be there before anything is written.
    for layer, data, _ in jobs:
        if not Path(data).is_dir():
            raise InputError(str(data), "dataset directory not found",
                             fix="build the datasets first (trialflow run)")
        for spec in study.dataset_specs(layer).values():
            _dataset_path(spec, Path(data))
    acrf = None
    paths, findings = [], []
    if any(layer == "sdtm" for layer, _, _ in jobs) and study.study.inputs.layer == "raw" \
            and study.has("raw"):
        specs = study.dataset_specs("sdtm")
        notes = annotations(specs, study.forms(), codelists)
        acrf = write_acrf(study.forms(), notes, out / ACRF, study.study.id,
                          {name: spec.label for name, spec in specs.items()})
        paths.append(acrf.path)
        say(f"  wrote {acrf.path} ({sum(len(p) for p in acrf.form_pages.values())} pages, "
            f"{len(notes)} annotations)")
    # Both documents are built before either is written: a missing dataset leaves no
    # half-written pair.
    trees = [(build_define(study.dataset_specs(layer), data, codelists=codelists,
                           study=study.study, acrf=acrf if layer == "sdtm" else None), path)
             for layer, data, path in jobs]
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
