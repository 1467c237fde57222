"""Jira's UI CSV export ("all fields"): localised headers, repeated multi-value columns, local dates.

Columns are found by name in any configured language (ingest/jira/locales.py); multi-value fields repeat their
header once per value (empty cells mean none); custom fields are ``Custom field (<name>)`` matched against
``config.jira.custom_fields`` names; dates carry no offset and are in ``config.jira.csv_timezone``. Comment cells are
``date;author accountId;body``. The Sprint columns hold sprint names: they are mapped to ids through the sprints
already known (agile pages and issue files loaded earlier), and left NULL with a note when a name is unknown or
ambiguous. CSV has no changelog: changelog_total / changelog_complete are NULL.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from core.config import JiraConfig
from ingest.jira.dates import DateValueError, parse_csv_date, parse_csv_datetime
from ingest.jira.errors import JiraFileError, MalformedFileError
from ingest.jira.fields import CUSTOM_FIELD_ID
from ingest.jira.locales import (
    LOCALES,
    custom_field_name,
    fold,
    header_lookup,
    header_names,
    hierarchy_level_from_type,
    issue_link_header,
    status_category_key,
)
from ingest.jira.rows import EntityRows, FileRows, load_records
from ingest.jira.values import RecordError, confidence, number, story_points, whole_number

CSV = "csv"
REQUIRED_COLUMNS = ("issue_key", "issue_id", "created")
ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
CUSTOM_LOGICAL_FIELDS = ("story_points", "epic_link", "reach", "impact", "confidence", "effort")


def is_csv_header(first_row: list[str]) -> bool:
    """True if the row names an issue-key column in any supported language."""
    lookup = header_lookup(LOCALES)
    return any(lookup.get(fold(cell.lstrip("\ufeff"))) == "issue_key" for cell in first_row)


def _rows(text: str, label: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, cells); blank lines skipped. Multi-line quoted cells stay one row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise MalformedFileError(f"malformed CSV in {label} at line {reader.line_num}: {exc}") from None


def first_row(text: str, label: str) -> list[str]:
    for _, cells in _rows(text, label):
        return cells
    return []


class _Columns:
    """Logical column -> the header positions holding it, in header order."""

    def __init__(self, header: list[str], config: JiraConfig, label: str):
        locales = config.csv_locales
        lookup = header_lookup(locales)
        custom_lookup: dict[str, str] = {}
        for logical in CUSTOM_LOGICAL_FIELDS:
            for name in config.custom_fields.get(logical, ()):
                if not CUSTOM_FIELD_ID.match(name):  # a CSV header carries names, never ids
                    custom_lookup.setdefault(fold(name), logical)
        for name in config.custom_fields.get("sprint", ()):
            custom_lookup.setdefault(fold(name), "sprint")
        self.header = [cell.lstrip("\ufeff").strip() for cell in header]
        self.positions: dict[str, list[int]] = {}
        self.links: list[tuple[int, str, str]] = []  # (position, direction, link type name), in header order
        for index, name in enumerate(self.header):
            link = issue_link_header(name, locales)
            if link is not None:
                self.links.append((index, *link))
                continue
            logical = lookup.get(fold(name))
            if logical is None:
                custom_name = custom_field_name(name, locales)
                logical = custom_lookup.get(fold(custom_name if custom_name is not None else name))
            if logical is not None:
                self.positions.setdefault(logical, []).append(index)
        for logical in REQUIRED_COLUMNS:
            if logical not in self.positions:
                tried = ", ".join(repr(n) for n in header_names(logical, locales))
                raise JiraFileError(
                    f"{label}: the CSV header has no {logical.replace('_', ' ')} column (looked for {tried} in the "
                    f"configured languages {', '.join(locales)})"
                )

    def has(self, logical: str) -> bool:
        return logical in self.positions

    def single(self, cells: list[str], logical: str) -> tuple[str | None, str | None]:
        """(header, value) of the first non-empty cell of the column."""
        for index in self.positions.get(logical, []):
            if cells[index].strip():
                return self.header[index], cells[index]
        return None, None

    def multi(self, cells: list[str], logical: str) -> list[str]:
        return [cells[i].strip() for i in self.positions.get(logical, []) if cells[i].strip()]


class CsvIssueParser:
    def __init__(self, columns: _Columns, config: JiraConfig, sprint_ids_by_name: dict[str, set[int]]):
        self.columns = columns
        self.locales = config.csv_locales
        self.timezone = config.csv_timezone
        self.sprint_ids_by_name = sprint_ids_by_name
        self.unknown_sprints: list[str] = []
        self.served: dict[str, dict[str, int]] = {}

    def _datetime(self, cells: list[str], logical: str, key: str) -> Any:
        header, value = self.columns.single(cells, logical)
        if value is None:
            return None
        try:
            return parse_csv_datetime(value, self.locales, self.timezone)
        except DateValueError as exc:
            raise RecordError(f"issue {key} {header}: {exc}") from None

    def _custom(self, cells: list[str], logical: str, key: str, read: Any) -> Any:
        header, value = self.columns.single(cells, logical)
        if value is None:
            return None
        served = self.served.setdefault(logical, {})
        served[header or ""] = served.get(header or "", 0) + 1
        return read(value, f"issue {key} {header}")

    def _comments(self, cells: list[str], key: str, record_number: int) -> list[dict[str, Any]]:
        rows = []
        for index, cell in enumerate(self.columns.multi(cells, "comment"), 1):
            parts = cell.split(";", 2)
            if len(parts) != 3:
                raise RecordError(f"issue {key} comment {index}: {cell[:200]!r} is not 'date;author;body'")
            try:
                commented_at = parse_csv_datetime(parts[0], self.locales, self.timezone)
            except DateValueError as exc:
                raise RecordError(f"issue {key} comment {index} date: {exc}") from None
            rows.append(
                {
                    "issue_key": key,
                    "comment_index": index,
                    "commented_at": commented_at,
                    "author_account_id": parts[1].strip() or None,
                    "body": parts[2],
                    "_record_number": record_number,
                }
            )
        return rows

    def _links(self, cells: list[str], key: str, issue_id: str, record_number: int) -> list[dict[str, Any]]:
        """One row per non-empty link cell; the cell holds the linked issue's key (the CSV has no link ids)."""
        rows = []
        for position, direction, link_type in self.columns.links:
            linked = cells[position].strip()
            if not linked:
                continue
            if not ISSUE_KEY.match(linked):
                raise RecordError(f"issue {key} {self.columns.header[position]}: {linked[:200]!r} is not an issue key")
            rows.append(
                {
                    "issue_key": key,
                    "issue_id": issue_id,
                    "link_index": len(rows) + 1,
                    "link_id": None,
                    "link_type": link_type,
                    "direction": direction,
                    "link_phrase": None,
                    "linked_issue_key": linked,
                    "_record_number": record_number,
                }
            )
        return rows

    def _sprint_ids(self, cells: list[str], key: str) -> list[int] | None:
        if not self.columns.has("sprint"):
            return None
        ids = []
        for name in self.columns.multi(cells, "sprint"):
            known = self.sprint_ids_by_name.get(fold(name), set())
            if len(known) != 1:
                why = "unknown" if not known else f"ambiguous: ids {sorted(known)}"
                self.unknown_sprints.append(f"{key} {name!r} ({why})")
                return None
            ids.append(next(iter(known)))
        return list(dict.fromkeys(ids))

    def parse(self, record_number: int, record: tuple[int, list[str]]) -> EntityRows:
        line, cells = record
        if len(cells) != len(self.columns.header):
            raise RecordError(
                f"CSV row at line {line} has {len(cells)} cells, the header has {len(self.columns.header)}"
            )
        _, key = self.columns.single(cells, "issue_key")
        if not key:
            raise RecordError(f"CSV row at line {line} has no issue key")
        key = key.strip()
        _, issue_id = self.columns.single(cells, "issue_id")
        if not issue_id:
            raise RecordError(f"issue {key} has no issue id")
        created_at = self._datetime(cells, "created", key)
        if created_at is None:
            raise RecordError(f"issue {key} has no created date")

        _, issue_type = self.columns.single(cells, "issue_type")
        category_header, category_value = self.columns.single(cells, "status_category")
        category = None
        if category_value is not None:
            category = status_category_key(category_value, self.locales)
            if category is None:
                raise RecordError(
                    f"issue {key} {category_header}: {category_value!r} is not a status category in "
                    f"{', '.join(self.locales)}"
                )
        due_header, due_value = self.columns.single(cells, "due_date")
        try:
            due_date = parse_csv_date(due_value, self.locales) if due_value is not None else None
        except DateValueError as exc:
            raise RecordError(f"issue {key} {due_header}: {exc}") from None
        _, parent_ref = self.columns.single(cells, "parent")
        _, project_key = self.columns.single(cells, "project_key")

        def optional(logical: str) -> str | None:
            value = self.columns.single(cells, logical)[1]
            return value.strip() if value is not None and logical != "description" else value

        def multi_or_null(logical: str) -> list[str] | None:
            return self.columns.multi(cells, logical) if self.columns.has(logical) else None

        row = {
            "issue_id": issue_id.strip(),
            "issue_key": key,
            "project_key": (project_key or "").strip() or key.rsplit("-", 1)[0],
            "issue_type": issue_type.strip() if issue_type else None,
            "hierarchy_level": hierarchy_level_from_type(issue_type, self.locales),
            "summary": optional("summary"),
            "description_text": optional("description"),
            "status": optional("status"),
            "status_category": category,
            "priority": optional("priority"),
            "resolution": optional("resolution"),
            "assignee_account_id": optional("assignee_account_id"),
            "reporter_account_id": optional("reporter_account_id"),
            "labels": multi_or_null("labels"),
            "components": multi_or_null("components"),
            "fix_versions": multi_or_null("fix_versions"),
            "sprint_ids": self._sprint_ids(cells, key),
            "story_points": self._custom(cells, "story_points", key, story_points),
            "original_estimate_seconds": whole_number(optional("original_estimate"), f"issue {key} Original Estimate"),
            "time_spent_seconds": whole_number(optional("time_spent"), f"issue {key} Time Spent"),
            "due_date": due_date,
            "created_at": created_at,
            "updated_at": self._datetime(cells, "updated", key),
            "resolved_at": self._datetime(cells, "resolved", key),
            "reach": self._custom(cells, "reach", key, number),
            "impact": self._custom(cells, "impact", key, number),
            "confidence": self._custom(cells, "confidence", key, confidence),
            "effort": self._custom(cells, "effort", key, number),
            "changelog_total": None,
            "changelog_loaded": None,
            "changelog_complete": None,
            "_record_number": record_number,
            # Resolved once every row is read: a parent / epic may be given by issue id.
            "_parent_ref": parent_ref.strip() if parent_ref else None,
            "_epic_ref": (self.columns.single(cells, "epic_link")[1] or "").strip() or None,
        }
        return {
            "issues": [row],
            "comments": self._comments(cells, key, record_number),
            "issue_links": self._links(cells, key, row["issue_id"], record_number),
        }


