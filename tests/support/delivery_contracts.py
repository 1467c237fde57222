"""Delivery marts as their enforced dbt contracts declare them, so gate tests follow the real column types."""

from __future__ import annotations

import yaml

from core.settings import DBT_PROJECT_DIR
from tests.support.contract_types import duckdb_spelling


def contract_ddl(mart: str) -> str:
    """`create or replace table <mart> (...)` with the columns and types of the delivery mart's contract."""
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "delivery" / "_delivery__models.yml").read_text())
    (model,) = [m for m in declared["models"] if m["name"] == mart]
    columns = ", ".join(f"{column['name']} {duckdb_spelling(column['data_type'])}" for column in model["columns"])
    return f"create or replace table {mart} ({columns})"
