"""Sensors: new files in landing/ start a run; a failed run is recorded and alerted; stale sources are alerted."""

import json
from datetime import UTC, datetime

import dagster as dg

from orchestration.alerts import AlertDeliveryError, AlertError, Notifier, run_failed_alert
from orchestration.assets.ingest import RAW_ASSETS
from orchestration.freshness import check_evaluation, source_freshness, stale_alert
from orchestration.instance import fail_runs_of_dead_workers
from orchestration.jobs import pmw_pipeline
from orchestration.landing_watch import LandingCursor, batch_run_key, files_to_request
from orchestration.resources import PmwSettings
from orchestration.run_records import check_judged, record_run_failure

# Which ingest asset takes a landed file of each source (later sources add theirs here).
INGEST_OP_BY_SOURCE = {source: asset.op.name for source, asset in RAW_ASSETS.items()}
# Runs `pmw run` starts carry this tag; the CLI alerts their failure itself, so the sensor only records it.
LAUNCHED_BY_TAG = "pmw/launched_by"


@dg.sensor(
    name="landing_sensor",
    job=pmw_pipeline,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts one pipeline run per tick for every new landed file; run key = hash of the sorted path@sha256 list."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext, pmw: PmwSettings):
    # The same `pmw` resource as the runs it starts: it watches the data directory they will load into.
    paths = pmw.paths
    # A run whose process died (SIGKILL, OOM) would hold the run queue's one place forever, and this tick's run
    # would never start: such runs are marked failed first (the run-failure sensor then alerts them).
    for dead in fail_runs_of_dead_workers(context.instance):
        context.log.warning(f"run {dead} marked failed: its process died without reporting an end")
    cursor = LandingCursor.from_json(json.loads(context.cursor) if context.cursor else None)
    batch, next_cursor = files_to_request(paths, cursor)
    files_by_op: dict[str, list[str]] = {}
    for landed in batch:
        op_name = INGEST_OP_BY_SOURCE.get(landed.source)
        if op_name is None:
            context.log.warning(f"no ingest asset for source {landed.source!r} yet: {landed.relative_path}")
            continue
        files_by_op.setdefault(op_name, []).append(str(paths.landing / landed.relative_path))
    if files_by_op:
        # One run for the whole batch: a fresh landing of many files is one dbt build, not one per file.
        yield dg.RunRequest(
            run_key=batch_run_key(batch),
            run_config={"ops": {op: {"config": {"files": files}} for op, files in files_by_op.items()}},
            tags={"pmw/landed_files": str(len(batch)), "pmw/sources": ",".join(sorted({f.source for f in batch}))},
        )
    context.update_cursor(json.dumps(next_cursor.to_json(), sort_keys=True))


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    """The asset checks that failed in a run (gates and dbt tests), from its event log; a volume check's cold start
    (it judged nothing) is not a failure."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    return [
        {"asset": e.asset_key.to_user_string(), "check": e.check_name, "description": e.description}
        for e in evaluations
        if not e.passed and check_judged(e)
    ]


@dg.run_failure_sensor(
    name="run_failure_alert",
    monitored_jobs=[pmw_pipeline],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Records every failed pipeline run in data/runs/failures.jsonl and alerts the configured destinations "
        "(alerts: in config/pmw.yml), naming the failed gates and steps."
    ),
)
def run_failure_alert(context: dg.RunFailureSensorContext, pmw: PmwSettings):
    run = context.dagster_run
    failure = {
        "run_id": run.run_id,
        "job": run.job_name,
        "message": context.failure_event.message,
        "failed_steps": [e.step_key for e in context.get_step_failure_events()],
        "failed_checks": failed_checks(context.instance, run.run_id),
    }
    record_run_failure(pmw.paths, failure)
    context.log.error(f"pipeline run failed: {json.dumps(failure, default=str)}")
    if run.tags.get(LAUNCHED_BY_TAG) == "cli":
        context.log.info(f"run {run.run_id} was started by `pmw run`, which alerted its failure itself")
        return
    # An alert that cannot be sent fails this sensor tick (shown in the UI); the failure is recorded above.
    Notifier(pmw.config.alerts).send(
        run_failed_alert(
            run.run_id, run.job_name, failure["message"] or "", failure["failed_steps"], failure["failed_checks"]
        )
    )


@dg.sensor(
    name="source_freshness",
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 10 minutes: records each configured source's <source>_freshness check (freshness: in "
        "config/pmw.yml) and alerts once each time a source goes stale."
    ),
)
def source_freshness_sensor(context: dg.SensorEvaluationContext, pmw: PmwSettings):
    alerted = set(json.loads(context.cursor)) if context.cursor else set()
    now = datetime.now(UTC)
    notifier = Notifier(pmw.config.alerts)
    stale, errors = set(), []
    for source in sorted(pmw.config.freshness):
        state = source_freshness(pmw.paths, pmw.config, source, now)
        context.instance.report_runless_asset_event(check_evaluation(state))
        if not state.stale:
            continue
        stale.add(source)
        if source in alerted:
            continue
        try:
            notifier.send(stale_alert(state))
        except AlertError as exc:
            errors.append(str(exc))
            continue
        alerted.add(source)
    # A source that is fresh again is alerted again the next time it goes stale.
    context.update_cursor(json.dumps(sorted(alerted & stale)))
    if errors:
        # After the cursor update, so sources already alerted are not alerted twice; the next tick retries.
        raise AlertDeliveryError("; ".join(errors))
    return dg.SkipReason(f"stale: {', '.join(sorted(stale)) or 'none'}")


defs = dg.Definitions(sensors=[landing_sensor, run_failure_alert, source_freshness_sensor])
