"""Helpers for the bad-input corpus: break a copy of a simulated raw extract, run the CLI,
read the reports it wrote.

Every case starts from the same simulated extract (``conftest.raw_extract``), copies it
into the test's own directory and breaks one thing with code, so the corpus needs no
stored files and follows the simulator when the forms change.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from trialflow.cli import main


@dataclass(frozen=True)
class Outcome:
    """What one ``trialflow`` command did: exit code and everything it printed."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def failure(self) -> str:
        """The one line saying why a stage stopped (``trialflow: STAGE failed: ...``)."""
        lines = [line for line in self.err.splitlines()
                 if line.startswith("trialflow: ") and " failed: " in line]
        assert len(lines) == 1, self.err
        return lines[0]


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> Outcome:
    """Run ``trialflow ARGS`` in-process and capture what it printed."""
    capsys.readouterr()  # drop what earlier steps printed
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    outcome = Outcome(code, captured.out, captured.err)
    # Whatever the input, trialflow explains; a traceback would be a bug in trialflow.
    assert "Traceback" not in outcome.text, outcome.text
    return outcome


def copy_extract(extract: Path, case_dir: Path) -> Path:
    """A private copy of the extract, to break: ``case_dir/raw``."""
    raw = case_dir / "raw"
    shutil.copytree(extract, raw)
    return raw


def read_raw(raw: Path, form: str) -> pd.DataFrame:
    """A raw form as text, independently of trialflow's reader."""
    return pd.read_csv(raw / f"{form}.csv", dtype=str, keep_default_na=False)


def write_raw(raw: Path, form: str, frame: pd.DataFrame, **to_csv: object) -> None:
    frame.to_csv(raw / f"{form}.csv", index=False, **to_csv)


def set_value(raw: Path, form: str, row: int, column: str, value: str) -> str:
    """Put ``value`` into data row ``row`` (1-based, as findings count) of a form;
    return the value it replaced."""
    frame = read_raw(raw, form)
    old = frame.loc[row - 1, column]
    frame.loc[row - 1, column] = value
    write_raw(raw, form, frame)
    return str(old)


def check_and_map(capsys: pytest.CaptureFixture[str], raw: Path
                  ) -> tuple[Outcome, Outcome, Path]:
    """``trialflow check-raw`` then ``trialflow sdtm`` on ``raw``; the reports directory."""
    reports = raw.parent / "reports"
    checked = run_cli(capsys, "check-raw", "--raw", raw, "--reports", reports)
    mapped = run_cli(capsys, "sdtm", "--raw", raw, "--out", raw.parent / "sdtm",
                     "--reports", reports)
    return checked, mapped, reports


def findings(report: Path) -> pd.DataFrame:
    """A findings report (raw_findings.csv, sdtm_findings.csv) as text."""
    return pd.read_csv(report, dtype=str, keep_default_na=False)


def finding(report: Path, rule: str) -> dict[str, str]:
    """The one finding of ``rule`` in a report, as a dict."""
    hits = findings(report)
    hits = hits[hits["rule"] == rule]
    assert len(hits) == 1, hits
    return hits.iloc[0].to_dict()


def reconciliation(reports: Path) -> pd.DataFrame:
    return pd.read_csv(reports / "reconciliation.csv", dtype=str, keep_default_na=False)


def assert_balanced(raw: Path, reports: Path) -> pd.DataFrame:
    """Every record of every raw file is mapped or rejected with a reason.

    Record counts come from the files themselves (pandas, not trialflow's reader), so a
    reader that silently dropped records would show here. Returns the summary rows by
    form.
    """
    report = reconciliation(reports)
    totals = report[report["status"] == "total"].set_index("form")
    files = {p.stem: len(read_raw(raw, p.stem)) for p in raw.glob("*.csv")}
    assert set(totals.index) == set(files)
    counts = totals[["raw", "mapped", "rejected"]].astype(int)
    assert counts["raw"].to_dict() == files
    assert (counts["raw"] == counts["mapped"] + counts["rejected"]).all(), counts
    detail = report[report["status"] != "total"]
    assert set(detail["status"]) <= {"rejected"}, detail  # nothing unaccounted
    assert detail["reason"].ne("").all()
    per_form = detail.groupby("form").size().reindex(counts.index, fill_value=0)
    assert (per_form == counts["rejected"]).all()
    return counts


def rejected(reports: Path, form: str) -> pd.DataFrame:
    """The rejected records of one form (row, SUBJID, reason)."""
    report = reconciliation(reports)
    return report[(report["form"] == form) & (report["status"] == "rejected")]
