"""Ad spend exports -> marketing/spend rows, detected from the content (the header row, or the JSON keys):

- Google Ads UI CSV: a title line and a date-range line before the header (Day, Campaign, Campaign ID, Currency
  code, Cost, Impr., Clicks), costs like "$1,234.56", "--" for empty, several "Total: ..." rows at the bottom.
- Google Ads API report (CSV or JSON): segments.date, campaign.id/name, metrics.cost_micros (exact via Decimal),
  metrics.impressions/clicks, customer.currency_code; JSON nested or flat, camelCase or snake_case.
- Meta Ads Manager CSV: byte-order mark, the currency in the header ("Amount spent (USD)"), daily rows, a summary
  row without a Day.
- Plain CSV date,channel,campaign,spend,currency for everything else (affiliates, events, salaries).

Totals rows are skipped and counted (rows_skipped), never summed. A negative amount is a credit or adjustment (an ad
platform's invalid-click credit, a finance correction) and loads as it is: dbt nets it against the spend of its
channel and month (stg_marketing__spend, fct_cac). Only malformed values are quarantined, each with its reason:
unparseable or non-finite text ("NaN", "inf"), more decimals than the contract keeps, a magnitude the contract's
DECIMAL(18,6) cannot hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.config import FinanceConfig
from ingest.common.columns import ColumnDrift
from ingest.common.errors import UnknownLayoutError
from ingest.common.money import AmountError, check_currency, parse_amount
from ingest.common.parsed import ParsedFile
from ingest.common.ranges import row_problem, time_problem
from ingest.common.text import csv_rows, decode_text, load_json, raw_json
from ingest.marketing.contract import SPEND_COLUMNS

ENTITY = "spend"
GOOGLE_UI = "google_ads_ui_csv"
GOOGLE_API = "google_ads_api"
META = "meta_ads_csv"
GENERIC = "generic_csv"

EMPTY_MARKERS = ("", "--")  # Google writes "--" where a metric has no value
MAX_HEADER_SEARCH_ROWS = 5  # the Google UI export has two lines (title, date range) before its header
SPEND_DECIMALS = 6  # the contract's DECIMAL(18,6)
MAX_SPEND = Decimal(10) ** 12  # |spend| the contract's DECIMAL(18,6) holds; beyond it is a unit error (micros)
_NON_FINITE = re.compile(r"^[+-]?(s?nan|inf|infinity)$", re.IGNORECASE)  # what Decimal() and float() accept
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%b %d, %Y", "%B %d, %Y", "%a, %b %d, %Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d")
_META_SPEND = re.compile(r"^amount spent \((?P<currency>[A-Za-z]{3})\)$", re.IGNORECASE)
_WHOLE = re.compile(r"^\d+$")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class RowError(ValueError):
    """One row that cannot be loaded; the message is its quarantine reason."""


@dataclass(frozen=True)
class SpendContext:
    fx_currencies: frozenset[str]
    channel_map: dict[str, str]

    @classmethod
    def from_finance(cls, finance: FinanceConfig) -> SpendContext:
        return cls(frozenset(finance.fx_rates), dict(finance.channel_map))

    def channel(self, name: str) -> str:
        """The reporting channel for a vendor key or a plain-CSV channel name (config first, then normalised)."""
        stripped = name.strip()
        if stripped in self.channel_map:
            return self.channel_map[stripped]
        folded = {key.casefold(): value for key, value in self.channel_map.items()}
        return folded.get(stripped.casefold(), re.sub(r"\s+", "_", stripped.lower()))


# -- values ---------------------------------------------------------------------------------------------------------


def _blank(value: str | None) -> bool:
    return value is None or value.strip() in EMPTY_MARKERS


def spend_date(value: str | None, column: str) -> date:
    if value is None or not value.strip():
        raise RowError(f"missing {column}")
    stripped = value.strip()
    for pattern in _DATE_FORMATS:
        try:
            day = datetime.strptime(stripped, pattern).date()
        except ValueError:
            continue
        problem = time_problem(day)
        if problem is not None:
            raise RowError(f"{column} {value!r} {problem}")
        return day
    raise RowError(f"unparseable {column} {value!r}")


def whole_number(value: str | None, column: str) -> int | None:
    if _blank(value):
        return None
    assert value is not None
    cleaned = value.strip().replace(",", "")
    if not _WHOLE.match(cleaned):
        raise RowError(f"{column} {value!r} is not a whole number")
    return int(cleaned)


def spend_amount(value: str | None, column: str) -> Decimal:
    """A major-unit spend ("1,234.56", "$1,234.56", a credit "-1,500.00"); "--" (no cost on that row) is zero."""
    if _blank(value):
        return Decimal(0)
    assert value is not None
    if _NON_FINITE.match(value.strip()):
        raise RowError(f"non-finite {column} {value!r}")
    try:
        return parse_amount(value, symbols=True)
    except AmountError:
        raise RowError(f"unparseable {column} {value!r}") from None


def micros_amount(value: Any, column: str) -> Decimal:
    """Google's cost_micros (an integer, often as a string) in major units, exactly."""
    text = str(value).strip() if value is not None and not isinstance(value, (bool, float)) else None
    if text is None or not re.match(r"^-?\d+$", text):
        raise RowError(f"unparseable {column} {value!r} (an integer number of micros)")
    return Decimal(int(text)).scaleb(-6)


