"""Gate on newly ingested Jira comments: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/jira/contract.py: one row per comment of an issue, numbered from 1.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import JIRA_KEY, PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.jira.contract import COMMENT_COLUMNS

NAME = "raw_jira_comments"

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(COMMENT_COLUMNS, "jira/comments"),
            *rules.not_null(
                ("issue_key", "comment_index", "commented_at", "_file_sha256"),
                "staging dedupes on (issue, comment index) and orders comments by time",
            ),
            rules.matches("issue_key", JIRA_KEY.pattern, "a comment joins its issue on a PROJ-123 key"),
            E.ExpectColumnValuesToBeBetween(
                column="comment_index",
                min_value=1,
                meta=rule_meta("error", "comments are numbered from 1 within their issue"),
            ),
            *rules.plausible_times(("commented_at",), now, "a future or ancient comment time is a unit mix-up"),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("comments")]


GATE = Gate(
    name=NAME,
    target="lake Parquet jira/comments of the newly ingested files (ingest/jira/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=COMMENT_COLUMNS,
)
