"""The Dagster instance on PostgreSQL (config/dagster-postgres.yaml): `pmw run` with DAGSTER_PG_URL set records the
run, its events and materialisations in the database, the landing sensor and the dead-worker sweep work on it.

A throwaway server from Debian's package (`make postgres`) is started here with initdb + pg_ctl, on a free loopback
port in a temporary directory, as the `postgres` user when the tests run as root (the server refuses root). The
pipeline runs once, on the smallest sample every generator accepts (the fault suite's). Without PostgreSQL or the
dagster-postgres package the module skips locally; with PMW_REQUIRE_POSTGRES=1 (CI, .ci/run) it fails instead.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from core.settings import Paths, build_settings
from orchestration.instance import (
    DAGSTER_PG_URL_ENV,
    PG_URL_SCHEME,
    fail_runs_of_dead_workers,
    open_instance,
    stores_in_postgres,
)
from pmw.cli import main
from tests.support.faults import SAMPLE_ARGS

# Debian installs each major version's server binaries here (package postgresql); the newest is used.
INITDB_GLOB = "/usr/lib/postgresql/*/bin/initdb"
# The server refuses to run as root; Debian's package creates this user.
SERVER_USER_WHEN_ROOT = "postgres"
DATABASE = "pmw_dagster"


def _missing_or_fail(reason: str) -> None:
    if os.environ.get("PMW_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}; PMW_REQUIRE_POSTGRES=1 is set (make postgres installs the server)")
    pytest.skip(reason)


def _server_bin() -> Path:
    found = sorted(glob.glob(INITDB_GLOB), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        _missing_or_fail(f"the PostgreSQL server is not installed (no {INITDB_GLOB})")
    try:
        import dagster_postgres  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError as exc:
        _missing_or_fail(f"the postgres extra is not installed ({exc}; pip install -e '.[postgres]')")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own on 127.0.0.1, with an empty database; the connection URL (trust auth)."""
    import psycopg2

    bindir = _server_bin()
    as_user = SERVER_USER_WHEN_ROOT if os.geteuid() == 0 else None
    # Not under pytest's tmp_path: as root that lives in a 0700 directory the server's user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="pmw-postgres-"))
    if as_user is not None:
        account = pwd.getpwnam(as_user)  # KeyError names the user when Debian's package did not create it
        os.chown(root, account.pw_uid, account.pw_gid)

    def server(*args: str) -> None:
        subprocess.run(args, user=as_user, check=True, capture_output=True, text=True, timeout=120)

    port = _free_port()
    data, log = root / "data", root / "server.log"
    try:
        server(str(bindir / "initdb"), "-D", str(data), "-U", "pmw", "--auth=trust", "-E", "UTF8", "--no-sync")
        # Loopback only, the socket in our own directory; fsync off: the server's data is thrown away after the test.
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} -c fsync=off"
        server(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        try:
            admin = psycopg2.connect(host="127.0.0.1", port=port, user="pmw", dbname="postgres")
            admin.autocommit = True  # CREATE DATABASE refuses to run in a transaction
            try:
                with admin.cursor() as cur:
                    cur.execute(f"create database {DATABASE}")
            finally:
                admin.close()
            yield f"postgresql+psycopg2://pmw@127.0.0.1:{port}/{DATABASE}"
        finally:
            server(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    except subprocess.CalledProcessError as exc:
        server_log = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        raise AssertionError(f"{exc.cmd[0]} failed: {exc.stderr}\n{server_log}") from exc
    finally:
        shutil.rmtree(root)


@dataclass(frozen=True)
class PostgresRun:
    paths: Paths
    url: str
    run_id: str


def _query(url: str, sql: str, *params) -> list[tuple]:
    import psycopg2

    with psycopg2.connect(url.replace(PG_URL_SCHEME, "postgresql://")) as con, con.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    con.close()
    return rows


@pytest.fixture(scope="module")
def postgres_run(postgres_url: str, tmp_path_factory) -> Iterator[PostgresRun]:
    """`pmw generate` (the smallest sample) and `pmw run`, with the data directory's instance on PostgreSQL."""
    data = tmp_path_factory.mktemp("postgres_instance") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DAGSTER_PG_URL_ENV, postgres_url)
        env.delenv("DAGSTER_HOME", raising=False)  # the data directory's own instance, <data>/dagster_home
        assert main(["--data-dir", str(data), "generate", *SAMPLE_ARGS]) == 0
        assert main(["--data-dir", str(data), "run", "--settle-seconds", "0"]) == 0
        runs = _query(postgres_url, "select run_id from runs")
        assert len(runs) == 1, runs
        yield PostgresRun(Paths(data), postgres_url, runs[0][0])
    for p in data.rglob("*"):  # releases are read-only by design; let pytest remove its copy
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | 0o200)


