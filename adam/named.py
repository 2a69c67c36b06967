"""Named derivations: rules of one study that no general verb expresses.

A study declares one in a spec step (``- named: {derivation: <name>, parameters:
{...}}``); nothing in a general builder runs because of which study it is. Each entry
has its function (the dataset being built first, then the context and the
parameters), a check of its parameters (run when the spec is loaded) and the input
datasets it reads. Each has its own tests.

Example
-------
>>> sorted(NAMED) == sorted(NAMED)  # the registry is a plain mapping
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["NAMED", "Named"]


@dataclass(frozen=True)
class Named:
    """One named derivation."""

    function: Callable[..., pd.DataFrame]
    check: Callable[[Mapping[str, Any]], None] = lambda params: None
    datasets: Callable[[Mapping[str, Any]], list[str]] = lambda params: []


#: Named derivations by name.
NAMED: dict[str, Named] = {}
