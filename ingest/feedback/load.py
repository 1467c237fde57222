"""Ingest feedback exports: landing/feedback/** -> lake/_pending/feedback/<entity>/<sha256>.parquet (+ quarantine,
manifest).

Pure Python + DuckDB. Each landed file is detected from its content (ingest/feedback/detect.py), parsed into the
feedback/* entities of ingest/feedback/contract.py and written per entity to the pending area, atomically; the raw
gate promotes them. Zendesk ticket field catalogs are read before ticket files in a run; they write no lake rows,
their custom field ids are kept in the manifest's details, so later runs know them too.
"""

from __future__ import annotations

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
from ingest.common.manifest import manifest_source_dir, read_manifest, read_manifest_record, write_manifest_record
from ingest.common.parquet import copy_query_to_parquet, ensure_schema_file, sql_string
from ingest.common.quarantine import quarantine_path, write_quarantine
from ingest.common.report import ALREADY_LOADED, FAILED, LOADED, SKIPPED_DUPLICATE, FileResult, IngestReport
from ingest.feedback import contract
from ingest.feedback.detect import TicketFields, parse_feedback_file
from ingest.feedback.errors import FeedbackFileError
from ingest.feedback.rows import FileRows
from ingest.feedback.values import scrub_text

PARSER_VERSION = "feedback-1"
SOURCE = contract.SOURCE
TICKET_FIELDS_FORMAT = "zendesk_ticket_fields"
LINEAGE_NAMES = {name for name, _ in contract.LINEAGE_COLUMNS}
_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int64(),  # narrowed by the CAST in SQL, which fails loudly on overflow
    "TIMESTAMP": pa.timestamp("us"),
    "VARCHAR[]": pa.list_(pa.string()),
}
# Hashes are hex and cannot hold an address; every other text value is scrubbed once more before it is written.
_HASH_COLUMNS = {"respondent_email_hash"}


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def _work_root(paths: Paths) -> Path:
    return paths.lake / "_tmp" / SOURCE


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
    try:
        path = check_landed_file(paths, SOURCE, path)  # never open what _ingest_one will refuse (symlinks ...)
    except LandingPathError:
        return 1
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace")
    return 0 if '"ticket_fields"' in head or ('"raw_title"' in head and '"subject"' not in head) else 1


