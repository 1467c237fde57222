"""The funnel mart gate: a consistent mart passes; each kind of inconsistency fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_relation

GATE = GATES["fct_funnel_conversion"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)
DDL = """
create or replace table fct_funnel_conversion (
    funnel_step_id varchar, funnel_name varchar, entry_mode varchar, conversion_window_seconds bigint,
    period_grain varchar, period_start date, breakdown_property varchar, breakdown_value varchar,
    step_index integer, step_event varchar, users bigint, users_at_previous_step bigint, users_at_first_step bigint,
    conversion_from_previous double, conversion_from_first double,
    median_seconds_from_previous double, median_seconds_from_first double
)
"""
ACTIVATION_STEPS = ["signed_up", "onboarding_completed", "report_created", "plan_upgraded"]


@pytest.fixture
def config() -> PipelineConfig:
    raw = {
        "analytics": {"known_events": [*ACTIVATION_STEPS, "report_shared", "page_viewed"]},
        "funnels": [
            {
                "name": "activation",
                "entry_mode": "first_entry",
                "conversion_window_hours": 168,
                "period": "month",
                "breakdown_property": "platform",
                "steps": ACTIVATION_STEPS,
            },
            {
                "name": "sharing",
                "entry_mode": "any_entry",
                "conversion_window_hours": 24,
                "period": "week",
                "steps": ["report_created", "report_shared"],
            },
        ],
    }
    return parse_config(raw, Path("test-pmw.yml"))


def path_rows(funnel, entry_mode, window_hours, grain, period_start, breakdown, steps, users):
    """Rows of one funnel path with every derived column consistent with ``users``."""
    breakdown_property, breakdown_value = breakdown
    rows = []
    for index, (event, count) in enumerate(zip(steps, users, strict=True), start=1):
        previous = users[index - 2] if index > 1 else count
        first = users[0]
        rows.append(
            {
                "funnel_step_id": f"{funnel}|{period_start}|{breakdown_value}|{index}",
                "funnel_name": funnel,
                "entry_mode": entry_mode,
                "conversion_window_seconds": window_hours * 3600,
                "period_grain": grain,
                "period_start": period_start,
                "breakdown_property": breakdown_property,
                "breakdown_value": breakdown_value,
                "step_index": index,
                "step_event": event,
                "users": count,
                "users_at_previous_step": previous,
                "users_at_first_step": first,
                "conversion_from_previous": count / previous if previous else None,
                "conversion_from_first": count / first if first else None,
                "median_seconds_from_previous": None if index == 1 or not count else 1800.0 * index,
                "median_seconds_from_first": None if index == 1 or not count else 3600.0 * index,
            }
        )
    return rows


def good_mart() -> pd.DataFrame:
    rows = []
    for period_start in (dt.date(2024, 4, 1), dt.date(2024, 5, 1)):
        for platform, users in (("web", [100, 60, 30, 10]), ("ios", [40, 40, 12, 0])):
            rows += path_rows(
                "activation", "first_entry", 168, "month", period_start, ("platform", platform), ACTIVATION_STEPS, users
            )
    # a week nobody entered: zero users, NULL rates and medians, and no breakdown
    sharing_steps = ["report_created", "report_shared"]
    rows += path_rows("sharing", "any_entry", 24, "week", dt.date(2024, 5, 20), (None, None), sharing_steps, [0, 0])
    rows += path_rows("sharing", "any_entry", 24, "week", dt.date(2024, 5, 27), (None, None), sharing_steps, [8, 3])
    return pd.DataFrame(rows)


def validate(frame: pd.DataFrame, config: PipelineConfig, **kwargs) -> GateResult:
    with duckdb.connect() as con:
        con.execute(DDL)
        con.register("frame_view", frame)
        con.execute("insert into fct_funnel_conversion by name select * from frame_view")
        return validate_relation(con, "fct_funnel_conversion", GATE, config=config, now=NOW, **kwargs)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def row_of(frame: pd.DataFrame, funnel: str, period: dt.date, breakdown: str | None, step: int) -> int:
    match = (frame.funnel_name == funnel) & (frame.period_start == period) & (frame.step_index == step)
    match &= frame.breakdown_value.isna() if breakdown is None else frame.breakdown_value == breakdown
    (index,) = frame.index[match]
    return index


MAY = dt.date(2024, 5, 1)


def test_a_consistent_mart_passes_every_rule(config):
    frame = good_mart()
    result = validate(frame, config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert result.warnings == []
    assert result.rows_validated == len(frame)


def test_increasing_step_counts_fail(config):
    frame = good_mart()
    rows = [r for r in frame.to_dict("records") if (r["funnel_name"], r["breakdown_value"]) != ("activation", "web")]
    for period_start in (dt.date(2024, 4, 1), MAY):
        # 60 users at step 3 after 50 at step 2: the counting let users skip a step
        rows += path_rows(
            "activation", "first_entry", 168, "month", period_start, ("platform", "web"), ACTIVATION_STEPS,
            [100, 50, 60, 10],
        )  # fmt: skip

    result = validate(pd.DataFrame(rows), config)

    # (60 / 50 = 1.2 also breaks conversion_from_previous's [0, 1] range: a dbt test, not this gate.)
    assert failed_rules(result) == {
        ("row", "expect_column_pair_values_a_to_be_greater_than_b", ("users_at_previous_step", "users")),
    }
    assert result.failed_errors[0].unexpected_count == 2  # one path per period


def test_a_denominator_that_is_not_the_previous_steps_count_fails(config):
    frame = good_mart()
    index = row_of(frame, "activation", MAY, "web", 2)
    frame.loc[index, ["users_at_previous_step", "conversion_from_previous"]] = [90, 60 / 90]

    result = validate(frame, config)

    assert failed_rules(result) == {
        ("users_at_previous_step_matches_previous_row", "expect_table_row_count_to_equal", ()),
    }
    (failed,) = result.failed_errors
    assert failed.unexpected_examples[0]["funnel_step_id"] == frame.loc[index, "funnel_step_id"]
    assert failed.unexpected_examples[0]["previous_row_users"] == 100


def test_a_missing_step_fails_contiguity(config):
    frame = good_mart()
    frame = frame.drop(index=row_of(frame, "activation", MAY, "web", 2))

    result = validate(frame, config)

    # Step 3 now follows step 1, so its denominator (step 2's count) no longer matches the previous row either.
    assert failed_rules(result) == {
        ("step_index_contiguous", "expect_table_row_count_to_equal", ()),
        ("users_at_previous_step_matches_previous_row", "expect_table_row_count_to_equal", ()),
    }


LAST_WEEK = dt.date(2024, 5, 27)
BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
NO_ROWS = "expect_table_row_count_to_equal"


@pytest.mark.parametrize(
    ("rows", "column", "bad_value", "expected"),
    [
        pytest.param(
            lambda f: f.funnel_name == "sharing",
            "funnel_name",
            "retired_funnel",
            {("row", IN_SET, ("funnel_name",))},
            id="a funnel the config does not declare",
        ),
        pytest.param(
            lambda f: f.index == row_of(f, "activation", MAY, "web", 2),
            "step_event",
            "page_viewed",
            {("steps_match_config", NO_ROWS, ())},
            id="a known event at another step's position",
        ),
        pytest.param(
            lambda f: f.index == row_of(f, "activation", MAY, "web", 2),
            "step_event",
            "onboarding_done",
            {("row", IN_SET, ("step_event",)), ("steps_match_config", NO_ROWS, ())},
            id="an event the product does not declare",
        ),
        pytest.param(
            lambda f: f.period_start == LAST_WEEK,
            "period_start",
            dt.date(2024, 6, 3),
            {("row", BETWEEN, ("period_start",))},
            id="a period after now",
        ),
        pytest.param(
            lambda f: f.index == row_of(f, "activation", MAY, "web", 1),
            "conversion_from_first",
            0.5,
            {("row", BETWEEN, ("conversion_from_first",))},
            id="step 1 converting less than fully from itself",
        ),
    ],
)
def test_a_bad_value_fails_exactly_its_rule(config, rows, column, bad_value, expected):
    frame = good_mart()
    frame.loc[rows(frame), column] = bad_value

    result = validate(frame, config)

    assert failed_rules(result) == expected
    assert not result.success


def test_an_empty_mart_only_warns(config):
    result = validate(good_mart().iloc[0:0], config)

    assert result.success
    assert [w.check for w in result.warnings] == ["not_empty"]
