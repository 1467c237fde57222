"""The SQLite storage of a data directory's Dagster instance, with dagster's per-statement connection cost removed.

Dagster 1.13's ``SqliteEventLogStorage`` creates a SQLAlchemy engine, opens a connection, commits with a full fsync
and disposes the engine for every statement, and asks SQLite whether the asset-check table exists on every check
event. A run of the 200-user sample stores ~1,800 events (~440 planned at its start, one per dbt model and data
test, the gates' results), each through 2-5 such statements; keeping the engines took that run from 76.9 to 71.8 s
(CPU 89.6 -> 80.2 s, with the in-process dbt version of orchestration/dbt_resource.py), more on a slow disk.
Here each shard's engine is kept (a pooled connection, ``synchronous=NORMAL``: SQLite's WAL-safe setting, which
fsyncs at checkpoints instead of at every commit), and a table found once is not looked up again (tables are only
added by migrations). The files, their schema and what is stored are dagster's own: the webserver, the daemon and an
older instance read and write them as before.

``DataDirInstance`` is named by dagster_home/dagster.yaml (``instance_class``); its only change to dagster's instance
is this storage as the default one, so every process that loads the instance (`pmw run`, `pmw dev`'s webserver and
daemon, a run worker) uses it, under the same directory layout as dagster's default SQLite storage.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import yaml
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# Shards whose engine is kept: the index and the runs this process is writing or reading (the webserver reads many
# runs; an evicted shard's engine is disposed, its next use opens a new one).
KEPT_SHARD_ENGINES = 8


def _synchronous_normal(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, one kept engine per shard (see the module docstring)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._shard_engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_present: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._shard_engines.get(shard)
        if engine is not None:
            self._shard_engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            pool_size=1,
            max_overflow=2,
        )
        event.listen(engine, "connect", _synchronous_normal)
        self._shard_engines[shard] = engine
        while len(self._shard_engines) > KEPT_SHARD_ENGINES:
            _, evicted = self._shard_engines.popitem(last=False)
            evicted.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As dagster's, under the same lock (one statement at a time per storage), with the shard's kept engine.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        if table_name in self._tables_present:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables_present.add(table_name)
        return present

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._shard_engines:
                _, engine = self._shard_engines.popitem()
                engine.dispose()

    def wipe(self) -> None:
        # wipe unlinks the run shards' files: no kept connection may go on writing to an unlinked file.
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (runs, event log, schedules under one base directory), with the pooled event
    log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # DagsterSqliteStorage.__init__ would open dagster's own event log first; its attributes are set here instead.
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping) -> PooledSqliteStorage:  # ty: ignore[invalid-method-override]
        return cls.from_local(inst_data=inst_data, **config_value)


class DataDirInstance(DagsterInstance):
    """Dagster's instance, whose default storage (no ``storage:`` in dagster.yaml) is ``PooledSqliteStorage``."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        return {
            **InstanceRef.config_defaults(base_dir),
            "storage": ConfigurableClassData(
                __name__, PooledSqliteStorage.__name__, yaml.dump({"base_dir": base_dir}, default_flow_style=False)
            ),
        }
