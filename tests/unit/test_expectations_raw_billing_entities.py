"""The raw gates of billing customers, subscriptions, invoice lines and refunds: a good export passes every rule;
each kind of bad row fails exactly its rule (a customer created in year 9999 among them)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from core.config import PipelineConfig, parse_config
from expectations import GATES
from tests.support.lake_gates import NOW, failed_rules, lineage, validate_rows

BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
NOT_NULL = "expect_column_values_to_not_be_null"
REGEX = "expect_column_values_to_match_regex"
PAIR = "expect_column_pair_values_a_to_be_greater_than_b"


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({"finance": {"fx_rates": {"USD": "1", "EUR": "1.0850"}}}, Path("test-pmw.yml"))


def customer(n: int) -> dict[str, Any]:
    return {
        "customer_id": f"cus_{n}",
        "email_hash": f"{n:064x}",
        "user_id": f"u-{n}",
        "acquisition_channel": "paid_search",
        "acquisition_campaign": "spring",
        "country": "US",
        "currency": "usd",
        "created_at": dt.datetime(2024, 1, 1) + dt.timedelta(days=n),
        "is_deleted": False,
        "metadata": "{}",
        **lineage(n, "billing/customers.csv"),
    }


def subscription(n: int) -> dict[str, Any]:
    start = dt.datetime(2024, 1, 1) + dt.timedelta(days=n)
    return {
        "subscription_id": f"sub_{n}",
        "customer_id": f"cus_{n}",
        "status": ("active", "trialing", "canceled")[n % 3],
        "plan_id": "price_pro",
        "plan_nickname": "Pro",
        "plan_interval": ("month", "year")[n % 2],
        "plan_interval_count": 1,
        "unit_amount_minor": 4_900,
        "currency": ("usd", "eur")[n % 2],
        "quantity": 1 + n % 3,
        "discount_percent_off": 10,
        "discount_amount_off_minor": None,
        "trial_start": start,
        "trial_end": start + dt.timedelta(days=14),
        "started_at": start,
        "current_period_start": NOW - dt.timedelta(days=10),
        "current_period_end": NOW + dt.timedelta(days=355),  # a yearly plan's period ends ahead of now
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
        "created_at": start,
        **lineage(n, "billing/subscriptions.json"),
    }


def invoice_line(n: int) -> dict[str, Any]:
    return {
        "invoice_id": f"in_{n // 2}",
        "line_id": f"il_{n}",
        "subscription_id": f"sub_{n}",
        "plan_id": "price_pro",
        "plan_interval": "month",
        "description": "Pro plan",
        "amount_minor": -1_200 if n % 4 == 3 else 4_900,  # a proration credit is negative
        "currency": "eur",
        "quantity": 1,
        "proration": n % 4 == 3,
        "period_start": dt.datetime(2024, 3, 1),
        "period_end": dt.datetime(2024, 4, 1),
        **lineage(n, "billing/invoices.json"),
    }


def refund(n: int) -> dict[str, Any]:
    kind = ("refund", "credit_note")[n % 2]
    return {
        "refund_id": f"{'re' if kind == 'refund' else 'cn'}_{n}",
        "kind": kind,
        "invoice_id": f"in_{n}",
        "charge_id": f"ch_{n}",
        "customer_id": f"cus_{n}",
        "amount_minor": 1_500,
        "currency": "usd",
        "reason": "requested_by_customer",
        "status": "succeeded" if kind == "refund" else "issued",
        "created_at": dt.datetime(2024, 4, 1) + dt.timedelta(days=n),
        **lineage(n, "billing/refunds.csv"),
    }


ENTITIES = {
    "raw_billing_customers": customer,
    "raw_billing_subscriptions": subscription,
    "raw_billing_invoice_lines": invoice_line,
    "raw_billing_refunds": refund,
}


@pytest.mark.parametrize("gate_name", sorted(ENTITIES))
def test_a_good_export_passes_every_rule(gate_name, config):
    gate = GATES[gate_name]
    result = validate_rows(gate, [ENTITIES[gate_name](n) for n in range(12)], config)

    assert result.success, result.summary()
    assert failed_rules(result) == set()
    assert not result.warnings


BAD_ROWS = [
    ("raw_billing_customers", {"created_at": dt.datetime(9999, 1, 1)}, ("row", BETWEEN, ("created_at",))),
    ("raw_billing_customers", {"created_at": dt.datetime(1970, 1, 1)}, ("row", BETWEEN, ("created_at",))),
    ("raw_billing_customers", {"customer_id": None}, ("row", NOT_NULL, ("customer_id",))),
    ("raw_billing_customers", {"email_hash": "ann@example.com"}, ("row", REGEX, ("email_hash",))),
    ("raw_billing_customers", {"currency": "USD"}, ("row", REGEX, ("currency",))),
    ("raw_billing_subscriptions", {"status": "zombie"}, ("row", IN_SET, ("status",))),
    ("raw_billing_subscriptions", {"plan_interval": "fortnight"}, ("row", IN_SET, ("plan_interval",))),
    ("raw_billing_subscriptions", {"currency": "jpy"}, ("row", IN_SET, ("currency",))),
    ("raw_billing_subscriptions", {"unit_amount_minor": -100}, ("row", BETWEEN, ("unit_amount_minor",))),
    ("raw_billing_subscriptions", {"unit_amount_minor": 10**15}, ("row", BETWEEN, ("unit_amount_minor",))),
    ("raw_billing_subscriptions", {"discount_percent_off": 150}, ("row", BETWEEN, ("discount_percent_off",))),
    ("raw_billing_subscriptions", {"plan_interval_count": 0}, ("row", BETWEEN, ("plan_interval_count",))),
    ("raw_billing_subscriptions", {"started_at": dt.datetime(9999, 1, 1)}, ("row", BETWEEN, ("started_at",))),
    (
        "raw_billing_subscriptions",
        {"current_period_end": NOW + dt.timedelta(days=800)},
        ("row", BETWEEN, ("current_period_end",)),
    ),
    (
        "raw_billing_subscriptions",
        {"current_period_start": dt.datetime(2024, 5, 1), "current_period_end": dt.datetime(2024, 4, 1)},
        ("row", PAIR, ("current_period_end", "current_period_start")),
    ),
    ("raw_billing_invoice_lines", {"line_id": None}, ("row", NOT_NULL, ("line_id",))),
    ("raw_billing_invoice_lines", {"amount_minor": -(10**14)}, ("row", BETWEEN, ("amount_minor",))),
    ("raw_billing_invoice_lines", {"quantity": -1}, ("row", BETWEEN, ("quantity",))),
    ("raw_billing_invoice_lines", {"period_start": dt.datetime(1970, 1, 1)}, ("row", BETWEEN, ("period_start",))),
    ("raw_billing_refunds", {"kind": "chargeback"}, ("row", IN_SET, ("kind",))),
    ("raw_billing_refunds", {"status": "maybe"}, ("row", IN_SET, ("status",))),
    ("raw_billing_refunds", {"amount_minor": -1_500}, ("row", BETWEEN, ("amount_minor",))),
    ("raw_billing_refunds", {"created_at": None}, ("row", NOT_NULL, ("created_at",))),
]


@pytest.mark.parametrize(("gate_name", "change", "rule"), BAD_ROWS, ids=lambda v: str(v)[:40])
def test_a_bad_row_fails_exactly_its_rule(gate_name, change, rule, config):
    rows = [ENTITIES[gate_name](n) for n in range(6)]
    rows[4].update(change)

    result = validate_rows(GATES[gate_name], rows, config)

    assert not result.success
    assert failed_rules(result) == {rule}
