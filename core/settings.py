"""Where things live and the settings of one run, built once and passed down.

The environment is read in exactly one place, ``build_settings``, and only for what the caller did not give
explicitly (CLI options, Dagster resource config). Nothing here writes the environment or works at import time.
Every path resolves from this file, from configuration or from those settings, never from the cwd.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.config import DEFAULT_CONFIG_PATH, PipelineConfig, load_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
# The environment variables build_settings falls back to (documented in the README).
DATA_DIR_ENV = "PMW_DATA_DIR"
CONFIG_ENV = "PMW_CONFIG"
# A landed file is read only once its size and mtime have not changed for this long (a copy still in progress
# keeps moving them). `pmw run --settle-seconds` and the `pmw` resource's `landing_settle_seconds` override it.
DEFAULT_LANDING_SETTLE_SECONDS = 30.0

__all__ = [
    "DBT_PROJECT_DIR",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_LANDING_SETTLE_SECONDS",
    "PROJECT_ROOT",
    "SOURCES",
    "Paths",
    "Settings",
    "build_settings",
]

SOURCES = ("analytics", "jira", "feedback", "billing", "marketing")


@dataclass(frozen=True)
class Paths:
    """The data directories of one deployment.

    ``data_dir`` holds everything a run writes: ``landing/`` (exports dropped here), ``lake/`` (Parquet per
    landed file, manifest, quarantine), ``warehouse/`` (the working DuckDB file, never opened by BI) and
    ``published/`` (what BI reads; a symlink swapped atomically per publication).
    """

    data_dir: Path

    @property
    def landing(self) -> Path:
        return self.data_dir / "landing"

    @property
    def lake(self) -> Path:
        return self.data_dir / "lake"

    @property
    def manifest_dir(self) -> Path:
        return self.lake / "_manifest"

    @property
    def quarantine_dir(self) -> Path:
        return self.lake / "_quarantine"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / "pmw.duckdb"

    @property
    def published(self) -> Path:
        """The path BI tools use: a symlink to the current release directory."""
        return self.data_dir / "published"

    @property
    def releases_dir(self) -> Path:
        return self.data_dir / "published.releases"

    @property
    def runs_dir(self) -> Path:
        """Run records (checks passed/failed, timings) that `pmw summary` reads."""
        return self.data_dir / "runs"

    def ensure(self) -> Paths:
        for d in (self.landing, self.lake, self.warehouse_dir, self.releases_dir, self.runs_dir):
            d.mkdir(parents=True, exist_ok=True)
        for source in SOURCES:
            (self.landing / source).mkdir(parents=True, exist_ok=True)
        return self


def get_paths(data_dir: str | os.PathLike[str]) -> Paths:
    """Paths for an explicit data directory (callers that may fall back to the environment use build_settings)."""
    return Paths(Path(data_dir).resolve())


@dataclass(frozen=True)
class Settings:
    """What one run works on: its data directories and its configuration, parsed and validated once."""

    paths: Paths
    config: PipelineConfig
    # Seconds a landed file's size and mtime must be unchanged before it is read (0: read every listed file).
    landing_settle_seconds: float = DEFAULT_LANDING_SETTLE_SECONDS

    @property
    def config_path(self) -> Path:
        return self.config.path or DEFAULT_CONFIG_PATH


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None, environ: Mapping[str, str] = os.environ) -> Paths:
    """Paths for ``data_dir``, else ``$PMW_DATA_DIR``, else ``<project>/data``; creates nothing."""
    return get_paths(data_dir or environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def build_settings(
    data_dir: str | os.PathLike[str] | None = None,
    config_path: str | os.PathLike[str] | None = None,
    *,
    landing_settle_seconds: float | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """The run's settings: explicit values first, then ``$PMW_DATA_DIR`` / ``$PMW_CONFIG``, then the repository's
    defaults. Reads and validates the configuration (ConfigError names the key); creates no directory."""
    config = load_config(config_path or environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
    settle = DEFAULT_LANDING_SETTLE_SECONDS if landing_settle_seconds is None else landing_settle_seconds
    if settle < 0:
        raise ValueError(f"landing settle time must be 0 or more seconds, got {settle}")
    return Settings(paths=resolve_data_dir(data_dir, environ), config=config, landing_settle_seconds=settle)
