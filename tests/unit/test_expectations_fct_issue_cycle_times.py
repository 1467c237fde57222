"""The cycle-time mart gate: a consistent mart passes; each kind of inconsistency fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_relation
from tests.support.delivery_contracts import contract_ddl

GATE = GATES["fct_issue_cycle_times"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)
DAY = 86_400


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({}, Path("test-pmw.yml"))


def good_mart() -> pd.DataFrame:
    created = dt.datetime(2024, 1, 1)
    rows = []
    for number in range(12):
        done = number % 3 != 0
        complete = number != 11
        started = created + dt.timedelta(days=1)
        done_at = created + dt.timedelta(days=2 + number) if done else None
        rows.append(
            {
                "issue_key": f"PROD-{number + 1}",
                "status_category": "done" if done else "indeterminate",
                "is_done": done,
                "created_at": created,
                "first_in_progress_at": started if complete else None,
                "done_at": done_at if complete else None,
                "lead_time_seconds": (done_at - created).total_seconds() if done and complete else None,
                "cycle_time_seconds": (done_at - started).total_seconds() if done and complete else None,
                "reopen_count": number % 2 if complete else None,
                "seconds_in_new": float(DAY),
                "seconds_in_indeterminate": float(DAY),
                "seconds_in_done": 0.0,
                "story_points": 3,
                "changelog_complete": complete,
            }
        )
    return pd.DataFrame(rows)


def validate(frame: pd.DataFrame, config: PipelineConfig) -> GateResult:
    with duckdb.connect() as con:
        con.execute(contract_ddl("fct_issue_cycle_times"))
        con.register("frame_view", frame)
        con.execute("insert into fct_issue_cycle_times by name select * from frame_view")
        return validate_relation(con, "fct_issue_cycle_times", GATE, config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def test_a_consistent_mart_passes_every_rule(config):
    result = validate(good_mart(), config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert result.warnings == []


IS_NULL = "expect_column_values_to_be_null"


@pytest.mark.parametrize(
    ("row", "column", "bad_value", "expected"),
    [
        pytest.param(
            1,
            "cycle_time_seconds",
            4.0 * DAY,  # lead time is 3 days
            ("expect_column_pair_values_a_to_be_greater_than_b", ("lead_time_seconds", "cycle_time_seconds")),
            id="cycle longer than lead",
        ),
        pytest.param(11, "lead_time_seconds", 3.0 * DAY, (IS_NULL, ("lead_time_seconds",)), id="cut-short lead"),
        pytest.param(
            11,
            "first_in_progress_at",
            dt.datetime(2024, 1, 2),
            (IS_NULL, ("first_in_progress_at",)),
            id="cut-short start",
        ),
        pytest.param(0, "done_at", dt.datetime(2024, 1, 5), (IS_NULL, ("done_at",)), id="done time on an open issue"),
    ],
)
def test_a_bad_value_fails_exactly_its_rule(config, row, column, bad_value, expected):
    frame = good_mart()
    frame.loc[row, column] = bad_value

    result = validate(frame, config)

    assert failed_rules(result) == {("row", *expected)}
