"""Ingest Jira exports: landing/jira/** -> lake/_pending/jira/<entity>/<sha256>.parquet (+ quarantine, manifest).

Pure Python + DuckDB. Each landed file is detected from its content (ingest/jira/api.py, csv_export.py), parsed
into the jira/* entities of ingest/jira/contract.py and written per entity to the pending area, atomically; the raw
gate promotes them. Field catalogs and sprint pages are loaded before issue files in a run, so issue files can
resolve custom fields and CSV sprint names through them (and through those already in the lake).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.config import PipelineConfig
from core.settings import Paths
from ingest.common.atomic import remove_stale_temp_files
from ingest.common.hashing import file_sha256
from ingest.common.lake import DISCARDED, lake_dir, lake_file, pending_dir, pending_file
from ingest.common.landing import LandingPathError, check_landed_file, list_landed_files, relative_to_landing
from ingest.common.locking import ingest_lock
from ingest.common.manifest import manifest_source_dir, read_manifest_record, write_manifest_record
from ingest.common.parquet import copy_query_to_parquet, ensure_schema_file, sql_string
from ingest.common.quarantine import quarantine_path, write_quarantine
from ingest.common.report import ALREADY_LOADED, FAILED, LOADED, SKIPPED_DUPLICATE, FileResult, IngestReport
from ingest.jira import contract
from ingest.jira.api import (
    AGILE_SPRINTS,
    FIELD_CATALOG,
    ISSUE_FORMATS,
    detect_json_layout,
    parse_field_catalog,
    parse_issue_records,
    parse_sprint_page,
)
from ingest.jira.csv_export import first_row, is_csv_header, parse_csv_export
from ingest.jira.errors import JiraFileError, MalformedFileError, UnknownLayoutError
from ingest.jira.fields import CatalogField, FieldCatalog, changelog_field_names, resolve_fields
from ingest.jira.locales import fold
from ingest.jira.rows import FileRows

PARSER_VERSION = "jira-1"
SOURCE = contract.SOURCE
LINEAGE_NAMES = {name for name, _ in contract.LINEAGE_COLUMNS}

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int64(),  # narrowed by the CAST in SQL, which fails loudly on overflow
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
    "DECIMAL(10,2)": pa.decimal128(10, 2),
    "VARCHAR[]": pa.list_(pa.string()),
    "BIGINT[]": pa.list_(pa.int64()),
}
# Within one file: rows in record order, then in their order inside the record.
_ENTITY_ORDER = {
    "issues": "_record_number",
    "changelog": "_record_number, item_order",
    "sprints": "_record_number, sprint_id",
    "comments": "_record_number, comment_index",
    "issue_links": "_record_number, link_index",
    "fields": "_record_number",
}


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def _work_root(paths: Paths) -> Path:
    return paths.lake / "_tmp" / SOURCE


# -- what earlier files taught us: field catalog, sprint names -------------------------------------------------------


class KnownJira:
    """Field catalog and sprint names from the lake (promoted and pending) and from files loaded in this run."""

    def __init__(self) -> None:
        self.catalog = FieldCatalog()
        self.sprint_ids_by_name: dict[str, set[int]] = {}

    @classmethod
    def from_lake(cls, paths: Paths) -> KnownJira:
        known = cls()
        con = duckdb.connect()
        try:
            for row in cls._read(con, paths, "fields", "field_id, name, schema_type, _source_file"):
                known.catalog.add(CatalogField(row[0], row[1], row[2], row[3]))
            for sprint_id, name in cls._read(con, paths, "sprints", "sprint_id, name"):
                known._add_sprint(sprint_id, name)
        finally:
            con.close()
        return known

    @staticmethod
    def _read(con: duckdb.DuckDBPyConnection, paths: Paths, entity: str, columns: str) -> list[tuple[Any, ...]]:
        files = [
            str(f)
            for folder in (lake_dir(paths, SOURCE, entity), pending_dir(paths, SOURCE, entity))
            for f in sorted(folder.glob("*.parquet"))
            if f.name != "_schema.parquet" and not f.name.startswith(".")
        ]
        if not files:
            return []
        listed = ", ".join(sql_string(f) for f in files)
        return con.execute(f"SELECT {columns} FROM read_parquet([{listed}]) ORDER BY _ingested_at").fetchall()

    def _add_sprint(self, sprint_id: int | None, name: str | None) -> None:
        if sprint_id is not None and name:
            self.sprint_ids_by_name.setdefault(fold(name), set()).add(int(sprint_id))

    def learn(self, parsed: FileRows, relative_path: str) -> None:
        for row in parsed.entities["fields"]:
            self.catalog.add(CatalogField(row["field_id"], row["name"], row["schema_type"], relative_path))
        for row in parsed.entities["sprints"]:
            self._add_sprint(row["sprint_id"], row["name"])


# -- parsing one file ---------------------------------------------------------------------------------------------


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"{label} is not UTF-8 text: byte {exc.start} ({data[exc.start]:#04x})") from None


def parse_jira_file(path: Path, label: str, config: PipelineConfig, known: KnownJira | None = None) -> FileRows:
    """Detect the layout of one landed file from its content and parse it (no lake writes).

    Raises JiraFileError (UnknownLayoutError, MalformedFileError) for a file that cannot be loaded at all."""
    known = known or KnownJira()
    text = _decode(path.read_bytes(), label)
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
    try:
        path = check_landed_file(paths, SOURCE, path)  # never open what _ingest_one will refuse (symlinks ...)
    except LandingPathError:
        return 2
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not head.startswith(("{", "[")):
        return 3
    if head.startswith("[") and '"custom"' in head and '"fields"' not in head:
        return 0
    if '"values"' in head:
        return 1
    return 2


# -- writing ------------------------------------------------------------------------------------------------------


def _arrow_table(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...]) -> pa.Table:
    schema = pa.schema(
        [(name, _ARROW_TYPES[sql_type]) for name, sql_type in columns if name not in LINEAGE_NAMES]
        + [("_record_number", pa.int64()), ("item_order", pa.int64())]
    )
    data = {name: [row.get(name) for row in rows] for name in schema.names if name != "item_order"}
    data["item_order"] = list(range(len(rows)))
    return pa.table(data, schema=schema)


class _Writer:
    def __init__(self, paths: Paths, relative_path: str, sha256: str, ingested_at: datetime, source_format: str):
        self.paths = paths
        self.sha256 = sha256
        self.lineage = {
            "_source_file": sql_string(relative_path),
            "_source_format": sql_string(source_format),
            "_file_sha256": sql_string(sha256),
            "_ingested_at": f"TIMESTAMP {sql_string(ingested_at.isoformat(sep=' '))}",
        }

    def entity(self, con: duckdb.DuckDBPyConnection, entity: str, rows: list[dict[str, Any]], label: str) -> Path:
        columns = contract.ENTITIES[entity]
        try:
            table = _arrow_table(rows, columns)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise JiraFileError(f"{label}: cannot store {entity} rows: {exc}") from exc
        con.register("entity_rows_", table)
        try:
            select = ", ".join(
                f"CAST({self.lineage.get(name, name)} AS {sql_type}) AS {name}" for name, sql_type in columns
            )
            target = pending_file(self.paths, SOURCE, entity, self.sha256)
            written = copy_query_to_parquet(
                con, f"SELECT {select} FROM entity_rows_ ORDER BY {_ENTITY_ORDER[entity]}", target
            )
        except duckdb.Error as exc:
            raise JiraFileError(f"{label}: cannot store {entity} rows: {str(exc).splitlines()[0]}") from exc
        finally:
            con.unregister("entity_rows_")
        if written != len(rows):
            raise JiraFileError(f"{label}: wrote {written} {entity} rows to {target}, expected {len(rows)}")
        return target

    def quarantine(self, con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> Path:
        table = pa.table(
            {
                "_record_number": pa.array([r["_record_number"] for r in rows], pa.int64()),
                "entity": pa.array([r["entity"] for r in rows], pa.string()),
                "record_key": pa.array([r["record_key"] for r in rows], pa.string()),
                "raw_record": pa.array([r["raw_record"] for r in rows], pa.string()),
                "reason": pa.array([r["reason"] for r in rows], pa.string()),
            }
        )
        con.register("quarantine_rows_", table)
        try:
            select = ", ".join(f"{self.lineage.get(name, name)} AS {name}" for name, _ in contract.QUARANTINE_COLUMNS)
            return write_quarantine(
                con,
                f"SELECT {select} FROM quarantine_rows_ ORDER BY _record_number",
                contract.QUARANTINE_COLUMNS,
                self.paths,
                SOURCE,
                self.sha256,
            )
        finally:
            con.unregister("quarantine_rows_")


def _write_outputs(
    paths: Paths,
    parsed: FileRows,
    relative_path: str,
    sha256: str,
    ingested_at: datetime,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[dict[str, Path], Path | None]:
    """Pending Parquet per entity with rows (the main entity always, so the manifest's lake_file exists).

    ``con``: an in-memory connection shared by a run's files (opening one costs ~35 ms, a large share of a
    50-issue page's load); without one, a private connection is opened and closed."""
    writer = _Writer(paths, relative_path, sha256, ingested_at, parsed.format)
    written: dict[str, Path] = {}
    own_connection = con is None
    if con is None:
        con = duckdb.connect()
    try:
        for entity in contract.ENTITIES:
            rows = parsed.entities[entity]
            if rows or entity == parsed.main_entity:
                written[entity] = writer.entity(con, entity, rows, relative_path)
            else:  # an earlier attempt with these bytes may have left one behind
                pending_file(paths, SOURCE, entity, sha256).unlink(missing_ok=True)
        quarantine_file = None
        if parsed.quarantine:
            quarantine_file = writer.quarantine(con, parsed.quarantine)
        else:  # a clean reload must not leave an older run's quarantine behind
            quarantine_path(paths, SOURCE, sha256).unlink(missing_ok=True)
    finally:
        if own_connection:
            con.close()
    return written, quarantine_file


# -- one file -----------------------------------------------------------------------------------------------------


def _lake_relative(paths: Paths, path: Path) -> str:
    return path.relative_to(paths.lake).as_posix()


def _is_loaded(paths: Paths, record: dict[str, Any] | None) -> bool:
    if not record or record.get("status") != LOADED or not record.get("lake_file"):
        return False
    for relative in record.get("lake_files") or [record["lake_file"]]:
        promoted = paths.lake / relative
        entity = promoted.parent.name
        if not (promoted.exists() or pending_file(paths, SOURCE, entity, record["sha256"]).exists()):
            return False
    return not record.get("quarantine_file") or (paths.lake / record["quarantine_file"]).exists()


def _ingest_one(
    paths: Paths, config: PipelineConfig, known: KnownJira, path: Path, con: duckdb.DuckDBPyConnection | None = None
) -> FileResult:
    clock = time.perf_counter()
    started = _utc_now()
    try:
        absolute = check_landed_file(paths, SOURCE, path)
    except LandingPathError as exc:
        return FileResult(SOURCE, path=Path(path), sha256=None, status=FAILED, error=str(exc))
    relative = relative_to_landing(paths, absolute)
    sha256 = file_sha256(absolute)
    previous = read_manifest_record(paths, SOURCE, sha256)

    if previous is not None and previous.get("status") == DISCARDED:
        return FileResult(
            source=SOURCE,
            path=absolute,
            sha256=sha256,
            status=DISCARDED,
            relative_path=relative,
            format=previous.get("format"),
            error=previous.get("error"),
            seconds=time.perf_counter() - clock,
        )
    if _is_loaded(paths, previous):
        assert previous is not None
        known_paths = {previous["path"], *(previous.get("aliases") or [])}
        if relative not in known_paths:
            write_manifest_record(paths, previous | {"aliases": [*(previous.get("aliases") or []), relative]})
        status = ALREADY_LOADED if relative == previous["path"] else SKIPPED_DUPLICATE
        return FileResult(
            SOURCE,
            path=absolute,
            sha256=sha256,
            status=status,
            relative_path=relative,
            format=previous.get("format"),
            lake_file=paths.lake / previous["lake_file"],
            error=None if status == ALREADY_LOADED else f"same bytes as {previous['path']} (loaded once)",
            seconds=time.perf_counter() - clock,
        )

    record: dict[str, Any] = {
        "source": SOURCE,
        "path": relative,
        "aliases": [],
        "sha256": sha256,
        "bytes": absolute.stat().st_size,
        "started_at": _iso(started),
        "parser_version": PARSER_VERSION,
    }
    if previous:  # an earlier failure (or a load whose files went missing): keep where the bytes were seen
        record["path"] = previous["path"]
        record["aliases"] = [*(previous.get("aliases") or []), *([relative] if relative != previous["path"] else [])]
    try:
        parsed = parse_jira_file(absolute, relative, config, known)
        written, quarantine_file = _write_outputs(paths, parsed, relative, sha256, started, con)
    except JiraFileError as exc:
        error = str(exc)
        record |= {
            "status": FAILED,
            "error": error,
            "format": None,
            "rows_in": None,
            "rows_loaded": None,
            "rows_rejected": None,
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
        return FileResult(
            SOURCE,
            path=absolute,
            sha256=sha256,
            status=FAILED,
            relative_path=relative,
            error=error,
            seconds=time.perf_counter() - clock,
        )
    known.learn(parsed, relative)
    entity_rows = {entity: len(parsed.entities[entity]) for entity in written}
    promoted = {entity: lake_file(paths, SOURCE, entity, sha256) for entity in written}
    record |= {
        "status": LOADED,
        "error": None,
        "format": parsed.format,
        "rows_in": parsed.rows_in,
        "rows_loaded": parsed.rows_loaded,
        "rows_rejected": parsed.rows_rejected,
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
    return FileResult(
        SOURCE,
        path=absolute,
        sha256=sha256,
        status=LOADED,
        relative_path=relative,
        format=parsed.format,
        rows_in=parsed.rows_in,
        rows_loaded=parsed.rows_loaded,
        rows_rejected=parsed.rows_rejected,
        lake_file=written[parsed.main_entity],
        lake_files=list(written.values()),
        entity_rows=entity_rows,
        quarantine_file=quarantine_file,
        incomplete=parsed.incomplete,
        notes=list(parsed.notes),
        seconds=time.perf_counter() - clock,
    )


def _prepare_lake(paths: Paths) -> None:
    """Under the lock: remove what a killed run left behind and make sure every dbt source glob matches."""
    con = duckdb.connect()
    try:
        for entity, columns in contract.ENTITIES.items():
            for directory in (lake_dir(paths, SOURCE, entity), pending_dir(paths, SOURCE, entity)):
                directory.mkdir(parents=True, exist_ok=True)
                remove_stale_temp_files(directory)
            ensure_schema_file(con, columns, lake_dir(paths, SOURCE, entity) / "_schema.parquet")
    finally:
        con.close()
    for directory in (paths.quarantine_dir / SOURCE, manifest_source_dir(paths, SOURCE)):
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(directory)
    shutil.rmtree(_work_root(paths), ignore_errors=True)


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
    report = IngestReport(source=SOURCE)
    with ingest_lock(paths, SOURCE):
        _prepare_lake(paths)
        candidates = list_landed_files(paths, SOURCE) if files is None else [Path(f) for f in files]
        ordered = sorted(
            enumerate(candidates),
            key=lambda item: (_load_order(paths, item[1]), item[0]),
        )
        known = KnownJira.from_lake(paths)
        con = duckdb.connect()  # in memory, shared by the files' Parquet writes
        try:
            for _, path in ordered:
                result = _ingest_one(paths, config, known, path, con)
                report.results.append(result)
                if log is not None:
                    log(result.describe())
        finally:
            con.close()
    return report


__all__ = ["KnownJira", "ingest_jira", "parse_jira_file"]
