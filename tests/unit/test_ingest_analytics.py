"""ingest/analytics: every export format, the quarantine, the manifest and the lake contract."""

from __future__ import annotations

import calendar
import gzip
import hashlib
import io
import json
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import Paths, get_paths
from ingest.analytics import contract, ingest_analytics
from ingest.common import atomic
from ingest.common.archive import ArchiveLimits
from ingest.common.manifest import read_manifest, read_manifest_record
from ingest.common.report import IngestReport

LA = "America/Los_Angeles"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({"analytics": {"mixpanel_project_timezone": LA}}, Path("test-pmw.yml"))


# ------------------------------------------------------------------------------------------------ helpers


def landed(paths: Paths, name: str, data: bytes | str) -> Path:
    target = paths.landing / "analytics" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data.encode() if isinstance(data, str) else data)
    return target


def amp(uuid: str, **overrides: Any) -> dict[str, Any]:
    event = {
        "uuid": uuid,
        "$insert_id": f"ins-{uuid}",
        "event_type": "page_viewed",
        "user_id": "u1",
        "device_id": "d1",
        "session_id": 1709630102000,
        "event_time": "2024-03-05 09:15:02.123456",
        "client_event_time": "2024-03-05 09:15:01.000000",
        "server_received_time": "2024-03-05 09:15:03.000000",
        "server_upload_time": "2024-03-05 09:15:04.000000",
        "event_id": 7,
        "amplitude_id": 99,
        "app": 1234,
        "event_properties": {"page": "/home"},
        "user_properties": {"plan": "pro"},
        "platform": "Web",
        "country": "United States",
        "data": {},
        "paying": None,
        "location_lat": 1.5,
    }
    return event | overrides


def jsonl(*records: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def run(paths: Paths, config: PipelineConfig, **kwargs: Any) -> IngestReport:
    report = ingest_analytics(paths, config, **kwargs)
    for result in report.results:  # invariant 2, on every run of every test
        assert result.rows_in == result.rows_loaded + result.rows_rejected, result
    return report


def only(report: IngestReport):
    assert len(report.results) == 1, report.results
    return report.results[0]


def rows(path: Path, order: str = "_source_member, _line_number") -> list[dict[str, Any]]:
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY {order}")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def quarantined(paths: Paths, sha256: str) -> list[tuple]:
    target = paths.quarantine_dir / "analytics" / f"{sha256}.parquet"
    return duckdb.sql(
        f"SELECT _source_file, _source_member, _line_number, raw_line, reason FROM read_parquet('{target}') "
        "ORDER BY _source_member, _line_number"
    ).fetchall()


def schema(path: Path) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]


def shifted_epoch(local_wall_clock: str) -> int:
    """What Mixpanel writes: the project-local wall clock read as if it were UTC."""
    return calendar.timegm(datetime.fromisoformat(local_wall_clock).timetuple())


# ------------------------------------------------------------------------------------------------ Amplitude


def test_amplitude_zip_saved_as_json_gz_loads_every_member(paths: Paths, config: PipelineConfig) -> None:
    hour9 = jsonl(
        amp("a1", user_id=12345, event_properties={"$revenue": "9.99", "page": "/pay"}),
        amp(
            "a2",
            session_id=-1,
            user_properties=None,
            server_received_time=None,
            user_id=None,
            event_properties={"$price": 2.5, "$quantity": 3},
        ),
    )
    hour10 = jsonl(amp("a3", event_properties={"$price": "4"}))
    body = zip_bytes(
        {
            "1234/": b"",
            "1234/1234_2024-03-05_9#0.json.gz": gzip.compress(hour9.encode()),
            "1234/1234_2024-03-05_10#0.json.gz": gzip.compress(hour10.encode()),
        }
    )
    landed(paths, "export_2024-03-05.json.gz", body)  # the Export API body, saved under a gzip name

    result = only(run(paths, config))

    assert (result.status, result.format) == ("loaded", "amplitude/zip")
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    got = {r["event_key"]: r for r in rows(result.lake_file)}
    a1, a2, a3 = got["a1"], got["a2"], got["a3"]
    assert a1 == {
        "event_key": "a1",
        "source": "amplitude",
        "event_name": "page_viewed",
        "user_id": "12345",
        "anonymous_id": "d1",
        "session_key": "1709630102000",
        "event_time": datetime(2024, 3, 5, 9, 15, 2, 123456),
        "received_at": datetime(2024, 3, 5, 9, 15, 3),
        "platform": "Web",
        "country": "United States",
        "revenue": Decimal("9.990000"),
        "properties": '{"$revenue":"9.99","page":"/pay"}',
        "user_properties": '{"plan":"pro"}',
        "_source_file": "analytics/export_2024-03-05.json.gz",
        "_source_member": "1234/1234_2024-03-05_9#0.json.gz",
        "_line_number": 1,
        "_file_sha256": result.sha256,
        "_ingested_at": a1["_ingested_at"],
    }
    assert (a2["session_key"], a2["user_id"], a2["user_properties"]) == (None, None, None)
    assert a2["received_at"] == datetime(2024, 3, 5, 9, 15, 4)  # fallback: server_upload_time
    assert a2["revenue"] == Decimal("7.500000")  # $price x $quantity
    assert a2["_line_number"] == 2
    assert a3["revenue"] == Decimal("4.000000")  # $quantity defaults to 1
    assert a3["_source_member"] == "1234/1234_2024-03-05_10#0.json.gz"


