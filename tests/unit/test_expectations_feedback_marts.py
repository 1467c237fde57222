"""The feedback mart gates (fct_nps, fct_kano_features): a consistent mart passes; each inconsistency fails
exactly its rule. Tables are created from the marts' enforced dbt contracts, so the tests follow the real types."""

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
from tests.support.intervals import nps_interval

NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


def contract_ddl(mart: str) -> str:
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "feedback" / "_feedback__models.yml").read_text())
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


# --------------------------------------------------------------------------------------------------------------
# fct_nps
# --------------------------------------------------------------------------------------------------------------


def good_nps() -> pd.DataFrame:
    cells = [  # (plan, platform, promoters, passives, detractors)
        ("pro", "Web", 5, 1, 0),  # interval clamped at 100
        ("pro", "(all)", 6, 2, 1),
        ("free", "(all)", 0, 1, 3),
        ("(all)", "(all)", 6, 3, 4),
        ("(unknown)", "(all)", 1, 0, 0),  # zero-width interval
    ]
    rows = []
    for plan, platform, promoters, passives, detractors in cells:
        responses = promoters + passives + detractors
        nps, low, high = nps_interval(promoters, detractors, responses)
        rows.append(
            {
                "period_start": dt.date(2024, 3, 1),
                "segment_plan": plan,
                "segment_platform": platform,
                "responses": responses,
                "promoters": promoters,
                "passives": passives,
                "detractors": detractors,
                "nps": nps,
                "nps_ci_low": low,
                "nps_ci_high": high,
            }
        )
    return pd.DataFrame(rows)


def test_a_consistent_nps_mart_passes_every_rule(config):
    frame = good_nps()
    assert (frame.nps_ci_high == 100).any() and (frame.nps_ci_low == frame.nps_ci_high).any()

    result = validate("fct_nps", frame, config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()


NO_ROWS = "expect_table_row_count_to_equal"


@pytest.mark.parametrize(
    ("row", "column", "bad_value", "expected"),
    [
        pytest.param(1, "passives", 3, {("buckets_add_up_to_responses", NO_ROWS, ())}, id="6 + 3 + 1 of 9 responses"),
        pytest.param(2, "nps", -50.0, {("nps_matches_its_buckets", NO_ROWS, ())}, id="-50 where 0 - 3 of 4 is -75"),
        pytest.param(3, "nps_ci_low", 50.0, {("interval_contains_nps", NO_ROWS, ())}, id="interval above its NPS"),
        pytest.param(
            0,
            "period_start",
            dt.date(2024, 7, 1),
            {("row", "expect_column_values_to_be_between", ("period_start",))},
            id="a survey month after now",
        ),
    ],
)
def test_a_bad_nps_value_fails_exactly_its_rule(config, row, column, bad_value, expected):
    frame = good_nps()
    frame.loc[row, column] = bad_value

    result = validate("fct_nps", frame, config)

    assert failed_rules(result) == expected


# --------------------------------------------------------------------------------------------------------------
# fct_kano_features
# --------------------------------------------------------------------------------------------------------------


def kano_row(feature: str, dominant: str | None, **counts: int) -> dict:
    a, o, m, i = (counts.get(k, 0) for k in ("a", "o", "m", "i"))
    functional = a + o + m + i
    return {
        "feature": feature,
        "initiative_key": "PROD-1",
        "respondents": sum(counts.values()),
        **{f"{c}_count": counts.get(c, 0) for c in "aomirq"},
        "dominant_category": dominant,
        "better": (a + o) / functional if functional else None,
        "worse": -(o + m) / functional if functional else None,
        "average_importance": 6.5,
    }


def good_kano() -> pd.DataFrame:
    return pd.DataFrame(
        [
            kano_row("sharing", "O", a=1, o=2, m=1, q=1),
            kano_row("onboarding", "M", o=1, m=1, i=1),  # a tie, broken towards M
            kano_row("reverse_only", "R", r=2),  # no A, O, M or I: no coefficients
            kano_row("unanswered", None),
        ]
    )


def test_a_consistent_kano_mart_passes_every_rule(config):
    result = validate("fct_kano_features", good_kano(), config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()


@pytest.mark.parametrize(
    ("row", "column", "bad_value", "expected_check"),
    [
        pytest.param(0, "respondents", 6, "counts_add_up_to_respondents", id="6 respondents, 5 counted"),
        pytest.param(1, "better", 0.9, "coefficients_match_counts", id="better 0.9 where (0 + 1) / 3"),
        pytest.param(1, "worse", 0.5, "coefficients_match_counts", id="worse with its sign dropped"),
        pytest.param(0, "dominant_category", "A", "dominant_category_is_most_frequent", id="1 A against 2 O"),
    ],
)
def test_a_bad_kano_value_fails_exactly_its_rule(config, row, column, bad_value, expected_check):
    frame = good_kano()
    frame.loc[row, column] = bad_value

    result = validate("fct_kano_features", frame, config)

    assert failed_rules(result) == {(expected_check, "expect_table_row_count_to_equal", ())}
