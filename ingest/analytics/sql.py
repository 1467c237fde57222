"""DuckDB SQL that turns one unit (a file or a ZIP member) into rows of the ``rows_`` work table.

Every line is read as raw text (a CSV read with a delimiter and quote that never match, or, for a batch of ZIP
members, an Arrow table of lines split in Python), numbered, then validated and parsed with an explicit field list,
so one bad line becomes one quarantine row with its reason instead of stopping the file. Values reach SQL only as
escaped string literals; identifiers only after whitelisting (CSV headers, see csv_columns.py).
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Sequence

from ingest.common.parquet import sql_string
from ingest.common.ranges import EARLIEST_TIME, LATEST_TIME

# One line per row: a delimiter that never occurs in valid JSON (raw control characters must be escaped there).
LINE_DELIMITER = "\x01"
MAX_LINE_BYTES = 32 * 1024 * 1024
# read_csv's buffer defaults to 16x max_line_size (512 MiB per concurrent read). 4x reads as fast with a quarter
# of the memory; 2x refuses some files with lines near the limit (NotImplementedException).
READ_BUFFER_BYTES = 4 * MAX_LINE_BYTES
TRAILER_LINE = "terminated early"
TRAILER_REASON = "vendor trailer: export terminated early"

REVENUE_TYPE = "DECIMAL(18,6)"  # the contract's revenue column
# One row per input line (blank ones flagged _blank) / CSV record; reason IS NULL on a non-blank row means
# loadable. JSON-lines units stream these rows into one Parquet part per unit (see unit_rows_sql); CSV/Parquet files
# and the few lines the Python sanitiser sets aside go to the in-memory work table ``rows_`` with the same columns.
ROWS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("unit_index", "INTEGER"),
    ("_source_member", "VARCHAR"),
    ("_line_number", "BIGINT"),
    ("reason", "VARCHAR"),
    ("_blank", "BOOLEAN"),  # a blank line: no row, but counted, so every physical line of a unit is accounted for
    ("raw_line", "VARCHAR"),
    ("event_key", "VARCHAR"),
    ("source", "VARCHAR"),
    ("event_name", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("anonymous_id", "VARCHAR"),
    ("session_key", "VARCHAR"),
    ("event_time", "TIMESTAMP"),
    ("received_at", "TIMESTAMP"),
    ("platform", "VARCHAR"),
    ("country", "VARCHAR"),
    ("revenue", REVENUE_TYPE),
    ("properties", "VARCHAR"),
    ("user_properties", "VARCHAR"),
    # Schema drift of a JSON line (NULL when there is none, and on CSV/Parquet rows): its top-level keys outside the
    # vendor's documented record, and the optional keys read that it lacks (see key_drift_sql).
    ("unknown_keys", "VARCHAR[]"),
    ("absent_keys", "VARCHAR[]"),
)
WORK_TABLE_DDL = "CREATE TABLE rows_ (" + ", ".join(f"{name} {sql_type}" for name, sql_type in ROWS_COLUMNS) + ")"


def unit_rows_sql(select_sql: str) -> str:
    """``select_sql``'s rows with exactly the ROWS_COLUMNS names, order and types (so every part is alike)."""
    cols = ", ".join(f"CAST({name} AS {sql_type}) AS {name}" for name, sql_type in ROWS_COLUMNS)
    return f"SELECT {cols} FROM ({select_sql})"


# Times a row may carry (ingest/common/ranges.py): outside them a time is the line's quarantine reason.
_EARLIEST_EPOCH_SECONDS = calendar.timegm(EARLIEST_TIME.timetuple())
_LATEST_EPOCH_SECONDS = calendar.timegm(LATEST_TIME.timetuple())
TIME_BOUNDS = f"{EARLIEST_TIME.year}..{LATEST_TIME.year}"


def time_in_bounds(expr: str) -> str:
    """SQL: the TIMESTAMP ``expr`` lies within the bounds every source keeps (NULL stays NULL)."""
    return (
        f"({expr} BETWEEN TIMESTAMP {sql_string(EARLIEST_TIME.isoformat(sep=' '))} "
        f"AND TIMESTAMP {sql_string(LATEST_TIME.isoformat(sep=' '))})"
    )


def out_of_bounds_reason(field: str, raw_expr: str) -> str:
    return f"{sql_string(field + ' ')} || {quoted_value(raw_expr)} || {sql_string(' is outside ' + TIME_BOUNDS)}"


