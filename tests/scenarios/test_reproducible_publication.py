"""Invariant 8: the published marts are a pure function of the landed files and the configuration.

The session's shared run (the shared run) and a fresh run of the same landed files in another data
directory, at another time, must publish byte-identical Parquet for every mart and marts.duckdb files with equal
contents; only _publication.json (release id, run id, publication time) may differ. The daily snapshot table
(publish/restatements.py) is history, dated by the day of its release, not a mart: it is left out.
"""

from __future__ import annotations

import hashlib
import shutil

import duckdb
import pytest

from core.settings import Paths
from pmw.pipeline import run_pipeline
from publish.restatements import SNAPSHOT_TABLE

pytestmark = pytest.mark.slow


def _parquet_digests(paths: Paths) -> dict[str, str]:
    folder = paths.published / "parquet"
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.glob("*.parquet"))
        if f.stem != SNAPSHOT_TABLE
    }


def _table_fingerprints(paths: Paths) -> dict[str, tuple[int, str]]:
    with duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute("select table_name from information_schema.tables order by 1").fetchall()
            if r[0] != SNAPSHOT_TABLE
        ]
        return {
            t: con.execute(f'select count(*), coalesce(sum(hash(t)), 0)::varchar from "{t}" as t').fetchone()
            for t in tables
        }


def test_two_runs_over_the_same_files_publish_the_same_bytes(portfolio_sample_run, tmp_path) -> None:
    first, _ = portfolio_sample_run
    second = Paths(tmp_path / "data").ensure()
    shutil.copytree(first.landing, second.landing, dirs_exist_ok=True)
    outcome = run_pipeline(second)
    assert outcome.ok, outcome.to_dict()

    digests = _parquet_digests(first)
    assert "fct_sessions.parquet" in digests and len(digests) > 10
    assert _parquet_digests(second) == digests
    assert _table_fingerprints(second) == _table_fingerprints(first)
    with duckdb.connect(str(second.published / "marts.duckdb"), read_only=True) as con:
        columns = {r[0] for r in con.execute("select column_name from information_schema.columns").fetchall()}
    assert not {"sessionized_through", "ingested_at", "_ingested_at", "loaded_at"} & columns
