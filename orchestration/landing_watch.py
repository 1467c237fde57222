"""What the landing sensor sees: files under landing/ whose bytes have not been loaded yet.

Hashing is the expensive part, so the sensor's cursor remembers (size, mtime_ns) -> sha256 per path and only
re-hashes a file that changed. It also remembers which path@sha256 it already asked a run for, so a file that is
still being loaded (or whose run failed: the nightly schedule retries those) is not requested again every tick.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.settings import SOURCES, Paths
from ingest.common.landing import file_sha256, list_landed_files
from ingest.common.manifest import read_manifest


@dataclass(frozen=True)
class LandedFile:
    source: str
    relative_path: str  # relative to landing/
    sha256: str

    @property
    def identity(self) -> str:
        """This path with these bytes: what one run loads once."""
        return f"{self.relative_path}@{self.sha256}"


def batch_run_key(files: Iterable[LandedFile]) -> str:
    """The run key of one run over ``files``: a hash of the sorted path@sha256 list, so the same batch runs once."""
    joined = "\n".join(sorted(f.identity for f in files))
    return "landing-" + hashlib.sha256(joined.encode("utf-8")).hexdigest()


@dataclass
class LandingCursor:
    """The sensor's memory between ticks (stored as JSON in the sensor's cursor)."""

    seen: dict[str, list] = field(default_factory=dict)  # relative path -> [size, mtime_ns, sha256]
    requested: set[str] = field(default_factory=set)  # path@sha256 already in a run request

    @classmethod
    def from_json(cls, data: dict | None) -> LandingCursor:
        if not data:
            return cls()
        if "seen" not in data:  # the cursor of the one-run-per-file sensor: only the hash cache
            return cls(seen=dict(data))
        return cls(seen=dict(data["seen"]), requested=set(data.get("requested", [])))

    def to_json(self) -> dict:
        return {"seen": self.seen, "requested": sorted(self.requested)}


def scan_new_files(paths: Paths, cursor: dict[str, list]) -> tuple[list[LandedFile], dict[str, list]]:
    """Landed files not yet loaded (by content), and the updated hash cache {relative path: [size, mtime_ns, sha]}."""
    loaded = {r["sha256"] for source in SOURCES for r in read_manifest(paths, source) if r.get("status") == "loaded"}
    new_cursor: dict[str, list] = {}
    new_files: list[LandedFile] = []
    for source in SOURCES:
        if not (paths.landing / source).is_dir():
            continue
        for f in list_landed_files(paths, source):
            rel = f.relative_to(paths.landing).as_posix()
            st = f.stat()
            seen = cursor.get(rel)
            unchanged = bool(seen) and seen[0] == st.st_size and seen[1] == st.st_mtime_ns
            sha = seen[2] if unchanged else file_sha256(f)
            new_cursor[rel] = [st.st_size, st.st_mtime_ns, sha]
            if sha not in loaded:
                new_files.append(LandedFile(source=source, relative_path=rel, sha256=sha))
    return new_files, new_cursor


def files_to_request(paths: Paths, cursor: LandingCursor) -> tuple[list[LandedFile], LandingCursor]:
    """New files no earlier tick requested, and the next cursor (requests kept only for files still unloaded)."""
    new_files, seen = scan_new_files(paths, cursor.seen)
    pending = {f.identity for f in new_files}
    batch = [f for f in new_files if f.identity not in cursor.requested]
    return batch, LandingCursor(seen=seen, requested=(cursor.requested & pending) | {f.identity for f in batch})
