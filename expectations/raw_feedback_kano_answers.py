"""Gate on newly ingested Kano answers: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/feedback/contract.py: one functional/dysfunctional answer pair per respondent and feature,
in Kano's five-answer vocabulary, for a feature the configuration declares (feedback.kano_features). The
evaluation table only has rows and columns for those five answers, so any other value has no category.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.feedback.contract import KANO_ANSWER_COLUMNS
from ingest.feedback.kano import ANSWERS

NAME = "raw_feedback_kano_answers"
ANSWER_OPTIONS = tuple(sorted(set(ANSWERS.values())))
# Self-stated importance scales in use run 1-5, 1-7 or 1-9 (some tools count from 0); nothing goes past 10.
IMPORTANCE_RANGE = (0, 10)

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    why_answer = "the Kano evaluation table has a row and a column for each of the five answers, nothing else"
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(KANO_ANSWER_COLUMNS, "feedback/kano_answers"),
            *rules.not_null(
                ("response_id", "feature", "functional_answer", "dysfunctional_answer", "answered_at", "_file_sha256"),
                "an answer pair is classified per response and feature, and counted by its time",
            ),
            rules.one_of("functional_answer", ANSWER_OPTIONS, why_answer),
            rules.one_of("dysfunctional_answer", ANSWER_OPTIONS, why_answer),
            rules.one_of(
                "feature",
                tuple(f.feature for f in config.feedback.kano_features),
                "fct_kano_features reports the configured features (feedback.kano_features); another is dropped",
            ),
            E.ExpectColumnValuesToBeBetween(
                column="importance",
                min_value=IMPORTANCE_RANGE[0],
                max_value=IMPORTANCE_RANGE[1],
                meta=rule_meta("error", "importance weighs a feature; a value past any survey scale is a shifted cell"),
            ),
            *rules.plausible_times(("answered_at",), now, "a future or ancient answer is a timezone or unit mix-up"),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [rules.not_empty("Kano answers")]


GATE = Gate(
    name=NAME,
    target="lake Parquet feedback/kano_answers of the newly ingested files (ingest/feedback/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=KANO_ANSWER_COLUMNS,
)
