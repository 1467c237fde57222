"""The data directory's instance stores events through one kept SQLite engine per shard, in dagster's own files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from core.settings import Paths
from orchestration.instance import open_instance
from orchestration.instance_storage import KEPT_SHARD_ENGINES, DataDirInstance, PooledSqliteEventLogStorage


@dg.asset_check(asset="numbers")
def numbers_positive():
    return dg.AssetCheckResult(passed=True)


@dg.asset
def numbers(context) -> None:
    context.log.info("counting")


def _run_job(instance: dg.DagsterInstance) -> str:
    job = dg.define_asset_job("numbers_job")
    defs = dg.Definitions(assets=[numbers], asset_checks=[numbers_positive], jobs=[job])
    result = defs.resolve_job_def("numbers_job").execute_in_process(instance=instance)
    assert result.success
    return result.run_id


def test_the_data_directory_instance_keeps_one_engine_per_shard_and_stores_what_dagster_stores(tmp_path):
    paths = Paths(tmp_path / "data")
    instance = open_instance(paths, environ={})
    storage = instance.event_log_storage
    assert isinstance(instance, DataDirInstance)
    assert isinstance(storage, PooledSqliteEventLogStorage)

    run_id = _run_job(instance)
    shard_engine = storage._shard_engines[run_id]
    second_run = _run_job(instance)
    assert storage._shard_engines[run_id] is shard_engine  # kept, not created per statement
    assert "asset_check_executions" in storage._tables_present

    # dagster's files, in dagster's layout: its own storage class reads every event and check result back.
    history = paths.data_dir / "dagster_home" / "history" / "runs"
    assert (history / f"{run_id}.db").exists() and (history / "index.db").exists()
    plain = SqliteEventLogStorage(str(history))
    for run in (run_id, second_run):
        assert [e.dagster_event_type for e in plain.get_logs_for_run(run) if e.is_dagster_event] == [
            e.dagster_event_type for e in storage.get_logs_for_run(run) if e.is_dagster_event
        ]
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("numbers"), "numbers_positive")]
    )
    assert record[dg.AssetCheckKey(dg.AssetKey("numbers"), "numbers_positive")].run_id == second_run
    with sqlite3.connect(history / f"{run_id}.db") as con:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
    instance.dispose()
    assert storage._shard_engines == {}


def test_evicted_shards_have_their_engine_disposed_and_wipe_forgets_every_engine(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    for index in range(KEPT_SHARD_ENGINES + 3):
        with storage.run_connection(f"run-{index}") as conn:
            assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL
    assert len(storage._shard_engines) == KEPT_SHARD_ENGINES
    assert "run-0" not in storage._shard_engines and f"run-{KEPT_SHARD_ENGINES + 2}" in storage._shard_engines
    storage.wipe()
    assert list(storage._shard_engines) == ["index"]  # wipe empties the index through a new engine
    assert not list(Path(tmp_path / "runs").glob("run-*.db"))
