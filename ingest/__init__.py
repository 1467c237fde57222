"""Source parsers: landing file -> lake Parquet + quarantine + manifest. Pure Python and DuckDB; no Dagster."""
