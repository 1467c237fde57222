"""Restated numbers on the generated sample: a late refund and late events change closed periods, and the next
release lists each changed value with the file behind it (record, `pmw summary`, report.html); a clean re-run
flags nothing.

Two pipeline runs on a copy of the fault suite's reference data directory (its clean run is the release compared
with): one with the two late files, one with nothing new.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pytest

from core.settings import Paths
from pmw.pipeline import run_pipeline
from pmw.summary import build_summary, format_summary
from publish.release import current_publication
from tests.support.faults import assert_rows_accounted

pytestmark = pytest.mark.slow

LATE_REFUND = "billing/stripe/dashboard/refunds_late_2024-01.csv"
LATE_EVENTS = "analytics/mixpanel/mixpanel_export_late_reports.jsonl"
REFUND_CENTS = 1000  # 10.00 USD: the reporting currency, so the restated refunds move by exactly 10.00
LATE_USERS = 4


def _land_late_refund(paths: Paths) -> str:
    """A refund of an early January invoice of a USD customer, exported only now (Stripe dashboard CSV)."""
    invoices = paths.lake / "billing" / "invoices" / "*.parquet"
    invoice_id, customer_id, paid_at = duckdb.execute(
        f"select invoice_id, customer_id, paid_at from read_parquet('{invoices}') "
        "where status = 'paid' and currency = 'usd' and amount_paid_minor > 2000 "
        "and paid_at < timestamp '2024-01-20' order by paid_at, invoice_id limit 1"
    ).fetchone()
    created = (paid_at + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    target = paths.landing / LATE_REFUND
    target.write_text(
        "id,Charge ID,Invoice ID,Customer ID,Amount,Currency,Reason,Status,Created (UTC)\n"
        f"re_late0000000000000000001,ch_late0000000000000000001,{invoice_id},{customer_id},"
        f"{REFUND_CENTS / 100:.2f},usd,requested_by_customer,succeeded,{created}\n",
        encoding="utf-8",
    )
    return LATE_REFUND


def _land_late_events(paths: Paths, tz_offset_hours: int = -8) -> date:
    """A late Mixpanel export: known users, not active that day, create and share a report on a day ten days in
    (the project timezone, America/Los_Angeles, is UTC-8 in January: Mixpanel times are its wall clock)."""
    events = paths.lake / "analytics" / "events" / "*.parquet"
    first_day = duckdb.execute(f"select min(cast(event_time as date)) from read_parquet('{events}')").fetchone()[0]
    day = first_day + timedelta(days=10)
    users = [
        r[0]
        for r in duckdb.execute(
            f"select user_id from read_parquet('{events}') where user_id is not null group by user_id "
            f"having min(event_time) < timestamp '{day}' "
            f"and count(*) filter (where cast(event_time as date) = date '{day}') = 0 "
            f"order by user_id limit {LATE_USERS}"
        ).fetchall()
    ]
    assert len(users) == LATE_USERS
    lines = []
    for n, user in enumerate(users):
        utc = datetime.combine(day, time(18, n))  # evening UTC: the same day in UTC and in Los Angeles
        wall_clock = int((utc + timedelta(hours=tz_offset_hours)).replace(tzinfo=UTC).timestamp())
        for offset, event, extra in ((0, "report_created", {}), (120, "report_shared", {"channel": "email"})):
            props = {
                "time": wall_clock + offset,
                "distinct_id": user,
                "$user_id": user,
                "$insert_id": f"late-{n}-{event}",
                "$os": "Mac OS X",
                "mp_country_code": "DE",
                **extra,
            }
            lines.append(json.dumps({"event": event, "properties": props}))
    (paths.landing / LATE_EVENTS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return day


def test_late_refund_and_late_events_are_listed_with_their_files_and_a_clean_rerun_flags_nothing(
    reference, published_copy
):
    paths = published_copy
    # The reference's clean run was the first release: it says so and lists nothing.
    assert current_publication(reference.paths)["restatements"]["status"] == "first_release"
    refund_file = _land_late_refund(paths)
    late_day = _land_late_events(paths)

    outcome = run_pipeline(paths)
    assert outcome.ok, outcome.to_dict()
    assert_rows_accounted(paths)
    record = current_publication(paths)
    restatements = record["restatements"]
    assert restatements["status"] == "compared" and restatements["compared_with"] == reference.release_id
    changes = restatements["changes"]
    by_metric: dict[str, list[dict]] = {}
    for change in changes:
        by_metric.setdefault(change["metric"], []).append(change)
        # Only these two files landed: every restated value names one of them.
        assert {c["path"] for c in change["causes"]} <= {refund_file, LATE_EVENTS}, change

    january_money = {c["metric"]: c for c in changes if c["period_start"] == "2024-01-01" and c["unit"] == "currency"}
    assert january_money["refunds"]["delta"] == pytest.approx(REFUND_CENTS / 100)
    assert january_money["net_revenue"]["delta"] == pytest.approx(-REFUND_CENTS / 100)
    assert [c["path"] for c in january_money["refunds"]["causes"]] == [refund_file]

    dau = [c for c in by_metric["dau"] if c["period_start"] == late_day.isoformat()]
    assert len(dau) == 1 and dau[0]["delta"] == LATE_USERS
    assert [c["path"] for c in dau[0]["causes"]] == [LATE_EVENTS]
    late_week = (late_day - timedelta(days=late_day.weekday())).isoformat()
    sharing = [c for c in by_metric["funnel_conversion"] if c["analysis"] == "sharing"]
    assert [c["period_start"] for c in sharing] == [late_week]
    assert sharing[0]["delta"] > 0 and [c["path"] for c in sharing[0]["causes"]] == [LATE_EVENTS]
    # No activity number is blamed on the refund, no refund number on the events.
    activity_causes = {c["path"] for m in ("dau", "wau", "mau") for x in by_metric.get(m, []) for c in x["causes"]}
    refund_causes = {c["path"] for m in ("refunds", "net_revenue") for x in by_metric[m] for c in x["causes"]}
    assert (activity_causes, refund_causes) == ({LATE_EVENTS}, {refund_file})

    summary = format_summary(build_summary(paths))
    assert f"restated numbers (closed periods changed by release {record['release_id']})" in summary
    assert "refunds, month of 2024-01: " in summary and refund_file in summary
    assert f"dau, {late_day.isoformat()}: " in summary and LATE_EVENTS in summary
    report = (paths.published / "report.html").read_text(encoding="utf-8")
    assert "Restated numbers" in report and refund_file in report and LATE_EVENTS in report
    with duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True) as con:
        days = con.execute("select count(distinct snapshot_date) from fct_headline_metric_snapshots").fetchone()[0]
    assert days == 1  # the reference's snapshot of today replaced by this release's

    rerun = run_pipeline(paths)
    assert rerun.ok, rerun.to_dict()
    assert current_publication(paths)["release_id"] == record["release_id"]  # nothing new: nothing published
    assert "none since" not in format_summary(build_summary(paths))  # still the restatements of that release
