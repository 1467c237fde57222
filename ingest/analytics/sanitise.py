"""Fallback line reader for the rare unit DuckDB's line reader refuses as a whole.

DuckDB stops a whole read on one line that is not UTF-8, holds the line delimiter byte or is over-long.
This re-reads the unit in Python, streaming: good lines go to a clean copy (bad ones become blank lines so
line numbers stay true) and bad ones to a JSON-lines sidecar with their reason, for the quarantine.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

from ingest.analytics.errors import CorruptFileError
from ingest.analytics.sql import LINE_DELIMITER, MAX_LINE_BYTES

_DELIMITER_BYTE = LINE_DELIMITER.encode()


def line_problem(body: bytes) -> str | None:
    if len(body) > MAX_LINE_BYTES:
        return f"line longer than {MAX_LINE_BYTES} bytes"
    if _DELIMITER_BYTE in body or b"\x00" in body:
        return "invalid JSON: raw control character"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"
    return None


def sanitise_lines(source: Path, gzipped: bool, clean_path: Path, sidecar_path: Path, label: str) -> int:
    """Write the clean copy and the sidecar; return how many lines were set aside."""
    set_aside = 0
    try:
        with (
            gzip.open(source, "rb") if gzipped else open(source, "rb") as lines,
            open(clean_path, "wb") as clean,
            open(sidecar_path, "w", encoding="utf-8") as sidecar,
        ):
            for line_number, raw in enumerate(lines, start=1):
                body = raw.rstrip(b"\n").rstrip(b"\r")
                problem = line_problem(body)
                if problem is None:
                    clean.write(body + b"\n")
                    continue
                set_aside += 1
                clean.write(b"\n")
                record = {"line_number": line_number, "raw_line": body.decode("utf-8", "replace"), "reason": problem}
                sidecar.write(json.dumps(record) + "\n")
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise CorruptFileError(f"corrupt gzip data in {label}: {exc}") from exc
    return set_aside
