"""Peak RSS of each step of a first `pmw run`, at two data sizes, with a small DuckDB memory_limit.

    nice -n 10 .venv/bin/python bench/bench_memory.py --users 15000 75000 --memory-limit 1GB
    .venv/bin/python bench/bench_memory.py --landing D1/landing D2/landing     # landings generated already

For each size: a fresh data directory gets a copy of the landing (generated first with `pmw generate --users N`
when no landing is given) and a copy of config/pmw.yml whose ``duckdb.memory_limit`` is the one asked for; then
`pmw run --settle-seconds 0` runs in its own child process. While it runs, the RSS (VmRSS) of that process and of
each of its descendants (dbt runs as one) is sampled every ``--interval`` seconds. After it, the Dagster step
stats of the run (start and end of each step, from the data directory's instance) attribute each sample to the
step running then: the in-process executor runs one step at a time. "outside steps" is the process before the
first step and after the last (imports, dbt parse, run records).

Per step it prints the peak of the whole tree (the pipeline process plus its children at that moment), then the
growth from the smaller size to the larger: a step whose memory respects the limit stays near limit + a constant,
one that holds data in Python grows with the size. The pipeline's own process also reports its true peak
(ru_maxrss from wait4), which sampling can only approach. ``--repo`` runs another checkout's code (e.g. a
`git archive` of the commit before a change) with the same bench, for a before/after on the same landing.
The machine's load average is printed with each run; absolute seconds are only comparable within one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
OUTSIDE = "outside steps"


@dataclass
class Sample:
    at: float  # time.time(), comparable with Dagster's step stats
    main_kb: int  # the pmw process
    children_kb: int  # its descendants (dbt and its supervisor)


@dataclass
class RunMemory:
    label: str
    events: int | None
    seconds: float
    exit_status: int
    main_peak_mb: float  # ru_maxrss of the pmw process
    load_average: float
    steps: dict[str, dict[str, float]] = field(default_factory=dict)  # step -> peak tree/main/children MB, seconds


def _rss_kb(pid: int) -> int:
    """Resident set of one process from /proc/<pid>/statm (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE_KB
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children", encoding="ascii") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except FileNotFoundError:
                continue
            found.extend(kids)
            stack.extend(kids)
    return found


def _sample_until_done(pid: int, interval: float, done: threading.Event, samples: list[Sample]) -> None:
    while not done.is_set():
        samples.append(Sample(time.time(), _rss_kb(pid), sum(_rss_kb(child) for child in _descendants(pid))))
        done.wait(interval)


def _config_with_limit(target: Path, memory_limit: str, threads: int | None) -> Path:
    """config/pmw.yml with the duckdb section's bounds replaced (the rest of the file as it is)."""
    text = (REPO / "config" / "pmw.yml").read_text(encoding="utf-8")
    text, replaced = re.subn(r"(?m)^(\s+)memory_limit: \S+", rf"\g<1>memory_limit: {memory_limit}", text)
    if replaced != 1:
        raise SystemExit("config/pmw.yml: expected one duckdb memory_limit line to replace")
    if threads is not None:
        text = re.sub(r"(?m)^(\s+)# threads: \d+.*$", rf"\g<1>threads: {threads}", text)
    target.write_text(text, encoding="utf-8")
    return target


def _step_windows(data_dir: Path) -> list[tuple[str, float, float]]:
    """(step, start, end) of the newest run recorded in the data directory's Dagster instance."""
    sys.path.insert(0, str(REPO))
    from core.settings import get_paths
    from orchestration.instance import open_instance

    instance = open_instance(get_paths(data_dir))
    try:
        runs = instance.get_runs(limit=1)
        if not runs:
            raise SystemExit(f"no Dagster run recorded in {data_dir}")
        stats = instance.get_run_step_stats(runs[0].run_id)
    finally:
        instance.dispose()
    return sorted(
        ((s.step_key, s.start_time, s.end_time) for s in stats if s.start_time and s.end_time), key=lambda w: w[1]
    )


def _per_step(samples: list[Sample], windows: list[tuple[str, float, float]]) -> dict[str, dict[str, float]]:
    steps: dict[str, dict[str, float]] = {name: {"seconds": end - start} for name, start, end in windows}
    steps[OUTSIDE] = {}
    for sample in samples:
        name = next((n for n, start, end in windows if start <= sample.at <= end), OUTSIDE)
        peak = steps[name]
        peak["tree_mb"] = max(peak.get("tree_mb", 0.0), (sample.main_kb + sample.children_kb) / 1024)
        peak["main_mb"] = max(peak.get("main_mb", 0.0), sample.main_kb / 1024)
        peak["children_mb"] = max(peak.get("children_mb", 0.0), sample.children_kb / 1024)
    return {name: peak for name, peak in steps.items() if "tree_mb" in peak}


def _events(data_dir: Path) -> int | None:
    """Rows of the analytics staging model: the size of the run."""
    warehouse = data_dir / "warehouse" / "pmw.duckdb"
    if not warehouse.exists():
        return None
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables where table_name = 'stg_analytics__events'"
        ).fetchone()[0]
        if not found:
            return None
        schema = con.execute(
            "select table_schema from information_schema.tables where table_name = 'stg_analytics__events'"
        ).fetchone()[0]
        return con.execute(f'select count(*) from "{schema}".stg_analytics__events').fetchone()[0]


