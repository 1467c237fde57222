"""Publishing: atomic swap, read-only output, no-op when unchanged, and BI readers never block a run."""

from __future__ import annotations

import hashlib
import json
import os

import duckdb
import pytest

import publish.release as publish_module
from core.settings import Paths
from publish.release import FAILURE_POINTS, PublishError, current_publication, publish
from tests.support.report_marts import EXPECTED_CHARTS, create_report_marts


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
    # A BI tool keeps a read-only connection open on the published file during the next run, and a browser has
    # the report open.
    reader = duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True)
    report_reader = open(paths.published / "report.html", "rb")  # noqa: SIM115 - held open across the publish
    _warehouse(paths, rows=7)
    result = publish(paths, run_id="run-2")
    assert result.status == "published"
    assert report_reader.read().startswith(b"<!DOCTYPE html>")
    report_reader.close()
    assert result.release_id in (paths.published / "report.html").read_text(encoding="utf-8")
    assert reader.execute("select count(*) from fct_a").fetchone()[0] == 5  # its snapshot is intact
    reader.close()
    fresh = duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True)
    assert fresh.execute("select count(*) from fct_a").fetchone()[0] == 7
    fresh.close()


def _release_files(paths: Paths) -> dict[str, bytes]:
    """Every file BI can read through `published/`, with its bytes (read through the symlink)."""
    root = paths.published
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fail_at", FAILURE_POINTS)
def test_a_failure_at_any_step_leaves_previous_publication_complete(paths, fail_at):
    _warehouse(paths, rows=5)
    publish(paths, run_id="run-1")
    before = current_publication(paths)
    files_before = _release_files(paths)
    releases_before = sorted(p.name for p in paths.releases_dir.iterdir())
    _warehouse(paths, rows=9)
    with pytest.raises(PublishError, match="injected failure"):
        publish(paths, run_id="run-2", fail_at=fail_at)
    assert current_publication(paths) == before
    assert _release_files(paths) == files_before  # marts.duckdb, parquet, report.html: all of the old one
    # Nothing the failed run built is left behind: no temp dir, no renamed-but-never-served release.
    assert sorted(p.name for p in paths.releases_dir.iterdir()) == releases_before
    con = duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True)
    assert con.execute("select count(*) from fct_a").fetchall() == [(5,)]
    con.close()
    assert publish(paths, run_id="run-3").status == "published"
    assert current_publication(paths)["run_id"] == "run-3"


def test_a_report_that_cannot_be_rendered_aborts_the_release(paths, monkeypatch):
    _warehouse(paths, rows=5)
    publish(paths, run_id="run-1")
    before = current_publication(paths)
    _warehouse(paths, rows=6)

    def broken(*_args, **_kwargs):
        raise ValueError("boom in a chart")

    monkeypatch.setattr(publish_module, "render_report", broken)
    with pytest.raises(PublishError, match=r"rendering report.html for release .* failed: boom in a chart"):
        publish(paths, run_id="run-2")
    assert current_publication(paths) == before
    assert (paths.published / "report.html").read_bytes()
    assert not list(paths.releases_dir.glob(".tmp-*"))


def test_every_release_has_a_read_only_report_of_its_own_marts(paths):
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(paths.warehouse_path))
    con.execute("create schema marts")
    create_report_marts(con, "marts")
    con.close()
    result = publish(paths, run_id="run-1")
    report = paths.published / "report.html"
    assert oct(report.stat().st_mode & 0o777) == "0o444"
    page = report.read_text(encoding="utf-8")
    record = current_publication(paths)["report"]
    assert record == {
        "file": "report.html",
        "bytes": len(page.encode("utf-8")),
        "sha256": hashlib.sha256(page.encode("utf-8")).hexdigest(),
    }
    assert result.release_id in page
    for chart in EXPECTED_CHARTS:
        assert f'data-chart="{chart}"' in page
    # A second release (changed marts) gets its own report; the first release keeps its own.
    first_release = paths.published.resolve()
    _warehouse(paths, rows=3)
    second = publish(paths, run_id="run-2")
    assert second.release_id in (paths.published / "report.html").read_text(encoding="utf-8")
    assert result.release_id in (first_release / "report.html").read_text(encoding="utf-8")


def test_a_release_from_before_the_report_is_republished_once_with_it(paths):
    _warehouse(paths, rows=4)
    publish(paths, run_id="run-1")
    record_path = paths.published.resolve() / "_publication.json"
    legacy = json.loads(record_path.read_text(encoding="utf-8"))
    del legacy["report"]
    record_path.chmod(0o644)
    record_path.write_text(json.dumps(legacy), encoding="utf-8")
    (paths.published.resolve() / "report.html").unlink()
    assert publish(paths, run_id="run-2").status == "published"
    assert (paths.published / "report.html").exists()
    assert publish(paths, run_id="run-3").status == "unchanged"


def test_an_unknown_failure_point_is_refused(paths):
    with pytest.raises(ValueError, match="fail_at: 'swap' is not one of build, render, before_swap"):
        publish(paths, run_id="run-1", fail_at="swap")


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


FORMULA_TEXTS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tlead tab", "\rlead cr"]
SAFE_TEXTS = ["Share reports", "'=already quoted", "", None, "a=b", "100%"]


def test_every_published_text_column_is_spreadsheet_safe_in_duckdb_and_parquet(paths):
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    texts = FORMULA_TEXTS + SAFE_TEXTS
    with duckdb.connect(str(paths.warehouse_path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.dim_ideas (id integer, title varchar, note varchar, score double, tags varchar[])"
        )
        for number, text in enumerate(texts):
            con.execute("insert into marts.dim_ideas values (?, ?, ?, ?, ?)", [number, text, text, -1.5, ["=x"]])
        con.execute("create table marts.fct_other as select -3 as delta, '-3' as delta_text")

    publish(paths, run_id="run-1")

    expected = [("'" + t if t and t[0] in "=+-@\t\r" else t) for t in texts]
    db = paths.published / "marts.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select title, note, score, tags from dim_ideas order by id").fetchall()
        types = dict(con.execute("select column_name, data_type from information_schema.columns").fetchall())
        other = con.execute("select delta, delta_text from fct_other").fetchall()
    assert [r[0] for r in rows] == [r[1] for r in rows] == expected
    assert {r[2] for r in rows} == {-1.5}  # numbers are not text: a negative stays a number
    assert {tuple(r[3]) for r in rows} == {("=x",)}  # only VARCHAR columns are cells of text
    assert types["title"] == "VARCHAR" and types["score"] == "DOUBLE" and types["id"] == "INTEGER"
    assert other == [(-3, "'-3")]
    parquet = paths.published / "parquet" / "dim_ideas.parquet"
    assert [r[0] for r in duckdb.sql(f"select title from '{parquet}' order by id").fetchall()] == expected
    # The working warehouse keeps the values as built; only what BI reads is made safe.
    with duckdb.connect(str(paths.warehouse_path), read_only=True) as con:
        assert con.execute("select title from marts.dim_ideas where id = 0").fetchone()[0] == texts[0]
