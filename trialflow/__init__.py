"""trialflow: spec-driven submission programming (raw CRF -> SDTM -> ADaM -> TLF).

The shared core: the spec model (:mod:`trialflow.spec`), I/O, statistics
(:mod:`trialflow.stats`), the pipeline and the command line.
"""

from pathlib import Path

__version__ = "0.1.0"

#: Repository root (the project is installed editable; specs live beside the packages).
ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
