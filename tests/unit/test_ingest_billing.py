"""ingest/billing: Stripe dashboard CSVs and API JSON lists for every billing object, exact minor units, the
quarantine reasons, unknown customers, no raw e-mail in the lake, the manifest, idempotency and the contracts."""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.billing import contract, ingest_billing
from ingest.common import atomic
from ingest.common.identity import email_hash
from ingest.common.manifest import read_manifest, read_manifest_record
from ingest.common.report import IngestReport

SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "billing"
IN_MINOR_UNITS = "(the API gives amounts in minor units)"
NOT_KNOWN = "not among this file's customers nor billing/customers already loaded"
RAW_EMAILS = ("alice.admin@example.com", "kenji@example.jp", "friend@example.org", "kim@example.com", "bad@example")


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


def land(paths: Paths, sample: str, name: str | None = None) -> Path:
    target = paths.landing / "billing" / (name or sample)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLES / sample, target)
    return target


def run(paths: Paths, config: PipelineConfig, **kwargs: Any) -> IngestReport:
    report = ingest_billing(paths, config, **kwargs)
    for result in report.results:  # invariant 2, on every run of every test
        assert result.rows_in == result.rows_loaded + result.rows_rejected + result.rows_skipped, result
    return report


def result_for(report: IngestReport, name: str):
    matches = [r for r in report.results if r.relative_path == f"billing/{name}"]
    assert len(matches) == 1, report.results
    return matches[0]


def rows(paths: Paths, entity: str, where: str = "true") -> list[dict[str, Any]]:
    glob = paths.lake / "_pending" / "billing" / entity / "*.parquet"
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{glob}') WHERE {where} ORDER BY _source_file, _record_number")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def by_id(paths: Paths, entity: str, id_column: str) -> dict[str, dict[str, Any]]:
    return {row[id_column]: row for row in rows(paths, entity)}


def quarantined(paths: Paths, sha256: str | None) -> list[tuple]:
    target = paths.quarantine_dir / "billing" / f"{sha256}.parquet"
    return duckdb.sql(
        f"SELECT _record_number, entity, record_key, reason FROM read_parquet('{target}') ORDER BY _record_number"
    ).fetchall()


def schema(path: Path) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]


def counts(result) -> tuple[str, str | None, int, int, int, int]:
    return (result.status, result.format, result.rows_in, result.rows_loaded, result.rows_rejected, result.rows_skipped)


# ------------------------------------------------------------------------------------------------ customers


def test_dashboard_customers_hash_emails_and_map_metadata(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "customers.csv")
    result = result_for(run(paths, config), "customers.csv")
    assert counts(result) == ("loaded", "stripe_csv", 4, 3, 1, 0)
    customers = by_id(paths, "customers", "customer_id")
    alice = customers["cus_A"]
    assert alice["email_hash"] == email_hash("alice.admin@example.com")  # trimmed, lower-cased, then hashed
    assert (alice["user_id"], alice["acquisition_channel"], alice["acquisition_campaign"]) == ("u_1", "google_ads",
                                                                                               "brand_q1")  # fmt: skip
    assert (alice["country"], alice["currency"], alice["is_deleted"]) == ("US", "usd", False)
    assert alice["created_at"] == datetime(2024, 1, 5, 9, 30) and alice["metadata"] is None
    kenji = customers["cus_J"]
    # An unmapped metadata key stays in metadata, and the e-mail in its value is replaced by its hash.
    assert kenji["metadata"] == f'{{"referrer": "email_hash:{email_hash("friend@example.org")}"}}'
    assert customers["cus_D"]["is_deleted"] is True and customers["cus_D"]["email_hash"] is None
    assert quarantined(paths, result.sha256) == [(4, "customers", "cus_BAD", "unparseable Created (UTC) 'yesterday'")]


def test_api_customers_metadata_aliases_deleted_and_foreign_objects(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "customers_api.json")
    result = result_for(run(paths, config), "customers_api.json")
    assert counts(result) == ("loaded", "stripe_api", 4, 3, 1, 0)
    assert result.notes == ["the list has more pages (has_more); land them as further files"]
    customers = by_id(paths, "customers", "customer_id")
    kim = customers["cus_K"]
    assert (kim["user_id"], kim["acquisition_channel"], kim["acquisition_campaign"]) == ("u_3", "Affiliates",
                                                                                         "partner_x")  # fmt: skip
    assert (kim["metadata"], kim["country"], kim["currency"]) == ('{"tier": "gold"}', "DE", "eur")
    assert kim["created_at"] == datetime(2024, 1, 1) and kim["email_hash"] == email_hash("kim@example.com")
    assert customers["cus_OLD"]["is_deleted"] is True and customers["cus_OLD"]["created_at"] is None
    assert quarantined(paths, result.sha256) == [(4, "customers", "ch_1", "not a billing object (object 'charge')")]


