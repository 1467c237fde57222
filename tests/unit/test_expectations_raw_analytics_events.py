"""The raw analytics events gate: good lake rows pass; each kind of bad row fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_parquet_files, validate_relation
from expectations.runner import sql_string
from ingest.analytics.contract import EVENT_COLUMNS

GATE = GATES["raw_analytics_events"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)
KNOWN_EVENTS = ["page_viewed", "signed_up", "report_created"]


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({"analytics": {"known_events": KNOWN_EVENTS}}, Path("test-pmw.yml"))


def good_events(rows: int, key_prefix: str = "key") -> pd.DataFrame:
    """Contract-shaped events, every row valid; exact duplicates are included because raw data has them."""
    sources = ["amplitude", "mixpanel", "csv"]
    frame = pd.DataFrame(
        {
            "event_key": [f"{key_prefix}-{i}" for i in range(rows)],
            "source": [sources[i % 3] for i in range(rows)],
            "event_name": [KNOWN_EVENTS[i % 3] for i in range(rows)],
            "user_id": [f"user-{i % 97}" if i % 5 else None for i in range(rows)],
            "anonymous_id": [f"anon-{i % 89}" for i in range(rows)],
            "session_key": [None] * rows,
            "event_time": [NOW - dt.timedelta(minutes=i) for i in range(rows)],
            "received_at": [NOW - dt.timedelta(minutes=i) + dt.timedelta(seconds=3) for i in range(rows)],
            "platform": ["web"] * rows,
            "country": ["DE"] * rows,
            "revenue": [None if i % 4 else 9.99 for i in range(rows)],
            "properties": ['{"plan": "pro"}' if i % 2 else "{}" for i in range(rows)],
            "user_properties": ["{}"] * rows,
            "_source_file": ["analytics/export.jsonl.gz"] * rows,
            "_source_member": [None] * rows,
            "_line_number": list(range(1, rows + 1)),
            "_file_sha256": ["ab" * 32] * rows,
            "_ingested_at": [NOW] * rows,
        }
    )
    if rows >= 2:
        frame.iloc[1] = frame.iloc[0]  # an exact re-export of the same event
    return frame


def load_events(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, table: str = "events") -> str:
    """Create ``table`` with the contract's exact DuckDB types and fill it from ``frame``."""
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in EVENT_COLUMNS)
    con.execute(f"create or replace table {table} ({columns})")
    con.register("frame_view", frame)
    con.execute(f"insert into {table} by name select * from frame_view")
    con.unregister("frame_view")
    return table


def validate(frame: pd.DataFrame, config: PipelineConfig, **kwargs) -> GateResult:
    with duckdb.connect() as con:
        return validate_relation(con, load_events(con, frame), GATE, config=config, now=NOW, **kwargs)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def rule(result: GateResult, check: str, expectation_type: str, *columns: str):
    (found,) = [
        r for r in result.results if (r.check, r.expectation_type, r.columns) == (check, expectation_type, columns)
    ]
    return found


