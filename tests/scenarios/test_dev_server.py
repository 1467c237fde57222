"""`make dev` (= `pmw dev`) serves the data directory's own Dagster instance and stops on Ctrl-C.

The server is started the way a shell starts a background job, with SIGINT and SIGTERM ignored (they stay ignored
across exec, which is how `make dev` came to ignore Ctrl-C); `pmw dev` restores them before it execs `dagster dev`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT

STARTUP_SECONDS = 240  # three processes each loading the definitions, on a busy 2-core machine
STOP_SECONDS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@pytest.mark.slow
def test_pmw_dev_serves_the_data_directory_instance_and_stops_on_sigint(tmp_path):
    port = _free_port()
    data_dir = tmp_path / "data"
    pmw = Path(sys.executable).with_name("pmw")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HOME": str(tmp_path)}
    env.pop("DAGSTER_HOME", None)
    log = (tmp_path / "dev.log").open("w")
    proc = subprocess.Popen(
        [str(pmw), "--data-dir", str(data_dir), "dev", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=_ignore_interrupts,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert proc.poll() is None, (tmp_path / "dev.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
                    assert response.status == 200
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, "the UI did not come up"
                time.sleep(2)
        assert (data_dir / "dagster_home" / "dagster.yaml").is_file()

        stopped_at = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground process group
        proc.wait(timeout=STOP_SECONDS)
        assert time.monotonic() - stopped_at < STOP_SECONDS
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    output = (tmp_path / "dev.log").read_text()
    assert "Dagster services shut down" in output, output[-3000:]
