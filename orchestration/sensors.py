"""Sensors: new files in landing/ start a run; a failed run is recorded and alerted."""

import json

import dagster as dg

from orchestration.assets.ingest import RAW_ASSETS
from orchestration.jobs import pmw_pipeline
from orchestration.landing_watch import scan_new_files
from orchestration.resources import PmwSettings
from orchestration.run_records import record_run_failure

# Which ingest asset takes a landed file of each source (later sources add theirs here).
INGEST_OP_BY_SOURCE = {source: asset.op.name for source, asset in RAW_ASSETS.items()}


@dg.sensor(
    name="landing_sensor",
    job=pmw_pipeline,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts one pipeline run per new landed file; run key = the file's path and content hash.",
)
def landing_sensor(context: dg.SensorEvaluationContext, pmw: PmwSettings):
    # The same `pmw` resource as the runs it starts: it watches the data directory they will load into.
    paths = pmw.paths
    cursor = json.loads(context.cursor) if context.cursor else {}
    new_files, new_cursor = scan_new_files(paths, cursor)
    for landed in new_files:
        op_name = INGEST_OP_BY_SOURCE.get(landed.source)
        if op_name is None:
            context.log.warning(f"no ingest asset for source {landed.source!r} yet: {landed.relative_path}")
            continue
        yield dg.RunRequest(
            run_key=landed.run_key,
            run_config={"ops": {op_name: {"config": {"files": [str(paths.landing / landed.relative_path)]}}}},
            tags={"pmw/landed_file": landed.relative_path, "pmw/sha256": landed.sha256},
        )
    context.update_cursor(json.dumps(new_cursor, sort_keys=True))


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
