"""The `jira/*` lake contracts (DESIGN.md): what ingest writes and dbt's sources read.

Column order and DuckDB types are the contract. Times are TIMESTAMP (naive, UTC). Every table also carries the
lineage columns. Status categories are Jira's own keys: 'new' (To Do), 'indeterminate' (In Progress), 'done'.
"""

from __future__ import annotations

SOURCE = "jira"

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),  # path relative to landing/
    # rest_v2 | rest_v3 | rest_jql | issue_array | single_issue | agile_sprints | field_catalog | status_catalog | csv
    ("_source_format", "VARCHAR"),
    ("_record_number", "BIGINT"),  # 1-based position of the issue/sprint in the file (CSV: data row number)
    ("_file_sha256", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

ISSUE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("issue_id", "VARCHAR"),
    ("issue_key", "VARCHAR"),
    ("project_key", "VARCHAR"),
    ("issue_type", "VARCHAR"),
    ("hierarchy_level", "INTEGER"),  # Jira's issuetype.hierarchyLevel: -1 sub-task, 0 story/bug, 1 epic, 2+ above
    ("summary", "VARCHAR"),
    ("description_text", "VARCHAR"),  # plain text; API v3 Atlassian Document Format flattened
    ("status", "VARCHAR"),
    ("status_category", "VARCHAR"),  # new | indeterminate | done, from the export
    ("priority", "VARCHAR"),
    ("resolution", "VARCHAR"),
    ("assignee_account_id", "VARCHAR"),
    ("reporter_account_id", "VARCHAR"),
    ("parent_key", "VARCHAR"),  # direct parent at any level (parent field, Parent / Parent key columns)
    ("epic_key", "VARCHAR"),  # Epic Link, else the parent when the parent is an epic
    ("labels", "VARCHAR[]"),
    ("components", "VARCHAR[]"),
    ("fix_versions", "VARCHAR[]"),
    ("sprint_ids", "BIGINT[]"),
    ("story_points", "DECIMAL(10,2)"),  # Story Points or Story point estimate, whichever the instance uses
    ("original_estimate_seconds", "BIGINT"),
    ("time_spent_seconds", "BIGINT"),
    ("due_date", "DATE"),
    ("created_at", "TIMESTAMP"),
    ("updated_at", "TIMESTAMP"),
    ("resolved_at", "TIMESTAMP"),
    # Jira Product Discovery / RICE fields, where the export has them. Confidence normalised to [0, 1].
    ("reach", "DOUBLE"),
    ("impact", "DOUBLE"),
    ("confidence", "DOUBLE"),
    ("effort", "DOUBLE"),  # may be 0 or NULL: kept and flagged downstream, never divided by
    ("changelog_total", "INTEGER"),  # what the export says the changelog holds
    ("changelog_loaded", "INTEGER"),  # how many histories are in the file
    ("changelog_complete", "BOOLEAN"),  # false when the inline changelog was cut short (total > maxResults)
) + LINEAGE_COLUMNS

CHANGELOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("issue_key", "VARCHAR"),
    ("issue_id", "VARCHAR"),
    ("history_id", "VARCHAR"),
    ("item_index", "INTEGER"),  # position of the item within its history (a history can change several fields)
    ("changed_at", "TIMESTAMP"),
    ("author_account_id", "VARCHAR"),
    ("field", "VARCHAR"),  # display name, e.g. status, Sprint, Story Points
    ("field_id", "VARCHAR"),  # e.g. status, customfield_10020
    ("from_id", "VARCHAR"),  # the item's `from`
    ("from_value", "VARCHAR"),  # the item's `fromString`
    ("to_id", "VARCHAR"),
    ("to_value", "VARCHAR"),
) + LINEAGE_COLUMNS

SPRINT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sprint_id", "BIGINT"),
    ("board_id", "BIGINT"),
    ("name", "VARCHAR"),
    ("state", "VARCHAR"),  # closed | active | future
    ("goal", "VARCHAR"),
    ("start_at", "TIMESTAMP"),  # NULL for future sprints
    ("end_at", "TIMESTAMP"),
    ("complete_at", "TIMESTAMP"),
) + LINEAGE_COLUMNS

COMMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("issue_key", "VARCHAR"),
    ("comment_index", "INTEGER"),
    ("commented_at", "TIMESTAMP"),
    ("author_account_id", "VARCHAR"),
    ("body", "VARCHAR"),
) + LINEAGE_COLUMNS

ISSUE_LINK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("issue_key", "VARCHAR"),  # the issue the export row belongs to
    ("issue_id", "VARCHAR"),
    ("link_index", "INTEGER"),  # 1-based position of the link on the issue (JSON issuelinks / CSV header order)
    ("link_id", "VARCHAR"),  # Jira's issue link id (JSON only; the CSV has none)
    ("link_type", "VARCHAR"),  # link type name, e.g. Blocks, Polaris work item link
    ("direction", "VARCHAR"),  # outward (this issue <outward phrase> the linked one) | inward
    ("link_phrase", "VARCHAR"),  # the type's phrase in that direction, e.g. implements / is implemented by (JSON)
    ("linked_issue_key", "VARCHAR"),
) + LINEAGE_COLUMNS

FIELD_CATALOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("field_id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("is_custom", "BOOLEAN"),
    ("schema_type", "VARCHAR"),
    ("schema_custom", "VARCHAR"),
) + LINEAGE_COLUMNS

STATUS_CATALOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("status_id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("untranslated_name", "VARCHAR"),  # Cloud: the name before the site's translation, when it has one
    ("status_category", "VARCHAR"),  # new | indeterminate | done; NULL for another key (Jira's 'undefined')
    ("scope_project_id", "VARCHAR"),  # team-managed projects' own statuses; NULL for global ones
) + LINEAGE_COLUMNS

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),
    ("_record_number", "BIGINT"),
    ("_file_sha256", "VARCHAR"),
    ("entity", "VARCHAR"),  # issues | sprints | fields | statuses: the main entity of the rejected record
    ("record_key", "VARCHAR"),  # issue key / sprint id when known
    ("raw_record", "VARCHAR"),  # the original JSON object or CSV row (as JSON)
    ("reason", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

ENTITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "issues": ISSUE_COLUMNS,
    "changelog": CHANGELOG_COLUMNS,
    "sprints": SPRINT_COLUMNS,
    "comments": COMMENT_COLUMNS,
    "issue_links": ISSUE_LINK_COLUMNS,
    "fields": FIELD_CATALOG_COLUMNS,
    "statuses": STATUS_CATALOG_COLUMNS,
}
