"""stg_analytics__events vs a plain copy of the same lake Parquet, in the same process (issue 13: <= 1.5x).

    .venv/bin/python bench/bench_staging.py --data-dir D [--repeat 3] [--baseline-root R] [--explain FILE]

D is a data directory with a generated landing (`pmw generate --engine vectorised --users 15000`: ~1M events;
75000: ~5M). While its lake holds no analytics events the bench first ingests analytics alone and promotes every
pending file into the lake (no gate, no dbt), which later invocations reuse. In a temporary directory it then lays
the lake out as two loads, a first one (every file but the busiest Amplitude day export) and a night (that day,
stamped as ingested after the rest), and times, in the DuckDB settings a run gives dbt (memory limit, spill
directory, threads of the configuration; time zone UTC):
  first build   a plain copy `create table t as select * from read_parquet(<the first load's files>, union_by_name)`
                against the model's compiled SQL as CREATE TABLE AS (is_incremental() false, as dbt compiles it);
  incremental   a plain copy of the night's file against the model's compiled incremental SELECT into a temporary
                table plus dbt-duckdb's delete+insert of it into the first build's table.
Each round runs the plain copy and every model variant back to back, after one warm-up round; the figures are
medians over --repeat rounds, the ratio is model / plain copy of the medians, printed with the load average.

With --baseline-root (another checkout, e.g. /work/main), its model is compiled from a copy of its dbt project and
timed in the same rounds, and its tables are compared with this checkout's row for row: EXCEPT ALL both ways over
every column but loaded_at (each compile stamps its own dbt invocation time), after the first build and after the
incremental batch. The bench exits non-zero when they differ. --explain FILE writes EXPLAIN ANALYZE of each
variant's first build.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.config import load_config
from core.duckdb_connection import DuckDBSettings, connect_duckdb
from core.settings import DBT_PROJECT_DIR, Paths
from ingest.analytics import ingest_analytics
from ingest.common.lake import lake_dir, pending_files, promote_pending
from orchestration.dbt_cli import dbt_env, dbt_executable

MODEL = "stg_analytics__events"
TARGET = f"staging.{MODEL}"
SCHEMA_ANCHOR = "_schema.parquet"  # ingest's zero-row file per entity, so the glob always matches
# A day's Amplitude export as the generator names it; not the re-export of an earlier day's hours.
AMPLITUDE_DAY = re.compile(r"analytics/amplitude/amplitude_\d+_[\d-]+\.(?:zip|json\.gz)")


@dataclass(frozen=True)
class Variant:
    """One dbt project whose model is timed: this checkout's, or a baseline's copied into the work directory."""

    label: str
    project_dir: Path


def ensure_lake(data_dir: Path) -> Paths:
    """The data directory's paths, its analytics lake filled from its landing first when it holds no events."""
    paths = Paths(data_dir.resolve())
    if lake_files(paths):
        return paths
    if not any((paths.landing / "analytics").rglob("*")):
        raise SystemExit(f"{paths.landing / 'analytics'} holds nothing: run `pmw generate --engine vectorised` first")
    started = time.perf_counter()
    report = ingest_analytics(paths, load_config())
    promoted = promote_pending(paths, "analytics", "events")
    if pending_files(paths, "analytics", "events") or not promoted:
        where = lake_dir(paths, "analytics", "events")
        raise SystemExit(f"analytics ingest left files pending or promoted none into {where}")
    print(
        f"ingested analytics in {time.perf_counter() - started:.1f} s: {len(report.results)} landed files, "
        f"{len(report.failed)} failed, {len(promoted)} lake files promoted"
    )
    return paths


def lake_files(paths: Paths) -> list[Path]:
    directory = lake_dir(paths, "analytics", "events")
    return sorted(p for p in directory.glob("*.parquet") if p.name != SCHEMA_ANCHOR) if directory.exists() else []


def split_lake(paths: Paths) -> tuple[list[Path], Path, int, int]:
    """(the first load's files, the night's file, rows of each): the night lands the busiest Amplitude day export.

    Any day would do; the busiest makes the night no smaller than a typical one (the sample's last days are its
    sparse tail). The first load is every other file, the re-export of an earlier day included.
    """
    files = lake_files(paths)
    per_file = duckdb.sql(
        "select filename, any_value(_source_file), count(*) from read_parquet($files, filename = true,"
        " union_by_name = true) group by filename",
        params={"files": [str(f) for f in files]},
    ).fetchall()
    days = [row for row in per_file if AMPLITUDE_DAY.fullmatch(row[1])]
    if not days:
        raise SystemExit(f"no Amplitude day export in {lake_dir(paths, 'analytics', 'events')}")
    night, _, night_rows = max(days, key=lambda row: (row[2], row[0]))
    total = sum(rows for _, _, rows in per_file)
    return [f for f in files if str(f) != night], Path(night), total - night_rows, night_rows


