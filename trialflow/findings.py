"""Findings: record-level problems in data, reported rather than raised.

A finding says where (source file or dataset, data row, variable), what (the value),
which rule it broke and what to do. Errors make a run exit 1; warnings are reported
only. A file that cannot be read at all is not a finding but an
:class:`~trialflow.errors.InputError`.

Example
-------
>>> f = Finding("ae.csv", 3, "GRADE", "7", "allowed", "GRADE must be one of 1-5")
>>> findings_frame([f]).loc[0, "rule"]
'allowed'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Literal

import pandas as pd

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem in one value (or one record) of a file or dataset.

    Attributes
    ----------
    source : str
        File or dataset the finding is about (e.g. ``build/raw/ae.csv`` or ``AE``).
    row : int or None
        1-based data row (the header is not counted); None for a whole-file finding.
    variable : str or None
        Column or variable name.
    value : str or None
        The offending value as it appears in the source.
    rule : str
        Short rule identifier (``required``, ``codelist``, ``impossible_date`` ...), stable
        so that reports can be filtered and compared between runs.
    message : str
        What is wrong and what to do about it, for a person.
    severity : {'error', 'warning'}
        Errors make the run exit with code 1.
    """

    source: str
    row: int | None
    variable: str | None
    value: str | None
    rule: str
    message: str
    severity: Severity = "error"


FINDING_COLUMNS: list[str] = [f.name for f in fields(Finding)]


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Turn findings into a DataFrame with one column per :class:`Finding` field.

    Parameters
    ----------
    findings : iterable of Finding

    Returns
    -------
    pandas.DataFrame
        Columns ``source, row, variable, value, rule, message, severity``; ``row`` is a
        nullable integer so whole-file findings keep an empty row. An empty input gives
        an empty frame with the same columns, so a report file always has its header.
    """
    frame = pd.DataFrame([asdict(f) for f in findings], columns=FINDING_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def count_errors(findings: Iterable[Finding]) -> int:
    """Number of findings with severity ``error``."""
    return sum(f.severity == "error" for f in findings)
