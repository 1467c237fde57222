"""Sensors: new files in landing/ start a run; a failed run is recorded and alerted."""

import json

import dagster as dg

from orchestration.assets.ingest import RAW_ASSETS
from orchestration.jobs import pmw_pipeline
from orchestration.landing_watch import LandingCursor, batch_run_key, files_to_request
from orchestration.resources import PmwSettings
from orchestration.run_records import record_run_failure

# Which ingest asset takes a landed file of each source (later sources add theirs here).
INGEST_OP_BY_SOURCE = {source: asset.op.name for source, asset in RAW_ASSETS.items()}


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


@dg.run_failure_sensor(
    name="run_failure_alert",
    monitored_jobs=[pmw_pipeline],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed pipeline run in data/runs/failures.jsonl and logs an error-level alert.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, pmw: PmwSettings):
    failure = {
        "run_id": context.dagster_run.run_id,
        "job": context.dagster_run.job_name,
        "message": context.failure_event.message,
        "failed_steps": [e.step_key for e in context.get_step_failure_events()],
    }
    record_run_failure(pmw.paths, failure)
    context.log.error(f"pipeline run failed: {json.dumps(failure)}")


defs = dg.Definitions(sensors=[landing_sensor, run_failure_alert])
