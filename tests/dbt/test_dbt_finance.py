"""The finance part of the dbt project end to end on a tiny lake: billing and marketing staging, MRR movements,
acquisition, CAC, cohort LTV and unit economics, with every figure worked out by hand from the rows written here.

The lake files carry exactly the columns and types of ingest/billing/contract.py and ingest/marketing/contract.py
(plus a few analytics events for first-touch attribution; other sources have no lake area at all). dbt runs in its
own process with the shipped configuration's vars (USD reporting, EUR 1.0850, GBP 1.2650, gross margin 0.78).

The story, January to April 2024:
- cus_a (USD, metadata channel google_ads -> paid_search): 100/month from 1 Jan; upgrades to 200 on 15 Feb
  (proration lines -50 / +100); 50 refunded on 20 Mar.
- cus_b (EUR, no metadata channel): annual 1,200 EUR less a 10 % discount from 10 Jan: 90 EUR = 97.65 USD a
  month; acquired through meta_ads by its first utm touch in analytics.
- cus_c (GBP, metadata "Affiliates" -> affiliate): 2 seats x 50 GBP = 126.50 USD a month from 5 Jan, cancelled at
  the period end on 5 Mar (churn in March), back on 2 Apr with a new subscription (reactivation).
- cus_d (USD, unattributed): 300/month from 20 Jan, downgrades to 150 on 1 Mar (contraction).
- cus_e: a trial whose only invoice is void: never acquired, no MRR.
Spend: Jan google_ads 300 USD (restated from 250 by a later export), meta_ads 400 EUR; Feb google_ads 150 USD.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from core.config import load_config
from core.settings import DBT_PROJECT_DIR
from ingest.billing import contract as billing_contract
from ingest.marketing import contract as marketing_contract
from tests.support.contract_types import duckdb_spelling
from tests.support.warehouse import Event, Warehouse, as_dicts, build_selecting, write_lake_file, write_schema_file

D = decimal.Decimal
FINANCE_MARTS = ("fct_mrr", "fct_customer_acquisition", "fct_cac", "fct_cohort_ltv", "fct_unit_economics")
# Only the models these tests read and their ancestors (tests/support/warehouse.build_selecting).
BUILD = build_selecting(*FINANCE_MARTS, "stg_billing__invoices", "stg_marketing__spend")
CONTRACTS = {"billing": billing_contract.ENTITIES, "marketing": marketing_contract.ENTITIES}


def at(month: int, day: int, hour: int = 0, year: int = 2024) -> dt.datetime:
    return dt.datetime(year, month, day, hour)


def write_entity_file(
    lake_dir: Path, source: str, entity: str, name: str, rows: list[dict[str, Any]], ingested_at: dt.datetime
) -> Path:
    """One lake Parquet file of an entity with exactly the contract's columns and types, as ingest writes it."""
    columns = CONTRACTS[source][entity]
    target_dir = lake_dir / source / entity
    target_dir.mkdir(parents=True, exist_ok=True)
    unknown = {key for row in rows for key in row} - {c for c, _ in columns}
    assert not unknown, f"not in the {source}/{entity} contract: {unknown}"
    lineage = {
        "_source_file": f"{source}/{name}",
        "_source_format": "stripe_api" if source == "billing" else "generic_csv",
        "_file_sha256": hashlib.sha256(name.encode()).hexdigest(),
        "_ingested_at": ingested_at,
    }
    with duckdb.connect() as con:
        con.execute(f"create table rows_ ({', '.join(f'{c} {t}' for c, t in columns)})")
        for number, row in enumerate(rows, start=1):
            values = lineage | {"_record_number": number} | row
            con.execute(
                f"insert into rows_ values ({', '.join('?' for _ in columns)})", [values.get(c) for c, _ in columns]
            )
        path = target_dir / f"{hashlib.sha256((entity + name).encode()).hexdigest()}.parquet"
        con.execute(f"copy rows_ to '{path}' (format parquet)")
    return path


def customer(customer_id: str, currency: str, **fields: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "currency": currency, "created_at": at(1, 1), "is_deleted": False, **fields}


