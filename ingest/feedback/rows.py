"""What parsing one landed feedback file produces, and the record loop that keeps rows_in = loaded + rejected.

Records that share a key within one file: identical copies are parsed once and every copy counts as loaded (the
manifest notes the fold); copies that differ are all quarantined, naming the key and the records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.feedback.contract import ENTITIES
from ingest.feedback.errors import RecordError

EntityRows = dict[str, list[dict[str, Any]]]


@dataclass
class Record:
    """One input record: its 1-based number in the file, its key (None when it has none), its raw text for the
    quarantine (already email-free) and whatever the parser needs."""

    number: int
    key: str | None
    raw: str
    payload: Any


@dataclass
class FileRows:
    """Rows of one landed file before lineage is added. ``rows_*`` count input records (CSV data rows, JSON
    objects) considered for ``main_entity``; records a layout deliberately leaves out (Zendesk tickets that are not
    feature requests, satisfaction offers without an answer) are counted in ``details['records_skipped']``."""

    format: str
    main_entity: str | None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    entities: EntityRows = field(default_factory=lambda: {name: [] for name in ENTITIES})
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def reject(self, record: Record, reason: str, entity: str | None = None) -> None:
        self.quarantine.append(
            {
                "_record_number": record.number,
                "entity": entity or self.main_entity,
                "record_key": record.key,
                "raw_record": record.raw,
                "reason": reason,
            }
        )

    def skip(self, count: int, why: str) -> None:
        if count:
            self.details["records_skipped"] = self.details.get("records_skipped", 0) + count
            self.notes.append(f"{count} record(s) skipped, not rejected: {why}")


def load_records(out: FileRows, records: list[Record], parse: Callable[[Record], EntityRows], noun: str) -> None:
    """Parse every record into ``out``; a RecordError quarantines the record with its message."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        if record.key is not None:
            groups.setdefault(record.key, []).append(record)
    folded: list[str] = []
    # By identity, not record number: one wide Kano row yields a record per feature, all with the row's number.
    done: set[int] = set()
    for record in records:
        out.rows_in += 1
        if id(record) in done:
            continue
        copies = groups.get(record.key, [record]) if record.key is not None else [record]
        done.update(id(c) for c in copies)
        listed = ", ".join(str(c.number) for c in copies)
        if len({c.raw for c in copies}) > 1:
            for copy in copies:
                out.reject(copy, f"duplicate {noun} {record.key} with conflicting content (records {listed})")
                out.rows_rejected += 1
            continue
        try:
            parsed = parse(record)
        except RecordError as exc:
            for copy in copies:
                out.reject(copy, str(exc))
                out.rows_rejected += 1
            continue
        for entity, rows in parsed.items():
            for row in rows:
                row.setdefault("_record_number", record.number)
            out.entities[entity].extend(rows)
        out.rows_loaded += len(copies)
        if len(copies) > 1:
            folded.append(f"{record.key} (records {listed})")
    if folded:
        out.notes.append(f"identical duplicate {noun}s loaded once: {'; '.join(folded)}")
