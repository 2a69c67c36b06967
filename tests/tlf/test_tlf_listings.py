"""Section 16.2 listings: exact rows from hand-made ADaM frames, and the study's rendered
listings against the ADaM records they list."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from docx.enum.section import WD_ORIENT
from tlfkit import PRECIOUS_STUDY, precious_plan
from tlfkit import spec as _spec

from tlf.analyses import ARD_COLUMNS
from tlf.ard import read_adam
from tlf.document import Listing
from tlf.outputs import Context, check_outputs
from tlf.outputs.listings import iso_date, layout_listing, study_day
from tlf.spec import OutputSpec
from trialflow.errors import SpecError

ARMS = ("PTC", "TC")
#: SAS dates used below: 2018-01-01 and days after it.
JAN1 = float((pd.Timestamp("2018-01-01") - pd.Timestamp("1960-01-01")).days)


def spec(name: str) -> OutputSpec:
    return _spec(name)


def context(**adam: pd.DataFrame) -> Context:
    if "ADSL" not in adam:  # the subjects of the records, with their population flags
        adam["ADSL"] = adam["ADAE"][["USUBJID", "SAFFL"]].drop_duplicates("USUBJID")
    return Context(pd.DataFrame(columns=list(ARD_COLUMNS)), adam, Path("."),
                   precious_plan(), PRECIOUS_STUDY)


def listing_of(name: str, **adam: pd.DataFrame) -> Listing:
    return layout_listing(spec(name), context(**adam))


def cells(listing: Listing, *variables: str, name: str = "") -> list[tuple[object, ...]]:
    """The body cells of the columns of ``variables`` (all if none), row by row."""
    shown = [c["variable"] for c in spec(name).parameters["columns"]] if name else []
    picks = [shown.index(v) for v in variables] if variables else list(
        range(len(listing.columns)))
    return [tuple(r.cells[i] for i in picks) for r in listing.body]


# ------------------------------------------------------------------ shared helpers


def test_iso_date_prints_iso_8601_and_the_imputation_flag() -> None:
    got = iso_date(pd.Series([JAN1, JAN1 + 31, float("nan")]), pd.Series(["", "D", "M"]))
    assert got.tolist() == ["2018-01-01", "2018-02-01 (D)", None]


def test_study_day_has_no_day_zero() -> None:
    ref = pd.Series([JAN1] * 4)
    got = study_day(pd.Series([JAN1, JAN1 + 1, JAN1 - 1, float("nan")]), ref)
    assert got.tolist() == [1, 2, -1, pd.NA]


# ---------------------------------------------------------------------------- deaths


@pytest.fixture
def adsl() -> pd.DataFrame:
    """Four subjects; the TC subject sorts first by id but must follow the PTC ones."""
    return pd.DataFrame({
        "USUBJID": ["S-1", "S-2", "S-3", "S-4"],
        "TRT01P": ["TC", "PTC", "PTC", "PTC"],
        "TRT01A": ["TC", "PTC", "TC", ""],
        "AGE": [61.0, 45.0, 52.0, 70.0],
        "RANDDT": [JAN1] * 4,
        "TRTSDT": [JAN1 + 2, JAN1 + 3, JAN1 + 1, float("nan")],
        "TRTEDT": [JAN1 + 100, JAN1 + 60, JAN1 + 40, float("nan")],
        "DTHFL": ["Y", "Y", "", "Y"],
        # S-1 dies exactly 30 days after the last dose, S-2 31 days after, S-4 undosed.
        "DTHDT": [JAN1 + 130, JAN1 + 91, float("nan"), JAN1 + 9],
        "DTHDTF": ["", "D", "", ""],
        "DTHCAUS": ["ADVERSE EVENT", "DISEASE PROGRESSION", "", "OTHER"],
        "ITTFL": "Y", "SAFFL": ["Y", "Y", "Y", "N"], "MEASFL": ["Y", "Y", "N", "Y"],
    })


def test_deaths_rows_exactly(adsl: pd.DataFrame) -> None:
    listing = listing_of("l_16_2_1_deaths", ADSL=adsl.assign(RANDFL="Y"))
    assert [c.header for c in listing.columns][:3] == ["Subject", "Arm", "Actual\narm"]
    assert cells(listing) == [
        ("S-2", "PTC", "PTC", 45, "2018-01-01", "2018-01-04", "2018-03-02",
         "2018-04-02 (D)", 92, "DISEASE PROGRESSION", "N"),
        ("S-4", "PTC", "", 70, "2018-01-01", None, None, "2018-01-10", 10, "OTHER", None),
        ("S-1", "TC", "TC", 61, "2018-01-01", "2018-01-03", "2018-04-11", "2018-05-11",
         131, "ADVERSE EVENT", "Y"),
    ]
    assert listing.landscape


def test_deaths_30_day_flag_bounds(adsl: pd.DataFrame) -> None:
    # 30 days after the last dose is within 30 days; 31 is not; never dosed is blank.
    listing = listing_of("l_16_2_1_deaths", ADSL=adsl.assign(RANDFL="Y"))
    assert dict(cells(listing, "USUBJID", "DTH30FL", name="l_16_2_1_deaths")) == {
        "S-1": "Y", "S-2": "N", "S-4": None}


# ------------------------------------------------------------------------ AE listings


@pytest.fixture
def adae() -> pd.DataFrame:
    """Six AEs of three subjects, given out of order."""
    return pd.DataFrame({
        "USUBJID": ["S-2", "S-1", "S-2", "S-3", "S-2", "S-9"],
        "AESEQ": [3.0, 1.0, 1.0, 1.0, 2.0, 1.0],
        "TRT01P": ["PTC", "TC", "PTC", "PTC", "PTC", "TC"],
        "TRT01A": ["PTC", "TC", "PTC", "TC", "PTC", "TC"],
        "SAFFL": ["Y", "Y", "Y", "Y", "Y", "N"],
        "AEBODSYS": ["Investigations", "Cardiac disorders", "Gastrointestinal disorders",
                     "Investigations", "Gastrointestinal disorders", "Cardiac disorders"],
        "AEDECOD": ["Neutrophil count decreased", "Cardiac failure", "Diarrhoea",
                    "Weight decreased", "Nausea", "Cardiac failure"],
        "AETERM": ["NEUTROPENIA G3", "Heart failure", "diarrhoea", "weight loss", "nausea",
                   "CHF"],
        "ASTDT": [JAN1 + 40, JAN1 + 20, JAN1 + 40, JAN1 + 5, JAN1 + 31, JAN1 + 3],
        "ASTDTF": ["", "", "", "", "D", ""],
        "ASTDY": [41.0, 21.0, 41.0, 6.0, 32.0, 4.0],
        "AENDT": [JAN1 + 50, float("nan"), JAN1 + 45, JAN1 + 9, JAN1 + 59, JAN1 + 8],
        "AENDTF": ["", "", "", "", "D", ""],
        "AENDY": [51.0, float("nan"), 46.0, 10.0, 60.0, 9.0],
        "ATOXGRN": [3.0, 4.0, 1.0, 2.0, 2.0, 3.0],
        "AEREL": ["RELATED", "NOT RELATED", "RELATED", "RELATED", "RELATED", "RELATED"],
        "AEACN": ["DRUG WITHDRAWN", "DOSE NOT CHANGED", "DOSE REDUCED", "DRUG WITHDRAWN",
                  "DOSE NOT CHANGED", "DRUG WITHDRAWN"],
        "AEOUT": ["RECOVERED/RESOLVED", "NOT RECOVERED/NOT RESOLVED", "RECOVERED/RESOLVED",
                  "RECOVERED/RESOLVED", "RECOVERED/RESOLVED", "RECOVERED/RESOLVED"],
        "AESER": ["Y", "Y", "N", "N", "Y", "Y"],
        # S-3's record lacks the flag that AEACN implies: listed all the same.
        "AEDISCFL": ["Y", "N", "N", "N", "N", "Y"],
    })


def test_sae_listing_rows_exactly(adae: pd.DataFrame) -> None:
    listing = listing_of("l_16_2_2_sae", ADAE=adae)
    assert len(listing.columns) == 14
    assert cells(listing) == [
        ("S-2", "PTC", "PTC", "Gastrointestinal disorders", "Nausea", "nausea",
         "2018-02-01 (D)", 32, "2018-03-01 (D)", 60, 2, "RELATED", "DOSE NOT CHANGED",
         "RECOVERED/RESOLVED"),
        ("S-2", "PTC", "PTC", "Investigations", "Neutrophil count decreased",
         "NEUTROPENIA G3", "2018-02-10", 41, "2018-02-20", 51, 3, "RELATED",
         "DRUG WITHDRAWN", "RECOVERED/RESOLVED"),
        ("S-1", "TC", "TC", "Cardiac disorders", "Cardiac failure", "Heart failure",
         "2018-01-21", 21, None, None, 4, "NOT RELATED", "DOSE NOT CHANGED",
         "NOT RECOVERED/NOT RESOLVED"),
    ]


def test_sae_listing_keeps_only_serious_events_of_the_safety_population(
        adae: pd.DataFrame) -> None:
    listing = listing_of("l_16_2_2_sae", ADAE=adae)
    assert cells(listing, "USUBJID", "AEDECOD", name="l_16_2_2_sae") == [
        ("S-2", "Nausea"), ("S-2", "Neutrophil count decreased"), ("S-1", "Cardiac failure")]


def test_discontinuation_listing_takes_the_flag_or_drug_withdrawn(adae: pd.DataFrame) -> None:
    listing = listing_of("l_16_2_3_ae_disc", ADAE=adae)
    assert cells(listing, "USUBJID", "AEDECOD", "AEACN", name="l_16_2_3_ae_disc") == [
        ("S-2", "Neutrophil count decreased", "DRUG WITHDRAWN"),
        ("S-3", "Weight decreased", "DRUG WITHDRAWN"),
    ]


def test_same_start_date_sorted_by_aeseq(adae: pd.DataFrame) -> None:
    adae = adae.assign(AESER="Y", SAFFL="Y")
    listing = listing_of("l_16_2_2_sae", ADAE=adae)
    s2 = [r for r in cells(listing, "USUBJID", "AEDECOD", name="l_16_2_2_sae")
          if r[0] == "S-2"]
    # Nausea (day 32) first, then Diarrhoea (AESEQ 1) before Neutrophils (AESEQ 3).
    assert [r[1] for r in s2] == ["Nausea", "Diarrhoea", "Neutrophil count decreased"]


def test_a_misspelt_flag_is_an_error(adae: pd.DataFrame) -> None:
    sae = spec("l_16_2_2_sae")
    bad = replace(sae, parameters={**sae.parameters, "where": {"AESERFL": "Y"}})
    with pytest.raises(SpecError, match="AESERFL"):
        layout_listing(bad, context(ADAE=adae))


def test_an_undeclared_population_or_parameter_is_an_error(adae: pd.DataFrame) -> None:
    sae = spec("l_16_2_2_sae")
    with pytest.raises(SpecError, match="population 'safe'"):
        layout_listing(replace(sae, parameters={**sae.parameters, "population": "safe"}),
                       context(ADAE=adae))
    with pytest.raises(SpecError, match="unknown key 'sorted'"):
        check_outputs([replace(sae, parameters={**sae.parameters, "sorted": ["X"]})], None)


# ------------------------------------------------------------------------------ BOR


@pytest.fixture
def response_adam(adsl: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """S-1 (TC) a responder, S-2 (PTC) stable, S-4 (PTC) never assessed, S-3 not measurable."""
    ovr = pd.DataFrame({
        "USUBJID": ["S-1", "S-1", "S-2", "S-1", "S-3"],
        "PARAMCD": "OVR",
        "AVISIT": ["WEEK 12", "WEEK 6", "WEEK 6", "WEEK 18", "WEEK 6"],
        "AVISITN": [1012.0, 1006.0, 1006.0, 1018.0, 1006.0],
        "ADT": [JAN1 + 83, JAN1 + 41, JAN1 + 42, JAN1 + 125, JAN1 + 42],
        "ADY": [84.0, 42.0, 43.0, 126.0, 43.0],
        "AVALC": ["PR", "SD", "SD", "PD", "PR"],
        "ANL01FL": ["Y", "Y", "Y", "N", "Y"],
    })
    subject = pd.DataFrame({
        "USUBJID": ["S-1", "S-2", "S-4"] * 3 + ["S-1"],
        "PARAMCD": ["BOR"] * 3 + ["CBOR"] * 3 + ["RSP"] * 3 + ["LSTA"],
        "AVALC": ["PR", "SD", "MISSING", "SD", "SD", "MISSING", "Y", "N", "N", "PR"],
        "ADT": [JAN1 + 83, JAN1 + 42, float("nan"), JAN1 + 41, JAN1 + 42, float("nan"),
                JAN1 + 83, float("nan"), float("nan"), JAN1 + 83],
    })
    adrs = pd.concat([ovr, subject], ignore_index=True)
    adtte = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "PARAMCD": ["DOR", "PFS"],
                          # 3.25 months: half-up gives 3.3, Python's round 3.2.
                          "AVAL": [3.25 * 30.4375, 126.0], "CNSR": [1.0, 0.0]})
    return {"ADSL": adsl, "ADRS": adrs, "ADTTE": adtte}


def test_bor_listing_rows_exactly(response_adam: dict[str, pd.DataFrame]) -> None:
    listing = listing_of("l_16_2_4_bor", **response_adam)
    assert len(listing.columns) == 13
    assert cells(listing) == [
        ("S-2", "PTC", "PTC", "WEEK 6", "2018-02-12", 43, "SD", "Y", "SD", "SD", None, None,
         None),
        ("S-4", "PTC", "", None, None, None, None, None, "MISSING", "MISSING", None, None,
         None),
        ("S-1", "TC", "TC", "WEEK 6", "2018-02-11", 42, "SD", "Y", "PR", "SD",
         "2018-03-25", "3.3", "Y"),
        ("S-1", "TC", "TC", "WEEK 12", "2018-03-25", 84, "PR", "Y", "PR", "SD",
         "2018-03-25", "3.3", "Y"),
        ("S-1", "TC", "TC", "WEEK 18", "2018-05-06", 126, "PD", "N", "PR", "SD",
         "2018-03-25", "3.3", "Y"),
    ]


def test_bor_listing_excludes_subjects_without_measurable_disease(
        response_adam: dict[str, pd.DataFrame]) -> None:
    listing = listing_of("l_16_2_4_bor", **response_adam)
    assert "S-3" not in {r[0] for r in cells(listing, "USUBJID", name="l_16_2_4_bor")}


# ---------------------------------------------------------------- the study's listings

LISTINGS = ("l_16_2_1_deaths", "l_16_2_2_sae", "l_16_2_3_ae_disc", "l_16_2_4_bor")


@pytest.fixture(scope="module")
def study_adam(study_build) -> dict[str, pd.DataFrame]:
    return read_adam(study_build.out / "adam", ("ADSL", "ADAE", "ADRS"))


def xlsx_body(path: Path) -> tuple[list[str], list[tuple[object, ...]]]:
    """Column headers and body rows of a rendered listing spreadsheet."""
    rows = list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(
        values_only=True))
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Subject")
    end = next(i for i in range(head + 1, len(rows)) if all(v is None for v in rows[i]))
    return list(rows[head]), rows[head + 1:end]


def docx_body(path: Path) -> list[list[str]]:
    """Body rows (after the one header row) of a rendered listing document."""
    table = docx.Document(str(path)).tables[0]
    return [[c.text for c in row.cells] for row in table.rows[1:]]


def expected_rows(name: str, adam: dict[str, pd.DataFrame]) -> int:
    """How many ADaM records the listing ``name`` must show."""
    adsl, adae, adrs = adam["ADSL"], adam["ADAE"], adam["ADRS"]
    safety = adae[adae["SAFFL"] == "Y"]
    if name == "l_16_2_1_deaths":
        return int((adsl["DTHFL"] == "Y").sum())
    if name == "l_16_2_2_sae":
        return int((safety["AESER"] == "Y").sum())
    if name == "l_16_2_3_ae_disc":
        return int((safety["AEDISCFL"] == "Y").sum())
    measurable = set(adsl.loc[(adsl["ITTFL"] == "Y") & (adsl["MEASFL"] == "Y"), "USUBJID"])
    ovr = adrs[(adrs["PARAMCD"] == "OVR") & adrs["USUBJID"].isin(measurable)]
    return len(ovr) + len(measurable - set(ovr["USUBJID"]))


@pytest.mark.parametrize("name", LISTINGS)
def test_study_listing_opens_and_lists_every_qualifying_record(
        study_build, study_adam: dict[str, pd.DataFrame], name: str) -> None:
    out = study_build.out / "tlf"
    headers, body = xlsx_body(out / f"{name}.xlsx")
    words = docx_body(out / f"{name}.docx")
    want = expected_rows(name, study_adam)
    assert want > 0
    assert len(body) == want
    assert len(words) == want
    # The document and the spreadsheet print the same subjects in the same order.
    assert [r[0] for r in words] == [r[0] for r in body]
    assert docx.Document(str(out / f"{name}.docx")).sections[0].orientation == WD_ORIENT.LANDSCAPE


@pytest.mark.parametrize("name", LISTINGS)
def test_study_listing_sorted_by_arm_then_subject(study_build, name: str) -> None:
    headers, body = xlsx_body(study_build.out / "tlf" / f"{name}.xlsx")
    arm = headers.index("Arm")
    keys = [(ARMS.index(r[arm]), r[0]) for r in body]
    assert keys == sorted(keys)


def test_study_deaths_are_the_adsl_deaths(study_build,
                                          study_adam: dict[str, pd.DataFrame]) -> None:
    headers, body = xlsx_body(study_build.out / "tlf" / "l_16_2_1_deaths.xlsx")
    adsl = study_adam["ADSL"]
    assert {r[0] for r in body} == set(adsl.loc[adsl["DTHFL"] == "Y", "USUBJID"])


def test_study_deaths_from_adverse_events_match_the_paper(study_build) -> None:
    # "One AE-related death was recorded each in the PTC arm ... and TC arm".
    headers, body = xlsx_body(study_build.out / "tlf" / "l_16_2_1_deaths.xlsx")
    arm, cause = headers.index("Arm"), headers.index("Cause of death")
    assert sorted(r[arm] for r in body if r[cause] == "ADVERSE EVENT") == ["PTC", "TC"]


def test_study_sae_rows_are_the_serious_adae_records(
        study_build, study_adam: dict[str, pd.DataFrame]) -> None:
    headers, body = xlsx_body(study_build.out / "tlf" / "l_16_2_2_sae.xlsx")
    adae = study_adam["ADAE"]
    sae = adae[(adae["AESER"] == "Y") & (adae["SAFFL"] == "Y")]
    term = headers.index("Preferred term")
    assert sorted((r[0], r[term]) for r in body) == sorted(
        zip(sae["USUBJID"], sae["AEDECOD"], strict=True))