def subscription(subscription_id: str, customer_id: str, plan_id: str, unit: int, currency: str, **fields: Any):
    return {
        "subscription_id": subscription_id,
        "customer_id": customer_id,
        "status": "active",
        "plan_id": plan_id,
        "plan_interval": "month",
        "plan_interval_count": 1,
        "unit_amount_minor": unit,
        "currency": currency,
        "quantity": 1,
        "created_at": at(1, 1),
        **fields,
    }


INVOICES: list[dict[str, Any]] = []
LINES: list[dict[str, Any]] = []


def invoice(
    invoice_id: str,
    customer_id: str,
    subscription_id: str,
    currency: str,
    paid_at: dt.datetime,
    lines: list[tuple[str, int, dt.datetime, dt.datetime, bool]],
    *,
    discount: int = 0,
    tax: int = 0,
    status: str = "paid",
    plan_interval: str = "month",
    quantity: int = 1,
) -> None:
    """An invoice and its lines: (plan_id, amount_minor, period_start, period_end, proration)."""
    subtotal = sum(amount for _, amount, *_ in lines)
    INVOICES.append(
        {
            "invoice_id": invoice_id,
            "customer_id": customer_id,
            "subscription_id": subscription_id,
            "status": status,
            "billing_reason": "subscription_cycle",
            "currency": currency.lower(),
            "subtotal_minor": subtotal,
            "discount_minor": discount,
            "tax_minor": tax,
            "total_minor": subtotal - discount + tax,
            "amount_paid_minor": subtotal - discount + tax if status == "paid" else 0,
            "period_start": lines[0][2],
            "period_end": lines[0][3],
            "created_at": paid_at,
            "paid_at": paid_at if status == "paid" else None,
        }
    )
    for number, (plan_id, amount, start, end, proration) in enumerate(lines, start=1):
        LINES.append(
            {
                "invoice_id": invoice_id,
                "line_id": f"il_{invoice_id}_{number}",
                "subscription_id": subscription_id,
                "plan_id": plan_id,
                "plan_interval": plan_interval,
                "amount_minor": amount,
                "currency": currency.lower(),
                "quantity": quantity,
                "proration": proration,
                "period_start": start,
                "period_end": end,
            }
        )


# cus_a: 100 USD a month, upgraded to 200 on 15 Feb with proration lines on an immediate invoice.
invoice("in_a1", "cus_a", "sub_a", "usd", at(1, 1, 1), [("basic", 10_000, at(1, 1), at(2, 1), False)])
invoice("in_a2", "cus_a", "sub_a", "usd", at(2, 1, 1), [("basic", 10_000, at(2, 1), at(3, 1), False)])
invoice(
    "in_a3",
    "cus_a",
    "sub_a",
    "usd",
    at(2, 15, 1),
    [("basic", -5_000, at(2, 15), at(3, 1), True), ("pro", 10_000, at(2, 15), at(3, 1), True)],
)
invoice("in_a4", "cus_a", "sub_a", "usd", at(3, 1, 1), [("pro", 20_000, at(3, 1), at(4, 1), False)])
invoice("in_a5", "cus_a", "sub_a", "usd", at(4, 1, 1), [("pro", 20_000, at(4, 1), at(5, 1), False)])
# cus_b: annual EUR plan, 10 % off on the invoice.
invoice(
    "in_b1",
    "cus_b",
    "sub_b",
    "eur",
    at(1, 10, 1),
    [("annual", 120_000, at(1, 10), at(1, 10, year=2025), False)],
    discount=12_000,
    tax=21_000,
    plan_interval="year",
)
# cus_c: two GBP seats, cancelled at the period end on 5 Mar, back on 2 Apr.
invoice("in_c1", "cus_c", "sub_c", "gbp", at(1, 5, 1), [("seat", 10_000, at(1, 5), at(2, 5), False)], quantity=2)
invoice("in_c2", "cus_c", "sub_c", "gbp", at(2, 5, 1), [("seat", 10_000, at(2, 5), at(3, 5), False)], quantity=2)
invoice("in_c3", "cus_c", "sub_c2", "gbp", at(4, 2, 1), [("seat", 10_000, at(4, 2), at(5, 2), False)], quantity=2)
# cus_d: 300 USD a month, downgraded to 150 on 1 Mar (credit -100 for the old plan, +50 for the new).
invoice("in_d1", "cus_d", "sub_d", "usd", at(1, 20, 1), [("max", 30_000, at(1, 20), at(2, 20), False)])
invoice("in_d2", "cus_d", "sub_d", "usd", at(2, 20, 1), [("max", 30_000, at(2, 20), at(3, 20), False)])
invoice(
    "in_d3",
    "cus_d",
    "sub_d",
    "usd",
    at(3, 1, 1),
    [("max", -10_000, at(3, 1), at(3, 20), True), ("half", 5_000, at(3, 1), at(3, 20), True)],
)
invoice("in_d4", "cus_d", "sub_d", "usd", at(3, 20, 1), [("half", 15_000, at(3, 20), at(4, 20), False)])
invoice("in_d5", "cus_d", "sub_d", "usd", at(4, 20, 1), [("half", 15_000, at(4, 20), at(5, 20), False)])
# cus_e: a void invoice only.
invoice("in_e1", "cus_e", "sub_e", "usd", at(2, 3, 1), [("basic", 10_000, at(2, 3), at(3, 3), False)], status="void")

