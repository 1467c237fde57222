"""Initiative outcomes end to end, read from the PUBLISHED marts and compared with what the generator planted.

The sample (the shared run) launches PROD-1 ("Share reports with one click": every report from its
ship instant on is shared with probability 0.60 instead of 0.35) and PROD-2 (no effect at all). PROD-3 never
ships. The generator counts each window's entries and successes with the mart's definition, so sample sizes and
successes must match exactly; the planted lift must lie in the published interval and the null must not be called
significant.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest
from scipy import stats

pytestmark = pytest.mark.slow


def _outcomes(paths) -> dict[str, dict]:
    con = duckdb.connect(str(Path(paths.published) / "marts.duckdb"), read_only=True)
    try:
        cursor = con.execute("select * from marts.fct_initiative_outcomes")
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def outcomes(portfolio_sample_run) -> dict[str, dict]:
    paths, _truths = portfolio_sample_run
    return _outcomes(paths)


def _truth(portfolio_sample_run, key: str):
    return portfolio_sample_run[1]["analytics"].outcomes[key]


@pytest.mark.parametrize("key", ["PROD-1", "PROD-2"])
def test_windows_and_samples_equal_the_realised_truths(outcomes, portfolio_sample_run, key):
    row, truth = outcomes[key], _truth(portfolio_sample_run, key)
    assert row["shipped_at"] == truth.ship_at.replace(tzinfo=None)
    assert row["before_window_start"] == truth.before_window_start.replace(tzinfo=None)
    assert row["after_window_end"] == truth.after_window_end.replace(tzinfo=None)
    assert row["target_metric_type"] == "funnel_step"
    assert row["target_metric_label"] == f"{truth.funnel}: step 2 {truth.step_event}"
    assert row["window_days"] == truth.window_days
    assert (row["before_sample_size"], row["before_successes"]) == (
        truth.realised_before_sample_size,
        truth.realised_before_successes,
    )
    assert (row["after_sample_size"], row["after_successes"]) == (
        truth.realised_after_sample_size,
        truth.realised_after_successes,
    )
    assert truth.is_window_elapsed
    assert (row["is_window_complete"], row["outcome_status"]) == (True, "final")


@pytest.mark.parametrize("key", ["PROD-1", "PROD-2"])
def test_interval_and_p_value_are_the_two_proportion_z_test(outcomes, key):
    row = outcomes[key]
    n0, s0, n1, s1 = (
        row[c] for c in ("before_sample_size", "before_successes", "after_sample_size", "after_successes")
    )
    p0, p1 = s0 / n0, s1 / n1
    se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    pooled = (s0 + s1) / (n0 + n1)
    z = (p1 - p0) / math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    assert row["test_method"] == "two_proportion_z"
    assert row["effect"] == pytest.approx(p1 - p0, abs=1e-12)
    assert row["effect_ci_lower"] == pytest.approx(p1 - p0 - stats.norm.ppf(0.975) * se, abs=1e-12)
    assert row["effect_ci_upper"] == pytest.approx(p1 - p0 + stats.norm.ppf(0.975) * se, abs=1e-12)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-6, abs=1e-12)


def test_planted_sharing_lift_is_recovered_and_significant(outcomes, portfolio_sample_run):
    row, truth = outcomes["PROD-1"], _truth(portfolio_sample_run, "PROD-1")
    # The planted lift given these users' reports, and the closed form per first report: both inside the interval.
    assert row["effect_ci_lower"] <= truth.expected_lift <= row["effect_ci_upper"]
    assert row["effect_ci_lower"] <= truth.planted_lift <= row["effect_ci_upper"]
    assert truth.planted_lift == pytest.approx(0.16)
    assert row["is_significant"] is True
    assert row["effect_ci_lower"] > 0


def test_the_null_initiative_is_not_called_significant(outcomes, portfolio_sample_run):
    row, truth = outcomes["PROD-2"], _truth(portfolio_sample_run, "PROD-2")
    assert truth.planted_lift == 0
    assert row["effect_ci_lower"] <= 0 <= row["effect_ci_upper"]
    assert row["is_significant"] is False
    assert row["p_value"] > 0.05


def test_unshipped_initiative_has_no_metrics(outcomes, portfolio_sample_run):
    row = outcomes["PROD-3"]
    assert not portfolio_sample_run[1]["jira"].initiatives["PROD-3"].shipped
    assert (row["is_shipped"], row["outcome_status"], row["is_significant"]) == (False, "not_shipped", False)
    assert row["target_metric_type"] == "retention"
    metrics = ["before_sample_size", "after_sample_size", "before_value", "after_value", "effect", "p_value"]
    assert all(row[c] is None for c in [*metrics, "effect_ci_lower", "effect_ci_upper", "adopting_users_after"])


def test_adoption_after_launch(outcomes, portfolio_sample_run):
    paths, _ = portfolio_sample_run
    con = duckdb.connect(str(Path(paths.published) / "marts.duckdb"), read_only=True)
    try:
        weekly = con.execute(
            "select initiative_key, week_index, adopting_users, active_users, adoption_share, is_complete_week"
            " from marts.fct_initiative_adoption_weekly order by 1, 2"
        ).fetchall()
    finally:
        con.close()
    assert {w[0] for w in weekly} == {"PROD-1", "PROD-2"}
    prod1 = [w for w in weekly if w[0] == "PROD-1"]
    assert [w[1] for w in prod1] == list(range(len(prod1)))
    assert all(0 < w[2] <= w[3] for w in prod1) and all(w[5] for w in prod1[:-1])
    row = outcomes["PROD-1"]
    assert 0 < row["adopting_users_after"] <= row["active_users_after"]
    assert row["adoption_share_after"] == pytest.approx(row["adopting_users_after"] / row["active_users_after"])
    assert 0 < row["adopting_accounts_after"] <= row["adopting_users_after"]
