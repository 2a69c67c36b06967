"""Table 2 from ADRS: best overall response, objective response rate and its odds ratio.

The population is the ITT subjects with measurable disease (ADSL ITTFL = MEASFL = Y).
BOR is the unconfirmed best overall response of ADRS (PARAMCD BOR); a subject without a
BOR record counts as MISSING. The response rate is CR + PR over the subjects whose best
response is known (not NE, not MISSING), as the publication does; the odds ratio uses
responders among all measurable subjects. Duration of response is in :mod:`tlf.analyses.tte`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from tlf.analyses import ARMS, COMPARISON, Row, count_rows, is_yes, rows
from trialflow.stats import clopper_pearson, woolf_odds_ratio

_OUTPUT = "Table 2"
#: Table 2 rows: level -> ADRS AVALC values counted.
BOR_LEVELS: dict[str, tuple[str, ...]] = {
    "CR": ("CR",), "PR": ("PR",), "SD": ("SD",), "PD": ("PD",),
    "unknown": ("NE",), "missing": ("MISSING",),
}
_UNKNOWN = ("NE", "MISSING")


def measurable_bor(adsl: pd.DataFrame, adrs: pd.DataFrame) -> pd.DataFrame:
    """One record per measurable ITT subject with TRT01P and BOR (MISSING if none)."""
    pop = adsl.loc[is_yes(adsl, "ITTFL") & is_yes(adsl, "MEASFL"), ["USUBJID", "TRT01P"]]
    bor = adrs.loc[adrs["PARAMCD"] == "BOR", ["USUBJID", "AVALC"]].drop_duplicates("USUBJID")
    merged = pop.merge(bor, on="USUBJID", how="left", validate="one_to_one")
    merged["BOR"] = merged["AVALC"].fillna("MISSING").replace("", "MISSING")
    return merged.drop(columns="AVALC").reset_index(drop=True)


def orr_rows(data: pd.DataFrame) -> list[Row]:
    """Responders over subjects with a known BOR, with Clopper-Pearson limits (percent)."""
    known = data[~data["BOR"].isin(_UNKNOWN)]
    responder = known["BOR"].isin(["CR", "PR"])
    out = count_rows("table2_response", _OUTPUT, known, responder, "ORR")
    counts = (responder.groupby(known["TRT01P"]).agg(["sum", "size"])
              .reindex(list(ARMS), fill_value=0))
    for arm, (x, n) in counts.iterrows():
        if n == 0:
            continue
        lcl, ucl = clopper_pearson(int(x), int(n), sided=2)
        _, upper = clopper_pearson(int(x), int(n), sided=1)
        out += rows("table2_response", _OUTPUT, str(arm), "ORR", "",
                    {"lcl": 100.0 * lcl, "ucl": 100.0 * ucl, "upper_1s": 100.0 * upper},
                    "Clopper-Pearson exact")
    return out


def odds_ratio_rows(data: pd.DataFrame) -> list[Row]:
    """Woolf odds ratio of response, PTC vs TC, among all measurable subjects."""
    responder = data["BOR"].isin(["CR", "PR"])
    counts = (responder.groupby(data["TRT01P"]).agg(["sum", "size"])
              .reindex(list(ARMS), fill_value=0))
    (x1, n1), (x2, n2) = counts.loc[ARMS[0]], counts.loc[ARMS[1]]
    if n1 == 0 or n2 == 0:
        return []
    or_, lcl, ucl, upper = woolf_odds_ratio(int(x1), int(n1), int(x2), int(n2))
    return rows("table2_response", _OUTPUT, COMPARISON, "ORR", "",
                {"or": or_, "or_lcl": lcl, "or_ucl": ucl, "or_upper_1s": upper},
                "Woolf logit")


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """Table 2 counts, response rate and odds ratio."""
    data = measurable_bor(adam["ADSL"], adam["ADRS"])
    out: list[Row] = []
    for level, values in BOR_LEVELS.items():
        out += count_rows("table2_response", _OUTPUT, data, data["BOR"].isin(values), "BOR",
                          level)
    return [*out, *orr_rows(data), *odds_ratio_rows(data)]
