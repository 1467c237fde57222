"""Gate on newly ingested ad spend: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/marketing/contract.py: spend as DECIMAL major units with an upper-case currency, one row per
day, vendor and campaign. Overlapping exports legitimately repeat rows (staging keeps the latest ingested copy).
A negative spend is a credit or adjustment and passes: ingest has already quarantined the malformed amounts
(non-numeric, non-finite, beyond the contract's magnitude), and dbt nets credits per channel and month (fct_cac).
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.raw_billing_invoices import rated_currencies
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.marketing.contract import SPEND_COLUMNS

NAME = "raw_marketing_spend"
REQUIRED_COLUMNS = ("spend_date", "vendor", "spend", "currency", "_file_sha256")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    rules: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=[name for name, _ in SPEND_COLUMNS],
            exact_match=True,
            meta=rule_meta("error", "the lake files must match the marketing/spend contract that dbt's source reads"),
        )
    ]
    for column in REQUIRED_COLUMNS:
        rules.append(
            E.ExpectColumnValuesToNotBeNull(
                column=column,
                meta=rule_meta("error", "staging dedupes on day, vendor and campaign; CAC needs amount and currency"),
            )
        )
    rules += [
        E.ExpectColumnValuesToBeInSet(
            column="currency",
            value_set=rated_currencies(config),
            meta=rule_meta(
                "error",
                "spend is converted once with finance.fx_rates; a currency without a rate would stop the finance "
                "marts (add its rate to the configuration)",
            ),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="spend_date",
            max_value=now,
            meta=rule_meta("error", "spend cannot be incurred in the future: a date-format (day/month) mix-up"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="clicks",
            min_value=0,
            meta=rule_meta("error", "counts are never negative; a negative one is a shifted column"),
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="files with no loadable spend rows usually mean a totals-only or wrong export",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="lake Parquet marketing/spend of the newly ingested files (ingest/marketing/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=SPEND_COLUMNS,
)
