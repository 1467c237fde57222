"""Gate on newly ingested billing subscriptions: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/billing/contract.py. MRR is built from each subscription's plan amount, interval, quantity
and discount, converted with finance.fx_rates, over its active periods; each of those values is checked here.
A period end or trial end may lie ahead of now, by at most one billing interval (a year).
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations import lake_rules as rules
from expectations.raw_billing_invoices import rated_currencies
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.billing.contract import SUBSCRIPTION_COLUMNS
from ingest.billing.values import INTERVALS

NAME = "raw_billing_subscriptions"
# Stripe's subscription statuses.
STATUSES = ("trialing", "active", "past_due", "canceled", "unpaid", "incomplete", "incomplete_expired", "paused")
PAST_TIMES = ("trial_start", "started_at", "current_period_start", "canceled_at", "ended_at", "created_at")
# Ends that are scheduled, so legitimately ahead of now: by at most Stripe's longest interval (one year).
SCHEDULED_TIMES = ("trial_end", "current_period_end")
LONGEST_INTERVAL = dt.timedelta(days=366)
# Stripe caps an interval at one year: 365 days, 52 weeks, 12 months or 1 year.
MAX_INTERVAL_COUNT = 365

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    expectations: list[Expectation] = [
        rules.contract_columns(SUBSCRIPTION_COLUMNS, "billing/subscriptions"),
        *rules.not_null(
            ("subscription_id", "customer_id", "status", "currency", "created_at", "_file_sha256"),
            "staging dedupes on the subscription id; MRR needs its customer, status, currency and start",
        ),
        rules.one_of("status", STATUSES, "MRR counts subscriptions by Stripe status; any other is a parser bug"),
        rules.one_of("plan_interval", INTERVALS, "MRR normalises the plan amount to a month by its interval"),
        E.ExpectColumnValuesToBeInSet(
            column="currency",
            value_set=rated_currencies(config),
            meta=rule_meta(
                "error",
                "MRR is converted once with finance.fx_rates; a currency without a rate would stop the finance "
                "marts (add its rate to the configuration)",
            ),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="plan_interval_count",
            min_value=1,
            max_value=MAX_INTERVAL_COUNT,
            meta=rule_meta("error", "MRR divides the plan amount by the interval count; Stripe allows 1 to a year"),
        ),
        *rules.minor_amounts(
            ("unit_amount_minor", "discount_amount_off_minor"),
            min_value=0,
            why="a plan amount or discount is never negative and never beyond any real plan (a unit mix-up)",
        ),
        E.ExpectColumnValuesToBeBetween(
            column="quantity",
            min_value=0,
            meta=rule_meta("error", "a negative seat count would subtract MRR"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="discount_percent_off",
            min_value=0,
            max_value=100,
            meta=rule_meta("error", "a percentage discount is 0-100; beyond it MRR turns negative"),
        ),
        *rules.plausible_times(PAST_TIMES, now, "a future or ancient time is a timezone or unit mix-up"),
    ]
    expectations += [
        E.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=rules.EARLIEST_PLAUSIBLE_TIME,
            max_value=now + LONGEST_INTERVAL + rules.CLOCK_SKEW,
            meta=rule_meta("error", "a scheduled end lies at most one billing interval (a year) ahead"),
        )
        for column in SCHEDULED_TIMES
    ]
    expectations += [
        rules.not_before("current_period_end", "current_period_start", "a period ending before it starts"),
        rules.not_before("ended_at", "started_at", "a subscription ending before it started"),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=expectations)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("subscriptions")]


GATE = Gate(
    name=NAME,
    target="lake Parquet billing/subscriptions of the newly ingested files (ingest/billing/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=SUBSCRIPTION_COLUMNS,
)
