"""Portfolio scoring (portfolio/scoring.py), the warehouse round trip and the fct_portfolio_scores gate, on small
synthetic marts. Expected figures are worked out by hand from the rows below."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.config import ConfigError, PortfolioConfig, parse_config
from expectations import GATES, validate_relation
from portfolio.scoring import PortfolioInputError, score_portfolio
from portfolio.warehouse import read_inputs, write_tables

CONFIG = PortfolioConfig()  # thresholds 20/10/5/2 % -> 3/2/1/0.5; min sample 100, requests 10, Kano respondents 20
NOW = dt.datetime(2024, 6, 1)


def initiatives() -> pd.DataFrame:
    return pd.DataFrame(
        [  # key, summary, shipped, category, effort, basis
            ("PROD-1", "Share reports", True, "done", 2.0, "time_tracking"),
            ("PROD-2", "Onboarding", True, "done", 4.0, "story_points"),
            ("PROD-3", "Settings search", False, "indeterminate", None, None),
            ("PROD-4", "Zero effort", False, "new", 0.0, "story_points"),
        ],
        columns=["initiative_key", "summary", "is_shipped", "status_category", "effort_person_months", "effort_basis"],
    )


def ideas() -> pd.DataFrame:
    return pd.DataFrame(
        [  # key, summary, status, reach, impact, confidence, effort, implemented by
            ("IDEA-1", "Report sharing", "shipped", 5000.0, 1.0, 0.8, 2.0, "PROD-1"),
            ("IDEA-3", "Settings search", "in_delivery", 3000.0, 2.0, 0.5, 3.0, "PROD-3"),
            ("IDEA-4", "Dark mode", "parked", 1000.0, None, 0.8, None, None),
            ("IDEA-5", "Slack alerts", "discovery", 2000.0, 2.0, 1.0, 0.0, None),
            ("IDEA-6", "CSV exports", "discovery", 800.0, 1.0, 0.8, 0.5, None),
            ("IDEA-7", "SSO", "discovery", 1600.0, 0.5, 0.5, 1.0, None),
        ],
        columns=[
            "idea_key", "summary", "idea_status", "reach", "impact", "confidence", "effort_person_months",
            "implemented_by_initiative_key",
        ],
    )  # fmt: skip


OUTCOME_COLUMNS = [
    "initiative_key", "is_shipped", "window_days", "before_sample_size", "before_value", "after_sample_size",
    "effect", "is_significant", "outcome_status", "adopting_users_after",
]  # fmt: skip


def outcomes() -> pd.DataFrame:
    return pd.DataFrame(
        [
            # +0.06 on 0.40 is a 15 % lift, significant, 28-day window, 140 adopters -> 140 * 91 / 28 = 455 per quarter
            ("PROD-1", True, 28, 500, 0.40, 400, 0.06, True, "final", 140),
            # not significant -> impact 0.25; 14-day window, 70 adopters -> 455
            ("PROD-2", True, 14, 50, 0.30, 60, 0.01, False, "provisional", 70),
            ("PROD-3", False, 28, None, None, None, None, None, "not_shipped", None),
        ],
        columns=OUTCOME_COLUMNS,
    )


def kano() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("report_sharing", "PROD-1", 30, "O"),
            ("guided_onboarding", "PROD-2", 5, "M"),
            ("dark_mode", None, 25, "A"),
        ],
        columns=["feature", "initiative_key", "respondents", "dominant_category"],
    )


def requests() -> pd.DataFrame:
    return pd.DataFrame(
        [("PROD-3", 12, 7, 1234.5, 20.0), ("(unlinked)", 3, 2, 0.0, None)],
        columns=["initiative_key", "requests", "unique_accounts", "revenue_weighted_demand", "requester_nps"],
    )


def segments() -> pd.DataFrame:
    return pd.DataFrame(
        [("PROD-3", 910.0, "signed_up")], columns=["initiative_key", "users_per_quarter", "segment_event"]
    )


def run(**overrides: pd.DataFrame):
    frames = {
        "initiatives": initiatives(), "ideas": ideas(), "outcomes": outcomes(), "kano": kano(),
        "requests": requests(), "segments": segments(),
    } | overrides  # fmt: skip
    return score_portfolio(**frames, config=CONFIG)


def rows_by_key(result) -> dict[str, dict]:
    return {
        row["item_key"]: row
        for row in result.scores.astype(object).where(result.scores.notna(), None).to_dict("records")
    }


def test_each_rule_with_its_source():
    rows = rows_by_key(run())
    assert set(rows) == {"PROD-1", "PROD-2", "PROD-3", "PROD-4", "IDEA-4", "IDEA-5", "IDEA-6", "IDEA-7"}
    p1 = rows["PROD-1"]  # shipped, significant 15 % lift with enough sample: impact 2, confidence 1
    assert (p1["reach"], p1["reach_source"]) == (455.0, "measured_adoption")
    assert (p1["impact"], p1["impact_source"]) == (2.0, "measured_effect")
    assert (p1["confidence"], p1["confidence_source"]) == (1.0, "measured_effect")
    assert (p1["effort_person_months"], p1["effort_source"]) == (2.0, "jira_time_tracking")
    assert p1["rice_score"] == pytest.approx(455 * 2 * 1.0 / 2)
    assert (p1["kano_feature"], p1["kano_category"], p1["theme"]) == ("report_sharing", "O", "one_dimensional")
    p2 = rows["PROD-2"]  # shipped, not significant: 0.25; no feedback volume (5 respondents): 0.5
    assert (p2["impact"], p2["impact_source"]) == (0.25, "measured_effect:not_significant")
    assert (p2["confidence"], p2["confidence_source"]) == (0.5, "typed_in")
    assert (p2["effort_source"], p2["rice_score"]) == ("jira_story_points", pytest.approx(455 * 0.25 * 0.5 / 4))
    p3 = rows["PROD-3"]  # not shipped: segment reach, its idea's JPD impact and effort, 12 requests back it
    assert (p3["reach"], p3["reach_source"]) == (910.0, "segment_size:signed_up")
    assert (p3["impact"], p3["impact_source"]) == (2.0, "jpd_field")
    assert (p3["confidence"], p3["confidence_source"]) == (0.8, "feedback_volume")
    assert (p3["effort_person_months"], p3["effort_source"]) == (3.0, "jpd_effort")
    assert (p3["status"], p3["requesting_accounts"], p3["revenue_weighted_demand"], p3["requester_nps"]) == (
        "in_delivery", 7, 1234.5, 20.0,
    )  # fmt: skip
    i4 = rows["IDEA-4"]  # no JPD impact: Kano A (matched by the title 'Dark mode') -> 1; 25 respondents -> 0.8
    assert (i4["impact"], i4["impact_source"], i4["kano_feature"]) == (1.0, "kano:A", "dark_mode")
    assert (i4["confidence"], i4["confidence_source"]) == (0.8, "feedback_volume")


def test_missing_and_zero_effort_leave_the_item_unranked_with_a_note_naming_it():
    rows = rows_by_key(run())
    assert rows["IDEA-4"]["rice_score"] is None and rows["IDEA-4"]["rice_rank"] is None
    assert rows["IDEA-4"]["scoring_note"] == "IDEA-4 'Dark mode' has no effort estimate in Jira; not ranked"
    assert rows["IDEA-5"]["scoring_note"] == (
        "IDEA-5 'Slack alerts' has an effort estimate of 0 person-months in Jira; not ranked"
    )
    assert rows["PROD-4"]["scoring_note"].startswith("PROD-4 'Zero effort' has no reach")
    assert "effort estimate of 0 person-months" in rows["PROD-4"]["scoring_note"]
    assert rows["PROD-4"]["rice_rank"] is None


def test_implemented_ideas_are_scored_once_as_their_initiative():
    scores = run().scores
    assert not scores["item_key"].isin(["IDEA-1", "IDEA-3"]).any()
    assert scores["item_key"].is_unique


def test_ranks_are_contiguous_by_score_then_key_and_stable_under_reruns():
    first = run()
    rows = rows_by_key(first)
    scored = sorted((r for r in rows.values() if r["rice_score"] is not None), key=lambda r: r["rice_rank"])
    assert [r["rice_rank"] for r in scored] == list(range(1, len(scored) + 1))
    assert [r["rice_score"] for r in scored] == sorted((r["rice_score"] for r in scored), reverse=True)
    # IDEA-6 (800 * 1 * 0.5 / 0.5 = 800) and IDEA-7 (1600 * 0.5 * 0.5 / 1 = 400) ... a tie is broken by item_key:
    tied = ideas()
    tied.loc[tied["idea_key"] == "IDEA-7", ["reach", "impact", "effort_person_months"]] = [800.0, 1.0, 0.5]
    ranked = rows_by_key(run(ideas=tied))
    assert ranked["IDEA-6"]["rice_score"] == ranked["IDEA-7"]["rice_score"]
    assert ranked["IDEA-7"]["rice_rank"] == ranked["IDEA-6"]["rice_rank"] + 1
    shuffled = run(ideas=ideas().iloc[::-1], initiatives=initiatives().iloc[::-1], kano=kano().iloc[::-1])
    pd.testing.assert_frame_equal(first.scores, shuffled.scores)
    pd.testing.assert_frame_equal(first.kano_mix, shuffled.kano_mix)


def test_every_scored_input_has_a_source():
    scores = run().scores
    scored = scores[scores["rice_score"].notna()]
    assert len(scored) == 5
    for column in ("reach_source", "impact_source", "confidence_source", "effort_source"):
        assert scored[column].notna().all(), column


def test_no_kano_no_jpd_impact_is_unscored_and_a_missing_column_is_named():
    no_impact = ideas()
    no_impact.loc[no_impact["idea_key"] == "IDEA-6", "impact"] = None
    rows = rows_by_key(run(ideas=no_impact))
    assert rows["IDEA-6"]["kano_category"] is None and rows["IDEA-6"]["theme"] == "unclassified"
    assert rows["IDEA-6"]["scoring_note"] == (
        "IDEA-6 'CSV exports' has no impact (no measured effect, no JPD impact, no Kano category); not ranked"
    )
    with pytest.raises(PortfolioInputError, match=r"'outcomes' lacks column.*is_significant"):
        run(outcomes=outcomes().drop(columns=["is_significant"]))


def test_kano_mix_of_planned_effort_against_the_target():
    mix = run().kano_mix.set_index("kano_category")
    # planned with effort: PROD-3 (3, no Kano), IDEA-6 (0.5), IDEA-7 (1), PROD-4 / IDEA-4 / IDEA-5 carry none
    assert list(mix.index) == ["must_be", "one_dimensional", "attractive", "indifferent_or_other"]
    assert mix.loc["indifferent_or_other", "planned_effort_person_months"] == 4.5
    assert mix.loc["indifferent_or_other", "effort_share"] == 1.0
    assert mix.loc["must_be", "share_gap"] == pytest.approx(-0.4)
    assert mix["target_share"].sum() == pytest.approx(1.0)


def test_config_validates_the_portfolio_section():
    config = parse_config({"portfolio": {"min_sample_size": 50}}, Path("t.yml")).portfolio
    assert config.min_sample_size == 50 and config.target_kano_mix == CONFIG.target_kano_mix
    with pytest.raises(ConfigError, match=r"portfolio.target_kano_mix: the shares must sum to 1"):
        parse_config({"portfolio": {"target_kano_mix": {"must_be": 0.5, "attractive": 0.6}}}, Path("t.yml"))
    with pytest.raises(ConfigError, match=r"portfolio.impact_lift_thresholds\[0\].impact: 4"):
        parse_config(
            {"portfolio": {"impact_lift_thresholds": [{"min_relative_lift": 0.1, "impact": 4}]}}, Path("t.yml")
        )


# ------------------------------------------------------------------------------ warehouse round trip and the gate


def synthetic_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema marts")
    for name, frame in (
        ("fct_initiative_delivery", initiatives()),
        ("dim_ideas", ideas()),
        ("fct_initiative_outcomes", outcomes()),
        ("fct_kano_features", kano()),
        ("fct_feature_requests", requests()),
    ):
        con.register("frame_", frame)
        con.execute(f"create table marts.{name} as select * from frame_")
        con.unregister("frame_")
    con.execute(
        "create table marts.fct_funnel_conversion as select * from (values "
        "('sharing', 1, '(all)', 'week', date '2024-01-01', 'report_created', 100), "
        "('sharing', 1, '(all)', 'week', date '2024-01-08', 'report_created', 40), "
        "('sharing', 2, '(all)', 'week', date '2024-01-08', 'report_shared', 10)) "
        "as t(funnel_name, step_index, breakdown_value, period_grain, period_start, step_event, users_at_first_step)"
    )
    con.execute(
        # The platform rows split the same users again: the segment is the '(all)' cohorts, counted once.
        "create table marts.fct_retention_cohorts as select * from (values "
        "('core', 'day', date '2024-01-01', '(all)', 5, 'signed_up', 0), "
        "('core', 'day', date '2024-01-01', '(all)', 5, 'signed_up', 1), "
        "('core', 'day', date '2024-01-07', '(all)', 9, 'signed_up', 0), "
        "('core', 'day', date '2024-01-01', 'ios', 2, 'signed_up', 0), "
        "('core', 'day', date '2024-01-01', 'web', 3, 'signed_up', 0), "
        "('core', 'day', date '2024-01-07', 'ios', 4, 'signed_up', 0), "
        "('core', 'day', date '2024-01-07', 'web', 5, 'signed_up', 0)) "
        "as t(retention_name, period_grain, cohort_start, breakdown_value, cohort_users, start_event, period_number)"
    )


def pipeline_config():
    return parse_config(
        {
            "analytics": {"known_events": ["report_created", "report_shared", "signed_up"]},
            "funnels": [
                {
                    "name": "sharing",
                    "entry_mode": "any_entry",
                    "conversion_window_hours": 24,
                    "period": "week",
                    "steps": [{"event": "report_created"}, {"event": "report_shared"}],
                }
            ],
            "retention": [
                {
                    "name": "core",
                    "start_event": "signed_up",
                    "return_event": "report_created",
                    "period": "day",
                    "periods": [7],
                }
            ],
            "initiatives": [
                {"key": "PROD-1", "target_metric": {"type": "funnel_step", "funnel": "sharing", "step": 2}},
                {"key": "PROD-3", "target_metric": {"type": "retention", "retention": "core", "period": 7}},
            ],
        },
        Path("t.yml"),
    )


def test_read_score_write_round_trip_passes_the_gate():
    config = pipeline_config()
    with duckdb.connect() as con:
        synthetic_warehouse(con)
        inputs = read_inputs(con, config)
        segments_by_key = inputs["segments"].set_index("initiative_key")
        # funnel: 140 users over two weeks (14 days) -> 910 per quarter; retention: 14 users over 7 days -> 182
        assert segments_by_key.loc["PROD-1", "users_per_quarter"] == pytest.approx(910)
        assert segments_by_key.loc["PROD-3", "users_per_quarter"] == pytest.approx(182)
        assert segments_by_key.loc["PROD-3", "segment_event"] == "signed_up"
        result = score_portfolio(**inputs, config=config.portfolio)
        written = write_tables(con, result)
        assert written == {"fct_portfolio_scores": 8, "fct_portfolio_kano_mix": 4}
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_name = 'fct_portfolio_scores'").fetchall())  # fmt: skip
        assert (types["rice_rank"], types["requesting_accounts"], types["reach"]) == ("INTEGER", "BIGINT", "DOUBLE")
        gate = validate_relation(
            con, "marts.fct_portfolio_scores", GATES["fct_portfolio_scores"], config=config, now=NOW
        )
        assert gate.success, gate.summary()
        assert write_tables(con, result) == written  # create or replace: a re-run replaces, never appends


def test_a_missing_outcomes_mart_is_an_error_naming_it():
    config = pipeline_config()
    with duckdb.connect() as con:
        synthetic_warehouse(con)
        con.execute("drop table marts.fct_initiative_outcomes")
        with pytest.raises(LookupError, match=r"marts\.fct_initiative_outcomes"):
            read_inputs(con, config)


def failed(frame: pd.DataFrame) -> set[str]:
    with duckdb.connect() as con:
        con.register("frame_", frame)
        con.execute("create table scores as select * from frame_")
        result = validate_relation(con, "scores", GATES["fct_portfolio_scores"], config=pipeline_config(), now=NOW)
    return {r.check for r in result.results if not r.success}


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda f: f.assign(item_key=f["item_key"].where(f["item_key"] != "PROD-2", "PROD-1")), "item_key_unique"),
        (lambda f: f.assign(impact=f["impact"].replace(2.0, 1.5)), "impact"),
        (lambda f: f.assign(confidence=f["confidence"].replace(0.8, 0.7)), "confidence"),
        (lambda f: f.assign(rice_score=f["rice_score"] * 1.01), "score_is_reach_impact_confidence_over_effort"),
        (lambda f: f.assign(rice_rank=f["rice_rank"].replace(5, 6)), "rank_contiguous_and_ordered"),
        (lambda f: f.assign(scoring_note=None), "unscored_rows_carry_a_note"),
        (lambda f: f.assign(effort_source=None), "scored_inputs_have_a_source"),
    ],
)
def test_gate_fails_each_broken_rule(change, rule):
    good = run().scores
    assert not failed(good) - {"not_empty"}  # must pass
    assert any(rule in check for check in failed(change(good.copy()))), rule


def test_gate_fails_a_scored_row_with_zero_effort():
    broken = run().scores.copy()
    first = broken["rice_score"].notna().idxmax()
    broken.loc[first, "effort_person_months"] = 0.0
    assert "effort_positive_when_scored" in {c.split(".")[-1] for c in failed(broken)} | failed(broken)
