"""Read a published marts.duckdb the way a BI client does, with whatever duckdb (and duckdb-engine) ``--client-dir``
holds; print JSON: the client's versions and, per table, its row count and a content checksum.

Run by tests/unit/test_bi_clients.py and by hand (README, "Connecting a BI tool"), with this project's interpreter:

    python bench/bi_client_read.py --client-dir .venv-bi/duckdb-1.1.3 data/published/marts.duckdb
    python bench/bi_client_read.py --client-dir .venv-bi/superset-duckdb-engine --sqlalchemy data/published/marts.duckdb

The checksum is computed in Python over the fetched values (not with DuckDB's hash(), which differs between
versions): sha256 of the sorted rows' reprs, so any two clients that read the same values print the same number.
``--sqlalchemy`` goes through duckdb-engine as Superset does: engine from a URL, the inspector's table and column
listing (where SQLAlchemy 2.1 fails on pg_catalog.pg_collation), then the queries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from decimal import Decimal
from pathlib import Path


def _checksum(rows) -> str:
    def norm(value):
        if isinstance(value, float):
            return repr(round(value, 9))
        if isinstance(value, Decimal):
            return str(value.normalize()) if value == value else "NaN"
        if isinstance(value, (list, tuple)):
            return "[" + ",".join(norm(v) for v in value) + "]"
        return repr(value)

    lines = sorted("|".join(norm(v) for v in row) for row in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def read_with_duckdb(path: str) -> dict:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    tables = [r[0] for r in con.execute("select table_name from information_schema.tables order by 1").fetchall()]
    result = {}
    for name in tables:
        rows = con.execute(f'select * from "{name}"').fetchall()
        result[name] = {"rows": len(rows), "checksum": _checksum(rows)}
    con.close()
    return {"client": f"duckdb {duckdb.__version__}", "tables": result}


def read_with_sqlalchemy(path: str) -> dict:
    import duckdb
    import duckdb_engine
    import sqlalchemy
    from sqlalchemy import create_engine, inspect, text

    # The URI a Superset user types: four slashes (an absolute path), read-only.
    engine = create_engine(f"duckdb:///{Path(path).resolve()}?access_mode=read_only")
    inspector = inspect(engine)
    result = {}
    with engine.connect() as conn:
        for name in sorted(inspector.get_table_names()):
            inspector.get_columns(name)  # what Superset does when a dataset is added
            rows = conn.execute(text(f'select * from "{name}"')).fetchall()
            result[name] = {"rows": len(rows), "checksum": _checksum([tuple(r) for r in rows])}
    engine.dispose()
    versions = (duckdb_engine.__version__, sqlalchemy.__version__, duckdb.__version__)
    client = "duckdb-engine {}, SQLAlchemy {}, duckdb {}".format(*versions)
    return {"client": client, "tables": result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database")
    parser.add_argument("--client-dir", help="a `pip install --target` directory with the client packages")
    parser.add_argument("--sqlalchemy", action="store_true", help="through duckdb-engine, as Superset connects")
    args = parser.parse_args(argv)
    if args.client_dir:
        sys.path.insert(0, args.client_dir)  # ahead of this interpreter's own duckdb
    result = read_with_sqlalchemy(args.database) if args.sqlalchemy else read_with_duckdb(args.database)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
