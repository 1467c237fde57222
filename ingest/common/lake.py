"""Gated visibility of new lake files.

Ingest writes each landed file's Parquet into ``lake/_pending/<source>/<entity>/``. dbt's sources only read
``lake/<source>/<entity>/``. The raw gate validates the pending files it lists and records their sha256s; only
when it passes are exactly those promoted (``promote_files``; os.replace, same filesystem, atomic per file), never
a file that arrived after the gate listed them. A file that fails its gate stays pending, so every later run
fails the gate again until an operator discards it (`pmw discard`): invariant 4, fail closed, also across runs.
A landed file that failed to load at all is discarded the same way (it has no pending Parquet, only its record).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from core.settings import SOURCES, Paths
from ingest.common.hashing import file_sha256
from ingest.common.manifest import read_manifest, read_manifest_record, write_manifest_record
from ingest.common.report import FAILED, LOADED

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


class PromotionError(RuntimeError):
    """A gated pending file is neither pending nor in the lake any more: promotion stops, naming it."""


def promote_pending(paths: Paths, source: str, entity: str) -> list[Path]:
    """Move every pending file of (source, entity) into the lake dbt reads; returns the promoted paths.

    For tools and tests that load the lake without a gate; the pipeline promotes what its gate validated
    (``promote_files``).
    """
    return promote_files(paths, source, entity, [f.stem for f in pending_files(paths, source, entity)])


def promote_files(paths: Paths, source: str, entity: str, sha256s: list[str]) -> list[Path]:
    """Move exactly the pending files with these sha256s into the lake dbt reads; returns the promoted paths.

    A file already in the lake (a retried promotion) is left as it is; a file in neither place raises
    PromotionError, since the gate validated something that is gone.
    """
    target = lake_dir(paths, source, entity)
    target.mkdir(parents=True, exist_ok=True)
    promoted = []
    for sha256 in sorted(set(sha256s)):
        pending, dest = pending_file(paths, source, entity, sha256), target / f"{sha256}.parquet"
        if not pending.exists():
            if dest.exists():
                continue
            raise PromotionError(
                f"gated {source}/{entity} file {sha256} is neither pending ({pending}) nor in the lake"
            )
        os.replace(pending, dest)
        promoted.append(dest)
    if promoted:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return promoted


def discard_file(paths: Paths, source: str, sha256: str, reason: str) -> list[Path]:
    """Take a landed file out of the pipeline's way, and remember why: a pending file that fails its gate
    (``discard_pending``) or a file that failed to load at all (only its manifest record changes: there is no
    Parquet). Either way the record becomes ``discarded`` and the same bytes are never loaded again. Returns the
    files moved to the quarantine (none for a failed file)."""
    root = paths.lake / "_pending" / source
    if root.is_dir() and any(root.glob(f"*/{sha256}.parquet")):
        return discard_pending(paths, source, sha256, reason)
    record = read_manifest_record(paths, source, sha256)
    if record is None:
        raise FileNotFoundError(f"no pending or failed {source} file with sha256 {sha256} (see `pmw summary`)")
    if record.get("status") != FAILED:
        raise FileNotFoundError(
            f"{source} file {sha256} ({record.get('path')}) is {record.get('status')}, not pending or failed: "
            "nothing to discard"
        )
    write_manifest_record(paths, record | {"status": DISCARDED, "error": _discard_note(reason, record.get("error"))})
    return []


def _discard_note(reason: str, failure: str | None) -> str:
    note = f"discarded by an operator: {reason}"
    return f"{note} (it had failed to load: {failure})" if failure else note


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


# -- landed files that failed to load: what keeps a release from being published ------------------------------------


def discard_command(paths: Paths, source: str, file_sha256: str) -> str:
    """The exact command that takes a failing file (pending, or failed to load) out of the way (`pmw discard`)."""
    return (
        f"pmw --data-dir {shlex.quote(str(paths.data_dir))} discard {file_sha256} --source {source} "
        '--reason "<why this file is discarded>"'
    )


@dataclass(frozen=True)
class UnresolvedFile:
    """A landed file that failed to load and is neither superseded nor discarded: publication waits for it."""

    source: str
    sha256: str
    path: str  # where the bytes were first seen, relative to landing/
    error: str
    discard_command: str

    def describe(self) -> str:
        return (
            f"{self.source}: {self.path} (sha256 {self.sha256}) failed to load: {self.error}\n"
            f"  to move on: land a fixed version under the same name, or {self.discard_command}"
        )


def _superseded(paths: Paths, source: str, record: dict, settled_status: dict[str, str]) -> bool:
    """True when every landing path the failed bytes were seen at now holds other bytes that were loaded (or
    discarded): a fixed version landed under the same name. A path whose file is gone does not count: removing
    a file from landing is not a decision the manifest can see; `pmw discard` records one."""
    for relative in {record["path"], *(record.get("aliases") or [])}:
        landed = paths.landing / relative
        if not landed.is_file() or landed.is_symlink():
            return False
        current = file_sha256(landed)
        if current == record["sha256"] or settled_status.get(current) not in (LOADED, DISCARDED):
            return False
    return True


def unresolved_failed_files(paths: Paths) -> list[UnresolvedFile]:
    """Every landed file whose manifest record says ``failed`` and that is neither superseded nor discarded.

    Superseded: each landing path the failed bytes were seen at now holds a different file that loaded (or was
    discarded), e.g. the vendor's export sent again in full under the same name.
    """
    unresolved = []
    for source in SOURCES:
        records = read_manifest(paths, source)
        status_by_sha = {r["sha256"]: r.get("status") for r in records}
        for record in records:
            if record.get("status") != FAILED or _superseded(paths, source, record, status_by_sha):
                continue
            unresolved.append(
                UnresolvedFile(
                    source=source,
                    sha256=record["sha256"],
                    path=record["path"],
                    error=str(record.get("error") or "unknown error"),
                    discard_command=discard_command(paths, source, record["sha256"]),
                )
            )
    return unresolved