def measure(
    label: str, landing: Path, work: Path, memory_limit: str, threads: int | None, interval: float, repo: Path
) -> RunMemory:
    data_dir = work / label
    if data_dir.exists():
        raise SystemExit(f"{data_dir} exists; give an empty --work directory")
    data_dir.mkdir(parents=True)
    shutil.copytree(landing, data_dir / "landing")
    config = _config_with_limit(work / f"{label}.yml", memory_limit, threads)
    argv = ["nice", "-n", "10", sys.executable, "-m", "pmw.cli", "--data-dir", str(data_dir), "--config", str(config)]
    argv += ["run", "--settle-seconds", "0"]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    load = os.getloadavg()[0]
    samples: list[Sample] = []
    done = threading.Event()
    started = time.monotonic()
    with open(work / f"{label}.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(argv, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=_sample_until_done, args=(proc.pid, interval, done, samples), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    result = RunMemory(
        label=label,
        events=_events(data_dir),
        seconds=time.monotonic() - started,
        exit_status=os.waitstatus_to_exitcode(status),
        main_peak_mb=usage.ru_maxrss / 1024,
        load_average=load,
    )
    if (data_dir / "dagster_home").exists():  # a failed run's steps up to the failure are figures too
        result.steps = _per_step(samples, _step_windows(data_dir))
    return result


def _print_run(run: RunMemory) -> None:
    events = f"{run.events:,} events" if run.events is not None else "events unknown"
    print(f"\n{run.label}: {events}, {run.seconds:.0f} s, exit {run.exit_status}, load average {run.load_average:.1f}")
    print(f"  pmw process peak (ru_maxrss): {run.main_peak_mb:,.0f} MB")
    print(f"  {'step':<62} {'seconds':>8} {'tree MB':>9} {'pmw MB':>8} {'children MB':>12}")
    for name, peak in run.steps.items():
        seconds = f"{peak['seconds']:.1f}" if "seconds" in peak else "-"
        print(
            f"  {name:<62} {seconds:>8} {peak['tree_mb']:>9,.0f} {peak['main_mb']:>8,.0f} {peak['children_mb']:>12,.0f}"
        )


def _print_growth(small: RunMemory, large: RunMemory) -> None:
    ratio = f"{large.events / small.events:.1f}x the events" if small.events and large.events else "sizes unknown"
    print(f"\ngrowth {small.label} -> {large.label} ({ratio}): peak of the process tree per step")
    print(f"  {'step':<62} {'small MB':>9} {'large MB':>9} {'growth MB':>10} {'ratio':>6}")
    for name in large.steps:
        if name not in small.steps:
            continue
        a, b = small.steps[name]["tree_mb"], large.steps[name]["tree_mb"]
        print(f"  {name:<62} {a:>9,.0f} {b:>9,.0f} {b - a:>+10,.0f} {b / a:>6.2f}")
    a, b = small.main_peak_mb, large.main_peak_mb
    print(f"  {'pmw process (ru_maxrss)':<62} {a:>9,.0f} {b:>9,.0f} {b - a:>+10,.0f} {b / a:>6.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sizes = parser.add_mutually_exclusive_group(required=True)
    sizes.add_argument("--users", type=int, nargs="+", metavar="N", help="generate samples of N users (one or two)")
    sizes.add_argument("--landing", type=Path, nargs="+", help="generated landings (one or two, smaller first)")
    parser.add_argument("--memory-limit", default="1GB", help="duckdb.memory_limit of the runs (default 1GB)")
    parser.add_argument("--threads", type=int, help="duckdb.threads of the runs (default: the configuration's)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between RSS samples")
    parser.add_argument("--work", type=Path, help="where the data directories go (default: a new temp directory)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose pmw runs (default: this one)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if len(args.users or args.landing) > 2:
        parser.error("give one size, or two (smaller first) to see the growth")

    work = args.work or Path(tempfile.mkdtemp(prefix="pmw-bench-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    landings = args.landing
    if args.users:
        landings = []
        for users in args.users:
            generated = work / f"generated-{users}"
            argv = [sys.executable, "-m", "pmw.cli", "--data-dir", str(generated), "generate", "--users", str(users)]
            subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
            landings.append(generated / "landing")
    print(f"memory_limit {args.memory_limit}, code of {args.repo.resolve()}, data under {work}")
    runs = []
    for label, landing in zip(("small", "large")[: len(landings)], landings, strict=True):
        run = measure(label, landing, work, args.memory_limit, args.threads, args.interval, args.repo.resolve())
        _print_run(run)
        if run.exit_status:
            print(f"  the run failed; see {work / (label + '.log')}")
            return 1
        runs.append(run)
    if len(runs) == 2:
        _print_growth(*runs)
    if args.json:
        payload = {"memory_limit": args.memory_limit, "repo": str(args.repo.resolve()), "runs": [vars(r) for r in runs]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
