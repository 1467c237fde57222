"""What the landing sensor sees: files under landing/ whose bytes have not been loaded yet.

Hashing is the expensive part, so the sensor's cursor remembers (size, mtime_ns) -> sha256 per path and only
re-hashes a file that changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import SOURCES, Paths
from ingest.common.landing import file_sha256, list_landed_files
from ingest.common.manifest import read_manifest


@dataclass(frozen=True)
class LandedFile:
    source: str
    relative_path: str  # relative to landing/
    sha256: str

    @property
    def run_key(self) -> str:
        """The sensor's run key: this path with these bytes runs once."""
        return f"{self.relative_path}@{self.sha256}"


def scan_new_files(paths: Paths, cursor: dict[str, list]) -> tuple[list[LandedFile], dict[str, list]]:
    """Landed files not yet loaded (by content), and the updated cursor {relative path: [size, mtime_ns, sha]}."""
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
