"""The initiative delivery mart gate: a consistent mart passes; each kind of inconsistency fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_relation
from tests.support.delivery_contracts import contract_ddl

GATE = GATES["fct_initiative_delivery"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({}, Path("test-pmw.yml"))


def good_mart() -> pd.DataFrame:
    rows = []
    for number in range(6):
        shipped = number % 2 == 0
        due = dt.date(2024, 3, 1) + dt.timedelta(days=number)
        ship = due + dt.timedelta(days=number - 2) if shipped else None
        basis = ("time_tracking", "story_points", None)[number % 3]
        rows.append(
            {
                "initiative_key": f"PROD-{number + 1}",
                "due_date": due,
                "ship_date": ship,
                "shipped_at": dt.datetime.combine(ship, dt.time(10)) if shipped else None,
                "ship_date_rule": ("initiative_done" if number % 4 == 0 else "last_child_done") if shipped else None,
                "is_shipped": shipped,
                "slip_days": number - 2 if shipped else None,
                "first_started_at": dt.datetime(2024, 1, 10),
                "throughput_issues_per_week": 1.5 if shipped else None,
                "median_child_cycle_time_seconds": 86_400.0,
                "effort_person_months": {"time_tracking": 0.4, "story_points": 1.2, None: None}[basis],
                "effort_basis": basis,
            }
        )
    return pd.DataFrame(rows)


def validate(frame: pd.DataFrame, config: PipelineConfig) -> GateResult:
    with duckdb.connect() as con:
        con.execute(contract_ddl("fct_initiative_delivery"))
        con.register("frame_view", frame)
        con.execute("insert into fct_initiative_delivery by name select * from frame_view")
        return validate_relation(con, "fct_initiative_delivery", GATE, config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def test_a_consistent_mart_passes_every_rule(config):
    frame = good_mart()
    assert frame.is_shipped.any() and not frame.is_shipped.all()
    assert frame.slip_days.lt(0).any() and frame.slip_days.gt(0).any()  # early and late both exercised

    result = validate(frame, config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()


BETWEEN = "expect_column_values_to_be_between"
NO_ROWS = "expect_table_row_count_to_equal"


@pytest.mark.parametrize(
    ("row", "column", "bad_value", "expected"),
    [
        pytest.param(2, "effort_person_months", 0.7, {("effort_has_its_basis", NO_ROWS, ())}, id="effort, no basis"),
        pytest.param(1, "is_shipped", True, {("is_shipped_matches_ship_date", NO_ROWS, ())}, id="shipped, no date"),
        pytest.param(4, "slip_days", 0, {("slip_matches_dates", NO_ROWS, ())}, id="slip off the dates"),
        pytest.param(1, "slip_days", 3, {("slip_matches_dates", NO_ROWS, ())}, id="slip before shipping"),
        pytest.param(
            0,
            "ship_date",
            dt.date(2024, 7, 1),
            {("row", BETWEEN, ("ship_date",)), ("slip_matches_dates", NO_ROWS, ())},
            id="ship date after now (so its slip is off too)",
        ),
    ],
)
def test_a_bad_value_fails_exactly_its_rule(config, row, column, bad_value, expected):
    frame = good_mart()
    frame.loc[row, column] = bad_value

    result = validate(frame, config)

    assert failed_rules(result) == expected
    assert not result.success