# -- one spend row --------------------------------------------------------------------------------------------------


@dataclass
class SpendCells:
    """What every layout yields per row before checks."""

    day: str | None
    campaign_id: str | None
    campaign: str | None
    spend: Decimal
    currency: str | None
    impressions: int | None
    clicks: int | None
    channel: str
    date_column: str


def spend_row(cells: SpendCells, vendor: str, context: SpendContext) -> dict[str, Any]:
    day = spend_date(cells.day, cells.date_column)
    try:
        currency = check_currency(cells.currency)
    except AmountError:
        raise RowError(f"invalid currency {cells.currency!r}") from None
    if currency not in context.fx_currencies:
        raise RowError(f"no FX rate for currency {currency} in finance.fx_rates")
    # A negative spend is a credit or adjustment and loads (see the module docstring); only the magnitude is bounded.
    if abs(cells.spend) >= MAX_SPEND:
        raise RowError(f"spend {cells.spend} is too large in magnitude for the contract's DECIMAL(18,6)")
    if cells.spend != cells.spend.quantize(Decimal(1).scaleb(-SPEND_DECIMALS)):
        raise RowError(f"spend {cells.spend} has more than {SPEND_DECIMALS} decimals")
    return {
        "spend_date": day,
        "vendor": vendor,
        "channel": cells.channel,
        "campaign_id": (cells.campaign_id or "").strip() or None,
        "campaign": (cells.campaign or "").strip() or None,
        "spend": format(cells.spend, "f"),  # exact text; DuckDB casts it to DECIMAL(18,6)
        "currency": currency,
        "impressions": cells.impressions,
        "clicks": cells.clicks,
    }


# -- CSV layouts ----------------------------------------------------------------------------------------------------


class Header:
    """A header row addressed by lower-cased, trimmed names."""

    def __init__(self, cells: list[str]):
        self.cells = cells
        self.positions: dict[str, int] = {}
        for position, cell in enumerate(cells):
            self.positions.setdefault(cell.strip().lower(), position)

    def has(self, *names: str) -> bool:
        return all(name in self.positions for name in names)

    def value(self, row: list[str], name: str) -> str | None:
        position = self.positions.get(name)
        return row[position] if position is not None and position < len(row) else None


