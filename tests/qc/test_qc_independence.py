"""The QC must not use production derivation code: no import of adam, tlf, crf, sdtm or
trialflow.stats (or anything under them) in any module of tests/qc."""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORBIDDEN = ("adam", "tlf", "crf", "sdtm", "trialflow.stats")
_DYNAMIC = {"import_module", "__import__"}


def _under(module: str) -> bool:
    """True for a forbidden module or anything under it (``adam.adsl``)."""
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def forbidden_imports(source: str) -> list[str]:
    """The forbidden modules a Python source imports (statically or by a constant name
    given to importlib.import_module / __import__)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _under(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from trialflow import stats` imports trialflow.stats.
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [n for n in names if _under(n)]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _DYNAMIC and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) and _under(node.args[0].value):
                found.append(node.args[0].value)
    return found


def test_qc_modules_import_no_production_code() -> None:
    files = sorted(HERE.glob("*.py"))
    assert len(files) >= 8
    bad = {f.name: forbidden_imports(f.read_text(encoding="utf-8")) for f in files}
    assert not {k: v for k, v in bad.items() if v}, bad


def test_the_check_catches_every_form() -> None:
    """Each forbidden form is caught; look-alike names and the public core are not."""
    caught = ["import adam", "import tlf.km as km", "from crf import simulate",
              "from sdtm.dm import build", "from trialflow import stats",
              "from trialflow.stats.km import median",
              "importlib.import_module('adam.adtte')", "__import__('tlf')"]
    allowed = ["import adamant", "from trialflow import xpt", "import tlfx",
               "from trialflow.compare import compare_datasets", "import statsmodels"]
    assert all(forbidden_imports(line) for line in caught)
    assert not any(forbidden_imports(line) for line in allowed)
