"""Stripe exports -> billing/* rows: dashboard CSVs (major units, "(UTC)" and "(metadata)" headers) and API JSON
lists (integer minor units, epoch seconds), detected from the content: CSV headers, or the objects' `object` field.

Records that cannot be loaded are quarantined with a reason naming the field and value; an invoice must belong to a
known customer (this file's, an earlier file's in this run, or one already in the lake).

Given the ingest loop's ``RowStage``, rows go to it as they are made. A dashboard CSV is then read from disk row by
row, so memory does not grow with the export (a 22 MB invoices.csv held whole peaked 230 MB above the interpreter).
An API JSON list is read twice record by record (ingest/common/json_stream.py), never whole: first to count its
objects per kind, collect their key drift and the file's own customers, then to load them (an export of every
invoice is one 400 MB list, not the API's pages of 100).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.billing import contract
from ingest.billing.api_keys import ApiKeyDrift
from ingest.billing.values import (
    INTEGER_BITS,
    RowError,
    api_integer,
    billing_currency,
    csv_bool,
    csv_integer,
    csv_minor,
    csv_time,
    epoch_time,
    interval,
    object_id,
    optional_currency,
    percent_off,
    split_metadata,
    text,
)
from ingest.common.columns import ColumnDrift
from ingest.common.errors import MalformedFileError, UnknownLayoutError
from ingest.common.identity import email_hash
from ingest.common.json_stream import JsonStream, check_utf8
from ingest.common.parsed import ParsedFile
from ingest.common.ranges import rows_problem
from ingest.common.text import decode_text, load_json, raw_json

if TYPE_CHECKING:
    from ingest.common.row_writer import RowStage

CSV_FORMAT = "stripe_csv"
API_FORMAT = "stripe_api"
METADATA_SUFFIX = "(metadata)"


@dataclass
class BillingContext:
    """What a file is checked against: currencies with a rate, and customers known before this file."""

    fx_currencies: frozenset[str]
    known_customers: set[str]


def _empty_entities() -> dict[str, list[dict[str, Any]]]:
    return {entity: [] for entity in contract.ENTITIES}


@dataclass
class StripeFile(ParsedFile):
    """A parsed Stripe file. With a ``stage``, rows and quarantine rows go to it as they are made instead of into
    ``entities`` / ``quarantine``; ``customer_ids`` are the file's loaded customers either way (what later files'
    invoices may refer to)."""

    customer_ids: set[str] = field(default_factory=set)
    stage: RowStage | None = field(default=None, repr=False)

    def add(self, entity: str, rows: list[dict[str, Any]]) -> None:
        if entity == "customers":
            self.customer_ids.update(row["customer_id"] for row in rows)
        if self.stage is not None:
            self.stage.add(entity, rows)
        else:
            self.entities[entity].extend(rows)

    def reject(self, record_number: int, entity: str, key: str | None, raw: str, reason: str) -> None:
        if self.stage is None:
            super().reject(record_number, entity, key, raw, reason)
            return
        self.stage.reject(
            {"_record_number": record_number, "entity": entity, "record_key": key, "raw_record": raw, "reason": reason}
        )
        self.rows_rejected += 1


# -- dashboard CSV ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvLayout:
    name: str
    entity: str
    signature: frozenset[str]  # lower-cased headers that identify the export
    required: frozenset[str]  # headers it cannot be loaded without (beyond the signature)
    optional: frozenset[str]  # headers read when present (their absence is listed as missing_columns)
    # Columns known to the layout but never reported: alternative names read when the usual one is empty, and
    # dashboard columns that carry nothing the lake keeps (names and e-mails beside an id, display numbers, derived
    # totals). Any other column is listed in unknown_columns.
    unreported: frozenset[str] = frozenset()

    def drift(self, headers: list[str]) -> ColumnDrift:
        read = self.signature | self.required | self.optional | self.unreported
        return ColumnDrift.of(
            headers, known=lambda name: name.lower() in read or name.lower().endswith(METADATA_SUFFIX),
            optional=sorted(self.optional), fold=str.lower,
        )  # fmt: skip


_TIMES = ("trial start (utc)", "trial end (utc)", "start (utc)", "current period start (utc)")
CSV_LAYOUTS = (
    CsvLayout(
        "customers",
        "customers",
        frozenset({"id", "email", "created (utc)"}),
        frozenset(),
        frozenset({"card country", "currency", "deleted"}),
        frozenset({"description", "name", "delinquent", "balance", "plan", "status", "cancel at period end"}),
    ),
    CsvLayout(
        "subscriptions",
        "subscriptions",
        frozenset({"id", "customer id", "plan", "status"}),
        frozenset({"currency"}),
        frozenset(
            {"product", "quantity", "interval", "amount", "percent off", "amount off", "created (utc)", *_TIMES}
            | {"current period end (utc)", "cancel at period end", "canceled at (utc)", "ended at (utc)"}
        ),
        frozenset({"customer name", "customer email", "customer description", "coupon"}),
    ),
    CsvLayout(
        "invoices",
        "invoices",
        frozenset({"id", "customer", "total", "amount paid"}),
        frozenset({"currency"}),
        frozenset(
            {"subscription", "status", "billing reason", "subtotal", "discount", "tax", "starting balance"}
            | {"period start (utc)", "period end (utc)", "date (utc)", "paid at (utc)"}
        ),
        frozenset({"number", "customer email", "customer name", "amount due", "amount remaining"}),
    ),
    CsvLayout(
        "refunds",
        "refunds",
        frozenset({"id", "charge id", "amount", "created (utc)"}),
        frozenset({"currency"}),
        frozenset({"invoice id", "customer id", "reason", "status"}),
        frozenset({"invoice", "customer"}),
    ),
    CsvLayout(
        "credit_notes",
        "refunds",
        frozenset({"id", "invoice", "customer", "amount", "created (utc)"}),
        frozenset({"currency"}),
        frozenset({"reason", "status"}),
        frozenset({"invoice id", "customer id", "charge id", "number", "customer email", "customer name"}),
    ),
)


class CsvHeader:
    """A dashboard header, read once per file: each column's position (the first of a name repeated, compared
    case-insensitively), its name as written (for reasons) and the metadata columns (the key without the suffix)."""

    def __init__(self, headers: list[str]):
        self.positions: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.metadata: list[tuple[str, int]] = []
        for position, header in enumerate(headers):
            name = header.strip()
            if name.lower().endswith(METADATA_SUFFIX):
                self.metadata.append((name[: -len(METADATA_SUFFIX)].strip(), position))
            else:
                self.positions.setdefault(name.lower(), position)
                self.names.setdefault(name.lower(), name)


class CsvRecord:
    """One dashboard row, addressed by header name case-insensitively; metadata columns kept apart. The header is
    resolved once per file (``CsvHeader``): per row only the cells asked for are looked up."""

    __slots__ = ("cells", "header")

    def __init__(self, header: CsvHeader, cells: list[str]):
        self.header = header
        self.cells = cells

    @property
    def metadata(self) -> dict[str, str]:
        cells = self.cells
        return {key: cells[position] for key, position in self.header.metadata if position < len(cells)}

    def get(self, column: str) -> str | None:
        position = self.header.positions.get(column)
        return self.cells[position] if position is not None and position < len(self.cells) else None

    def text(self, column: str) -> str | None:
        return text(self.get(column))

    def time(self, column: str) -> Any:
        return csv_time(self.get(column), self.header.names.get(column, column))

    def minor(self, column: str, currency: str) -> int | None:
        return csv_minor(self.get(column), currency, self.header.names.get(column, column))


def detect_csv_layout(headers: list[str], label: str) -> CsvLayout:
    folded = {h.strip().lower() for h in headers}
    for layout in CSV_LAYOUTS:
        if layout.signature <= folded:
            missing = sorted(layout.required - folded)
            if missing:
                raise MalformedFileError(
                    f"{label}: Stripe {layout.name} export without the column(s) {', '.join(missing)} "
                    "(header names compared case-insensitively)"
                )
            return layout
    shown = ", ".join(repr(h) for h in headers[:10]) + (", ..." if len(headers) > 10 else "")
    raise UnknownLayoutError(
        f"unknown layout: {label}: not JSON, and the CSV header matches no Stripe export (saw {shown})"
    )


def _csv_customer(row: CsvRecord, context: BillingContext) -> dict[str, Any]:
    return {
        "customer_id": row.text("id"),
        "email_hash": email_hash(row.get("email")),
        **split_metadata(row.metadata),
        "country": (row.text("card country") or "").upper() or None,
        "currency": optional_currency(row.get("currency")),
        "created_at": row.time("created (utc)"),
        "is_deleted": bool(csv_bool(row.get("deleted"), "Deleted")),
    }


def _csv_subscription(row: CsvRecord, context: BillingContext) -> dict[str, Any]:
    currency = billing_currency(row.get("currency"), context.fx_currencies)
    plan_interval, interval_count = interval(row.get("interval"), "Interval")
    return {
        "subscription_id": row.text("id"),
        "customer_id": row.text("customer id"),
        "status": row.text("status"),
        "plan_id": row.text("plan"),
        "plan_nickname": row.text("product"),  # the dashboard names the product, the API the price's nickname
        "plan_interval": plan_interval,
        "plan_interval_count": interval_count,
        "unit_amount_minor": row.minor("amount", currency),
        "currency": currency,
        "quantity": csv_integer(row.get("quantity"), "Quantity", INTEGER_BITS),
        "discount_percent_off": percent_off(row.get("percent off"), "Percent Off"),
        "discount_amount_off_minor": row.minor("amount off", currency),
        "trial_start": row.time("trial start (utc)"),
        "trial_end": row.time("trial end (utc)"),
        "started_at": row.time("start (utc)"),
        "current_period_start": row.time("current period start (utc)"),
        "current_period_end": row.time("current period end (utc)"),
        "cancel_at_period_end": csv_bool(row.get("cancel at period end"), "Cancel At Period End"),
        "canceled_at": row.time("canceled at (utc)"),
        "ended_at": row.time("ended at (utc)"),
        "created_at": row.time("created (utc)"),
    }


def _csv_invoice(row: CsvRecord, context: BillingContext) -> dict[str, Any]:
    currency = billing_currency(row.get("currency"), context.fx_currencies)
    total = row.minor("total", currency)
    if total is None:
        raise RowError("invoice without a Total")
    return {
        "invoice_id": row.text("id"),
        "customer_id": row.text("customer"),
        "subscription_id": row.text("subscription"),
        "status": row.text("status"),
        "billing_reason": row.text("billing reason"),
        "currency": currency,
        "subtotal_minor": row.minor("subtotal", currency),
        "discount_minor": row.minor("discount", currency),
        "tax_minor": row.minor("tax", currency),
        "total_minor": total,
        "amount_paid_minor": row.minor("amount paid", currency),
        "starting_balance_minor": row.minor("starting balance", currency),
        "period_start": row.time("period start (utc)"),
        "period_end": row.time("period end (utc)"),
        "created_at": row.time("date (utc)"),
        "paid_at": row.time("paid at (utc)"),
    }


def _csv_refund(row: CsvRecord, context: BillingContext, kind: str) -> dict[str, Any]:
    currency = billing_currency(row.get("currency"), context.fx_currencies)
    amount = row.minor("amount", currency)
    return {
        "refund_id": row.text("id"),
        "kind": kind,
        "invoice_id": row.text("invoice id") or row.text("invoice"),
        "charge_id": row.text("charge id"),
        "customer_id": row.text("customer id") or row.text("customer"),
        "amount_minor": _positive_amount(amount, kind),
        "currency": currency,
        "reason": row.text("reason"),
        "status": row.text("status"),
        "created_at": row.time("created (utc)"),
    }


def _positive_amount(amount: int | None, kind: str) -> int:
    noun = "credit note" if kind == "credit_note" else "refund"
    if amount is None:
        raise RowError(f"{noun} without an amount")
    if amount < 0:
        raise RowError(f"negative {noun} amount {amount} (minor units); the amount given back is positive")
    return amount


_CSV_BUILDERS: dict[str, Callable[[CsvRecord, BillingContext], dict[str, Any]]] = {
    "customers": _csv_customer,
    "subscriptions": _csv_subscription,
    "invoices": _csv_invoice,
    "refunds": lambda row, context: _csv_refund(row, context, "refund"),
    "credit_notes": lambda row, context: _csv_refund(row, context, "credit_note"),
}
_ID_COLUMNS = {
    "customers": "customer_id",
    "subscriptions": "subscription_id",
    "invoices": "invoice_id",
    "refunds": "refund_id",
}


# The contract columns a range can be wrong for: text and booleans never are (ranges.value_problem passes them), and
# the lineage columns are stamped by the loop. Checking only these gives the same first problem, at a fraction of
# the per-row cost.
_RANGE_COLUMNS = {
    entity: tuple(
        (name, sql_type)
        for name, sql_type in columns
        if sql_type not in ("VARCHAR", "BOOLEAN") and (name, sql_type) not in contract.LINEAGE_COLUMNS
    )
    for entity, columns in contract.ENTITIES.items()
}


def _check_ranges(rows: dict[str, list[dict[str, Any]]]) -> None:
    """A time outside 1900..2100 or a number its column cannot hold is the record's reason (ingest/common/ranges.py)."""
    problem = rows_problem(_RANGE_COLUMNS, rows)
    if problem is not None:
        raise RowError(problem)


