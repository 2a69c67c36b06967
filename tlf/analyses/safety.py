"""Table 3 from ADAE and ADSL: subjects with each kind of adverse event, by TRT01P.

The population is SAFFL = Y and subjects are summarised by the randomised arm TRT01P
(ADSL's rule). A subject counts once per row whatever the number of events; only
treatment-emergent events (TRTEMFL = Y) count. Every row has a two-sided Fisher exact
p-value; the publication prints those of the summary rows, not of the adverse events of
special interest.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from tlf.analyses import Row, count_rows, is_yes

_OUTPUT = "Table 3"
#: Table 3 rows: variable -> the ADAE flag that marks the event.
AE_FLAGS: dict[str, str] = {
    "grade3_plus": "AEGR3FL",
    "serious": "AESER",
    "death_due_to_ae": "AEFATFL",
    "discontinuation_due_to_ae": "AEDISCFL",
    "dose_reduction_due_to_grade3_ae": "AERED3FL",
}
#: Adverse events of special interest: variable -> ADAE customised query.
SPECIAL_INTEREST: dict[str, str] = {
    "stomatitis": "CQ01NAM",
    "diarrhea": "CQ02NAM",
    "neutropenia": "CQ03NAM",
    "febrile_neutropenia": "CQ04NAM",
    "infusion_reaction": "CQ05NAM",
    "cardiac_dysfunction": "CQ06NAM",
    "skin_and_subcutaneous": "CQ07NAM",
}


def _subjects(adae: pd.DataFrame, mask: pd.Series) -> set[str]:
    return set(adae.loc[mask, "USUBJID"])


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """Table 3: n, N, pct per arm and a two-sided Fisher p for each summary row."""
    adsl, adae = adam["ADSL"], adam["ADAE"]
    saf = adsl[is_yes(adsl, "SAFFL")].reset_index(drop=True)
    teae = adae[is_yes(adae, "TRTEMFL")]
    out: list[Row] = []
    for variable, flag in AE_FLAGS.items():
        hit = saf["USUBJID"].isin(_subjects(teae, is_yes(teae, flag)))
        out += count_rows("table3_safety", _OUTPUT, saf, hit, variable, fisher=True)
    # LVEF decline is a subject-level finding (ADSL), not an adverse event.
    out += count_rows("table3_safety", _OUTPUT, saf, is_yes(saf, "LVEFDFL"), "lvef_decline",
                      fisher=True)
    grade3 = teae["ATOXGRN"] >= 3
    for variable, query in SPECIAL_INTEREST.items():
        # CQnnNAM holds the query's name on the events that meet it, blank otherwise.
        in_query = (teae[query].astype(str).str.strip().ne("") if query in teae
                    else pd.Series(False, index=teae.index))
        for level, mask in (("all grades", in_query), ("grade >=3", in_query & grade3)):
            hit = saf["USUBJID"].isin(_subjects(teae, mask))
            out += count_rows("table3_safety", _OUTPUT, saf, hit, variable, level,
                              fisher=True)
    return out
