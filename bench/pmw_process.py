"""`pmw` as a child process, timed with its peak RSS (shared by the bench scripts that run whole pipelines)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_memory import Sample, _sample_until_done

REPO = Path(__file__).resolve().parents[1]
PMW = [sys.executable, "-m", "pmw.cli"]


def timed_run(argv: list[str], log_path: Path) -> tuple[float, float, int]:
    """Run argv with output to log_path; return (seconds, peak RSS in MB, exit status)."""
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    return time.monotonic() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


@dataclass
class ObservedRun:
    """One child process's wall time and memory, with the machine's load around it.

    ``largest_process_mb`` is ru_maxrss from wait4: on Linux the peak resident set of the single largest process
    among the child and the descendants it waited for (dbt's process counts; the sum of processes alive together
    does not). ``tree_peak_mb`` is that sum: the child's and its live descendants' VmRSS added up at each sample
    (every ``interval`` seconds), so it can miss a peak shorter than the interval."""

    seconds: float
    cpu_seconds: float  # user + system of the child and the descendants it waited for: less sensitive to other load
    exit_status: int
    largest_process_mb: float
    tree_peak_mb: float
    samples: int
    load_at_start: float  # 1-minute load average
    load_at_end: float
    started_at: float  # time.time(), comparable with Dagster's step stats

    def as_dict(self) -> dict:
        return asdict(self)


def observed_run(argv: list[str], log_path: Path, interval: float = 0.5) -> ObservedRun:
    """Run argv with output to log_path while sampling the RSS of its process tree (bench_memory's sampler)."""
    load_at_start = os.getloadavg()[0]
    started_at = time.time()
    started = time.monotonic()
    samples: list[Sample] = []
    done = threading.Event()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=_sample_until_done, args=(proc.pid, interval, done, samples), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    return ObservedRun(
        seconds=time.monotonic() - started,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        exit_status=os.waitstatus_to_exitcode(status),
        largest_process_mb=usage.ru_maxrss / 1024,
        tree_peak_mb=max(((s.main_kb + s.children_kb) / 1024 for s in samples), default=0.0),
        samples=len(samples),
        load_at_start=load_at_start,
        load_at_end=os.getloadavg()[0],
        started_at=started_at,
    )
