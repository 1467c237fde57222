"""Jira lake files for dbt tests: one Parquet file per entity with exactly the ingest contract's columns and types."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import duckdb

from ingest.jira.contract import ENTITIES


def at(month: int, day: int, hour: float = 9) -> dt.datetime:
    return dt.datetime(2024, month, day) + dt.timedelta(hours=hour)


def write_jira_file(lake_dir: Path, entity: str, name: str, rows: list[dict[str, Any]], ingested_at: dt.datetime):
    """One lake Parquet file of an entity with exactly the contract's columns and types, as ingest writes it.
    Columns a row does not name are NULL; lineage columns are filled in."""
    columns = ENTITIES[entity]
    target_dir = lake_dir / "jira" / entity
    target_dir.mkdir(parents=True, exist_ok=True)
    lineage = {
        "_source_file": f"jira/{name}",
        "_source_format": "csv" if name.endswith(".csv") else "rest_v3",
        "_file_sha256": hashlib.sha256(name.encode()).hexdigest(),
        "_ingested_at": ingested_at,
    }
    unknown = {key for row in rows for key in row} - {c for c, _ in columns}
    assert not unknown, f"not in the {entity} contract: {unknown}"
    with duckdb.connect() as con:
        con.execute(f"create table rows_ ({', '.join(f'{c} {t}' for c, t in columns)})")
        for number, row in enumerate(rows, start=1):
            values = lineage | {"_record_number": number} | row
            con.execute(
                f"insert into rows_ values ({', '.join('?' for _ in columns)})",
                [values.get(c) for c, _ in columns],
            )
        path = target_dir / f"{hashlib.sha256(name.encode()).hexdigest()}.parquet"
        con.execute(f"copy rows_ to '{path}' (format parquet)")
    return path


def write_jira_schema_files(lake_dir: Path) -> None:
    for entity in ENTITIES:
        write_jira_file(lake_dir, entity, f"_schema_{entity}", [], dt.datetime(2024, 1, 1))


def issue(key: str, issue_type: str, level: int, status: str, category: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "issue_id": key.split("-")[1],
        "issue_key": key,
        "project_key": "PROD",
        "issue_type": issue_type,
        "hierarchy_level": level,
        "summary": f"{issue_type} {key}",
        "status": status,
        "status_category": category,
        "created_at": at(1, 25),
        "updated_at": at(3, 20),
        "changelog_complete": True,
        "changelog_total": 1,
        "changelog_loaded": 1,
        **fields,
    }
