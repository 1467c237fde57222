"""Ingest feedback exports: landing/feedback/** -> lake/_pending/feedback/<entity>/<sha256>.parquet (+ quarantine,
manifest).

Pure Python + DuckDB. Each landed file is detected from its content (ingest/feedback/detect.py), parsed into the
feedback/* entities of ingest/feedback/contract.py and written per entity to the pending area, atomically; the raw
gate promotes them. Zendesk ticket field catalogs are read before ticket files in a run; they write no lake rows,
their custom field ids are kept in the manifest's details, so later runs know them too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.config import PipelineConfig
from core.settings import Paths
from ingest.common.loop import SourceSpec, ingest_files, sniff_text
from ingest.common.manifest import read_manifest
from ingest.common.report import LOADED, IngestReport
from ingest.common.row_writer import ParsedRows, RowRules, RowSource
from ingest.feedback import contract
from ingest.feedback.detect import TicketFields, parse_feedback_file
from ingest.feedback.values import scrub_text

PARSER_VERSION = "feedback-1"
SOURCE = contract.SOURCE
TICKET_FIELDS_FORMAT = "zendesk_ticket_fields"
FEEDBACK = SourceSpec(SOURCE, PARSER_VERSION, contract.ENTITIES, contract.QUARANTINE_COLUMNS)
# Every text value is scrubbed of addresses once more before it is written; hashes are hex and cannot hold one.
ROW_RULES = RowRules(
    scrub_value=scrub_text, keep_unscrubbed=frozenset({"respondent_email_hash"}), scrub_quarantine=scrub_text
)


# -- what earlier files taught us: Zendesk custom field ids ----------------------------------------------------------


def known_ticket_fields(paths: Paths) -> TicketFields | None:
    """The Jira key / Feature custom field ids of every ticket field catalog loaded so far (None: no catalog)."""
    found: TicketFields | None = None
    for record in read_manifest(paths, SOURCE):
        if record.get("format") != TICKET_FIELDS_FORMAT or record.get("status") != LOADED:
            continue
        _merge_ticket_fields(found := found or {"jira_key": [], "feature": []}, record.get("details") or {})
    return found


def _merge_ticket_fields(into: TicketFields, details: dict[str, Any]) -> None:
    for logical, ids in (details.get("ticket_fields") or {}).items():
        into[logical] = sorted({*into.get(logical, []), *ids})


def _load_order(paths: Paths, path: Path) -> int:
    """Ticket field catalogs first, then everything else (a cheap sniff; detection proper comes later)."""
    head = sniff_text(paths, SOURCE, path)
    return 0 if '"ticket_fields"' in head or ('"raw_title"' in head and '"subject"' not in head) else 1


def ingest_feedback(
    paths: Paths,
    config: PipelineConfig,
    *,
    files: list[Path] | None = None,
    log: Callable[[str], None] | None = None,
) -> IngestReport:
    """Load new feedback exports into the lake; one result per file, never raising for one bad file.

    ``files=None`` scans landing/feedback/; given files must be regular files inside it. Zendesk ticket field
    catalogs are loaded first. ``log`` receives one line per file. Same bytes load once (other paths are recorded
    as aliases); nothing new means nothing written.
    """

    def start() -> RowSource:
        # Read under the lock; catalogs loaded in this run add to it (a catalog's ids live in its manifest details).
        known: dict[str, TicketFields | None] = {"ticket_fields": known_ticket_fields(paths)}

        def learn(parsed: ParsedRows, _label: str) -> None:
            if parsed.format == TICKET_FIELDS_FORMAT:  # ticket files later in this run resolve custom fields by it
                merged = known["ticket_fields"] or {"jira_key": [], "feature": []}
                _merge_ticket_fields(merged, parsed.details)
                known["ticket_fields"] = merged

        return RowSource(
            parse=lambda path, label, stage: parse_feedback_file(path, label, config, known["ticket_fields"], stage),
            rules=ROW_RULES,
            order=lambda path: _load_order(paths, path),
            learn=learn,
        )

    return ingest_files(FEEDBACK, paths, start, files=files, log=log)


__all__ = ["ingest_feedback", "known_ticket_fields", "parse_feedback_file"]
