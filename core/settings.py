"""Where things live. Every path resolves from this file or from environment variables, never from the cwd."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "pmw.yml"

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


def get_paths(data_dir: str | os.PathLike[str] | None = None) -> Paths:
    """Paths for ``data_dir``, else ``$PMW_DATA_DIR``, else ``<project>/data``."""
    chosen = data_dir or os.environ.get("PMW_DATA_DIR") or (PROJECT_ROOT / "data")
    return Paths(Path(chosen).resolve())


def get_config_path(config_path: str | os.PathLike[str] | None = None) -> Path:
    chosen = config_path or os.environ.get("PMW_CONFIG") or DEFAULT_CONFIG_PATH
    return Path(chosen).resolve()
