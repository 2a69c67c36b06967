"""trialflow: spec-driven submission programming (raw CRF -> SDTM -> ADaM -> TLF).

The shared core: the spec model (:mod:`trialflow.spec`), the study folder
(:mod:`trialflow.study`), I/O, statistics (:mod:`trialflow.stats`), the pipeline and the
command line.
"""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("trialflow")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

#: The package's own folder; what travels with it (standards, templates, the bundled
#: example study) lives under it.
PACKAGE = Path(__file__).resolve().parent
#: The repository root when running from a checkout (an editable install).
ROOT = PACKAGE.parent
#: What every study reuses: CDISC codelists, standard variable metadata, method texts.
STANDARDS = PACKAGE / "standards"


def _bundled_example() -> Path:
    """The bundled example study (PRECIOUS): package data in an installed wheel, the
    repository's ``specs/`` in a checkout."""
    packaged = PACKAGE / "examples" / "precious"
    return packaged if (packaged / "study.yaml").is_file() else ROOT / "specs"


#: The bundled example study's folder (its ``study.yaml`` and specs).
SPECS = _bundled_example()
