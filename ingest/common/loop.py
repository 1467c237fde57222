"""The one per-file ingest loop every source runs on.

A source brings its contract (a ``SourceSpec``) and a ``SourceRun``: how to order the landed files and how to load
one of them, i.e. parse it and write its pending Parquet (row sources through ``ingest.common.row_writer``,
analytics through its own DuckDB SQL). The loop keeps the invariants, in this one place:

- one run per source at a time (the ingest lock), a killed run's leftovers removed first, schema anchors present;
- exactly once per content sha256: a loaded content is not read again, other paths with the same bytes become
  aliases of its manifest record, an operator-discarded content stays discarded;
- fail closed: a file that cannot be loaded (``IngestFileError``) gets a FAILED result and manifest record naming
  the file and the problem, and the next file is still loaded;
- rows_in = rows_loaded + rows_rejected + rows_skipped, checked before the manifest says ``loaded``;
- schema drift reported alike: a file's ``unknown_columns`` / ``missing_columns`` (ingest/common/columns.py) go to its
  manifest record and result;
- no message names the run's scratch space (lake/_tmp/...): it names the landed file instead;
- one manifest record per content, written last (outputs are written atomically to lake/_pending first).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from core.duckdb_connection import connect_duckdb
from core.settings import Paths
from ingest.common.atomic import remove_stale_temp_files
from ingest.common.errors import IngestFileError
from ingest.common.hashing import file_sha256
from ingest.common.lake import DISCARDED, lake_dir, lake_file, pending_dir, pending_file
from ingest.common.landing import LandingPathError, check_landed_file, list_landed_files, relative_to_landing
from ingest.common.locking import ingest_lock, retry_transient
from ingest.common.manifest import manifest_source_dir, read_manifest_record, write_manifest_record
from ingest.common.parquet import ensure_schema_file, sql_string
from ingest.common.quarantine import quarantine_path
from ingest.common.report import ALREADY_LOADED, FAILED, LOADED, SKIPPED_DUPLICATE, FileResult, IngestReport

Columns = tuple[tuple[str, str], ...]
# Manifest fields that decide whether a failure is the same failure again (then nothing is rewritten).
_FAILURE_IDENTITY = ("status", "error", "parser_version", "path", "aliases")


@dataclass(frozen=True)
class SourceSpec:
    """A source's lake contract: its entities (each a pending/lake folder with a schema anchor) and quarantine."""

    source: str
    parser_version: str
    entities: dict[str, Columns]
    quarantine_columns: Columns
    # Manifest records list every entity file and its row count. Analytics (one entity per file) never did; its
    # records keep their shape, lake_file says it all.
    lists_entity_files: bool = True


@dataclass(frozen=True)
class LandedFile:
    """One landed file being loaded: where it is, its content hash and where its outputs go."""

    spec: SourceSpec
    paths: Paths
    path: Path  # absolute, checked to be a regular file inside landing/<source>/
    relative_path: str  # relative to landing/, the name every message uses
    sha256: str
    ingested_at: datetime

    def pending_file(self, entity: str) -> Path:
        return pending_file(self.paths, self.spec.source, entity, self.sha256)

    @property
    def quarantine_file(self) -> Path:
        return quarantine_path(self.paths, self.spec.source, self.sha256)

    @property
    def work_dir(self) -> Path:
        """Scratch space for this file (spill files, extracted members); removed by the next run's preparation."""
        return work_root(self.paths, self.spec.source) / self.sha256

    def lineage_sql(self, source_format: str | None) -> dict[str, str]:
        """SQL literals of the lineage columns the loop stamps on every row (a parser never sets them)."""
        lineage = {
            "_source_file": sql_string(self.relative_path),
            "_file_sha256": sql_string(self.sha256),
            "_ingested_at": f"TIMESTAMP {sql_string(self.ingested_at.isoformat(sep=' '))}",
        }
        if source_format is not None:
            lineage["_source_format"] = sql_string(source_format)
        return lineage


