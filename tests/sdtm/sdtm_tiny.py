"""A three-patient raw extract, inline, mapped with the real specs.

* 0001 (site 101): PTC, treated with pertuzumab; one AE; tumour screening + week 6;
  one FACT-B with an unanswered item; LVEF; end of treatment; alive.
* 0002 (site 102): TC but the exposure form shows PERTUZUMAB; died; clinical progression.
* 0003 (site 101): PTC, never treated; withdrew consent to data use.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sdtm import SdtmResult, build_sdtm
from trialflow import SPECS
from trialflow.spec import (
    load_codelists,
    load_dataset_specs,
    load_dictionary,
    load_forms,
    load_study,
)

ROWS: dict[str, list[dict[str, Any]]] = {
    "enrol": [
        dict(STUDYID="PRECIOUS", SITEID="101", SUBJID="0001", CONSDT="01-AUG-2015",
             BRTHDT="UN-FEB-1955", AGE="60", SEX="female", RACE="Japanese",
             ETHNIC="NOT HISPANIC OR LATINO", ELIGYN="Yes"),
        dict(STUDYID="PRECIOUS", SITEID="102", SUBJID="0002", CONSDT="02-AUG-2015",
             BRTHDT="UN-UN-1950", AGE="65", SEX="F", RACE="ASIAN", ETHNIC="NOT REPORTED",
             ELIGYN="Y"),
        dict(STUDYID="PRECIOUS", SITEID="101", SUBJID="0003", CONSDT="03-AUG-2015",
             BRTHDT="", AGE="50", SEX="F", RACE="ASIAN", ETHNIC="NOT REPORTED", ELIGYN="Y"),
    ],
    "random": [
        dict(SUBJID="0001", RANDNO="1", RANDDT="05-AUG-2015", ARM="PTC", STRER="Pos",
             STRPER="LONG", STRNREG="2", STRVISC="VISCERAL", CHEMO="ERIBULIN"),
        dict(SUBJID="0002", RANDNO="2", RANDDT="06-AUG-2015", ARM="Arm B", STRER="NEGATIVE",
             STRPER="SHORT", STRNREG=">=3", STRVISC="NON-VISCERAL", CHEMO="DOCETAXEL"),
        dict(SUBJID="0003", RANDNO="3", RANDDT="07-AUG-2015", ARM="PTC", STRER="POSITIVE",
             STRPER="LONG", STRNREG="2", STRVISC="VISCERAL", CHEMO="VINORELBINE"),
    ],
    "exposure": [
        dict(SUBJID="0001", CYCLE="1", DRUG="PERTUZUMAB", STDT="10-AUG-2015",
             ENDT="10-AUG-2015", DOSE="840", DOSEU="mg", WEIGHT="50", REDUCED="N", REDREAS=""),
        dict(SUBJID="0001", CYCLE="2", DRUG="ERIBULIN", STDT="31-AUG-2015", ENDT="07-SEP-2015",
             DOSE="1.12", DOSEU="mg/m2", WEIGHT="50", REDUCED="Y", REDREAS="Adverse event"),
        dict(SUBJID="0002", CYCLE="1", DRUG="PERTUZUMAB", STDT="11-AUG-2015",
             ENDT="11-AUG-2015", DOSE="840", DOSEU="mg", WEIGHT="60", REDUCED="N", REDREAS=""),
        dict(SUBJID="0002", CYCLE="1", DRUG="CAPECITABINE", STDT="11-AUG-2015",
             ENDT="24-AUG-2015", DOSE="2000", DOSEU="MG/M2", WEIGHT="60", REDUCED="N",
             REDREAS=""),
    ],
    "ae": [
        dict(SUBJID="0001", AENO="1", AETERM="NEUTROPENIA G3", STDT="UN-AUG-2015",
             ENDT="02-SEP-2015", GRADE="3", SERIOUS="N", OUTCOME="Recovered",
             ACTION="DOSE REDUCED", RELPER="NOT RELATED", RELTRA="NOT RELATED",
             RELCHEM="Possibly related", SDTH="", SLIFE="", SHOSP="", SDISAB="", SCONG="",
             SMIE=""),
        dict(SUBJID="0002", AENO="1", AETERM="Respiratory failure", STDT="20-AUG-2015",
             ENDT="25-AUG-2015", GRADE="5", SERIOUS="Y", OUTCOME="FATAL",
             ACTION="NOT APPLICABLE", RELPER="", RELTRA="NOT RELATED", RELCHEM="NOT RELATED",
             SDTH="Y", SLIFE="N", SHOSP="N", SDISAB="N", SCONG="N", SMIE="N"),
    ],
    "tumour": [
        dict(SUBJID="0001", VISIT="Screening", ASSESSDT="04-AUG-2015", METHOD="CT", SLD="",
             TARGET="", NONTARGET="", NEWLES="", OVERALL=""),
        dict(SUBJID="0001", VISIT="Week 6", ASSESSDT="21-SEP-2015", METHOD="CT", SLD="",
             TARGET="NA", NONTARGET="NON-CR/NON-PD", NEWLES="N", OVERALL="NON-CR/NON-PD"),
        dict(SUBJID="0002", VISIT="Screening", ASSESSDT="05-AUG-2015", METHOD="MRI",
             SLD="50", TARGET="", NONTARGET="", NEWLES="", OVERALL=""),
    ],
    "clinprog": [dict(SUBJID="0002", PROGDT="18-AUG-2015", BASIS="PET")],
    "baseline": [
        dict(SUBJID=s, ASSESSDT="04-AUG-2015", ECOG=e, ER=er, PGR="", HER2IHC="3+",
             HER2ISH="", MEASDIS=m, VISCERAL="Y", METLUNG="Y", METLIVER="N", METBONE="N",
             METBRAIN="N", METLN="N", METOTH="N")
        for s, e, er, m in (("0001", "0", "Pos", "N"), ("0002", "1", "NEGATIVE", "Y"),
                            ("0003", "0", "POSITIVE", "Y"))],
    "factb": [dict(SUBJID="0001", VISIT="Cycle 1 Day 1", QSDT="10-AUG-2015",
                   **{c: "2" for c in ["GP1", "GP2", "GP3", "GP4", "GP5", "GP6", "GP7",
                                       "GS1", "GS2", "GS3", "GS4", "GS5", "GS6",
                                       "GE1", "GE2", "GE3", "GE4", "GE5", "GE6", "GF1",
                                       "GF2", "GF3", "GF4", "GF5", "GF6", "GF7", "B1", "B2",
                                       "B3", "B4", "B5", "B6", "B7", "B8", "B9", "P2"]},
                   GS7="")],
    "lvef": [dict(SUBJID="0001", VISIT="Screening", LVEFDT="03-AUG-2015", METHOD="ECHO",
                  LVEF="65"),
             dict(SUBJID="0001", VISIT="End of treatment", LVEFDT="15-SEP-2015",
                  METHOD="MUGA", LVEF="60")],
    "eot": [dict(SUBJID="0001", EOTDT="14-SEP-2015", REASON="PD", DETAIL=""),
            dict(SUBJID="0002", EOTDT="25-AUG-2015", REASON="DEATH", DETAIL="")],
    "survival": [
        dict(SUBJID="0001", STATUS="ALIVE", LSTCONDT="20-JUL-2019", DTHDT="", DTHCAUSE="",
             DTHDETL=""),
        dict(SUBJID="0002", STATUS="DEAD", LSTCONDT="", DTHDT="25-AUG-2015",
             DTHCAUSE="AE", DTHDETL="Fatal adverse event (see AE form)"),
    ],
    "withdrawal": [dict(SUBJID="0003", WDDT="08-AUG-2015", DATAUSE="N",
                        REASON="Withdrew consent before treatment")],
    "eligibility": [dict(SUBJID="0002", CRITID="IN06", CRITCAT="INCLUSION",
                         CRITTEXT="Prior pertuzumab for LA/MBC", FINDDT="01-DEC-2015")],
    "priorther": [
        dict(SUBJID="0001", SETTING="PERIOPERATIVE", LINE="", REGIMEN="P+T+Docetaxel",
             PERTUZ="Y", TRASTUZ="Y", TDM1="N", LAPAT="N", OTHHER2="N", STDT="UN-JAN-2012",
             ENDT="UN-JUN-2012"),
        dict(SUBJID="0001", SETTING="LA/MBC", LINE="1", REGIMEN="T-DM1", PERTUZ="N",
             TRASTUZ="N", TDM1="Y", LAPAT="N", OTHHER2="N", STDT="01-MAR-2014",
             ENDT="01-JUL-2015"),
    ],
    "nextther": [dict(SUBJID="0001", LINE="1", REGIMEN="Lapatinib + Capecitabine",
                      STDT="UN-OCT-2015")],
}


def raw_forms() -> dict[str, pd.DataFrame]:
    """Every form of specs/raw, with the rows above (missing columns blank)."""
    out = {}
    for name, form in load_forms().items():
        rows = ROWS.get(name, [])
        frame = pd.DataFrame(rows, columns=form.column_names).fillna("")
        out[name] = frame.astype(str)
    return out


def build_tiny() -> SdtmResult:
    return build_sdtm(raw_forms(), load_dataset_specs(SPECS / "sdtm"), load_codelists(),
                      load_study(), load_dictionary())


def records(result: SdtmResult, name: str, *cols: str) -> list[list[Any]]:
    """Values of some columns, records as lists; a missing number is None."""
    frame = result.datasets[name][list(cols)].astype(object)
    return frame.where(frame.notna(), None).values.tolist()
