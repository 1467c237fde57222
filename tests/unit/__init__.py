"""Fast tests: no subprocess, no dbt, no pipeline run."""
