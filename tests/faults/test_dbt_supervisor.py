"""dbt never outlives the run that started it: when the run's process is SIGKILLed, the supervisor kills dbt's
process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from orchestration.dbt_cli import SUPERVISED_DBT

# A run's process: starts the supervised "dbt" (here a stand-in that sleeps and writes its pid), then waits forever.
_RUN = textwrap.dedent(
    """
    import os, subprocess, sys, time
    subprocess.Popen([sys.argv[1], "build"], env={**os.environ})
    time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) is gone for our purpose.
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"


def test_sigkill_of_the_run_stops_the_dbt_process_group(tmp_path):
    pid_file = tmp_path / "dbt.pid"
    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    fake_dbt.chmod(0o755)
    env = {**os.environ, "PMW_DBT_SUPERVISOR_PYTHON": sys.executable, "PMW_DBT_EXECUTABLE": str(fake_dbt)}
    run = subprocess.Popen([sys.executable, "-c", _RUN, str(SUPERVISED_DBT)], env=env)
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the supervised dbt never started"
        time.sleep(0.1)
    dbt_pid = int(pid_file.read_text())
    assert _alive(dbt_pid)

    run.send_signal(signal.SIGKILL)
    run.wait()

    deadline = time.monotonic() + 15
    while _alive(dbt_pid):
        assert time.monotonic() < deadline, f"dbt (pid {dbt_pid}) outlived the killed run"
        time.sleep(0.2)
