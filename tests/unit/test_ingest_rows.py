"""Row-level faults stay row-level, and schema drift is reported the same way for every source.

Each test lands one small file (big lines are generated in tmp, never committed) and checks the file's counts
(rows_in = loaded + rejected), the quarantine reason, and the manifest's unknown_columns / missing_columns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.analytics import ingest_analytics
from ingest.analytics.sql import MAX_LINE_BYTES
from ingest.billing import ingest_billing
from ingest.common.loop import LandedFile, public_message, work_root
from ingest.common.manifest import read_manifest_record
from ingest.common.report import FileResult
from ingest.jira import ingest_jira
from ingest.marketing import ingest_marketing
from pmw.summary import build_summary, format_summary

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
MIB = 1 << 20


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture
def config() -> PipelineConfig:
    raw = {
        "analytics": {"mixpanel_project_timezone": "UTC"},
        "finance": {"reporting_currency": "USD", "fx_rates": {"USD": "1", "EUR": "1.0850", "JPY": "0.0067"}},
        "jira": {"csv_timezone": "UTC"},
    }
    return parse_config(raw, Path("test-pmw.yml"))


def land(paths: Paths, name: str, data: bytes | str) -> Path:
    target = paths.landing / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data.encode() if isinstance(data, str) else data)
    return target


def loaded(result: FileResult, rows_in: int, rows_loaded: int, rows_rejected: int) -> None:
    assert result.status == "loaded", result.error
    assert result.rows_in == result.rows_loaded + result.rows_rejected
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (rows_in, rows_loaded, rows_rejected)


def quarantine(paths: Paths, source: str, sha256: str, columns: str) -> list[tuple[Any, ...]]:
    target = paths.quarantine_dir / source / f"{sha256}.parquet"
    order = "_line_number" if source == "analytics" else "_record_number"
    return duckdb.sql(f"SELECT {columns} FROM read_parquet('{target}') ORDER BY {order}").fetchall()


def amplitude(uuid: str, **fields: Any) -> str:
    return json.dumps({"uuid": uuid, "event_type": "page_viewed", "event_time": "2024-03-05 09:15:02"} | fields)


def mixpanel(insert_id: str, **properties: Any) -> str:
    props = {"time": 1709630102, "distinct_id": "u1", "$insert_id": insert_id} | properties
    return json.dumps({"event": "page_viewed", "properties": props})


def big_line(uuid: str, size: int) -> str:
    return amplitude(uuid, event_properties={"blob": "x" * size})


# ------------------------------------------------------------------------------------------- lines of any length


def test_a_40_mib_line_is_quarantined_as_too_long_and_the_rest_loads(paths, config):
    land(paths, "analytics/wide.jsonl", "\n".join([amplitude("a"), big_line("big", 40 * MIB), amplitude("b")]) + "\n")

    (result,) = ingest_analytics(paths, config).results

    loaded(result, 3, 2, 1)
    ((line, raw, reason),) = quarantine(paths, "analytics", result.sha256, "_line_number, raw_line, reason")
    length = len(big_line("big", 40 * MIB))
    assert (line, reason) == (2, f"line too long: {length} bytes (the limit is {MAX_LINE_BYTES} bytes)")
    assert raw.startswith('{"uuid": "big"') and len(raw) < 2048  # the line's start, not 40 MiB of it


def test_a_last_line_past_the_old_128_mib_limit_is_counted_and_quarantined(paths, config):
    """DuckDB dropped such a line without an error; the per-unit line count sends the unit to the Python reader."""
    land(paths, "analytics/tail.jsonl", "\n".join([amplitude("a"), amplitude("b"), big_line("huge", 130 * MIB)]))

    (result,) = ingest_analytics(paths, config).results

    loaded(result, 3, 2, 1)
    ((line, reason),) = quarantine(paths, "analytics", result.sha256, "_line_number, reason")
    assert line == 3 and reason.startswith("line too long: 1363")


def test_a_20_mib_bad_line_is_quarantined_whole_without_naming_a_temp_file(paths, config):
    """Kept whole in the sidecar (under the 32 MiB limit), it is bigger than DuckDB's default 16 MiB JSON object."""
    bad = amplitude("bad", event_properties={"blob": "y" * (20 * MIB)}).encode().replace(b'"bad"', b'"b\xffd"')
    land(paths, "analytics/bad.jsonl", amplitude("a").encode() + b"\n" + bad + b"\n")

    (result,) = ingest_analytics(paths, config).results

    loaded(result, 2, 1, 1)
    ((line, length, reason),) = quarantine(paths, "analytics", result.sha256, "_line_number, length(raw_line), reason")
    assert (line, reason) == (2, "invalid UTF-8 at byte 11") and length > 20 * MIB


