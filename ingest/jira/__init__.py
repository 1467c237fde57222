"""Jira exports (REST search JSON with changelog, agile sprint pages, field catalog, UI CSV) -> jira/* lake tables."""

from ingest.jira.load import ingest_jira, parse_jira_file

__all__ = ["ingest_jira", "parse_jira_file"]
