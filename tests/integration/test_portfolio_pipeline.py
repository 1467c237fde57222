"""The portfolio and the report end to end, from the PUBLISHED release of the shared sample run.

The shared run plants PROD-1's lift and PROD-2's null; the Jira sample types RICE fields into ten
Jira Product Discovery ideas (IDEA-1..3 implemented by PROD-1..3, IDEA-4 with no effort, IDEA-5 with effort 0).
Checked here: every scored input traces back to the published marts it came from, unscorable ideas are named,
ranks follow the scores and do not move when the scoring runs again, and the published report.html draws the
outcomes and the portfolio in headless Chromium without touching the network.
"""

from __future__ import annotations

import hashlib
import json
import re
from html import unescape as html_unescape
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.config import load_config
from portfolio.scoring import DAYS_PER_QUARTER, score_portfolio
from portfolio.warehouse import read_inputs
from tests.support.browser import assert_clean_offline_visit, visit_report

pytestmark = pytest.mark.slow


def _published_rows(paths, table: str, key: str) -> dict[str, dict]:
    with duckdb.connect(str(Path(paths.published) / "marts.duckdb"), read_only=True) as con:
        cursor = con.execute(f"select * from {table}")
        names = [d[0] for d in cursor.description]
        return {row[names.index(key)]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


@pytest.fixture(scope="module")
def published(portfolio_sample_run) -> dict[str, dict[str, dict]]:
    paths, _ = portfolio_sample_run
    return {
        "scores": _published_rows(paths, "fct_portfolio_scores", "item_key"),
        "outcomes": _published_rows(paths, "fct_initiative_outcomes", "initiative_key"),
        "delivery": _published_rows(paths, "fct_initiative_delivery", "initiative_key"),
        "ideas": _published_rows(paths, "dim_ideas", "idea_key"),
    }


def test_shipped_initiatives_are_scored_from_their_measured_outcomes(published):
    scores, outcomes, delivery = published["scores"], published["outcomes"], published["delivery"]
    thresholds = load_config().portfolio.impact_lift_thresholds
    for key in ("PROD-1", "PROD-2"):
        row, outcome = scores[key], outcomes[key]
        assert row["status"] == "shipped" and outcome["outcome_status"] == "final"
        # Reach: the adopting users of the after window, per quarter.
        assert row["reach_source"] == "measured_adoption"
        expected_reach = outcome["adopting_users_after"] * DAYS_PER_QUARTER / outcome["window_days"]
        assert row["reach"] == pytest.approx(expected_reach)
        # Effort: the delivery mart's person-months, with its basis.
        assert row["effort_person_months"] == pytest.approx(delivery[key]["effort_person_months"])
        assert row["effort_source"] == f"jira_{delivery[key]['effort_basis']}"
        # Confidence: a final measured effect on enough users.
        assert (row["confidence"], row["confidence_source"]) == (1.0, "measured_effect")

    # PROD-1's planted lift is significant: impact from its relative lift, by the configured thresholds.
    lift = outcomes["PROD-1"]["effect"] / outcomes["PROD-1"]["before_value"]
    expected_impact = next((impact for min_lift, impact in thresholds if lift >= min_lift), 0.25)
    assert (scores["PROD-1"]["impact"], scores["PROD-1"]["impact_source"]) == (expected_impact, "measured_effect")
    assert expected_impact >= 2  # a 0.13 lift on a 0.30 base is a big one
    # PROD-2 changed nothing: the minimum impact, and the reason says so.
    assert (scores["PROD-2"]["impact"], scores["PROD-2"]["impact_source"]) == (0.25, "measured_effect:not_significant")
    # PROD-3 has not shipped: its reach is the size of the segment it targets, not an adoption.
    assert scores["PROD-3"]["status"] != "shipped"
    assert scores["PROD-3"]["reach_source"].startswith("segment_size:")


def test_ideas_are_scored_once_and_unscorable_ones_are_named(published, portfolio_sample_run):
    scores, ideas = published["scores"], published["ideas"]
    jira_ideas = {i.key: i for i in portfolio_sample_run[1]["jira"].ideas}
    implemented = {k for k, i in jira_ideas.items() if i.implemented_by}
    assert implemented == {"IDEA-1", "IDEA-2", "IDEA-3"}
    # An idea an initiative implements is scored through the initiative, never twice.
    assert implemented.isdisjoint(scores) and {"PROD-1", "PROD-2", "PROD-3"} <= set(scores)
    assert {k for k, r in scores.items() if r["item_type"] == "idea"} == set(jira_ideas) - implemented

    for key, idea in jira_ideas.items():
        if key in implemented:
            continue
        row = scores[key]
        if not idea.effort:  # written empty (IDEA-4) or 0 (IDEA-5): named, not ranked, no division by zero
            assert row["rice_score"] is None and row["rice_rank"] is None
            assert key in row["scoring_note"] and "effort" in row["scoring_note"], row["scoring_note"]
            continue
        assert row["scoring_note"] is None
        # The typed-in Jira Product Discovery fields, as the dim_ideas mart normalised them.
        assert (row["reach"], row["reach_source"]) == (ideas[key]["reach"], "jpd_field")
        assert row["effort_person_months"] == pytest.approx(idea.effort)
        assert (row["confidence"], row["confidence_source"]) == (0.5, "typed_in")
    assert {k for k, r in scores.items() if r["rice_score"] is None} == {"IDEA-4", "IDEA-5"}


def test_scores_and_ranks_are_consistent_and_every_input_has_a_source(published):
    scored = [r for r in published["scores"].values() if r["rice_score"] is not None]
    for r in scored:
        assert r["rice_score"] == pytest.approx(r["reach"] * r["impact"] * r["confidence"] / r["effort_person_months"])
        for column in ("reach_source", "impact_source", "confidence_source", "effort_source"):
            assert r[column], f"{r['item_key']}: {column} is empty"
    ranked = sorted(scored, key=lambda r: r["rice_rank"])
    assert [r["rice_rank"] for r in ranked] == list(range(1, len(scored) + 1))
    assert [r["rice_score"] for r in ranked] == sorted((r["rice_score"] for r in scored), reverse=True)


def test_scoring_again_gives_the_published_table_row_for_row(portfolio_sample_run):
    paths, _ = portfolio_sample_run
    config = load_config()
    with duckdb.connect(str(paths.warehouse_path), read_only=True) as con:
        inputs = read_inputs(con, config)
    first = score_portfolio(**inputs, config=config.portfolio).scores
    again = score_portfolio(**inputs, config=config.portfolio).scores
    pd.testing.assert_frame_equal(first, again)
    with duckdb.connect(str(Path(paths.published) / "marts.duckdb"), read_only=True) as con:
        published = con.execute("select * from fct_portfolio_scores order by item_key").df()
    rescored = first.sort_values("item_key").reset_index(drop=True)
    assert list(published["item_key"]) == list(rescored["item_key"])
    assert list(published["rice_rank"].astype("Int32")) == list(rescored["rice_rank"])
    assert published["rice_score"].tolist() == pytest.approx(rescored["rice_score"].astype(float).tolist(), nan_ok=True)


def test_published_report_draws_outcomes_and_portfolio_offline_in_chromium(portfolio_sample_run, tmp_path):
    paths, _ = portfolio_sample_run
    release = Path(paths.published).resolve()
    report = release / "report.html"
    record = json.loads((release / "_publication.json").read_text(encoding="utf-8"))
    # The report in the release is the one the publication record describes, byte for byte.
    assert record["report"]["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    html = report.read_text(encoding="utf-8")
    assert record["release_id"] in html
    # Nothing may be fetched: the CSP forbids it (the inlined Vega library mentions URLs it never loads here).
    # (Read the policy itself: the inlined library's own text may mention any directive name.)
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    assert policy is not None, "report.html has no Content-Security-Policy"
    directives = html_unescape(policy.group(1))
    assert "default-src 'none'" in directives and "connect-src" not in directives, directives

    visit = visit_report(report, tmp_path, tmp_path / "published_report.png")
    assert_clean_offline_visit(visit)
    for name in (
        "initiative-outcomes-funnel_step",
        "initiative-adoption",
        "delivery-slip",
        "portfolio-rice",
        "kano-mix",
    ):
        chart = visit.charts.get(name)
        assert chart is not None and chart.marks > 0, f"{name}: {chart}; drawn: {sorted(visit.charts)}"
    assert any(name.startswith("funnel-") for name in visit.charts)
    assert any(name.startswith("retention-") for name in visit.charts)
    assert {"nps-trend", "clv-cac"} <= set(visit.charts)
    # Retention and NPS have a segment filter on the published sample (its retention is broken down by platform).
    for name in ("retention-0", "retention-1"):
        assert visit.charts[name].selectors["Platform:"][0] == "All", visit.charts[name]
        assert len(visit.charts[name].selectors["Platform:"]) > 2, visit.charts[name]
    nps_segments = visit.charts["nps-trend"].selectors["Segment:"]
    assert nps_segments[0] == "All respondents" and any(s.startswith("Platform: ") for s in nps_segments)
    assert visit.no_data_panels == [], visit.no_data_panels
    assert visit.screenshot_size[0] == 1280 and visit.screenshot_bytes > 50_000
