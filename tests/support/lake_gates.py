"""Helpers for the raw (lake entity) gate tests: rows typed exactly as the entity's contract, one validation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from core.config import PipelineConfig
from expectations import GateResult, validate_relation
from expectations.runner import Gate

NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


def lineage(number: int, source_file: str, sha: str = "a" * 64) -> dict[str, Any]:
    return {
        "_source_file": source_file,
        "_source_format": "test",
        "_record_number": number + 1,
        "_file_sha256": sha,
        "_ingested_at": dt.datetime(2024, 5, 1),
    }


def validate_rows(gate: Gate, rows: list[dict[str, Any]], config: PipelineConfig) -> GateResult:
    """Load ``rows`` into a table typed like the gate's contract and validate it."""
    columns = gate.contract
    with duckdb.connect() as con:
        con.execute(f"create table lake_rows ({', '.join(f'{c} {t}' for c, t in columns)})")
        for row in rows:
            con.execute(
                f"insert into lake_rows values ({', '.join('?' for _ in columns)})", [row.get(c) for c, _ in columns]
            )
        return validate_relation(con, "lake_rows", gate, config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}