def out_of_range_reason(field: str, raw_expr: str, sql_type: str) -> str:
    return f"{sql_string(field + ' ')} || {quoted_value(raw_expr)} || {sql_string(' is out of range for ' + sql_type)}"


def utc_timestamp(expr: str) -> str:
    """Text -> naive UTC TIMESTAMP, or NULL if unparseable. Text without an offset is read as UTC;
    independent of the session TimeZone setting."""
    return f"timezone('UTC', TRY_CAST({expr} AS TIMESTAMPTZ))"


def quoted_value(expr: str) -> str:
    """A value for a reason message: JSON-quoted and cut to 100 characters."""
    return f"CAST(to_json(left(CAST({expr} AS VARCHAR), 100)) AS VARCHAR)"


def _line_reader_sql(paths_sql: str, compression: str) -> str:
    return (
        f"read_csv({paths_sql}, columns={{'line': 'VARCHAR'}}, delim={sql_string(LINE_DELIMITER)}, "
        f"quote='', escape='', header=false, auto_detect=false, compression={sql_string(compression)}, "
        f"max_line_size={MAX_LINE_BYTES}, buffer_size={READ_BUFFER_BYTES})"
    )


def read_lines_sql(path: str, compression: str, unit_index: int, member: str | None, file_lines_before: int = 0) -> str:
    """Numbered raw lines of one JSON-lines unit (plain or gzip), blank ones flagged ``is_blank`` (every line is
    kept, so the rows of a unit can be checked against its physical line count), with the unit's index and member.
    ``file_lines_before``: the physical lines of the file's members before this one (0 for a whole file), for
    ``check_keys`` (see KEY_CHECK_FILE_LINES)."""
    member_sql = sql_string(member) if member is not None else "NULL"
    # row_number() OVER () is a streaming window: it numbers rows in scan order (insertion order is preserved).
    return f"""
        SELECT unit_index, source_member, line_number, line, is_blank,
               {check_keys_sql("line_number", f"line_number + {int(file_lines_before)}")} AS check_keys
        FROM (SELECT {unit_index} AS unit_index, {member_sql} AS source_member, row_number() OVER () AS line_number,
                     line, NOT ({NOT_BLANK_SQL}) AS is_blank
              FROM {_line_reader_sql(sql_string(path), compression)})"""


def read_batch_lines_sql(lines_relation: str, member_names: Sequence[str]) -> str:
    """Like read_lines_sql for a batch of ZIP members split into lines in Python (load.py ``_MemberBatch``), read
    from the Arrow relation ``lines_relation``: one row per physical line, in member order, with its member's
    position in ``member_names``, its unit_index, its line number in the member and in the whole landed file."""
    names_sql = "[" + ", ".join(sql_string(name) for name in member_names) + "]"
    return f"""
        SELECT unit_index, {names_sql}[position + 1] AS source_member, line_number, line,
               NOT ({NOT_BLANK_SQL}) AS is_blank, {check_keys_sql("line_number", "file_line")} AS check_keys
        FROM {lines_relation}"""


# A line is blank if it is empty (read_csv reads NULL, an Arrow batch '') or holds only spaces, tabs and carriage
# returns. trim() with a character list walks the whole line (about half the cost of a read), so it only runs on the
# rare line that starts with one of those.
NOT_BLANK_SQL = (
    "line IS NOT NULL AND line <> '' AND CASE WHEN starts_with(line, ' ') OR starts_with(line, chr(9)) "
    "OR starts_with(line, chr(13)) "
    "THEN trim(line, ' \t\r') <> '' ELSE true END"
)


def _key_list(keys: tuple[str, ...]) -> str:
    return "[" + ", ".join(sql_string(key) for key in keys) + "]"


# Schema drift is read from a bounded sample of each landed file's lines: its first KEY_CHECK_FILE_LINES lines (of
# all its members together, in ZIP order), plus the first KEY_CHECK_MEMBER_LINES lines of every ZIP member, so a
# member whose records change shape (an hourly shard written after a tracking-plan release) is still seen. Reading a
# line's keys costs a second JSON parse of it (json_keys): on every line it was 44 % of the ingest time of a
# real export of hourly members (~490 lines each). Vendors change the fields of an export per export or per
# member, not per line: a key that first appears on a later line of a member is not reported.
KEY_CHECK_FILE_LINES = 1000
KEY_CHECK_MEMBER_LINES = 10


