"""Ingest analytics exports: landing/analytics/** -> lake/analytics/events/<sha256>.parquet (+ quarantine,
manifest). Pure Python + DuckDB; the Dagster asset and sensor call ``ingest_analytics`` / the common helpers.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from core.config import PipelineConfig
from core.settings import Paths
from ingest.analytics import contract
from ingest.analytics.csv_format import (
    CSV_NUMBER_SQL,
    CSV_REJECTS_INSERT_SQL,
    check_header,
    csv_insert_sql,
    csv_load_raw_sql,
    parquet_load_raw_sql,
)
from ingest.analytics.detect import AMPLITUDE, CSV, EMPTY, MIXPANEL, Detected, detect_format, detect_member
from ingest.analytics.errors import AnalyticsFileError, CorruptFileError, UnknownFormatError
from ingest.analytics.sanitise import sanitise_lines
from ingest.analytics.sql import (
    TRAILER_REASON,
    WORK_TABLE_DDL,
    amplitude_rows_sql,
    mixpanel_rows_sql,
    read_lines_sql,
    sidecar_rejects_insert_sql,
    unit_rows_sql,
)
from ingest.common.archive import ArchiveError, ArchiveLimits, iter_extracted_members
from ingest.common.atomic import remove_stale_temp_files
from ingest.common.hashing import file_sha256
from ingest.common.lake import DISCARDED, lake_dir, lake_file, pending_dir, pending_file
from ingest.common.landing import LandingPathError, check_landed_file, list_landed_files, relative_to_landing
from ingest.common.locking import ingest_lock
from ingest.common.manifest import manifest_source_dir, read_manifest_record, write_manifest_record
from ingest.common.parquet import copy_query_to_parquet, ensure_schema_file, sql_string
from ingest.common.quarantine import quarantine_path, write_quarantine

PARSER_VERSION = "analytics-1"
SOURCE = contract.SOURCE

LOADED = "loaded"
SKIPPED_DUPLICATE = "skipped_duplicate"
ALREADY_LOADED = "already_loaded"
FAILED = "failed"


@dataclass
class FileResult:
    """The outcome for one landed file. Row counts are this run's (0 when nothing was parsed)."""

    path: Path
    sha256: str | None
    status: str  # loaded | skipped_duplicate | already_loaded | failed
    relative_path: str | None = None
    format: str | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0  # always 0 here: every analytics row is loaded or rejected
    error: str | None = None
    lake_file: Path | None = None
    quarantine_file: Path | None = None
    incomplete: bool = False
    seconds: float = 0.0

    def describe(self) -> str:
        line = f"analytics: {self.status} {self.relative_path or self.path}"
        if self.format:
            line += f" [{self.format}]"
        if self.status == LOADED:
            line += f" rows_in={self.rows_in} loaded={self.rows_loaded} rejected={self.rows_rejected}"
        if self.incomplete:
            line += " (vendor marked the export incomplete)"
        if self.error:
            line += f": {self.error}"
        return line + f" ({self.seconds:.2f}s)"


@dataclass
class IngestReport:
    source: str
    results: list[FileResult] = field(default_factory=list)

    @property
    def new_lake_files(self) -> list[Path]:
        """Lake Parquet files written by this run (one per newly loaded file)."""
        return [r.lake_file for r in self.results if r.status == LOADED and r.lake_file is not None]

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == FAILED]

    @property
    def totals(self) -> dict[str, int]:
        """File counts per status, and row counts over the files loaded by this run."""
        loaded = [r for r in self.results if r.status == LOADED]
        totals = {"files": len(self.results)}
        for status in (LOADED, SKIPPED_DUPLICATE, ALREADY_LOADED, FAILED):
            totals[status] = sum(1 for r in self.results if r.status == status)
        for name in ("rows_in", "rows_loaded", "rows_rejected", "rows_skipped"):
            totals[name] = sum(getattr(r, name) for r in loaded)
        return totals


@dataclass
class _Parsed:
    format: str
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    lake_file: Path
    quarantine_file: Path | None
    incomplete: bool
    notes: list[str]