@dataclass
class FileOutputs:
    """What loading one file wrote (pending entity files, quarantine) and its record counts."""

    format: str
    main_entity: str | None  # None: the file teaches the run something but writes no lake rows (a field catalog)
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    rows_skipped: int = 0
    entity_rows: dict[str, int] = field(default_factory=dict)  # every entity file written -> its row count
    quarantine_rows: int = 0
    incomplete: bool = False
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # Physical lines of a line-based file, counted apart from its parser (None where records are not lines), and
    # those of them that are blank: every line is an input row or blank, never dropped unseen.
    lines_in: int | None = None
    blank_lines: int = 0
    unknown_columns: list[str] = field(default_factory=list)  # in the file, not read (see ingest/common/columns.py)
    missing_columns: list[str] = field(default_factory=list)  # read when present, absent from the file

    def check_counts(self, label: str) -> None:
        counted = self.rows_loaded + self.rows_rejected + self.rows_skipped
        if self.rows_in != counted:  # a parser bug, never hidden: the file fails, the manifest says so
            raise IngestFileError(
                f"{label}: rows_in {self.rows_in} != loaded {self.rows_loaded} + rejected {self.rows_rejected} "
                f"+ skipped {self.rows_skipped}"
            )
        if self.lines_in is not None and self.rows_in + self.blank_lines != self.lines_in:
            raise IngestFileError(
                f"{label}: {self.lines_in} lines, but rows_in {self.rows_in} + blank lines {self.blank_lines} "
                f"= {self.rows_in + self.blank_lines}: a line was not read"
            )
        if self.main_entity is not None and self.main_entity not in self.entity_rows:
            raise IngestFileError(f"{label}: no {self.main_entity} file was written")


class SourceRun(Protocol):
    """One source's part of one run, created under the lock once the lake is prepared (so what it reads of the
    lake, e.g. known customers or a field catalog, is consistent)."""

    def load_order(self, path: Path) -> int:
        """Files are loaded by this key, then in listing order (files other files depend on first)."""
        ...

    def load(self, landed: LandedFile) -> FileOutputs:
        """Parse the file and write its pending outputs atomically; raise IngestFileError if it cannot be loaded.
        Whatever later files need to know from it (``learn``) is taken in here, after its outputs are written."""
        ...

    def close(self) -> None: ...


def work_root(paths: Paths, source: str) -> Path:
    return paths.lake / "_tmp" / source


def public_message(message: str, landed: LandedFile) -> str:
    """``message`` with every path inside the run's scratch space (lake/_tmp/<source>/..., where members are
    extracted and lines set aside) replaced by the landed file's name: a reader knows the file, not our temp files."""
    scratch = re.escape(str(work_root(landed.paths, landed.spec.source)))
    return re.sub(scratch + r"[^\s'\"]*", landed.relative_path, message)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def _lake_relative(paths: Paths, path: Path) -> str:
    return path.relative_to(paths.lake).as_posix()


def read_lake_column(paths: Paths, source: str, entity: str, columns: str, order_by: str | None = None) -> list[Any]:
    """Rows of ``columns`` (SQL select list) in the promoted and pending Parquet of (source, entity); one value per
    row when ``columns`` names one column, else tuples."""
    files = [
        str(f)
        for folder in (lake_dir(paths, source, entity), pending_dir(paths, source, entity))
        for f in sorted(folder.glob("*.parquet"))
        if f.name != "_schema.parquet" and not f.name.startswith(".")
    ]
    if not files:
        return []
    listed = ", ".join(sql_string(f) for f in files)
    order = f" ORDER BY {order_by}" if order_by else ""
    con = connect_duckdb()
    try:
        rows = con.execute(f"SELECT {columns} FROM read_parquet([{listed}]){order}").fetchall()
    finally:
        con.close()
    return [row[0] for row in rows] if len(rows) and len(rows[0]) == 1 else rows


