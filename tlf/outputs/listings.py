"""Section 16.2 patient listings: deaths, serious AEs, AEs leading to discontinuation and
best overall response.

Listings print ADaM records as they are, one row per qualifying record, and compute no
statistics. What they do derive is display only: numeric SAS dates as ISO 8601 text
(an imputed date followed by its ADaM imputation flag, e.g. ``"2018-07-01 (D)"``),
study days where ADaM has none (no day 0, as ADaM ``--DY``), days as months for
duration of response, and Y/N flags.

Every listing is built from a DataFrame with pandas operations, whatever its length, and
sorted explicitly by randomised arm (in :data:`~tlf.analyses.ARMS` order), subject and
date; the subject identifier is repeated on every row so that a reviewer can filter the
spreadsheet. The population is the subjects whose ADaM flags of the spec's
``parameters.population_flags`` are all Y (none: every record).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from tlf.analyses import ARMS, DAYS_PER_MONTH, is_yes
from tlf.document import Column, Listing
from tlf.format import est
from tlf.outputs import Context, title_block
from tlf.spec import OutputSpec
from trialflow.errors import SpecError
from trialflow.xpt import sas_date_text

__all__ = ["AE_COLUMNS", "BOR_COLUMNS", "DEATH_COLUMNS", "SUBJECT_COLUMNS", "dated", "iso_date",
           "layout_ae_disc", "layout_bor", "layout_deaths", "layout_sae",
           "led_to_discontinuation", "population", "serious", "sort_listing", "study_day",
           "whole", "yes_no"]

# Column widths are relative; 1.0 is about 50 pt of a 9 pt landscape letter page, so
# that the 14 columns of the AE listings fit: a subject id needs about 85 pt, an ISO
# date 48 pt, on one line.

#: The first columns of every listing: who the row is about.
SUBJECT_COLUMNS: tuple[Column, ...] = (
    Column("USUBJID", "Subject", 1.76),
    Column("TRT01P", "Arm", 0.6, "center"),
    Column("TRT01A", "Actual\narm", 0.6, "center"),
)


def dated(date_key: str, day_key: str, event: str) -> tuple[Column, Column]:
    """A date column headed "<event> date" and the study-day column that follows it."""
    return (Column(date_key, f"{event}\ndate", 0.96),
            Column(day_key, "Study\nday", 0.56, "right"))


DEATH_COLUMNS: tuple[Column, ...] = (
    *SUBJECT_COLUMNS,
    Column("AGE", "Age\n(years)", 0.66, "right"),
    Column("RANDDT", "Date of\nrandomisation", 1.16),
    Column("TRTSDT", "First dose\ndate", 0.96),
    Column("TRTEDT", "Last dose\ndate", 0.96),
    *dated("DTHDT", "DTHDY", "Death"),
    Column("DTHCAUS", "Cause of death", 2.0),
    Column("DTH30FL", "Death within\n30 days of\nlast dose", 1.0, "center"),
)

AE_COLUMNS: tuple[Column, ...] = (
    *SUBJECT_COLUMNS,
    Column("AEBODSYS", "System organ class", 1.2),
    Column("AEDECOD", "Preferred term", 1.04),
    Column("AETERM", "Verbatim term", 1.04),
    *dated("ASTDT", "ASTDY", "Start"),
    *dated("AENDT", "AENDY", "End"),
    Column("ATOXGRN", "Grade", 0.56, "center"),
    Column("AEREL", "Relationship", 0.92),
    Column("AEACN", "Action taken", 1.12),
    Column("AEOUT", "Outcome", 1.12),
)

BOR_COLUMNS: tuple[Column, ...] = (
    *SUBJECT_COLUMNS,
    Column("AVISIT", "Visit", 0.9),
    *dated("ADT", "ADY", "Assessment"),
    Column("AVALC", "Overall\nresponse", 1.0, "center"),
    Column("ANL01FL", "Counts\nfor BOR", 0.7, "center"),
    Column("BOR", "Best overall\nresponse", 1.0, "center"),
    Column("CBOR", "Best\nconfirmed\nresponse", 0.96, "center"),
    Column("RSPDT", "First\nresponse\ndate", 0.96),
    Column("DOR", "DoR\n(months)", 0.7, "right"),
    Column("DORCNSR", "DoR\ncensored", 0.8, "center"),
)


# --------------------------------------------------------------------- shared helpers


def iso_date(days: pd.Series, flags: pd.Series | None = None) -> pd.Series:
    """SAS numeric dates as ISO 8601 text, ``"YYYY-MM-DD"``; None where missing.

    Parameters
    ----------
    days : pandas.Series of float
        Days since 1960-01-01, as ADaM ``--DT`` variables hold them.
    flags : pandas.Series of str, optional
        The date's ADaM imputation flag (``--DTF``); a non-blank flag is printed after
        the date in parentheses, ``"2018-07-01 (D)"``.

    Returns
    -------
    pandas.Series of object

    Examples
    --------
    >>> iso_date(pd.Series([0.0, 21366.0, None]), pd.Series(["", "D", ""])).tolist()
    ['1960-01-01', '2018-07-01 (D)', None]
    """
    text = pd.Series(sas_date_text(days.astype(float).to_numpy()), index=days.index,
                     dtype=object)
    if flags is not None:
        flag = flags.fillna("").astype(str).str.strip()
        text = text.where(flag.eq(""), text + " (" + flag + ")")
    return text.astype(object).where(text.notna(), None)


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """Study day of ``dates`` relative to ``reference`` (day 1), with no day 0.

    The rule of ADaM ``--DY`` (specs/adam MT.ADY): the difference in days, plus 1 on or
    after the reference date. Missing where either date is.

    Examples
    --------
    >>> study_day(pd.Series([10.0, 9.0, 8.0, None]), pd.Series([9.0] * 4)).tolist()
    [2, 1, -1, <NA>]
    """
    diff = dates.astype(float) - reference.astype(float)
    return (diff + (diff >= 0)).astype("Int64")


def yes_no(condition: pd.Series, known: pd.Series | None = None) -> pd.Series:
    """``"Y"`` where ``condition`` holds, ``"N"`` where not, None where not ``known``."""
    flag = condition.fillna(False).astype(bool).map({True: "Y", False: "N"}).astype(object)
    return flag if known is None else flag.where(known.astype(bool), None)


def whole(values: pd.Series) -> pd.Series:
    """Whole numbers (ages, days, grades) as nullable integers: the spreadsheet keeps
    them numeric and the document prints no ``.0``."""
    return values.astype(float).round().astype("Int64")


def population(frame: pd.DataFrame, spec: OutputSpec) -> pd.DataFrame:
    """The records of ``frame`` whose flags of ``parameters.population_flags`` are Y.

    Raises
    ------
    SpecError
        ``frame`` lacks a flag the spec names (a misspelt flag would otherwise list
        nobody).
    """
    flags = spec.parameter("population_flags", [])
    missing = [f for f in flags if f not in frame.columns]
    if missing:
        raise SpecError(str(spec.path or spec.name), f"population flag(s) {missing} are not "
                        "variables of the dataset listed")
    keep = pd.Series(True, index=frame.index)
    for flag in flags:
        keep &= is_yes(frame, flag)
    return frame[keep]


def sort_listing(frame: pd.DataFrame, *by: str) -> pd.DataFrame:
    """``frame`` sorted by randomised arm (:data:`ARMS` order, others after), USUBJID,
    then ``by`` (missing values last); stable, index reset."""
    rank = frame["TRT01P"].map({arm: i for i, arm in enumerate(ARMS)}).fillna(len(ARMS))
    return (frame.assign(_ARMRANK=rank)
            .sort_values(["_ARMRANK", "USUBJID", *by], kind="mergesort", na_position="last")
            .drop(columns="_ARMRANK").reset_index(drop=True))


def _listing(spec: OutputSpec, columns: Sequence[Column], frame: pd.DataFrame) -> Listing:
    return Listing(title_block(spec), columns, frame, footnotes=spec.footnotes,
                   landscape=spec.landscape)


# --------------------------------------------------------------------------- listings


def layout_deaths(spec: OutputSpec, ctx: Context) -> Listing:
    """Listing 16.2.1: one row per subject who died (ADSL DTHFL = Y).

    Study day of death counts from randomisation. The 30-day flag is Y when death came
    no more than 30 days after the last dose (DTHDT - TRTEDT <= 30), blank for subjects
    never dosed or without a date of death.
    """
    adsl = population(ctx.adam["ADSL"], spec)
    dead = sort_listing(adsl[is_yes(adsl, "DTHFL")], "DTHDT")
    after_last_dose = dead["DTHDT"].astype(float) - dead["TRTEDT"].astype(float)
    frame = dead.assign(
        AGE=whole(dead["AGE"]),
        RANDDT=iso_date(dead["RANDDT"]),
        TRTSDT=iso_date(dead["TRTSDT"]),
        TRTEDT=iso_date(dead["TRTEDT"]),
        DTHDT=iso_date(dead["DTHDT"], dead["DTHDTF"]),
        DTHDY=study_day(dead["DTHDT"], dead["RANDDT"]),
        DTH30FL=yes_no(after_last_dose <= 30, known=after_last_dose.notna()),
    )
    return _listing(spec, DEATH_COLUMNS, frame)


def _ae_listing(spec: OutputSpec, ctx: Context,
                selected: Callable[[pd.DataFrame], pd.Series]) -> Listing:
    """The AE listing of the ADAE records ``selected`` picks, sorted by arm, subject,
    start date and AESEQ."""
    adae = population(ctx.adam["ADAE"], spec)
    ae = sort_listing(adae[selected(adae)], "ASTDT", "AESEQ")
    frame = ae.assign(
        ASTDT=iso_date(ae["ASTDT"], ae["ASTDTF"]),
        AENDT=iso_date(ae["AENDT"], ae["AENDTF"]),
        ASTDY=whole(ae["ASTDY"]),
        AENDY=whole(ae["AENDY"]),
        ATOXGRN=whole(ae["ATOXGRN"]),
    )
    return _listing(spec, AE_COLUMNS, frame)


def serious(adae: pd.DataFrame) -> pd.Series:
    """ADAE records of serious adverse events (AESER = Y)."""
    return is_yes(adae, "AESER")


def led_to_discontinuation(adae: pd.DataFrame) -> pd.Series:
    """ADAE records of AEs that led to treatment discontinuation: AEDISCFL = Y or
    AEACN = DRUG WITHDRAWN (what AEDISCFL is derived from), so that a record whose flag
    disagrees with its action taken is listed all the same."""
    return is_yes(adae, "AEDISCFL") | adae["AEACN"].astype(str).str.strip().eq(
        "DRUG WITHDRAWN")


def layout_sae(spec: OutputSpec, ctx: Context) -> Listing:
    """Listing 16.2.2: serious adverse events, one row per ADAE record."""
    return _ae_listing(spec, ctx, serious)


def layout_ae_disc(spec: OutputSpec, ctx: Context) -> Listing:
    """Listing 16.2.3: adverse events leading to treatment discontinuation."""
    return _ae_listing(spec, ctx, led_to_discontinuation)


def _subject_param(adrs: pd.DataFrame, paramcd: str, columns: dict[str, str]) -> pd.DataFrame:
    """The subject-level ADRS parameter ``paramcd``: USUBJID and ``columns`` renamed."""
    records = adrs.loc[adrs["PARAMCD"] == paramcd, ["USUBJID", *columns]]
    return records.drop_duplicates("USUBJID").rename(columns=columns)


def layout_bor(spec: OutputSpec, ctx: Context) -> Listing:
    """Listing 16.2.4: every overall response assessment with the subject's best overall
    response, best confirmed response, first response date and duration of response.

    One row per ADRS OVR record of a subject of the population; a subject without any
    assessment has one row with the assessment columns blank. The subject-level columns
    repeat on each of the subject's rows. DoR is ADTTE DOR AVAL (days) in months,
    printed for responders only.
    """
    adrs, adtte = ctx.adam["ADRS"], ctx.adam["ADTTE"]
    subjects = population(ctx.adam["ADSL"], spec)[["USUBJID", "TRT01P", "TRT01A"]]
    responders = adrs[(adrs["PARAMCD"] == "RSP") & is_yes(adrs, "AVALC")]
    dor = adtte.loc[adtte["PARAMCD"] == "DOR", ["USUBJID", "AVAL", "CNSR"]].drop_duplicates(
        "USUBJID")
    # One DoR per responder, not per row: formatting them one by one with est keeps the
    # rounding rule of every output at little cost.
    dor = dor.assign(DOR=(dor["AVAL"].astype(float) / DAYS_PER_MONTH).map(lambda m: est(m, 1)),
                     DORCNSR=yes_no(dor["CNSR"].astype(float) > 0))
    per_subject = (subjects
                   .merge(_subject_param(adrs, "BOR", {"AVALC": "BOR"}), "left", "USUBJID")
                   .merge(_subject_param(adrs, "CBOR", {"AVALC": "CBOR"}), "left", "USUBJID")
                   .merge(_subject_param(responders, "RSP", {"ADT": "RSPDT"}), "left",
                          "USUBJID")
                   .merge(dor[["USUBJID", "DOR", "DORCNSR"]], "left", "USUBJID"))
    ovr = adrs.loc[adrs["PARAMCD"] == "OVR",
                   ["USUBJID", "AVISIT", "AVISITN", "ADT", "ADY", "AVALC", "ANL01FL"]]
    rows = sort_listing(per_subject.merge(ovr, "left", "USUBJID", validate="one_to_many"),
                        "ADT", "AVISITN")
    frame = rows.assign(ADT=iso_date(rows["ADT"]), ADY=whole(rows["ADY"]),
                        RSPDT=iso_date(rows["RSPDT"]))
    return _listing(spec, BOR_COLUMNS, frame)


LAYOUTS = {
    "listing_deaths": layout_deaths,
    "listing_sae": layout_sae,
    "listing_ae_disc": layout_ae_disc,
    "listing_bor": layout_bor,
}
