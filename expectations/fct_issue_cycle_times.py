"""Gate on the issue cycle-time mart: one row per issue, timings from its status history."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta

NAME = "fct_issue_cycle_times"
# Derived from the changelog: withheld (NULL) when the changelog was cut short.
CHANGELOG_DERIVED = ("first_in_progress_at", "done_at", "lead_time_seconds", "cycle_time_seconds", "reopen_count")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Columns, the key, the status category vocabulary and every duration >= 0 are the dbt contract and tests'
    # (models/marts/delivery/_delivery__models.yml); this gate keeps the rules across columns.
    rules: list[Expectation] = [
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="lead_time_seconds",
            column_B="cycle_time_seconds",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "work starts after creation, so cycle time cannot exceed lead time"),
        ),
        E.ExpectColumnValuesToBeNull(
            column="done_at",
            row_condition=Column("is_done") == False,  # noqa: E712 (a GX condition, not a Python test)
            meta=rule_meta("error", "done_at is the final done: an issue that is not done now has none"),
        ),
    ]
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
