"""The Dagster code location: merges the definitions of each module. No logic here."""

import dagster as dg

from orchestration import freshness, jobs, resources, schedules, sensors
from orchestration.assets import dbt, ingest, portfolio, publish
from orchestration.checks import gates, volume

defs = dg.Definitions.merge(
    resources.defs,
    ingest.defs,
    dbt.defs,
    portfolio.defs,
    publish.defs,
    gates.defs,
    volume.defs,
    freshness.defs,
    jobs.defs,
    schedules.defs,
    sensors.defs,
)
