"""QC derivation of the subject-level ADRS parameters BOR, RSP, PD and LSTA from SDTM RS.

Written from specs/adam/adrs.yaml (MT.OVR, MT.ANL01FL, MT.BOR, MT.RSP, MT.PD, MT.LSTA)
and the paper (BOR unconfirmed, "unknown" = NE kept apart from "missing"). PD and LSTA
are the inputs of ADTTE PFS and DOR, so they are compared too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from qc_common import sas_date

#: MT.ANL01FL: of several assessments on one date the worst counts, in this order.
WORST_ORDER = ["NE", "CR", "PR", "SD", "NON-CR/NON-PD", "PD"]
#: MT.BOR: study day (ADT - RANDDT + 1) from which SD (and NON-CR/NON-PD) count.
SD_MIN_DAYS = 35.0
#: MT.OVR: the overall responses (RS RSCAT = RECIST 1.1, RSTESTCD = OVRLRESP).
OVR_RECORDS = {"RSCAT": "RECIST 1.1", "RSTESTCD": "OVRLRESP"}
#: MT.PD: the clinical progressions (RS CLINPROG = Y).
CLINICAL_RECORDS = {"RSTESTCD": "CLINPROG", "RSSTRESC": "Y"}
PARAMS = ["BOR", "RSP", "PD", "LSTA"]


def _window(frame: pd.DataFrame) -> pd.Series:
    """Dated on or after RANDDT and before the first new anti-cancer therapy."""
    return frame["ADT"].ge(frame["RANDDT"]) & ~frame["ADT"].ge(frame["NACTDT"])


def analysed_ovr(rs: pd.DataFrame, adsl: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The OVR records that count (ANL01FL = Y) and the first clinical progression date.

    Parameters
    ----------
    rs : DataFrame
        SDTM RS.
    adsl : DataFrame
        QC ADSL (USUBJID, RANDDT, NACTDT).

    Returns
    -------
    ovr : DataFrame
        USUBJID, ADT, ADY, AVALC, RSSEQ of the OVR records with ANL01FL = Y.
    clinical : Series
        Per USUBJID, the first clinical progression (RS CLINPROG = Y) dated on or after
        RANDDT and before NACTDT.
    """
    dates = adsl[["USUBJID", "RANDDT", "NACTDT"]]
    flt = OVR_RECORDS
    ovr = rs[(rs["RSCAT"] == flt["RSCAT"]) & (rs["RSTESTCD"] == flt["RSTESTCD"])]
    ovr = ovr.merge(dates, on="USUBJID", how="inner")
    # MT.OVR: an assessment not done (or without result) is NE.
    not_done = ovr["RSSTAT"].eq("NOT DONE") | ovr["RSSTRESC"].eq("")
    ovr["AVALC"] = ovr["RSSTRESC"].mask(not_done, "NE")
    ovr["ADT"] = sas_date(ovr["RSDTC"])

    cf = CLINICAL_RECORDS
    clin = rs[(rs["RSTESTCD"] == cf["RSTESTCD"]) & (rs["RSSTRESC"] == cf["RSSTRESC"])]
    clin = clin.merge(dates, on="USUBJID", how="inner")
    clin["ADT"] = sas_date(clin["RSDTC"])
    clinical = clin[_window(clin)].groupby("USUBJID")["ADT"].min()

    ovr = ovr[_window(ovr)]
    first_pd = ovr[ovr["AVALC"] == "PD"].groupby("USUBJID")["ADT"].min()
    # "Not after" the first PD / clinical progression: on that date still counts.
    keep = ~ovr["ADT"].gt(ovr["USUBJID"].map(first_pd)) & \
        ~ovr["ADT"].gt(ovr["USUBJID"].map(clinical))
    ovr = ovr[keep].copy()
    # The worst of several on one date (ties of the same response: the first RSSEQ).
    ovr["RANK"] = ovr["AVALC"].map({r: i for i, r in enumerate(WORST_ORDER)})
    ovr = ovr.sort_values(["USUBJID", "ADT", "RANK", "RSSEQ"],
                          ascending=[True, True, False, True])
    ovr = ovr.drop_duplicates(["USUBJID", "ADT"])
    ovr["ADY"] = ovr["ADT"] - ovr["RANDDT"] + 1
    return ovr[["USUBJID", "ADT", "ADY", "AVALC", "RSSEQ"]], clinical


