"""The one pipeline job: every asset and check, ingest -> gates -> dbt -> gates -> publish."""

import dagster as dg

pmw_pipeline = dg.define_asset_job(
    name="pmw_pipeline",
    selection=dg.AssetSelection.all(),
    description="Ingest new exports, gate them, build the dbt project, gate the marts, publish for BI.",
)

defs = dg.Definitions(jobs=[pmw_pipeline])