# ------------------------------------------------------------------------------------------------ subscriptions


def test_dashboard_subscriptions_minor_units_intervals_and_missing_rate(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "subscriptions.csv")
    result = result_for(run(paths, config), "subscriptions.csv")
    assert counts(result) == ("loaded", "stripe_csv", 3, 2, 1, 0)
    subs = by_id(paths, "subscriptions", "subscription_id")
    pro = subs["sub_A"]
    assert (pro["unit_amount_minor"], pro["currency"], pro["quantity"]) == (120050, "usd", 2)  # "1,200.50" USD
    assert (pro["plan_id"], pro["plan_interval"], pro["plan_interval_count"]) == ("price_pro_m", "month", 1)
    assert (pro["discount_percent_off"], pro["discount_amount_off_minor"]) == (Decimal("12.5"), None)
    assert pro["current_period_end"] == datetime(2024, 3, 5, 9, 31) and pro["cancel_at_period_end"] is False
    yen = subs["sub_J"]
    assert (yen["unit_amount_minor"], yen["currency"], yen["discount_amount_off_minor"]) == (1200, "jpy", 10)
    assert (yen["plan_interval"], yen["plan_interval_count"]) == ("month", 3)
    assert yen["trial_end"] == datetime(2024, 1, 20, 10)
    assert quarantined(paths, result.sha256) == [
        (3, "subscriptions", "sub_CHF", "no FX rate for currency CHF in finance.fx_rates")
    ]


def test_api_subscriptions_price_coupon_and_float_amount(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "subscriptions_api.json")
    result = result_for(run(paths, config), "subscriptions_api.json")
    assert counts(result) == ("loaded", "stripe_api", 2, 1, 1, 0)
    (team,) = rows(paths, "subscriptions")
    assert (team["subscription_id"], team["customer_id"], team["plan_nickname"]) == ("sub_K", "cus_K", "Team yearly")
    assert (team["unit_amount_minor"], team["currency"], team["quantity"]) == (99900, "eur", 3)
    assert (team["plan_interval"], team["plan_interval_count"]) == ("year", 1)
    assert team["discount_percent_off"] == Decimal("12.5")  # read as a Decimal, never a float
    assert team["current_period_start"] == datetime(2024, 2, 1)
    assert quarantined(paths, result.sha256) == [
        (2, "subscriptions", "sub_BAD", f"unit_amount {Decimal('12.5')!r} is not an integer {IN_MINOR_UNITS}")
    ]


# ------------------------------------------------------------------------------------------------ invoices


def test_dashboard_invoices_exact_amounts_unknown_customer_and_bad_amounts(
    paths: Paths, config: PipelineConfig
) -> None:
    land(paths, "invoices.csv")  # listed before the customer files, loaded after them
    land(paths, "customers.csv")
    land(paths, "customers_api.json")
    report = run(paths, config)
    assert [r.relative_path for r in report.results] == [
        "billing/customers.csv",
        "billing/customers_api.json",
        "billing/invoices.csv",
    ]
    result = result_for(report, "invoices.csv")
    assert counts(result) == ("loaded", "stripe_csv", 5, 2, 3, 0)
    invoices = by_id(paths, "invoices", "invoice_id")
    acme = invoices["in_A1"]
    assert (acme["total_minor"], acme["subtotal_minor"], acme["amount_paid_minor"]) == (120050, 120050, 120050)
    assert (acme["starting_balance_minor"], acme["discount_minor"], acme["currency"]) == (-1000, 0, "usd")
    assert (acme["created_at"], acme["paid_at"]) == (datetime(2024, 1, 5, 9, 31), datetime(2024, 1, 5, 9, 32))
    assert (invoices["in_J1"]["total_minor"], invoices["in_J1"]["currency"]) == (1200, "jpy")  # JPY: exponent 0
    assert quarantined(paths, result.sha256) == [
        (3, "invoices", "in_X1", f"unknown customer cus_ZZZ: {NOT_KNOWN}"),
        (4, "invoices", "in_B1", "Total: unparseable amount '12,34,5'"),
        (5, "invoices", "in_K1", "Subtotal: unparseable amount 'abc'"),
    ]


