"""The finance mart gates (fct_mrr, fct_unit_economics): consistent marts pass; each inconsistency fails its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from core.config import PipelineConfig, parse_config
from core.settings import DBT_PROJECT_DIR
from expectations import GATES, GateResult, validate_relation

NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


def contract_ddl(mart: str) -> str:
    """The table as the mart's enforced dbt contract declares it."""
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "finance" / "_finance__models.yml").read_text())
    (model,) = [m for m in declared["models"] if m["name"] == mart]
    columns = ", ".join(f"{column['name']} {column['data_type']}" for column in model["columns"])
    return f"create or replace table {mart} ({columns})"


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({}, Path("test-pmw.yml"))


def validate(mart: str, frame: pd.DataFrame, config: PipelineConfig) -> GateResult:
    with duckdb.connect() as con:
        con.execute(contract_ddl(mart))
        con.register("frame_view", frame)
        con.execute(f"insert into {mart} by name select * from frame_view")
        return validate_relation(con, mart, GATES[mart], config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def good_mrr() -> pd.DataFrame:
    # one customer through new -> expansion -> contraction -> churn -> reactivation
    path = [(100, "new"), (150, "expansion"), (120, "contraction"), (0, "churn"), (120, "reactivation")]
    rows, previous = [], 0
    for month, (mrr, movement) in enumerate(path, start=1):
        change = mrr - previous
        rows.append(
            {
                "customer_month_id": f"k{month}",
                "customer_id": "cus_a",
                "month_start": dt.date(2024, month, 1),
                "mrr": mrr,
                "previous_mrr": previous,
                "mrr_change": change,
                "movement": movement,
                "new_mrr": change if movement == "new" else 0,
                "expansion_mrr": change if movement == "expansion" else 0,
                "contraction_mrr": change if movement == "contraction" else 0,
                "churned_mrr": change if movement == "churn" else 0,
                "reactivation_mrr": change if movement == "reactivation" else 0,
                "active_subscriptions": 1 if mrr else 0,
                "revenue": mrr,
                "refunds": 0,
                "net_revenue": mrr,
                "reporting_currency": "USD",
            }
        )
        previous = mrr
    return pd.DataFrame(rows)


def test_a_consistent_mrr_mart_passes(config):
    result = validate("fct_mrr", good_mrr(), config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()


NO_ROWS = "expect_table_row_count_to_equal"
BETWEEN = "expect_column_values_to_be_between"


@pytest.mark.parametrize(
    ("row", "column", "bad_value", "expected"),
    [
        pytest.param(1, "expansion_mrr", 40, ("movements_add_up_to_the_change", NO_ROWS, ()), id="bridge off by 10"),
        pytest.param(
            2, "mrr_change", 0, ("movements_add_up_to_the_change", NO_ROWS, ()), id="change is not mrr - prev"
        ),
        pytest.param(
            0,
            "reporting_currency",
            "EUR",
            ("row", "expect_column_values_to_be_in_set", ("reporting_currency",)),
            id="not the configured reporting currency",
        ),
        pytest.param(4, "month_start", dt.date(2024, 7, 1), ("row", BETWEEN, ("month_start",)), id="a month after now"),
    ],
)
def test_a_bad_mrr_value_fails_exactly_its_rule(config, row, column, bad_value, expected):
    frame = good_mrr()
    frame.loc[row, column] = bad_value

    result = validate("fct_mrr", frame, config)

    assert failed_rules(result) == {expected}


def good_unit_economics() -> pd.DataFrame:
    rows = []
    for month in (1, 2, 3):
        for channel, new_customers, cac in (("paid_search", 2, 150), ("affiliate", 0, None), ("blended", 2, 150)):
            ltv = 640 if month > 1 else None
            rows.append(
                {
                    "unit_economics_id": f"{month}-{channel}",
                    "month_start": dt.date(2024, month, 1),
                    "channel": channel,
                    "is_blended": channel == "blended",
                    "customers_at_start": 4 if month > 1 else 0,
                    "active_customers": 4,
                    "churned_customers": 1 if month > 1 else 0,
                    "new_paying_customers": new_customers,
                    "mrr": 800,
                    "arpa": 200,
                    "gross_margin": 0.8,
                    "monthly_churn": 0.25 if month > 1 else None,
                    "churn_for_prediction": 0.25 if month > 1 else None,
                    "predicted_ltv": ltv,
                    "spend": 300 if cac else 0,
                    "cac": cac,
                    "ltv_to_cac": ltv / cac if ltv and cac else None,
                    "payback_months": cac / 160 if cac else None,
                    "ltv_cac_ok": (ltv / cac >= 3) if ltv and cac else None,
                    "payback_ok": True if cac else None,
                    "reporting_currency": "USD",
                }
            )
    return pd.DataFrame(rows)


def test_a_consistent_unit_economics_mart_passes(config):
    result = validate("fct_unit_economics", good_unit_economics(), config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()


@pytest.mark.parametrize(
    ("row", "column", "bad_value", "expected_check"),
    [
        pytest.param(1, "cac", 0, "cac_only_with_new_customers", id="CAC where affiliate had no new customers"),
        pytest.param(3, "churned_customers", 5, "churn_within_the_customers_at_start", id="5 churned of 4"),
    ],
)
def test_a_bad_unit_economics_value_fails_exactly_its_rule(config, row, column, bad_value, expected_check):
    frame = good_unit_economics()
    frame.loc[row, column] = bad_value

    result = validate("fct_unit_economics", frame, config)

    assert failed_rules(result) == {(expected_check, NO_ROWS, ())}
