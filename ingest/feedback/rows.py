"""What parsing one landed feedback file produces, and the record loop that keeps rows_in = loaded + rejected.

Records that share a key within one file: identical copies are parsed once and every copy counts as loaded (the
manifest notes the fold); copies that differ are all quarantined, naming the key and the records.

With a ``RowStage`` (the ingest loop passes one), rows and quarantine rows go to it as they are made, and records
are read afresh on each pass (the repeated keys, the repeated keys' raw texts, then the parse), so a file is never
held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.duckdb_connection import connect_duckdb
from ingest.common.duplicates import find_duplicates
from ingest.common.ranges import rows_problem
from ingest.common.row_writer import RowStage
from ingest.feedback.contract import ENTITIES
from ingest.feedback.errors import RecordError

EntityRows = dict[str, list[dict[str, Any]]]
# The contract columns a value can be out of range for: text and booleans (and lists of them) never are
# (ranges.value_problem passes them), so checking only the others finds the same first problem, for less per row.
_RANGE_COLUMNS = {
    entity: tuple(
        (name, sql_type) for name, sql_type in columns if sql_type.removesuffix("[]") not in ("VARCHAR", "BOOLEAN")
    )
    for entity, columns in ENTITIES.items()
}


class Record:
    """One input record: its 1-based number in the file, its key (None when it has none), its raw text for the
    quarantine (already email-free) and whatever the parser needs. ``raw`` may be given as a function: a record
    read from a file is made twice (``load_records``) and its raw text is needed once to find duplicates, then
    only if the record is rejected."""

    __slots__ = ("_raw", "key", "number", "payload")

    def __init__(self, number: int, key: str | None, raw: str | Callable[[], str], payload: Any):
        self.number = number
        self.key = key
        self._raw = raw
        self.payload = payload

    @property
    def raw(self) -> str:
        if not isinstance(self._raw, str):
            self._raw = self._raw()
        return self._raw


@dataclass
class FileRows:
    """Rows of one landed file before lineage is added. ``rows_*`` count input records (CSV data rows, JSON
    objects) considered for ``main_entity``; records a layout deliberately leaves out (Zendesk tickets that are not
    feature requests, satisfaction offers without an answer) are counted in ``details['records_skipped']``.
    With a ``stage``, rows go there instead of ``entities`` / ``quarantine``."""

    format: str
    main_entity: str | None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    entities: EntityRows = field(default_factory=lambda: {name: [] for name in ENTITIES})
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)  # CSV header columns not read (ingest/common/columns.py)
    missing_columns: list[str] = field(default_factory=list)  # CSV columns read when present, absent
    stage: RowStage | None = field(default=None, repr=False)

    def add_rows(self, entity: str, rows: list[dict[str, Any]]) -> None:
        if self.stage is not None:
            self.stage.add(entity, rows)
        else:
            self.entities[entity].extend(rows)

    def reject(self, record: Record, reason: str, entity: str | None = None) -> None:
        row = {
            "_record_number": record.number,
            "entity": entity or self.main_entity,
            "record_key": record.key,
            "raw_record": record.raw,
            "reason": reason,
        }
        if self.stage is not None:
            self.stage.reject(row)
        else:
            self.quarantine.append(row)

    def skip(self, count: int, why: str) -> None:
        if count:
            self.details["records_skipped"] = self.details.get("records_skipped", 0) + count
            self.notes.append(f"{count} record(s) skipped, not rejected: {why}")


def load_records(out: FileRows, records: Iterable[Record], parse: Callable[[Record], EntityRows], noun: str) -> None:
    """Parse every record into ``out``; a RecordError quarantines the record with its message. ``records`` is read
    up to three times (a list, or a re-readable view of the file)."""
    con = out.stage.con if out.stage is not None else connect_duckdb()
    try:
        # Keys first (an empty text for every record), then the raw texts of the repeated keys' records only: most
        # records have a key of their own, and their raw text (JSON of the record, addresses hashed) is then made
        # only if they are rejected. Each pass reads the records afresh (a re-readable view of a file).
        repeated = find_duplicates(con, ((i, r.number, r.key, "") for i, r in enumerate(records) if r.key is not None))
        groups = (
            find_duplicates(con, ((i, r.number, r.key, r.raw) for i, r in enumerate(records) if r.key in repeated))
            if repeated
            else {}
        )
    finally:
        if out.stage is None:
            con.close()
    folded: list[str] = []
    for ordinal, record in enumerate(records):
        out.rows_in += 1
        group = groups.get(record.key) if record.key is not None else None
        listed = ", ".join(str(n) for n in group.numbers) if group else str(record.number)
        if group is not None and group.conflicting:
            out.reject(record, f"duplicate {noun} {record.key} with conflicting content (records {listed})")
            out.rows_rejected += 1
            continue
        if group is not None and ordinal != group.ordinals[0]:
            continue  # an identical copy of a record already parsed: counted with it
        numbers = group.numbers if group else (record.number,)
        try:
            parsed = parse(record)
            problem = rows_problem(_RANGE_COLUMNS, parsed)  # a time outside 1900..2100, a number beyond its column
            if problem is not None:
                raise RecordError(problem)
        except RecordError as exc:
            for number in numbers:  # identical copies: the same raw text under each copy's number
                out.reject(Record(number, record.key, record.raw, None), str(exc))
                out.rows_rejected += 1
            continue
        for entity, rows in parsed.items():
            for row in rows:
                row.setdefault("_record_number", record.number)
            out.add_rows(entity, rows)
        out.rows_loaded += len(numbers)
        if group is not None:
            folded.append(f"{record.key} (records {listed})")
    if folded:
        out.notes.append(f"identical duplicate {noun}s loaded once: {'; '.join(folded)}")
