"""The sample billing/spend generator: deterministic bytes, vendor-exact shapes, and truths the files really hold.

The read-back helpers below are deliberately independent of the generator: they parse the landed files the way a
format-aware reader would (major-unit strings and micros to exact decimals, config FX rates) and recompute spend,
new paying customers, CAC and month-end MRR with its movements from what they find.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.config import load_config
from core.settings import DEFAULT_CONFIG_PATH
from sample_generator import BillingTruths, generate_analytics, generate_billing
from sample_generator import billing as billing_module

STRIPE = "billing/stripe"
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
MAJOR = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, BillingTruths]:
    landing = tmp_path_factory.mktemp("bill1") / "landing"
    return landing, generate_billing(landing)


@pytest.fixture(scope="module")
def finance():
    return load_config(DEFAULT_CONFIG_PATH).finance


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # no newline translation: line ends are part of the format


def _files(landing: Path) -> dict[str, bytes]:
    return {p.relative_to(landing).as_posix(): p.read_bytes() for p in sorted(landing.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------ read back


def _minor(text: str) -> int:
    """A Stripe dashboard amount ("1,200.50", "-10.00") to integer minor units, without a float."""
    assert MAJOR.match(text), text
    sign = -1 if text.startswith("-") else 1
    units, cents = text.lstrip("-").replace(",", "").split(".")
    return sign * (int(units) * 100 + int(cents))


def _ts(text: str) -> int | None:
    if not text:
        return None
    assert DATE_TIME.match(text), text
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def _month(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


def _csv(landing: Path, rel: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(landing / rel), newline="")))


def _api(landing: Path, name: str) -> list[dict]:
    body = json.loads(_text(landing / f"{STRIPE}/api/{name}.json"))
    return body["data"]


def _customers(landing: Path) -> dict[str, dict]:
    out = {}
    for row in _csv(landing, f"{STRIPE}/dashboard/customers.csv"):
        out[row["id"]] = {
            "channel": row["acquisition_channel (metadata)"] or "unattributed",
            "currency": row["Currency"],
            "user_id": row["product_user_id (metadata)"],
        }
    for obj in _api(landing, "customers"):
        meta = obj["metadata"]
        out[obj["id"]] = {
            "channel": meta.get("acquisition_channel") or "unattributed",
            "currency": obj["currency"],
            "user_id": meta["product_user_id"],
        }
    return out


def _invoices(landing: Path) -> list[dict]:
    out = []
    for k, row in enumerate(_csv(landing, f"{STRIPE}/dashboard/invoices.csv"), start=1):
        out.append({
            "record": k, "id": row["id"], "customer": row["Customer"], "subscription": row["Subscription"],
            "reason": row["Billing Reason"], "currency": row["Currency"], "subtotal": _minor(row["Subtotal"]),
            "discount": _minor(row["Discount"]), "total": _minor(row["Total"]),
            "amount_paid": _minor(row["Amount Paid"]), "starting_balance": _minor(row["Starting Balance"]),
            "period_start": _ts(row["Period Start (UTC)"]), "period_end": _ts(row["Period End (UTC)"]),
            "created": _ts(row["Date (UTC)"]), "paid_at": _ts(row["Paid At (UTC)"]), "lines": None,
        })  # fmt: skip
    for obj in _api(landing, "invoices"):
        discount = sum(d["amount"] for d in obj["total_discount_amounts"])
        out.append({
            "record": None, "id": obj["id"], "customer": obj["customer"], "subscription": obj["subscription"],
            "reason": obj["billing_reason"], "currency": obj["currency"], "subtotal": obj["subtotal"],
            "discount": discount, "total": obj["total"], "amount_paid": obj["amount_paid"],
            "starting_balance": obj["starting_balance"], "period_start": obj["period_start"],
            "period_end": obj["period_end"], "created": obj["created"],
            "paid_at": obj["status_transitions"]["paid_at"], "lines": obj["lines"]["data"],
        })  # fmt: skip
    return out


def _subscriptions(landing: Path) -> dict[str, dict]:
    out = {}
    for row in _csv(landing, f"{STRIPE}/dashboard/subscriptions.csv"):
        out[row["id"]] = {
            "customer": row["Customer ID"], "interval": row["Interval"], "amount": _minor(row["Amount"]),
            "percent_off": int(row["Percent Off"] or 0), "ended_at": _ts(row["Ended At (UTC)"]),
            "status": row["Status"], "cancel_at_period_end": row["Cancel At Period End"] == "true",
            "trial_start": _ts(row["Trial Start (UTC)"]),
        }  # fmt: skip
    for obj in _api(landing, "subscriptions"):
        price = obj["items"]["data"][0]["price"]
        coupon = (obj["discount"] or {}).get("coupon") or {}
        out[obj["id"]] = {
            "customer": obj["customer"], "interval": price["recurring"]["interval"], "amount": price["unit_amount"],
            "percent_off": int(coupon.get("percent_off") or 0), "ended_at": obj["ended_at"], "status": obj["status"],
            "cancel_at_period_end": obj["cancel_at_period_end"], "trial_start": obj["trial_start"],
        }  # fmt: skip
    return out


def _spend_from_files(landing: Path, truths: BillingTruths, finance) -> tuple[dict, list[tuple[str, int, int]]]:
    """(channel -> month -> USD Decimal, rejected (file, record, line)) read from the marketing files."""
    rates = {k: Decimal(v) for k, v in finance.fx_rates.items()}
    spend: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    rejected = []
    for rel in truths.files:
        if not rel.startswith("marketing/"):
            continue
        raw = (landing / rel).read_bytes()
        if rel.startswith("marketing/google_ads/") and rel.endswith(".csv"):
            lines = raw.decode("utf-8").split("\r\n")
            rows = list(csv.reader(io.StringIO("\r\n".join(lines[2:]), newline="")))
            channel = finance.channel_map["google_ads"]
            for row in rows[1:]:
                if row[0].startswith("Total:"):
                    continue
                cost = Decimal(row[4].replace("$", "").replace(",", ""))
                spend[channel][row[0][:7]] += cost * rates[row[3]]
        elif rel.startswith("marketing/google_ads/"):
            channel = finance.channel_map["google_ads"]
            for item in json.loads(raw):
                cost = Decimal(item["metrics"]["costMicros"]) / 1_000_000
                spend[channel][item["segments"]["date"][:7]] += cost * rates[item["customer"]["currencyCode"]]
        elif rel.startswith("marketing/meta_ads/"):
            channel = finance.channel_map["meta_ads"]
            rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
            for row in rows:
                if row["Day"]:
                    spend[channel][row["Day"][:7]] += Decimal(row["Amount spent (USD)"]) * rates["USD"]
        else:
            rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
            for k, row in enumerate(rows, start=1):
                ok = re.fullmatch(r"-?\d+\.\d{2}", row["spend"]) and row["currency"] in rates
                if not ok:
                    rejected.append((rel, k, k + 1))
                    continue
                channel = finance.channel_map[row["channel"]]
                spend[channel][row["date"][:7]] += Decimal(row["spend"]) * rates[row["currency"]]
    return spend, rejected


def _first_paid(invoices: list[dict], known: set[str]) -> dict[str, int]:
    first: dict[str, int] = {}
    for inv in sorted(invoices, key=lambda i: (i["paid_at"], i["id"])):
        if inv["customer"] in known and inv["amount_paid"] > 0:
            first.setdefault(inv["customer"], inv["paid_at"])
    return first


def _month_ends(truths: BillingTruths) -> list[int]:
    ends = []
    for m in truths.months:
        y, mm = int(m[:4]), int(m[5:])
        nxt = date(y + mm // 12, mm % 12 + 1, 1)
        ends.append(int(datetime(nxt.year, nxt.month, 1, tzinfo=UTC).timestamp()))
    return ends


def _mrr_from_files(landing: Path, truths: BillingTruths, finance) -> dict[str, list[Decimal]]:
    """customer -> month-end MRR in USD, from the invoices (in-force amounts) and the subscriptions export."""
    rates = {k.lower(): Decimal(v) for k, v in finance.fx_rates.items()}
    customers = _customers(landing)
    subs = _subscriptions(landing)
    by_sub: dict[str, list[dict]] = defaultdict(list)
    for inv in _invoices(landing):
        if inv["customer"] in customers:
            by_sub[inv["subscription"]].append(inv)
    events: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for sub_id, sub in subs.items():
        invs = sorted(by_sub[sub_id], key=lambda i: (i["created"], i["id"]))
        for k, inv in enumerate(invs):
            if inv["reason"] in ("subscription_create", "subscription_cycle"):
                net = inv["subtotal"] - inv["discount"]
                annual = inv["period_end"] - inv["period_start"] > 200 * 86_400
                events[sub_id].append((inv["created"], net // 12 if annual else net))
            else:  # a plan change: the new price shows on the next cycle invoice, else in the export
                later = [i for i in invs[k + 1 :] if i["reason"] != "subscription_update"]
                if later:
                    net = later[0]["subtotal"] - later[0]["discount"]
                else:
                    net = sub["amount"] - sub["amount"] * sub["percent_off"] // 100
                    net = net // 12 if sub["interval"] == "year" else net
                events[sub_id].append((inv["created"], net))
        if sub["ended_at"] is not None:
            events[sub_id].append((sub["ended_at"], 0))
    out: dict[str, list[Decimal]] = {}
    for cid, cust in customers.items():
        series = []
        for t in _month_ends(truths):
            total = 0
            for sub_id, sub in subs.items():
                if sub["customer"] != cid:
                    continue
                amount = 0
                for since, value in sorted(events[sub_id]):
                    if since < t:
                        amount = value
                total += amount
            series.append(Decimal(total) * rates[cust["currency"]] / 100)
        out[cid] = series
    return out


# ------------------------------------------------------------------------------------------------ tests


# Byte identity on a small sample (3 months, the generator's floor; 400 users, the fewest whose sign-ups, spread over
# every day of the range, leave one old enough to downgrade) instead of the default 2,000 users over 6 months: the
# test asserts it writes every file of the default and plants every kind of bad row, refund and plan change and the
# spend credit, so no writer goes unchecked.
SMALLEST = {"users": 400, "months": 3}


def _file_kinds(files: tuple[str, ...]) -> list[str]:
    """Each file's kind: its path with the dates of the range it covers taken out."""
    return [re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", name) for name in files]


def _planted(truths: BillingTruths) -> dict[str, object]:
    return {
        "bad rows": {(row.file, row.kind) for row in truths.bad_rows},
        "spend credit": truths.planted_spend_credit is not None,
        "refund kinds": {kind for kind, n in truths.refunds_by_kind.items() if n},
        "plan changes": {kind for kind, n in truths.plan_changes.items() if n},
    }


def test_same_arguments_same_bytes(tmp_path, sample):
    landing, truths = sample
    first = generate_billing(tmp_path / "first", **SMALLEST)
    assert _file_kinds(first.files) == _file_kinds(truths.files) and _planted(first) == _planted(truths)
    again = generate_billing(tmp_path / "again", **SMALLEST)
    assert _files(tmp_path / "again") == _files(tmp_path / "first")
    assert again.to_dict() == first.to_dict()
    generate_billing(tmp_path / "other", **SMALLEST, seed=8)
    assert (
        _files(tmp_path / "other")[f"{STRIPE}/dashboard/customers.csv"]
        != _files(tmp_path / "first")[f"{STRIPE}/dashboard/customers.csv"]
    )
    assert not list(landing.rglob(".*partial"))
    json.dumps(truths.to_dict())  # JSON-ready


def test_constants_match_the_finance_config(finance, sample):
    _landing, truths = sample
    assert {k: Decimal(v) for k, v in finance.fx_rates.items()} == billing_module.FX_RATES
    assert Decimal(finance.gross_margin) == billing_module.GROSS_MARGIN == Decimal(truths.gross_margin)
    assert dict(finance.channel_map) == billing_module.CHANNEL_MAP
    assert finance.reporting_currency == truths.reporting_currency


def test_stripe_dashboard_csv_shapes(sample):
    landing, truths = sample
    expected = {
        "customers": billing_module.CUSTOMER_HEADER,
        "subscriptions": billing_module.SUBSCRIPTION_HEADER,
        "invoices": billing_module.INVOICE_HEADER,
        "refunds": billing_module.REFUND_HEADER,
        "credit_notes": billing_module.CREDIT_NOTE_HEADER,
    }
    for name, header in expected.items():
        rel = f"{STRIPE}/dashboard/{name}.csv"
        assert rel in truths.files
        rows = list(csv.reader(io.StringIO(_text(landing / rel), newline="")))
        assert rows[0] == header
        assert len(rows) > 1
        for k, col in enumerate(header):
            values = [r[k] for r in rows[1:] if r[k]]
            if col.endswith(" (UTC)"):
                assert all(DATE_TIME.match(v) for v in values), col
            if col in ("Currency",):
                assert set(values) <= {"usd", "gbp", "eur"}, col
            if col in ("Amount", "Subtotal", "Total", "Amount Paid", "Balance", "Starting Balance"):
                assert all(MAJOR.match(v) for v in values), col
    headers = _text(landing / f"{STRIPE}/dashboard/customers.csv").split("\r\n", 1)[0]
    assert "Created (UTC)" in headers and "product_user_id (metadata)" in headers
    subs = _text(landing / f"{STRIPE}/dashboard/subscriptions.csv")
    assert '"1,920.00"' in subs or '"1,536.00"' in subs  # large annual amounts are quoted with a separator
    # dashboard = USD and GBP customers, API = EUR customers; invoices in three currencies overall
    assert {r["Currency"] for r in _csv(landing, f"{STRIPE}/dashboard/invoices.csv")} == {"usd", "gbp"}
    assert {i["currency"] for i in _invoices(landing)} == {"usd", "eur", "gbp"}
    assert all(v > 0 for v in truths.invoices_by_currency.values())


def test_stripe_api_list_envelopes(sample):
    landing, _truths = sample
    for name, obj_type in (("customers", "customer"), ("subscriptions", "subscription"), ("invoices", "invoice")):
        body = json.loads(_text(landing / f"{STRIPE}/api/{name}.json"))
        assert set(body) == {"object", "data", "has_more", "url"}
        assert body["object"] == "list" and body["has_more"] is False and body["url"] == f"/v1/{name}"
        assert body["data"] and all(o["object"] == obj_type for o in body["data"])
        assert all(isinstance(o["created"], int) for o in body["data"])
        assert [o["created"] for o in body["data"]] == sorted((o["created"] for o in body["data"]), reverse=True)
    subs = _api(landing, "subscriptions")
    price = subs[0]["items"]["data"][0]["price"]
    assert set(price) >= {"id", "nickname", "recurring", "unit_amount", "currency"}
    assert price["recurring"]["interval"] in ("month", "year") and price["recurring"]["interval_count"] == 1
    assert isinstance(price["unit_amount"], int)
    assert any(s["discount"] and s["discount"]["coupon"]["id"] == "PARTNER20" for s in subs)
    invoices = _api(landing, "invoices")
    for inv in invoices:
        lines = inv["lines"]["data"]
        assert inv["lines"]["object"] == "list"
        assert sum(line["amount"] for line in lines) == inv["subtotal"]
        assert all(set(line) >= {"id", "amount", "proration", "period", "price", "quantity", "description"}
                   for line in lines)  # fmt: skip
    prorated = [i for i in invoices if i["billing_reason"] == "subscription_update"]
    assert prorated and all(
        len(i["lines"]["data"]) == 2 and all(line["proration"] for line in i["lines"]["data"]) for i in prorated
    )
    assert any(i["lines"]["data"][0]["amount"] < 0 < i["lines"]["data"][1]["amount"] for i in prorated)
    assert all(o["currency"] == "eur" for o in _api(landing, "customers"))


def test_google_ads_ui_csv_and_api_rows(sample):
    landing, truths = sample
    ui = [f for f in truths.files if f.startswith("marketing/google_ads/") and f.endswith(".csv")]
    api = [f for f in truths.files if f.startswith("marketing/google_ads/") and f.endswith(".json")]
    assert len(ui) == 1 and len(api) == 1
    lines = _text(landing / ui[0]).split("\r\n")
    assert lines[0] == "Campaign report"
    assert lines[1] == "January 1, 2024 - March 31, 2024"
    rows = list(csv.reader(io.StringIO("\r\n".join(lines[2:]), newline="")))
    assert rows[0] == ["Day", "Campaign", "Campaign ID", "Currency code", "Cost", "Impr.", "Clicks"]
    totals = [k for k, r in enumerate(rows) if r[0].startswith("Total:")]
    assert len(totals) >= 2 and totals == list(range(len(rows) - len(totals), len(rows)))
    costs = [r[4] for r in rows[1 : totals[0]]]
    assert any(c.startswith("$") for c in costs) and any("," in c for c in costs)
    assert any("--" in r for r in rows[1 : totals[0]])
    assert {r[0][:7] for r in rows[1 : totals[0]]} == {"2024-01", "2024-02", "2024-03"}
    account = next(r for r in rows if r[0] == "Total: Account")
    day_sum = sum(Decimal(c.replace("$", "").replace(",", "")) for c in costs)
    assert Decimal(account[4].replace(",", "")) == day_sum
    items = json.loads(_text(landing / api[0]))
    assert isinstance(items, list) and items
    for item in items:
        assert set(item) == {"customer", "campaign", "metrics", "segments"}
        assert item["customer"]["currencyCode"] == "USD"
        assert isinstance(item["metrics"]["costMicros"], str) and int(item["metrics"]["costMicros"]) % 10_000 == 0
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", item["segments"]["date"])
        assert {"id", "name"} <= set(item["campaign"])


def test_meta_ads_csv_shape(sample):
    landing, truths = sample
    (rel,) = [f for f in truths.files if f.startswith("marketing/meta_ads/")]
    raw = (landing / rel).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == [
        "Reporting starts", "Reporting ends", "Campaign name", "Campaign ID", "Day", "Amount spent (USD)",
        "Impressions", "Link clicks",
    ]  # fmt: skip
    summary = rows[-1]
    assert summary[4] == "" and all(r[4] for r in rows[1:-1])
    assert (summary[0], summary[1]) == ("2024-01-01", "2024-06-30")
    assert Decimal(summary[5]) == sum(Decimal(r[5]) for r in rows[1:-1])


def test_bad_rows_are_exactly_the_planted_ones(sample, finance):
    landing, truths = sample
    _spend, rejected = _spend_from_files(landing, truths, finance)
    customers = _customers(landing)
    for inv in _invoices(landing):
        if inv["customer"] not in customers:
            rejected.append((f"{STRIPE}/dashboard/invoices.csv", inv["record"], inv["record"] + 1))
    assert sorted(rejected) == sorted((b.file, b.record, b.line) for b in truths.bad_rows)
    kinds = {"bad_amount", "unknown_currency", "non_finite_spend", "unknown_customer"}
    assert {b.kind for b in truths.bad_rows} == kinds
    for b in truths.bad_rows:  # the physical line holds the planted value
        line = _text(landing / b.file).split("\r\n")[b.line - 1]
        assert b.value in line


def test_spend_and_cac_recomputed_from_files(sample, finance):
    landing, truths = sample
    spend, _rejected = _spend_from_files(landing, truths, finance)
    assert set(spend) == set(truths.spend_usd_by_channel_month) == {
        "paid_search", "paid_social", "affiliate", "events", "sales",
    }  # fmt: skip
    for channel, by_month in truths.spend_usd_by_channel_month.items():
        for month, value in by_month.items():
            assert spend[channel].get(month, Decimal(0)) == Decimal(value), (channel, month)
    customers = _customers(landing)
    first = _first_paid(_invoices(landing), set(customers))
    new: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for cid, ts in first.items():
        new[customers[cid]["channel"]][_month(ts)] += 1
    for channel, by_month in truths.new_paying_customers_by_channel_month.items():
        assert {m: n for m, n in by_month.items() if n} == dict(new[channel]), channel
    assert set(new) == set(truths.new_paying_customers_by_channel)
    ps_spend = sum(spend["paid_search"].values(), Decimal(0))
    ps_new = sum(new["paid_search"].values())
    assert ps_new > 0 and ps_spend / ps_new == Decimal("250") == Decimal(truths.planted_cac_usd)
    assert truths.planted_cac_channel == "paid_search"
    assert Decimal(truths.cac_usd_by_channel["paid_search"]) == Decimal(250)
    assert truths.cac_usd_by_channel["events"] is None  # spend with no attributed customer
    all_spend = sum((sum(v.values(), Decimal(0)) for v in spend.values()), Decimal(0))
    blended = all_spend / sum(sum(v.values()) for v in new.values())
    assert Decimal(truths.blended_cac_usd) == blended.quantize(Decimal("0.000001"))


def test_planted_spend_credit_is_a_row_of_the_file_and_nets_in_the_truths(sample, finance):
    landing, truths = sample
    credit = truths.planted_spend_credit
    assert credit is not None and credit.channel == "sales" and credit.month == "2024-02"
    rows = list(csv.DictReader(io.StringIO(_text(landing / credit.file), newline="")))
    row = rows[credit.record - 1]
    assert (row["spend"], row["currency"], row["campaign"]) == ("-1500.00", "USD", credit.campaign)
    # The same day and campaign as the charge it corrects: two lines of one export, both kept.
    charge = [r for r in rows if (r["date"], r["campaign"]) == (row["date"], row["campaign"]) and r is not row]
    assert len(charge) == 1 and Decimal(charge[0]["spend"]) > 0
    assert _text(landing / credit.file).split("\r\n")[credit.line - 1].endswith(",-1500.00,USD")
    # Netted: February's sales spend is the month's lines less the credit, and so is its CAC.
    spend, _rejected = _spend_from_files(landing, truths, finance)
    gross = sum((Decimal(r["spend"]) for r in rows if r["date"][:7] == "2024-02" and Decimal(r["spend"]) > 0
                 if re.fullmatch(r"-?\d+\.\d{2}", r["spend"])), Decimal(0))  # fmt: skip
    assert Decimal(credit.amount_usd) == Decimal("-1500")
    assert spend["sales"]["2024-02"] == gross - 1500 == Decimal(truths.spend_usd_by_channel_month["sales"]["2024-02"])


def test_mrr_and_movements_recomputed_from_files(sample, finance):
    landing, truths = sample
    mrr = _mrr_from_files(landing, truths, finance)
    months = list(truths.months)
    previous = Decimal(0)
    for k, month in enumerate(months):
        total = sum((s[k] for s in mrr.values()), Decimal(0))
        assert total == Decimal(truths.mrr_usd_by_month[month]), month
        moves = dict.fromkeys(("new", "expansion", "contraction", "churn", "reactivation"), Decimal(0))
        for series in mrr.values():
            before = series[k - 1] if k else Decimal(0)
            now = series[k]
            if before == 0 and now > 0:
                moves["reactivation" if any(v > 0 for v in series[:k]) else "new"] += now
            elif before > 0 and now == 0:
                moves["churn"] -= before
            elif now != before:
                moves["expansion" if now > before else "contraction"] += now - before
        planted = {kind: Decimal(v) for kind, v in truths.mrr_movements_usd_by_month[month].items()}
        assert planted == moves, month
        assert sum(planted.values(), Decimal(0)) == total - previous, month
        assert truths.paying_customers_by_month[month] == sum(1 for s in mrr.values() if s[k] > 0)
        previous = total
    moved = {kind for m in months for kind, v in truths.mrr_movements_usd_by_month[m].items() if Decimal(v) != 0}
    assert moved == {"new", "expansion", "contraction", "churn", "reactivation"}


def test_planted_cohort_churn(sample, finance):
    landing, truths = sample
    cohort = truths.cohort_churn
    assert cohort.cohort == truths.months[0] and cohort.planted_monthly_churn == 0.05
    mrr = _mrr_from_files(landing, truths, finance)
    customers = _customers(landing)
    first = _first_paid(_invoices(landing), set(customers))
    members = [cid for cid, ts in first.items() if _month(ts) == cohort.cohort]
    assert len(members) == cohort.customers
    for k, month in enumerate(truths.months[1:], start=1):
        exposed = [cid for cid in members if mrr[cid][k - 1] > 0]
        churned = [cid for cid in exposed if mrr[cid][k] == 0]
        assert cohort.by_month[month] == (len(exposed), len(churned)), month
    n, x = cohort.realised_exposed, cohort.realised_churned
    assert abs(x / n - 0.05) < 4 * math.sqrt(0.05 * 0.95 / n)
    # the planted cohort is all on monthly plans: every member faces the 5 % draw each month
    subs = _subscriptions(landing)
    assert all(s["interval"] == "month" for s in subs.values() if s["customer"] in set(members))


def test_life_cycle_features_are_in_the_files(sample):
    landing, truths = sample
    invoices = _invoices(landing)
    by_id = {i["id"]: i for i in invoices}
    subs = _subscriptions(landing)
    # trials: a zero subscription_create invoice, then either a paid cycle invoice or an end at the trial's end
    trial_subs = [s for s in subs.values() if s["trial_start"] is not None]
    assert len(trial_subs) == truths.trials["started"] > 0
    assert {s["status"] for s in trial_subs} >= {"trialing", "canceled", "active"}
    assert any(i["reason"] == "subscription_create" and i["subtotal"] == 0 for i in invoices)
    # plan changes, customer credit carried to the next invoice, reactivation, pending cancellation
    assert sum(i["reason"] == "subscription_update" for i in invoices) == sum(truths.plan_changes.values())
    assert truths.plan_changes["upgrade"] > 0 and truths.plan_changes["downgrade"] > 0
    assert any(i["starting_balance"] < 0 for i in invoices)
    per_customer = defaultdict(int)
    for s in subs.values():
        per_customer[s["customer"]] += 1
    assert sum(n - 1 for n in per_customer.values()) == truths.reactivations > 0
    assert any(s["status"] == "active" and s["cancel_at_period_end"] for s in subs.values())
    # refunds: full and partial, against paid invoices that are not the customer's first paid one
    customers = _customers(landing)
    first_paid_invoice = {}
    for inv in sorted(invoices, key=lambda i: (i["paid_at"], i["id"])):
        if inv["customer"] in customers and inv["amount_paid"] > 0:
            first_paid_invoice.setdefault(inv["customer"], inv["id"])
    kinds = defaultdict(int)
    refunded = defaultdict(Decimal)
    for row in _csv(landing, f"{STRIPE}/dashboard/refunds.csv"):
        inv = by_id[row["Invoice ID"]]
        assert inv["customer"] == row["Customer ID"] and inv["currency"] == row["Currency"]
        assert first_paid_invoice[inv["customer"]] != inv["id"]
        amount = _minor(row["Amount"])
        kinds["full" if amount == inv["amount_paid"] else "partial"] += 1
        rate = billing_module.FX_RATES[row["Currency"].upper()]
        refunded[_month(_ts(row["Created (UTC)"]))] += Decimal(amount) * rate / 100
    assert dict(kinds) == truths.refunds_by_kind and kinds["full"] > 0 and kinds["partial"] > 0
    assert {m: Decimal(v) for m, v in truths.refunds_usd_by_month.items() if Decimal(v)} == dict(refunded)
    notes = _csv(landing, f"{STRIPE}/dashboard/credit_notes.csv")
    assert len(notes) == 1 and notes[0]["Invoice"] in by_id
    assert (
        sum(Decimal(v) for v in truths.credit_notes_usd_by_month.values()) == Decimal(_minor(notes[0]["Amount"])) / 100
    )
    # a forever coupon: 20 % off every invoice of those subscriptions
    coupon_subs = {sid for sid, s in subs.items() if s["percent_off"] == 20}
    assert coupon_subs
    for inv in invoices:
        if inv["subscription"] in coupon_subs:
            assert inv["discount"] == inv["subtotal"] * 20 // 100


def test_customers_are_the_analytics_sample_users(tmp_path):
    """Same seed and users: every plan_upgraded user of the analytics sample is a customer paying at that second."""
    users = 300
    analytics = generate_analytics(tmp_path / "a", users=users, seed=11)
    billing = generate_billing(tmp_path / "b", users=users, seed=11, months=3)
    upgrades = {}
    for rel in analytics.files:
        if rel.startswith("analytics/segment/"):
            for row in csv.DictReader(io.StringIO(_text(tmp_path / "a" / rel), newline="")):
                if row["event"] == "plan_upgraded" and row["user_id"] and row["timestamp"][:4].isdigit():
                    t = datetime.strptime(row["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                    upgrades[row["user_id"]] = (int(t.timestamp()), row["revenue"], row["properties_currency"])
    assert len(upgrades) == analytics.activation.realised_step_users[3] + analytics.activation.after_window_users[2]
    landing = tmp_path / "b"
    customers = _customers(landing)
    invoices = _invoices(landing)
    first = {}
    for inv in sorted(invoices, key=lambda i: (i["paid_at"], i["id"])):
        if inv["customer"] in customers and inv["amount_paid"] > 0:
            first.setdefault(inv["customer"], inv)
    analytics_end = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())
    early = {customers[cid]["user_id"]: inv for cid, inv in first.items() if inv["paid_at"] < analytics_end}
    assert set(early) == set(upgrades)
    for user_id, (t, revenue, currency) in upgrades.items():
        inv = early[user_id]
        assert inv["paid_at"] == t
        assert inv["currency"] == currency.lower()
        assert inv["subtotal"] == _minor(revenue)
    signed_up = {str(100_000 + i) for i in range(users)}
    assert {c["user_id"] for c in customers.values()} <= signed_up
    assert billing.customers_from_analytics_upgrades == len(upgrades)
    assert billing.customers_outside_analytics_sample == 0


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="first day"):
        generate_billing(tmp_path, start=date(2024, 1, 2))
    with pytest.raises(ValueError, match="months"):
        generate_billing(tmp_path, months=2)
    with pytest.raises(ValueError, match="users"):
        generate_billing(tmp_path, users=50)
