"""The one Dagster instance of a data directory, shared by `pmw run`, `make demo` and `make dev`.

It lives in ``$DAGSTER_HOME`` when that is set, else in ``<data>/dagster_home``, so every run of a data directory
(CLI, sensor, schedule, UI) lands in the same run and event storage and the UI shows all of them. Its settings
start as a copy of the repository's dagster_home/dagster.yaml (the pools and the run queue); an existing
dagster.yaml is never overwritten, so a deployment can move its storage to PostgreSQL there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from core.settings import PROJECT_ROOT, Paths

INSTANCE_TEMPLATE = PROJECT_ROOT / "dagster_home" / "dagster.yaml"
DAGSTER_HOME_ENV = "DAGSTER_HOME"


def dagster_home(paths: Paths, environ: Mapping[str, str] = os.environ) -> Path:
    home = environ.get(DAGSTER_HOME_ENV)
    return Path(home).resolve() if home else paths.data_dir / "dagster_home"


def prepare_dagster_home(paths: Paths, environ: Mapping[str, str] = os.environ) -> Path:
    """The instance directory, created with the template settings when it has none yet."""
    home = dagster_home(paths, environ)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        tmp = home / ".dagster.yaml.tmp"
        shutil.copyfile(INSTANCE_TEMPLATE, tmp)
        tmp.replace(settings)
    return home


def open_instance(paths: Paths, environ: Mapping[str, str] = os.environ) -> dg.DagsterInstance:
    """The data directory's persistent instance (the caller disposes of it)."""
    return dg.DagsterInstance.from_config(str(prepare_dagster_home(paths, environ)))
