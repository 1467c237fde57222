"""The `feedback/*` lake contracts (DESIGN.md): what ingest writes and dbt's sources read.

Column order and DuckDB types are the contract. Times are TIMESTAMP (naive, UTC). No raw email anywhere:
respondents carry `respondent_email_hash` (ingest.common.identity.email_hash) and/or an explicit id.
"""

from __future__ import annotations

SOURCE = "feedback"

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),  # path relative to landing/
    ("_source_format", "VARCHAR"),  # delighted_json | delighted_csv | typeform_csv | surveymonkey_csv | csat_csv
    # | productboard_csv | zendesk_tickets | zendesk_satisfaction | kano_wide_csv | kano_long_csv
    ("_record_number", "BIGINT"),  # 1-based record (data row or JSON element) in the file
    ("_file_sha256", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

SURVEY_RESPONSE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("response_id", "VARCHAR"),  # vendor id (Delighted id, Typeform token #, SurveyMonkey Respondent ID) or a hash
    ("survey_type", "VARCHAR"),  # nps | csat
    ("survey_name", "VARCHAR"),
    ("vendor", "VARCHAR"),  # delighted | typeform | surveymonkey | generic
    ("score", "INTEGER"),  # on its scale; out-of-scale scores are quarantined, never clipped
    ("scale_min", "INTEGER"),  # 0 for NPS, 1 for CSAT
    ("scale_max", "INTEGER"),  # 10 for NPS, 5 for CSAT
    ("comment", "VARCHAR"),
    ("respondent_id", "VARCHAR"),  # an explicit id from the export (person id, hidden field), if any
    ("respondent_email_hash", "VARCHAR"),
    ("user_id", "VARCHAR"),  # product user id when the export carries one (properties / hidden fields)
    ("account_id", "VARCHAR"),
    ("responded_at", "TIMESTAMP"),
    ("properties", "VARCHAR"),  # JSON object text: segment fields (plan, platform, ...) as exported
) + LINEAGE_COLUMNS

FEATURE_REQUEST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("request_id", "VARCHAR"),
    ("vendor", "VARCHAR"),  # productboard | zendesk
    ("title", "VARCHAR"),
    ("content", "VARCHAR"),
    ("respondent_id", "VARCHAR"),
    ("respondent_email_hash", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("account_id", "VARCHAR"),  # company / organization id
    ("account_name", "VARCHAR"),
    ("tags", "VARCHAR[]"),
    ("jira_key", "VARCHAR"),  # the linked Jira issue (Productboard linked feature / Zendesk custom field)
    ("feature_name", "VARCHAR"),
    ("channel", "VARCHAR"),  # Zendesk via.channel; Productboard source
    ("status", "VARCHAR"),
    ("satisfaction", "VARCHAR"),  # Zendesk satisfaction_rating.score: offered | unoffered | good | bad
    ("created_at", "TIMESTAMP"),
) + LINEAGE_COLUMNS

KANO_ANSWER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("response_id", "VARCHAR"),
    ("respondent_id", "VARCHAR"),
    ("respondent_email_hash", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("feature", "VARCHAR"),  # from config feedback.kano_features
    ("functional_answer", "VARCHAR"),  # like | expect | neutral | live_with | dislike
    ("dysfunctional_answer", "VARCHAR"),  # same vocabulary
    ("importance", "INTEGER"),  # self-stated importance, 1..9 or as the survey scale says; NULL if not asked
    ("answered_at", "TIMESTAMP"),
) + LINEAGE_COLUMNS

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),
    ("_record_number", "BIGINT"),
    ("_file_sha256", "VARCHAR"),
    ("entity", "VARCHAR"),  # survey_responses | feature_requests | kano_answers
    ("record_key", "VARCHAR"),
    ("raw_record", "VARCHAR"),  # the original row/object as JSON text, emails replaced by their hash
    ("reason", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
)

ENTITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "survey_responses": SURVEY_RESPONSE_COLUMNS,
    "feature_requests": FEATURE_REQUEST_COLUMNS,
    "kano_answers": KANO_ANSWER_COLUMNS,
}
