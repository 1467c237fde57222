"""The whole graph, materialised in a temporary data directory through the same job the schedule runs: what the
session's shared run (tests/support/shared_run.py: every source, the analytics sample among them) published.

Runs again on copies of it (a second run, the same bytes under another name, failing gates) are
tests/scenarios/test_pipeline_reruns.py.
"""

from __future__ import annotations

import duckdb
import pytest

from core.settings import Paths
from ingest.common.lake import pending_files
from ingest.common.manifest import read_manifest
from pmw.pipeline import RunOutcome
from publish.release import current_publication

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_run(shared_run) -> tuple[Paths, RunOutcome, dict]:
    return shared_run.paths, shared_run.outcome, shared_run.truths["analytics"].to_dict()


def test_whole_graph_materialises_gates_and_publishes(first_run):
    paths, outcome, truths = first_run
    assert outcome.ok, outcome.to_dict()
    gates = {c["check"]: c["passed"] for c in outcome.checks if c["check"].endswith("_gate")}
    assert {"raw_analytics_events_gate", "fct_funnel_conversion_gate", "fct_retention_cohorts_gate"} <= set(gates)
    assert all(gates.values()), gates
    assert any(c["check"].startswith("unique_") for c in outcome.checks), "dbt tests run as asset checks"
    # Per-step wall times are recorded (bench/bench_e2e.py prints them): every step that ran, dbt included.
    assert any("dbt" in step for step in outcome.step_seconds), outcome.step_seconds
    assert all(seconds >= 0 for seconds in outcome.step_seconds.values())
    publication = current_publication(paths)
    assert publication is not None
    assert {t["name"] for t in publication["tables"]} >= {
        "fct_sessions",
        "fct_active_users",
        "fct_funnel_conversion",
        "fct_retention_cohorts",
    }
    con = duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True)
    steps = con.execute(
        "select step_index, sum(users) from fct_funnel_conversion "
        "where funnel_name = 'activation' and breakdown_value = '(all)' group by 1 order by 1"
    ).fetchall()
    by_platform = con.execute(
        "select breakdown_value, step_index, sum(users) from fct_funnel_conversion "
        "where funnel_name = 'activation' and breakdown_value <> '(all)' group by 1, 2 order by 1, 2"
    ).fetchall()
    countries = {r[0] for r in con.execute("select distinct country from fct_sessions").fetchall()}
    day7 = con.execute(
        "select sum(cohort_users), sum(users_on_period) from fct_retention_cohorts "
        "where retention_name = 'core_action_daily' and period_number = 7 and is_complete "
        "and breakdown_value = '(all)'"
    ).fetchall()[0]
    day7_by_platform = con.execute(
        "select breakdown_value, sum(cohort_users), sum(users_on_period) from fct_retention_cohorts "
        "where retention_name = 'core_action_daily' and period_number = 7 and is_complete "
        "and breakdown_value <> '(all)' group by 1 order by 1"
    ).fetchall()
    complete_through = {
        period: str(cohort)[:10]
        for period, cohort in con.execute(
            "select period_number, max(cohort_start) from fct_retention_cohorts "
            "where retention_name = 'core_action_daily' and is_complete and breakdown_value = '(all)' group by 1"
        ).fetchall()
    }
    con.close()
    # The mart and the truths close the same cohorts: sign-ups go on to the last day, so the boundary has users.
    planted = truths["retention"]
    assert {int(p): d for p, d in planted["complete_cohorts_through"].items()} == {
        p: d for p, d in complete_through.items() if p in planted["periods"]
    }
    # Every cohort user is in exactly one platform of the sign-up that started the cohort.
    assert len(day7_by_platform) > 1
    assert (sum(r[1] for r in day7_by_platform), sum(r[2] for r in day7_by_platform)) == day7
    retention = truths["retention"]
    assert day7 == (retention["realised_day7_cohort_users"], retention["realised_day7_retained"])
    # ... and the realised rate is the planted one within sampling tolerance (4 standard errors).
    rate, n, planted = day7[1] / day7[0], day7[0], retention["planted_day7"]
    assert abs(rate - planted) <= 4 * (planted * (1 - planted) / n) ** 0.5
    # The published funnel is exactly what the generator realised (independent computation).
    assert [u for _, u in steps] == truths["activation"]["realised_step_users"]
    # Vendors' platform names (Mixpanel's $os says Windows / Mac OS X for web) land in one vocabulary.
    got = {}
    for platform, _, users in by_platform:
        got.setdefault(platform, []).append(users)
    assert got == truths["activation"]["realised_by_platform"]
    # Countries arrive as ISO codes (Mixpanel) and English names (Amplitude, Segment): one code set remains.
    assert countries - {None} and all(len(c) == 2 and c.isupper() for c in countries - {None})
    assert (paths.published / "parquet" / "fct_funnel_conversion.parquet").exists()


def test_every_file_accounts_for_every_row_and_malformed_lines_are_quarantined(first_run):
    paths, _, truths = first_run
    records = read_manifest(paths, "analytics")
    assert (
        len(records) == len([f for f in truths["files"] if "/analytics/" in f or f.startswith("analytics/")]) or records
    )
    for r in records:
        assert r["status"] == "loaded", r
        assert r["rows_in"] == r["rows_loaded"] + r["rows_rejected"] + r["rows_skipped"], r
    quarantined = duckdb.sql(
        f"select _source_file, _line_number, reason from read_parquet('{paths.quarantine_dir}/analytics/*.parquet')"
    ).fetchall()
    assert sum(r["rows_rejected"] for r in records) == len(quarantined)
    planted = {(m["file"], m["line"]) for m in truths["malformed"]}
    assert {(f.removeprefix("analytics/"), line) for f, line, _ in quarantined} >= {
        (f.removeprefix("analytics/"), line) for f, line in planted
    }
    assert all(reason for _, _, reason in quarantined)
    assert pending_files(paths, "analytics", "events") == []  # all promoted after the gate
