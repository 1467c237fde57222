"""Gate on newly ingested billing invoices: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/billing/contract.py: money in integer MINOR units with a lower-case ISO 4217 currency.
dbt converts every amount once, with the configured rates (finance.fx_rates), so an invoice in a currency without
a rate would stop the finance marts; this gate names it at ingest instead. Raw data may repeat an invoice (every
export re-sends it, open then paid); staging keeps the latest ingested copy, so repeats are not checked here.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.billing.contract import INVOICE_COLUMNS

NAME = "raw_billing_invoices"
REQUIRED_COLUMNS = ("invoice_id", "customer_id", "currency", "created_at", "_file_sha256")
AMOUNT_COLUMNS = (
    "subtotal_minor",
    "discount_minor",
    "tax_minor",
    "total_minor",
    "amount_paid_minor",
    "starting_balance_minor",
)
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
# Stripe's billing_reason of a mid-period plan change (proration) invoice.
PRORATION_REASON = "subscription_update"
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")
# Billing systems stamp times from their own clock; a day of skew is tolerated before a time is "from the future".
CLOCK_SKEW = dt.timedelta(days=1)

E = gx.expectations


def rated_currencies(config: PipelineConfig) -> list[str]:
    """Currencies with a configured rate, in both spellings (Stripe writes lower-case, staging upper-cases)."""
    codes = {config.finance.reporting_currency, *config.finance.fx_rates}
    return sorted({code.lower() for code in codes} | {code.upper() for code in codes})


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    rules: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=[name for name, _ in INVOICE_COLUMNS],
            exact_match=True,
            meta=rule_meta("error", "the lake files must match the billing/invoices contract that dbt's source reads"),
        )
    ]
    for column in REQUIRED_COLUMNS:
        rules.append(
            E.ExpectColumnValuesToNotBeNull(
                column=column,
                meta=rule_meta("error", "staging dedupes on the invoice id; revenue needs its customer and currency"),
            )
        )
    rules += [
        E.ExpectColumnValuesToBeInSet(
            column="currency",
            value_set=rated_currencies(config),
            meta=rule_meta(
                "error",
                "every amount is converted once with finance.fx_rates; a currency without a rate would stop the "
                "finance marts (add its rate to the configuration)",
            ),
        ),
        E.ExpectColumnValuesToBeInSet(
            column="status",
            value_set=list(INVOICE_STATUSES),
            meta=rule_meta("error", "revenue and MRR select invoices by status; anything else is a parser bug"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="created_at",
            max_value=now + CLOCK_SKEW,
            meta=rule_meta("error", "a future invoice is a timezone or unit mix-up and shifts revenue months"),
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    not_integral = " or ".join(
        f"({c} is not null and (typeof({c}) not in ({', '.join(repr(t) for t in INTEGER_TYPES)})"
        f" or cast({c} as double) != floor(cast({c} as double))))"
        for c in AMOUNT_COLUMNS
    )
    return [
        DerivedCheck(
            name="amounts_are_integer_minor_units",
            sql=f"""
                select invoice_id, {", ".join(AMOUNT_COLUMNS)} from {{relation}}
                where {not_integral}
                order by invoice_id
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why=(
                "the contract stores integer minor units; a fractional or non-integer amount means major units "
                "slipped through (x100 errors) or a float crept in"
            ),
        ),
        DerivedCheck(
            name="negative_subtotal_only_on_proration",
            sql=f"""
                select invoice_id, billing_reason, subtotal_minor from {{relation}}
                where subtotal_minor < 0 and coalesce(billing_reason, '') != '{PRORATION_REASON}'
                order by invoice_id
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why=(
                "a negative subtotal is a sign error (refunds are their own entity), except on a proration invoice: "
                "a downgrade's credit for unused time can exceed the new plan's charge, Stripe then bills nothing "
                "and credits the customer balance"
            ),
        ),
        DerivedCheck(
            name="total_is_subtotal_less_discount_plus_tax",
            sql="""
                select invoice_id, subtotal_minor, discount_minor, tax_minor, total_minor from {relation}
                where subtotal_minor is not null and discount_minor is not null and tax_minor is not null
                    and total_minor is not null
                    and total_minor != subtotal_minor - discount_minor + tax_minor
                order by invoice_id
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="revenue is total - tax; an invoice whose parts do not add up was mis-parsed (a column shifted)",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="files with no loadable invoices usually mean a wrong export; ingest's manifest has the reject counts",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="lake Parquet billing/invoices of the newly ingested files (ingest/billing/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=INVOICE_COLUMNS,
)
