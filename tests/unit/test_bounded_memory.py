"""What keeps a run's memory flat in the data size, checked on tiny inputs with tiny bounds (bench/bench_memory.py
measures the real thing): a gate hands GX frames of at most ``slice_rows`` rows, whichever rule reads them; a Stripe
dashboard CSV reaches the row writer record by record without being read whole; and the row writer writes every
row of a list longer than its batch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from expectations import DerivedCheck, Gate, rule_meta, validate_parquet_files
from expectations.runner import E_ROW_COUNT_ZERO, _SliceValidator
from ingest.billing import ingest_billing
from ingest.billing import stripe as stripe_module
from ingest.billing.stripe import BillingContext, parse_stripe_file
from ingest.common import row_writer
from ingest.marketing import ingest_marketing

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
NOW = dt.datetime(2024, 6, 1)
E = gx.expectations


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture
def config() -> PipelineConfig:
    raw = {
        "analytics": {"known_events": ["signed_up"]},
        "finance": {"reporting_currency": "USD", "fx_rates": {"USD": "1", "EUR": "1.0850", "JPY": "0.0067"}},
    }
    return parse_config(raw, Path("test-pmw.yml"))


def _rows(parquet: Path) -> int:
    with duckdb.connect() as con:
        return con.execute("select count(*) from read_parquet(?)", [str(parquet)]).fetchone()[0]


# --- the gates: every frame GX sees is a bounded slice ---------------------------------------------------------


def _orders_file(directory: Path, rows: int, bad_rows: int) -> Path:
    path = directory / f"{'b' * 64}.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""copy (
                    select range as order_id, cast(case when range < {bad_rows} then -1.0 else 1.5 end as double)
                               as amount,
                           '{"b" * 64}' as _file_sha256, 'orders/b.csv' as _source_file, range + 1 as _record_number
                    from range({rows})
                ) to '{path}' (format parquet)"""
        )
    return path


def test_every_frame_a_gate_hands_gx_is_at_most_slice_rows(config, tmp_path, monkeypatch):
    """Row rules, the re-judging that names a failing slice's files, and a derived check whose violating rows
    outnumber a slice: none may give GX more than slice_rows rows, or a gate's memory grows with the table."""
    frames: list[int] = []
    validate = _SliceValidator._validate

    def recording(self, frame, suite, result_format):
        frames.append(len(frame))
        return validate(self, frame, suite, result_format)

    monkeypatch.setattr(_SliceValidator, "_validate", recording)
    negative = DerivedCheck(
        name="negative_amounts",
        sql="select order_id, amount, _file_sha256, _source_file from {relation} where amount < 0",
        expectation=E_ROW_COUNT_ZERO,
        severity="error",
        why="no negative amounts",
    )
    rule = E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, meta=rule_meta("error", "no negative"))
    gate = Gate(
        name="orders",
        target="a test table",
        build_suite=lambda config, *, now: gx.ExpectationSuite(name="orders", expectations=[rule]),
        derived_checks=lambda config: [negative],
    )

    result = validate_parquet_files(
        [_orders_file(tmp_path, 500, bad_rows=120)], gate, config=config, now=NOW, slice_rows=32
    )

    assert max(frames) <= 32
    assert sum(frames) >= 500 + 120  # every row judged, and every violating row of the derived check
    assert result.slices >= 500 // 32
    assert [r.unexpected_count for r in result.results] == [120, 120]
    ((_, count),) = [(f["file_sha256"], r["unexpected_count"]) for f in result.failing_files() for r in f["rules"]][:1]
    assert count == 120


# --- billing: a dashboard CSV streams into the row writer -------------------------------------------------------


