"""Gate on newly ingested Jira issue links: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/jira/contract.py: one row per link on an issue, in one direction. Ideas reach their
delivery epics through these links (Polaris work item links), so both ends must be real issue keys.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import JIRA_KEY, PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.jira.contract import ISSUE_LINK_COLUMNS

NAME = "raw_jira_issue_links"
DIRECTIONS = ("outward", "inward")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(ISSUE_LINK_COLUMNS, "jira/issue_links"),
            *rules.not_null(
                ("issue_key", "link_index", "link_type", "direction", "linked_issue_key", "_file_sha256"),
                "staging dedupes on (issue, link index); an idea reaches its epics by type, direction and key",
            ),
            rules.matches("issue_key", JIRA_KEY.pattern, "a link joins its issue on a PROJ-123 key"),
            rules.matches("linked_issue_key", JIRA_KEY.pattern, "a link joins the linked issue on a PROJ-123 key"),
            rules.one_of("direction", DIRECTIONS, "which end implements the other depends on the direction"),
            E.ExpectColumnValuesToBeBetween(
                column="link_index",
                min_value=1,
                meta=rule_meta("error", "links are numbered from 1 within their issue"),
            ),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("issue links")]


GATE = Gate(
    name=NAME,
    target="lake Parquet jira/issue_links of the newly ingested files (ingest/jira/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=ISSUE_LINK_COLUMNS,
)
