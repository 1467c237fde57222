"""A night where nothing landed vs a full run, on the same data directory (and, with --one-day, a night landing one
Amplitude day held back from the first run).

    .venv/bin/python bench/bench_nightly.py --users 15000           # ~1M events: generate, then the runs
    .venv/bin/python bench/bench_nightly.py --data-dir D --one-day  # D/landing already generated, nothing run yet

Runs, each `pmw run --settle-seconds 0` in its own child process (wall time and peak RSS from wait4):
  full     the first run over the landing (with --one-day: all but the newest Amplitude day ZIP)
  no-op    the same landing again: nothing landed, so the dbt build, mart gates and publish must be skipped and the
           run must say which build still stands (data/runs/last_run.json ``unchanged``); the bench fails otherwise
  one day  (--one-day) the held-back day landed: a build of only what reads analytics (dbt --select
           source:analytics+, data/runs/last_build.json ``scope``), printed with the run
The ratio of each later run to the full run is the figure (issue 13: no-op <= 0.05, one day <= 0.1). The machine's
load average is printed with each run: the machine is shared, compare ratios measured in one invocation.

Each run's fixed cost is printed apart from its steps: process start to the job's launch (imports, the dbt manifest
check, the build-state fingerprint and plan), the launch to the first step (Dagster's run bookkeeping: one event per
planned asset and check), the steps' sum, and the rest (between steps, after the last one, the summary).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pmw_process import PMW, timed_run


def _newest_amplitude_day(landing: Path) -> Path:
    zips = sorted((landing / "analytics").rglob("amplitude_*.zip"))
    if not zips:
        raise SystemExit(f"no Amplitude day ZIP under {landing / 'analytics'} to hold back")
    return zips[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=15000, help="sample size to generate (~67 events per user)")
    parser.add_argument("--data-dir", type=Path, help="a data directory with a generated landing and no run yet")
    parser.add_argument("--one-day", action="store_true", help="hold back the newest Amplitude day, land it last")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="pmw-bench-nightly-"))
    base = [*PMW, "--data-dir", str(data_dir)]
    if args.data_dir is None:
        seconds, _, status = timed_run([*base, "generate", "--users", str(args.users)], data_dir / "generate.log")
        if status:
            print(f"generate failed (exit {status}); see {data_dir / 'generate.log'}")
            return 1
        print(f"generated {args.users} users in {seconds:.1f} s")
    if (data_dir / "runs" / "last_run.json").exists():
        raise SystemExit(f"{data_dir} was run before; the first run must be a full one")
    held_back = held_back_to = None
    if args.one_day:
        held_back = _newest_amplitude_day(data_dir / "landing")
        held_back_to = data_dir / held_back.name
        shutil.move(held_back, held_back_to)

    runs: list[tuple[str, float, float, float]] = []
    for label in ("full", "no-op", *(("one day",) if args.one_day else ())):
        if label == "one day":
            shutil.move(held_back_to, held_back)
            os.utime(held_back)  # landed now
        load = os.getloadavg()[0]
        log = data_dir / f"run-{label.replace(' ', '-')}.log"
        process_started_at = time.time()
        seconds, rss, status = timed_run([*base, "run", "--settle-seconds", "0"], log)
        record = json.loads((data_dir / "runs" / "last_run.json").read_text(encoding="utf-8"))
        print(f"\n{label}: {seconds:.1f} s, peak RSS {rss:.0f} MB, load average {load:.2f} at start (log: {log})")
        if status or not record.get("ok"):
            print(f"  the run failed (exit {status}); see {log}")
            return 1
        unchanged = record.get("unchanged")
        if label == "no-op" and unchanged is None:
            print("  the no-op run built again: it should have skipped the build (see the log)")
            return 1
        if label != "no-op" and unchanged is not None:
            print(f"  this run skipped the build though data landed: {unchanged['statement']}")
            return 1
        if unchanged:
            print(f"  {unchanged['statement']}")
        if label == "one day":
            scope = json.loads((data_dir / "runs" / "last_build.json").read_text(encoding="utf-8")).get("scope")
            print(f"  {scope['statement'] if scope else 'built the whole dbt project'}")
        launched, first_step = record.get("job_launched_at"), record.get("first_step_started_at")
        if launched and first_step:
            steps_sum = sum(record.get("step_seconds", {}).values())
            print(
                f"  fixed cost: process start -> job launch {launched - process_started_at:.1f} s, launch -> first "
                f"step {first_step - launched:.1f} s; {len(record.get('step_seconds', {}))} steps sum to "
                f"{steps_sum:.1f} s; the rest {seconds - (first_step - process_started_at) - steps_sum:.1f} s"
            )
        steps = sorted(record.get("step_seconds", {}).items(), key=lambda kv: -kv[1])
        for step, step_seconds in steps[:6]:
            print(f"  {step_seconds:8.1f} s  {step}")
        runs.append((label, seconds, rss, load))

    full = runs[0][1]
    print("\n| run | time | / full run | peak RSS | load average at start |\n|---|---:|---:|---:|---:|")
    for label, seconds, rss, load in runs:
        print(f"| {label} | {seconds:.1f} s | {seconds / full:.3f} | {rss:.0f} MB | {load:.2f} |")
    print(f"\ndata: {data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
