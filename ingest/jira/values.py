"""Field values shared by the JSON and CSV parsers: numbers, RICE confidence, sprint values, hierarchy.

Every function raises RecordError with a reason naming the value; the caller quarantines the record.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ingest.jira.dates import DateValueError, parse_api_datetime


class RecordError(ValueError):
    """One record (issue, sprint, CSV row) that cannot be loaded; the message is the quarantine reason."""


_STORY_POINTS_LIMIT = Decimal("99999999.99")  # DECIMAL(10,2)
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_GREENHOPPER = re.compile(r"^com\.atlassian\.greenhopper\.service\.sprint\.Sprint@[0-9a-fA-F]+\[(.*)\]$", re.DOTALL)
# Split "id=12,rapidViewId=3,name=Sprint 1, the big one,..." only before a known key, so commas in names survive.
_GREENHOPPER_KEYS = (
    "id|rapidViewId|state|name|goal|startDate|endDate|completeDate|activatedDate|sequence|autoStartStop|synced|"
    "incompleteIssuesDestinationId"
)
_GREENHOPPER_SPLIT = re.compile(rf",(?=(?:{_GREENHOPPER_KEYS})=)")


def number(value: Any, label: str) -> float | None:
    """A number from a JSON number, a numeric string (decimal comma allowed) or a select option ``{"value": ...}``;
    None for null / empty."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RecordError(f"{label}: {value!r} is not a number")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str) and _NUMBER_TEXT.match(value.strip()):
        result = float(value.strip().replace(",", "."))
    else:
        raise RecordError(f"{label}: {value!r} is not a number")
    if not math.isfinite(result):
        raise RecordError(f"{label}: {value!r} is not a finite number")
    return result


def story_points(value: Any, label: str) -> Decimal | None:
    result = number(value, label)
    if result is None:
        return None
    try:
        points = Decimal(repr(result)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise RecordError(f"{label}: {value!r} is not a number") from None
    if points < 0 or points > _STORY_POINTS_LIMIT:
        raise RecordError(f"{label}: {value!r} is outside 0..{_STORY_POINTS_LIMIT}")
    return points


def confidence(value: Any, label: str) -> float | None:
    """RICE confidence in [0, 1] from 80, 0.8 or "80%". A bare number above 1 is a percentage; 1 itself is 100%."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, str) and value.strip().endswith("%"):
        percent = number(value.strip()[:-1], label)
        result = None if percent is None else percent / 100
    else:
        result = number(value, label)
        if result is not None and result > 1:
            result /= 100
    if result is not None and not 0 <= result <= 1:
        raise RecordError(f"{label}: {value!r} is not a confidence between 0 and 100%")
    return result


def whole_number(value: Any, label: str) -> int | None:
    result = number(value, label)
    if result is None:
        return None
    if result != int(result):
        raise RecordError(f"{label}: {value!r} is not a whole number")
    return int(result)


def _sprint_date(value: Any, label: str) -> Any:
    try:
        return parse_api_datetime(value)
    except DateValueError as exc:
        raise RecordError(f"{label}: {exc}") from None


def sprint_from_object(raw: dict[str, Any], label: str) -> dict[str, Any]:
    sprint_id = whole_number(raw.get("id"), f"{label} id")
    if sprint_id is None:
        raise RecordError(f"{label}: sprint without an id: {json.dumps(raw, sort_keys=True)[:200]}")
    board = raw.get("boardId", raw.get("originBoardId", raw.get("rapidViewId")))
    state = raw.get("state")
    return {
        "sprint_id": sprint_id,
        "board_id": whole_number(board, f"{label} board id"),
        "name": raw.get("name"),
        "state": state.lower() if isinstance(state, str) else None,
        "goal": raw.get("goal") if raw.get("goal") not in ("<null>",) else None,
        "start_at": _sprint_date(raw.get("startDate"), f"{label} startDate"),
        "end_at": _sprint_date(raw.get("endDate"), f"{label} endDate"),
        "complete_at": _sprint_date(raw.get("completeDate"), f"{label} completeDate"),
    }


def parse_greenhopper_sprint(text: str, label: str) -> dict[str, Any]:
    """Old Server's ``com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=12,rapidViewId=3,...]`` string."""
    match = _GREENHOPPER.match(text.strip())
    if not match:
        raise RecordError(f"{label}: cannot read sprint value {text[:200]!r}")
    pairs: dict[str, Any] = {}
    for part in _GREENHOPPER_SPLIT.split(match[1]):
        key, _, value = part.partition("=")
        pairs[key] = None if value == "<null>" else value
    return sprint_from_object(pairs, label)


def sprints(value: Any, label: str) -> tuple[list[int], list[dict[str, Any]]]:
    """(sprint ids, sprint rows) from a Sprint field value: Cloud objects, Server strings, bare ids, or a JSON
    encoding of those (``"{}"`` and ``"[]"`` are how some exporters write "no sprint")."""
    if value is None:
        return [], []
    items = value if isinstance(value, list) else [value]
    ids: list[int] = []
    rows: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str) and item.strip() in ("", "{}", "[]"):
            continue
        if isinstance(item, str) and item.strip()[:1] in ("{", "["):
            try:
                decoded = json.loads(item)
            except json.JSONDecodeError:
                raise RecordError(f"{label}: cannot read sprint value {item[:200]!r}") from None
            more_ids, more_rows = sprints(decoded, label)
            ids.extend(more_ids)
            rows.extend(more_rows)
            continue
        if isinstance(item, dict):
            if not item:
                continue
            row = sprint_from_object(item, label)
        elif isinstance(item, str) and item.strip().startswith("com.atlassian.greenhopper"):
            row = parse_greenhopper_sprint(item, label)
        elif isinstance(item, int | str) and not isinstance(item, bool) and str(item).strip().isdigit():
            ids.append(int(str(item).strip()))
            continue
        else:
            raise RecordError(f"{label}: cannot read sprint value {item!r:.200}")
        ids.append(row["sprint_id"])
        if row["name"] is not None or row["state"] is not None:
            rows.append(row)
    return list(dict.fromkeys(ids)), rows