def land_night(con: duckdb.DuckDBPyConnection, night: Path, directory: Path) -> Path:
    """The night's file as ingest would write it after the first load: stamped one second after the newest
    `_ingested_at` in the directory, so the model's incremental filter picks it up."""
    newest = con.execute(f"select max(_ingested_at) from read_parquet('{directory}/*.parquet')").fetchone()[0]
    landed = directory / night.name
    con.execute(
        f"copy (select * replace (timestamp '{newest}' + interval 1 second as _ingested_at) "
        f"from read_parquet('{night}')) to '{landed}' (format parquet, compression zstd)"
    )
    return landed


def baseline_variant(checkout: Path, work: Path) -> Variant:
    """Another checkout's dbt project, copied into the work directory (dbt writes its target and logs there)."""
    project = work / "baseline_project"
    shutil.copytree(
        checkout / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".*")
    )
    return Variant("baseline", project)


def link_files(files: list[Path], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for file in files:
        (directory / file.name).symlink_to(file)


def run_dbt(work: Path, variant: Variant, args: list[str]) -> None:
    """dbt in the bench's data directory (work/dbt): its warehouse file and its lake of symlinks."""
    paths = Paths(work / "dbt")
    logs = work / "dbt_logs" / variant.label
    cmd = [dbt_executable(), *args, "--project-dir", str(variant.project_dir), "--log-path", str(logs)]
    env = {**os.environ, **dbt_env(paths), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    proc = subprocess.run(cmd, env=env, cwd=paths.data_dir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed for {variant.label}:\n{proc.stdout}\n{proc.stderr}")


def dbt_vars() -> str:
    """The sample configuration's vars: every model parses with them."""
    return json.dumps(load_config().dbt_vars())


def compiled_sql(work: Path, variant: Variant, tag: str) -> str:
    """The model's SELECT as dbt compiles it now (is_incremental() reads the warehouse), lake path made absolute."""
    target = work / f"target_{variant.label}_{tag}"
    run_dbt(
        work, variant, ["compile", "--quiet", "--select", MODEL, "--vars", dbt_vars(), "--target-path", str(target)]
    )
    sql = next(target.rglob(f"{MODEL}.sql")).read_text(encoding="utf-8")
    # dbt_env gives the lake relative to the data directory (dbt's working directory), this process has another.
    lake = Paths(work / "dbt").lake
    return sql.replace("read_parquet('lake/", f"read_parquet('{lake}/")


def connect(work: Path) -> duckdb.DuckDBPyConnection:
    """The bench warehouse with the bounds a run gives dbt's DuckDB (profiles.yml: config_options, settings)."""
    paths = Paths(work / "dbt")
    con = connect_duckdb(paths.warehouse_path, settings=DuckDBSettings.for_paths(paths, load_config()))
    con.execute("set timezone = 'UTC'")
    con.execute("create schema if not exists staging")
    return con


def timed(con: duckdb.DuckDBPyConnection, statements: list[str]) -> float:
    started = time.perf_counter()
    for statement in statements:
        con.execute(statement)
    return time.perf_counter() - started


def delete_insert(temp_table: str) -> list[str]:
    """dbt-duckdb's delete+insert of the incremental temp table into the model (its get_delete_insert_merge_sql)."""
    return [
        f"delete from {TARGET} where (event_id) in (select (event_id) from {temp_table})",
        f"insert into {TARGET} select * from {temp_table}",
    ]


def rounds(con: duckdb.DuckDBPyConnection, plans: dict[str, list[str]], setup: dict[str, list[str]], repeat: int):
    """Median seconds per plan over `repeat` rounds after one warm-up; each round runs every plan back to back."""
    seconds: dict[str, list[float]] = {label: [] for label in plans}
    for round_number in range(repeat + 1):
        for label, statements in plans.items():
            for statement in setup.get(label, []):
                con.execute(statement)
            elapsed = timed(con, statements)
            if round_number:  # round 0 warms the OS cache and DuckDB up
                seconds[label].append(elapsed)
    return {label: statistics.median(values) for label, values in seconds.items()}


def differences(con: duckdb.DuckDBPyConnection, left: str, right: str) -> tuple[int, int]:
    """Rows of `left` missing from `right` and the reverse, as multisets; loaded_at aside (each compile stamps its
    own dbt invocation time), floating-point columns to 12 significant digits (a parallel sum or variance differs in
    its last bits from one execution to the next)."""
    columns = con.execute(f"select name, type from pragma_table_info('{left}') where name <> 'loaded_at'").fetchall()
    listed = ", ".join(
        f"printf('%.12g', \"{name}\")" if kind in ("DOUBLE", "FLOAT") else f'"{name}"' for name, kind in columns
    )

    def missing(one: str, other: str) -> int:
        query = f"select count(*) from (select {listed} from {one} except all select {listed} from {other})"
        return con.execute(query).fetchone()[0]

    return missing(left, right), missing(right, left)


def explain(con: duckdb.DuckDBPyConnection, path: Path, stage: str, sql: dict[str, str]) -> None:
    """Append EXPLAIN ANALYZE of each variant's SELECT (over the model's table as it stands) to path."""
    with path.open("a", encoding="utf-8") as out:
        for label, select in sql.items():
            plan = con.execute(f"explain analyze {select}").fetchall()
            out.write(f"-- {stage}: {label}\n{plan[0][1]}\n\n")
    print(f"  EXPLAIN ANALYZE appended to {path}")


def report(title: str, medians: dict[str, float], reference: str, load: tuple[float, float, float]) -> None:
    print(f"\n{title} (medians; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end)")
    for label, seconds in medians.items():
        ratio = "" if label == reference else f"   ratio to {reference}: {seconds / medians[reference]:.2f}"
        print(f"  {label:<24} {seconds:8.3f} s{ratio}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="a data directory with a generated landing")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-root", type=Path, help="another checkout whose model to time and compare")
    parser.add_argument("--explain", type=Path, help="write EXPLAIN ANALYZE of each variant's first build here")
    args = parser.parse_args()

    paths = ensure_lake(args.data_dir)
    first_files, night, first_rows, night_rows = split_lake(paths)
    print(
        f"lake: {len(first_files) + 1} files, {first_rows + night_rows:,} rows; first load {len(first_files)} files "
        f"({first_rows:,} rows), the night {night_rows:,} rows ({night.name})"
    )
    with tempfile.TemporaryDirectory(prefix="pmw-bench-staging-") as tmp:
        work = Path(tmp)
        bench_paths = Paths(work / "dbt")
        bench_paths.warehouse_dir.mkdir(parents=True)
        bench_lake = lake_dir(bench_paths, "analytics", "events")
        link_files([lake_dir(paths, "analytics", "events") / SCHEMA_ANCHOR, *first_files], bench_lake)

        variants = [Variant("model", DBT_PROJECT_DIR)]
        if args.baseline_root:
            variants.insert(0, baseline_variant(args.baseline_root, work))
        run_dbt(work, variants[-1], ["seed", "--select", "country_names", "--vars", dbt_vars()])
        first_sql = {v.label: compiled_sql(work, v, "first") for v in variants}

        con = connect(work)
        plain_first = f"read_parquet('{bench_lake}/*.parquet', union_by_name = true)"
        plans = {"plain copy": [f"create or replace table plain_copy as select * from {plain_first}"]}
        for v in variants:
            plans[v.label] = [f"create or replace table staging.first_{v.label} as {first_sql[v.label]}"]
        first_medians = rounds(con, plans, {}, args.repeat)
        report("first build", first_medians, "plain copy", os.getloadavg())
        if args.explain:
            explain(con, args.explain, "first build", first_sql)
        # The incremental compile needs the model's table in the warehouse (is_incremental() checks it).
        con.execute(f"create or replace table {TARGET} as select * from staging.first_{variants[-1].label}")
        con.close()

        landed = land_night(duckdb.connect(), night, bench_lake)
        incremental_sql = {v.label: compiled_sql(work, v, "incremental") for v in variants}
        con = connect(work)
        plain_batch = f"read_parquet('{landed}', union_by_name = true)"
        plans = {"plain copy": [f"create or replace table plain_copy as select * from {plain_batch}"]}
        setup = {}
        for v in variants:
            temp_table = f"batch_{v.label}"
            setup[v.label] = [f"create or replace table {TARGET} as select * from staging.first_{v.label}"]
            plans[v.label] = [
                f"create or replace temp table {temp_table} as {incremental_sql[v.label]}",
                *delete_insert(temp_table),
            ]
        if args.explain:  # before the rounds: the model's table is the first build's, as in each round
            for statement in setup[variants[-1].label]:
                con.execute(statement)
            explain(con, args.explain, "incremental batch", incremental_sql)
        incremental_medians = rounds(con, plans, setup, args.repeat)
        report("incremental batch", incremental_medians, "plain copy", os.getloadavg())
        added = {v.label: con.execute(f"select count(*) from batch_{v.label}").fetchone()[0] for v in variants}
        print(f"  rows the batch added: {added}")

        different = False
        if args.baseline_root:
            for stage, left, right in (
                ("first build", "staging.first_baseline", "staging.first_model"),
                ("incremental batch", "batch_baseline", "batch_model"),
            ):
                only_baseline, only_model = differences(con, left, right)
                rows = con.execute(f"select count(*) from {right}").fetchone()[0]
                print(
                    f"  {stage}: {rows:,} rows; only in baseline {only_baseline}, only in model {only_model} "
                    "(EXCEPT ALL both ways, loaded_at aside)"
                )
                different |= bool(only_baseline or only_model)
            # The whole table after the batch (the rounds ran the model last): rebuild the baseline's beside it.
            con.execute(f"create or replace table final_model as select * from {TARGET}")
            for statement in [*setup["baseline"], *plans["baseline"]]:
                con.execute(statement)
            con.execute(f"create or replace table final_baseline as select * from {TARGET}")
            only_baseline, only_model = differences(con, "final_baseline", "final_model")
            print(f"  after the batch: only in baseline {only_baseline}, only in model {only_model}")
            different |= bool(only_baseline or only_model)
        con.close()
    if different:
        print("the baseline's and this checkout's tables differ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
