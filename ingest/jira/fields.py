"""Custom-field resolution: which ``customfield_NNNNN`` holds story points, sprints, the epic link, RICE values.

Ids differ per Jira instance. For each logical field, ``config.jira.custom_fields`` lists candidates in order:
field names (``Story Points``, ``Story point estimate``) or explicit ids. A name is looked up, in this order, in
1. the field catalog (``/rest/api/3/field``) landed in landing/jira/ (this run's, else the lake's newest),
2. the ``names`` map of a search response fetched with ``expand=names``,
3. the changelog items of the same file (each item names its field and its ``fieldId``).
An explicit id is used as is. Per issue the first candidate with a value wins ("whichever is present"); the
manifest records every candidate, how it was found and how many issues each id served.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingest.jira.locales import fold

CUSTOM_FIELD_ID = re.compile(r"^customfield_\d+$")
# Catalog schema types that cannot hold a number: a field of that type named like a RICE / points field belongs to
# something else (Jira Service Management's "Impact" is a select list) and is not used.
_NON_NUMERIC_SCHEMA_TYPES = frozenset(
    {"option", "user", "date", "datetime", "array", "issuelink", "project", "version"}
)
NUMERIC_LOGICAL_FIELDS = frozenset({"story_points", "reach", "impact", "confidence", "effort"})


@dataclass(frozen=True)
class CatalogField:
    field_id: str
    name: str
    schema_type: str | None
    origin: str  # the landing path of the catalog it came from


@dataclass
class FieldCatalog:
    """Field id -> its newest catalog entry; looked up by name (Jira allows duplicate names)."""

    fields: dict[str, CatalogField] = field(default_factory=dict)

    def add(self, entry: CatalogField) -> None:
        self.fields[entry.field_id] = entry  # a newer catalog replaces the entry (also when the field was renamed)

    @property
    def by_name(self) -> dict[str, list[CatalogField]]:
        grouped: dict[str, list[CatalogField]] = {}
        for entry in self.fields.values():
            grouped.setdefault(fold(entry.name), []).append(entry)
        return grouped

    def __bool__(self) -> bool:
        return bool(self.fields)


@dataclass
class Candidate:
    field_id: str
    via: str  # how it was found, for the manifest


@dataclass
class ResolvedField:
    logical: str
    candidates: list[Candidate] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    served: Counter[str] = field(default_factory=Counter)

    def value(self, fields: dict[str, Any]) -> tuple[str | None, Any]:
        """(field id, value) of the first candidate with a non-empty value in an issue's ``fields``."""
        for candidate in self.candidates:
            value = fields.get(candidate.field_id)
            if value is not None and value != "" and value != []:
                return candidate.field_id, value
        return None, None

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "candidates": [{"field_id": c.field_id, "via": c.via} for c in self.candidates],
            "served": dict(sorted(self.served.items())),
            "unresolved": list(self.unresolved),
            "skipped": list(self.skipped),
        }


def resolve_fields(
    configured: dict[str, tuple[str, ...]],
    catalog: FieldCatalog,
    envelope_names: dict[str, str] | None,
    changelog_names: dict[str, str],
) -> dict[str, ResolvedField]:
    """Logical field -> its candidate ids, in the configured order (see the module docstring)."""
    names_by_name: dict[str, list[str]] = {}
    for field_id, name in (envelope_names or {}).items():
        if isinstance(name, str):
            names_by_name.setdefault(fold(name), []).append(field_id)
    catalog_by_name = catalog.by_name
    resolved: dict[str, ResolvedField] = {}
    for logical, wanted in configured.items():
        entry = ResolvedField(logical)
        seen: set[str] = set()

        def take(field_id: str, via: str, entry: ResolvedField = entry, seen: set[str] = seen) -> None:
            if field_id not in seen:
                seen.add(field_id)
                entry.candidates.append(Candidate(field_id, via))

        for name in wanted:
            if CUSTOM_FIELD_ID.match(name):
                take(name, "config (explicit id)")
                continue
            found = False
            for catalog_field in catalog_by_name.get(fold(name), []):
                if logical in NUMERIC_LOGICAL_FIELDS and catalog_field.schema_type in _NON_NUMERIC_SCHEMA_TYPES:
                    entry.skipped.append(
                        f"{catalog_field.field_id} {catalog_field.name!r} has type {catalog_field.schema_type}, "
                        "not a number"
                    )
                    continue
                take(catalog_field.field_id, f"field catalog {catalog_field.origin} ({catalog_field.name})")
                found = True
            if not found:
                for field_id in names_by_name.get(fold(name), []):
                    take(field_id, f"names in the search response ({name})")
                    found = True
            if not found and fold(name) in changelog_names:
                take(changelog_names[fold(name)], f"changelog items of this file ({name})")
                found = True
            if not found:
                entry.unresolved.append(name)
        resolved[logical] = entry
    return resolved


def changelog_field_names(issues: list[Any]) -> dict[str, str]:
    """Folded field display name -> fieldId, from the changelog items of the given issues."""
    names: dict[str, str] = {}
    for issue in issues:
        changelog = issue.get("changelog") if isinstance(issue, dict) else None
        histories = changelog.get("histories") if isinstance(changelog, dict) else None
        for history in histories if isinstance(histories, list) else []:
            items = history.get("items") if isinstance(history, dict) else None
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                name, field_id = item.get("field"), item.get("fieldId")
                if isinstance(name, str) and isinstance(field_id, str) and CUSTOM_FIELD_ID.match(field_id):
                    names.setdefault(fold(name), field_id)
    return names
