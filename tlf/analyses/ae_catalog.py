"""Catalogue safety tables: TEAEs by system organ class and preferred term, and deaths.

Three analyses, each one row per displayed number:

* ``ae_soc_pt``: subjects with a treatment-emergent AE (TRTEMFL = Y), overall
  (``variable`` = ``"ANY"``), per system organ class (``variable`` = the SOC,
  ``level`` = ``""``) and per preferred term (``variable`` = its SOC, ``level`` = the
  PT); stats ``n``, ``N``, ``pct`` per arm and ``Total``.
* ``ae_soc_pt_grade``: the same items by the subject's maximum CTCAE grade (ATOXGRN) in
  the item: ``n_g1`` ... ``n_g5`` and ``pct_g1`` ... ``pct_g5``, plus any grade
  (``n``, ``N``, ``pct``). A subject counts once per item, at the worst grade.
* ``deaths``: ITT subjects who died (``variable`` = ``"deaths"``, from ADSL DTHFL), by
  primary cause (``DTHCAUS``, ``level`` = the cause) and by timing against the last
  dose (``timing``: within 30 days of TRTEDT, later, not treated); ``n``, ``N``,
  ``pct`` per arm and ``Total``.

The safety population is SAFFL = Y summarised by the randomised arm TRT01P, the
project's convention (:mod:`tlf.analyses.safety`). Rows come in display order: overall
first, then system organ classes by descending number of subjects over both arms, and
within each its preferred terms the same way (ties alphabetically); the layouts keep
that order. Everything is computed with group-bys over subjects, never a loop over
subjects or terms, so the cost grows linearly with the study.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from tlf.analyses import ARMS, Row, is_yes

#: Column groups of every catalogue table: the arms, then both arms together.
GROUPS: tuple[str, ...] = (*ARMS, "Total")
#: CTCAE grades shown by ``ae_soc_pt_grade``.
GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)
#: The ``variable`` of the "any TEAE" row.
ANY = "ANY"
#: Days after the last dose within which a death is counted as on treatment.
DEATH_WINDOW_DAYS = 30
#: ``deaths`` timing levels, in display order.
TIMING: tuple[str, ...] = (
    f"Within {DEATH_WINDOW_DAYS} days of last dose",
    f"More than {DEATH_WINDOW_DAYS} days after last dose",
    "Not treated",
)
_UNKNOWN_TIMING = "Date of death or last dose unknown"

_COUNT = "Count (% of N)"
_MAX_GRADE = "Count (% of N), maximum CTCAE grade per subject"


def _arm_population(adsl: pd.DataFrame, flag: str) -> pd.DataFrame:
    """Subjects of the population ``flag`` in one of :data:`ARMS`: USUBJID, TRT01P."""
    pop = adsl[is_yes(adsl, flag) & adsl["TRT01P"].isin(ARMS)]
    return pop[["USUBJID", "TRT01P"]].drop_duplicates("USUBJID")


def _denominators(pop: pd.DataFrame) -> pd.Series:
    """N per group of :data:`GROUPS`."""
    n = pop["TRT01P"].value_counts().reindex(list(ARMS), fill_value=0)
    return pd.concat([n, pd.Series({"Total": int(n.sum())})]).astype(int)


def _with_total(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``group`` column: each record once under its arm, once under
    ``Total``."""
    return pd.concat([frame.assign(group=frame["TRT01P"]), frame.assign(group="Total")],
                     ignore_index=True)


def _display_order(totals: pd.DataFrame) -> pd.DataFrame:
    """Sort items (``variable``, ``level``, ``total``) for display.

    The overall row first; SOCs (``level`` ``""``) by descending total then name; each
    SOC's terms right after it, by descending total then name.
    """
    soc_total = totals.loc[totals["level"] == "", ["variable", "total"]]
    keyed = totals.merge(soc_total.rename(columns={"total": "_soc_total"}), on="variable",
                         how="left")
    keyed["_not_any"] = keyed["variable"] != ANY
    keyed["_is_term"] = keyed["level"] != ""
    keyed = keyed.sort_values(["_not_any", "_soc_total", "variable", "_is_term", "total",
                               "level"],
                              ascending=[True, False, True, True, False, True],
                              kind="stable")
    return keyed[["variable", "level"]].reset_index(drop=True)


def _grid(items: pd.DataFrame, big_n: pd.Series) -> pd.DataFrame:
    """Every item crossed with every group of :data:`GROUPS`, item-major, with ``N``."""
    grid = items.assign(_item=np.arange(len(items))).merge(
        pd.DataFrame({"group": list(GROUPS), "_group": np.arange(len(GROUPS))}),
        how="cross")
    grid["N"] = grid["group"].map(big_n).astype(float)
    return grid.sort_values(["_item", "_group"], kind="stable").reset_index(drop=True)


