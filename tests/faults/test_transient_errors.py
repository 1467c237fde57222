"""Transient errors are retried a bounded number of times with backoff; data errors never are."""

from __future__ import annotations

import errno
import subprocess
import sys
import time

import duckdb
import pytest

from ingest.common.locking import TransientError, is_transient, retry_transient

_HOLD_DUCKDB = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists t as select 1 as x")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_a_duckdb_file_locked_by_another_process_for_a_second_is_retried_and_opens(tmp_path):
    db = tmp_path / "pmw.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_DUCKDB, str(db), "1.0"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    retries: list[str] = []
    started = time.monotonic()
    try:
        con = retry_transient(lambda: duckdb.connect(str(db)), what="opening the warehouse", log=retries.append)
    finally:
        holder.wait()
    try:
        assert con.execute("select x from t").fetchone() == (1,)
    finally:
        con.close()
    assert retries, "the first attempt met the lock"
    assert "Could not set lock on file" in retries[0]
    assert time.monotonic() - started < 10


def test_a_data_error_is_raised_at_once_and_not_retried():
    calls = []

    def cast_garbage():
        calls.append(1)
        return duckdb.sql("select 'not a number'::integer").fetchall()

    with pytest.raises(duckdb.ConversionException):
        retry_transient(cast_garbage, what="a data error", sleep=lambda _s: pytest.fail("a data error slept"))
    assert calls == [1]


def test_a_transient_error_that_persists_ends_in_a_named_error_after_the_bounded_attempts():
    calls = []
    delays: list[float] = []

    def busy():
        calls.append(1)
        raise OSError(errno.EBUSY, "Device or resource busy")

    with pytest.raises(TransientError, match=r"writing runs/x\.json: still failing after 4 attempts"):
        retry_transient(busy, what="writing runs/x.json", attempts=4, first_delay=0.1, sleep=delays.append)
    assert len(calls) == 4
    assert delays == [0.1, 0.2, 0.4]


def test_a_full_disk_is_not_transient():
    assert not is_transient(OSError(errno.ENOSPC, "No space left on device"))
    assert is_transient(OSError(errno.EAGAIN, "Resource temporarily unavailable"))
