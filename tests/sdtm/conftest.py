"""Fixtures for the SDTM tests: the three-patient extract of sdtm_tiny, mapped once."""

from __future__ import annotations

import pytest
from sdtm_tiny import build_tiny

from sdtm import SdtmResult


@pytest.fixture(scope="module")
def sdtm() -> SdtmResult:
    return build_tiny()
