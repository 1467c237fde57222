"""Ingest Jira exports: landing/jira/** -> lake/_pending/jira/<entity>/<sha256>.parquet (+ quarantine, manifest).

Pure Python + DuckDB. Each landed file is detected from its content (ingest/jira/api.py, csv_export.py), parsed
into the jira/* entities of ingest/jira/contract.py and written per entity to the pending area, atomically; the raw
gate promotes them. A status catalog (``/rest/api/3/status``) is an entity of its own: dbt takes status categories
from it first (int_jira_statuses_categorised). Field catalogs and sprint pages are loaded before issue files in a
run, so issue files can resolve custom fields and CSV sprint names through them (and those already in the lake).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from core.config import PipelineConfig
from core.settings import Paths
from ingest.common.loop import SourceSpec, ingest_files, read_lake_column, sniff_text
from ingest.common.report import IngestReport
from ingest.common.row_writer import ParsedRows, RowRules, RowSource
from ingest.common.text import decode_text
from ingest.jira import contract
from ingest.jira.api import (
    AGILE_SPRINTS,
    FIELD_CATALOG,
    ISSUE_FORMATS,
    STATUS_CATALOG,
    detect_json_layout,
    parse_field_catalog,
    parse_issue_records,
    parse_sprint_page,
    parse_status_catalog,
)
from ingest.jira.csv_export import first_row, is_csv_header, parse_csv_export
from ingest.jira.errors import MalformedFileError, UnknownLayoutError
from ingest.jira.fields import CatalogField, FieldCatalog, changelog_field_names, resolve_fields
from ingest.jira.locales import fold
from ingest.jira.rows import FileRows

PARSER_VERSION = "jira-1"
SOURCE = contract.SOURCE
JIRA = SourceSpec(SOURCE, PARSER_VERSION, contract.ENTITIES, contract.QUARANTINE_COLUMNS)
# Within one file: rows in record order, then in their order inside the record (the writer keeps ties in file order).
ENTITY_ORDER = {"sprints": "_record_number, sprint_id"}


# -- what earlier files taught us: field catalog, sprint names -------------------------------------------------------


class KnownJira:
    """Field catalog and sprint names from the lake (promoted and pending) and from files loaded in this run."""

    def __init__(self) -> None:
        self.catalog = FieldCatalog()
        self.sprint_ids_by_name: dict[str, set[int]] = {}

    @classmethod
    def from_lake(cls, paths: Paths) -> KnownJira:
        known = cls()
        fields = read_lake_column(paths, SOURCE, "fields", "field_id, name, schema_type, _source_file", "_ingested_at")
        for row in fields:
            known.catalog.add(CatalogField(row[0], row[1], row[2], row[3]))
        for sprint_id, name in read_lake_column(paths, SOURCE, "sprints", "sprint_id, name", "_ingested_at"):
            known._add_sprint(sprint_id, name)
        return known

    def _add_sprint(self, sprint_id: int | None, name: str | None) -> None:
        if sprint_id is not None and name:
            self.sprint_ids_by_name.setdefault(fold(name), set()).add(int(sprint_id))

    def learn(self, parsed: ParsedRows, relative_path: str) -> None:
        for row in parsed.entities["fields"]:
            self.catalog.add(CatalogField(row["field_id"], row["name"], row["schema_type"], relative_path))
        for row in parsed.entities["sprints"]:
            self._add_sprint(row["sprint_id"], row["name"])


# -- parsing one file ---------------------------------------------------------------------------------------------


def parse_jira_file(path: Path, label: str, config: PipelineConfig, known: KnownJira | None = None) -> FileRows:
    """Detect the layout of one landed file from its content and parse it (no lake writes).

    Raises JiraFileError (UnknownLayoutError, MalformedFileError) for a file that cannot be loaded at all."""
    known = known or KnownJira()
    text = decode_text(path.read_bytes(), label)
    stripped = text.lstrip()
    if not stripped:
        raise UnknownLayoutError(f"unknown layout: {label}: the file is empty")
    if stripped[0] in "{[":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedFileError(
                f"malformed JSON in {label}: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
            ) from None
        layout = detect_json_layout(document, label)
        if layout.format == FIELD_CATALOG:
            return parse_field_catalog(layout)
        if layout.format == AGILE_SPRINTS:
            return parse_sprint_page(layout)
        if layout.format == STATUS_CATALOG:
            return parse_status_catalog(layout)
        assert layout.format in ISSUE_FORMATS
        resolved = resolve_fields(
            dict(config.jira.custom_fields), known.catalog, layout.names, changelog_field_names(layout.records)
        )
        return parse_issue_records(layout, resolved)
    header = first_row(text, label)
    if not is_csv_header(header):
        shown = ", ".join(repr(cell) for cell in header[:8]) + (", ..." if len(header) > 8 else "")
        raise UnknownLayoutError(
            f"unknown layout: {label}: not JSON, and the first CSV row has no issue key column (saw {shown})"
        )
    return parse_csv_export(text, label, config.jira, known.sprint_ids_by_name)


def _load_order(paths: Paths, path: Path) -> int:
    """Field catalogs first, then sprint pages, then issue files, then CSV (a cheap sniff; detection proper comes
    later). Only the order changes: a file sniffed wrongly is still detected and loaded correctly."""
    head = sniff_text(paths, SOURCE, path)
    if not head:  # a path the loop will refuse (symlinks ...), or an empty file: it fails on its own
        return 2
    if not head.startswith(("{", "[")):
        return 3
    if head.startswith("[") and '"custom"' in head and '"fields"' not in head:
        return 0
    if '"values"' in head:
        return 1
    return 2


def ingest_jira(
    paths: Paths,
    config: PipelineConfig,
    *,
    files: list[Path] | None = None,
    log: Callable[[str], None] | None = None,
) -> IngestReport:
    """Load new Jira exports into the lake; one result per file, never raising for one bad file.

    ``files=None`` scans landing/jira/; given files must be regular files inside it. Field catalogs and sprint
    pages are loaded first (see _load_order). ``log`` receives one line per file. Same bytes load once (other
    paths are recorded as aliases); nothing new means nothing written.
    """

    def start() -> RowSource:
        known = KnownJira.from_lake(paths)  # read under the lock, after a killed run's leftovers are gone
        return RowSource(
            parse=lambda path, label, _stage: parse_jira_file(path, label, config, known),
            rules=RowRules(entity_order=ENTITY_ORDER),
            order=lambda path: _load_order(paths, path),
            learn=known.learn,
        )

    return ingest_files(JIRA, paths, start, files=files, log=log)


__all__ = ["KnownJira", "ingest_jira", "parse_jira_file"]
