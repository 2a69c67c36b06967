"""RECIST 1.1 response derivations for ADRS: best overall response, response, progression.

The input is one record per investigator overall-response assessment (``AVALC`` in CR,
PR, SD, NON-CR/NON-PD, PD, NE) with its date ``ADT``. Which assessments count:

* on or after randomisation;
* up to and including the first PD (later ones describe a new baseline), and up to
  the first clinical progression;
* before the start of a new anti-cancer therapy (its effect is not the study's).

Best overall response (unconfirmed, as PRECIOUS reports it), first rule that applies:
CR if any CR; PR if any PR; SD if any CR/PR/SD at or after the SD minimum (study day
``ADT - RANDDT + 1 >= sd_min_days``); NON-CR/NON-PD likewise; PD if any PD; NE
("unknown") if there are assessments but none of the above; MISSING if there are none.
The confirmed variant replaces the CR and PR rules by confirmed CR/PR: a later CR at
least 28 days on (for CR), or a later CR/PR at least 28 days on (for PR), with at most
one NE between and no progression.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialflow.isodates import DATE_UNIT

KEY = "USUBJID"
ORDER_WORST = {"NE": 0, "CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5}


def filter_assessments(ovr: pd.DataFrame, adsl: pd.DataFrame,
                       new_therapy: pd.DataFrame | None = None,
                       clinical: pd.DataFrame | None = None) -> pd.DataFrame:
    """The assessments that count: on/after RANDDT, to the first PD, before new therapy.

    ``ovr`` has USUBJID, ADT, AVALC (one record per assessment; several on one date
    are reduced to the worst). ``new_therapy`` has USUBJID and NTSTDT (first start).
    ``clinical`` has USUBJID and ADT of clinical progressions: assessments after the
    first one do not count either (progression ends the assessment of response).
    """
    d = ovr.merge(adsl[[KEY, "RANDDT"]], on=KEY, how="inner")
    d = d[d["ADT"].notna() & (d["ADT"] >= d["RANDDT"])]
    if new_therapy is not None and len(new_therapy):
        nt = new_therapy.groupby(KEY)["NTSTDT"].min()
        d = d[~(d["ADT"] >= d[KEY].map(nt))]
    if clinical is not None and len(clinical):
        cp = clinical.groupby(KEY)["ADT"].min()
        d = d[~(d["ADT"] > d[KEY].map(cp))]
    d = d.assign(_w=d["AVALC"].map(ORDER_WORST).fillna(-1))
    d = d.sort_values([KEY, "ADT", "_w"], ascending=[True, True, False], kind="stable")
    d = d.drop_duplicates([KEY, "ADT"])
    first_pd = d[d["AVALC"] == "PD"].groupby(KEY)["ADT"].min()
    d = d[~(d["ADT"] > d[KEY].map(first_pd))]
    return d.drop(columns="_w").reset_index(drop=True)


def confirmed_response(d: pd.DataFrame, level: str, ref_confirm: int = 28,
                       max_nr_ne: int = 1, accept_sd: bool = False,
                       no_pr_after_cr: bool = False) -> pd.Series:
    """Per assessment: is this CR (``level='CR'``) or PR confirmed?

    ``d`` holds the assessments (USUBJID, ADT, AVALC) sorted by subject and date. The
    confirming assessment is the first later one that is a CR (for CR), or a CR or PR
    (for PR), at least ``ref_confirm`` days on. The assessments after the candidate up to
    and including it may only be those (and SD, for PR, with ``accept_sd``) or NE, with
    at most ``max_nr_ne`` NE. With ``no_pr_after_cr`` (admiralonco's ``crsp_y_pr`` and
    ``cbor_pr``) no PR among them may follow a CR. The defaults are PRECIOUS's rule.

    Example
    -------
    >>> d = pd.DataFrame({"USUBJID": "1", "AVALC": ["PR", "CR", "PR"],
    ...                   "ADT": pd.to_datetime(["2020-01-01", "2020-01-10", "2020-02-01"])})
    >>> confirmed_response(d, "PR").tolist()
    [True, False, False]
    >>> confirmed_response(d, "PR", no_pr_after_cr=True).tolist()
    [False, False, False]
    """
    ok_next = {"CR": ["CR"], "PR": ["CR", "PR"]}[level]
    allowed = ok_next + ["NE"] + (["SD"] if accept_sd and level == "PR" else [])
    out = pd.Series(False, index=d.index)  # d is sorted by subject and date
    cand = d.index[d["AVALC"].eq(level)]
    if len(cand) == 0:
        return out
    # pair every candidate with the later assessments of the same subject
    pairs = d.loc[cand, [KEY, "ADT"]].reset_index().merge(
        d[[KEY, "ADT", "AVALC"]].reset_index(), on=KEY, suffixes=("", "_l"))
    pairs = pairs[pairs["index_l"] > pairs["index"]].sort_values(["index", "index_l"])
    confirms = (pairs["AVALC"].isin(ok_next)
                & ((pairs["ADT_l"] - pairs["ADT"]).dt.days >= ref_confirm))
    # the window: the later assessments up to and including the first that confirms
    before = confirms.groupby(pairs["index"]).cumsum() - confirms
    w = pairs.assign(_confirms=confirms, _bad=~pairs["AVALC"].isin(allowed),
                     _ne=pairs["AVALC"].eq("NE"))[before.eq(0)]
    g = w.groupby("index")
    ok = g["_confirms"].any() & ~g["_bad"].any() & (g["_ne"].sum() <= max_nr_ne)
    if no_pr_after_cr:
        cr_first = w["ADT_l"].where(w["AVALC"].eq("CR")).groupby(w["index"]).min()
        pr_last = w["ADT_l"].where(w["AVALC"].eq("PR")).groupby(w["index"]).max()
        ok &= cr_first.isna() | pr_last.isna() | (cr_first > pr_last)
    out.loc[ok.index[ok.to_numpy()]] = True
    return out


def _confirmed(d: pd.DataFrame, level: str) -> pd.Series:
    """Per assessment: is this CR (or PR) confirmed by a later one >= 28 days on, with
    at most one NE between (PRECIOUS's rule, :func:`confirmed_response`)?"""
    return confirmed_response(d, level)


def derive_bor(assessments: pd.DataFrame, adsl: pd.DataFrame, sd_min_days: int,
               confirmed: bool = False) -> pd.DataFrame:
    """Best overall response per subject of ``adsl``: USUBJID, AVALC, ADT.

    ``assessments`` are those :func:`filter_assessments` kept.
    """
    d = assessments.merge(adsl[[KEY, "RANDDT"]], on=KEY, how="inner", suffixes=("", "_sl"))
    d = d.sort_values([KEY, "ADT"], kind="stable").reset_index(drop=True)
    day = (d["ADT"] - d["RANDDT"]).dt.days + 1
    late = day >= sd_min_days
    v = d["AVALC"]
    if confirmed:
        cr = _confirmed(d, "CR")
        pr = _confirmed(d, "PR")
    else:
        cr, pr = v.eq("CR"), v.eq("PR")
    rules = [("CR", cr), ("PR", pr),
             ("SD", v.isin(["CR", "PR", "SD"]) & late),
             ("NON-CR/NON-PD", v.eq("NON-CR/NON-PD") & late),
             ("PD", v.eq("PD")),
             ("NE", v.isin(["CR", "PR", "SD", "NON-CR/NON-PD", "NE"]))]
    parts = []
    for rank, (label, hit) in enumerate(rules):
        first = d[hit].groupby(KEY)["ADT"].min().rename("ADT").reset_index()
        first["AVALC"] = label
        first["_rank"] = rank
        parts.append(first)
    best = pd.concat(parts, ignore_index=True).sort_values([KEY, "_rank"], kind="stable")
    best = best.drop_duplicates(KEY)
    out = adsl[[KEY]].merge(best[[KEY, "AVALC", "ADT"]], on=KEY, how="left")
    out["AVALC"] = out["AVALC"].fillna("MISSING")
    return out


def derive_first(assessments: pd.DataFrame, adsl: pd.DataFrame, values: list[str]
                 ) -> pd.DataFrame:
    """Y and the date of the first assessment in ``values``, else N (e.g. RSP: CR/PR)."""
    first = assessments[assessments["AVALC"].isin(values)].groupby(KEY)["ADT"].min()
    out = adsl[[KEY]].copy()
    out["ADT"] = out[KEY].map(first)
    out["AVALC"] = np.where(out["ADT"].notna(), "Y", "N")
    return out


def derive_last_adequate(assessments: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """The last assessment that is not NE (LSTA); AVALC and ADT empty when there is none."""
    ok = assessments[assessments["AVALC"].notna() & assessments["AVALC"].ne("NE")]
    last = ok.sort_values([KEY, "ADT"], kind="stable").drop_duplicates(KEY, keep="last")
    return adsl[[KEY]].merge(last[[KEY, "AVALC", "ADT"]], on=KEY, how="left")


def derive_progression(assessments: pd.DataFrame, clinical: pd.DataFrame,
                       adsl: pd.DataFrame) -> pd.DataFrame:
    """PD: Y with the earlier of the first RECIST PD and clinical progression, else N.

    ``clinical`` has USUBJID and ADT of the investigator's clinical progression.
    Returns USUBJID, AVALC, ADT and PDSRC ('RECIST' or 'CLINICAL').
    """
    recist = assessments[assessments["AVALC"] == "PD"].groupby(KEY)["ADT"].min()
    clin = clinical.groupby(KEY)["ADT"].min() if len(clinical) else pd.Series(dtype=DATE_UNIT)
    out = adsl[[KEY]].copy()
    r = out[KEY].map(recist)
    c = out[KEY].map(clin)
    out["ADT"] = pd.concat([r, c], axis=1).min(axis=1)
    out["PDSRC"] = np.select([r.notna() & (r <= c.fillna(r)), c.notna()], ["RECIST", "CLINICAL"],
                             "")
    out["AVALC"] = np.where(out["ADT"].notna(), "Y", "N")
    return out
