"""The whole graph run again through the same job the schedule runs, on copies of the session's shared run
(tests/support/shared_run.py: every source, the analytics sample among them): a second run over the same files, the
same bytes landed under another name, a failing raw gate, a failing mart gate. Each scenario works on its own copy of
that data directory, so scenarios stay independent and the shared run stays untouched.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import duckdb
import great_expectations as gx
import pytest

from core.config import DEFAULT_CONFIG_PATH
from core.settings import Paths, build_settings
from expectations import GATES
from expectations.runner import DerivedCheck
from ingest.common.lake import pending_files
from ingest.common.manifest import read_manifest
from orchestration.build_state import build_inputs, full_refresh_reason, read_last_build
from pmw.pipeline import RunOutcome, run_pipeline
from publish.interface import read_check
from publish.release import current_publication
from sample_generator.analytics import generate_analytics

pytestmark = pytest.mark.slow


def _mart_fingerprints(paths: Paths) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(paths.warehouse_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {
            t: tuple(con.execute(f'select count(*), sum(hash(t))::varchar from marts."{t}" t').fetchall()[0])
            for t in tables
        }
    finally:
        con.close()


def _run(paths: Paths) -> RunOutcome:
    return run_pipeline(paths)


@pytest.fixture(scope="module")
def first_run(shared_run) -> tuple[Paths, RunOutcome, dict]:
    return shared_run.paths, shared_run.outcome, shared_run.truths["analytics"].to_dict()


@pytest.fixture
def copied(first_run, tmp_path) -> Paths:
    """A private copy of the first run's data directory (the published symlink is relative, so it follows)."""
    src, _, _ = first_run
    dst = tmp_path / "data"
    shutil.copytree(src.data_dir, dst, symlinks=True)
    return Paths(dst)


def test_second_run_changes_nothing(copied):
    before = _mart_fingerprints(copied)
    publication = current_publication(copied)
    outcome = _run(copied)
    assert outcome.ok, outcome.to_dict()
    # Nothing landed: the build, mart gates (volume checks included) and publish are skipped, and the run says which
    # build and release stand (tests/faults/test_noop_night.py; a clean re-run of the volume checks themselves is
    # tests/faults/test_volume.py).
    assert outcome.unchanged is not None and outcome.unchanged["release_id"] == publication["release_id"], outcome
    assert not [c for c in outcome.checks if c["check"].endswith("_volume")]
    assert _mart_fingerprints(copied) == before
    assert current_publication(copied) == publication
    # The interface check on record is the standing release's (the skipped run made none): nothing flagged.
    interface = read_check(copied)
    assert (interface["status"], interface["changes"], interface["blocked"], interface["stale_acknowledgements"]) == (
        "published",
        [],
        [],
        [],
    )


def test_same_bytes_landed_under_another_name_change_no_mart(copied):
    before = _mart_fingerprints(copied)
    publication = current_publication(copied)
    original = sorted((copied.landing / "analytics" / "amplitude").glob("*.zip"))[0]
    shutil.copy(original, copied.landing / "analytics" / "resent-copy.zip")
    outcome = _run(copied)
    assert outcome.ok, outcome.to_dict()
    # The copy only adds an alias to the manifest: the lake is unchanged, so the build is skipped and said to be.
    assert outcome.unchanged is not None and outcome.unchanged["release_id"] == publication["release_id"], outcome
    assert _mart_fingerprints(copied) == before
    assert current_publication(copied) == publication
    record = next(r for r in read_manifest(copied, "analytics") if r["path"].endswith(original.name))
    assert "analytics/resent-copy.zip" in record["aliases"]


