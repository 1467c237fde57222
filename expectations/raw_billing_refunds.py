"""Gate on newly ingested refunds and credit notes: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/billing/contract.py: the amount given back, positive, in integer minor units. Net revenue
subtracts effective refunds (staging: every status but failed, canceled and void), converted with finance.fx_rates.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import PipelineConfig
from expectations import lake_rules as rules
from expectations.raw_billing_invoices import rated_currencies
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.billing.contract import REFUND_COLUMNS

NAME = "raw_billing_refunds"
KINDS = ("refund", "credit_note")
# Stripe's refund statuses, then its credit note statuses.
STATUSES = ("pending", "requires_action", "succeeded", "failed", "canceled", "issued", "void")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(REFUND_COLUMNS, "billing/refunds"),
            *rules.not_null(
                ("refund_id", "kind", "amount_minor", "currency", "created_at", "_file_sha256"),
                "staging dedupes on the refund id; net revenue needs the amount, currency and month",
            ),
            rules.one_of("kind", KINDS, "refunds and credit notes are the two kinds staging distinguishes"),
            rules.one_of("status", STATUSES, "staging decides from the status whether money went back"),
            *rules.minor_amounts(
                ("amount_minor",),
                min_value=0,
                why="the contract stores the amount given back as positive; beyond any real refund is a unit mix-up",
            ),
            E.ExpectColumnValuesToBeInSet(
                column="currency",
                value_set=rated_currencies(config),
                meta=rule_meta(
                    "error",
                    "refunds are converted once with finance.fx_rates; a currency without a rate would stop the "
                    "finance marts (add its rate to the configuration)",
                ),
            ),
            *rules.plausible_times(("created_at",), now, "a future or ancient refund shifts net revenue months"),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("refunds")]


GATE = Gate(
    name=NAME,
    target="lake Parquet billing/refunds of the newly ingested files (ingest/billing/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=REFUND_COLUMNS,
)
