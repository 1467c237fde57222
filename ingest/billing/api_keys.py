"""The top-level keys of Stripe's API objects, per the API reference (https://docs.stripe.com/api), for schema drift
(ingest/common/columns.py): a key outside its object's list is listed in the file's ``unknown_columns``; a key the
parser reads that no object of the file carries is listed in ``missing_columns``.

Only top-level keys are checked: nested objects (an invoice's ``lines``, a subscription's ``items``, prices, plans)
are Stripe objects of their own that the parser reads a few fields of, and ``metadata`` holds the account's own
keys by design. The lists hold every key of the current API version and the older ones still sent to accounts
pinned to an earlier version (a customer's ``sources``, an invoice's ``paid`` / ``subscription`` / ``tax``), so a
real export is not flagged for keys Stripe documents.
"""

from __future__ import annotations

from ingest.common.columns import ColumnDrift

_EVERY_OBJECT = frozenset({"id", "object", "livemode", "metadata"})

KNOWN_KEYS: dict[str, frozenset[str]] = {
    "customer": _EVERY_OBJECT
    | {
        "address", "balance", "business_name", "cash_balance", "created", "currency", "customer_account",
        "default_currency", "default_source", "deleted", "delinquent", "description", "discount", "email",
        "individual_name", "invoice_credit_balance", "invoice_prefix", "invoice_settings", "name",
        "next_invoice_sequence", "phone", "preferred_locales", "shipping", "sources", "subscriptions", "tax",
        "tax_exempt", "tax_ids", "test_clock",
    },
    "subscription": _EVERY_OBJECT
    | {
        "application", "application_fee_percent", "automatic_tax", "billing", "billing_cycle_anchor",
        "billing_cycle_anchor_config", "billing_mode", "billing_thresholds", "cancel_at", "cancel_at_period_end",
        "canceled_at", "cancellation_details", "collection_method", "created", "currency", "current_period_end",
        "current_period_start", "customer", "customer_account", "days_until_due", "default_payment_method",
        "default_source", "default_tax_rates", "description", "discount", "discounts", "ended_at",
        "invoice_settings", "items", "latest_invoice", "next_pending_invoice_item_invoice", "on_behalf_of",
        "pause_collection", "payment_settings", "pending_invoice_item_interval", "pending_setup_intent",
        "pending_update", "plan", "quantity", "schedule", "start_date", "status", "tax_percent", "test_clock",
        "transfer_data", "trial_end", "trial_settings", "trial_start",
    },
    "invoice": _EVERY_OBJECT
    | {
        "account_country", "account_name", "account_tax_ids", "amount_due", "amount_overpaid", "amount_paid",
        "amount_remaining", "amount_shipping", "application", "application_fee_amount", "attempt_count",
        "attempted", "auto_advance", "automatic_tax", "automatically_finalizes_at", "billing_reason", "charge",
        "closed", "collection_method", "confirmation_secret", "created", "currency", "custom_fields", "customer",
        "customer_account", "customer_address", "customer_email", "customer_name", "customer_phone",
        "customer_shipping", "customer_tax_exempt", "customer_tax_ids", "date", "default_payment_method",
        "default_source", "default_tax_rates", "description", "discount", "discounts", "due_date", "effective_at",
        "ending_balance", "footer", "forgiven", "from_invoice", "hosted_invoice_url", "invoice_pdf", "issuer",
        "last_finalization_error", "latest_revision", "lines", "next_payment_attempt", "number", "on_behalf_of",
        "paid", "paid_out_of_band", "parent", "payment_intent", "payment_settings", "payments", "period_end",
        "period_start", "post_payment_credit_notes_amount", "pre_payment_credit_notes_amount", "quote",
        "receipt_number", "rendering", "rendering_options", "shipping_cost", "shipping_details",
        "starting_balance", "statement_descriptor", "status", "status_transitions", "subscription",
        "subscription_details", "subscription_proration_date", "subtotal", "subtotal_excluding_tax", "tax",
        "tax_percent", "test_clock", "threshold_reason", "total", "total_discount_amounts", "total_excluding_tax",
        "total_pretax_credit_amounts", "total_tax_amounts", "total_taxes", "transfer_data",
        "webhooks_delivered_at",
    },
    "refund": _EVERY_OBJECT
    | {
        "amount", "balance_transaction", "charge", "created", "currency", "description", "destination_details",
        "failure_balance_transaction", "failure_reason", "instructions_email", "next_action", "payment_intent",
        "pending_reason", "presentment_details", "reason", "receipt_number", "source_transfer_reversal", "status",
        "transfer_reversal",
        # Not on Stripe's refund object, but read when an export joins them in (credit notes carry both).
        "customer", "invoice",
    },
    "credit_note": _EVERY_OBJECT
    | {
        "amount", "amount_shipping", "created", "currency", "customer", "customer_account",
        "customer_balance_transaction", "discount_amount", "discount_amounts", "effective_at", "invoice", "lines",
        "memo", "number", "out_of_band_amount", "pdf", "post_payment_amount", "pre_payment_amount",
        "pretax_credit_amounts", "reason", "refund", "refunds", "shipping_cost", "status", "subtotal",
        "subtotal_excluding_tax", "tax_amounts", "total", "total_excluding_tax", "total_taxes", "type",
        "voided_at",
    },
}  # fmt: skip

# Keys the parser reads that every object of the kind carries in the API version it was written for (null when
# unset): one missing from every object of a file loads as NULL, so it is listed. Keys Stripe sends only on some
# objects (``deleted``) or moved in newer versions and read as a fallback (``plan``, ``current_period_*``, a
# subscription's ``quantity``) are not.
OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {
    "customer": ("email", "address", "currency", "created"),
    "subscription": (
        "customer", "status", "items", "discount", "trial_start", "trial_end", "start_date", "cancel_at_period_end",
        "canceled_at", "ended_at", "created",
    ),
    "invoice": (
        "customer", "subscription", "status", "billing_reason", "currency", "subtotal", "tax", "amount_paid",
        "starting_balance", "period_start", "period_end", "created", "status_transitions", "lines",
    ),
    "refund": ("amount", "charge", "currency", "reason", "status", "created"),
    "credit_note": ("amount", "invoice", "customer", "currency", "reason", "status", "created"),
}  # fmt: skip


class ApiKeyDrift:
    """The drift of a Stripe list, per object kind, collected one record at a time (objects of kinds the parser
    rejects are not checked)."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}

    def observe(self, record: object) -> None:
        if isinstance(record, dict) and isinstance(kind := record.get("object"), str) and kind in KNOWN_KEYS:
            self.seen.setdefault(kind, set()).update(record)

    def drift(self) -> ColumnDrift:
        drift = ColumnDrift()
        for kind, known in KNOWN_KEYS.items():
            if kind in self.seen:  # one record holding every key seen: the same drift as all of them
                record = dict.fromkeys(self.seen[kind])
                drift = drift.merged(ColumnDrift.of_records([record], known=known, optional=OPTIONAL_KEYS[kind]))
        return drift


def api_key_drift(records: list[object]) -> ColumnDrift:
    """The drift of a Stripe list, per object kind (objects of kinds the parser rejects are not checked)."""
    collector = ApiKeyDrift()
    for record in records:
        collector.observe(record)
    return collector.drift()
