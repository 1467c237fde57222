"""Detect a landed feedback file's layout from its content (JSON keys, CSV header sets), never its name, and parse
it into FileRows (no lake writes). Anything unrecognised stops the file with a message saying what was seen."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from core.config import PipelineConfig
from ingest.common.row_writer import RowStage
from ingest.feedback.csv_rows import CsvFile, check_utf8
from ingest.feedback.errors import MalformedFileError, UnknownLayoutError
from ingest.feedback.kano import LONG_COLUMNS, LONG_REQUIRED, parse_kano_long, parse_kano_wide
from ingest.feedback.requests import (
    parse_productboard_csv,
    parse_ticket_fields,
    parse_zendesk_satisfaction,
    parse_zendesk_tickets,
    productboard_id_column,
)
from ingest.feedback.rows import FileRows
from ingest.feedback.surveys import (
    CSAT_REQUIRED,
    parse_csat_csv,
    parse_delighted_csv,
    parse_delighted_json,
    parse_surveymonkey_csv,
    parse_typeform_csv,
)

TicketFields = dict[str, list[int]]


def _shown(names: list[str], limit: int = 8) -> str:
    return ", ".join(repr(n) for n in names[:limit]) + (", ..." if len(names) > limit else "")


def _json_layout(document: Any, label: str, ticket_fields: TicketFields | None) -> FileRows:
    if isinstance(document, dict):
        for key, parse in (
            (
                "tickets",
                lambda items: parse_zendesk_tickets(items, label, ticket_fields, document.get("organizations")),
            ),
            ("satisfaction_ratings", lambda items: parse_zendesk_satisfaction(items, label)),
            ("ticket_fields", lambda items: parse_ticket_fields(items, label)),
        ):
            if key in document:
                if not isinstance(document[key], list):
                    raise MalformedFileError(f"{label}: {key!r} is a JSON {type(document[key]).__name__}, not a list")
                return parse(document[key])
        raise UnknownLayoutError(
            f"unknown layout: {label}: a JSON object with keys {_shown(sorted(document))}; expected Zendesk "
            "'tickets', 'satisfaction_ratings' or 'ticket_fields'"
        )
    if not isinstance(document, list):
        raise UnknownLayoutError(f"unknown layout: {label}: a JSON {type(document).__name__}, not an object or array")
    first = next((item for item in document if isinstance(item, dict)), None)
    if first is None:
        raise UnknownLayoutError(
            f"unknown layout: {label}: a JSON array with no objects ({len(document)} elements); nothing says which "
            "export it is"
        )
    keys = set(first)
    if "score" in keys and ("survey_type" in keys or "permalink" in keys or "person" in keys):
        return parse_delighted_json(document, label)
    if "subject" in keys and ("requester_id" in keys or "via" in keys):
        return parse_zendesk_tickets(document, label, ticket_fields)
    if "score" in keys and "ticket_id" in keys:
        return parse_zendesk_satisfaction(document, label)
    if {"id", "title", "type"} <= keys and ("raw_title" in keys or "custom_field_options" in keys):
        return parse_ticket_fields(document, label)
    raise UnknownLayoutError(
        f"unknown layout: {label}: a JSON array of objects with keys {_shown(sorted(keys))}; expected Delighted "
        "survey responses or Zendesk tickets / satisfaction ratings / ticket fields"
    )


def _csv_layout(rows: CsvFile, label: str, config: PipelineConfig, stage: RowStage | None) -> FileRows:
    header = [c.strip() for c in rows[0]]
    names = set(header)
    survey_name = PurePosixPath(label).stem
    features = config.feedback.kano_features
    if {"Respondent ID", "Collector ID"} <= names:
        return parse_surveymonkey_csv(rows, label, survey_name, stage=stage)
    if {"Response ID", "Score"} <= names:
        return parse_delighted_csv(rows, label, stage=stage)
    if header[0] == "#" and ({"Submit Date (UTC)", "Network ID"} & names):
        return parse_typeform_csv(rows, label, survey_name, stage=stage)
    if set(CSAT_REQUIRED) <= names:
        return parse_csat_csv(rows, label, survey_name, stage=stage)
    if productboard_id_column(header) and {"Title", "Content"} <= names:
        return parse_productboard_csv(rows, label, stage=stage)
    if {"respondent_id", "question", "answer"} <= names:
        missing = [c for c in LONG_REQUIRED if c not in names]
        unexpected = [c for c in header if c not in LONG_COLUMNS]
        if missing or unexpected:
            raise MalformedFileError(
                f"Kano long export {label}: "
                + "; ".join(
                    part
                    for part in (
                        f"missing column(s) {_shown(missing)}" if missing else "",
                        f"unexpected column(s) {_shown(unexpected)}" if unexpected else "",
                    )
                    if part
                )
            )
        return parse_kano_long(rows, label, features)
    if {"respondent_id", "submitted_at"} <= names:
        return parse_kano_wide(rows, label, features)
    raise UnknownLayoutError(
        f"unknown layout: {label}: not JSON, and the CSV header matches no feedback export (saw {_shown(header)})"
    )


def _first_character(path: Path) -> str:
    """The first non-whitespace character of the file ('' when there is none), read in bounded chunks."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        while chunk := handle.read(1 << 16):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[0]
    return ""


def parse_feedback_file(
    path: Path,
    label: str,
    config: PipelineConfig,
    ticket_fields: TicketFields | None = None,
    stage: RowStage | None = None,
) -> FileRows:
    """Detect the layout of one landed file from its content and parse it (no lake writes).

    ``ticket_fields``: the Zendesk custom field ids known so far (None when no catalog was ever landed).
    ``stage``: where CSV layouts put their rows as they read them (the file is then never held whole; JSON
    documents are parsed whole). Raises FeedbackFileError (UnknownLayoutError, MalformedFileError) for a file that
    cannot be loaded at all."""
    check_utf8(path, label)
    first = _first_character(path)
    if not first:
        raise UnknownLayoutError(f"unknown layout: {label}: the file is empty")
    if first in "{[":
        text = path.read_text(encoding="utf-8-sig")
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedFileError(
                f"malformed JSON in {label}: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
            ) from None
        return _json_layout(document, label, ticket_fields)
    return _csv_layout(CsvFile(path, label), label, config, stage)
