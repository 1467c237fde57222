"""Gate on the initiative delivery mart: planned against actual dates, slip, effort and flow per initiative."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta

NAME = "fct_initiative_delivery"

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Columns, the key, is_shipped not null, effort above 0, the effort and ship-date vocabularies and the fixed
    # ranges are the dbt contract and tests' (models/marts/delivery/_delivery__models.yml); this gate keeps the
    # rule that needs the clock and the cross-column ones.
    rules: list[Expectation] = [
        E.ExpectColumnValuesToBeBetween(
            column="ship_date",
            max_value=now,
            meta=rule_meta("error", "a ship date in the future is a timezone or changelog parsing bug"),
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="is_shipped_matches_ship_date",
            sql="""
                select initiative_key, is_shipped, ship_date from {relation}
                where is_shipped is distinct from (ship_date is not null)
                order by initiative_key
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="is_shipped is defined as 'has a ship date'; a mismatch sends outcome analysis the wrong way",
        ),
        DerivedCheck(
            name="slip_matches_dates",
            sql="""
                select initiative_key, due_date, ship_date, slip_days from {relation}
                where slip_days is distinct from (
                    case when ship_date is not null and due_date is not null
                        then cast(ship_date as date) - cast(due_date as date) end
                )
                order by initiative_key
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="slip is ship_date - due_date in days, NULL until shipped; anything else misreports lateness",
        ),
        DerivedCheck(
            name="effort_has_its_basis",
            sql="""
                select initiative_key, effort_person_months, effort_basis from {relation}
                where (effort_person_months is null) <> (effort_basis is null)
                order by initiative_key
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="an effort figure must say where it came from, and a basis without a figure is a half-computed row",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="no initiatives: no level-2 issues or configured initiative keys in the Jira exports yet",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="mart fct_initiative_delivery (one row per initiative)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