class RecordingStage:
    """What a parser hands the ingest loop's RowStage, and the largest list it handed over at once."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.rejected: list[dict[str, Any]] = []
        self.largest = 0

    def add(self, entity: str, rows: list[dict[str, Any]]) -> None:
        self.largest = max(self.largest, len(rows))
        self.rows.setdefault(entity, []).extend(rows)

    def reject(self, row: dict[str, Any]) -> None:
        self.rejected.append(row)


def _many_invoices(path: Path, copies: int) -> Path:
    header, *rows = (FIXTURES / "billing" / "invoices.csv").read_text(encoding="utf-8").splitlines()
    body = [row.replace("in_", f"in_{n}_", 1) for n in range(copies) for row in rows]
    path.write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    return path


def test_a_stripe_csv_reaches_the_stage_record_by_record_without_being_read_whole(tmp_path, monkeypatch):
    csv_path = _many_invoices(tmp_path / "invoices.csv", copies=20)
    context = BillingContext(fx_currencies=frozenset({"USD", "EUR", "JPY"}), known_customers={"cus_A", "cus_J"})
    whole = parse_stripe_file(csv_path, "billing/invoices.csv", context)

    def read_whole(*_args):
        raise AssertionError("a Stripe CSV was decoded whole")

    monkeypatch.setattr(stripe_module, "decode_text", read_whole)
    stage = RecordingStage()
    streamed = parse_stripe_file(csv_path, "billing/invoices.csv", context, stage)  # type: ignore[arg-type]

    assert stage.largest == 1
    assert all(rows == [] for rows in streamed.entities.values()) and streamed.quarantine == []
    assert stage.rows == {entity: rows for entity, rows in whole.entities.items() if rows}
    assert stage.rejected == whole.quarantine
    assert (streamed.rows_in, streamed.rows_loaded, streamed.rows_rejected) == (
        whole.rows_in,
        whole.rows_loaded,
        whole.rows_rejected,
    )
    assert whole.rows_loaded >= 20


def test_a_stripe_csv_that_is_not_utf8_still_names_its_first_bad_byte(tmp_path):
    header = (FIXTURES / "billing" / "invoices.csv").read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "invoices.csv"
    path.write_bytes(header.encode() + b"\nin_1,A-1,cus_A,\xff\n")
    context = BillingContext(fx_currencies=frozenset({"USD"}), known_customers={"cus_A"})

    with pytest.raises(Exception, match=rf"is not UTF-8 text: byte {len(header) + 16} \(0xff\)"):
        parse_stripe_file(path, "billing/invoices.csv", context, RecordingStage())  # type: ignore[arg-type]


def test_customers_streamed_from_a_csv_are_known_to_the_invoices_landed_with_them(paths, config, monkeypatch):
    monkeypatch.setattr(row_writer, "BATCH_ROWS", 2)
    for name in ("customers.csv", "invoices.csv"):
        target = paths.landing / "billing" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((FIXTURES / "billing" / name).read_bytes())

    report = ingest_billing(paths, config)

    by_name = {Path(r.path).name: r for r in report.results}
    assert all(r.status == "loaded" for r in by_name.values()), [r.error for r in report.results]
    customers, invoices = by_name["customers.csv"], by_name["invoices.csv"]
    pending = paths.lake / "_pending" / "billing"
    assert _rows(pending / "customers" / f"{customers.sha256}.parquet") == customers.rows_loaded == 3
    # both invoices belong to customers of the CSV loaded just before them in this run
    assert _rows(pending / "invoices" / f"{invoices.sha256}.parquet") == invoices.rows_loaded == 2


# --- the row writer: a list longer than a batch is written whole ------------------------------------------------


def test_a_parsed_list_longer_than_a_batch_is_written_whole(paths, config, monkeypatch):
    """Parsers of whole documents (marketing, Jira) hand the writer one list per entity; each batch boundary inside
    it must start a new batch, not drop the rows after it."""
    monkeypatch.setattr(row_writer, "BATCH_ROWS", 5)
    rows = "".join(f"2024-01-{day:02d},Events,booth,10,USD,3\n" for day in range(1, 13))
    target = paths.landing / "marketing" / "plain.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("date,channel,campaign,spend,currency,clicks\n" + rows, encoding="utf-8")

    (result,) = ingest_marketing(paths, config).results

    assert result.status == "loaded" and result.rows_loaded == 12
    pending = paths.lake / "_pending" / "marketing" / "spend" / f"{result.sha256}.parquet"
    assert _rows(pending) == 12
