"""SIGKILL of `pmw run` during ingest, dbt, the mart gates and publish: no dbt is left running, the killed run is
recorded as killed, and the re-run publishes marts equal to the clean reference (no duplicate row).

The four kills are one chain on one data directory: a run killed in ingest, its re-run killed in dbt, that one's
re-run killed in the mart gates, then in publish, and a last re-run that must publish the reference. Each re-run thus
recovers from the previous kill far enough to reach the next phase, and the chain costs 5 runs instead of 4 killed
runs plus 4 complete re-runs (CI time: ~6 minutes less on one worker of a 2-core machine)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from orchestration.run_records import read_last_run
from tests.support.faults import assert_rows_accounted, pmw_command, pmw_env, published_fingerprints, run_pmw

pytestmark = pytest.mark.slow

# A stdout line that shows the run is in the phase (progress lines of the pipeline's own steps, dbt's model lines).
PHASES = {
    "ingest": re.compile(r"analytics: loaded "),
    "dbt": re.compile(r"\d+ of \d+ OK created sql"),
    "mart_gates": re.compile(r"gate: fct_"),
    "publish": re.compile(r"publish: fct_"),
}


def _processes_on(data_dir) -> list[int]:
    """Pids of processes working on this data directory (dbt and its supervisor get it in PMW_DBT_WORKDIR)."""
    needle = f"PMW_DBT_WORKDIR={data_dir}\0".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle in fh.read():
                    with open(f"/proc/{entry}/stat", encoding="ascii") as st:
                        if st.read().split(")")[-1].split()[0] != "Z":
                            found.append(int(entry))
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return found


def _kill_in(paths, phase: str) -> None:
    """Start `pmw run`, SIGKILL it on the first line that shows `phase`, and check what a kill must leave behind."""
    proc = subprocess.Popen(
        pmw_command(paths, "run", "--settle-seconds", "0"),
        env=pmw_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if PHASES[phase].search(line):
                proc.send_signal(signal.SIGKILL)
                break
        else:
            pytest.fail(f"the run ended before reaching {phase}:\n{''.join(seen[-30:])}")
    finally:
        proc.kill()
        proc.wait()

    deadline = time.monotonic() + 15
    while _processes_on(paths.data_dir):
        assert time.monotonic() < deadline, f"orphans after the kill in {phase}: {_processes_on(paths.data_dir)}"
        time.sleep(0.25)
    summary = run_pmw(paths, "summary")
    assert "KILLED" in summary.stdout, f"after the kill in {phase}:\n{summary.stdout}"
    assert read_last_run(paths)["status"] == "killed", phase


def test_runs_killed_in_each_phase_in_turn_leave_nothing_running_and_the_last_rerun_equals_the_reference(
    reference, landing_copy
):
    paths = landing_copy
    for phase in PHASES:
        _kill_in(paths, phase)

    rerun = run_pmw(paths, "run", "--settle-seconds", "0")

    assert rerun.returncode == 0, rerun.stdout[-4000:] + rerun.stderr[-4000:]
    assert published_fingerprints(paths) == reference.fingerprints
    assert_rows_accounted(paths)
