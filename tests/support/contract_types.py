"""Column types as the dbt yml declares them, read the way dbt-duckdb reads them.

The yml spells types portably (`string`, `double`, `decimal(p,s)`), and array types per adapter through a jinja
test on `target.type` (dbt renders yml values before the adapter sees them). Tests that compare the yml with
ingest's contracts, or build a mart's table from its contract, read a type through duckdb_spelling: rendered for a
DuckDB target and named the way DuckDB names it (`string` is DuckDB's alias of VARCHAR).
"""

from __future__ import annotations

from functools import cache

import duckdb
import jinja2


def rendered_type(declared: str, adapter: str) -> str:
    """The yml data_type as dbt renders it for a target of type ``adapter`` ('duckdb', 'spark')."""
    return jinja2.Template(declared, undefined=jinja2.StrictUndefined).render(target={"type": adapter}).strip()


@cache
def duckdb_spelling(declared: str) -> str:
    """DuckDB's own name of a declared type: `string` -> VARCHAR, `decimal(18, 6)` -> DECIMAL(18,6)."""
    return str(duckdb.sql(f"select cast(null as {rendered_type(declared, 'duckdb')})").types[0])
