"""A landed file that cannot be read at all fails the run, names itself and holds publication back until an
operator discards it or a fixed version lands under the same name; the other files are still ingested and gated."""

from __future__ import annotations

import gzip
import shlex

import pytest

from ingest.common.hashing import file_sha256
from ingest.common.manifest import read_manifest_record
from orchestration.run_records import read_gate_results, read_last_run
from pmw.cli import EXIT_OK, EXIT_RUN_FAILED, main
from publish.release import current_publication
from tests.support.faults import assert_rows_accounted, published_fingerprints

pytestmark = pytest.mark.slow


def _run(paths, capsys) -> tuple[int, str]:
    code = main(["--data-dir", str(paths.data_dir), "run", "--settle-seconds", "0"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_unreadable_files_fail_the_run_until_discarded_or_superseded(reference, published_copy, capsys):
    paths = published_copy
    zip_source = sorted((paths.landing / "analytics").rglob("*.zip"))[0]
    good_bytes = zip_source.read_bytes()
    truncated_zip = paths.landing / "analytics" / "resent" / "export.zip"
    truncated_zip.parent.mkdir()
    truncated_zip.write_bytes(good_bytes[: len(good_bytes) // 2])
    corrupt_gz = paths.landing / "analytics" / "hour.json.gz"
    corrupt_gz.write_bytes(gzip.compress(b'{"event_type": "x"}\n' * 50)[:-20] + b"\x00" * 20)
    binary_json = paths.landing / "jira" / "issues-page-9.json"
    binary_json.write_bytes(bytes(range(256)) * 4)
    bad = {
        "analytics": [truncated_zip, corrupt_gz],
        "jira": [binary_json],
    }

    code, out = _run(paths, capsys)

    assert code == EXIT_RUN_FAILED, out
    for source, files in bad.items():
        for f in files:
            sha = file_sha256(f)
            record = read_manifest_record(paths, source, sha)
            assert record is not None and record["status"] == "failed", record
            assert sha in out and f.relative_to(paths.landing).as_posix() in out
            assert f"discard {sha} --source {source}" in out
    assert "UnresolvedLandingError" in out and "the previous release stays served" in out
    # The previous publication is still the one served, whole and readable.
    assert current_publication(paths)["release_id"] == reference.release_id
    assert published_fingerprints(paths) == reference.fingerprints
    # The other files went on: the raw gates of the sources with files landed tonight ran in this run. The night
    # was planned for those sources only (orchestration/build_state.py planned_build_scope), so the gates of the
    # sources with nothing new stand as the last run judged their unchanged lake files.
    this_run = read_last_run(paths)["run_id"]
    gate_runs = {g["gate"]: g["run_id"] for g in read_gate_results(paths) if g["gate"].startswith("raw_")}
    tonight = {gate for gate in gate_runs if gate.startswith(("raw_analytics_", "raw_jira_"))}
    assert tonight and {gate_runs[gate] for gate in tonight} == {this_run}, gate_runs
    assert this_run not in {gate_runs[gate] for gate in gate_runs.keys() - tonight}, gate_runs
    assert_rows_accounted(paths)
    summary_code = main(["--data-dir", str(paths.data_dir), "summary"])
    summary = capsys.readouterr().out
    assert summary_code == EXIT_OK and "FAILED analytics/resent/export.zip" in summary

    # Recovery: discard two with the printed command, land the fixed version of the third under its name.
    for f in (corrupt_gz, binary_json):
        line = next(x for x in out.splitlines() if f"discard {file_sha256(f)}" in x)
        command = shlex.split(line[line.index("pmw --data-dir") :].replace("<why this file is discarded>", "corrupt"))
        assert main(command[1:]) == EXIT_OK
        capsys.readouterr()
    truncated_zip.write_bytes(good_bytes)

    code, out = _run(paths, capsys)

    assert code == EXIT_OK, out
    assert published_fingerprints(paths) == reference.fingerprints
    assert_rows_accounted(paths)
