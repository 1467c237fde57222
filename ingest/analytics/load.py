"""Ingest analytics exports: landing/analytics/** -> lake/_pending/analytics/events/<sha256>.parquet (+ quarantine,
manifest), on the shared loop of ingest/common/loop.py. Pure Python + DuckDB; the Dagster asset and sensor call
``ingest_analytics``.

Analytics is the bulk source: DuckDB reads each export (read_json / read_csv) straight into Parquet parts and
counts and writes the outputs in SQL, never through Python row dicts. The loop keeps the manifest, idempotency,
locking and failure handling; this module only loads one file.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb

from core.config import PipelineConfig
from core.duckdb_connection import connect_duckdb
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
from ingest.analytics.detect import AMPLITUDE, CSV, EMPTY, MIXPANEL, Detected, detect_format, detect_member_lines
from ingest.analytics.errors import AnalyticsFileError, CorruptFileError, UnknownFormatError
from ingest.analytics.sanitise import count_lines, sanitise_lines
from ingest.analytics.sql import (
    TRAILER_REASON,
    WORK_TABLE_DDL,
    MemberFile,
    amplitude_rows_sql,
    member_line_prefix,
    mixpanel_rows_sql,
    read_batch_lines_sql,
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


# A ZIP's members are read in batches of about this many lines: large enough that the per-statement cost vanishes
# (real Amplitude members are hourly shards of a few hundred lines), small enough that a batch file (its members'
# lines, decompressed) takes little disk and one batch can be parsed while the next is extracted.
_BATCH_LINES = 100_000
# DuckDB is handed the batch's per-member lists as SQL literals: keep them short.
_BATCH_MEMBERS = 2_000
_UTF8_BOM = b"\xef\xbb\xbf"


class _MemberBatch:
    """Extracted Amplitude members of one ZIP read by one DuckDB scan of one plain file, ``path``: their decompressed
    lines, each prefixed with its member's position in the batch (read_batch_lines_sql). The extracted members are
    kept until the batch is loaded: if DuckDB refuses it, they are loaded one by one."""

    def __init__(self, path: Path):
        self.path = path
        self.members: list[MemberFile] = []
        self.detected: list[Detected] = []
        self.lines = 0
        self._out = open(path, "wb")  # noqa: SIM115 - closed by close(), once the batch's last member is in
        self._prefix = b""
        self._at_line_start = True
        self._at_member_start = True

    @property
    def full(self) -> bool:
        return len(self.members) >= _BATCH_MEMBERS or self.lines >= _BATCH_LINES

    def start_member(self) -> None:
        self._prefix = member_line_prefix(len(self.members))
        self._at_line_start = self._at_member_start = True

    def write(self, chunk: bytes) -> None:
        """A decompressed chunk of the member being added: each line that starts in it gets the member's prefix."""
        if self._at_member_start:  # DuckDB skips a UTF-8 BOM at the start of a file: so does a member here
            chunk = chunk.removeprefix(_UTF8_BOM)
            self._at_member_start = False
            if not chunk:
                return
        if self._at_line_start:
            self._out.write(self._prefix)
        self._out.write(chunk[:-1].replace(b"\n", b"\n" + self._prefix) + chunk[-1:])
        self._at_line_start = chunk.endswith(b"\n")

    def add(self, member: MemberFile, detected: Detected) -> None:
        if not self._at_line_start:
            self._out.write(b"\n")  # the member's last line had no newline: the next member starts a line
        self.members.append(member)
        self.detected.append(detected)
        self.lines += member.lines

    def close(self) -> None:
        self._out.close()

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
        for member in self.members:
            Path(member.path).unlink(missing_ok=True)


