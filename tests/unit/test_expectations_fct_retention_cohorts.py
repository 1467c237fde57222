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
    return_event varchar, cohort_start date, breakdown_property varchar, breakdown_value varchar, cohort_users bigint,
    period_number integer, is_complete boolean,
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
                    "breakdown_property": None,
                    "breakdown_value": "(all)",
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


PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
IN_SET = "expect_column_values_to_be_in_set"
NO_ROWS = "expect_table_row_count_to_equal"


def complete_row(frame: pd.DataFrame) -> pd.Series:
    return frame.index == first_row(frame, complete=True)


def incomplete_row(frame: pd.DataFrame) -> pd.Series:
    return frame.index == first_row(frame, complete=False)


@pytest.mark.parametrize(
    ("rows", "column", "bad_value", "expected"),
    [
        pytest.param(
            complete_row,
            "users_on_period",
            10**6,
            {("row", PAIR, ("users_on_or_after_period", "users_on_period"))},
            id="more back on N than on or after N",
        ),
        pytest.param(
            complete_row,
            "users_on_or_after_period",
            10**6,
            {("row", PAIR, ("cohort_users", "users_on_or_after_period"))},
            id="more returning than the cohort",
        ),
        pytest.param(
            complete_row,
            "retention_on_period",
            None,
            {("row", "expect_column_values_to_not_be_null", ("retention_on_period",))},
            id="no rate on a complete period",
        ),
        pytest.param(
            incomplete_row,
            "cohort_start",
            dt.date(2024, 6, 2),
            {("row", "expect_column_values_to_be_between", ("cohort_start",))},
            id="a cohort after now",
        ),
        pytest.param(
            lambda f: f.index < 3,
            "retention_name",
            "old_definition",
            {("row", IN_SET, ("retention_name",))},
            id="a definition the config does not declare",
        ),
        pytest.param(
            lambda f: f.index == 0,
            "return_event",
            "page_viewed",
            {("definition_matches_config", NO_ROWS, ())},
            id="a known event the definition does not use",
        ),
        pytest.param(
            lambda f: f.index == 0,
            "start_event",
            "signup",
            {("row", IN_SET, ("start_event",)), ("definition_matches_config", NO_ROWS, ())},
            id="an event the product does not declare",
        ),
    ],
)
def test_a_bad_value_fails_exactly_its_rule(config, rows, column, bad_value, expected):
    frame = good_mart()
    frame.loc[rows(frame), column] = bad_value

    result = validate(frame, config)

    assert failed_rules(result) == expected


def test_a_count_on_an_incomplete_period_fails(config):
    frame = good_mart()
    frame.loc[first_row(frame, complete=False), "users_on_period"] = 3

    result = validate(frame, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_null", ("users_on_period",))}
    (failed,) = result.failed_errors
    assert failed.unexpected_count == 1
    assert failed.element_count == int((~frame.is_complete).sum())  # judged on incomplete periods only


@pytest.fixture
def platform_config(config) -> PipelineConfig:
    (retention,) = config.retention
    return config.model_copy(update={"retention": (retention.model_copy(update={"breakdown_property": "platform"}),)})


def platform_mart() -> pd.DataFrame:
    """good_mart's cohorts as '(all)' rows plus the same cohorts split into ios (a third, rounded down) and web."""
    whole = good_mart().assign(breakdown_property="platform")
    measures = ["cohort_users", "users_on_period", "users_on_or_after_period"]
    ios = whole.assign(breakdown_value="ios")
    ios[measures] = whole[measures] // 3
    web = whole.assign(breakdown_value="web")
    web[measures] = whole[measures] - ios[measures]
    for value_rows in (ios, web):
        value_rows["retention_cohort_id"] = value_rows["retention_cohort_id"] + "|" + value_rows["breakdown_value"]
        value_rows["retention_on_period"] = value_rows["users_on_period"] / value_rows["cohort_users"]
        value_rows["retention_on_or_after_period"] = value_rows["users_on_or_after_period"] / value_rows["cohort_users"]
    return pd.concat([whole, ios, web], ignore_index=True)


def test_a_consistent_breakdown_passes_every_rule(platform_config):
    result = validate(platform_mart(), platform_config)

    assert result.success, result.summary()
    assert result.warnings == []


def test_breakdown_values_that_do_not_add_up_to_all_fail_exactly_that_rule(platform_config):
    frame = platform_mart()
    lost_user = (frame.breakdown_value == "web") & (frame.index == frame.index[frame.breakdown_value == "web"][0])
    frame.loc[lost_user, "cohort_users"] -= 1

    result = validate(frame, platform_config)

    assert failed_rules(result) == {("breakdown_adds_up_to_all", NO_ROWS, ())}


def test_a_breakdown_the_config_does_not_declare_fails_the_definition_rule(config):
    result = validate(platform_mart(), config)

    assert failed_rules(result) == {("definition_matches_config", NO_ROWS, ())}
