"""Gate on the Kano mart: counts that add up, coefficients on their ranges, a category from the table."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate

NAME = "fct_kano_features"
CATEGORIES = ("A", "O", "M", "I", "R", "Q")
COUNT_COLUMNS = tuple(f"{category.lower()}_count" for category in CATEGORIES)
TOLERANCE = 1e-9

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Every single-column rule of this mart is dbt's (models/marts/feedback/_feedback__models.yml): columns, key,
    # the six categories, Better within [0, 1], Worse within [-1, 0], counts >= 0. This gate keeps the rules
    # across columns: counts that add up, coefficients that match them, the most frequent category.
    rules: list[Expectation] = []
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    counted = " + ".join(COUNT_COLUMNS)
    functional = "a_count + o_count + m_count + i_count"
    return [
        DerivedCheck(
            name="counts_add_up_to_respondents",
            sql=f"""
                select feature, respondents, {", ".join(COUNT_COLUMNS)} from {{relation}}
                where {counted} is distinct from respondents
                order by feature
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="each respondent's answer pair falls in exactly one category; a gap is a pair the table missed",
        ),
        DerivedCheck(
            name="coefficients_match_counts",
            sql=f"""
                select feature, better, worse, {", ".join(COUNT_COLUMNS)} from {{relation}}
                where ({functional} = 0 and (better is not null or worse is not null))
                   or ({functional} > 0 and (
                        better is null or worse is null
                        or abs(better - (a_count + o_count) * 1.0 / ({functional})) > {TOLERANCE}
                        or abs(worse + (o_count + m_count) * 1.0 / ({functional})) > {TOLERANCE}))
                order by feature
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="Better and Worse are defined on the counts (DESIGN.md); undefined (NULL) without A, O, M or I",
        ),
        DerivedCheck(
            name="dominant_category_is_most_frequent",
            sql=f"""
                select feature, dominant_category, {", ".join(COUNT_COLUMNS)} from {{relation}}
                where (respondents > 0) <> (dominant_category is not null)
                   or case dominant_category
                        {" ".join(f"when '{c}' then {c.lower()}_count" for c in CATEGORIES)}
                      end < greatest({", ".join(COUNT_COLUMNS)})
                order by feature
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="a feature's category is its most frequent one (ties are broken, but never below the maximum)",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="no Kano features: none configured under feedback.kano_features and no questionnaire landed",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="mart fct_kano_features (one row per feature)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
