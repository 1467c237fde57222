"""A dbt warehouse on a tiny lake: Parquet written with exactly the ingest contracts' columns, the real `dbt`
run in its own process (PERFORMANCE-NOTES: a DuckDB file re-opened in-process hit lock errors), results read back
with DuckDB.

dbt's partial parsing is shared between warehouses: the profile's database path and the sources' lake location are
given relative to the dbt process's working directory (the warehouse root), so they render to the same text for
every warehouse, and the `partial_parse.msgpack` of the first build with a set of vars seeds the target directory
of every later warehouse with those vars. An absolute path differs per warehouse and makes every invocation a full
parse of the project (measured: 46 s of parsing instead of 2.6 s on a loaded 2-core machine). Staging views
therefore read `lake/...` relative paths: `Warehouse.connect` sets DuckDB's file_search_path to the warehouse root.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.settings import DBT_PROJECT_DIR
from ingest.analytics.contract import EVENT_COLUMNS

DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
ANALYTICS_MARTS = ("fct_sessions", "fct_active_users", "fct_funnel_conversion", "fct_retention_cohorts")
PARTIAL_PARSE_FILE = "partial_parse.msgpack"

ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "BIGINT": pa.int64(),
    "DECIMAL(18,6)": pa.decimal128(18, 6),
}


@dataclass
class Event:
    event_key: str
    event_name: str
    event_time: dt.datetime
    user_id: str | None = None
    anonymous_id: str | None = None
    session_key: str | None = None
    platform: str | None = "web"
    country: str | None = "DE"
    revenue: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = "amplitude"

    @property
    def event_id(self) -> str:
        """The staging primary key, computed independently: md5 of 'source|event_key'."""
        return hashlib.md5(f"{self.source}|{self.event_key}".encode()).hexdigest()


def write_lake_file(lake_dir: Path, name: str, events: list[Event], ingested_at: dt.datetime) -> Path:
    """One lake Parquet file with exactly the contract's columns and DuckDB types, as ingest writes it."""
    target_dir = lake_dir / "analytics" / "events"
    target_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[Any]] = {name_: [] for name_, _ in EVENT_COLUMNS}
    for line_number, event in enumerate(events, start=1):
        values = {
            "event_key": event.event_key,
            "source": event.source,
            "event_name": event.event_name,
            "user_id": event.user_id,
            "anonymous_id": event.anonymous_id,
            "session_key": event.session_key,
            "event_time": event.event_time,
            "received_at": event.event_time + dt.timedelta(seconds=5),
            "platform": event.platform,
            "country": event.country,
            "revenue": None if event.revenue is None else decimal.Decimal(event.revenue),
            "properties": json.dumps(event.properties),
            "user_properties": "{}",
            "_source_file": f"analytics/{name}.jsonl",
            "_source_member": None,
            "_line_number": line_number,
            "_file_sha256": hashlib.sha256(name.encode()).hexdigest(),
            "_ingested_at": ingested_at,
        }
        for column, value in values.items():
            rows[column].append(value)
    arrow_events = pa.table({c: pa.array(rows[c], type=ARROW_TYPES[t]) for c, t in EVENT_COLUMNS})
    casts = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in EVENT_COLUMNS)
    path = target_dir / f"{name}.parquet"
    with duckdb.connect() as con:
        con.register("arrow_events", arrow_events)
        con.execute(f"copy (select {casts} from arrow_events) to '{path}' (format parquet)")
    return path


def write_schema_file(lake_dir: Path) -> None:
    """The zero-row `_schema.parquet` ingest keeps so the source glob always matches."""
    target_dir = lake_dir / "analytics" / "events"
    target_dir.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(f'cast(null as {t}) as "{c}"' for c, t in EVENT_COLUMNS)
    with duckdb.connect() as con:
        con.execute(f"copy (select {columns} where false) to '{target_dir / '_schema.parquet'}' (format parquet)")


