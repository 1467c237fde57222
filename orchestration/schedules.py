"""Nightly run of the whole pipeline (new files are also picked up as they land by the landing sensor)."""

import dagster as dg

from orchestration.jobs import pmw_pipeline

nightly_pipeline = dg.ScheduleDefinition(
    name="nightly_pipeline",
    job=pmw_pipeline,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 03:00 UTC: late files, retries of failed ones, and re-checks of every gate.",
)

defs = dg.Definitions(schedules=[nightly_pipeline])
