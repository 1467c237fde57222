"""The full-rebuild SELECT of models that read all events, this checkout's against a baseline's (issue 13).

    .venv/bin/python bench/bench_marts.py --data-dir D --baseline-root R [--models m1,m2] [--repeat 1]

D is a data directory whose warehouse a run has built. Its warehouse is copied into a temporary directory inside D
(so a run on D can go on beside the bench: a DuckDB file has one writer) with D's lake linked beside it. Each model
is compiled with --full-refresh by this checkout's dbt project and by a copy of R's, and its SELECT is run as CREATE
TABLE AS in the copy, in the DuckDB bounds a run gives dbt (memory limit, spill directory, threads of the
configuration; time zone UTC): for each model the baseline then this checkout, back to back, wall and CPU seconds
(DuckDB's threads run in this process), after one warm-up round unless --repeat is 1; --setting NAME=VALUE sets a
DuckDB setting for this checkout's statements only; --new-models builds (and times) models only this checkout has
first, where its compared models read them. The two tables are compared row for row (EXCEPT ALL both ways
over every column but loaded_at, floating-point ones to 12 significant digits): the bench exits non-zero when they
differ.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench_sessions import compiled, timed
from bench_staging import Variant, baseline_variant, connect, differences

from core.settings import DBT_PROJECT_DIR, Paths

# The models whose SELECT reads every event of int_events_sessionized (the nightly rebuilds of "A night landing one
# day" in bench/README.md), in build order.
DEFAULT_MODELS = (
    "fct_funnel_conversion",
    "fct_retention_cohorts",
    "int_initiative_outcome_windows_measured",
    "fct_initiative_adoption_weekly",
)


def copy_warehouse(data_dir: Path, work: Path) -> None:
    """D's warehouse, copied, with D's lake linked where the staging views look for it (the bench's data directory)."""
    source, paths = Paths(data_dir), Paths(work / "dbt")
    paths.warehouse_dir.mkdir(parents=True)
    shutil.copy2(source.warehouse_path, paths.warehouse_path)
    paths.lake.symlink_to(source.lake)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="a data directory a run has built")
    parser.add_argument("--baseline-root", type=Path, required=True, help="another checkout to compare with")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model names")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a DuckDB setting for this checkout's statements only (the baseline's run with the default)",
    )
    parser.add_argument(
        "--new-models",
        default="",
        metavar="SCHEMA.MODEL,...",
        help="models only this checkout has, built first (timed) where the compared models read them",
    )
    args = parser.parse_args()
    settings = [item.split("=", 1) for item in args.setting]
    data_dir = args.data_dir.resolve()
    if not Paths(data_dir).warehouse_path.exists():
        raise SystemExit(f"{Paths(data_dir).warehouse_path} does not exist: run the pipeline on {data_dir} first")
    models = [m.strip() for m in args.models.split(",") if m.strip()]

    different = False
    with tempfile.TemporaryDirectory(prefix="pmw-bench-marts-", dir=data_dir) as tmp:
        work = Path(tmp)
        copy_warehouse(data_dir, work)
        variants = [baseline_variant(args.baseline_root, work), Variant("model", DBT_PROJECT_DIR)]
        new_models = [m.strip().split(".", 1) for m in args.new_models.split(",") if m.strip()]
        new_sql = {name: compiled(work, variants[1], name, "full", full_refresh=True) for _, name in new_models}
        sql = {(v.label, m): compiled(work, v, m, "full", full_refresh=True) for v in variants for m in models}

        con = connect(work)
        con.execute("set file_search_path = ?", [str(work / "dbt")])
        con.execute("create schema if not exists bench")
        print(f"warehouse copied from {data_dir} (load {os.getloadavg()[0]:.2f})", flush=True)
        for schema, name in new_models:
            wall, cpu = timed(con, [f"create or replace table {schema}.{name} as {new_sql[name]}"])
            rows = con.execute(f"select count(*) from {schema}.{name}").fetchone()[0]
            print(f"{name} (this checkout only): {rows:,} rows, {wall:.1f} s / {cpu:.1f} s CPU", flush=True)
        totals = {v.label: [0.0, 0.0] for v in variants}
        for model in models:
            seconds = {}
            for round_number in range(args.repeat + (args.repeat > 1)):
                for v in variants:
                    table = f"bench.{model}_{v.label}"
                    for name, value in settings:
                        con.execute(f"set {name} = {value}" if v.label == "model" else f"reset {name}")
                    wall, cpu = timed(con, [f"create or replace table {table} as {sql[v.label, model]}"])
                    print(
                        f"  round {round_number} {model} {v.label:<9} {wall:8.1f} s wall {cpu:8.1f} s CPU", flush=True
                    )
                    if round_number or args.repeat == 1:
                        seconds.setdefault(v.label, []).append((wall, cpu))
            medians = {
                label: tuple(statistics.median(values) for values in zip(*pairs, strict=True))
                for label, pairs in seconds.items()
            }
            for label, (wall, cpu) in medians.items():
                totals[label][0] += wall
                totals[label][1] += cpu
            only_baseline, only_model = differences(con, f"bench.{model}_baseline", f"bench.{model}_model")
            rows = con.execute(f"select count(*) from bench.{model}_model").fetchone()[0]
            base, this = medians["baseline"], medians["model"]
            print(
                f"{model}: {rows:,} rows; baseline {base[0]:.1f} s / {base[1]:.1f} s CPU, this checkout "
                f"{this[0]:.1f} s / {this[1]:.1f} s CPU (CPU ratio {this[1] / base[1]:.2f}); "
                f"only in baseline {only_baseline}, only in this checkout {only_model}",
                flush=True,
            )
            different |= bool(only_baseline or only_model)
            for v in variants:
                con.execute(f"drop table bench.{model}_{v.label}")
        con.close()
    base, this = totals["baseline"], totals["model"]
    print(
        f"all {len(models)} models: baseline {base[0]:.1f} s / {base[1]:.1f} s CPU, this checkout {this[0]:.1f} s / "
        f"{this[1]:.1f} s CPU (wall ratio {this[0] / base[0]:.2f}, CPU ratio {this[1] / base[1]:.2f}; "
        f"load {os.getloadavg()[0]:.2f} at the end)"
    )
    if different:
        print("the baseline's and this checkout's tables differ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
