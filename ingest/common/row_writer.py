"""Row sources on the shared loop: a parser turns one landed file into rows per entity and quarantine rows; this
module writes them to the pending Parquet of ingest/common/loop.py, in bounded batches.

Rows go to a private DuckDB in batches of ``BATCH_ROWS`` (one Arrow batch at a time, cast to the contract there,
so an overflow or a bad decimal fails loudly), then each entity is copied once, in file order, to its pending
Parquet. DuckDB holds the staged rows under a memory limit and spills to the file's work folder beyond it, so the
writer's memory does not grow with the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from ingest.common.errors import IngestFileError
from ingest.common.loop import Columns, FileOutputs, LandedFile, SourceSpec, work_root
from ingest.common.parquet import copy_query_to_parquet, sql_string
from ingest.common.quarantine import write_quarantine

BATCH_ROWS = 10_000
# DuckDB's share while staging one file; beyond it, staged rows spill to the file's work folder.
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


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed(v, scrub) for v in value]
    return value


class _StagedTable:
    """One output table of one file, staged in DuckDB batch by batch."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, columns: Columns, lineage: dict[str, str]):
        self.con = con
        self.name = name
        self.columns = columns
        self.lineage = lineage
        self.schema = pa.schema(
            [(n, _arrow_type(t)) for n, t in columns if n not in lineage] + [(_ROW_ORDER, pa.int64())]
        )
        self.casts = ", ".join(f"CAST({lineage.get(n, n)} AS {t}) AS {n}" for n, t in columns)
        self.rows = 0
        con.execute(f"DROP TABLE IF EXISTS {name}")
        definition = ", ".join(f"{n} {t}" for n, t in columns)
        con.execute(f"CREATE TABLE {name} ({definition}, {_ROW_ORDER} BIGINT)")

    def append(self, batch: list[dict[str, Any]], transform: Callable[[str, Any], Any]) -> None:
        data: dict[str, list[Any]] = {
            name: [transform(name, row.get(name)) for row in batch] for name in self.schema.names if name != _ROW_ORDER
        }
        data[_ROW_ORDER] = list(range(self.rows, self.rows + len(batch)))
        table = pa.table(data, schema=self.schema)
        self.con.register("batch_", table)
        try:
            self.con.execute(f"INSERT INTO {self.name} SELECT {self.casts}, {_ROW_ORDER} FROM batch_")
        finally:
            self.con.unregister("batch_")
        self.rows += len(batch)

    def select(self, order: str) -> str:
        names = ", ".join(name for name, _ in self.columns)
        return f"SELECT {names} FROM {self.name} ORDER BY {order}, {_ROW_ORDER}"

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.name}")


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def open_stage(spill: Path) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB for a run's writes, bounded, spilling to ``spill``."""
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET temp_directory = {sql_string(str(spill))}")
    con.execute(f"SET memory_limit = {sql_string(STAGE_MEMORY_LIMIT)}")
    con.execute("SET preserve_insertion_order = true")
    return con


