"""SIGKILL of `pmw run` during ingest, dbt, the mart gates and publish: no dbt is left running, the killed run is
recorded as killed, and the re-run publishes marts equal to the clean reference (no duplicate row)."""

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


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_run_killed_mid_phase_leaves_nothing_running_and_the_rerun_equals_the_reference(
    phase, reference, landing_copy
):
    paths = landing_copy
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
        assert time.monotonic() < deadline, f"orphans after the kill: {_processes_on(paths.data_dir)}"
        time.sleep(0.25)
    summary = run_pmw(paths, "summary")
    assert "KILLED" in summary.stdout, summary.stdout
    assert read_last_run(paths)["status"] == "killed"

    rerun = run_pmw(paths, "run", "--settle-seconds", "0")

    assert rerun.returncode == 0, rerun.stdout[-4000:] + rerun.stderr[-4000:]
    assert published_fingerprints(paths) == reference.fingerprints
    assert_rows_accounted(paths)
