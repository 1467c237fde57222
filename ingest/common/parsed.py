"""What a billing or marketing parser makes of one landed file: rows per entity before lineage is added, quarantine
rows with their reason, and the counts that keep rows_in = rows_loaded + rows_rejected + rows_skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ParsedFile:
    """Rows of one landed file before lineage is added. The counts are over the file's records (CSV data rows, or
    top-level objects of a JSON list); child rows (invoice lines) are extra entity rows, not records."""

    format: str
    main_entity: str
    entities: dict[str, list[dict[str, Any]]]
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    incomplete: bool = False
    unknown_columns: list[str] = field(default_factory=list)  # header columns not read (ingest/common/columns.py)
    missing_columns: list[str] = field(default_factory=list)  # optional columns read when present, absent

    def reject(self, record_number: int, entity: str, key: str | None, raw: str, reason: str) -> None:
        self.quarantine.append(
            {"_record_number": record_number, "entity": entity, "record_key": key, "raw_record": raw, "reason": reason}
        )
        self.rows_rejected += 1