def test_good_events_pass_every_rule(config):
    result = validate(good_events(50), config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert result.rows_validated == 50
    assert result.slices == 1
    # every rule of the suite and every derived check reports a verdict
    suite_rules = len(GATE.build_suite(config, now=NOW).expectations)
    # + 1: the runner's per-file contract types rule (Gate.contract)
    assert len(result.results) == suite_rules + len(GATE.derived_checks(config)) + 1


def test_unknown_event_name_fails_only_the_known_events_rule(config):
    frame = good_events(20)
    frame.loc[7, "event_name"] = "checkout_started"

    result = validate(frame, config)

    assert not result.success
    assert failed_rules(result) == {("row", "expect_column_values_to_be_in_set", ("event_name",))}
    failed = rule(result, "row", "expect_column_values_to_be_in_set", "event_name")
    assert failed.unexpected_count == 1
    assert failed.unexpected_examples == ["checkout_started"]
    assert failed.severity == "error"
    assert "checkout_started" in failed.message


def test_future_event_time_fails_beyond_one_day_of_clock_skew(config):
    frame = good_events(20)
    frame.loc[3, "event_time"] = NOW + dt.timedelta(hours=23)  # within the tolerated skew
    frame.loc[4, "event_time"] = NOW + dt.timedelta(days=2)
    frame.loc[5, "event_time"] = dt.datetime(2009, 12, 31)
    frame.loc[6, "event_time"] = dt.datetime(9999, 1, 1)  # beyond pandas' nanosecond range: a broken clock

    result = validate(frame, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_between", ("event_time",))}
    failed = rule(result, "row", "expect_column_values_to_be_between", "event_time")
    assert failed.exception is None
    assert failed.unexpected_count == 3


def test_event_without_user_or_anonymous_id_fails_the_identity_rule(config):
    frame = good_events(20)
    frame.loc[10, ["user_id", "anonymous_id"]] = None
    frame.loc[11, "user_id"] = None  # anonymous only: fine

    result = validate(frame, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_not_be_null", ("user_id",))}
    assert rule(result, "row", "expect_column_values_to_not_be_null", "user_id").unexpected_count == 1


def test_negative_revenue_is_a_warning_that_does_not_block(config):
    frame = good_events(20)
    frame.loc[8, "revenue"] = -4.5

    result = validate(frame, config)

    assert result.success
    assert result.failed_errors == []
    assert [(w.expectation_type, w.columns) for w in result.warnings] == [
        ("expect_column_values_to_be_between", ("revenue",))
    ]
    assert result.warnings[0].unexpected_examples == [-4.5]


def test_properties_that_are_not_a_json_object_fail_the_json_rule(config):
    frame = good_events(20)
    frame.loc[12, "properties"] = "{plan: pro"
    frame.loc[13, "properties"] = "[1, 2]"  # valid JSON, but not the object the contract promises
    frame.loc[14, "properties"] = None  # no properties at all is fine

    result = validate(frame, config)

    assert failed_rules(result) == {("properties_is_json_object", "expect_table_row_count_to_equal", ())}
    (failed,) = result.failed_errors
    assert failed.unexpected_count == 2
    assert [e["properties"] for e in failed.unexpected_examples] == ["{plan: pro", "[1, 2]"]


def test_unknown_source_and_missing_key_fail_their_own_rules(config):
    frame = good_events(20)
    frame.loc[2, "source"] = "segment"
    frame.loc[6, "event_key"] = None

    result = validate(frame, config)

    assert failed_rules(result) == {
        ("row", "expect_column_values_to_be_in_set", ("source",)),
        ("row", "expect_column_values_to_not_be_null", ("event_key",)),
    }


def test_conflicting_duplicate_key_fails_but_exact_duplicates_pass(config):
    frame = good_events(20)
    conflicting = frame.iloc[[5]].copy()
    conflicting["event_name"] = "report_created" if frame.loc[5, "event_name"] != "report_created" else "signed_up"
    frame = pd.concat([frame, conflicting], ignore_index=True)

    result = validate(frame, config)

    assert failed_rules(result) == {("no_conflicting_duplicates", "expect_table_row_count_to_equal", ())}
    failed = rule(result, "no_conflicting_duplicates", "expect_table_row_count_to_equal")
    assert failed.unexpected_count == 1
    assert failed.unexpected_examples[0]["event_key"] == "key-5"
    assert failed.unexpected_examples[0]["copies"] == 2


def test_a_column_outside_the_contract_fails_the_schema_rule(config):
    frame = good_events(10)
    with duckdb.connect() as con:
        table = load_events(con, frame)
        con.execute(f"alter table {table} add column utm_source varchar")
        result = validate_relation(con, table, GATE, config=config, now=NOW)

    assert failed_rules(result) == {("row", "expect_table_columns_to_match_set", ())}


def test_no_rows_is_only_a_warning(config):
    result = validate(good_events(0), config)

    assert result.success
    assert result.rows_validated == 0
    assert [w.check for w in result.warnings] == ["not_empty"]


def test_slices_give_the_same_counts_as_one_slice(config):
    frame = good_events(5_000)
    bad_rows = [0, 1_999, 2_048, 2_049, 4_095, 4_096, 4_999]  # on both sides of each 2,048-row slice boundary
    frame.loc[bad_rows, "event_name"] = "not_an_event"

    sliced = validate(frame, config, slice_rows=2_048)
    whole = validate(frame, config, slice_rows=250_000)

    assert sliced.slices >= 3  # at most 2,048 rows each
    assert whole.slices == 1
    assert sliced.rows_validated == whole.rows_validated == 5_000
    for result in (sliced, whole):
        failed = rule(result, "row", "expect_column_values_to_be_in_set", "event_name")
        assert failed.unexpected_count == len(bad_rows)
        assert failed.element_count == 5_000
        assert len(failed.unexpected_examples) == 5  # a few examples, not every value
    assert sliced.to_dict()["expectations"] == whole.to_dict()["expectations"]


def test_a_conflict_spanning_two_slices_is_caught(config):
    frame = good_events(5_000)
    frame.loc[4_999, ["event_key", "source"]] = frame.loc[10, ["event_key", "source"]].to_numpy()
    frame.loc[4_999, "event_time"] = frame.loc[10, "event_time"] + dt.timedelta(seconds=1)

    result = validate(frame, config, slice_rows=1_000)

    assert result.slices >= 5
    assert failed_rules(result) == {("no_conflicting_duplicates", "expect_table_row_count_to_equal", ())}


def test_parquet_files_are_validated_as_one_relation(config, tmp_path):
    files = []
    with duckdb.connect() as con:
        for i, frame in enumerate((good_events(30, key_prefix="first"), good_events(40, key_prefix="second"))):
            if i == 1:
                frame.loc[3, "event_name"] = "unknown_event"
            table = load_events(con, frame, f"events_{i}")
            path = tmp_path / f"it's file {i}.parquet"  # a quote in the path must not break the SQL
            con.execute(f"copy {table} to {sql_string(str(path))} (format parquet)")
            files.append(path)

    result = validate_parquet_files(files, GATE, config=config, now=NOW)

    assert result.rows_validated == 70
    assert failed_rules(result) == {("row", "expect_column_values_to_be_in_set", ("event_name",))}
    assert "read_parquet" in result.relation


def test_an_empty_event_list_in_the_config_is_refused(tmp_path):
    empty = parse_config({"analytics": {"known_events": []}}, Path("empty.yml"))
    with pytest.raises(ValueError, match="known_events is empty"):
        GATE.build_suite(empty, now=NOW)
