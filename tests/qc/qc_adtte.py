"""QC derivation of ADTTE (PFS, OS, DOR, TTDBTOI): STARTDT, ADT, AVAL, CNSR per subject.

Written from specs/adam/adtte.yaml (MT.TTE, MT.AVAL) and the paper's end-point
definitions, from the QC ADSL, ADRS and ADQS (never the production ones):

* the earliest event date wins (same date: the source listed first), CNSR 0;
* without an event, the latest censoring date (same date: the source listed first),
  CNSR that source's value;
* ADT = max(that date, STARTDT); AVAL = ADT - STARTDT + 1 days.
"""

from __future__ import annotations

import pandas as pd

#: Parameter order (ADTTEPRM).
PARAMS = ["PFS", "OS", "DOR", "TTDBTOI"]


def _dates(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """USUBJID and one date column renamed DT, without missing dates."""
    return frame[["USUBJID", column]].rename(columns={column: "DT"}).dropna(subset=["DT"])


def _time_to_event(start: pd.DataFrame, events: list[pd.DataFrame],
                   censors: list[tuple[pd.DataFrame, int]], paramcd: str) -> pd.DataFrame:
    """One parameter: ADT, CNSR, AVAL for every subject with a start date.

    Parameters
    ----------
    start : DataFrame
        USUBJID, DT: the origin (STARTDT) of each subject in the parameter's population.
    events : list of DataFrame
        USUBJID, DT per event source, in the spec's order (the order breaks ties).
    censors : list of (DataFrame, int)
        USUBJID, DT per censoring source with its CNSR value, in the spec's order.
    paramcd : str

    Returns
    -------
    DataFrame
        USUBJID, PARAMCD, STARTDT, ADT, AVAL, CNSR.
    """
    ev = pd.concat([e.assign(ORDER=i) for i, e in enumerate(events)])
    ev = ev.sort_values(["USUBJID", "DT", "ORDER"]).drop_duplicates("USUBJID")
    cn = pd.concat([c.assign(ORDER=i, CNSR=v) for i, (c, v) in enumerate(censors)])
    cn = cn.sort_values(["USUBJID", "DT", "ORDER"], ascending=[True, False, True])
    cn = cn.drop_duplicates("USUBJID")
    out = start.rename(columns={"DT": "STARTDT"}).reset_index(drop=True)
    ev_dt = out["USUBJID"].map(ev.set_index("USUBJID")["DT"])
    cn_dt = out["USUBJID"].map(cn.set_index("USUBJID")["DT"])
    out["CNSR"] = out["USUBJID"].map(cn.set_index("USUBJID")["CNSR"]).astype("float64")
    out.loc[ev_dt.notna(), "CNSR"] = 0.0
    out["DT"] = ev_dt.fillna(cn_dt)
    # A subject with neither an event nor a censoring date has no record (none should).
    out = out[out["DT"].notna()].copy()
    # ADT is never before STARTDT.
    out["ADT"] = out[["DT", "STARTDT"]].max(axis=1)
    out["AVAL"] = out["ADT"] - out["STARTDT"] + 1
    out["PARAMCD"] = paramcd
    return out[["USUBJID", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR"]]


def derive_adtte(adsl: pd.DataFrame, adrs: pd.DataFrame, adqs: pd.DataFrame
                 ) -> pd.DataFrame:
    """ADTTE from the QC ADSL, ADRS (BOR/RSP/PD/LSTA) and ADQS (BTOI).

    Parameters
    ----------
    adsl, adrs, adqs : DataFrame
        The QC derivations of qc_adsl, qc_adrs and qc_adqs.

    Returns
    -------
    DataFrame
        USUBJID, PARAMCD, STARTDT, ADT, AVAL, CNSR; PFS and OS for every ADSL subject,
        DOR for responders (RSP = Y), TTDBTOI for the HR-QoL population (QOLFL = Y).
    """
    rand = _dates(adsl, "RANDDT")
    death = _dates(adsl, "DTHDT")
    pd_rec = adrs[(adrs["PARAMCD"] == "PD") & (adrs["AVALC"] == "Y")]
    recist = _dates(pd_rec[pd_rec["PDSRC"] == "RECIST"], "ADT")
    clinical = _dates(pd_rec[pd_rec["PDSRC"] == "CLINICAL"], "ADT")
    lsta = _dates(adrs[adrs["PARAMCD"] == "LSTA"], "ADT")

    pfs = _time_to_event(rand, [recist, clinical, death], [(lsta, 1), (rand, 2)], "PFS")
    os_ = _time_to_event(rand, [death], [(_dates(adsl, "LSTALVDT"), 1)], "OS")

    # DOR starts at the first CR/PR (the RSP date) of responders.
    resp = _dates(adrs[(adrs["PARAMCD"] == "RSP") & (adrs["AVALC"] == "Y")], "ADT")
    dor = _time_to_event(resp, [recist, clinical, death], [(lsta, 1)], "DOR")

    # TTD in B-TOI: QOLFL = Y from RANDDT; event the first deterioration (CRIT1FL = Y),
    # censoring the last B-TOI with a change from baseline (CRIT1FL Y or N).
    btoi = adqs[adqs["PARAMCD"] == "BTOI"]
    worse = _dates(btoi[btoi["CRIT1FL"] == "Y"], "ADT")
    assessed = _dates(btoi[btoi["CRIT1FL"].isin(["Y", "N"])], "ADT")
    qol = rand[rand["USUBJID"].isin(adsl.loc[adsl["QOLFL"] == "Y", "USUBJID"])]
    ttd = _time_to_event(qol, [worse], [(assessed, 1)], "TTDBTOI")
    return pd.concat([pfs, os_, dor, ttd], ignore_index=True)