def _resolve_parents(out: FileRows) -> None:
    """Parent / Epic Link cells hold a key or an issue id: ids are mapped to keys within the file."""
    issues = out.entities["issues"]
    key_by_id = {row["issue_id"]: row["issue_key"] for row in issues}
    level_by_key = {row["issue_key"]: row["hierarchy_level"] for row in issues}
    unresolved = []
    for row in issues:
        parent_ref, epic_ref = row.pop("_parent_ref"), row.pop("_epic_ref")
        resolved = {}
        for name, ref in (("parent", parent_ref), ("epic", epic_ref)):
            if ref is None or ISSUE_KEY.match(ref):
                resolved[name] = ref
            elif ref in key_by_id:
                resolved[name] = key_by_id[ref]
            else:
                resolved[name] = None
                unresolved.append(f"{row['issue_key']} {name} id {ref}")
        row["parent_key"] = resolved["parent"]
        parent_is_epic = resolved["parent"] is not None and level_by_key.get(resolved["parent"]) == 1
        row["epic_key"] = resolved["epic"] or (resolved["parent"] if parent_is_epic else None)
    if unresolved:
        out.notes.append("parent / epic given by an issue id not in this file, key left NULL: " + ", ".join(unresolved))


def parse_csv_export(text: str, label: str, config: JiraConfig, sprint_ids_by_name: dict[str, set[int]]) -> FileRows:
    rows = _rows(text, label)
    header = next(rows, None)
    if header is None:
        raise JiraFileError(f"{label}: empty CSV")
    columns = _Columns(header[1], config, label)
    parser = CsvIssueParser(columns, config, sprint_ids_by_name)
    records = list(rows)
    out = FileRows(CSV, "issues")
    load_records(
        out,
        records,
        key_of=lambda record: (
            (columns.single(record[1], "issue_key")[1] or "").strip() or None
            if len(record[1]) == len(columns.header)
            else None
        ),
        raw_of=lambda record: json.dumps(
            [[columns.header[i] if i < len(columns.header) else None, cell] for i, cell in enumerate(record[1])],
            ensure_ascii=False,
        ),
        parse=parser.parse,
        noun="issue key",
    )
    _resolve_parents(out)
    if parser.unknown_sprints:
        out.notes.append(
            "sprint names not matched to one known sprint id (load the agile sprint pages first), sprint_ids left "
            "NULL: " + ", ".join(parser.unknown_sprints)
        )
    out.details["csv_columns"] = {
        logical: [columns.header[i] for i in positions] for logical, positions in sorted(columns.positions.items())
    }
    out.details["custom_fields"] = {logical: parser.served.get(logical, {}) for logical in CUSTOM_LOGICAL_FIELDS}
    out.details["issue_link_columns"] = [columns.header[position] for position, _, _ in columns.links]
    out.unknown_columns, out.missing_columns = _column_drift(columns, config)
    return out


def _column_drift(columns: _Columns, config: JiraConfig) -> tuple[list[str], list[str]]:
    """Columns not read (mapped to no field, not an issue link), and the fields read when present that the header
    lacks, each under its first configured-language header name (ingest/common/columns.py)."""
    mapped = {i for positions in columns.positions.values() for i in positions} | {p for p, _, _ in columns.links}
    unknown = list(dict.fromkeys(name for i, name in enumerate(columns.header) if i not in mapped and name))
    readable = dict.fromkeys(header_lookup(config.csv_locales).values())
    optional = {logical: header_names(logical, config.csv_locales) for logical in readable}
    for logical in CUSTOM_LOGICAL_FIELDS:  # configured by name: "Custom field (<name>)" in the header
        names = [name for name in config.custom_fields.get(logical, ()) if not CUSTOM_FIELD_ID.match(name)]
        if names and logical not in optional:
            optional[logical] = [f"Custom field ({name})" for name in names]
    missing = [
        (names or [logical])[0]
        for logical, names in optional.items()
        if logical not in REQUIRED_COLUMNS and not columns.has(logical)
    ]
    return unknown, missing
