"""Segment warehouse "tracks"-style CSV (or the same columns as Parquet): header checks and SQL.

Header names never reach SQL as identifiers: columns are renamed by position (``c1`` .. ``cN``) as they are read, and
names appear only as string literals. The known columns (and their camelCase aliases) plus ``properties_<key>`` /
``context_<key>`` with a plain key are mapped to the contract. Any other column is not read: the
file loads and the column is listed in its manifest record (``unknown_columns``), as are the optional columns the
header lacks (``missing_columns``). A missing required column or a duplicated one stops the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.analytics.errors import UnexpectedColumnsError
from ingest.analytics.sql import (
    MAX_LINE_BYTES,
    REVENUE_TYPE,
    out_of_bounds_reason,
    out_of_range_reason,
    quoted_value,
    time_in_bounds,
    utc_timestamp,
)
from ingest.common.parquet import sql_string

REQUIRED_COLUMNS = ("id", "event", "timestamp")
IDENTITY_COLUMNS = ("user_id", "anonymous_id")  # at least one of them
OPTIONAL_COLUMNS = ("received_at", "context_device_type", "context_location_country", "revenue")
ALIASES = {"messageId": "id", "userId": "user_id", "anonymousId": "anonymous_id", "receivedAt": "received_at"}
KNOWN_COLUMNS = frozenset(REQUIRED_COLUMNS + IDENTITY_COLUMNS + OPTIONAL_COLUMNS)
PROPERTY_COLUMN = re.compile(r"^properties_([A-Za-z0-9_$]+)$")
CONTEXT_COLUMN = re.compile(r"^context_([A-Za-z0-9_]+)$")


@dataclass(frozen=True)
class CsvColumns:
    header: tuple[str, ...]  # as in the file
    canonical: dict[str, str]  # canonical known name -> header name
    properties: dict[str, str]  # property key -> header name
    context: dict[str, str]  # context key (not mapped to a contract column) -> header name
    unknown: tuple[str, ...] = ()  # header names not read
    missing: tuple[str, ...] = ()  # optional known columns the header lacks (their values load as NULL)

    @property
    def idents(self) -> tuple[str, ...]:
        """The SQL name of each header column, by position: generated, never taken from the file."""
        return tuple(f"c{position}" for position in range(1, len(self.header) + 1))

    def ident(self, header_name: str) -> str:
        """The SQL name of a mapped (known, hence unique) header column."""
        return self.idents[self.header.index(header_name)]


def _looked_for(name: str) -> str:
    aliases = [alias for alias, target in ALIASES.items() if target == name]
    return name + (f" (or {', '.join(aliases)})" if aliases else "")


def check_header(header: tuple[str, ...], label: str) -> CsvColumns:
    """Map a header to the contract, or raise UnexpectedColumnsError naming the file, the missing columns and the
    names looked for, or the duplicated columns."""
    canonical: dict[str, str] = {}
    properties: dict[str, str] = {}
    context: dict[str, str] = {}
    unknown: list[str] = []
    duplicated: list[str] = []
    for name in header:
        target = ALIASES.get(name, name)
        if target in KNOWN_COLUMNS:
            if target in canonical:
                duplicated.append(name)
            canonical[target] = name
        elif match := PROPERTY_COLUMN.match(name):
            if match.group(1) in properties:
                duplicated.append(name)
            properties[match.group(1)] = name
        elif match := CONTEXT_COLUMN.match(name):
            if match.group(1) in context:
                duplicated.append(name)
            context[match.group(1)] = name
        else:
            unknown.append(name)
    missing = [_looked_for(name) for name in REQUIRED_COLUMNS if name not in canonical]
    if not any(name in canonical for name in IDENTITY_COLUMNS):
        missing.append(" or ".join(_looked_for(name) for name in IDENTITY_COLUMNS))
    problems = []
    if missing:
        problems.append("missing required column(s) " + ", ".join(missing))
    if duplicated:
        problems.append("duplicated column(s) " + ", ".join(repr(name) for name in duplicated))
    if problems:
        if unknown:  # what the header has instead may say why
            problems.append("columns not read " + ", ".join(repr(name) for name in unknown))
        raise UnexpectedColumnsError(f"unexpected column set in {label}: " + "; ".join(problems))
    absent = [name for name in IDENTITY_COLUMNS + OPTIONAL_COLUMNS if name not in canonical]
    return CsvColumns(
        header=header,
        canonical=canonical,
        properties=properties,
        context=context,
        unknown=tuple(unknown),
        missing=tuple(absent),
    )


def csv_load_raw_sql(path: str, columns: CsvColumns, compression: str) -> str:
    """CSV records into ``csv_raw`` (k = 1-based data record among the good ones); bad records go to
    the ``csv_rejects`` table that DuckDB's store_rejects fills."""
    column_types = ", ".join(f"{sql_string(ident)}: 'VARCHAR'" for ident in columns.idents)
    return f"""
    CREATE TABLE csv_raw AS
    SELECT row_number() OVER () AS k, *
    FROM read_csv({sql_string(path)}, header=true, auto_detect=false, delim=',', quote='"', escape='"',
                  columns={{{column_types}}}, compression={sql_string(compression)}, strict_mode=true,
                  max_line_size={MAX_LINE_BYTES}, store_rejects=true, rejects_table='csv_rejects',
                  rejects_scan='csv_reject_scans')"""


