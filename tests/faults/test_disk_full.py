"""A disk that fills up during the mart gates: a one-line named failure, the run recorded as failed, no 0-byte
temp file left behind, the previous publication served; once there is space again the re-run publishes the same."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from orchestration.run_records import read_last_run
from pmw.cli import EXIT_OK, EXIT_RUN_FAILED, main
from publish.release import current_publication
from tests.support.faults import published_fingerprints

pytestmark = pytest.mark.slow


def test_a_full_disk_during_the_mart_gates_is_named_and_leaves_no_temp_file(
    reference, published_copy, capsys, monkeypatch
):
    paths = published_copy
    write_bytes = Path.write_bytes

    def disk_full_for_mart_gate_records(self: Path, data: bytes) -> int:
        # What a full disk does: the file is created, nothing fits in it.
        if "gates" in self.parts and ".fct_" in self.name:
            self.touch()
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", disk_full_for_mart_gate_records)
    # Nothing landed since the reference's build, so the run would skip the build and its mart gates; forget that
    # build (as after a failed one) so this run builds and reaches the gates' records.
    (paths.runs_dir / "last_build.json").unlink()

    code = main(["--data-dir", str(paths.data_dir), "run", "--settle-seconds", "0"])

    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert code == EXIT_RUN_FAILED, out
    assert "disk full (ENOSPC)" in out
    assert "Traceback" not in out and "Stack Trace" not in out
    assert [p for p in paths.data_dir.rglob("*.tmp")] == []
    last_run = read_last_run(paths)
    assert last_run["status"] == "failed" and not last_run["ok"]
    assert current_publication(paths)["release_id"] == reference.release_id
    assert published_fingerprints(paths) == reference.fingerprints

    monkeypatch.undo()
    code = main(["--data-dir", str(paths.data_dir), "run", "--settle-seconds", "0"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert published_fingerprints(paths) == reference.fingerprints
