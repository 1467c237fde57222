"""The raw gates of feedback feature requests and Kano answers: a good export passes every rule; each kind of bad
row fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.config import PipelineConfig, load_config
from expectations import GATES
from tests.support.lake_gates import failed_rules, lineage, validate_rows

BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
NOT_NULL = "expect_column_values_to_not_be_null"
REGEX = "expect_column_values_to_match_regex"


@pytest.fixture
def config() -> PipelineConfig:
    return load_config()  # the shipped configuration declares the Kano features


def feature_request(n: int) -> dict[str, Any]:
    vendor = ("productboard", "zendesk")[n % 2]
    return {
        "request_id": f"r-{n}",
        "vendor": vendor,
        "title": "Share reports",
        "content": "Please let us share reports",
        "respondent_id": None,
        "respondent_email_hash": f"{n:064x}",
        "user_id": f"u-{n}",
        "account_id": f"acct-{n}",
        "account_name": "Acme",
        "tags": ["sharing"],
        "jira_key": "PROD-1" if n % 3 else None,
        "feature_name": "report_sharing",
        "channel": "email",
        "status": "open" if vendor == "zendesk" else None,
        "satisfaction": "good" if vendor == "zendesk" else None,
        "created_at": dt.datetime(2024, 2, 1) + dt.timedelta(days=n),
        **lineage(n, f"feedback/{vendor}.json"),
    }


def kano_answer(n: int) -> dict[str, Any]:
    return {
        "response_id": f"k-{n // 2}",
        "respondent_id": f"p-{n // 2}",
        "respondent_email_hash": None,
        "user_id": None,
        "feature": ("report_sharing", "dark_mode")[n % 2],
        "functional_answer": ("like", "expect", "neutral", "live_with", "dislike")[n % 5],
        "dysfunctional_answer": ("dislike", "neutral")[n % 2],
        "importance": 1 + n % 9,
        "answered_at": dt.datetime(2024, 3, 1) + dt.timedelta(hours=n),
        **lineage(n, "feedback/kano.csv"),
    }


ENTITIES = {"raw_feedback_feature_requests": feature_request, "raw_feedback_kano_answers": kano_answer}


@pytest.mark.parametrize("gate_name", sorted(ENTITIES))
def test_a_good_export_passes_every_rule(gate_name, config):
    result = validate_rows(GATES[gate_name], [ENTITIES[gate_name](n) for n in range(10)], config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert not result.warnings


BAD_ROWS = [
    ("raw_feedback_feature_requests", {"vendor": "intercom"}, ("row", IN_SET, ("vendor",))),
    ("raw_feedback_feature_requests", {"jira_key": "share-reports"}, ("row", REGEX, ("jira_key",))),
    ("raw_feedback_feature_requests", {"satisfaction": "great"}, ("row", IN_SET, ("satisfaction",))),
    ("raw_feedback_feature_requests", {"created_at": dt.datetime(9999, 1, 1)}, ("row", BETWEEN, ("created_at",))),
    ("raw_feedback_feature_requests", {"request_id": None}, ("row", NOT_NULL, ("request_id",))),
    ("raw_feedback_kano_answers", {"functional_answer": "love"}, ("row", IN_SET, ("functional_answer",))),
    ("raw_feedback_kano_answers", {"dysfunctional_answer": "3"}, ("row", IN_SET, ("dysfunctional_answer",))),
    ("raw_feedback_kano_answers", {"feature": "teleport"}, ("row", IN_SET, ("feature",))),
    ("raw_feedback_kano_answers", {"importance": 42}, ("row", BETWEEN, ("importance",))),
    ("raw_feedback_kano_answers", {"answered_at": dt.datetime(1970, 1, 1)}, ("row", BETWEEN, ("answered_at",))),
]


@pytest.mark.parametrize(("gate_name", "change", "rule"), BAD_ROWS, ids=lambda v: str(v)[:40])
def test_a_bad_row_fails_exactly_its_rule(gate_name, change, rule, config):
    rows = [ENTITIES[gate_name](n) for n in range(6)]
    rows[3].update(change)  # row 3: a Zendesk request

    result = validate_rows(GATES[gate_name], rows, config)

    assert not result.success
    assert failed_rules(result) == {rule}
