"""Gate on newly ingested Jira sprints: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/jira/contract.py. A future sprint has no start; an active sprint's planned end may lie
ahead of now (sprints run weeks, a quarter at most is allowed here).
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.jira.contract import SPRINT_COLUMNS

NAME = "raw_jira_sprints"
STATES = ("closed", "active", "future")
# How far ahead a planned sprint end may lie.
LONGEST_SPRINT = dt.timedelta(days=92)

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(SPRINT_COLUMNS, "jira/sprints"),
            *rules.not_null(
                ("sprint_id", "name", "state", "_file_sha256"),
                "staging dedupes on the sprint id; sprint reports show its name and state",
            ),
            E.ExpectColumnValuesToBeBetween(
                column="sprint_id", min_value=1, meta=rule_meta("error", "Jira sprint ids are positive")
            ),
            rules.one_of("state", STATES, "sprint scope is counted by Jira's three sprint states"),
            *rules.plausible_times(
                ("start_at", "complete_at"), now, "a future or ancient sprint time is a timezone or unit mix-up"
            ),
            E.ExpectColumnValuesToBeBetween(
                column="end_at",
                min_value=rules.EARLIEST_PLAUSIBLE_TIME,
                max_value=now + LONGEST_SPRINT + rules.CLOCK_SKEW,
                meta=rule_meta("error", "a planned sprint end lies at most a quarter ahead"),
            ),
            rules.not_before("end_at", "start_at", "a sprint planned to end before it starts"),
            rules.not_before("complete_at", "start_at", "a sprint completed before it started"),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("sprints")]


GATE = Gate(
    name=NAME,
    target="lake Parquet jira/sprints of the newly ingested files (ingest/jira/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=SPRINT_COLUMNS,
)