@dataclass(frozen=True)
class CsvLayout:
    format: str
    vendor: str
    matches: Callable[[Header], bool]
    is_totals: Callable[[Header, list[str]], bool]
    cells: Callable[[Header, list[str], SpendContext], SpendCells]
    # Lower-cased headers the layout reads (alternative names included) or knows to carry nothing kept; any other
    # column is listed in unknown_columns. ``optional``: read when present, listed in missing_columns when absent.
    known: frozenset[str] = frozenset()
    optional: tuple[str, ...] = ()

    def drift(self, header: Header) -> ColumnDrift:
        def is_known(name: str) -> bool:
            return name.lower() in self.known or (self.format == META and _META_SPEND.match(name) is not None)

        present = set(header.positions)
        # An optional column counts as present under any of its alternative names ("impr." / "impressions").
        missing = [name for name in self.optional if not present & set(name.split("|"))]
        drift = ColumnDrift.of(header.cells, known=is_known)
        return ColumnDrift(drift.unknown, tuple(name.split("|")[0] for name in missing))


_TOTAL = re.compile(r"^total(?:\s*:.*)?$", re.IGNORECASE)  # "Total", "Total: Account"; not a campaign "Totally"


def _starts_with_total(value: str | None) -> bool:
    return value is not None and _TOTAL.match(value.strip()) is not None


def _google_ui_cells(header: Header, row: list[str], context: SpendContext) -> SpendCells:
    return SpendCells(
        day=header.value(row, "day"),
        campaign_id=header.value(row, "campaign id"),
        campaign=header.value(row, "campaign"),
        spend=spend_amount(header.value(row, "cost"), "Cost"),
        currency=header.value(row, "currency code") or header.value(row, "currency"),
        impressions=whole_number(header.value(row, "impr.") or header.value(row, "impressions"), "Impr."),
        clicks=whole_number(header.value(row, "clicks"), "Clicks"),
        channel=context.channel("google_ads"),
        date_column="Day",
    )


def _google_api_cells(header: Header, row: list[str], context: SpendContext) -> SpendCells:
    return _google_api_record({name: header.value(row, name) for name in header.positions}, context)


def _google_api_record(record: dict[str, Any], context: SpendContext) -> SpendCells:
    def text(name: str) -> str | None:
        value = record.get(name)
        return None if value is None else str(value)

    return SpendCells(
        day=text("segments.date"),
        campaign_id=text("campaign.id"),
        campaign=text("campaign.name"),
        spend=micros_amount(record.get("metrics.cost_micros"), "metrics.cost_micros"),
        currency=text("customer.currency_code"),
        impressions=whole_number(text("metrics.impressions"), "metrics.impressions"),
        clicks=whole_number(text("metrics.clicks"), "metrics.clicks"),
        channel=context.channel("google_ads"),
        date_column="segments.date",
    )


def _meta_spend_column(header: Header) -> tuple[str, str | None] | None:
    for name in header.positions:
        match = _META_SPEND.match(name)
        if match:
            return name, match.group("currency").upper()
    return ("amount spent", None) if "amount spent" in header.positions else None


def _meta_cells(header: Header, row: list[str], context: SpendContext) -> SpendCells:
    spend_column, currency = _meta_spend_column(header) or ("amount spent", None)
    return SpendCells(
        day=header.value(row, "day"),
        campaign_id=header.value(row, "campaign id"),
        campaign=header.value(row, "campaign name"),
        spend=spend_amount(header.value(row, spend_column), "Amount spent"),
        currency=currency or header.value(row, "currency"),
        impressions=whole_number(header.value(row, "impressions"), "Impressions"),
        clicks=whole_number(header.value(row, "link clicks") or header.value(row, "clicks (all)"), "Link clicks"),
        channel=context.channel("meta_ads"),
        date_column="Day",
    )


