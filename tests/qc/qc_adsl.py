"""QC derivation of ADSL (populations, strata, treatments, key dates) from SDTM.

Written from specs/adam/adsl.yaml (methods MT.*) and the publication only. Besides the
variables under QC (RANDFL, ITTFL, FASFL, SAFFL, MEASFL, QOLFL, TDM1LFL, STRAT1R-STRAT4R,
TRT01P(N), TRT01A(N), RANDDT, TRTSDT, TRTEDT) it derives what the QC of ADRS, ADTTE and
the ARD need: NACTDT, LSTALVDT, DTHDT, ECOGBL, ERSTAT, VISCFL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from qc_adqs import score_total
from qc_common import arm_numbers, impute_first, impute_last, read_domain, sas_date, supp_wide

#: The variables compared with production ADSL (key USUBJID).
QC_VARS = ["USUBJID", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "RANDDT", "TRTSDT",
           "TRTEDT", "STRAT1R", "STRAT2R", "STRAT3R", "STRAT4R", "RANDFL", "ITTFL", "FASFL",
           "SAFFL", "MEASFL", "QOLFL", "TDM1LFL"]
#: Supporting variables the other QC derivations use, compared too.
SUPPORT_VARS = ["USUBJID", "NACTDT", "LSTALVDT", "DTHDT", "ECOGBL", "ERSTAT", "VISCFL"]

#: MT.LSTALVDT: the sources of the date last known alive (their complete dates).
LAST_ALIVE_SOURCES = [
    {"dataset": "SV", "date": "SVSTDTC", "condition": {"VISITNUM": 9900}},
    {"dataset": "RS", "date": "RSDTC"}, {"dataset": "EX", "date": "EXSTDTC"},
    {"dataset": "EX", "date": "EXENDTC"}, {"dataset": "AE", "date": "AESTDTC"},
    {"dataset": "AE", "date": "AEENDTC"}, {"dataset": "QS", "date": "QSDTC"},
    {"dataset": "CV", "date": "CVDTC"},
    {"dataset": "DS", "date": "DSSTDTC", "condition": {"DSDECOD": "RANDOMIZED"}}]
#: MT.NPRREG, MT.PRAGENT, MT.TDM1LFL: the prior regimens (CM) and their SUPPCM qualifiers.
PRIOR_CATEGORY = "PRIOR ANTI-CANCER THERAPY"
PRIOR_SETTING = "LA/MBC"
PRIOR_QUALIFIERS = ["CMLINE", "CMPERTUZ", "CMTRASTU", "CMTDM1", "CMLAPAT", "CMOTHER2"]
LATEST_QNAM = "CMTDM1"
#: MT.QOLFL: the baseline questionnaire (cycle 1 day 1).
QOL_BASELINE_VISITNUM = 1
#: MT.RANDDT: the randomisation record of DS.
RANDOMISED = "RANDOMIZED"
#: The strata as randomised (SUPPDM QNAM) and the withdrawal of data use (MT.ITTFL).
STRATA = {"STRAT1R": "STRAT1", "STRAT2R": "STRAT2", "STRAT3R": "STRAT3",
          "STRAT4R": "STRAT4"}
DATA_USE_WITHDRAWN = {"QNAM": "DATAUSE", "QVAL": "N"}
#: MT.NACTDT: the new anti-cancer therapies (CM CMCAT).
SUBSEQUENT_THERAPY = "SUBSEQUENT ANTI-CANCER THERAPY"


def _yn(flag: pd.Series) -> pd.Series:
    """Booleans as the NY codelist's Y/N."""
    # eq(True): a subject missing from a mapped lookup (NaN) is N.
    return pd.Series(np.where(flag.eq(True), "Y", "N"), index=flag.index)


def _first_value(frame: pd.DataFrame, column: str) -> pd.Series:
    """The first value of a column per USUBJID (findings tests have one per subject)."""
    return frame.groupby("USUBJID")[column].first()


