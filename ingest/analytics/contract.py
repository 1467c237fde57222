"""The `analytics/events` lake contract (DESIGN.md): what ingest writes and dbt's source reads.

Column order and DuckDB types are the contract; tests check the dbt source declaration against it.
Times are TIMESTAMP (naive, UTC). JSON is stored as VARCHAR holding a JSON object text.
"""

from __future__ import annotations

SOURCE = "analytics"
ENTITY = "events"

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),  # path relative to landing/, e.g. analytics/export_2024-01-01.zip
    ("_source_member", "VARCHAR"),  # member inside an archive (Amplitude ZIP), else NULL
    ("_line_number", "BIGINT"),  # 1-based line within the member/file
    ("_file_sha256", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_key", "VARCHAR"),  # vendor uuid (Amplitude, Segment messageId) or sha256 of the vendor dedupe fields
    ("source", "VARCHAR"),  # amplitude | mixpanel | csv
    ("event_name", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("anonymous_id", "VARCHAR"),
    ("session_key", "VARCHAR"),  # vendor session id; NULL when the vendor has none (Amplitude -1)
    ("event_time", "TIMESTAMP"),  # UTC
    ("received_at", "TIMESTAMP"),  # UTC, when the vendor received/processed it
    ("platform", "VARCHAR"),
    ("country", "VARCHAR"),
    ("revenue", "DECIMAL(18,6)"),
    ("properties", "VARCHAR"),  # JSON object text
    ("user_properties", "VARCHAR"),  # JSON object text
) + LINEAGE_COLUMNS

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),
    ("_source_member", "VARCHAR"),
    ("_line_number", "BIGINT"),
    ("_file_sha256", "VARCHAR"),
    ("raw_line", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)
