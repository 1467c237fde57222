"""Analytics ingest on real export shapes vs DuckDB's bare readers and pandas on the same bytes (issue 13).

    .venv/bin/python bench/bench_ingest.py --events 1000000 [--repeat 3] [--pandas-lines 100000] [--work-dir DIR]
                                           [--workloads hourly,few,mixpanel,csv]

Data: sample_generator.analytics.generate_events_bench builds N Amplitude-shaped events (the ~35 real fields with
nested event_properties/user_properties); the same events are written in four landed shapes:
  hourly    an Amplitude Export API ZIP of hourly gzipped members, LINES_PER_MEMBER lines each (~2,048 per 1M
            events, the real shape), stored as Amplitude ships them
  few       the same lines as a ZIP of 48 members (one day of hours at a much larger rate): the same bytes
  mixpanel  the same events as one Mixpanel raw-export JSONL file ({"event", "properties"})
  csv       the same events as one Segment-style tracks CSV (the columns ingest maps)
Each measurement runs in its own child process (peak RSS = its ru_maxrss from wait4, interpreter and imports
included), back to back within a round:
  bare      DuckDB COPY (SELECT * FROM read_json / read_csv(<the landed bytes>)) TO Parquet with the lake's writer
            settings (zstd; the ZIP layouts read their gzipped members directly); for hourly also with DuckDB's
            default codec (snappy), the reference the issue quotes
  ingest    ingest_analytics on the landed file (hash, detect, read, parse + validate every line with exact line
            numbers and quarantine, lake Parquet + manifest), from an empty lake
  pandas    pandas.read_json(lines=True) / read_csv on the first --pandas-lines records, its time scaled to N (it
            holds its whole input in memory, ~17x its size, so it is not run on everything)
Printed: medians of the rounds, and the medians of the per-round ratios the issue asks for:
  ingest / bare (same bytes, same writer settings)    target <= 1.3
  ingest hourly / ingest few (same bytes)             target ~1 (no per-member cost)
  pandas / ingest                                     target >= 5
The load average is printed with every round: compare ratios, not absolutes, on a shared machine.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
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

# 1,000,000 / 2,048 events: the hourly member of a real export (issue 13).
LINES_PER_MEMBER = 488
FEW_MEMBERS = 48
AMPLITUDE_PROJECT_ID = "187520"
WORKLOADS = ("hourly", "few", "mixpanel", "csv")
CSV_HEADER = (
    "id", "event", "user_id", "anonymous_id", "timestamp", "received_at", "context_device_type",
    "context_location_country", "revenue",
)  # fmt: skip


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


# -- data --------------------------------------------------------------------------------------------------------


def _write_zip_layout(lines: list[bytes], members: int, layout_dir: Path) -> None:
    """``members`` gzipped members of consecutive lines in ``layout_dir/members`` (read by bare) and a ZIP of them
    (stored) in ``layout_dir/data/landing/analytics`` (read by ingest)."""
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
    landing = layout_dir / "data" / "landing" / "analytics"
    landing.mkdir(parents=True)
    with zipfile.ZipFile(landing / "export.zip", "w", compression=zipfile.ZIP_STORED) as archive:
        for member in sorted(member_dir.iterdir()):
            archive.write(member, f"{AMPLITUDE_PROJECT_ID}/{member.name}")


def _epoch_seconds(amplitude_time: str) -> float:
    from datetime import UTC, datetime

    return datetime.fromisoformat(amplitude_time).replace(tzinfo=UTC).timestamp()


def _write_mixpanel_and_csv(lines: list[bytes], work: Path) -> None:
    """The same events as a Mixpanel raw-export JSONL file and a Segment-style tracks CSV, each in its own landing."""
    mixpanel = work / "mixpanel" / "data" / "landing" / "analytics" / "export.jsonl"
    tracks = work / "csv" / "data" / "landing" / "analytics" / "tracks.csv"
    for path in (mixpanel, tracks):
        path.parent.mkdir(parents=True)
    with open(mixpanel, "w", encoding="utf-8") as mp_out, open(tracks, "w", encoding="utf-8", newline="") as csv_out:
        writer = csv.writer(csv_out)
        writer.writerow(CSV_HEADER)
        for line in lines:
            event = json.loads(line)
            props = event.get("event_properties") or {}
            user_id = event.get("user_id")
            received = event["server_received_time"]
            mp_props = {
                "time": int(_epoch_seconds(event["event_time"])),
                "distinct_id": str(user_id) if user_id is not None else f"$device:{event['device_id']}",
                "$insert_id": event["$insert_id"],
                "mp_processing_time_ms": int(_epoch_seconds(received) * 1000),
                "$device_id": event["device_id"],
                "$os": event.get("platform"),
                "mp_country_code": event.get("country"),
                **({"$user_id": str(user_id)} if user_id is not None else {}),
                **props,
            }
            mp_out.write(json.dumps({"event": event["event_type"], "properties": mp_props}) + "\n")
            writer.writerow(
                [
                    event["uuid"],
                    event["event_type"],
                    "" if user_id is None else user_id,
                    event["device_id"],
                    event["event_time"].replace(" ", "T") + "Z",
                    received.replace(" ", "T") + "Z",
                    event.get("platform") or "",
                    event.get("country") or "",
                    props.get("$revenue", ""),
                ]
            )


def _prepare(work: Path, events: int, pandas_lines: int) -> tuple[int, int]:
    """Generate (or reuse) the four shapes and the pandas subsets; return (lines, raw Amplitude JSON bytes)."""
    from sample_generator.analytics import generate_events_bench

    stamp = work / "events.txt"
    if not (stamp.exists() and stamp.read_text() == str(events)):
        for stale in ("generated", *WORKLOADS):
            shutil.rmtree(work / stale, ignore_errors=True)
        t = time.perf_counter()
        generated = generate_events_bench(work / "generated", events, seed=1)
        lines: list[bytes] = []
        for path in generated:
            with gzip.open(path, "rb") as handle:
                lines.extend(handle)
        shutil.rmtree(work / "generated")
        _write_zip_layout(lines, -(-len(lines) // LINES_PER_MEMBER), work / "hourly")
        _write_zip_layout(lines, FEW_MEMBERS, work / "few")
        _write_mixpanel_and_csv(lines, work)
        del lines
        stamp.write_text(str(events))
        print(f"generated {events} events in {time.perf_counter() - t:.1f}s", file=sys.stderr, flush=True)
    pandas_stamp = work / "pandas-lines.txt"
    if not (pandas_stamp.exists() and pandas_stamp.read_text() == str(pandas_lines)):
        for name in WORKLOADS:
            _write_pandas_subset(work, name, pandas_lines)
        pandas_stamp.write_text(str(pandas_lines))
    line_count = raw_bytes = 0
    for member in _members(work / "few"):
        with gzip.open(member, "rb") as handle:
            for line in handle:
                line_count += 1
                raw_bytes += len(line)
    return line_count, raw_bytes


def _write_pandas_subset(work: Path, name: str, lines: int) -> None:
    if name in ("hourly", "few"):
        subset = bytearray()
        for member in _members(work / name):
            with gzip.open(member, "rb") as handle:
                for line in handle:
                    subset += line
                    lines -= 1
                    if not lines:
                        break
            if not lines:
                break
        (work / name / "pandas-subset").write_bytes(bytes(subset))
        return
    with open(_landed(work / name), "rb") as handle:
        head = [handle.readline() for _ in range(lines + (name == "csv"))]
    (work / name / "pandas-subset").write_bytes(b"".join(head))


def _members(layout_dir: Path) -> list[Path]:
    return sorted((layout_dir / "members").iterdir())


def _landed(layout_dir: Path) -> Path:
    (path,) = (layout_dir / "data" / "landing" / "analytics").iterdir()
    return path


# -- measurements (each in a child process) -----------------------------------------------------------------------


def _bare(layout_dir: Path, name: str, codec: str) -> tuple[float, int]:
    import duckdb

    if name in ("hourly", "few"):
        reader = "read_json([" + ", ".join(f"'{m}'" for m in _members(layout_dir)) + "], format='newline_delimited')"
    elif name == "mixpanel":
        reader = f"read_json('{_landed(layout_dir)}', format='newline_delimited')"
    else:
        reader = f"read_csv('{_landed(layout_dir)}')"
    out = layout_dir / "bare.parquet"
    out.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        t = time.perf_counter()
        (rows,) = con.execute(
            f"COPY (SELECT * FROM {reader}) TO '{out}' (FORMAT parquet, COMPRESSION {codec})"
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


def _pandas(layout_dir: Path, name: str) -> tuple[float, int]:
    import pandas as pd

    subset = layout_dir / "pandas-subset"
    t = time.perf_counter()
    frame = pd.read_csv(subset) if name == "csv" else pd.read_json(subset, lines=True)
    return time.perf_counter() - t, len(frame)


def _child(argv: list[str]) -> None:
    if argv[0] == "prepare":
        print(json.dumps(_prepare(Path(argv[1]), int(argv[2]), int(argv[3]))))
        return
    kind, name, layout_dir = argv[0], argv[1], Path(argv[2])
    if kind == "bare":
        seconds, rows = _bare(layout_dir, name, argv[3])
    elif kind == "ingest":
        if len(argv) > 3:  # another checkout's ingest (--baseline-root)
            sys.path.insert(0, argv[3])
        seconds, rows = _ingest(layout_dir)
    else:
        seconds, rows = _pandas(layout_dir, name)
    print(json.dumps({"seconds": seconds, "rows": rows}))


def _measure(*argv: str) -> tuple[float, int, float]:
    """(seconds, rows, peak RSS in MB) of one measurement in a child process."""
    output, usage = _run_child(*argv)
    result = json.loads(output)
    return result["seconds"], result["rows"], usage.ru_maxrss / 1024


def _run_child(*argv: str) -> tuple[bytes, os.struct_rusage]:
    """A child process's last output line and its resource usage. Linux keeps a process's peak RSS across fork and
    exec, so a child's ru_maxrss is at least this process's: this process stays small (it never holds the data)."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", *argv], stdout=subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child {argv} failed")
    return output.strip().splitlines()[-1], usage


