"""Analytics ingest on the real Amplitude export shape vs baselines measured side by side in the same process.

    .venv/bin/python bench/bench_ingest.py --events 1000000 [--repeat 3] [--pandas-lines 100000] [--work-dir DIR]

A real Amplitude Export API ZIP holds hourly gzipped JSON-lines members of a few hundred lines (2,048 members per
1M events). The bench builds Amplitude-shaped events with sample_generator.analytics.generate_events_bench (the ~35
real fields with nested event_properties/user_properties), cuts the same lines into two layouts, each a directory
of gzipped members and a ZIP of them (stored, as Amplitude ships them):
  hourly   one member per LINES_PER_MEMBER lines (2,048 members per 1M events)
  few      48 members (one day of hours at a much larger rate): the same lines, so the same bytes
Each round measures, back to back in this process:
  bare     DuckDB COPY (SELECT * FROM read_json(<the gz members>, format='newline_delimited')) TO Parquet, per layout
  ingest   ingest_analytics on the layout's ZIP (hash, detect, extract, parse + validate every line, Parquet +
           quarantine + manifest), from an empty lake, per layout
  pandas   pandas.read_json(lines=True) on the first --pandas-lines lines, its time scaled to all events (it holds
           the whole input in memory, about 14x its size, so it is not run on everything)
and prints the medians of the rounds and the medians of the per-round ratios the issue asks for (issue 13):
  ingest / bare on hourly members            target <= 1.3
  ingest hourly / ingest few (same bytes)    target: 1 within noise (no per-member cost)
  pandas / ingest                            target >= 5
The machine's load average is printed before and after: compare ratios, not absolutes, on a shared machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# 1,000,000 / 2,048 events: the hourly member of a real export (issue 13).
LINES_PER_MEMBER = 488
FEW_MEMBERS = 48
AMPLITUDE_PROJECT_ID = "187520"


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def _write_layout(lines: list[bytes], members: int, layout_dir: Path) -> None:
    """``members`` gzipped members of consecutive lines in ``layout_dir/members`` and a ZIP of them in
    ``layout_dir/data/landing/analytics``."""
    from core.settings import get_paths

    member_dir = layout_dir / "members"
    member_dir.mkdir(parents=True)
    per_member = -(-len(lines) // members)
    for index in range(members):
        chunk = lines[index * per_member : (index + 1) * per_member]
        if not chunk:
            break
        name = f"{AMPLITUDE_PROJECT_ID}_2024-01-01_{index}#0.json.gz"
        with gzip.open(member_dir / name, "wb", compresslevel=6) as out:
            out.writelines(chunk)
    paths = get_paths(layout_dir / "data").ensure()
    with zipfile.ZipFile(paths.landing / "analytics" / "export.zip", "w", compression=zipfile.ZIP_STORED) as archive:
        for member in sorted(member_dir.iterdir()):
            archive.write(member, f"{AMPLITUDE_PROJECT_ID}/{member.name}")


def _prepare(work: Path, events: int, pandas_lines: int) -> tuple[int, int]:
    """Generate (or reuse) the two layouts and the pandas subset; return (lines, raw bytes)."""
    from sample_generator.analytics import generate_events_bench

    stamp = work / "events.txt"
    if not (stamp.exists() and stamp.read_text() == str(events)):
        for stale in ("generated", "hourly", "few"):
            shutil.rmtree(work / stale, ignore_errors=True)
        t = time.perf_counter()
        generated = generate_events_bench(work / "generated", events, seed=1)
        lines: list[bytes] = []
        for path in generated:
            with gzip.open(path, "rb") as handle:
                lines.extend(handle)
        shutil.rmtree(work / "generated")
        _write_layout(lines, -(-len(lines) // LINES_PER_MEMBER), work / "hourly")
        _write_layout(lines, FEW_MEMBERS, work / "few")
        (work / "pandas-subset.jsonl").write_bytes(b"".join(lines[:pandas_lines]))
        stamp.write_text(str(events))
        print(f"generated {len(lines)} events in {time.perf_counter() - t:.1f}s", flush=True)
    line_count = raw_bytes = 0
    for member in _members(work / "few"):
        with gzip.open(member, "rb") as handle:
            for line in handle:
                line_count += 1
                raw_bytes += len(line)
    return line_count, raw_bytes


def _members(layout_dir: Path) -> list[Path]:
    return sorted((layout_dir / "members").iterdir())


def _bare(layout_dir: Path, out: Path) -> tuple[float, int]:
    import duckdb

    files = "[" + ", ".join(f"'{member}'" for member in _members(layout_dir)) + "]"
    out.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        t = time.perf_counter()
        (rows,) = con.execute(
            f"COPY (SELECT * FROM read_json({files}, format='newline_delimited')) TO '{out}' (FORMAT parquet)"
        ).fetchone()
        seconds = time.perf_counter() - t
    finally:
        con.close()
    out.unlink()
    return seconds, rows


def _ingest(layout_dir: Path) -> tuple[float, int]:
    from core.config import parse_config
    from core.settings import get_paths
    from ingest.analytics import ingest_analytics

    paths = get_paths(layout_dir / "data").ensure()
    shutil.rmtree(paths.lake, ignore_errors=True)  # the manifest too: the same bytes load again
    config = parse_config({"analytics": {"mixpanel_project_timezone": "UTC"}}, Path("bench.yml"))
    t = time.perf_counter()
    report = ingest_analytics(paths, config)
    seconds = time.perf_counter() - t
    totals = report.totals
    if totals["failed"] or totals["rows_rejected"]:
        raise SystemExit(f"ingest did not load cleanly: {totals} {[r.error for r in report.failed]}")
    return seconds, totals["rows_loaded"]


def _pandas(subset: Path) -> tuple[float, int]:
    import pandas as pd

    t = time.perf_counter()
    frame = pd.read_json(subset, lines=True)
    return time.perf_counter() - t, len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pandas-lines", type=int, default=100_000)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="pmw-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    events, raw_bytes = _prepare(work, args.events, args.pandas_lines)
    hourly, few = work / "hourly", work / "few"
    print(
        f"{events} Amplitude-shaped events, {raw_bytes / 1e6:.0f} MB raw JSON ({raw_bytes / events:.0f} B/line); "
        f"hourly: {len(_members(hourly))} members, {sum(p.stat().st_size for p in _members(hourly)) / 1e6:.0f} MB "
        f"gzip; few: {len(_members(few))} members; python {platform.python_version()}; {_load_average()}",
        flush=True,
    )

    rounds: list[dict[str, float]] = []
    for i in range(args.repeat):
        measured: dict[str, float] = {}
        for name, run in (
            ("bare_hourly", lambda: _bare(hourly, work / "bare.parquet")),
            ("bare_few", lambda: _bare(few, work / "bare.parquet")),
            ("ingest_hourly", lambda: _ingest(hourly)),
            ("ingest_few", lambda: _ingest(few)),
        ):
            seconds, rows = run()
            if rows != events:
                raise SystemExit(f"{name} read {rows} rows, expected {events}")
            measured[name] = seconds
        pandas_seconds, pandas_rows = _pandas(work / "pandas-subset.jsonl")
        measured["pandas"] = pandas_seconds * events / pandas_rows
        rounds.append(measured)
        print(
            f"  round {i + 1}: "
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in measured.items())
            + f"; {_load_average()}",
            flush=True,
        )

    def median(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    def median_ratio(top: str, bottom: str) -> float:
        return statistics.median(r[top] / r[bottom] for r in rounds)

    print(f"medians of {args.repeat}, N = {events}")
    for name, label in (
        ("bare_hourly", f"bare read_json -> Parquet, {len(_members(hourly))} members"),
        ("bare_few", f"bare read_json -> Parquet, {len(_members(few))} members"),
        ("ingest_hourly", f"ingest_analytics, ZIP of {len(_members(hourly))} members"),
        ("ingest_few", f"ingest_analytics, ZIP of {len(_members(few))} members"),
        ("pandas", f"pandas.read_json(lines=True), scaled from {args.pandas_lines} lines"),
    ):
        seconds = median(name)
        print(f"  {label:<58} {seconds:7.2f}s  {events / seconds / 1e3:6.0f}k events/s")
    print(
        f"ratio ingest / bare read_json (hourly members):  {median_ratio('ingest_hourly', 'bare_hourly'):.2f}  (<= 1.3)"
    )
    print(
        f"ratio ingest hourly / few members (same bytes):   {median_ratio('ingest_hourly', 'ingest_few'):.2f}  "
        f"(bare: {median_ratio('bare_hourly', 'bare_few'):.2f}; target: no per-member cost)"
    )
    print(f"ratio pandas / ingest (hourly members):          {median_ratio('pandas', 'ingest_hourly'):.1f}  (>= 5)")
    print(_load_average())
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
