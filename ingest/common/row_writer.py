"""Row sources on the shared loop: a parser turns one landed file into rows per entity and quarantine rows; this
module writes them to the pending Parquet of ingest/common/loop.py, in bounded batches.

A parser hands rows to a ``RowStage`` as it reads them (or returns them in lists, for documents parsed whole).
The stage casts each batch of ``BATCH_ROWS`` rows to the contract in a private DuckDB (so an overflow or a bad
decimal fails loudly) and appends it to a table there; DuckDB keeps the staged rows under a memory limit and
spills to the run's work folder beyond it. Each entity is then copied once, in file order, to its pending Parquet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from core.duckdb_connection import connect_duckdb
from ingest.common.errors import IngestFileError
from ingest.common.loop import Columns, FileOutputs, LandedFile, work_root
from ingest.common.parquet import copy_query_to_parquet, sql_string
from ingest.common.quarantine import write_quarantine
from ingest.common.ranges import row_problem

BATCH_ROWS = 10_000
# DuckDB's share while staging a run's files; beyond it, staged rows spill to the run's work folder.
STAGE_MEMORY_LIMIT = "256MB"
# Columns the loop fills itself; a parser never sets them (_record_number is the parser's).
LINEAGE = ("_source_file", "_source_format", "_file_sha256", "_ingested_at")
_ROW_ORDER = "_row_order"  # a row's position in the parser's output: the last sort key, so ties keep file order

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int64(),  # narrowed by the CAST in SQL, which fails loudly on overflow
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
    "VARCHAR[]": pa.list_(pa.string()),
    "BIGINT[]": pa.list_(pa.int64()),
}


def _arrow_type(sql_type: str) -> pa.DataType:
    # Decimals travel as their exact text and are cast by DuckDB: no float anywhere on the way.
    return pa.string() if sql_type.startswith("DECIMAL") else _ARROW_TYPES[sql_type]


def _exact(value: Any) -> Any:
    # A Decimal travels as plain positional text ("0.000000", never "0E-6"), which DuckDB casts exactly.
    return format(value, "f") if isinstance(value, Decimal) else value


class ParsedRows(Protocol):
    """What a row source's parser returns for one file (billing/marketing ParsedFile, jira and feedback FileRows).
    ``rows_*`` count input records; ``quarantine`` rows carry _record_number, entity, record_key, raw_record,
    reason. ``rows_skipped`` and ``incomplete`` are optional (0 / False)."""

    format: str
    main_entity: str | None
    entities: dict[str, list[dict[str, Any]]]
    quarantine: list[dict[str, Any]]
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    notes: list[str]
    details: dict[str, Any]


@dataclass(frozen=True)
class RowRules:
    """How a source's rows are stored: extra sort keys per entity (before file order) and text scrubbing."""

    entity_order: dict[str, str] = field(default_factory=dict)  # entity -> SQL sort keys; default _record_number
    scrub_value: Callable[[str], str] | None = None  # applied to every text value of entity rows ...
    keep_unscrubbed: frozenset[str] = frozenset()  # ... except these columns (hashes cannot hold an address)
    scrub_quarantine: Callable[[str], str] | None = None  # applied to record_key, raw_record and reason
    scrub_raw_record: Callable[[str], str] | None = None  # applied to raw_record only


# What a column's batch of values becomes before the cast; chosen once per column, applied to the whole list.
ColumnTransform = Callable[[list[Any]], list[Any]]


def _exact_values(values: list[Any]) -> list[Any]:
    if Decimal not in set(map(type, values)):  # the usual case, checked at C speed
        return values
    return [_exact(value) for value in values]


def _scrubbed_exact_values(values: list[Any], scrub: Callable[[str], str]) -> list[Any]:
    return [_scrubbed(_exact(value), scrub) for value in values]


def _scrub_quarantine_values(values: list[Any], scrubs: tuple[Callable[[str], str], ...]) -> list[Any]:
    scrubbed = []
    for value in values:
        if value is not None:
            for scrub in scrubs:
                value = scrub(value)
        scrubbed.append(value)
    return scrubbed


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed(v, scrub) for v in value]
    return value