def _last_alive(sdtm: dict[str, pd.DataFrame]) -> pd.Series:
    """MT.LSTALVDT: the latest complete date of the sources the method lists."""
    dates = []
    for src in LAST_ALIVE_SOURCES:
        data = sdtm[src["dataset"].lower()]
        for var, value in (src.get("condition") or {}).items():
            data = data[data[var] == value]
        dates.append(pd.DataFrame({"USUBJID": data["USUBJID"],
                                   "DT": sas_date(data[src["date"]])}))
    return pd.concat(dates).dropna().groupby("USUBJID")["DT"].max()


def _death_date(dm: pd.DataFrame, lstalvdt: pd.Series) -> pd.Series:
    """MT.DTHDT: DTHDTC, a partial date imputed to the first day possible, but not before
    LSTALVDT when LSTALVDT falls inside the partial period."""
    first, _ = impute_first(dm["DTHDTC"])
    last, _ = impute_last(dm["DTHDTC"])
    alive = dm["USUBJID"].map(lstalvdt)
    inside = alive.between(first, last) & first.ne(last)
    return pd.Series(np.where(inside, np.fmax(first, alive), first), index=dm.index)


def _prior_regimens(cm: pd.DataFrame, suppcm: pd.DataFrame) -> pd.DataFrame:
    """Prior anti-cancer regimens of the LA/MBC setting with their SUPPCM qualifiers."""
    reg = cm[(cm["CMCAT"] == PRIOR_CATEGORY) & (cm["CMSCAT"] == PRIOR_SETTING)]
    quals = supp_wide(suppcm, PRIOR_QUALIFIERS, idvar="CMSEQ")
    reg = reg.merge(quals, on=["USUBJID", "CMSEQ"], how="left")
    reg["LINE"] = pd.to_numeric(reg["CMLINE"], errors="coerce")
    return reg


def _tdm1_latest(reg: pd.DataFrame) -> pd.Series:
    """MT.TDM1LFL per USUBJID (True/False) from the prior LA/MBC regimens.

    The spec says "the regimen with the highest line"; if two regimens shared the highest
    line, the flag is Y when any of them contained T-DM1 (the latest line included it).
    """
    qnam = LATEST_QNAM
    top = reg["LINE"].eq(reg.groupby("USUBJID")["LINE"].transform("max"))
    return (reg[top][qnam] == "Y").groupby(reg[top]["USUBJID"]).any()


def _qol_flag(qs: pd.DataFrame, trtsdt: pd.Series) -> pd.Series:
    """MT.QOLFL (before the ITT condition): a scored cycle 1 day 1 B-TOI dated on or before
    TRTSDT, and a B-TOI scored on a later questionnaire.

    The paper says "a baseline ... assessment and more than one postbaseline
    assessment"; the spec (the contract) says "a later FACT-B has a B-TOI score", i.e. at
    least one: the spec is followed.
    """
    btoi = score_total(qs, "BTOI")
    btoi = btoi[btoi["AVAL"].notna()]
    first_dose = btoi["USUBJID"].map(trtsdt)
    visit = QOL_BASELINE_VISITNUM
    base = btoi[btoi["VISITNUM"].eq(visit) & btoi["ADT"].le(first_dose)]
    base_dt = base.groupby("USUBJID")["ADT"].max()
    later = btoi["ADT"] > btoi["USUBJID"].map(base_dt)
    return later.groupby(btoi["USUBJID"]).any()


