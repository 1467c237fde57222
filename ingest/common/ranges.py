"""Values the lake contract can hold, checked per row before a row is staged, the same way for every source.

A value out of its column's range (an amount beyond DECIMAL(p,s) or a 64/32-bit integer, a time outside
``EARLIEST_TIME`` .. ``LATEST_TIME``, a number that overflowed to infinity) is that record's quarantine reason,
naming the column and the value. Left to the writer it would fail the whole file (a cast overflow) or, for a time,
load a year-9999 row that moves a customer into a period that does not exist.

The time bounds are wide on purpose: they catch broken clocks and unit mix-ups that no calendar logic survives.
Plausibility within them (no export predates 1990, nothing from the future) is the raw gates' business.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Columns = tuple[tuple[str, str], ...]

EARLIEST_TIME = datetime(1900, 1, 1)
LATEST_TIME = datetime(2100, 12, 31, 23, 59, 59, 999999)
_INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def _shown(value: Any) -> str:
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _integer_problem(value: Any, bits: int, sql_type: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None  # not an integer: the writer's cast reports it
    if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        return None
    return f"is out of range for {sql_type} (a {bits}-bit integer, up to {2 ** (bits - 1) - 1})"


def _decimal_problem(value: Any, precision: int, scale: int, sql_type: str) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None  # not a number: the writer's cast reports it
    if not number.is_finite():
        return f"is not a finite number ({sql_type})"
    if abs(number) >= Decimal(10) ** (precision - scale):
        return f"is out of range for {sql_type} (at most {precision - scale} digits before the decimal point)"
    return None


def time_problem(value: date) -> str | None:
    """Why a time or date is out of bounds (phrased to follow the value), or None."""
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    if EARLIEST_TIME <= moment <= LATEST_TIME:
        return None
    return f"is outside {EARLIEST_TIME.year}..{LATEST_TIME.year}"


def value_problem(sql_type: str, value: Any) -> str | None:
    """Why ``value`` cannot be stored in a column of ``sql_type`` (phrased to follow the value), or None."""
    if value is None:
        return None
    if sql_type.endswith("[]"):
        if isinstance(value, list):
            return next((p for v in value if (p := value_problem(sql_type[:-2], v)) is not None), None)
        return None
    if sql_type in _INTEGER_BITS:
        return _integer_problem(value, _INTEGER_BITS[sql_type], sql_type)
    if match := _DECIMAL.match(sql_type):
        return _decimal_problem(value, int(match.group(1)), int(match.group(2)), sql_type)
    if sql_type == "DOUBLE" and isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    if sql_type in ("TIMESTAMP", "DATE") and isinstance(value, date):
        return time_problem(value)
    return None


def row_problem(columns: Columns, row: Mapping[str, Any]) -> str | None:
    """The first value of ``row`` its contract ``columns`` cannot hold, as a quarantine reason, or None."""
    for name, sql_type in columns:
        value = row.get(name)
        problem = value_problem(sql_type, value)
        if problem is not None:
            return f"{name} {_shown(value)} {problem}"
    return None


def rows_problem(entities: Mapping[str, Columns], rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> str | None:
    """The first problem among the rows one record produced (per entity), or None."""
    for entity, entity_rows in rows.items():
        columns = entities[entity]
        for row in entity_rows:
            problem = row_problem(columns, row)
            if problem is not None:
                return problem
    return None
