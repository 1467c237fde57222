"""The raw marketing spend gate: a good export passes; each kind of bad row fails exactly its rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES, GateResult, validate_relation
from ingest.marketing.contract import SPEND_COLUMNS

GATE = GATES["raw_marketing_spend"]
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({"finance": {"fx_rates": {"USD": "1", "EUR": "1.0850"}}}, Path("test-pmw.yml"))


def good_spend(count: int) -> list[dict[str, Any]]:
    return [
        {
            "spend_date": dt.date(2024, 5, 1) + dt.timedelta(days=number),
            "vendor": ("google_ads", "meta_ads")[number % 2],
            "channel": ("paid_search", "paid_social")[number % 2],
            "campaign_id": f"c{number % 3}",
            "campaign": f"campaign {number % 3}",
            "spend": Decimal("12.345678") * number,
            "currency": ("USD", "EUR")[number % 2],
            "impressions": 1_000 * number,
            "clicks": 10 * number,
            "_source_file": "marketing/spend.csv",
            "_source_format": "generic_csv",
            "_record_number": number + 1,
            "_file_sha256": "c" * 64,
            "_ingested_at": dt.datetime(2024, 5, 31),
        }
        for number in range(count)
    ]


def validate(rows: list[dict[str, Any]], config: PipelineConfig) -> GateResult:
    with duckdb.connect() as con:
        con.execute(f"create table spend ({', '.join(f'{c} {t}' for c, t in SPEND_COLUMNS)})")
        for row in rows:
            con.execute(
                f"insert into spend values ({', '.join('?' for _ in SPEND_COLUMNS)})",
                [row.get(c) for c, _ in SPEND_COLUMNS],
            )
        return validate_relation(con, "spend", GATE, config=config, now=NOW)


def failed_rules(result: GateResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.check, r.expectation_type, r.columns) for r in result.results if not r.success}


def test_a_good_export_passes_every_rule(config):
    result = validate(good_spend(20), config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()


def test_a_credit_passes(config):
    # A negative amount is a credit or adjustment (netted per channel and month in fct_cac), not a bad row.
    rows = good_spend(5)
    rows[3]["spend"] = Decimal("-4.20")

    result = validate(rows, config)

    assert result.success, result.summary()


def test_a_currency_without_a_rate_fails(config):
    rows = good_spend(5)
    rows[1]["currency"] = "SEK"

    result = validate(rows, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_in_set", ("currency",))}


def test_a_future_spend_date_fails(config):
    rows = good_spend(5)
    rows[2]["spend_date"] = dt.date(2024, 7, 1)  # day and month swapped somewhere

    result = validate(rows, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_be_between", ("spend_date",))}


def test_a_missing_date_fails(config):
    rows = good_spend(5)
    rows[0]["spend_date"] = None

    result = validate(rows, config)

    assert failed_rules(result) == {("row", "expect_column_values_to_not_be_null", ("spend_date",))}
