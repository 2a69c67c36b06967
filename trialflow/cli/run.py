"""``trialflow run``: the stages a study needs, built in a staging folder and moved into
place only when every stage has run.

Which stages run follows from the study (:meth:`~trialflow.study.StudyFolder.layers`):
where its data come in (``inputs.layer`` in study.yaml) and the spec folders it has. A
study that starts from raw data is simulated (when it declares a simulation and no raw
data are given), checked and mapped to SDTM; one that starts from SDTM begins at ADaM;
one that starts from ADaM renders its outputs only. Validation and define.xml follow
the datasets built.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from trialflow.console import show_paths_as
from trialflow.errors import TrialflowError
from trialflow.io import promote_staged, recover_promotion
from trialflow.lock import RunLock
from trialflow.pipeline import EXIT_FATAL, Reuse, Stage, run_stages
from trialflow.spec import InputSource
from trialflow.study import StudyFolder, find_study, open_study

__all__ = ["RUN_LOG", "STAGING", "plan", "run"]

#: Where `trialflow run` builds before moving the parts into OUT.
STAGING = ".staging"
RUN_LOG = "run.log"


def _inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def plan(study: StudyFolder, root: Path, raw: Path | None = None) -> list[Stage]:
    """The stages of a run of ``study`` that builds into ``root``.

    Parameters
    ----------
    study : StudyFolder
    root : Path
        The staging folder (``OUT/.staging``).
    raw : Path, optional
        Raw extracts to use instead of the study's own (or of simulating them).

    Raises
    ------
    TrialflowError
        A study that starts from raw data has none (no sources, no simulation, no
        ``--raw``).
    """
    from trialflow.stages import RAW_FINDINGS, check_raw, validate, write_defines

    layers = study.layers()
    entry = study.study.inputs.layer
    folder, card = study.root, study.root / "study.yaml"

    def specs(*names: str) -> tuple[Path, ...]:
        """The study's spec folders a stage reads (its fingerprint), and study.yaml."""
        return (card, *(folder / n for n in names))

    sources = list(study.study.inputs.sources)
    reports = root / "reports"
    stages: list[Stage] = []
    validated: list[Path | list[InputSource]] = []
    sdtm_dir: Path | None = None
    adam_in: Path | list[InputSource] | None = None
    if entry == "raw":
        raw_dir = raw if raw is not None else (sources[0].path if sources else None)
        if raw_dir is None:
            if study.study.simulation is None:
                raise TrialflowError(f"{study.root}: the study starts from raw data but "
                                     "names none (inputs.sources in study.yaml) and is not "
                                     "simulated — give them with --raw DIR")
            from crf.stage import simulate

            raw_dir = root / "raw"
            sim = study.study
            stages.append(Stage("simulate", lambda: simulate(study, raw_dir),
                                reads=(*specs("raw"), *([sim.simulation] if sim.simulation
                                                         else [])),
                                options={"subjects": sim.subjects, "seed": sim.seed}))
        stages.append(Stage("check-raw", lambda: check_raw(
            study, raw_dir, reports / RAW_FINDINGS), inputs=(raw_dir,),
            reads=specs("raw", "ct")))
        if "sdtm" in layers:
            from sdtm.stage import build as build_sdtm

            sdtm_dir = root / "sdtm"
            stages.append(Stage("sdtm", lambda: build_sdtm(study, raw_dir, sdtm_dir, reports),
                                inputs=(raw_dir,),
                                reads=specs("raw", "sdtm", "ct", "dictionary")))
            validated.append(sdtm_dir)
            adam_in = sdtm_dir
    elif entry == "sdtm":
        validated.append(sources)
        adam_in = sources
    adam_dir: Path | None = None
    if "adam" in layers:
        from adam.stage import build as build_adam

        adam_dir = root / "adam"
        given = adam_in
        stages.append(Stage("adam", lambda: build_adam(study, given, adam_dir, reports),
                            inputs=tuple(s.path for s in given) if isinstance(given, list)
                            else (given,), reads=specs("adam", "sdtm", "ct", "instruments")))
        validated.append(adam_dir)
    elif entry == "adam":
        adam_dir = sources[0].path
    if validated:
        stages.append(Stage("validate", lambda: validate(study, validated, reports),
                            inputs=tuple(p for v in validated for p in (
                                [v] if isinstance(v, Path) else [s.path for s in v])),
                            reads=specs("sdtm", "adam", "ct")))
    if (sdtm_dir is not None and study.has("sdtm")) or (
            "adam" in layers and study.has("adam")):
        stages.append(Stage("define", lambda: write_defines(
            study, sdtm_dir, adam_dir if "adam" in layers else None, root / "define"),
            inputs=tuple(p for p in (sdtm_dir, adam_dir) if p is not None),
            reads=specs("sdtm", "adam", "ct")))
    if "tlf" in layers:
        from tlf.stage import build as build_tlf

        tlf_in = adam_dir
        targets = study.study.targets
        stages.append(Stage("tlf", lambda: build_tlf(study, tlf_in, root / "tlf"),
                            inputs=(tlf_in,),
                            reads=(*specs("tlf"), *([targets] if targets else []))))
    return stages


