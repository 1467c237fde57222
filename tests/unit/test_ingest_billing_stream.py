"""Stripe API JSON read record by record (ingest/common/json_stream.py): the same records, errors and positions as
parsing the whole document, at any chunk boundary; a bad record in the middle of a long list is quarantined with its
position; rows_in = loaded + rejected."""

from __future__ import annotations

import json
import random
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.billing import ingest_billing
from ingest.billing.stripe import BillingContext, parse_stripe_api, parse_stripe_api_file
from ingest.common import json_stream
from ingest.common.errors import MalformedFileError
from ingest.common.json_stream import JsonStream, check_utf8
from ingest.common.text import decode_text, load_json

SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "billing"
DOCUMENT = (
    '{\n "object": "list",\n "data": [\n  {"id": "a", "n": 12345, "x": 1.25e3, "s": "h\\u00e9\\"llo", "t": true,'
    ' "nested": {"l": [1, null, -0.5]}},\n  {"id": "b", "n": -7, "big": 123456789012345678901234567890}\n , 42, "z",'
    ' [1,2], -Infinity],\n "has_more": false, "url": "/v1/x"\n}\n'
)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture
def config() -> PipelineConfig:
    raw = {
        "analytics": {"mixpanel_project_timezone": "UTC"},
        "finance": {"reporting_currency": "USD", "fx_rates": {"USD": "1", "EUR": "1.0850", "JPY": "0.0067"}},
    }
    return parse_config(raw, Path("test-pmw.yml"))


def _walk(stream: JsonStream) -> Any:
    kind = stream.kind()
    if kind == "object":
        return {key: _walk(stream) for key in stream.members()}
    if kind == "array":
        return list(stream.items())
    return stream.value()


def _streamed(path: Path, chunk: int) -> tuple[str, Any]:
    try:
        with JsonStream(path, "f.json", chunk_chars=chunk) as stream:
            value = _walk(stream)
            stream.finish()
        return "ok", value
    except MalformedFileError as exc:
        return "error", str(exc)


def _whole(text: str) -> tuple[str, Any]:
    try:
        return "ok", load_json(text, "f.json")
    except MalformedFileError as exc:
        return "error", str(exc)


def _variants() -> list[str]:
    variants = [DOCUMENT[:cut] for cut in range(1, len(DOCUMENT) + 1)]  # cut everywhere, also inside tokens
    variants += [
        DOCUMENT.replace(", 42", ", 42 43"),  # a missing comma
        DOCUMENT.replace("[1,2]", "[1,2,]"),  # a trailing comma
        DOCUMENT.replace('"has_more"', "has_more"),  # an unquoted key
        DOCUMENT.replace('"has_more":', '"has_more"'),  # no colon
        DOCUMENT.replace("true", "tru"),
        DOCUMENT + "x",  # extra data
    ]
    rng = random.Random(13)
    for _ in range(150):  # one character replaced by a structural one, anywhere
        at = rng.randrange(len(DOCUMENT))
        variants.append(DOCUMENT[:at] + rng.choice(',:[]{}"x1 ') + DOCUMENT[at + 1 :])
    return [v for v in variants if v.strip()]


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
def test_a_streamed_document_equals_the_whole_parse_at_any_chunk_boundary(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "f.json"
    for text in _variants():
        path.write_text(text, encoding="utf-8")
        assert _streamed(path, chunk) == _whole(text), text


def test_a_value_larger_than_the_limit_is_refused_not_held(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"id": "x" * 5000}, 1]), encoding="utf-8")
    with (
        JsonStream(path, "big.json", chunk_chars=64, max_value_chars=1024) as stream,
        pytest.raises(MalformedFileError, match=r"big.json: a JSON value at char 1 is larger than"),
    ):
        list(stream.items())


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_the_chunked_utf8_check_reports_what_decoding_the_whole_file_does(tmp_path: Path, bom: bytes, chunk: int):
    path = tmp_path / "f.json"
    for data in (bom + '["é", "ü"]'.encode() + b"\xff]", bom + b'["\xc3', bom + '["€'.encode()[:-1] + b'x"]'):
        path.write_bytes(data)
        with pytest.raises(MalformedFileError) as whole:
            decode_text(data, "f.json")
        with pytest.raises(MalformedFileError) as chunked:
            check_utf8(path, "f.json", chunk_bytes=chunk)
        assert str(chunked.value) == str(whole.value)


