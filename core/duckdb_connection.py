"""The one way the pipeline opens DuckDB: every connection gets the run's memory limit, spill directory and threads.

Without a ``memory_limit`` DuckDB takes up to 80 % of RAM, and without a ``temp_directory`` an in-memory database
cannot spill at all. The bounds come from the ``duckdb:`` section of the configuration (core/config.py). A run
resolves them once (``DuckDBSettings.for_run``) and hands them to ``configure_duckdb``: the entry points do that
(`pmw run`'s in-process runner and the Dagster ``pmw`` resource), so the layers below open connections with
``connect_duckdb()`` without carrying the configuration through every call. Code outside a run (tests, tools) gets
the configuration's defaults, spilling under the system temp directory. dbt's DuckDB gets the same bounds through
its profile (orchestration/dbt_cli.py ``dbt_env``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.config import DuckDBConfig, PipelineConfig
from core.settings import Paths, Settings

# Under the data directory unless the configuration says otherwise.
DEFAULT_TEMP_SUBDIR = Path("tmp") / "duckdb"


@dataclass(frozen=True)
class DuckDBSettings:
    memory_limit: str
    temp_directory: Path  # absolute
    threads: int | None  # None: DuckDB's default (one per core)

    @classmethod
    def resolve(cls, config: DuckDBConfig, data_dir: Path) -> DuckDBSettings:
        temp = config.temp_directory if config.temp_directory is not None else DEFAULT_TEMP_SUBDIR
        return cls(config.memory_limit, (data_dir / temp).resolve(), config.threads)

    @classmethod
    def for_run(cls, settings: Settings) -> DuckDBSettings:
        return cls.resolve(settings.config.duckdb, settings.paths.data_dir)

    @classmethod
    def for_paths(cls, paths: Paths, config: PipelineConfig | None = None) -> DuckDBSettings:
        """The configured run's settings if they are for ``paths``' data directory, else ``config``'s (default: the
        defaults) for it."""
        if _configured is not None and _configured_data_dir == paths.data_dir:
            return _configured
        return cls.resolve(config.duckdb if config is not None else DuckDBConfig(), paths.data_dir)

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        self.temp_directory.mkdir(parents=True, exist_ok=True)
        con.execute("SET memory_limit = $limit", {"limit": self.memory_limit})
        con.execute("SET temp_directory = $dir", {"dir": str(self.temp_directory)})
        if self.threads is not None:
            con.execute(f"SET threads = {int(self.threads)}")


_configured: DuckDBSettings | None = None
_configured_data_dir: Path | None = None


def configure_duckdb(settings: Settings) -> DuckDBSettings:
    """Make ``settings``' DuckDB bounds those of every later ``connect_duckdb()`` in this process (one run)."""
    global _configured, _configured_data_dir
    _configured, _configured_data_dir = DuckDBSettings.for_run(settings), settings.paths.data_dir
    return _configured


def current_duckdb_settings() -> DuckDBSettings:
    """The configured run's bounds, else the configuration's defaults spilling under the system temp directory."""
    if _configured is not None:
        return _configured
    return DuckDBSettings.resolve(DuckDBConfig(), Path(tempfile.gettempdir()) / f"pmw-{os.getuid()}")


def connect_duckdb(
    database: str | os.PathLike[str] = ":memory:",
    *,
    read_only: bool = False,
    settings: DuckDBSettings | None = None,
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with the memory limit, spill directory and threads of ``settings`` (default: the run's)."""
    bounds = settings or current_duckdb_settings()
    con = duckdb.connect(str(database), read_only=read_only)
    try:
        bounds.apply(con)
    except BaseException:
        con.close()
        raise
    return con