# -- main ---------------------------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pandas-lines", type=int, default=100_000)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument(
        "--baseline-root",
        type=Path,
        default=None,
        help="another checkout (e.g. main): its ingest is measured too, in the same rounds (ingest_base_*)",
    )
    args = parser.parse_args()
    workloads = [name for name in args.workloads.split(",") if name]
    if unknown := set(workloads) - set(WORKLOADS):
        parser.error(f"unknown workloads {sorted(unknown)}; known: {', '.join(WORKLOADS)}")

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="pmw-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    events, raw_bytes = json.loads(_run_child("prepare", str(work), str(args.events), str(args.pandas_lines))[0])
    sizes = {name: sum(p.stat().st_size for p in (work / name / "data" / "landing").rglob("*") if p.is_file())
             for name in WORKLOADS}  # fmt: skip
    print(
        f"{events} events, {raw_bytes / 1e6:.0f} MB of Amplitude JSON ({raw_bytes / events:.0f} B/line); landed: "
        f"hourly ZIP of {len(_members(work / 'hourly'))} members {sizes['hourly'] / 1e6:.0f} MB, few ZIP of "
        f"{len(_members(work / 'few'))} members {sizes['few'] / 1e6:.0f} MB, Mixpanel JSONL "
        f"{sizes['mixpanel'] / 1e6:.0f} MB, CSV {sizes['csv'] / 1e6:.0f} MB; python {platform.python_version()}; "
        f"{_load_average()}",
        flush=True,
    )

    plan: list[tuple[str, tuple[str, ...]]] = []
    for name in workloads:
        layout = str(work / name)
        plan.append((f"bare_{name}", ("bare", name, layout, "zstd")))
        if name == "hourly":
            plan.append(("bare_snappy_hourly", ("bare", name, layout, "snappy")))
        plan.append((f"ingest_{name}", ("ingest", name, layout)))
        if args.baseline_root:
            plan.append((f"ingest_base_{name}", ("ingest", name, layout, str(args.baseline_root.resolve()))))
        if name != "few":  # the same lines as hourly: pandas reads them alike
            plan.append((f"pandas_{name}", ("pandas", name, layout)))
    rounds: list[dict[str, tuple[float, float]]] = []
    for i in range(args.repeat):
        measured: dict[str, tuple[float, float]] = {}
        for key, argv in plan:
            seconds, rows, rss = _measure(*argv)
            if key.startswith("pandas"):
                seconds *= events / rows  # scaled to all events
            elif rows != events:
                raise SystemExit(f"{key} read {rows} rows, expected {events}")
            measured[key] = (seconds, rss)
        rounds.append(measured)
        print(
            f"  round {i + 1}: "
            + ", ".join(f"{key} {seconds:.2f}s/{rss:.0f}MB" for key, (seconds, rss) in measured.items())
            + f"; {_load_average()}",
            flush=True,
        )

    def median(key: str, field: int = 0) -> float:
        return statistics.median(r[key][field] for r in rounds)

    def ratio(top: str, bottom: str) -> float:
        return statistics.median(r[top][0] / r[bottom][0] for r in rounds)

    print(f"medians of {args.repeat}, N = {events} (pandas scaled from {args.pandas_lines} records)")
    print(f"  {'measurement':<22} {'seconds':>8} {'events/s':>9} {'peak RSS':>9}")
    for key, _argv in plan:
        seconds = median(key)
        print(f"  {key:<22} {seconds:7.2f}s {events / seconds / 1e3:7.0f}k {median(key, 1):7.0f}MB")
    print(f"  {'workload':<10} {'ingest/bare':>11} {'pandas/ingest':>13}")
    for name in workloads:
        pandas = "pandas_hourly" if name == "few" else f"pandas_{name}"
        pandas_ingest = f"{ratio(pandas, f'ingest_{name}'):13.1f}" if pandas in rounds[0] else ""
        print(f"  {name:<10} {ratio(f'ingest_{name}', f'bare_{name}'):11.2f} {pandas_ingest}")
        if args.baseline_root:
            print(f"  {'':<10} baseline ingest/bare {ratio(f'ingest_base_{name}', f'bare_{name}'):.2f}")
    if "hourly" in workloads:
        snappy = ratio("ingest_hourly", "bare_snappy_hourly")
        print(f"  hourly ingest / bare with DuckDB's default codec (snappy): {snappy:.2f}")
    if {"hourly", "few"} <= set(workloads):
        print(
            f"  ingest hourly / few members (same bytes): {ratio('ingest_hourly', 'ingest_few'):.2f} "
            f"(bare: {ratio('bare_hourly', 'bare_few'):.2f})"
        )
    print(_load_average())
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
