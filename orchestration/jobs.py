"""The one pipeline job: every asset and check, ingest -> gates -> dbt -> gates -> publish."""

import dagster as dg

from orchestration.freshness import FRESHNESS_CHECK_KEYS

pmw_pipeline = dg.define_asset_job(
    name="pmw_pipeline",
    # Source freshness is evaluated by its own sensor: a stale source must never fail or block a pipeline run.
    selection=dg.AssetSelection.all() - dg.AssetSelection.checks(*FRESHNESS_CHECK_KEYS),
    description="Ingest new exports, gate them, build the dbt project, gate the marts, publish for BI.",
)

defs = dg.Definitions(jobs=[pmw_pipeline])
