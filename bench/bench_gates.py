"""The raw analytics gate (GX 1.x through expectations/runner.py) vs one DuckDB query doing the same checks.

    .venv/bin/python bench/bench_gates.py --data-dir D            # the lake files a run wrote under D/lake
    .venv/bin/python bench/bench_gates.py --users 15000 [--repeat 3]   # ~1M events: generate + ingest first

The gate validates lake/analytics/events/*.parquet as one relation, as the raw gate does after an ingest run
(validate_parquet_files: per-file schema and contract types, the row rules on bounded slices, the derived checks).
The reference is one hand-written DuckDB query over the same files computing every rule's violation count: the
not-null, in-set and between rules, user-or-anonymous, negative revenue, both JSON-object rules, the conflicting
duplicates and the row count. Both must agree on every count (checked). Each measurement runs in its own child
process (peak RSS = its ru_maxrss, interpreter and imports included); the ratio is the median of per-round ratios
(reference and gate run back to back).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _lake_files(data_dir: Path) -> list[Path]:
    files = sorted((data_dir / "lake" / "analytics" / "events").glob("*.parquet"))
    if not files:
        raise SystemExit(f"no lake/analytics/events/*.parquet under {data_dir}: run `pmw run` there first, or --users")
    return files


def _prepare(users: int) -> Path:
    """A data directory holding the analytics lake of a fresh sample: generate, ingest, promote (no Dagster)."""
    from core.config import load_config
    from core.settings import Paths
    from ingest.analytics import ingest_analytics
    from ingest.common.lake import pending_files, promote_files

    data_dir = Path(tempfile.mkdtemp(prefix="pmw-bench-gates-"))
    subprocess.run(
        [sys.executable, "-m", "pmw.cli", "--data-dir", str(data_dir), "generate", "--users", str(users)],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    paths = Paths(data_dir)
    paths.ensure()
    ingest_analytics(paths, load_config(), files=None)
    promote_files(paths, "analytics", "events", [f.stem for f in pending_files(paths, "analytics", "events")])
    return data_dir


def reference_sql(files: list[Path], known_events: list[str], now: dt.datetime) -> str:
    """Every rule of the raw analytics gate as one query; NULLs pass value rules, as they do in GX."""
    from expectations.raw_analytics_events import CLOCK_SKEW, EARLIEST_EVENT_TIME, REQUIRED_COLUMNS, SOURCES
    from expectations.runner import sql_string

    relation = f"read_parquet([{', '.join(sql_string(str(f)) for f in files)}], union_by_name = true)"
    in_list = ", ".join(sql_string(e) for e in known_events)
    sources = ", ".join(sql_string(s) for s in SOURCES)
    latest = (now + CLOCK_SKEW).isoformat(sep=" ")
    not_null = ",\n".join(f"count(*) filter (where {c} is null) as null_{c}" for c in REQUIRED_COLUMNS)
    json_rules = ",\n".join(
        f"count(*) filter (where {c} is not null and (not json_valid({c}) or json_type({c}::json) <> 'OBJECT'))"
        f" as bad_{c}"
        for c in ("properties", "user_properties")
    )
    return f"""
        with rows as (
            select
                count(*) as row_count,
                {not_null},
                count(*) filter (where source not in ({sources})) as bad_source,
                count(*) filter (where event_name not in ({in_list})) as bad_event_name,
                count(*) filter (where event_time < timestamp '{EARLIEST_EVENT_TIME.isoformat(sep=" ")}'
                                    or event_time > timestamp '{latest}') as bad_event_time,
                count(*) filter (where anonymous_id is null and user_id is null) as null_user_id,
                count(*) filter (where revenue < 0) as negative_revenue,
                {json_rules}
            from {relation}
        ),
        conflicts as (
            select count(*) as conflicting_keys from (
                select 1 from {relation}
                where event_key is not null
                group by source, event_key
                having min(event_name) <> max(event_name) or min(event_time) <> max(event_time)
            )
        )
        select * from rows, conflicts
    """


def _gate_counts(result) -> dict[str, int]:
    """The gate's violation counts under the reference query's names."""
    counts: dict[str, int] = {}
    for outcome in result.results:
        count = outcome.unexpected_count or 0
        column = outcome.columns[0] if outcome.columns else ""
        kind = outcome.expectation_type
        if outcome.check == "no_conflicting_duplicates":
            counts["conflicting_keys"] = count
        elif outcome.check.endswith("_is_json_object"):
            counts[f"bad_{outcome.check.removesuffix('_is_json_object')}"] = count
        elif outcome.check == "not_empty":
            counts["row_count"] = result.rows_validated
        elif kind == "expect_column_values_to_not_be_null":
            counts[f"null_{column}"] = count
        elif kind == "expect_column_values_to_be_in_set":
            counts[f"bad_{column}"] = count
        elif kind == "expect_column_values_to_be_between":
            counts["negative_revenue" if column == "revenue" else f"bad_{column}"] = count
    return counts


def _one(kind: str, data_dir: Path, now: dt.datetime) -> dict:
    """One measurement in this (child) process: seconds and the violation counts."""
    import duckdb

    from core.config import load_config

    files = _lake_files(data_dir)
    config = load_config()
    started = time.perf_counter()
    if kind == "reference":
        con = duckdb.connect()
        cursor = con.execute(reference_sql(files, list(config.analytics.known_events), now))
        names = [d[0] for d in cursor.description]
        counts = dict(zip(names, cursor.fetchone(), strict=True))
        extra: dict = {}
    else:
        from expectations.raw_analytics_events import GATE
        from expectations.runner import validate_parquet_files

        result = validate_parquet_files(files, GATE, config=config, now=now)
        counts = _gate_counts(result)
        extra = {"slices": result.slices, "success": result.success}
    return {"seconds": time.perf_counter() - started, "counts": counts, **extra}


def _measure(kind: str, data_dir: Path, now: dt.datetime) -> dict:
    """Run _one in a child process; add its peak RSS."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        argv = [sys.executable, __file__, "--one", kind, "--data-dir", str(data_dir), "--now", now.isoformat()]
        proc = subprocess.Popen([*argv, "--out", out.name], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{kind} measurement failed (exit {os.waitstatus_to_exitcode(status)})")
        return {**json.loads(Path(out.name).read_text(encoding="utf-8")), "rss_mb": usage.ru_maxrss / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a data directory whose lake holds analytics events")
    parser.add_argument("--users", type=int, default=15000, help="without --data-dir: sample size (~67 events/user)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", choices=("reference", "gate"), help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        result = _one(args.one, args.data_dir, dt.datetime.fromisoformat(args.now))
        args.out.write_text(json.dumps(result), encoding="utf-8")
        return 0

    data_dir = args.data_dir or _prepare(args.users)
    files = _lake_files(data_dir)
    import duckdb

    with duckdb.connect() as con:
        rows = con.execute(f"select count(*) from read_parquet({[str(f) for f in files]})").fetchone()[0]
    load = os.getloadavg()
    print(f"{rows:,} events in {len(files)} lake file(s) under {data_dir}; load average {load[0]:.2f} at start")
    # One fixed `now` for every round, so the event_time rule judges the same rows in both.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ratios, rounds = [], []
    for round_no in range(1, args.repeat + 1):
        reference = _measure("reference", data_dir, now)
        gate = _measure("gate", data_dir, now)
        differing = {
            k: (v, gate["counts"].get(k)) for k, v in reference["counts"].items() if gate["counts"].get(k) != v
        }
        if differing:
            print(f"round {round_no}: the gate and the reference disagree (reference, gate): {differing}")
            return 1
        ratios.append(gate["seconds"] / reference["seconds"])
        rounds.append((reference, gate))
        print(
            f"round {round_no}: reference {reference['seconds']:.2f} s ({reference['rss_mb']:.0f} MB), "
            f"gate {gate['seconds']:.2f} s ({gate['rss_mb']:.0f} MB, {gate['slices']} slice(s)), "
            f"ratio {ratios[-1]:.2f}"
        )
    median = statistics.median
    print(
        f"\nmedians of {args.repeat}: reference {median(r['seconds'] for r, _ in rounds):.2f} s / "
        f"{median(r['rss_mb'] for r, _ in rounds):.0f} MB, gate {median(g['seconds'] for _, g in rounds):.2f} s / "
        f"{median(g['rss_mb'] for _, g in rounds):.0f} MB, gate/reference {median(ratios):.2f}x "
        f"(load average {os.getloadavg()[0]:.2f} at the end)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