def test_invoice_customer_known_from_the_lake_in_a_later_run(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "customers_api.json")
    run(paths, config)
    land(paths, "invoices_api.json")
    result = result_for(run(paths, config), "invoices_api.json")
    assert counts(result) == ("loaded", "stripe_api", 3, 1, 2, 0)
    (invoice,) = rows(paths, "invoices")
    assert (invoice["invoice_id"], invoice["total_minor"], invoice["discount_minor"]) == ("in_K2", 47500, 2500)
    assert invoice["paid_at"] == datetime(2024, 2, 1, 1)
    lines = rows(paths, "invoice_lines")
    assert [(x["line_id"], x["amount_minor"], x["proration"], x["quantity"]) for x in lines] == [
        ("il_1", -33300, True, 1),
        ("il_2", 83300, True, 2),
    ]
    assert {(x["invoice_id"], x["plan_id"], x["plan_interval"], x["currency"]) for x in lines} == {
        ("in_K2", "price_team_y", "year", "eur")
    }
    assert result.entity_rows == {"invoices": 1, "invoice_lines": 2}
    assert quarantined(paths, result.sha256) == [
        (2, "invoices", "in_Q", f"unknown customer cus_NOPE: {NOT_KNOWN}"),
        (3, "invoices", "in_S", "no FX rate for currency SEK in finance.fx_rates"),
    ]


def test_invoice_with_no_customer_files_anywhere_is_quarantined(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "invoices_api.json")
    result = result_for(run(paths, config), "invoices_api.json")
    assert counts(result) == ("loaded", "stripe_api", 3, 0, 3, 0)
    assert [r[3].split(":")[0] for r in quarantined(paths, result.sha256)] == [
        "unknown customer cus_K",
        "unknown customer cus_NOPE",
        "no FX rate for currency SEK in finance.fx_rates",
    ]


# ------------------------------------------------------------------------------------------------ refunds


def test_refunds_and_credit_notes_from_csv_and_api(paths: Paths, config: PipelineConfig) -> None:
    for sample in ("refunds.csv", "credit_notes.csv", "refunds_api.json"):
        land(paths, sample)
    report = run(paths, config)
    assert counts(result_for(report, "refunds.csv")) == ("loaded", "stripe_csv", 3, 2, 1, 0)
    assert counts(result_for(report, "credit_notes.csv")) == ("loaded", "stripe_csv", 2, 1, 1, 0)
    assert counts(result_for(report, "refunds_api.json")) == ("loaded", "stripe_api", 2, 2, 0, 0)
    refunds = by_id(paths, "refunds", "refund_id")
    assert {k: (v["kind"], v["amount_minor"], v["currency"]) for k, v in refunds.items()} == {
        "re_1": ("refund", 120050, "usd"),
        "re_2": ("refund", 500, "jpy"),
        "cn_1": ("credit_note", 2500, "usd"),
        "re_K": ("refund", 2500, "eur"),
        "cn_K": ("credit_note", 1000, "eur"),
    }
    assert (refunds["re_1"]["invoice_id"], refunds["re_1"]["charge_id"]) == ("in_A1", "ch_1")
    assert (refunds["cn_K"]["invoice_id"], refunds["cn_K"]["customer_id"]) == ("in_K2", "cus_K")
    assert quarantined(paths, result_for(report, "refunds.csv").sha256) == [
        (3, "refunds", "re_3", "negative refund amount -500 (minor units); the amount given back is positive")
    ]
    assert quarantined(paths, result_for(report, "credit_notes.csv").sha256) == [
        (2, "refunds", "cn_2", "Amount: amount 25.001 has more decimals than USD allows (2)")
    ]


# ------------------------------------------------------------------------------------------------ file level


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "unknown layout: billing/bad.txt: the file is empty"),
        ('{"object": "list", "data": [{"object": "charge", "id": "ch_1"}]}',
         "unknown layout: billing/bad.txt: no Stripe billing objects in the list (saw 'charge' x1)"),
        ('{"hello": 1}', "unknown layout: billing/bad.txt: expected a Stripe list or object, saw an object with keys "
                         "hello"),
        ('{"object": "list", "data": [', "malformed JSON in billing/bad.txt: Expecting value at line 1 column 29"),
        ("id,Customer ID,Plan,Status\nsub_1,cus_1,p,active\n",
         "billing/bad.txt: Stripe subscriptions export without the column(s) currency"),
    ],
)  # fmt: skip
def test_file_level_failures_name_the_file_and_the_problem(paths: Paths, config: PipelineConfig, content, message):
    target = paths.landing / "billing" / "bad.txt"
    target.write_text(content, encoding="utf-8")
    result = result_for(run(paths, config), "bad.txt")
    assert result.status == "failed" and result.error is not None and result.error.startswith(message), result.error
    record = read_manifest_record(paths, "billing", result.sha256)
    assert record is not None and record["status"] == "failed" and record["rows_skipped"] is None


