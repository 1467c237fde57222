"""The `marketing/spend` lake contract: one row per day, channel and campaign as the ad platform reports it.

Spend is DECIMAL in major units with its currency stated (ad platforms report major units; Google's API gives
micros, converted exactly). Totals rows are recognised and skipped (counted in the manifest), never loaded.
"""

from __future__ import annotations

SOURCE = "marketing"

SPEND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("spend_date", "DATE"),
    ("vendor", "VARCHAR"),  # google_ads | meta_ads | generic
    ("channel", "VARCHAR"),  # paid_search | paid_social | affiliate | events | sales | ... (config maps vendors)
    ("campaign_id", "VARCHAR"),
    ("campaign", "VARCHAR"),
    ("spend", "DECIMAL(18,6)"),
    ("currency", "VARCHAR"),  # upper-case ISO 4217
    ("impressions", "BIGINT"),
    ("clicks", "BIGINT"),
    ("_source_file", "VARCHAR"),
    ("_source_format", "VARCHAR"),  # google_ads_ui_csv | google_ads_api | meta_ads_csv | generic_csv
    ("_record_number", "BIGINT"),
    ("_file_sha256", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),
    ("_record_number", "BIGINT"),
    ("_file_sha256", "VARCHAR"),
    ("entity", "VARCHAR"),
    ("record_key", "VARCHAR"),
    ("raw_record", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

ENTITIES: dict[str, tuple[tuple[str, str], ...]] = {"spend": SPEND_COLUMNS}
