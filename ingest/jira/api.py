"""Jira REST JSON: layout detection and parsing of search responses, issues, agile sprint pages, field catalogs.

Layouts (from content, never from the file name):
- ``rest_v2`` / ``rest_v3``: ``/rest/api/{2,3}/search`` envelopes ``{"startAt","maxResults","total","issues"}``
  (the version from the issues' ``self`` URLs or an Atlassian Document Format description);
- ``rest_jql``: ``/rest/api/3/search/jql`` pages ``{"issues", "nextPageToken", "isLast"}``;
- ``issue_array``: a bare JSON array of issues; ``single_issue``: one issue object;
- ``agile_sprints``: ``/rest/agile/1.0/board/{id}/sprint`` pages ``{"values": [...]}``;
- ``field_catalog``: ``/rest/api/3/field``, an array of ``{id, name, custom, schema}``;
- ``status_catalog``: ``/rest/api/{2,3}/status``, an array of ``{id, name, statusCategory: {key, ...}}``: the
  category of every status of the site, also of statuses no exported issue is in now.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingest.common.columns import ColumnDrift
from ingest.jira.adf import adf_to_text, is_adf
from ingest.jira.dates import DateValueError, parse_api_date, parse_api_datetime
from ingest.jira.errors import UnknownLayoutError
from ingest.jira.fields import ResolvedField
from ingest.jira.locales import EPIC_TYPE_NAMES, fold
from ingest.jira.rows import EntityRows, FileRows, canonical_json, dedupe_sprints, load_records
from ingest.jira.values import (
    RecordError,
    confidence,
    number,
    sprint_from_object,
    sprints,
    story_points,
    whole_number,
)

REST_V2 = "rest_v2"
REST_V3 = "rest_v3"
REST_JQL = "rest_jql"
ISSUE_ARRAY = "issue_array"
SINGLE_ISSUE = "single_issue"
AGILE_SPRINTS = "agile_sprints"
FIELD_CATALOG = "field_catalog"
STATUS_CATALOG = "status_catalog"
ISSUE_FORMATS = (REST_V2, REST_V3, REST_JQL, ISSUE_ARRAY, SINGLE_ISSUE)

STATUS_CATEGORY_KEYS = ("new", "indeterminate", "done")
_EPIC_NAMES = {fold(name) for names in EPIC_TYPE_NAMES.values() for name in names}
_SPRINT_STATES = {"closed", "active", "future"}

# Schema drift (ingest/common/columns.py): the top-level keys of each record kind per Atlassian's REST reference
# (https://developer.atlassian.com/cloud/jira/platform/rest/v3/, the agile 1.0 API and Jira Server's 2.0). A key
# outside its list goes to the file's unknown_columns; an optional key the parser reads that no record carries goes
# to missing_columns. An issue's ``fields`` are not checked: which keys it holds is the request's choice (the
# ``fields`` parameter), and every custom field and app field of the site appears there under its own id, so none
# of them is unknown; the ones the pipeline reads are resolved through the field catalog (ingest/jira/fields.py).
ISSUE_KEYS = frozenset(
    {
        "changelog", "editmeta", "expand", "fields", "fieldsToInclude", "id", "key", "names", "operations",
        "properties", "renderedFields", "schema", "self", "transitions", "versionedRepresentations",
    }
)  # fmt: skip
ISSUE_OPTIONAL = ("changelog",)  # without expand=changelog no transition is known: cycle times stay NULL
SPRINT_KEYS = frozenset(
    {
        "activatedDate", "autoStartStop", "boardId", "completeDate", "createdDate", "endDate", "goal", "id",
        "incompleteIssuesDestinationId", "name", "originBoardId", "rapidViewId", "self", "startDate", "state",
        "synced",
    }
)  # fmt: skip
SPRINT_OPTIONAL = ("name", "state")  # dates and goals are absent by design on future or goal-less sprints
FIELD_KEYS = frozenset(
    {
        "clauseNames", "contextsCount", "custom", "description", "id", "isLocked", "isUnscreenable", "key",
        "lastUsed", "name", "navigable", "orderable", "projectsCount", "schema", "scope", "screensCount",
        "searchable", "searcherKey", "stableId", "typeDisplayName", "untranslatedName",
    }
)  # fmt: skip
FIELD_OPTIONAL = ("custom", "schema")
STATUS_KEYS = frozenset(
    {"description", "iconUrl", "id", "name", "scope", "self", "statusCategory", "statusColor", "untranslatedName"}
)
STATUS_OPTIONAL = ("untranslatedName",)


def _key_drift(out: FileRows, records: list[Any], known: frozenset[str], optional: tuple[str, ...]) -> None:
    drift = ColumnDrift.of_records(records, known=known, optional=optional)
    out.unknown_columns, out.missing_columns = list(drift.unknown), list(drift.missing)


@dataclass
class JsonLayout:
    format: str
    records: list[Any]
    names: dict[str, str] | None = None  # expand=names: field id -> display name
    notes: list[str] = field(default_factory=list)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        keys = sorted(value)
        shown = ", ".join(repr(k) for k in keys[:12]) + (", ..." if len(keys) > 12 else "")
        return f"a JSON object with keys [{shown}]"
    if isinstance(value, list):
        return f"a JSON array of {len(value)} item(s)" + (f", the first being {_describe(value[0])}" if value else "")
    return f"a JSON {type(value).__name__} value"


def _looks_like_issue(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("fields"), dict)


def _is_v3(issues: list[Any]) -> bool:
    for issue in issues:
        if not isinstance(issue, dict):
            continue
        if "/rest/api/3/" in str(issue.get("self") or ""):
            return True
        fields = issue.get("fields")
        if isinstance(fields, dict) and is_adf(fields.get("description")):
            return True
    return False


def detect_json_layout(document: Any, label: str) -> JsonLayout:
    """The layout of a parsed JSON document; UnknownLayoutError names what was seen."""
    if isinstance(document, list):
        if not document or any(_looks_like_issue(item) for item in document):
            return JsonLayout(ISSUE_ARRAY, document, notes=[] if document else ["empty JSON array: no issues"])
        if all(isinstance(item, dict) and "id" in item and "name" in item and "custom" in item for item in document):
            return JsonLayout(FIELD_CATALOG, document)
        if all(isinstance(item, dict) and "id" in item and "name" in item and "statusCategory" in item
               for item in document):  # fmt: skip
            return JsonLayout(STATUS_CATALOG, document)
        raise UnknownLayoutError(
            f"unknown layout: {label}: {_describe(document)} (expected issues with 'key' and 'fields', "
            "/rest/api/3/field entries with 'id', 'name' and 'custom', or /rest/api/3/status entries with 'id', "
            "'name' and 'statusCategory')"
        )
    if isinstance(document, dict):
        if isinstance(document.get("issues"), list):
            issues = document["issues"]
            names = document.get("names") if isinstance(document.get("names"), dict) else None
            if "nextPageToken" in document or "isLast" in document:
                return JsonLayout(REST_JQL, issues, names)
            return JsonLayout(REST_V3 if _is_v3(issues) else REST_V2, issues, names)
        if isinstance(document.get("values"), list):
            values = document["values"]
            if all(
                isinstance(v, dict) and "id" in v and (v.get("state") in _SPRINT_STATES or "originBoardId" in v)
                for v in values
            ):
                return JsonLayout(AGILE_SPRINTS, values)
            raise UnknownLayoutError(
                f"unknown layout: {label}: a page of 'values' that are not sprints (first value: "
                f"{_describe(values[0])}; expected /rest/agile/1.0/board/{{id}}/sprint)"
            )
        if "key" in document and isinstance(document.get("fields"), dict):
            return JsonLayout(SINGLE_ISSUE, [document])
        if "errorMessages" in document or "errors" in document:
            messages = list(document.get("errorMessages") or []) + [
                f"{k}: {v}" for k, v in (document.get("errors") or {}).items()
            ]
            raise UnknownLayoutError(
                f"unknown layout: {label}: a Jira error response, not an export: {'; '.join(map(str, messages))}"
            )
    raise UnknownLayoutError(
        f"unknown layout: {label}: {_describe(document)} (expected a search response with 'issues', an agile "
        "sprint page with 'values', one issue with 'key' and 'fields', or an array of issues or of fields)"
    )


# -- small accessors ------------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("name") if value.get("name") is not None else value.get("value"))
    return _text(value)


def _account(value: Any) -> str | None:
    """Cloud identifies people by accountId; Server by key / name."""
    if isinstance(value, dict):
        for key in ("accountId", "key", "name"):
            if value.get(key):
                return str(value[key])
        return None
    return _text(value)


def _names(value: Any, label: str) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{label}: expected a list, got {value!r:.200}")
    return [name for name in (_name(v) for v in value) if name is not None]


def _datetime(value: Any, label: str) -> Any:
    try:
        return parse_api_datetime(value)
    except DateValueError as exc:
        raise RecordError(f"{label}: {exc}") from None


def _issue_key_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("key"))
    return _text(value) if value not in ("", None) else None


# -- issues ------------------------------------------------------------------------------------------------------


@dataclass
class IssueParser:
    """Turns one API issue object into rows of issues / changelog / sprints / comments."""

    resolved: dict[str, ResolvedField]
    truncated_changelogs: list[str] = field(default_factory=list)
    truncated_comments: list[str] = field(default_factory=list)
    unknown_categories: Counter[str] = field(default_factory=Counter)

    def _custom(self, logical: str, fields: dict[str, Any]) -> tuple[str | None, Any]:
        resolved = self.resolved.get(logical)
        if resolved is None:
            return None, None
        field_id, value = resolved.value(fields)
        return field_id, value

    def _served(self, logical: str, field_id: str | None) -> None:
        if field_id is not None:
            self.resolved[logical].served[field_id] += 1

    def parse(self, record_number: int, issue: Any) -> EntityRows:
        if not isinstance(issue, dict):
            raise RecordError(f"issue record is {_describe(issue)}, not an issue object")
        key = _text(issue.get("key"))
        if not key:
            raise RecordError("issue without a key")
        if issue.get("id") in (None, ""):
            raise RecordError(f"issue {key} has no id")
        fields = issue.get("fields")
        if not isinstance(fields, dict):
            raise RecordError(f"issue {key} has no 'fields' object")
        label = f"issue {key}"
        created_at = _datetime(fields.get("created"), f"{label} created")
        if created_at is None:
            raise RecordError(f"issue {key} has no created date")

        issue_type = fields.get("issuetype") if isinstance(fields.get("issuetype"), dict) else {}
        hierarchy = whole_number(issue_type.get("hierarchyLevel"), f"{label} issuetype.hierarchyLevel")
        if hierarchy is None and issue_type.get("subtask") is True:
            hierarchy = -1
        status = fields.get("status") if isinstance(fields.get("status"), dict) else {}
        category_obj = status.get("statusCategory") if isinstance(status.get("statusCategory"), dict) else {}
        category = _text(category_obj.get("key"))
        if category is not None and category not in STATUS_CATEGORY_KEYS:
            self.unknown_categories[category] += 1
            category = None

        description = fields.get("description")
        if description is not None and not isinstance(description, str | dict):
            raise RecordError(f"{label} description: {description!r:.200} is neither text nor a document")

        # Parent and epic: Epic Link (older company-managed projects) or the parent when it is an epic.
        parent = fields.get("parent")
        parent_key = _issue_key_of(parent)
        parent_is_epic = False
        if isinstance(parent, dict):
            parent_type = (parent.get("fields") or {}).get("issuetype") or {}
            parent_is_epic = parent_type.get("hierarchyLevel") == 1 or fold(str(parent_type.get("name"))) in (
                _EPIC_NAMES
            )
        epic_field, epic_value = self._custom("epic_link", fields)
        epic_key = _issue_key_of(epic_value) or (parent_key if parent_is_epic else None)
        self._served("epic_link", epic_field if epic_value is not None else None)

        sprint_field, sprint_value = self._custom("sprint", fields)
        sprint_resolved = bool(self.resolved.get("sprint") and self.resolved["sprint"].candidates)
        sprint_ids, sprint_rows = sprints(sprint_value, f"{label} sprint field {sprint_field}")
        self._served("sprint", sprint_field)

        points_field, points_value = self._custom("story_points", fields)
        points = story_points(points_value, f"{label} story points ({points_field})")
        self._served("story_points", points_field)
        rice: dict[str, float | None] = {}
        for logical in ("reach", "impact", "confidence", "effort"):
            field_id, value = self._custom(logical, fields)
            read = confidence if logical == "confidence" else number
            rice[logical] = read(value, f"{label} {logical} ({field_id})")
            self._served(logical, field_id)

        timetracking = fields.get("timetracking") if isinstance(fields.get("timetracking"), dict) else {}
        original_estimate = fields.get("timeoriginalestimate", timetracking.get("originalEstimateSeconds"))
        time_spent = fields.get("timespent", timetracking.get("timeSpentSeconds"))
        try:
            due_date = parse_api_date(fields.get("duedate"))
        except DateValueError as exc:
            raise RecordError(f"{label} duedate: {exc}") from None

        changelog_rows, changelog_total, changelog_loaded, changelog_complete = self._changelog(key, issue)
        project = fields.get("project") if isinstance(fields.get("project"), dict) else {}
        issue_row = {
            "issue_id": str(issue["id"]),
            "issue_key": key,
            "project_key": _text(project.get("key")) or key.rsplit("-", 1)[0],
            "issue_type": _text(issue_type.get("name")),
            "hierarchy_level": hierarchy,
            "summary": _text(fields.get("summary")),
            "description_text": adf_to_text(description) if description is not None else None,
            "status": _text(status.get("name")),
            "status_category": category,
            "priority": _name(fields.get("priority")),
            "resolution": _name(fields.get("resolution")),
            "assignee_account_id": _account(fields.get("assignee")),
            "reporter_account_id": _account(fields.get("reporter")),
            "parent_key": parent_key,
            "epic_key": epic_key,
            "labels": _names(fields["labels"], f"{label} labels") if "labels" in fields else None,
            "components": _names(fields["components"], f"{label} components") if "components" in fields else None,
            "fix_versions": _names(fields["fixVersions"], f"{label} fixVersions") if "fixVersions" in fields else None,
            # NULL when no sprint field is known for this instance: unknown, not "in no sprint".
            "sprint_ids": sprint_ids if sprint_resolved else None,
            "story_points": points,
            "original_estimate_seconds": whole_number(original_estimate, f"{label} timeoriginalestimate"),
            "time_spent_seconds": whole_number(time_spent, f"{label} timespent"),
            "due_date": due_date,
            "created_at": created_at,
            "updated_at": _datetime(fields.get("updated"), f"{label} updated"),
            "resolved_at": _datetime(fields.get("resolutiondate"), f"{label} resolutiondate"),
            **rice,
            "changelog_total": changelog_total,
            "changelog_loaded": changelog_loaded,
            "changelog_complete": changelog_complete,
            "_record_number": record_number,
        }
        for row in sprint_rows:
            row["_record_number"] = record_number
        return {
            "issues": [issue_row],
            "changelog": changelog_rows,
            "sprints": sprint_rows,
            "comments": self._comments(key, fields, record_number),
            "issue_links": self._links(key, str(issue["id"]), fields, record_number),
        }

    def _links(self, key: str, issue_id: str, fields: dict[str, Any], record_number: int) -> list[dict[str, Any]]:
        """``fields.issuelinks``: each link names its type and exactly one of outwardIssue (this issue <outward
        phrase> it, e.g. "implements") or inwardIssue (this issue <inward phrase> it, e.g. "is implemented by")."""
        links = fields.get("issuelinks")
        if links is None:
            return []
        if not isinstance(links, list):
            raise RecordError(f"issue {key} issuelinks: expected a list, got {links!r:.200}")
        rows = []
        for index, link in enumerate(links, 1):
            label = f"issue {key} issuelinks[{index}]"
            if not isinstance(link, dict):
                raise RecordError(f"{label}: {link!r:.200} is not an object")
            link_type = link.get("type") if isinstance(link.get("type"), dict) else {}
            directions = [d for d in ("outward", "inward") if link.get(f"{d}Issue") is not None]
            if len(directions) != 1:
                raise RecordError(f"{label}: expected exactly one of outwardIssue / inwardIssue, got {directions}")
            direction = directions[0]
            linked_key = _issue_key_of(link[f"{direction}Issue"])
            if not linked_key:
                raise RecordError(f"{label}: the {direction} issue has no key")
            rows.append(
                {
                    "issue_key": key,
                    "issue_id": issue_id,
                    "link_index": index,
                    "link_id": _text(link.get("id")),
                    "link_type": _text(link_type.get("name")),
                    "direction": direction,
                    "link_phrase": _text(link_type.get(direction)),
                    "linked_issue_key": linked_key,
                    "_record_number": record_number,
                }
            )
        return rows

    def _changelog(self, key: str, issue: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None, int | None, Any]:
        changelog = issue.get("changelog")
        if changelog is None:
            return [], None, None, None  # not requested (no expand=changelog): completeness unknown
        if not isinstance(changelog, dict) or not isinstance(changelog.get("histories", []), list):
            raise RecordError(f"issue {key} changelog: expected {{histories: [...]}}, got {changelog!r:.200}")
        histories = changelog.get("histories", [])
        total = whole_number(changelog.get("total"), f"issue {key} changelog.total")
        start_at = whole_number(changelog.get("startAt"), f"issue {key} changelog.startAt") or 0
        rows: list[dict[str, Any]] = []
        for position, history in enumerate(histories, 1):
            if not isinstance(history, dict):
                raise RecordError(f"issue {key} changelog history {position}: {history!r:.200} is not an object")
            history_id = _text(history.get("id"))
            label = f"issue {key} changelog history {history_id or position}"
            changed_at = _datetime(history.get("created"), f"{label} created")
            if changed_at is None:
                raise RecordError(f"{label} has no created date")
            items = history.get("items") or []
            if not isinstance(items, list):
                raise RecordError(f"{label} items: {items!r:.200} is not a list")
            for index, item in enumerate(items, 1):
                if not isinstance(item, dict):
                    raise RecordError(f"{label} item {index}: {item!r:.200} is not an object")
                rows.append(
                    {
                        "issue_key": key,
                        "issue_id": str(issue["id"]),
                        "history_id": history_id,
                        "item_index": index,
                        "changed_at": changed_at,
                        "author_account_id": _account(history.get("author")),
                        "field": _text(item.get("field")),
                        "field_id": _text(item.get("fieldId")),
                        "from_id": _text(item.get("from")),
                        "from_value": _text(item.get("fromString")),
                        "to_id": _text(item.get("to")),
                        "to_value": _text(item.get("toString")),
                    }
                )
        loaded = len(histories)
        complete = None if total is None else (start_at == 0 and total <= loaded)
        if complete is False:
            self.truncated_changelogs.append(f"{key} ({loaded} of {total})")
        return rows, total, loaded, complete

    def _comments(self, key: str, fields: dict[str, Any], record_number: int) -> list[dict[str, Any]]:
        container = fields.get("comment")
        if container is None:
            return []
        comments = container.get("comments") if isinstance(container, dict) else container
        if not isinstance(comments, list):
            raise RecordError(f"issue {key} comment: {container!r:.200} holds no list of comments")
        if isinstance(container, dict):
            total = whole_number(container.get("total"), f"issue {key} comment.total")
            if total is not None and total > len(comments):
                self.truncated_comments.append(f"{key} ({len(comments)} of {total})")
        rows = []
        for index, comment in enumerate(comments, 1):
            if not isinstance(comment, dict):
                raise RecordError(f"issue {key} comment {index}: {comment!r:.200} is not an object")
            body = comment.get("body")
            rows.append(
                {
                    "issue_key": key,
                    "comment_index": index,
                    "commented_at": _datetime(comment.get("created"), f"issue {key} comment {index} created"),
                    "author_account_id": _account(comment.get("author")),
                    "body": adf_to_text(body) if body is not None else None,
                    "_record_number": record_number,
                }
            )
        return rows


def parse_issue_records(layout: JsonLayout, resolved: dict[str, ResolvedField]) -> FileRows:
    out = FileRows(layout.format, "issues", notes=list(layout.notes))
    _key_drift(out, layout.records, ISSUE_KEYS, ISSUE_OPTIONAL)
    parser = IssueParser(resolved)

    def parse(number: int, issue: Any) -> EntityRows:
        rows = parser.parse(number, issue)
        for entity in ("issues", "changelog"):
            for row in rows[entity]:
                row["_record_number"] = number
        return rows

    load_records(
        out,
        layout.records,
        key_of=lambda issue: _text(issue.get("key")) if isinstance(issue, dict) else None,
        raw_of=canonical_json,
        parse=parse,
        noun="issue key",
    )
    dedupe_sprints(out, "issues")
    if parser.truncated_changelogs:
        out.incomplete = True
        out.notes.append(
            "changelog cut short (changelog_complete = false; fetch /rest/api/3/issue/{key}/changelog for the rest): "
            + ", ".join(parser.truncated_changelogs)
        )
    if parser.truncated_comments:
        out.notes.append("comments cut short (only the inline ones loaded): " + ", ".join(parser.truncated_comments))
    for category, count in sorted(parser.unknown_categories.items()):
        out.notes.append(f"status category {category!r} on {count} issue(s) is not new/indeterminate/done: left NULL")
    out.details["custom_fields"] = {name: resolved[name].manifest_entry() for name in sorted(resolved)}
    for name in sorted(resolved):
        if not resolved[name].candidates:
            out.notes.append(
                f"no field found for {name} (looked for {', '.join(map(repr, resolved[name].unresolved))}): "
                "its column is NULL"
            )
    return out


# -- agile sprint pages, the field catalog and the status catalog ------------------------------------------------------


def parse_sprint_page(layout: JsonLayout) -> FileRows:
    out = FileRows(layout.format, "sprints", notes=list(layout.notes))
    _key_drift(out, layout.records, SPRINT_KEYS, SPRINT_OPTIONAL)

    def parse(number: int, value: Any) -> EntityRows:
        row = sprint_from_object(value, f"sprint record {number}")
        row["_record_number"] = number
        return {"sprints": [row]}

    load_records(
        out,
        layout.records,
        key_of=lambda v: _text(v.get("id")) if isinstance(v, dict) else None,
        raw_of=canonical_json,
        parse=parse,
        noun="sprint id",
    )
    return out


def parse_field_catalog(layout: JsonLayout) -> FileRows:
    out = FileRows(layout.format, "fields")
    _key_drift(out, layout.records, FIELD_KEYS, FIELD_OPTIONAL)

    def parse(number: int, entry: Any) -> EntityRows:
        field_id, name = _text(entry.get("id")), _text(entry.get("name"))
        if not field_id or not name:
            raise RecordError(f"field catalog entry {number} lacks an id or a name")
        custom = entry.get("custom")
        if custom is not None and not isinstance(custom, bool):
            raise RecordError(f"field {field_id}: 'custom' is {custom!r}, not true/false")
        schema = entry.get("schema") if isinstance(entry.get("schema"), dict) else {}
        return {
            "fields": [
                {
                    "field_id": field_id,
                    "name": name,
                    "is_custom": custom,
                    "schema_type": _text(schema.get("type")),
                    "schema_custom": _text(schema.get("custom")),
                    "_record_number": number,
                }
            ]
        }

    load_records(
        out,
        layout.records,
        key_of=lambda e: _text(e.get("id")) if isinstance(e, dict) else None,
        raw_of=canonical_json,
        parse=parse,
        noun="field id",
    )
    return out


def parse_status_catalog(layout: JsonLayout) -> FileRows:
    """``/rest/api/{2,3}/status``: one row per status. A category key other than new / indeterminate / done (Jira's
    'undefined', "No Category") is stored as NULL and noted: the status stays uncategorised downstream."""
    out = FileRows(layout.format, "statuses")
    _key_drift(out, layout.records, STATUS_KEYS, STATUS_OPTIONAL)
    other_keys: Counter[str] = Counter()

    def parse(number: int, entry: Any) -> EntityRows:
        status_id, name = _text(entry.get("id")), _text(entry.get("name"))
        if not status_id or not name:
            raise RecordError(f"status catalog entry {number} lacks an id or a name")
        category_obj = entry.get("statusCategory")
        if not isinstance(category_obj, dict):
            raise RecordError(f"status {status_id} ({name}): statusCategory is {category_obj!r:.200}, not an object")
        category = _text(category_obj.get("key"))
        if category not in STATUS_CATEGORY_KEYS:
            other_keys[str(category)] += 1
            category = None
        scope = entry.get("scope") if isinstance(entry.get("scope"), dict) else {}
        project = scope.get("project") if isinstance(scope.get("project"), dict) else {}
        return {
            "statuses": [
                {
                    "status_id": status_id,
                    "name": name,
                    "untranslated_name": _text(entry.get("untranslatedName")),
                    "status_category": category,
                    "scope_project_id": _text(project.get("id")),
                    "_record_number": number,
                }
            ]
        }

    load_records(
        out,
        layout.records,
        key_of=lambda e: _text(e.get("id")) if isinstance(e, dict) else None,
        raw_of=canonical_json,
        parse=parse,
        noun="status id",
    )
    for key, count in sorted(other_keys.items()):
        out.notes.append(f"status category {key!r} on {count} status(es) is not new/indeterminate/done: left NULL")
    return out
