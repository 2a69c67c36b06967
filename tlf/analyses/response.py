"""Table 2 from ADRS: best overall response, objective response rate and its odds ratio.

The population is the subjects with measurable disease (ADSL MEASFL = Y) of an analysis
set: the ITT (``table2_response``, the publication's Table 2) or the FAS
(``table2_response_fas``, its sensitivity analysis); see :data:`RESPONSE_ANALYSES`.
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

#: analysis -> (output, ADSL flag of the analysis set); MEASFL = Y is required as well.
RESPONSE_ANALYSES: dict[str, tuple[str, str]] = {
    "table2_response": ("Table 2", "ITTFL"),
    "table2_response_fas": ("Table S12", "FASFL"),
}
#: Table 2 rows: level -> ADRS AVALC values counted.
BOR_LEVELS: dict[str, tuple[str, ...]] = {
    "CR": ("CR",), "PR": ("PR",), "SD": ("SD",), "PD": ("PD",),
    "unknown": ("NE",), "missing": ("MISSING",),
}
_UNKNOWN = ("NE", "MISSING")


def measurable_bor(adsl: pd.DataFrame, adrs: pd.DataFrame, flag: str = "ITTFL"
                   ) -> pd.DataFrame:
    """One record per measurable subject of the ``flag`` = Y set, with TRT01P and BOR
    (MISSING if none)."""
    pop = adsl.loc[is_yes(adsl, flag) & is_yes(adsl, "MEASFL"), ["USUBJID", "TRT01P"]]
    bor = adrs.loc[adrs["PARAMCD"] == "BOR", ["USUBJID", "AVALC"]].drop_duplicates("USUBJID")
    merged = pop.merge(bor, on="USUBJID", how="left", validate="one_to_one")
    merged["BOR"] = merged["AVALC"].fillna("MISSING").replace("", "MISSING")
    return merged.drop(columns="AVALC").reset_index(drop=True)


def orr_rows(data: pd.DataFrame, analysis: str = "table2_response") -> list[Row]:
    """Responders over subjects with a known BOR, with Clopper-Pearson limits (percent)."""
    output = RESPONSE_ANALYSES[analysis][0]
    known = data[~data["BOR"].isin(_UNKNOWN)]
    responder = known["BOR"].isin(["CR", "PR"])
    out = count_rows(analysis, output, known, responder, "ORR")
    counts = (responder.groupby(known["TRT01P"]).agg(["sum", "size"])
              .reindex(list(ARMS), fill_value=0))
    for arm, (x, n) in counts.iterrows():
        if n == 0:
            continue
        lcl, ucl = clopper_pearson(int(x), int(n), sided=2)
        _, upper = clopper_pearson(int(x), int(n), sided=1)
        out += rows(analysis, output, str(arm), "ORR", "",
                    {"lcl": 100.0 * lcl, "ucl": 100.0 * ucl, "upper_1s": 100.0 * upper},
                    "Clopper-Pearson exact")
    return out


def odds_ratio_rows(data: pd.DataFrame, analysis: str = "table2_response") -> list[Row]:
    """Woolf odds ratio of response, PTC vs TC, among all measurable subjects."""
    responder = data["BOR"].isin(["CR", "PR"])
    counts = (responder.groupby(data["TRT01P"]).agg(["sum", "size"])
              .reindex(list(ARMS), fill_value=0))
    (x1, n1), (x2, n2) = counts.loc[ARMS[0]], counts.loc[ARMS[1]]
    if n1 == 0 or n2 == 0:
        return []
    or_, lcl, ucl, upper = woolf_odds_ratio(int(x1), int(n1), int(x2), int(n2))
    return rows(analysis, RESPONSE_ANALYSES[analysis][0], COMPARISON, "ORR", "",
                {"or": or_, "or_lcl": lcl, "or_ucl": ucl, "or_upper_1s": upper},
                "Woolf logit")


def response_rows(adam: Mapping[str, pd.DataFrame], analysis: str) -> list[Row]:
    """BOR counts, response rate and odds ratio on the set of ``analysis``."""
    output, flag = RESPONSE_ANALYSES[analysis]
    data = measurable_bor(adam["ADSL"], adam["ADRS"], flag)
    out: list[Row] = []
    for level, values in BOR_LEVELS.items():
        out += count_rows(analysis, output, data, data["BOR"].isin(values), "BOR", level)
    return [*out, *orr_rows(data, analysis), *odds_ratio_rows(data, analysis)]


def build(adam: Mapping[str, pd.DataFrame]) -> list[Row]:
    """Table 2 counts, response rate and odds ratio, on the ITT and on the FAS."""
    return [row for analysis in RESPONSE_ANALYSES for row in response_rows(adam, analysis)]
