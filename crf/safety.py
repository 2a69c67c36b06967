"""Adverse events and LVEF of the safety population, with the published counts exact.

Every count of the paper's Table 3 is a set of patients drawn as an exact allocation
inside the safety population of each arm, nested as the data demand it: the patients
with a grade >= 3 event contain those with grade >= 3 neutrophil count decreased,
febrile neutropenia (always grade >= 3 here), stomatitis, diarrhoea and skin events,
the fatal events and the events that stopped treatment; serious events and dose
reductions for grade >= 3 events are chosen among them. A grade >= 3 patient with none
of the events of special interest at grade >= 3 gets another grade >= 3 event (the
protocol records other events only from grade 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crf.allocate import choose, scale_counts
from crf.config import SimulationConfig
from crf.treatment import Treatment

SPECIAL = {"NEUTROPHIL COUNT DECREASED": "Neutrophil count decreased",
           "FEBRILE NEUTROPENIA": "Febrile neutropenia",
           "STOMATITIS": "Stomatitis",
           "DIARRHOEA": "Diarrhoea",
           "INFUSION RELATED REACTION": "Infusion related reaction",
           "LEFT VENTRICULAR DYSFUNCTION": "Left ventricular dysfunction"}
SKIN = ["Rash", "Alopecia", "Palmar-plantar erythrodysaesthesia syndrome", "Nail disorder",
        "Dry skin"]
OTHER_G3 = ["Anaemia", "White blood cell count decreased", "Fatigue", "Decreased appetite",
            "Nausea", "Alanine aminotransferase increased", "Peripheral sensory neuropathy",
            "Hypertension", "Pneumonia"]


def _pick(rng: np.random.Generator, eligible: np.ndarray, k: int,
          weights: np.ndarray | None = None) -> np.ndarray:
    """Exactly ``k`` of the eligible — or all of them in a scaled study too small for k."""
    return choose(rng, eligible, max(0, min(int(k), int(eligible.sum()))), weights=weights)


def adverse_events(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame, tr: Treatment,
                   death: np.ndarray, death_day: np.ndarray, lvef_decline: np.ndarray,
                   factor: float) -> pd.DataFrame:
    """One row per adverse event: pid, pt, start/end day, grade, serious, outcome,
    action, causality."""
    sf = cfg.safety
    safety = df["safety"].to_numpy()
    F = df["F"].to_numpy()
    rows: list[pd.DataFrame] = []
    last = np.where(tr.stop_day > 0, tr.stop_day + 28, F)
    last = np.minimum(np.maximum(last, tr.first_day), F)

    def k(v: list[int], a: int) -> int:
        return scale_counts([v[a]], factor)[0]

    def add(pids: np.ndarray, pt: str | np.ndarray, grade: np.ndarray | int,
            **extra: object) -> None:
        if pids.size == 0:
            return
        g = np.broadcast_to(np.asarray(grade), pids.shape)
        d = pd.DataFrame({"pid": pids, "pt": pt, "grade": g, "episode": 1, "fatal": False,
                          "disc": False})
        for key, val in extra.items():
            d[key] = val
        rows.append(d)

    for a, arm in enumerate(cfg.arms):
        S = safety & (df["arm"] == arm).to_numpy()
        n_s = int(S.sum())
        fatal = np.zeros_like(S)
        n_fatal = k(sf.fatal, a)
        died_on = S & death & (death_day <= last + 2) & (tr.first_day > 0)
        fatal |= choose(rng, died_on, min(n_fatal, int(died_on.sum())))
        disc = tr.ae_stop & S
        g3 = disc | fatal
        g3 |= choose(rng, S & ~g3, min(k(sf.grade3_plus, a) - int(g3.sum()),
                                       n_s - int(g3.sum())))
        si = {key: {arm_: [k([v[0]], 0), k([v[1]], 0)] for arm_, v in val.items()}
              for key, val in sf.special_interest.items()}
        neut3 = choose(rng, g3, min(si["NEUTROPHIL COUNT DECREASED"][arm][1], int(g3.sum())))
        neut = neut3 | _pick(rng, S & ~neut3, si["NEUTROPHIL COUNT DECREASED"][arm][0]
                             - int(neut3.sum()))
        # febrile neutropenia mostly in patients with severe neutropenia, as in real data
        fn = _pick(rng, g3, si["FEBRILE NEUTROPENIA"][arm][1],
                   weights=np.where(neut3, 4.0, 1.0))
        fn_low = _pick(rng, S & ~fn, si["FEBRILE NEUTROPENIA"][arm][0]
                       - si["FEBRILE NEUTROPENIA"][arm][1])
        sets = {}
        for key in ("STOMATITIS", "DIARRHOEA", "INFUSION RELATED REACTION",
                    "LEFT VENTRICULAR DYSFUNCTION", "SKIN"):
            all_g, hi_g = si[key][arm]
            hi = _pick(rng, g3, hi_g)
            base = lvef_decline & S if key == "LEFT VENTRICULAR DYSFUNCTION" else S
            lo = _pick(rng, base & ~hi, all_g - hi_g)
            sets[key] = (hi, lo)
        covered = neut3 | fn | fatal | disc
        for hi, _ in sets.values():
            covered |= hi
        other = g3 & ~covered
        # every grade >= 3 patient has a grade >= 3 event
        add(np.flatnonzero(neut3), SPECIAL["NEUTROPHIL COUNT DECREASED"],
            rng.choice([3, 4], int(neut3.sum()), p=[0.55, 0.45]))
        prior = neut3 & (rng.random(S.size) < 0.4)
        add(np.flatnonzero(prior), SPECIAL["NEUTROPHIL COUNT DECREASED"], 2, episode=0)
        add(np.flatnonzero(neut & ~neut3), SPECIAL["NEUTROPHIL COUNT DECREASED"],
            rng.choice([1, 2], int((neut & ~neut3).sum())))
        add(np.flatnonzero(fn), SPECIAL["FEBRILE NEUTROPENIA"],
            rng.choice([3, 4], int(fn.sum()), p=[0.85, 0.15]))
        add(np.flatnonzero(fn_low), SPECIAL["FEBRILE NEUTROPENIA"], 2)
        for key, (hi, lo) in sets.items():
            names = (rng.choice(SKIN, int(hi.sum())) if key == "SKIN"
                     else SPECIAL[key])
            add(np.flatnonzero(hi), names, 3)
            names = rng.choice(SKIN, int(lo.sum())) if key == "SKIN" else SPECIAL[key]
            add(np.flatnonzero(lo), names, rng.choice([1, 2], int(lo.sum()), p=[0.6, 0.4]))
        add(np.flatnonzero(other), rng.choice(OTHER_G3, int(other.sum())), 3)
        fterm = sf.fatal_terms[a]
        add(np.flatnonzero(fatal), fterm, 5, fatal=True)
        no_ab = tr.no_antibody & S
        add(np.flatnonzero(no_ab), "Hypersensitivity", 3, disc=True)
        # disc patients without a grade >= 3 event of their own get one that stops them
        need_disc = disc & ~no_ab & ~fatal
        add(np.flatnonzero(need_disc), rng.choice(OTHER_G3 + ["Peripheral sensory neuropathy"]
                                                  * 3, int(need_disc.sum())), 3, disc=True)
    ae = pd.concat(rows, ignore_index=True)
    ae["fatal"] = ae["fatal"].astype(bool)
    ae["disc"] = ae["disc"].astype(bool)
    return _dates_and_attributes(rng, cfg, df, tr, ae, death_day, last, factor)


def _dates_and_attributes(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame,
                          tr: Treatment, ae: pd.DataFrame, death_day: np.ndarray,
                          last: np.ndarray, factor: float) -> pd.DataFrame:
    pid = ae["pid"].to_numpy()
    first = tr.first_day[pid]
    n = len(ae)
    span = np.maximum(last[pid] - first, 1)
    neut = ae["pt"].str.contains("Neutrophil|neutropenia", case=False).to_numpy()
    start = first + np.where(neut, rng.integers(6, 60, n) % span,
                             (rng.random(n) * span).astype(int))
    start = np.where(ae["episode"].to_numpy() == 0, first + rng.integers(5, 12, n), start)
    start = np.where((ae["episode"].to_numpy() == 1) & neut & (start < first + 14),
                     start + 14, start)
    start = np.minimum(start, last[pid])
    stop = tr.stop_day[pid]
    start = np.where(ae["disc"], np.maximum(first, stop - rng.integers(0, 6, n)), start)
    start = np.where(ae["fatal"], np.maximum(first, death_day[pid] - rng.integers(3, 11, n)),
                     start)
    # nothing is recorded after the patient's death or last contact
    start = np.minimum(start, death_day[pid])
    dur = rng.integers(3, 29, n)
    end = np.where(ae["fatal"], death_day[pid], start + dur)
    F = np.minimum(df["F"].to_numpy()[pid], death_day[pid])
    ongoing = (end > F) & ~ae["fatal"].to_numpy()
    ae["start"] = start
    ae["end"] = np.where(ongoing, -1, end)
    ae["outcome"] = np.select([ae["fatal"], ongoing], ["FATAL", "NOT RECOVERED/NOT RESOLVED"],
                              "RECOVERED/RESOLVED")
    ae["action"] = np.select([ae["fatal"], ae["disc"]], ["NOT APPLICABLE", "DRUG WITHDRAWN"],
                             "DOSE NOT CHANGED")
    ae["serious"] = ae["fatal"].to_numpy()
    # serious events: grade >= 3 events of the chosen patients, febrile neutropenia first
    sf = cfg.safety
    arm = df["arm"].to_numpy()[pid]
    for a, name in enumerate(cfg.arms):
        want = scale_counts([sf.serious[a]], factor)[0]
        in_arm = arm == name
        have = set(ae.loc[in_arm & ae["serious"], "pid"])
        g3_rows = in_arm & (ae["grade"].to_numpy() >= 3) & ~ae["pid"].isin(have).to_numpy()
        cand = ae.loc[g3_rows, ["pid", "pt"]].copy()
        cand["w"] = np.where(cand["pt"] == "Febrile neutropenia", 6.0,
                             np.where(cand["pt"].str.contains("Neutrophil"), 0.3, 1.0))
        cand = cand.sample(frac=1.0, random_state=int(rng.integers(2**31))).sort_values(
            "w", ascending=False, kind="stable").drop_duplicates("pid")
        patients = cand["pid"].to_numpy()
        w = cand["w"].to_numpy()
        need = max(want - len(have), 0)
        if need > patients.size:
            raise RuntimeError(f"{name}: not enough grade >= 3 patients for {want} serious")
        chosen = rng.choice(patients, need, replace=False, p=w / w.sum()) if need else []
        ae.loc[cand.index[np.isin(patients, chosen)], "serious"] = True
        # dose reductions of chemotherapy for a grade >= 3 event
        want = scale_counts([sf.dose_reduction_grade3[a]], factor)[0]
        ok = (in_arm & np.isin(ae["grade"].to_numpy().astype(int), [3, 4])
              & ~ae["fatal"].to_numpy() & ~ae["disc"].to_numpy())
        ok &= (ae["start"].to_numpy() + 30 < np.where(tr.stop_day[pid] > 0, tr.stop_day[pid],
                                                       F))
        cand = ae.loc[ok].drop_duplicates("pid")
        if len(cand) < want:
            raise RuntimeError(f"{name}: not enough grade >= 3 events for {want} reductions")
        pick = rng.choice(cand.index.to_numpy(), want, replace=False)
        ae.loc[pick, "action"] = "DOSE REDUCED"
    special = ae["pt"].isin(list(SPECIAL.values())).to_numpy()
    ae["rel_chemo"] = np.where(special | (rng.random(n) < 0.7), "RELATED", "NOT RELATED")
    ae["rel_tras"] = np.where(rng.random(n) < 0.35, "RELATED", "NOT RELATED")
    test = arm == cfg.arms[0]
    ae["rel_pert"] = np.where(test | df["crossover"].to_numpy()[pid],
                              np.where(ae["pt"].eq("Diarrhoea") | (rng.random(n) < 0.3),
                                       "RELATED", "NOT RELATED"), "")
    return ae.sort_values(["pid", "start", "pt"], kind="stable").reset_index(drop=True)


def lvef(rng: np.random.Generator, cfg: SimulationConfig, df: pd.DataFrame, tr: Treatment,
         factor: float) -> tuple[pd.DataFrame, np.ndarray]:
    """LVEF at screening, every four cycles and at end of treatment; the patients with a
    decline (< 50 % and a fall of at least 15 points, so either reading of the
    definition agrees) are exactly the published number per arm."""
    n = len(df)
    F = df["F"].to_numpy()
    treated = df["treated"].to_numpy()
    every = cfg.schedule.lvef_every_cycles
    cyc = tr.cycles[(tr.cycles["cycle"] - 1) % every == 0]
    cyc = cyc[cyc["cycle"] > 1]
    visits = [pd.DataFrame({"pid": np.flatnonzero(treated),
                            "day": -rng.integers(1, 22, int(treated.sum())),
                            "visit": "Screening"}),
              pd.DataFrame({"pid": cyc["pid"].to_numpy(), "day": cyc["day"].to_numpy(),
                            "visit": "Cycle " + cyc["cycle"].astype(str) + " Day 1"})]
    eot = np.flatnonzero(treated & (tr.stop_day > 0) & (tr.stop_day + 7 <= F)
                         & (tr.reason != "DEATH"))
    visits.append(pd.DataFrame({"pid": eot, "day": tr.stop_day[eot] + 7,
                                "visit": "End of treatment"}))
    lv = pd.concat(visits, ignore_index=True)
    base = np.clip(np.round(rng.normal(65, 5, n)), 56, 78)
    post = lv["visit"] != "Screening"
    val = base[lv["pid"].to_numpy()] + np.where(post, np.clip(np.round(
        rng.normal(-2, 3, len(lv))), -9, 6), 0)
    has_post = np.bincount(lv.loc[post, "pid"], minlength=n) > 0
    decline = np.zeros(n, dtype=bool)
    for a, arm in enumerate(cfg.arms):
        sel = df["safety"].to_numpy() & (df["arm"] == arm).to_numpy() & has_post
        decline |= choose(rng, sel, scale_counts([cfg.safety.lvef_decline[a]], factor)[0])
    pid = lv["pid"].to_numpy()
    first_post = lv[post.to_numpy() & decline[pid]].drop_duplicates("pid").index
    val[first_post] = np.minimum(base[lv.loc[first_post, "pid"]] - 16, 48)
    lv["LVEF"] = np.maximum(val, 50 * (~decline[pid])).astype(float)
    lv.loc[first_post, "LVEF"] = val[first_post]
    lv["METHOD"] = np.where(rng.random(len(lv)) < 0.92, "ECHO", "MUGA")
    return lv.sort_values(["pid", "day"], kind="stable").reset_index(drop=True), decline
