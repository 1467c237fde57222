"""Locks the OS releases even when their process is killed (fcntl.flock), and the bounded retry of transient errors.

- ``ingest_lock``: one ingest of a source at a time.
- ``run_lock``: one pipeline run per data directory at a time (`pmw run`, the sensor's and the schedule's runs),
  held for the whole run on ``<data dir>/run.lock``. A killed run never leaves a stale lock: the lock dies with
  the open file description. The file's text only says who holds it, for the message a waiting run prints.
- ``retry_transient``: retries an operation that failed on a transient error (a DuckDB file lock held by another
  process, EAGAIN/EBUSY, a temporary I/O error) a bounded number of times with backoff; any other error, a data
  error above all, is raised at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from core.settings import Paths

T = TypeVar("T")

RUN_LOCK_NAME = "run.lock"
# How often a waiting run tries the lock again.
_LOCK_POLL_SECONDS = 0.2


@contextlib.contextmanager
def ingest_lock(paths: Paths, source: str) -> Iterator[None]:
    """Hold an exclusive lock on lake/_manifest/<source>.lock for the duration (blocks until free)."""
    paths.manifest_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.manifest_dir / f"{source}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class RunLockBusyError(RuntimeError):
    """Another run holds the data directory's run lock (and did not release it within the wait)."""

    def __init__(self, lock_path: Path, holder: dict | None, waited: float):
        self.lock_path = lock_path
        self.holder = holder
        self.waited = waited
        who = _describe_holder(holder)
        super().__init__(
            f"another pipeline run holds {lock_path} ({who}); waited {waited:.0f}s. "
            "Wait for it to finish (or give --wait SECONDS), then run again"
        )


def _describe_holder(holder: dict | None) -> str:
    if not holder:
        return "holder unknown"
    parts = [f"pid {holder.get('pid')}"]
    if holder.get("run"):
        parts.append(f"run {holder['run']}")
    if holder.get("started_at"):
        parts.append(f"since {holder['started_at']}")
    return ", ".join(parts)


def run_lock_path(paths: Paths) -> Path:
    return paths.data_dir / RUN_LOCK_NAME


def read_run_lock_holder(paths: Paths) -> dict | None:
    """Who wrote the lock file last (pid, run, start); only meaningful while the lock is held."""
    try:
        text = run_lock_path(paths).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:  # written while we read, or left empty by a killed holder
        return None
    return holder if isinstance(holder, dict) else None


def run_lock_is_held(paths: Paths) -> bool:
    """True while some process holds the data directory's run lock (tried without waiting, released at once)."""
    path = run_lock_path(paths)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RunLock:
    path: Path
    waited: float


@contextlib.contextmanager
def run_lock(
    paths: Paths,
    *,
    wait_seconds: float = 0.0,
    run: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[RunLock]:
    """Hold ``<data dir>/run.lock`` exclusively for the duration.

    Waits up to ``wait_seconds`` for another run to finish (``on_wait`` gets one message when it starts waiting),
    then raises RunLockBusyError naming the holder. The data directory must exist (runs never create it here).
    """
    path = run_lock_path(paths)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    try:
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= wait_seconds:
                    raise RunLockBusyError(path, read_run_lock_holder(paths), waited) from None
                if not announced and on_wait is not None:
                    on_wait(
                        f"another run holds {path} ({_describe_holder(read_run_lock_holder(paths))}); "
                        f"waiting up to {wait_seconds:.0f}s"
                    )
                    announced = True
                time.sleep(min(_LOCK_POLL_SECONDS, max(0.0, wait_seconds - waited)))
        holder = {"pid": os.getpid(), "run": run, "started_at": datetime.now(UTC).isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        try:
            yield RunLock(path=path, waited=time.monotonic() - started)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# -- transient errors -----------------------------------------------------------------------------------------------

# errno values that say "try again": a busy or locked resource, an interrupted or timed-out call, an I/O error that
# network filesystems report for a moment. ENOSPC is not among them: a full disk stays full.
TRANSIENT_ERRNOS = frozenset({errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.ETIMEDOUT, errno.EIO})
# DuckDB's message when another process holds the database file (its IOException carries no errno).
_DUCKDB_LOCK_MESSAGE = "Could not set lock on file"


class TransientError(RuntimeError):
    """A transient error that persisted through every retry; the message names the operation and the attempts."""


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: a DuckDB file lock held elsewhere, or an OSError with a TRANSIENT_ERRNOS."""
    if _DUCKDB_LOCK_MESSAGE in str(exc):
        return True
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


def retry_transient(
    operation: Callable[[], T],
    *,
    what: str,
    attempts: int = 5,
    first_delay: float = 0.25,
    max_delay: float = 4.0,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``operation()``, retried with exponential backoff (first_delay, x2, capped at max_delay) while it fails on a
    transient error, at most ``attempts`` times in all. A non-transient error is raised at once, unchanged; a
    transient one that outlasts the attempts becomes a TransientError naming ``what``."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if attempt == attempts:
                raise TransientError(f"{what}: still failing after {attempts} attempts: {exc}") from exc
            if log is not None:
                first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log(f"{what}: transient error ({first_line}); retry {attempt} of {attempts - 1} in {delay:.2f}s")
            sleep(delay)
            delay = min(delay * 2, max_delay)
    raise AssertionError("unreachable: the loop returns or raises")
