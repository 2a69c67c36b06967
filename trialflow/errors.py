"""Errors trialflow reports to a person rather than as a traceback.

Every error names where the problem is (file, row, dataset, variable, value) and,
where it can, what to do. The CLI turns them into one message and exit code 2.
"""

from __future__ import annotations


class TrialflowError(Exception):
    """Base class for errors the CLI reports as a message (exit code 2)."""


class SpecError(TrialflowError):
    """A spec file that cannot be used: unreadable YAML or a schema violation."""

    def __init__(self, file: str, problem: str, dataset: str | None = None,
                 variable: str | None = None) -> None:
        self.file, self.problem, self.dataset, self.variable = file, problem, dataset, variable
        where = [f"spec {file}"]
        if dataset:
            where.append(f"dataset {dataset}")
        if variable:
            where.append(f"variable {variable}")
        super().__init__(f"{', '.join(where)}: {problem}")


class InputError(TrialflowError):
    """Raw input that cannot be read at all (missing file, wrong delimiter, bad encoding)."""

    def __init__(self, file: str, problem: str, row: int | None = None,
                 variable: str | None = None, value: object = None, fix: str | None = None) -> None:
        self.file, self.problem, self.row, self.variable, self.value = (
            file, problem, row, variable, value)
        parts = [f"{file}"]
        if row is not None:
            parts.append(f"row {row}")
        if variable:
            parts.append(f"variable {variable}")
        if value is not None:
            parts.append(f"value {value!r}")
        msg = f"{', '.join(parts)}: {problem}"
        if fix:
            msg += f" — {fix}"
        super().__init__(msg)
