"""Fallback line reader for the rare unit DuckDB's line reader refuses as a whole or reads short.

DuckDB stops a whole read on one line that is not UTF-8, holds the line delimiter byte or is longer than its
``max_line_size``, and drops a last line longer than its read buffer without a word. This re-reads the unit in
Python, streaming and bounded (an over-long line is never held: its first bytes are kept for the quarantine, the
rest is only counted): good lines go to a clean copy (bad ones become blank lines so line numbers stay true) and bad
ones to a JSON-lines sidecar with their reason, for the quarantine. ``count_lines`` counts a unit's physical lines,
the figure every unit's rows are checked against.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ingest.analytics.errors import CorruptFileError
from ingest.analytics.sql import LINE_DELIMITER, MAX_LINE_BYTES

_DELIMITER_BYTE = LINE_DELIMITER.encode()
_CHUNK_BYTES = 1 << 20
# Of a line longer than MAX_LINE_BYTES, the quarantine keeps this many leading bytes (enough to recognise it).
KEPT_PREFIX_BYTES = 1024


@dataclass(frozen=True)
class SanitisedUnit:
    lines: int  # physical lines read (the last one may lack its newline)
    set_aside: int  # lines written to the sidecar (and blank in the clean copy)


def line_problem(body: bytes) -> str | None:
    if len(body) > MAX_LINE_BYTES:
        return line_too_long(len(body))
    if _DELIMITER_BYTE in body or b"\x00" in body:
        return "invalid JSON: raw control character"
    if b"\r" in body:  # a carriage return not ending the line: DuckDB's reader would split the line there
        return "invalid JSON: carriage return inside the line"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"
    return None


def line_too_long(length: int) -> str:
    return f"line too long: {length} bytes (the limit is {MAX_LINE_BYTES} bytes)"


def _open(source: Path, gzipped: bool) -> BinaryIO:
    return gzip.open(source, "rb") if gzipped else open(source, "rb")  # type: ignore[return-value]


def _physical_lines(stream: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """(body, length in bytes) per physical line, without its line ending. The body of a line longer than
    MAX_LINE_BYTES is only its first KEPT_PREFIX_BYTES: the rest is read in chunks and counted, never held."""
    limit = MAX_LINE_BYTES + 2  # room for the line's own \r\n
    while chunk := stream.readline(limit):
        if chunk.endswith(b"\n") or len(chunk) < limit:  # the whole line (the last one may lack its newline)
            body = chunk.rstrip(b"\n").rstrip(b"\r")
            yield body, len(body)
            continue
        head, length = chunk[:KEPT_PREFIX_BYTES], len(chunk)
        while not chunk.endswith(b"\n"):
            chunk = stream.readline(_CHUNK_BYTES)
            if not chunk:
                break
            length += len(chunk)
        yield head, length - (2 if chunk.endswith(b"\r\n") else 1 if chunk.endswith(b"\n") else 0)


def count_lines(source: Path, gzipped: bool, label: str) -> int:
    """Physical lines of a unit (newlines, plus a last line without one), read in bounded chunks."""
    lines = 0
    last = b"\n"
    try:
        with _open(source, gzipped) as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise CorruptFileError(f"corrupt gzip data in {label}: {exc}") from exc
    return lines + (last != b"\n")


def sanitise_lines(source: Path, gzipped: bool, clean_path: Path, sidecar_path: Path, label: str) -> SanitisedUnit:
    """Write the clean copy and the sidecar; return how many lines were read and set aside."""
    lines = set_aside = 0
    try:
        with (
            _open(source, gzipped) as stream,
            open(clean_path, "wb") as clean,
            open(sidecar_path, "w", encoding="utf-8") as sidecar,
        ):
            for line_number, (body, length) in enumerate(_physical_lines(stream), start=1):
                lines = line_number
                problem = line_too_long(length) if length > MAX_LINE_BYTES else line_problem(body)
                if problem is None:
                    clean.write(body + b"\n")
                    continue
                set_aside += 1
                clean.write(b"\n")
                raw = body.decode("utf-8", "replace") + ("..." if length > len(body) else "")
                sidecar.write(json.dumps({"line_number": line_number, "raw_line": raw, "reason": problem}) + "\n")
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise CorruptFileError(f"corrupt gzip data in {label}: {exc}") from exc
    return SanitisedUnit(lines, set_aside)
