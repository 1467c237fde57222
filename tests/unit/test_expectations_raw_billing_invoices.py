"""The raw billing invoices gate: a good export passes; each kind of bad row fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_parquet_files, validate_relation
from ingest.billing.contract import INVOICE_COLUMNS

GATE = GATES["raw_billing_invoices"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({"finance": {"fx_rates": {"USD": "1", "EUR": "1.0850"}}}, Path("test-pmw.yml"))


def good_invoices(count: int) -> list[dict[str, Any]]:
    rows = []
    for number in range(count):
        subtotal, discount, tax = 10_000 + 100 * number, 500 * (number % 2), 1_900
        rows.append(
            {
                "invoice_id": f"in_{number}",
                "customer_id": f"cus_{number % 4}",
                "subscription_id": f"sub_{number % 4}",
                "status": ("paid", "open", "void")[number % 3],
                "billing_reason": "subscription_cycle",
                "currency": ("usd", "eur")[number % 2],
                "subtotal_minor": subtotal,
                "discount_minor": discount,
                "tax_minor": tax,
                "total_minor": subtotal - discount + tax,
                "amount_paid_minor": subtotal - discount + tax,
                "starting_balance_minor": 0,
                "period_start": dt.datetime(2024, 1, 1),
                "period_end": dt.datetime(2024, 2, 1),
                "created_at": dt.datetime(2024, 1, 1) + dt.timedelta(days=number),
                "paid_at": dt.datetime(2024, 1, 2) + dt.timedelta(days=number),
                "_source_file": "billing/invoices.json",
                "_source_format": "stripe_api",
                "_record_number": number + 1,
                "_file_sha256": "b" * 64,
                "_ingested_at": dt.datetime(2024, 5, 1),
            }
        )
    return rows


def load(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], table: str = "invoices", columns=None) -> str:
    columns = columns or INVOICE_COLUMNS
    con.execute(f"create or replace table {table} ({', '.join(f'{c} {t}' for c, t in columns)})")
    for row in rows:
        con.execute(f"insert into {table} values ({', '.join('?' for _ in columns)})", [row.get(c) for c, _ in columns])
    return table


def validate(rows: list[dict[str, Any]], config: PipelineConfig, columns=None) -> GateResult:
    with duckdb.connect() as con:
        return validate_relation(con, load(con, rows, columns=columns), GATE, config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def test_a_good_export_passes_every_rule(config):
    result = validate(good_invoices(20), config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    suite_rules = len(GATE.build_suite(config, now=NOW).expectations)
    # + 1: the runner's per-file contract types rule (Gate.contract)
    assert len(result.results) == suite_rules + len(GATE.derived_checks(config)) + 1


def test_a_currency_without_a_rate_fails(config):
    rows = good_invoices(6)
    rows[2]["currency"] = "gbp"

    result = validate(rows, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_in_set", ("currency",))}
    assert result.failed_errors[0].unexpected_examples == ["gbp"]


def test_missing_ids_and_a_future_invoice_fail(config):
    rows = good_invoices(6)
    rows[0]["invoice_id"] = None
    rows[1]["customer_id"] = None
    rows[3]["created_at"] = NOW + dt.timedelta(days=5)

    result = validate(rows, config)

    assert failed_rules(result) == {
        ("row", "expect_column_values_to_not_be_null", ("invoice_id",)),
        ("row", "expect_column_values_to_not_be_null", ("customer_id",)),
        ("row", "expect_column_values_to_be_between", ("created_at",)),
    }


def test_a_total_that_does_not_add_up_fails(config):
    rows = good_invoices(6)
    rows[4]["total_minor"] += 1
    rows[5]["tax_minor"] = None  # not all parts present: not judged

    result = validate(rows, config)

    assert failed_rules(result) == {("total_is_subtotal_less_discount_plus_tax", "expect_table_row_count_to_equal", ())}
    assert result.failed_errors[0].unexpected_count == 1


def test_fractional_amounts_fail(config):
    columns = [(c, "DECIMAL(18,2)" if c == "total_minor" else t) for c, t in INVOICE_COLUMNS]
    rows = good_invoices(4)
    rows[1]["total_minor"] = 118.5  # major units with a fraction: not minor units
    rows[1]["subtotal_minor"], rows[1]["discount_minor"], rows[1]["tax_minor"] = None, None, None

    result = validate(rows, config, columns=columns)

    assert failed_rules(result) == {
        ("amounts_are_integer_minor_units", "expect_table_row_count_to_equal", ()),
        ("column_types_match_contract", "expect_table_row_count_to_equal", ()),  # DECIMAL where BIGINT is due
    }


def test_lake_files_are_validated_as_one_relation(config, tmp_path):
    files = []
    with duckdb.connect() as con:
        for number, rows in enumerate((good_invoices(3), good_invoices(5)[3:])):
            table = load(con, rows, f"invoices_{number}")
            path = tmp_path / f"invoices_{number}.parquet"
            con.execute(f"copy {table} to '{path}' (format parquet)")
            files.append(path)

    result = validate_parquet_files(files, GATE, config=config, now=NOW)

    assert result.success, result.summary()
    assert result.rows_validated == 5


def test_a_negative_subtotal_fails_unless_it_is_a_proration_credit(config):
    rows = good_invoices(6)
    for row in rows[4:]:
        # A downgrade whose unused-time credit exceeds the new plan's charge: Stripe bills nothing and credits the
        # customer balance (the sample's proration invoices do this).
        row.update(subtotal_minor=-12_741, discount_minor=0, tax_minor=0, total_minor=-12_741, amount_paid_minor=0)
    rows[5]["billing_reason"] = "subscription_update"

    result = validate(rows, config)

    assert failed_rules(result) == {("negative_subtotal_only_on_proration", "expect_table_row_count_to_equal", ())}
    assert result.failed_errors[0].unexpected_count == 1
