"""Gate on the MRR mart: one row per customer and month with its movement."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta

NAME = "fct_mrr"

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Columns, keys, not-null, movement vocabulary and MRR ranges are the dbt contract and tests'
    # (models/marts/finance/_finance__models.yml); this gate keeps what needs the loaded configuration or the clock.
    rules: list[Expectation] = [
        E.ExpectColumnValuesToBeInSet(
            column="reporting_currency",
            value_set=[config.finance.reporting_currency],
            meta=rule_meta("error", "every amount is in the configured reporting currency"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="month_start",
            max_value=now,
            meta=rule_meta("error", "MRR is reported up to the latest billing activity, never for future months"),
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="movements_add_up_to_the_change",
            sql="""
                select customer_id, month_start, movement, mrr, previous_mrr from {relation}
                where mrr - previous_mrr != new_mrr + expansion_mrr + contraction_mrr + churned_mrr + reactivation_mrr
                    or mrr_change != mrr - previous_mrr
                order by customer_id, month_start
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="the MRR bridge: movements must sum to the change in MRR, or the waterfall does not reconcile",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="no MRR: no billing data has been ingested yet",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="mart fct_mrr (one row per customer and month)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
