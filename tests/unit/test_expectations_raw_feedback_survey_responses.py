"""The raw survey responses gate: a good export passes; each kind of bad row fails exactly its rule."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_parquet_files, validate_relation
from ingest.common.identity import email_hash
from ingest.feedback.contract import SURVEY_RESPONSE_COLUMNS

GATE = GATES["raw_feedback_survey_responses"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({}, Path("test-pmw.yml"))


def good_responses(count: int) -> list[dict[str, Any]]:
    rows = []
    for number in range(count):
        is_nps = number % 3 != 2
        rows.append(
            {
                "response_id": f"r{number}",
                "survey_type": "nps" if is_nps else "csat",
                "survey_name": "Quarterly NPS" if is_nps else "Support CSAT",
                "vendor": "delighted",
                "score": number % 11 if is_nps else 1 + number % 5,
                "scale_min": 0 if is_nps else 1,
                "scale_max": 10 if is_nps else 5,
                "comment": "great product, see ticket #12" if number % 4 == 0 else None,
                "respondent_email_hash": email_hash(f"person{number}@example.com"),
                "user_id": f"u{number}" if number % 2 else None,
                "responded_at": dt.datetime(2024, 3, 1) + dt.timedelta(hours=number),
                "properties": json.dumps({"plan": "pro", "platform": "web"}),
                "_source_file": "feedback/delighted.json",
                "_source_format": "delighted_json",
                "_record_number": number + 1,
                "_file_sha256": "b" * 64,
                "_ingested_at": dt.datetime(2024, 3, 5),
            }
        )
    return rows


def load(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], table: str = "responses") -> str:
    con.execute(f"create or replace table {table} ({', '.join(f'{c} {t}' for c, t in SURVEY_RESPONSE_COLUMNS)})")
    for row in rows:
        con.execute(
            f"insert into {table} values ({', '.join('?' for _ in SURVEY_RESPONSE_COLUMNS)})",
            [row.get(c) for c, _ in SURVEY_RESPONSE_COLUMNS],
        )
    return table


def validate(rows: list[dict[str, Any]], config: PipelineConfig) -> GateResult:
    with duckdb.connect() as con:
        return validate_relation(con, load(con, rows), GATE, config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def test_a_good_export_passes_every_rule(config):
    rows = good_responses(30)
    assert {r["score"] for r in rows if r["survey_type"] == "nps"} >= {0, 10}  # both ends of the scale

    result = validate(rows, config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert result.rows_validated == 30
    suite_rules = len(GATE.build_suite(config, now=NOW).expectations)
    # + 1: the runner's per-file contract types rule (Gate.contract)
    assert len(result.results) == suite_rules + len(GATE.derived_checks(config)) + 1


def test_scores_outside_their_scale_fail(config):
    rows = good_responses(9)
    rows[0]["score"] = 11  # NPS above 10
    rows[2]["score"] = 0  # CSAT below 1

    result = validate(rows, config)

    assert failed_rules(result) == {
        ("row", "expect_column_pair_values_a_to_be_greater_than_b", ("scale_max", "score")),
        ("row", "expect_column_pair_values_a_to_be_greater_than_b", ("score", "scale_min")),
    }


def test_a_csat_on_a_seven_point_scale_fails_the_scale_rule(config):
    rows = good_responses(9)
    rows[5] |= {"scale_max": 7, "score": 6}

    result = validate(rows, config)

    assert failed_rules(result) == {("scale_matches_survey_type", "expect_table_row_count_to_equal", ())}
    assert result.failed_errors[0].unexpected_examples[0]["response_id"] == "r5"


def test_unknown_survey_type_fails(config):
    rows = good_responses(6)
    rows[1]["survey_type"] = "ces"

    result = validate(rows, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_in_set", ("survey_type",))}


def test_missing_ids_and_bad_times_fail(config):
    rows = good_responses(8)
    rows[1]["response_id"] = None
    rows[2]["responded_at"] = None
    rows[3]["responded_at"] = NOW + dt.timedelta(days=2)

    result = validate(rows, config)

    assert failed_rules(result) == {
        ("row", "expect_column_values_to_not_be_null", ("response_id",)),
        ("row", "expect_column_values_to_not_be_null", ("responded_at",)),
        ("row", "expect_column_values_to_be_between", ("responded_at",)),
    }


def test_a_raw_email_in_any_text_column_fails(config):
    rows = good_responses(8)
    rows[0]["comment"] = "call me back: jane.doe@example.co.uk"
    rows[1]["properties"] = json.dumps({"plan": "pro", "email": "Bob@Example.com"})
    rows[3]["respondent_id"] = "someone@corp.io"

    result = validate(rows, config)

    assert failed_rules(result) == {
        ("row", "expect_column_values_to_not_match_regex", ("comment",)),
        ("row", "expect_column_values_to_not_match_regex", ("properties",)),
        ("row", "expect_column_values_to_not_match_regex", ("respondent_id",)),
    }


def test_lake_files_are_validated_as_one_relation(config, tmp_path):
    files = []
    with duckdb.connect() as con:
        for number, rows in enumerate((good_responses(4), good_responses(7)[4:])):
            table = load(con, rows, f"responses_{number}")
            path = tmp_path / f"responses_{number}.parquet"
            con.execute(f"copy {table} to '{path}' (format parquet)")
            files.append(path)

    result = validate_parquet_files(files, GATE, config=config, now=NOW)

    assert result.success, result.summary()
    assert result.rows_validated == 7
