"""int_events_sessionized and fct_sessions against one window pass, in the same process (issue 13).

    .venv/bin/python bench/bench_sessions.py --data-dir D [--repeat 1] [--baseline-root R] [--explain FILE]

D is a data directory whose warehouse a run has built (its staging events and stitched identities are the input).
In a temporary directory the bench copies them into a warehouse of its own, split in two loads: a first load (every
staged event but those of D's newest staging load) and a night (that load). In the DuckDB settings a run gives dbt
(memory limit, spill directory, threads of the configuration; time zone UTC) it times:
  first build   the floor, one window pass as PERFORMANCE-NOTES measures sessionisation (bench_e2e's
                SESSIONS_FLOOR: a lag() flag, then a running sum per user, every column carried), against each
                variant's int_events_sessionized and then its fct_sessions, as dbt compiles them with
                --full-refresh, run as CREATE TABLE AS;
  night         int_events_sessionized's compiled incremental SELECT after the night's events are staged, into a
                temporary table, plus dbt-duckdb's delete+insert of it into the first build's table.
Each round runs the floor and every variant back to back, after one warm-up round (skipped with --repeat 1: at
tens of millions a round is minutes); the figures are medians, with the load average.

With --baseline-root (another checkout, e.g. /work/main), its models are compiled from a copy of its dbt project and
timed in the same rounds, and the tables are compared row for row (EXCEPT ALL both ways over every column): the
first build of both models and the night's rows. The bench exits non-zero when they differ.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from bench_e2e import SESSIONS_FLOOR
from bench_staging import Variant, baseline_variant, connect, dbt_vars, differences, report, run_dbt

from core.settings import DBT_PROJECT_DIR, Paths

SESSIONIZED = "int_events_sessionized"
SESSIONS = "fct_sessions"
STAGED = "staging.stg_analytics__events"
IDENTITIES = "intermediate.int_identities_stitched"
# The model's incremental watermark, as int_events_sessionized reads it from its own table.
WATERMARK = "max(sessionized.sessionized_through)"


def copy_inputs(source: Path, work: Path) -> tuple[int, int]:
    """The first load's staged events and every stitched identity, copied from D's warehouse; (first, night) rows.

    The night is D's newest staging load (its loaded_at), or with one load the file holding the newest event; it
    waits in staging_night until the night is timed (stamped as loaded one second after the first load)."""
    Paths(work / "dbt").warehouse_dir.mkdir(parents=True)
    con = connect(work)
    con.execute(f"attach '{source}' as source_warehouse (read_only)")
    con.execute("create schema intermediate")  # connect() made staging
    loads = con.execute(f"select count(distinct loaded_at), max(loaded_at) from source_warehouse.{STAGED}").fetchone()
    if loads[0] > 1:  # D has had a night: it is the night
        night = ("loaded_at = $newest", {"newest": loads[1]})
    else:  # one load: the night is the file holding the newest event (the last day's export)
        newest_file = con.execute(f"select arg_max(source_file, event_at) from source_warehouse.{STAGED}").fetchone()[0]
        night = ("source_file = $newest", {"newest": newest_file})
    con.execute(f"create table {STAGED} as select * from source_warehouse.{STAGED} where not ({night[0]})", night[1])
    con.execute(f"create table staging_night as select * from source_warehouse.{STAGED} where {night[0]}", night[1])
    con.execute(f"create table {IDENTITIES} as select * from source_warehouse.{IDENTITIES}")
    first = con.execute(f"select count(*) from {STAGED}").fetchone()[0]
    night = con.execute("select count(*) from staging_night").fetchone()[0]
    con.close()
    return first, night


def compiled(work: Path, variant: Variant, model: str, tag: str, *, full_refresh: bool) -> str:
    """The model's SELECT as dbt compiles it in the bench's warehouse, relations named without the database."""
    target = work / f"target_{variant.label}_{tag}"
    args = ["compile", "--quiet", "--select", model, "--vars", dbt_vars(), "--target-path", str(target)]
    run_dbt(work, variant, [*args, "--full-refresh"] if full_refresh else args)
    sql = next(target.rglob(f"compiled/**/{model}.sql")).read_text(encoding="utf-8")
    return sql.replace('"pmw".', "")


def timed(con: duckdb.DuckDBPyConnection, statements: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of the statements: DuckDB's threads run in this process, so its CPU time counts them."""
    wall, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    for statement in statements:
        con.execute(statement)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter() - wall, (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)