def _check_invoice_customer(row: dict[str, Any], known: set[str]) -> None:
    customer = row.get("customer_id")
    if customer is None:
        raise RowError("invoice without a customer")
    if customer not in known:
        raise RowError(
            f"unknown customer {customer}: not among this file's customers nor billing/customers already loaded"
        )


def parse_stripe_csv(
    rows: Iterable[list[str]], label: str, context: BillingContext, stage: RowStage | None = None
) -> StripeFile:
    """``rows``: the file's non-blank CSV rows, header first, read once in order (``csv_file_rows``)."""
    data = iter(rows)
    headers = next(data, None)
    if headers is None:
        raise UnknownLayoutError(f"unknown layout: {label}: the file is empty")
    layout = detect_csv_layout(headers, label)
    out = StripeFile(CSV_FORMAT, layout.entity, _empty_entities(), details={"layout": layout.name}, stage=stage)
    drift = layout.drift(headers)
    out.unknown_columns, out.missing_columns = list(drift.unknown), list(drift.missing)
    build = _CSV_BUILDERS[layout.name]
    id_column = _ID_COLUMNS[layout.entity]
    id_position = [h.strip().lower() for h in headers].index("id")
    header = CsvHeader(headers)
    width = len(headers)
    is_invoice = layout.entity == "invoices"

    def reject(number: int, cells: list[str], reason: str) -> None:
        # The raw record (JSON, e-mails hashed) is made for rejected rows only: most rows never need it.
        key = text(cells[id_position]) if id_position < len(cells) else None
        out.reject(number, layout.entity, key, raw_json(dict(zip(headers, cells, strict=False))), reason)

    for number, cells in enumerate(data, 1):
        out.rows_in += 1
        if len(cells) != width:
            reject(number, cells, f"row has {len(cells)} cells, the header {width}")
            continue
        try:
            row = build(CsvRecord(header, cells), context)
            if not row[id_column]:
                raise RowError("record without an id")
            if is_invoice:
                _check_invoice_customer(row, context.known_customers)
            _check_ranges({layout.entity: [row]})
        except RowError as exc:
            reject(number, cells, str(exc))
            continue
        row["_record_number"] = number
        out.add(layout.entity, [row])
        out.rows_loaded += 1
    return out


