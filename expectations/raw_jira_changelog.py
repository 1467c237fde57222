"""Gate on newly ingested Jira changelog items: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/jira/contract.py: one row per changed field of a history. Ship dates (the first move to a
done status), cycle times and sprint scope changes are read from here, so every item needs its issue, its history
and a plausible time.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import JIRA_KEY, PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.jira.contract import CHANGELOG_COLUMNS

NAME = "raw_jira_changelog"

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(CHANGELOG_COLUMNS, "jira/changelog"),
            *rules.not_null(
                ("issue_key", "history_id", "item_index", "changed_at", "field", "_file_sha256"),
                "staging dedupes on (issue, history, item); ship dates need the field and its time",
            ),
            rules.matches("issue_key", JIRA_KEY.pattern, "an item joins its issue on a PROJ-123 key"),
            *rules.plausible_times(
                ("changed_at",), now, "a future or ancient change time moves ship dates and cycle times"
            ),
            E.ExpectColumnValuesToBeBetween(
                column="item_index",
                min_value=1,
                meta=rule_meta("error", "items are numbered from 1 within their history"),
            ),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("changelog items")]


GATE = Gate(
    name=NAME,
    target="lake Parquet jira/changelog of the newly ingested files (ingest/jira/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=CHANGELOG_COLUMNS,
)
