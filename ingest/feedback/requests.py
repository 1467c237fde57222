"""Feature requests: Productboard notes CSV and Zendesk Support API JSON -> feedback/feature_requests rows.

Zendesk: a ticket is a feature request when it is tagged ``feature_request`` (or ``feature-request``), when one of
its custom fields holds that value (a "tagger" drop-down sets both), or when its "Feature" custom field is filled.
Other tickets are support work: they are skipped, not rejected (counted in the manifest's details and notes).
The ticket's account is its organization's primary domain, read from the organizations sideloaded in the same
page (``?include=organizations``), as Productboard's "Company domain" is: one company is one account across both
vendors. An organization the page does not sideload (or one without a domain) keeps its Zendesk id.
Custom fields are named through the ticket field catalog (``/api/v2/ticket_fields.json``), landed in the same run or
earlier: fields titled like "Jira key" / "Jira issue" give ``jira_key``, fields titled "Feature" give
``feature_name``. Satisfaction ratings (``/api/v2/satisfaction_ratings.json``) are CSAT answers: ``good`` = 1 and
``bad`` = 0 on a 0-1 scale in survey_responses (vendor zendesk); ``offered`` / ``unoffered`` carry no answer and are
skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from ingest.common.columns import ColumnDrift
from ingest.common.identity import account_domain, email_hash
from ingest.common.row_writer import RowStage
from ingest.feedback.csv_rows import CsvRows, Reread, fit_width, load_csv_records
from ingest.feedback.errors import RecordError
from ingest.feedback.json_keys import (
    ZENDESK_SATISFACTION_KEYS,
    ZENDESK_SATISFACTION_OPTIONAL,
    ZENDESK_TICKET_FIELD_KEYS,
    ZENDESK_TICKET_FIELD_OPTIONAL,
    ZENDESK_TICKET_KEYS,
    ZENDESK_TICKET_OPTIONAL,
    key_drift,
)
from ingest.feedback.rows import EntityRows, FileRows, Record, load_records
from ingest.feedback.values import (
    clean,
    id_text,
    jira_key,
    optional_id,
    properties_json,
    raw_json,
    scrub_text,
    split_list,
    timestamp,
)

ENTITY = "feature_requests"
FEATURE_REQUEST_MARKERS = {"feature_request", "feature-request", "feature_requests", "feature-requests"}
JIRA_FIELD_TITLE = re.compile(r"^\s*jira\s*(issue\s*)?(key|issue|id|link)?\s*$", re.IGNORECASE)
FEATURE_FIELD_TITLE = re.compile(r"^\s*(product\s+)?feature(\s+name)?\s*$", re.IGNORECASE)
SATISFACTION_SCORES = ("offered", "unoffered", "good", "bad")
ANSWERED_SATISFACTION = {"good": 1, "bad": 0}


def request_row(**values: Any) -> dict[str, Any]:
    row = {
        "request_id": None,
        "vendor": None,
        "title": None,
        "content": None,
        "respondent_id": None,
        "respondent_email_hash": None,
        "user_id": None,
        "account_id": None,
        "account_name": None,
        "tags": [],
        "jira_key": None,
        "feature_name": None,
        "channel": None,
        "status": None,
        "satisfaction": None,
        "created_at": None,
    }
    unknown = set(values) - set(row)
    assert not unknown, unknown
    row.update(values)
    for text_field in ("title", "content"):
        row[text_field] = scrub_text(clean(row[text_field]))
    return row


# -- Productboard -------------------------------------------------------------------------------------------------


PRODUCTBOARD_OPTIONAL = (
    "Customer email", "Company domain", "Company name", "Tags", "Features", "Jira key", "Source", "Created at",
)  # fmt: skip
# Known Productboard columns that carry nothing kept (a person's name beside the hashed e-mail, the note's owner).
PRODUCTBOARD_UNREPORTED = ("Customer name", "Owner")


def productboard_id_column(header: list[str]) -> str | None:
    return next((name for name in ("Note ID", "id", "ID") if name in header), None)


def parse_productboard_csv(rows: CsvRows, label: str, stage: RowStage | None = None) -> FileRows:
    """One row per (note, linked feature); a note linked to no feature gives one row with feature_name NULL."""
    out = FileRows("productboard_csv", ENTITY, stage=stage)
    header = [c.strip() for c in rows[0]]
    id_column = productboard_id_column(header)
    assert id_column is not None  # detection requires it
    drift = ColumnDrift.of(
        header,
        known=(id_column, "Title", "Content", *PRODUCTBOARD_OPTIONAL, *PRODUCTBOARD_UNREPORTED),
        optional=PRODUCTBOARD_OPTIONAL,
        fold=str.strip,
    )
    out.unknown_columns, out.missing_columns = list(drift.unknown), list(drift.missing)

    def parse(record: Record) -> EntityRows:
        cells = dict(zip(header, fit_width(record.payload, len(header)), strict=True))
        note_id = id_text(cells[id_column], id_column)
        base = {
            "request_id": note_id,
            "vendor": "productboard",
            "title": cells.get("Title"),
            "content": cells.get("Content"),
            "respondent_email_hash": email_hash(cells.get("Customer email")),
            "account_id": account_domain(clean(cells.get("Company domain"))),
            "account_name": clean(cells.get("Company name")),
            "tags": split_list(cells.get("Tags"), ","),
            "jira_key": jira_key(cells.get("Jira key"), "Jira key"),
            "channel": clean(cells.get("Source")),
            "created_at": timestamp(cells.get("Created at"), "Created at"),
        }
        features = split_list(cells.get("Features"), ",") or [None]
        return {ENTITY: [request_row(**base, feature_name=f) for f in dict.fromkeys(features)]}

    load_csv_records(out, header, rows[1:], id_column, parse, "note")
    return out


# -- Zendesk ------------------------------------------------------------------------------------------------------


def parse_ticket_fields(fields: list[Any], label: str) -> FileRows:
    """The catalog writes no lake rows: it names custom fields for ticket files (kept in the manifest details)."""
    out = FileRows("zendesk_ticket_fields", None)
    out.unknown_columns, out.missing_columns = key_drift(
        fields, ZENDESK_TICKET_FIELD_KEYS, ZENDESK_TICKET_FIELD_OPTIONAL
    )
    jira_ids: list[int] = []
    feature_ids: list[int] = []
    for field in fields:
        if not isinstance(field, dict) or not isinstance(field.get("id"), int):
            continue
        title = str(field.get("title") or field.get("raw_title") or "")
        if JIRA_FIELD_TITLE.match(title) and title.strip():
            jira_ids.append(field["id"])
        elif FEATURE_FIELD_TITLE.match(title):
            feature_ids.append(field["id"])
    out.details["ticket_fields"] = {"jira_key": jira_ids, "feature": feature_ids}
    out.details["fields_in_catalog"] = len(fields)
    out.notes.append(
        f"ticket field catalog: {len(fields)} fields; Jira key field ids {jira_ids or 'none'}, "
        f"Feature field ids {feature_ids or 'none'}"
    )
    return out


def _field_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v not in (None, ""))
    return clean(value)


def _is_feature_request(ticket: dict[str, Any], feature_field_ids: set[int]) -> bool:
    tags = {str(t).lower() for t in ticket.get("tags") or []}
    if tags & FEATURE_REQUEST_MARKERS or str(ticket.get("type") or "").lower() in FEATURE_REQUEST_MARKERS:
        return True
    for field in ticket.get("custom_fields") or []:
        if not isinstance(field, dict):
            continue
        value = field.get("value")
        values = value if isinstance(value, list) else [value]
        if any(str(v).lower() in FEATURE_REQUEST_MARKERS for v in values if v is not None):
            return True
        if field.get("id") in feature_field_ids and _field_text(value):
            return True
    return False


def organization_accounts(organizations: Any) -> dict[str, tuple[str, str | None]]:
    """Sideloaded organizations by id -> (account key = the first of their domain_names, organization name)."""
    accounts: dict[str, tuple[str, str | None]] = {}
    for organization in organizations if isinstance(organizations, list) else []:
        # an organization with no usable id or domain resolves no ticket: its tickets keep their organization_id
        if not isinstance(organization, dict) or not isinstance(organization.get("id"), int | str):
            continue
        organization_id = clean(organization["id"])
        domain_names = organization.get("domain_names")
        domains = [account_domain(str(d)) for d in domain_names] if isinstance(domain_names, list) else []
        domain = next((d for d in domains if d is not None), None)
        if organization_id is not None and domain is not None:
            accounts[organization_id] = (domain, clean(organization.get("name")))
    return accounts


def parse_zendesk_tickets(
    tickets: Iterable[Any],
    label: str,
    ticket_fields: dict[str, list[int]] | None,
    organizations: Any = None,
    stage: RowStage | None = None,
) -> FileRows:
    """``tickets``: a list, or a re-readable view of the file's array (read once to survey, then per pass)."""
    out = FileRows("zendesk_tickets", ENTITY, stage=stage)
    accounts = organization_accounts(organizations)
    jira_ids = set((ticket_fields or {}).get("jira_key", []))
    feature_ids = set((ticket_fields or {}).get("feature", []))
    counted = {"tickets": 0, "skipped": 0}

    def surveyed() -> Iterator[Any]:
        for ticket in tickets:
            counted["tickets"] += 1
            counted["skipped"] += isinstance(ticket, dict) and not _is_feature_request(ticket, feature_ids)
            yield ticket

    # Every ticket of the file, also those skipped as support work: the keys describe the export.
    out.unknown_columns, out.missing_columns = key_drift(surveyed(), ZENDESK_TICKET_KEYS, ZENDESK_TICKET_OPTIONAL)
    if ticket_fields is None:
        out.notes.append("no Zendesk ticket field catalog known yet: custom fields (Jira key, Feature) not read")
    out.details["ticket_fields"] = {"jira_key": sorted(jira_ids), "feature": sorted(feature_ids)}

    def parse(record: Record) -> EntityRows:
        ticket = record.payload
        custom = {f.get("id"): f.get("value") for f in ticket.get("custom_fields") or [] if isinstance(f, dict)}
        jira_values = [v for fid in sorted(jira_ids) if (v := _field_text(custom.get(fid)))]
        feature_values = [v for fid in sorted(feature_ids) if (v := _field_text(custom.get(fid)))]
        if len(set(jira_values)) > 1:
            raise RecordError(f"several Jira keys in custom fields: {sorted(set(jira_values))}")
        rating = ticket.get("satisfaction_rating")
        satisfaction = clean(rating.get("score")) if isinstance(rating, dict) else None
        if satisfaction is not None and satisfaction not in SATISFACTION_SCORES:
            raise RecordError(
                f"satisfaction_rating.score {satisfaction!r} is not one of {', '.join(SATISFACTION_SCORES)}"
            )
        tags = ticket.get("tags") or []
        if not isinstance(tags, list):
            raise RecordError(f"tags is a JSON {type(tags).__name__}, not a list")
        via = ticket.get("via") if isinstance(ticket.get("via"), dict) else {}
        organization_id = optional_id(ticket.get("organization_id"), "organization_id")
        account_id, account_name = accounts.get(organization_id or "", (organization_id, None))
        return {
            ENTITY: [
                request_row(
                    request_id=id_text(ticket.get("id"), "id"),
                    vendor="zendesk",
                    title=ticket.get("subject") or ticket.get("raw_subject"),
                    content=ticket.get("description"),
                    respondent_id=optional_id(ticket.get("requester_id"), "requester_id"),
                    account_id=account_id,
                    account_name=account_name,
                    tags=[str(t) for t in tags],
                    jira_key=jira_key(jira_values[0], "Jira key custom field") if jira_values else None,
                    feature_name=feature_values[0] if feature_values else None,
                    channel=clean(via.get("channel")),
                    status=clean(ticket.get("status")),
                    satisfaction=satisfaction,
                    created_at=timestamp(ticket.get("created_at"), "created_at"),
                )
            ]
        }

    def records() -> Iterator[Record]:
        for n, ticket in enumerate(tickets, 1):
            if isinstance(ticket, dict) and not _is_feature_request(ticket, feature_ids):
                continue
            key = clean(ticket.get("id")) if isinstance(ticket, dict) else None
            yield Record(n, key, partial(raw_json, ticket), ticket)  # raw text made only when needed

    out.skip(counted["skipped"], "Zendesk tickets that are not feature requests (no feature_request tag or field)")
    out.details["tickets_in_file"] = counted["tickets"]

    def checked(record: Record) -> EntityRows:
        if not isinstance(record.payload, dict):
            raise RecordError(f"element is a JSON {type(record.payload).__name__}, not an object")
        return parse(record)

    load_records(out, Reread(records), checked, "ticket")
    return out


