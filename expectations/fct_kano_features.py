"""Gate on the Kano mart: counts that add up, coefficients on their ranges, a category from the table."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta

NAME = "fct_kano_features"
CATEGORIES = ("A", "O", "M", "I", "R", "Q")
COUNT_COLUMNS = tuple(f"{category.lower()}_count" for category in CATEGORIES)
COLUMNS = ("feature", "initiative_key", "respondents", *COUNT_COLUMNS, "dominant_category", "better", "worse")
TOLERANCE = 1e-9

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    rules: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=list(COLUMNS), exact_match=False, meta=rule_meta("error", "BI and the portfolio read these")
        ),
        E.ExpectColumnValuesToNotBeNull(column="feature", meta=rule_meta("error", "the mart's key")),
        E.ExpectColumnValuesToBeBetween(
            column="better",
            min_value=0,
            max_value=1,
            meta=rule_meta("error", "Better = (A+O)/(A+O+M+I) is a share: 0 to 1"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="worse",
            min_value=-1,
            max_value=0,
            meta=rule_meta("error", "Worse = -(O+M)/(A+O+M+I) is a negated share: -1 to 0"),
        ),
        E.ExpectColumnValuesToBeInSet(
            column="dominant_category",
            value_set=list(CATEGORIES),
            meta=rule_meta("error", "the evaluation table's six categories are the only ones there are"),
        ),
    ]
    for column in ("respondents", *COUNT_COLUMNS):
        rules.append(
            E.ExpectColumnValuesToBeBetween(
                column=column, min_value=0, meta=rule_meta("error", "counts of respondents cannot be negative")
            )
        )
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    counted = " + ".join(COUNT_COLUMNS)
    functional = "a_count + o_count + m_count + i_count"
    return [
        DerivedCheck(
            name="feature_unique",
            sql="""
                select feature, count(*) as copies from {relation}
                where feature is not null group by feature having count(*) > 1 order by feature
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="one row per feature; a repeat splits its respondents",
        ),
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
