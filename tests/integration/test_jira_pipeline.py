"""The Jira slice end to end: generated exports -> ingest -> lake -> dbt -> gates -> PUBLISHED marts.

The default Jira sample as REST JSON and CSV together is the session's shared run (conftest.portfolio_sample_run,
which lands this same Jira sample next to every other source); two more data directories run the whole graph once
each, with the Jira sample as JSON only and as CSV only (a small analytics sample lands too).
- The JSON+CSV run must recover what the generator planted: every cycle and lead time to the millisecond (the issue
  whose changelog was cut short is NULL and flagged instead), the three initiatives' ship dates and slips, every
  sprint's committed / added / completed / carried-over issues and point-in-time points, the reopened issues.
- JSON only vs CSV only: the marts agree, column by column, on what a CSV export can recover (the truths'
  ``recoverable_from_csv``); what only the changelog can tell is NULL in the CSV-only marts, never a wrong value.
- The CSV export in French, German and Spanish ingests to the same issue rows as the English one (ingest level).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import load_config
from core.settings import Paths
from ingest.common.lake import pending_files
from ingest.jira import ingest_jira
from orchestration.run_records import read_last_run
from pmw.pipeline import RunOutcome, run_pipeline
from sample_generator.analytics import generate_analytics
from sample_generator.jira import JiraTruths, generate_jira

pytestmark = pytest.mark.slow


@dataclasses.dataclass(frozen=True)
class JiraRun:
    paths: Paths
    outcome: RunOutcome
    truths: JiraTruths

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a query on the published marts (what BI reads)."""
        with duckdb.connect(str(self.paths.published / "marts.duckdb"), read_only=True) as con:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def by_key(self, table: str, key: str) -> dict[Any, dict[str, Any]]:
        return {row[key]: row for row in self.rows(f"select * from {table}")}


def _run(tmp_path_factory, name: str, formats: tuple[str, ...]) -> JiraRun:
    paths = Paths(tmp_path_factory.mktemp(name) / "data").ensure()
    generate_analytics(paths.landing, seed=11, users=150, days=35, events_per_user=6)
    truths = generate_jira(paths.landing, formats=formats, csv_timezone=load_config().jira.csv_timezone)
    return JiraRun(paths, run_pipeline(paths), truths)


@pytest.fixture(scope="module")
def both_run(portfolio_sample_run) -> JiraRun:
    paths, truths = portfolio_sample_run
    record = read_last_run(paths)
    assert record is not None
    outcome = RunOutcome(**{f.name: record[f.name] for f in dataclasses.fields(RunOutcome) if f.name in record})
    return JiraRun(paths, outcome, truths["jira"])


@pytest.fixture(scope="module")
def json_run(tmp_path_factory) -> JiraRun:
    return _run(tmp_path_factory, "jira_json_only", ("json",))


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory) -> JiraRun:
    return _run(tmp_path_factory, "jira_csv_only", ("csv",))