def rounds(con, plans: dict[str, list[str]], setup: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Median wall seconds per plan (CPU seconds printed as they come); a warm-up round first unless repeat is 1."""
    seconds: dict[str, list[float]] = {label: [] for label in plans}
    for round_number in range(repeat + (repeat > 1)):
        for label, statements in plans.items():
            for statement in setup.get(label, []):
                con.execute(statement)
            wall, cpu = timed(con, statements)
            print(f"  round {round_number} {label:<28} {wall:8.1f} s wall {cpu:8.1f} s CPU", flush=True)
            if round_number or repeat == 1:
                seconds[label].append(wall)
    return {label: statistics.median(values) for label, values in seconds.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="a data directory a run has built")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline-root", type=Path, help="another checkout whose models to time and compare")
    parser.add_argument("--explain", type=Path, help="write EXPLAIN ANALYZE of each variant's first builds here")
    args = parser.parse_args()
    source = Paths(args.data_dir.resolve()).warehouse_path
    if not source.exists():
        raise SystemExit(f"{source} does not exist: run the pipeline on {args.data_dir} first")

    with tempfile.TemporaryDirectory(prefix="pmw-bench-sessions-", dir=args.data_dir) as tmp:
        work = Path(tmp)
        first_rows, night_rows = copy_inputs(source, work)
        print(f"staged events: first load {first_rows:,}, night {night_rows:,} (load {os.getloadavg()[0]:.2f})")
        variants = [Variant("model", DBT_PROJECT_DIR)]
        if args.baseline_root:
            variants.insert(0, baseline_variant(args.baseline_root, work))
        first_sql = {
            v.label: {m: compiled(work, v, m, "first", full_refresh=True) for m in (SESSIONIZED, SESSIONS)}
            for v in variants
        }

        con = connect(work)
        plans = {
            "one window pass (floor)": [
                f"create or replace table floor_sessions as {SESSIONS_FLOOR.format(staged=STAGED)}"
            ]
        }
        for v in variants:
            # Each variant's fct_sessions reads its own int_events_sessionized, as in a build.
            sessions_sql = first_sql[v.label][SESSIONS].replace(
                f'"intermediate"."{SESSIONIZED}"', f"sessionized_{v.label}"
            )
            plans[f"{v.label} {SESSIONIZED}"] = [
                f"create or replace table sessionized_{v.label} as {first_sql[v.label][SESSIONIZED]}"
            ]
            plans[f"{v.label} {SESSIONS}"] = [f"create or replace table sessions_{v.label} as {sessions_sql}"]
        if args.explain:
            args.explain.write_text("", encoding="utf-8")
        first = rounds(con, plans, {}, args.repeat)
        report("first build", first, "one window pass (floor)", os.getloadavg())
        if args.explain:
            with args.explain.open("a", encoding="utf-8") as out:
                for label, statements in plans.items():
                    select = statements[0].split(" as ", 1)[1]
                    out.write(f"-- {label}\n{con.execute(f'explain analyze {select}').fetchall()[0][1]}\n\n")

        # The night: its events staged, then each variant's incremental SELECT against its own first build.
        con.execute(f"create table intermediate.{SESSIONIZED} as select * from sessionized_{variants[-1].label}")
        con.execute(
            f"insert into {STAGED} select * replace ((select max(loaded_at) from {STAGED}) + interval 1 second"
            " as loaded_at) from staging_night"
        )
        con.close()
        night_sql = {v.label: compiled(work, v, SESSIONIZED, "night", full_refresh=False) for v in variants}
        con = connect(work)
        plans, setup = {}, {}
        for v in variants:
            sql = night_sql[v.label]
            if WATERMARK not in sql:
                raise SystemExit(f"{v.label}: the incremental SELECT has no `{WATERMARK}`: update the bench")
            setup[v.label] = [
                f"create or replace table intermediate.{SESSIONIZED} as select * from sessionized_{v.label}"
            ]
            plans[v.label] = [
                f"create or replace table night_{v.label} as {sql}",
                f"delete from intermediate.{SESSIONIZED} where event_id in (select event_id from night_{v.label})",
                f"insert into intermediate.{SESSIONIZED} select * from night_{v.label}",
            ]
        night = rounds(con, plans, setup, args.repeat)
        report("night", night, variants[0].label, os.getloadavg())
        added = {v.label: con.execute(f"select count(*) from night_{v.label}").fetchone()[0] for v in variants}
        print(f"  rows the night rewrote: {added}")

        different = False
        if args.baseline_root:
            for what, left, right in (
                (SESSIONIZED, "sessionized_baseline", "sessionized_model"),
                (SESSIONS, "sessions_baseline", "sessions_model"),
                (f"{SESSIONIZED} night", "night_baseline", "night_model"),
            ):
                only_baseline, only_model = differences(con, left, right)
                rows = con.execute(f"select count(*) from {right}").fetchone()[0]
                print(f"  {what}: {rows:,} rows; only in baseline {only_baseline}, only in model {only_model}")
                different |= bool(only_baseline or only_model)
        con.close()
    if different:
        print("the baseline's and this checkout's tables differ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
