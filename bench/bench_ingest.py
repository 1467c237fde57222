"""Analytics ingest vs baselines measured in the same run (PERFORMANCE-NOTES: compare ratios, not absolutes).

    .venv/bin/python bench/bench_ingest.py --events 1000000 [--repeat 3] [--pandas-lines 100000] [--work-dir DIR]

Builds an Amplitude-shaped export with sample_generator.analytics.generate_events_bench (the ~35 real fields with
nested event_properties/user_properties; four gzipped JSON-lines members, stored in one ZIP), then reports
medians over ``--repeat`` rounds of:
  bare     DuckDB CREATE TABLE AS SELECT * FROM read_json(<the gz members>, format='newline_delimited')
  ingest   ingest_analytics on the ZIP (hash, detect, extract, parse + validate every line, Parquet + manifest)
  pandas   pandas.read_json(lines=True) on the first --pandas-lines lines of one member, time scaled to all events
           (it holds the whole input in memory, so it is not run on everything)
Each measurement runs in a fresh child process, so its peak RSS (ru_maxrss, includes the interpreter and the
imports) is its own. Ratios are taken per round (bare and ingest run back to back) and then the median.
Targets: ingest <= 1.3x bare; pandas >= 5x ingest.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _members(work: Path) -> list[Path]:
    return sorted((work / "members").glob("*.json.gz"))


def _phase_bare(work: Path, _args: argparse.Namespace) -> dict[str, float]:
    import duckdb

    file_list = "[" + ", ".join(f"'{p}'" for p in _members(work)) + "]"
    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_json({file_list}, format='newline_delimited')")
    seconds = time.perf_counter() - t
    rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    con.close()
    return {"seconds": seconds, "rows": rows}


def _phase_ingest(work: Path, _args: argparse.Namespace) -> dict[str, float]:
    from core.config import parse_config
    from core.settings import get_paths
    from ingest.analytics import ingest_analytics

    paths = get_paths(work / "data").ensure()
    shutil.rmtree(paths.lake, ignore_errors=True)
    config = parse_config({"analytics": {"mixpanel_project_timezone": "UTC"}}, Path("bench.yml"))
    t = time.perf_counter()
    report = ingest_analytics(paths, config)
    seconds = time.perf_counter() - t
    totals = report.totals
    if totals["failed"] or totals["rows_rejected"]:
        raise SystemExit(f"ingest did not load cleanly: {totals} {[r.error for r in report.failed]}")
    return {"seconds": seconds, "rows": totals["rows_loaded"]}


def _phase_pandas(work: Path, args: argparse.Namespace) -> dict[str, float]:
    import pandas as pd

    subset = work / "pandas-subset.jsonl"
    t = time.perf_counter()
    frame = pd.read_json(subset, lines=True)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "rows": len(frame)}


PHASES = {"bare": _phase_bare, "ingest": _phase_ingest, "pandas": _phase_pandas}


def _run_phase(name: str, work: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--phase", name, "--work-dir", str(work), "--events", str(args.events)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _prepare(work: Path, args: argparse.Namespace) -> tuple[int, int]:
    """Generate (or reuse) the members, the landed ZIP and the pandas subset; return (events, raw bytes)."""
    from core.settings import get_paths
    from sample_generator.analytics import generate_events_bench

    stamp = work / "members" / "events.txt"
    if not (stamp.exists() and stamp.read_text() == str(args.events)):
        shutil.rmtree(work / "members", ignore_errors=True)
        t = time.perf_counter()
        generate_events_bench(work / "members", args.events, seed=1)
        stamp.write_text(str(args.events))
        print(f"generated {args.events} events in {time.perf_counter() - t:.1f}s", flush=True)
    members = _members(work)
    events = raw_bytes = 0
    for p in members:
        with gzip.open(p, "rb") as handle:
            for chunk_lines in iter(lambda h=handle: h.readlines(1 << 24), []):
                events += len(chunk_lines)
                raw_bytes += sum(len(line) for line in chunk_lines)
    with gzip.open(members[0], "rb") as src, open(work / "pandas-subset.jsonl", "wb") as out:
        out.writelines(itertools.islice(src, args.pandas_lines))
    paths = get_paths(work / "data").ensure()
    landed = paths.landing / "analytics" / "export.zip"
    with zipfile.ZipFile(landed, "w", compression=zipfile.ZIP_STORED) as z:
        for p in members:
            z.write(p, f"187520/{p.name}")
    return events, raw_bytes


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pandas-lines", type=int, default=100_000)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # child process: one measurement, one JSON line on stdout
        result = PHASES[args.phase](args.work_dir, args)
        print(json.dumps(result | {"peak_rss_mb": _peak_rss_mb()}))
        return

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="pmw-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    events, raw_bytes = _prepare(work, args)
    gz_bytes = sum(p.stat().st_size for p in _members(work))
    print(
        f"{events} Amplitude-shaped events, {raw_bytes / 1e6:.0f} MB raw JSON ({raw_bytes / events:.0f} B/line), "
        f"{gz_bytes / 1e6:.0f} MB gzip in {len(_members(work))} members; {os.cpu_count()} cores, "
        f"python {platform.python_version()}",
        flush=True,
    )

    rounds: list[dict[str, dict[str, float]]] = []
    for i in range(args.repeat):
        bare = _run_phase("bare", work, args)
        ingest = _run_phase("ingest", work, args)
        if ingest["rows"] != events or bare["rows"] != events:
            raise SystemExit(f"row counts differ: events={events} bare={bare['rows']} ingest={ingest['rows']}")
        rounds.append({"bare": bare, "ingest": ingest})
        print(
            f"  round {i + 1}: bare {bare['seconds']:.2f}s ({bare['peak_rss_mb']:.0f} MB), "
            f"ingest {ingest['seconds']:.2f}s ({ingest['peak_rss_mb']:.0f} MB), "
            f"ratio {ingest['seconds'] / bare['seconds']:.2f}",
            flush=True,
        )
    pandas_runs = [_run_phase("pandas", work, args) for _ in range(args.repeat)]
    pandas_lines = int(pandas_runs[0]["rows"])

    bare_s = _median([r["bare"]["seconds"] for r in rounds])
    ingest_s = _median([r["ingest"]["seconds"] for r in rounds])
    ratio = _median([r["ingest"]["seconds"] / r["bare"]["seconds"] for r in rounds])
    pandas_s = _median([p["seconds"] for p in pandas_runs]) * events / pandas_lines
    bare_rss = max(r["bare"]["peak_rss_mb"] for r in rounds)
    ingest_rss = max(r["ingest"]["peak_rss_mb"] for r in rounds)
    pandas_rss = max(p["peak_rss_mb"] for p in pandas_runs)

    print(f"medians of {args.repeat}, N = {events}")
    print(
        f"bare DuckDB read_json (table):   {bare_s:7.2f}s  {events / bare_s / 1e3:6.0f}k events/s  "
        f"{raw_bytes / bare_s / 1e6:4.0f} MB/s  peak RSS {bare_rss:5.0f} MB"
    )
    print(
        f"ingest_analytics (ZIP -> lake):  {ingest_s:7.2f}s  {events / ingest_s / 1e3:6.0f}k events/s  "
        f"{raw_bytes / ingest_s / 1e6:4.0f} MB/s  peak RSS {ingest_rss:5.0f} MB"
    )
    print(
        f"pandas.read_json(lines=True):    {pandas_s:7.2f}s  (scaled from {pandas_lines} lines)  "
        f"peak RSS {pandas_rss:5.0f} MB on those {pandas_lines} lines"
    )
    print(f"ratio ingest / bare:   {ratio:.2f}  (target <= 1.3)")
    print(f"ratio pandas / ingest: {pandas_s / ingest_s:.1f}  (target >= 5)")
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
