"""Simulate the PRECIOUS study's raw CRF extracts, patient by patient.

The steps, each in its own module:

1. who the patients are, arm by arm, with exact published margins (:mod:`crf.population`);
2. randomisation by minimisation over the four stratification factors with a Mersenne
   Twister stream; for the published study, an enrolment order under which minimisation
   reproduces the arms (:mod:`crf.minimisation`); dates of enrolment;
3. efficacy: best response and PFS, calibrated (:mod:`crf.endpoints`); treatment cycles
   and stopping (:mod:`crf.treatment`); questionnaire visits and time to deterioration;
   survival;
4. safety: LVEF and adverse events (:mod:`crf.safety`);
5. the raw forms as an EDC exports them (:mod:`crf.forms`).

``simulate_study(219, seed)`` is the calibrated study; other sizes scale the margins
and skip the calibration search (it is defined by the published results). Same seed,
same size -> byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crf import config
from crf.allocate import choose, scale_counts
from crf.config import SimulationConfig
from crf.endpoints import os as os_endpoint
from crf.endpoints import pfs as pfs_endpoint
from crf.endpoints import ttd as ttd_endpoint
from crf.endpoints.shared import DEATH, PfsState
from crf.forms import render_forms
from crf.minimisation import enrolment_order, minimise
from crf.population import draw_arm, stratum_code
from crf.qol import load_instrument, questionnaires
from crf.safety import adverse_events, lvef
from crf.schedule import tumour_nominal_days
from crf.treatment import Treatment, draw_treatment, qol_visit_days
from crf.tumour import assessments
from trialflow.console import VERBOSE, done, progress, say
from trialflow.io import write_atomic, write_csv_atomic
from trialflow.spec import Study, load_forms, load_study

PUBLISHED_SIZE = 219
BOOLEAN = ("er_pos", "pgr_pos", "visceral", "met_lung", "met_liver", "met_brain", "met_bone",
           "met_ln", "met_other", "pert_short", "tdm1_any", "tdm1_latest", "lapatinib",
           "other_her2", "her2_ihc3", "itt")


@dataclass
class SimulatedStudy:
    """Patient-level truth of one simulated study, before it is written as forms."""

    study: Study
    cfg: SimulationConfig
    patients: pd.DataFrame          # every randomised patient
    itt: pd.DataFrame               # ITT patients (index = pid used below)
    bor: np.ndarray
    pfs: PfsState
    treatment: Treatment
    qol: pd.DataFrame
    ttd_index: np.ndarray
    ttd_event: np.ndarray
    os: Any
    lvef: pd.DataFrame
    ae: pd.DataFrame
    tumour: pd.DataFrame
    nominal: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)


def load_config(path: Path | None = None) -> SimulationConfig:
    """The simulation spec (specs/simulation.yaml), typed (see :mod:`crf.config`)."""
    return config.load_config(path)


def build_study(subjects: int, seed: int, cfg: SimulationConfig | None = None,
                calibration_steps: int = 250_000) -> SimulatedStudy:
    """Generate the patient-level truth of a study of ``subjects`` randomised patients."""
    study = load_study()
    cfg = cfg or load_config()
    if subjects < 20:
        raise ValueError("simulate at least 20 subjects")
    factor = subjects / PUBLISHED_SIZE
    calibrate = subjects == PUBLISHED_SIZE
    rng = np.random.default_rng(seed)
    arms = cfg.arms
    pop = cfg.populations

    _step(0, "baseline characteristics")
    # 1. patients per arm with exact margins (ITT), plus those outside ITT
    randomised = scale_counts(pop.randomised, factor)
    not_itt = [scale_counts([v], factor)[0] for v in pop.not_itt_withdrew_data_consent]
    parts = []
    for a, arm in enumerate(arms):
        n_itt = randomised[a] - not_itt[a]
        d = draw_arm(rng, cfg, a, n_itt, factor)
        d["itt"] = True
        if not_itt[a]:
            extra = draw_arm(rng, cfg, a, not_itt[a], not_itt[a] / 108)
            extra["itt"] = False
            d = pd.concat([d, extra], ignore_index=True)
        d["arm"] = arm
        d["chemo"] = _chemo(rng, cfg, a, len(d), factor)
        parts.append(d)
    pat = pd.concat(parts, ignore_index=True)
    flags = [c for c in pat.columns if c in BOOLEAN]
    pat[flags] = pat[flags].astype(bool)
    ints = ["age", "ecog", "nreg", "pert_line"]
    pat[ints] = pat[ints].astype(int)

    _step(1, "randomisation (minimisation)")
    # 2. randomisation and enrolment dates
    factors = np.column_stack([pat["er_pos"], pat["pert_short"], pat["nreg"] >= 3,
                               pat["visceral"]]).astype(int)
    arm_code = (pat["arm"] != arms[0]).to_numpy().astype(int)
    p_pref = cfg.minimisation.p_preferred
    if calibrate:
        order, mt_seed = enrolment_order(factors, arm_code, seed, p_pref)
    else:
        order, mt_seed = rng.permutation(len(pat)), seed
        allocated = minimise(factors[order], mt_seed, p_pref)
        arm_code = np.empty_like(arm_code)
        arm_code[order] = allocated
        pat["arm"] = np.array(arms, dtype=object)[arm_code]
    pat = pat.iloc[order].reset_index(drop=True)
    pat["randno"] = np.arange(1, len(pat) + 1)
    pat["randdt"] = _accrual(rng, cfg, len(pat))
    cutoff = np.datetime64(study.data_cutoff, "D")
    pat["F"] = (cutoff - pat["randdt"].to_numpy().astype("datetime64[D]")).astype(int) + 1
    pat["stratum"] = stratum_code(pat)
    n_sites = int(study.extra.get("sites", 93))
    pat["site"] = 101 + rng.integers(0, n_sites, len(pat))
    pat["subjid"] = _subject_numbers(rng, pat)

    # 3. ITT-level flags with exact counts
    itt = pat[pat["itt"]].reset_index(drop=True)
    n = len(itt)
    for col in ("measurable", "fas_violation", "untreated", "crossover"):
        itt[col] = False
    for a, arm in enumerate(arms):
        sel = (itt["arm"] == arm).to_numpy()
        k = {key: scale_counts([getattr(pop, key)[a]], factor)[0] for key in (
            "measurable", "eligibility_violation", "untreated", "crossover_to_pertuzumab")}
        itt.loc[choose(rng, sel, k["measurable"]), "measurable"] = True
        itt.loc[choose(rng, sel, k["eligibility_violation"]), "fas_violation"] = True
        unt = choose(rng, sel, k["untreated"])
        itt.loc[unt, "untreated"] = True
        itt.loc[choose(rng, sel & ~unt, k["crossover_to_pertuzumab"]), "crossover"] = True
    itt["treated"] = ~itt["untreated"]
    itt["safety"] = itt["treated"]
    for col, expr in (("age65", itt["age"] >= 65), ("ecog0", itt["ecog"] == 0),
                      ("nreg3", itt["nreg"] >= 3), ("pert_second", itt["pert_line"] == 2)):
        itt[col] = expr.to_numpy()

    _step(2, "best response and PFS", searched=calibrate)
    # 4. efficacy
    bor = pfs_endpoint.draw_best_response(rng, cfg, itt, factor)
    pfs = pfs_endpoint.draw_pfs(rng, cfg, itt, bor, factor)
    provenance: dict[str, Any] = {"subjects": subjects, "seed": seed, "mt_seed": int(mt_seed),
                                  "calibrated": calibrate}
    if calibrate:
        pfs, bor, rep = pfs_endpoint.calibrate_pfs(rng, cfg, itt, bor, pfs, calibration_steps)
        provenance["pfs"] = _report(rep)
    _step(3, "treatment cycles")
    tr = draw_treatment(rng, cfg, itt, pfs.kind, pfs.day, factor, calibrate)
    if calibrate:
        provenance["exposure"] = {"misses": {k: list(v) for k, v in tr.misses.items()}}
    visits = qol_visit_days(tr, n, itt["F"].to_numpy())
    has_visit = np.array([v.size > 0 for v in visits])
    itt["hrqol"] = False
    for a, arm in enumerate(arms):
        sel = (itt["arm"] == arm).to_numpy() & itt["treated"].to_numpy() & has_visit
        itt.loc[choose(rng, sel, min(scale_counts([pop.hrqol[a]], factor)[0],
                                     int(sel.sum()))), "hrqol"] = True
    hrqol = itt["hrqol"].to_numpy()
    _step(4, "time to deterioration", searched=calibrate)
    if calibrate:
        ttd_index, ttd_event, rep = ttd_endpoint.calibrate_ttd(rng, cfg, itt, visits, hrqol,
                                                           max_steps=400_000)
        provenance["ttd"] = _report(rep)
    else:
        ttd_index, ttd_event = ttd_endpoint.draw_ttd(rng, cfg, itt, visits, hrqol)
    _step(5, "overall survival", searched=calibrate)
    # last contact (or death) comes after everything else recorded for the patient
    floor = _last_activity(tr, visits, pfs, itt["F"].to_numpy())
    seen = replace(pfs, day=floor)
    os_state = os_endpoint.draw_os(rng, cfg, itt, seen)
    if calibrate:
        os_state, rep = os_endpoint.calibrate_os(rng, cfg, itt, seen, os_state)
        provenance["os"] = _report(rep)
    _step(6, "questionnaires and tumour scans")
    baseline_only = itt["treated"].to_numpy() & ~hrqol & (rng.random(n) < 0.5)
    qol = questionnaires(rng, load_instrument(), tr.first_day, visits, ttd_index, ttd_event,
                         hrqol, baseline_only)
    nominal = tumour_nominal_days(cfg, int(itt["F"].max()))
    tum = assessments(rng, nominal, pfs, bor, itt["measurable"].to_numpy(), itt["F"].to_numpy())

    _step(7, "adverse events and LVEF")
    # 5. safety
    lv, decline = lvef(rng, cfg, itt, tr, factor)
    ae = adverse_events(rng, cfg, itt, tr, os_state.death, os_state.day, decline, factor)
    done("simulation steps")
    return SimulatedStudy(study=study, cfg=cfg, patients=pat, itt=itt, bor=bor, pfs=pfs,
                          treatment=tr, qol=qol, ttd_index=ttd_index, ttd_event=ttd_event,
                          os=os_state, lvef=lv, ae=ae, tumour=tum, nominal=nominal,
                          provenance=provenance)


#: The steps of :func:`build_study`, for its progress counter.
_STEPS = 8


def _step(index: int, name: str, searched: bool = False) -> None:
    """Show the simulation's progress: a counter on a terminal, and with ``--verbose``
    a line per step (``searched``: the step runs a calibration search)."""
    progress("simulation steps", index, _STEPS)
    say(f"  simulate: {name}{' (calibration search)' if searched else ''}", VERBOSE)


def _last_activity(tr: Treatment, visits: list[np.ndarray], pfs: PfsState,
                   F: np.ndarray) -> np.ndarray:
    """Per patient, the latest study day anything is recorded before death or last
    contact: PFS day (scans, progression), doses, questionnaires, the end-of-treatment
    visit. A death that is the PFS event stays on its day."""
    n = F.size
    last = np.asarray(pfs.day, dtype=np.int64).copy()
    cyc = tr.cycles.groupby("pid")["day"].max()
    last[cyc.index.to_numpy()] = np.maximum(last[cyc.index.to_numpy()], cyc.to_numpy())
    q = np.array([v.max() if v.size else 0 for v in visits], dtype=np.int64)
    last = np.maximum(last, q)
    eot = (tr.stop_day > 0) & (tr.reason != "DEATH") & (tr.stop_day + 7 <= F)
    last = np.where(eot, np.maximum(last, tr.stop_day + 7), last)
    last = np.minimum(last, F)
    return np.where(np.asarray(pfs.kind) == DEATH, pfs.day, last)[:n]


def _report(rep: dict[str, Any]) -> dict[str, Any]:
    """The JSON-safe part of a calibration report."""
    # no timings: the file must be the same on every run of the same seed
    out = {k: v for k, v in rep.items() if k in ("loss", "steps")}
    out["misses"] = {k: [float(x) for x in v] for k, v in rep.get("misses", {}).items()}
    return out


def _chemo(rng: np.random.Generator, cfg: SimulationConfig, a: int, n: int,
           factor: float) -> np.ndarray:
    table = cfg.baseline.chemotherapy
    counts = {k: scale_counts([v[a]], factor)[0] for k, v in table.items()}
    labels = np.concatenate([[k] * v for k, v in counts.items()]).astype(object)
    labels = np.resize(rng.permutation(labels), n)
    return rng.permutation(labels)


def _accrual(rng: np.random.Generator, cfg: SimulationConfig, n: int) -> np.ndarray:
    """Randomisation dates, piecewise uniform over the accrual periods, in order."""
    periods = cfg.enrolment.periods
    share = np.array([p[2] for p in periods], dtype=float)
    counts = scale_counts((share / share.sum() * n).round(6).tolist(), 1.0)
    counts[-1] += n - sum(counts)
    days = []
    for (start, end, _), k in zip(periods, counts, strict=True):
        s, e = np.datetime64(start, "D"), np.datetime64(end, "D")
        span = int((e - s).astype(int)) + 1
        days.append(s + rng.integers(0, span, k))
    return np.sort(np.concatenate(days)).astype("datetime64[D]")


def _subject_numbers(rng: np.random.Generator, pat: pd.DataFrame) -> np.ndarray:
    """Subject numbers as the registration centre issues them: in order of enrolment."""
    width = max(4, len(str(len(pat))))
    return np.char.zfill(np.arange(1, len(pat) + 1).astype(str), width).astype(object)


class RawExtract(dict):
    """Form name -> all-text DataFrame, plus how the study was made (``provenance``:
    size, seeds, the calibration search's report), written beside the forms."""

    def __init__(self, forms: dict[str, pd.DataFrame], provenance: dict[str, Any]) -> None:
        super().__init__(forms)
        self.provenance = provenance


def simulate_study(subjects: int, seed: int) -> RawExtract:
    """The raw CRF extracts of a simulated study: form name -> all-text DataFrame."""
    sim = build_study(subjects, seed)
    return RawExtract(render_forms(sim, load_forms()), sim.provenance)


def write_raw(forms: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Write each form as ``<out>/<form file>`` atomically, and ``simulation.json`` with
    the provenance when ``forms`` is a :class:`RawExtract`."""
    out = Path(out)
    specs = load_forms()
    # The extracts are data (as an EDC writes them), not a report: written verbatim.
    paths = [write_csv_atomic(df, out / specs[name].file, report=False)
             for name, df in forms.items()]
    provenance = getattr(forms, "provenance", None)
    if provenance is not None:
        text = json.dumps(provenance, indent=2, sort_keys=True) + "\n"
        paths.append(write_atomic(out / "simulation.json",
                                  lambda p: p.write_text(text, encoding="utf-8")))
    return paths
