"""The Jira slice end to end with the sample as REST JSON only and as CSV only: two data directories, each a whole
run of its own (a small analytics sample lands too).

- JSON only vs CSV only: the marts agree, column by column, on what a CSV export can recover (the truths'
  ``recoverable_from_csv``); what only the changelog can tell is NULL in the CSV-only marts, never a wrong value.
"""

from __future__ import annotations

import pytest

from core.config import load_config
from core.settings import Paths
from pmw.pipeline import run_pipeline
from sample_generator.analytics import generate_analytics
from sample_generator.jira import generate_jira
from tests.support.jira_runs import JiraRun, points

pytestmark = pytest.mark.slow


def _run(tmp_path_factory, name: str, formats: tuple[str, ...]) -> JiraRun:
    paths = Paths(tmp_path_factory.mktemp(name) / "data").ensure()
    generate_analytics(paths.landing, seed=11, users=150, days=35, events_per_user=6)
    truths = generate_jira(paths.landing, formats=formats, csv_timezone=load_config().jira.csv_timezone)
    return JiraRun(paths, run_pipeline(paths), truths)


@pytest.fixture(scope="module")
def json_run(tmp_path_factory) -> JiraRun:
    return _run(tmp_path_factory, "jira_json_only", ("json",))


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory) -> JiraRun:
    return _run(tmp_path_factory, "jira_csv_only", ("csv",))


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
        assert points(row["story_points"]) == planted.story_points, key
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
