"""Quarantine: rejected rows of one landed file, with the original line and the reason.

lake/_quarantine/<source>/<sha256>.parquet, written only when the file had rejected rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from core.settings import Paths
from ingest.common.parquet import copy_query_to_parquet


def quarantine_path(paths: Paths, source: str, sha256: str) -> Path:
    return paths.quarantine_dir / source / f"{sha256}.parquet"


def write_quarantine(
    con: duckdb.DuckDBPyConnection,
    select_sql: str,
    columns: tuple[tuple[str, str], ...],
    paths: Paths,
    source: str,
    sha256: str,
) -> Path:
    """Write the rows of ``select_sql`` cast to exactly ``columns`` (the source's quarantine contract)."""
    cast = ", ".join(f"CAST({name} AS {sql_type}) AS {name}" for name, sql_type in columns)
    target = quarantine_path(paths, source, sha256)
    copy_query_to_parquet(con, f"SELECT {cast} FROM ({select_sql})", target)
    return target
