"""The simulate stage: the raw CRF extracts of the study the simulator was written for.

trialflow's simulator (:mod:`crf.simulate`) makes the raw data of PRECIOUS, whose
patient data were never published: its settings are the study's ``simulation:`` file
and its forms the study's ``raw/`` specs. Another study brings its own raw data
(``inputs.sources`` in its study.yaml, or ``--raw DIR``).

Example
-------
>>> from trialflow.study import find_study, open_study
>>> result = simulate(open_study(find_study(None)), Path("build/raw"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from trialflow.console import say
from trialflow.errors import TrialflowError
from trialflow.pipeline import StageResult
from trialflow.spec import load_study
from trialflow.study import StudyFolder

__all__ = ["simulate"]


def simulate(study: StudyFolder, out: Path, subjects: int | None = None,
             seed: int | None = None) -> StageResult:
    """Simulate the raw extracts into ``out`` (``subjects`` and ``seed`` default to the
    study's).

    Raises
    ------
    TrialflowError
        The study declares no simulation, is not the study the simulator was written
        for, or the margins cannot be placed in so few subjects.
    """
    from crf.simulate import simulate_study, write_raw

    if study.study.simulation is None:
        raise TrialflowError(f"{study.root}: the study declares no simulation (simulation: "
                             "in study.yaml) — give its raw data with inputs.sources or "
                             "--raw DIR")
    written_for = load_study()
    if study.study.id != written_for.id:
        raise TrialflowError(f"{study.root}: the simulator makes the raw data of "
                             f"{written_for.id} only, not of {study.study.id} — give the "
                             "study's raw data with inputs.sources or --raw DIR")
    subjects = subjects if subjects is not None else study.study.subjects
    seed = seed if seed is not None else study.study.seed
    try:
        forms = simulate_study(subjects=subjects, seed=seed)
    except (ValueError, RuntimeError) as exc:
        # The simulator gives up when the study's fixed margins (events, serious AEs, dose
        # reductions) cannot be placed in so few subjects with this seed.
        raise TrialflowError(f"cannot simulate {subjects} subjects with seed {seed}: {exc} "
                             "— simulate more subjects (at least 40 work) or try another "
                             "seed") from None
    paths = [Path(p) for p in write_raw(forms, out)]
    say(f"  wrote {len(paths)} raw forms for {subjects} subjects (seed {seed}) to {out}/")
    return StageResult(rows=sum(len(f) for f in forms.values()), outputs=paths)
