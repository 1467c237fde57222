"""The raw gates of Jira changelog items, sprints, comments, issue links, the field and status catalogs: a good export
passes every rule; each kind of bad row fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES
from tests.support.lake_gates import NOW, failed_rules, lineage, validate_rows

BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
NOT_NULL = "expect_column_values_to_not_be_null"
REGEX = "expect_column_values_to_match_regex"
PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
ROW_COUNT = "expect_table_row_count_to_equal"


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({}, Path("test-pmw.yml"))


def changelog_item(n: int) -> dict[str, Any]:
    return {
        "issue_key": f"PROD-{n + 1}",
        "issue_id": str(10_000 + n),
        "history_id": str(500 + n),
        "item_index": 1,
        "changed_at": dt.datetime(2024, 2, 1) + dt.timedelta(hours=n),
        "author_account_id": "acc-1",
        "field": "status",
        "field_id": "status",
        "from_id": "1",
        "from_value": "To Do",
        "to_id": "3",
        "to_value": "In Progress",
        **lineage(n, "jira/search_page_1.json"),
    }


def sprint(n: int) -> dict[str, Any]:
    state = ("closed", "active", "future")[n % 3]
    start = None if state == "future" else dt.datetime(2024, 1, 1) + dt.timedelta(days=14 * n)
    return {
        "sprint_id": 20 + n,
        "board_id": 1,
        "name": f"Sprint {n}",
        "state": state,
        "goal": None,
        "start_at": start,
        "end_at": None if start is None else start + dt.timedelta(days=14),
        "complete_at": start + dt.timedelta(days=14) if state == "closed" else None,
        **lineage(n, "jira/sprints.json"),
    }


def comment(n: int) -> dict[str, Any]:
    return {
        "issue_key": f"PROD-{n // 3 + 1}",
        "comment_index": n % 3 + 1,
        "commented_at": dt.datetime(2024, 3, 1) + dt.timedelta(hours=n),
        "author_account_id": "acc-2",
        "body": "Looks good",
        **lineage(n, "jira/search_page_1.json"),
    }


def issue_link(n: int) -> dict[str, Any]:
    return {
        "issue_key": f"PROD-{n + 1}",
        "issue_id": str(10_000 + n),
        "link_index": 1,
        "link_id": str(900 + n),
        "link_type": "Polaris work item link",
        "direction": ("outward", "inward")[n % 2],
        "link_phrase": ("implements", "is implemented by")[n % 2],
        "linked_issue_key": f"DEV-{n + 1}",
        **lineage(n, "jira/search_page_1.json"),
    }


def field(n: int) -> dict[str, Any]:
    custom = n % 2 == 1
    return {
        "field_id": f"customfield_{10_000 + n}" if custom else f"system_{n}",
        "name": f"Field {n}",
        "is_custom": custom,
        "schema_type": "number",
        "schema_custom": None,
        **lineage(n, "jira/field.json"),
    }


def status(n: int) -> dict[str, Any]:
    return {
        "status_id": str(10_000 + n),
        "name": f"Status {n}",
        "untranslated_name": None,
        "status_category": ("new", "indeterminate", "done", None)[n % 4],  # None: Jira's "No Category"
        "scope_project_id": "10100" if n % 2 else None,
        **lineage(n, "jira/status.json"),
    }


ENTITIES = {
    "raw_jira_changelog": changelog_item,
    "raw_jira_sprints": sprint,
    "raw_jira_comments": comment,
    "raw_jira_issue_links": issue_link,
    "raw_jira_fields": field,
    "raw_jira_statuses": status,
}


@pytest.mark.parametrize("gate_name", sorted(ENTITIES))
def test_a_good_export_passes_every_rule(gate_name, config):
    result = validate_rows(GATES[gate_name], [ENTITIES[gate_name](n) for n in range(9)], config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert not result.warnings


BAD_ROWS = [
    ("raw_jira_changelog", {"changed_at": dt.datetime(9999, 1, 1)}, ("row", BETWEEN, ("changed_at",))),
    ("raw_jira_changelog", {"issue_key": "prod 5"}, ("row", REGEX, ("issue_key",))),
    ("raw_jira_changelog", {"history_id": None}, ("row", NOT_NULL, ("history_id",))),
    ("raw_jira_changelog", {"item_index": 0}, ("row", BETWEEN, ("item_index",))),
    ("raw_jira_sprints", {"state": "paused"}, ("row", IN_SET, ("state",))),
    ("raw_jira_sprints", {"sprint_id": -3}, ("row", BETWEEN, ("sprint_id",))),
    ("raw_jira_sprints", {"start_at": dt.datetime(1970, 1, 1)}, ("row", BETWEEN, ("start_at",))),
    ("raw_jira_sprints", {"end_at": NOW + dt.timedelta(days=400)}, ("row", BETWEEN, ("end_at",))),
    ("raw_jira_sprints", {"end_at": dt.datetime(2024, 1, 2)}, ("row", PAIR, ("end_at", "start_at"))),
    ("raw_jira_comments", {"commented_at": dt.datetime(9999, 1, 1)}, ("row", BETWEEN, ("commented_at",))),
    ("raw_jira_comments", {"comment_index": 0}, ("row", BETWEEN, ("comment_index",))),
    ("raw_jira_comments", {"issue_key": None}, ("row", NOT_NULL, ("issue_key",))),
    ("raw_jira_issue_links", {"direction": "sideways"}, ("row", IN_SET, ("direction",))),
    ("raw_jira_issue_links", {"linked_issue_key": "Blocks"}, ("row", REGEX, ("linked_issue_key",))),
    ("raw_jira_issue_links", {"link_type": None}, ("row", NOT_NULL, ("link_type",))),
    ("raw_jira_fields", {"name": None}, ("row", NOT_NULL, ("name",))),
    ("raw_jira_fields", {"is_custom": False}, ("custom_means_a_customfield_id", ROW_COUNT, ())),
    ("raw_jira_statuses", {"status_category": "undefined"}, ("row", IN_SET, ("status_category",))),
    ("raw_jira_statuses", {"name": None}, ("row", NOT_NULL, ("name",))),
    ("raw_jira_statuses", {"status_id": "In Progress"}, ("row", REGEX, ("status_id",))),
    # Row 1 is "Status 1" (indeterminate) in project 10100; row 3, in the same project, renamed to it as done.
    (
        "raw_jira_statuses",
        {"name": "status 1 ", "status_category": "done"},
        ("one_category_per_status_name_and_scope", ROW_COUNT, ()),
    ),
]


@pytest.mark.parametrize(("gate_name", "change", "rule"), BAD_ROWS, ids=lambda v: str(v)[:40])
def test_a_bad_row_fails_exactly_its_rule(gate_name, change, rule, config):
    rows = [ENTITIES[gate_name](n) for n in range(6)]
    rows[3].update(change)  # row 3: a closed sprint, an outward link, a custom field

    result = validate_rows(GATES[gate_name], rows, config)

    assert not result.success
    assert failed_rules(result) == {rule}
