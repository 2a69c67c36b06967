"""The verbs of :mod:`adam.engine`, by name, one module per family: :mod:`adam.verbs.subject`
(subject-level variables, and what any dataset takes from others),
:mod:`adam.verbs.occurrence` (occurrence data: first-occurrence flags),
:mod:`adam.verbs.bds` (basic data structure: parameters, baseline, change, analysis
windows, LOCF records), :mod:`adam.verbs.tte` (time-to-event parameters)."""

from __future__ import annotations

from adam.verbs import bds, occurrence, subject, tte
from adam.verbs.base import START_SCHEMA, Context, Verb, start

__all__ = ["START_SCHEMA", "VERBS", "Context", "Verb", "start"]

#: Every verb, by the name a spec step uses.
VERBS: dict[str, Verb] = {**subject.VERBS, **occurrence.VERBS, **bds.VERBS, **tte.VERBS}
