"""Gate on the NPS mart: scores on the scale, buckets that add up, intervals around their score, one row per key."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta

NAME = "fct_nps"
# Floating-point slack for comparisons between computed columns.
TOLERANCE = 1e-9

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Columns, the (period, plan, platform) key, NPS within [-100, 100] and responses >= 1 are the dbt contract
    # and tests' (models/marts/feedback/_feedback__models.yml); this gate keeps the rule that needs the clock and
    # the ones across columns.
    rules: list[Expectation] = [
        E.ExpectColumnValuesToBeBetween(
            column="period_start",
            max_value=now,
            meta=rule_meta("error", "a survey month in the future is a timezone or parsing bug"),
        ),
    ]
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="buckets_add_up_to_responses",
            sql="""
                select period_start, segment_plan, segment_platform, responses, promoters, passives, detractors
                from {relation}
                where promoters + passives + detractors is distinct from responses
                   or promoters < 0 or passives < 0 or detractors < 0
                order by period_start, segment_plan, segment_platform
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="every NPS response is a promoter, a passive or a detractor; a gap means a score fell between buckets",
        ),
        DerivedCheck(
            name="nps_matches_its_buckets",
            sql=f"""
                select period_start, segment_plan, segment_platform, nps, promoters, detractors, responses
                from {{relation}}
                where abs(nps - 100.0 * (promoters - detractors) / responses) > {TOLERANCE}
                order by period_start, segment_plan, segment_platform
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="NPS = % promoters - % detractors (DESIGN.md); anything else is a different metric",
        ),
        DerivedCheck(
            name="interval_contains_nps",
            sql=f"""
                select period_start, segment_plan, segment_platform, nps_ci_low, nps, nps_ci_high from {{relation}}
                where not (nps_ci_low <= nps + {TOLERANCE} and nps - {TOLERANCE} <= nps_ci_high)
                   or nps_ci_low is null or nps_ci_high is null
                   or nps_ci_low < -100 or nps_ci_high > 100
                order by period_start, segment_plan, segment_platform
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="a confidence interval is centred on its estimate and stays on the -100..100 scale",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="no NPS rows: no NPS survey exports landed yet, or survey types were mis-detected as CSAT",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="mart fct_nps (one row per survey month x plan x platform, with '(all)' totals)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