def _naive_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def _points(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


# ------------------------------------------------------------------------------------ JSON + CSV: planted truths


def test_json_and_csv_run_publishes_with_every_gate_passing(both_run):
    assert both_run.outcome.ok, both_run.outcome.to_dict()
    gates = {c["check"]: c["passed"] for c in both_run.outcome.checks if c["check"].endswith("_gate")}
    assert {"raw_jira_issues_gate", "fct_issue_cycle_times_gate", "fct_initiative_delivery_gate"} <= set(gates)
    assert all(gates.values()), gates


def test_every_planted_cycle_and_lead_time_is_recovered_exactly(both_run):
    truths = both_run.truths
    (cut,) = truths.changelog_truncated
    cycle = both_run.by_key("fct_issue_cycle_times", "issue_key")

    measured = {
        key: (row["cycle_time_seconds"], row["lead_time_seconds"])
        for key, row in cycle.items()
        if row["issue_type"] in ("Story", "Bug") and row["lead_time_seconds"] is not None
    }
    expected = {
        key: (truths.cycle_seconds[key], truths.lead_seconds[key])
        for key in truths.cycle_seconds
        if key != cut.issue_key
    }
    assert len(expected) >= 40
    assert measured.keys() == expected.keys()
    for key, (cycle_seconds, lead_seconds) in expected.items():
        assert measured[key][0] == pytest.approx(cycle_seconds, abs=1e-6), key
        assert measured[key][1] == pytest.approx(lead_seconds, abs=1e-6), key

    truncated = cycle[cut.issue_key]  # a partial history would give a too-short time: withheld and flagged
    assert truncated["changelog_complete"] is False
    assert (truncated["cycle_time_seconds"], truncated["lead_time_seconds"], truncated["reopen_count"]) == (
        None,
        None,
        None,
    )
    complete = [row for row in cycle.values() if row["issue_key"] != cut.issue_key]
    assert all(row["changelog_complete"] for row in complete)


def test_reopened_issues_are_counted(both_run):
    truths = both_run.truths
    (cut,) = truths.changelog_truncated
    cycle = both_run.by_key("fct_issue_cycle_times", "issue_key")
    reopened = {key for key, row in cycle.items() if row["reopen_count"]}
    assert truths.reopened_keys
    assert reopened == set(truths.reopened_keys) - {cut.issue_key}
    assert all(cycle[key]["reopen_count"] == 1 for key in reopened)  # each planted reopen happens once
    assert all(
        row["reopen_count"] == 0
        for key, row in cycle.items()
        if key not in truths.reopened_keys and key != cut.issue_key
    )


def test_initiative_ship_dates_and_slips(both_run):
    truths = both_run.truths
    delivery = both_run.by_key("fct_initiative_delivery", "initiative_key")
    assert set(delivery) == set(truths.initiatives) == {"PROD-1", "PROD-2", "PROD-3"}
    for key, planted in truths.initiatives.items():
        row = delivery[key]
        assert row["due_date"] == planted.due_date, key
        assert row["is_shipped"] is planted.shipped, key
        assert row["ship_date"] == planted.ship_date, key
        assert row["shipped_at"] == _naive_utc(planted.ship_at), key
        assert row["slip_days"] == planted.slip_days, key
        assert row["total_story_points"] == pytest.approx(planted.total_story_points), key
    assert [delivery[k]["slip_days"] for k in ("PROD-1", "PROD-2", "PROD-3")] == [-9, 12, None]


def test_every_sprint_with_point_in_time_points(both_run):
    sprints = both_run.by_key("fct_sprint_metrics", "sprint_id")
    assert set(sprints) == {s.sprint_id for s in both_run.truths.sprints}
    for planted in both_run.truths.sprints:
        row = sprints[planted.sprint_id]
        assert row["state"] == planted.state
        if planted.state == "future":  # nothing has happened yet: no figures, rather than zeros
            assert all(row[c] is None for c in row if c.endswith(("_issues", "_points"))), row
            continue
        measured = {
            "committed": (row["committed_issues"], _points(row["committed_points"])),
            "added": (row["added_issues"], _points(row["added_points"])),
            "completed": (row["completed_issues"], _points(row["completed_points"])),
            "carried_over": (row["carried_over_issues"], _points(row["carried_over_points"])),
        }
        expected = {
            "committed": (len(planted.committed_keys), planted.committed_points),
            "added": (len(planted.added_keys), planted.added_points),
            "completed": (len(planted.completed_keys), planted.completed_points),
            "carried_over": (
                (None, None)
                if planted.carried_over_keys is None
                else (len(planted.carried_over_keys), planted.carried_over_points)
            ),
        }
        assert measured == expected, planted.sprint_id


# ------------------------------------------------------------------------------ JSON only vs CSV only: equivalence

# Per mart: the columns a CSV export can recover (compared between the runs) and the ones only the changelog can
# tell (NULL in the CSV-only run). Times are compared at the minute: Jira's CSV has no seconds.
RECOVERABLE = {
    "fct_issue_cycle_times": (
        "issue_key",
        "project_key",
        "issue_type",
        "hierarchy_level",
        "epic_key",
        "initiative_key",
        "status",
        "status_category",
        "is_done",
        "date_trunc('minute', created_at) as created_minute",
        "date_trunc('minute', resolved_at) as resolved_minute",
        "story_points",
    ),
    "dim_initiatives": (
        "initiative_key",
        "project_key",
        "issue_type",
        "hierarchy_level",
        "summary",
        "status",
        "status_category",
        "due_date",
        "date_trunc('minute', created_at) as created_minute",
        "epic_count",
        "child_issue_count",
        "done_child_issue_count",
        "total_story_points",
        "completed_story_points",
        "progress",
        "ship_date",
        "is_configured",
        "adoption_events",
        "target_metric_type",
    ),
    "fct_initiative_delivery": (
        "initiative_key",
        "summary",
        "status_category",
        "due_date",
        "ship_date",
        "is_shipped",
        "slip_days",
        "child_issue_count",
        "done_child_issue_count",
        "total_story_points",
    ),
}
CHANGELOG_ONLY = {
    "fct_issue_cycle_times": (
        "first_in_progress_at",
        "first_done_at",
        "done_at",
        "lead_time_seconds",
        "cycle_time_seconds",
        "reopen_count",
        "status_change_count",
        "seconds_in_new",
        "seconds_in_indeterminate",
        "seconds_in_done",
    ),
    "fct_initiative_delivery": ("first_started_at", "throughput_issues_per_week", "median_child_cycle_time_seconds"),
}


def test_json_only_and_csv_only_runs_publish(json_run, csv_run):
    assert json_run.outcome.ok, json_run.outcome.to_dict()
    assert csv_run.outcome.ok, csv_run.outcome.to_dict()


@pytest.mark.parametrize("table", sorted(RECOVERABLE))
def test_csv_only_marts_agree_with_json_only_on_what_a_csv_can_recover(json_run, csv_run, table):
    columns = ", ".join(RECOVERABLE[table])
    key = RECOVERABLE[table][0]
    sql = f"select {columns} from {table} order by {key}"
    from_json, from_csv = json_run.rows(sql), csv_run.rows(sql)
    assert len(from_json) == len(from_csv) > 0
    for json_row, csv_row in zip(from_json, from_csv, strict=True):
        assert csv_row == json_row, json_row[key]


def test_csv_only_marts_recover_the_planted_export_state(csv_run):
    truths = csv_run.truths
    cycle = csv_run.by_key("fct_issue_cycle_times", "issue_key")
    project_issues = {k: t for k, t in truths.issues.items() if k.startswith("PROD-")}
    assert set(cycle) >= set(project_issues)
    for key, planted in project_issues.items():
        row = cycle[key]
        assert (row["status"], row["status_category"]) == (planted.status, planted.status_category), key
        assert row["hierarchy_level"] == planted.hierarchy_level, key
        # The mart's initiative is the nearest initiative-or-self, and a sub-task's epic is its story's.
        initiative = key if planted.hierarchy_level == 2 else planted.initiative_key
        epic = truths.issues[planted.parent_key].epic_key if planted.hierarchy_level == -1 else planted.epic_key
        assert (row["epic_key"], row["initiative_key"]) == (epic, initiative), key
        assert _points(row["story_points"]) == planted.story_points, key
    delivery = csv_run.by_key("fct_initiative_delivery", "initiative_key")
    for key, planted in truths.initiatives.items():
        assert (delivery[key]["ship_date"], delivery[key]["slip_days"]) == (planted.ship_date, planted.slip_days), key


def test_changelog_only_columns_are_null_not_wrong_in_the_csv_only_run(json_run, csv_run):
    for table, columns in CHANGELOG_ONLY.items():
        rows = csv_run.rows(f"select {', '.join(columns)} from {table}")
        assert rows
        assert all(value is None for row in rows for value in row.values()), table
        # ... while the JSON run has them
        assert any(
            value is not None
            for row in json_run.rows(f"select {', '.join(columns)} from {table}")
            for value in row.values()
        )
    assert {
        row["changelog_complete"] for row in csv_run.rows("select changelog_complete from fct_issue_cycle_times")
    } == {False}
    # No sprint catalog lands with a CSV export: no sprints to measure (never zeros or guesses).
    assert csv_run.rows("select * from fct_sprint_metrics") == []


# ------------------------------------------------------------------------ CSV in other languages (ingest level)

LINEAGE = ("_source_file", "_file_sha256", "_ingested_at")


def _csv_issue_rows(root: Path, language: str, skip: tuple[str, ...] = ()) -> list[tuple]:
    paths = Paths(root / language / "data").ensure()
    generate_jira(paths.landing, formats=("csv",), language=language, csv_timezone=load_config().jira.csv_timezone)
    report = ingest_jira(paths, load_config())
    assert [r.status for r in report.results] == ["loaded"], [r.describe() for r in report.results]
    files = [str(p) for p in pending_files(paths, "jira", "issues")]
    with duckdb.connect() as con:
        return con.execute(
            f"select * exclude ({', '.join((*LINEAGE, *skip))}) from read_parquet({files!r}) order by issue_key"
        ).fetchall()


@pytest.fixture(scope="module")
def csv_languages_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("csv_languages")


@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_a_translated_csv_export_ingests_to_the_same_issue_rows(csv_languages_root, language):
    english = _csv_issue_rows(csv_languages_root / f"en_for_{language}", "en")
    rows = _csv_issue_rows(csv_languages_root / language, language)
    assert len(rows) == len(english) > 0
    assert rows == english