def test_amplitude_bare_gzip_and_plain_jsonl(paths: Paths, config: PipelineConfig) -> None:
    landed(paths, "hour.json.gz", gzip.compress(jsonl(amp("g1"), amp("g2")).encode()))
    landed(paths, "hour.jsonl", jsonl(amp("p1")))

    report = run(paths, config)

    assert [(r.relative_path, r.format, r.rows_loaded) for r in report.results] == [
        ("analytics/hour.json.gz", "amplitude/gzip", 2),
        ("analytics/hour.jsonl", "amplitude/plain", 1),
    ]
    assert [r["_source_member"] for r in rows(report.results[0].lake_file)] == [None, None]


def test_amplitude_bad_lines_are_quarantined_with_member_line_and_reason(paths: Paths, config: PipelineConfig):
    member = "1234/1234_2024-03-05_9#0.json.gz"
    lines = jsonl(
        amp("ok1"),
        "this is {not json",
        {k: v for k, v in amp("no-type").items() if k != "event_type"},
        "",  # blank lines are not rows, but they count for line numbers
        amp("bad-time", event_time="05/03/2024 9am"),
        {k: v for k, v in amp("no-uuid").items() if k != "uuid"},
        [1, 2, 3],
        amp("bad-revenue", event_properties={"$revenue": "lots"}),
        amp("ok2"),
    )
    landed(paths, "export.zip", zip_bytes({member: gzip.compress(lines.encode())}))

    result = only(run(paths, config))

    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (8, 2, 6)
    assert [r["_line_number"] for r in rows(result.lake_file)] == [1, 9]
    got = [(line, reason) for _, m, line, _, reason in quarantined(paths, result.sha256) if m == member]
    assert got == [
        (2, "invalid JSON"),
        (3, "missing required field event_type"),
        (5, 'unparseable event_time: "05/03/2024 9am"'),
        (6, "missing required field uuid"),
        (7, "not a JSON object"),
        (8, 'unparseable event_properties.$revenue: "lots"'),
    ]
    raw = {line: raw for _, _, line, raw, _ in quarantined(paths, result.sha256)}
    assert raw[2] == "this is {not json"
    assert all(f == "analytics/export.zip" for f, *_ in quarantined(paths, result.sha256))


def test_invalid_utf8_line_is_quarantined_and_the_rest_loads(paths: Paths, config: PipelineConfig) -> None:
    body = jsonl(amp("u1")).encode() + b'{"uuid": "bad\xff\xfe"}\n' + jsonl(amp("u3")).encode()
    result = only(run(paths, config, files=[landed(paths, "mixed.json.gz", gzip.compress(body))]))

    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert [r["_line_number"] for r in rows(result.lake_file)] == [1, 3]
    assert [(line, reason) for _, _, line, _, reason in quarantined(paths, result.sha256)] == [
        (2, "invalid UTF-8 at byte 13")
    ]


