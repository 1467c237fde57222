"""One ingest run per source at a time: an advisory lock the OS releases even if the process is killed."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from core.settings import Paths


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
