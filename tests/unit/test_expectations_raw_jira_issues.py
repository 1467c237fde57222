"""The raw Jira issues gate: a good export passes; each kind of bad row fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_parquet_files, validate_relation
from ingest.jira.contract import ISSUE_COLUMNS

GATE = GATES["raw_jira_issues"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({}, Path("test-pmw.yml"))


def good_issues(count: int) -> list[dict[str, Any]]:
    categories = ("new", "indeterminate", "done")
    return [
        {
            "issue_id": str(10_000 + number),
            "issue_key": f"PROD-{number + 1}",
            "project_key": "PROD",
            "issue_type": "Story",
            "hierarchy_level": 0,
            "status": ("To Do", "In Progress", "Done")[number % 3],
            "status_category": categories[number % 3],
            "story_points": number % 8,
            "confidence": 0.8,
            "created_at": dt.datetime(2024, 1, 1) + dt.timedelta(hours=number),
            "updated_at": dt.datetime(2024, 3, 1) + dt.timedelta(hours=number),
            "resolved_at": dt.datetime(2024, 2, 1) if number % 3 == 2 else None,
            "changelog_complete": True,
            "_source_file": "jira/export.json",
            "_source_format": "rest_v3",
            "_record_number": number + 1,
            "_file_sha256": "a" * 64,
            "_ingested_at": dt.datetime(2024, 3, 2),
        }
        for number in range(count)
    ]


def load(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], table: str = "issues") -> str:
    con.execute(f"create or replace table {table} ({', '.join(f'{c} {t}' for c, t in ISSUE_COLUMNS)})")
    for row in rows:
        con.execute(
            f"insert into {table} values ({', '.join('?' for _ in ISSUE_COLUMNS)})",
            [row.get(c) for c, _ in ISSUE_COLUMNS],
        )
    return table


def validate(rows: list[dict[str, Any]], config: PipelineConfig) -> GateResult:
    with duckdb.connect() as con:
        return validate_relation(con, load(con, rows), GATE, config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def test_a_good_export_passes_every_rule(config):
    result = validate(good_issues(30), config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert result.rows_validated == 30
    suite_rules = len(GATE.build_suite(config, now=NOW).expectations)
    # + 1: the runner's per-file contract types rule (Gate.contract)
    assert len(result.results) == suite_rules + len(GATE.derived_checks(config)) + 1


def test_a_csv_copy_and_a_newer_version_of_an_issue_are_not_conflicts(config):
    rows = good_issues(5)
    csv_copy = rows[2] | {"status_category": None, "changelog_complete": None, "_source_format": "csv"}
    newer = rows[2] | {"status": "Closed", "updated_at": rows[2]["updated_at"] + dt.timedelta(days=1)}
    exact_copy = dict(rows[3])

    result = validate([*rows, csv_copy, newer, exact_copy], config)

    assert result.success, result.summary()


def test_two_states_with_the_same_updated_at_fail_the_conflict_rule(config):
    rows = good_issues(5)
    rows.append(rows[1] | {"status": "Done", "status_category": "done", "_record_number": 99})

    result = validate(rows, config)

    assert failed_rules(result) == {("no_conflicting_duplicates", "expect_table_row_count_to_equal", ())}
    (failed,) = result.failed_errors
    assert failed.unexpected_examples[0]["issue_key"] == "PROD-2"


def test_malformed_key_and_unknown_category_fail_their_rules(config):
    rows = good_issues(10)
    rows[3]["issue_key"] = "prod 4"
    rows[4]["status_category"] = "In Progress"  # a status name where the category key belongs
    rows[5]["status_category"] = None  # CSV exports have no category: fine

    result = validate(rows, config)

    assert failed_rules(result) == {
        ("row", "expect_column_values_to_match_regex", ("issue_key",)),
        ("row", "expect_column_values_to_be_in_set", ("status_category",)),
    }


def test_bad_times_fail_their_rules(config):
    rows = good_issues(10)
    rows[1]["created_at"] = NOW + dt.timedelta(days=3)
    rows[2]["resolved_at"] = rows[2]["created_at"] - dt.timedelta(hours=1)
    rows[4]["created_at"] = None

    result = validate(rows, config)

    assert failed_rules(result) == {
        ("row", "expect_column_values_to_be_between", ("created_at",)),
        ("row", "expect_column_pair_values_a_to_be_greater_than_b", ("resolved_at", "created_at")),
        ("row", "expect_column_values_to_not_be_null", ("created_at",)),
    }


def test_negative_points_and_confidence_above_one_fail(config):
    rows = good_issues(10)
    rows[1]["story_points"] = -3
    rows[2]["confidence"] = 80  # a percentage the parser forgot to normalise

    result = validate(rows, config)

    assert failed_rules(result) == {
        ("row", "expect_column_values_to_be_between", ("story_points",)),
        ("row", "expect_column_values_to_be_between", ("confidence",)),
    }


def test_lake_files_are_validated_as_one_relation(config, tmp_path):
    files = []
    with duckdb.connect() as con:
        for number, rows in enumerate((good_issues(4), good_issues(6)[4:])):
            table = load(con, rows, f"issues_{number}")
            path = tmp_path / f"issues_{number}.parquet"
            con.execute(f"copy {table} to '{path}' (format parquet)")
            files.append(path)
        # the same PROD-1 state again in a later file: exact re-exports are fine
        con.execute(f"copy (select * from issues_0 limit 1) to '{tmp_path / 'again.parquet'}' (format parquet)")
        files.append(tmp_path / "again.parquet")

    result = validate_parquet_files(files, GATE, config=config, now=NOW)

    assert result.success, result.summary()
    assert result.rows_validated == 7
