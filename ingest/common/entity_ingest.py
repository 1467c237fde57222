"""The per-file ingest loop shared by row-oriented sources (billing, marketing): the same manifest, pending writes,
schema anchors, quarantine and idempotency as the Jira ingest (ingest/jira/load.py), with parsing left to the source.

A source supplies an ``EntitySource`` (its contract and how to order files) and a ``parse`` function turning one
landed file into a ``ParsedFile``: rows per entity, quarantine rows with their reason, and the counts that keep
rows_in = rows_loaded + rows_rejected + rows_skipped. File-level problems raise ``IngestFileError``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.settings import Paths
from ingest.common.atomic import remove_stale_temp_files
from ingest.common.hashing import file_sha256
from ingest.common.identity import email_hash
from ingest.common.lake import DISCARDED, lake_dir, lake_file, pending_dir, pending_file
from ingest.common.landing import LandingPathError, check_landed_file, list_landed_files, relative_to_landing
from ingest.common.locking import ingest_lock
from ingest.common.manifest import manifest_source_dir, read_manifest_record, write_manifest_record
from ingest.common.parquet import copy_query_to_parquet, ensure_schema_file, sql_string
from ingest.common.quarantine import quarantine_path, write_quarantine
from ingest.common.report import ALREADY_LOADED, FAILED, LOADED, SKIPPED_DUPLICATE, FileResult, IngestReport

Columns = tuple[tuple[str, str], ...]
# Columns the loop fills itself; a parser never sets them.
WRITER_LINEAGE = ("_source_file", "_source_format", "_file_sha256", "_ingested_at")


class IngestFileError(ValueError):
    """A landed file that cannot be loaded at all; the message names the file and the problem."""


class UnknownLayoutError(IngestFileError):
    """Content matching none of the supported layouts; the message says what was seen."""


class MalformedFileError(IngestFileError):
    """Bytes that are not UTF-8 / JSON / CSV, or a known layout missing columns it needs."""


_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def scrub_emails(text: str) -> str:
    """Replace every e-mail address in ``text`` by its identity hash, so quarantine and metadata never hold one."""
    return _EMAIL.sub(lambda match: f"email_hash:{email_hash(match.group(0))}", text)


def raw_json(value: Any) -> str:
    """An original row or object as JSON text, e-mails replaced by their hash."""
    return scrub_emails(json.dumps(value, ensure_ascii=False, sort_keys=False, default=str))


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

    def reject(self, record_number: int, entity: str, key: str | None, raw: str, reason: str) -> None:
        self.quarantine.append(
            {"_record_number": record_number, "entity": entity, "record_key": key, "raw_record": raw, "reason": reason}
        )
        self.rows_rejected += 1

    def check_counts(self, label: str) -> None:
        counted = self.rows_loaded + self.rows_rejected + self.rows_skipped
        if self.rows_in != counted:  # a parser bug, never hidden: nothing of this file is written
            raise IngestFileError(
                f"{label}: rows_in {self.rows_in} != loaded {self.rows_loaded} + rejected {self.rows_rejected} "
                f"+ skipped {self.rows_skipped}"
            )


@dataclass(frozen=True)
class EntitySource:
    source: str
    parser_version: str
    entities: dict[str, Columns]
    quarantine_columns: Columns


_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int64(),  # narrowed by the CAST in SQL, which fails loudly on overflow
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
}


def _arrow_type(sql_type: str) -> pa.DataType:
    # Decimals travel as their exact text and are cast by DuckDB: no float anywhere on the way.
    return pa.string() if sql_type.startswith("DECIMAL") else _ARROW_TYPES[sql_type]


def _exact(value: Any) -> Any:
    # A Decimal travels as plain positional text ("0.000000", never "0E-6"), which DuckDB casts exactly.
    return format(value, "f") if isinstance(value, Decimal) else value


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def read_lake_column(paths: Paths, source: str, entity: str, column: str) -> list[Any]:
    """Every value of ``column`` in the promoted and pending Parquet of (source, entity)."""
    files = [
        str(f)
        for folder in (lake_dir(paths, source, entity), pending_dir(paths, source, entity))
        for f in sorted(folder.glob("*.parquet"))
        if f.name != "_schema.parquet" and not f.name.startswith(".")
    ]
    if not files:
        return []
    listed = ", ".join(sql_string(f) for f in files)
    con = duckdb.connect()
    try:
        return [row[0] for row in con.execute(f"SELECT {column} FROM read_parquet([{listed}])").fetchall()]
    finally:
        con.close()


class _Writer:
    def __init__(self, spec: EntitySource, paths: Paths, relative_path: str, sha256: str, at: datetime, fmt: str):
        self.spec = spec
        self.paths = paths
        self.sha256 = sha256
        self.lineage = {
            "_source_file": sql_string(relative_path),
            "_source_format": sql_string(fmt),
            "_file_sha256": sql_string(sha256),
            "_ingested_at": f"TIMESTAMP {sql_string(at.isoformat(sep=' '))}",
        }

    def entity(self, con: duckdb.DuckDBPyConnection, entity: str, rows: list[dict[str, Any]], label: str) -> Path:
        columns = self.spec.entities[entity]
        schema = pa.schema(
            [(name, _arrow_type(sql_type)) for name, sql_type in columns if name not in WRITER_LINEAGE]
            + [("_item_order", pa.int64())]
        )
        data = {name: [_exact(row.get(name)) for row in rows] for name in schema.names if name != "_item_order"}
        data["_item_order"] = list(range(len(rows)))
        try:
            table = pa.table(data, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise IngestFileError(f"{label}: cannot store {entity} rows: {exc}") from exc
        con.register("entity_rows_", table)
        try:
            select = ", ".join(
                f"CAST({self.lineage.get(name, name)} AS {sql_type}) AS {name}" for name, sql_type in columns
            )
            target = pending_file(self.paths, self.spec.source, entity, self.sha256)
            written = copy_query_to_parquet(
                con, f"SELECT {select} FROM entity_rows_ ORDER BY _record_number, _item_order", target
            )
        except duckdb.Error as exc:
            raise IngestFileError(f"{label}: cannot store {entity} rows: {str(exc).splitlines()[0]}") from exc
        finally:
            con.unregister("entity_rows_")
        if written != len(rows):
            raise IngestFileError(f"{label}: wrote {written} {entity} rows to {target}, expected {len(rows)}")
        return target

    def quarantine(self, con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> Path:
        table = pa.table(
            {
                "_record_number": pa.array([r["_record_number"] for r in rows], pa.int64()),
                "entity": pa.array([r["entity"] for r in rows], pa.string()),
                "record_key": pa.array([r["record_key"] for r in rows], pa.string()),
                "raw_record": pa.array([scrub_emails(r["raw_record"]) for r in rows], pa.string()),
                "reason": pa.array([r["reason"] for r in rows], pa.string()),
            }
        )
        con.register("quarantine_rows_", table)
        try:
            columns = self.spec.quarantine_columns
            select = ", ".join(f"{self.lineage.get(name, name)} AS {name}" for name, _ in columns)
            return write_quarantine(
                con,
                f"SELECT {select} FROM quarantine_rows_ ORDER BY _record_number",
                columns,
                self.paths,
                self.spec.source,
                self.sha256,
            )
        finally:
            con.unregister("quarantine_rows_")


def _write_outputs(
    spec: EntitySource, paths: Paths, parsed: ParsedFile, relative_path: str, sha256: str, at: datetime
) -> tuple[dict[str, Path], Path | None]:
    """Pending Parquet per entity with rows (the main entity always, so the manifest's lake_file exists)."""
    writer = _Writer(spec, paths, relative_path, sha256, at, parsed.format)
    written: dict[str, Path] = {}
    con = duckdb.connect()
    try:
        for entity in spec.entities:
            rows = parsed.entities.get(entity, [])
            if rows or entity == parsed.main_entity:
                written[entity] = writer.entity(con, entity, rows, relative_path)
            else:  # an earlier attempt with these bytes may have left one behind
                pending_file(paths, spec.source, entity, sha256).unlink(missing_ok=True)
        quarantine_file = None
        if parsed.quarantine:
            quarantine_file = writer.quarantine(con, parsed.quarantine)
        else:  # a clean reload must not leave an older run's quarantine behind
            quarantine_path(paths, spec.source, sha256).unlink(missing_ok=True)
    finally:
        con.close()
    return written, quarantine_file


def _lake_relative(paths: Paths, path: Path) -> str:
    return path.relative_to(paths.lake).as_posix()


def _is_loaded(spec: EntitySource, paths: Paths, record: dict[str, Any] | None) -> bool:
    if not record or record.get("status") != LOADED or not record.get("lake_file"):
        return False
    for relative in record.get("lake_files") or [record["lake_file"]]:
        promoted = paths.lake / relative
        entity = promoted.parent.name
        if not (promoted.exists() or pending_file(paths, spec.source, entity, record["sha256"]).exists()):
            return False
    return not record.get("quarantine_file") or (paths.lake / record["quarantine_file"]).exists()


ParseFile = Callable[[Path, str], ParsedFile]


def _ingest_one(spec: EntitySource, paths: Paths, parse: ParseFile, path: Path) -> tuple[FileResult, ParsedFile | None]:
    clock = time.perf_counter()
    started = _utc_now()
    source = spec.source
    try:
        absolute = check_landed_file(paths, source, path)
    except LandingPathError as exc:
        return FileResult(source, path=Path(path), sha256=None, status=FAILED, error=str(exc)), None
    relative = relative_to_landing(paths, absolute)
    sha256 = file_sha256(absolute)
    previous = read_manifest_record(paths, source, sha256)

    if previous is not None and previous.get("status") == DISCARDED:
        discarded = FileResult(
            source,
            path=absolute,
            sha256=sha256,
            status=DISCARDED,
            relative_path=relative,
            format=previous.get("format"),
            error=previous.get("error"),
            seconds=time.perf_counter() - clock,
        )
        return discarded, None
    if _is_loaded(spec, paths, previous):
        assert previous is not None
        if relative not in {previous["path"], *(previous.get("aliases") or [])}:
            write_manifest_record(paths, previous | {"aliases": [*(previous.get("aliases") or []), relative]})
        status = ALREADY_LOADED if relative == previous["path"] else SKIPPED_DUPLICATE
        seen = FileResult(
            source,
            path=absolute,
            sha256=sha256,
            status=status,
            relative_path=relative,
            format=previous.get("format"),
            lake_file=paths.lake / previous["lake_file"],
            error=None if status == ALREADY_LOADED else f"same bytes as {previous['path']} (loaded once)",
            seconds=time.perf_counter() - clock,
        )
        return seen, None

    record: dict[str, Any] = {
        "source": source,
        "path": relative,
        "aliases": [],
        "sha256": sha256,
        "bytes": absolute.stat().st_size,
        "started_at": _iso(started),
        "parser_version": spec.parser_version,
    }
    if previous:  # an earlier failure (or a load whose files went missing): keep where the bytes were seen
        record["path"] = previous["path"]
        record["aliases"] = [*(previous.get("aliases") or []), *([relative] if relative != previous["path"] else [])]
    try:
        parsed = parse(absolute, relative)
        parsed.check_counts(relative)
        written, quarantine_file = _write_outputs(spec, paths, parsed, relative, sha256, started)
    except IngestFileError as exc:
        error = str(exc)
        record |= {
            "status": FAILED,
            "error": error,
            "format": None,
            "rows_in": None,
            "rows_loaded": None,
            "rows_rejected": None,
            "rows_skipped": None,
            "incomplete": None,
            "notes": [],
            "lake_file": None,
            "lake_files": [],
            "entity_rows": None,
            "details": None,
            "quarantine_file": None,
            "finished_at": _iso(_utc_now()),
        }
        unchanged = previous is not None and all(
            previous.get(key) == record.get(key) for key in ("status", "error", "parser_version", "path", "aliases")
        )
        if not unchanged:  # the same failure again rewrites nothing
            write_manifest_record(paths, record)
        failed = FileResult(
            source,
            path=absolute,
            sha256=sha256,
            status=FAILED,
            relative_path=relative,
            error=error,
            seconds=time.perf_counter() - clock,
        )
        return failed, None
    entity_rows = {entity: len(parsed.entities.get(entity, [])) for entity in written}
    promoted = {entity: lake_file(paths, source, entity, sha256) for entity in written}
    record |= {
        "status": LOADED,
        "error": None,
        "format": parsed.format,
        "rows_in": parsed.rows_in,
        "rows_loaded": parsed.rows_loaded,
        "rows_rejected": parsed.rows_rejected,
        "rows_skipped": parsed.rows_skipped,
        "incomplete": parsed.incomplete,
        "notes": parsed.notes,
        # Where the files are promoted to once the raw gate passes (they are written to the pending area first).
        "lake_file": _lake_relative(paths, promoted[parsed.main_entity]),
        "lake_files": [_lake_relative(paths, p) for p in promoted.values()],
        "entity_rows": entity_rows,
        "details": parsed.details,
        "quarantine_file": _lake_relative(paths, quarantine_file) if quarantine_file else None,
        "finished_at": _iso(_utc_now()),
    }
    write_manifest_record(paths, record)
    loaded = FileResult(
        source,
        path=absolute,
        sha256=sha256,
        status=LOADED,
        relative_path=relative,
        format=parsed.format,
        rows_in=parsed.rows_in,
        rows_loaded=parsed.rows_loaded,
        rows_rejected=parsed.rows_rejected,
        rows_skipped=parsed.rows_skipped,
        lake_file=written[parsed.main_entity],
        lake_files=list(written.values()),
        entity_rows=entity_rows,
        quarantine_file=quarantine_file,
        incomplete=parsed.incomplete,
        notes=list(parsed.notes),
        seconds=time.perf_counter() - clock,
    )
    return loaded, parsed


def _prepare_lake(spec: EntitySource, paths: Paths) -> None:
    """Under the lock: remove what a killed run left behind and make sure every dbt source glob matches."""
    con = duckdb.connect()
    try:
        for entity, columns in spec.entities.items():
            for directory in (lake_dir(paths, spec.source, entity), pending_dir(paths, spec.source, entity)):
                directory.mkdir(parents=True, exist_ok=True)
                remove_stale_temp_files(directory)
            ensure_schema_file(con, columns, lake_dir(paths, spec.source, entity) / "_schema.parquet")
    finally:
        con.close()
    for directory in (paths.quarantine_dir / spec.source, manifest_source_dir(paths, spec.source)):
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(directory)


def sniff_text(paths: Paths, source: str, path: Path, size: int = 4096) -> str:
    """The start of a landed file as text, for load ordering only ('' for a path the loop will refuse)."""
    try:
        checked = check_landed_file(paths, source, path)
    except LandingPathError:
        return ""
    with open(checked, "rb") as handle:
        return handle.read(size).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def ingest_entity_files(
    spec: EntitySource,
    paths: Paths,
    *,
    parse: ParseFile,
    files: list[Path] | None,
    log: Callable[[str], None] | None,
    load_order: Callable[[Path], int] = lambda _path: 0,
    learn: Callable[[ParsedFile], None] = lambda _parsed: None,
) -> IngestReport:
    """Load new files of ``spec.source``; one result per file, never raising for one bad file.

    ``files=None`` scans landing/<source>/. Files are taken in ``load_order`` (then listing order); ``learn`` sees
    each loaded file's rows before the next file is parsed (e.g. customers that later invoices refer to).
    """
    report = IngestReport(source=spec.source)
    with ingest_lock(paths, spec.source):
        _prepare_lake(spec, paths)
        candidates = list_landed_files(paths, spec.source) if files is None else [Path(f) for f in files]
        ordered = sorted(enumerate(candidates), key=lambda item: (load_order(item[1]), item[0]))
        for _, path in ordered:
            result, parsed = _ingest_one(spec, paths, parse, path)
            if parsed is not None:
                learn(parsed)
            report.results.append(result)
            if log is not None:
                log(result.describe())
    return report


def decode_text(data: bytes, label: str) -> str:
    """UTF-8 text without its byte-order mark (Meta and Excel write one)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"{label} is not UTF-8 text: byte {exc.start} ({data[exc.start]:#04x})") from None


def csv_rows(text: str, label: str) -> list[list[str]]:
    """Every CSV row of ``text`` (quoted multi-line cells kept whole); blank lines dropped."""
    try:
        return [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise MalformedFileError(f"malformed CSV in {label}: {exc}") from None


def load_json(text: str, label: str) -> Any:
    """JSON with every non-integer number as a Decimal: money and percentages never pass through a float."""
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise MalformedFileError(
            f"malformed JSON in {label}: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        ) from None
