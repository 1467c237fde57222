"""Jira dates -> naive UTC.

API: ISO-8601 with an offset, with or without a colon (``2021-04-30T14:21:33.000-0700``, ``...-07:00``, ``...Z``);
agile sprint strings on old Server may say ``<null>``. CSV: ``dd/MMM/yy h:mm a`` in the exporting user's language
and timezone, without an offset (``12/Mar/24 2:15 PM``, ``12/mars/24 14:15``, ``12/Mär/24 14:15``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ingest.jira.locales import month_number


class DateValueError(ValueError):
    """A date that cannot be read; the message quotes the value (the caller adds the field and record)."""


_API_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_CSV_DATE = re.compile(
    r"^(?P<day>\d{1,2})/(?P<month>[^/\d\s]+)/(?P<year>\d{2}|\d{4})"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?)?$"
)
_ISO_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


def parse_api_datetime(value: object) -> datetime | None:
    """An API timestamp -> naive UTC; None for null / empty / ``<null>``. A timestamp without an offset is refused:
    the API always sends one, and guessing a zone would shift the time silently."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "<null>")):
        return None
    if not isinstance(value, str):
        raise DateValueError(f"{value!r} is not an ISO-8601 timestamp")
    text = _API_OFFSET_WITHOUT_COLON.sub(r"\1:\2", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DateValueError(f"{value!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise DateValueError(f"{value!r} has no UTC offset")
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_api_date(value: object) -> date | None:
    """A date-only field such as ``duedate`` (``2024-03-15``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise DateValueError(f"{value!r} is not a date")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise DateValueError(f"{value!r} is not a date") from None


def _csv_parts(text: str, locale: str) -> tuple[datetime, bool] | None:
    """(wall-clock datetime, had a time part) if ``text`` is a Jira CSV date in ``locale``, else None."""
    match = _CSV_DATE.match(text)
    if not match:
        return None
    month = month_number(match["month"], locale)
    if month is None:
        return None
    year = int(match["year"])
    year = year + 2000 if year < 100 else year
    hour = int(match["hour"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").replace(" ", "").upper()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        moment = datetime(year, month, int(match["day"]), hour, int(match["minute"] or 0), int(match["second"] or 0))
    except ValueError:
        return None
    return moment, match["hour"] is not None


def parse_csv_datetime(value: str, locales: tuple[str, ...], timezone: str) -> datetime | None:
    """A CSV date cell in the first locale that reads it, in ``timezone`` -> naive UTC; None for an empty cell.

    ISO local times (an export with a custom date format) are accepted too. Raises DateValueError naming the
    value and the locales tried."""
    text = " ".join(value.split())
    if not text:
        return None
    local: datetime | None = None
    if _ISO_LOCAL.match(text):
        local = datetime.fromisoformat(text)
    else:
        for locale in locales:
            parsed = _csv_parts(text, locale)
            if parsed is not None:
                local = parsed[0]
                break
    if local is None:
        raise DateValueError(f"{value!r} is not a date in any configured locale ({', '.join(locales)})")
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC).replace(tzinfo=None)


def parse_csv_date(value: str, locales: tuple[str, ...]) -> date | None:
    """A date-only CSV cell (Due Date), with or without a time part; no timezone shift (it is a calendar date)."""
    text = " ".join(value.split())
    if not text:
        return None
    if _ISO_LOCAL.match(text):
        return date.fromisoformat(text[:10])
    for locale in locales:
        parsed = _csv_parts(text, locale)
        if parsed is not None:
            return parsed[0].date()
    raise DateValueError(f"{value!r} is not a date in any configured locale ({', '.join(locales)})")
