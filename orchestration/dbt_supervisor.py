"""Run dbt so that it never outlives the pipeline run that started it (standard library only; run as a script).

dagster-dbt starts ``orchestration/bin/dbt-supervised`` as "dbt"; this script starts the real dbt
(``$PMW_DBT_EXECUTABLE``) in a process group of its own, with stdin/stdout/stderr passed through, and

- forwards SIGINT/SIGTERM (a cancelled run) to that group;
- watches its own parent: when the run's process dies (SIGKILL, OOM), the parent pid changes (to 1 or a
  subreaper), and the whole dbt group is terminated (SIGTERM, then SIGKILL after a grace period), so no dbt
  keeps writing the warehouse after the run that owned it is gone.

Its exit status is dbt's (128 + signal number when dbt died of a signal).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

# How often the parent is checked, and how long dbt gets to stop after SIGTERM before SIGKILL.
POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is already gone
        os.killpg(pgid, signum)


def _stop_group(child: subprocess.Popen, pgid: int) -> None:
    _signal_group(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=GRACE_SECONDS)
    _signal_group(pgid, signal.SIGKILL)  # also reaps grandchildren that outlived dbt itself
    child.wait()


def main(argv: list[str]) -> int:
    real_dbt = os.environ.get("PMW_DBT_EXECUTABLE")
    if not real_dbt:
        print("dbt-supervised: PMW_DBT_EXECUTABLE is not set (the pipeline sets it)", file=sys.stderr)
        return 2
    parent = os.getppid()
    # dbt runs in the data directory: the warehouse and lake paths it is given are relative to it (dbt_cli.dbt_env).
    workdir = os.environ.get("PMW_DBT_WORKDIR") or None
    child = subprocess.Popen([real_dbt, *argv], start_new_session=True, cwd=workdir)
    pgid = child.pid  # start_new_session: dbt leads a new session and process group

    def forward(signum, _frame):
        _signal_group(pgid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    while True:
        try:
            code = child.wait(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:  # the run that started us is gone
                # Stop dbt first: our stderr is a pipe whose reader (the dead run) is gone, so writing to it may
                # raise BrokenPipeError, and a supervisor that died of that would leave dbt running.
                _stop_group(child, pgid)
                with contextlib.suppress(OSError):
                    print(f"dbt-supervised: parent {parent} died; stopped dbt (process group {pgid})", file=sys.stderr)
                return 128 + signal.SIGTERM
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