def derive_adsl(sdtm_dir: Path) -> pd.DataFrame:
    """ADSL from the SDTM XPT files of a build.

    Parameters
    ----------
    sdtm_dir : Path
        Folder of the SDTM ``.xpt`` files.

    Returns
    -------
    DataFrame
        One row per randomised subject with the QC_VARS and SUPPORT_VARS (dates as SAS
        day numbers).
    """
    names = ["dm", "suppdm", "ds", "ie", "ex", "fa", "mi", "rs", "cm", "suppcm", "qs", "sv",
             "ae", "cv"]
    sdtm = {n: read_domain(sdtm_dir, n) for n in names}
    dm, ds, ex = sdtm["dm"], sdtm["ds"], sdtm["ex"]

    # MT.RANDDT: only subjects with a RANDOMIZED disposition record are in ADSL.
    rand = ds[ds["DSDECOD"] == RANDOMISED]
    randdt = rand.assign(DT=sas_date(rand["DSSTDTC"])).groupby("USUBJID")["DT"].min()
    adsl = dm[dm["USUBJID"].isin(randdt.index)].reset_index(drop=True)
    subj = adsl["USUBJID"]
    adsl["RANDDT"] = subj.map(randdt)
    adsl["RANDFL"] = "Y"

    # Exposure: a dose is given when EXDOSE > 0 (dose_given).
    dosed = ex[ex["EXDOSE"] > 0]
    start = sas_date(dosed["EXSTDTC"])
    end = sas_date(dosed["EXENDTC"]).fillna(start)
    adsl["TRTSDT"] = subj.map(start.groupby(dosed["USUBJID"]).min())
    adsl["TRTEDT"] = subj.map(end.groupby(dosed["USUBJID"]).max())
    is_dosed = subj.isin(dosed["USUBJID"])

    # Treatments: arm codes; the actual arm is blank for a subject never dosed.
    numbers = arm_numbers()
    adsl["TRT01P"] = adsl["ARMCD"]
    adsl["TRT01PN"] = adsl["TRT01P"].map(numbers)
    adsl["TRT01A"] = adsl["ACTARMCD"].where(is_dosed, "")
    adsl["TRT01AN"] = adsl["TRT01A"].map(numbers)

    # Strata as randomised (SUPPDM), and the data-use withdrawal (ITT).
    strata = STRATA
    withdrawn = DATA_USE_WITHDRAWN
    supp = supp_wide(sdtm["suppdm"], [*strata.values(), withdrawn["QNAM"]]).set_index(
        "USUBJID")
    for var, qnam in strata.items():
        adsl[var] = subj.map(supp[qnam]).fillna("")
    no_data_use = subj.map(supp[withdrawn["QNAM"]]).eq(withdrawn["QVAL"])

    itt = ~no_data_use
    adsl["ITTFL"] = _yn(itt)
    adsl["FASFL"] = _yn(itt & ~subj.isin(sdtm["ie"]["USUBJID"]))
    adsl["SAFFL"] = _yn(itt & is_dosed)

    fa = sdtm["fa"]
    adsl["MEASFL"] = subj.map(_first_value(fa[fa["FATESTCD"] == "MEASDIS"],
                                           "FASTRESC")).fillna("")
    adsl["VISCFL"] = subj.map(_first_value(fa[fa["FATESTCD"] == "VISCDIS"],
                                           "FASTRESC")).fillna("")
    mi, rs = sdtm["mi"], sdtm["rs"]
    # Estrogen receptor: the CDISC MI test code ESTRCPT (C112274).
    adsl["ERSTAT"] = subj.map(_first_value(mi[mi["MITESTCD"] == "ESTRCPT"],
                                           "MISTRESC")).fillna("")
    adsl["ECOGBL"] = subj.map(_first_value(rs[rs["RSTESTCD"] == "ECOG101"], "RSSTRESN"))

    reg = _prior_regimens(sdtm["cm"], sdtm["suppcm"])
    adsl["TDM1LFL"] = _yn(subj.map(_tdm1_latest(reg)))
    qol = subj.map(_qol_flag(sdtm["qs"], adsl.set_index("USUBJID")["TRTSDT"]))
    adsl["QOLFL"] = _yn(itt & qol.eq(True))

    # MT.NACTDT: first subsequent anti-cancer therapy, partial start to the 1st.
    cm = sdtm["cm"]
    nact = cm[cm["CMCAT"] == SUBSEQUENT_THERAPY]
    nact_dt, _ = impute_first(nact["CMSTDTC"])
    adsl["NACTDT"] = subj.map(nact_dt.groupby(nact["USUBJID"]).min())

    adsl["LSTALVDT"] = subj.map(_last_alive(sdtm))
    adsl["DTHDT"] = _death_date(adsl, adsl.set_index("USUBJID")["LSTALVDT"])
    return adsl[QC_VARS + SUPPORT_VARS[1:]]