CUSTOMERS = [
    customer("cus_a", "usd", acquisition_channel="google_ads", acquisition_campaign="brand", user_id="u_a"),
    customer("cus_b", "eur", user_id="u_b"),
    customer("cus_c", "gbp", acquisition_channel="Affiliates"),
    customer("cus_d", "usd"),
    customer("cus_e", "usd"),
]
SUBSCRIPTIONS = [
    subscription("sub_a", "cus_a", "pro", 20_000, "usd"),
    subscription("sub_b", "cus_b", "annual", 120_000, "eur", plan_interval="year"),
    subscription(
        "sub_c", "cus_c", "seat", 5_000, "gbp", quantity=2, status="canceled", canceled_at=at(2, 20), ended_at=at(3, 5)
    ),
    subscription("sub_c2", "cus_c", "seat", 5_000, "gbp", quantity=2, created_at=at(4, 2)),
    subscription("sub_d", "cus_d", "half", 15_000, "usd"),
    subscription("sub_e", "cus_e", "basic", 10_000, "usd", status="incomplete_expired"),
]
REFUNDS = [
    {
        "refund_id": "re_a1",
        "kind": "refund",
        "invoice_id": "in_a4",
        "customer_id": "cus_a",
        "amount_minor": 5_000,
        "currency": "usd",
        "status": "succeeded",
        "created_at": at(3, 20),
    },
    {  # failed: gave nothing back
        "refund_id": "re_a2",
        "kind": "refund",
        "invoice_id": "in_a5",
        "customer_id": "cus_a",
        "amount_minor": 20_000,
        "currency": "usd",
        "status": "failed",
        "created_at": at(4, 5),
    },
]


def spend(day: dt.date, vendor: str, campaign_id: str, amount: str, currency: str) -> dict[str, Any]:
    return {
        "spend_date": day,
        "vendor": vendor,
        "channel": None,
        "campaign_id": campaign_id,
        "campaign": f"campaign {campaign_id}",
        "spend": D(amount),
        "currency": currency,
        "impressions": 1000,
        "clicks": 10,
    }


