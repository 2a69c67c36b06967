"""The short examples in the statistics docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "trialflow.stats._inputs",
    "trialflow.stats.binomial",
    "trialflow.stats.cox",
    "trialflow.stats.descriptive",
    "trialflow.stats.km",
    "trialflow.stats.logrank",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