def test_unknown_csv_layout_names_what_was_seen(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "balance_transactions.csv")
    result = result_for(run(paths, config), "balance_transactions.csv")
    assert result.status == "failed"
    assert result.error == (
        "unknown layout: billing/balance_transactions.csv: not JSON, and the CSV header matches no Stripe export "
        "(saw 'id', 'Type', 'Source', 'Amount', 'Fee', 'Net', 'Currency', 'Created (UTC)')"
    )


# ------------------------------------------------------------------------------------------------ lake contract


def test_schemas_equal_the_contracts_and_no_raw_email_anywhere(paths: Paths, config: PipelineConfig) -> None:
    for sample in sorted(p.name for p in SAMPLES.iterdir() if p.name != "balance_transactions.csv"):
        land(paths, sample)
    report = run(paths, config)
    assert report.failed == []
    written = {path.parent.name: path for result in report.results for path in result.lake_files}
    assert set(written) == set(contract.ENTITIES)
    for entity, columns in contract.ENTITIES.items():
        assert schema(written[entity]) == list(columns), entity
        assert schema(paths.lake / "billing" / entity / "_schema.parquet") == list(columns), entity
    quarantine_files = [r.quarantine_file for r in report.results if r.quarantine_file is not None]
    assert quarantine_files and all(schema(q) == list(contract.QUARANTINE_COLUMNS) for q in quarantine_files)
    for parquet in [*written.values(), *quarantine_files, *(paths.lake / "_pending").rglob("*.parquet")]:
        dumped = str(duckdb.sql(f"SELECT * FROM read_parquet('{parquet}')").fetchall()).lower()
        assert "@" not in dumped and not any(email in dumped for email in RAW_EMAILS), parquet
    assert {r["_source_format"] for r in rows(paths, "customers")} == {"stripe_csv", "stripe_api"}
    totals = report.totals
    assert totals["rows_in"] == totals["rows_loaded"] + totals["rows_rejected"] + totals["rows_skipped"]
    assert totals["rows_skipped"] == 0


def test_same_bytes_load_once_and_rerun_writes_nothing(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "customers.csv")
    land(paths, "customers.csv", "later/customers-again.csv")
    first = run(paths, config)
    assert [r.status for r in first.results] == ["loaded", "skipped_duplicate"]
    record = read_manifest_record(paths, "billing", first.results[0].sha256)
    assert record is not None
    assert (record["rows_in"], record["rows_loaded"], record["rows_rejected"], record["rows_skipped"]) == (4, 3, 1, 0)
    assert record["aliases"] == ["billing/later/customers-again.csv"]
    assert record["lake_file"] == f"billing/customers/{first.results[0].sha256}.parquet"
    snapshot = {p: p.stat().st_mtime_ns for p in paths.lake.rglob("*") if p.is_file()}
    second = run(paths, config)
    assert [r.status for r in second.results] == ["already_loaded", "skipped_duplicate"]
    assert second.new_lake_files == []
    assert {p: p.stat().st_mtime_ns for p in paths.lake.rglob("*") if p.is_file()} == snapshot


def test_a_crash_while_writing_leaves_no_partial_file_and_the_rerun_loads(
    paths: Paths, config: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    land(paths, "customers_api.json")
    source = land(paths, "invoices_api.json")
    run(paths, config)
    (paths.landing / "billing" / "invoices_api.json").unlink()
    source = land(paths, "invoices_api.json", "again/invoices.json")
    # Make the same invoice file new bytes so it loads again, then kill the run while writing its lines.
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    real_replace = atomic._replace

    def crash_on_lines(src: Path, dst: Path) -> None:
        if dst.parent.name == "invoice_lines":
            raise KeyboardInterrupt("killed")
        real_replace(src, dst)

    monkeypatch.setattr(atomic, "_replace", crash_on_lines)
    before = sorted(p.name for p in (paths.lake / "_pending" / "billing" / "invoice_lines").iterdir())
    with pytest.raises(KeyboardInterrupt):
        ingest_billing(paths, config, files=[source])
    assert sorted(p.name for p in (paths.lake / "_pending" / "billing" / "invoice_lines").iterdir()) == before
    assert len(read_manifest(paths, "billing")) == 2  # the killed file is not recorded
    monkeypatch.setattr(atomic, "_replace", real_replace)

    lines: list[str] = []
    result = result_for(run(paths, config, files=[source], log=lines.append), "again/invoices.json")
    assert (result.status, result.entity_rows) == ("loaded", {"invoices": 1, "invoice_lines": 2})
    assert lines == [result.describe()] and lines[0].startswith("billing: loaded billing/again/invoices.json")
