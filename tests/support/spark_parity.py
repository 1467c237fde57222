"""Mart-for-mart parity of the dbt project on Spark with the DuckDB build (`make parity-spark`, docs/scale-out.md).

The DuckDB side is a data directory the pipeline built (its working warehouse, the marts exactly as dbt built
them). The Spark side: the same dbt project, seeds and models, run with the profile's `spark` output (PySpark in the
dbt process) on the same lake and vars; its marts are Parquet tables under the Spark warehouse directory, which
DuckDB reads. Every mart is then compared in DuckDB:

- the row counts;
- the rows, order-independently: EXCEPT ALL both ways on every non-float column (decimals, texts, dates, lists
  compare exactly), and each float column within FloatTolerance on rows paired by all the exact columns (ties
  broken by the floats' own order);
- a mart missing on either side is a difference.

Any difference fails (exit status 1), naming the table and printing example rows from each side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.config import load_config
from core.settings import DBT_PROJECT_DIR, get_paths

# Floats equal when |a - b| <= ABSOLUTE + RELATIVE * max(|a|, |b|). One microsecond absolute: DuckDB's
# seconds_between subtracts two epoch() doubles near 1.7e9, each within 2.4e-7 s of the exact value, while Spark
# subtracts exact microseconds (fct_sessions.duration_seconds differs by up to ~2.4e-7 s). Otherwise the builds
# agree to ~1e-11 relative. Measured on the default sample: docs/scale-out.md ("Parity with DuckDB").
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-6
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
EXAMPLE_ROWS = 5
# The marts schema of both builds (macros/generate_schema_name.sql).
MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class FloatTolerance:
    relative: float = RELATIVE_TOLERANCE
    absolute: float = ABSOLUTE_TOLERANCE

    def within_sql(self, left: str, right: str) -> str:
        """SQL true when two float expressions agree (both NULL agree; NULL and a number do not)."""
        return (
            f"coalesce(({left} is null and {right} is null) or {left} = {right} or "
            f"abs({left} - {right}) <= {self.absolute!r} + {self.relative!r} * greatest(abs({left}), abs({right})), "
            "false)"
        )


@dataclass
class TableComparison:
    table: str
    reference_rows: int | None = None
    candidate_rows: int | None = None
    # "missing on ..." or a comparison error; None when the table could be compared.
    problem: str | None = None
    only_in_reference: list[tuple] = field(default_factory=list)
    only_in_candidate: list[tuple] = field(default_factory=list)
    rows_only_in_reference: int = 0
    rows_only_in_candidate: int = 0
    # (column, reference value, candidate value, the row's exact columns) of floats beyond the tolerance
    float_mismatches: list[tuple] = field(default_factory=list)
    float_mismatch_count: int = 0
    largest_float_difference: float = 0.0
    columns: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return (
            self.problem is None
            and self.reference_rows == self.candidate_rows
            and self.rows_only_in_reference == 0
            and self.rows_only_in_candidate == 0
            and self.float_mismatch_count == 0
        )

    def report(self) -> str:
        head = f"{self.table}: "
        if self.problem:
            return head + self.problem
        lines = [
            head + f"{self.reference_rows} rows on DuckDB, {self.candidate_rows} on Spark; "
            f"{self.rows_only_in_reference} only on DuckDB, {self.rows_only_in_candidate} only on Spark "
            f"(exact columns), {self.float_mismatch_count} float value(s) beyond tolerance"
        ]
        exact = [c for c in self.columns]
        for side, rows in (("only on DuckDB", self.only_in_reference), ("only on Spark", self.only_in_candidate)):
            for row in rows:
                lines.append(f"  {side}: " + ", ".join(f"{c}={v!r}" for c, v in zip(exact, row, strict=False)))
        for column, reference, candidate, key in self.float_mismatches:
            lines.append(f"  {column}: DuckDB {reference!r} vs Spark {candidate!r} at {key!r}")
        return "\n".join(lines)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compare_tables(
    con: duckdb.DuckDBPyConnection,
    table: str,
    reference: str,
    candidate: str,
    tolerance: FloatTolerance = FloatTolerance(),
    examples: int = EXAMPLE_ROWS,
) -> TableComparison:
    """Compare two relations ``reference`` and ``candidate`` (SQL relation expressions readable on ``con``).

    The candidate is read with the reference's column names and types (Spark writes e.g. INTEGER where DuckDB
    has it too, but a Parquet reader may widen); a column the candidate lacks is a problem, not a cast.
    """
    result = TableComparison(table)
    described = con.sql(f"select * from {reference} limit 0")
    columns = list(zip(described.columns, [str(t) for t in described.types], strict=True))
    candidate_columns = set(con.sql(f"select * from {candidate} limit 0").columns)
    missing = [name for name, _type in columns if name not in candidate_columns]
    if missing:
        result.problem = f"columns missing on Spark: {', '.join(missing)}"
        return result
    extra = sorted(candidate_columns - {name for name, _type in columns})
    if extra:
        result.problem = f"columns only on Spark: {', '.join(extra)}"
        return result

    floats = [name for name, data_type in columns if data_type in FLOAT_TYPES]
    exact = [name for name, data_type in columns if data_type not in FLOAT_TYPES]
    result.columns = exact
    typed = ", ".join(f"cast({_quote(name)} as {data_type}) as {_quote(name)}" for name, data_type in columns)
    con.execute(f"create or replace temp table parity_reference as select * from {reference}")
    con.execute(f"create or replace temp table parity_candidate as select {typed} from {candidate}")
    result.reference_rows = con.execute("select count(*) from parity_reference").fetchone()[0]
    result.candidate_rows = con.execute("select count(*) from parity_candidate").fetchone()[0]

    exact_list = ", ".join(_quote(name) for name in exact) or "1 as no_exact_column"
    for side, first, second in (
        ("reference", "parity_reference", "parity_candidate"),
        ("candidate", "parity_candidate", "parity_reference"),
    ):
        difference = f"select {exact_list} from {first} except all select {exact_list} from {second}"
        count = con.execute(f"select count(*) from ({difference})").fetchone()[0]
        rows = con.execute(f"select * from ({difference}) order by all limit {examples}").fetchall()
        if side == "reference":
            result.rows_only_in_reference, result.only_in_reference = count, rows
        else:
            result.rows_only_in_candidate, result.only_in_candidate = count, rows

    if floats:
        partition = ", ".join(_quote(name) for name in exact) or "1"
        ordering = ", ".join(f"{_quote(name)} nulls first" for name in floats)
        ranked = (
            "select *, row_number() over (partition by {partition} order by {ordering}) as parity_rank from {table}"
        )
        join_keys = " and ".join(
            [f"r.{_quote(name)} is not distinct from c.{_quote(name)}" for name in exact]
            + ["r.parity_rank = c.parity_rank"]
        )
        for name in floats:
            left, right = f"r.{_quote(name)}", f"c.{_quote(name)}"
            paired = (
                f"from ({ranked.format(partition=partition, ordering=ordering, table='parity_reference')}) as r "
                f"inner join ({ranked.format(partition=partition, ordering=ordering, table='parity_candidate')}) as c "
                f"on {join_keys}"
            )
            beyond = f"not {tolerance.within_sql(left, right)}"
            count, largest = con.execute(
                f"select count(*) filter (where {beyond}), "
                f"coalesce(max(abs({left} - {right}) / nullif(greatest(abs({left}), abs({right})), 0)), 0) {paired}"
            ).fetchone()
            result.float_mismatch_count += count
            result.largest_float_difference = max(result.largest_float_difference, largest or 0.0)
            key = "struct_pack(" + ", ".join(f"{_quote(n)} := r.{_quote(n)}" for n in exact[:4]) + ")" if exact else "1"
            for reference_value, candidate_value, row_key in con.execute(
                f"select {left}, {right}, {key} {paired} where {beyond} limit {examples}"
            ).fetchall():
                result.float_mismatches.append((name, reference_value, candidate_value, row_key))
    return result


def spark_table_files(spark_warehouse: Path, schema: str, table: str) -> list[Path]:
    """The Parquet files of a managed Spark table (`<warehouse>/<schema>.db/<table>/part-*.parquet`)."""
    return sorted((spark_warehouse / f"{schema}.db" / table).glob("*.parquet"))


def compare_marts(
    reference_db: Path, spark_warehouse: Path, marts: Sequence[str], tolerance: FloatTolerance
) -> list[TableComparison]:
    """Each of ``marts`` in the DuckDB warehouse against the Spark table of the same name."""
    con = duckdb.connect()
    con.execute(f"attach {_literal(str(reference_db))} as reference (read_only)")
    on_duckdb = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables "
            f"where table_catalog = 'reference' and table_schema = {_literal(MARTS_SCHEMA)}"
        ).fetchall()
    }
    comparisons = []
    for mart in sorted(marts):
        reference = f"reference.{MARTS_SCHEMA}.{_quote(mart)}"
        spark_table = spark_warehouse / f"{MARTS_SCHEMA}.db" / mart
        if mart not in on_duckdb:
            comparisons.append(TableComparison(mart, problem="missing on DuckDB"))
        elif not spark_table.is_dir():
            comparisons.append(TableComparison(mart, problem="missing on Spark"))
        elif spark_table_files(spark_warehouse, MARTS_SCHEMA, mart):
            candidate = f"read_parquet({_literal(str(spark_table / '*.parquet'))})"
            comparisons.append(compare_tables(con, mart, reference, candidate, tolerance))
        else:
            # Spark writes no file for an empty table: an empty relation with the reference's columns.
            comparisons.append(compare_tables(con, mart, reference, f"(select * from {reference} where false)"))
    return comparisons


def dbt_marts(manifest_path: Path) -> list[str]:
    """The marts dbt builds (models in the marts schema), from a dbt manifest; not the scoring asset's tables."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return sorted(
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["schema"] == MARTS_SCHEMA
        and node["config"]["materialized"] not in ("ephemeral", "view")
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_dbt_on_spark(dbt: str, lake_dir: Path, spark_dir: Path, dbt_vars: dict, select_unit_tests: bool) -> None:
    """Seeds and models (and the affordable unit tests) on the profile's `spark` output, in one dbt process, so
    in one Spark session: Spark's start-up (~15 s) and JIT warm-up are paid once."""
    spark_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        # Spark resolves a relative table location against its own working directory: absolute here.
        "PMW_LAKE_DIR": str(lake_dir.resolve()),
        "PMW_SPARK_DIR": str(spark_dir.resolve()),
        "DBT_TARGET_PATH": str(spark_dir.resolve() / "target"),
        "DBT_LOG_PATH": str(spark_dir.resolve() / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    resource_types = ["seed", "model"] + (["unit_test"] if select_unit_tests else [])
    command = [dbt, "build", "--target", "spark", "--project-dir", str(DBT_PROJECT_DIR)]
    command += ["--profiles-dir", str(DBT_PROJECT_DIR), "--vars", json.dumps(dbt_vars)]
    for resource_type in resource_types:
        command += ["--resource-type", resource_type]
    if select_unit_tests:
        command += ["--exclude", *SPARK_EXCLUDED_UNIT_TESTS]
    started = time.monotonic()
    completed = subprocess.run(command, env=env, cwd=spark_dir, check=False)
    print(f"dbt build on Spark ({', '.join(resource_types)}): {time.monotonic() - started:.0f} s", flush=True)
    if completed.returncode != 0:
        raise SystemExit(f"dbt on Spark failed (exit {completed.returncode}); log in {spark_dir / 'logs'}")


# Unit tests left out on Spark when --unit-tests runs them (docs/scale-out.md): the funnel peers' fixtures inline
# ~155 KB plans that Spark's optimizer takes minutes on (the funnel macros still run on Spark through
# fct_funnel_conversion), and one fixture written as a DuckDB list literal (`[...]`), which Spark cannot parse.
SPARK_EXCLUDED_UNIT_TESTS = (
    "path:models/marts/product/_funnel_conversion__peer_unit_tests.yml",
    "unit_test:sprint_memberships_from_the_sprint_field_history",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="a data directory the pipeline built")
    parser.add_argument("--spark-dir", required=True, type=Path, help="Spark's warehouse, metastore and dbt logs")
    parser.add_argument("--dbt", default=str(Path(sys.executable).with_name("dbt")), help="dbt with dbt-spark")
    parser.add_argument(
        "--config", type=Path, default=None, help="the pipeline configuration (default: config/pmw.yml)"
    )
    parser.add_argument("--compare-only", action="store_true", help="compare an existing Spark build")
    parser.add_argument("--unit-tests", action="store_true", help="also run the dbt unit tests on Spark")
    args = parser.parse_args(argv)
    # Relative arguments name paths from where the command was given; dbt runs with the Spark directory as its
    # working directory, so everything handed on is absolute.
    args.data_dir, args.spark_dir = args.data_dir.resolve(), args.spark_dir.resolve()

    paths = get_paths(args.data_dir)
    if not paths.warehouse_path.is_file():
        parser.error(f"no DuckDB warehouse at {paths.warehouse_path}: build the data directory first (pmw demo)")
    if not args.compare_only:
        run_dbt_on_spark(args.dbt, paths.lake, args.spark_dir, load_config(args.config).dbt_vars(), args.unit_tests)
    tolerance = FloatTolerance()
    marts = dbt_marts(args.spark_dir / "target" / "manifest.json")
    comparisons = compare_marts(paths.warehouse_path, args.spark_dir / "warehouse", marts, tolerance)
    different = [c for c in comparisons if not c.equal]
    for comparison in comparisons:
        if comparison.equal:
            note = f" (largest float difference {comparison.largest_float_difference:.1e} relative)"
            print(f"{comparison.table}: equal, {comparison.reference_rows} rows{note}")
    for comparison in different:
        print(comparison.report())
    print(
        f"{len(comparisons) - len(different)} of {len(comparisons)} marts equal on Spark and DuckDB "
        f"(floats within {tolerance.relative:g} relative + {tolerance.absolute:g} absolute)"
    )
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
