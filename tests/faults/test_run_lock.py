"""One run per data directory: a second run refuses with its own exit status (or waits, bounded); a killed holder
never leaves a stale lock; promotion moves exactly the files the gate validated."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from core.settings import PROJECT_ROOT, Paths
from ingest.common.lake import PromotionError, lake_file, pending_file, pending_files, promote_files
from ingest.common.locking import RunLockBusyError, run_lock, run_lock_is_held, run_lock_path
from pmw.cli import EXIT_BUSY, main

_HOLD_LOCK = """
import sys, time
from core.settings import Paths
from ingest.common.locking import run_lock
with run_lock(Paths(__import__("pathlib").Path(sys.argv[1])), run="test holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(paths: Paths, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(paths.data_dir), str(seconds)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def landed(tmp_path) -> Paths:
    paths = Paths(tmp_path / "data").ensure()
    (paths.landing / "marketing" / "spend.csv").write_text("channel,date,spend\n")
    return paths


def test_a_second_run_refuses_at_once_naming_the_holder(landed, capsys):
    holder = _holder(landed, 30)
    try:
        code = main(["--data-dir", str(landed.data_dir), "run", "--settle-seconds", "0"])
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == EXIT_BUSY
    assert str(run_lock_path(landed)) in err and f"pid {holder.pid}" in err and "test holder" in err


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(landed):
    holder = _holder(landed, 1.0)
    messages: list[str] = []
    started = time.monotonic()
    try:
        with run_lock(landed, wait_seconds=30, on_wait=messages.append) as lock:
            assert lock.waited >= 0.5
    finally:
        holder.wait()
    assert time.monotonic() - started < 30
    assert len(messages) == 1 and "waiting up to 30s" in messages[0]


def test_a_killed_holder_leaves_no_stale_lock(landed):
    holder = _holder(landed, 60)
    assert run_lock_is_held(landed)
    holder.kill()  # SIGKILL: no cleanup code runs
    holder.wait()
    assert not run_lock_is_held(landed)
    with run_lock(landed, wait_seconds=0):
        pass


def test_the_wait_is_bounded(landed):
    holder = _holder(landed, 30)
    try:
        with pytest.raises(RunLockBusyError, match="waited 1s"), run_lock(landed, wait_seconds=1.0):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_promotion_moves_exactly_the_gated_files(tmp_path):
    paths = Paths(tmp_path / "data").ensure()
    gated, late = "a" * 64, "b" * 64
    for sha in (gated, late):
        f = pending_file(paths, "marketing", "spend", sha)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"parquet")
    # `late` was ingested by someone after the gate listed the pending files: it must wait for the next gate.
    promoted = promote_files(paths, "marketing", "spend", [gated])
    assert promoted == [lake_file(paths, "marketing", "spend", gated)]
    assert pending_files(paths, "marketing", "spend") == [pending_file(paths, "marketing", "spend", late)]
    assert promote_files(paths, "marketing", "spend", [gated]) == []  # a retried promotion changes nothing
    with pytest.raises(PromotionError, match="c" * 64):
        promote_files(paths, "marketing", "spend", ["c" * 64])
