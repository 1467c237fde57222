"""Great Expectations gates, one module per gated table, and the runner that validates DuckDB relations in slices.

The orchestration builds one blocking asset check per entry of ``GATES``, keyed by the gated table's name.

The gate modules and the runner import Great Expectations (~10 s of a process start under load), so they are loaded
on first use of ``GATES`` or a runner name (PEP 562), not when the package is: a run whose gates validate nothing
(a night where nothing landed) never needs them, nor does loading the Dagster definitions (``GATE_NAMES``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from expectations.runner import Gate

# Every gated table, in the order its checks are defined, one module of that name each (expectations/<name>.py
# defines GATE; a test checks the modules against this list).
GATE_NAMES: tuple[str, ...] = (
    "raw_analytics_events",
    "fct_funnel_conversion",
    "fct_retention_cohorts",
    "raw_jira_issues",
    "raw_jira_changelog",
    "raw_jira_sprints",
    "raw_jira_comments",
    "raw_jira_issue_links",
    "raw_jira_fields",
    "raw_jira_statuses",
    "fct_issue_cycle_times",
    "fct_initiative_delivery",
    "fct_initiative_outcomes",
    "raw_feedback_survey_responses",
    "raw_feedback_feature_requests",
    "raw_feedback_kano_answers",
    "fct_nps",
    "fct_kano_features",
    "raw_billing_customers",
    "raw_billing_subscriptions",
    "raw_billing_invoices",
    "raw_billing_invoice_lines",
    "raw_billing_refunds",
    "raw_marketing_spend",
    "fct_mrr",
    "fct_unit_economics",
    "fct_portfolio_scores",
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
    gates = {}
    for name in GATE_NAMES:
        gate = importlib.import_module(f"expectations.{name}").GATE
        if gate.name != name:
            raise ImportError(f"expectations/{name}.py defines the gate {gate.name!r}, not {name!r}")
        gates[name] = gate
    return gates


def __getattr__(name: str) -> Any:
    if name == "GATES":
        gates = _load_gates()
        globals()["GATES"] = gates  # loaded once; later lookups find the module attribute
        return gates
    if name in _RUNNER_NAMES:
        from expectations import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GATES", "GATE_NAMES", *sorted(_RUNNER_NAMES)]