def sniff_text(paths: Paths, source: str, path: Path, size: int = 4096) -> str:
    """The start of a landed file as text, for load ordering only ('' for a path the loop will refuse: it is never
    opened). Detection proper happens when the file is loaded; a wrong sniff only changes the order."""
    try:
        checked = check_landed_file(paths, source, path)
    except LandingPathError:
        return ""
    with open(checked, "rb") as handle:
        return handle.read(size).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def _is_loaded(spec: SourceSpec, paths: Paths, record: dict[str, Any] | None) -> bool:
    """Loaded, and every file it wrote is still there (promoted or pending); a catalog writes no lake file."""
    if not record or record.get("status") != LOADED:
        return False
    for relative in record.get("lake_files") or ([record["lake_file"]] if record.get("lake_file") else []):
        promoted = paths.lake / relative
        if not (promoted.exists() or pending_file(paths, spec.source, promoted.parent.name, record["sha256"]).exists()):
            return False
    return not record.get("quarantine_file") or (paths.lake / record["quarantine_file"]).exists()


def _failed_record(spec: SourceSpec, record: dict[str, Any], error: str) -> dict[str, Any]:
    record = record | {
        "status": FAILED,
        "error": error,
        "format": None,
        "rows_in": None,
        "rows_loaded": None,
        "rows_rejected": None,
        "rows_skipped": None,
        "incomplete": None,
        "notes": [],
        "unknown_columns": None,
        "missing_columns": None,
        "lake_file": None,
        "quarantine_file": None,
        "finished_at": _iso(_utc_now()),
    }
    if spec.lists_entity_files:
        record |= {"lake_files": [], "entity_rows": None, "details": None}
    return record


def _loaded_record(spec: SourceSpec, paths: Paths, record: dict[str, Any], landed: LandedFile, out: FileOutputs):
    # Where the files are promoted to once the raw gate passes (they are written to the pending area first).
    promoted = {entity: lake_file(paths, spec.source, entity, landed.sha256) for entity in out.entity_rows}
    main = promoted.get(out.main_entity) if out.main_entity else None
    record = record | {
        "status": LOADED,
        "error": None,
        "format": out.format,
        "rows_in": out.rows_in,
        "rows_loaded": out.rows_loaded,
        "rows_rejected": out.rows_rejected,
        "rows_skipped": out.rows_skipped,
        "incomplete": out.incomplete,
        "notes": out.notes,
        "unknown_columns": list(out.unknown_columns),
        "missing_columns": list(out.missing_columns),
        "lake_file": _lake_relative(paths, main) if main else None,
        "quarantine_file": _lake_relative(paths, landed.quarantine_file) if out.quarantine_rows else None,
        "finished_at": _iso(_utc_now()),
    }
    if spec.lists_entity_files:
        record |= {
            "lake_files": [_lake_relative(paths, p) for p in promoted.values()],
            "entity_rows": dict(out.entity_rows),
            "details": out.details,
        }
    return record


