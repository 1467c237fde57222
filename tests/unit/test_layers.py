"""The layers stand on each other in one direction (docs/architecture.md): no module imports from a layer above it.

Parsed from the source (no import side effects): every ``import x`` / ``from x import`` of a first-party package is
checked against the packages its own layer may use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT

# package -> the first-party packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "ingest": {"core"},
    "expectations": {"core", "ingest"},
    "portfolio": {"core"},
    "publish": {"core"},
    "orchestration": {"core", "ingest", "expectations", "portfolio", "publish"},
    # the application: the only code outside orchestration/ that starts the Dagster job
    "pmw": {"core", "ingest", "expectations", "portfolio", "publish", "orchestration", "sample_generator"},
    # the sample generator writes vendor exports; the pipeline never imports it
    "sample_generator": {"core"},
}


def _imported_packages(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def _violations(package: str) -> list[str]:
    out = []
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        for imported, line in _imported_packages(path):
            if imported in ALLOWED and imported != package and imported not in ALLOWED[package]:
                out.append(f"{path.relative_to(PROJECT_ROOT)}:{line} imports {imported}")
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_import_from_a_layer_above(package: str) -> None:
    assert (PROJECT_ROOT / package).is_dir()
    assert _violations(package) == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "bad.py").write_text("import os\nfrom orchestration.definitions import defs\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PROJECT_ROOT"]), "PROJECT_ROOT", tmp_path)
    assert _violations("core") == ["core/bad.py:2 imports orchestration"]
