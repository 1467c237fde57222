"""Billing or feedback ingest, file by file, for two code trees side by side (issue 13: ingest at scale).

    .venv/bin/python bench/bench_ingest_files.py --source billing --landing DIR [--baseline /work/main] \
        [--work-dir DIR] [--glob '*.csv']

``--landing`` is a folder of landed files of the source (e.g. a data directory's landing/billing); every file under
it is benchmarked, in the order the source loads them (customer files first for billing, ticket field catalogs first
for feedback). For each file and each code tree (this checkout, and ``--baseline``: another checkout of the project,
e.g. main), a fresh child process with that tree on PYTHONPATH ingests the one file into that tree's own data
directory, where the earlier files were already ingested (so invoices find their customers), and reports wall, CPU,
peak RSS (ru_maxrss: interpreter and imports included) and rows. The two trees alternate file by file, so both see
the same load; the load average is printed with each figure. Landed files are hard-linked (copied across devices),
never written. Prints one JSON line per measurement and a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(source: str, data_dir: Path, relative: str) -> dict:
    """In the child: ingest one landed file with the code on sys.path; its figures as a dict."""
    from core.config import load_config
    from core.settings import Paths

    if source == "billing":
        from ingest.billing.load import ingest_billing as run
    else:
        from ingest.feedback.load import ingest_feedback as run
    paths = Paths(data_dir).ensure()
    config = load_config()
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    report = run(paths, config, files=[paths.landing / relative])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    (result,) = report.results
    return {
        "status": result.status,
        "error": result.error,
        "rows_in": result.rows_in,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def _load_order(source: str, path: Path) -> int:
    head = path.open("rb").read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if source == "billing":
        if head.startswith(("{", "[")):
            return 0 if '"object": "customer"' in head or '"object":"customer"' in head else 1
        return (
            0
            if {"id", "email", "created (utc)"}
            <= {c.strip().strip('"') for c in head.lower().split("\n")[0].split(",")}
            else 1
        )
    return 0 if '"ticket_fields"' in head or ('"raw_title"' in head and '"subject"' not in head) else 1


def _link(source_file: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source_file, target)
    except OSError:  # another device: a copy
        shutil.copyfile(source_file, target)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", choices=("billing", "feedback"), required=True)
    ap.add_argument("--landing", type=Path, help="the folder of landed files to benchmark")
    ap.add_argument("--baseline", type=Path, default=Path("/work/main"), help="the other code tree")
    ap.add_argument("--glob", default="*", help="only files matching this (relative to --landing)")
    ap.add_argument("--work-dir", type=Path)
    ap.add_argument("--child", nargs=2, metavar=("DATA_DIR", "RELATIVE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.source, Path(args.child[0]), args.child[1])))
        return

    files = sorted(p for p in args.landing.rglob(args.glob) if p.is_file())
    files = sorted(files, key=lambda p: (_load_order(args.source, p), str(p)))
    work = args.work_dir or Path(tempfile.mkdtemp(prefix=f"bench_ingest_{args.source}_"))
    trees = {"baseline": args.baseline.resolve(), "branch": ROOT}
    rows = []
    try:
        for tree_name in trees:
            for path in files:
                _link(path, work / tree_name / "landing" / args.source / path.relative_to(args.landing))
        for path in files:
            relative = f"{args.source}/{path.relative_to(args.landing).as_posix()}"
            for tree_name, tree in trees.items():
                env = os.environ | {"PYTHONPATH": str(tree)}
                cmd = [sys.executable, str(Path(__file__).resolve()), "--source", args.source,
                       "--child", str(work / tree_name), relative]  # fmt: skip
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
                if proc.returncode != 0:
                    raise SystemExit(f"{tree_name} {relative} failed:\n{proc.stderr[-3000:]}")
                figures = json.loads(proc.stdout.strip().splitlines()[-1])
                line = {"file": relative, "mb": round(path.stat().st_size / 2**20, 1), "tree": tree_name} | figures
                rows.append(line)
                print(json.dumps(line), flush=True)
        print(f"\n{args.source}: {len(files)} files; baseline {trees['baseline']}, branch {trees['branch']}")
        print("| file | MB | rows in | tree | wall s | CPU s | rows/s (CPU) | peak RSS MB | load |")
        print("|---|---:|---:|---|---:|---:|---:|---:|---|")
        for r in rows:
            rate = f"{r['rows_in'] / r['cpu_s']:,.0f}" if r["rows_in"] and r["cpu_s"] else "-"
            print(f"| {r['file']} | {r['mb']} | {r['rows_in'] or 0:,} | {r['tree']} | {r['wall_s']} | {r['cpu_s']} | "
                  f"{rate} | {r['peak_rss_mb']} | {r['load'][0]}-{r['load'][1]} |")  # fmt: skip
        for tree_name in trees:
            mine = [r for r in rows if r["tree"] == tree_name]
            wall, cpu = sum(r["wall_s"] for r in mine), sum(r["cpu_s"] for r in mine)
            peak, rows_in = max(r["peak_rss_mb"] for r in mine), sum(r["rows_in"] or 0 for r in mine)
            print(f"total {tree_name}: wall {wall:.1f} s, CPU {cpu:.1f} s, max peak RSS {peak} MB, rows in {rows_in:,}")
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