def _generic_cells(header: Header, row: list[str], context: SpendContext) -> SpendCells:
    channel = (header.value(row, "channel") or "").strip()
    if not channel:
        raise RowError("missing channel")
    return SpendCells(
        day=header.value(row, "date"),
        campaign_id=header.value(row, "campaign_id"),
        campaign=header.value(row, "campaign"),
        spend=spend_amount(header.value(row, "spend"), "spend"),
        currency=header.value(row, "currency"),
        impressions=whole_number(header.value(row, "impressions"), "impressions"),
        clicks=whole_number(header.value(row, "clicks"), "clicks"),
        channel=context.channel(channel),
        date_column="date",
    )


_GOOGLE_API_OPTIONAL = ("campaign.id", "campaign.name", "metrics.impressions", "metrics.clicks")
CSV_LAYOUTS = (
    CsvLayout(
        GOOGLE_API,
        "google_ads",
        lambda h: h.has("segments.date", "metrics.cost_micros", "customer.currency_code"),
        lambda h, row: False,
        _google_api_cells,
        frozenset({"segments.date", "metrics.cost_micros", "customer.currency_code", *_GOOGLE_API_OPTIONAL}),
        _GOOGLE_API_OPTIONAL,
    ),
    CsvLayout(
        GOOGLE_UI,
        "google_ads",
        lambda h: h.has("day", "campaign", "cost") and (h.has("currency code") or h.has("currency")),
        lambda h, row: any(_starts_with_total(cell) for cell in row[:3]),
        _google_ui_cells,
        frozenset({"day", "campaign", "campaign id", "currency code", "currency", "cost", "impr.", "impressions"})
        | {"clicks"},
        ("campaign id", "impr.|impressions", "clicks"),
    ),
    CsvLayout(
        META,
        "meta_ads",
        lambda h: h.has("campaign name", "day") and _meta_spend_column(h) is not None,
        # The summary row Ads Manager adds has no Day (its reporting range covers the whole export).
        lambda h, row: not (h.value(row, "day") or "").strip(),
        _meta_cells,
        frozenset({"campaign name", "campaign id", "day", "amount spent", "currency", "impressions", "link clicks"})
        | {"clicks (all)", "reporting starts", "reporting ends"},
        ("campaign id", "impressions", "link clicks|clicks (all)"),
    ),
    CsvLayout(
        GENERIC,
        "generic",
        lambda h: h.has("date", "channel", "campaign", "spend", "currency"),
        lambda h, row: _starts_with_total(h.value(row, "date")) or _starts_with_total(h.value(row, "channel")),
        _generic_cells,
        frozenset({"date", "channel", "campaign", "spend", "currency", "campaign_id", "impressions", "clicks"}),
        ("campaign_id", "impressions", "clicks"),
    ),
)


def _find_header(rows: list[list[str]], label: str) -> tuple[int, Header, CsvLayout]:
    for position, cells in enumerate(rows[:MAX_HEADER_SEARCH_ROWS]):
        header = Header(cells)
        for layout in CSV_LAYOUTS:
            if layout.matches(header):
                return position, header, layout
    first = rows[0] if rows else []
    shown = ", ".join(repr(c) for c in first[:10]) + (", ..." if len(first) > 10 else "")
    meta_without_day = any(Header(r).has("campaign name") and not Header(r).has("day") for r in rows[:2])
    hint = "; a Meta export needs the Day breakdown" if meta_without_day else ""
    raise UnknownLayoutError(
        f"unknown layout: {label}: no Google Ads, Meta Ads or date,channel,campaign,spend,currency header in the "
        f"first {MAX_HEADER_SEARCH_ROWS} rows (first row: {shown}){hint}"
    )


def _load_row(out: ParsedFile, number: int, raw: str, build: Callable[[], dict[str, Any]]) -> None:
    try:
        row = build()
        problem = row_problem(SPEND_COLUMNS, row)  # a date outside 1900..2100, counts beyond BIGINT
        if problem is not None:
            raise RowError(problem)
    except RowError as exc:
        out.reject(number, ENTITY, None, raw, str(exc))
        return
    out.entities[ENTITY].append(row | {"_record_number": number})
    out.rows_loaded += 1


