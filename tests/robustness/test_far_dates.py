"""Dates outside pandas' nanosecond range (1677-09-21 to 2262-04-11) stay dates (issue #17).

An AE that ended in 2300 (a typo for 2030) used to become a missing end date in ADaM, so
the serious-AE listing showed a resolved event as "not resolved". The raw check reports
the date (after the data cut-off), and every layer keeps it as the date it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from broken_raw import copy_extract, findings, read_raw, run_cli, set_value

from trialflow.derivations import complete_date, iso_bounds, study_day
from trialflow.isodates import as_dates, iso_days, sas_days
from trialflow.xpt import read_xpt, sas_date_text


def test_complete_and_partial_dates_of_any_year() -> None:
    dtc = pd.Series(["2300-03-05", "1600", "1600-02", "2016-02-30", "", "2262-04-12"])
    lo, hi = iso_bounds(dtc)
    assert [str(d.date()) if pd.notna(d) else None for d in lo] == [
        "2300-03-05", "1600-01-01", "1600-02-01", None, None, "2262-04-12"]
    assert [str(d.date()) if pd.notna(d) else None for d in hi] == [
        "2300-03-05", "1600-12-31", "1600-02-29", None, None, "2262-04-12"]
    full = complete_date(dtc)
    assert full.notna().tolist() == [True, False, False, False, False, True]
    # Study days across the nanosecond limit are whole days, as anywhere else.
    ref = complete_date(pd.Series(["2262-04-10"] * 6))
    assert study_day(full, ref).tolist()[5] == 3.0


def test_sas_dates_of_far_dates_round_trip() -> None:
    days = sas_days(iso_days(pd.Series(["2300-03-05", "1600-01-01", "1960-01-01"])))
    assert days.tolist() == [124246.0, -131487.0, 0.0]
    assert sas_date_text(days).tolist() == ["2300-03-05", "1600-01-01", "1960-01-01"]
    moments = pd.Series([pd.Timestamp("2300-03-05"), None], dtype=object)
    assert as_dates(moments).dt.year.tolist()[0] == 2300


@pytest.fixture(scope="module")
def far_build(tmp_path_factory: pytest.TempPathFactory, raw_extract: Path
              ) -> tuple[Path, str, str]:
    """The extract with a serious AE of a living subject ending on 5 March 2300, mapped
    to SDTM and ADaM and laid out as tables and listings."""
    from trialflow.cli import main

    work = tmp_path_factory.mktemp("far")
    raw = copy_extract(raw_extract, work)
    ae = read_raw(raw, "ae")
    alive = set(read_raw(raw, "survival").query("STATUS != 'DEAD'")["SUBJID"])
    pick = ae.index[ae["SUBJID"].isin(alive) & ae["ENDT"].ne("") & ae["SERIOUS"].eq("Y")]
    assert not pick.empty, "the extract has a resolved serious AE of a living subject"
    row = int(pick[0]) + 1
    set_value(raw, "ae", row, "ENDT", "05-MAR-2300")
    assert main(["sdtm", "--raw", str(raw), "--out", str(work / "sdtm"),
                 "--reports", str(work / "reports")]) == 0
    assert main(["adam", "--sdtm", str(work / "sdtm"), "--out", str(work / "adam"),
                 "--reports", str(work / "reports")]) in (0, 1)
    return work, ae.loc[row - 1, "SUBJID"], ae.loc[row - 1, "AETERM"]


def test_the_far_end_date_is_kept_in_sdtm_and_adam(far_build: tuple[Path, str, str]) -> None:
    work, subject, term = far_build
    ae = read_xpt(work / "sdtm" / "ae.xpt").data
    mine = ae[ae["USUBJID"].str.endswith(subject) & ae["AETERM"].eq(term)]
    assert "2300-03-05" in set(mine["AEENDTC"])
    adae = read_xpt(work / "adam" / "adae.xpt").data
    mine = adae[adae["USUBJID"].str.endswith(subject) & adae["AETERM"].eq(term)
                & adae["AEENDTC"].eq("2300-03-05")]
    assert len(mine) == 1
    assert mine["AENDT"].tolist() == [124246.0]  # days from 1960-01-01 to 2300-03-05
    assert np.isfinite(mine["AENDY"]).all()


def test_the_listing_shows_the_event_as_ended(
        far_build: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    work, subject, term = far_build
    out = run_cli(capsys, "tlf", "--adam", work / "adam", "--out", work / "tlf")
    assert out.code in (0, 1)
    book = openpyxl.load_workbook(work / "tlf" / "l_16_2_2_sae.xlsx")
    texts = [str(c.value) for row in book.active.iter_rows() for c in row if c.value]
    assert any("2300-03-05" in t for t in texts)


def test_the_raw_check_reports_the_date(far_build: tuple[Path, str, str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    work, _, _ = far_build
    out = run_cli(capsys, "check-raw", "--raw", work / "raw", "--reports", work / "rep")
    hits = findings(work / "rep" / "raw_findings.csv")
    assert out.code == 0  # a warning: after the data cut-off
    assert hits[["variable", "value", "rule"]].values.tolist() == [
        ["ENDT", "05-MAR-2300", "not_after"]]
