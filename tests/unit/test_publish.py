"""Publishing: atomic swap, read-only output, no-op when unchanged, and BI readers never block a run."""

from __future__ import annotations

import os

import duckdb
import pytest

from pmw.publish import PublishError, current_publication, publish
from pmw.settings import Paths


def _warehouse(paths: Paths, rows: int) -> None:
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(paths.warehouse_path))
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists staging")
    con.execute(f"create or replace table marts.fct_a as select range as id, 'v' || range as v from range({rows})")
    con.execute("create or replace table marts.dim_b as select 1 as id, 'only' as label")
    con.execute("create or replace table staging.stg_x as select 1 as id")  # not a mart: never published
    con.close()


@pytest.fixture
def paths(tmp_path) -> Paths:
    p = Paths(tmp_path / "data")
    p.ensure()
    return p


def test_publish_writes_read_only_duckdb_and_parquet(paths):
    _warehouse(paths, rows=10)
    result = publish(paths, run_id="run-1")
    assert result.status == "published"
    assert paths.published.is_symlink()
    assert sorted(t.name for t in result.tables) == ["dim_b", "fct_a"]
    db = paths.published / "marts.duckdb"
    assert not os.access(db, os.W_OK) or os.geteuid() == 0  # root ignores mode bits
    assert oct(db.stat().st_mode & 0o777) == "0o444"
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from fct_a").fetchone()[0] == 10
    assert {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()} == {
        "fct_a",
        "dim_b",
    }
    con.close()
    parquet_file = paths.published / "parquet" / "fct_a.parquet"
    assert duckdb.sql(f"select count(*) from '{parquet_file}'").fetchall() == [(10,)]
    assert current_publication(paths)["run_id"] == "run-1"


def test_second_publish_of_same_marts_changes_nothing(paths):
    _warehouse(paths, rows=5)
    first = publish(paths, run_id="run-1")
    target_before = os.readlink(paths.published)
    second = publish(paths, run_id="run-2")
    assert second.status == "unchanged"
    assert second.release_id == first.release_id
    assert os.readlink(paths.published) == target_before
    assert len([p for p in paths.releases_dir.iterdir() if not p.name.startswith(".")]) == 1


def test_changed_marts_are_swapped_in_while_a_bi_reader_holds_the_old_file(paths):
    _warehouse(paths, rows=5)
    publish(paths, run_id="run-1")
    # A BI tool keeps a read-only connection open on the published file during the next run.
    reader = duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True)
    _warehouse(paths, rows=7)
    result = publish(paths, run_id="run-2")
    assert result.status == "published"
    assert reader.execute("select count(*) from fct_a").fetchone()[0] == 5  # its snapshot is intact
    reader.close()
    fresh = duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True)
    assert fresh.execute("select count(*) from fct_a").fetchone()[0] == 7
    fresh.close()


def test_failure_before_swap_leaves_previous_publication_complete(paths):
    _warehouse(paths, rows=5)
    publish(paths, run_id="run-1")
    before = current_publication(paths)
    _warehouse(paths, rows=9)
    with pytest.raises(PublishError, match="injected failure"):
        publish(paths, run_id="run-2", fail_before_swap=True)
    assert current_publication(paths) == before
    con = duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True)
    assert con.execute("select count(*) from fct_a").fetchone()[0] == 5
    con.close()
    # The next successful run publishes and prunes what the failed one left.
    assert publish(paths, run_id="run-3").status == "published"
    assert current_publication(paths)["run_id"] == "run-3"


def test_old_releases_are_pruned(paths):
    for i in range(5):
        _warehouse(paths, rows=i + 1)
        publish(paths, run_id=f"run-{i}", keep_releases=2)
    kept = [p for p in paths.releases_dir.iterdir() if not p.name.startswith(".")]
    assert len(kept) == 2
    assert paths.published.resolve() in {p.resolve() for p in kept}


def test_no_marts_is_an_error_not_an_empty_publication(paths):
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(paths.warehouse_path)).close()
    with pytest.raises(PublishError, match="no tables in the warehouse schema 'marts'"):
        publish(paths, run_id="run-1")
    assert not paths.published.exists()


def test_a_real_directory_in_place_of_the_symlink_is_refused(paths):
    _warehouse(paths, rows=1)
    paths.published.mkdir()
    with pytest.raises(PublishError, match="is not a symlink"):
        publish(paths, run_id="run-1")