def test_clean_and_bad_members_stream_to_one_lake_file_in_member_and_line_order(paths: Paths, config: PipelineConfig):
    """Each member is one streamed pass (its own Parquet part, no sort): a clean member loads every line, a member
    with one bad line keeps its other lines and quarantines exactly that one, and the lake file comes out in
    (member, line) order without an ORDER BY."""
    clean = "1234/1234_2024-03-05_1#0.json.gz"
    bad = "1234/1234_2024-03-05_2#0.json.gz"
    blanks = "1234/1234_2024-03-05_3#0.json.gz"
    members = {
        clean: jsonl(*(amp(f"c{i}") for i in range(1, 6))),
        bad: jsonl(amp("b1"), amp("b2"), '{"uuid": "b3", "event_type": ', amp("b4")),
        # blank and whitespace-only lines count for line numbers; an object may start after spaces
        blanks: "\n" + jsonl(amp("w2")) + " \t\r\n" + "   " + jsonl(amp("w4")) + "\r\n" + jsonl(amp("w6")),
    }
    landed(paths, "export.zip", zip_bytes({name: gzip.compress(text.encode()) for name, text in members.items()}))

    result = only(run(paths, config))

    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (12, 11, 1)
    stored = duckdb.sql(f"SELECT _source_member, _line_number, event_key FROM read_parquet('{result.lake_file}')")
    assert stored.fetchall() == [
        *((clean, i, f"c{i}") for i in range(1, 6)),
        (bad, 1, "b1"),
        (bad, 2, "b2"),
        (bad, 4, "b4"),
        (blanks, 2, "w2"),
        (blanks, 4, "w4"),
        (blanks, 6, "w6"),
    ]
    assert [(m, line, raw, reason) for _, m, line, raw, reason in quarantined(paths, result.sha256)] == [
        (bad, 3, '{"uuid": "b3", "event_type": ', "invalid JSON")
    ]
    assert schema(result.lake_file) == list(contract.EVENT_COLUMNS)
    assert not list((paths.lake / "_tmp").rglob("*.parquet")), "work parts must be removed"


def test_single_parse_tells_invalid_json_from_non_objects(paths: Paths, config: PipelineConfig) -> None:
    """Lines are parsed once (try(from_json)); only the ones that fail are classified again."""
    body = jsonl(
        amp("ok1"),
        "null",
        "[1, 2]",
        "42",
        '"text"',
        '{"uuid": "x" "event_type": "y"}',
        '{"uuid": "trailing"} garbage',
        "  " + json.dumps(amp("ok8")),
        "terminated early",  # only Mixpanel exports have this trailer; for Amplitude it is just not JSON
    )
    result = only(run(paths, config, files=[landed(paths, "lines.jsonl", body)]))

    assert [r["event_key"] for r in rows(result.lake_file)] == ["ok1", "ok8"]
    assert [(line, reason) for _, _, line, _, reason in quarantined(paths, result.sha256)] == [
        (2, "not a JSON object"),
        (3, "not a JSON object"),
        (4, "not a JSON object"),
        (5, "not a JSON object"),
        (6, "invalid JSON"),
        (7, "invalid JSON"),
        (9, "invalid JSON"),
    ]


# ------------------------------------------------------------------------------------------------ Mixpanel


def test_mixpanel_time_is_unshifted_across_a_dst_change(paths: Paths, config: PipelineConfig) -> None:
    # 2024-03-10 02:00 America/Los_Angeles: PST (UTC-8) -> PDT (UTC-7)
    def event(name: str, local: str, insert_id: str, **props: Any) -> dict[str, Any]:
        return {
            "event": name,
            "properties": {"time": shifted_epoch(local), "distinct_id": "user_1", "$insert_id": insert_id, **props},
        }

    landed(
        paths,
        "mp.jsonl",
        jsonl(
            event("signed_up", "2024-03-10T01:30:00", "i1"),
            event("signed_up", "2024-03-10T03:30:00", "i2"),
            event("page_viewed", "2024-07-01T12:00:00", "i3"),
            event("page_viewed", "2024-12-01T12:00:00", "i4"),
        ),
    )

    result = only(run(paths, config))

    assert result.format == "mixpanel/plain"
    assert [r["event_time"] for r in rows(result.lake_file)] == [
        datetime(2024, 3, 10, 9, 30),  # 01:30 PST
        datetime(2024, 3, 10, 10, 30),  # 03:30 PDT: one wall-clock hour later is the same UTC hour + 1
        datetime(2024, 7, 1, 19, 0),
        datetime(2024, 12, 1, 20, 0),
    ]


