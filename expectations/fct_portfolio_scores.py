"""Gate on the portfolio scores: scale values, a score that is its own formula, a contiguous deterministic rank,
and a note on every item left unranked."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import IMPACT_SCALE, PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta

NAME = "fct_portfolio_scores"
COLUMNS = (
    "item_key", "item_type", "title", "theme", "status", "reach", "reach_source", "impact", "impact_source",
    "confidence", "confidence_source", "effort_person_months", "effort_source", "rice_score", "rice_rank",
    "kano_feature", "kano_category", "revenue_weighted_demand", "requesting_accounts", "requester_nps",
    "scoring_note",
)  # fmt: skip
CONFIDENCE_LEVELS = (0.5, 0.8, 1.0)
RELATIVE_TOLERANCE = 1e-9

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    rules: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=list(COLUMNS), exact_match=False, meta=rule_meta("error", "BI and the report read these")
        ),
        E.ExpectColumnValuesToNotBeNull(column="item_key", meta=rule_meta("error", "the table's key")),
        E.ExpectColumnValuesToBeInSet(
            column="impact", value_set=list(IMPACT_SCALE), meta=rule_meta("error", "RICE impact is 0.25/0.5/1/2/3")
        ),
        E.ExpectColumnValuesToBeInSet(
            column="confidence",
            value_set=list(CONFIDENCE_LEVELS),
            meta=rule_meta("error", "confidence is 50, 80 or 100 % by the evidence behind it"),
        ),
        E.ExpectColumnValuesToBeInSet(
            column="item_type", value_set=["initiative", "idea"], meta=rule_meta("error", "initiatives and ideas")
        ),
        E.ExpectColumnValuesToBeInSet(
            column="status",
            value_set=["shipped", "in_delivery", "discovery", "parked"],
            meta=rule_meta("error", "the portfolio's status vocabulary"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="rice_rank", min_value=1, meta=rule_meta("error", "ranks start at 1 (the best score)")
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    def none_of(name: str, sql: str, why: str) -> DerivedCheck:
        return DerivedCheck(
            name=name, sql=sql, expectation=E.ExpectTableRowCountToEqual(value=0), severity="error", why=why
        )

    return [
        none_of(
            "item_key_unique",
            "select item_key, count(*) as copies from {relation} where item_key is not null "
            "group by item_key having count(*) > 1 order by item_key",
            "one row per initiative or idea: an idea implemented by an initiative is scored once, as it",
        ),
        none_of(
            "effort_positive_when_scored",
            "select item_key, effort_person_months from {relation} "
            "where rice_score is not null and not (effort_person_months > 0) order by item_key",
            "RICE divides by effort: a scored row has a positive one",
        ),
        none_of(
            "score_is_reach_impact_confidence_over_effort",
            f"""
            select item_key, reach, impact, confidence, effort_person_months, rice_score from {{relation}}
            where rice_score is not null and (
                reach is null or impact is null or confidence is null or effort_person_months is null
                or abs(rice_score - reach * impact * confidence / effort_person_months)
                   > {RELATIVE_TOLERANCE} * greatest(1, abs(rice_score)))
            order by item_key
            """,
            "the score is its formula over the stored inputs (traceable)",
        ),
        none_of(
            "scored_inputs_have_a_source",
            "select item_key from {relation} where rice_score is not null and (reach_source is null "
            "or impact_source is null or confidence_source is null or effort_source is null) order by item_key",
            "every input of a score says where it came from",
        ),
        none_of(
            "rank_exactly_on_scored_rows",
            "select item_key, rice_score, rice_rank from {relation} "
            "where (rice_score is null) <> (rice_rank is null) order by item_key",
            "a rank for every score and only for scores",
        ),
        none_of(
            "rank_contiguous_and_ordered",
            """
            with expected as (
                select item_key, rice_rank,
                       row_number() over (order by round(rice_score, 9) desc, item_key) as expected_rank
                from {relation} where rice_score is not null
            )
            select item_key, rice_rank, expected_rank from expected
            where rice_rank is distinct from expected_rank order by item_key
            """,
            "ranks are 1..n over the scored rows, by score then item_key (stable under re-runs)",
        ),
        none_of(
            "unscored_rows_carry_a_note",
            "select item_key from {relation} where (rice_score is null) <> (scoring_note is not null) "
            "order by item_key",
            "an item left unranked says why (and a scored one carries no note)",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="no initiatives and no ideas: Jira not landed yet",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="mart fct_portfolio_scores (one row per initiative or idea)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
