"""Gate on newly ingested feature requests (Productboard notes, Zendesk tickets): the lake Parquet files of one
ingest run, before dbt reads them.

The contract is ingest/feedback/contract.py. Requests count towards an initiative's demand through their linked
Jira key and their month; RICE's confidence rises with the number of requests behind an idea.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import JIRA_KEY, PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate
from ingest.feedback.contract import FEATURE_REQUEST_COLUMNS

NAME = "raw_feedback_feature_requests"
VENDORS = ("productboard", "zendesk")
# Zendesk's satisfaction_rating.score values.
SATISFACTION = ("offered", "unoffered", "good", "bad")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(FEATURE_REQUEST_COLUMNS, "feedback/feature_requests"),
            *rules.not_null(
                ("request_id", "vendor", "created_at", "_file_sha256"),
                "staging dedupes on (vendor, request id); demand is counted by the request's month",
            ),
            rules.one_of("vendor", VENDORS, "requests come from the two vendors ingest parses; another is a bug"),
            rules.matches("jira_key", JIRA_KEY.pattern, "a request counts towards an idea through its PROJ-123 key"),
            rules.one_of("satisfaction", SATISFACTION, "Zendesk's satisfaction scores; anything else is a bug"),
            *rules.plausible_times(("created_at",), now, "a future or ancient request moves demand across months"),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("feature requests")]


GATE = Gate(
    name=NAME,
    target="lake Parquet feedback/feature_requests of the newly ingested files (ingest/feedback/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=FEATURE_REQUEST_COLUMNS,
)