def test_blank_lines_are_counted_apart_and_the_line_count_balances(paths, config):
    land(paths, "analytics/blanks.jsonl", f"{amplitude('a')}\n\n  \n{amplitude('b')}\n\n")

    (result,) = ingest_analytics(paths, config).results

    loaded(result, 2, 2, 0)


def test_failure_messages_name_the_landed_file_not_the_scratch_space(paths):
    from ingest.analytics.load import ANALYTICS

    landed_file = LandedFile(ANALYTICS, paths, paths.landing / "analytics/x.zip", "analytics/x.zip", "0" * 64, None)
    scratch = work_root(paths, "analytics") / ("0" * 64) / "rejects-0.jsonl"
    message = public_message(f'cannot read analytics/x.zip: error in file "{scratch}": too big', landed_file)
    assert message == 'cannot read analytics/x.zip: error in file "analytics/x.zip": too big'
    assert "_tmp" not in message


# ------------------------------------------------------------------------------------------- values out of range


def test_a_year_9999_event_time_and_an_overflowing_revenue_are_their_lines_reasons(paths, config):
    lines = [
        amplitude("ok"),
        amplitude("late", event_time="9999-01-01 00:00:00"),
        amplitude("rich", event_properties={"$revenue": "1e30"}),
        mixpanel("far", time=253402300799),
    ]
    land(paths, "analytics/ranges.jsonl", "\n".join(lines[:3]) + "\n")
    land(paths, "analytics/mixpanel.jsonl", "\n".join([mixpanel("ok"), lines[3]]) + "\n")

    mp, amp = ingest_analytics(paths, config).results  # listing order: mixpanel.jsonl, ranges.jsonl

    loaded(amp, 3, 1, 2)
    assert quarantine(paths, "analytics", amp.sha256, "reason") == [
        ('event_time "9999-01-01 00:00:00" is outside 1900..2100',),
        ('event_properties.$revenue "1e30" is out of range for DECIMAL(18,6)',),
    ]
    loaded(mp, 2, 1, 1)
    assert quarantine(paths, "analytics", mp.sha256, "reason") == [
        ('properties.time "253402300799" is outside 1900..2100',)
    ]
    # Unknown revenue is NULL, never 0.0: Mixpanel exports carry no revenue field.
    lake = mp.lake_file
    assert duckdb.sql(f"SELECT revenue FROM read_parquet('{lake}')").fetchall() == [(None,)]


def test_a_stripe_customer_created_in_year_9999_is_quarantined_with_its_column(paths, config):
    header, first, second, *_ = (FIXTURES / "billing" / "customers.csv").read_text(encoding="utf-8").splitlines()
    late = second.replace("2024-01-06 10:00:00", "9999-01-01 00:00:00")
    land(paths, "billing/customers.csv", "\n".join([header, first, late]) + "\n")

    (result,) = ingest_billing(paths, config).results

    loaded(result, 2, 1, 1)
    assert quarantine(paths, "billing", result.sha256, "record_key, reason") == [
        ("cus_J", "Created (UTC) '9999-01-01 00:00:00' is outside 1900..2100")
    ]


