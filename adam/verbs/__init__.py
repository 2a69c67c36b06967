"""The verbs of :mod:`adam.engine`, by name (see each family's module)."""

from __future__ import annotations

from adam.verbs import subject
from adam.verbs.base import START_SCHEMA, Context, Verb, start

__all__ = ["START_SCHEMA", "VERBS", "Context", "Verb", "start"]

#: Every verb, by the name a spec step uses.
VERBS: dict[str, Verb] = {**subject.VERBS}
