"""What parsing one landed Jira file produces (rows per entity, quarantine rows, notes), and the record loop that
keeps rows_in = rows_loaded + rows_rejected while folding identical duplicates and rejecting conflicting ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.jira.contract import ENTITIES
from ingest.jira.values import RecordError

EntityRows = dict[str, list[dict[str, Any]]]


@dataclass
class FileRows:
    """Rows of one landed file before lineage is added. ``rows_*`` count records of the main entity (issues for
    issue files and CSV, sprints for sprint pages, fields for a catalog)."""

    format: str
    main_entity: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    entities: EntityRows = field(default_factory=lambda: {name: [] for name in ENTITIES})
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    incomplete: bool = False
    unknown_columns: list[str] = field(default_factory=list)  # CSV header columns not read (ingest/common/columns.py)
    missing_columns: list[str] = field(default_factory=list)  # CSV columns read when present, absent

    def reject(self, record_number: int, key: str | None, raw: str, reason: str) -> None:
        self.quarantine.append(
            {
                "_record_number": record_number,
                "entity": self.main_entity,
                "record_key": key,
                "raw_record": raw,
                "reason": reason,
            }
        )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def load_records(
    out: FileRows,
    records: list[Any],
    key_of: Callable[[Any], str | None],
    raw_of: Callable[[Any], str],
    parse: Callable[[int, Any], EntityRows],
    noun: str,
) -> None:
    """Parse ``records`` (1-based record numbers) into ``out``.

    Records sharing a key: identical copies are parsed once and every copy counts as loaded (nothing is lost, one
    row is written, the manifest notes the fold); copies that differ are all quarantined, naming the key.
    """
    groups: dict[str, list[int]] = {}
    for number, record in enumerate(records, 1):
        key = key_of(record)
        if key is not None:
            groups.setdefault(key, []).append(number)
    folded: list[str] = []
    done: set[int] = set()
    for number, record in enumerate(records, 1):
        out.rows_in += 1
        if number in done:
            continue
        key = key_of(record)
        copies = groups.get(key, [number]) if key is not None else [number]
        if len(copies) > 1 and len({raw_of(records[n - 1]) for n in copies}) > 1:
            listed = ", ".join(str(n) for n in copies)
            for n in copies:
                out.reject(n, key, raw_of(records[n - 1]), f"duplicate {noun} {key} with conflicting content "
                           f"(records {listed})")  # fmt: skip
                out.rows_rejected += 1
            done.update(copies)
            continue
        try:
            parsed = parse(number, record)
        except RecordError as exc:
            for n in copies:
                out.reject(n, key, raw_of(records[n - 1]), str(exc))
                out.rows_rejected += 1
            done.update(copies)
            continue
        for entity, rows in parsed.items():
            out.entities[entity].extend(rows)
        out.rows_loaded += len(copies)
        done.update(copies)
        if len(copies) > 1:
            folded.append(f"{key} (records {', '.join(str(n) for n in copies)})")
    if folded:
        out.notes.append(f"identical duplicate {noun}s loaded once: {'; '.join(folded)}")


def dedupe_sprints(out: FileRows, origin: str) -> None:
    """Sprint rows embedded in issues repeat across issues: keep one per id; differing copies are noted."""
    kept: dict[int, dict[str, Any]] = {}
    differing: set[int] = set()
    for row in out.entities["sprints"]:
        first = kept.setdefault(row["sprint_id"], row)
        if first is not row and canonical_json({k: v for k, v in first.items() if not k.startswith("_")}) != (
            canonical_json({k: v for k, v in row.items() if not k.startswith("_")})
        ):
            differing.add(row["sprint_id"])
    out.entities["sprints"] = list(kept.values())
    if differing:
        out.notes.append(
            f"sprints described differently by different {origin} (first description kept): "
            + ", ".join(str(s) for s in sorted(differing))
        )
