"""A night where nothing landed, on a copy of the reference after its clean run: `pmw run` runs ingest and the raw
gates only (a Dagster run is still recorded, with no dbt asset or publication materialised in it), says which build
and release still stand, and leaves the warehouse and the publication as they were. (That a change of any build
input, or an unfinished or failed build, makes the next run build is tests/unit/test_build_state.py.)"""

from __future__ import annotations

import pytest

from orchestration.build_state import read_last_build
from orchestration.instance import open_instance
from orchestration.run_records import read_last_run
from pmw.cli import EXIT_OK, main
from publish.release import current_publication
from tests.support.faults import published_fingerprints

pytestmark = pytest.mark.slow


def test_a_night_where_nothing_landed_skips_the_build_and_says_which_build_stands(reference, published_copy, capsys):
    paths = published_copy
    warehouse = paths.warehouse_path.stat()
    built = read_last_build(paths)
    assert built is not None and built["status"] == "published" and built["release_id"] == reference.release_id

    code = main(["--data-dir", str(paths.data_dir), "run", "--settle-seconds", "0"])

    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    statement = (
        f"nothing landed since run {built['run_id'][:8]}; warehouse and publication unchanged "
        f"(release {reference.release_id})"
    )
    # Said by the run's outcome line and by the summary after it; no silent OK.
    assert out.count(statement) == 2, out
    record = read_last_run(paths)
    assert record["ok"] and record["unchanged"]["run_id"] == built["run_id"], record
    assert record["run_id"] != built["run_id"]
    assert "product_metrics_dbt" not in record["step_seconds"] and "published__marts" not in record["step_seconds"]
    assert record["materialized"] and all(key.startswith(("raw/", "lake/")) for key in record["materialized"])
    assert paths.warehouse_path.stat().st_mtime_ns == warehouse.st_mtime_ns
    assert current_publication(paths)["release_id"] == reference.release_id
    assert published_fingerprints(paths) == reference.fingerprints

    # The run is in the data directory's Dagster instance (what the UI shows), without the build's steps.
    instance = open_instance(paths)
    try:
        run = instance.get_run_by_id(record["run_id"])
        assert run is not None and run.is_success
        steps = {stats.step_key for stats in instance.get_run_step_stats(record["run_id"])}
        assert "raw__analytics" in steps and "product_metrics_dbt" not in steps
    finally:
        instance.dispose()