def _invoice(number: int, customer: str) -> dict[str, Any]:
    return {
        "id": f"in_{number:06d}",
        "object": "invoice",
        "customer": customer,
        "currency": "usd",
        "total": 1000 + number,
        "amount_paid": 1000 + number,
        "status": "paid",
        "created": 1_704_067_200 + number,
        "lines": {"object": "list", "data": [{"id": f"il_{number}", "amount": 1000 + number, "currency": "usd"}]},
    }


def test_stream_and_whole_document_give_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Customers after the invoices naming them, foreign and malformed objects, duplicate "data" members (the
    last counts, as in json.loads), has_more: rows, quarantine, notes, drift and counts are the same."""
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 97)
    records: list[Any] = [_invoice(n, f"cus_{n % 3}") for n in range(1, 40)]
    records[5]["total"] = "12.5"
    records[9] = 42
    records[11] = {"object": "charge", "id": "ch_1"}
    records[20]["lines"] = "oops"
    records += [{"id": f"cus_{n}", "object": "customer", "email": f"c{n}@example.com", "created": 1} for n in range(3)]
    document = {"object": "list", "data": [_invoice(0, "cus_0")], "url": "/v1/invoices", "has_more": True}
    text = json.dumps(document, indent=1)[:-2] + ',\n "data": ' + json.dumps(records, indent=2) + "\n}"
    path = tmp_path / "invoices.json"
    path.write_text(text, encoding="utf-8")

    def context() -> BillingContext:
        return BillingContext(fx_currencies=frozenset({"USD"}), known_customers=set())

    streamed = parse_stripe_api_file(path, "invoices.json", context())
    whole = parse_stripe_api(load_json(text, "invoices.json"), "invoices.json", context())
    assert streamed == whole
    assert (streamed.rows_in, streamed.rows_loaded, streamed.rows_rejected) == (42, 38, 4)
    assert [q["_record_number"] for q in streamed.quarantine] == [6, 10, 12, 21]


def test_a_bad_record_in_the_middle_of_a_long_list_is_quarantined_at_its_position(
    paths: Paths, config: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 4096)  # hundreds of chunk boundaries inside records
    target = paths.landing / "billing" / "customers_api.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLES / "customers_api.json", target)
    customers = [c["id"] for c in json.loads(target.read_text())["data"] if c.get("object") == "customer" and "id" in c]
    invoices: list[Any] = [_invoice(n, customers[n % len(customers)]) for n in range(1, 3001)]
    invoices[1499]["currency"] = "zzz"  # record 1500
    invoices[2222]["created"] = "yesterday"  # record 2223
    invoices[2999]["total"] = Decimal("1.5")  # record 3000, the last
    (paths.landing / "billing" / "invoices.json").write_text(
        json.dumps({"object": "list", "data": invoices}, indent=2, default=str), encoding="utf-8"
    )
    report = ingest_billing(paths, config)
    (invoice_result,) = [r for r in report.results if r.relative_path == "billing/invoices.json"]
    assert invoice_result.error is None
    assert (invoice_result.rows_in, invoice_result.rows_loaded, invoice_result.rows_rejected) == (3000, 2997, 3)
    for result in report.results:
        assert result.rows_in == result.rows_loaded + result.rows_rejected + result.rows_skipped
    quarantine = paths.quarantine_dir / "billing" / f"{invoice_result.sha256}.parquet"
    got = duckdb.sql(
        f"SELECT _record_number, record_key, reason FROM read_parquet('{quarantine}') ORDER BY 1"
    ).fetchall()
    assert got == [
        (1500, "in_001500", "no FX rate for currency ZZZ in finance.fx_rates"),
        (2223, "in_002223", "created 'yesterday' is not an epoch-seconds timestamp"),
        (3000, "in_003000", "total '1.5' is not an integer (the API gives amounts in minor units)"),
    ]
    loaded = paths.lake / "_pending" / "billing" / "invoices" / f"{invoice_result.sha256}.parquet"
    numbers = [r[0] for r in duckdb.sql(f"SELECT _record_number FROM read_parquet('{loaded}')").fetchall()]
    assert numbers == [n for n in range(1, 3001) if n not in (1500, 2223, 3000)]