def test_mixpanel_mapping_numbers_as_strings_and_event_key(paths: Paths, config: PipelineConfig) -> None:
    t = shifted_epoch("2024-03-05T06:46:40")
    anonymous = {
        "event": "page_viewed",
        "properties": {
            "time": str(t),
            "distinct_id": "$device:dev-1",
            "$insert_id": "same",
            "mp_processing_time_ms": "1709650000123",
            "$os": "iOS",
            "mp_country_code": "DE",
            "plan": "pro",
            "$browser": "Safari",
        },
    }
    # the same $insert_id on a different event is not a duplicate
    identified = {
        "event": "signed_up",
        "properties": {
            "time": t,
            "distinct_id": "user_7",
            "$insert_id": "same",
            "$device_id": "dev-1",
            "$user_id": "user_7",
        },
    }
    landed(paths, "mp.json.gz", gzip.compress(jsonl(anonymous, identified).encode()))

    result = only(run(paths, config))

    assert result.format == "mixpanel/gzip"
    first, second = rows(result.lake_file)
    expected_key = hashlib.sha256(f"page_viewed\x1f$device:dev-1\x1f{t * 1000}\x1fsame".encode()).hexdigest()
    assert first["event_key"] == expected_key
    assert second["event_key"] != first["event_key"]
    assert (first["user_id"], first["anonymous_id"], first["platform"], first["country"]) == (
        None,
        "dev-1",
        "iOS",
        "DE",
    )
    assert first["event_time"] == datetime(2024, 3, 5, 14, 46, 40)  # PST: +8 h
    assert first["received_at"] == datetime(2024, 3, 5, 14, 46, 40, 123000)
    assert json.loads(first["properties"]) == {"plan": "pro", "$browser": "Safari"}
    assert (second["user_id"], second["anonymous_id"], second["properties"]) == ("user_7", "dev-1", "{}")
    assert first["source"] == "mixpanel" and first["session_key"] is None


def test_mixpanel_terminated_early_trailer_is_counted_and_flagged(paths: Paths, config: PipelineConfig) -> None:
    good = {"event": "a", "properties": {"time": 1709650000, "distinct_id": "u"}}
    landed(
        paths,
        "cut.jsonl",
        jsonl(
            good,
            {"event": "b", "properties": {"time": "soon", "distinct_id": "u"}},
            {"properties": {"time": 1, "distinct_id": "u"}},
            "terminated early",
        ),
    )

    result = only(run(paths, config))

    assert (result.rows_in, result.rows_loaded, result.rows_rejected, result.incomplete) == (4, 1, 3, True)
    assert [(line, reason) for _, _, line, _, reason in quarantined(paths, result.sha256)] == [
        (2, 'unparseable properties.time: "soon"'),
        (3, "missing required field event"),
        (4, "vendor trailer: export terminated early"),
    ]
    record = read_manifest_record(paths, "analytics", result.sha256)
    assert record["incomplete"] is True
    assert record["notes"] == [
        "vendor trailer: export terminated early: the vendor cut this export short; 1 trailer line(s) not loaded"
    ]


# ------------------------------------------------------------------------------------------------ CSV


CSV_HEADER = (
    "messageId,event,timestamp,userId,anonymous_id,receivedAt,context_device_type,"
    "context_location_country,revenue,properties_plan,properties_path,context_library_name"
)


