"""The retention mart gate: a consistent mart passes; each kind of inconsistency fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_relation

GATE = GATES["fct_retention_cohorts"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)
DDL = """
create or replace table fct_retention_cohorts (
    retention_cohort_id varchar, retention_name varchar, period_grain varchar, start_event varchar,
    return_event varchar, cohort_start date, cohort_users bigint, period_number integer, is_complete boolean,
    users_on_period bigint, users_on_or_after_period bigint,
    retention_on_period double, retention_on_or_after_period double
)
"""
PERIODS = (1, 3, 7)


@pytest.fixture
def config() -> PipelineConfig:
    raw = {
        "analytics": {"known_events": ["signed_up", "report_created", "page_viewed"]},
        "retention": [
            {
                "name": "core_action_daily",
                "start_event": "signed_up",
                "return_event": "report_created",
                "period": "day",
                "periods": list(PERIODS),
            },
        ],
    }
    return parse_config(raw, Path("test-pmw.yml"))


def good_mart() -> pd.DataFrame:
    """Daily cohorts of the last week: later periods of recent cohorts have not elapsed yet, so they are NULL."""
    rows = []
    for days_ago in range(1, 9):
        cohort_start = NOW.date() - dt.timedelta(days=days_ago)
        cohort_users = 50 + days_ago
        for period in PERIODS:
            complete = days_ago > period
            on_period, on_or_after = (cohort_users // (period + 2), cohort_users // (period + 1))
            rows.append(
                {
                    "retention_cohort_id": f"core_action_daily|{cohort_start}|{period}",
                    "retention_name": "core_action_daily",
                    "period_grain": "day",
                    "start_event": "signed_up",
                    "return_event": "report_created",
                    "cohort_start": cohort_start,
                    "cohort_users": cohort_users,
                    "period_number": period,
                    "is_complete": complete,
                    "users_on_period": on_period if complete else None,
                    "users_on_or_after_period": on_or_after if complete else None,
                    "retention_on_period": on_period / cohort_users if complete else None,
                    "retention_on_or_after_period": on_or_after / cohort_users if complete else None,
                }
            )
    return pd.DataFrame(rows)


def validate(frame: pd.DataFrame, config: PipelineConfig) -> GateResult:
    with duckdb.connect() as con:
        con.execute(DDL)
        con.register("frame_view", frame)
        con.execute("insert into fct_retention_cohorts by name select * from frame_view")
        return validate_relation(con, "fct_retention_cohorts", GATE, config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def first_row(frame: pd.DataFrame, *, complete: bool) -> int:
    return int(frame.index[frame.is_complete == complete][0])


def test_a_consistent_mart_passes_every_rule(config):
    frame = good_mart()
    assert frame.is_complete.any() and not frame.is_complete.all()  # both kinds of period are exercised

    result = validate(frame, config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert result.warnings == []


def test_a_rate_above_one_fails_the_range_rule(config):
    frame = good_mart()
    frame.loc[first_row(frame, complete=True), "retention_on_or_after_period"] = 1.2

    result = validate(frame, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_between", ("retention_on_or_after_period",))}


def test_more_users_on_the_period_than_on_or_after_it_fails(config):
    frame = good_mart()
    index = first_row(frame, complete=True)
    frame.loc[index, "users_on_period"] = frame.loc[index, "users_on_or_after_period"] + 1

    result = validate(frame, config)

    assert failed_rules(result) == {
        ("row", "expect_column_pair_values_a_to_be_greater_than_b", ("users_on_or_after_period", "users_on_period"))
    }


def test_more_returning_users_than_the_cohort_fails(config):
    frame = good_mart()
    index = first_row(frame, complete=True)
    frame.loc[index, "users_on_or_after_period"] = frame.loc[index, "cohort_users"] + 1

    result = validate(frame, config)

    assert failed_rules(result) == {
        ("row", "expect_column_pair_values_a_to_be_greater_than_b", ("cohort_users", "users_on_or_after_period"))
    }


def test_a_count_on_an_incomplete_period_fails(config):
    frame = good_mart()
    frame.loc[first_row(frame, complete=False), "users_on_period"] = 3

    result = validate(frame, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_null", ("users_on_period",))}
    (failed,) = result.failed_errors
    assert failed.unexpected_count == 1
    assert failed.element_count == int((~frame.is_complete).sum())  # judged on incomplete periods only


def test_a_missing_rate_on_a_complete_period_fails(config):
    frame = good_mart()
    frame.loc[first_row(frame, complete=True), "retention_on_period"] = None

    result = validate(frame, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_not_be_null", ("retention_on_period",))}


def test_a_future_cohort_fails(config):
    frame = good_mart()
    frame.loc[first_row(frame, complete=False), "cohort_start"] = dt.date(2024, 6, 2)

    result = validate(frame, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_between", ("cohort_start",))}


def test_an_unconfigured_retention_name_fails_only_the_name_rule(config):
    frame = good_mart()
    frame.loc[0:2, "retention_name"] = "old_definition"

    result = validate(frame, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_in_set", ("retention_name",))}
    assert result.failed_errors[0].unexpected_count == 3


def test_a_known_but_unconfigured_return_event_fails_the_config_match(config):
    frame = good_mart()
    frame.loc[0, "return_event"] = "page_viewed"

    result = validate(frame, config)

    assert failed_rules(result) == {("definition_matches_config", "expect_table_row_count_to_equal", ())}


def test_an_unknown_start_event_fails_known_events_and_the_config_match(config):
    frame = good_mart()
    frame.loc[0, "start_event"] = "signup"

    result = validate(frame, config)

    assert failed_rules(result) == {
        ("row", "expect_column_values_to_be_in_set", ("start_event",)),
        ("definition_matches_config", "expect_table_row_count_to_equal", ()),
    }


def test_a_repeated_key_fails_uniqueness(config):
    frame = good_mart()
    frame.loc[5, "retention_cohort_id"] = frame.loc[4, "retention_cohort_id"]

    result = validate(frame, config)

    assert failed_rules(result) == {("retention_cohort_id_unique", "expect_table_row_count_to_equal", ())}
