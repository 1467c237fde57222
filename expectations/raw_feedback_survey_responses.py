"""Gate on newly ingested NPS/CSAT survey responses: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/feedback/contract.py. Ingest already quarantines out-of-scale scores; this gate is the
second line that keeps a parser regression from reaching fct_nps / fct_csat, and it refuses files in which a raw
email address survived (the identity rule: respondents carry an email hash, never an address).
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.feedback.contract import SURVEY_RESPONSE_COLUMNS

NAME = "raw_feedback_survey_responses"
SURVEY_TYPES = ("nps", "csat")
# The scale each survey type's metric is defined on (DESIGN.md): NPS 0-10, CSAT a 5-point scale.
SCALES = {"nps": (0, 10), "csat": (1, 5)}
# Survey tools post-date this; anything earlier is an epoch or unit mix-up.
EARLIEST_RESPONDED_AT = dt.datetime(2000, 1, 1)
# Vendors stamp times from their own clocks; a day of skew is tolerated before a time is "from the future".
CLOCK_SKEW = dt.timedelta(days=1)
# Deliberately loose (anything@anything.tld): a false alarm costs a look, a missed address is a privacy leak.
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
TEXT_COLUMNS = tuple(name for name, dtype in SURVEY_RESPONSE_COLUMNS if dtype == "VARCHAR")

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    rules: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=[name for name, _ in SURVEY_RESPONSE_COLUMNS],
            exact_match=True,
            meta=rule_meta("error", "the lake files must match the feedback/survey_responses contract dbt reads"),
        ),
        E.ExpectColumnValuesToNotBeNull(
            column="response_id", meta=rule_meta("error", "staging dedupes re-sent responses on (vendor, response_id)")
        ),
        E.ExpectColumnValuesToNotBeNull(
            column="responded_at", meta=rule_meta("error", "every response is counted in the month it was given")
        ),
        E.ExpectColumnValuesToBeBetween(
            column="responded_at",
            min_value=EARLIEST_RESPONDED_AT,
            max_value=now + CLOCK_SKEW,
            meta=rule_meta("error", "future or ancient response times are timezone or unit mix-ups"),
        ),
        E.ExpectColumnValuesToBeInSet(
            column="survey_type",
            value_set=list(SURVEY_TYPES),
            meta=rule_meta("error", "fct_nps and fct_csat select on these two types; any other is silently dropped"),
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="score",
            column_B="scale_min",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "a score below its scale is a parser bug; ingest must quarantine, not clip"),
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="scale_max",
            column_B="score",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rule_meta("error", "a score above its scale is a parser bug; ingest must quarantine, not clip"),
        ),
    ]
    for column in TEXT_COLUMNS:
        rules.append(
            E.ExpectColumnValuesToNotMatchRegex(
                column=column,
                regex=EMAIL_PATTERN,
                meta=rule_meta(
                    "error", "no raw email may pass ingest (DESIGN.md identity): respondents carry an email hash"
                ),
            )
        )
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    expected_scale = " ".join(
        f"when '{survey_type}' then scale_min = {low} and scale_max = {high}"
        for survey_type, (low, high) in SCALES.items()
    )
    return [
        DerivedCheck(
            name="scale_matches_survey_type",
            sql=f"""
                select response_id, vendor, survey_type, scale_min, scale_max from {{relation}}
                where survey_type in ({", ".join(f"'{t}'" for t in SCALES)})
                  and not coalesce(case survey_type {expected_scale} end, false)
                  -- Zendesk's satisfaction rating is binary (bad 0 / good 1): kept, and left out of 5-point CSAT.
                  and not (vendor = 'zendesk' and survey_type = 'csat' and scale_min = 0 and scale_max = 1)
                order by vendor, response_id
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="NPS buckets 0-6 / 7-8 / 9-10 and CSAT counts 4-5 of 5: a response on another scale is mis-bucketed",
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="files with no loadable responses usually mean a wrong export; ingest's manifest has the reject counts",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="lake Parquet feedback/survey_responses of the newly ingested files (ingest/feedback/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=SURVEY_RESPONSE_COLUMNS,
)