def test_ad_clicks_beyond_bigint_quarantine_their_row(paths, config):
    land(paths, "marketing/plain.csv", "date,channel,campaign,spend,currency,clicks\n"
         "2024-01-01,Events,booth,10,USD,3\n2024-01-02,Events,booth,10,USD,99999999999999999999\n")  # fmt: skip

    (result,) = ingest_marketing(paths, config).results

    loaded(result, 2, 1, 1)
    ((reason,),) = quarantine(paths, "marketing", result.sha256, "reason")
    assert reason.startswith("clicks 99999999999999999999 is out of range for BIGINT")


def test_a_jira_csv_issue_created_in_year_9999_is_quarantined_by_the_shared_writer(paths, config):
    """The Jira parser reads the date; the row writer's contract check moves the record to the quarantine."""
    text = (FIXTURES / "jira" / "export_en.csv").read_text(encoding="utf-8")
    land(paths, "jira/export_en.csv", text.replace("12/Mar/24 2:15 PM,02/Jul/24", "12/Mar/9999 2:15 PM,02/Jul/24", 1))

    (result,) = ingest_jira(paths, config).results

    assert result.status == "loaded" and result.rows_in == result.rows_loaded + result.rows_rejected
    reasons = [reason for (reason,) in quarantine(paths, "jira", result.sha256, "reason")]
    assert "created_at 9999-03-12 14:15:00 is outside 1900..2100" in reasons


# ------------------------------------------------------------------------------------------- schema drift


def test_a_segment_csv_with_a_new_column_loads_and_lists_it(paths, config):
    csv_text = (
        "messageId,event,timestamp,userId,colour,properties_plan\n"
        "m1,signed_up,2024-03-05T09:15:02Z,u1,red,pro\n"
        "m2,signed_up,2024-03-05T09:16:02Z,u2,blue,free\n"
    )
    land(paths, "analytics/tracks.csv", csv_text)

    (result,) = ingest_analytics(paths, config).results

    loaded(result, 2, 2, 0)
    record = read_manifest_record(paths, "analytics", result.sha256)
    assert record["unknown_columns"] == ["colour"] == result.unknown_columns
    assert record["missing_columns"] == [
        "anonymous_id",
        "received_at",
        "context_device_type",
        "context_location_country",
        "revenue",
    ]
    summary = format_summary(build_summary(paths))
    assert "columns not read (not loaded) in analytics/tracks.csv: colour" in summary


def test_a_stripe_csv_with_a_new_column_loads_and_lists_it(paths, config):
    header, *rows = (FIXTURES / "billing" / "customers.csv").read_text(encoding="utf-8").splitlines()
    land(paths, "billing/customers.csv", "\n".join([header + ",Tax Exempt", *(row + ",none" for row in rows)]) + "\n")

    (result,) = ingest_billing(paths, config).results

    loaded(result, 4, 3, 1)  # the fixture's cus_BAD has no readable creation time
    record = read_manifest_record(paths, "billing", result.sha256)
    assert (record["unknown_columns"], record["missing_columns"]) == (["Tax Exempt"], [])


def test_a_header_without_an_optional_column_lists_it_as_missing(paths, config):
    header, *rows = (FIXTURES / "billing" / "customers.csv").read_text(encoding="utf-8").splitlines()
    position = header.split(",").index("Card Country")

    def without(line: str) -> str:
        cells = line.split(",")
        return ",".join(cells[:position] + cells[position + 1 :])

    land(paths, "billing/customers.csv", "\n".join([without(header), *map(without, rows)]) + "\n")

    (result,) = ingest_billing(paths, config).results

    loaded(result, 4, 3, 1)  # the fixture's cus_BAD has no readable creation time
    record = read_manifest_record(paths, "billing", result.sha256)
    assert (record["unknown_columns"], record["missing_columns"]) == ([], ["card country"])
    assert "optional columns missing (NULL) in billing/customers.csv: card country" in format_summary(
        build_summary(paths)
    )
