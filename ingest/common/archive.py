"""Archive safety: ZIP member names that cannot escape, and size bounds that stop zip bombs.

Sizes are measured while extracting (the header's declared sizes are checked first, but never trusted).
"""

from __future__ import annotations

import re
import shutil
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ingest.common.errors import IngestFileError

_COPY_CHUNK_BYTES = 1 << 20
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(IngestFileError):
    """An archive that must not be extracted; the message names the archive and the member."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what one archive may expand to. Defaults fit a large daily vendor export."""

    max_total_uncompressed_bytes: int = 64 * 1024**3
    # Ratio uncompressed/compressed per member; only checked once a member passes ratio_floor_bytes,
    # because tiny members legitimately compress very well.
    max_member_ratio: float = 200.0
    ratio_floor_bytes: int = 1024**2
    max_members: int = 100_000


def check_member_name(archive_label: str, name: str) -> None:
    """Raise ArchiveError if a member name is absolute, has a drive letter, or contains a ``..`` part."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or _WINDOWS_DRIVE.match(normalised):
        raise ArchiveError(f"unsafe ZIP member name {name!r} in {archive_label}: absolute path")
    if ".." in PurePosixPath(normalised).parts:
        raise ArchiveError(f"unsafe ZIP member name {name!r} in {archive_label}: contains '..'")
    if "\x00" in name:
        raise ArchiveError(f"unsafe ZIP member name {name!r} in {archive_label}: contains a NUL byte")


def open_zip(path: Path, archive_label: str, limits: ArchiveLimits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a ZIP and check every member name and declared size before anything is extracted.

    Returns the open archive and its file members (folders left out), in archive order.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"corrupt ZIP archive {archive_label}: {exc}") from exc
    try:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveError(
                f"ZIP archive {archive_label} has {len(infos)} members, above the limit {limits.max_members}"
            )
        declared_total = 0
        members = []
        for info in infos:
            check_member_name(archive_label, info.filename)
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise ArchiveError(f"ZIP member {info.filename!r} in {archive_label} is encrypted")
            declared_total += info.file_size
            members.append(info)
        if declared_total > limits.max_total_uncompressed_bytes:
            raise ArchiveError(
                f"ZIP archive {archive_label} declares {declared_total} uncompressed bytes, above the limit "
                f"{limits.max_total_uncompressed_bytes}"
            )
    except BaseException:
        archive.close()
        raise
    return archive, members


class ExtractionBudget:
    """Counts bytes actually written across all members of one archive."""

    def __init__(self, archive_label: str, limits: ArchiveLimits):
        self.archive_label = archive_label
        self.limits = limits
        self.total_bytes = 0

    def extract(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> int:
        """Stream one member to ``dest`` (a path we chose, never the member name); return its size."""
        try:
            with open(dest, "wb") as target:
                return self._copy(archive, info, target.write)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise

    def read(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        """One member's bytes, with the same bounds as extract (for small members, read without a file)."""
        chunks: list[bytes] = []
        self._copy(archive, info, chunks.append)
        return b"".join(chunks)

    def _copy(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, write: Callable[[bytes], object]) -> int:
        written = 0
        compressed = max(info.compress_size, 1)
        try:
            with archive.open(info) as source:
                while chunk := source.read(_COPY_CHUNK_BYTES):
                    written += len(chunk)
                    self.total_bytes += len(chunk)
                    if self.total_bytes > self.limits.max_total_uncompressed_bytes:
                        raise ArchiveError(
                            f"ZIP archive {self.archive_label} expands beyond the limit of "
                            f"{self.limits.max_total_uncompressed_bytes} bytes (at member {info.filename!r})"
                        )
                    if written > self.limits.ratio_floor_bytes and written / compressed > self.limits.max_member_ratio:
                        raise ArchiveError(
                            f"ZIP member {info.filename!r} in {self.archive_label} expands more than "
                            f"{self.limits.max_member_ratio:g}x its compressed size ({compressed} bytes): refusing a "
                            "possible zip bomb"
                        )
                    write(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            # A damaged deflate stream or a CRC mismatch: name the member, not just the archive.
            raise ArchiveError(f"corrupt ZIP member {info.filename!r} in {self.archive_label}: {exc}") from exc
        return written


def iter_extracted_members(
    path: Path, archive_label: str, work_dir: Path, limits: ArchiveLimits
) -> Iterator[tuple[int, zipfile.ZipInfo, Path]]:
    """Extract members one at a time into ``work_dir`` as ``member-<index>``; yield (index, info, path).

    The caller deletes each extracted file when done with it, so disk use stays about one member.
    """
    archive, members = open_zip(path, archive_label, limits)
    budget = ExtractionBudget(archive_label, limits)
    with archive:
        for index, info in enumerate(members):
            dest = work_dir / f"member-{index}"
            budget.extract(archive, info, dest)
            yield index, info, dest


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def iter_archive_members(
    path: Path, archive_label: str, limits: ArchiveLimits
) -> Iterator[tuple[int, zipfile.ZipInfo, zipfile.ZipFile, ExtractionBudget]]:
    """Like iter_extracted_members, but extracts nothing: yields (index, info, the open archive, its budget), and the
    caller reads (``budget.read``) or extracts (``budget.extract``) each member as it sees fit."""
    archive, members = open_zip(path, archive_label, limits)
    budget = ExtractionBudget(archive_label, limits)
    with archive:
        for index, info in enumerate(members):
            yield index, info, archive, budget