def build_lake(lake_dir: Path) -> None:
    write_schema_file(lake_dir)
    for source, entities in CONTRACTS.items():
        for entity in entities:
            write_entity_file(lake_dir, source, entity, f"_schema_{entity}", [], at(1, 1))
    ingested = dt.datetime(2024, 4, 30)
    write_entity_file(lake_dir, "billing", "customers", "customers.json", CUSTOMERS, ingested)
    write_entity_file(lake_dir, "billing", "subscriptions", "subscriptions.json", SUBSCRIPTIONS, ingested)
    write_entity_file(lake_dir, "billing", "invoices", "invoices.json", INVOICES, ingested)
    write_entity_file(lake_dir, "billing", "invoice_lines", "invoice_lines.json", LINES, ingested)
    write_entity_file(lake_dir, "billing", "refunds", "refunds.json", REFUNDS, ingested)
    # An older export of in_a4 as still open, ingested earlier: the paid copy (latest ingest) wins.
    write_entity_file(
        lake_dir,
        "billing",
        "invoices",
        "invoices_old.json",
        [next(i for i in INVOICES if i["invoice_id"] == "in_a4") | {"status": "open", "paid_at": None}],
        dt.datetime(2024, 3, 2),
    )
    write_entity_file(
        lake_dir,
        "marketing",
        "spend",
        "spend_1.csv",
        [
            spend(dt.date(2024, 1, 15), "google_ads", "g1", "250.00", "USD"),
            spend(dt.date(2024, 1, 15), "google_ads", "g1", "-10.00", "USD"),  # restated away with its charge
        ],
        dt.datetime(2024, 1, 16),
    )
    write_entity_file(
        lake_dir,
        "marketing",
        "spend",
        "spend_2.csv",
        [
            spend(dt.date(2024, 1, 15), "google_ads", "g1", "300.00", "USD"),  # restated
            spend(dt.date(2024, 1, 8), "meta_ads", "m1", "400.00", "EUR"),
            spend(dt.date(2024, 2, 10), "google_ads", "g1", "150.00", "USD"),
            spend(dt.date(2024, 2, 10), "google_ads", "g1", "-40.00", "USD"),  # a credit: a second line, netted
        ],
        dt.datetime(2024, 3, 1),
    )
    write_lake_file(
        lake_dir,
        "events_1",
        [
            Event("e1", "page_viewed", at(1, 3), user_id="u_b", properties={"utm_source": "meta_ads"}),
            Event("e2", "page_viewed", at(1, 5), user_id="u_b", properties={"utm_source": "google_ads"}),
            # cus_a's user has a touch too, but billing metadata wins
            Event("e3", "page_viewed", at(1, 1), user_id="u_a", properties={"utm_source": "meta_ads"}),
        ],
        ingested_at=dt.datetime(2024, 4, 30),
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, dbt_parse_cache) -> Warehouse:
    root = tmp_path_factory.mktemp("finance_warehouse")
    built = Warehouse(root, load_config().dbt_vars(), dbt_parse_cache)
    build_lake(built.lake_dir)
    elapsed = built.dbt(*BUILD)
    print(f"\ndbt build with the billing and marketing lake: {elapsed:.1f} s wall")
    return built


@pytest.mark.parametrize(("source", "folder"), [("billing", "billing"), ("marketing", "marketing")])
def test_source_columns_match_the_contracts(source, folder):
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / folder / f"_{folder}__sources.yml").read_text())
    (declared_source,) = [s for s in declared["sources"] if s["name"] == source]
    tables = {t["name"]: t for t in declared_source["tables"]}
    assert set(tables) == set(CONTRACTS[source])
    for entity, columns in CONTRACTS[source].items():
        assert [(c["name"], duckdb_spelling(c["data_type"])) for c in tables[entity]["columns"]] == [
            (name, duckdb_spelling(dtype)) for name, dtype in columns
        ], entity


def test_staging_dedupes_on_ids_keeping_the_latest_ingest(warehouse):
    assert warehouse.rows("select status from staging.stg_billing__invoices where invoice_id = 'in_a4'") == [("paid",)]
    assert warehouse.rows("select count(*) from staging.stg_billing__invoices") == [(len(INVOICES),)]
    spend_rows = as_dicts(
        warehouse, "select * from staging.stg_marketing__spend order by spend_date, vendor, spend desc"
    )
    # The later export restates 15 Jan (its charge and the older export's credit both give way); a credit on the
    # same day and campaign as its charge, in the same export, is a second line kept beside it.
    assert [
        (r["spend_date"].isoformat(), r["channel"], r["spend"], r["currency"], r["is_credit"]) for r in spend_rows
    ] == [
        ("2024-01-08", "paid_social", D("400"), "EUR", False),
        ("2024-01-15", "paid_search", D("300"), "USD", False),
        ("2024-02-10", "paid_search", D("150"), "USD", False),
        ("2024-02-10", "paid_search", D("-40"), "USD", True),
    ]
    assert warehouse.rows("select distinct currency from staging.stg_billing__invoices order by 1") == [
        ("EUR",),
        ("GBP",),
        ("USD",),
    ]


def mrr_rows(warehouse: Warehouse) -> dict[tuple[str, str], dict[str, Any]]:
    rows = as_dicts(warehouse, "select * from marts.fct_mrr")
    return {(r["customer_id"], r["month_start"].strftime("%Y-%m")): r for r in rows}


