"""The top-level keys of the feedback vendors' JSON records, per their API references, for schema drift
(ingest/common/columns.py): a key outside its record's list goes to the file's ``unknown_columns``, a key the parser
reads that no record of the file carries to ``missing_columns``.

Only top-level keys are checked: nested values are the vendor's own objects (a ticket's ``via``, a Delighted
``person``) or data by design (``custom_fields`` / ``fields`` hold the account's own field ids,
``person_properties`` the account's own properties). The lists hold every documented key, also sideloads and keys
of older API versions, so a real export is not flagged for what the vendor documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ingest.common.columns import ColumnDrift

# Zendesk Support API v2 ticket (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/), with the
# keys the list, show, incremental-export and search endpoints add (result_type, generated_timestamp, dates, ...).
ZENDESK_TICKET_KEYS = frozenset(
    {
        "allow_attachments", "allow_channelback", "assignee_email", "assignee_id", "attribute_value_ids",
        "brand_id", "collaborator_ids", "collaborators", "comment", "comment_count", "created_at",
        "custom_fields", "custom_status_id", "dates", "description", "due_at", "email_cc_ids", "email_ccs",
        "encoded_id", "external_id", "fields", "follower_ids", "followers", "followup_ids", "forum_topic_id",
        "from_messaging_channel", "generated_timestamp", "group_id", "has_incidents", "id", "is_public",
        "macro_ids", "metadata", "metric_set", "organization_id", "priority", "problem_id", "raw_subject",
        "recipient", "requester", "requester_id", "result_type", "safe_update", "satisfaction_rating",
        "sharing_agreement_ids", "status", "subject", "submitter", "submitter_id", "tags", "ticket_form_id",
        "type", "updated_at", "updated_stamp", "url", "via", "via_followup_source_id", "via_id",
    }
)  # fmt: skip
ZENDESK_TICKET_OPTIONAL = (
    "subject", "description", "requester_id", "organization_id", "tags", "custom_fields", "via", "status",
    "created_at",
)  # fmt: skip

# https://developer.zendesk.com/api-reference/ticketing/ticket-management/satisfaction_ratings/
ZENDESK_SATISFACTION_KEYS = frozenset(
    {
        "assignee_id", "comment", "created_at", "group_id", "id", "reason", "reason_code", "reason_id",
        "requester_id", "score", "ticket_id", "updated_at", "url",
    }
)  # fmt: skip
# ``reason`` is read too, but Zendesk sends it only where satisfaction reasons are enabled: not listed when absent.
ZENDESK_SATISFACTION_OPTIONAL = ("ticket_id", "requester_id", "comment", "created_at")

# https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_fields/
ZENDESK_TICKET_FIELD_KEYS = frozenset(
    {
        "active", "agent_can_edit", "agent_description", "collapsed_for_agents", "created_at", "creator_app_name",
        "creator_user_id", "custom_field_options", "custom_statuses", "description", "editable_in_portal", "id",
        "key", "position", "raw_description", "raw_title", "raw_title_in_portal", "regexp_for_validation",
        "relationship_filter", "relationship_target_type", "removable", "required", "required_in_portal",
        "sub_type_id", "system_field_options", "tag", "title", "title_in_portal", "type", "updated_at", "url",
        "visible_in_portal",
    }
)  # fmt: skip
ZENDESK_TICKET_FIELD_OPTIONAL = ("title",)

# Delighted /v1/survey_responses.json (https://app.delighted.com/docs/api/listing-survey-responses).
DELIGHTED_RESPONSE_KEYS = frozenset(
    {
        "additional_answers", "comment", "created_at", "id", "notes", "permalink", "person", "person_properties",
        "score", "survey_type", "tags", "updated_at",
    }
)  # fmt: skip
DELIGHTED_RESPONSE_OPTIONAL = ("person", "comment", "created_at")


class RecordKeys:
    """The top-level keys of every object of a record array, collected by whoever reads it anyway (the detection
    pass over a streamed document), so the drift costs no pass of its own."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.objects = 0

    def observe(self, record: Any) -> None:
        if isinstance(record, dict):
            self.seen.update(record)
            self.objects += 1


def key_drift(records: Iterable[Any], known: frozenset[str], optional: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(unknown_columns, missing_columns) of a file's records; from their ``record_keys`` when they carry them."""
    keys = getattr(records, "record_keys", None)
    if isinstance(keys, RecordKeys):  # one object holding every key seen: the same drift as all of them
        records = [dict.fromkeys(keys.seen)] if keys.objects else []
    drift = ColumnDrift.of_records(records, known=known, optional=optional)
    return list(drift.unknown), list(drift.missing)
