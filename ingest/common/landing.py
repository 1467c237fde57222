"""Safe listing of landed files: regular files under landing/<source>/, never following symlinks or escaping."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from core.settings import SOURCES, Paths
from ingest.common.hashing import file_sha256

__all__ = [
    "LandingPathError",
    "SettledListing",
    "check_landed_file",
    "file_sha256",
    "list_landed_files",
    "list_settled_files",
    "relative_to_landing",
]

# Names sync jobs and editors use while a file is still being written; they are not exports (yet).
IN_PROGRESS_PATTERNS = (".*", "*.tmp", "*.part", "*.partial", "*.crdownload", "*~")


class LandingPathError(ValueError):
    """A path that must not be ingested: outside landing/<source>, a symlink, or not a regular file."""


def _source_root(paths: Paths, source: str) -> Path:
    if source not in SOURCES:
        raise LandingPathError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")
    return paths.landing / source


def is_in_progress_name(name: str) -> bool:
    return any(fnmatch(name, pattern) for pattern in IN_PROGRESS_PATTERNS)


def list_landed_files(paths: Paths, source: str) -> list[Path]:
    """Regular files under landing/<source>/ at any depth, sorted by relative path.

    Symlinks (files or folders) are never followed, hidden and in-progress names (``.*``, ``*.tmp``,
    ``*.part``, ...) are skipped, and so are hidden folders.
    """
    root = _source_root(paths, source)
    if not root.is_dir() or root.is_symlink():
        return []
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        # Pruning in place stops os.walk descending into hidden folders; symlinked folders are never entered.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not os.path.islink(Path(dirpath, d)))
        for name in filenames:
            if is_in_progress_name(name):
                continue
            candidate = Path(dirpath, name)
            try:
                mode = os.lstat(candidate).st_mode
            except FileNotFoundError:  # removed while we listed
                continue
            if stat.S_ISREG(mode):
                found.append(candidate)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


@dataclass(frozen=True)
class SettledListing:
    """Landed files of a source split by completeness: ``settled`` may be read, ``waiting`` are still settling."""

    settled: list[Path]
    waiting: list[Path]


def is_settled(path: Path, settle_seconds: float, now: float | None = None) -> bool:
    """True when the file was last modified at least ``settle_seconds`` ago.

    A writer that is still copying moves the mtime (and the size) on every write, so a file whose mtime is older
    than the settle time has had the same size and mtime for that long. A tool that restores the original mtime
    after copying (``cp -p``, rsync) only does so once the bytes are all there.
    """
    if settle_seconds <= 0:
        return True
    now = time.time() if now is None else now
    return now - os.lstat(path).st_mtime >= settle_seconds


def list_settled_files(paths: Paths, source: str, settle_seconds: float, now: float | None = None) -> SettledListing:
    """``list_landed_files`` split into files complete enough to read and files still settling."""
    settled: list[Path] = []
    waiting: list[Path] = []
    for path in list_landed_files(paths, source):
        try:
            (settled if is_settled(path, settle_seconds, now) else waiting).append(path)
        except FileNotFoundError:  # removed (or renamed away) since it was listed
            continue
    return SettledListing(settled=settled, waiting=waiting)


def check_landed_file(paths: Paths, source: str, path: Path) -> Path:
    """Return ``path`` as an absolute path if it is a regular file inside landing/<source>/, reached without
    symlinks; else raise LandingPathError. Relative paths are taken relative to landing/."""
    root = Path(os.path.abspath(_source_root(paths, source)))
    candidate = Path(os.path.abspath(path if Path(path).is_absolute() else paths.landing / path))
    try:
        parts = candidate.relative_to(root).parts
    except ValueError:
        raise LandingPathError(f"refusing {path}: not inside {root}") from None
    if root.is_symlink():
        raise LandingPathError(f"refusing {path}: {root} is a symlink")
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise LandingPathError(f"refusing {path}: {current} is a symlink")
    try:
        mode = os.lstat(candidate).st_mode
    except FileNotFoundError:
        raise LandingPathError(f"refusing {path}: no such file") from None
    if not stat.S_ISREG(mode):
        raise LandingPathError(f"refusing {path}: not a regular file")
    return candidate


def relative_to_landing(paths: Paths, path: Path) -> str:
    """The path as recorded in the manifest and lineage columns, e.g. ``analytics/2024/export.zip``."""
    return Path(path).relative_to(paths.landing.resolve()).as_posix()


class DataDirectoryError(RuntimeError):
    """A run asked for a data directory that does not exist, or where nothing was ever landed: nothing to run."""


def require_landed_data(paths: Paths) -> None:
    """Raise DataDirectoryError unless the data directory exists and something was landed there at some point
    (a file under landing/<source>/, or a manifest record of an earlier one). A mistyped --data-dir must not
    become a new, empty deployment that publishes empty marts."""
    if not paths.data_dir.is_dir():
        raise DataDirectoryError(f"no data directory at {paths.data_dir} (`pmw generate` or an export creates it)")
    if any(list_landed_files(paths, source) for source in SOURCES):
        return
    manifest = paths.manifest_dir
    if manifest.is_dir() and any(manifest.glob("*/*.json")):
        return
    raise DataDirectoryError(f"nothing was ever landed in {paths.landing}: no export to load, nothing to publish")
