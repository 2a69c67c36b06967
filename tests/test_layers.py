"""Layers are one-way: core <- sdtm <- adam <- tlf, the simulator (crf) beside sdtm, the
command line on top. Every import in every module (at the top or inside a function) is
read from the syntax tree, so a lazy import breaks the rule as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("trialflow", "crf", "sdtm", "adam", "tlf")
#: What each layer must never import.
FORBIDDEN: dict[str, set[str]] = {
    "trialflow": {"crf", "sdtm", "adam", "tlf"},
    "crf": {"sdtm", "adam", "tlf"},
    "sdtm": {"crf", "adam", "tlf"},
    "adam": {"crf", "sdtm", "tlf"},
    "tlf": {"crf", "sdtm", "adam"},
}
#: The command line sits on top of every layer.
EXEMPT = ("trialflow/cli",)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(layer: str) -> list[Path]:
    return [p for p in sorted((REPO / layer).rglob("*.py"))
            if not str(p.relative_to(REPO)).startswith(EXEMPT)]


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_no_layer_above_or_beside_it(layer: str) -> None:
    broken = {str(p.relative_to(REPO)): sorted(_imports(p) & FORBIDDEN[layer])
              for p in _modules(layer)}
    assert {k: v for k, v in broken.items() if v} == {}


def test_the_rule_catches_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from adam import build_adam\n    return build_adam\n")
    assert "adam" in _imports(module)