def test_mrr_and_movements(warehouse):
    mrr = mrr_rows(warehouse)
    expected = {
        ("cus_a", "2024-01"): (D("100"), "new"),
        ("cus_a", "2024-02"): (D("200"), "expansion"),  # upgrade on 15 Feb: the new plan's full rate
        ("cus_a", "2024-03"): (D("200"), "unchanged"),
        ("cus_a", "2024-04"): (D("200"), "unchanged"),
        ("cus_b", "2024-01"): (D("97.65"), "new"),  # (1,200 - 120) EUR / 12 x 1.0850
        ("cus_b", "2024-04"): (D("97.65"), "unchanged"),
        ("cus_c", "2024-01"): (D("126.5"), "new"),  # 2 x 50 GBP x 1.2650
        ("cus_c", "2024-02"): (D("126.5"), "unchanged"),
        ("cus_c", "2024-03"): (D("0"), "churn"),
        ("cus_c", "2024-04"): (D("126.5"), "reactivation"),
        ("cus_d", "2024-02"): (D("300"), "unchanged"),
        ("cus_d", "2024-03"): (D("150"), "contraction"),
    }
    for key, (value, movement) in expected.items():
        assert (mrr[key]["mrr"], mrr[key]["movement"]) == (value, movement), key
    assert mrr[("cus_a", "2024-02")]["expansion_mrr"] == D("100")
    assert mrr[("cus_c", "2024-03")]["churned_mrr"] == D("-126.5")
    assert mrr[("cus_d", "2024-03")]["contraction_mrr"] == D("-150")
    assert not [key for key in mrr if key[0] == "cus_e"]
    assert {r["reporting_currency"] for r in mrr.values()} == {"USD"}


def test_movements_sum_to_the_change_in_total_mrr(warehouse):
    totals = warehouse.rows(
        "select month_start, sum(mrr), sum(new_mrr + expansion_mrr + contraction_mrr + churned_mrr + reactivation_mrr)"
        " from marts.fct_mrr group by month_start order by month_start"
    )
    assert [t[1] for t in totals] == [D("624.15"), D("724.15"), D("447.65"), D("574.15")]
    previous = D(0)
    for _, total, movements in totals:
        assert movements == total - previous
        previous = total


def test_a_refund_reduces_revenue_in_its_own_month(warehouse):
    mrr = mrr_rows(warehouse)
    march = mrr[("cus_a", "2024-03")]
    assert (march["revenue"], march["refunds"], march["net_revenue"]) == (D("200"), D("50"), D("150"))
    assert march["mrr"] == D("200")  # MRR is contractual: the refund is not a contraction
    february = mrr[("cus_a", "2024-02")]
    assert (february["revenue"], february["refunds"]) == (D("150"), D("0"))  # renewal + upgrade proration
    april = mrr[("cus_a", "2024-04")]
    assert april["refunds"] == D("0")  # the failed refund gave nothing back
    # cus_b: 1,080 EUR paid (tax excluded) in January
    assert mrr[("cus_b", "2024-01")]["revenue"] == D("1171.8")


def test_acquisition_channels_and_rules(warehouse):
    rows = {r["customer_id"]: r for r in as_dicts(warehouse, "select * from marts.fct_customer_acquisition")}
    assert {key: (r["channel"], r["attribution_rule"]) for key, r in rows.items()} == {
        "cus_a": ("paid_search", "billing_metadata"),
        "cus_b": ("paid_social", "first_touch_utm"),
        "cus_c": ("affiliate", "billing_metadata"),
        "cus_d": ("unattributed", "unattributed"),
    }
    assert rows["cus_b"]["acquired_at"] == at(1, 10, 1)
    assert rows["cus_b"]["first_touch_utm_source"] == "meta_ads"
    assert {r["cohort_month"] for r in rows.values()} == {dt.date(2024, 1, 1)}