@dataclass
class Warehouse:
    root: Path
    dbt_vars: dict[str, Any]
    # Where parsed projects are kept for the next warehouse (tests/dbt/conftest.py: one directory per session);
    # None parses afresh.
    parse_cache: Path | None = None

    @property
    def lake_dir(self) -> Path:
        return self.root / "lake"

    @property
    def path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def target_dir(self) -> Path:
        return self.root / "dbt_target"

    def _cached_parse(self) -> Path | None:
        """The cached partial-parse state for this warehouse's vars (dbt parses afresh when the vars differ)."""
        if self.parse_cache is None:
            return None
        vars_digest = hashlib.sha256(json.dumps(self.dbt_vars, sort_keys=True).encode()).hexdigest()[:16]
        return self.parse_cache / f"{vars_digest}.msgpack"

    def dbt_process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `dbt <args>` in its own process exactly as given; the caller judges the result."""
        cached = self._cached_parse()
        own_state = self.target_dir / PARTIAL_PARSE_FILE
        if cached is not None and cached.exists() and not own_state.exists():
            self.target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, own_state)
        env = os.environ | {
            # Relative to cwd=self.root below: the same text for every warehouse (see the module docstring).
            "PMW_LAKE_DIR": "lake",
            "PMW_WAREHOUSE_PATH": self.path.name,
            "DBT_TARGET_PATH": str(self.target_dir),
            "DBT_LOG_PATH": str(self.root / "dbt_logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        command = [
            str(DBT_EXECUTABLE),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--vars",
            json.dumps(self.dbt_vars),
        ]
        result = subprocess.run(command, env=env, cwd=self.root, capture_output=True, text=True, check=False)
        if cached is not None and not cached.exists() and own_state.exists():
            # Written to a temporary name, then renamed: a reader never sees half a file.
            partial = cached.with_suffix(".partial")
            shutil.copyfile(own_state, partial)
            partial.replace(cached)
        return result

    def dbt(self, *args: str) -> float:
        """Run dbt in its own process; returns wall seconds. Fails the test with dbt's output on error."""
        if args and args[0] == "build":
            # dbt unit tests need their model's inputs to exist and dbt does not order them after those inputs,
            # so a fresh build can race; they run once, after the models, in tests/dbt/test_dbt_unit_tests.py.
            args = (*args, "--exclude", "resource_type:unit_test")
        started = time.perf_counter()
        result = self.dbt_process(*args)
        elapsed = time.perf_counter() - started
        assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        return elapsed

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection on which the staging views find their lake files (relative to the root)."""
        con = duckdb.connect(str(self.path), read_only=True)
        con.execute("set file_search_path = ?", [str(self.root)])
        return con

    def rows(self, sql: str) -> list[tuple]:
        with self.connect() as con:
            return con.execute(sql).fetchall()

    def mart_contents(self) -> dict[str, list[tuple]]:
        """Every analytics mart row, sorted. Marts hold no build-time values (fct_sessions' incremental watermark is
        in intermediate.fct_sessions_sessionized_through), so equal landed data gives equal contents."""
        return {mart: sorted(self.rows(f"select * from marts.{mart}"), key=repr) for mart in ANALYTICS_MARTS}


def as_dicts(warehouse: Warehouse, sql: str) -> list[dict[str, Any]]:
    """Rows of a query on the warehouse as {column: value}."""
    with warehouse.connect() as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def build_selecting(*relations: str) -> tuple[str, ...]:
    """`dbt build` arguments for only what the given relations need: each with its ancestors, and only the data
    tests whose parents are all built (`cautious`: a test reaching into an unbuilt model fails on a missing table).
    The rest of the project is built, on every source's data at once, by tests/dbt/test_dbt_project.py's full build
    and by every pipeline run of tests/integration/."""
    return ("build", "--select", *(f"+{relation}" for relation in relations), "--indirect-selection", "cautious")