# -- writing ------------------------------------------------------------------------------------------------------


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def _arrow_table(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...]) -> pa.Table:
    schema = pa.schema(
        [(name, _ARROW_TYPES[sql_type]) for name, sql_type in columns if name not in LINEAGE_NAMES]
        + [("_record_number", pa.int64()), ("item_order", pa.int64())]
    )
    data = {
        name: [row.get(name) if name in _HASH_COLUMNS else _scrubbed(row.get(name)) for row in rows]
        for name in schema.names
        if name != "item_order"
    }
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
            raise FeedbackFileError(f"{label}: cannot store {entity} rows: {exc}") from exc
        con.register("entity_rows_", table)
        try:
            select = ", ".join(
                f"CAST({self.lineage.get(name, name)} AS {sql_type}) AS {name}" for name, sql_type in columns
            )
            target = pending_file(self.paths, SOURCE, entity, self.sha256)
            written = copy_query_to_parquet(
                con, f"SELECT {select} FROM entity_rows_ ORDER BY _record_number, item_order", target
            )
        except duckdb.Error as exc:
            raise FeedbackFileError(f"{label}: cannot store {entity} rows: {str(exc).splitlines()[0]}") from exc
        finally:
            con.unregister("entity_rows_")
        if written != len(rows):
            raise FeedbackFileError(f"{label}: wrote {written} {entity} rows to {target}, expected {len(rows)}")
        return target

    def quarantine(self, con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> Path:
        table = pa.table(
            {
                "_record_number": pa.array([r["_record_number"] for r in rows], pa.int64()),
                "entity": pa.array([r["entity"] for r in rows], pa.string()),
                "record_key": pa.array([scrub_text(r["record_key"]) for r in rows], pa.string()),
                "raw_record": pa.array([scrub_text(r["raw_record"]) for r in rows], pa.string()),
                "reason": pa.array([scrub_text(r["reason"]) for r in rows], pa.string()),
                "item_order": pa.array(range(len(rows)), pa.int64()),
            }
        )
        con.register("quarantine_rows_", table)
        try:
            select = ", ".join(f"{self.lineage.get(name, name)} AS {name}" for name, _ in contract.QUARANTINE_COLUMNS)
            return write_quarantine(
                con,
                f"SELECT {select} FROM quarantine_rows_ ORDER BY _record_number, item_order",
                contract.QUARANTINE_COLUMNS,
                self.paths,
                SOURCE,
                self.sha256,
            )
        finally:
            con.unregister("quarantine_rows_")


def _write_outputs(
    paths: Paths, parsed: FileRows, relative_path: str, sha256: str, ingested_at: datetime
) -> tuple[dict[str, Path], Path | None]:
    """Pending Parquet per entity with rows (the main entity always, so the manifest's lake_file exists)."""
    writer = _Writer(paths, relative_path, sha256, ingested_at, parsed.format)
    written: dict[str, Path] = {}
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
        con.close()
    return written, quarantine_file


# -- one file -----------------------------------------------------------------------------------------------------


def _lake_relative(paths: Paths, path: Path) -> str:
    return path.relative_to(paths.lake).as_posix()


def _is_loaded(paths: Paths, record: dict[str, Any] | None) -> bool:
    """Loaded, and every file it wrote is still there (promoted or pending); a catalog writes no lake file."""
    if not record or record.get("status") != LOADED:
        return False
    for relative in record.get("lake_files") or []:
        promoted = paths.lake / relative
        entity = promoted.parent.name
        if not (promoted.exists() or pending_file(paths, SOURCE, entity, record["sha256"]).exists()):
            return False
    return not record.get("quarantine_file") or (paths.lake / record["quarantine_file"]).exists()


def _ingest_one(
    paths: Paths, config: PipelineConfig, ticket_fields: list[TicketFields | None], path: Path
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
            SOURCE,
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
            lake_file=paths.lake / previous["lake_file"] if previous.get("lake_file") else None,
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
        parsed = parse_feedback_file(absolute, relative, config, ticket_fields[0])
        written, quarantine_file = _write_outputs(paths, parsed, relative, sha256, started)
    except FeedbackFileError as exc:
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
    if parsed.format == TICKET_FIELDS_FORMAT:  # ticket files later in this run resolve custom fields through it
        merged = ticket_fields[0] or {"jira_key": [], "feature": []}
        _merge_ticket_fields(merged, parsed.details)
        ticket_fields[0] = merged
    entity_rows = {entity: len(parsed.entities[entity]) for entity in written}
    promoted = {entity: lake_file(paths, SOURCE, entity, sha256) for entity in written}
    main = promoted.get(parsed.main_entity) if parsed.main_entity else None
    record |= {
        "status": LOADED,
        "error": None,
        "format": parsed.format,
        "rows_in": parsed.rows_in,
        "rows_loaded": parsed.rows_loaded,
        "rows_rejected": parsed.rows_rejected,
        "incomplete": False,
        "notes": parsed.notes,
        # Where the files are promoted to once the raw gate passes (they are written to the pending area first).
        "lake_file": _lake_relative(paths, main) if main else None,
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
        lake_file=written.get(parsed.main_entity) if parsed.main_entity else None,
        lake_files=list(written.values()),
        entity_rows=entity_rows,
        quarantine_file=quarantine_file,
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
    report = IngestReport(source=SOURCE)
    with ingest_lock(paths, SOURCE):
        _prepare_lake(paths)
        candidates = list_landed_files(paths, SOURCE) if files is None else [Path(f) for f in files]
        ordered = sorted(enumerate(candidates), key=lambda item: (_load_order(paths, item[1]), item[0]))
        ticket_fields = [known_ticket_fields(paths)]  # a one-slot box: catalogs loaded in this run update it
        for _, path in ordered:
            result = _ingest_one(paths, config, ticket_fields, path)
            report.results.append(result)
            if log is not None:
                log(result.describe())
    return report


__all__ = ["ingest_feedback", "known_ticket_fields", "parse_feedback_file"]