def test_cac(warehouse):
    rows = as_dicts(warehouse, "select * from marts.fct_cac")
    cac = {(r["month_start"].strftime("%Y-%m"), r["channel"]): r for r in rows}
    assert (cac[("2024-01", "paid_search")]["spend"], cac[("2024-01", "paid_search")]["cac"]) == (D("300"), D("300"))
    assert cac[("2024-01", "paid_social")]["cac"] == D("434")  # 400 EUR x 1.0850
    affiliate = cac[("2024-01", "affiliate")]  # customers without spend: no CAC, said so, never 0
    assert (affiliate["spend"], affiliate["cac"], affiliate["cac_status"]) == (D("0"), None, "no_spend")
    blended = cac[("2024-01", "blended")]
    assert (blended["spend"], blended["new_paying_customers"], blended["cac"]) == (D("734"), 4, D("183.5"))
    assert blended["cac_status"] == "measured"
    february = cac[("2024-02", "paid_search")]  # 150 less a credit of 40, and nobody acquired
    assert (february["gross_spend"], february["credits"], february["spend"]) == (D("150"), D("-40"), D("110"))
    assert (february["new_paying_customers"], february["cac"], february["cac_status"]) == (0, None, "no_customers")
    assert cac[("2024-02", "blended")]["cac"] is None


def test_cohort_ltv(warehouse):
    curve = {
        (r["channel"], r["months_since_acquisition"]): r
        for r in as_dicts(warehouse, "select * from marts.fct_cohort_ltv where cohort_month = '2024-01-01'")
    }
    paid_search = [curve[("paid_search", month)] for month in range(4)]
    # net revenue 100, 150, 150 (200 less the 50 refund), 200
    assert [r["cumulative_net_revenue"] for r in paid_search] == [D("100"), D("250"), D("400"), D("600")]
    assert [r["cumulative_gross_margin_per_customer"] for r in paid_search] == [
        D("78"),
        D("195"),
        D("312"),
        D("468"),
    ]
    assert paid_search[2]["refunds"] == D("50")


def test_unit_economics(warehouse):
    rows = {
        (r["month_start"].strftime("%Y-%m"), r["channel"]): r
        for r in as_dicts(warehouse, "select * from marts.fct_unit_economics")
    }
    march = rows[("2024-03", "blended")]
    assert (march["customers_at_start"], march["churned_customers"], march["active_customers"]) == (4, 1, 3)
    assert march["monthly_churn"] == D("0.25")
    assert march["arpa"] == D("149.2167")  # 447.65 / 3
    # 447.65 x 0.78 x 4 / (3 x 1), from the unrounded ARPA (the rounded 149.2167 would give 465.5561)
    assert march["predicted_ltv"] == D("465.5560")
    assert march["cac"] is None  # no new customers in March
    # January: nobody had MRR at the start, so churn (and the prediction) is not measured
    january = rows[("2024-01", "paid_search")]
    assert (january["monthly_churn"], january["predicted_ltv"], january["cac"]) == (None, None, D("300"))
    # February paid_search: no churn, the floor (0.005) keeps the prediction finite
    february = rows[("2024-02", "paid_search")]
    assert (february["monthly_churn"], february["churn_for_prediction"]) == (D("0"), D("0.005"))
    assert february["predicted_ltv"] == D("31200")  # 200 x 0.78 / 0.005
    assert february["cac"] is None and february["ltv_to_cac"] is None and february["ltv_cac_ok"] is None


def test_rerunning_changes_nothing(warehouse):
    def contents() -> dict[str, list[tuple]]:
        return {mart: sorted(warehouse.rows(f"select * from marts.{mart}"), key=repr) for mart in FINANCE_MARTS}

    before = contents()
    assert all(before.values())
    warehouse.dbt(*BUILD)
    assert contents() == before


def test_a_currency_without_a_rate_fails_the_build_by_name(tmp_path, dbt_parse_cache):
    dbt_vars = load_config().dbt_vars()
    dbt_vars["fx_rates"] = {k: v for k, v in dbt_vars["fx_rates"].items() if k != "GBP"}
    warehouse = Warehouse(tmp_path, dbt_vars, dbt_parse_cache)
    build_lake(warehouse.lake_dir)
    result = warehouse.dbt_process("build", "--select", "+assert_every_money_currency_has_an_fx_rate", "+fct_mrr")
    assert result.returncode != 0
    assert "FAIL" in result.stdout and "assert_every_money_currency_has_an_fx_rate" in result.stdout
    assert "no fx rate configured for currency GBP" in result.stdout  # the converting model refuses too
