"""The `billing/*` lake contracts (DESIGN.md): what ingest writes and dbt's sources read.

Money: integer MINOR units (cents) + ISO 4217 currency, exactly as Stripe's API gives them; dashboard CSV amounts
(major units with decimals) are converted to minor units at parse time with the currency's exponent (JPY 0, most
2, a few 3), never through a float. Conversion between currencies happens once, in dbt, from config rates.
Times are TIMESTAMP (naive, UTC). No raw email: `email_hash` (ingest.common.identity.email_hash).
"""

from __future__ import annotations

SOURCE = "billing"

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),
    ("_source_format", "VARCHAR"),  # stripe_csv | stripe_api
    ("_record_number", "BIGINT"),
    ("_file_sha256", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

CUSTOMER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_id", "VARCHAR"),  # cus_...
    ("email_hash", "VARCHAR"),
    ("user_id", "VARCHAR"),  # product user id from metadata (links to analytics)
    ("acquisition_channel", "VARCHAR"),  # from metadata, when the company records it there
    ("acquisition_campaign", "VARCHAR"),
    ("country", "VARCHAR"),
    ("currency", "VARCHAR"),  # lower-case ISO 4217 as Stripe writes it
    ("created_at", "TIMESTAMP"),
    ("is_deleted", "BOOLEAN"),
    ("metadata", "VARCHAR"),  # JSON object text, other metadata keys
) + LINEAGE_COLUMNS

SUBSCRIPTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("subscription_id", "VARCHAR"),
    ("customer_id", "VARCHAR"),
    ("status", "VARCHAR"),  # trialing | active | past_due | canceled | unpaid | incomplete(_expired) | paused
    ("plan_id", "VARCHAR"),  # price id
    ("plan_nickname", "VARCHAR"),
    ("plan_interval", "VARCHAR"),  # day | week | month | year
    ("plan_interval_count", "INTEGER"),
    ("unit_amount_minor", "BIGINT"),
    ("currency", "VARCHAR"),
    ("quantity", "INTEGER"),
    ("discount_percent_off", "DECIMAL(9,4)"),
    ("discount_amount_off_minor", "BIGINT"),
    ("trial_start", "TIMESTAMP"),
    ("trial_end", "TIMESTAMP"),
    ("started_at", "TIMESTAMP"),
    ("current_period_start", "TIMESTAMP"),
    ("current_period_end", "TIMESTAMP"),
    ("cancel_at_period_end", "BOOLEAN"),
    ("canceled_at", "TIMESTAMP"),
    ("ended_at", "TIMESTAMP"),
    ("created_at", "TIMESTAMP"),
) + LINEAGE_COLUMNS

INVOICE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("invoice_id", "VARCHAR"),
    ("customer_id", "VARCHAR"),
    ("subscription_id", "VARCHAR"),
    ("status", "VARCHAR"),  # draft | open | paid | void | uncollectible
    ("billing_reason", "VARCHAR"),  # subscription_create | subscription_cycle | subscription_update | manual
    ("currency", "VARCHAR"),
    ("subtotal_minor", "BIGINT"),
    ("discount_minor", "BIGINT"),
    ("tax_minor", "BIGINT"),
    ("total_minor", "BIGINT"),
    ("amount_paid_minor", "BIGINT"),
    ("starting_balance_minor", "BIGINT"),  # customer credit applied (negative = credit)
    ("period_start", "TIMESTAMP"),
    ("period_end", "TIMESTAMP"),
    ("created_at", "TIMESTAMP"),
    ("paid_at", "TIMESTAMP"),
) + LINEAGE_COLUMNS

INVOICE_LINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("invoice_id", "VARCHAR"),
    ("line_id", "VARCHAR"),
    ("subscription_id", "VARCHAR"),
    ("plan_id", "VARCHAR"),
    ("plan_interval", "VARCHAR"),
    ("description", "VARCHAR"),
    ("amount_minor", "BIGINT"),  # negative for proration credits of a plan change
    ("currency", "VARCHAR"),
    ("quantity", "INTEGER"),
    ("proration", "BOOLEAN"),
    ("period_start", "TIMESTAMP"),
    ("period_end", "TIMESTAMP"),
) + LINEAGE_COLUMNS

REFUND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("refund_id", "VARCHAR"),  # re_... or cn_... (credit note)
    ("kind", "VARCHAR"),  # refund | credit_note
    ("invoice_id", "VARCHAR"),
    ("charge_id", "VARCHAR"),
    ("customer_id", "VARCHAR"),
    ("amount_minor", "BIGINT"),  # positive: the amount given back
    ("currency", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("status", "VARCHAR"),
    ("created_at", "TIMESTAMP"),
) + LINEAGE_COLUMNS

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),
    ("_record_number", "BIGINT"),
    ("_file_sha256", "VARCHAR"),
    ("entity", "VARCHAR"),
    ("record_key", "VARCHAR"),
    ("raw_record", "VARCHAR"),  # original row/object as JSON text, emails replaced by their hash
    ("reason", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

ENTITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": CUSTOMER_COLUMNS,
    "subscriptions": SUBSCRIPTION_COLUMNS,
    "invoices": INVOICE_COLUMNS,
    "invoice_lines": INVOICE_LINE_COLUMNS,
    "refunds": REFUND_COLUMNS,
}
