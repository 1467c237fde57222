"""Parquet output through DuckDB: query -> temp file -> rename, and the zero-row schema file."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.common.atomic import atomic_output


def sql_string(value: str) -> str:
    """A SQL string literal (single quotes doubled). Only for values, never identifiers."""
    return "'" + value.replace("'", "''") + "'"


def copy_query_to_parquet(con: duckdb.DuckDBPyConnection, select_sql: str, final_path: Path) -> int:
    """Write ``select_sql``'s rows to ``final_path`` (zstd) atomically; return the row count written."""
    with atomic_output(final_path) as tmp:
        result = con.execute(
            f"COPY ({select_sql}) TO {sql_string(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
        ).fetchone()
    return int(result[0]) if result else 0


def empty_select(columns: tuple[tuple[str, str], ...]) -> str:
    """A zero-row SELECT with exactly these column names and types."""
    cols = ", ".join(f"CAST(NULL AS {sql_type}) AS {name}" for name, sql_type in columns)
    return f"SELECT {cols} LIMIT 0"


def parquet_schema(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, str]]:
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(path))})").fetchall()
    return [(row[0], row[1]) for row in rows]


def ensure_schema_file(con: duckdb.DuckDBPyConnection, columns: tuple[tuple[str, str], ...], path: Path) -> bool:
    """Make ``path`` a zero-row Parquet with exactly ``columns``; rewrite only if missing or different.

    Returns True if it was (re)written. Keeps a dbt source glob matching even before the first load.
    """
    if path.exists():
        try:
            if parquet_schema(con, path) == list(columns):
                return False
        except duckdb.Error:
            pass  # unreadable: rewrite it
    copy_query_to_parquet(con, empty_select(columns), path)
    return True