def check_keys_sql(member_line: str, file_line: str) -> str:
    """SQL: the line at ``member_line`` of its unit and ``file_line`` of its landed file is in the key-check sample."""
    return f"({member_line} <= {KEY_CHECK_MEMBER_LINES} OR {file_line} <= {KEY_CHECK_FILE_LINES})"


def top_keys_sql() -> str:
    """The line's top-level keys if it is a JSON object in the key-check sample (``check_keys``), else NULL (the
    CASE keeps json_keys off every other line)."""
    return "CASE WHEN is_object AND check_keys THEN json_keys(line) END"


def key_drift_sql(keys_expr: str, known: tuple[str, ...], optional: tuple[str, ...]) -> str:
    """``unknown_keys`` and ``absent_keys`` of a line whose top-level keys are ``keys_expr`` (NULL: not checked).
    unknown_keys is NULL unless the line has a key outside ``known``; absent_keys is the list (maybe empty) of the
    ``optional`` keys a checked line lacks. The file's unknown_columns / missing_columns aggregate them."""
    known_sql, optional_sql = _key_list(known), _key_list(optional)
    unknown = (
        f"CASE WHEN {keys_expr} IS NOT NULL AND NOT list_has_all({known_sql}, {keys_expr}) "
        f"THEN list_sort(list_filter({keys_expr}, lambda k: NOT list_contains({known_sql}, k))) END"
    )
    absent = (
        f"CASE WHEN {keys_expr} IS NOT NULL "
        f"THEN list_filter({optional_sql}, lambda k: NOT list_contains({keys_expr}, k)) END"
    )
    return f"{unknown} AS unknown_keys, {absent} AS absent_keys"


def _json_struct(fields: dict[str, str]) -> str:
    return sql_string(json.dumps(fields))


def _validated_lines(lines_sql: str, line_struct: dict[str, str]) -> str:
    """Each line parsed once: ``try(from_json)`` is NULL for malformed JSON (and for the text ``null``); only
    those lines are checked again with json_valid, to tell 'invalid JSON' from 'not a JSON object'. A JSON
    array or scalar parses to a struct of NULLs, so ``is_object`` also looks at the first character. A JSON
    object that from_json still refuses stops the read (as before the single parse), never a silent reject."""
    return f"""
        SELECT unit_index, source_member, line_number, line, is_blank, check_keys, is_json, is_object,
               CASE WHEN is_object AND j IS NULL
                    THEN error('cannot parse the JSON object on line ' || line_number)
                    WHEN is_object THEN j END AS j
        FROM (
            SELECT unit_index, source_member, line_number, line, is_blank, check_keys, j, is_json,
                   is_json AND (starts_with(line, '{{') OR starts_with(ltrim(line), '{{')) AS is_object
            FROM (
                SELECT unit_index, source_member, line_number, line, is_blank, check_keys, j,
                       CASE WHEN j IS NOT NULL THEN true ELSE json_valid(line) END AS is_json
                FROM (SELECT unit_index, source_member, line_number, line, is_blank, check_keys,
                             try(from_json(line, {_json_struct(line_struct)})) AS j
                      FROM ({lines_sql}))
            )
        )"""


# The Amplitude Export API's event fields (https://amplitude.com/docs/apis/analytics/export, "Response schema"), also
# those of older exports (``amplitude_event_type``, ``$schema``, ``sample_rate``) and the ones Amplitude adds per
# project feature (``global_user_properties``, ``plan``, ``partner_id``, ``source_id``, ``data_type``). The keys
# inside ``event_properties`` / ``user_properties`` / ``groups`` are the product's own: kept, never checked.
AMPLITUDE_KNOWN_KEYS = (
    "$insert_id", "$insert_key", "$schema", "adid", "amplitude_attribution_ids", "amplitude_event_type",
    "amplitude_id", "app", "city", "client_event_time", "client_upload_time", "country", "data", "data_type",
    "device_brand", "device_carrier", "device_family", "device_id", "device_manufacturer", "device_model",
    "device_type", "dma", "event_id", "event_properties", "event_time", "event_type", "global_user_properties",
    "group_properties", "groups", "idfa", "ip_address", "is_attribution_event", "language", "library",
    "location_lat", "location_lng", "os_name", "os_version", "partner_id", "paying", "plan", "platform",
    "processed_time", "region", "sample_rate", "server_received_time", "server_upload_time", "session_id",
    "source_id", "start_version", "user_creation_time", "user_id", "user_properties", "uuid", "version_name",
)  # fmt: skip
# Read when present (NULL otherwise); uuid, event_type and event_time are required (a line without one is rejected).
AMPLITUDE_OPTIONAL_KEYS = (
    "user_id", "device_id", "session_id", "server_received_time", "server_upload_time", "platform", "country",
    "event_properties", "user_properties",
)  # fmt: skip

