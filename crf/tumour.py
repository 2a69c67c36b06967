"""Tumour assessments (RECIST 1.1) per visit, consistent with each patient's PFS outcome.

From the screening scan to the scan that shows progression (or the last scan before
clinical progression, death, censoring or the cut-off), each visit gets target and
non-target responses, new lesions, the sum of target diameters and the overall
response the investigator recorded:

* best response PD: progression at the first scan;
* SD / non-CR/non-PD: stable until the progression scan;
* PR: stable, then a partial response from the response visit on (sum of diameters at
  least 30 % below baseline), until the progression scan;
* NE: every scan not evaluable;
* progression by target growth (at least 20 % and 5 mm above the nadir) or by a new
  lesion, half each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crf.endpoints.shared import CENS, RECIST, PfsState


def assessments(rng: np.random.Generator, nominal: np.ndarray, pfs: PfsState,
                bor: np.ndarray, measurable: np.ndarray, F: np.ndarray) -> pd.DataFrame:
    """One row per post-baseline assessment (pid, visit index, day, responses, SLD)."""
    n = bor.size
    day_grid = nominal[None, :] + pfs.jitter                      # (n, visits)
    vis = np.arange(nominal.size)[None, :]
    on_grid = np.isin(pfs.kind, [RECIST, CENS])
    last = np.where(on_grid, pfs.visit, (day_grid < pfs.day[:, None]).sum(axis=1) - 1)
    last = np.where(bor == "MISSING", -1, last)
    take = (vis <= last[:, None]) & (day_grid <= F[:, None])
    pid, k = np.nonzero(take)
    day = day_grid[pid, k]
    b = bor[pid]
    prog = (pfs.kind[pid] == RECIST) & (k == pfs.visit[pid])
    resp = (pfs.resp_visit[pid] >= 0) & (k >= pfs.resp_visit[pid])
    meas = measurable[pid]
    m = pid.size
    new_lesion = prog & (rng.random(m) < 0.5)
    overall = np.select([prog, b == "NE", resp, ~meas],
                        ["PD", "NE", "PR", "NON-CR/NON-PD"], "SD").astype(object)
    base_sld = rng.uniform(30, 150, n).round()
    ratio = np.select([resp, b == "NE"], [rng.uniform(0.45, 0.65, m), np.nan],
                      rng.uniform(0.82, 0.95, m))
    nadir_ratio = np.where(pfs.resp_visit[pid] >= 0, 0.45, 0.82)
    ratio = np.where(prog & ~new_lesion, nadir_ratio * rng.uniform(1.3, 1.6, m), ratio)
    sld = np.where(meas, np.round(base_sld[pid] * ratio), np.nan)
    sld = np.where(prog & ~new_lesion & meas,
                   np.maximum(sld, np.round(base_sld[pid] * nadir_ratio) + 6), sld)
    target = np.where(~meas, "NA", np.select(
        [b == "NE", prog & ~new_lesion, resp], ["NE", "PD", "PR"], "SD")).astype(object)
    nontarget = np.select([b == "NE", prog & ~meas & ~new_lesion],
                          ["NE", "PD"], "NON-CR/NON-PD").astype(object)
    out = pd.DataFrame({"pid": pid, "visit": k, "day": day, "SLD": sld, "TARGET": target,
                        "NONTARGET": nontarget, "NEWLES": np.where(new_lesion, "Y", "N"),
                        "OVERALL": overall})
    out["METHOD"] = np.where(rng.random(m) < 0.9, "CT", "MRI")
    screening = pd.DataFrame({"pid": np.arange(n), "visit": -1,
                              "day": -rng.integers(1, 22, n),
                              "SLD": np.where(measurable, base_sld, np.nan)})
    screening["METHOD"] = np.where(rng.random(n) < 0.9, "CT", "MRI")
    for col in ("TARGET", "NONTARGET", "NEWLES", "OVERALL"):
        screening[col] = ""
    return pd.concat([screening, out], ignore_index=True).sort_values(
        ["pid", "visit"], kind="stable").reset_index(drop=True)
