"""Fault injection on a whole pipeline: one small generated sample and one clean reference run per session.

Each test copies the reference data directory (or only its landing/), injects one fault, and checks what the
operator sees (exit status, a message naming the file or key), that the previous publication is still served and
readable, that per file rows in = loaded + rejected (+ skipped), and that after recovery the published marts equal
the reference (order-independent fingerprints of every table).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from core.settings import PROJECT_ROOT, Paths
from ingest.common.manifest import read_manifest
from pmw.pipeline import run_pipeline
from publish.release import current_publication

# The smallest sample every generator accepts (billing needs 200 users for every planted channel). Its sign-ups stop
# after day 31 (`pmw generate`'s former default): a day here holds 100-230 events, noisier (~20 %) than the analytics
# volume band's floor, so whether the check flags a day of it is chance; with this span no day is out of band, as
# before sign-ups went on to the end (tests/unit/test_sample_analytics.py judges the sample's shape at scale).
SAMPLE_ARGS = ("--seed", "7", "--users", "200", "--days", "40", "--events-per-user", "3", "--signup-days", "31")
# Columns that hold the build's wall clock, not data (as in the baseline fingerprint of the repository);
# snapshot_date: the day of fct_headline_metric_snapshots' rows (publish/restatements.py).
WALL_CLOCK_COLUMNS = {"sessionized_through", "snapshot_date"}


def published_fingerprints(paths: Paths) -> dict[str, tuple[int, str]]:
    """{table: (rows, order-independent hash of its rows)} of the release BI reads, opened read-only."""
    con = duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True)
    try:
        out = {}
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' order by 1"
        ).fetchall()
        for (table,) in tables:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = 'main' "
                    "and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if r[0] not in WALL_CLOCK_COLUMNS
            ]
            row = ", ".join(f'"{c}"' for c in columns)
            rows, digest = con.execute(f'select count(*), sum(hash(row({row})))::varchar from "{table}"').fetchone()
            out[table] = (rows, digest)
        return out
    finally:
        con.close()


def assert_rows_accounted(paths: Paths) -> None:
    """Invariant 2 on every manifest record that loaded: rows in = loaded + rejected + skipped."""
    for record in read_manifest(paths):
        if record["status"] == "loaded":
            assert record["rows_in"] == record["rows_loaded"] + record["rows_rejected"] + record["rows_skipped"], record


@dataclass(frozen=True)
class Reference:
    paths: Paths
    fingerprints: dict[str, tuple[int, str]]
    release_id: str


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Reference:
    """The sample, generated once and run once cleanly (in-process, no settle time: the files are complete)."""
    from pmw.cli import main

    data = tmp_path_factory.mktemp("faults_reference") / "data"
    assert main(["--data-dir", str(data), "generate", *SAMPLE_ARGS]) == 0
    paths = Paths(data)
    outcome = run_pipeline(paths)
    assert outcome.ok, outcome.to_dict()
    publication = current_publication(paths)
    assert publication is not None
    return Reference(paths=paths, fingerprints=published_fingerprints(paths), release_id=publication["release_id"])


def _copy(src: Path, dst: Path) -> None:
    # Releases are read-only (0444) by design; copytree keeps the modes, which is what a copy should do.
    shutil.copytree(src, dst, symlinks=True)


@pytest.fixture
def published_copy(reference: Reference, tmp_path: Path) -> Paths:
    """A private copy of the reference data directory after its clean run (the published symlink is relative)."""
    _copy(reference.paths.data_dir, tmp_path / "data")
    return Paths(tmp_path / "data")


@pytest.fixture
def landing_copy(reference: Reference, tmp_path: Path) -> Paths:
    """A data directory holding only the reference's landed files: nothing loaded or published yet."""
    _copy(reference.paths.landing, tmp_path / "data" / "landing")
    return Paths(tmp_path / "data")


def pmw_command(paths: Paths, *args: str) -> list[str]:
    """`pmw --data-dir D ...` as a subprocess command line, with this interpreter and this checkout first."""
    return [sys.executable, "-m", "pmw.cli", "--data-dir", str(paths.data_dir), *args]


def pmw_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}


def run_pmw(paths: Paths, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        pmw_command(paths, *args), env=pmw_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(autouse=True)
def _writable_tmp(tmp_path: Path):
    """Releases are read-only by design; make the test's copy removable afterwards."""
    yield
    for p in tmp_path.rglob("*"):
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | 0o200)
