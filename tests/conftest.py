"""Suite-wide settings: every test carries the marker of its folder, so `-m` selects by kind.

- unit: no subprocess, no dbt, no pipeline run (`make test-fast`)
- dbt: real dbt processes on tiny lakes, sharing dbt's parsed project (tests/dbt/conftest.py)
- integration: the whole graph in-process; modules read one shared pipeline run (tests/support/shared_run.py)
- e2e: a real browser
- scenarios: whole-pipeline runs on data of their own (one source only, planted text, the same files twice, the
  PostgreSQL instance, the dev server)
- faults: faults injected into a small generated sample, each checked against a clean reference run

`make test` runs the first four (the loop before a commit), `make test-scenarios` the last two; CI runs all six
in one session (`make test TESTS=tests`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
KINDS = ("unit", "dbt", "integration", "e2e", "scenarios", "faults")
# The modules that read the session's shared pipeline run (tests/support/shared_run.py): under pytest-xdist they are
# one unit of work, so one worker builds that run once per session, whichever folders the session runs.
# tests/integration is all of them but two small modules; a module reading the run elsewhere must be named here.
SHARED_RUN_UNIT = "the shared run"
SHARED_RUN_MODULES = (
    "tests/integration/",
    "tests/scenarios/test_pipeline_reruns.py",
    "tests/scenarios/test_reproducible_publication.py",
)


def _unit(module: str) -> str:
    """The unit of work of a module (its path relative to the rootdir): its shared-run unit, else itself."""
    return SHARED_RUN_UNIT if module.startswith(SHARED_RUN_MODULES) else module


# The longest units go first, so the last minutes are not one worker alone on them: the SIGKILL scenarios (four whole
# runs and their re-runs), the other fault and scenario modules, the shared run's folder, then the rest. The order of
# tests inside a module does not change.
LONGEST_FIRST = ("faults/test_killed_run.py", "faults", "scenarios", "integration", "e2e", "dbt", "unit")


def _rank(item: pytest.Item) -> int:
    relative = item.path.resolve().relative_to(TESTS_DIR).as_posix()
    return next(i for i, prefix in enumerate(LONGEST_FIRST) if relative.startswith(prefix))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = item.path.resolve().relative_to(TESTS_DIR).parts[0]
        if kind not in KINDS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of tests/{{{','.join(KINDS)}}}/")
        item.add_marker(getattr(pytest.mark, kind))
        module = item.nodeid.split("::", 1)[0]
        if "shared_run" in getattr(item, "fixturenames", ()) and _unit(module) == module:
            raise pytest.UsageError(f"{module} reads the shared run: add it to SHARED_RUN_MODULES in tests/conftest.py")
    items.sort(key=_rank)  # stable: collection order within each rank


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` with the shared run's modules as one unit: a module and its module fixtures stay on one
    worker, and so do all the modules reading the shared run. (pytest-xdist's own `--dist loadgroup` cannot do this
    under pytest 9: it renames items through `Item._nodeid`, which pytest 9 no longer reads.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    # xdist would hand out the units with the most tests first (its --loadscope-reorder default), which put the
    # one-test SIGKILL chain last: 3 minutes of one worker alone at the end. LONGEST_FIRST's order is kept instead.
    config.option.loadscopereorder = False
    from xdist.scheduler import LoadFileScheduling

    class ModulesAndSharedRunUnits(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid.split("::", 1)[0])

    return ModulesAndSharedRunUnits(config, log)