def _pct(n: pd.Series, big_n: pd.Series) -> pd.Series:
    return (100.0 * n / big_n.where(big_n > 0)).astype(float)


def _to_rows(wide: pd.DataFrame, stats: Sequence[str], analysis: str, output: str,
             method: str) -> list[Row]:
    """One ARD row per item, group and stat of ``wide`` (already in display order)."""
    if wide.empty:
        return []
    long = wide.melt(id_vars=["_item", "_group", "group", "variable", "level"],
                     value_vars=list(stats), var_name="stat", value_name="value")
    long["_stat"] = long["stat"].map({s: i for i, s in enumerate(stats)})
    long = long.sort_values(["_item", "_group", "_stat"], kind="stable")
    long = long.assign(analysis=analysis, output=output, method=method,
                       value=long["value"].astype(float))
    columns = ["analysis", "output", "group", "variable", "level", "stat", "value", "method"]
    return long[columns].to_dict("records")


def _teae(adae: pd.DataFrame, saf: pd.DataFrame) -> pd.DataFrame:
    """TEAEs of safety subjects: USUBJID, TRT01P (from ADSL), soc, pt, grade."""
    teae = adae[is_yes(adae, "TRTEMFL")]
    soc = "AEBODSYS" if "AEBODSYS" in teae else "AESOC"

    def text(column: str) -> pd.Series:
        if column not in teae:
            return pd.Series("", index=teae.index, dtype=object)
        return teae[column].fillna("").astype(str).str.strip()

    events = pd.DataFrame({
        "USUBJID": teae["USUBJID"].to_numpy(),
        "soc": text(soc).replace("", "Uncoded").to_numpy(),
        "pt": text("AEDECOD").replace("", "Uncoded").to_numpy(),
        "grade": (pd.to_numeric(teae["ATOXGRN"], errors="coerce") if "ATOXGRN" in teae
                  else pd.Series(np.nan, index=teae.index)).to_numpy(dtype=float),
    })
    return events.merge(saf, on="USUBJID", how="inner")


def _subject_items(events: pd.DataFrame) -> pd.DataFrame:
    """One record per subject, group and item (overall, SOC, PT) with the maximum grade."""
    events = _with_total(events)
    keys = ["USUBJID", "group"]
    any_ = events.groupby(keys, sort=False)["grade"].max().reset_index()
    soc = events.groupby(["soc", *keys], sort=False)["grade"].max().reset_index()
    pt = events.groupby(["soc", "pt", *keys], sort=False)["grade"].max().reset_index()
    return pd.concat([
        any_.assign(variable=ANY, level=""),
        soc.rename(columns={"soc": "variable"}).assign(level=""),
        pt.rename(columns={"soc": "variable", "pt": "level"}),
    ], ignore_index=True)[["variable", "level", "group", "USUBJID", "grade"]]


def ae_rows(adsl: pd.DataFrame, adae: pd.DataFrame) -> list[Row]:
    """``ae_soc_pt`` and ``ae_soc_pt_grade``: TEAEs by SOC and PT, any and maximum grade.

    Parameters
    ----------
    adsl : pandas.DataFrame
        USUBJID, TRT01P, SAFFL.
    adae : pandas.DataFrame
        USUBJID, TRTEMFL, AEBODSYS (or AESOC), AEDECOD, ATOXGRN; a missing term or
        grade variable leaves only the overall row, or no grade counts.

    Returns
    -------
    list of dict
    """
    saf = _arm_population(adsl, "SAFFL")
    big_n = _denominators(saf)
    subjects = _subject_items(_teae(adae, saf))
    keys = ["variable", "level", "group"]
    n = subjects.groupby(keys).size().rename("n")
    totals = (n.xs("Total", level="group").rename("total").reset_index()
              if not n.empty else pd.DataFrame(columns=["variable", "level", "total"]))
    # The overall row is shown even when nobody had an adverse event.
    if not (totals["variable"] == ANY).any():
        totals = pd.concat([totals, pd.DataFrame({"variable": [ANY], "level": [""],
                                                  "total": [0]})], ignore_index=True)
    wide = _grid(_display_order(totals), big_n)
    wide = wide.merge(n.reset_index(), on=keys, how="left")
    wide["n"] = wide["n"].fillna(0)
    wide["pct"] = _pct(wide["n"], wide["N"])
    out = _to_rows(wide, ("n", "N", "pct"), "ae_soc_pt", "Table 14.3.3", _COUNT)

    # Subjects whose worst grade in the item is g: a crosstab of the maximum grades.
    by_grade = (subjects.dropna(subset=["grade"])
                .assign(grade=lambda f: f["grade"].astype(int))
                .groupby([*keys, "grade"]).size().unstack("grade")
                .reindex(columns=list(GRADES)))
    by_grade.columns = [f"n_g{g}" for g in GRADES]
    graded = wide.merge(by_grade.reset_index(), on=keys, how="left")
    stats: list[str] = []
    for g in GRADES:
        graded[f"n_g{g}"] = graded[f"n_g{g}"].fillna(0)
        graded[f"pct_g{g}"] = _pct(graded[f"n_g{g}"], graded["N"])
        stats += [f"n_g{g}", f"pct_g{g}"]
    out += _to_rows(graded, (*stats, "n", "N", "pct"), "ae_soc_pt_grade", "Table 14.3.4",
                    _MAX_GRADE)
    return out


