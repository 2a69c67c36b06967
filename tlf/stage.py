"""The TLF stage: ADaM -> analysis results data (ARD) -> tables, listings and figures.

:func:`build` reads the study's analyses (``tlf/analyses/``) and outputs (``tlf/*.yaml``),
checks them against each other, reads the ADaM they need, computes every number once
into ``ard.csv``, renders every output from it and lists them in ``index.csv``. Every
number an output prints is traced to its ARD row in ``trace.csv`` (and the ARD's
``output_id`` says which outputs print each row); ``ars.json`` is the same analyses and
results as a CDISC ARS v1.0 reporting event. When the study declares published targets
(``targets:`` in study.yaml), it also compares each published number with the ARD
(``reproduction.xlsx``, by the map ``tlf/reproduction/map.yaml``) and prints the score.
The command line (``trialflow tlf``) and a notebook call it alike.

Example
-------
>>> from trialflow.study import find_study, open_study
>>> result = build(open_study(find_study(None)), Path("build/adam"), Path("build/tlf"))
...     # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from tlf.analyses.tte import missing_strata_findings
from tlf.ard import build_ard, read_adam, read_ard, with_outputs, write_ard
from tlf.ars import write_ars
from tlf.build import build_outputs, index_frame, trace_frame
from tlf.documents import Documents
from tlf.outputs import check_outputs
from tlf.page import page_style
from tlf.reproduction import MAP_FILE, console_summary, load_map, load_targets, reproduce
from tlf.spec import ANALYSES_FOLDER, AnalysisPlan, load_analyses, load_output_specs
from trialflow.console import say
from trialflow.findings import Finding
from trialflow.io import write_csv_atomic
from trialflow.pipeline import StageResult
from trialflow.stages import SHOW_FINDINGS
from trialflow.study import StudyFolder
from trialflow.xlsxreport import write_frame_xlsx

__all__ = ["ARD", "ARS", "REPRODUCTION", "TLF_INDEX", "TRACE", "build", "plan_of"]

ARD = "ard.csv"
ARS = "ars.json"
REPRODUCTION = "reproduction.xlsx"
TLF_INDEX = "index.csv"
TRACE = "trace.csv"


def plan_of(study: StudyFolder) -> AnalysisPlan:
    """The study's analysis plan (``tlf/analyses/*.yaml``), checked.

    Raises
    ------
    SpecError
        A spec is invalid (see :func:`tlf.spec.load_analyses`).
    """
    folder = study.specs_of("tlf") / ANALYSES_FOLDER
    return load_analyses(folder)


def _formatted(trace: pd.DataFrame) -> dict[int, str]:
    """The first printed text of each traced ARD row, by row position."""
    printed = trace[trace["ard_row"] != ""].drop_duplicates("ard_row")
    return dict(zip(printed["ard_row"].astype(int) - 1, printed["text"].astype(str),
                    strict=True))


def build(study: StudyFolder, adam_dir: Path, out: Path,
          targets: Path | None = None) -> StageResult:
    """Compute the ARD from the ADaM in ``adam_dir`` and render the study's outputs.

    Parameters
    ----------
    study : StudyFolder
    adam_dir, out : Path
    targets : Path, optional
        Published targets to compare with; default the study's ``targets:`` (none when
        it declares none).
    """
    # The specs and targets are read before anything is written: a broken file leaves
    # no half-written TLF output.
    plan = plan_of(study)
    specs = check_outputs(load_output_specs(study.specs_of("tlf")), plan)
    target_file = targets if targets is not None else study.study.targets
    published = mapping = None
    if target_file is not None:
        published = load_targets(target_file)
        mapping = load_map(study.root / MAP_FILE)
    listed = {str(s.parameters.get(k)) for s in specs for k in ("dataset",)
              if s.layout == "listing"}
    listed |= {str(m["dataset"]) for s in specs if s.layout == "listing"
               for m in s.parameters.get("merge", [])}
    adam = read_adam(adam_dir, plan.datasets() | listed)
    # Layouts read the ARD back from its file, so a table shows exactly what ard.csv
    # holds.
    write_ard(build_ard(plan, study.study, adam), out / ARD)
    ard = read_ard(out / ARD)
    documents = Documents(page_style(study.study))
    built = build_outputs(specs, ard, adam, out, plan, study.study, documents=documents)
    trace = trace_frame(built)
    # Each ARD row names the outputs that print it (the trace): same values, rewritten.
    printed = trace[trace["ard_row"] != ""]
    shown = printed.groupby(printed["ard_row"].astype(int) - 1)["output_id"].agg(list)
    ard = with_outputs(ard, shown.to_dict())
    outputs = [write_ard(ard, out / ARD), write_csv_atomic(trace, out / TRACE),
               write_ars(plan, study.study, specs, ard, out / ARS,
                         formatted=_formatted(trace))]
    printed_rows = int((ard["output_id"] != "").sum())
    say(f"  wrote {len(ard)} analysis results to {out / ARD} ({printed_rows} printed by an "
        f"output; each printed number traced in {out / TRACE})")
    # An estimate the data cannot give prints as NE; say which, so NE is never a silent
    # surprise.
    not_computed = [
        Finding(b.spec.name, None, row["stat_name"], row["variable_level"] or None,
                "ard_not_computed",
                f"{b.spec.kind} {b.spec.number} prints NE: the ARD has no {row['stat_name']} "
                f"of {row['analysis_id']} / {row['group1_level']} / {row['variable']}",
                severity="warning")
        for b in built for row in b.missing]
    # Records left out of a stratified analysis for a missing stratum (as SAS does).
    not_computed += missing_strata_findings(ard)
    for f in not_computed[:SHOW_FINDINGS]:
        say(f"warning: {f.message}")
    index = write_csv_atomic(index_frame(built, out), out / TLF_INDEX)
    outputs += [f for b in built for f in b.files] + [index]
    kinds = Counter(b.spec.kind for b in built)
    say(f"  wrote {len(built)} outputs ({', '.join(f'{n} {k}s' for k, n in kinds.items())})"
        f" to {out}/: DOCX and RTF for each, XLSX for tables and listings, PNG and SVG for "
        f"figures; contents in {out / TLF_INDEX}")
    book = documents.write_book(out, pdf=study.study.output.book_pdf)
    outputs += book
    say(f"  wrote the TLF book: {', '.join(str(b) for b in book)}")
    if published is not None and mapping is not None:
        report = reproduce(ard, published, mapping)
        # A report with its title, widths, frozen header and filters (trialflow/xlsxreport.py).
        outputs.append(write_frame_xlsx(
            report, out / REPRODUCTION, "reproduction",
            f"{study.study.id}: reproduction of the published results",
            notes=[f"Published targets: {Path(target_file).name}. A blank computed value "
                   "was not estimable."]))
        print(console_summary(report))
        say(f"  wrote {len(report)} comparisons to {out / REPRODUCTION}")
    return StageResult(rows=len(ard), findings=not_computed, outputs=outputs)
