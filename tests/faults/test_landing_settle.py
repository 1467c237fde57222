"""A file still being copied into landing is not read: temporary names are skipped, and a file is taken only once
its size and mtime have been stable for the settle time. The summary lists the files waiting."""

from __future__ import annotations

import os
import time

import pytest

from ingest.common.hashing import file_sha256
from ingest.common.manifest import read_manifest, read_manifest_record
from pmw.cli import EXIT_OK, main
from tests.support.faults import assert_rows_accounted, published_fingerprints

pytestmark = pytest.mark.slow

SETTLE_SECONDS = 900


def _run(paths, capsys, settle: str) -> tuple[int, str]:
    code = main(["--data-dir", str(paths.data_dir), "run", "--settle-seconds", settle])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_half_written_file_waits_and_its_complete_version_is_read_once_settled(reference, published_copy, capsys):
    paths = published_copy
    original = paths.landing / "marketing" / "other" / "affiliates.csv"
    full = original.read_bytes()
    resent = paths.landing / "marketing" / "other" / "affiliates_resent.csv"
    resent.write_bytes(full[: len(full) * 2 // 3])  # the copy is a third short, and its mtime is now
    in_progress = paths.landing / "marketing" / "other" / "affiliates_next.csv.part"
    in_progress.write_bytes(full)
    records_before = len(read_manifest(paths, "marketing"))

    # A settle time well beyond the run's own length, so the file is still "recent" when its source is ingested.
    code, out = _run(paths, capsys, settle=str(SETTLE_SECONDS))

    assert code == EXIT_OK, out
    assert read_manifest_record(paths, "marketing", file_sha256(resent)) is None  # the half file was never read
    assert len(read_manifest(paths, "marketing")) == records_before
    assert "files waiting to settle" in out
    assert f"marketing/other/affiliates_resent.csv (settle time {SETTLE_SECONDS}s)" in out
    assert "affiliates_next.csv.part" not in out  # a temporary name is not an export at all
    assert published_fingerprints(paths) == reference.fingerprints

    # The copy completes, and its size and mtime then stay unchanged for longer than the settle time.
    resent.write_bytes(full)
    settled = time.time() - 2 * SETTLE_SECONDS
    os.utime(resent, (settled, settled))

    code, out = _run(paths, capsys, settle=str(SETTLE_SECONDS))

    assert code == EXIT_OK, out
    record = read_manifest_record(paths, "marketing", file_sha256(original))
    assert "marketing/other/affiliates_resent.csv" in record["aliases"]  # the same bytes, loaded once
    assert "files waiting to settle" not in out
    assert published_fingerprints(paths) == reference.fingerprints
    assert_rows_accounted(paths)