def test_a_changed_funnel_with_nothing_new_landed_recomputes_every_stored_period(copied, tmp_path):
    # fct_funnel_conversion is incremental by period: a build on new events recomputes only the periods they
    # touch. A changed funnel definition with no new event must still reach every period already stored.
    config_text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    changed_config = tmp_path / "pmw.yml"
    changed_config.write_text(config_text.replace("conversion_window_hours: 168", "conversion_window_hours: 1"))
    settings = build_settings(copied.data_dir, changed_config, landing_settle_seconds=0)

    def windows(database: Path) -> list[tuple]:
        with duckdb.connect(str(database), read_only=True) as con:
            return con.execute(
                "select distinct funnel_name, conversion_window_seconds from marts.fct_funnel_conversion order by all"
            ).fetchall()

    before = windows(copied.warehouse_path)
    assert ("activation", 168 * 3600) in before
    outcome = run_pipeline(settings)
    assert outcome.ok, outcome.to_dict()
    assert outcome.unchanged is None
    # Every stored period was computed again with the new window, in the warehouse and in what BI reads.
    after = [(name, 3600 if seconds == 168 * 3600 else seconds) for name, seconds in before]
    assert windows(copied.warehouse_path) == after
    assert windows(copied.published / "marts.duckdb") == after
    # The definition the incremental models now hold is tonight's: the next build goes on incrementally.
    assert full_refresh_reason(settings.paths, build_inputs(settings)) is None


def _land_bad_csv(paths: Paths) -> Path:
    bad = paths.landing / "analytics" / "segment" / "tracks_unknown_event.csv"
    bad.write_text(
        "id,event,user_id,timestamp\n"
        "bad-0001,teleported,u-1,2024-01-10T10:00:00.000Z\n"
        "bad-0002,signed_up,u-2,2024-01-10T10:05:00.000Z\n",
        encoding="utf-8",
    )
    return bad


def test_failing_raw_gate_blocks_everything_downstream_in_this_and_later_runs(copied):
    before = _mart_fingerprints(copied)
    publication = current_publication(copied)
    _land_bad_csv(copied)

    outcome = _run(copied)
    assert not outcome.ok
    assert {c["check"] for c in outcome.checks_failed} == {"raw_analytics_events_gate"}
    # Nothing downstream of the gate ran: no promotion into the lake, no dbt model, no publication.
    assert "raw/analytics" in outcome.materialized
    assert "lake/analytics_events" not in outcome.materialized
    assert not [a for a in outcome.materialized if a.split("/")[0] in ("staging", "intermediate", "marts", "published")]
    assert _mart_fingerprints(copied) == before
    assert current_publication(copied) == publication
    gate = json.loads((copied.runs_dir / "gates" / "raw_analytics_events.json").read_text())
    failed_rules = [r for r in gate["expectations"] if not r["success"]]
    assert any("teleported" in json.dumps(r["unexpected_examples"]) for r in failed_rules)

    # Fail closed across runs: the bad file stays pending, so the next run is blocked too.
    again = _run(copied)
    assert {c["check"] for c in again.checks_failed} == {"raw_analytics_events_gate"}
    assert current_publication(copied) == publication

    # An operator discards it; the pipeline goes on, and the bad rows never reached a mart.
    (pending,) = pending_files(copied, "analytics", "events")
    from ingest.common.lake import discard_pending

    discard_pending(copied, "analytics", pending.stem, reason="unknown event name 'teleported' from a test tool")
    recovered = _run(copied)
    assert recovered.ok, recovered.to_dict()
    assert _mart_fingerprints(copied) == before
    record = next(r for r in read_manifest(copied, "analytics") if r["path"].endswith("tracks_unknown_event.csv"))
    assert record["status"] == "discarded"
    assert "teleported" in record["error"]


