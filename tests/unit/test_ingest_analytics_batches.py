"""ingest/analytics: a ZIP's members are read in batches (one DuckDB scan per batch). However the members fall into
batches, the lake file, the quarantine and the file's accounting are those of reading each member on its own."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

import ingest.analytics.load as analytics_load
from core.config import parse_config
from core.settings import get_paths
from ingest.analytics import ingest_analytics

CONFIG = parse_config({"analytics": {"mixpanel_project_timezone": "UTC"}}, Path("test-pmw.yml"))


def _event(uuid: str, **extra: Any) -> str:
    return json.dumps(
        {
            "uuid": uuid,
            "event_type": "page_viewed",
            "user_id": "u1",
            "device_id": "d1",
            "session_id": 1709630102000,
            "event_time": "2024-03-05 09:15:02.123456",
            "server_received_time": "2024-03-05 09:15:03.000000",
            "platform": "Web",
            "country": "France",
            "event_properties": {"path": "/home"},
            "user_properties": {"plan": "free"},
        }
        | extra
    )


def _lines(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# Hourly members as a real export has them, with every kind of line a member may hold.
MEMBERS: dict[str, bytes] = {
    "1234/1234_2024-03-05_0#0.json.gz": gzip.compress(_lines(*(_event(f"a{i}") for i in range(1, 5)))),
    "1234/1234_2024-03-05_1#0.json.gz": gzip.compress(
        _lines(_event("b1"), '{"uuid": "b2", "event_type": ', "", _event("b4", surprise_key=1), "[1]")
    ),
    "1234/1234_2024-03-05_2#0.json.gz": gzip.compress(b""),  # an hour without events
    # invalid UTF-8 and a carriage return inside a line: DuckDB refuses the scan or reads an extra row
    "1234/1234_2024-03-05_3#0.json.gz": gzip.compress(
        _event("d1").encode() + b"\n" + b'{"uuid": "d2\xff"}\n' + _event("d3").encode() + b"\n"
    ),
    "1234/1234_2024-03-05_4#0.json.gz": gzip.compress(_lines(_event("e1"), _event("e2").replace('"Web"', '"W\reb"'))),
    "1234/1234_2024-03-05_5#0.json": _lines(_event("f1"), _event("f2", event_time="not a time")),  # not gzipped
    "1234/1234_2024-03-05_6#0.json.gz": gzip.compress(_lines(*(_event(f"g{i}") for i in range(1, 4)))[:-1]),
    # a byte order mark: DuckDB skips it at the start of a file, and so must a batch at the start of a member
    "1234/1234_2024-03-05_7#0.json.gz": gzip.compress(b"\xef\xbb\xbf" + _lines(_event("h1"), "  ", _event("h3"))),
    # raw control characters, one of them the batch file's own delimiter
    "1234/1234_2024-03-05_8#0.json.gz": gzip.compress(
        _lines(_event("i1").replace("Web", "W\x01b"), _event("i2").replace("Web", "W\x00b"), _event("i3"))
    ),
    # two gzip streams one after the other (a valid gzip file: gzip's reader, and DuckDB's, read both)
    "1234/1234_2024-03-05_9#0.json.gz": gzip.compress(_lines(_event("j1"))) + gzip.compress(_lines(_event("j2"))),
}


def _load(
    tmp_path: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    batch_lines: int,
    batch_members: int,
    member_by_member: bool = False,
    in_memory_bytes: int | None = None,
):
    if member_by_member:  # as if DuckDB refused every batch: each member is read on its own, as before batches
        monkeypatch.setattr(analytics_load._FileLoader, "_copy_batch", lambda *_args: False)
    else:
        monkeypatch.undo()
    monkeypatch.setattr(analytics_load, "_BATCH_LINES", batch_lines)
    monkeypatch.setattr(analytics_load, "_BATCH_MEMBERS", batch_members)
    if in_memory_bytes is not None:  # larger members are extracted to disk and read on their own
        monkeypatch.setattr(analytics_load, "_MEMBER_IN_MEMORY_BYTES", in_memory_bytes)
    paths = get_paths(tmp_path / name).ensure()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in MEMBERS.items():  # a fixed time: the same bytes (and sha256, a lake column) every load
            archive.writestr(zipfile.ZipInfo(member, date_time=(2024, 3, 6, 0, 0, 0)), data)
    (paths.landing / "analytics" / "export.zip").write_bytes(buffer.getvalue())
    (result,) = ingest_analytics(paths, CONFIG).results
    assert result.status == "loaded", result.error
    # every column but the load time
    lake = duckdb.sql(f"SELECT * EXCLUDE (_ingested_at) FROM read_parquet('{result.lake_file}')").fetchall()
    quarantine = sorted(
        duckdb.sql(
            "SELECT _source_member, _line_number, raw_line, reason FROM read_parquet("
            f"'{paths.quarantine_dir / 'analytics'}/**/*.parquet')"
        ).fetchall()
    )
    # (the loop itself checks that rows in + blank lines = the file's physical lines)
    accounting = (
        result.rows_in,
        result.rows_loaded,
        result.rows_rejected,
        result.unknown_columns,
        result.missing_columns,
    )
    return lake, quarantine, accounting


def test_any_batching_of_members_gives_what_member_by_member_reading_gives(tmp_path, monkeypatch):
    one_per_member = _load(tmp_path, "per-member", monkeypatch, 1, 1, member_by_member=True)
    one_per_batch = _load(tmp_path, "one-per-batch", monkeypatch, batch_lines=1, batch_members=1)
    assert one_per_batch == one_per_member
    few_per_batch = _load(tmp_path, "few", monkeypatch, batch_lines=6, batch_members=3)
    one_batch = _load(tmp_path, "one", monkeypatch, batch_lines=1_000_000, batch_members=2_000)
    assert few_per_batch == one_per_member
    assert one_batch == one_per_member
    some_on_disk = _load(tmp_path, "some-on-disk", monkeypatch, 1_000_000, 2_000, in_memory_bytes=200)
    assert some_on_disk == one_per_member

    _lake, quarantine, accounting = one_batch
    assert accounting == (25, 18, 7, ["surprise_key"], ["server_upload_time"])
    assert [(member.rsplit("_", 1)[1], line, reason) for member, line, _raw, reason in quarantine] == [
        ("1#0.json.gz", 2, "invalid JSON"),
        ("1#0.json.gz", 5, "not a JSON object"),
        ("3#0.json.gz", 2, "invalid UTF-8 at byte 12"),
        ("4#0.json.gz", 2, "invalid JSON: carriage return inside the line"),
        ("5#0.json", 2, 'unparseable event_time: "not a time"'),
        ("8#0.json.gz", 1, "invalid JSON: raw control character"),
        ("8#0.json.gz", 2, "invalid JSON: raw control character"),
    ]


def test_members_keep_their_own_line_numbers_in_member_order(tmp_path, monkeypatch):
    _lake, _quarantine, _accounting = _load(tmp_path, "order", monkeypatch, batch_lines=5, batch_members=2)
    paths = get_paths(tmp_path / "order")
    (lake_file,) = (paths.lake / "_pending" / "analytics" / "events").glob("*.parquet")
    stored = duckdb.sql(f"SELECT _source_member, _line_number, event_key FROM read_parquet('{lake_file}')").fetchall()
    assert [(member.rsplit("_", 1)[1], line, key) for member, line, key in stored] == [
        *(("0#0.json.gz", i, f"a{i}") for i in range(1, 5)),
        ("1#0.json.gz", 1, "b1"),
        ("1#0.json.gz", 4, "b4"),
        ("3#0.json.gz", 1, "d1"),
        ("3#0.json.gz", 3, "d3"),
        ("4#0.json.gz", 1, "e1"),
        ("5#0.json", 1, "f1"),
        *(("6#0.json.gz", i, f"g{i}") for i in range(1, 4)),
        ("7#0.json.gz", 1, "h1"),  # after the member's byte order mark
        ("7#0.json.gz", 3, "h3"),
        ("8#0.json.gz", 3, "i3"),
        ("9#0.json.gz", 1, "j1"),
        ("9#0.json.gz", 2, "j2"),
    ]
