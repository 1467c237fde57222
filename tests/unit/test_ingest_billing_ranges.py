"""ingest/billing: an integer beyond its contract column (a 20-digit Stripe amount, a 2^40 quantity) is that row's
quarantine reason; the rest of the file still loads (it used to fail the whole file with an OverflowError)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.billing import ingest_billing
from ingest.billing.values import RowError, api_integer, csv_integer, csv_minor

SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "billing"
HUGE_AMOUNT = "99999999999999999999.00"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture
def config() -> PipelineConfig:
    raw = {"finance": {"reporting_currency": "USD", "fx_rates": {"USD": "1", "EUR": "1.0850", "JPY": "0.0067"}}}
    return parse_config(raw, Path("test-pmw.yml"))


def _land_customers(paths: Paths) -> None:
    for name in ("customers.csv", "customers_api.json"):
        target = paths.landing / "billing" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / name, target)


def _quarantine(paths: Paths, sha256: str) -> list[tuple]:
    target = paths.quarantine_dir / "billing" / f"{sha256}.parquet"
    return duckdb.sql(f"select record_key, reason from read_parquet('{target}') order by _record_number").fetchall()


def test_a_dashboard_amount_beyond_bigint_quarantines_only_its_row(paths, config):
    _land_customers(paths)
    header, acme, kenji, *_ = (SAMPLES / "invoices.csv").read_text(encoding="utf-8").splitlines()
    huge = acme.replace("in_A1", "in_HUGE").replace('"1,200.50"', HUGE_AMOUNT)
    (paths.landing / "billing" / "invoices.csv").write_text("\n".join([header, acme, huge, kenji]) + "\n")

    report = ingest_billing(paths, config)

    (result,) = [r for r in report.results if r.relative_path == "billing/invoices.csv"]
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_rejected) == ("loaded", 3, 2, 1)
    ((key, reason),) = _quarantine(paths, result.sha256)
    assert key == "in_HUGE"
    assert "9999999999999999999900 is out of range" in reason and "64-bit" in reason


def test_an_api_quantity_beyond_integer_quarantines_only_its_row(paths, config):
    _land_customers(paths)
    document = json.loads((SAMPLES / "subscriptions_api.json").read_text(encoding="utf-8"))
    good = next(s for s in document["data"] if s["id"] == "sub_K")
    document["data"].append(json.loads(json.dumps(good).replace("sub_K", "sub_HUGE")) | {"quantity": 2**40})
    (paths.landing / "billing" / "subscriptions_api.json").write_text(json.dumps(document), encoding="utf-8")

    report = ingest_billing(paths, config)

    (result,) = [r for r in report.results if r.relative_path == "billing/subscriptions_api.json"]
    assert result.status == "loaded" and result.rows_loaded == 1
    reasons = dict(_quarantine(paths, result.sha256))
    assert "32-bit" in reasons["sub_HUGE"] and str(2**40) in reasons["sub_HUGE"]


@pytest.mark.parametrize(
    ("parse", "value"),
    [
        (lambda v: api_integer(v, "amount"), 2**63),
        (lambda v: api_integer(v, "amount"), str(-(2**63) - 1)),
        (lambda v: api_integer(v, "quantity", 32), 2**31),
        (lambda v: csv_integer(v, "Quantity", 32), "2,147,483,648"),
        (lambda v: csv_minor(v, "usd", "Total"), HUGE_AMOUNT),
    ],
)
def test_values_outside_their_column_are_row_errors(parse, value):
    with pytest.raises(RowError, match="out of range"):
        parse(value)


def test_the_column_limits_themselves_load():
    assert api_integer(2**63 - 1, "amount") == 2**63 - 1
    assert api_integer(-(2**63), "amount") == -(2**63)
    assert api_integer(2**31 - 1, "quantity", 32) == 2**31 - 1
    assert csv_minor("92233720368547758.07", "usd", "Total") == 2**63 - 1
