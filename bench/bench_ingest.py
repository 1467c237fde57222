"""Analytics ingest vs baselines measured in the same run (PERFORMANCE-NOTES: compare ratios, not absolutes).

    .venv/bin/python bench/bench_ingest.py --events 400000 --members 4 --repeat 3 [--work-dir DIR]

Builds an Amplitude-shaped export (gzipped JSON-lines members in a ZIP), then reports medians of:
  bare     DuckDB CREATE TABLE AS SELECT * FROM read_json(<the gz members>, format='newline_delimited')
  ingest   ingest_analytics on the ZIP (hash, detect, extract, parse + validate every line, Parquet + manifest)
  pandas   pandas.read_json(lines=True) on one member, scaled to all events (it holds the whole input in memory)
Targets: ingest <= 1.3x bare; pandas >= 5x ingest.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb
import pandas as pd

from ingest.analytics import ingest_analytics
from pmw.config import parse_config
from pmw.settings import get_paths


def write_members(out_dir: Path, events: int, members: int, seed: int = 1) -> list[Path]:
    rng = random.Random(seed)
    names = ["page_viewed", "signed_up", "report_created", "report_shared"]
    paths = []
    per_member = events // members
    for m in range(members):
        path = out_dir / f"1234_2024-03-05_{m}#0.json.gz"
        with gzip.open(path, "wt", compresslevel=6) as out:
            for i in range(per_member):
                minute, second, micros = rng.randrange(60), rng.randrange(60), rng.randrange(10**6)
                t = f"2024-03-05 {m % 24:02d}:{minute:02d}:{second:02d}.{micros:06d}"
                event = {
                    "uuid": f"{rng.getrandbits(128):032x}",
                    "$insert_id": f"{rng.getrandbits(64):016x}",
                    "event_type": names[i % 4],
                    "user_id": f"user_{rng.randrange(10000)}" if i % 3 else None,
                    "device_id": f"{rng.getrandbits(64):016x}",
                    "session_id": 1709650000000 + i if i % 5 else -1,
                    "event_time": t,
                    "client_event_time": t,
                    "server_received_time": t,
                    "server_upload_time": t,
                    "client_upload_time": t,
                    "processed_time": t,
                    "event_id": i,
                    "amplitude_id": rng.getrandbits(40),
                    "app": 1234,
                    "event_properties": {
                        "page": "/home",
                        "plan": "pro",
                        "n": i,
                        "$revenue": 9.99 if i % 50 == 0 else None,
                    },
                    "user_properties": {"plan": "pro", "cohort": "a"},
                    "groups": {},
                    "group_properties": {},
                    "platform": "Web",
                    "os_name": "Chrome",
                    "os_version": "120",
                    "device_type": "Mac",
                    "device_family": "Mac",
                    "country": "United States",
                    "city": "San Francisco",
                    "region": "CA",
                    "language": "en",
                    "library": "amplitude-ts/2.0",
                    "ip_address": "10.0.0.1",
                    "version_name": "1.0",
                    "start_version": "1.0",
                    "data": {"path": "/"},
                    "paying": None,
                    "adid": None,
                    "idfa": None,
                    "location_lat": 37.77,
                    "location_lng": -122.42,
                }
                out.write(json.dumps(event) + "\n")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="pmw-bench-ingest-"))
    members_dir = work / "members"
    members_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    members = write_members(members_dir, args.events, args.members)
    raw_bytes = sum(len(gzip.decompress(p.read_bytes())) for p in members)
    print(f"generated {args.events} events, {raw_bytes / 1e6:.0f} MB raw JSON in {time.perf_counter() - t:.1f}s")

    paths = get_paths(work / "data").ensure()
    with zipfile.ZipFile(paths.landing / "analytics" / "export.zip", "w", compression=zipfile.ZIP_STORED) as z:
        for p in members:
            z.write(p, f"1234/{p.name}")
    config = parse_config({"analytics": {"mixpanel_project_timezone": "UTC"}}, Path("bench.yml"))
    file_list = "[" + ", ".join(f"'{p}'" for p in members) + "]"

    bare, ingest = [], []
    for _ in range(args.repeat + 1):  # the first round warms caches and is dropped
        con = duckdb.connect()
        t = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_json({file_list}, format='newline_delimited')")
        bare.append(time.perf_counter() - t)
        con.close()
        shutil.rmtree(paths.lake, ignore_errors=True)
        t = time.perf_counter()
        report = ingest_analytics(paths, config)
        ingest.append(time.perf_counter() - t)
        assert report.totals["rows_loaded"] == args.members * (args.events // args.members), report.totals
    bare, ingest = statistics.median(bare[1:]), statistics.median(ingest[1:])

    t = time.perf_counter()
    frame = pd.read_json(members[0], lines=True, compression="gzip")
    pandas_one = time.perf_counter() - t
    pandas_all = pandas_one * args.members
    del frame

    print(f"bare DuckDB read_json (table): {bare:.2f}s = {args.events / bare / 1e3:.0f}k events/s")
    print(
        f"ingest_analytics (ZIP -> lake Parquet + quarantine + manifest): {ingest:.2f}s "
        f"= {args.events / ingest / 1e3:.0f}k events/s"
    )
    print(f"pandas.read_json(lines=True), one member x {args.members}: {pandas_all:.2f}s")
    print(f"ratio ingest / bare: {ingest / bare:.2f} (target <= 1.3)")
    print(f"ratio pandas / ingest: {pandas_all / ingest:.1f} (target >= 5)")
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
