"""The Jira slice end to end: generated exports -> ingest -> lake -> dbt -> gates -> PUBLISHED marts.

The default Jira sample as REST JSON and CSV together is the session's shared run (the shared run,
which lands this same Jira sample next to every other source). The sample as JSON only and as CSV only, each a run
of its own, is tests/scenarios/test_jira_formats_pipeline.py.
- The JSON+CSV run must recover what the generator planted: every cycle and lead time to the millisecond (the issue
  whose changelog was cut short is NULL and flagged instead), the three initiatives' ship dates and slips, every
  sprint's committed / added / completed / carried-over issues and point-in-time points, the reopened issues.
- The CSV export in French, German and Spanish ingests to the same issue rows as the English one (ingest level).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from core.config import load_config
from core.settings import Paths
from ingest.common.lake import pending_files
from ingest.jira import ingest_jira
from orchestration.run_records import read_last_run
from pmw.pipeline import RunOutcome
from sample_generator.jira import generate_jira
from tests.support.jira_runs import JiraRun, points

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def both_run(portfolio_sample_run) -> JiraRun:
    paths, truths = portfolio_sample_run
    record = read_last_run(paths)
    assert record is not None
    outcome = RunOutcome(**{f.name: record[f.name] for f in dataclasses.fields(RunOutcome) if f.name in record})
    return JiraRun(paths, outcome, truths["jira"])


def _naive_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


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


def test_every_sprint_with_point_in_timepoints(both_run):
    sprints = both_run.by_key("fct_sprint_metrics", "sprint_id")
    assert set(sprints) == {s.sprint_id for s in both_run.truths.sprints}
    for planted in both_run.truths.sprints:
        row = sprints[planted.sprint_id]
        assert row["state"] == planted.state
        if planted.state == "future":  # nothing has happened yet: no figures, rather than zeros
            assert all(row[c] is None for c in row if c.endswith(("_issues", "_points"))), row
            continue
        measured = {
            "committed": (row["committed_issues"], points(row["committed_points"])),
            "added": (row["added_issues"], points(row["added_points"])),
            "completed": (row["completed_issues"], points(row["completed_points"])),
            "carried_over": (row["carried_over_issues"], points(row["carried_over_points"])),
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
