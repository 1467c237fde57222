"""End-to-end time of the main command: `pmw generate`, then `pmw run` twice (the second must be a no-op).

    .venv/bin/python bench/bench_e2e.py                      # 2,000 users, ~133k events
    .venv/bin/python bench/bench_e2e.py --users 150000       # ~10M events
    .venv/bin/python bench/bench_e2e.py --engine reference   # the default sample's own bytes (make demo)
    .venv/bin/python bench/bench_e2e.py --data-dir D --skip-generate   # time runs on an existing landing

Each command runs in its own child process (peak RSS = that process's ru_maxrss, from wait4). After each run the
per-step wall times Dagster recorded (data/runs/last_run.json) are printed, slowest first. The baseline is the
first run itself: the second run over the same landing is printed as a ratio of it (it should load nothing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from pmw_process import PMW, timed_run


def _events_in(data_dir: Path) -> int | None:
    truths = data_dir / "sample_truths.json"
    if not truths.exists():
        return None
    analytics = json.loads(truths.read_text(encoding="utf-8"))["analytics"]
    return sum(analytics["lines_by_source"].values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument(
        "--engine",
        choices=("vectorised", "reference"),
        default="vectorised",
        help="pmw generate's analytics engine (default vectorised: the one that reaches 100M events)",
    )
    parser.add_argument("--data-dir", type=Path, help="default: a temporary directory, removed afterwards")
    parser.add_argument("--skip-generate", action="store_true", help="time the runs on the landing already there")
    parser.add_argument("--top", type=int, default=12, help="slowest steps to print per run")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="pmw-bench-e2e-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    base = [*PMW, "--data-dir", str(data_dir)]
    rows: list[tuple[str, float, float]] = []
    try:
        if not args.skip_generate:
            argv = [*base, "generate", "--users", str(args.users), "--engine", args.engine]
            seconds, rss, status = timed_run(argv, data_dir / "generate.log")
            if status:
                print(f"generate failed (exit {status}); see {data_dir / 'generate.log'}")
                return 1
            rows.append((f"generate ({args.engine})", seconds, rss))
        events = _events_in(data_dir)
        print(f"data: {data_dir}  analytics lines landed: {events if events is not None else 'unknown'}")
        for label in ("run (first)", "run (second, no-op)"):
            log = data_dir / f"{label.split()[0]}-{len(rows)}.log"
            # The files were just generated, completely: no settle time before reading them.
            seconds, rss, status = timed_run([*base, "run", "--settle-seconds", "0"], log)
            rows.append((label, seconds, rss))
            record = json.loads((data_dir / "runs" / "last_run.json").read_text(encoding="utf-8"))
            print(f"\n{label}: {seconds:.1f} s, peak RSS {rss:.0f} MB, ok={record.get('ok')} (log: {log})")
            if status or not record.get("ok"):
                print(f"  the run failed (exit {status}); the timings below are of a failed run")
            steps = sorted(record.get("step_seconds", {}).items(), key=lambda kv: -kv[1])
            for step, step_seconds in steps[: args.top]:
                print(f"  {step_seconds:8.1f} s  {step}")
        print("\n| phase | time | peak RSS |\n|---|---:|---:|")
        for label, seconds, rss in rows:
            print(f"| {label} | {seconds:.1f} s | {rss:.0f} MB |")
        first = next(s for label, s, _ in rows if label == "run (first)")
        second = next(s for label, s, _ in rows if label.startswith("run (second"))
        print(f"\nsecond run / first run: {second / first:.2f}")
        if events:
            print(f"first run: {events / first:,.0f} analytics lines/s end to end")
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
