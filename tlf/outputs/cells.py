"""Printed numbers that know their ARD rows: how a document cell traces to the ARD.

A layout never formats a float it looked up itself: it asks :class:`ArdView` for a
:class:`Text` — a ``str`` (renderers print it as any text) that also carries, for each
number in it, the ARD row it prints and the printed form. :func:`cat` joins texts and
plain strings and keeps the references in order, so ``"90 (83.3)"`` refers to the
``n`` row and then the ``pct`` row. The build reads the references of every cell of
every output (:func:`trace_rows`) into ``trace.csv`` and the ARD's ``output_id``.

Formats (``spec`` of :meth:`ArdView.text` and of a ``{stat:spec}`` template field):

* an integer ``d``: the value rounded half up to ``d`` decimals (:func:`tlf.format.est`);
* ``p``: a p-value with 3 decimals (:func:`tlf.format.pvalue`);
* ``npct`` or ``npct(pctstat)``: a count with its percentage, ``"17 (19.5)"``, from the
  count and the percentage rows (``pct`` for ``n``, ``pct_g3`` for ``n_g3``);
  ``npct0`` ... ``npct2`` for other decimals of the percentage.

Example
-------
>>> view = ArdView(ard)  # doctest: +SKIP
>>> view.fill("{median:1} ({min:0}, {max:0})", At("t1", "Placebo", "AGE"))  # doctest: +SKIP
'57.0 (27, 81)'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import pandas as pd

from tlf.analyses.base import KEY
from tlf.format import NE, est, pvalue
from trialflow.errors import SpecError, TrialflowError
from trialflow.stats.descriptive import round_half_up

__all__ = ["At", "ArdView", "Ref", "Text", "cat", "npct_text", "trace_rows"]


@dataclass(frozen=True)
class Ref:
    """One printed number: the ARD row position (None: the ARD has no such row, printed
    NE), its key and the text printed."""

    row: int | None
    key: tuple[str, ...]
    text: str


class Text(str):
    """A string with the ARD rows of the numbers in it (:attr:`refs`, in order)."""

    refs: tuple[Ref, ...]

    def __new__(cls, value: str, refs: Iterable[Ref] = ()) -> Text:
        obj = super().__new__(cls, value)
        obj.refs = tuple(refs)
        return obj


def cat(*parts: str) -> Text:
    """Join texts and plain strings, keeping every reference in order.

    Examples
    --------
    >>> t = cat(Text("5", [Ref(0, (), "5")]), " (", Text("2", [Ref(1, (), "2")]), ")")
    >>> str(t), [r.row for r in t.refs]
    ('5 (2)', [0, 1])
    """
    refs: list[Ref] = []
    for part in parts:
        refs += getattr(part, "refs", ())
    return Text("".join(str(p) for p in parts), refs)


@dataclass(frozen=True)
class At:
    """Where in the ARD: an analysis, a group level, a variable and level, a subgroup.

    ``At(analysis, group, variable, level, group2, group2_level)``; :meth:`key` adds the
    statistic.
    """

    analysis: str
    group: str
    variable: str
    level: str = ""
    group2: str = ""
    group2_level: str = ""

    def key(self, stat: str) -> tuple[str, ...]:
        return (self.analysis, self.group, self.group2, self.group2_level, self.variable,
                self.level, stat)

    def but(self, **changes: str) -> At:
        """The same place with some fields changed (``at.but(group="Placebo")``)."""
        return replace(self, **changes)


def npct_text(n: float, pct: float, decimals: int = 1) -> str:
    """A count with its percentage as :func:`tlf.format.n_pct` prints it, from the
    count and the percentage the ARD holds: ``"0"`` for none, ``"(<0.1)"`` for a
    percentage that rounds to zero, ``"(>99.9)"`` for one below 100 that rounds to it.

    Examples
    --------
    >>> npct_text(17, 100 * 17 / 87), npct_text(0, 0.0), npct_text(1999, 99.95)
    ('17 (19.5)', '0', '1999 (>99.9)')
    """
    if n != n:
        return NE
    n = int(n)
    if n == 0:
        return "0"
    if pct != pct:
        return f"{n} ({NE})"
    rounded = float(round_half_up(pct, decimals))
    step = 10.0 ** -decimals
    if rounded == 0.0:
        return f"{n} (<{step:.{decimals}f})"
    if rounded >= 100.0 and pct < 100.0:
        return f"{n} (>{100.0 - step:.{decimals}f})"
    return f"{n} ({rounded:.{decimals}f})"


_FIELD = re.compile(r"\{([A-Za-z0-9_]+)(?::([A-Za-z0-9_()]+))?\}")
_NPCT = re.compile(r"^npct([0-9]?)(?:\(([A-Za-z0-9_]+)\))?$")


def _pct_stat(stat: str) -> str:
    """The percentage of a count statistic: ``pct`` for ``n``, ``pct_g3`` for ``n_g3``."""
    return "pct" + stat[1:] if stat.startswith("n") else f"{stat}_pct"


class ArdView:
    """Look up ARD values by key and print them as :class:`Text`.

    Parameters
    ----------
    ard : pandas.DataFrame
        The ARD (:func:`tlf.ard.read_ard`), columns :data:`tlf.analyses.ARD_COLUMNS`.

    Raises
    ------
    TrialflowError
        Two ARD rows share a key.
    """

    def __init__(self, ard: pd.DataFrame) -> None:
        self.frame = ard.reset_index(drop=True)
        #: The keys asked for but absent, in order (printed NE; the build warns).
        self.missing: list[dict[str, str]] = []
        keys = [tuple(str(v) for v in row) for row in self.frame[list(KEY)].to_numpy()]
        # A dict of key -> row position: one hash per lookup, however long the ARD.
        self._position: dict[tuple[str, ...], int] = {}
        for i, key in enumerate(keys):
            if self._position.setdefault(key, i) != i:
                raise TrialflowError(f"the ARD has two rows for "
                                     f"{dict(zip(KEY, key, strict=True))}")
        self._values = self.frame["stat"].to_numpy(dtype=float)

    # ------------------------------------------------------------------ lookups

    def position(self, at: At, stat: str) -> int | None:
        """The row position of a key, or None (recorded in :attr:`missing`)."""
        key = at.key(stat)
        found = self._position.get(key)
        if found is None:
            self.missing.append(dict(zip(KEY, key, strict=True)))
        return found

    def value(self, at: At, stat: str) -> float:
        """The value of one row; NaN when not estimable or when the ARD lacks the row
        (recorded in :attr:`missing`)."""
        pos = self.position(at, stat)
        return float("nan") if pos is None else float(self._values[pos])

    def has(self, at: At, stat: str) -> bool:
        """Whether the ARD holds that row."""
        return at.key(stat) in self._position

    def rows(self, analysis: str, **where: str) -> pd.DataFrame:
        """The rows of ``analysis`` whose columns equal ``where`` (ARD order)."""
        keep = self.frame["analysis_id"] == analysis
        for column, wanted in where.items():
            keep &= self.frame[column] == wanted
        return self.frame[keep]

    def levels(self, at: At, stat: str = "n") -> list[str]:
        """The ``variable_level`` values of ``at``'s analysis, group and variable that
        have ``stat``, in ARD order."""
        found = self.rows(at.analysis, group1_level=at.group, variable=at.variable,
                          stat_name=stat, group2=at.group2, group2_level=at.group2_level)
        return list(dict.fromkeys(found["variable_level"]))

    # ------------------------------------------------------------------ printing

    def text(self, at: At, stat: str, spec: str | int = 1) -> Text:
        """One statistic printed by ``spec`` (module docstring)."""
        spec = str(spec)
        match = _NPCT.match(spec)
        if match:
            decimals = int(match.group(1) or 1)
            pct = match.group(2) or _pct_stat(stat)
            n_pos, p_pos = self.position(at, stat), self.position(at, pct)
            n = float("nan") if n_pos is None else float(self._values[n_pos])
            p = float("nan") if p_pos is None else float(self._values[p_pos])
            shown = npct_text(n, p, decimals)
            refs = [Ref(n_pos, at.key(stat), shown.split(" ")[0])]
            if " (" in shown:
                refs.append(Ref(p_pos, at.key(pct), shown.split(" (", 1)[1].rstrip(")")))
            return Text(shown, refs)
        pos = self.position(at, stat)
        value = float("nan") if pos is None else float(self._values[pos])
        if spec == "p":
            shown = pvalue(value)
        elif spec.isdigit():
            shown = est(value, int(spec))
        else:
            raise SpecError("layout", f"unknown number format {spec!r} (use decimals, p, "
                            "npct)")
        return Text(shown, [Ref(pos, at.key(stat), shown)])

    def fill(self, template: str, at: At) -> Text:
        """A template with ``{stat:spec}`` fields filled from ``at``'s rows.

        Examples
        --------
        >>> view.fill("{median:1} ({min:0}, {max:0})", at)  # doctest: +SKIP
        '57.0 (27, 81)'
        """
        parts: list[str] = []
        last = 0
        for match in _FIELD.finditer(template):
            parts.append(template[last:match.start()])
            stat, spec = match.group(1), match.group(2)
            parts.append(self.text(at, stat, spec if spec is not None else 1))
            last = match.end()
        parts.append(template[last:])
        return cat(*parts)


def trace_rows(output_id: str, cells: Iterable[tuple[str, str, object]],
               view: ArdView) -> list[dict[str, object]]:
    """One trace record per printed number of ``cells`` (``(row, column, text)``).

    Returns
    -------
    list of dict
        ``output_id, row, column, number, text, ard_row`` (1-based line of ard.csv's
        data, blank when the ARD lacks the row) and the ARD key columns.
    """
    out: list[dict[str, object]] = []
    for row, column, text in cells:
        for i, ref in enumerate(getattr(text, "refs", ())):
            out.append({"output_id": output_id, "row": row, "column": column,
                        "number": i + 1, "text": ref.text,
                        "ard_row": "" if ref.row is None else ref.row + 1,
                        **dict(zip(KEY, ref.key, strict=True))})
    return out