AMPLITUDE_LINE_FIELDS = {
    "uuid": "VARCHAR",
    "event_type": "VARCHAR",
    "user_id": "VARCHAR",  # string, null or a JSON number: all become text
    "device_id": "VARCHAR",
    "session_id": "VARCHAR",
    "event_time": "VARCHAR",
    "server_received_time": "VARCHAR",
    "server_upload_time": "VARCHAR",
    "platform": "VARCHAR",
    "country": "VARCHAR",
    "event_properties": "JSON",
    "user_properties": "JSON",
}


def amplitude_rows_sql(lines_sql: str) -> str:
    """The work rows (by name) of Amplitude JSON lines (``lines_sql``: read_lines_sql / read_member_lines_sql), in
    line order."""
    return f"""
    SELECT unit_index, source_member AS _source_member, line_number AS _line_number, reason,
           is_blank AS _blank, CASE WHEN reason IS NOT NULL THEN line END AS raw_line,
           j.uuid AS event_key, 'amplitude' AS source, j.event_type AS event_name, j.user_id AS user_id,
           j.device_id AS anonymous_id,
           CASE WHEN j.session_id IN ('-1', '') THEN NULL ELSE j.session_id END AS session_key,
           event_time, received_at, j.platform AS platform, j.country AS country, revenue,
           coalesce(CAST(j.event_properties AS VARCHAR), '{{}}') AS properties,
           CAST(j.user_properties AS VARCHAR) AS user_properties,
           {key_drift_sql("top_keys", AMPLITUDE_KNOWN_KEYS, AMPLITUDE_OPTIONAL_KEYS)}
    FROM (
        SELECT *,
            CASE
                WHEN is_blank THEN NULL
                WHEN NOT is_json THEN 'invalid JSON'
                WHEN NOT is_object THEN 'not a JSON object'
                WHEN coalesce(j.uuid, '') = '' THEN 'missing required field uuid'
                WHEN coalesce(j.event_type, '') = '' THEN 'missing required field event_type'
                WHEN coalesce(j.event_time, '') = '' THEN 'missing required field event_time'
                WHEN event_time IS NULL THEN 'unparseable event_time: ' || {quoted_value("j.event_time")}
                WHEN NOT {time_in_bounds("event_time")} THEN {out_of_bounds_reason("event_time", "j.event_time")}
                WHEN received_raw IS NOT NULL AND received_at IS NULL
                    THEN 'unparseable server_received_time/server_upload_time: ' || {quoted_value("received_raw")}
                WHEN NOT {time_in_bounds("received_at")}
                    THEN {out_of_bounds_reason("server_received_time/server_upload_time", "received_raw")}
                WHEN revenue_raw IS NOT NULL AND revenue IS NULL AND TRY_CAST(revenue_raw AS DOUBLE) IS NOT NULL
                    THEN {out_of_range_reason("event_properties.$revenue", "revenue_raw", REVENUE_TYPE)}
                WHEN revenue_raw IS NOT NULL AND revenue IS NULL
                    THEN 'unparseable event_properties.$revenue: ' || {quoted_value("revenue_raw")}
                WHEN price_raw IS NOT NULL AND revenue IS NULL AND TRY_CAST(price_raw AS DOUBLE) IS NOT NULL
                     AND (quantity_raw IS NULL OR TRY_CAST(quantity_raw AS DOUBLE) IS NOT NULL)
                    THEN {
        out_of_range_reason(
            "event_properties.$price x $quantity", "price_raw || ' x ' || coalesce(quantity_raw, '1')", REVENUE_TYPE
        )
    }
                WHEN price_raw IS NOT NULL AND revenue IS NULL
                    THEN 'unparseable event_properties.$price/$quantity: '
                         || {quoted_value("price_raw || ' x ' || coalesce(quantity_raw, '1')")}
                WHEN quantity_raw IS NOT NULL AND TRY_CAST(quantity_raw AS DOUBLE) IS NULL
                    THEN 'unparseable event_properties.$quantity: ' || {quoted_value("quantity_raw")}
            END AS reason
        FROM (
            SELECT *,
                {utc_timestamp("j.event_time")} AS event_time,
                {utc_timestamp("received_raw")} AS received_at,
                CASE
                    WHEN revenue_raw IS NOT NULL THEN TRY_CAST(TRY_CAST(revenue_raw AS DOUBLE) AS DECIMAL(18,6))
                    WHEN price_raw IS NOT NULL THEN TRY_CAST(
                        TRY_CAST(price_raw AS DOUBLE) * coalesce(TRY_CAST(quantity_raw AS DOUBLE), 1) AS DECIMAL(18,6))
                END AS revenue
            FROM (
                SELECT *,
                    coalesce(nullif(j.server_received_time, ''), nullif(j.server_upload_time, '')) AS received_raw,
                    money[1] AS revenue_raw, money[2] AS price_raw, money[3] AS quantity_raw
                FROM (
                    SELECT *,
                        {top_keys_sql()} AS top_keys,
                        -- one parse of event_properties for the three money fields; Amplitude's quantity
                        -- defaults to 1
                        CASE WHEN j.event_properties IS NOT NULL THEN json_extract_string(
                            j.event_properties, ['$."$revenue"', '$."$price"', '$."$quantity"']) END AS money
                    FROM ({_validated_lines(lines_sql, AMPLITUDE_LINE_FIELDS)})
                )
            )
        )
    )"""


