"""Ingest analytics exports: landing/analytics/** -> lake/_pending/analytics/events/<sha256>.parquet (+ quarantine,
manifest), on the shared loop of ingest/common/loop.py. Pure Python + DuckDB; the Dagster asset and sensor call
``ingest_analytics``.

Analytics is the bulk source: DuckDB reads each export (read_json / read_csv) straight into Parquet parts and
counts and writes the outputs in SQL, never through Python row dicts. The loop keeps the manifest, idempotency,
locking and failure handling; this module only loads one file.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

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
from ingest.analytics.detect import (
    AMPLITUDE,
    CSV,
    EMPTY,
    MAGIC_GZIP,
    MAGIC_PARQUET,
    MAGIC_ZIP,
    MIXPANEL,
    SNIFF_BYTES,
    Detected,
    detect_format,
    detect_member_lines,
    sniff_text,
)
from ingest.analytics.errors import AnalyticsFileError, CorruptFileError, UnknownFormatError
from ingest.analytics.sanitise import count_lines, sanitise_lines
from ingest.analytics.sql import (
    LINE_DELIMITER,
    MAX_LINE_BYTES,
    TRAILER_REASON,
    WORK_TABLE_DDL,
    amplitude_rows_sql,
    mixpanel_rows_sql,
    read_batch_lines_sql,
    read_lines_sql,
    sidecar_rejects_insert_sql,
    unit_rows_sql,
)
from ingest.common.archive import ArchiveLimits, iter_archive_members
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


# A ZIP's members are read in batches of up to this many lines or bytes: large enough that the per-statement cost
# vanishes (real Amplitude members are hourly shards of a few hundred lines), small enough that a batch held in memory
# (its members' lines, decompressed) stays small, and one batch can be parsed while the next is read.
_BATCH_LINES = 100_000
_BATCH_BYTES = 64 * 1024 * 1024
# DuckDB is handed the batch's member names as one SQL literal: keep it short.
_BATCH_MEMBERS = 2_000
# A member larger than this (in the ZIP, or decompressed) is extracted to disk and streamed by DuckDB on its own: a
# large member has no per-member cost to save, and memory stays bounded.
_MEMBER_IN_MEMORY_BYTES = 128 * 1024 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
# Bytes DuckDB's line reader does not read as one line of text (the sanitiser's reasons, sanitise.line_problem): a
# member holding one is read on its own through the checked unit path, which sets such lines aside.
_UNREADABLE_BYTES = (b"\x00", LINE_DELIMITER.encode(), b"\r")


@dataclass(frozen=True)
class _BatchMember:
    """A ZIP member of a batch: its unit index and name, physical lines, the physical lines of the ZIP's members before
    it, and its bytes as stored in the ZIP (to read it on its own if DuckDB refuses the batch)."""

    unit_index: int
    name: str
    lines: int
    file_lines_before: int
    data: bytes
    detected: Detected


class _MemberBatch:
    """Consecutive Amplitude members of one ZIP, decompressed in memory and read by one DuckDB scan of an Arrow table
    of their lines (no file, no per-member statement). Only members whose every line DuckDB's line reader would read
    as it is (see _readable_lines) join a batch, so splitting at newlines here gives exactly the lines and line
    numbers reading each member on its own gives."""

    def __init__(self) -> None:
        self.members: list[_BatchMember] = []
        self.texts: list[bytes] = []  # each member's lines back to back, without their newlines
        self.lengths: list[np.ndarray] = []  # each member's line lengths in bytes
        self.lines = 0
        self.size = 0

    @property
    def full(self) -> bool:
        return len(self.members) >= _BATCH_MEMBERS or self.lines >= _BATCH_LINES or self.size >= _BATCH_BYTES

    def add(self, member: _BatchMember, lines: _ReadableLines) -> None:
        self.members.append(member)
        self.texts.append(lines.text)
        self.lengths.append(lines.lengths)
        self.lines += member.lines
        self.size += len(lines.text)

    def arrow_lines(self) -> pa.Table:
        """One row per physical line: position (in ``members``), unit_index, line_number (in its member),
        file_line (in the landed file) and line (its text, without the newline)."""
        lengths = np.concatenate(self.lengths)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # an Arrow string array is one buffer of the strings back to back and their offsets
        lines = pa.LargeStringArray.from_buffers(
            len(lengths), pa.py_buffer(offsets), pa.py_buffer(b"".join(self.texts))
        )
        counts = np.array([len(member_lengths) for member_lengths in self.lengths], dtype=np.int64)
        line_number = np.arange(1, len(lengths) + 1, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        before = np.array([member.file_lines_before for member in self.members], dtype=np.int64)
        return pa.table(
            {
                "position": np.repeat(np.arange(len(counts), dtype=np.int32), counts),
                "unit_index": np.repeat(np.array([m.unit_index for m in self.members], dtype=np.int32), counts),
                "line_number": line_number,
                "file_line": line_number + np.repeat(before, counts),
                "line": lines,
            }
        )


def _decompressed(data: bytes) -> bytes | None:
    """A member's text: gzip (one or more concatenated streams) decompressed in memory, else the bytes as they are;
    None if the stream is damaged or expands beyond _MEMBER_IN_MEMORY_BYTES (the disk path reads it and names the
    problem as it always did)."""
    if not data.startswith(MAGIC_GZIP):
        return data
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            stream = zlib.decompressobj(wbits=31)  # gzip header and trailer (CRC-32, length) checked by zlib
            chunk = stream.decompress(rest, _MEMBER_IN_MEMORY_BYTES - size + 1)
            size += len(chunk)
            out.append(chunk)
            if size > _MEMBER_IN_MEMORY_BYTES or not stream.eof:
                return None
            rest = stream.unused_data
            if rest and not rest.startswith(MAGIC_GZIP):
                return None  # trailing garbage after a stream: gzip's own reader decides
    except zlib.error:
        return None
    return b"".join(out)


@dataclass(frozen=True)
class _ReadableLines:
    text: bytes  # a member's lines back to back, without their newlines
    lengths: np.ndarray  # the length in bytes of each physical line


def _readable_lines(text: bytes) -> _ReadableLines | None:
    """``text``'s lines (after a BOM, which DuckDB skips at the start of a file) if DuckDB's line reader reads each
    of them as it is, else None: not UTF-8, a NUL, delimiter or carriage return, or a line over MAX_LINE_BYTES."""
    text = text.removeprefix(_UTF8_BOM)
    if any(byte in text for byte in _UNREADABLE_BYTES):
        return None
    try:
        pa.Array.from_buffers(
            pa.large_string(), 1, [None, pa.py_buffer(np.array([0, len(text)], dtype=np.int64)), pa.py_buffer(text)]
        ).validate(full=True)  # UTF-8, vectorised (bytes.decode is ~20x slower)
    except pa.ArrowInvalid:
        return None
    if not text.endswith(b"\n"):
        text += b"\n"  # a last line without its newline is still a line
    newlines = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 10)
    lengths = np.diff(newlines, prepend=-1) - 1
    if len(lengths) and lengths.max() > MAX_LINE_BYTES:
        return None
    return _ReadableLines(text.replace(b"\n", b""), lengths)


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
        """One DuckDB scan of a batch of members into one part. If DuckDB refuses the scan, the batch is loaded member
        by member instead, each through the checked unit path (which sets bad lines aside and names the member in its
        error), so a batch behaves as its members would."""
        cursor = con.cursor()  # one connection per thread; all share the in-memory database
        part = self.work_dir / f"batch-{batch.members[0].unit_index}.parquet"
        try:
            if self._copy_batch(cursor, batch, part):
                self.parts[batch.members[0].unit_index] = part
                for member in batch.members:
                    self.lines[member.unit_index] = member.lines
                return
            part.unlink(missing_ok=True)
            for member in batch.members:
                path = self.work_dir / f"member-{member.unit_index}"
                path.write_bytes(member.data)
                self._load_member(con, member, path)
        finally:
            cursor.close()

    def _copy_batch(self, con: duckdb.DuckDBPyConnection, batch: _MemberBatch, part: Path) -> bool:
        """True if the batch's rows are in ``part``, one per physical line of its members."""
        con.register("batch_lines", batch.arrow_lines())
        try:
            lines_sql = read_batch_lines_sql("batch_lines", [member.name for member in batch.members])
            written = self._copy_rows(con, self._rows_sql(AMPLITUDE, lines_sql), part)
        except (duckdb.InvalidInputException, duckdb.NotImplementedException, duckdb.ConversionException):
            return False  # a JSON object DuckDB cannot parse: the unit path names the member
        finally:
            con.unregister("batch_lines")
        return written == batch.lines

    def _load_zip(self, con: duckdb.DuckDBPyConnection) -> None:
        """Members are read one at a time into memory, recognised and counted; consecutive readable members form a
        batch of up to _BATCH_LINES lines or _BATCH_BYTES, read by one DuckDB scan (no per-member statement, part or
        file). A member that is large, damaged or holds a line DuckDB's reader would not read as it is goes on its own
        through the unit path, in order. One batch (or unit) is parsed while the next is read: memory stays about two
        batches."""
        in_flight: Future[None] | None = None
        file_lines = 0  # physical lines of the members before the current one

        def submit(task: Callable[[], None]) -> None:
            nonlocal in_flight
            if in_flight is not None:
                in_flight.result()
            in_flight = pool.submit(task)

        def submit_batch(full: _MemberBatch) -> None:
            submit(lambda: self._load_batch(con, full))

        batch = _MemberBatch()
        with ThreadPoolExecutor(1) as pool:
            try:
                for index, info, archive, budget in iter_archive_members(
                    self.source_path, self.relative_path, self.limits
                ):
                    label = f"{self.relative_path} member {info.filename!r}"
                    data = budget.read(archive, info) if info.file_size <= _MEMBER_IN_MEMORY_BYTES else None
                    decompressed = _decompressed(data) if data is not None else None
                    readable = _readable_lines(decompressed) if decompressed is not None else None
                    if readable is None or data[:4] in (*MAGIC_ZIP, MAGIC_PARQUET):
                        # On its own, from disk, as before batches: the same errors (a nested archive is refused),
                        # reasons and line numbers.
                        if batch.members:
                            submit_batch(batch)
                            batch = _MemberBatch()
                        member_path = self.work_dir / f"member-{index}"
                        if data is None:
                            budget.extract(archive, info, member_path)
                        else:
                            member_path.write_bytes(data)
                        member_detected, physical = self._check_member(member_path, label)
                        if physical:
                            member = _BatchMember(index, info.filename, physical, file_lines, b"", member_detected)
                            submit(lambda m=member, p=member_path: self._load_member(con, m, p))
                        else:
                            member_path.unlink(missing_ok=True)
                        file_lines += physical
                        continue
                    container = "gzip" if data.startswith(MAGIC_GZIP) else "plain"
                    member_detected = sniff_text(decompressed[:SNIFF_BYTES], label, container)
                    self._check_vendor(member_detected, label)
                    if member_detected.vendor == EMPTY:
                        continue
                    physical = len(readable.lengths)
                    batch.add(_BatchMember(index, info.filename, physical, file_lines, data, member_detected), readable)
                    file_lines += physical
                    if batch.full:
                        submit_batch(batch)
                        batch = _MemberBatch()
                if batch.members:
                    submit_batch(batch)
                if in_flight is not None:
                    in_flight.result()
                    in_flight = None
            except BaseException:
                if in_flight is not None:
                    in_flight.cancel()
                raise

    @staticmethod
    def _check_vendor(detected: Detected, label: str) -> None:
        if detected.vendor not in (AMPLITUDE, EMPTY):
            raise UnknownFormatError(
                f"unknown format: {label}: {detected.label} data inside a ZIP (only Amplitude export ZIPs are "
                "supported)"
            )

    def _check_member(self, member_path: Path, label: str) -> tuple[Detected, int]:
        """An extracted member's format and physical lines (0 if it is empty); raises for any other format."""
        try:
            detected, physical = detect_member_lines(member_path, label)
            self._check_vendor(detected, label)
        except AnalyticsFileError:
            member_path.unlink(missing_ok=True)
            raise
        return detected, physical if detected.vendor != EMPTY else 0

    def _load_member(self, con: duckdb.DuckDBPyConnection, member: _BatchMember, path: Path) -> None:
        """One member through the checked unit path, from ``path`` (its bytes as stored in the ZIP, removed after)."""
        cursor = con.cursor()
        try:
            label = f"{self.relative_path} member {member.name!r}"
            self._load_json_unit(
                cursor, path, member.detected, member.unit_index, member.name, label, member.file_lines_before
            )
        finally:
            cursor.close()
            path.unlink(missing_ok=True)

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
