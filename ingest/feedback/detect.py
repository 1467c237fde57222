"""Detect a landed feedback file's layout from its content (JSON keys, CSV header sets), never its name, and parse
it into FileRows (no lake writes). Anything unrecognised stops the file with a message saying what was seen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from core.config import PipelineConfig
from ingest.common.json_stream import JsonStream
from ingest.common.row_writer import RowStage
from ingest.feedback.csv_rows import CsvFile, check_utf8
from ingest.feedback.errors import MalformedFileError, UnknownLayoutError
from ingest.feedback.json_keys import RecordKeys
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


class JsonItems:
    """The elements of one array of a landed JSON document, decoded one at a time and afresh on every iteration
    (ingest.common.json_stream): the top-level array (``member`` None), or the ``occurrence``-th array under the
    top-level key ``member`` (json.loads keeps the last of a repeated key; the survey says which that is)."""

    def __init__(self, path: Path, label: str, member: str | None = None, occurrence: int = 0):
        self.path, self.label, self.member, self.occurrence = path, label, member, occurrence
        self.record_keys = RecordKeys()  # filled by the detection pass (json_keys.key_drift reads it)

    def __iter__(self) -> Iterator[Any]:
        with _stream(self.path, self.label) as stream:
            if self.member is None:
                yield from stream.items()
                return
            seen = 0
            for key in stream.members():
                if key == self.member and stream.kind() == "array":
                    seen += 1
                    if seen == self.occurrence:
                        yield from stream.items()
                        return
                stream.skip()


@dataclass(frozen=True)
class _TopArray:
    """What detection needs of a top-level array: its elements (streamed), how many, the first object's keys."""

    items: JsonItems
    count: int
    first_keys: set[str] | None


# Top-level members holding the records of a layout: walked record by record, never held whole.
_RECORD_MEMBERS = ("tickets", "satisfaction_ratings", "ticket_fields")


def _stream(path: Path, label: str) -> JsonStream:
    # Positions as json.loads counted them on Path.read_text (newlines translated); floats as json.loads makes them.
    return JsonStream(path, label, exact_decimals=False, universal_newlines=True, error=MalformedFileError)


def _survey_json(path: Path, label: str) -> Any:
    """One pass over the whole document (well-formed to its end, else json.loads' error): the top-level object with
    its record arrays as JsonItems and its other members decoded, or a _TopArray, or the top-level value."""
    with _stream(path, label) as stream:
        kind = stream.kind()
        document: Any
        if kind == "object":
            document, arrays = {}, dict.fromkeys(_RECORD_MEMBERS, 0)
            for key in stream.members():
                if key in arrays and stream.kind() == "array":
                    arrays[key] += 1
                    items = JsonItems(path, label, key, arrays[key])
                    for item in stream.items():
                        items.record_keys.observe(item)
                    document[key] = items
                else:
                    document[key] = stream.value()
        elif kind == "array":
            count, first_keys, items = 0, None, JsonItems(path, label)
            for item in stream.items():
                count += 1
                items.record_keys.observe(item)
                if first_keys is None and isinstance(item, dict):
                    first_keys = set(item)
            document = _TopArray(items, count, first_keys)
        else:
            document = stream.value()
        stream.finish()
    return document


def _json_layout(document: Any, label: str, ticket_fields: TicketFields | None, stage: RowStage | None) -> FileRows:
    if isinstance(document, dict):
        for key, parse in (
            (
                "tickets",
                lambda items: parse_zendesk_tickets(items, label, ticket_fields, document.get("organizations"), stage),
            ),
            ("satisfaction_ratings", lambda items: parse_zendesk_satisfaction(items, label, stage)),
            ("ticket_fields", lambda items: parse_ticket_fields(list(items), label)),  # a catalog: small
        ):
            if key in document:
                if not isinstance(document[key], list | JsonItems):
                    raise MalformedFileError(f"{label}: {key!r} is a JSON {type(document[key]).__name__}, not a list")
                return parse(document[key])
        raise UnknownLayoutError(
            f"unknown layout: {label}: a JSON object with keys {_shown(sorted(document))}; expected Zendesk "
            "'tickets', 'satisfaction_ratings' or 'ticket_fields'"
        )
    if isinstance(document, list):  # a document already in memory
        first = next((item for item in document if isinstance(item, dict)), None)
        document = _TopArray(document, len(document), set(first) if first is not None else None)  # type: ignore[arg-type]
    if not isinstance(document, _TopArray):
        raise UnknownLayoutError(f"unknown layout: {label}: a JSON {type(document).__name__}, not an object or array")
    if document.first_keys is None:
        raise UnknownLayoutError(
            f"unknown layout: {label}: a JSON array with no objects ({document.count} elements); nothing says which "
            "export it is"
        )
    keys = document.first_keys
    items = document.items
    if "score" in keys and ("survey_type" in keys or "permalink" in keys or "person" in keys):
        return parse_delighted_json(items, label, stage)
    if "subject" in keys and ("requester_id" in keys or "via" in keys):
        return parse_zendesk_tickets(items, label, ticket_fields, stage=stage)
    if "score" in keys and "ticket_id" in keys:
        return parse_zendesk_satisfaction(items, label, stage)
    if {"id", "title", "type"} <= keys and ("raw_title" in keys or "custom_field_options" in keys):
        return parse_ticket_fields(list(items), label)
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
    ``stage``: where CSV layouts put their rows as they read them (the file is then never held whole). A JSON
    document is never held whole either: its record arrays are read a record at a time, on every pass.
    Raises FeedbackFileError (UnknownLayoutError, MalformedFileError) for a file that
    cannot be loaded at all."""
    check_utf8(path, label)
    first = _first_character(path)
    if not first:
        raise UnknownLayoutError(f"unknown layout: {label}: the file is empty")
    if first in "{[":
        return _json_layout(_survey_json(path, label), label, ticket_fields, stage)
    return _csv_layout(CsvFile(path, label), label, config, stage)
