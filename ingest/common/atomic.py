"""Atomic file writes: a temp name in the same folder, fsync, os.replace.

A run killed mid-write leaves at most a temp file (``.<final-name>.<random>.tmp``), never a partial final
file; ``remove_stale_temp_files`` deletes those leftovers at the start of the next run (under the ingest lock).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_path_for(final_path: Path) -> Path:
    return final_path.with_name(f".{final_path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; some filesystems do not support fsync on folders.
    with contextlib.suppress(OSError):
        _fsync_file(directory)


def _replace(src: Path, dst: Path) -> None:
    """The commit point; a separate function so tests can simulate a crash just before it."""
    os.replace(src, dst)


@contextlib.contextmanager
def atomic_output(final_path: Path) -> Iterator[Path]:
    """Yield a temp path to write; on normal exit it is fsynced and renamed to ``final_path``.

    On an exception the temp file is removed and ``final_path`` is untouched.
    """
    final_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(final_path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"atomic write of {final_path}: nothing was written to {tmp}")
        _fsync_file(tmp)
        _replace(tmp, final_path)
        _fsync_dir(final_path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(final_path: Path, data: bytes) -> None:
    with atomic_output(final_path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(final_path: Path, text: str) -> None:
    atomic_write_bytes(final_path, text.encode("utf-8"))


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Delete temp files left by a killed run in ``directory`` (not recursive). Returns what was removed."""
    if not directory.is_dir():
        return []
    removed = []
    for entry in directory.iterdir():
        if entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX) and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
