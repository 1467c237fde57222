"""Suite-wide settings: every test carries the marker of its folder, so `-m` selects by kind.

- unit: no subprocess, no dbt, no pipeline run (`make test-fast`)
- dbt: real dbt processes on tiny lakes, sharing dbt's parsed project (tests/dbt/conftest.py)
- integration: the whole graph in-process; modules read one shared pipeline run (tests/integration/conftest.py)
- faults: faults injected into a small generated sample, each checked against a clean reference run
- e2e: a real browser
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
KINDS = ("unit", "dbt", "integration", "faults", "e2e")


# Under `make test`'s two workers (pytest-xdist, one module per worker at a time) the longest modules go first, so
# the last minutes are not one worker alone on them: the SIGKILL scenarios (four whole runs and their re-runs), then
# the other fault and whole-pipeline modules. The order of tests inside a module does not change.
LONGEST_FIRST = ("faults/test_killed_run.py", "faults", "integration", "e2e", "dbt", "unit")


def _rank(item: pytest.Item) -> int:
    relative = item.path.resolve().relative_to(TESTS_DIR).as_posix()
    return next(i for i, prefix in enumerate(LONGEST_FIRST) if relative.startswith(prefix))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = item.path.resolve().relative_to(TESTS_DIR).parts[0]
        if kind not in KINDS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of tests/{{{','.join(KINDS)}}}/")
        item.add_marker(getattr(pytest.mark, kind))
    items.sort(key=_rank)  # stable: collection order within each rank