def csv_file_rows(path: Path, label: str) -> Iterator[list[str]]:
    """The non-blank CSV rows of a landed file, read from disk as they are consumed (never the whole text), split
    and decoded exactly as the whole text was (UTF-8 without its BOM, quoted multi-line cells kept whole). A file
    that is not UTF-8 fails with the whole-file error naming the first bad byte, a malformed one with csv's error."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            try:
                for row in csv.reader(handle):
                    if any(cell.strip() for cell in row):
                        yield row
            except csv.Error as exc:
                raise MalformedFileError(f"malformed CSV in {label}: {exc}") from None
    except UnicodeDecodeError:
        decode_text(path.read_bytes(), label)  # raises MalformedFileError with the offset of the first bad byte
        raise


# -- API JSON -----------------------------------------------------------------------------------------------------

OBJECT_ENTITIES = {
    "customer": "customers",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "refund": "refunds",
    "credit_note": "refunds",
}


def _api_customer(obj: dict[str, Any], context: BillingContext) -> dict[str, Any]:
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise RowError(f"metadata {metadata!r} is not an object")
    address = obj.get("address") or (obj.get("shipping") or {}).get("address") or {}
    return {
        "customer_id": object_id(obj.get("id")),
        "email_hash": email_hash(obj.get("email")) if isinstance(obj.get("email"), str) else None,
        **split_metadata(metadata),
        "country": (text(address.get("country")) or "").upper() or None,
        "currency": optional_currency(obj.get("currency")),
        "created_at": epoch_time(obj.get("created"), "created"),
        "is_deleted": obj.get("deleted") is True,
    }


def _api_subscription(obj: dict[str, Any], context: BillingContext, notes: list[str]) -> dict[str, Any]:
    items = ((obj.get("items") or {}).get("data")) or []
    item = items[0] if items else {}
    if len(items) > 1:
        notes.append(f"subscription {obj.get('id')} has {len(items)} items; the first one is loaded")
    price = item.get("price") or item.get("plan") or obj.get("plan") or {}
    recurring = price.get("recurring") or {}
    currency = billing_currency(price.get("currency") or obj.get("currency"), context.fx_currencies)
    plan_interval, _ = interval(recurring.get("interval") or price.get("interval"), "interval")
    coupon = (obj.get("discount") or {}).get("coupon") or {}
    unit_amount = price.get("unit_amount") if "unit_amount" in price else price.get("amount")
    quantity = obj.get("quantity") if obj.get("quantity") is not None else item.get("quantity")
    return {
        "subscription_id": object_id(obj.get("id")),
        "customer_id": object_id(obj.get("customer")),
        "status": text(obj.get("status")),
        "plan_id": object_id(price.get("id")),
        "plan_nickname": text(price.get("nickname")),
        "plan_interval": plan_interval,
        "plan_interval_count": api_integer(
            recurring.get("interval_count") or price.get("interval_count"), "interval_count", INTEGER_BITS
        ),
        "unit_amount_minor": api_integer(unit_amount, "unit_amount"),
        "currency": currency,
        "quantity": api_integer(quantity, "quantity", INTEGER_BITS),
        "discount_percent_off": percent_off(coupon.get("percent_off"), "coupon.percent_off"),
        "discount_amount_off_minor": api_integer(coupon.get("amount_off"), "coupon.amount_off"),
        "trial_start": epoch_time(obj.get("trial_start"), "trial_start"),
        "trial_end": epoch_time(obj.get("trial_end"), "trial_end"),
        "started_at": epoch_time(obj.get("start_date"), "start_date"),
        # Newer API versions moved the period onto the subscription item.
        "current_period_start": epoch_time(
            obj.get("current_period_start") or item.get("current_period_start"), "current_period_start"
        ),
        "current_period_end": epoch_time(
            obj.get("current_period_end") or item.get("current_period_end"), "current_period_end"
        ),
        "cancel_at_period_end": _api_bool(obj.get("cancel_at_period_end")),
        "canceled_at": epoch_time(obj.get("canceled_at"), "canceled_at"),
        "ended_at": epoch_time(obj.get("ended_at"), "ended_at"),
        "created_at": epoch_time(obj.get("created"), "created"),
    }


def _api_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _invoice_discount(obj: dict[str, Any]) -> int | None:
    if "total_discount_amounts" in obj and isinstance(obj["total_discount_amounts"], list):
        amounts = [api_integer(d.get("amount"), "total_discount_amounts.amount") for d in obj["total_discount_amounts"]]
        return sum(a for a in amounts if a is not None)
    discount = obj.get("discount")
    return api_integer(discount, "discount") if not isinstance(discount, dict) else None


def _invoice_lines(obj: dict[str, Any], invoice: dict[str, Any], context: BillingContext) -> list[dict[str, Any]]:
    lines = []
    for position, line in enumerate(((obj.get("lines") or {}).get("data")) or [], 1):
        where = f"line {position} ({line.get('id')})"
        try:
            price = line.get("price") or line.get("plan") or {}
            recurring = price.get("recurring") or {}
            period = line.get("period") or {}
            currency = billing_currency(line.get("currency") or obj.get("currency"), context.fx_currencies)
            plan_interval, _ = interval(recurring.get("interval") or price.get("interval"), "interval")
            amount = api_integer(line.get("amount"), "amount")
            if amount is None:
                raise RowError("amount missing")
            lines.append(
                {
                    "invoice_id": invoice["invoice_id"],
                    "line_id": object_id(line.get("id")),
                    "subscription_id": object_id(line.get("subscription")) or invoice["subscription_id"],
                    "plan_id": object_id(price.get("id")),
                    "plan_interval": plan_interval,
                    "description": text(line.get("description")),
                    "amount_minor": amount,
                    "currency": currency,
                    "quantity": api_integer(line.get("quantity"), "quantity", INTEGER_BITS),
                    "proration": _api_bool(line.get("proration")),
                    "period_start": epoch_time(period.get("start"), "period.start"),
                    "period_end": epoch_time(period.get("end"), "period.end"),
                }
            )
        except RowError as exc:
            raise RowError(f"{where}: {exc}") from None
    return lines


def _api_invoice(obj: dict[str, Any], context: BillingContext, notes: list[str]) -> dict[str, Any]:
    currency = billing_currency(obj.get("currency"), context.fx_currencies)
    total = api_integer(obj.get("total"), "total")
    if total is None:
        raise RowError("invoice without a total")
    paid_at = (obj.get("status_transitions") or {}).get("paid_at", obj.get("paid_at"))
    lines_page = obj.get("lines") or {}
    if lines_page.get("has_more"):
        notes.append(
            f"invoice {obj.get('id')}: lines truncated (has_more), {len(lines_page.get('data') or [])} of "
            f"{lines_page.get('total_count', '?')} loaded"
        )
    return {
        "invoice_id": object_id(obj.get("id")),
        "customer_id": object_id(obj.get("customer")),
        "subscription_id": object_id(obj.get("subscription")),
        "status": text(obj.get("status")),
        "billing_reason": text(obj.get("billing_reason")),
        "currency": currency,
        "subtotal_minor": api_integer(obj.get("subtotal"), "subtotal"),
        "discount_minor": _invoice_discount(obj),
        "tax_minor": api_integer(obj.get("tax"), "tax"),
        "total_minor": total,
        "amount_paid_minor": api_integer(obj.get("amount_paid"), "amount_paid"),
        "starting_balance_minor": api_integer(obj.get("starting_balance"), "starting_balance"),
        "period_start": epoch_time(obj.get("period_start"), "period_start"),
        "period_end": epoch_time(obj.get("period_end"), "period_end"),
        "created_at": epoch_time(obj.get("created"), "created"),
        "paid_at": epoch_time(paid_at, "status_transitions.paid_at"),
    }


def _api_refund(obj: dict[str, Any], context: BillingContext) -> dict[str, Any]:
    kind = "credit_note" if obj.get("object") == "credit_note" else "refund"
    currency = billing_currency(obj.get("currency"), context.fx_currencies)
    amount = api_integer(obj.get("amount") if obj.get("amount") is not None else obj.get("total"), "amount")
    return {
        "refund_id": object_id(obj.get("id")),
        "kind": kind,
        "invoice_id": object_id(obj.get("invoice")),
        "charge_id": object_id(obj.get("charge")),
        "customer_id": object_id(obj.get("customer")),
        "amount_minor": _positive_amount(amount, kind),
        "currency": currency,
        "reason": text(obj.get("reason")),
        "status": text(obj.get("status")),
        "created_at": epoch_time(obj.get("created"), "created"),
    }


def _api_layout_error(document: Any, label: str) -> UnknownLayoutError:
    if isinstance(document, dict):
        seen = f"an object with keys {', '.join(sorted(map(str, document))[:10])}"
        if "object" in document:
            seen = f"a Stripe {document.get('object')!r} object"
    else:
        seen = f"a JSON {type(document).__name__}"
    return UnknownLayoutError(f"unknown layout: {label}: expected a Stripe list or object, saw {seen}")


def _api_records(document: Any, label: str) -> tuple[list[Any], bool]:
    """The objects of a list envelope, a bare array or a single object; and whether the vendor has more pages."""
    if isinstance(document, dict) and document.get("object") == "list":
        data = document.get("data")
        if not isinstance(data, list):
            raise MalformedFileError(f"{label}: Stripe list without a data array")
        return data, document.get("has_more") is True
    if isinstance(document, dict) and document.get("object") in OBJECT_ENTITIES:
        return [document], False
    if isinstance(document, list) and document and all(isinstance(o, dict) and "object" in o for o in document):
        return document, False
    raise _api_layout_error(document, label)


class ApiSurvey:
    """What a first pass over a document's records learns before any is loaded: how many objects of each kind
    (the file's main entity), the key drift, and the file's customers (its invoices may name them)."""

    def __init__(self) -> None:
        self.types: Counter[Any] = Counter()
        self.records = 0
        self.all_stripe_objects = True  # every record an object with an `object` field (a bare array must be)
        self.drift = ApiKeyDrift()
        self.customers: set[str] = set()

    @classmethod
    def of(cls, records: Iterable[Any]) -> ApiSurvey:
        survey = cls()
        for record in records:
            survey.observe(record)
        return survey

    def observe(self, record: Any) -> None:
        self.records += 1
        if not isinstance(record, dict):
            self.types[type(record).__name__] += 1
            self.all_stripe_objects = False
            return
        kind = record.get("object")
        self.types[kind] += 1
        self.all_stripe_objects = self.all_stripe_objects and "object" in record
        self.drift.observe(record)
        if kind == "customer" and (customer := object_id(record.get("id"))) is not None:
            self.customers.add(customer)


def parse_stripe_api(document: Any, label: str, context: BillingContext, stage: RowStage | None = None) -> StripeFile:
    """A document already parsed (a file that is one Stripe object)."""
    records, has_more = _api_records(document, label)
    return _parse_api_records(lambda: iter(records), ApiSurvey.of(records), has_more, label, context, stage)


_STREAMED = object()  # the top-level member whose array was walked record by record, not kept


def parse_stripe_api_file(path: Path, label: str, context: BillingContext, stage: RowStage | None = None) -> StripeFile:
    """A JSON file read twice record by record (ingest.common.json_stream), never whole: first to survey its
    records (kinds, drift, customers) and check the whole document is well-formed, then to load them. Only a file
    that is a single Stripe object is parsed whole (it is one record)."""
    check_utf8(path, label)
    survey = ApiSurvey()
    data_arrays = 0  # "data" members holding an array: like json.loads, the last one counts
    top: Any
    with JsonStream(path, label) as stream:
        kind = stream.kind()
        if kind == "object":
            top = {}
            for key in stream.members():
                if key == "data" and stream.kind() == "array":
                    survey, data_arrays = ApiSurvey(), data_arrays + 1
                    for record in stream.items():
                        survey.observe(record)
                    top[key] = _STREAMED
                else:
                    top[key] = stream.value()
        elif kind == "array":
            for record in stream.items():
                survey.observe(record)
            top = _STREAMED
        else:
            top = stream.value()
        stream.finish()
    if top is _STREAMED:
        if not (survey.records and survey.all_stripe_objects):
            raise _api_layout_error([], label)  # "a JSON list", as for the whole document
        return _parse_api_records(lambda: _streamed_records(path, label, None), survey, False, label, context, stage)
    if isinstance(top, dict) and top.get("object") == "list":
        if top.get("data") is not _STREAMED:
            raise MalformedFileError(f"{label}: Stripe list without a data array")
        return _parse_api_records(
            lambda: _streamed_records(path, label, data_arrays),
            survey,
            top.get("has_more") is True,
            label,
            context,
            stage,
        )
    if isinstance(top, dict) and top.get("object") in OBJECT_ENTITIES:
        document = load_json(decode_text(path.read_bytes(), label), label)
        return parse_stripe_api(document, label, context, stage)
    raise _api_layout_error(top, label)


def _streamed_records(path: Path, label: str, data_array: int | None) -> Iterator[Any]:
    """The records again: the top-level array's, or those of the ``data_array``-th "data" array of the object."""
    with JsonStream(path, label) as stream:
        if data_array is None:
            yield from stream.items()
            return
        seen = 0
        for key in stream.members():
            if key == "data" and stream.kind() == "array":
                seen += 1
                if seen == data_array:
                    yield from stream.items()
                    return
            stream.skip()


def _parse_api_records(
    records: Callable[[], Iterable[Any]],
    survey: ApiSurvey,
    has_more: bool,
    label: str,
    context: BillingContext,
    stage: RowStage | None,
) -> StripeFile:
    """Load the records ``records()`` gives (read once, in order), checked against what ``survey`` saw of them."""
    types = survey.types
    known_types = [t for t, _ in types.most_common() if t in OBJECT_ENTITIES]
    if survey.records and not known_types:
        shown = ", ".join(f"{t!r} x{n}" for t, n in types.most_common(5))
        raise UnknownLayoutError(f"unknown layout: {label}: no Stripe billing objects in the list (saw {shown})")
    main_entity = OBJECT_ENTITIES[known_types[0]] if known_types else "customers"
    out = StripeFile(API_FORMAT, main_entity, _empty_entities(), details={"objects": dict(types)}, stage=stage)
    if has_more:
        out.notes.append("the list has more pages (has_more); land them as further files")
    drift = survey.drift.drift()
    out.unknown_columns, out.missing_columns = list(drift.unknown), list(drift.missing)
    # Customers anywhere in this file count as known to its invoices.
    known = context.known_customers | survey.customers
    for number, obj in enumerate(records(), 1):
        out.rows_in += 1
        kind = obj.get("object") if isinstance(obj, dict) else None
        entity = OBJECT_ENTITIES.get(kind or "", main_entity)
        try:
            if kind not in OBJECT_ENTITIES:
                raise RowError(f"not a billing object (object {kind!r})")
            assert isinstance(obj, dict)
            lines: list[dict[str, Any]] = []
            if kind == "customer":
                row = _api_customer(obj, context)
            elif kind == "subscription":
                row = _api_subscription(obj, context, out.notes)
            elif kind == "invoice":
                row = _api_invoice(obj, context, out.notes)
                _check_invoice_customer(row, known)
                lines = _invoice_lines(obj, row, context)
            else:
                row = _api_refund(obj, context)
            if not row[_ID_COLUMNS[entity]]:
                raise RowError("record without an id")
            _check_ranges({entity: [row], "invoice_lines": lines})
        except RowError as exc:
            _reject_api(out, number, entity, obj, str(exc))
            continue
        except (AttributeError, TypeError) as exc:  # a nested field of the wrong JSON type
            _reject_api(out, number, entity, obj, f"unexpected structure: {exc}")
            continue
        row["_record_number"] = number
        out.add(entity, [row])
        for line in lines:
            line["_record_number"] = number
        out.add("invoice_lines", lines)
        out.rows_loaded += 1
    if out.rows_in != survey.records:  # the two passes must read the same records
        raise MalformedFileError(f"{label}: read {survey.records} records, then {out.rows_in}")
    return out


def _reject_api(out: StripeFile, number: int, entity: str, obj: Any, reason: str) -> None:
    # The raw record (JSON, e-mails hashed) is made for rejected records only.
    key = object_id(obj.get("id")) if isinstance(obj, dict) else None
    out.reject(number, entity, key, raw_json(obj), reason)


_SNIFF_CHARS = 4096


def _first_character(path: Path, label: str) -> str:
    """The file's first character that is not whitespace ('' for a blank file), read in small chunks."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            while chunk := handle.read(_SNIFF_CHARS):
                stripped = chunk.lstrip()
                if stripped:
                    return stripped[0]
    except UnicodeDecodeError:
        decode_text(path.read_bytes(), label)  # raises MalformedFileError with the offset of the first bad byte
        raise
    return ""


def parse_stripe_file(path: Path, label: str, context: BillingContext, stage: RowStage | None = None) -> StripeFile:
    """Detect the layout of one landed billing file from its content and parse it (no lake writes). With a
    ``stage`` the rows go there as they are made, and a CSV is never read whole."""
    first = _first_character(path, label)
    if not first:
        raise UnknownLayoutError(f"unknown layout: {label}: the file is empty")
    if first in "{[":
        return parse_stripe_api_file(path, label, context, stage)
    return parse_stripe_csv(csv_file_rows(path, label), label, context, stage)


def is_customer_file(head: str) -> bool:
    """A cheap sniff for load ordering: customer exports go first, so invoices in the same run find them."""
    if head.startswith(("{", "[")):
        return re.search(r'"object"\s*:\s*"customer"', head) is not None
    first_line = head.splitlines()[0].lower() if head else ""
    cells = {cell.strip().strip('"') for cell in first_line.split(",")}
    return {"id", "email", "created (utc)"} <= cells


__all__ = ["BillingContext", "StripeFile", "is_customer_file", "parse_stripe_file"]
