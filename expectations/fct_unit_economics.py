"""Gate on the unit economics mart: ARPA, churn, predicted LTV, CAC, LTV:CAC and payback per month and channel."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate

NAME = "fct_unit_economics"

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Every row rule of this mart is a fixed range or key that dbt owns (models/marts/finance/_finance__models.yml):
    # churn within [0, 1], CAC, ARPA, payback and LTV:CAC never negative. This gate keeps the cross-column rules.
    rules: list[Expectation] = []
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
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