class _FileLoader:
    """Parses one landed file, then writes the outputs. A JSON-lines file, or a batch of a ZIP's members, is streamed
    by one COPY into its own Parquet part (memory stays a few read buffers per thread, whatever the size);
    CSV/Parquet files and lines set aside by the Python sanitiser go to the ``rows_`` table of a private
    in-memory DuckDB. The lake file is the loadable rows of the parts in unit order (or of ``rows_``)."""

    def __init__(self, config: PipelineConfig, limits: ArchiveLimits, landed: LandedFile):
        self.config = config
        self.limits = limits
        self.landed = landed
        self.source_path = landed.path
        self.relative_path = landed.relative_path
        self.work_dir = landed.work_dir  # removed by the loop once the file is done
        self.parts: dict[int, Path] = {}  # unit_index -> its Parquet part (written by the worker threads)
        self.lines: dict[int, int] = {}  # unit_index -> physical lines of a JSON-lines unit (each a part row)
        self.set_aside: dict[int, int] = {}  # unit_index -> lines the Python reader set aside (blank in the part)
        self.columns: CsvColumns | None = None  # a CSV/Parquet file's header, mapped

    def run(self) -> FileOutputs:
        (self.work_dir / "spill").mkdir(parents=True)
        con = connect_duckdb()
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

    def _rows_sql(self, vendor: str, lines_sql: str) -> str:
        if vendor == AMPLITUDE:
            select = amplitude_rows_sql(lines_sql)
        else:
            select = mixpanel_rows_sql(lines_sql, self.config.analytics.mixpanel_project_timezone)
        return unit_rows_sql(select)

    def _copy_rows(self, con: duckdb.DuckDBPyConnection, rows_sql: str, part: Path) -> int:
        """Stream rows into a Parquet part; returns the rows written (COPY counts them)."""
        part.unlink(missing_ok=True)
        (written,) = con.execute(
            f"COPY ({rows_sql}) TO {sql_string(str(part))} (FORMAT parquet, COMPRESSION {_PART_COMPRESSION})"
        ).fetchone()
        return written

    def _copy_unit(self, con: duckdb.DuckDBPyConnection, rows_sql: str, unit_index: int) -> int:
        """Stream one unit's rows into its part; returns the rows written."""
        part = self.work_dir / f"part-{unit_index}.parquet"
        written = self._copy_rows(con, rows_sql, part)
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
        file_lines_before: int = 0,
    ) -> None:
        """One part row per physical line, checked: DuckDB reads the unit; if it refuses the read (one bad or
        over-long line stops it) or reads fewer lines than the unit has (it drops a last line longer than its read
        buffer without an error), the Python reader sets the bad lines aside and DuckDB reads the rest."""
        gzipped = detected.container == "gzip"
        physical = count_lines(path, gzipped, label)
        try:
            read = self._copy_unit(
                con,
                self._rows_sql(
                    detected.vendor,
                    read_lines_sql(str(path), detected.compression, unit_index, member, file_lines_before),
                ),
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
                con,
                self._rows_sql(
                    detected.vendor, read_lines_sql(str(clean), "none", unit_index, member, file_lines_before)
                ),
                unit_index,
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

    def _load_batch(self, con: duckdb.DuckDBPyConnection, batch: _MemberBatch) -> None:
        """One DuckDB scan of a batch of members into one part. If DuckDB refuses the scan or any member's rows differ
        from its physical lines, the batch is loaded member by member instead, each through the checked unit path
        (which sets bad lines aside and names the member in its error), so a batch behaves as its members would."""
        cursor = con.cursor()  # one connection per thread; all share the in-memory database
        part = self.work_dir / f"batch-{batch.members[0].unit_index}.parquet"
        try:
            batch.close()
            if self._copy_batch(cursor, batch, part):
                self.parts[batch.members[0].unit_index] = part
                for member in batch.members:
                    self.lines[member.unit_index] = member.lines
                return
            part.unlink(missing_ok=True)
            for member, member_detected in zip(batch.members, batch.detected, strict=True):
                label = f"{self.relative_path} member {member.member!r}"
                self._load_json_unit(
                    cursor,
                    Path(member.path),
                    member_detected,
                    member.unit_index,
                    member.member,
                    label,
                    member.file_lines_before,
                )
        finally:
            cursor.close()
            batch.remove()

    def _copy_batch(self, con: duckdb.DuckDBPyConnection, batch: _MemberBatch, part: Path) -> bool:
        """True if the batch's rows are in ``part`` with exactly each member's physical lines."""
        lines_sql = read_batch_lines_sql(str(batch.path), batch.members)
        try:
            written = self._copy_rows(con, self._rows_sql(AMPLITUDE, lines_sql), part)
            if written != batch.lines:
                return False
            read_per_unit = dict(
                con.execute(
                    f"SELECT unit_index, count(*) FROM read_parquet({sql_string(str(part))}) GROUP BY unit_index"
                ).fetchall()
            )
        except (duckdb.InvalidInputException, duckdb.NotImplementedException, duckdb.ConversionException):
            # A line DuckDB refuses, or one holding the delimiter or a carriage return (other columns or rows): the
            # member-by-member path sets such lines aside as it always did.
            return False
        return all(read_per_unit.get(member.unit_index, 0) == member.lines for member in batch.members)

    def _load_zip(self, con: duckdb.DuckDBPyConnection) -> None:
        """Members are extracted one at a time, recognised and counted while their lines are appended to the batch
        file (one decompression each); a batch of up to _BATCH_LINES lines is one DuckDB scan (no per-member
        statement, part or file). One batch is parsed while the next is extracted, so disk use stays about two
        batches."""
        in_flight: Future[None] | None = None
        batches = 0
        file_lines = 0  # physical lines of the members added so far

        def new_batch() -> _MemberBatch:
            nonlocal batches
            batches += 1
            return _MemberBatch(self.work_dir / f"batch-{batches}.lines")

        batch = new_batch()
        with ThreadPoolExecutor(1) as pool:
            try:
                members = iter_extracted_members(self.source_path, self.relative_path, self.work_dir, self.limits)
                for index, info, member_path in members:
                    label = f"{self.relative_path} member {info.filename!r}"
                    if batch.full:
                        if in_flight is not None:
                            in_flight.result()
                        in_flight, batch = pool.submit(self._load_batch, con, batch), new_batch()
                    batch.start_member()
                    try:
                        member_detected, physical = detect_member_lines(member_path, label, batch.write)
                    except AnalyticsFileError:
                        member_path.unlink(missing_ok=True)
                        raise
                    if member_detected.vendor == EMPTY:
                        member_path.unlink(missing_ok=True)
                        continue
                    if member_detected.vendor != AMPLITUDE:
                        member_path.unlink(missing_ok=True)
                        raise UnknownFormatError(
                            f"unknown format: {label}: {member_detected.label} data inside a ZIP (only Amplitude "
                            "export ZIPs are supported)"
                        )
                    batch.add(MemberFile(str(member_path), index, info.filename, physical, file_lines), member_detected)
                    file_lines += physical
                if in_flight is not None:
                    in_flight.result()
                    in_flight = None
                if batch.members:
                    self._load_batch(con, batch)
            except BaseException:
                if in_flight is not None:
                    in_flight.cancel()
                raise
            finally:
                batch.close()

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
        optional keys read that no checked loaded line carries (the lines checked: KEY_CHECK_FILE_LINES in
        ingest/analytics/sql.py)."""
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
