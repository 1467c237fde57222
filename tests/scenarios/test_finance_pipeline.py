"""Unit economics end to end: the billing and marketing samples through the whole job, read from the PUBLISHED marts
and compared with the truths the generator planted (sample_generator/billing.py).

One module-scoped run: generate_billing at its smallest accepted size (users=200, months=4). The analytics sample
is NOT generated: generate_billing replays the analytics journeys itself (no files needed), and without analytics
events fct_customer_acquisition cannot re-attribute the truths' "unattributed" customers by first-touch UTM (that
truth, first_touch_utm_customers, is asserted on the shared run in test_rule_coverage_pipeline.py), so channels
are the billing metadata's, as in the channel truths.

Money: the truths are exact decimals (minor x rate / 100, 6 places); marts store DECIMAL(18,4). Sums are compared
to the cent (|difference| < 0.005 USD).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from core.settings import Paths
from ingest.common.manifest import read_manifest
from orchestration.run_records import checks_failed, checks_not_judged, checks_warned
from pmw.pipeline import RunOutcome, run_pipeline
from sample_generator.billing import generate_billing

pytestmark = pytest.mark.slow

CENT = Decimal("0.005")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Paths, RunOutcome, dict]:
    paths = Paths(tmp_path_factory.mktemp("finance") / "data").ensure()
    truths = generate_billing(paths.landing, seed=11, users=200, months=4)
    outcome = run_pipeline(paths)
    return paths, outcome, truths.to_dict()


def _marts(paths: Paths, sql: str) -> list[tuple]:
    con = duckdb.connect(str(Path(paths.published) / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _close(a, b) -> bool:
    return abs(Decimal(str(a)) - Decimal(str(b))) < CENT


def test_pipeline_succeeds_and_publishes_the_finance_marts(run):
    paths, outcome, _ = run
    assert outcome.ok, outcome.to_dict()
    # A first run: nothing failed or warned; the volume checks have no history yet and say so (not judged).
    assert checks_failed(outcome.checks) + checks_warned(outcome.checks) == []
    not_judged = checks_not_judged(outcome.checks)
    assert not_judged and all(c["check"].endswith("_volume") for c in not_judged), not_judged
    tables = {r[0] for r in _marts(paths, "select table_name from information_schema.tables")}
    assert tables >= {"fct_mrr", "fct_customer_acquisition", "fct_cac", "fct_cohort_ltv", "fct_unit_economics"}


def test_planted_paid_search_cac_is_250_over_the_period(run):
    paths, _, truths = run
    [(spend, customers)] = _marts(
        paths,
        "select sum(spend), sum(new_paying_customers) from marts.fct_cac where channel = 'paid_search'",
    )
    assert customers == truths["new_paying_customers_by_channel"]["paid_search"] > 0
    assert _close(spend / customers, truths["planted_cac_usd"])
    assert Decimal(truths["planted_cac_usd"]) == Decimal("250")


def test_new_paying_customers_per_channel_and_month(run):
    paths, _, truths = run
    rows = _marts(
        paths,
        "select channel, strftime(month_start, '%Y-%m'), new_paying_customers from marts.fct_cac"
        " where not is_blended and new_paying_customers > 0",
    )
    got = {(ch, m): n for ch, m, n in rows}
    want = {
        (ch, m): n for ch, by in truths["new_paying_customers_by_channel_month"].items() for m, n in by.items() if n
    }
    assert got == want


def test_spend_per_channel_and_month(run):
    paths, _, truths = run
    rows = _marts(
        paths,
        "select channel, strftime(month_start, '%Y-%m'), spend from marts.fct_cac where not is_blended and spend != 0",
    )
    got = {(ch, m): v for ch, m, v in rows}
    want = {(ch, m): v for ch, by in truths["spend_usd_by_channel_month"].items() for m, v in by.items() if Decimal(v)}
    assert set(got) == set(want)
    off = {k: (str(got[k]), want[k]) for k in want if not _close(got[k], want[k])}
    assert not off, off


def test_planted_spend_credit_is_loaded_netted_and_gives_the_cac(run):
    """The sample's vendor credit (a negative spend line beside its charge) is loaded, never quarantined (the bad
    rows test holds the quarantine to the planted malformed rows), and nets against its channel's month."""
    paths, _, truths = run
    credit = truths["planted_spend_credit"]
    [(gross, credits, spend, customers, cac, status)] = _marts(
        paths,
        "select gross_spend, credits, spend, new_paying_customers, cac, cac_status from marts.fct_cac"
        f" where channel = '{credit['channel']}' and strftime(month_start, '%Y-%m') = '{credit['month']}'",
    )
    assert credits == Decimal(credit["amount_usd"]) == Decimal("-1500")
    assert spend == gross + credits and _close(
        spend, truths["spend_usd_by_channel_month"][credit["channel"]][credit["month"]]
    )
    new = truths["new_paying_customers_by_channel_month"][credit["channel"]][credit["month"]]
    assert customers == new
    if spend > 0 and new > 0:
        assert status == "measured" and cac == (spend / new).quantize(Decimal("0.0001"))
    else:
        assert cac is None and status in {"no_customers", "no_spend", "net_credit"}


