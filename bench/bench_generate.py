"""Sample generation at scale: `pmw generate` with the reference and the vectorised analytics engine, back to back.

    .venv/bin/python bench/bench_generate.py --users 15000 150000            # ~1M and ~10M events, both engines
    .venv/bin/python bench/bench_generate.py --users 1500000 --engines vectorised --keep   # ~100M events

Each generation runs in its own child process (`pmw generate`; peak RSS = its ru_maxrss from wait4) into a fresh
temporary data directory, removed afterwards unless --keep. Printed per run: wall time, analytics lines landed
(sample_truths.json), landed bytes, lines/s, peak RSS and the load average before and after; per size, the ratio
reference / vectorised of the two runs measured back to back. Run it with `nice -n 10` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from pmw_process import PMW, timed_run


def _landed(data_dir: Path) -> tuple[int, int]:
    truths = json.loads((data_dir / "sample_truths.json").read_text(encoding="utf-8"))
    lines = sum(truths["analytics"]["lines_by_source"].values())
    size = sum(p.stat().st_size for p in (data_dir / "landing").rglob("*") if p.is_file())
    return lines, size


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[15000])
    engines = ("reference", "vectorised")
    parser.add_argument("--engines", nargs="+", choices=engines, default=list(engines))
    parser.add_argument("--work-dir", type=Path, help="where the data directories go (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data directories")
    args = parser.parse_args()

    print("| users | engine | analytics lines | landed | wall | lines/s | peak RSS | load avg before → after |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    ratios = []
    for users in args.users:
        seconds_by_engine = {}
        for engine in args.engines:
            data_dir = Path(tempfile.mkdtemp(prefix=f"pmw-bench-gen-{engine}-", dir=args.work_dir))
            before = _load()
            seconds, rss, status = timed_run(
                [*PMW, "--data-dir", str(data_dir), "generate", "--users", str(users), "--engine", engine],
                data_dir.with_name(data_dir.name + ".log"),
            )
            if status:
                print(f"pmw generate --engine {engine} --users {users} failed (exit {status}); see {data_dir}.log")
                return 1
            lines, size = _landed(data_dir)
            seconds_by_engine[engine] = seconds
            print(
                f"| {users:,} | {engine} | {lines:,} | {size / 1e9:.2f} GB | {seconds:.1f} s | {lines / seconds:,.0f} "
                f"| {rss:,.0f} MB | {before} → {_load()} |",
                flush=True,
            )
            if not args.keep:
                shutil.rmtree(data_dir)
                data_dir.with_name(data_dir.name + ".log").unlink()
        if len(seconds_by_engine) == 2:
            ratios.append((users, seconds_by_engine["reference"] / seconds_by_engine["vectorised"]))
    for users, ratio in ratios:
        print(f"{users:,} users: reference / vectorised = {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
