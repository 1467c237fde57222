"""`pmw` as a child process, timed with its peak RSS (shared by the bench scripts that run whole pipelines)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PMW = [sys.executable, "-m", "pmw.cli"]


def timed_run(argv: list[str], log_path: Path) -> tuple[float, float, int]:
    """Run argv with output to log_path; return (seconds, peak RSS in MB, exit status)."""
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    return time.monotonic() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)