def test_no_cac_without_spend_and_no_target_met_without_a_cac(run):
    paths, _, _ = run
    assert _marts(
        paths,
        "select count(*) from marts.fct_unit_economics where cac_status != 'measured' and (cac is not null"
        " or ltv_to_cac is not null or payback_months is not null or ltv_cac_ok or payback_ok)",
    ) == [(0,)]
    assert _marts(paths, "select count(*) from marts.fct_cac where cac = 0") == [(0,)]


def test_mrr_per_month_where_defined_identically(run):
    """Both define MRR as the recurring amount in force at the month's end, net of the coupon, annual / 12.

    The first month, and the number of paying customers (MRR > 0) every month; the full month-by-month MRR
    (plan changes included, also those exported without invoice lines) is the next test.
    """
    paths, _, truths = run
    got = dict(_marts(paths, "select strftime(month_start, '%Y-%m'), sum(mrr) from marts.fct_mrr group by 1"))
    first = truths["months"][0]
    assert _close(got[first], truths["mrr_usd_by_month"][first])
    paying = dict(
        _marts(
            paths,
            "select strftime(month_start, '%Y-%m'), count(*) filter (where mrr > 0) from marts.fct_mrr group by 1",
        )
    )
    assert {m: paying.get(m, 0) for m in truths["months"]} == truths["paying_customers_by_month"]


def test_mrr_per_month_equals_the_truths(run):
    paths, _, truths = run
    got = dict(_marts(paths, "select strftime(month_start, '%Y-%m'), sum(mrr) from marts.fct_mrr group by 1"))
    off = {m: (str(got.get(m)), v) for m, v in truths["mrr_usd_by_month"].items() if not _close(got.get(m, 0), v)}
    assert not off, off


def test_mrr_movements_sum_to_the_mrr_change_every_month(run):
    paths, _, _ = run
    rows = _marts(
        paths,
        "select strftime(month_start, '%Y-%m'), sum(mrr), sum(previous_mrr),"
        " sum(new_mrr + expansion_mrr + contraction_mrr + churned_mrr + reactivation_mrr)"
        " from marts.fct_mrr group by 1 order by 1",
    )
    assert len(rows) >= 4
    previous_total = Decimal(0)
    for month, mrr, previous, movements in rows:
        assert movements == mrr - previous, month
        assert previous == previous_total, month  # previous_mrr carries last month's total (no customer dropped)
        previous_total = mrr