def death_rows(adsl: pd.DataFrame) -> list[Row]:
    """``deaths``: ITT subjects who died, by cause and by timing against the last dose.

    A death is within the window when DTHDT - TRTEDT <= :data:`DEATH_WINDOW_DAYS`
    (ADSL numeric dates); subjects without a last dose are "Not treated". A row for an
    unknown death or last-dose date appears only if such a death exists.

    Parameters
    ----------
    adsl : pandas.DataFrame
        USUBJID, TRT01P, ITTFL, DTHFL, DTHCAUS, DTHDT, TRTEDT (missing ones count as
        empty).

    Returns
    -------
    list of dict
    """
    itt = (adsl[is_yes(adsl, "ITTFL") & adsl["TRT01P"].isin(ARMS)]
           .drop_duplicates("USUBJID").reset_index(drop=True))
    big_n = _denominators(itt)
    died = is_yes(itt, "DTHFL")

    def number(column: str) -> pd.Series:
        return (pd.to_numeric(itt[column], errors="coerce") if column in itt
                else pd.Series(np.nan, index=itt.index))

    days = number("DTHDT") - number("TRTEDT")
    untreated = number("TRTEDT").isna()
    hits = {("deaths", ""): died,
            ("timing", TIMING[0]): died & days.le(DEATH_WINDOW_DAYS),
            ("timing", TIMING[1]): died & days.gt(DEATH_WINDOW_DAYS),
            ("timing", TIMING[2]): died & untreated}
    unknown = died & ~untreated & days.isna()
    if unknown.any():
        hits["timing", _UNKNOWN_TIMING] = unknown
    cause = (itt["DTHCAUS"].fillna("").astype(str).str.strip() if "DTHCAUS" in itt
             else pd.Series("", index=itt.index))
    cause = cause.where(cause != "", "Unknown").where(died)
    # One indicator column per cause: causes are few, subjects many.
    causes = pd.get_dummies(cause.dropna()).reindex(itt.index, fill_value=False)
    indicators = pd.concat([pd.DataFrame(hits, index=itt.index),
                            causes.set_axis(pd.MultiIndex.from_product(
                                [["DTHCAUS"], causes.columns]), axis=1)], axis=1)
    # Each subject counts under its arm and under Total.
    doubled = pd.concat([indicators.astype(int)] * 2, ignore_index=True)
    group = np.r_[itt["TRT01P"].to_numpy(dtype=object),
                  np.full(len(itt), "Total", dtype=object)]
    counts = doubled.groupby(group).sum().reindex(list(GROUPS), fill_value=0)
    counts.index.name = "group"
    long = counts.rename_axis(columns=["variable", "level"]).stack(
        ["variable", "level"], future_stack=True).rename("n").reset_index()
    totals = long[long["group"] == "Total"].rename(columns={"n": "total"})
    # Display: all deaths, causes by frequency, then the timing rows in their fixed order.
    rank = {"deaths": 0, "DTHCAUS": 1, "timing": 2}
    timing_rank = {level: i for i, level in enumerate((*TIMING, _UNKNOWN_TIMING))}
    totals = totals.assign(_block=totals["variable"].map(rank),
                           _fixed=totals["level"].map(timing_rank).fillna(0))
    items = totals.sort_values(["_block", "_fixed", "total", "level"],
                               ascending=[True, True, False, True], kind="stable")
    wide = _grid(items[["variable", "level"]].reset_index(drop=True), big_n)
    wide = wide.merge(long, on=["variable", "level", "group"], how="left")
    wide["pct"] = _pct(wide["n"], wide["N"])
    return _to_rows(wide, ("n", "N", "pct"), "deaths", "Table 14.3.5", _COUNT)


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """The catalogue safety analyses: ``ae_soc_pt``, ``ae_soc_pt_grade``, ``deaths``."""
    adsl = adam["ADSL"]
    return [*ae_rows(adsl, adam["ADAE"]), *death_rows(adsl)]
