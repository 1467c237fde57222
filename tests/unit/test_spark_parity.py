"""The Spark parity comparison (tests/support/spark_parity.py) on tiny tables: what must pass and what must fail."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.support.spark_parity import FloatTolerance, compare_marts, compare_tables

ROWS = """
    select * from (values
        ('a', 1, cast(1.50 as decimal(18, 4)), 0.1 + 0.2, ['x', 'y'], date '2024-01-01'),
        ('a', 1, cast(1.50 as decimal(18, 4)), 0.1 + 0.2, ['x', 'y'], date '2024-01-01'),
        ('b', 2, cast(2.25 as decimal(18, 4)), 1e6 / 3, ['z'], date '2024-01-02'),
        ('c', null, null, null, null, null)
    ) as t (name, n, amount, ratio, tags, day)
"""


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(f"create table reference as {ROWS}")
    return connection


def candidate(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    con.execute(f"create or replace table candidate as {sql}")
    return "candidate"


def test_the_same_rows_in_another_order_and_float_noise_are_equal(con):
    shuffled = candidate(
        con,
        "select name, cast(n as bigint) as n, amount, ratio * (1 + 1e-12) as ratio, tags, day "
        "from reference order by name desc",
    )
    result = compare_tables(con, "t", "reference", shuffled)
    assert result.equal, result.report()
    assert (result.reference_rows, result.candidate_rows) == (4, 4)
    assert 0 < result.largest_float_difference < 1e-11


def test_a_float_beyond_the_tolerance_fails_and_is_shown(con):
    drifted = candidate(
        con, "select * replace (case when name = 'b' then ratio * (1 + 1e-6) else ratio end as ratio) from reference"
    )
    result = compare_tables(con, "t", "reference", drifted)
    assert not result.equal
    assert result.float_mismatch_count == 1
    assert result.rows_only_in_reference == result.rows_only_in_candidate == 0
    ((column, reference_value, candidate_value, _key),) = result.float_mismatches
    assert column == "ratio" and candidate_value == pytest.approx(reference_value * (1 + 1e-6))
    assert "ratio: DuckDB" in result.report()


def test_a_float_against_null_fails(con):
    nulled = candidate(con, "select * replace (case when name = 'b' then null else ratio end as ratio) from reference")
    assert compare_tables(con, "t", "reference", nulled).float_mismatch_count == 1


def test_a_changed_decimal_fails_exactly(con):
    # Decimals are exact on both engines: the smallest step of the scale is a difference.
    changed = candidate(
        con, "select * replace (case when name = 'b' then amount + 0.0001 else amount end as amount) from reference"
    )
    result = compare_tables(con, "t", "reference", changed)
    assert not result.equal
    assert (result.rows_only_in_reference, result.rows_only_in_candidate) == (1, 1)
    assert result.only_in_reference[0][0] == "b"
    assert "only on Spark" in result.report()


def test_a_lost_duplicate_fails(con):
    # EXCEPT ALL counts multiplicity: one copy of a duplicated row missing is a difference.
    deduplicated = candidate(con, "select distinct * from reference")
    result = compare_tables(con, "t", "reference", deduplicated)
    assert not result.equal
    assert (result.reference_rows, result.candidate_rows) == (4, 3)
    assert result.rows_only_in_reference == 1


def test_a_reordered_list_fails(con):
    reordered = candidate(con, "select * replace (list_reverse(tags) as tags) from reference")
    assert not compare_tables(con, "t", "reference", reordered).equal


def test_a_missing_or_extra_column_is_a_problem(con):
    narrower = candidate(con, "select * exclude (day) from reference")
    assert compare_tables(con, "t", "reference", narrower).problem == "columns missing on Spark: day"
    wider = candidate(con, "select *, 1 as extra from reference")
    assert compare_tables(con, "t", "reference", wider).problem == "columns only on Spark: extra"


def test_the_tolerance_is_relative_and_absolute():
    con = duckdb.connect()
    tolerance = FloatTolerance(relative=1e-9, absolute=1e-9)

    def within(left: float, right: float) -> bool:
        return con.execute(f"select {tolerance.within_sql(repr(left), repr(right))}").fetchone()[0]

    assert within(1e9, 1e9 + 0.5)
    assert not within(1e9, 1e9 + 5)
    assert within(0.0, 5e-10)
    assert not within(0.0, 5e-9)


def test_marts_are_compared_with_the_spark_warehouse_files(tmp_path: Path):
    warehouse = tmp_path / "pmw.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_same as select range as id, range / 7 as share from range(10)")
        con.execute("create table marts.fct_changed as select range as id from range(3)")
        con.execute("create table marts.fct_empty (id bigint)")
        con.execute("create table marts.fct_missing (id bigint)")
        con.execute("create table marts.fct_not_a_dbt_mart (id bigint)")  # e.g. the scoring asset's: not compared
    spark = tmp_path / "spark_warehouse"
    for table, sql in [
        ("fct_same", "select range as id, range / 7 as share from range(10)"),
        ("fct_changed", "select range as id from range(4)"),
        ("fct_only_on_spark", "select 1 as id"),
    ]:
        (spark / "marts.db" / table).mkdir(parents=True)
        duckdb.sql(sql).write_parquet(str(spark / "marts.db" / table / "part-00000.parquet"))
    (spark / "marts.db" / "fct_empty").mkdir()  # Spark writes no file for an empty table

    marts = ["fct_same", "fct_changed", "fct_empty", "fct_missing", "fct_only_on_spark"]
    by_table = {c.table: c for c in compare_marts(warehouse, spark, marts, FloatTolerance())}
    assert by_table["fct_same"].equal
    assert by_table["fct_empty"].equal
    assert not by_table["fct_changed"].equal and by_table["fct_changed"].rows_only_in_candidate == 1
    assert by_table["fct_missing"].problem == "missing on Spark"
    assert by_table["fct_only_on_spark"].problem == "missing on DuckDB"
    assert set(by_table) == set(marts)
