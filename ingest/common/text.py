"""Reading landed text (UTF-8, CSV, JSON with exact decimals) and keeping e-mail addresses out of what is stored."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from typing import Any

from ingest.common.errors import MalformedFileError
from ingest.common.identity import email_hash

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def scrub_emails(text: str) -> str:
    """Replace every e-mail address in ``text`` by its identity hash, so quarantine and metadata never hold one."""
    if "@" not in text:  # every address has one; most text has none, and the scan below is the slow part
        return text
    return _EMAIL.sub(lambda match: f"email_hash:{email_hash(match.group(0))}", text)


def raw_json(value: Any) -> str:
    """An original row or object as JSON text, e-mails replaced by their hash."""
    return scrub_emails(json.dumps(value, ensure_ascii=False, sort_keys=False, default=str))


def decode_text(data: bytes, label: str) -> str:
    """UTF-8 text without its byte-order mark (Meta and Excel write one)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"{label} is not UTF-8 text: byte {exc.start} ({data[exc.start]:#04x})") from None


def csv_rows(text: str, label: str) -> list[list[str]]:
    """Every CSV row of ``text`` (quoted multi-line cells kept whole); blank lines dropped."""
    try:
        return [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise MalformedFileError(f"malformed CSV in {label}: {exc}") from None


def load_json(text: str, label: str) -> Any:
    """JSON with every non-integer number as a Decimal: money and percentages never pass through a float."""
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise MalformedFileError(
            f"malformed JSON in {label}: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        ) from None