def _best(ovr: pd.DataFrame) -> pd.DataFrame:
    """MT.BOR: the first rule that applies, ADT the earliest date meeting it.

    "NON-CR/NON-PD likewise" is read as: any CR, PR, SD or NON-CR/NON-PD at study day
    >= 35 (CR, PR and SD are caught by the rules before it, so it is a NON-CR/NON-PD at
    day >= 35).
    """
    late = ovr["ADY"] >= SD_MIN_DAYS
    resp = ovr["AVALC"]
    rules = [("CR", resp.eq("CR")),
             ("PR", resp.eq("PR")),
             ("SD", resp.isin(["CR", "PR", "SD"]) & late),
             ("NON-CR/NON-PD", resp.isin(["CR", "PR", "SD", "NON-CR/NON-PD"]) & late),
             ("PD", resp.eq("PD")),
             ("NE", pd.Series(True, index=ovr.index))]
    hits = pd.concat([ovr.loc[cond, ["USUBJID", "ADT"]].assign(AVALC=name, RULE=i)
                      for i, (name, cond) in enumerate(rules)])
    return hits.sort_values(["USUBJID", "RULE", "ADT"]).drop_duplicates("USUBJID")


def derive_adrs(rs: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """ADRS subject-level records BOR, RSP, PD (with PDSRC) and LSTA.

    Parameters
    ----------
    rs : DataFrame
        SDTM RS.
    adsl : DataFrame
        QC ADSL (USUBJID, RANDDT, NACTDT).

    Returns
    -------
    DataFrame
        USUBJID, PARAMCD, AVALC, ADT, PDSRC: BOR, RSP and PD for every ADSL subject,
        LSTA for subjects with an adequate (not NE) assessment.
    """
    ovr, clinical = analysed_ovr(rs, adsl)
    subj = adsl[["USUBJID"]].reset_index(drop=True)

    best = _best(ovr).set_index("USUBJID")
    bor = subj.assign(PARAMCD="BOR",
                      AVALC=subj["USUBJID"].map(best["AVALC"]).fillna("MISSING"),
                      ADT=subj["USUBJID"].map(best["ADT"]), PDSRC="")

    first_resp = ovr[ovr["AVALC"].isin(["CR", "PR"])].groupby("USUBJID")["ADT"].min()
    rsp_dt = subj["USUBJID"].map(first_resp)
    rsp = subj.assign(PARAMCD="RSP", AVALC=np.where(rsp_dt.notna(), "Y", "N"),
                      ADT=rsp_dt, PDSRC="")

    # MT.PD: the earlier of RECIST PD and clinical progression; on the same date RECIST
    # (listed first in the spec, and in ADTTE's event sources).
    recist = subj["USUBJID"].map(ovr[ovr["AVALC"] == "PD"].groupby("USUBJID")["ADT"].min())
    clin = subj["USUBJID"].map(clinical)
    use_clin = clin.lt(recist) | (recist.isna() & clin.notna())
    pd_dt = recist.where(~use_clin, clin)
    pdsrc = np.select([use_clin, recist.notna()], ["CLINICAL", "RECIST"], "")
    prog = subj.assign(PARAMCD="PD", AVALC=np.where(pd_dt.notna(), "Y", "N"), ADT=pd_dt,
                       PDSRC=pdsrc)

    adequate = ovr[ovr["AVALC"] != "NE"].sort_values(["USUBJID", "ADT"])
    last = adequate.drop_duplicates("USUBJID", keep="last")
    lsta = last[["USUBJID", "AVALC", "ADT"]].assign(PARAMCD="LSTA", PDSRC="")

    cols = ["USUBJID", "PARAMCD", "AVALC", "ADT", "PDSRC"]
    return pd.concat([bor[cols], rsp[cols], prog[cols], lsta[cols]], ignore_index=True)