# Record numbers count the header as record 1, as DuckDB's reject `line` does; without quoted newlines they
# are the file's line numbers. Good record k is the k-th record DuckDB kept: add the rejects that came before it.
CSV_NUMBER_SQL = """
    CREATE TABLE csv_lines AS
    WITH rejected AS (
        SELECT line - 1 AS record, row_number() OVER (ORDER BY line) AS rejected_so_far
        FROM (SELECT DISTINCT line FROM csv_rejects)
    ), gaps AS (
        -- good records before the i-th reject = record - i; keep the largest i per value
        SELECT record - rejected_so_far AS good_before, max(rejected_so_far) AS rejected_so_far
        FROM rejected GROUP BY ALL
    )
    SELECT csv_raw.*, k + coalesce(gaps.rejected_so_far, 0) + 1 AS line_number
    FROM csv_raw ASOF LEFT JOIN gaps ON csv_raw.k > gaps.good_before
"""

CSV_REJECTS_INSERT_SQL = """
    INSERT INTO rows_ BY NAME
    SELECT 0 AS unit_index, NULL AS _source_member, line AS _line_number, 'csv' AS source,
           'malformed CSV record (' || lower(error_type) || '): ' || error_message AS reason,
           csv_line AS raw_line
    FROM (SELECT line, any_value(error_type) AS error_type, any_value(error_message) AS error_message,
                 any_value(csv_line) AS csv_line
          FROM csv_rejects GROUP BY line)
"""


def parquet_load_raw_sql(path: str, columns: CsvColumns) -> str:
    """The same columns from a Parquet file, as text (renamed by position), numbered by 1-based row."""
    cast = ", ".join(f"CAST({ident} AS VARCHAR) AS {ident}" for ident in columns.idents)
    return f"""
    CREATE TABLE csv_lines AS
    SELECT file_row_number + 1 AS line_number, {cast}
    FROM read_parquet({sql_string(path)}, file_row_number=true) AS parquet_file({", ".join(columns.idents)})"""


def csv_insert_sql(columns: CsvColumns, source_table: str = "csv_lines") -> str:
    """Classify and map the rows of ``source_table`` (text columns c1..cN, by header position) into rows_."""

    def value(name: str, *, trimmed: bool = True) -> str:
        header_name = columns.canonical.get(name)
        if header_name is None:
            return "NULL"
        inner = f"trim({columns.ident(header_name)})" if trimmed else columns.ident(header_name)
        return f"nullif({inner}, '')"

    def json_object(mapping: dict[str, str]) -> str:
        args = ", ".join(f"{sql_string(key)}, nullif({columns.ident(col)}, '')" for key, col in mapping.items())
        return f"json_object({args})"

    properties = "'{}'"
    if columns.properties:
        # Merge-patching {} with the object drops its null members: empty cells leave no key.
        properties = f"json_merge_patch('{{}}', {json_object(columns.properties)})"
    if columns.context:
        any_context = " OR ".join(f"nullif({columns.ident(col)}, '') IS NOT NULL" for col in columns.context.values())
        context = f"json_object('context', json_merge_patch('{{}}', {json_object(columns.context)}))"
        properties = f"CASE WHEN {any_context} THEN json_merge_patch({properties}, {context}) ELSE {properties} END"
    # The original record for the quarantine: every column (read or not) under its header name.
    pairs = zip(columns.header, columns.idents, strict=True)
    record = "json_object(" + ", ".join(f"{sql_string(name)}, {ident}" for name, ident in pairs) + ")"
    return f"""
    INSERT INTO rows_ BY NAME
    SELECT 0 AS unit_index, NULL AS _source_member, line_number AS _line_number, reason,
           CASE WHEN reason IS NOT NULL THEN CAST(record AS VARCHAR) END AS raw_line,
           event_key, 'csv' AS source, event_name, user_id, anonymous_id, NULL AS session_key,
           event_time, received_at, platform, country, revenue,
           CASE WHEN reason IS NULL THEN properties END AS properties, NULL AS user_properties
    FROM (
        SELECT *,
            CASE
                WHEN event_key IS NULL THEN 'missing required field id'
                WHEN event_name IS NULL THEN 'missing required field event'
                WHEN timestamp_raw IS NULL THEN 'missing required field timestamp'
                WHEN user_id IS NULL AND anonymous_id IS NULL THEN 'missing both user_id and anonymous_id'
                WHEN event_time IS NULL THEN 'unparseable timestamp: ' || {quoted_value("timestamp_raw")}
                WHEN NOT {time_in_bounds("event_time")} THEN {out_of_bounds_reason("timestamp", "timestamp_raw")}
                WHEN received_raw IS NOT NULL AND received_at IS NULL
                    THEN 'unparseable received_at: ' || {quoted_value("received_raw")}
                WHEN NOT {time_in_bounds("received_at")} THEN {out_of_bounds_reason("received_at", "received_raw")}
                WHEN revenue_raw IS NOT NULL AND revenue IS NULL AND TRY_CAST(revenue_raw AS DOUBLE) IS NOT NULL
                    THEN {out_of_range_reason("revenue", "revenue_raw", REVENUE_TYPE)}
                WHEN revenue_raw IS NOT NULL AND revenue IS NULL
                    THEN 'unparseable revenue: ' || {quoted_value("revenue_raw")}
            END AS reason
        FROM (
            SELECT *,
                {utc_timestamp("timestamp_raw")} AS event_time,
                {utc_timestamp("received_raw")} AS received_at,
                TRY_CAST(TRY_CAST(revenue_raw AS DOUBLE) AS DECIMAL(18,6)) AS revenue
            FROM (
                SELECT line_number, {record} AS record,
                    {value("id")} AS event_key, {value("event")} AS event_name,
                    {value("timestamp")} AS timestamp_raw, {value("user_id")} AS user_id,
                    {value("anonymous_id")} AS anonymous_id, {value("received_at")} AS received_raw,
                    {value("context_device_type")} AS platform, {value("context_location_country")} AS country,
                    {value("revenue")} AS revenue_raw, CAST({properties} AS VARCHAR) AS properties
                FROM {source_table}
            )
        )
    )"""
