"""CDISC CORE as a gate: run the CDISC Open Rules Engine on a folder of SDTM datasets and
turn its report into validation findings, with rule ids and an allow-list.

CORE itself is not a dependency of trialflow (it needs Python 3.12 and a rules cache):
it is run through ``run_core.sh`` of a CORE kit (``../shared/external/core`` beside the
repository, or the folder in ``TRIALFLOW_CORE``), in its own virtual environment
(``run_core.sh --setup``). Each rule with issues becomes one finding per dataset (rule
``CORE-000nnn``, the issue count, CORE's message); a rule that could not run is a
finding too (``execution error``).

A study's allow-list (``core-allowlist.yaml`` in the study folder, or ``--allow FILE``)
names the rules that do not apply to it, each with the reason::

    allow:
      - {rule: CORE-000744, reason: "compares FAOBJ with RELREC; the study has none"}
      - {rule: CORE-000717, datasets: [AE], reason: "..."}

An allowed finding stays in the report with severity ``info`` and its reason; any
other is an ``error``.

Example
-------
>>> findings = run_core(Path("build/sdtm"), Path("build/core"),
...                     Path("build/define/define-sdtm.xml"))  # doctest: +SKIP

From the command line (the CI gate; exit 1 on a finding not allowed)::

    python -m trialflow.core build/sdtm build/core --define build/define/define-sdtm.xml \\
        --allow specs/core-allowlist.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cerberus import Validator

from trialflow import ROOT
from trialflow.errors import SpecError, TrialflowError
from trialflow.spec import read_yaml
from trialflow.validate import ValidationFinding

__all__ = ["ALLOWLIST", "Allowed", "core_findings", "find_core", "load_allowlist",
           "main", "read_report", "run_core"]

#: The allow-list of a study folder.
ALLOWLIST = "core-allowlist.yaml"
#: The environment variable naming a CORE kit folder (holding run_core.sh).
ENV = "TRIALFLOW_CORE"
DEFAULT = ROOT.parent / "shared" / "external" / "core"

_SCHEMA = {"allow": {"type": "list", "required": True, "schema": {"type": "dict", "schema": {
    "rule": {"type": "string", "required": True, "regex": r"^CORE-\d{6}$"},
    "reason": {"type": "string", "required": True, "minlength": 10},
    "datasets": {"type": "list", "schema": {"type": "string"}},
}}}}


@dataclass(frozen=True)
class Allowed:
    """One allow-list entry: a rule, the datasets it is allowed in (all when empty), and
    why it does not apply."""

    rule: str
    reason: str
    datasets: tuple[str, ...] = ()

    def covers(self, rule: str, dataset: str) -> bool:
        return rule == self.rule and (not self.datasets or dataset in self.datasets)


def load_allowlist(path: Path | None) -> list[Allowed]:
    """The entries of an allow-list file (none when ``path`` is None or missing).

    Raises
    ------
    SpecError
        The file is not a valid allow-list (one line naming the file and the key).
    """
    if path is None or not Path(path).is_file():
        return []
    doc = read_yaml(Path(path))
    v = Validator(_SCHEMA, allow_unknown=False)
    if not isinstance(doc, dict) or not v.validate(doc):
        errors = v.errors if isinstance(doc, dict) else {"": "expected a mapping"}
        key = sorted(errors)[0]
        raise SpecError(str(path), f"{key}: {errors[key]}")
    return [Allowed(e["rule"], " ".join(e["reason"].split()), tuple(e.get("datasets", ())))
            for e in doc["allow"]]


def find_core() -> Path | None:
    """The ``run_core.sh`` of the CORE kit (``TRIALFLOW_CORE``, else beside the
    repository), or None."""
    folder = Path(os.environ.get(ENV) or DEFAULT)
    script = folder / "run_core.sh"
    return script if script.is_file() else None


def run_core(data: Path, out: Path, define: Path | None = None,
             encoding: str | None = None, script: Path | None = None) -> dict[str, Any]:
    """Run CORE (SDTMIG 3.4) on the datasets of ``data`` and return its JSON report.

    Raises
    ------
    TrialflowError
        No CORE kit, no CORE venv, or the engine failed (the log is named).
    """
    script = script or find_core()
    if script is None:
        raise TrialflowError(f"CDISC CORE is not installed: no run_core.sh in "
                             f"${ENV} or {DEFAULT} — get the CORE kit and run "
                             "`run_core.sh --setup` once")
    env = dict(os.environ)
    env.setdefault("CORE_POOL", "1")
    if encoding:
        env["CORE_ENCODING"] = encoding
    args = [str(script), str(data), str(out)] + ([str(define)] if define else [])
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    report = Path(out) / "core-report.json"
    if done.returncode != 0 or not report.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise TrialflowError(f"CDISC CORE failed (exit {done.returncode}): "
                             f"{' / '.join(tail)} (log: {Path(out) / 'core.log'})")
    return json.loads(report.read_text(encoding="utf-8"))


def read_report(report: dict[str, Any], allowed: Sequence[Allowed]
                ) -> list[ValidationFinding]:
    """CORE's report as findings: one per rule and dataset with issues, one per rule
    that could not run; allowed ones with severity ``info`` and the reason."""
    out = []

    def finding(dataset: str, rule: str, count: int, message: str) -> ValidationFinding:
        entry = next((a for a in allowed if a.covers(rule, dataset)), None)
        if entry is not None:
            return ValidationFinding(dataset, "", rule, "info", count, "",
                                     f"CORE: {message} — allowed: {entry.reason}")
        return ValidationFinding(dataset, "", rule, "error", count, "", f"CORE: {message}")

    for row in report.get("Issue_Summary", []):
        out.append(finding(str(row.get("dataset", "")).upper().removesuffix(".XPT"),
                           row["core_id"], int(row.get("issues", 0)),
                           str(row.get("message", ""))))
    for rule in report.get("Rules_Report", []):
        if rule.get("status") == "EXECUTION ERROR":
            out.append(finding("", rule["core_id"], 1, "execution error: "
                               + str(rule.get("message") or "the rule could not run")))
    return out


def core_findings(study: Any, data: Path, define: Path | None, out: Path
                  ) -> list[ValidationFinding]:
    """CORE's findings on a study's SDTM, with the study's allow-list (the
    ``validate --core`` stage)."""
    allowed = load_allowlist(Path(study.root) / ALLOWLIST)
    if define is not None and not Path(define).is_file():
        define = None
    print(f"  running CDISC CORE on {data}" + (f" with {define}" if define else "")
          + " (minutes)", file=sys.stderr)
    return read_report(run_core(data, out, define), allowed)


def summary(findings: Sequence[ValidationFinding]) -> str:
    """One line per rule: status, datasets and issue counts."""
    lines = []
    for f in sorted(findings, key=lambda f: (f.rule, f.dataset)):
        lines.append(f"{f.severity:<5} {f.rule} {f.dataset or '-':<8} {f.count:>6}  "
                     f"{f.message[:150]}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m trialflow.core DATA OUT [--define F] [--allow F] [--encoding E]``:
    run CORE, print its findings, exit 1 on a finding the allow-list does not name."""
    parser = argparse.ArgumentParser(prog="python -m trialflow.core",
                                     description=main.__doc__)
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--define", type=Path, default=None)
    parser.add_argument("--allow", type=Path, default=None)
    parser.add_argument("--encoding", default=None)
    args = parser.parse_args(argv)
    try:
        allowed = load_allowlist(args.allow)
        report = run_core(args.data, args.out, args.define, args.encoding)
    except TrialflowError as exc:
        print(f"trialflow.core: {exc}", file=sys.stderr)
        return 2
    findings = read_report(report, allowed)
    status: dict[str, int] = {}
    for r in report.get("Rules_Report", []):
        status[r["status"]] = status.get(r["status"], 0) + 1
    print(f"CORE on {args.data}: rules {sum(status.values())}: "
          + ", ".join(f"{k.lower()} {v}" for k, v in sorted(status.items())))
    print(summary(findings))
    used = {a.rule for a in allowed if any(a.covers(f.rule, f.dataset) for f in findings)}
    for a in allowed:
        if a.rule not in used:
            print(f"note: allow-list entry {a.rule} matched nothing (fixed? remove it)")
    bad = [f for f in findings if f.severity == "error"]
    print(f"CORE gate: {len(bad)} finding(s) not fixed and not allowed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
