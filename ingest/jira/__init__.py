"""Jira exports (REST search JSON with changelog, agile sprint pages, field catalog, UI CSV) -> jira/* lake tables."""