def test_segment_csv_with_aliases_properties_and_a_malformed_record(paths: Paths, config: PipelineConfig) -> None:
    body = (
        "\r\n".join(
            [
                CSV_HEADER,
                'm1,plan_upgraded,2024-03-05T09:15:02.123Z,u1,,2024-03-05T09:15:05Z,ios,DE,12.5,pro,"/a,b",analytics.js',
                "m2,page_viewed,2024-03-05T10:00:00Z,,anon-2,,,,,,,",
                "m3,page_viewed,2024-03-05T10:00:00Z,u3",  # too few fields
                "m4,page_viewed,yesterday,u4,,,,,,,,",
                "m5,page_viewed,2024-03-05T10:00:00Z,,,,,,,,,",
            ]
        )
        + "\r\n"
    )
    result = only(run(paths, config, files=[landed(paths, "segment/tracks.csv", body)]))

    assert (result.format, result.rows_in, result.rows_loaded, result.rows_rejected) == ("csv/plain", 5, 2, 3)
    m1, m2 = rows(result.lake_file)
    assert (m1["event_key"], m1["user_id"], m1["platform"], m1["country"], m1["revenue"]) == (
        "m1",
        "u1",
        "ios",
        "DE",
        Decimal("12.500000"),
    )
    assert (m1["event_time"], m1["received_at"]) == (
        datetime(2024, 3, 5, 9, 15, 2, 123000),
        datetime(2024, 3, 5, 9, 15, 5),
    )
    assert json.loads(m1["properties"]) == {"plan": "pro", "path": "/a,b", "context": {"library_name": "analytics.js"}}
    assert (m2["user_id"], m2["anonymous_id"], m2["properties"], m2["_line_number"]) == (None, "anon-2", "{}", 3)
    assert m1["_line_number"] == 2 and m1["source"] == "csv"
    assert [(line, reason) for _, _, line, _, reason in quarantined(paths, result.sha256)] == [
        (4, "malformed CSV record (missing columns): Expected Number of Columns: 12 Found: 4"),
        (5, 'unparseable timestamp: "yesterday"'),
        (6, "missing both user_id and anonymous_id"),
    ]


def test_segment_columns_as_parquet(paths: Paths, config: PipelineConfig, tmp_path: Path) -> None:
    target = paths.landing / "analytics" / "tracks.parquet"
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES ('p1', 'signed_up', TIMESTAMP '2024-03-05 09:00:00', 'u1', 3.5, 'pro'),"
        " ('p2', 'signed_up', NULL, 'u2', NULL, NULL)) t(id, event, timestamp, user_id, revenue, properties_plan))"
        f" TO '{target}' (FORMAT parquet)"
    )
    result = only(run(paths, config))

    assert (result.format, result.rows_loaded, result.rows_rejected) == ("csv/parquet", 1, 1)
    (p1,) = rows(result.lake_file)
    assert (p1["event_time"], p1["revenue"], p1["properties"]) == (
        datetime(2024, 3, 5, 9),
        Decimal("3.500000"),
        '{"plan":"pro"}',
    )
    assert [(line, reason) for _, _, line, _, reason in quarantined(paths, result.sha256)] == [
        (2, "missing required field timestamp")
    ]


def test_csv_without_a_required_column_stops_the_file_naming_what_it_looked_for(paths: Paths, config: PipelineConfig):
    landed(paths, "weird.csv", "messageId,event,when,colour,properties_ok\n1,a,b,c,d\n")
    result = only(run(paths, config))
    assert result.status == "failed"
    assert result.error == (
        "unexpected column set in analytics/weird.csv: missing required column(s) timestamp, "
        "user_id (or userId) or anonymous_id (or anonymousId); columns not read 'when', 'colour'"
    )
    assert not (paths.lake / "_pending" / "analytics" / "events" / f"{result.sha256}.parquet").exists()
    assert not (paths.lake / "analytics" / "events" / f"{result.sha256}.parquet").exists()


# ------------------------------------------------------------------------------------------------ failures


