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


def ingest_only_job() -> dg.JobDefinition:
    """`pmw_pipeline` as a night where nothing landed runs it: the ingest assets and the raw gates, as the job
    subset Dagster records (the run's asset selection, shown and re-executed as such by the UI).

    Resolved from the definitions of those assets alone: loading the dbt asset would load dagster-dbt and dbt-core
    (~7 s of a process start under load) and parse the manifest for steps that do not run, and planning it would
    write one event per dbt asset and check (~400)."""
    from orchestration import resources
    from orchestration.assets.ingest import LAKE_ASSETS, RAW_ASSETS
    from orchestration.checks.gates import RAW_GATE_CHECKS

    assets = [*RAW_ASSETS.values(), *LAKE_ASSETS.values()]
    job = dg.define_asset_job(
        name=pmw_pipeline.name,
        selection=dg.AssetSelection.assets(*assets) | dg.AssetSelection.checks(*RAW_GATE_CHECKS),
        executor_def=dg.in_process_executor,
        tags=RUN_QUEUE_TAG,
        description=pmw_pipeline.description,
    )
    definitions = dg.Definitions(
        assets=assets, asset_checks=RAW_GATE_CHECKS, resources=resources.defs.resources, jobs=[job]
    )
    resolved = definitions.resolve_job_def(pmw_pipeline.name)
    return resolved.get_subset(
        asset_selection={key for asset in assets for key in asset.keys},
        asset_check_selection={key for check in RAW_GATE_CHECKS for key in check.check_keys},
    )