def _ingest_one(spec: SourceSpec, paths: Paths, run: SourceRun, path: Path) -> FileResult:
    clock = time.perf_counter()
    started = _utc_now()
    source = spec.source
    try:
        absolute = check_landed_file(paths, source, path)
    except LandingPathError as exc:
        return FileResult(source, path=Path(path), sha256=None, status=FAILED, error=str(exc))
    relative = relative_to_landing(paths, absolute)
    # Reading the landed bytes and the manifest are retried on a transient error (a busy or flaky filesystem); a
    # parser's own error is a data error and is never retried (IngestFileError below).
    sha256 = retry_transient(lambda: file_sha256(absolute), what=f"reading {relative}")
    previous = retry_transient(
        lambda: read_manifest_record(paths, source, sha256), what=f"manifest record of {relative}"
    )

    def result(status: str, **fields: Any) -> FileResult:
        return FileResult(
            source,
            path=absolute,
            sha256=sha256,
            status=status,
            relative_path=relative,
            seconds=time.perf_counter() - clock,
            **fields,
        )

    if previous is not None and previous.get("status") == DISCARDED:
        return result(DISCARDED, format=previous.get("format"), error=previous.get("error"))
    if _is_loaded(spec, paths, previous):
        assert previous is not None
        if relative not in {previous["path"], *(previous.get("aliases") or [])}:
            write_manifest_record(paths, previous | {"aliases": [*(previous.get("aliases") or []), relative]})
        status = ALREADY_LOADED if relative == previous["path"] else SKIPPED_DUPLICATE
        return result(
            status,
            format=previous.get("format"),
            lake_file=paths.lake / previous["lake_file"] if previous.get("lake_file") else None,
            error=None if status == ALREADY_LOADED else f"same bytes as {previous['path']} (loaded once)",
        )

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
    landed = LandedFile(spec, paths, absolute, relative, sha256, started)
    try:
        out = run.load(landed)
        out.check_counts(relative)
    except IngestFileError as exc:
        # A load that failed after writing some outputs leaves none of them pending: the file is not loaded.
        for entity in spec.entities:
            landed.pending_file(entity).unlink(missing_ok=True)
        message = public_message(str(exc), landed)
        failed = _failed_record(spec, record, message)
        unchanged = previous is not None and all(previous.get(key) == failed.get(key) for key in _FAILURE_IDENTITY)
        if not unchanged:  # the same failure again rewrites nothing
            retry_transient(lambda: write_manifest_record(paths, failed), what=f"manifest record of {relative}")
        return result(FAILED, error=message)
    finally:
        shutil.rmtree(landed.work_dir, ignore_errors=True)
    loaded = _loaded_record(spec, paths, record, landed, out)
    retry_transient(lambda: write_manifest_record(paths, loaded), what=f"manifest record of {relative}")
    written = {entity: landed.pending_file(entity) for entity in out.entity_rows}
    return result(
        LOADED,
        format=out.format,
        rows_in=out.rows_in,
        rows_loaded=out.rows_loaded,
        rows_rejected=out.rows_rejected,
        rows_skipped=out.rows_skipped,
        lake_file=written.get(out.main_entity) if out.main_entity else None,
        lake_files=list(written.values()),
        entity_rows=dict(out.entity_rows) if spec.lists_entity_files else {},
        quarantine_file=landed.quarantine_file if out.quarantine_rows else None,
        incomplete=out.incomplete,
        notes=list(out.notes),
        unknown_columns=list(out.unknown_columns),
        missing_columns=list(out.missing_columns),
    )


def prepare_lake(spec: SourceSpec, paths: Paths) -> None:
    """Under the lock: remove what a killed run left behind and make sure every dbt source glob matches."""
    con = connect_duckdb()
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
    shutil.rmtree(work_root(paths, spec.source), ignore_errors=True)


def ingest_files(
    spec: SourceSpec,
    paths: Paths,
    start_run: Callable[[], SourceRun],
    *,
    files: list[Path] | None,
    log: Callable[[str], None] | None,
) -> IngestReport:
    """Load new files of ``spec.source``; one result per file, never raising for one bad file.

    ``files=None`` scans landing/<source>/; given files must be regular files inside it. ``start_run`` is called
    under the lock, after the lake is prepared. ``log`` receives one line per file.
    """
    report = IngestReport(source=spec.source)
    with ingest_lock(paths, spec.source):
        prepare_lake(spec, paths)
        run = start_run()
        try:
            candidates = list_landed_files(paths, spec.source) if files is None else [Path(f) for f in files]
            ordered = sorted(enumerate(candidates), key=lambda item: (run.load_order(item[1]), item[0]))
            for _, path in ordered:
                result = _ingest_one(spec, paths, run, path)
                report.results.append(result)
                if log is not None:
                    log(result.describe())
        finally:
            run.close()
    return report