def test_failing_mart_gate_keeps_the_previous_publication(copied, monkeypatch):
    publication = current_publication(copied)
    real = GATES["fct_funnel_conversion"]

    def with_planted_failure(config):
        return [
            *real.derived_checks(config),
            DerivedCheck(
                name="planted_failure",
                sql="select * from {relation} where users >= 0",
                expectation=gx.expectations.ExpectTableRowCountToEqual(value=0),
                severity="error",
                why="test: a rule every row breaks",
            ),
        ]

    monkeypatch.setitem(GATES, "fct_funnel_conversion", dataclasses.replace(real, derived_checks=with_planted_failure))
    # New data, so the marts change and a publication would otherwise happen.
    generate_analytics(copied.landing / "more", seed=99, users=20, days=31, events_per_user=2, mess=False)
    for f in (copied.landing / "more" / "analytics").rglob("*"):
        if f.is_file():
            dest = copied.landing / "analytics" / "more" / f.relative_to(copied.landing / "more" / "analytics")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, dest)
    shutil.rmtree(copied.landing / "more")

    outcome = _run(copied)
    assert not outcome.ok
    # Only analytics landed: the run was planned as that part (pmw/pipeline.py), and its failing gate still held
    # publish back.
    assert "raw__analytics" in outcome.step_seconds and "raw__jira" not in outcome.step_seconds, outcome.step_seconds
    assert "published__marts" not in outcome.step_seconds  # not started: its gate failed upstream
    assert {c["check"] for c in outcome.checks_failed} == {"fct_funnel_conversion_gate"}
    assert "published/marts" not in outcome.materialized
    assert "marts/fct_funnel_conversion" in outcome.materialized
    assert current_publication(copied) == publication
    con = duckdb.connect(str(copied.published / "marts.duckdb"), read_only=True)
    assert con.execute("select count(*) from fct_funnel_conversion").fetchall()[0][0] > 0
    con.close()


def _land_more_analytics(paths: Paths) -> None:
    generate_analytics(paths.landing / "more", seed=99, users=20, days=31, events_per_user=2, mess=False)
    for f in (paths.landing / "more" / "analytics").rglob("*"):
        if f.is_file():
            dest = paths.landing / "analytics" / "more" / f.relative_to(paths.landing / "more" / "analytics")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, dest)
    shutil.rmtree(paths.landing / "more")


def test_a_night_landing_one_source_runs_only_its_part_and_publishes_a_complete_release(copied, first_run):
    _, first_outcome, _ = first_run
    publication = current_publication(copied)
    before = _mart_fingerprints(copied)
    _land_more_analytics(copied)

    outcome = _run(copied)

    assert outcome.ok, outcome.to_dict()
    steps = set(outcome.step_seconds)
    # Planned before the job started: analytics' ingest and gate, dbt, gates of rebuilt marts, publish; no other
    # source's ingest, and no model outside `source:analytics+` materialised (nor yielded as left as built).
    assert {"raw__analytics", "product_metrics_dbt", "portfolio_scores", "published__marts"} <= steps, steps
    assert not any(step.startswith(("raw__jira", "raw__billing", "raw__feedback", "raw__marketing")) for step in steps)
    assert "marts/fct_funnel_conversion" in outcome.materialized
    assert "marts/fct_issue_cycle_times" not in outcome.materialized and not outcome.left_as_built
    # What was built and what was left, in the build record the summary reads.
    build = read_last_build(copied)
    assert build["status"] == "published" and build["run_id"] == outcome.run_id
    assert build["scope"]["changed_sources"] == ["analytics"]
    # The gates of the marts left as built were not run again: their pass stands, recorded in the run's outcome
    # with the run that validated the same table.
    kept = [c for c in outcome.checks if c.get("kept")]
    assert kept and all(c["passed"] and c["validated_by_run"] == first_outcome.run_id for c in kept), kept
    assert "marts/fct_issue_cycle_times" in {c["asset"] for c in kept}
    assert not {c["asset"] for c in kept} & set(outcome.materialized)
    # A complete release: every mart, the ones left as built included, and the analytics marts changed.
    release = current_publication(copied)
    assert release["release_id"] != publication["release_id"]
    after = _mart_fingerprints(copied)
    assert after.keys() == before.keys()
    assert after["fct_issue_cycle_times"] == before["fct_issue_cycle_times"]
    assert after["fct_sessions"] != before["fct_sessions"]
    con = duckdb.connect(str(copied.published / "marts.duckdb"), read_only=True)
    published = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    con.close()
    assert set(before) <= published
