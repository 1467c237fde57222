"""The suite's own layout: test modules import shared builders from tests.support, never from one another, and
unit tests start no process (no subprocess, no dbt, no pipeline run), which keeps `make test-fast` fast.

Parsed from the source, like tests/unit/test_layers.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
# What a unit test may not import: each starts a process or the whole graph.
UNIT_FORBIDDEN = {"subprocess", "pmw.pipeline", "tests.support.warehouse", "tests.support.browser", "playwright"}


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "support" not in p.relative_to(TESTS_DIR).parts[:1])


def test_test_modules_share_only_tests_support():
    offenders = [
        f"{path.relative_to(TESTS_DIR)}:{line} imports {module}"
        for path in _modules(TESTS_DIR)
        for module, line in _imports(path)
        if module.split(".")[0] == "tests" and not module.startswith("tests.support")
    ]
    assert not offenders, offenders


def test_unit_tests_start_no_process():
    offenders = [
        f"{path.relative_to(TESTS_DIR)}:{line} imports {module}"
        for path in _modules(TESTS_DIR / "unit")
        for module, line in _imports(path)
        if any(module == f or module.startswith(f"{f}.") for f in UNIT_FORBIDDEN)
    ]
    assert not offenders, offenders


def test_the_guard_sees_the_suite():
    # A wrong TESTS_DIR would make both checks above pass on nothing.
    assert len(_modules(TESTS_DIR / "unit")) >= 20 and (TESTS_DIR / "support" / "warehouse.py").is_file()