def parse_spend_csv(text: str, label: str, context: SpendContext) -> ParsedFile:
    rows = csv_rows(text, label)
    if not rows:
        raise UnknownLayoutError(f"unknown layout: {label}: the file is empty")
    position, header, layout = _find_header(rows, label)
    out = ParsedFile(layout.format, ENTITY, {ENTITY: []}, details={"preamble_rows": position})
    drift = layout.drift(header)
    out.unknown_columns, out.missing_columns = list(drift.unknown), list(drift.missing)
    zero_cost = 0
    cells_of, vendor = layout.cells, layout.vendor
    for number, cells in enumerate(rows[position + 1 :], 1):
        out.rows_in += 1
        raw = raw_json(dict(zip(header.cells, cells, strict=False)))
        if layout.is_totals(header, cells):
            out.rows_skipped += 1
            continue
        if len(cells) != len(header.cells):
            out.reject(number, ENTITY, None, raw, f"row has {len(cells)} cells, the header {len(header.cells)}")
            continue
        zero_cost += layout.format == GOOGLE_UI and _blank(header.value(cells, "cost"))
        _load_row(out, number, raw, lambda row=cells: spend_row(cells_of(header, row, context), vendor, context))
    if out.rows_skipped:
        out.notes.append(f"{out.rows_skipped} totals row(s) skipped, never loaded")
    if zero_cost:
        out.notes.append(f"{zero_cost} row(s) with Cost '--' loaded as zero spend")
    return out


# -- Google Ads API JSON --------------------------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"metrics": {"costMicros": "1"}} -> {"metrics.cost_micros": "1"} (the API's JSON is camelCase)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = ".".join(_CAMEL.sub("_", part).lower() for part in str(key).split("."))
        full = f"{prefix}.{name}" if prefix else name
        if isinstance(item, dict):
            flat |= _flatten(item, full)
        else:
            flat[full] = item
    return flat


def _google_api_rows(document: Any) -> list[Any] | None:
    """The report rows of a search response ({"results": [...]}), a searchStream array of them, or a bare array."""
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        return document["results"]
    if isinstance(document, list) and document and all(isinstance(d, dict) and "results" in d for d in document):
        return [row for batch in document for row in batch.get("results") or []]
    if isinstance(document, list):
        return document
    return None


def parse_spend_json(document: Any, label: str, context: SpendContext) -> ParsedFile:
    records = _google_api_rows(document)
    flat = [_flatten(r) if isinstance(r, dict) else None for r in records or []]
    if records is None or not any(f and "segments.date" in f and "metrics.cost_micros" in f for f in flat):
        kind = f"keys {', '.join(sorted(map(str, document))[:10])}" if isinstance(document, dict) else "no report rows"
        raise UnknownLayoutError(
            f"unknown layout: {label}: JSON without Google Ads report rows (segments.date, metrics.cost_micros); "
            f"saw {kind}"
        )
    out = ParsedFile(GOOGLE_API, ENTITY, {ENTITY: []})
    for number, (original, record) in enumerate(zip(records, flat, strict=True), 1):
        out.rows_in += 1
        raw = raw_json(original)
        if record is None:
            out.reject(number, ENTITY, None, raw, "report row is not a JSON object")
            continue
        _load_row(out, number, raw, lambda r=record: spend_row(_google_api_record(r, context), "google_ads", context))
    return out


def parse_spend_file(path: Path, label: str, context: SpendContext) -> ParsedFile:
    """Detect the layout of one landed marketing file from its content and parse it (no lake writes)."""
    content = decode_text(path.read_bytes(), label)
    stripped = content.lstrip()
    if not stripped:
        raise UnknownLayoutError(f"unknown layout: {label}: the file is empty")
    if stripped[0] in "{[":
        return parse_spend_json(load_json(content, label), label, context)
    return parse_spend_csv(content, label, context)


__all__ = ["SpendContext", "parse_spend_file"]
