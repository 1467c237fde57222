"""Publish stage: a release of the marts for BI (read-only DuckDB + Parquet, swapped atomically) and its report.html."""