def run(args: argparse.Namespace) -> int:
    """Build the study's package into ``args.out`` (see the module doc)."""
    study = open_study(find_study(getattr(args, "study", None)))
    out: Path = args.out
    # Every stage writes under OUT/.staging; the parts move into OUT only when all have
    # run, so a killed or failed run leaves the previous package as it was.
    root = out / STAGING
    inputs = [args.raw] if args.raw is not None else []
    inputs += [s.path for s in study.study.inputs.sources]
    for path in inputs:
        if _inside(path, out):
            raise TrialflowError(f"{path}: the input lies inside the output folder {out}, "
                                 "which the run replaces — move it out or build elsewhere "
                                 "(--out DIR)")
    with RunLock(out):
        return _build(study, out, root, args.raw, getattr(args, "force", False))


def _build(study: StudyFolder, out: Path, root: Path, raw: Path | None,
           force: bool = False) -> int:
    """The run itself, holding the folder's lock."""
    repaired = recover_promotion(root, out)
    if repaired:
        print(f"trialflow: finished moving the package of an interrupted run into {out} "
              f"({', '.join(p.name + '/' for p in repaired)})", file=sys.stderr)
    if root.exists():
        shutil.rmtree(root)  # what a killed run left behind
    stages = plan(study, root, raw)
    reports = root / "reports"
    # A stage whose code, specs, inputs and options are those of the previous package's
    # run is not run again: its outputs are taken over (trialflow.reuse).
    reuse = Reuse(package=out, root=root, roots=(root, study.root), force=force)
    facts = {"study": f"{study.study.id} ({study.root})",
             "inputs": study.study.inputs.layer + "".join(
                 f" {s.path}" for s in study.study.inputs.sources)}
    if study.study.simulation is not None and raw is None:
        facts.update({"seed": study.study.seed, "subjects": study.study.subjects})
    # Lines name files where they will be once the run has moved them into place.
    show_paths_as(root, out)
    try:
        code = run_stages(stages, log=reports / RUN_LOG, relative_to=root, reuse=reuse,
                          provenance=facts)
    finally:
        show_paths_as(None)
    if code == EXIT_FATAL:
        print(f"trialflow: the package in {out} was left as it was; the partial run is in "
              f"{root} (its log: {reports / RUN_LOG})", file=sys.stderr)
        return code
    parts = promote_staged(root, out)
    print(f"package of {study.study.id} in {out}/: {', '.join(p.name + '/' for p in parts)}"
          + (f"; TLF outputs listed in {out / 'tlf' / 'index.csv'}"
             if (out / "tlf" / "index.csv").is_file() and "tlf" in study.layers() else "")
          + f"; run log {out / 'reports' / RUN_LOG}", file=sys.stderr)
    return code
