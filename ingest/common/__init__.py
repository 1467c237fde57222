"""Shared ingest machinery: the per-file loop every source runs on (loop.py) and its batched row writer
(row_writer.py), landing listing, content hashes, atomic writes, manifest, quarantine, archive safety."""

from ingest.common.hashing import file_sha256
from ingest.common.landing import list_landed_files

__all__ = ["file_sha256", "list_landed_files"]
