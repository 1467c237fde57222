"""A day of one source's files missing: the volume check fires and names the source, the day, the band and the
count (check result and metadata, `pmw summary`, the alert), publication is held; a clean re-run flags nothing.

No pipeline run of its own (the suite's time budget): it works on a copy of the reference data directory after its
clean run, and runs the pipeline job's volume checks (with publish) through Dagster on that copy. The missing day
is planted as a data directory that never received those files: the landed file, its lake Parquet, its manifest
record and the staging rows it loaded are removed (the incremental staging model only ever inserts a file's rows).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import dagster as dg
import duckdb
import pytest

from core.config import AlertsConfig, load_config
from core.settings import Paths, Settings
from expectations.volume import read_results
from ingest.common.manifest import manifest_source_dir, read_manifest
from orchestration.instance import open_instance
from pmw.summary import build_summary, format_summary
from publish.release import current_publication
from tests.support.webhook import webhook

pytestmark = pytest.mark.slow

URL_ENV = "PMW_TEST_VOLUME_WEBHOOK_URL"


@dataclass
class ChecksRun:
    success: bool
    evaluations: dict[str, dg.AssetCheckEvaluation]
    started: list[str]  # steps that started (a step whose upstream failed is abandoned without an event)


def _run_volume_checks(settings: Settings) -> ChecksRun:
    """The pipeline job's volume checks and publish, on this data directory's own instance (what the UI shows)."""
    from orchestration.assets.publish import PUBLISHED_MARTS
    from orchestration.checks.volume import VOLUME_CHECKS
    from orchestration.definitions import defs

    check_keys = {key for checks in VOLUME_CHECKS for key in checks.check_keys}
    job = defs.resolve_job_def("pmw_pipeline").get_subset(
        asset_selection={PUBLISHED_MARTS}, asset_check_selection=check_keys
    )
    instance = open_instance(settings.paths)
    try:
        result = job.execute_in_process(instance=instance, resources={"pmw": settings}, raise_on_error=False)
        started = sorted({e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START})
        return ChecksRun(
            success=result.success,
            evaluations={e.check_name: e for e in result.get_asset_check_evaluations()},
            started=started,
        )
    finally:
        instance.dispose()


def _settings(paths: Paths, monkeypatch, url: str) -> Settings:
    monkeypatch.setenv(URL_ENV, url)
    config = load_config()
    alerts = AlertsConfig.model_validate({"destinations": [{"kind": "webhook", "url_env": URL_ENV}]})
    return Settings(paths=paths, config=config.model_copy(update={"alerts": alerts}))


def _event_days(paths: Paths) -> dict[dt.date, int]:
    with duckdb.connect(str(paths.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select cast(event_at as date), count(*) from staging.stg_analytics__events group by 1"
        ).fetchall()
    return dict(rows)


def _remove_amplitude_day(paths: Paths, day: dt.date) -> list[str]:
    """The data directory as if the Amplitude export of ``day`` had never landed; the removed landing paths."""
    removed = []
    for record in read_manifest(paths, "analytics"):
        if not record["path"].endswith(f"_{day.isoformat()}.zip"):
            continue
        sha = record["sha256"]
        (paths.landing / record["path"]).unlink()
        for parquet in (paths.lake / "analytics").rglob(f"{sha}.parquet"):
            parquet.unlink()
        (manifest_source_dir(paths, "analytics") / f"{sha}.json").unlink()
        with duckdb.connect(str(paths.warehouse_path)) as con:
            con.execute("delete from staging.stg_analytics__events where file_sha256 = ?", [sha])
        removed.append(record["path"])
    return removed


def test_a_missing_day_of_one_source_is_flagged_by_name_and_holds_publication(reference, published_copy, monkeypatch):
    paths = published_copy
    publication = current_publication(paths)
    with webhook() as (url, receiver):
        settings = _settings(paths, monkeypatch, url)

        # A clean re-run flags nothing (and sends nothing).
        clean = _run_volume_checks(settings)
        assert clean.success and "published__marts" in clean.started, clean
        # Nothing flagged: every check passed, or could not judge yet (a mart with too few earlier runs), which is
        # a WARN that says COLD START, never a pass and never an error.
        not_passed = [e for e in clean.evaluations.values() if not e.passed]
        assert all(e.metadata["status"].value == "cold_start" for e in not_passed), [e.description for e in not_passed]
        assert all(
            e.severity == dg.AssetCheckSeverity.WARN and "COLD START" in (e.description or "") for e in not_passed
        ), [e.description for e in not_passed]
        events_check = clean.evaluations["analytics_events_volume"]
        assert events_check.metadata["status"].value == "ok"
        assert receiver.requests == []

        # The Amplitude export of one recent, complete day never arrived.
        days = _event_days(paths)
        newest = max(days)
        day = newest - dt.timedelta(days=4)
        removed = _remove_amplitude_day(paths, day)
        assert removed and days[day] > 0 and _event_days(paths).get(day, 0) < days[day] / 4

        run = _run_volume_checks(settings)

    assert not run.success
    check = run.evaluations["analytics_events_volume"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    (flag,) = [f for f in check.metadata["flagged"].value if f["day"] == day.isoformat()]
    observed = _event_days(paths).get(day, 0)
    assert flag["source"] == "analytics" and flag["observed"] == observed and flag["direction"] == "low"
    assert flag["previous_count"] == days[day]  # the memory: the clean run saw the whole day
    assert observed < flag["expected_low"] <= flag["median"] <= flag["expected_high"]
    band = f"{flag['expected_low']:,}-{flag['expected_high']:,}"
    line = f"{day.isoformat()} ({day.strftime('%A')}): {observed:,} events, too few; expected {band}"
    assert line in check.description
    # Blocking: publish did not run, the previous release is still served.
    assert "source_volume_checks" in run.started and "published__marts" not in run.started
    assert current_publication(paths) == publication
    # `pmw summary` names it too, and says it blocks.
    summary = format_summary(build_summary(paths))
    assert f"BLOCK: analytics events: {len(check.metadata['flagged'].value)} day(s) out of band" in summary
    assert line in summary
    (sources,) = [g for g in read_results(paths) if g["group"] == "sources"]
    assert sources["results"][0]["status"] == "anomaly"
    # One alert, naming the source, the day, the band and the count.
    (request,) = receiver.requests
    alert = json.loads(request["body"])
    assert alert["kind"] == "volume_anomaly" and "nothing new published" in alert["title"]
    assert line in alert["text"]
    assert {"source": "analytics", "day": day.isoformat(), "observed": observed}.items() <= {
        k: v
        for a in alert["details"]["anomalies"]
        for f in a["flagged"]
        if f["day"] == day.isoformat()
        for k, v in f.items()
    }.items()


def test_volume_checks_are_blocking_checks_publish_waits_for(reference):
    from orchestration.assets.publish import PUBLISHED_MARTS
    from orchestration.checks.volume import VOLUME_CHECKS
    from orchestration.definitions import defs
    from orchestration.resources import DUCKDB_POOL

    graph = defs.resolve_asset_graph()
    specs = {spec.name: spec for checks in VOLUME_CHECKS for spec in checks.check_specs}
    assert all(spec.blocking for spec in specs.values())
    publish_parents = graph.get(PUBLISHED_MARTS).parent_keys
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert {spec.asset_key for spec in specs.values()} == marts | {
        dg.AssetKey(["staging", m])
        for m in ("stg_analytics__events", "stg_feedback__survey_responses", "stg_billing__invoices")
    } | {dg.AssetKey(["staging", "stg_marketing__spend"])}
    assert {spec.asset_key for spec in specs.values()} <= publish_parents
    job = defs.resolve_job_def("pmw_pipeline")
    pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
    assert {pools[c.node_def.name] for c in VOLUME_CHECKS} == {DUCKDB_POOL}
