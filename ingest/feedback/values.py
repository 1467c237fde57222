"""Field values shared by every feedback layout: timestamps, scores, ids, Jira keys, emails and properties.

Every parser raises RecordError with a reason naming the field and the value; the caller quarantines the record.
Emails never leave this module raw: known email fields become ``email_hash`` values, and any address-looking text
elsewhere (comments, ticket descriptions, raw records) is replaced by ``sha256:<hash>``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from ingest.common.identity import email_hash
from ingest.common.ranges import time_problem
from ingest.feedback.errors import RecordError

# Deliberately broad: a false positive only hashes some text, a false negative would leak an address.
EMAIL_TEXT = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,19}-[0-9]{1,9}$")
_EPOCH = re.compile(r"^\d{9,11}(\.\d+)?$")
# Formats seen in the exports, tried in order once ISO-8601 has failed.
_TEXT_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",  # SurveyMonkey: 02/03/2024 02:05:12 PM
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
)


def clean(value: Any) -> str | None:
    """A trimmed string, or None for null / blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def id_text(value: Any, field: str) -> str:
    """A required identifier (JSON number or string) as text."""
    if isinstance(value, (bool, float | dict | list)):
        raise RecordError(f"{field} {value!r} is not an id")
    text = clean(value)
    if text is None:
        raise RecordError(f"missing {field}")
    return text


def optional_id(value: Any, field: str) -> str | None:
    return None if clean(value) is None else id_text(value, field)


def timestamp(value: Any, field: str, *, required: bool = True) -> datetime | None:
    """Naive UTC from ISO-8601 (``Z`` / offsets converted; none means UTC), ``... UTC`` suffixes, epoch seconds
    (number or digits) and SurveyMonkey's ``MM/DD/YYYY hh:mm:ss AM``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordError(f"missing {field}")
        return None
    if isinstance(value, bool):
        raise RecordError(f"unparseable {field} {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(value, field)
    text = str(value).strip()
    if _EPOCH.match(text):
        return _from_epoch(float(text), field)
    if text.upper().endswith(" UTC"):
        text = text[:-4].rstrip()
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _TEXT_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        raise RecordError(f"unparseable {field} {value!r}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return _in_bounds(moment, field, value)


def _in_bounds(moment: datetime, field: str, value: Any) -> datetime:
    problem = time_problem(moment)
    if problem is not None:
        raise RecordError(f"{field} {value!r} {problem}")
    return moment


def _from_epoch(value: float, field: str) -> datetime:
    try:
        moment = datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise RecordError(f"unparseable {field} {value!r} (epoch seconds out of range)") from None
    return _in_bounds(moment, field, value)


_LEADING_INTEGER = re.compile(r"^\s*(-?\d+)(?:\s*(?:-|–|:|\.|\))\s*\D.*)?\s*$", re.DOTALL)


def score(value: Any, field: str, low: int, high: int) -> int:
    """An integer score on [low, high]; accepts labelled cells like ``4 - Satisfied``. Out of scale is an error,
    never clipped."""
    if isinstance(value, bool):
        raise RecordError(f"{field} {value!r} is not a number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        text = clean(value)
        if text is None:
            raise RecordError(f"missing {field}")
        match = _LEADING_INTEGER.match(text)
        if not match:
            raise RecordError(f"{field} {text!r} is not a whole number")
        number = int(match.group(1))
    if not low <= number <= high:
        raise RecordError(f"{field} {number} is outside the {low}-{high} scale")
    return number


def jira_key(value: Any, field: str) -> str | None:
    text = clean(value)
    if text is None:
        return None
    key = text.upper()
    if not JIRA_KEY.match(key):
        raise RecordError(f"{field} {text!r} is not a Jira issue key like PROJ-123")
    return key


def split_list(value: Any, separator: str) -> list[str]:
    text = clean(value)
    if text is None:
        return []
    return [part.strip() for part in text.split(separator) if part.strip()]


def scrub_text(value: str | None) -> str | None:
    """Replace every address-looking substring with ``sha256:<its email_hash>``."""
    if value is None:
        return None
    return EMAIL_TEXT.sub(lambda m: f"sha256:{email_hash(m.group(0))}", value)


def is_email_key(key: str) -> bool:
    return "email" in key.lower().replace("-", "").replace("_", "").replace(" ", "")


def without_emails(value: Any) -> Any:
    """A copy of a JSON-like value with email fields replaced by their hash and address text scrubbed."""
    if isinstance(value, dict):
        return {
            k: (f"sha256:{email_hash(str(v))}" if is_email_key(str(k)) and clean(v) else without_emails(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [without_emails(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def raw_json(value: Any) -> str:
    """The quarantine's raw_record: the original row/object as JSON text, with no raw email in it."""
    return json.dumps(without_emails(value), ensure_ascii=False, default=str)


def properties_json(properties: dict[str, Any]) -> str:
    """Segment fields as a JSON object (keys sorted so the same input gives the same bytes); emails scrubbed."""
    return json.dumps(without_emails(properties), ensure_ascii=False, sort_keys=True, default=str)
