"""Fault injection, one fault per rule of issue 11: a row-level fault stays row-level (the file loads, the row is
quarantined with its line and reason, every line counted), messages name the landed file, and schema drift is
reported the same way for every source. Small self-contained fixtures: the shared tests/faults sample is not needed.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.analytics import ingest_analytics
from ingest.billing import ingest_billing
from ingest.common.manifest import read_manifest_record
from ingest.marketing import ingest_marketing
from pmw.summary import build_summary, format_summary

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture
def config() -> PipelineConfig:
    raw = {
        "analytics": {"mixpanel_project_timezone": "UTC"},
        "finance": {"reporting_currency": "USD", "fx_rates": {"USD": "1", "EUR": "1.0850", "JPY": "0.0067"}},
    }
    return parse_config(raw, Path("faults-pmw.yml"))


def _land(paths: Paths, name: str, data: bytes) -> None:
    target = paths.landing / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _event(uuid: str, **fields) -> bytes:
    return json.dumps({"uuid": uuid, "event_type": "x", "event_time": "2024-03-05 09:00:00"} | fields).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _reasons(paths: Paths, source: str, sha256: str) -> list[tuple]:
    target = paths.quarantine_dir / source / f"{sha256}.parquet"
    number = "_line_number" if source == "analytics" else "_record_number"
    return duckdb.sql(f"SELECT {number}, reason FROM read_parquet('{target}') ORDER BY {number}").fetchall()


def test_fault_one_huge_line_in_a_zip_member_is_one_quarantined_row(paths, config):
    huge = _event("huge", event_properties={"blob": "z" * (40 << 20)})
    member = gzip.compress(b"\n".join([_event("a"), huge, _event("b")]) + b"\n", compresslevel=1)
    _land(paths, "analytics/export.zip", _zip({"1/1_2024-03-05_9#0.json.gz": member}))

    (result,) = ingest_analytics(paths, config).results

    assert (result.status, result.rows_in, result.rows_loaded, result.rows_rejected) == ("loaded", 3, 2, 1)
    ((line, reason),) = _reasons(paths, "analytics", result.sha256)
    assert line == 2 and reason.startswith("line too long: ")


def test_fault_an_overflowing_stripe_api_amount_quarantines_its_object_only(paths, config):
    invoices = json.loads((FIXTURES / "billing" / "invoices_api.json").read_text(encoding="utf-8"))
    invoices["data"][0]["total"] = 10**20
    _land(paths, "billing/customers_api.json", (FIXTURES / "billing" / "customers_api.json").read_bytes())
    _land(paths, "billing/invoices_api.json", json.dumps(invoices).encode())

    results = {r.relative_path: r for r in ingest_billing(paths, config).results}

    result = results["billing/invoices_api.json"]
    assert result.status == "loaded" and result.rows_in == result.rows_loaded + result.rows_rejected
    assert (1, f"total {10**20} is out of range (a 64-bit integer column holds up to {2**63 - 1})") in _reasons(
        paths, "billing", result.sha256
    )


def test_fault_a_corrupt_member_fails_naming_the_landed_file_never_a_temp_path(paths, config):
    _land(paths, "analytics/broken.zip", _zip({"1/1_2024-03-05_9#0.json.gz": gzip.compress(_event("a"))[:-12]}))

    (result,) = ingest_analytics(paths, config).results

    assert result.status == "failed"
    assert "analytics/broken.zip" in result.error and "_tmp" not in result.error
    assert "_tmp" not in read_manifest_record(paths, "analytics", result.sha256)["error"]


def test_fault_new_columns_load_and_are_listed_alike_for_every_source(paths, config):
    _land(paths, "analytics/tracks.csv", b"id,event,timestamp,user_id,shoe_size\ne1,x,2024-03-05T09:00:00Z,u1,42\n")
    spend = b"date,channel,campaign,spend,currency,agency\n2024-01-01,Events,booth,10,USD,acme\n"
    _land(paths, "marketing/plain.csv", spend)

    (segment,) = ingest_analytics(paths, config).results
    (marketing,) = ingest_marketing(paths, config).results

    assert segment.status == marketing.status == "loaded"
    assert (segment.rows_loaded, marketing.rows_loaded) == (1, 1)
    assert segment.unknown_columns == ["shoe_size"] and marketing.unknown_columns == ["agency"]
    summary = format_summary(build_summary(paths))
    assert "columns not read (not loaded) in analytics/tracks.csv: shoe_size" in summary
    assert "columns not read (not loaded) in marketing/plain.csv: agency" in summary


def test_fault_a_missing_required_column_fails_the_file_naming_what_was_looked_for(paths, config):
    _land(paths, "analytics/tracks.csv", b"id,event,user_id\ne1,x,u1\n")

    (result,) = ingest_analytics(paths, config).results

    assert result.status == "failed"
    assert result.error == "unexpected column set in analytics/tracks.csv: missing required column(s) timestamp"


def test_fault_unknown_revenue_stays_null_in_the_lake(paths, config):
    lines = [
        _event("paid", event_properties={"$revenue": "9.99"}),
        _event("free"),
        _event("null", event_properties={"$revenue": None}),
    ]
    _land(paths, "analytics/revenue.jsonl", b"\n".join(lines) + b"\n")

    (result,) = ingest_analytics(paths, config).results

    rows = duckdb.sql(f"SELECT event_key, revenue FROM read_parquet('{result.lake_file}') ORDER BY _line_number")
    assert [(key, None if value is None else str(value)) for key, value in rows.fetchall()] == [
        ("paid", "9.990000"),
        ("free", None),
        ("null", None),
    ]