def parse_zendesk_satisfaction(ratings: Iterable[Any], label: str, stage: RowStage | None = None) -> FileRows:
    """``ratings``: a list, or a re-readable view of the file's array (read once to survey, then per pass)."""
    out = FileRows("zendesk_satisfaction", "survey_responses", stage=stage)
    out.unknown_columns, out.missing_columns = key_drift(
        ratings, ZENDESK_SATISFACTION_KEYS, ZENDESK_SATISFACTION_OPTIONAL
    )

    def parse(record: Record) -> EntityRows:
        rating = record.payload
        if not isinstance(rating, dict):
            raise RecordError(f"element is a JSON {type(rating).__name__}, not an object")
        value = clean(rating.get("score"))
        if value not in ANSWERED_SATISFACTION:
            raise RecordError(f"score {value!r} is not one of {', '.join(SATISFACTION_SCORES)}")
        props = {"ticket_id": optional_id(rating.get("ticket_id"), "ticket_id")}
        for key in ("group_id", "assignee_id", "reason"):
            if rating.get(key) not in (None, ""):
                props[key] = rating[key]
        return {
            "survey_responses": [
                {
                    "response_id": id_text(rating.get("id"), "id"),
                    "survey_type": "csat",
                    "survey_name": "zendesk_satisfaction",
                    "vendor": "zendesk",
                    "score": ANSWERED_SATISFACTION[value],
                    "scale_min": 0,
                    "scale_max": 1,
                    "comment": scrub_text(clean(rating.get("comment"))),
                    "respondent_id": optional_id(rating.get("requester_id"), "requester_id"),
                    "respondent_email_hash": None,
                    "user_id": None,
                    "account_id": None,
                    "responded_at": timestamp(rating.get("created_at"), "created_at"),
                    "properties": properties_json(props),
                }
            ]
        }

    skipped = sum(
        1 for rating in ratings if isinstance(rating, dict) and clean(rating.get("score")) in ("offered", "unoffered")
    )

    def records() -> Iterator[Record]:
        for n, rating in enumerate(ratings, 1):
            if isinstance(rating, dict) and clean(rating.get("score")) in ("offered", "unoffered"):
                continue
            key = clean(rating.get("id")) if isinstance(rating, dict) else None
            yield Record(n, key, partial(raw_json, rating), rating)  # raw text made only when needed

    out.skip(skipped, "satisfaction ratings offered but not answered (score offered / unoffered)")
    load_records(out, Reread(records), parse, "rating")
    return out
