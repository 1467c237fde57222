"""dbt tests: real `dbt` processes on tiny lakes (tests/support/warehouse.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dbt_parse_cache(tmp_path_factory) -> Path:
    """One directory per session for dbt's partial-parse state: every warehouse after the first with the same vars
    starts from the parsed project instead of parsing it again."""
    return tmp_path_factory.mktemp("dbt_parse_cache")
