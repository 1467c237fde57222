"""Source freshness: a source that stops delivering is reported by its check and alerted once per stale episode;
a failed run is alerted with its failed gates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from core.config import AlertsConfig, FreshnessExpectation, load_config
from core.settings import Paths, Settings
from ingest.analytics import ingest_analytics
from ingest.common.manifest import manifest_source_dir
from orchestration.freshness import FRESHNESS_CHECK_KEYS, source_freshness
from orchestration.jobs import pmw_pipeline
from orchestration.sensors import run_failure_alert, source_freshness_sensor
from tests.support.webhook import webhook

EVENTS_CSV = "id,event,user_id,timestamp\nm-1,signed_up,u-1,2024-01-10T10:00:00.000Z\n"


def _settings(tmp_path, url_env: str | None = None) -> Settings:
    paths = Paths(tmp_path / "data").ensure()
    config = load_config()
    alerts = AlertsConfig.model_validate({"destinations": [{"kind": "webhook", "url_env": url_env}] if url_env else []})
    config = config.model_copy(
        update={
            "alerts": alerts,
            "freshness": {
                "analytics": FreshnessExpectation(max_age_hours=26),
                "jira": FreshnessExpectation(max_age_hours=170),
            },
        }
    )
    return Settings(paths=paths, config=config)


def _land_and_load(settings: Settings, loaded_hours_ago: float) -> None:
    (settings.paths.landing / "analytics" / "tracks.csv").write_text(EVENTS_CSV, encoding="utf-8")
    ingest_analytics(settings.paths, settings.config)
    for record_path in manifest_source_dir(settings.paths, "analytics").glob("*.json"):
        record = json.loads(record_path.read_text(encoding="utf-8"))
        record["finished_at"] = (datetime.now(UTC) - timedelta(hours=loaded_hours_ago)).isoformat()
        record_path.write_text(json.dumps(record), encoding="utf-8")


def test_freshness_is_the_age_of_the_newest_loaded_file_against_the_configured_maximum(tmp_path):
    settings = _settings(tmp_path)
    _land_and_load(settings, loaded_hours_ago=30)
    now = datetime.now(UTC)
    analytics = source_freshness(settings.paths, settings.config, "analytics", now)
    assert analytics.stale and 29.9 < analytics.age_hours < 30.1
    assert "analytics: STALE, last new file loaded 30.0 h ago" in analytics.description()
    assert not source_freshness(settings.paths, settings.config, "analytics", now - timedelta(hours=5)).stale
    jira = source_freshness(settings.paths, settings.config, "jira", now)
    assert jira.stale and jira.description() == "jira: nothing loaded yet (expected a new file every 170 h)"
    billing = source_freshness(settings.paths, settings.config, "billing", now)
    assert not billing.stale and billing.max_age_hours is None


def test_the_sensor_records_the_checks_and_alerts_each_stale_source_once(tmp_path, monkeypatch):
    settings = _settings(tmp_path, url_env="PMW_TEST_ALERT_URL")
    _land_and_load(settings, loaded_hours_ago=30)
    instance = dg.DagsterInstance.ephemeral()
    with webhook() as (url, receiver):
        monkeypatch.setenv("PMW_TEST_ALERT_URL", url)
        context = dg.build_sensor_context(instance=instance, resources={"pmw": settings})
        source_freshness_sensor(context)
        alerted = [json.loads(r["body"])["details"]["source"] for r in receiver.requests]
        assert sorted(alerted) == ["analytics", "jira"]
        assert json.loads(context.cursor) == ["analytics", "jira"]

        context = dg.build_sensor_context(instance=instance, cursor=context.cursor, resources={"pmw": settings})
        source_freshness_sensor(context)
        assert len(receiver.requests) == 2  # still stale: not alerted again
    check_key = dg.AssetCheckKey(dg.AssetKey(["raw", "analytics"]), "analytics_freshness")
    records = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=5)
    assert len(records) == 2
    evaluation = records[0].event.dagster_event.event_specific_data
    assert evaluation.passed is False and "STALE" in evaluation.description


def test_freshness_checks_are_defined_but_not_run_by_the_pipeline_job():
    assert len(FRESHNESS_CHECK_KEYS) == 5
    from orchestration.assets.ingest import defs as ingest_defs
    from orchestration.freshness import defs as freshness_defs
    from orchestration.resources import defs as resource_defs

    defs = dg.Definitions.merge(resource_defs, ingest_defs, freshness_defs)
    graph = defs.resolve_asset_graph()
    selected = pmw_pipeline.selection.resolve_checks(graph)
    assert not set(FRESHNESS_CHECK_KEYS) & selected
    assert set(FRESHNESS_CHECK_KEYS) <= graph.asset_check_keys


def test_a_failed_run_is_recorded_and_alerted_with_its_failed_gate(tmp_path, monkeypatch):
    @dg.op
    def gate():
        raise RuntimeError("blocking check raw_analytics_events_gate failed")

    @dg.job(name="pmw_pipeline")
    def failing_job():
        gate()

    instance = dg.DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    settings = _settings(tmp_path, url_env="PMW_TEST_ALERT_URL")
    with webhook() as (url, receiver):
        monkeypatch.setenv("PMW_TEST_ALERT_URL", url)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"pmw": settings},
        ).for_run_failure()
        run_failure_alert(context)
    records = (settings.paths.runs_dir / "failures.jsonl").read_text().splitlines()
    assert [json.loads(r)["run_id"] for r in records] == [result.run_id]
    [request] = receiver.requests
    body = json.loads(request["body"])
    assert body["kind"] == "run_failed" and body["details"]["failed_steps"] == ["gate"]
    assert body["title"] == f"pmw: run {result.run_id[:8]} of pmw_pipeline failed"
