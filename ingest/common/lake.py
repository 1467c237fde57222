"""Gated visibility of new lake files.

Ingest writes each landed file's Parquet into ``lake/_pending/<source>/<entity>/``. dbt's sources only read
``lake/<source>/<entity>/``. The raw gate validates every pending file; only when it passes are they promoted
(os.replace, same filesystem, atomic per file). A file that fails its gate stays pending, so every later run
fails the gate again until an operator discards it (`pmw discard`): invariant 4, fail closed, also across runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from pmw.settings import Paths


def pending_dir(paths: Paths, source: str, entity: str) -> Path:
    return paths.lake / "_pending" / source / entity


def lake_dir(paths: Paths, source: str, entity: str) -> Path:
    return paths.lake / source / entity


def pending_file(paths: Paths, source: str, entity: str, sha256: str) -> Path:
    return pending_dir(paths, source, entity) / f"{sha256}.parquet"


def lake_file(paths: Paths, source: str, entity: str, sha256: str) -> Path:
    return lake_dir(paths, source, entity) / f"{sha256}.parquet"


def pending_files(paths: Paths, source: str, entity: str) -> list[Path]:
    d = pending_dir(paths, source, entity)
    return sorted(p for p in d.glob("*.parquet") if p.is_file()) if d.exists() else []


def promote_pending(paths: Paths, source: str, entity: str) -> list[Path]:
    """Move every pending file of (source, entity) into the lake dbt reads; returns the promoted paths."""
    target = lake_dir(paths, source, entity)
    target.mkdir(parents=True, exist_ok=True)
    promoted = []
    for f in pending_files(paths, source, entity):
        dest = target / f.name
        os.replace(f, dest)
        promoted.append(dest)
    if promoted:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return promoted


def discard_pending(paths: Paths, source: str, entity: str, sha256: str) -> Path:
    """Take a pending file out of the gate's way: it moves to the quarantine's `discarded/` folder, kept for audit."""
    f = pending_dir(paths, source, entity) / f"{sha256}.parquet"
    if not f.exists():
        raise FileNotFoundError(f"no pending {source}/{entity} file with sha256 {sha256}")
    dest = paths.quarantine_dir / source / "discarded" / f.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(f, dest)
    return dest
