"""Dagster wiring only: assets, checks, sensors and schedules call the plain modules in pmw/, ingest/, expectations/."""
