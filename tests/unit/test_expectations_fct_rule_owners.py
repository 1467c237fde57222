"""One home for each mart rule (docs/architecture-rules.md): a GX mart gate never repeats a rule the mart's dbt
contract or data tests already own. dbt owns the column set (enforced contract), not-null, uniqueness, fixed
vocabularies and fixed ranges; a gate keeps configuration-, clock- and cross-column rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from core.config import parse_config
from core.settings import DBT_PROJECT_DIR
from expectations import GATES

NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


def dbt_marts() -> dict[str, dict]:
    """Every mart declared under models/marts, by name."""
    marts = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "marts").glob("*/_*__models.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            marts[model["name"]] = model
    return marts


def dbt_column_tests(model: dict) -> dict[str, set[str]]:
    """Column -> names of the generic tests dbt runs on it (an enforced not_null constraint counts as not_null)."""
    tests: dict[str, set[str]] = {}
    for column in model["columns"]:
        names = {next(iter(t)) if isinstance(t, dict) else t for t in column.get("data_tests", [])}
        if any(c.get("type") == "not_null" for c in column.get("constraints", [])):
            names.add("not_null")
        tests[column["name"]] = names
    return tests


# A GX rule without a row condition and the dbt test that expresses the same thing.
DBT_EQUIVALENT = {
    "expect_column_values_to_not_be_null": "not_null",
    "expect_column_values_to_be_in_set": "accepted_values",
    "expect_column_values_to_be_between": "pmw_between",
}
MART_GATES = sorted(set(GATES) & set(dbt_marts()))


def test_every_dbt_mart_gate_is_checked():
    # fct_portfolio_scores is written by pandas, not dbt: its gate is its only guard and keeps every rule.
    assert set(GATES) - set(MART_GATES) - {name for name in GATES if name.startswith("raw_")} == {
        "fct_portfolio_scores"
    }
    assert len(MART_GATES) == 9


@pytest.mark.parametrize("mart", MART_GATES)
def test_the_gate_repeats_no_rule_dbt_owns(mart):
    model = dbt_marts()[mart]
    column_tests = dbt_column_tests(model)
    config = parse_config({}, Path("test-pmw.yml"))
    suite = GATES[mart].build_suite(config, now=NOW)

    repeated = []
    for expectation in suite.expectations:
        kind = expectation.expectation_type
        if kind == "expect_table_columns_to_match_set":
            repeated.append((kind, "the enforced contract"))
        elif (
            kind in DBT_EQUIVALENT
            and not getattr(expectation, "row_condition", None)
            and DBT_EQUIVALENT[kind] in column_tests.get(expectation.column, set())
        ):
            repeated.append((kind, expectation.column))
    derived = {check.name for check in GATES[mart].derived_checks(config)}
    repeated += [("derived", name) for name in derived if name.endswith("_unique")]
    assert repeated == []
