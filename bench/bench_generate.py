"""Sample generation at scale: `pmw generate` per engine and size, optionally against another code tree (before/after).

    .venv/bin/python bench/bench_generate.py --users 15000 150000            # ~1M and ~10M events, both engines
    .venv/bin/python bench/bench_generate.py --users 30000 120000 --engines vectorised --before /work/main
    .venv/bin/python bench/bench_generate.py --users 460000 --engines vectorised --work-dir /tmp/gen_bench

Each generation runs in its own child process (`python -m pmw.cli generate`, with the code tree as its working
directory and PYTHONPATH) into a fresh temporary data directory, removed afterwards unless --keep. ``--before TREE``
runs the same generation with TREE's code first (e.g. /work/main: the code before a change), back to back with this
tree's. Printed per run: wall and CPU seconds (user + system, from wait4: less sensitive to the other load on a shared
machine), peak RSS (ru_maxrss), analytics lines landed (sample_truths.json), landed bytes and the 1-minute load
average before and after; then, per code tree and engine, the growth from the smallest to the largest size, and per
size the before/after ratios. Run it with `nice -n 19` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

THIS_TREE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Generation:
    tree: str  # "before" or "after"
    engine: str
    users: int
    lines: int
    landed_bytes: int
    wall: float
    cpu: float
    peak_rss_mb: float
    load_before: float
    load_after: float


def _landed(data_dir: Path) -> tuple[int, int]:
    truths = json.loads((data_dir / "sample_truths.json").read_text(encoding="utf-8"))
    lines = sum(truths["analytics"]["lines_by_source"].values())
    size = sum(p.stat().st_size for p in (data_dir / "landing").rglob("*") if p.is_file())
    return lines, size


def _generate(tree: Path, label: str, engine: str, users: int, work_dir: Path | None, keep: bool) -> Generation:
    data_dir = Path(tempfile.mkdtemp(prefix=f"pmw-bench-gen-{label}-{engine}-{users}-", dir=work_dir))
    log_path = data_dir.with_name(data_dir.name + ".log")
    argv = [sys.executable, "-m", "pmw.cli", "--data-dir", str(data_dir), "generate", "--users", str(users)]
    argv += ["--engine", engine]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(argv, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{label}: pmw generate --engine {engine} --users {users} failed; see {log_path}")
    lines, size = _landed(data_dir)
    if not keep:
        shutil.rmtree(data_dir)
        log_path.unlink()
    return Generation(label, engine, users, lines, size, wall, usage.ru_utime + usage.ru_stime,
                      usage.ru_maxrss / 1024, load_before, os.getloadavg()[0])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[15000])
    engines = ("reference", "vectorised")
    parser.add_argument("--engines", nargs="+", choices=engines, default=list(engines))
    parser.add_argument("--before", type=Path, help="a code tree to run first at each size (e.g. /work/main)")
    parser.add_argument("--work-dir", type=Path, help="where the data directories go (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data directories")
    args = parser.parse_args()
    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", THIS_TREE)]

    print("| users | engine | code | analytics lines | landed | wall | CPU | peak RSS | load avg before → after |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---|")
    runs: list[Generation] = []
    for users in args.users:
        for engine in args.engines:
            for label, tree in trees:
                g = _generate(tree, label, engine, users, args.work_dir, args.keep)
                runs.append(g)
                print(
                    f"| {users:,} | {engine} | {label} | {g.lines:,} | {g.landed_bytes / 1e9:.2f} GB | {g.wall:.1f} s "
                    f"| {g.cpu:.1f} s | {g.peak_rss_mb:,.0f} MB | {g.load_before:.1f} → {g.load_after:.1f} |",
                    flush=True,
                )
    for engine in args.engines:
        for label, _tree in trees:
            mine = [g for g in runs if g.engine == engine and g.tree == label]
            if len(mine) > 1:
                lo, hi = mine[0], mine[-1]
                print(
                    f"growth {engine} {label}, {lo.users:,} -> {hi.users:,} users: lines x{hi.lines / lo.lines:.2f}, "
                    f"wall x{hi.wall / lo.wall:.2f}, CPU x{hi.cpu / lo.cpu:.2f}, "
                    f"peak RSS x{hi.peak_rss_mb / lo.peak_rss_mb:.2f}"
                )
        if args.before:
            for users in args.users:
                pair = {g.tree: g for g in runs if g.engine == engine and g.users == users}
                b, a = pair["before"], pair["after"]
                print(
                    f"{engine} {users:,} users, before / after: wall {b.wall / a.wall:.2f}x, CPU {b.cpu / a.cpu:.2f}x, "
                    f"peak RSS {b.peak_rss_mb / a.peak_rss_mb:.2f}x"
                )
    if "reference" in args.engines and "vectorised" in args.engines:
        for users in args.users:
            ref, vec = (next(g for g in runs if g.tree == "after" and g.users == users and g.engine == e)
                        for e in engines)  # fmt: skip
            print(f"{users:,} users: reference / vectorised wall = {ref.wall / vec.wall:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
