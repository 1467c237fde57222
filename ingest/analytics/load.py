"""Ingest analytics exports: landing/analytics/** -> lake/_pending/analytics/events/<sha256>.parquet (+ quarantine,
manifest), on the shared loop of ingest/common/loop.py. Pure Python + DuckDB; the Dagster asset and sensor call
``ingest_analytics``.

Analytics is the bulk source: DuckDB reads each export (read_json / read_csv) straight into Parquet parts and
counts and writes the outputs in SQL, never through Python row dicts. The loop keeps the manifest, idempotency,
locking and failure handling; this module only loads one file.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb

from core.config import PipelineConfig
from core.settings import Paths
from ingest.analytics import contract
from ingest.analytics.csv_format import (
    CSV_NUMBER_SQL,
    CSV_REJECTS_INSERT_SQL,
    CsvColumns,
    check_header,
    csv_insert_sql,
    csv_load_raw_sql,
    parquet_load_raw_sql,
)
from ingest.analytics.detect import AMPLITUDE, CSV, EMPTY, MIXPANEL, Detected, detect_format, detect_member
from ingest.analytics.errors import AnalyticsFileError, CorruptFileError, UnknownFormatError
from ingest.analytics.sanitise import count_lines, sanitise_lines
from ingest.analytics.sql import (
    TRAILER_REASON,
    WORK_TABLE_DDL,
    amplitude_rows_sql,
    mixpanel_rows_sql,
    read_lines_sql,
    sidecar_rejects_insert_sql,
    unit_rows_sql,
)
from ingest.common.archive import ArchiveLimits, iter_extracted_members
from ingest.common.loop import FileOutputs, LandedFile, SourceSpec, ingest_files
from ingest.common.parquet import copy_query_to_parquet, sql_string
from ingest.common.quarantine import write_quarantine
from ingest.common.report import IngestReport

PARSER_VERSION = "analytics-1"
SOURCE = contract.SOURCE
ANALYTICS = SourceSpec(
    SOURCE,
    PARSER_VERSION,
    {contract.ENTITY: contract.EVENT_COLUMNS},
    contract.QUARANTINE_COLUMNS,
    lists_entity_files=False,
)


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

    def __init__(self, config: PipelineConfig, limits: ArchiveLimits, landed: LandedFile):
        self.config = config
        self.limits = limits
        self.landed = landed
        self.source_path = landed.path
        self.relative_path = landed.relative_path
        self.work_dir = landed.work_dir  # removed by the loop once the file is done
        self.workers = max(1, min(2, os.cpu_count() or 1))
        self.parts: dict[int, Path] = {}  # unit_index -> its Parquet part (written by the worker threads)
        self.lines: dict[int, int] = {}  # unit_index -> physical lines of a JSON-lines unit (each a part row)
        self.set_aside: dict[int, int] = {}  # unit_index -> lines the Python reader set aside (blank in the part)
        self.columns: CsvColumns | None = None  # a CSV/Parquet file's header, mapped

    def run(self) -> FileOutputs:
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

    # -- JSON lines (Amplitude, Mixpanel) -------------------------------------------------------------------

    def _rows_sql(self, vendor: str, lines_sql: str, unit_index: int, member: str | None) -> str:
        if vendor == AMPLITUDE:
            select = amplitude_rows_sql(lines_sql, unit_index, member)
        else:
            select = mixpanel_rows_sql(lines_sql, unit_index, member, self.config.analytics.mixpanel_project_timezone)
        return unit_rows_sql(select)

    def _copy_unit(self, con: duckdb.DuckDBPyConnection, rows_sql: str, unit_index: int) -> int:
        """Stream one unit's rows into its part; returns the rows written (COPY counts them)."""
        part = self.work_dir / f"part-{unit_index}.parquet"
        part.unlink(missing_ok=True)
        (written,) = con.execute(
            f"COPY ({rows_sql}) TO {sql_string(str(part))} (FORMAT parquet, COMPRESSION {_PART_COMPRESSION})"
        ).fetchone()
        self.parts[unit_index] = part
        return written

    def _load_json_unit(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        detected: Detected,
        unit_index: int,
        member: str | None,
        label: str,
    ) -> None:
        """One part row per physical line, checked: DuckDB reads the unit; if it refuses the read (one bad or
        over-long line stops it) or reads fewer lines than the unit has (it drops a last line longer than its read
        buffer without an error), the Python reader sets the bad lines aside and DuckDB reads the rest."""
        gzipped = detected.container == "gzip"
        physical = count_lines(path, gzipped, label)
        try:
            read = self._copy_unit(
                con,
                self._rows_sql(detected.vendor, read_lines_sql(str(path), detected.compression), unit_index, member),
                unit_index,
            )
            if read == physical:
                self.lines[unit_index] = physical
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
            unit = sanitise_lines(path, gzipped, clean, sidecar, label)
            read = self._copy_unit(
                con, self._rows_sql(detected.vendor, read_lines_sql(str(clean), "none"), unit_index, member), unit_index
            )
            if read != unit.lines:  # never a silently dropped line
                raise AnalyticsFileError(f"cannot read {label}: {read} of its {unit.lines} lines were read")
            con.execute(
                sidecar_rejects_insert_sql(str(sidecar), unit_index, member, detected.vendor, sidecar.stat().st_size)
            )
            self.lines[unit_index] = unit.lines
            self.set_aside[unit_index] = unit.set_aside
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
            self.columns = columns
        except duckdb.IOException as exc:
            raise CorruptFileError(
                f"corrupt {detected.container} data in {label}: {_duckdb_message(exc, self.source_path, label)}"
            ) from exc
        except duckdb.Error as exc:
            raise AnalyticsFileError(f"cannot read {label}: {_duckdb_message(exc, self.source_path, label)}") from exc

    # -- outputs -----------------------------------------------------------------------------------------------

    def _write_outputs(self, con: duckdb.DuckDBPyConnection, detected: Detected) -> FileOutputs:
        parts = [self.parts[index] for index in sorted(self.parts)]
        if parts:
            # read_parquet keeps the list order and each part's row order (insertion order is preserved), so the
            # lake file comes out in (unit_index, _line_number) order without a sort. A file is either JSON lines
            # (parts, plus sidecar rejects in rows_) or CSV/Parquet (rows_ only).
            parts_sql = "read_parquet([" + ", ".join(sql_string(str(part)) for part in parts) + "])"
            all_rows = f"(SELECT * FROM {parts_sql} UNION ALL BY NAME SELECT * FROM rows_)"
            loadable = f"SELECT * FROM {parts_sql} WHERE reason IS NULL AND _blank IS NOT TRUE"
        else:
            all_rows = "rows_"
            loadable = "SELECT * FROM rows_ WHERE reason IS NULL ORDER BY unit_index, _line_number"
        # Blank lines (and the lines set aside, blank in the clean copy) are part rows but not input rows.
        rows_in, rows_loaded, rows_rejected, trailers, blank_rows = con.execute(
            "SELECT count(*) FILTER (WHERE NOT blank), count(*) FILTER (WHERE reason IS NULL AND NOT blank), "
            "count(*) FILTER (WHERE reason IS NOT NULL), "
            f"count(*) FILTER (WHERE reason = {sql_string(TRAILER_REASON)}), count(*) FILTER (WHERE blank) "
            f"FROM (SELECT reason, coalesce(_blank, false) AS blank FROM {all_rows})"
        ).fetchone()
        lineage = self.landed.lineage_sql(None)  # analytics rows carry no _source_format
        events_cols = ", ".join(
            f"CAST({lineage.get(name, name)} AS {sql_type}) AS {name}" for name, sql_type in contract.EVENT_COLUMNS
        )
        lake_file = self.landed.pending_file(contract.ENTITY)
        written = copy_query_to_parquet(
            con,
            f"SELECT {events_cols} FROM ({loadable})",
            lake_file,
        )
        if written != rows_loaded:
            raise AnalyticsFileError(
                f"{self.relative_path}: wrote {written} rows to {lake_file}, expected {rows_loaded}"
            )
        if rows_rejected:
            rejected_cols = ", ".join(f"{lineage.get(name, name)} AS {name}" for name, _ in contract.QUARANTINE_COLUMNS)
            write_quarantine(
                con,
                f"SELECT {rejected_cols} FROM {all_rows} WHERE reason IS NOT NULL ORDER BY unit_index, _line_number",
                contract.QUARANTINE_COLUMNS,
                self.landed.paths,
                SOURCE,
                self.landed.sha256,
            )
        else:  # a clean reload must not leave an older run's quarantine behind
            self.landed.quarantine_file.unlink(missing_ok=True)
        unknown_keys, missing_keys = self._key_drift(con, all_rows) if parts else ([], [])
        notes = []
        if trailers:
            notes.append(f"{TRAILER_REASON}: the vendor cut this export short; {trailers} trailer line(s) not loaded")
        return FileOutputs(
            format=detected.label,
            main_entity=contract.ENTITY,
            rows_in=rows_in,
            rows_loaded=rows_loaded,
            rows_rejected=rows_rejected,
            entity_rows={contract.ENTITY: written},
            quarantine_rows=rows_rejected,
            incomplete=bool(trailers),
            notes=notes,
            lines_in=sum(self.lines.values()) if self.lines else None,
            blank_lines=blank_rows - sum(self.set_aside.values()),
            unknown_columns=list(self.columns.unknown) if self.columns else unknown_keys,
            missing_columns=list(self.columns.missing) if self.columns else missing_keys,
        )

    @staticmethod
    def _key_drift(con: duckdb.DuckDBPyConnection, all_rows: str) -> tuple[list[str], list[str]]:
        """JSON lines: the top-level keys outside the vendor's record seen on any checked line (sorted), and the
        optional keys read that no checked loaded line carries (see KEY_CHECK_LINES in ingest/analytics/sql.py)."""
        (unknown,) = con.execute(
            f"SELECT list_sort(list_distinct(flatten(list(unknown_keys)))) FROM {all_rows} "
            "WHERE unknown_keys IS NOT NULL"
        ).fetchone()
        checked = f"SELECT absent_keys FROM {all_rows} WHERE reason IS NULL AND absent_keys IS NOT NULL"
        (lines,) = con.execute(f"SELECT count(*) FROM ({checked})").fetchone()
        missing = con.execute(
            f"SELECT key FROM (SELECT unnest(absent_keys) AS key FROM ({checked})) GROUP BY key "
            "HAVING count(*) = $lines ORDER BY key",
            {"lines": lines},
        ).fetchall()
        return list(unknown or []), [key for (key,) in missing] if lines else []


class AnalyticsRun:
    """The ``SourceRun`` of analytics: every file is independent, loaded in listing order."""

    def __init__(self, config: PipelineConfig, limits: ArchiveLimits):
        self.config = config
        self.limits = limits

    def load_order(self, path: Path) -> int:
        return 0

    def load(self, landed: LandedFile) -> FileOutputs:
        return _FileLoader(self.config, self.limits, landed).run()

    def close(self) -> None:
        return None


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
    return ingest_files(ANALYTICS, paths, lambda: AnalyticsRun(config, limits), files=files, log=log)


__all__ = ["ingest_analytics"]
