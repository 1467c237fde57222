"""Gate on newly ingested analytics events: the lake Parquet files of one ingest run, before dbt reads them.

The contract is ingest/analytics/contract.py. Raw data legitimately holds exact duplicate rows (vendors re-export
overlapping hours; staging dedupes on the event key), so uniqueness here means "no conflicting duplicates".
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from core.config import PipelineConfig
from expectations.runner import DerivedCheck, Gate, rule_meta
from ingest.analytics.contract import EVENT_COLUMNS

NAME = "raw_analytics_events"
SOURCES = ("amplitude", "mixpanel", "csv")
REQUIRED_COLUMNS = ("event_key", "source", "event_name", "event_time", "_file_sha256")
EARLIEST_EVENT_TIME = dt.datetime(2010, 1, 1)
# Device clocks run ahead; a day of skew is tolerated before an event counts as "from the future".
CLOCK_SKEW = dt.timedelta(days=1)

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    known_events = list(config.analytics.known_events)
    if not known_events:
        raise ValueError(f"{config.path}: analytics.known_events is empty; the {NAME} gate needs the event list")
    # Built without add_expectation, which needs a GX context; the runner brings its own ephemeral one.
    rules: list[Expectation] = []
    rules.append(
        E.ExpectTableColumnsToMatchSet(
            column_set=[name for name, _ in EVENT_COLUMNS],
            exact_match=True,
            meta=rule_meta("error", "the lake files must match the analytics/events contract that dbt's source reads"),
        )
    )
    for column in REQUIRED_COLUMNS:
        rules.append(
            E.ExpectColumnValuesToNotBeNull(
                column=column, meta=rule_meta("error", "staging dedupes and partitions on it; NULL breaks both")
            )
        )
    rules.append(
        E.ExpectColumnValuesToBeInSet(
            column="source", value_set=list(SOURCES), meta=rule_meta("error", "staging has one model per source")
        )
    )
    rules.append(
        E.ExpectColumnValuesToBeInSet(
            column="event_name",
            value_set=known_events,
            meta=rule_meta(
                "error", "an event outside analytics.known_events is a tracking change the config must declare first"
            ),
        )
    )
    rules.append(
        E.ExpectColumnValuesToBeBetween(
            column="event_time",
            min_value=EARLIEST_EVENT_TIME,
            max_value=now + CLOCK_SKEW,
            meta=rule_meta(
                "error", "future or pre-2010 times are broken clocks or unit mix-ups (ms vs s) and skew every metric"
            ),
        )
    )
    rules.append(
        E.ExpectColumnValuesToNotBeNull(
            column="user_id",
            row_condition=Column("anonymous_id").is_null(),
            meta=rule_meta("error", "an event with neither user_id nor anonymous_id cannot be attributed to anyone"),
        )
    )
    rules.append(
        E.ExpectColumnValuesToBeBetween(
            column="revenue",
            min_value=0,
            meta=rule_meta("warn", "negative revenue is usually a refund, worth a look but not a stop"),
        )
    )
    return gx.ExpectationSuite(name=NAME, expectations=rules)


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="no_conflicting_duplicates",
            # min <> max rather than count(distinct): the same verdict at a third of the cost on 1M keys.
            sql="""
                select source, event_key, count(*) as copies,
                       min(event_name) as min_event_name, max(event_name) as max_event_name,
                       min(event_time) as min_event_time, max(event_time) as max_event_time
                from {relation}
                where event_key is not null
                group by source, event_key
                having min(event_name) <> max(event_name) or min(event_time) <> max(event_time)
                order by source, event_key
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why=(
                "exact re-exports are expected and deduped in staging, but one event key carrying different "
                "names or times means the key is not a key and dedup would keep an arbitrary version"
            ),
        ),
        *(
            DerivedCheck(
                name=f"{column}_is_json_object",
                # Judged by DuckDB's JSON reader, not GX's per-row json.loads: dbt parses these columns with
                # DuckDB's json functions, so DuckDB's verdict is the one that matters, at a fiftieth of the cost.
                sql=f"""
                    select source, event_key, _line_number, {column}
                    from {{relation}}
                    where {column} is not null
                      and (not json_valid({column}) or json_type({column}::json) <> 'OBJECT')
                    order by source, event_key
                """,
                expectation=E.ExpectTableRowCountToEqual(value=0),
                severity="error",
                why="the contract stores a JSON object; dbt extracts funnel filters and breakdowns from it",
            )
            for column in ("properties", "user_properties")
        ),
        DerivedCheck(
            name="not_empty",
            sql="select count(*) as row_count from {relation}",
            expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
            severity="warn",
            why="files with no loadable rows usually mean a wrong export; ingest's manifest has the reject counts",
        ),
    ]


GATE = Gate(
    name=NAME,
    target="lake Parquet analytics/events of the newly ingested files (ingest/analytics/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=EVENT_COLUMNS,
)
