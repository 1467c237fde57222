"""Feedback JSON read record by record: a Zendesk page or Delighted list split at awkward chunk boundaries loads the
same rows as the whole parse would, a bad record in the middle is quarantined at its position, and rows_in = loaded +
rejected + skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, load_config
from core.settings import DEFAULT_CONFIG_PATH, Paths, get_paths
from ingest.common import json_stream
from ingest.feedback import ingest_feedback
from ingest.feedback.detect import parse_feedback_file
from ingest.feedback.requests import parse_zendesk_tickets


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture(scope="module")
def config() -> PipelineConfig:
    return load_config(DEFAULT_CONFIG_PATH)


def _ticket(number: int, feature_request: bool = True) -> dict[str, Any]:
    return {
        "id": number,
        "subject": f"Please add export {number} — “quoted” \\ \u00e9",
        "description": f"Write to me at person{number}@example.com",
        "requester_id": 1000 + number,
        "tags": ["feature_request"] if feature_request else ["billing"],
        "via": {"channel": "email"},
        "status": "open",
        "created_at": f"2024-03-{1 + number % 28:02d}T10:00:00Z",
        "custom_fields": [],
    }


def _land(paths: Paths, name: str, document: Any) -> Path:
    target = paths.landing / "feedback" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return target


@pytest.mark.parametrize("chunk", [5, 333])
def test_a_streamed_zendesk_page_equals_its_whole_parse(
    paths: Paths, config: PipelineConfig, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", chunk)
    tickets: list[Any] = [_ticket(n, feature_request=n % 4 != 0) for n in range(1, 60)]
    tickets[10] = "not a ticket"
    tickets[20]["created_at"] = "someday"
    tickets[30]["id"] = tickets[29]["id"]  # a repeated id with different content: both quarantined
    document = {"tickets": tickets, "organizations": [], "next_page": None, "count": len(tickets)}
    path = _land(paths, "tickets.json", document)
    streamed = parse_feedback_file(path, "tickets.json", config)
    whole = parse_zendesk_tickets(tickets, "tickets.json", None, [])
    assert streamed == whole
    assert streamed.rows_in == streamed.rows_loaded + streamed.rows_rejected
    assert streamed.details["records_skipped"] == 14 and streamed.details["tickets_in_file"] == 59


def test_a_bad_record_mid_document_is_quarantined_at_its_position(
    paths: Paths, config: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 1000)
    responses: list[Any] = [
        {"id": str(n), "score": n % 11, "survey_type": "nps", "person": {"id": n}, "created_at": 1_709_000_000 + n}
        for n in range(1, 2001)
    ]
    responses[999]["score"] = 42  # record 1000
    responses[1499] = [1, 2]  # record 1500
    _land(paths, "delighted/responses.json", responses)
    report = ingest_feedback(paths, config)
    (result,) = report.results
    assert result.error is None
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (2000, 1998, 2)
    quarantine = paths.quarantine_dir / "feedback" / f"{result.sha256}.parquet"
    got = duckdb.sql(f"SELECT _record_number, reason FROM read_parquet('{quarantine}') ORDER BY 1").fetchall()
    assert [number for number, _ in got] == [1000, 1500]
    assert "42" in got[0][1] and got[1][1] == "element is a JSON list, not an object"
