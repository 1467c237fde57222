"""Money as exports write it, parsed exactly: Decimal and integer minor units, never a float.

A currency's exponent (digits after the decimal point in its minor unit) follows ISO 4217 for the codes that differ
from 2. Exports write thousands separators ("1,200.50") and sometimes a currency symbol ("$1,234.56").
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

ZERO_DECIMAL = frozenset({"JPY", "KRW"})
THREE_DECIMAL = frozenset({"BHD", "KWD", "JOD", "OMR", "TND"})
CURRENCY_SYMBOLS = "$€£¥₩"
_CURRENCY_CODE = re.compile(r"^[A-Za-z]{3}$")
# Either plain digits, or groups of exactly three after the first comma: "1,200.50" yes, "12,34,5" no.
_AMOUNT = re.compile(r"^(?P<sign>-?)(?P<digits>\d+|\d{1,3}(?:,\d{3})+)(?:\.(?P<fraction>\d+))?$")


class AmountError(ValueError):
    """Text that is not an amount; the message quotes it."""


def currency_exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def check_currency(text: str | None) -> str:
    """An ISO 4217-shaped code, upper-cased; AmountError for anything else (blank included)."""
    code = (text or "").strip()
    if not _CURRENCY_CODE.match(code):
        raise AmountError(f"invalid currency {text!r}")
    return code.upper()


def parse_amount(text: str, *, symbols: bool = False) -> Decimal:
    """A major-unit amount as written in an export ("1,200.50", "-3", with ``symbols`` also "$1,234.56")."""
    cleaned = text.strip()
    if symbols:
        cleaned = cleaned.replace(" ", "")
        sign = "-" if cleaned.startswith("-") else ""
        cleaned = sign + cleaned.lstrip("-").lstrip(CURRENCY_SYMBOLS)
    match = _AMOUNT.match(cleaned)
    if not match:
        raise AmountError(f"unparseable amount {text!r}")
    fraction = match.group("fraction") or ""
    try:
        return Decimal(f"{match.group('sign')}{match.group('digits').replace(',', '')}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise AmountError(f"unparseable amount {text!r}") from None


def to_minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` (major units) in the currency's minor units; AmountError if it has more decimals than allowed."""
    exponent = currency_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise AmountError(f"amount {amount} has more decimals than {currency.upper()} allows ({exponent})")
    return int(scaled)


def parse_minor_units(text: str, currency: str) -> int:
    """A dashboard amount in major units ("1,200.50" USD) as integer minor units (120050)."""
    return to_minor_units(parse_amount(text), currency)