def write_rows(con: duckdb.DuckDBPyConnection, landed: LandedFile, parsed: ParsedRows, rules: RowRules) -> FileOutputs:
    """Pending Parquet per entity with rows (the main entity always, so the manifest's lake_file exists), and the
    quarantine file when rows were rejected; returns what was written."""
    spec = landed.spec
    label = landed.relative_path
    lineage = landed.lineage_sql(parsed.format)
    scrub, keep = rules.scrub_value, rules.keep_unscrubbed

    def stored(name: str, value: Any) -> Any:
        value = _exact(value)
        return value if scrub is None or name in keep else _scrubbed(value, scrub)

    entity_rows: dict[str, int] = {}
    for entity, columns in spec.entities.items():
        rows = parsed.entities.get(entity, [])
        if not rows and entity != parsed.main_entity:  # an earlier attempt may have left one behind
            landed.pending_file(entity).unlink(missing_ok=True)
            continue
        target = landed.pending_file(entity)
        table = _StagedTable(con, f"stage_{entity}", columns, lineage)
        try:
            for batch in _batches(rows):
                table.append(batch, stored)
            order = rules.entity_order.get(entity, "_record_number")
            written = copy_query_to_parquet(con, table.select(order), target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise IngestFileError(f"{label}: cannot store {entity} rows: {exc}") from exc
        except duckdb.Error as exc:
            raise IngestFileError(f"{label}: cannot store {entity} rows: {str(exc).splitlines()[0]}") from exc
        finally:
            table.drop()
        if written != len(rows):
            raise IngestFileError(f"{label}: wrote {written} {entity} rows to {target}, expected {len(rows)}")
        entity_rows[entity] = written
    quarantined = _write_quarantine(con, landed, spec, parsed.quarantine, rules, lineage)
    return FileOutputs(
        format=parsed.format,
        main_entity=parsed.main_entity,
        rows_in=parsed.rows_in,
        rows_loaded=parsed.rows_loaded,
        rows_rejected=parsed.rows_rejected,
        rows_skipped=getattr(parsed, "rows_skipped", 0),
        entity_rows=entity_rows,
        quarantine_rows=quarantined,
        incomplete=getattr(parsed, "incomplete", False),
        notes=parsed.notes,
        details=parsed.details,
    )


def _write_quarantine(
    con: duckdb.DuckDBPyConnection,
    landed: LandedFile,
    spec: SourceSpec,
    rows: list[dict[str, Any]],
    rules: RowRules,
    lineage: dict[str, str],
) -> int:
    if not rows:  # a clean reload must not leave an older run's quarantine behind
        landed.quarantine_file.unlink(missing_ok=True)
        return 0
    whole, raw_only = rules.scrub_quarantine, rules.scrub_raw_record

    def stored(name: str, value: Any) -> Any:
        if value is None:
            return None
        if whole is not None and name in ("record_key", "raw_record", "reason"):
            value = whole(value)
        if raw_only is not None and name == "raw_record":
            value = raw_only(value)
        return value

    table = _StagedTable(con, "stage_quarantine", spec.quarantine_columns, lineage)
    try:
        for batch in _batches(rows):
            table.append(batch, stored)
        write_quarantine(
            con, table.select("_record_number"), spec.quarantine_columns, landed.paths, spec.source, landed.sha256
        )
    except duckdb.Error as exc:
        raise IngestFileError(
            f"{landed.relative_path}: cannot store quarantine rows: {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        table.drop()
    return len(rows)


@dataclass
class RowSource:
    """The ``SourceRun`` of a row source: ``parse`` one file into rows, write them, then ``learn`` from them what
    later files of the run need (customers that invoices refer to, a Jira field catalog)."""

    parse: Callable[[Path, str], ParsedRows]
    rules: RowRules = field(default_factory=RowRules)
    order: Callable[[Path], int] = lambda _path: 0
    learn: Callable[[ParsedRows, str], None] = lambda _parsed, _label: None
    _con: duckdb.DuckDBPyConnection | None = field(default=None, init=False, repr=False)

    def load_order(self, path: Path) -> int:
        return self.order(path)

    def load(self, landed: LandedFile) -> FileOutputs:
        if self._con is None:  # one connection for the run's files: opening one costs ~35 ms, a 50-issue page ~100
            self._con = open_stage(work_root(landed.paths, landed.spec.source) / "spill")
        parsed = self.parse(landed.path, landed.relative_path)
        counted = parsed.rows_loaded + parsed.rows_rejected + getattr(parsed, "rows_skipped", 0)
        if parsed.rows_in != counted:  # checked before anything is written (the loop checks the outputs again)
            raise IngestFileError(
                f"{landed.relative_path}: rows_in {parsed.rows_in} != loaded {parsed.rows_loaded} + rejected "
                f"{parsed.rows_rejected} + skipped {getattr(parsed, 'rows_skipped', 0)}"
            )
        outputs = write_rows(self._con, landed, parsed, self.rules)
        self.learn(parsed, landed.relative_path)
        return outputs

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
