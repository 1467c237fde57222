"""The fct_initiative_outcomes gate: a consistent mart passes; each inconsistency fails exactly its rule. The table
is created from the mart's enforced dbt contract, so the test follows the real types."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from core.config import PipelineConfig, parse_config
from core.settings import DBT_PROJECT_DIR
from expectations import GATES, GateResult, validate_relation

NOW = dt.datetime(2024, 6, 1, 12, 0, 0)
MART = "fct_initiative_outcomes"
Z = 1.959963984540054


def contract_ddl() -> str:
    declared = yaml.safe_load(
        (DBT_PROJECT_DIR / "models" / "marts" / "portfolio" / "_portfolio__models.yml").read_text()
    )
    (model,) = [m for m in declared["models"] if m["name"] == MART]
    columns = ", ".join(f"{column['name']} {column['data_type']}" for column in model["columns"])
    return f"create or replace table {MART} ({columns})"


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({}, Path("test-pmw.yml"))


def validate(frame: pd.DataFrame, config: PipelineConfig) -> GateResult:
    with duckdb.connect() as con:
        con.execute(contract_ddl())
        con.register("frame_view", frame)
        con.execute(f"insert into {MART} by name select * from frame_view")
        return validate_relation(con, MART, GATES[MART], config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def shipped(key: str, n0: int, s0: int, n1: int, s1: int) -> dict:
    p0, p1 = s0 / n0, s1 / n1
    margin = Z * math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    shipped_at = dt.datetime(2024, 1, 24, 14, 15)
    lower, upper = p1 - p0 - margin, p1 - p0 + margin
    return {
        "initiative_key": key, "summary": f"{key} summary", "is_shipped": True, "shipped_at": shipped_at,
        "ship_date": shipped_at.date(), "target_metric_type": "funnel_step",
        "target_metric_label": "sharing: step 2 report_shared", "window_days": 21,
        "before_window_start": shipped_at - dt.timedelta(days=21),
        "after_window_end": shipped_at + dt.timedelta(days=21),
        "before_sample_size": n0, "before_successes": s0, "before_value": p0, "after_sample_size": n1,
        "after_successes": s1, "after_value": p1, "effect": p1 - p0, "effect_ci_lower": lower, "effect_ci_upper": upper,
        "p_value": 0.01, "test_method": "two_proportion_z", "is_significant": lower > 0 or upper < 0,
        "is_window_complete": True, "outcome_status": "final", "adopting_users_after": 120,
        "adopting_accounts_after": 30, "active_users_after": 400, "adoption_share_after": 0.3,
    }  # fmt: skip


def good_outcomes() -> pd.DataFrame:
    unshipped = {key: None for key in shipped("PROD-3", 1, 1, 1, 1)} | {
        "initiative_key": "PROD-3", "summary": "Not yet", "is_shipped": False, "target_metric_type": "retention",
        "target_metric_label": "core_action_daily: day 7 report_created", "window_days": 21,
        "test_method": "two_proportion_z", "is_significant": False, "is_window_complete": False,
        "outcome_status": "not_shipped",
    }  # fmt: skip
    return pd.DataFrame([shipped("PROD-1", 224, 59, 467, 196), shipped("PROD-2", 251, 177, 227, 160), unshipped])


def test_a_consistent_mart_passes_every_rule(config):
    frame = good_outcomes()
    assert frame.is_significant.tolist() == [True, False, False]

    result = validate(frame, config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()


NO_ROWS = "expect_table_row_count_to_equal"


@pytest.mark.parametrize(
    ("row", "column", "bad_value", "expected_check"),
    [
        pytest.param(0, "effect_ci_lower", 0.5, "interval_contains_the_effect", id="interval above its effect"),
        pytest.param(0, "is_window_complete", False, "final_outcomes_have_complete_windows", id="final, unfinished"),
        pytest.param(
            1, "is_significant", True, "significance_needs_a_final_interval_excluding_zero", id="interval holds 0"
        ),
        pytest.param(2, "after_sample_size", 12, "unshipped_initiatives_have_no_metrics", id="unshipped, measured"),
        pytest.param(
            1, "adopting_accounts_after", 500, "adopting_accounts_within_adopting_users", id="accounts > users"
        ),
        pytest.param(1, "outcome_status", "not_shipped", "status_matches_shipping", id="shipped, not_shipped"),
    ],
)
def test_a_bad_value_fails_exactly_its_rule(config, row, column, bad_value, expected_check):
    frame = good_outcomes()
    frame.loc[row, column] = bad_value

    result = validate(frame, config)

    assert failed_rules(result) == {(expected_check, NO_ROWS, ())}


def test_more_successes_than_units_fail(config):
    frame = good_outcomes()
    frame.loc[1, ["after_successes", "after_value"]] = [300, 300 / 227]

    result = validate(frame, config)

    assert ("successes_within_sample_size", "expect_table_row_count_to_equal", ()) in failed_rules(result)
    assert ("proportions_are_successes_over_sample_size", "expect_table_row_count_to_equal", ()) in failed_rules(result)
