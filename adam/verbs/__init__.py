"""The verbs of :mod:`adam.engine`, by name, one module per family: :mod:`adam.verbs.subject`
(subject-level variables, and what any dataset takes from others),
:mod:`adam.verbs.occurrence` (occurrence data: first-occurrence flags),
:mod:`adam.verbs.bds` (basic data structure: parameters, baseline, change, analysis
windows, LOCF records), :mod:`adam.verbs.tte` (time-to-event parameters) and
:mod:`adam.verbs.response` (tumour-response parameters, admiralonco's set)."""

from __future__ import annotations

from adam.verbs import bds, occurrence, response, subject, tte
from adam.verbs.base import START_SCHEMA, Context, Verb, start

__all__ = ["START_SCHEMA", "VERBS", "Context", "Verb", "start"]


def _registry(*families: dict[str, Verb]) -> dict[str, Verb]:
    """The verbs of every family; a name two families define is a bug."""
    out: dict[str, Verb] = {}
    for family in families:
        for name, verb in family.items():
            if name in out:
                raise RuntimeError(f"ADaM verb {name!r} is defined twice")
            out[name] = verb
    return out


#: Every verb, by the name a spec step uses.
VERBS: dict[str, Verb] = _registry(subject.VERBS, occurrence.VERBS, bds.VERBS, tte.VERBS,
                                   response.VERBS)