class _StagedTable:
    """One output table of one file, staged in DuckDB batch by batch (lineage is added when it is copied out)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, columns: Columns):
        self.con = con
        self.name = name
        self.columns = columns
        staged = [(n, t) for n, t in columns if n not in LINEAGE]
        self.schema = pa.schema([(n, _arrow_type(t)) for n, t in staged] + [(_ROW_ORDER, pa.int64())])
        self.casts = ", ".join(f"CAST({n} AS {t}) AS {n}" for n, t in staged)
        self.rows = 0
        con.execute(f"DROP TABLE IF EXISTS {name}")
        definition = ", ".join(f"{n} {t}" for n, t in staged)
        con.execute(f"CREATE TABLE {name} ({definition}, {_ROW_ORDER} BIGINT)")

    def append(self, batch: list[dict[str, Any]], transforms: dict[str, ColumnTransform]) -> None:
        """``transforms``: column -> what its batch of values becomes before the cast (columns not named: as is)."""
        data: dict[str, list[Any]] = {}
        for name in self.schema.names[:-1]:  # the last one is _ROW_ORDER
            values = [row.get(name) for row in batch]
            transform = transforms.get(name)
            data[name] = values if transform is None else transform(values)
        data[_ROW_ORDER] = list(range(self.rows, self.rows + len(batch)))
        table = pa.table(data, schema=self.schema)
        self.con.register("batch_", table)
        try:
            self.con.execute(f"INSERT INTO {self.name} SELECT {self.casts}, {_ROW_ORDER} FROM batch_")
        finally:
            self.con.unregister("batch_")
        self.rows += len(batch)

    def select(self, lineage: dict[str, str], order: str) -> str:
        names = ", ".join(f"CAST({lineage[n]} AS {t}) AS {n}" if n in LINEAGE else n for n, t in self.columns)
        return f"SELECT {names} FROM {self.name} ORDER BY {order}, {_ROW_ORDER}"

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.name}")


def open_stage(spill: Path) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB for a run's writes, bounded, spilling to ``spill``."""
    spill.mkdir(parents=True, exist_ok=True)
    con = connect_duckdb()
    con.execute(f"SET temp_directory = {sql_string(str(spill))}")
    con.execute(f"SET memory_limit = {sql_string(STAGE_MEMORY_LIMIT)}")
    con.execute("SET preserve_insertion_order = true")
    return con


_QUARANTINE = "_quarantine"  # the stage's name for quarantine rows (no entity starts with an underscore)


