"""Gate on newly ingested billing customers: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/billing/contract.py. A customer's creation time dates its acquisition (CAC, cohort LTV,
initiative adoption by accounts); a year-9999 or 1970 time moves the customer into a period that does not exist.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate
from ingest.billing.contract import CUSTOMER_COLUMNS

NAME = "raw_billing_customers"


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(CUSTOMER_COLUMNS, "billing/customers"),
            *rules.not_null(
                ("customer_id", "created_at", "_file_sha256"),
                "staging dedupes on the customer id; acquisition cohorts need the creation time",
            ),
            *rules.plausible_times(
                ("created_at",), now, "a future or ancient creation time moves the customer's acquisition period"
            ),
            rules.matches(
                "email_hash",
                rules.SHA256_HEX,
                "identity links through the sha256 of the normalised email; anything else may be a raw address",
            ),
            rules.matches("currency", rules.LOWER_ISO_CURRENCY, "Stripe writes a lower-case ISO 4217 code"),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("customers")]


GATE = Gate(
    name=NAME,
    target="lake Parquet billing/customers of the newly ingested files (ingest/billing/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=CUSTOMER_COLUMNS,
)
