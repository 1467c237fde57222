"""End to end on one machine (issue 13): generate, a first run, a one-day night, a no-op night, against the floors.

    nice -n 19 .venv/bin/python bench/bench_e2e.py --users 15000 --data-dir D [--json out.json]    # ~1M events
    nice -n 19 .venv/bin/python bench/bench_e2e.py --users 450000 --data-dir D --json out.json     # ~30M events
    .venv/bin/python bench/bench_e2e.py --data-dir D --resume        # go on after the last phase D recorded
    .venv/bin/python bench/bench_e2e.py --growth small.json large.json   # per-step growth between two sizes

Phases, each recorded in D/bench_e2e.json as it ends (so --resume goes on after a crash or a stop):
  generate   `pmw generate --users N --engine vectorised`; then the newest full Amplitude day ZIP and the thin
             tail of ZIPs dated after it are held back, out of the landing (see _newest_full_amplitude_day)
  first run  `pmw run --settle-seconds 0` over the rest of the landing
  floors     measured right after the first run, on the same files, each in its own child process with the run's
             DuckDB bounds (the configuration's memory_limit, threads, temp_directory):
               ingest    bare DuckDB read_json -> Parquet (zstd), one scan over every Amplitude ZIP member
                         (extracted before the clock starts) and one over the Mixpanel files; read_csv -> Parquet of
                         the Segment files
               ingest typed  the same, read_json given the columns ingest reads and their types (no detection);
                         the cheaper of the two ingest floors (wall, and CPU apart) is the one in the sum
               staging   a plain Parquet copy of the events lake (lake/analytics/events) into one Parquet file
               sessions  one window pass over the staged events: lag() then a running sum() per user, in time order
               funnel    bench_funnel's ASOF-backward reference on the warehouse's int_events_sessionized
               raw gate  bench_gates' one aggregate query doing every rule of the raw analytics gate on the lake
             ratio = first run / sum of the floors (target <= 1.5). Billing, feedback, Jira and marketing ingest, the
             mart gates, the other marts, portfolio scoring and publish have no floor here: their time counts in the
             first run only, so the ratio is an upper bound of the one over like-for-like work.
  one day    the held-back day landed (mtime now), `pmw run --settle-seconds 0`
  no-op      `pmw run --settle-seconds 0` again: nothing landed

Every `pmw` command runs in its own child process (bench/pmw_process.py observed_run): wall time, the peak RSS of
the largest single process (ru_maxrss from wait4: the pmw process or the dbt process it waited for) and the peak of
the whole process tree summed (sampled every 0.5 s), the 1-minute load average before and after, and the step
times Dagster recorded (runs/last_run.json) and the slowest dbt nodes (the build's run_results.json). After each
phase: the disk used by landing, lake, warehouse, published (with published.releases), dagster_home, the rest of
the data directory, the total, and the free disk. Run it with `nice -n 19` on a shared machine: the children inherit
it, and the ratios compare figures taken in the same invocation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_memory import _step_windows
from bench_nightly import _newest_amplitude_day
from pmw_process import PMW, REPO, observed_run

RECORD_NAME = "bench_e2e.json"
HELD_BACK_DIR = "bench_held_back"  # outside landing/: the pipeline never sees it
FLOOR_DIR = "bench_floor"  # scratch of the floor measurements, emptied after each
DBT_TARGET = REPO / "dbt_project" / "target"
PHASES = ("generate", "first run", "floors", "one day", "no-op")
RUN_PHASES = ("first run", "one day", "no-op")
FLOORS = ("ingest", "ingest typed", "staging", "sessions", "funnel", "raw gate")
# Two ways to read the same files barely; the cheaper one is the ingest floor in the sum (see _floor_sum).
INGEST_FLOORS = ("ingest", "ingest typed")
DISK_PARTS = ("landing", "lake", "warehouse", "published", "dagster_home")
DAY_IN_NAME = re.compile(r"amplitude_\d+_(\d{4}-\d{2}-\d{2})(?:_reexport)?\.zip$")


# -- disk --------------------------------------------------------------------------------------------------------


def _du_bytes(path: Path) -> int:
    """Bytes allocated on disk under path (du: blocks, not apparent sizes; hard links counted once)."""
    if not path.exists():
        return 0
    out = subprocess.run(["du", "-s", "-B1", str(path)], check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def disk_usage(data_dir: Path) -> dict[str, int]:
    parts = {name: _du_bytes(data_dir / name) for name in DISK_PARTS}
    parts["published"] += _du_bytes(data_dir / "published.releases")
    parts["total"] = _du_bytes(data_dir)
    parts["other"] = parts["total"] - sum(parts[name] for name in DISK_PARTS)
    parts["free"] = shutil.disk_usage(data_dir).free
    return parts


def _newest_full_amplitude_day(landing: Path) -> list[Path]:
    """The Amplitude ZIPs of the newest full day and of the days after it. The generator's last days are a thin
    tail (late events, ~2 % of a day's bytes), so bench_nightly's newest ZIP alone would be a night landing almost
    nothing: a full day is one of at least half the median ZIP's size, and the night lands it with its tail."""
    newest = _newest_amplitude_day(landing)  # the landing has Amplitude days at all
    days = sorted(p for p in newest.parent.glob("amplitude_*.zip") if DAY_IN_NAME.search(p.name))
    sizes = sorted(p.stat().st_size for p in days)
    median = sizes[len(sizes) // 2]
    full_day = max(DAY_IN_NAME.search(p.name)[1] for p in days if p.stat().st_size >= median / 2)
    return [p for p in days if DAY_IN_NAME.search(p.name)[1] >= full_day]


# -- the pipeline's own records ----------------------------------------------------------------------------------


def _landed_events(data_dir: Path) -> int | None:
    truths = data_dir / "sample_truths.json"
    if not truths.exists():
        return None
    analytics = json.loads(truths.read_text(encoding="utf-8"))["analytics"]
    return sum(analytics["lines_by_source"].values())


def _slowest_dbt_nodes(since: float, top: int) -> list[tuple[str, float]]:
    """The slowest nodes of the newest dbt run_results.json written after ``since`` (dbt_cli gives each build a
    target directory of its own under dbt_project/target)."""
    found = [p for p in DBT_TARGET.rglob("run_results.json") if p.stat().st_mtime >= since]
    if not found:
        return []
    results = json.loads(max(found, key=lambda p: p.stat().st_mtime).read_text(encoding="utf-8"))["results"]
    nodes = sorted(((r["unique_id"], float(r["execution_time"])) for r in results), key=lambda kv: -kv[1])
    return nodes[:top]


def _finished_steps(data_dir: Path) -> dict[str, float]:
    """Wall seconds of every step the newest Dagster run of the data directory finished (bench_memory's reading)."""
    return {step: end - start for step, start, end in _step_windows(data_dir)}


def _run_phase(data_dir: Path, label: str, top: int) -> dict:
    log = data_dir / f"bench-{label.replace(' ', '-')}.log"
    observed = observed_run([*PMW, "--data-dir", str(data_dir), "run", "--settle-seconds", "0"], log)
    last_run = data_dir / "runs" / "last_run.json"
    record = json.loads(last_run.read_text(encoding="utf-8")) if last_run.exists() else {}
    build = data_dir / "runs" / "last_build.json"
    scope = json.loads(build.read_text(encoding="utf-8")).get("scope") if build.exists() else None
    unchanged = record.get("unchanged")
    return {
        **observed.as_dict(),
        "log": str(log),
        "ok": bool(record.get("ok")) and observed.exit_status == 0,
        # A run killed or failed midway records no step times: the steps it finished are in the Dagster instance.
        "step_seconds": record.get("step_seconds") or _finished_steps(data_dir),
        "dbt_slowest": _slowest_dbt_nodes(observed.started_at, top),
        "unchanged": unchanged["statement"] if unchanged else None,
        "build_scope": scope["statement"] if scope and label == "one day" else None,
    }


# -- floors (each in a child process: python bench_e2e.py --floor NAME --data-dir D) ----------------------------


def _floor_connection(data_dir: Path, database: str = ":memory:"):
    """A DuckDB connection with the bounds a run of this data directory uses (memory_limit, threads, spill dir)."""
    from core.config import load_config
    from core.duckdb_connection import DuckDBSettings, connect_duckdb
    from core.settings import get_paths

    return connect_duckdb(database, settings=DuckDBSettings.for_paths(get_paths(data_dir), load_config()))


def _copy_to_parquet(con, select: str, out: Path) -> int:
    (rows,) = con.execute(f"COPY ({select}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)").fetchone()
    out.unlink()
    return int(rows)


def _sql_list(paths: list[Path]) -> str:
    from expectations.runner import sql_string

    return "[" + ", ".join(sql_string(str(p)) for p in paths) + "]"


class _Stopwatch:
    """Wall and CPU seconds of the measured statements only (CPU: every thread of this process, DuckDB's too)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    @contextmanager
    def measuring(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.seconds += time.perf_counter() - wall
        self.cpu_seconds += time.process_time() - cpu


def _floor_ingest(
    data_dir: Path, scratch: Path, clock: _Stopwatch, amplitude_glob: str | None = None, typed: bool = False
) -> int:
    """Bare readers over the landed analytics files, DuckDB's defaults but ignore_errors (the planted malformed lines
    are skipped, not reported): one read_json over every Amplitude member, as bench_ingest's bare reader; one over
    the Mixpanel files, one read_csv over the Segment files. DuckDB reads no ZIP: the members are extracted before
    the clock starts (as much disk again as the Amplitude ZIPs, freed afterwards). ``amplitude_glob``: only these
    Amplitude ZIPs and no other file, to compare with the per-file times a run logs for the same ZIPs.

    ``typed``: read_json is given the columns ingest reads and their types (ingest/analytics/sql.py, the nested
    objects as JSON) instead of detecting a schema. At 30M, detection over the nested, varying ``event_properties``
    of many members made the default reader slower than the project's ingest (bench/README.md), so it is no floor."""
    analytics = data_dir / "landing" / "analytics"
    members = scratch / "members"
    members.mkdir()
    for archive in sorted((analytics / "amplitude").glob(amplitude_glob or "*")):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.endswith(".gz"):
                    with zf.open(name) as member, open(members / f"{archive.stem}-{Path(name).name}", "wb") as out:
                        shutil.copyfileobj(member, out, 1024 * 1024)
    json_reader = "read_json(FILES, format = 'newline_delimited', ignore_errors = true{})"
    amplitude_reader, mixpanel_reader = json_reader.format(""), json_reader.format("")
    if typed:
        from ingest.analytics.sql import AMPLITUDE_LINE_FIELDS, MIXPANEL_LINE_FIELDS

        amplitude_reader = json_reader.format(f", columns = {_struct_sql(AMPLITUDE_LINE_FIELDS)}")
        mixpanel_reader = json_reader.format(f", columns = {_struct_sql(MIXPANEL_LINE_FIELDS)}")
    readers = [
        (amplitude_reader, sorted(members.iterdir())),
        (mixpanel_reader, [] if amplitude_glob else sorted((analytics / "mixpanel").iterdir())),
        (
            "read_csv(FILES, union_by_name = true, ignore_errors = true)",
            [] if amplitude_glob else sorted((analytics / "segment").iterdir()),
        ),
    ]
    con = _floor_connection(data_dir)
    rows = 0
    for reader, files in readers:
        if files:
            with clock.measuring():
                rows += _copy_to_parquet(
                    con, f"select * from {reader.replace('FILES', _sql_list(files))}", scratch / "o.parquet"
                )
    con.close()
    return rows


def _struct_sql(fields: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in fields.items()) + "}"


def _lake_events(data_dir: Path) -> list[Path]:
    files = sorted((data_dir / "lake" / "analytics" / "events").glob("*.parquet"))
    if not files:
        raise SystemExit(f"no lake/analytics/events/*.parquet under {data_dir}: the first run must come first")
    return files


def _warehouse_table(con, table: str) -> str:
    """``table``'s qualified name in the attached warehouse ``wh`` (dbt's schema names come from the project)."""
    found = con.execute(
        "select schema_name from duckdb_tables() where database_name = 'wh' and table_name = ?", [table]
    ).fetchall()
    if len(found) != 1:
        raise SystemExit(f"{table}: {len(found)} tables of that name in the warehouse, expected 1")
    return f'wh."{found[0][0]}"."{table}"'


def _attach_warehouse(con, data_dir: Path) -> None:
    warehouse = data_dir / "warehouse" / "pmw.duckdb"
    con.execute(f"attach '{warehouse}' as wh (read_only)")


# One window pass as PERFORMANCE-NOTES measures sessionisation: a lag() flag, then a running sum per user.
SESSIONS_FLOOR = """
    select *, sum(new_session) over (
        partition by user_key order by event_at, event_id rows unbounded preceding
    ) as session_number
    from (
        select *, coalesce(user_id, anonymous_id) as user_key,
            case when event_at - lag(event_at) over (
                partition by coalesce(user_id, anonymous_id) order by event_at, event_id
            ) <= interval 30 minute then 0 else 1 end as new_session
        from {staged}
    )
"""


def _floor(name: str, data_dir: Path, amplitude_glob: str | None = None) -> dict:
    scratch = data_dir / FLOOR_DIR
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    clock = _Stopwatch()
    try:
        if name in INGEST_FLOORS:
            rows = _floor_ingest(data_dir, scratch, clock, amplitude_glob, typed=name == "ingest typed")
            return {"seconds": clock.seconds, "cpu_seconds": clock.cpu_seconds, "rows": rows}
        con = _floor_connection(data_dir)
        if name == "staging":
            select = f"select * from read_parquet({_sql_list(_lake_events(data_dir))}, union_by_name = true)"
            with clock.measuring():
                rows = _copy_to_parquet(con, select, scratch / "staging.parquet")
        elif name == "raw gate":
            from bench_gates import reference_sql

            from core.config import load_config

            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # naive UTC, as bench_gates gives it
            query = reference_sql(_lake_events(data_dir), list(load_config().analytics.known_events), now)
            with clock.measuring():
                rows = con.execute(query).fetchone()[0]
        elif name == "sessions":
            _attach_warehouse(con, data_dir)
            select = SESSIONS_FLOOR.format(staged=_warehouse_table(con, "stg_analytics__events"))
            with clock.measuring():
                rows = _copy_to_parquet(con, select, scratch / "sessions.parquet")
        elif name == "funnel":
            from bench_funnel import REFERENCE_ANY_ENTRY

            _attach_warehouse(con, data_dir)
            sessionized = _warehouse_table(con, "int_events_sessionized")
            con.execute("create schema intermediate")
            con.execute(f"create view intermediate.int_events_sessionized as select * from {sessionized}")
            with clock.measuring():
                con.execute(REFERENCE_ANY_ENTRY)
            rows = con.execute("select max(users) from reference_result").fetchone()[0]
        else:
            raise SystemExit(f"unknown floor {name!r}")
        con.close()
        return {"seconds": clock.seconds, "cpu_seconds": clock.cpu_seconds, "rows": rows}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _measure_floor(name: str, data_dir: Path) -> dict:
    """One floor in a child process: seconds and CPU seconds of the measured statements, rows, peak RSS, load."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        argv = [sys.executable, __file__, "--floor", name, "--data-dir", str(data_dir), "--out", out.name]
        load = os.getloadavg()[0]
        proc = subprocess.Popen(argv, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"floor {name} failed (exit {os.waitstatus_to_exitcode(status)})")
        result = json.loads(Path(out.name).read_text(encoding="utf-8"))
    return {**result, "largest_process_mb": usage.ru_maxrss / 1024, "load_at_start": load}


# -- phases -------------------------------------------------------------------------------------------------------


def _save(data_dir: Path, record: dict) -> None:
    path = data_dir / RECORD_NAME
    path.with_suffix(".tmp").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    path.with_suffix(".tmp").replace(path)


def _phase(data_dir: Path, record: dict, name: str, args: argparse.Namespace) -> dict:
    if name == "generate":
        argv = [*PMW, "--data-dir", str(data_dir), "generate", "--users", str(record["users"])]
        observed = observed_run([*argv, "--engine", "vectorised"], data_dir / "bench-generate.log")
        if observed.exit_status:
            raise SystemExit(f"generate failed (exit {observed.exit_status}); see {data_dir / 'bench-generate.log'}")
        (data_dir / HELD_BACK_DIR).mkdir()
        record["held_back"] = []
        for held in _newest_full_amplitude_day(data_dir / "landing"):
            held_to = data_dir / HELD_BACK_DIR / held.name
            shutil.move(held, held_to)
            record["held_back"].append(
                {"landed_at": str(held), "kept_at": str(held_to), "bytes": held_to.stat().st_size}
            )
        record["landed_events"] = _landed_events(data_dir)
        return {**observed.as_dict(), "ok": True}
    if name == "floors":
        floors = {}
        for floor in FLOORS:
            floors[floor] = _measure_floor(floor, data_dir)
            print(f"  floor {floor}: {floors[floor]['seconds']:.1f} s", flush=True)
        return {"floors": floors, **_floor_sum(floors), "ok": True}
    if name == "one day":
        for held in record["held_back"]:
            shutil.move(held["kept_at"], held["landed_at"])
            os.utime(held["landed_at"])  # landed now
    return _run_phase(data_dir, name, args.top)


def _floor_sum(floors: dict[str, dict]) -> dict:
    """The sum of the floors, counting only the cheaper of the two ingest readers, per measure (wall and CPU)."""
    sums = {}
    for measure in ("seconds", "cpu_seconds"):
        ingest = min(INGEST_FLOORS, key=lambda name: floors[name][measure])
        counted = [name for name in floors if name not in INGEST_FLOORS or name == ingest]
        sums[f"ingest_floor_{measure}"] = ingest
        sums[f"sum_{measure}"] = sum(floors[name][measure] for name in counted)
    return sums


def run_phases(data_dir: Path, record: dict, args: argparse.Namespace) -> None:
    for name in PHASES:
        if name in record["phases"]:
            if not record["phases"][name]["ok"]:
                raise SystemExit(f"{data_dir}: {name} failed or was stopped; the phases after it need a new directory")
            continue
        print(f"{dt.datetime.now():%H:%M:%S} {name} ...", flush=True)
        result = _phase(data_dir, record, name, args)
        result["disk"] = disk_usage(data_dir)
        record["phases"][name] = result
        _save(data_dir, record)
        seconds = result.get("seconds", result.get("sum_seconds"))
        print(f"{dt.datetime.now():%H:%M:%S} {name}: {seconds:.1f} s, ok={result['ok']}", flush=True)
        if not result["ok"]:
            print(f"  {name} failed; see {result.get('log')}. The phases after it are not run.")
            return
        if name == args.until:
            return


# -- report -------------------------------------------------------------------------------------------------------


def _gb(n: int) -> str:
    return f"{n / 1024**3:.2f}"


def print_report(record: dict, top: int) -> None:
    phases = record["phases"]
    held = ", ".join(f"{Path(h['landed_at']).name} ({h['bytes']:,} B)" for h in record.get("held_back", [])) or "-"
    events = record.get("landed_events") or 0
    print(f"\n{record['users']:,} users, {events:,} analytics lines landed, held back: {held}")
    print(f"data: {record['data_dir']}")
    print("\n| phase | wall | CPU (user+sys) | largest process RSS | tree RSS (sampled) | load avg start/end | ok |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in ("generate", *RUN_PHASES):
        if name in phases:
            p = phases[name]
            print(
                f"| {name} | {p['seconds']:.1f} s | {p.get('cpu_seconds', float('nan')):.1f} s |"
                f" {p['largest_process_mb']:,.0f} MB | {p['tree_peak_mb']:,.0f} MB |"
                f" {p['load_at_start']:.2f} / {p['load_at_end']:.2f} | {p['ok']} |"
            )
    print("\n| disk after (GB) | " + " | ".join((*DISK_PARTS, "other", "total", "free")) + " |")
    print("|---|" + "---:|" * (len(DISK_PARTS) + 3))
    for name in PHASES:
        if name in phases:
            d = phases[name]["disk"]
            print(f"| {name} | " + " | ".join(_gb(d[k]) for k in (*DISK_PARTS, "other", "total", "free")) + " |")
    if "floors" in phases:
        floors = phases["floors"]
        print("\n| floor | wall | CPU | rows | largest process RSS | load avg at start |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, f in floors["floors"].items():
            print(
                f"| {name} | {f['seconds']:.1f} s | {f['cpu_seconds']:.1f} s | {f['rows']:,} |"
                f" {f['largest_process_mb']:,.0f} MB | {f['load_at_start']:.2f} |"
            )
        print(
            f"| **sum** (ingest: {floors.get('ingest_floor_seconds', 'ingest')} /"
            f" {floors.get('ingest_floor_cpu_seconds', 'ingest')}) | **{floors['sum_seconds']:.1f} s** |"
            f" **{floors['sum_cpu_seconds']:.1f} s** | | | |"
        )
        if "first run" in phases:
            first = phases["first run"]
            print(
                f"\nfirst run / sum of floors: wall {first['seconds'] / floors['sum_seconds']:.2f},"
                f" CPU {first.get('cpu_seconds', float('nan')) / floors['sum_cpu_seconds']:.2f} (target <= 1.5)"
            )
    if "first run" in phases:
        first = phases["first run"]["seconds"]
        for name in ("one day", "no-op"):
            if name in phases:
                print(f"{name} / first run: {phases[name]['seconds'] / first:.3f}")
    for name in RUN_PHASES:
        if name not in phases:
            continue
        p = phases[name]
        print(f"\n{name}: {p['seconds']:.1f} s (log {p['log']})")
        for note in (p.get("unchanged"), p.get("build_scope")):
            if note:
                print(f"  {note}")
        for step, seconds in sorted(p["step_seconds"].items(), key=lambda kv: -kv[1])[:top]:
            print(f"  {seconds:8.1f} s  {step}")
        if p["dbt_slowest"]:
            print("  dbt, slowest nodes (run_results.json execution_time):")
            for node, seconds in p["dbt_slowest"]:
                print(f"    {seconds:8.1f} s  {node}")


def print_growth(small: dict, large: dict, target_events: float = 100e6) -> None:
    """Per phase, the smaller size's figure -> the larger's (x their ratio), against the growth of the events; then
    the disk at ``target_events`` on the line through the two sizes (fixed part + a part per event)."""
    n_small, n_large = small["landed_events"], large["landed_events"]
    if n_small >= n_large:
        raise SystemExit(f"--growth: the second record must be the larger size ({n_small:,} vs {n_large:,} events)")
    print(f"\nanalytics lines landed: {n_small:,} -> {n_large:,} (x{n_large / n_small:.1f})")
    print("\n| phase | wall | x | CPU | x | largest process RSS | x | tree RSS (sampled) | x | disk after (GB) | x |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def cell(s: float, g: float, fmt: str, unit: str) -> str:
        return f"{s:{fmt}} -> {g:{fmt}}{unit} | {g / s:.1f}" if s else f"{s:{fmt}} -> {g:{fmt}}{unit} | -"

    for name in ("generate", *RUN_PHASES):
        if name in small["phases"] and name in large["phases"]:
            s, g = small["phases"][name], large["phases"][name]
            print(
                f"| {name} | {cell(s['seconds'], g['seconds'], ',.0f', ' s')}"
                f" | {cell(s.get('cpu_seconds', 0.0), g.get('cpu_seconds', 0.0), ',.0f', ' s')}"
                f" | {cell(s['largest_process_mb'], g['largest_process_mb'], ',.0f', ' MB')}"
                f" | {cell(s['tree_peak_mb'], g['tree_peak_mb'], ',.0f', ' MB')}"
                f" | {cell(s['disk']['total'] / 1024**3, g['disk']['total'] / 1024**3, '.2f', '')} |"
            )
    if "floors" in small["phases"] and "floors" in large["phases"]:
        s, g = small["phases"]["floors"], large["phases"]["floors"]
        print(
            f"| sum of floors | {cell(s['sum_seconds'], g['sum_seconds'], ',.0f', ' s')}"
            f" | {cell(s['sum_cpu_seconds'], g['sum_cpu_seconds'], ',.0f', ' s')} | | | | | | |"
        )
    last = max((n for n in PHASES if n in small["phases"] and n in large["phases"]), key=PHASES.index)
    ds, dg = small["phases"][last]["disk"], large["phases"][last]["disk"]
    at_target = {}
    for part in (*DISK_PARTS, "other", "total"):
        per_event = (dg[part] - ds[part]) / (n_large - n_small)
        at_target[part] = ds[part] + per_event * (target_events - n_small)
    print(
        f"\ndisk after {last} at {target_events / 1e6:.0f}M landed events, on the line through both sizes: "
        + ", ".join(f"{part} {value / 1024**3:.1f} GB" for part, value in at_target.items())
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=15000, help="pmw generate --users (~67 analytics lines each)")
    parser.add_argument("--data-dir", type=Path, help="where the data lives (kept); required but with --growth")
    parser.add_argument("--resume", action="store_true", help="go on after the last phase --data-dir recorded")
    parser.add_argument("--until", choices=PHASES, help="stop after this phase (--resume goes on)")
    parser.add_argument("--json", type=Path, help="also write the record here")
    parser.add_argument("--top", type=int, default=8, help="slowest steps and dbt nodes to print per run")
    parser.add_argument("--growth", nargs=2, type=Path, metavar=("SMALL_JSON", "LARGE_JSON"))
    parser.add_argument(
        "--floor", choices=FLOORS, help="measure one floor on --data-dir alone, printed as JSON (or to --out)"
    )
    parser.add_argument(
        "--amplitude-glob", help="with --floor ingest / ingest typed: only these Amplitude ZIPs, nothing else"
    )
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.growth:
        small, large = (json.loads(p.read_text(encoding="utf-8")) for p in args.growth)
        print_growth(small, large)
        return 0
    if args.data_dir is None:
        parser.error("--data-dir is required")
    data_dir = args.data_dir.resolve()
    if args.floor:
        result = json.dumps(_floor(args.floor, data_dir, args.amplitude_glob))
        if args.out:
            args.out.write_text(result, encoding="utf-8")
        else:
            print(result)
        return 0

    path = data_dir / RECORD_NAME
    if args.resume:
        record = json.loads(path.read_text(encoding="utf-8"))
    else:
        if data_dir.exists() and any(data_dir.iterdir()):
            raise SystemExit(f"{data_dir} is not empty; give a new directory, or --resume")
        data_dir.mkdir(parents=True, exist_ok=True)
        record = {"users": args.users, "data_dir": str(data_dir), "cores": os.cpu_count(), "phases": {}}
        _save(data_dir, record)
    run_phases(data_dir, record, args)
    print_report(record, args.top)
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0 if all(p["ok"] for p in record["phases"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