def test_refunds_reduce_revenue_in_their_month(run):
    """fct_mrr.refunds holds refunds AND credit notes of the month (the truths report them apart)."""
    paths, _, truths = run
    rows = _marts(
        paths,
        "select strftime(month_start, '%Y-%m'), sum(revenue), sum(refunds), sum(net_revenue) from marts.fct_mrr"
        " group by 1",
    )
    by_month = {m: (rev, ref, net) for m, rev, ref, net in rows}
    refunded = [m for m, v in truths["refunds_usd_by_month"].items() if Decimal(v) > 0]
    assert refunded, "the sample plants refunds"
    for month in truths["months"]:
        rev, ref, net = by_month[month]
        want = Decimal(truths["refunds_usd_by_month"][month]) + Decimal(truths["credit_notes_usd_by_month"][month])
        assert _close(ref, want), (month, ref, want)
        assert _close(net, rev - ref)


def test_january_cohort_realised_churn(run):
    paths, _, truths = run
    cohort = truths["cohort_churn"]
    rows = _marts(
        paths,
        f"""
        with cohort as (
            select customer_id from marts.fct_customer_acquisition
            where strftime(cohort_month, '%Y-%m') = '{cohort["cohort"]}'
        )
        select strftime(m.month_start, '%Y-%m'),
            count(*) filter (where m.previous_mrr > 0),
            count(*) filter (where m.previous_mrr > 0 and m.mrr = 0)
        from marts.fct_mrr as m inner join cohort using (customer_id)
        group by 1
        """,
    )
    got = {m: (exposed, churned) for m, exposed, churned in rows if m in cohort["by_month"]}
    assert got == {m: tuple(v) for m, v in cohort["by_month"].items()}
    assert _marts(
        paths,
        "select count(*) from marts.fct_customer_acquisition"
        f" where strftime(cohort_month, '%Y-%m') = '{cohort['cohort']}'",
    ) == [(cohort["customers"],)]


def test_gross_margin_used_is_0_78(run):
    paths, _, truths = run
    assert truths["gross_margin"] == "0.78"
    for table in ("fct_cohort_ltv", "fct_unit_economics"):
        assert _marts(paths, f"select distinct gross_margin from marts.{table}") == [(Decimal("0.78"),)], table
    # cumulative gross margin = cumulative net revenue x 0.78
    bad = _marts(
        paths,
        "select count(*) from marts.fct_cohort_ltv"
        " where abs(cumulative_gross_margin - cumulative_net_revenue * 0.78) >= 0.0001",
    )
    assert bad == [(0,)]


def test_planted_bad_rows_are_quarantined_and_every_row_is_accounted_for(run):
    paths, _, truths = run
    planted = {}
    for bad in truths["bad_rows"]:
        planted.setdefault(bad["file"], []).append(bad)
    for source in ("billing", "marketing"):
        records = read_manifest(paths, source)
        files = [f for f in truths["files"] if f.startswith(f"{source}/")]
        assert {r["path"] for r in records} == set(files) or len(records) == len(files)
        for r in records:
            assert r["status"] == "loaded", r
            assert r["rows_in"] == r["rows_loaded"] + r["rows_rejected"] + r["rows_skipped"], r
            rel = next(f for f in files if r["path"].endswith(f))
            assert r["rows_rejected"] == len(planted.get(rel, [])), r
        quarantined = duckdb.sql(
            f"select _source_file, _record_number from read_parquet('{paths.quarantine_dir}/{source}/**/*.parquet')"
        ).fetchall()
        want = {(b["file"], b["record"]) for f, bs in planted.items() if f.startswith(f"{source}/") for b in bs}
        assert {(f if f.startswith(f"{source}/") else f"{source}/{f}", n) for f, n in quarantined} == want
    skipped = {r["path"]: r["rows_skipped"] for r in read_manifest(paths, "marketing") if r["rows_skipped"]}
    # Totals and summary rows only: the Google Ads UI CSV's "Total:" lines and Meta's summary row.
    assert all("google_ads" in p or "meta_ads" in p for p in skipped), skipped
    assert all(r["rows_skipped"] == 0 for r in read_manifest(paths, "billing"))
