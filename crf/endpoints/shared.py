"""What the efficacy end-points share: outcome codes, the PFS and OS states and the
coarse-to-fine stages of a calibration.

Times are study days (randomisation = day 1), so an event on day ``t`` gives the
analysis value AVAL = t. The generator works per arm from visit-aware processes:

* RECIST progression is found at a tumour assessment (its nominal day plus the
  patient's window jitter); clinical progression and death fall between visits;
* best overall response constrains the timing: a patient whose best response is PD
  progresses at the first assessment; SD needs a first assessment at or after the SD
  minimum; a responder responds at the first or second assessment and progresses later;
  "missing" means no post-baseline assessment at all;
* nothing happens after the patient's data cut-off day ``F`` (cut-off - randomisation + 1);
* death follows progression (or is the PFS event itself) and precedes the cut-off;
  patients alive at the cut-off were last contacted in its last two months, except a
  few lost to follow-up;
* deterioration of quality of life is found at a questionnaire visit.

One module per end-point draws its outcomes and calibrates them (:mod:`crf.endpoints.pfs`,
:mod:`crf.endpoints.os`, :mod:`crf.endpoints.ttd`) with the search of
:mod:`crf.calibrate`, evaluating only the statistics a move can change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crf.calibrate import Problem, StageReport, search

RECIST, CLIN, DEATH, CENS = "RECIST", "CLIN", "DEATH", "CENS"
WINDOW = 7

# integer codes the search works with (string labels in and out)
KINDS = (RECIST, CLIN, DEATH, CENS)
K_RECIST, K_CLIN, K_DEATH, K_CENS = range(4)
BORS = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING")
B_CR, B_PR, B_SD, B_NN, B_PD, B_NE, B_MISSING = range(7)


@dataclass
class PfsState:
    """Mutable per-patient PFS description used by the calibration."""

    kind: np.ndarray        # RECIST / CLIN / DEATH / CENS
    visit: np.ndarray       # assessment index of the event or censoring (RECIST, CENS)
    day: np.ndarray         # study day of event / censoring
    resp_visit: np.ndarray  # first response assessment index, -1 if not a responder
    resp_day: np.ndarray
    jitter: np.ndarray      # (n, visits) window jitter per assessment


@dataclass
class OsState:
    """Overall survival per ITT patient."""

    death: np.ndarray       # died before the cut-off
    day: np.ndarray         # study day of death, or of the last contact when alive
    lost: np.ndarray        # lost to follow-up (last contact well before the cut-off)


# Coarse-to-fine: (widening of the rounding windows of the Cox/log-rank targets, extra
# widening of the hazard ratios and their limits). While the hazard ratios are loose, the
# se guidance (see ``se_window``) steers the standard errors — which need the right
# *structure* of the data (who is at risk when) and move slowly — before the ratios are
# pulled in. The final level is the printed precision.
CONTINUATION = ((10.0, 20.0), (3.0, 20.0), (3.0, 5.0), (1.0, 5.0), (1.0, 2.0), (1.0, 1.0))


def coarse_to_fine(prob: Problem, rng: np.random.Generator, name: str,
                   widen_keys: list[str], hr_keys: list[str], budget: int,
                   reports: list[dict], patience: int, t_walk: float,
                   held: dict[str, float] | None = None) -> int:
    """Search from coarse to printed precision; at printed precision, walk.

    Each level ends at loss 0 or after ``patience`` steps without a better state. The
    last level walks at a constant temperature, which keeps the search moving near the
    targets: a printed precision of three decimals on a hazard ratio from 35 patients is
    a needle that single moves overshoot, so exact hits come from visiting many nearby
    configurations. ``held`` targets keep a fixed widening throughout (a later stage
    meets them). Returns the steps used.
    """
    used = 0
    for widen, loose in CONTINUATION:
        factors = {k: widen for k in widen_keys}
        factors.update({k: widen * loose for k in hr_keys})
        factors.update(held or {})
        prob.set_widen(widen, factors)
        if prob.loss == 0 or used >= budget:
            continue
        last = widen == 1.0 and loose == 1.0
        used += run_stage(prob, rng, f"{name}.w{widen:g}.l{loose:g}", budget - used, reports,
                          t_start=t_walk if last else 0.3, t_end=t_walk if last else 0.05,
                          patience=None if last else patience).steps
    return used


def run_stage(prob: Problem, rng: np.random.Generator, name: str, steps: int,
              reports: list[dict], **kw: float) -> StageReport:
    """One search stage, its report (with the active targets still missed) appended."""
    rep = search(prob, rng, steps, name=name, **kw)
    d = rep.as_dict()
    d["misses"] = prob.active_misses()
    reports.append(d)
    return rep
