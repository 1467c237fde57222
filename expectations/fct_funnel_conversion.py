"""Gate on the funnel mart: one row per funnel, period, breakdown value and step."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta, sql_string

NAME = "fct_funnel_conversion"
# One funnel path: the rows of one funnel, period and breakdown value, ordered by step.
_PATH_WINDOW = "window path as (partition by funnel_name, period_start, breakdown_value order by step_index)"

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Columns, the key, entry modes, period grains and the fixed ranges (step_index >= 1, counts and medians >= 0,
    # conversions within [0, 1]) are the dbt contract and tests' (models/marts/product/_product__models.yml).
    # This gate keeps the rules that need the loaded configuration or the clock, and the cross-column ones.
    # Built without add_expectation, which needs a GX context; the runner brings its own ephemeral one.
    rules: list[Expectation] = [
        E.ExpectColumnValuesToBeInSet(
            column="funnel_name",
            value_set=[f.name for f in config.funnels],
            meta=rule_meta("error", "a funnel not in the config is a stale row the incremental model failed to drop"),
        ),
        E.ExpectColumnValuesToBeInSet(
            column="step_event",
            value_set=list(config.analytics.known_events),
            meta=rule_meta("error", "a step must be an event the product declares"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="period_start",
            max_value=now,
            meta=rule_meta("error", "a period starting in the future means a timezone or date-truncation bug"),
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="users_at_previous_step",
            column_B="users",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "funnels only lose users from one step to the next"),
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="users_at_first_step",
            column_B="users",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "no step can have more users than step 1"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="conversion_from_first",
            min_value=1,
            max_value=1,
            row_condition=(Column("step_index") == 1) & (Column("users") > 0),
            meta=rule_meta("error", "step 1 is the base of conversion from step 1"),
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    configured_steps = ", ".join(
        f"({sql_string(f.name)}, {index}, {sql_string(step.event)})"
        for f in config.funnels
        for index, step in enumerate(f.steps, start=1)
    )
    checks = [
        DerivedCheck(
            name="step_index_contiguous",
            sql=f"""
                select * from (
                    select funnel_step_id, funnel_name, period_start, breakdown_value, step_index,
                           lag(step_index) over path as previous_step_index
                    from {{relation}}
                    {_PATH_WINDOW}
                ) where step_index - coalesce(previous_step_index, 0) <> 1
                order by funnel_name, period_start, breakdown_value, step_index
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="every path reports steps 1..n with no gap or repeat, else conversions skip a step",
        ),
        DerivedCheck(
            name="users_at_previous_step_matches_previous_row",
            sql=f"""
                select * from (
                    select funnel_step_id, funnel_name, period_start, breakdown_value, step_index,
                           users_at_previous_step, lag(users) over path as previous_row_users,
                           users_at_first_step, first_value(users) over path as first_row_users
                    from {{relation}}
                    {_PATH_WINDOW}
                ) where (step_index > 1 and users_at_previous_step is distinct from previous_row_users)
                     or users_at_first_step is distinct from first_row_users
                order by funnel_name, period_start, breakdown_value, step_index
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="the denominators of the conversion rates must be the counts the mart reports for those steps",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="configured funnels with no rows: no data in range yet, or the model's filters broke",
        ),
    ]
    if configured_steps:
        checks.append(
            DerivedCheck(
                name="steps_match_config",
                # Rows of unconfigured funnels are left to the funnel_name rule, so one fault fails one rule.
                sql=f"""
                    with configured(funnel_name, step_index, step_event) as (values {configured_steps})
                    select r.funnel_step_id, r.funnel_name, r.step_index, r.step_event,
                           c.step_event as configured_step_event
                    from {{relation}} r
                    left join configured c on r.funnel_name = c.funnel_name and r.step_index = c.step_index
                    where r.funnel_name in (select funnel_name from configured)
                      and c.step_event is distinct from r.step_event
                    order by r.funnel_name, r.step_index
                """,
                expectation=E.ExpectTableRowCountToEqual(value=0),
                severity="error",
                why="each step's event must be the one the config declares at that position (stale model or config)",
            )
        )
    return checks


GATE = Gate(
    name=NAME,
    target="mart fct_funnel_conversion (one row per funnel, period, breakdown value and step)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
