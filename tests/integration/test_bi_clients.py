"""The published marts.duckdb opens in the BI clients people run: DuckDB 1.x (Evidence's connector is on 1.4,
Metabase's driver and most clients on 1.x) and Superset's route (duckdb-engine + SQLAlchemy), each reading every
table with the same row counts and content checksums as DuckDB 2.x.

The clients are installed by `make bi-clients` into .venv-bi/<name>/ (pinned in the Makefile), never into .venv.
Without them the test skips, unless PMW_REQUIRE_BI_CLIENTS=1 (CI) makes it fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from core.settings import PROJECT_ROOT, Paths
from orchestration.dbt_cli import MANIFEST_PATH
from publish.release import PUBLISHED_DB_NAME, publish
from tests.support.contract_types import duckdb_spelling

READER = PROJECT_ROOT / "bench" / "bi_client_read.py"
CLIENTS_DIR = PROJECT_ROOT / ".venv-bi"
# client directory -> (reads through SQLAlchemy, the version string it must report)
CLIENTS = {
    "duckdb-1.1.3": (False, "duckdb 1.1.3"),
    "duckdb-1.4.4": (False, "duckdb 1.4.4"),
    "superset-duckdb-engine": (True, "duckdb-engine 0.17.0, SQLAlchemy 2.0.44, duckdb 1.4.4"),
}
# One column of every type the marts' contracts declare (checked against the dbt manifest below).
TYPED_COLUMNS = {
    "c_bigint": ("bigint", "9007199254740993"),
    "c_boolean": ("boolean", "true"),
    "c_date": ("date", "date '2024-02-29'"),
    "c_decimal_10_2": ("decimal(10,2)", "12345678.91"),
    "c_decimal_12_2": ("decimal(12,2)", "-0.01"),
    "c_decimal_18_4": ("decimal(18,4)", "12345678901234.5678"),
    "c_decimal_18_6": ("decimal(18,6)", "0.000001"),
    "c_decimal_9_4": ("decimal(9,4)", "99999.9999"),
    "c_double": ("double", "0.1 + 0.2"),
    "c_integer": ("integer", "-2147483648"),
    "c_timestamp": ("timestamp", "timestamp '2024-03-31 01:59:59.123456'"),
    "c_varchar": ("varchar", "'=HYPERLINK(\"x\") ünïcode'"),
    "c_varchar_list": ("varchar[]", "['report_shared', NULL, '']"),
}


def _mart_contract_types() -> set[str]:
    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return {
        duckdb_spelling(column["data_type"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
        for column in node["columns"].values()
        if column.get("data_type")
    }


def _read(database, client: str | None = None, sqlalchemy: bool = False) -> dict:
    args = [sys.executable, str(READER), str(database)]
    if client:
        args += ["--client-dir", str(CLIENTS_DIR / client)]
    if sqlalchemy:
        args.append("--sqlalchemy")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def published_db(tmp_path_factory):
    paths = Paths(tmp_path_factory.mktemp("bi") / "data").ensure()
    with duckdb.connect(str(paths.warehouse_path)) as con:
        con.execute("create schema marts")
        columns = ", ".join(f"{name} {sql_type}" for name, (sql_type, _value) in TYPED_COLUMNS.items())
        con.execute(f"create table marts.fct_every_type ({columns})")
        con.execute(f"insert into marts.fct_every_type values ({', '.join(v for _t, v in TYPED_COLUMNS.values())})")
        con.execute(f"insert into marts.fct_every_type values ({', '.join('NULL' for _ in TYPED_COLUMNS)})")
        con.execute(
            "create table marts.fct_many_rows as select range as id, range * 0.5 as half, 'row ' || range as label, "
            "date '2024-01-01' + (range % 400)::integer as day from range(50000)"
        )
    publish(paths, run_id="bi-clients-test")
    return paths.published / PUBLISHED_DB_NAME


def test_the_fixture_holds_every_type_the_marts_declare():
    assert _mart_contract_types() <= {duckdb_spelling(sql_type) for sql_type, _value in TYPED_COLUMNS.values()}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_bi_client_reads_every_published_table_as_duckdb_2_does(published_db, client):
    if not (CLIENTS_DIR / client).is_dir():
        if os.environ.get("PMW_REQUIRE_BI_CLIENTS") == "1":
            pytest.fail(f"{CLIENTS_DIR / client} is missing: run `make bi-clients`")
        pytest.skip(f"{client} not installed (make bi-clients)")
    sqlalchemy, version = CLIENTS[client]
    reference = _read(published_db)
    assert reference["client"] == f"duckdb {duckdb.__version__}"
    assert set(reference["tables"]) == {"fct_every_type", "fct_many_rows"}
    assert reference["tables"]["fct_many_rows"]["rows"] == 50000

    seen = _read(published_db, client, sqlalchemy)
    assert seen["client"] == version
    assert seen["tables"] == reference["tables"]


def test_the_published_file_is_read_only_to_its_readers(published_db):
    assert published_db.stat().st_mode & 0o777 == 0o444
    with duckdb.connect(str(published_db), read_only=True) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("create table x (a integer)")


CLI_CLIENT = "duckdb-cli-1.4.4"


def _cli(database, sql: str) -> subprocess.CompletedProcess:
    binary = CLIENTS_DIR / CLI_CLIENT / "bin" / "duckdb"  # the wheel's data script: pip --target puts it in bin/
    return subprocess.run(
        [str(binary), "-readonly", "-json", str(database), "-c", sql],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_duckdb_cli_1_x_reads_the_published_file_read_only(published_db):
    """The README's DuckDB CLI route, with the CLI binary of DuckDB 1.4 (the one Evidence's connector is on)."""
    if not (CLIENTS_DIR / CLI_CLIENT).is_dir():
        if os.environ.get("PMW_REQUIRE_BI_CLIENTS") == "1":
            pytest.fail(f"{CLIENTS_DIR / CLI_CLIENT} is missing: run `make bi-clients`")
        pytest.skip(f"{CLI_CLIENT} not installed (make bi-clients)")
    version = _cli(published_db, "select version() as v")
    assert version.returncode == 0, version.stderr
    assert json.loads(version.stdout) == [{"v": "v1.4.4"}]
    sql = (
        "select count(*) as n, sum(id) as ids, sum(half) as halves, count(distinct label) as labels, "
        "min(day)::varchar as first_day, max(day)::varchar as last_day from marts.fct_many_rows"
    )
    seen = _cli(published_db, sql)
    assert seen.returncode == 0, seen.stderr
    with duckdb.connect(str(published_db), read_only=True) as con:
        names = ["n", "ids", "halves", "labels", "first_day", "last_day"]
        expected = dict(zip(names, con.execute(sql).fetchone(), strict=True))
    assert json.loads(seen.stdout) == [{k: (float(v) if k == "halves" else v) for k, v in expected.items()}]
    refused = _cli(published_db, "create table marts.x (a integer)")
    assert refused.returncode != 0 and "read-only" in refused.stderr.lower()