def test_unknown_format_names_the_file_and_what_was_seen(paths: Paths, config: PipelineConfig) -> None:
    landed(paths, "notes.txt", "hello world\n")
    landed(paths, "other.jsonl", jsonl({"type": "track", "name": "x"}))
    landed(paths, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    report = run(paths, config)
    assert [(r.status, r.error) for r in report.results] == [
        (
            "failed",
            "unknown format: analytics/image.png: not UTF-8 text, gzip, ZIP or Parquet "
            "(first bytes b'\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\xff\\xfe')",
        ),
        (
            "failed",
            "unknown format: analytics/notes.txt: first line 'hello world' is neither a JSON object nor a CSV header",
        ),
        (
            "failed",
            "unknown format: analytics/other.jsonl: JSON objects with keys ['name', 'type'] in the first 1 "
            "lines; expected Amplitude (uuid, event_type, event_time) or Mixpanel (event, "
            "properties.distinct_id/time)",
        ),
    ]


def test_corrupt_zip_fails_with_file_name(paths: Paths, config: PipelineConfig) -> None:
    body = zip_bytes({"1234/a.json.gz": gzip.compress(jsonl(amp("z")).encode())})
    landed(paths, "broken.zip", body[: len(body) // 2])  # cut off: no central directory
    result = only(run(paths, config))
    assert result.status == "failed"
    assert result.error == "corrupt ZIP archive analytics/broken.zip: File is not a zip file"


def test_corrupt_gzip_member_fails_naming_file_and_member(paths: Paths, config: PipelineConfig) -> None:
    good = gzip.compress(jsonl(amp("ok")).encode())
    truncated = gzip.compress(jsonl(*[amp(f"t{i}") for i in range(200)]).encode())[:-40]
    landed(paths, "export.zip", zip_bytes({"1234/good.json.gz": good, "1234/cut.json.gz": truncated}))
    result = only(run(paths, config))
    assert result.status == "failed"
    assert result.error.startswith("corrupt gzip data in analytics/export.zip member '1234/cut.json.gz': ")
    assert not (paths.lake / "_pending" / "analytics" / "events" / f"{result.sha256}.parquet").exists()
    assert not (paths.lake / "analytics" / "events" / f"{result.sha256}.parquet").exists()


def test_corrupt_bare_gzip_fails_with_file_name(paths: Paths, config: PipelineConfig) -> None:
    landed(paths, "bad.json.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64)
    result = only(run(paths, config))
    assert result.status == "failed"
    assert result.error.startswith("corrupt gzip data in analytics/bad.json.gz: ")


def test_zip_slip_member_name_is_rejected(paths: Paths, config: PipelineConfig) -> None:
    landed(paths, "slip.zip", zip_bytes({"../../evil.json.gz": gzip.compress(jsonl(amp("e")).encode())}))
    result = only(run(paths, config))
    assert result.error == "unsafe ZIP member name '../../evil.json.gz' in analytics/slip.zip: contains '..'"
    assert not (paths.data_dir / "evil.json.gz").exists()


def test_zip_bomb_limit_is_configurable(paths: Paths, config: PipelineConfig) -> None:
    landed(paths, "big.zip", zip_bytes({"1234/a.json": jsonl(*[amp(f"b{i}") for i in range(300)]).encode()}))
    limits = ArchiveLimits(max_total_uncompressed_bytes=10_000)
    result = only(run(paths, config, archive_limits=limits))
    assert result.status == "failed"
    assert result.error.startswith("ZIP archive analytics/big.zip declares ")
    assert result.error.endswith("uncompressed bytes, above the limit 10000")


# ------------------------------------------------------------------------------------------------ idempotency


def _snapshot(paths: Paths) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(paths.lake).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(paths.lake.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def test_same_bytes_under_two_names_load_once_and_reruns_write_nothing(paths: Paths, config: PipelineConfig):
    body = gzip.compress(jsonl(amp("d1"), amp("d2")).encode())
    landed(paths, "a/export.json.gz", body)
    landed(paths, "b/export-copy.json.gz", body)
    landed(paths, "c/broken.csv", "id,nope\n1,2\n")

    first = run(paths, config)
    assert [r.status for r in first.results] == ["loaded", "skipped_duplicate", "failed"]
    assert first.new_lake_files == [first.results[0].lake_file]
    assert first.totals == {
        "files": 3,
        "loaded": 1,
        "skipped_duplicate": 1,
        "already_loaded": 0,
        "failed": 1,
        "rows_in": 2,
        "rows_loaded": 2,
        "rows_rejected": 0,
        "rows_skipped": 0,
    }
    sha = first.results[0].sha256
    # New files wait in the pending area for the raw gate; dbt's lake dir holds only the schema anchor so far.
    assert {p.name for p in (paths.lake / "_pending" / "analytics" / "events").iterdir()} == {f"{sha}.parquet"}
    assert {p.name for p in (paths.lake / "analytics" / "events").iterdir()} == {"_schema.parquet"}
    records = {r["path"]: r for r in read_manifest(paths, "analytics")}
    assert records["analytics/a/export.json.gz"]["aliases"] == ["analytics/b/export-copy.json.gz"]
    assert records["analytics/c/broken.csv"]["status"] == "failed"

    before = _snapshot(paths)
    second = run(paths, config)
    assert [r.status for r in second.results] == ["already_loaded", "skipped_duplicate", "failed"]
    assert second.results[2].error == first.results[2].error  # the same failure is reported again
    assert second.new_lake_files == []
    assert _snapshot(paths) == before  # nothing rewritten, not even the failed file's manifest record


def test_crash_before_rename_leaves_no_partial_parquet_and_the_retry_loads(
    paths: Paths, config: PipelineConfig, monkeypatch
) -> None:
    landed(paths, "export.jsonl", jsonl(amp("c1"), amp("c2")))
    real_replace = atomic._replace

    def crash_on_lake_file(src: Path, dst: Path) -> None:
        if dst.suffix == ".parquet" and not dst.name.startswith("_"):
            raise RuntimeError("killed before rename")
        real_replace(src, dst)

    monkeypatch.setattr(atomic, "_replace", crash_on_lake_file)
    with pytest.raises(RuntimeError, match="killed before rename"):
        ingest_analytics(paths, config)
    events_dir = paths.lake / "_pending" / "analytics" / "events"
    assert [p.name for p in events_dir.iterdir()] == []
    assert read_manifest(paths, "analytics") == []
    # A hard kill would also leave the temp file; the next run sweeps it.
    (events_dir / ".leftover.parquet.0123ab.tmp").write_bytes(b"PAR1 half written")

    monkeypatch.setattr(atomic, "_replace", real_replace)
    result = only(run(paths, config))
    assert (result.status, result.rows_loaded) == ("loaded", 2)
    assert {p.name for p in events_dir.iterdir()} == {f"{result.sha256}.parquet"}


def test_parquet_schemas_equal_the_contract(paths: Paths, config: PipelineConfig) -> None:
    landed(paths, "x.jsonl", jsonl(amp("s1"), "oops"))
    result = only(run(paths, config))
    assert schema(result.lake_file) == list(contract.EVENT_COLUMNS)
    assert schema(paths.lake / "analytics" / "events" / "_schema.parquet") == list(contract.EVENT_COLUMNS)
    assert schema(result.quarantine_file) == list(contract.QUARANTINE_COLUMNS)
    assert duckdb.sql(
        f"SELECT count(*) FROM '{paths.lake / 'analytics' / 'events' / '_schema.parquet'}'"
    ).fetchall() == [(0,)]


def test_files_outside_landing_are_refused(paths: Paths, config: PipelineConfig, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text(jsonl(amp("o")))
    result = only(run(paths, config, files=[outside]))
    assert result.status == "failed"
    assert result.error == f"refusing {outside}: not inside {paths.landing / 'analytics'}"


def test_log_gets_one_line_per_file(paths: Paths, config: PipelineConfig) -> None:
    landed(paths, "one.jsonl", jsonl(amp("l1")))
    landed(paths, "two.txt", "nothing here\n")
    lines: list[str] = []
    run(paths, config, log=lines.append)
    assert len(lines) == 2
    assert lines[0].startswith("analytics: loaded analytics/one.jsonl [amplitude/plain] rows_in=1 loaded=1 rejected=0")
    assert lines[1].startswith("analytics: failed analytics/two.txt: unknown format")


# ------------------------------------------------------------------------------------------------ sample data


def test_generated_sample_balances_and_quarantines_exactly_the_planted_lines(paths: Paths, config: PipelineConfig):
    sample = pytest.importorskip("sample_generator.analytics")
    truths = sample.generate_analytics(paths.landing, seed=3, users=40, days=31, events_per_user=3)
    config = parse_config({"analytics": {"mixpanel_project_timezone": truths.mixpanel_timezone}}, Path("t.yml"))

    report = run(paths, config)

    assert report.failed == []
    assert sorted(r.relative_path for r in report.results) == sorted(truths.files)
    planted = sorted((m.file, m.member, m.line) for m in truths.malformed)
    got = sorted(
        (f, member, line)
        for r in report.results
        if r.quarantine_file is not None
        for f, member, line, _, _ in quarantined(paths, r.sha256)
    )
    assert got == planted
    assert report.totals["rows_loaded"] == sum(truths.lines_by_source.values())
