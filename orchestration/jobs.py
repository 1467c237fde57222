"""The one pipeline job: every asset and check, ingest -> gates -> dbt -> gates -> publish.

It runs in one process (in_process_executor), like `pmw run`: the `pmw` resource is then initialised once per run
and holds the data directory's run lock until the run ends (orchestration/resources.py). The duckdb_writer pool
already ran the steps that touch the warehouse one at a time; only the five ingest steps lose their overlap.
The run tag lets dagster_home/dagster.yaml's run coordinator queue the job's runs one at a time.
"""

import dagster as dg

from orchestration.freshness import FRESHNESS_CHECK_KEYS

# dagster_home/dagster.yaml limits runs carrying this tag to one at a time (the run lock backs it up for CLI runs).
RUN_QUEUE_TAG = {"pmw/run_queue": "pipeline"}

pmw_pipeline = dg.define_asset_job(
    name="pmw_pipeline",
    # Source freshness is evaluated by its own sensor: a stale source must never fail or block a pipeline run.
    selection=dg.AssetSelection.all() - dg.AssetSelection.checks(*FRESHNESS_CHECK_KEYS),
    executor_def=dg.in_process_executor,
    tags=RUN_QUEUE_TAG,
    description="Ingest new exports, gate them, build the dbt project, gate the marts, publish for BI.",
)

defs = dg.Definitions(jobs=[pmw_pipeline])
