"""Gate on the retention mart: one row per retention definition, cohort, breakdown value and period number."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta, sql_string

NAME = "fct_retention_cohorts"
# Reported only once the period has fully elapsed (DESIGN.md, Retention); NULL until then, never a partial count.
PERIOD_MEASURES = ("users_on_period", "users_on_or_after_period", "retention_on_period", "retention_on_or_after_period")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Columns, the key, is_complete not null, the day/week grain, cohort_users >= 1, period_number >= 0 and
    # retention within [0, 1] are the dbt contract and tests' (models/marts/product/_product__models.yml). This gate
    # keeps the rules that need the loaded configuration or the clock, and the ones across columns.
    known_events = list(config.analytics.known_events)
    # Built without add_expectation, which needs a GX context; the runner brings its own ephemeral one.
    rules: list[Expectation] = []
    add = rules.append
    add(
        E.ExpectColumnValuesToBeInSet(
            column="retention_name",
            value_set=[r.name for r in config.retention],
            meta=rule_meta("error", "a definition not in the config is a stale row the model failed to drop"),
        )
    )
    for column in ("start_event", "return_event"):
        add(
            E.ExpectColumnValuesToBeInSet(
                column=column, value_set=known_events, meta=rule_meta("error", "must be an event the product declares")
            )
        )
    add(
        E.ExpectColumnValuesToBeBetween(
            column="cohort_start",
            max_value=now,
            meta=rule_meta("error", "a cohort starting in the future means a timezone or date-truncation bug"),
        )
    )
    add(
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="users_on_or_after_period",
            column_B="users_on_period",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "everyone back on period N is also back on or after N"),
        )
    )
    add(
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="cohort_users",
            column_B="users_on_or_after_period",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "returning users are a subset of the cohort"),
        )
    )
    for column in PERIOD_MEASURES:
        add(
            E.ExpectColumnValuesToBeNull(
                column=column,
                row_condition=Column("is_complete") == False,  # noqa: E712 (a GX condition, not a Python test)
                meta=rule_meta("error", "a period still elapsing would show a partial, too-low figure"),
            )
        )
        add(
            E.ExpectColumnValuesToNotBeNull(
                column=column,
                row_condition=Column("is_complete") == True,  # noqa: E712
                meta=rule_meta("error", "a complete period has a figure, 0 when nobody came back"),
            )
        )
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    configured = ", ".join(
        f"({sql_string(r.name)}, {sql_string(r.period)}, {sql_string(r.start_event)}, {sql_string(r.return_event)}, "
        f"{sql_string(r.breakdown_property) if r.breakdown_property else 'cast(null as varchar)'})"
        for r in config.retention
    )
    checks = [
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="configured retention with no rows: no data in range yet, or the model's filters broke",
        ),
    ]
    if configured:
        checks.append(
            DerivedCheck(
                name="definition_matches_config",
                # Unconfigured names are left to the retention_name rule, so one fault fails one rule.
                sql=f"""
                    with configured(retention_name, period_grain, start_event, return_event, breakdown_property)
                        as (values {configured})
                    select distinct
                        r.retention_name, r.period_grain, r.start_event, r.return_event, r.breakdown_property
                    from {{relation}} r
                    left join configured c
                      on r.retention_name = c.retention_name and r.period_grain = c.period_grain
                     and r.start_event = c.start_event and r.return_event = c.return_event
                     and r.breakdown_property is not distinct from c.breakdown_property
                    where r.retention_name in (select retention_name from configured) and c.retention_name is null
                    order by all
                """,
                expectation=E.ExpectTableRowCountToEqual(value=0),
                severity="error",
                why="grain, events and breakdown must be the ones the config declares for that name (stale model "
                "or config)",
            )
        )
    if any(r.breakdown_property for r in config.retention):
        checks.append(
            DerivedCheck(
                name="breakdown_adds_up_to_all",
                # A user is in exactly one breakdown value of a cohort, so the values' rows sum to the '(all)' row;
                # incomplete periods are NULL on both sides (sum() of NULLs is NULL).
                sql="""
                    with whole as (
                        select retention_name, cohort_start, period_number, cohort_users, users_on_period,
                            users_on_or_after_period
                        from {relation}
                        where breakdown_value = '(all)' and breakdown_property is not null
                    ),
                    by_value as (
                        select retention_name, cohort_start, period_number, sum(cohort_users) as cohort_users,
                            sum(users_on_period) as users_on_period,
                            sum(users_on_or_after_period) as users_on_or_after_period
                        from {relation}
                        where breakdown_value <> '(all)'
                        group by retention_name, cohort_start, period_number
                    )
                    select
                        coalesce(w.retention_name, v.retention_name) as retention_name,
                        coalesce(w.cohort_start, v.cohort_start) as cohort_start,
                        coalesce(w.period_number, v.period_number) as period_number,
                        w.cohort_users as all_cohort_users, v.cohort_users as values_cohort_users
                    from whole w
                    full join by_value v
                      on w.retention_name = v.retention_name and w.cohort_start = v.cohort_start
                     and w.period_number = v.period_number
                    where w.cohort_users is distinct from v.cohort_users
                       or w.users_on_period is distinct from v.users_on_period
                       or w.users_on_or_after_period is distinct from v.users_on_or_after_period
                    order by all
                """,
                expectation=E.ExpectTableRowCountToEqual(value=0),
                severity="error",
                why="the breakdown values of a cohort must partition its '(all)' users (a user lost or counted twice)",
            )
        )
    return checks


GATE = Gate(
    name=NAME,
    target="mart fct_retention_cohorts (one row per retention definition, cohort, breakdown value and period number)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
