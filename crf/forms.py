"""Write the simulated patients as the EDC's raw form extracts (one DataFrame per form).

Every value is text, columns in the order of the form's spec (``specs/raw``), dates in
EDC format, with the spelling variants and partial dates sites produce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crf.edc import edc_date, text, to_dates, variants, yn
from crf.endpoints.shared import CLIN, DEATH
from trialflow import SPECS
from trialflow.spec import RawForm, read_yaml

if TYPE_CHECKING:
    from crf.simulate import SimulatedStudy

SEX_VARIANTS = {"F": ["Female", "female", "F "]}
POSNEG_VARIANTS = {"POSITIVE": ["Positive", "Pos", "positive"],
                   "NEGATIVE": ["Negative", "Neg", "negative"]}
NY_VARIANTS = {"Y": ["Yes", "yes"], "N": ["No", "no"]}


def render_forms(sim: SimulatedStudy, specs: dict[str, RawForm]) -> dict[str, pd.DataFrame]:
    """All raw forms of the simulated study, keyed by form name."""
    rng = np.random.default_rng([sim.provenance["seed"], 7])
    builders = {"enrol": _enrol, "eligibility": _eligibility, "baseline": _baseline,
                "priorther": _priorther, "random": _random, "exposure": _exposure,
                "tumour": _tumour, "clinprog": _clinprog, "ae": _ae, "factb": _factb,
                "lvef": _lvef, "eot": _eot, "nextther": _nextther, "survival": _survival,
                "withdrawal": _withdrawal}
    out = {}
    for name, spec in specs.items():
        df = builders[name](sim, rng)
        df = df.reindex(columns=spec.column_names)
        out[name] = df.apply(text).reset_index(drop=True)
    return out


def _itt_dates(sim: SimulatedStudy, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
    return to_dates(sim.itt["randdt"].to_numpy().astype("datetime64[D]")[pid], day)


def _ids(sim: SimulatedStudy, pid: np.ndarray) -> np.ndarray:
    return sim.itt["subjid"].to_numpy()[pid]


def _enrol(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    p = sim.patients
    n = len(p)
    rand = p["randdt"].to_numpy().astype("datetime64[D]")
    consent = rand - rng.integers(3, 22, n).astype("timedelta64[D]")
    # born 1-11 months before the consent month, AGE years earlier: whatever the unknown
    # day, the age at consent is AGE
    age = p["age"].to_numpy()
    months = (consent.astype("datetime64[M]").astype(int) - 12 * age
              - rng.integers(1, 12, n))
    birth_dt = months.astype("datetime64[M]").astype("datetime64[D]")
    return pd.DataFrame({
        "STUDYID": sim.study.id, "SITEID": p["site"].astype(str).to_numpy(),
        "SUBJID": p["subjid"].to_numpy(), "CONSDT": edc_date(consent),
        "BRTHDT": edc_date(birth_dt, unknown_day=np.ones(n, bool)), "AGE": age,
        "SEX": variants(rng, np.full(n, "F", dtype=object), SEX_VARIANTS, 0.1),
        "RACE": np.where(rng.random(n) < 0.97, "ASIAN", "Japanese"),
        "ETHNIC": np.where(rng.random(n) < 0.95, "NOT HISPANIC OR LATINO", "NOT REPORTED"),
        "ELIGYN": variants(rng, np.full(n, "Y", dtype=object), NY_VARIANTS, 0.05)})


def _eligibility(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    pid = np.flatnonzero(sim.itt["fas_violation"].to_numpy())
    criteria = sim.cfg.eligibility_criteria
    pick = rng.integers(0, len(criteria), pid.size)
    found = _itt_dates(sim, pid, rng.integers(40, 200, pid.size))
    return pd.DataFrame({"SUBJID": _ids(sim, pid),
                         "CRITID": [criteria[i].id for i in pick],
                         "CRITCAT": [criteria[i].category for i in pick],
                         "CRITTEXT": [criteria[i].text for i in pick],
                         "FINDDT": edc_date(found)})


def _baseline(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    p = sim.patients
    n = len(p)
    meas = p["subjid"].map(sim.itt.set_index("subjid")["measurable"].astype(bool))
    meas = meas.where(meas.notna(), True).astype(bool).to_numpy()
    rand = p["randdt"].to_numpy().astype("datetime64[D]")
    ihc = np.where(p["her2_ihc3"], "3+", "2+")
    ish = np.where(p["her2_ihc3"] & (rng.random(n) < 0.6), np.nan,
                   np.round(rng.uniform(2.1, 9.0, n), 1))
    er = np.where(p["er_pos"], "POSITIVE", "NEGATIVE").astype(object)
    pgr = np.where(p["pgr_pos"], "POSITIVE", "NEGATIVE").astype(object)
    pgr = np.where(rng.random(n) < 0.03, "", pgr)
    return pd.DataFrame({
        "SUBJID": p["subjid"].to_numpy(),
        "ASSESSDT": edc_date(rand - rng.integers(1, 15, n).astype("timedelta64[D]")),
        "ECOG": p["ecog"].to_numpy(), "ER": variants(rng, er, POSNEG_VARIANTS),
        "PGR": variants(rng, pgr, POSNEG_VARIANTS), "HER2IHC": ihc, "HER2ISH": ish,
        "MEASDIS": yn(meas), "VISCERAL": yn(p["visceral"]), "METLUNG": yn(p["met_lung"]),
        "METLIVER": yn(p["met_liver"]), "METBONE": yn(p["met_bone"]),
        "METBRAIN": yn(p["met_brain"]), "METLN": yn(p["met_ln"]),
        "METOTH": yn(p["met_other"])})


CHEMO_NAMES = ["Docetaxel", "Paclitaxel", "Vinorelbine", "Capecitabine", "Eribulin",
               "Nab-paclitaxel", "Gemcitabine"]


def _priorther(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    """Prior regimens per patient: pertuzumab line, T-DM1, lapatinib, others, filled in
    free lines with trastuzumab + chemotherapy (chemotherapy alone for a patient whose
    anti-HER2 history was perioperative only)."""
    p = sim.patients
    n = len(p)
    nreg = p["nreg"].to_numpy()
    L = 5
    slot = np.arange(L)[None, :]
    free = slot < nreg[:, None]
    kind = np.where(free, "TC", "").astype(object)
    pline = p["pert_line"].to_numpy()
    has_p = pline > 0
    kind[has_p, pline[has_p] - 1] = "PTC"

    def place(mask: np.ndarray, label: str, allow_last: bool) -> None:
        ok = (kind == "TC") & mask[:, None]
        if not allow_last:
            ok &= slot < (nreg[:, None] - 1)
        key = np.where(ok, rng.random((n, L)), np.inf)
        j = np.argmin(key, axis=1)
        rows = np.flatnonzero(mask & np.isfinite(key.min(axis=1)))
        kind[rows, j[rows]] = label

    latest = p["tdm1_latest"].to_numpy()
    kind[latest, nreg[latest] - 1] = "TDM1"
    place(p["tdm1_any"].to_numpy() & ~latest, "TDM1", allow_last=False)
    place(p["lapatinib"].to_numpy(), "LAP", allow_last=True)
    place(p["other_her2"].to_numpy(), "OTH", allow_last=True)
    periop = pline == 0
    kind[periop[:, None] & (kind == "TC")] = "CHEMO"

    pid, line = np.nonzero(kind != "")
    # latest line first within each patient: dates are built backwards from randomisation
    order = np.lexsort((-line, pid))
    pid, line = pid[order], line[order]
    k = kind[pid, line]
    # durations (days): pertuzumab by the published categories, others typical
    short = p["pert_short"].to_numpy()[pid]
    second = pline[pid] == 2
    dur = rng.integers(60, 360, pid.size)
    is_p = k == "PTC"
    dur = np.where(is_p & short & second, rng.integers(45, 120, pid.size), dur)
    dur = np.where(is_p & short & ~second, rng.integers(60, 180, pid.size), dur)
    dur = np.where(is_p & ~short & second, rng.integers(120, 500, pid.size), dur)
    dur = np.where(is_p & ~short & ~second, rng.integers(180, 900, pid.size), dur)
    gap = rng.integers(7, 40, pid.size)
    # build backwards from randomisation: the latest regimen ends 3-8 weeks before it
    first_in = np.r_[True, pid[1:] != pid[:-1]]
    washout = np.where(first_in, rng.integers(21, 57, pid.size), gap)
    step = dur + washout
    grp_start = np.maximum.accumulate(np.where(first_in, np.arange(pid.size), 0))
    cum = np.cumsum(step)
    cum = cum - np.r_[0, cum][grp_start]
    end_off = cum - dur
    rand = p["randdt"].to_numpy().astype("datetime64[D]")[pid]
    end = rand - end_off.astype("timedelta64[D]")
    start = end - (dur - 1).astype("timedelta64[D]")
    chemo = np.array(CHEMO_NAMES, dtype=object)[rng.integers(0, len(CHEMO_NAMES), pid.size)]
    regimen = np.select(
        [k == "PTC", k == "TDM1", k == "LAP", k == "OTH", k == "CHEMO"],
        ["Pertuzumab + Trastuzumab + " + chemo, "T-DM1", "Lapatinib + Capecitabine",
         "Neratinib + Capecitabine (clinical trial)", chemo], "Trastuzumab + " + chemo)
    rows = pd.DataFrame({
        "SUBJID": p["subjid"].to_numpy()[pid], "SETTING": "LA/MBC", "LINE": line + 1,
        "REGIMEN": regimen, "PERTUZ": yn(k == "PTC"),
        "TRASTUZ": yn(np.isin(k, ["PTC", "TC"])), "TDM1": yn(k == "TDM1"),
        "LAPAT": yn(k == "LAP"), "OTHHER2": yn(k == "OTH"),
        "STDT": edc_date(start, unknown_day=(rng.random(pid.size) < 0.08) & ~is_p),
        "ENDT": edc_date(end)})
    # perioperative anti-HER2 therapy: for the perioperative-only patients, P + T
    per = np.flatnonzero(periop)
    if per.size:
        first_start = rows.groupby("SUBJID")["STDT"].first()
        anchor = p["randdt"].to_numpy().astype("datetime64[D]")[per] - np.timedelta64(1400, "D")
        pst = anchor - rng.integers(0, 300, per.size).astype("timedelta64[D]")
        pen = pst + rng.integers(180, 365, per.size).astype("timedelta64[D]")
        del first_start
        rows = pd.concat([rows, pd.DataFrame({
            "SUBJID": p["subjid"].to_numpy()[per], "SETTING": "PERIOPERATIVE", "LINE": np.nan,
            "REGIMEN": "Pertuzumab + Trastuzumab + Docetaxel (neoadjuvant)",
            "PERTUZ": "Y", "TRASTUZ": "Y", "TDM1": "N", "LAPAT": "N", "OTHHER2": "N",
            "STDT": edc_date(pst), "ENDT": edc_date(pen)})], ignore_index=True)
    return rows.sort_values(["SUBJID", "SETTING", "LINE"], kind="stable")


def _random(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    p = sim.patients
    return pd.DataFrame({
        "SUBJID": p["subjid"].to_numpy(), "RANDNO": p["randno"].to_numpy(),
        "RANDDT": edc_date(p["randdt"].to_numpy().astype("datetime64[D]")),
        "ARM": p["arm"].to_numpy(),
        "STRER": np.where(p["er_pos"], "POSITIVE", "NEGATIVE"),
        "STRPER": np.where(p["pert_short"], "SHORT", "LONG"),
        "STRNREG": np.where(p["nreg"] >= 3, ">=3", "2"),
        "STRVISC": np.where(p["visceral"], "VISCERAL", "NON-VISCERAL"),
        "CHEMO": p["chemo"].to_numpy()})


CHEMO_DOSE = {"DOCETAXEL": 75.0, "PACLITAXEL": 80.0, "NAB-PACLITAXEL": 260.0,
              "VINORELBINE": 25.0, "ERIBULIN": 1.4, "CAPECITABINE": 2000.0,
              "GEMCITABINE": 1000.0}
CHEMO_DAYS = {"DOCETAXEL": 0, "PACLITAXEL": 14, "NAB-PACLITAXEL": 0, "VINORELBINE": 7,
              "ERIBULIN": 7, "CAPECITABINE": 13, "GEMCITABINE": 7}


def _exposure(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    itt, tr = sim.itt, sim.treatment
    c = tr.cycles
    pid = c["pid"].to_numpy()
    n_rows = len(c)
    weight = np.round(rng.normal(55, 8, len(itt)).clip(38, 95), 1)
    test = (itt["arm"] == sim.cfg.arms[0]).to_numpy() | itt["crossover"].to_numpy()
    first = c["cycle"].to_numpy() == 1
    chemo = itt["chemo"].to_numpy()[pid]
    # chemotherapy dose reduced from the cycle after a grade >= 3 event with that action
    red = sim.ae[sim.ae["action"] == "DOSE REDUCED"].groupby("pid")["start"].min()
    red_day = np.full(len(itt), np.iinfo(np.int64).max)
    red_day[red.index.to_numpy()] = red.to_numpy()
    reduced = c["day"].to_numpy() > red_day[pid]
    parts = []
    ab = c["antibody"].to_numpy()
    for drug, mask, dose, unit in (
            ("PERTUZUMAB", ab & test[pid], np.where(first, 840.0, 420.0), "mg"),
            ("TRASTUZUMAB", ab, np.where(first, 8.0, 6.0), "mg/kg")):
        parts.append(pd.DataFrame({"pid": pid[mask], "CYCLE": c["cycle"].to_numpy()[mask],
                                   "DRUG": drug, "day": c["day"].to_numpy()[mask],
                                   "end": c["day"].to_numpy()[mask], "DOSE": dose[mask],
                                   "DOSEU": unit, "REDUCED": "N", "REDREAS": ""}))
    cdose = np.array([CHEMO_DOSE[x] for x in chemo]) * np.where(reduced, 0.8, 1.0)
    cdays = np.array([CHEMO_DAYS[x] for x in chemo])
    parts.append(pd.DataFrame({"pid": pid, "CYCLE": c["cycle"].to_numpy(), "DRUG": chemo,
                               "day": c["day"].to_numpy(), "end": c["day"].to_numpy() + cdays,
                               "DOSE": np.round(cdose, 2), "DOSEU": "mg/m2",
                               "REDUCED": yn(reduced),
                               "REDREAS": np.where(reduced, "Adverse event", "")}))
    ex = pd.concat(parts, ignore_index=True)
    stop = np.where(tr.stop_day > 0, tr.stop_day, itt["F"].to_numpy())
    ex["end"] = np.minimum(ex["end"].to_numpy(), np.maximum(stop[ex["pid"]], ex["day"]))
    del n_rows
    return pd.DataFrame({
        "SUBJID": _ids(sim, ex["pid"].to_numpy()), "CYCLE": ex["CYCLE"], "DRUG": ex["DRUG"],
        "STDT": edc_date(_itt_dates(sim, ex["pid"].to_numpy(), ex["day"].to_numpy())),
        "ENDT": edc_date(_itt_dates(sim, ex["pid"].to_numpy(), ex["end"].to_numpy())),
        "DOSE": ex["DOSE"], "DOSEU": ex["DOSEU"], "WEIGHT": weight[ex["pid"].to_numpy()],
        "REDUCED": ex["REDUCED"], "REDREAS": ex["REDREAS"]}).sort_values(
        ["SUBJID", "CYCLE", "DRUG"], kind="stable")


def _visit_name(k: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    weeks = ((nominal - 1) // 7)
    names = np.array([f"Week {w}" for w in weeks], dtype=object)
    return np.where(k < 0, "Screening", names[np.maximum(k, 0)])


def _tumour(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    t = sim.tumour
    pid = t["pid"].to_numpy()
    return pd.DataFrame({
        "SUBJID": _ids(sim, pid), "VISIT": _visit_name(t["visit"].to_numpy(), sim.nominal),
        "ASSESSDT": edc_date(_itt_dates(sim, pid, t["day"].to_numpy())),
        "METHOD": t["METHOD"], "SLD": t["SLD"], "TARGET": t["TARGET"],
        "NONTARGET": t["NONTARGET"], "NEWLES": t["NEWLES"], "OVERALL": t["OVERALL"]})


def _clinprog(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    pid = np.flatnonzero(sim.pfs.kind == CLIN)
    basis = np.array(["Worsening of symptoms", "Bone scintigraphy", "Elevated tumour markers",
                      "Ultrasonography", "PET"], dtype=object)
    return pd.DataFrame({"SUBJID": _ids(sim, pid),
                         "PROGDT": edc_date(_itt_dates(sim, pid, sim.pfs.day[pid])),
                         "BASIS": rng.choice(basis, pid.size)})


def _ae(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    ae = sim.ae
    pid = ae["pid"].to_numpy()
    terms = read_yaml(SPECS / "dictionary" / "meddra.yaml")["terms"]
    by_pt: dict[str, list[str]] = {}
    for t in terms:
        by_pt.setdefault(t["pt"], []).extend(t["verbatim"])
    verbatim = np.empty(len(ae), dtype=object)
    for pt, group in ae.groupby("pt").groups.items():
        verbatim[group] = rng.choice(np.asarray(by_pt[pt], dtype=object), len(group))
    fatal_ptc = ae["fatal"].to_numpy() & (ae["pt"] == "Interstitial lung disease").to_numpy()
    verbatim[fatal_ptc] = "Drug-induced lung injury"
    start = _itt_dates(sim, pid, ae["start"].to_numpy())
    end = np.where(ae["end"].to_numpy() > 0, _itt_dates(sim, pid, ae["end"].to_numpy()),
                   np.datetime64("NaT"))
    # some start dates are known only to the month (never for a fatal or stopping event)
    partial = (rng.random(len(ae)) < 0.03) & ~ae["fatal"].to_numpy() & ~ae["disc"].to_numpy()
    seq = ae.groupby("pid").cumcount().to_numpy() + 1
    # Seriousness criteria of a serious event, from what the simulation decided (no
    # draw of the shared generator, so the other forms stay as they were): death for a
    # fatal event, life-threatening for grade 4 (CTCAE: life-threatening consequences),
    # hospitalisation for the others; blank for an event that is not serious.
    serious, fatal = ae["serious"].to_numpy(dtype=bool), ae["fatal"].to_numpy(dtype=bool)
    grade4 = ae["grade"].to_numpy() == 4

    def criterion(met: np.ndarray) -> np.ndarray:
        return np.where(serious, np.where(met, "Y", "N"), "")

    criteria = {"SDTH": criterion(fatal), "SLIFE": criterion(grade4 & ~fatal),
                "SHOSP": criterion(~fatal & ~grade4), "SDISAB": criterion(np.zeros_like(fatal)),
                "SCONG": criterion(np.zeros_like(fatal)), "SMIE": criterion(np.zeros_like(fatal))}
    return pd.DataFrame({
        "SUBJID": _ids(sim, pid), "AENO": seq, "AETERM": verbatim,
        "STDT": edc_date(start, unknown_day=partial), "ENDT": edc_date(end),
        "GRADE": ae["grade"].astype(int).to_numpy(), "SERIOUS": yn(ae["serious"]),
        "OUTCOME": ae["outcome"].to_numpy(), "ACTION": ae["action"].to_numpy(),
        "RELPER": ae["rel_pert"].to_numpy(), "RELTRA": ae["rel_tras"].to_numpy(),
        "RELCHEM": ae["rel_chemo"].to_numpy(), **criteria})


def _factb(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    q = sim.qol
    pid = q["pid"].to_numpy()
    tr = sim.treatment
    # visit labels: baseline at cycle 1, the cycle whose day 1 it was, or end of treatment
    cyc = tr.cycles.set_index(["pid", "day"])["cycle"]
    key = pd.MultiIndex.from_arrays([pid, q["day"].to_numpy()])
    cycle = cyc.reindex(key).to_numpy()
    label = np.where(q["pos"].to_numpy() == 0, "Cycle 1 Day 1",
                     np.where(np.isnan(cycle.astype(float)), "End of treatment",
                              "Cycle " + pd.Series(cycle).fillna(0).astype(int).astype(str)
                              + " Day 1"))
    out = pd.DataFrame({"SUBJID": _ids(sim, pid), "VISIT": label,
                        "QSDT": edc_date(_itt_dates(sim, pid, q["day"].to_numpy()))})
    items = [c for c in q.columns if c not in ("pid", "day", "pos")]
    return pd.concat([out, q[items].reset_index(drop=True)], axis=1)


def _lvef(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    lv = sim.lvef
    pid = lv["pid"].to_numpy()
    return pd.DataFrame({"SUBJID": _ids(sim, pid), "VISIT": lv["visit"],
                         "LVEFDT": edc_date(_itt_dates(sim, pid, lv["day"].to_numpy())),
                         "METHOD": lv["METHOD"], "LVEF": lv["LVEF"]})


def _eot(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    tr = sim.treatment
    pid = np.flatnonzero(tr.stop_day > 0)
    detail = np.where(tr.reason[pid] == "ADVERSE EVENT", "See AE form", "")
    return pd.DataFrame({"SUBJID": _ids(sim, pid),
                         "EOTDT": edc_date(_itt_dates(sim, pid, tr.stop_day[pid])),
                         "REASON": tr.reason[pid], "DETAIL": detail})


def _nextther(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    """Subsequent therapy after progression (most patients) or after stopping without
    progression; started before the cut-off and before death."""
    itt, pfs, osx = sim.itt, sim.pfs, sim.os
    F = itt["F"].to_numpy()
    after = np.maximum(pfs.day, np.where(sim.treatment.stop_day > 0,
                                         sim.treatment.stop_day, pfs.day)) + rng.integers(
        7, 45, len(itt))
    limit = np.minimum(osx.day, F)
    eligible = (pfs.kind != DEATH) & (after < limit) & (rng.random(len(itt)) < 0.85)
    eligible &= (pfs.kind != "CENS") | (sim.treatment.stop_day > 0)
    pid = np.flatnonzero(eligible)
    regimens = np.array(["Trastuzumab + Capecitabine", "Lapatinib + Capecitabine",
                         "Trastuzumab + Eribulin", "Trastuzumab deruxtecan",
                         "Trastuzumab + Vinorelbine", "Endocrine therapy"], dtype=object)
    return pd.DataFrame({"SUBJID": _ids(sim, pid), "LINE": 1,
                         "REGIMEN": rng.choice(regimens, pid.size),
                         "STDT": edc_date(_itt_dates(sim, pid, after[pid]))})


def _survival(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    itt, osx = sim.itt, sim.os
    n = len(itt)
    status = np.where(osx.death, "DEAD", np.where(osx.lost, "LOST TO FOLLOW-UP", "ALIVE"))
    date = _itt_dates(sim, np.arange(n), osx.day)
    cause = np.where(osx.death, "DISEASE PROGRESSION", "")
    fatal = sim.ae.loc[sim.ae["fatal"], "pid"].to_numpy()
    cause[fatal] = "ADVERSE EVENT"
    no_prog = osx.death & (sim.pfs.kind == DEATH)
    cause = np.where(no_prog & (cause == "DISEASE PROGRESSION"), "OTHER", cause)
    detail = np.where(cause == "ADVERSE EVENT", "Fatal adverse event (see AE form)", "")
    return pd.DataFrame({"SUBJID": itt["subjid"].to_numpy(), "STATUS": status,
                         "LSTCONDT": edc_date(np.where(osx.death, np.datetime64("NaT"), date)),
                         "DTHDT": edc_date(np.where(osx.death, date, np.datetime64("NaT"))),
                         "DTHCAUSE": cause, "DTHDETL": detail})


def _withdrawal(sim: SimulatedStudy, rng: np.random.Generator) -> pd.DataFrame:
    p = sim.patients
    out = p.loc[~p["itt"]]
    wd = (out["randdt"].to_numpy().astype("datetime64[D]")
          + rng.integers(1, 4, len(out)).astype("timedelta64[D]"))
    rows = pd.DataFrame({"SUBJID": out["subjid"].to_numpy(), "WDDT": edc_date(wd),
                         "DATAUSE": "N",
                         "REASON": "Withdrew consent before treatment, including data use"})
    lost = np.flatnonzero(sim.os.lost)
    more = pd.DataFrame({"SUBJID": _ids(sim, lost),
                         "WDDT": edc_date(_itt_dates(sim, lost, sim.os.day[lost] + 1)),
                         "DATAUSE": "Y", "REASON": "Withdrew consent to further follow-up"})
    return pd.concat([rows, more], ignore_index=True)