MIXPANEL_LINE_FIELDS = {"event": "VARCHAR", "properties": "JSON"}
# A raw-export line is {"event", "properties"} (https://developer.mixpanel.com/reference/raw-event-export); every
# key inside ``properties`` is the product's own (kept in ``properties``), so only the top level is checked.
MIXPANEL_KNOWN_KEYS = tuple(MIXPANEL_LINE_FIELDS)
MIXPANEL_MAPPED_PROPERTIES = {
    "time": "VARCHAR",  # epoch seconds in the project timezone's wall clock; number or numeric string
    "distinct_id": "VARCHAR",
    "$insert_id": "VARCHAR",
    "mp_processing_time_ms": "VARCHAR",
    "$device_id": "VARCHAR",
    "$user_id": "VARCHAR",
    "$os": "VARCHAR",
    "mp_country_code": "VARCHAR",
}
# Merge-patch with nulls removes the mapped keys; everything else stays in `properties`.
_MIXPANEL_REMOVE_MAPPED = json.dumps(dict.fromkeys(MIXPANEL_MAPPED_PROPERTIES))


def mixpanel_rows_sql(lines_sql: str, project_timezone: str) -> str:
    """The work rows (by name) of Mixpanel JSON lines (``lines_sql``: read_lines_sql), in line order."""
    tz = sql_string(project_timezone)
    return f"""
    SELECT unit_index, source_member AS _source_member, line_number AS _line_number, reason,
           is_blank AS _blank, CASE WHEN reason IS NOT NULL THEN line END AS raw_line,
           CASE WHEN reason IS NULL AND NOT is_blank THEN sha256(
               j.event || chr(31) || distinct_id || chr(31) || CAST(time_ms AS VARCHAR) || chr(31)
               || coalesce(p."$insert_id", '')) END AS event_key,
           'mixpanel' AS source, j.event AS event_name,
           coalesce(nullif(p."$user_id", ''),
                    CASE WHEN NOT starts_with(distinct_id, '$device:') THEN distinct_id END) AS user_id,
           coalesce(nullif(p."$device_id", ''),
                    CASE WHEN starts_with(distinct_id, '$device:') THEN substr(distinct_id, 9) END) AS anonymous_id,
           NULL AS session_key, event_time, received_at,
           p."$os" AS platform, p.mp_country_code AS country, NULL AS revenue,
           CASE WHEN reason IS NULL
                THEN CAST(json_merge_patch(j.properties, {sql_string(_MIXPANEL_REMOVE_MAPPED)}) AS VARCHAR)
           END AS properties,
           NULL AS user_properties,
           {key_drift_sql("top_keys", MIXPANEL_KNOWN_KEYS, ())}
    FROM (
        SELECT *,
            CASE
                WHEN is_blank THEN NULL
                -- (trim with a character list walks the whole line: a JSON object line cannot be the trailer)
                WHEN NOT starts_with(line, '{{') AND trim(line, ' \t\r') = {sql_string(TRAILER_LINE)}
                    THEN {sql_string(TRAILER_REASON)}
                WHEN NOT is_json THEN 'invalid JSON'
                WHEN NOT is_object THEN 'not a JSON object'
                WHEN coalesce(j.event, '') = '' THEN 'missing required field event'
                WHEN j.properties IS NULL THEN 'missing required field properties'
                WHEN NOT properties_is_object THEN 'properties is not a JSON object'
                WHEN coalesce(p.time, '') = '' THEN 'missing required field properties.time'
                WHEN event_time IS NULL AND TRY_CAST(p.time AS DOUBLE) IS NOT NULL
                    THEN 'properties.time ' || {quoted_value("p.time")} || {sql_string(" is outside " + TIME_BOUNDS)}
                WHEN event_time IS NULL THEN 'unparseable properties.time: ' || {quoted_value("p.time")}
                WHEN coalesce(distinct_id, '') = '' THEN 'missing required field properties.distinct_id'
                WHEN p.mp_processing_time_ms IS NOT NULL AND received_at IS NULL
                     AND TRY_CAST(p.mp_processing_time_ms AS DOUBLE) IS NOT NULL
                    THEN 'properties.mp_processing_time_ms ' || {quoted_value("p.mp_processing_time_ms")}
                         || {sql_string(" is outside " + TIME_BOUNDS)}
                WHEN p.mp_processing_time_ms IS NOT NULL AND received_at IS NULL
                    THEN 'unparseable properties.mp_processing_time_ms: ' || {quoted_value("p.mp_processing_time_ms")}
            END AS reason
        FROM (
            SELECT *,
                CAST(round(time_seconds * 1000) AS BIGINT) AS time_ms,
                -- The export wrote project-local wall-clock time as if it were UTC: read it back as local
                -- time in the project timezone (DST-aware), then express it in UTC.
                timezone('UTC', timezone({tz}, make_timestamp(CAST(round(time_seconds * 1000000) AS BIGINT))))
                    AS event_time,
                make_timestamp(CAST(round(processing_ms * 1000) AS BIGINT)) AS received_at
            FROM (
                SELECT *, p.distinct_id AS distinct_id,
                    CASE WHEN TRY_CAST(p.time AS DOUBLE) BETWEEN {_EARLIEST_EPOCH_SECONDS} AND {_LATEST_EPOCH_SECONDS}
                         THEN TRY_CAST(p.time AS DOUBLE) END AS time_seconds,
                    CASE WHEN TRY_CAST(p.mp_processing_time_ms AS DOUBLE)
                              BETWEEN {_EARLIEST_EPOCH_SECONDS * 1000} AND {_LATEST_EPOCH_SECONDS * 1000}
                         THEN TRY_CAST(p.mp_processing_time_ms AS DOUBLE) END AS processing_ms
                FROM (
                    SELECT *, starts_with(CAST(j.properties AS VARCHAR), '{{') AS properties_is_object,
                        {top_keys_sql()} AS top_keys,
                        CASE WHEN starts_with(CAST(j.properties AS VARCHAR), '{{')
                             THEN from_json(j.properties, {_json_struct(MIXPANEL_MAPPED_PROPERTIES)}) END AS p
                    FROM ({_validated_lines(lines_sql, MIXPANEL_LINE_FIELDS)})
                )
            )
        )
    )"""


def sidecar_rejects_insert_sql(
    sidecar_path: str, unit_index: int, member: str | None, vendor: str, max_record_bytes: int
) -> str:
    """Rows the Python line sanitiser rejected (invalid UTF-8, control characters, over-long lines). A record holds
    its line (up to MAX_LINE_BYTES, escaped): ``max_record_bytes`` (the sidecar's size will do) lifts DuckDB's
    16 MiB default object limit, which a long bad line would exceed."""
    member_sql = sql_string(member) if member is not None else "NULL"
    return f"""
    INSERT INTO rows_ BY NAME
    SELECT {unit_index} AS unit_index, {member_sql} AS _source_member, line_number AS _line_number, reason,
           raw_line, {sql_string(vendor)} AS source
    FROM read_json({sql_string(sidecar_path)}, format='newline_delimited',
                   columns={{'line_number': 'BIGINT', 'raw_line': 'VARCHAR', 'reason': 'VARCHAR'}},
                   maximum_object_size={max(max_record_bytes, 16 * 1024 * 1024)})"""
