"""A Jira pipeline run and the queries its tests make on what it published (tests/integration and tests/scenarios)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import duckdb

from core.settings import Paths
from pmw.pipeline import RunOutcome
from sample_generator.jira import JiraTruths


@dataclasses.dataclass(frozen=True)
class JiraRun:
    paths: Paths
    outcome: RunOutcome
    truths: JiraTruths

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a query on the published marts (what BI reads)."""
        with duckdb.connect(str(self.paths.published / "marts.duckdb"), read_only=True) as con:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def by_key(self, table: str, key: str) -> dict[Any, dict[str, Any]]:
        return {row[key]: row for row in self.rows(f"select * from {table}")}


def points(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)
