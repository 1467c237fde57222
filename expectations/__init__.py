"""Great Expectations gates, one module per gated table, and the runner that validates DuckDB relations in slices.

The orchestration builds one blocking asset check per entry of ``GATES``, keyed by the gated table's name.

The gate modules and the runner import Great Expectations (~10 s of a process start under load), so they are loaded
on first use of ``GATES`` or a runner name (PEP 562), not when the package is: a run whose gates validate nothing
(a night where nothing landed) never needs them, nor does loading the Dagster definitions (``GATE_NAMES``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from expectations.runner import Gate

# Every gated table, one module of that name each (a test checks it against GATES).
GATE_NAMES: tuple[str, ...] = (
    "fct_funnel_conversion",
    "fct_initiative_delivery",
    "fct_initiative_outcomes",
    "fct_issue_cycle_times",
    "fct_kano_features",
    "fct_mrr",
    "fct_nps",
    "fct_portfolio_scores",
    "fct_retention_cohorts",
    "fct_unit_economics",
    "raw_analytics_events",
    "raw_billing_customers",
    "raw_billing_invoice_lines",
    "raw_billing_invoices",
    "raw_billing_refunds",
    "raw_billing_subscriptions",
    "raw_feedback_feature_requests",
    "raw_feedback_kano_answers",
    "raw_feedback_survey_responses",
    "raw_jira_changelog",
    "raw_jira_comments",
    "raw_jira_fields",
    "raw_jira_issue_links",
    "raw_jira_issues",
    "raw_jira_sprints",
    "raw_jira_statuses",
    "raw_marketing_spend",
)

_RUNNER_NAMES = frozenset(
    {
        "DerivedCheck",
        "ExpectationOutcome",
        "Gate",
        "GateResult",
        "rule_meta",
        "validate_parquet_files",
        "validate_relation",
        "validate_warehouse_table",
    }
)


def _load_gates() -> dict[str, Gate]:
    from expectations import (
        fct_funnel_conversion,
        fct_initiative_delivery,
        fct_initiative_outcomes,
        fct_issue_cycle_times,
        fct_kano_features,
        fct_mrr,
        fct_nps,
        fct_portfolio_scores,
        fct_retention_cohorts,
        fct_unit_economics,
        raw_analytics_events,
        raw_billing_customers,
        raw_billing_invoice_lines,
        raw_billing_invoices,
        raw_billing_refunds,
        raw_billing_subscriptions,
        raw_feedback_feature_requests,
        raw_feedback_kano_answers,
        raw_feedback_survey_responses,
        raw_jira_changelog,
        raw_jira_comments,
        raw_jira_fields,
        raw_jira_issue_links,
        raw_jira_issues,
        raw_jira_sprints,
        raw_jira_statuses,
        raw_marketing_spend,
    )

    return {
        gate.name: gate
        for gate in (
            raw_analytics_events.GATE,
            fct_funnel_conversion.GATE,
            fct_retention_cohorts.GATE,
            raw_jira_issues.GATE,
            raw_jira_changelog.GATE,
            raw_jira_sprints.GATE,
            raw_jira_comments.GATE,
            raw_jira_issue_links.GATE,
            raw_jira_fields.GATE,
            raw_jira_statuses.GATE,
            fct_issue_cycle_times.GATE,
            fct_initiative_delivery.GATE,
            fct_initiative_outcomes.GATE,
            raw_feedback_survey_responses.GATE,
            raw_feedback_feature_requests.GATE,
            raw_feedback_kano_answers.GATE,
            fct_nps.GATE,
            fct_kano_features.GATE,
            raw_billing_customers.GATE,
            raw_billing_subscriptions.GATE,
            raw_billing_invoices.GATE,
            raw_billing_invoice_lines.GATE,
            raw_billing_refunds.GATE,
            raw_marketing_spend.GATE,
            fct_mrr.GATE,
            fct_unit_economics.GATE,
            fct_portfolio_scores.GATE,
        )
    }


def __getattr__(name: str) -> Any:
    if name == "GATES":
        gates = _load_gates()
        globals()["GATES"] = gates  # loaded once; later lookups find the module attribute
        return gates
    if name in _RUNNER_NAMES:
        from expectations import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GATES",
    "GATE_NAMES",
    "DerivedCheck",
    "ExpectationOutcome",
    "Gate",
    "GateResult",
    "rule_meta",
    "validate_parquet_files",
    "validate_relation",
    "validate_warehouse_table",
]
