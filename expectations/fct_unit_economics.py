"""Gate on the unit economics mart: ARPA, churn, predicted LTV, CAC, LTV:CAC and payback per month and channel."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta

NAME = "fct_unit_economics"
COLUMNS = (
    "unit_economics_id",
    "month_start",
    "channel",
    "is_blended",
    "customers_at_start",
    "churned_customers",
    "new_paying_customers",
    "arpa",
    "monthly_churn",
    "predicted_ltv",
    "cac",
    "ltv_to_cac",
    "payback_months",
    "ltv_cac_ok",
    "payback_ok",
)

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    rules: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=list(COLUMNS),
            exact_match=False,
            meta=rule_meta("error", "the portfolio report and BI read these columns"),
        ),
        E.ExpectColumnValuesToNotBeNull(column="unit_economics_id", meta=rule_meta("error", "the mart's key")),
        E.ExpectColumnValuesToBeBetween(
            column="monthly_churn",
            min_value=0,
            max_value=1,
            meta=rule_meta("error", "churn is a share of the customers at the month's start"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="ltv_to_cac",
            min_value=0,
            meta=rule_meta("error", "LTV and CAC are both non-negative; a negative ratio is a sign error"),
        ),
        E.ExpectColumnValuesToBeBetween(column="cac", min_value=0, meta=rule_meta("error", "spend is never negative")),
        E.ExpectColumnValuesToBeBetween(
            column="arpa", min_value=0, meta=rule_meta("error", "ARPA comes from MRR, which is never negative")
        ),
        E.ExpectColumnValuesToBeBetween(
            column="payback_months",
            min_value=0,
            meta=rule_meta("error", "months to earn back CAC cannot be negative"),
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="month_channel_unique",
            sql="""
                select month_start, channel, count(*) as copies from {relation}
                group by month_start, channel having count(*) > 1 order by month_start, channel
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="the mart's grain; a repeat double-counts a channel",
        ),
        DerivedCheck(
            name="cac_only_with_new_customers",
            sql="""
                select month_start, channel, cac, new_paying_customers from {relation}
                where cac is not null and coalesce(new_paying_customers, 0) <= 0
                order by month_start, channel
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="CAC = spend / new customers exists only where there were new customers; anything else divided by 0",
        ),
        DerivedCheck(
            name="churn_within_the_customers_at_start",
            sql="""
                select month_start, channel, churned_customers, customers_at_start from {relation}
                where churned_customers > customers_at_start
                order by month_start, channel
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="only customers with MRR at the month's start can churn in it",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="no unit economics: no billing or spend data has been ingested yet",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="mart fct_unit_economics (one row per month and channel, plus blended)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
