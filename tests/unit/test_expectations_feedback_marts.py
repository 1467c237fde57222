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


def test_nps_off_the_scale_fails(config):
    frame = good_nps()
    frame.loc[4, ["nps", "nps_ci_low", "nps_ci_high"]] = [150.0, 150.0, 150.0]
    frame.loc[4, "promoters"] = 1

    result = validate("fct_nps", frame, config)

    assert ("row", "expect_column_values_to_be_between", ("nps",)) in failed_rules(result)


def test_buckets_that_do_not_add_up_fail(config):
    frame = good_nps()
    frame.loc[1, "passives"] = 3  # 6 + 3 + 1 = 10, but 9 responses

    result = validate("fct_nps", frame, config)

    assert failed_rules(result) == {("buckets_add_up_to_responses", "expect_table_row_count_to_equal", ())}


def test_nps_that_does_not_match_its_buckets_fails(config):
    frame = good_nps()
    frame.loc[2, ["nps", "nps_ci_low", "nps_ci_high"]] = [-50.0, -90.0, -10.0]  # is -75 (0 - 3 of 4)

    result = validate("fct_nps", frame, config)

    assert failed_rules(result) == {("nps_matches_its_buckets", "expect_table_row_count_to_equal", ())}


def test_an_interval_that_misses_its_nps_fails(config):
    frame = good_nps()
    frame.loc[3, "nps_ci_low"] = frame.loc[3, "nps"] + 1

    result = validate("fct_nps", frame, config)

    assert failed_rules(result) == {("interval_contains_nps", "expect_table_row_count_to_equal", ())}


def test_a_repeated_month_and_segment_fails(config):
    frame = good_nps()
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)

    result = validate("fct_nps", frame, config)

    assert failed_rules(result) == {("key_unique", "expect_table_row_count_to_equal", ())}


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


def test_counts_that_do_not_add_up_fail(config):
    frame = good_kano()
    frame.loc[0, "respondents"] = 6

    result = validate("fct_kano_features", frame, config)

    assert failed_rules(result) == {("counts_add_up_to_respondents", "expect_table_row_count_to_equal", ())}


def test_coefficients_off_their_ranges_fail(config):
    frame = good_kano()
    frame.loc[0, "better"] = 1.5
    frame.loc[1, "worse"] = 0.5  # positive: the sign was dropped

    result = validate("fct_kano_features", frame, config)

    assert {
        ("row", "expect_column_values_to_be_between", ("better",)),
        ("row", "expect_column_values_to_be_between", ("worse",)),
    } <= failed_rules(result)
    assert failed_rules(result) - {
        ("row", "expect_column_values_to_be_between", ("better",)),
        ("row", "expect_column_values_to_be_between", ("worse",)),
    } == {("coefficients_match_counts", "expect_table_row_count_to_equal", ())}


def test_an_unknown_category_fails(config):
    frame = good_kano()
    frame.loc[0, "dominant_category"] = "X"

    result = validate("fct_kano_features", frame, config)

    assert ("row", "expect_column_values_to_be_in_set", ("dominant_category",)) in failed_rules(result)


def test_a_category_that_is_not_the_most_frequent_fails(config):
    frame = good_kano()
    frame.loc[0, "dominant_category"] = "A"  # 1 A against 2 O

    result = validate("fct_kano_features", frame, config)

    assert failed_rules(result) == {("dominant_category_is_most_frequent", "expect_table_row_count_to_equal", ())}


def test_coefficients_that_do_not_match_the_counts_fail(config):
    frame = good_kano()
    frame.loc[1, "better"] = 0.9  # in range, but (0 + 1) / 3

    result = validate("fct_kano_features", frame, config)

    assert failed_rules(result) == {("coefficients_match_counts", "expect_table_row_count_to_equal", ())}
