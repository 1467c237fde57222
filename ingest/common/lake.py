"""Gated visibility of new lake files.

Ingest writes each landed file's Parquet into ``lake/_pending/<source>/<entity>/``. dbt's sources only read
``lake/<source>/<entity>/``. The raw gate validates every pending file; only when it passes are they promoted
(os.replace, same filesystem, atomic per file). A file that fails its gate stays pending, so every later run
fails the gate again until an operator discards it (`pmw discard`): invariant 4, fail closed, also across runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.settings import Paths
from ingest.common.manifest import read_manifest_record, write_manifest_record

# Manifest status of a file an operator took out of the pipeline after it failed its gate.
DISCARDED = "discarded"


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


def discard_pending(paths: Paths, source: str, sha256: str, reason: str) -> list[Path]:
    """Take a landed file's pending Parquet (every entity) out of the gate's way, and remember why.

    The files move to ``lake/_quarantine/<source>/discarded/<entity>/`` (kept for audit) and the manifest record
    becomes ``discarded``, so the same bytes are not loaded again from landing/ on the next run.
    """
    root = paths.lake / "_pending" / source
    found = sorted(root.glob(f"*/{sha256}.parquet")) if root.is_dir() else []
    if not found:
        raise FileNotFoundError(f"no pending {source} file with sha256 {sha256}")
    record = read_manifest_record(paths, source, sha256)
    moved = []
    for f in found:
        dest = paths.quarantine_dir / source / "discarded" / f.parent.name / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, dest)
        moved.append(dest)
    if record is not None:
        write_manifest_record(paths, record | {"status": DISCARDED, "error": f"discarded by an operator: {reason}"})
    return moved
