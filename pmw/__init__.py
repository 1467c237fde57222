"""product-metrics-warehouse: settings, configuration, the run/publish logic and the CLI.

Dagster wiring lives in ``orchestration/``; source parsers in ``ingest/``; gates in ``expectations/``.
"""