def lake_events_dir(paths: Paths) -> Path:
    return lake_dir(paths, contract.SOURCE, contract.ENTITY)


def lake_file_path(paths: Paths, sha256: str) -> Path:
    """Where the file's Parquet lives once its raw gate passed (recorded in the manifest)."""
    return lake_file(paths, contract.SOURCE, contract.ENTITY, sha256)


def pending_file_path(paths: Paths, sha256: str) -> Path:
    """Where ingest writes it: dbt does not read here; the raw gate validates it, then it is promoted."""
    return pending_file(paths, contract.SOURCE, contract.ENTITY, sha256)


def _work_root(paths: Paths) -> Path:
    return paths.lake / "_tmp" / SOURCE


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def _duckdb_message(exc: BaseException, temp_path: Path, label: str) -> str:
    """DuckDB's first message line, with our temp path replaced by the name the user knows."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first.replace(str(temp_path), label)


# Work parts are read back once, right away: a light codec keeps writing them cheap.
_PART_COMPRESSION = "uncompressed"


class _FileLoader:
    """Parses one landed file, then writes the outputs. Each JSON-lines unit (a file or a ZIP member) is streamed
    by one COPY into its own Parquet part (memory stays a few read buffers per worker, whatever the size);
    CSV/Parquet files and lines set aside by the Python sanitiser go to the ``rows_`` table of a private
    in-memory DuckDB. The lake file is the loadable rows of the parts in unit order (or of ``rows_``)."""

    def __init__(
        self,
        paths: Paths,
        config: PipelineConfig,
        limits: ArchiveLimits,
        source_path: Path,
        relative_path: str,
        sha256: str,
        ingested_at: datetime,
    ):
        self.paths = paths
        self.config = config
        self.limits = limits
        self.source_path = source_path
        self.relative_path = relative_path
        self.sha256 = sha256
        self.ingested_at = ingested_at
        self.work_dir = _work_root(paths) / sha256
        self.workers = max(1, min(2, os.cpu_count() or 1))
        self.parts: dict[int, Path] = {}  # unit_index -> its Parquet part (written by the worker threads)

    def run(self) -> _Parsed:
        shutil.rmtree(self.work_dir, ignore_errors=True)
        (self.work_dir / "spill").mkdir(parents=True)
        con = duckdb.connect()
        try:
            con.execute(f"SET temp_directory = {sql_string(str(self.work_dir / 'spill'))}")
            con.execute("SET preserve_insertion_order = true")  # line numbering relies on scan order
            con.execute(WORK_TABLE_DDL)
            detected = detect_format(self.source_path, self.relative_path)
            if detected.container == "zip":
                self._load_zip(con)
            elif detected.vendor in (AMPLITUDE, MIXPANEL):
                self._load_json_unit(con, self.source_path, detected, 0, None, self.relative_path)
            elif detected.vendor == CSV:
                self._load_csv(con, detected)
            else:  # pragma: no cover - detect_format only returns the vendors above
                raise UnknownFormatError(f"unknown format: {self.relative_path}: {detected.label}")
            return self._write_outputs(con, detected)
        finally:
            con.close()
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # -- JSON lines (Amplitude, Mixpanel) -------------------------------------------------------------------

    def _rows_sql(self, vendor: str, lines_sql: str, unit_index: int, member: str | None) -> str:
        if vendor == AMPLITUDE:
            select = amplitude_rows_sql(lines_sql, unit_index, member)
        else:
            select = mixpanel_rows_sql(lines_sql, unit_index, member, self.config.analytics.mixpanel_project_timezone)
        return unit_rows_sql(select)

    def _copy_unit(self, con: duckdb.DuckDBPyConnection, rows_sql: str, unit_index: int) -> None:
        part = self.work_dir / f"part-{unit_index}.parquet"
        part.unlink(missing_ok=True)
        con.execute(f"COPY ({rows_sql}) TO {sql_string(str(part))} (FORMAT parquet, COMPRESSION {_PART_COMPRESSION})")
        self.parts[unit_index] = part

    def _load_json_unit(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        detected: Detected,
        unit_index: int,
        member: str | None,
        label: str,
    ) -> None:
        try:
            self._copy_unit(
                con,
                self._rows_sql(detected.vendor, read_lines_sql(str(path), detected.compression), unit_index, member),
                unit_index,
            )
            return
        except duckdb.IOException as exc:  # a damaged gzip stream
            raise CorruptFileError(
                f"corrupt {detected.container} data in {label}: {_duckdb_message(exc, path, label)}"
            ) from exc
        except (duckdb.InvalidInputException, duckdb.NotImplementedException):
            pass  # one undecodable or over-long line refuses the whole read: set such lines aside, read again
        clean = self.work_dir / f"clean-{unit_index}.jsonl"
        sidecar = self.work_dir / f"rejects-{unit_index}.jsonl"
        try:
            sanitise_lines(path, detected.container == "gzip", clean, sidecar, label)
            self._copy_unit(
                con, self._rows_sql(detected.vendor, read_lines_sql(str(clean), "none"), unit_index, member), unit_index
            )
            con.execute(sidecar_rejects_insert_sql(str(sidecar), unit_index, member, detected.vendor))
        except duckdb.Error as exc:
            raise AnalyticsFileError(f"cannot read {label}: {_duckdb_message(exc, clean, label)}") from exc
        finally:
            clean.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)

    def _load_member(
        self, con: duckdb.DuckDBPyConnection, path: Path, detected: Detected, unit_index: int, member: str, label: str
    ) -> None:
        cursor = con.cursor()  # one connection per thread; all share the in-memory database
        try:
            self._load_json_unit(cursor, path, detected, unit_index, member, label)
        finally:
            cursor.close()
            path.unlink(missing_ok=True)

    def _load_zip(self, con: duckdb.DuckDBPyConnection) -> None:
        """Members are extracted one at a time; up to ``workers`` are parsed concurrently (gzip is one stream
        per core), so extraction of the next overlaps parsing and disk use stays a few members."""
        in_flight: deque[Future[None]] = deque()
        with ThreadPoolExecutor(self.workers) as pool:
            try:
                members = iter_extracted_members(self.source_path, self.relative_path, self.work_dir, self.limits)
                for index, info, member_path in members:
                    label = f"{self.relative_path} member {info.filename!r}"
                    member_detected = detect_member(member_path, label)
                    if member_detected.vendor == EMPTY:
                        member_path.unlink(missing_ok=True)
                        continue
                    if member_detected.vendor != AMPLITUDE:
                        raise UnknownFormatError(
                            f"unknown format: {label}: {member_detected.label} data inside a ZIP (only Amplitude "
                            "export ZIPs are supported)"
                        )
                    in_flight.append(
                        pool.submit(self._load_member, con, member_path, member_detected, index, info.filename, label)
                    )
                    while len(in_flight) >= self.workers:
                        in_flight.popleft().result()
                while in_flight:
                    in_flight.popleft().result()
            except BaseException:
                for future in in_flight:
                    future.cancel()
                raise

    # -- CSV / Parquet (Segment tracks) ---------------------------------------------------------------------

    def _load_csv(self, con: duckdb.DuckDBPyConnection, detected: Detected) -> None:
        label = self.relative_path
        try:
            if detected.container == "parquet":
                header = tuple(
                    row[0]
                    for row in con.execute(
                        f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(self.source_path))})"
                    ).fetchall()
                )
                columns = check_header(header, label)
                con.execute(parquet_load_raw_sql(str(self.source_path), columns))
            else:
                columns = check_header(detected.csv_header or (), label)
                con.execute(csv_load_raw_sql(str(self.source_path), columns, detected.compression))
                con.execute(CSV_NUMBER_SQL)
                con.execute(CSV_REJECTS_INSERT_SQL)
            con.execute(csv_insert_sql(columns))
        except duckdb.IOException as exc:
            raise CorruptFileError(
                f"corrupt {detected.container} data in {label}: {_duckdb_message(exc, self.source_path, label)}"
            ) from exc
        except duckdb.Error as exc:
            raise AnalyticsFileError(f"cannot read {label}: {_duckdb_message(exc, self.source_path, label)}") from exc

    # -- outputs -----------------------------------------------------------------------------------------------

    def _write_outputs(self, con: duckdb.DuckDBPyConnection, detected: Detected) -> _Parsed:
        parts = [self.parts[index] for index in sorted(self.parts)]
        if parts:
            # read_parquet keeps the list order and each part's row order (insertion order is preserved), so the
            # lake file comes out in (unit_index, _line_number) order without a sort. A file is either JSON lines
            # (parts, plus sidecar rejects in rows_) or CSV/Parquet (rows_ only).
            parts_sql = "read_parquet([" + ", ".join(sql_string(str(part)) for part in parts) + "])"
            all_rows = f"(SELECT * FROM {parts_sql} UNION ALL BY NAME SELECT * FROM rows_)"
            loadable = f"SELECT * FROM {parts_sql} WHERE reason IS NULL"
        else:
            all_rows = "rows_"
            loadable = "SELECT * FROM rows_ WHERE reason IS NULL ORDER BY unit_index, _line_number"
        rows_in, rows_loaded, rows_rejected, trailers = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL), "
            f"count(*) FILTER (WHERE reason = {sql_string(TRAILER_REASON)}) FROM (SELECT reason FROM {all_rows})"
        ).fetchone()
        lineage = {
            "_source_file": sql_string(self.relative_path),
            "_file_sha256": sql_string(self.sha256),
            "_ingested_at": f"TIMESTAMP {sql_string(self.ingested_at.isoformat(sep=' '))}",
        }
        events_cols = ", ".join(
            f"CAST({lineage.get(name, name)} AS {sql_type}) AS {name}" for name, sql_type in contract.EVENT_COLUMNS
        )
        lake_file = pending_file_path(self.paths, self.sha256)
        written = copy_query_to_parquet(
            con,
            f"SELECT {events_cols} FROM ({loadable})",
            lake_file,
        )
        if written != rows_loaded:
            raise AnalyticsFileError(
                f"{self.relative_path}: wrote {written} rows to {lake_file}, expected {rows_loaded}"
            )
        quarantine_file = None
        if rows_rejected:
            rejected_cols = ", ".join(f"{lineage.get(name, name)} AS {name}" for name, _ in contract.QUARANTINE_COLUMNS)
            quarantine_file = write_quarantine(
                con,
                f"SELECT {rejected_cols} FROM {all_rows} WHERE reason IS NOT NULL ORDER BY unit_index, _line_number",
                contract.QUARANTINE_COLUMNS,
                self.paths,
                SOURCE,
                self.sha256,
            )
        else:  # a clean reload must not leave an older run's quarantine behind
            quarantine_path(self.paths, SOURCE, self.sha256).unlink(missing_ok=True)
        notes = []
        if trailers:
            notes.append(f"{TRAILER_REASON}: the vendor cut this export short; {trailers} trailer line(s) not loaded")
        return _Parsed(
            detected.label, rows_in, rows_loaded, rows_rejected, lake_file, quarantine_file, bool(trailers), notes
        )


def _lake_relative(paths: Paths, path: Path | None) -> str | None:
    return path.relative_to(paths.lake).as_posix() if path is not None else None


def _is_loaded(paths: Paths, record: dict[str, Any] | None) -> bool:
    if not record or record.get("status") != LOADED or not record.get("lake_file"):
        return False
    sha256 = record["sha256"]
    if not (lake_file_path(paths, sha256).exists() or pending_file_path(paths, sha256).exists()):
        return False
    return not record.get("quarantine_file") or (paths.lake / record["quarantine_file"]).exists()


def _ingest_one(paths: Paths, config: PipelineConfig, limits: ArchiveLimits, path: Path) -> FileResult:
    clock = time.perf_counter()
    started = _utc_now()
    try:
        absolute = check_landed_file(paths, SOURCE, path)
    except LandingPathError as exc:
        return FileResult(path=Path(path), sha256=None, status=FAILED, error=str(exc))
    relative = relative_to_landing(paths, absolute)
    sha256 = file_sha256(absolute)
    size = absolute.stat().st_size
    previous = read_manifest_record(paths, SOURCE, sha256)

    if previous is not None and previous.get("status") == DISCARDED:
        return FileResult(
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
        "bytes": size,
        "started_at": _iso(started),
        "parser_version": PARSER_VERSION,
    }
    if previous:  # an earlier failure (or a load whose files went missing): keep where the bytes were seen
        record["path"] = previous["path"]
        record["aliases"] = [*(previous.get("aliases") or []), *([relative] if relative != previous["path"] else [])]
    try:
        parsed = _FileLoader(paths, config, limits, absolute, relative, sha256, started).run()
    except (AnalyticsFileError, ArchiveError) as exc:
        error = str(exc)
        failed_format = getattr(exc, "format", None)
        record |= {
            "status": FAILED,
            "error": error,
            "format": failed_format,
            "rows_in": None,
            "rows_loaded": None,
            "rows_rejected": None,
            "incomplete": None,
            "notes": [],
            "lake_file": None,
            "quarantine_file": None,
            "finished_at": _iso(_utc_now()),
        }
        unchanged = previous is not None and all(
            previous.get(key) == record.get(key) for key in ("status", "error", "parser_version", "path", "aliases")
        )
        if not unchanged:  # the same failure again rewrites nothing
            write_manifest_record(paths, record)
        return FileResult(
            path=absolute,
            sha256=sha256,
            status=FAILED,
            relative_path=relative,
            error=error,
            seconds=time.perf_counter() - clock,
        )
    record |= {
        "status": LOADED,
        "error": None,
        "format": parsed.format,
        "rows_in": parsed.rows_in,
        "rows_loaded": parsed.rows_loaded,
        "rows_rejected": parsed.rows_rejected,
        "incomplete": parsed.incomplete,
        "notes": parsed.notes,
        # The lake path it is promoted to once its raw gate passes (it is written to the pending area first).
        "lake_file": _lake_relative(paths, lake_file_path(paths, sha256)),
        "quarantine_file": _lake_relative(paths, parsed.quarantine_file),
        "finished_at": _iso(_utc_now()),
    }
    write_manifest_record(paths, record)
    return FileResult(
        path=absolute,
        sha256=sha256,
        status=LOADED,
        relative_path=relative,
        format=parsed.format,
        rows_in=parsed.rows_in,
        rows_loaded=parsed.rows_loaded,
        rows_rejected=parsed.rows_rejected,
        lake_file=parsed.lake_file,
        quarantine_file=parsed.quarantine_file,
        incomplete=parsed.incomplete,
        seconds=time.perf_counter() - clock,
    )


def _prepare_lake(paths: Paths) -> None:
    """Under the lock: remove what a killed run left behind and make sure the dbt source glob matches."""
    events_dir = lake_events_dir(paths)
    pending = pending_dir(paths, contract.SOURCE, contract.ENTITY)
    for directory in (events_dir, pending, paths.quarantine_dir / SOURCE, manifest_source_dir(paths, SOURCE)):
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(directory)
    shutil.rmtree(_work_root(paths), ignore_errors=True)
    con = duckdb.connect()
    try:
        ensure_schema_file(con, contract.EVENT_COLUMNS, events_dir / "_schema.parquet")
    finally:
        con.close()


def ingest_analytics(
    paths: Paths,
    config: PipelineConfig,
    *,
    files: list[Path] | None = None,
    log: Callable[[str], None] | None = None,
    archive_limits: ArchiveLimits | None = None,
) -> IngestReport:
    """Load new analytics exports into the lake; one result per file, never raising for one bad file.

    ``files=None`` scans landing/analytics/; given files must be regular files inside it. ``log`` receives one
    line per file. Same bytes load once (other paths are recorded as aliases); nothing new means nothing written.
    """
    limits = archive_limits or ArchiveLimits()
    report = IngestReport(source=SOURCE)
    with ingest_lock(paths, SOURCE):
        _prepare_lake(paths)
        candidates = list_landed_files(paths, SOURCE) if files is None else [Path(f) for f in files]
        for path in candidates:
            result = _ingest_one(paths, config, limits, path)
            report.results.append(result)
            if log is not None:
                log(result.describe())
    return report