class RowStage:
    """One landed file's rows on their way to Parquet.

    A parser hands rows over as it goes (``add``, ``reject``); every ``BATCH_ROWS`` rows of an entity are cast to
    the contract and appended to a DuckDB table, so Python holds at most one batch per entity whatever the file's
    size. ``write`` copies each entity once, in file order, to its pending Parquet, and the rejected rows to the
    quarantine file. What a parser returns in whole lists (documents it parses whole) goes through the same
    stage in ``write``.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, landed: LandedFile, rules: RowRules):
        self.con = con
        self.landed = landed
        self.rules = rules
        self.tables: dict[str, _StagedTable] = {}
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        # Rows handed over per entity, counted apart from the batches: what is written must equal it (a batch
        # bookkeeping slip once wrote 10,000 of a 16,040-row file while the manifest said 16,040 loaded).
        self.handed: dict[str, int] = {}

    def add(self, entity: str, rows: Iterable[dict[str, Any]]) -> None:
        buffer = self.buffers.setdefault(entity, [])
        before = len(buffer)
        buffer.extend(rows)
        self.handed[entity] = self.handed.get(entity, 0) + len(buffer) - before
        if len(buffer) >= BATCH_ROWS:
            self._flush(entity)

    def reject(self, row: dict[str, Any]) -> None:
        """A quarantine row: _record_number, entity, record_key, raw_record (the original record), reason."""
        self.add(_QUARANTINE, (row,))

    def count(self, entity: str) -> int:
        staged = self.tables[entity].rows if entity in self.tables else 0
        return staged + len(self.buffers.get(entity, ()))

    def _flush(self, entity: str) -> None:
        batch = self.buffers.get(entity)
        if not batch:
            return
        spec = self.landed.spec
        quarantine = entity == _QUARANTINE
        if entity not in self.tables:
            columns = spec.quarantine_columns if quarantine else spec.entities[entity]
            self.tables[entity] = _StagedTable(self.con, f"stage{entity}" if quarantine else f"stage_{entity}", columns)
        what = "quarantine" if quarantine else entity
        table = self.tables[entity]
        transforms = self._transforms(table, quarantine)
        try:
            for start in range(0, len(batch), BATCH_ROWS):  # a whole list handed over at once: still bounded batches
                table.append(batch[start : start + BATCH_ROWS], transforms)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise IngestFileError(f"{self.landed.relative_path}: cannot store {what} rows: {exc}") from exc
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise IngestFileError(f"{self.landed.relative_path}: cannot store {what} rows: {first}") from exc
        self.buffers[entity] = []

    def _transforms(self, table: _StagedTable, quarantine: bool) -> dict[str, ColumnTransform]:
        """Per column, what its values become before the cast: decided once per column, not per value."""
        rules, transforms = self.rules, {}
        for name, _sql_type in table.columns:
            if name in LINEAGE:
                continue
            if quarantine:
                scrubs = tuple(
                    scrub
                    for scrub, applies in (
                        (rules.scrub_quarantine, name in ("record_key", "raw_record", "reason")),
                        (rules.scrub_raw_record, name == "raw_record"),
                    )
                    if scrub is not None and applies
                )
                if scrubs:
                    transforms[name] = partial(_scrub_quarantine_values, scrubs=scrubs)
            elif rules.scrub_value is not None and name not in rules.keep_unscrubbed:
                transforms[name] = partial(_scrubbed_exact_values, scrub=rules.scrub_value)
            else:
                transforms[name] = _exact_values
        return transforms

    def write(self, parsed: ParsedRows) -> FileOutputs:
        """Pending Parquet per entity with rows (the main entity always, so the manifest's lake_file exists), and
        the quarantine file when rows were rejected; returns what was written."""
        landed, label = self.landed, self.landed.relative_path
        for entity, rows in parsed.entities.items():  # what a whole-list parser built
            self.add(entity, rows)
        for row in parsed.quarantine:
            self.reject(row)
        lineage = landed.lineage_sql(parsed.format)
        entity_rows: dict[str, int] = {}
        for entity in landed.spec.entities:
            self._flush(entity)
            expected = self.count(entity)
            target = landed.pending_file(entity)
            if not expected and entity != parsed.main_entity:  # an earlier attempt may have left one behind
                target.unlink(missing_ok=True)
                continue
            if entity not in self.tables:  # the main entity with no rows: an empty file with the contract's schema
                self.tables[entity] = _StagedTable(self.con, f"stage_{entity}", landed.spec.entities[entity])
            order = self.rules.entity_order.get(entity, "_record_number")
            try:
                written = copy_query_to_parquet(self.con, self.tables[entity].select(lineage, order), target)
            except duckdb.Error as exc:
                raise IngestFileError(f"{label}: cannot store {entity} rows: {str(exc).splitlines()[0]}") from exc
            handed = self.handed.get(entity, 0)
            if written != expected or written != handed:
                raise IngestFileError(
                    f"{label}: wrote {written} {entity} rows to {target}, the parser handed over {handed}"
                )
            entity_rows[entity] = written
        return FileOutputs(
            format=parsed.format,
            main_entity=parsed.main_entity,
            rows_in=parsed.rows_in,
            rows_loaded=parsed.rows_loaded,
            rows_rejected=parsed.rows_rejected,
            rows_skipped=getattr(parsed, "rows_skipped", 0),
            entity_rows=entity_rows,
            quarantine_rows=self._write_quarantine(lineage),
            incomplete=getattr(parsed, "incomplete", False),
            notes=parsed.notes,
            details=parsed.details,
            unknown_columns=list(getattr(parsed, "unknown_columns", ())),
            missing_columns=list(getattr(parsed, "missing_columns", ())),
        )

    def _write_quarantine(self, lineage: dict[str, str]) -> int:
        landed = self.landed
        self._flush(_QUARANTINE)
        rows = self.count(_QUARANTINE)
        if rows != self.handed.get(_QUARANTINE, 0):
            raise IngestFileError(
                f"{landed.relative_path}: {rows} quarantine rows staged, the parser rejected "
                f"{self.handed.get(_QUARANTINE, 0)}"
            )
        if not rows:  # a clean reload must not leave an older run's quarantine behind
            landed.quarantine_file.unlink(missing_ok=True)
            return 0
        spec = landed.spec
        select = self.tables[_QUARANTINE].select(lineage, "_record_number")
        try:
            write_quarantine(self.con, select, spec.quarantine_columns, landed.paths, spec.source, landed.sha256)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise IngestFileError(f"{landed.relative_path}: cannot store quarantine rows: {first}") from exc
        return rows

    def close(self) -> None:
        for table in self.tables.values():
            table.drop()
        self.tables.clear()
        self.buffers.clear()
        self.handed.clear()


def _raw_rows(rows: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str)


def quarantine_out_of_range(parsed: ParsedRows, entities: dict[str, Columns]) -> None:
    """The shared loop's guard for rows a parser returned in whole lists: a record with a value its contract column
    cannot hold (ingest/common/ranges.py) is moved, with every row it produced, to the quarantine with the reason,
    instead of failing the whole file at the cast. Parsers check their records as they build them (with the original
    record as raw_record); this catches what a parser does not check, with the record's parsed rows as raw_record.
    A record is the rows sharing a ``_record_number``."""
    problems: dict[int, str] = {}
    for entity, rows in parsed.entities.items():
        for row in rows:
            number = row.get("_record_number")
            if number is not None and number not in problems:
                problem = row_problem(entities[entity], row)
                if problem is not None:
                    problems[number] = f"{entity}: {problem}" if entity != parsed.main_entity else problem
    if not problems:
        return
    removed: dict[int, dict[str, list[dict[str, Any]]]] = {number: {} for number in problems}
    for entity, rows in parsed.entities.items():
        kept = []
        for row in rows:
            number = row.get("_record_number")
            if number in removed:
                removed[number].setdefault(entity, []).append({k: v for k, v in row.items() if k != "_record_number"})
            else:
                kept.append(row)
        parsed.entities[entity] = kept
    for number in sorted(problems):
        parsed.quarantine.append(
            {
                "_record_number": number,
                "entity": parsed.main_entity,
                "record_key": None,
                "raw_record": _raw_rows(removed[number]),
                "reason": problems[number],
            }
        )
    parsed.rows_loaded -= len(problems)
    parsed.rows_rejected += len(problems)


@dataclass
class RowSource:
    """The ``SourceRun`` of a row source: ``parse`` one file into rows, write them, then ``learn`` from them what
    later files of the run need (customers that invoices refer to, a Jira field catalog)."""

    parse: Callable[[Path, str, RowStage], ParsedRows]
    rules: RowRules = field(default_factory=RowRules)
    order: Callable[[Path], int] = lambda _path: 0
    learn: Callable[[ParsedRows, str], None] = lambda _parsed, _label: None
    _con: duckdb.DuckDBPyConnection | None = field(default=None, init=False, repr=False)

    def load_order(self, path: Path) -> int:
        return self.order(path)

    def load(self, landed: LandedFile) -> FileOutputs:
        if self._con is None:  # one connection for the run's files: opening one costs ~35 ms, a 50-issue page ~100
            self._con = open_stage(work_root(landed.paths, landed.spec.source) / "spill")
        stage = RowStage(self._con, landed, self.rules)
        try:
            parsed = self.parse(landed.path, landed.relative_path, stage)
            quarantine_out_of_range(parsed, landed.spec.entities)
            counted = parsed.rows_loaded + parsed.rows_rejected + getattr(parsed, "rows_skipped", 0)
            if parsed.rows_in != counted:  # a parser bug, never hidden: nothing of this file is written
                raise IngestFileError(
                    f"{landed.relative_path}: rows_in {parsed.rows_in} != loaded {parsed.rows_loaded} + rejected "
                    f"{parsed.rows_rejected} + skipped {getattr(parsed, 'rows_skipped', 0)}"
                )
            outputs = stage.write(parsed)
        finally:
            stage.close()
        self.learn(parsed, landed.relative_path)
        return outputs

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
