"""Field values of Stripe exports: timestamps, booleans, ids, integer minor units, currencies, metadata.

Every helper raises RowError with a message naming the field and quoting the value; the record is quarantined
with that message as its reason.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ingest.common.money import AmountError, check_currency, parse_amount, to_minor_units
from ingest.common.ranges import time_problem
from ingest.common.text import scrub_emails


class RowError(ValueError):
    """One record that cannot be loaded; the message is its quarantine reason."""


_CSV_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
_INTEGER = re.compile(r"^-?\d+$")
_INTERVAL = re.compile(r"^(?:(?:every\s+)?(\d+)\s+)?(day|week|month|year)s?$", re.IGNORECASE)
INTERVALS = ("day", "week", "month", "year")
# The contract's integer columns: amounts BIGINT (64-bit), quantities and interval counts INTEGER (32-bit). A value
# outside its column's range cannot be written; it is that row's quarantine reason, not the whole file's failure.
BIGINT_BITS, INTEGER_BITS = 64, 32

# Metadata keys with a column of their own in billing/customers (first one found wins); the rest stay in metadata.
USER_ID_KEYS = ("product_user_id", "user_id")
CHANNEL_KEYS = ("acquisition_channel", "channel")
CAMPAIGN_KEYS = ("utm_campaign", "campaign")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any) -> str | None:
    if blank(value):
        return None
    return str(value).strip()


def object_id(value: Any) -> str | None:
    """An id given as a string, or inside an expanded object ({"id": ..., "object": ...})."""
    if isinstance(value, dict):
        return text(value.get("id"))
    return text(value)


def csv_time(value: str | None, column: str) -> datetime | None:
    """A dashboard timestamp ("2024-01-15 10:23", ISO with or without offset) as naive UTC."""
    if blank(value):
        return None
    assert value is not None
    stripped = value.strip()
    try:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        for pattern in _CSV_TIME_FORMATS:
            try:
                moment = datetime.strptime(stripped, pattern)
                break
            except ValueError:
                continue
        else:
            raise RowError(f"unparseable {column} {value!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return _in_bounds(moment, column, value)


def _in_bounds(moment: datetime, field: str, value: Any) -> datetime:
    """A time outside 1900..2100 is a broken clock or a unit mix-up: the record's reason, naming field and value."""
    problem = time_problem(moment)
    if problem is not None:
        raise RowError(f"{field} {value!r} {problem}")
    return moment


def epoch_time(value: Any, field: str) -> datetime | None:
    """An API timestamp (epoch seconds) as naive UTC."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            value = int(value)
        else:
            raise RowError(f"{field} {value!r} is not an epoch-seconds timestamp")
    try:
        moment = datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise RowError(f"{field} {value!r} is out of range for a timestamp") from None
    return _in_bounds(moment, field, value)


def csv_bool(value: str | None, column: str) -> bool | None:
    if blank(value):
        return None
    assert value is not None
    folded = value.strip().lower()
    if folded in ("true", "yes", "1", "t", "y"):
        return True
    if folded in ("false", "no", "0", "f", "n"):
        return False
    raise RowError(f"{column} {value!r} is not a boolean")


def in_column_range(number: int, field: str, bits: int = BIGINT_BITS) -> int:
    """``number`` if a signed ``bits``-bit column holds it, else the row's RowError."""
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        limit = 2 ** (bits - 1) - 1
        raise RowError(f"{field} {number} is out of range (a {bits}-bit integer column holds up to {limit})")
    return number


def csv_integer(value: str | None, column: str, bits: int = BIGINT_BITS) -> int | None:
    if blank(value):
        return None
    assert value is not None
    cleaned = value.strip().replace(",", "")
    if not _INTEGER.match(cleaned):
        raise RowError(f"{column} {value!r} is not a whole number")
    return in_column_range(int(cleaned), column, bits)


def api_integer(value: Any, field: str, bits: int = BIGINT_BITS) -> int | None:
    """An integer field of the API (amounts in minor units, quantities): int, or a string of digits."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise RowError(f"{field} {value!r} is not an integer")
    if isinstance(value, int):
        return in_column_range(value, field, bits)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return in_column_range(int(value), field, bits)
    raise RowError(f"{field} {value!r} is not an integer (the API gives amounts in minor units)")


def billing_currency(value: Any, fx_currencies: frozenset[str], field: str = "currency") -> str:
    """The currency of an amount: ISO-shaped and with a rate in finance.fx_rates (dbt converts with it)."""
    try:
        code = check_currency(value if isinstance(value, str) else None)
    except AmountError:
        raise RowError(f"invalid {field} {value!r}") from None
    if code not in fx_currencies:
        raise RowError(f"no FX rate for currency {code} in finance.fx_rates")
    return code.lower()


def optional_currency(value: Any, field: str = "currency") -> str | None:
    """A currency that carries no amount (a customer's default): lower-case, no rate needed."""
    if blank(value):
        return None
    try:
        return check_currency(str(value)).lower()
    except AmountError:
        raise RowError(f"invalid {field} {value!r}") from None


def csv_minor(value: str | None, currency: str, column: str) -> int | None:
    """A dashboard amount in major units ("1,200.50") as integer minor units of ``currency``."""
    if blank(value):
        return None
    assert value is not None
    try:
        minor = to_minor_units(parse_amount(value), currency)
    except AmountError as exc:
        raise RowError(f"{column}: {exc}") from None
    return in_column_range(minor, column)


def percent_off(value: Any, field: str) -> Decimal | None:
    if blank(value):
        return None
    try:
        percent = value if isinstance(value, Decimal) else parse_amount(str(value))
    except AmountError:
        raise RowError(f"{field} {value!r} is not a percentage") from None
    if isinstance(value, (bool, float)) or not Decimal(0) < percent <= Decimal(100):
        raise RowError(f"{field} {value!r} is not a percentage in (0, 100]")
    if percent != percent.quantize(Decimal("0.0001")):
        raise RowError(f"{field} {value!r} has more than 4 decimals")
    return percent


def interval(value: Any, field: str) -> tuple[str | None, int | None]:
    """("month", 1) from "month", "months", "3 months", "every 3 months"."""
    if blank(value):
        return None, None
    match = _INTERVAL.match(str(value).strip())
    if not match:
        raise RowError(f"{field} {value!r} is not one of {', '.join(INTERVALS)}")
    return match.group(2).lower(), in_column_range(int(match.group(1) or 1), field, INTEGER_BITS)


def split_metadata(metadata: dict[str, Any]) -> dict[str, str | None]:
    """user_id / acquisition_channel / acquisition_campaign from their metadata keys, the rest as JSON text."""
    values = {str(key).strip(): text(value) for key, value in metadata.items()}
    values = {key: value for key, value in values.items() if value is not None}
    picked: dict[str, str | None] = {}
    for column, keys in (
        ("user_id", USER_ID_KEYS),
        ("acquisition_channel", CHANNEL_KEYS),
        ("acquisition_campaign", CAMPAIGN_KEYS),
    ):
        found = next((key for key in keys if key in values), None)
        picked[column] = scrub_emails(values.pop(found)) if found else None  # an e-mail used as an id stays hashed
    picked["metadata"] = scrub_emails(json.dumps(values, sort_keys=True, ensure_ascii=False)) if values else None
    return picked
