"""RECIST 1.1 confirmation of a response, shared by the tumour-response verbs.

:func:`confirmed_response` says, per overall-response assessment, whether a CR or PR is
confirmed: by a later CR (for CR) or CR or PR (for PR) at least ``ref_confirm`` days on,
with at most ``max_nr_ne`` NE between and nothing else (SD too for a PR with
``accept_sd``), as admiralonco's ``event_joined`` confirmation has it; with
``no_pr_after_cr`` no PR among them may follow a CR (admiralonco's ``crsp_y_pr`` and
``cbor_pr``). :mod:`adam.verbs.response` (``best_response``, ``response``,
``clinical_benefit`` with ``confirmed: true``) calls it with a study's options.
"""

from __future__ import annotations

import pandas as pd

KEY = "USUBJID"


def confirmed_response(d: pd.DataFrame, level: str, ref_confirm: int = 28,
                       max_nr_ne: int = 1, accept_sd: bool = False,
                       no_pr_after_cr: bool = False) -> pd.Series:
    """Per assessment: is this CR (``level='CR'``) or PR confirmed?

    ``d`` holds the assessments (USUBJID, ADT, AVALC) sorted by subject and date. The
    confirming assessment is the first later one that is a CR (for CR), or a CR or PR
    (for PR), at least ``ref_confirm`` days on. The assessments after the candidate up to
    and including it may only be those (and SD, for PR, with ``accept_sd``) or NE, with
    at most ``max_nr_ne`` NE. With ``no_pr_after_cr`` (admiralonco's ``crsp_y_pr`` and
    ``cbor_pr``) no PR among them may follow a CR.

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
