"""Fixtures of the independent QC: the QC derivations, run once on the session's build.

The QC reads only the SDTM of ``study_build`` (tests/conftest.py) and the specs; the
production ADaM and ARD of the same build are what it is compared with. This folder has
no ``__init__.py`` (it would shadow packages): pytest puts it on ``sys.path`` (rootdir
import mode ``prepend``), so the qc_* modules import as top-level modules; the insert
below makes that explicit for any other way of loading this conftest.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from qc_adqs import derive_adqs_btoi  # noqa: E402
from qc_adrs import derive_adrs  # noqa: E402
from qc_adsl import derive_adsl  # noqa: E402
from qc_adtte import derive_adtte  # noqa: E402
from qc_ard import derive_ard  # noqa: E402
from qc_common import read_domain  # noqa: E402


@dataclass(frozen=True)
class QcBuild:
    """The QC datasets of one build and where the production outputs are.

    Attributes
    ----------
    adsl, adrs, adqs, adtte, ard : DataFrame
        The QC derivations (qc_* modules).
    adam : Path
        The production ADaM folder of the build (read only).
    ard_path : Path
        The production ARD (``tlf/ard.csv``, read only).
    """

    adsl: pd.DataFrame
    adrs: pd.DataFrame
    adqs: pd.DataFrame
    adtte: pd.DataFrame
    ard: pd.DataFrame
    adam: Path
    ard_path: Path

    def production(self, name: str) -> pd.DataFrame:
        """A production ADaM dataset of the build (``adsl``, ``adtte``...)."""
        return read_domain(self.adam, name)


@pytest.fixture(scope="session")
def qc_build(study_build) -> QcBuild:
    """Every QC derivation, from the SDTM of the session's build only."""
    sdtm = study_build.out / "sdtm"
    adsl = derive_adsl(sdtm)
    adrs = derive_adrs(read_domain(sdtm, "rs"), adsl)
    adqs = derive_adqs_btoi(read_domain(sdtm, "qs"), adsl)
    adtte = derive_adtte(adsl, adrs, adqs)
    ard = derive_ard(adsl, adtte, adrs)
    return QcBuild(adsl=adsl, adrs=adrs, adqs=adqs, adtte=adtte, ard=ard,
                   adam=study_build.out / "adam", ard_path=study_build.out / "tlf" / "ard.csv")