def test_the_instance_is_created_from_the_postgres_template_and_keeps_nothing_of_it_in_sqlite(postgres_run):
    home = postgres_run.paths.data_dir / "dagster_home"
    assert stores_in_postgres(home / "dagster.yaml")
    assert postgres_run.url not in (home / "dagster.yaml").read_text(encoding="utf-8")  # read from the environment
    assert not list(home.rglob("*.db")), "run, event-log or schedule storage went to SQLite"


def test_the_run_and_every_mart_materialisation_are_in_postgres(postgres_run):
    from orchestration.assets.publish import MART_KEYS, PUBLISHED_MARTS

    url, run_id = postgres_run.url, postgres_run.run_id
    [(job, status, body)] = _query(url, "select pipeline_name, status, run_body from runs where run_id = %s", run_id)
    assert (job, status) == ("pmw_pipeline", "SUCCESS")
    assert json.loads(body)["tags"]["pmw/launched_by"] == "cli"

    materialised = {
        key
        for (key,) in _query(
            url,
            "select distinct asset_key from event_logs where run_id = %s and dagster_event_type = %s",
            run_id,
            "ASSET_MATERIALIZATION",
        )
    }
    expected = {key.to_string() for key in [*MART_KEYS, PUBLISHED_MARTS]}
    assert len(MART_KEYS) > 10
    assert expected <= materialised, sorted(expected - materialised)
    # The asset index the UI reads (last materialisation per asset) is in the database too.
    indexed = {
        key
        for (key,) in _query(url, "select asset_key from asset_keys where last_materialization_timestamp is not null")
    }
    assert expected <= indexed, sorted(expected - indexed)
    checks = _query(
        url,
        "select count(*) from event_logs where run_id = %s and dagster_event_type = %s",
        run_id,
        "ASSET_CHECK_EVALUATION",
    )
    assert checks[0][0] > 0


def test_the_landing_sensor_and_the_dead_worker_sweep_work_on_the_postgres_instance(postgres_run, monkeypatch):
    from dagster._core.events import EngineEventData
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from orchestration.sensors import landing_sensor

    monkeypatch.setenv(DAGSTER_PG_URL_ENV, postgres_run.url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    paths = postgres_run.paths
    with open_instance(paths) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        # Where the daemon keeps the sensors' and the schedule's state and ticks.
        schedule_tables = {"instigators", "jobs", "job_ticks"}
        tables = _query(
            postgres_run.url, "select table_name from information_schema.tables where table_schema = 'public'"
        )
        assert schedule_tables <= {name for (name,) in tables}

        # A run the instance shows as started whose worker is gone (SIGKILL): it holds the duckdb_writer slot.
        taken = {int(name) for name in os.listdir("/proc") if name.isdigit()}
        dead_pid = next(pid for pid in range(4_000_000, 3_000_000, -1) if pid not in taken)
        dead = instance.add_run(
            DagsterRun(job_name="pmw_pipeline", run_id="killed", status=dg.DagsterRunStatus.STARTED)
        )
        instance.report_engine_event(
            f"Executing steps in process (pid: {dead_pid}).", dead, EngineEventData.in_process(dead_pid)
        )
        instance.event_log_storage.claim_concurrency_slot("duckdb_writer", "killed", "step")
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").active_slot_count == 1

        # The sensor sweeps it first, then asks for one run of what landed since (everything else is loaded).
        late = paths.landing / "analytics" / "late_export.csv"
        newest_csv = sorted((paths.landing / "analytics").rglob("*.csv"))[-1]
        late.write_bytes(newest_csv.read_bytes() + b"\n")  # other bytes than any file loaded: a new file
        settings = build_settings(paths.data_dir, None, landing_settle_seconds=0)
        with dg.build_sensor_context(instance=instance, resources={"pmw": settings}) as context:
            [request] = landing_sensor(context)
        assert request.tags["pmw/landed_files"] == "1"
        assert [*request.run_config["ops"].values()] == [{"config": {"files": [str(late)]}}]
        assert instance.get_run_by_id("killed").status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").active_slot_count == 0
        assert fail_runs_of_dead_workers(instance) == []
    [(status,)] = _query(postgres_run.url, "select status from runs where run_id = %s", "killed")
    assert status == "FAILURE"
