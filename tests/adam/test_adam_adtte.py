"""ADTTE rules with the parameters declared in specs/adam/adtte.yaml (its tte step, run by
the verb engine), on small ADSL, ADRS and ADQS tables written by hand (admiral style)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from adam_tables import domain, spec, usubjid

from adam import engine

D = pd.Timestamp
SPEC = spec("ADTTE")
#: The tte step: the ADSL variables carried (keep) and the parameters.
TTE = next(s["tte"] for s in SPEC.derivation["steps"] if "tte" in s)


def adsl(*rows: dict) -> pd.DataFrame:
    """ADSL: every variable ADTTE carries; RANDDT 1 January 2020 unless given."""
    base = {v: "" for v in TTE["keep"]}
    base.update(STUDYID="PRECIOUS", TRT01P="PTC", RANDDT=D("2020-01-01"), ITTFL="Y",
                QOLFL="Y", DTHDT=pd.NaT, LSTALVDT=D("2020-12-31"), NACTDT=pd.NaT)
    out = pd.DataFrame([{**base, **r, "USUBJID": usubjid(r["SUBJID"])} for r in rows])
    for c in ("RANDDT", "DTHDT", "LSTALVDT", "NACTDT"):
        out[c] = pd.to_datetime(out[c])
    return out


def adrs_rows(*rows: tuple[str, str, str, str | None, str]) -> pd.DataFrame:
    """ADRS: (SUBJID, PARAMCD, AVALC, ADT, PDSRC)."""
    out = pd.DataFrame(rows, columns=["SUBJID", "PARAMCD", "AVALC", "ADT", "PDSRC"])
    out["USUBJID"] = out["SUBJID"].map(usubjid)
    out["ADT"] = pd.to_datetime(out["ADT"])
    out["ASEQ"] = range(1, len(out) + 1)
    return out


def adqs_rows(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """ADQS BTOI: (SUBJID, ADT, CRIT1FL)."""
    out = pd.DataFrame(rows, columns=["SUBJID", "ADT", "CRIT1FL"])
    out["USUBJID"] = out["SUBJID"].map(usubjid)
    out["PARAMCD"] = "BTOI"
    out["ADT"] = pd.to_datetime(out["ADT"])
    out["ASEQ"] = range(1, len(out) + 1)
    return out


def run(sl: pd.DataFrame, rs: pd.DataFrame | None = None, qs: pd.DataFrame | None = None,
        paramcd: str = "PFS") -> pd.DataFrame:
    rs = rs if rs is not None else adrs_rows()
    qs = qs if qs is not None else adqs_rows()
    out = engine.build({"ADSL": sl, "ADRS": rs, "ADQS": qs}, SPEC)
    return out[out["PARAMCD"] == paramcd].set_index("USUBJID")


def one(out: pd.DataFrame, subjid: str = "0001") -> pd.Series:
    return out.loc[usubjid(subjid)]


def test_first_event_wins_over_the_last_censoring_date() -> None:
    rs = adrs_rows(("0001", "PD", "Y", "2020-03-01", "RECIST"),
                   ("0001", "LSTA", "PD", "2020-05-01", ""))
    r = one(run(adsl({"SUBJID": "0001", "DTHDT": "2020-06-01"}), rs))
    assert (r["CNSR"], r["ADT"], r["AVAL"], r["EVNTDESC"], r["CNSDTDSC"]) == (
        0, D("2020-03-01"), 61, "Disease progression (RECIST 1.1)", "")
    assert (r["SRCDOM"], r["SRCVAR"], r["SRCSEQ"]) == ("ADRS", "ADT", 1)


def test_without_an_event_the_last_censoring_date_is_taken() -> None:
    rs = adrs_rows(("0001", "PD", "N", None, ""), ("0001", "LSTA", "SD", "2020-04-10", ""))
    r = one(run(adsl({"SUBJID": "0001"}), rs))
    assert (r["CNSR"], r["ADT"], r["CNSDTDSC"]) == (1, D("2020-04-10"),
                                                   "Last adequate tumour assessment")


def test_equal_dates_progression_and_death_the_source_declared_first_wins() -> None:
    rs = adrs_rows(("0001", "PD", "Y", "2020-03-01", "CLINICAL"))
    r = one(run(adsl({"SUBJID": "0001", "DTHDT": "2020-03-01"}), rs))
    assert (r["CNSR"], r["EVNTDESC"]) == (0, "Clinical progression")


def test_equal_dates_of_censoring_sources_take_the_one_declared_first() -> None:
    rs = adrs_rows(("0001", "LSTA", "SD", "2020-01-01", ""))
    r = one(run(adsl({"SUBJID": "0001"}), rs))
    assert (r["CNSR"], r["CNSDTDSC"], r["AVAL"]) == (1, "Last adequate tumour assessment", 1)


def test_death_without_progression_is_a_pfs_event() -> None:
    rs = adrs_rows(("0001", "PD", "N", None, ""), ("0001", "LSTA", "SD", "2020-02-12", ""))
    r = one(run(adsl({"SUBJID": "0001", "DTHDT": "2020-04-01"}), rs))
    assert (r["CNSR"], r["ADT"], r["EVNTDESC"], r["SRCDOM"]) == (
        0, D("2020-04-01"), "Death", "ADSL")


def test_no_post_baseline_assessment_censors_at_randomisation() -> None:
    rs = adrs_rows(("0001", "PD", "N", None, ""), ("0001", "BOR", "MISSING", None, ""))
    r = one(run(adsl({"SUBJID": "0001"}), rs))
    assert (r["CNSR"], r["AVAL"], r["CNSDTDSC"]) == (2, 1, "Randomisation (no adequate "
                                                            "assessment)")


def test_progression_after_a_new_therapy_censors_pfs_at_the_last_assessment_before() -> None:
    """Through ADRS: the PD after the new therapy does not count."""
    rs_sdtm = domain("RS", [
        dict(USUBJID=usubjid("0001"), RSSEQ=1, RSTESTCD="OVRLRESP", RSCAT="RECIST 1.1",
             RSSTRESC="SD", VISITNUM=1006, RSDTC="2020-02-12"),
        dict(USUBJID=usubjid("0001"), RSSEQ=2, RSTESTCD="OVRLRESP", RSCAT="RECIST 1.1",
             RSSTRESC="PD", VISITNUM=1012, RSDTC="2020-04-01")])
    sl = adsl({"SUBJID": "0001", "NACTDT": "2020-03-15", "MEASFL": "Y"})
    rs = engine.build({"RS": rs_sdtm, "ADSL": sl}, spec("ADRS"))
    r = one(run(sl, rs))
    assert (r["CNSR"], r["ADT"], r["CNSDTDSC"]) == (1, D("2020-02-12"),
                                                   "Last adequate tumour assessment")


def test_os_death_or_last_date_known_alive() -> None:
    sl = adsl({"SUBJID": "0001", "DTHDT": "2020-08-01"}, {"SUBJID": "0002"})
    out = run(sl, paramcd="OS")
    assert (one(out)["CNSR"], one(out)["AVAL"]) == (0, 214)
    r = one(out, "0002")
    assert (r["CNSR"], r["ADT"], r["EVNTDESC"]) == (1, D("2020-12-31"), "Last date known alive")


def test_duration_of_response_for_responders_from_the_first_response() -> None:
    rs = adrs_rows(("0001", "RSP", "Y", "2020-02-12", ""),
                   ("0001", "PD", "Y", "2020-05-01", "RECIST"),
                   ("0002", "RSP", "N", None, ""))
    out = run(adsl({"SUBJID": "0001"}, {"SUBJID": "0002"}), rs, paramcd="DOR")
    assert out.index.tolist() == [usubjid("0001")]
    r = one(out)
    assert (r["STARTDT"], r["ADT"], r["AVAL"], r["CNSR"]) == (
        D("2020-02-12"), D("2020-05-01"), 80, 0)


def test_time_to_deterioration_first_deterioration_else_last_questionnaire() -> None:
    qs = adqs_rows(("0001", "2020-01-22", "N"), ("0001", "2020-02-12", "Y"),
                   ("0001", "2020-03-04", "Y"), ("0002", "2020-01-22", "N"),
                   ("0002", "2020-02-12", "N"), ("0002", "2020-03-04", ""))
    sl = adsl({"SUBJID": "0001"}, {"SUBJID": "0002"}, {"SUBJID": "0003", "QOLFL": "N"})
    out = run(sl, qs=qs, paramcd="TTDBTOI")
    assert out.index.tolist() == [usubjid("0001"), usubjid("0002")]   # HR-QoL population
    assert (one(out)["CNSR"], one(out)["ADT"], one(out)["AVAL"]) == (0, D("2020-02-12"), 43)
    r = one(out, "0002")
    assert (r["CNSR"], r["ADT"], r["CNSDTDSC"]) == (1, D("2020-02-12"),
                                                   "Last post-baseline B-TOI assessment")


def test_adt_is_never_before_the_start_date() -> None:
    rs = adrs_rows(("0001", "PD", "Y", "2019-12-20", "RECIST"))
    r = one(run(adsl({"SUBJID": "0001"}), rs))
    assert (r["ADT"], r["AVAL"]) == (D("2020-01-01"), 1)


def test_adsl_variables_are_carried_and_the_spec_order_kept() -> None:
    out = engine.build({"ADSL": adsl({"SUBJID": "0001", "AGEGR1": ">=65", "TDM1LFL": "Y"}),
                       "ADRS": adrs_rows(), "ADQS": adqs_rows()}, SPEC)
    assert list(out.columns) == SPEC.variable_names
    # no DOR (no response), no TTDBTOI (no questionnaire: neither event nor censoring)
    assert out["PARAMCD"].tolist() == ["PFS", "OS"]
    assert set(out["AGEGR1"]) == {">=65"} and set(out["TDM1LFL"]) == {"Y"}
    assert set(out["AVALU"]) == {"DAYS"}


@pytest.mark.parametrize("paramcd", ["PFS", "OS", "DOR", "TTDBTOI"])
def test_every_parameter_is_declared_with_sources(paramcd: str) -> None:
    declared = {p["paramcd"]: p for p in TTE["parameters"]}
    assert declared[paramcd]["events"] and declared[paramcd]["censors"]


@pytest.mark.parametrize(("change", "says"), [
    (lambda p: p["events"].append({"dataset": "ADRSX", "date": "ADT", "description": "x"}),
     "step 1 (tte): reads ADRSX, which is not under derivation.inputs"),
    (lambda p: p["censors"][0].update(filter={"PARAMCD": {"like": "LS"}}),
     "step 1 (tte): parameter PFS: PARAMCD: unknown operator 'like'"),
    (lambda p: p["events"][0].pop("date"),
     "step 1 (tte): parameters.0.events.0.date: required field"),
    (lambda p: p["events"][0].update(condition={"PARAMCD": "PD"}),
     "step 1 (tte): parameters.0.events.0.condition: unknown field (did you mean "
     "description? allowed: cnsr, dataset, date, date_imputation, description, filter, "),
])
def test_a_broken_parameter_is_a_spec_error_naming_the_step(change, says) -> None:
    import copy
    import dataclasses

    from trialflow.errors import SpecError
    derivation = copy.deepcopy(dict(SPEC.derivation))
    step = next(s["tte"] for s in derivation["steps"] if "tte" in s)
    change(step["parameters"][0])
    broken = dataclasses.replace(SPEC, derivation=derivation)
    with pytest.raises(SpecError, match=re.escape(says)):
        engine.build({"ADSL": adsl({"SUBJID": "0001"}), "ADRS": adrs_rows(),
                      "ADQS": adqs_rows()}, broken)
