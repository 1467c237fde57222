"""Gate on the initiative outcomes mart: sample sizes that can hold their successes, rates and p-values on their
ranges, intervals around their effect, a status that agrees with the window, and no metrics before a ship date.

A reader tells an effect from noise with this mart, so anything that would make a reported difference look more
(or less) certain than it is stops the run: an interval that does not contain its own effect, a 'final' outcome on
a window that has not elapsed, a significance flag the interval does not support."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate

NAME = "fct_initiative_outcomes"
# Metrics that are NULL until an initiative ships.
MEASURED = (
    "before_sample_size", "before_successes", "before_value", "after_sample_size", "after_successes", "after_value",
    "effect", "effect_ci_lower", "effect_ci_upper", "p_value", "adopting_users_after", "adopting_accounts_after",
    "active_users_after", "adoption_share_after",
)  # fmt: skip
TOLERANCE = 1e-9

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    # Every single-column rule of this mart is dbt's (models/marts/portfolio/_portfolio__models.yml): columns,
    # key, status / metric type / test method vocabularies, p-value and adoption share within [0, 1], window
    # length and counts. What dbt cannot express is below: the rules across columns that keep an effect honest.
    rules: list[Expectation] = []
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def _no_rows(name: str, sql: str, why: str, severity: str = "error") -> DerivedCheck:
    return DerivedCheck(
        name=name, sql=sql, expectation=E.ExpectTableRowCountToEqual(value=0), severity=severity, why=why
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    measured_not_null = " or ".join(f"{c} is not null" for c in MEASURED)
    proportion = "target_metric_type in ('funnel_step', 'retention')"
    return [
        _no_rows(
            "successes_within_sample_size",
            f"""
                select initiative_key, before_sample_size, before_successes, after_sample_size, after_successes
                from {{relation}}
                where before_successes > before_sample_size or after_successes > after_sample_size
                   or ({proportion} and is_shipped
                       and (before_successes is null or after_successes is null))
                   or (not ({proportion}) and (before_successes is not null or after_successes is not null))
            """,
            "successes are units of the sample; proportions need them, means have none",
        ),
        _no_rows(
            "proportions_are_successes_over_sample_size",
            f"""
                select initiative_key, before_value, after_value from {{relation}}
                where {proportion} and (
                    (before_sample_size > 0 and abs(before_value - before_successes * 1.0 / before_sample_size)
                        > {TOLERANCE})
                    or (after_sample_size > 0 and abs(after_value - after_successes * 1.0 / after_sample_size)
                        > {TOLERANCE})
                    or before_value not between 0 and 1 or after_value not between 0 and 1)
            """,
            "a funnel step or retention rate is successes / sample size, in [0, 1]",
        ),
        _no_rows(
            "effect_is_after_minus_before",
            f"""
                select initiative_key, before_value, after_value, effect from {{relation}}
                where (before_value is null or after_value is null) <> (effect is null)
                   or abs(effect - (after_value - before_value)) > {TOLERANCE}
            """,
            "effect = after_value - before_value",
        ),
        _no_rows(
            "interval_contains_the_effect",
            f"""
                select initiative_key, effect_ci_lower, effect, effect_ci_upper from {{relation}}
                where (effect is null) <> (effect_ci_lower is null or effect_ci_upper is null)
                   or effect_ci_lower > effect + {TOLERANCE} or effect > effect_ci_upper + {TOLERANCE}
            """,
            "a 95 % interval is centred on (and so contains) its effect",
        ),
        _no_rows(
            "significance_needs_a_final_interval_excluding_zero",
            """
                select initiative_key, outcome_status, effect_ci_lower, effect_ci_upper, is_significant
                from {relation}
                where is_significant is null
                   or is_significant <> coalesce(
                        outcome_status = 'final' and (effect_ci_lower > 0 or effect_ci_upper < 0), false)
            """,
            "significant means a final outcome whose 95 % interval excludes 0, nothing else",
        ),
        _no_rows(
            "final_outcomes_have_complete_windows",
            """
                select initiative_key, outcome_status, is_window_complete from {relation}
                where (outcome_status in ('final', 'insufficient_data') and not is_window_complete)
                   or (outcome_status = 'provisional' and is_window_complete)
            """,
            "an after window that has not elapsed is provisional, never reported as final",
        ),
        _no_rows(
            "status_matches_shipping",
            """
                select initiative_key, is_shipped, shipped_at, outcome_status from {relation}
                where (outcome_status = 'not_shipped') <> (not is_shipped)
                   or (is_shipped <> (shipped_at is not null))
                   or (is_shipped and (before_window_start is null or after_window_end is null))
            """,
            "not_shipped exactly when there is no ship time; a shipped initiative has its windows",
        ),
        _no_rows(
            "unshipped_initiatives_have_no_metrics",
            f"""
                select initiative_key, outcome_status from {{relation}}
                where not is_shipped and ({measured_not_null} or is_significant or is_window_complete)
            """,
            "no ship date, no before/after: any figure there would be invented",
        ),
        _no_rows(
            "final_outcomes_meet_the_minimum_sample",
            f"""
                select initiative_key, before_sample_size, after_sample_size from {{relation}}
                where outcome_status = 'final'
                  and least(before_sample_size, after_sample_size) < {config.outcomes.min_sample_size}
            """,
            "outcomes.min_sample_size: a smaller side is insufficient_data",
        ),
        _no_rows(
            "adopting_accounts_within_adopting_users",
            """
                select initiative_key, adopting_users_after, adopting_accounts_after, active_users_after
                from {relation}
                where adopting_accounts_after > adopting_users_after or adopting_users_after > active_users_after
            """,
            "each account is reached through an adopting user, who is an active user",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="mart fct_initiative_outcomes (one row per configured initiative)",
    build_suite=build_suite,
    derived_checks=derived_checks,
)
