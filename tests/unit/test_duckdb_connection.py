"""DuckDB's bounds: the duckdb: section validates, every connection the helper opens carries the configured memory
limit, spill directory and threads, dbt's profile gets the same through its environment, and no module of the
pipeline opens DuckDB around the helper."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import duckdb
import pytest
import yaml

import core.duckdb_connection as duckdb_connection
from core.config import ConfigError, parse_config
from core.duckdb_connection import DuckDBSettings, configure_duckdb, connect_duckdb
from core.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings, get_paths
from orchestration.dbt_cli import (
    DUCKDB_MEMORY_LIMIT_ENV,
    DUCKDB_TEMP_DIRECTORY_ENV,
    DUCKDB_THREADS_ENV,
    dbt_env,
    dbt_process_env,
)

HERE = Path("test.yml")


@pytest.fixture(autouse=True)
def _no_configured_run(monkeypatch):
    """Each test starts as a process outside a run; configure_duckdb's process state is restored afterwards."""
    monkeypatch.setattr(duckdb_connection, "_configured", None)
    monkeypatch.setattr(duckdb_connection, "_configured_data_dir", None)


def _settings(tmp_path: Path, duckdb_section: dict | None) -> Settings:
    raw = {} if duckdb_section is None else {"duckdb": duckdb_section}
    return Settings(paths=get_paths(tmp_path / "data"), config=parse_config(raw, HERE))


def _bounds(con: duckdb.DuckDBPyConnection) -> tuple[str, str, int]:
    return con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory'), current_setting('threads')"
    ).fetchone()


def _memory_limit_as_duckdb_shows(limit: str) -> str:
    with duckdb.connect() as con:
        con.execute("SET memory_limit = $limit", {"limit": limit})
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_duckdb_section_defaults_and_validation():
    default = parse_config({}, HERE).duckdb
    assert (default.memory_limit, default.temp_directory, default.threads) == ("4GB", None, None)
    set_ = parse_config({"duckdb": {"memory_limit": "1.5GiB", "temp_directory": "spill", "threads": 2}}, HERE).duckdb
    assert (set_.memory_limit, set_.temp_directory, set_.threads) == ("1.5GiB", Path("spill"), 2)
    with pytest.raises(ConfigError) as raised:
        parse_config({"duckdb": {"memory_limit": "80%", "threads": 0, "temp_directory": "", "spill": 1}}, HERE)
    message = str(raised.value)
    for expected in (
        "duckdb.memory_limit: expected a size such as '4GB'",
        "duckdb.threads: expected an integer >= 1, got 0",
        "duckdb.temp_directory: expected a directory path",
        "duckdb.spill: unknown key (allowed: memory_limit, temp_directory, threads)",
    ):
        assert expected in message


def test_shipped_configuration_bounds_duckdb():
    shipped = yaml.safe_load((PROJECT_ROOT / "config" / "pmw.yml").read_text(encoding="utf-8"))
    assert shipped["duckdb"]["memory_limit"] == "4GB"


def test_a_connection_carries_the_configured_limit_spill_directory_and_threads(tmp_path):
    settings = _settings(tmp_path, {"memory_limit": "512MB", "threads": 1})
    bounds = configure_duckdb(settings)
    assert bounds.temp_directory == tmp_path / "data" / "tmp" / "duckdb"  # the default: under the data directory
    with connect_duckdb() as con:
        assert _bounds(con) == (_memory_limit_as_duckdb_shows("512MB"), str(bounds.temp_directory), 1)
    assert bounds.temp_directory.is_dir()  # DuckDB makes only the last folder of its spill path


def test_a_relative_temp_directory_is_taken_from_the_data_directory_and_files_open_bounded(tmp_path):
    bounds = DuckDBSettings.for_run(_settings(tmp_path, {"memory_limit": "300MB", "temp_directory": "spill/here"}))
    assert bounds.temp_directory == tmp_path / "data" / "spill" / "here"
    db = tmp_path / "w.duckdb"
    with connect_duckdb(db, settings=bounds) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        assert _bounds(con)[:2] == (_memory_limit_as_duckdb_shows("300MB"), str(bounds.temp_directory))
    with connect_duckdb(db, read_only=True, settings=bounds) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
        assert _bounds(con)[0] == _memory_limit_as_duckdb_shows("300MB")


def test_the_bound_holds_by_spilling_a_sort_larger_than_the_limit(tmp_path):
    bounds = DuckDBSettings("64MB", tmp_path / "spill", 1)
    with connect_duckdb(settings=bounds) as con:
        (rows,) = con.execute(
            "SELECT count(*) FROM (SELECT i, md5(CAST(i AS VARCHAR)) AS m FROM range(2000000) t(i) ORDER BY m)"
        ).fetchone()
        assert rows == 2_000_000


def test_outside_a_run_connections_get_the_defaults_spilling_under_the_system_temp_directory():
    with connect_duckdb() as con:
        limit, temp, _threads = _bounds(con)
    assert limit == _memory_limit_as_duckdb_shows("4GB")
    assert Path(temp).is_relative_to(tempfile.gettempdir()) and not Path(temp).is_relative_to(PROJECT_ROOT)


def test_dbt_env_carries_the_bounds_and_the_profile_reads_them(tmp_path):
    settings = _settings(tmp_path, {"memory_limit": "3GB", "temp_directory": "spill", "threads": 2})
    configure_duckdb(settings)
    env = dbt_env(settings.paths)
    assert env[DUCKDB_MEMORY_LIMIT_ENV] == "3GB"
    assert env[DUCKDB_TEMP_DIRECTORY_ENV] == "spill"  # relative: dbt runs in the data directory
    assert env[DUCKDB_THREADS_ENV] == "2"
    # another data directory than the configured run's: the defaults, for that directory
    other = dbt_env(get_paths(tmp_path / "other"))
    assert (other[DUCKDB_MEMORY_LIMIT_ENV], other[DUCKDB_TEMP_DIRECTORY_ENV]) == ("4GB", str(Path("tmp") / "duckdb"))
    process_env = dbt_process_env(settings.paths)
    assert process_env[DUCKDB_MEMORY_LIMIT_ENV] == "3GB"
    assert (settings.paths.data_dir / "spill").is_dir()
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    # At open (config_options), never per cursor (settings): DuckDB refuses a second SET temp_directory once spilled.
    output = profile["pmw"]["outputs"]["duckdb"]
    bounds = output["config_options"]
    assert DUCKDB_MEMORY_LIMIT_ENV in bounds["memory_limit"]
    assert DUCKDB_TEMP_DIRECTORY_ENV in bounds["temp_directory"]
    assert DUCKDB_THREADS_ENV in bounds["threads"]
    assert not {"memory_limit", "temp_directory", "threads"} & set(output["settings"])


def test_no_pipeline_module_opens_duckdb_around_the_helper():
    opened = re.compile(r"\bduckdb\.connect\(")
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for package in ("core", "ingest", "expectations", "portfolio", "publish", "orchestration", "pmw")
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if path != PROJECT_ROOT / "core" / "duckdb_connection.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if opened.search(line)
    ]
    assert not offenders, f"open DuckDB with core.duckdb_connection.connect_duckdb: {offenders}"
