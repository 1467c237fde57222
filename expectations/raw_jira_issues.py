"""Gate on newly ingested Jira issues: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/jira/contract.py. Raw data legitimately repeats an issue: every export re-sends it (with a
later updated_at once it changed), and a CSV and a JSON export of the same state both land (the CSV without a
status category or changelog counts, and with minute-precision times). Staging keeps the newest version. What is
not valid is one issue key carrying two different states stamped with the same updated_at in the same kind of
export: then "newest" is undefined and staging would keep an arbitrary one.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import JIRA_KEY, STATUS_CATEGORIES, PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.jira.contract import ISSUE_COLUMNS

NAME = "raw_jira_issues"
REQUIRED_COLUMNS = ("issue_key", "created_at", "_file_sha256")
# Jira Cloud and Server both post-date this; anything earlier is an epoch or unit mix-up.
EARLIEST_CREATED_AT = dt.datetime(2002, 1, 1)
# Exports stamp times from the Jira server's clock; a day of skew is tolerated before a time is "from the future".
CLOCK_SKEW = dt.timedelta(days=1)
# The state columns both export kinds carry; two different values at one (issue_key, updated_at) are a conflict.
STATE_COLUMNS = ("status", "issue_type", "parent_key", "story_points", "due_date", "resolved_at")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Built without add_expectation, which needs a GX context; the runner brings its own ephemeral one.
    rules: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=[name for name, _ in ISSUE_COLUMNS],
            exact_match=True,
            meta=rule_meta("error", "the lake files must match the jira/issues contract that dbt's source reads"),
        )
    ]
    for column in REQUIRED_COLUMNS:
        rules.append(
            E.ExpectColumnValuesToNotBeNull(
                column=column,
                meta=rule_meta("error", "staging dedupes on the key and measures every time from creation"),
            )
        )
    rules += [
        E.ExpectColumnValuesToMatchRegex(
            column="issue_key",
            regex=JIRA_KEY.pattern,
            meta=rule_meta(
                "error", "a key that is not PROJ-123 is a mis-parsed column; parents and initiatives join on it"
            ),
        ),
        E.ExpectColumnValuesToBeInSet(
            column="status_category",
            value_set=list(STATUS_CATEGORIES),
            meta=rule_meta(
                "error", "dbt maps statuses to Jira's category keys; anything else is a parser or locale bug"
            ),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="created_at",
            min_value=EARLIEST_CREATED_AT,
            max_value=now + CLOCK_SKEW,
            meta=rule_meta(
                "error", "future or ancient creation times are timezone or unit mix-ups and skew lead times"
            ),
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="resolved_at",
            column_B="created_at",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "an issue resolved before it was created has a shifted timezone on one side"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="story_points",
            min_value=0,
            meta=rule_meta("error", "negative points would cancel real work in sprint and initiative totals"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="confidence",
            min_value=0,
            max_value=1,
            meta=rule_meta("error", "the contract normalises confidence to [0, 1]; RICE multiplies by it"),
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    differs = " or ".join(f"count(distinct {c}) > 1" for c in STATE_COLUMNS)
    return [
        DerivedCheck(
            name="no_conflicting_duplicates",
            sql=f"""
                select issue_key, updated_at,
                       case when _source_format = 'csv' then 'csv' else 'json' end as export_kind,
                       count(*) as copies, min(status) as min_status, max(status) as max_status
                from {{relation}}
                where issue_key is not null and updated_at is not null
                group by issue_key, updated_at, export_kind
                having {differs}
                order by issue_key, updated_at
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why=(
                "re-exports and CSV/JSON copies of one state are expected, but two states of one issue with the "
                "same updated_at leave staging no newest version to keep"
            ),
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="files with no loadable issues usually mean a wrong export; ingest's manifest has the reject counts",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="lake Parquet jira/issues of the newly ingested files (ingest/jira/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=ISSUE_COLUMNS,
)
