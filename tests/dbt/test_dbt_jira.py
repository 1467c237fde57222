"""The Jira part of the dbt project end to end on a tiny lake: staging dedupe, status history, delivery marts.

The lake files carry exactly the columns and types of ingest/jira/contract.py (plus a zero-row analytics file,
for the models that read events). dbt builds the delivery marts and their ancestors (BUILD) in its own process
with the shipped configuration's vars, as the pipeline calls it. Every expected figure below is worked out by
hand from the rows written here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.config import load_config
from core.settings import DBT_PROJECT_DIR
from ingest.jira.contract import ENTITIES
from tests.support.contract_types import duckdb_spelling
from tests.support.jira_lake import at, issue, write_jira_file, write_jira_schema_files
from tests.support.warehouse import Warehouse, as_dicts, build_selecting, by_key, write_schema_file

DELIVERY_MARTS = ("fct_issue_cycle_times", "fct_sprint_metrics", "dim_initiatives", "fct_initiative_delivery")
# Only the models these tests read and their ancestors (tests/support/warehouse.build_selecting).
BUILD = build_selecting(
    *DELIVERY_MARTS,
    "int_issue_status_transitions",
    "int_issues_rolled_up_to_initiatives",
    "stg_jira__changelog",
    "stg_jira__issues",
)
DAY = 86_400


def status_history(key: str, *moves: tuple[dt.datetime, str, str]) -> list[dict[str, Any]]:
    return [
        {
            "issue_key": key,
            "history_id": f"{key}-s{number}",
            "item_index": 0,
            "changed_at": moment,
            "field": "status",
            "field_id": "status",
            "from_value": from_status,
            "to_value": to_status,
        }
        for number, (moment, from_status, to_status) in enumerate(moves, start=1)
    ]


def sprint_history(key: str, *moves: tuple[dt.datetime, str, str]) -> list[dict[str, Any]]:
    return [
        {
            "issue_key": key,
            "history_id": f"{key}-p{number}",
            "item_index": 0,
            "changed_at": moment,
            "field": "Sprint",
            "field_id": "customfield_10020",
            "from_id": from_ids,
            "to_id": to_ids,
        }
        for number, (moment, from_ids, to_ids) in enumerate(moves, start=1)
    ]


TODO, DOING, DONE = "To Do", "In Progress", "Done"

ISSUES = [
    # PROD-1 moves itself to Done on 5 March, 4 days after its due date: shipped by its own move.
    issue("PROD-1", "Initiative", 2, DONE, "done", created_at=at(1, 20), due_date=dt.date(2024, 3, 1)),
    issue("PROD-10", "Epic", 1, DONE, "done", parent_key="PROD-1", created_at=at(1, 21)),
    issue(
        "PROD-11",
        "Story",
        0,
        DONE,
        "done",
        epic_key="PROD-10",
        story_points=5,
        time_spent_seconds=36_000,
        sprint_ids=[100],
        updated_at=at(2, 6, 9.0084),
    ),
    issue(
        "PROD-12",
        "Story",
        0,
        DONE,
        "done",
        parent_key="PROD-10",
        story_points=3,
        time_spent_seconds=21_600,
        sprint_ids=[100],
    ),
    # PROD-2 never moves; its epic and children are all done, the last on 15 March 12:00 (due 10 March).
    issue("PROD-2", "Initiative", 2, DOING, "indeterminate", created_at=at(1, 20), due_date=dt.date(2024, 3, 10)),
    issue("PROD-20", "Epic", 1, DONE, "done", parent_key="PROD-2", created_at=at(1, 21)),
    issue("PROD-21", "Story", 0, DONE, "done", epic_key="PROD-20", story_points=8, sprint_ids=[100, 101]),
    issue("PROD-22", "Bug", 0, DONE, "done", parent_key="PROD-20", story_points=2),
    # PROD-3 has open work: not shipped. PROD-30's inline changelog was cut short.
    issue("PROD-3", "Initiative", 2, TODO, "new", created_at=at(1, 20), due_date=dt.date(2024, 4, 1)),
    issue(
        "PROD-30",
        "Story",
        0,
        DOING,
        "indeterminate",
        parent_key="PROD-3",
        story_points=5,
        sprint_ids=[100, 101],
        changelog_complete=False,
        changelog_total=150,
        changelog_loaded=100,
    ),
]
CHANGELOG = [
    *status_history("PROD-1", (at(1, 22), TODO, DOING), (at(3, 5, 10), DOING, DONE)),
    *status_history("PROD-10", (at(2, 8), TODO, DONE)),
    # a reopen: done on 4 Feb, back in progress on 5 Feb, done for good on 6 Feb
    *status_history(
        "PROD-11", (at(2, 2), TODO, DOING), (at(2, 4), DOING, DONE), (at(2, 5), DONE, DOING), (at(2, 6), DOING, DONE)
    ),
    # back and forth without a reopen
    *status_history(
        "PROD-12", (at(2, 2), TODO, DOING), (at(2, 3), DOING, TODO), (at(2, 5), TODO, DOING), (at(2, 7), DOING, DONE)
    ),
    *sprint_history("PROD-12", (at(1, 30), "", "100")),
    # re-estimated mid-sprint (sprint 100 started on 1 Feb): 1 point when committed, 3 at the close
    {
        "issue_key": "PROD-12",
        "history_id": "PROD-12-e1",
        "item_index": 0,
        "changed_at": at(2, 4),
        "field": "Story Points",
        "field_id": "customfield_10028",
        "from_value": "1",
        "to_value": "3",
    },
    *status_history("PROD-2", (at(2, 1), TODO, DOING)),
    *status_history("PROD-20", (at(3, 14), TODO, DONE)),
    *status_history("PROD-21", (at(2, 10), TODO, DOING), (at(3, 12), DOING, DONE)),
    # added to sprint 100 after its start, carried over to sprint 101 at its close
    *sprint_history("PROD-21", (at(2, 5, 10), "", "100"), (at(2, 14), "100", "100, 101")),
    *status_history("PROD-22", (at(3, 13), TODO, DOING), (at(3, 15, 12), DOING, DONE)),
    *status_history("PROD-30", (at(2, 9), TODO, DOING)),
    *sprint_history("PROD-30", (at(1, 30), "", "100"), (at(2, 14), "100", "100, 101")),
]
SPRINTS = [
    {
        "sprint_id": 100,
        "board_id": 1,
        "name": "Sprint 1",
        "state": "closed",
        "start_at": at(2, 1, 8),
        "end_at": at(2, 14, 8),
        "complete_at": at(2, 14, 9),
    },
    {
        "sprint_id": 101,
        "board_id": 1,
        "name": "Sprint 2",
        "state": "active",
        "start_at": at(2, 14, 10),
        "end_at": at(2, 28, 10),
    },
    {"sprint_id": 102, "board_id": 1, "name": "Sprint 3", "state": "future"},
]


def build_lake(lake_dir: Path) -> None:
    write_schema_file(lake_dir)  # the analytics area exists but is empty
    write_jira_schema_files(lake_dir)
    write_jira_file(lake_dir, "issues", "export_1.json", ISSUES, ingested_at=dt.datetime(2024, 3, 21))
    write_jira_file(lake_dir, "changelog", "export_1.json", CHANGELOG, ingested_at=dt.datetime(2024, 3, 21))
    write_jira_file(lake_dir, "sprints", "sprints_1.json", SPRINTS, ingested_at=dt.datetime(2024, 3, 21))
    # A CSV export landed later: the same PROD-11 state in the same minute (no category, no changelog), and
    # PROD-31, which only the CSV has; its "In Progress" borrows the category the JSON export gives that status.
    write_jira_file(
        lake_dir,
        "issues",
        "export_2.csv",
        [
            issue(
                "PROD-11",
                "Story",
                0,
                DONE,
                None,
                epic_key="PROD-10",
                story_points=5,
                updated_at=at(2, 6),
                changelog_complete=None,
                changelog_total=None,
                changelog_loaded=None,
            ),
            issue(
                "PROD-31",
                "Story",
                0,
                DOING,
                None,
                parent_key="PROD-3",
                story_points=3,
                changelog_complete=None,
                changelog_total=None,
                changelog_loaded=None,
            ),
            # Only in the CSV, which has no hierarchy column (ingest names epics and sub-tasks only): PROD-4, of a
            # type no JSON row has, is level 2 as the parent of an epic; PROD-41 borrows Story's level from the JSON
            # rows; PROD-42's type is unknown everywhere: a standard level 0.
            *(
                issue(key, issue_type, level, TODO, None, changelog_complete=None, **links)
                for key, issue_type, level, links in (
                    ("PROD-4", "Theme", None, {}),
                    ("PROD-40", "Epic", 1, {"parent_key": "PROD-4"}),
                    ("PROD-41", "Story", None, {"parent_key": "PROD-40", "epic_key": "PROD-40"}),
                    ("PROD-42", "Spike", None, {"parent_key": "PROD-40", "epic_key": "PROD-40"}),
                )
            ),
        ],
        ingested_at=dt.datetime(2024, 3, 22),
    )
    # An older JSON export ingested last: PROD-12 as it was on 3 Feb, and the changelog items it already had.
    write_jira_file(
        lake_dir,
        "issues",
        "export_0.json",
        [issue("PROD-12", "Story", 0, TODO, "new", parent_key="PROD-10", story_points=1, updated_at=at(2, 3))],
        ingested_at=dt.datetime(2024, 3, 23),
    )
    write_jira_file(
        lake_dir,
        "changelog",
        "export_0.json",
        [row for row in CHANGELOG if row["issue_key"] == "PROD-12" and row["changed_at"] <= at(2, 3)],
        ingested_at=dt.datetime(2024, 3, 23),
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, dbt_parse_cache) -> Warehouse:
    root = tmp_path_factory.mktemp("jira_warehouse")
    built = Warehouse(root, load_config().dbt_vars(), dbt_parse_cache)
    build_lake(built.lake_dir)
    elapsed = built.dbt(*BUILD)
    print(f"\ndbt build with the Jira lake: {elapsed:.1f} s wall")
    return built


def test_source_columns_match_the_jira_contract():
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "jira" / "_jira__sources.yml").read_text())
    (source,) = [s for s in declared["sources"] if s["name"] == "jira"]
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == set(ENTITIES)
    for entity, columns in ENTITIES.items():
        assert [(c["name"], duckdb_spelling(c["data_type"])) for c in tables[entity]["columns"]] == [
            (name, duckdb_spelling(dtype)) for name, dtype in columns
        ], entity


def test_issues_keep_the_newest_json_copy_and_resolve_categories(warehouse):
    issues = by_key(as_dicts(warehouse, "select * from intermediate.int_issues_categorised"), "issue_key")

    assert len(issues) == 15
    assert issues["PROD-11"]["source_format"] == "rest_v3"  # same minute as the later CSV copy: JSON wins
    assert issues["PROD-11"]["changelog_complete"] is True
    assert issues["PROD-12"]["status"] == DONE  # the newer state, though an older export was ingested last
    assert float(issues["PROD-12"]["story_points"]) == 3
    assert (issues["PROD-31"]["status_category"], issues["PROD-31"]["status_category_source"]) == (
        "indeterminate",
        "status_name",
    )
    assert issues["PROD-31"]["changelog_complete"] is False  # a CSV row has no changelog to trust
    assert warehouse.rows("select count(*) from staging.stg_jira__changelog") == [(len(CHANGELOG),)]


def test_hierarchy_levels_of_csv_only_issues(warehouse):
    issues = by_key(as_dicts(warehouse, "select * from intermediate.int_issues_categorised"), "issue_key")
    levels = {key: (issues[key]["hierarchy_level"], issues[key]["hierarchy_level_source"]) for key in issues}
    assert levels["PROD-1"] == (2, "export")
    assert levels["PROD-40"] == (1, "export")  # ingest reads "Epic" as level 1
    assert levels["PROD-4"] == (2, "parent_of_epic")
    assert levels["PROD-41"] == (0, "issue_type")
    assert levels["PROD-42"] == (0, "default")
    rollup = by_key(as_dicts(warehouse, "select * from intermediate.int_issues_rolled_up_to_initiatives"), "issue_key")
    assert (rollup["PROD-41"]["epic_key"], rollup["PROD-41"]["initiative_key"]) == ("PROD-40", "PROD-4")


def test_status_intervals_with_a_reopen_and_a_back_and_forth(warehouse):
    intervals = as_dicts(
        warehouse,
        "select issue_key, transition_number, status, status_category, entered_at, exited_at, seconds_in_status, "
        "is_reopen from intermediate.int_issue_status_transitions "
        "where issue_key in ('PROD-11', 'PROD-12') order by issue_key, transition_number",
    )
    assert [(r["issue_key"], r["status"], r["is_reopen"]) for r in intervals] == [
        ("PROD-11", TODO, False),
        ("PROD-11", DOING, False),
        ("PROD-11", DONE, False),
        ("PROD-11", DOING, True),
        ("PROD-11", DONE, False),
        ("PROD-12", TODO, False),
        ("PROD-12", DOING, False),
        ("PROD-12", TODO, False),
        ("PROD-12", DOING, False),
        ("PROD-12", DONE, False),
    ]
    assert intervals[0]["entered_at"] == at(1, 25)  # the creation status starts at created_at
    assert intervals[0]["seconds_in_status"] == 8 * DAY
    assert intervals[4]["exited_at"] is None and intervals[4]["seconds_in_status"] is None


def test_cycle_times(warehouse):
    cycle = by_key(as_dicts(warehouse, "select * from marts.fct_issue_cycle_times"), "issue_key")

    reopened = cycle["PROD-11"]
    assert reopened["done_at"] == at(2, 6)  # the final done, not the first (4 Feb)
    assert reopened["first_done_at"] == at(2, 4)
    assert reopened["reopen_count"] == 1
    assert reopened["lead_time_seconds"] == 12 * DAY  # 25 Jan -> 6 Feb
    assert reopened["cycle_time_seconds"] == 4 * DAY  # 2 Feb -> 6 Feb
    assert reopened["seconds_in_indeterminate"] == 3 * DAY  # 2 -> 4 Feb and 5 -> 6 Feb
    assert reopened["seconds_in_done"] == 1 * DAY  # 4 -> 5 Feb, before the reopen
    assert (reopened["epic_key"], reopened["initiative_key"]) == ("PROD-10", "PROD-1")

    back_and_forth = cycle["PROD-12"]
    assert (back_and_forth["reopen_count"], back_and_forth["cycle_time_seconds"]) == (0, 5 * DAY)

    truncated = cycle["PROD-30"]
    assert truncated["changelog_complete"] is False
    assert truncated["first_in_progress_at"] is None and truncated["reopen_count"] is None


def test_sprint_metrics(warehouse):
    sprints = by_key(as_dicts(warehouse, "select * from marts.fct_sprint_metrics"), "sprint_id")

    closed = sprints[100]  # PROD-11 (from creation), PROD-12 and PROD-30 before the start; PROD-21 added later
    # points as of the start: PROD-12 was re-estimated from 1 to 3 mid-sprint (5 + 1 + 5), as of the close (5 + 3)
    assert (closed["committed_issues"], float(closed["committed_points"])) == (3, 11)
    assert (closed["added_issues"], float(closed["added_points"])) == (1, 8)
    assert (closed["completed_issues"], float(closed["completed_points"])) == (2, 8)
    assert (closed["carried_over_issues"], float(closed["carried_over_points"])) == (2, 13)
    assert closed["issues_with_incomplete_changelog"] == 1

    active = sprints[101]  # both carried-over issues joined at sprint 100's close, before 101 started
    assert (active["committed_issues"], active["added_issues"], active["completed_issues"]) == (2, 0, 1)
    assert active["carried_over_issues"] is None

    future = sprints[102]
    assert future["committed_issues"] is None and future["completed_issues"] is None


def test_initiatives_ship_dates_slip_and_effort(warehouse):
    initiatives = by_key(as_dicts(warehouse, "select * from marts.dim_initiatives"), "initiative_key")
    delivery = by_key(as_dicts(warehouse, "select * from marts.fct_initiative_delivery"), "initiative_key")
    assert set(initiatives) == set(delivery) == {"PROD-1", "PROD-2", "PROD-3", "PROD-4"}

    own_move = delivery["PROD-1"]
    assert (own_move["shipped_at"], own_move["ship_date_rule"], own_move["slip_days"]) == (
        at(3, 5, 10),
        "initiative_done",
        4,
    )
    assert own_move["effort_basis"] == "time_tracking"
    assert own_move["effort_person_months"] == pytest.approx((36_000 + 21_600) / (160 * 3600))
    assert own_move["first_started_at"] == at(1, 22)
    span_weeks = (at(3, 5, 10) - at(1, 22)).total_seconds() / (7 * DAY)
    assert own_move["throughput_issues_per_week"] == pytest.approx(2 / span_weeks)
    assert own_move["median_child_cycle_time_seconds"] == pytest.approx(4.5 * DAY)
    assert (initiatives["PROD-1"]["epic_count"], initiatives["PROD-1"]["child_issue_count"]) == (1, 2)
    assert list(initiatives["PROD-1"]["adoption_events"]) == ["report_shared"]

    by_children = delivery["PROD-2"]
    assert (by_children["shipped_at"], by_children["ship_date_rule"], by_children["slip_days"]) == (
        at(3, 15, 12),
        "last_child_done",
        5,
    )
    assert (by_children["effort_basis"], by_children["effort_person_months"]) == ("story_points", pytest.approx(1.0))

    open_work = delivery["PROD-3"]
    assert (open_work["is_shipped"], open_work["ship_date"], open_work["slip_days"]) == (False, None, None)
    assert open_work["effort_person_months"] == pytest.approx(0.8)  # 5 + 3 points at 10 per person-month
    assert initiatives["PROD-3"]["progress"] == 0


def test_rerunning_changes_nothing(warehouse):
    def contents() -> dict[str, list[tuple]]:
        return {mart: sorted(warehouse.rows(f"select * from marts.{mart}"), key=repr) for mart in DELIVERY_MARTS}

    before = contents()
    assert all(before.values())
    warehouse.dbt(*BUILD)
    assert contents() == before
