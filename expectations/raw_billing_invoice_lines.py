"""Gate on newly ingested invoice lines: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/billing/contract.py: one row per line of an invoice, amounts in integer minor units, negative
for the proration credit of a plan change. A line's period may end up to one billing interval (a year) ahead.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.billing.contract import INVOICE_LINE_COLUMNS
from ingest.billing.values import INTERVALS

NAME = "raw_billing_invoice_lines"
LONGEST_INTERVAL = dt.timedelta(days=366)

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(INVOICE_LINE_COLUMNS, "billing/invoice_lines"),
            *rules.not_null(
                ("invoice_id", "line_id", "amount_minor", "currency", "_file_sha256"),
                "staging dedupes on (invoice, line); revenue per plan needs the amount and its currency",
            ),
            *rules.minor_amounts(
                ("amount_minor",),
                min_value=-rules.MAX_ABS_MINOR_AMOUNT,
                why="an amount beyond any real invoice line is a misplaced decimal or a unit mix-up",
            ),
            rules.matches("currency", rules.LOWER_ISO_CURRENCY, "Stripe writes a lower-case ISO 4217 code"),
            rules.one_of("plan_interval", INTERVALS, "revenue per plan normalises by the line's plan interval"),
            E.ExpectColumnValuesToBeBetween(
                column="quantity", min_value=0, meta=rule_meta("error", "a negative quantity flips a line's sign")
            ),
            *rules.plausible_times(("period_start",), now, "a future or ancient period start is a unit mix-up"),
            E.ExpectColumnValuesToBeBetween(
                column="period_end",
                min_value=rules.EARLIEST_PLAUSIBLE_TIME,
                max_value=now + LONGEST_INTERVAL + rules.CLOCK_SKEW,
                meta=rule_meta("error", "a line's period ends at most one billing interval (a year) ahead"),
            ),
            rules.not_before("period_end", "period_start", "a line period ending before it starts"),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("invoice lines")]


GATE = Gate(
    name=NAME,
    target="lake Parquet billing/invoice_lines of the newly ingested files (ingest/billing/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=INVOICE_LINE_COLUMNS,
)
