"""The verbs of :mod:`adam.engine`, by name, one module per family: :mod:`adam.verbs.subject`
(subject-level variables), :mod:`adam.verbs.tte` (time-to-event parameters),
:mod:`adam.verbs.response` (tumour-response parameters)."""

from __future__ import annotations

from adam.verbs import response, subject, tte
from adam.verbs.base import START_SCHEMA, Context, Verb, start

__all__ = ["START_SCHEMA", "VERBS", "Context", "Verb", "start"]

#: Every verb, by the name a spec step uses.
VERBS: dict[str, Verb] = {**subject.VERBS, **tte.VERBS, **response.VERBS}
