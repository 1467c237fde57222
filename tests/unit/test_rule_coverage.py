"""The rule registry (tests/support/rule_coverage.py) is well-formed and docs/rule-coverage.md is rendered from it."""

from __future__ import annotations

import re

import pytest
import yaml

from core.config import SIMULTANEOUS_EVENTS
from tests.support.rule_coverage import DATABASES, DOC_PATH, REPO_ROOT, RULES, render_markdown


def test_the_doc_is_rendered_from_the_registry():
    assert DOC_PATH.read_text(encoding="utf-8") == render_markdown(), (
        "docs/rule-coverage.md is stale: run `python -m tests.support.rule_coverage`"
    )


def test_rule_ids_are_unique():
    ids = [rule.rule_id for rule in RULES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.rule_id)
def test_each_rule_is_counted_or_names_the_test_that_exercises_it(rule):
    assert (rule.query is None) != (rule.tested_elsewhere is None), rule.rule_id
    assert rule.database in DATABASES
    assert rule.documented and rule.sample
    for cited in re.findall(r"[\w./-]+\.(?:yml|md|py|sql)\b", rule.documented):
        assert (REPO_ROOT / cited).is_file(), f"{rule.rule_id} cites {cited}, which does not exist"
    if rule.query is not None:
        assert re.match(r"(?s)^select count\(\*\)|^select coalesce\(sum\(", rule.query), rule.query
        return
    path, name = rule.tested_elsewhere.split("::")
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    assert re.search(rf"(def {re.escape(name)}\(|- name: {re.escape(name)}\n)", text), rule.tested_elsewhere


# Each rule-bearing mart column -> its registry family: every value its yml accepts must be a rule.
RULE_COLUMNS = {
    ("fct_customer_acquisition", "attribution_rule"): "attribution",
    ("fct_mrr", "movement"): "mrr_movement",
    ("fct_cac", "cac_status"): "cac_status",
    ("fct_unit_economics", "cac_status"): "cac_status",
    ("fct_initiative_outcomes", "outcome_status"): "outcome_status",
    ("fct_initiative_outcomes", "test_method"): "outcome_test",
    ("fct_initiative_outcomes", "target_metric_type"): "outcome_target",
    ("fct_kano_features", "dominant_category"): "kano",
    ("fct_issue_cycle_times", "status_category"): "jira.status_category",
    ("fct_initiative_delivery", "ship_date_rule"): "delivery.ship_date",
    ("fct_funnel_conversion", "entry_mode"): "funnel.entry_mode",
}


def _accepted_values() -> dict[tuple[str, str], list[str]]:
    found = {}
    for path in (REPO_ROOT / "dbt_project" / "models" / "marts").rglob("_*__models.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            for column in model.get("columns") or []:
                for test in column.get("data_tests") or []:
                    if isinstance(test, dict) and "accepted_values" in test:
                        found[(model["name"], column["name"])] = test["accepted_values"]["arguments"]["values"]
    return found


def test_every_accepted_value_of_a_rule_column_is_in_the_registry():
    accepted = _accepted_values()
    ids = {rule.rule_id for rule in RULES}
    assert set(RULE_COLUMNS) <= set(accepted), set(RULE_COLUMNS) - set(accepted)
    missing = [
        f"{family}.{value}"
        for column, family in RULE_COLUMNS.items()
        for value in accepted[column]
        if f"{family}.{value}" not in ids
    ]
    assert missing == []


def test_every_simultaneous_events_mode_is_in_the_registry():
    ids = {rule.rule_id for rule in RULES}
    assert [m for m in SIMULTANEOUS_EVENTS if f"funnel.simultaneous_events.{m}" not in ids] == []
