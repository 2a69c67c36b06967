"""Shared helpers of the independent QC (double programming) of the PRECIOUS ADaM and ARD.

Written from the specs (``specs/``) and the publication only, never from the production
derivation code: reading SDTM, turning ISO 8601 text into SAS dates, imputing partial
dates, and running ``trialflow compare`` on a production selection against the QC
derivation.

Only the public core of trialflow is used (``trialflow.xpt.read_xpt``,
``trialflow.cli.main``, ``trialflow.compare.compare_datasets``); never ``adam``,
``tlf``, ``crf``, ``sdtm`` nor ``trialflow.stats`` (see ``test_qc_independence.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from trialflow.cli import main
from trialflow.compare import CompareResult, compare_datasets
from trialflow.xpt import read_xpt

#: The repository (``tests/qc`` is two levels below it).
REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "specs"
#: Day 0 of SAS dates.
SAS_EPOCH = pd.Timestamp("1960-01-01")
#: DESIGN.md: months = days / 30.4375 in every output.
MONTH = 30.4375


def read_domain(directory: Path, name: str) -> pd.DataFrame:
    """One SDTM (or ADaM) dataset as a frame: text ``''`` when blank, numbers as float.

    Parameters
    ----------
    directory : Path
        The folder holding ``<name>.xpt``.
    name : str
        Dataset name, any case (``"dm"``).

    Returns
    -------
    DataFrame
    """
    return read_xpt(Path(directory) / f"{name.lower()}.xpt").data.copy()


def spec(path: str) -> dict:
    """A YAML file of ``specs/`` (safe loading), e.g. ``spec("study.yaml")``."""
    with (SPECS / path).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def arm_numbers() -> dict[str, float]:
    """Arm code -> arm number, as declared in ``specs/study.yaml`` (PTC 1, TC 2)."""
    arms = spec("study.yaml")["study"]["arms"]
    return {a["code"]: float(a["number"]) for a in arms}


def sas_date(iso: pd.Series) -> pd.Series:
    """Complete ISO 8601 dates (``YYYY-MM-DD``, a time part ignored) as SAS day numbers.

    Partial or blank dates give NaN: they are never "complete" (ADSL's last-alive rule
    takes complete dates only; other partial dates are imputed explicitly).
    """
    text = iso.fillna("").astype(str).str.strip().str.slice(0, 10)
    complete = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    moment = pd.to_datetime(text.where(complete), format="%Y-%m-%d", errors="coerce")
    return (moment - SAS_EPOCH).dt.days.astype("float64")


def impute_first(iso: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO dates with a partial date imputed to the first day possible.

    Returns
    -------
    days : Series of float
        SAS dates (NaN when blank).
    flag : Series of str
        ``D`` when the day was imputed, ``M`` when month and day were, else ``''``.
    """
    text = iso.fillna("").astype(str).str.strip().str.slice(0, 10)
    month = text.str.fullmatch(r"\d{4}-\d{2}")
    year = text.str.fullmatch(r"\d{4}")
    filled = text.mask(month, text + "-01").mask(year, text + "-01-01")
    flag = pd.Series("", index=iso.index, dtype=object).mask(month, "D").mask(year, "M")
    return sas_date(filled), flag


def impute_last(iso: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO dates with a partial date imputed to the last day possible (see impute_first)."""
    text = iso.fillna("").astype(str).str.strip().str.slice(0, 10)
    month = text.str.fullmatch(r"\d{4}-\d{2}")
    year = text.str.fullmatch(r"\d{4}")
    first = pd.to_datetime(text.where(month) + "-01", format="%Y-%m-%d", errors="coerce")
    month_end = (first + pd.offsets.MonthEnd(0) - SAS_EPOCH).dt.days.astype("float64")
    days = sas_date(text).fillna(month_end).fillna(sas_date(text.where(year) + "-12-31"))
    flag = pd.Series("", index=iso.index, dtype=object).mask(month, "D").mask(year, "M")
    return days, flag


def supp_wide(supp: pd.DataFrame, qnams: list[str], idvar: str | None = None
              ) -> pd.DataFrame:
    """SUPP-- qualifiers as columns, one row per USUBJID (and IDVARVAL when given).

    Parameters
    ----------
    supp : DataFrame
        A SUPP-- dataset.
    qnams : list of str
        The QNAMs wanted; a QNAM absent from the data still gives a (blank) column.
    idvar : str, optional
        The parent's sequence variable (``CMSEQ``): the result then has it as a float
        column, so that it joins the parent on (USUBJID, --SEQ).
    """
    rows = supp[supp["QNAM"].isin(qnams)]
    index = ["USUBJID", "IDVARVAL"] if idvar else ["USUBJID"]
    wide = rows.pivot_table(index=index, columns="QNAM", values="QVAL", aggfunc="first")
    wide = wide.reindex(columns=qnams).fillna("").reset_index()
    wide.columns.name = None
    if idvar:
        wide[idvar] = pd.to_numeric(wide.pop("IDVARVAL"), errors="coerce")
    return wide


@dataclass(frozen=True)
class Comparison:
    """What one ``trialflow compare`` run gave.

    Attributes
    ----------
    code : int
        Exit status of ``trialflow compare`` (0 equal, 1 different).
    result : CompareResult
        The same comparison through the Python API, for the assertion messages.
    report : Path
        The XLSX report written by the CLI.
    summary : str
        A short text of what differs (for assertion messages).
    """

    code: int
    result: CompareResult
    report: Path
    summary: str


def _describe(result: CompareResult) -> str:
    """A compact account of the differences, to print when a QC assertion fails."""
    parts = [f"matched {result.matched}; base {len(result.base.data)} records, "
             f"QC {len(result.qc.data)}"]
    if not result.attributes.empty:
        parts.append("attributes:\n" + result.attributes.to_string())
    if not result.observations.empty:
        parts.append("observations:\n" + result.observations.head(20).to_string())
    if not result.values.empty:
        parts.append("values:\n" + result.values.to_string())
    return "\n".join(parts)


def run_compare(base: pd.DataFrame, qc: pd.DataFrame, keys: list[str], workdir: Path,
                name: str, abs_tol: float = 0.0, rel_tol: float = 0.0) -> Comparison:
    """Write production (base) and QC to CSV and compare them with ``trialflow compare``.

    Both sides go through the same CSV writer and reader, so that types and lengths are
    inferred the same way and only values (and records) can differ; the QC must hold
    exactly the production selection's variables.

    Parameters
    ----------
    base, qc : DataFrame
        The production selection and the QC derivation (dates as SAS numbers).
    keys : list of str
        Record keys (``USUBJID``, ``PARAMCD``...).
    workdir : Path
        A temporary folder (never the study build).
    name : str
        File stem of the two CSVs and the report.
    abs_tol, rel_tol : float
        Tolerances passed to the compare (0: exact).

    Returns
    -------
    Comparison
    """
    workdir.mkdir(parents=True, exist_ok=True)
    base_csv, qc_csv = workdir / f"{name}.csv", workdir / f"qc_{name}.csv"
    report = workdir / f"compare_{name}.xlsx"
    base.to_csv(base_csv, index=False)
    qc[list(base.columns)].to_csv(qc_csv, index=False)
    code = main(["compare", str(base_csv), str(qc_csv), "--keys", ",".join(keys),
                 "--abs-tol", repr(abs_tol), "--rel-tol", repr(rel_tol),
                 "--max-rows", "50", "--report", str(report)])
    result = compare_datasets(base_csv, qc_csv, keys, abs_tol=abs_tol, rel_tol=rel_tol,
                              max_rows=50)
    return Comparison(code, result, report, _describe(result))
