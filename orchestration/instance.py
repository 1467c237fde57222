"""The one Dagster instance of a data directory, shared by `pmw run`, `make demo` and `make dev`.

It lives in ``$DAGSTER_HOME`` when that is set, else in ``<data>/dagster_home``, so every run of a data directory
(CLI, sensor, schedule, UI) lands in the same run and event storage and the UI shows all of them. Its settings
start as a copy of the repository's dagster_home/dagster.yaml (the pools and the run queue; storage in SQLite under
that directory), or of config/dagster-postgres.yaml (the same, with run, event-log and schedule storage in the
PostgreSQL database at ``$DAGSTER_PG_URL``) when that variable is set. An existing dagster.yaml is never overwritten.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import yaml

from core.settings import PROJECT_ROOT, Paths

INSTANCE_TEMPLATE = PROJECT_ROOT / "dagster_home" / "dagster.yaml"
POSTGRES_INSTANCE_TEMPLATE = PROJECT_ROOT / "config" / "dagster-postgres.yaml"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
# The PostgreSQL connection URL of the instance's storage (read by config/dagster-postgres.yaml, never copied).
DAGSTER_PG_URL_ENV = "DAGSTER_PG_URL"
# SQLAlchemy 2.1 reads a bare postgresql:// as the psycopg 3 driver; dagster-postgres installs psycopg2.
PG_URL_SCHEME = "postgresql+psycopg2://"


class InstanceSettingsError(ValueError):
    """$DAGSTER_PG_URL does not fit the instance: not a psycopg2 URL, or the instance's dagster.yaml is SQLite's."""


def dagster_home(paths: Paths, environ: Mapping[str, str] = os.environ) -> Path:
    home = environ.get(DAGSTER_HOME_ENV)
    return Path(home).resolve() if home else paths.data_dir / "dagster_home"


def prepare_dagster_home(paths: Paths, environ: Mapping[str, str] = os.environ) -> Path:
    """The instance directory, created with the template settings when it has none yet (the PostgreSQL one when
    ``$DAGSTER_PG_URL`` is set)."""
    pg_url = environ.get(DAGSTER_PG_URL_ENV)
    on_postgres = bool(pg_url)
    if on_postgres and not pg_url.startswith(PG_URL_SCHEME):
        scheme = f"{pg_url.split('://', 1)[0]}://" if "://" in pg_url else "(none)"
        # Only the scheme is named: the rest of the URL may hold a password.
        raise InstanceSettingsError(
            f"{DAGSTER_PG_URL_ENV} must start with {PG_URL_SCHEME} (the driver dagster-postgres installs), not {scheme}"
        )
    home = dagster_home(paths, environ)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        tmp = home / ".dagster.yaml.tmp"
        shutil.copyfile(POSTGRES_INSTANCE_TEMPLATE if on_postgres else INSTANCE_TEMPLATE, tmp)
        tmp.replace(settings)
    elif on_postgres and not stores_in_postgres(settings):
        # Recording into the old SQLite files while the operator believes the runs go to PostgreSQL would split the
        # run history between two places without a word.
        raise InstanceSettingsError(
            f"{DAGSTER_PG_URL_ENV} is set, but {settings} keeps the instance's storage elsewhere (SQLite): remove "
            f"that file to recreate it from {POSTGRES_INSTANCE_TEMPLATE.name}, give this data directory another "
            f"{DAGSTER_HOME_ENV}, or unset {DAGSTER_PG_URL_ENV}"
        )
    return home


def stores_in_postgres(settings: Path) -> bool:
    """The dagster.yaml at ``settings`` puts the instance's storage in PostgreSQL (``storage: postgres`` or a
    dagster_postgres run/event-log/schedule storage)."""
    config = yaml.safe_load(settings.read_text(encoding="utf-8")) or {}
    if "postgres" in (config.get("storage") or {}):
        return True
    return any(
        str((config.get(key) or {}).get("module", "")).startswith("dagster_postgres")
        for key in ("run_storage", "event_log_storage", "schedule_storage")
    )


def open_instance(paths: Paths, environ: Mapping[str, str] = os.environ) -> dg.DagsterInstance:
    """The data directory's persistent instance (the caller disposes of it). On PostgreSQL, Dagster itself reads
    the URL from this process's environment."""
    home = prepare_dagster_home(paths, environ)
    if stores_in_postgres(home / "dagster.yaml") and importlib.util.find_spec("dagster_postgres") is None:
        raise InstanceSettingsError(
            f"{home / 'dagster.yaml'} keeps the instance's storage in PostgreSQL, but dagster-postgres is not "
            "installed: pip install -c constraints.txt -e '.[postgres]'"
        )
    return dg.DagsterInstance.from_config(str(home))


# Statuses of a run whose worker process should be alive.
_LIVE_STATUSES = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING)


def run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid of the process executing ``run_id``'s steps and when it said so, from the engine event Dagster
    writes as the steps start ("Executing steps in process (pid: N)"); None before that event."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
        entry = record.event_log_entry
        metadata = getattr(entry.dagster_event.event_specific_data, "metadata", None) or {}
        pid = metadata.get("pid")
        if pid is not None and str(getattr(pid, "value", pid)).isdigit():
            return int(getattr(pid, "value", pid)), entry.timestamp
    return None


def _process_alive_since(pid: int, since: float) -> bool:
    """``pid`` is a live process that started no later than ``since`` (a reused pid started after it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:  # no /proc (not Linux): fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if fields[0] == "Z":  # a zombie is dead: it only waits for its parent to reap it
        return False
    with open("/proc/stat", encoding="ascii") as fh:
        boot_time = next(float(line.split()[1]) for line in fh if line.startswith("btime "))
    started_at = boot_time + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return started_at <= since + 1.0


def fail_runs_of_dead_workers(instance: dg.DagsterInstance, *, exclude_run_id: str | None = None) -> list[str]:
    """Mark failed every run the instance shows as running whose worker process is gone (SIGKILL, OOM, a reboot),
    and free the concurrency slots it held; return their run ids.

    Every run of the instance executes on this machine, the one holding the data directory (on PostgreSQL too:
    one database per data directory, config/dagster-postgres.yaml), so a pid not alive here is a dead worker.
    Such a run never reports its end: it keeps its `duckdb_writer` pool slot and the run queue's only place
    (dagster.yaml), so every later run would wait for it forever. The default run launcher gives the daemon no way to
    check a worker's health; the worker's pid is in the run's own engine event. A run whose steps have not started
    yet (no pid) is left alone.
    """
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=list(_LIVE_STATUSES))):
        if run.run_id == exclude_run_id:
            continue
        worker = run_worker_pid(instance, run.run_id)
        if worker is None or _process_alive_since(*worker):
            continue
        instance.report_run_failed(run, f"the process running it (pid {worker[0]}) died without reporting an end")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed
