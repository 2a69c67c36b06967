"""The TLF stage: ADaM -> analysis results data (ARD) -> tables, listings and figures.

:func:`build` reads the ADaM, computes every displayed number once into ``ard.csv``,
renders every output spec of the study's ``tlf/`` folder from it and lists them in
``index.csv``. When the study declares published targets (``targets:`` in study.yaml),
it also compares each published number with the ARD (``reproduction.xlsx``) and prints
the score. The command line (``trialflow tlf``) and a notebook call it alike.

Example
-------
>>> from trialflow.study import find_study, open_study
>>> result = build(open_study(find_study(None)), Path("build/adam"), Path("build/tlf"))
...     # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tlf.analyses.tte import missing_strata_findings
from tlf.ard import build_ard, read_adam, read_ard, write_ard
from tlf.build import build_outputs, index_frame
from tlf.documents import Documents
from tlf.page import page_style
from tlf.reproduction import console_summary, load_targets, reproduce
from tlf.spec import load_output_specs
from trialflow.console import say
from trialflow.findings import Finding
from trialflow.io import write_csv_atomic
from trialflow.pipeline import StageResult
from trialflow.stages import SHOW_FINDINGS
from trialflow.study import StudyFolder
from trialflow.xlsxreport import write_frame_xlsx

__all__ = ["ARD", "REPRODUCTION", "TLF_INDEX", "build"]

ARD = "ard.csv"
REPRODUCTION = "reproduction.xlsx"
TLF_INDEX = "index.csv"


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
    specs = load_output_specs(study.specs_of("tlf"))
    target_file = targets if targets is not None else study.study.targets
    published = load_targets(target_file) if target_file is not None else None
    adam = read_adam(adam_dir)
    # Layouts read the ARD back from its file, so a table shows exactly what ard.csv
    # holds.
    outputs = [write_ard(build_ard(adam), out / ARD)]
    ard = read_ard(out / ARD)
    say(f"  wrote {len(ard)} analysis results to {out / ARD}")
    documents = Documents(page_style(study.study))
    built = build_outputs(specs, ard, adam, out, documents=documents)
    # An estimate the data cannot give prints as NE; say which, so NE is never a silent
    # surprise.
    not_computed = [
        Finding(b.spec.name, None, row["stat"], row["level"] or None, "ard_not_computed",
                f"{b.spec.kind} {b.spec.number} prints NE: the ARD has no {row['stat']} "
                f"of {row['analysis']} / {row['group']} / {row['variable']}",
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
    book = documents.write_book(out)
    outputs += book
    say(f"  wrote the TLF book: {', '.join(str(b) for b in book)}")
    if published is not None:
        report = reproduce(ard, published)
        # A report with its title, widths, frozen header and filters (trialflow/xlsxreport.py).
        outputs.append(write_frame_xlsx(
            report, out / REPRODUCTION, "reproduction",
            f"{study.study.id}: reproduction of the published results",
            notes=[f"Published targets: {Path(target_file).name}. A blank computed value "
                   "was not estimable."]))
        print(console_summary(report))
        say(f"  wrote {len(report)} comparisons to {out / REPRODUCTION}")
    return StageResult(rows=len(ard), findings=not_computed, outputs=outputs)
