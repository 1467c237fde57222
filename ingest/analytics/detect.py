"""Format detection from content: magic bytes first, then the structure of the first decompressed lines.

The file name is never trusted: an Amplitude ZIP saved as ``.json.gz`` is still a ZIP.
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.analytics.errors import CorruptFileError, UnknownFormatError

MAGIC_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # local file header; end of central directory (empty archive)
MAGIC_GZIP = b"\x1f\x8b"
MAGIC_PARQUET = b"PAR1"

SNIFF_BYTES = 256 * 1024
_SNIFF_LINES = 20

AMPLITUDE = "amplitude"
MIXPANEL = "mixpanel"
CSV = "csv"
EMPTY = "empty"

AMPLITUDE_MARKER_FIELDS = ("uuid", "event_type", "event_time")


@dataclass(frozen=True)
class Detected:
    vendor: str  # amplitude | mixpanel | csv | empty (no non-blank line at all)
    container: str  # zip | gzip | plain | parquet
    csv_header: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        return f"{self.vendor}/{self.container}"

    @property
    def compression(self) -> str:
        """DuckDB's ``compression`` argument for this container."""
        return "gzip" if self.container == "gzip" else "none"


def read_magic(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(8)


def _sniff_bytes(path: Path, gzipped: bool, label: str) -> bytes:
    try:
        if gzipped:
            with gzip.open(path, "rb") as handle:
                return handle.read(SNIFF_BYTES)
        with open(path, "rb") as handle:
            return handle.read(SNIFF_BYTES)
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as exc:
        raise CorruptFileError(f"corrupt gzip data in {label}: {exc}") from exc


def _json_vendor(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    if all(name in record for name in AMPLITUDE_MARKER_FIELDS):
        return AMPLITUDE
    props = record.get("properties")
    if "event" in record and isinstance(props, dict) and ("distinct_id" in props or "time" in props):
        return MIXPANEL
    return None


def sniff_text(head: bytes, label: str, container: str) -> Detected:
    """Classify decompressed leading bytes: JSON lines (Amplitude/Mixpanel) or a CSV header."""
    truncated = len(head) >= SNIFF_BYTES
    head = head.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM some tools write
    lines = head.split(b"\n")
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    non_blank = [line.strip() for line in lines if line.strip()]
    if not non_blank:
        return Detected(EMPTY, container)
    try:
        first = non_blank[0].decode("utf-8")
    except UnicodeDecodeError:
        raise UnknownFormatError(
            f"unknown format: {label}: not UTF-8 text, gzip, ZIP or Parquet (first bytes {head[:16]!r})"
        ) from None
    if first.startswith(("{", "[")):
        seen_keys: list[str] | None = None
        for raw in non_blank[:_SNIFF_LINES]:
            try:
                record = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                continue  # a malformed line is quarantined later; keep looking for a recognisable one
            vendor = _json_vendor(record)
            if vendor:
                return Detected(vendor, container)
            if seen_keys is None and isinstance(record, dict):
                seen_keys = sorted(record)[:12]
        seen = f"JSON objects with keys {seen_keys}" if seen_keys is not None else "no parseable JSON object"
        raise UnknownFormatError(
            f"unknown format: {label}: {seen} in the first {min(len(non_blank), _SNIFF_LINES)} lines; expected "
            "Amplitude (uuid, event_type, event_time) or Mixpanel (event, properties.distinct_id/time)"
        )
    header = next(csv.reader([first]))
    if len(header) >= 2:
        return Detected(CSV, container, tuple(name.strip() for name in header))
    raise UnknownFormatError(
        f"unknown format: {label}: first line {first[:80]!r} is neither a JSON object nor a CSV header"
    )


def detect_format(path: Path, label: str) -> Detected:
    """What ``path`` holds. Raises UnknownFormatError / CorruptFileError naming ``label``."""
    magic = read_magic(path)
    if magic[:4] in MAGIC_ZIP:
        return Detected(AMPLITUDE, "zip")  # members are checked one by one as they are extracted
    if magic[:4] == MAGIC_PARQUET:
        return Detected(CSV, "parquet")  # columns are checked by the parser
    if not magic:
        raise UnknownFormatError(f"unknown format: {label}: the file is empty")
    gzipped = magic[:2] == MAGIC_GZIP
    detected = sniff_text(_sniff_bytes(path, gzipped, label), label, "gzip" if gzipped else "plain")
    if detected.vendor == EMPTY:
        raise UnknownFormatError(f"unknown format: {label}: no non-blank line to recognise")
    return detected


def detect_member(path: Path, label: str) -> Detected:
    """Like detect_format for an extracted ZIP member; an empty member is allowed (vendor ``empty``)."""
    magic = read_magic(path)
    if magic[:4] in MAGIC_ZIP or magic[:4] == MAGIC_PARQUET:
        raise UnknownFormatError(f"unknown format: {label}: nested archives/Parquet inside a ZIP are not supported")
    if not magic:
        return Detected(EMPTY, "plain")
    gzipped = magic[:2] == MAGIC_GZIP
    return sniff_text(_sniff_bytes(path, gzipped, label), label, "gzip" if gzipped else "plain")


_COUNT_CHUNK_BYTES = 1 << 20


def detect_member_lines(path: Path, label: str, sink: Callable[[bytes], None] | None = None) -> tuple[Detected, int]:
    """detect_member and the member's physical lines (newlines, plus a last line without one) in one read of it,
    handing each decompressed chunk to ``sink`` once the member is recognised as JSON lines (a ZIP's members are many
    and small, so reading and decompressing each once is what counts)."""
    magic = read_magic(path)
    if not magic or magic[:4] in MAGIC_ZIP or magic[:4] == MAGIC_PARQUET:
        return detect_member(path, label), 0  # empty (no lines), or refused
    gzipped = magic[:2] == MAGIC_GZIP
    try:
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as stream:
            head = stream.read(SNIFF_BYTES)
            detected = sniff_text(head, label, "gzip" if gzipped else "plain")
            if detected.vendor not in (AMPLITUDE, MIXPANEL):
                return detected, 0
            lines, last, chunk = 0, b"", head
            while chunk:
                lines += chunk.count(b"\n")
                last = chunk[-1:]
                if sink is not None:
                    sink(chunk)
                chunk = stream.read(_COUNT_CHUNK_BYTES)
    except (EOFError, zlib.error, OSError) as exc:  # BadGzipFile is an OSError
        raise CorruptFileError(f"corrupt gzip data in {label}: {exc}") from exc
    return detected, lines + (last not in (b"\n", b""))
