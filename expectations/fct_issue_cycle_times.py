"""Gate on the issue cycle-time mart: one row per issue, timings from its status history."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from core.config import STATUS_CATEGORIES, PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta

NAME = "fct_issue_cycle_times"
COLUMNS = (
    "issue_key",
    "status_category",
    "is_done",
    "created_at",
    "first_in_progress_at",
    "done_at",
    "lead_time_seconds",
    "cycle_time_seconds",
    "reopen_count",
    "seconds_in_new",
    "seconds_in_indeterminate",
    "seconds_in_done",
    "story_points",
    "changelog_complete",
)
DURATIONS = ("lead_time_seconds", "cycle_time_seconds", "seconds_in_new", "seconds_in_indeterminate", "seconds_in_done")
# Derived from the changelog: withheld (NULL) when the changelog was cut short.
CHANGELOG_DERIVED = ("first_in_progress_at", "done_at", "lead_time_seconds", "cycle_time_seconds", "reopen_count")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    rules: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=list(COLUMNS),
            exact_match=False,
            meta=rule_meta("error", "BI and the initiative marts read these columns"),
        ),
        E.ExpectColumnValuesToNotBeNull(column="issue_key", meta=rule_meta("error", "the mart's key")),
        E.ExpectColumnValuesToBeInSet(
            column="status_category",
            value_set=list(STATUS_CATEGORIES),
            meta=rule_meta("error", "Jira's category keys only; anything else breaks every done/in-progress test"),
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="lead_time_seconds",
            column_B="cycle_time_seconds",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "work starts after creation, so cycle time cannot exceed lead time"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="reopen_count", min_value=0, meta=rule_meta("error", "a count of reopens is never negative")
        ),
        E.ExpectColumnValuesToBeNull(
            column="done_at",
            row_condition=Column("is_done") == False,  # noqa: E712 (a GX condition, not a Python test)
            meta=rule_meta("error", "done_at is the final done: an issue that is not done now has none"),
        ),
    ]
    for column in DURATIONS:
        rules.append(
            E.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=0,
                meta=rule_meta("error", "a negative duration means intervals out of order or a timezone shift"),
            )
        )
    for column in CHANGELOG_DERIVED:
        rules.append(
            E.ExpectColumnValuesToBeNull(
                column=column,
                row_condition=Column("changelog_complete") == False,  # noqa: E712
                meta=rule_meta("error", "timings from a cut-short changelog must be flagged, not reported"),
            )
        )
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="issue_key_unique",
            sql="""
                select issue_key, count(*) as copies from {relation}
                where issue_key is not null
                group by issue_key having count(*) > 1 order by issue_key
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="the mart's key; a repeat double-counts the issue in every median and sum",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="no issues at all: no Jira export landed yet, or staging dropped them",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="mart fct_issue_cycle_times (one row per Jira issue)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
