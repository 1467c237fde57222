"""Restated numbers (publish/restatements.py): the comparison of closed-period headline values between releases,
the causes named from the ingest manifest, the daily snapshot table, and what the summary and report say."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from core.config import ConfigError, RestatementsConfig, parse_config
from core.settings import Paths
from pmw.summary import _restatement_lines
from publish.release import current_publication, publish
from publish.report.sections import section_restatements
from publish.restatements import (
    NO_CAUSE,
    SNAPSHOT_COLUMNS,
    SNAPSHOT_TABLE,
    HeadlineValue,
    LandedFile,
    Restatement,
    beyond_tolerance,
    explain,
    landed_since,
    restated_values,
)

JAN, FEB = date(2024, 1, 1), date(2024, 2, 1)


def _value(metric="mrr", value=100.0, *, start=JAN, closed=True, channel="(all)", sources=("billing",), **kw):
    grain = kw.pop("grain", "month")
    end = kw.pop("end", FEB)
    return HeadlineValue(
        metric=metric,
        grain=grain,
        period_start=start,
        period_end=end,
        analysis=kw.pop("analysis", "(all)"),
        channel=channel,
        cohort_period=kw.pop("cohort_period", None),
        value=value,
        unit=kw.pop("unit", "currency"),
        feeding_sources=sources,
        inputs_from=kw.pop("inputs_from", start),
        inputs_until=kw.pop("inputs_until", end),
        is_closed=closed,
    )


def _by_key(*values: HeadlineValue) -> dict:
    return {v.key: v for v in values}


def _config(**tolerances) -> RestatementsConfig:
    return RestatementsConfig.model_validate({"tolerances": tolerances})


# ---------------------------------------------------------------------------------------------- tolerance


@pytest.mark.parametrize(
    ("old", "new", "absolute", "relative", "listed"),
    [
        (100.0, 100.0, 0, 0, False),
        (100.0, 100.01, 0, 0, True),  # no tolerance: any move
        (100.0, 100.5, 0.5, 0, False),  # exactly the absolute tolerance: within
        (100.0, 100.51, 0.5, 0, True),
        (100.0, 99.0, 0, 0.01, False),  # exactly 1 % of the old value: within
        (100.0, 98.9, 0, 0.01, True),
        (100.0, 101.5, 2.0, 0.01, False),  # the larger of the two tolerances wins
        (None, 5.0, 1000, 1, True),  # NULL -> a number: always listed
        (5.0, None, 1000, 1, True),  # a number -> NULL: always listed
        (None, None, 0, 0, False),
    ],
)
def test_tolerance_edges(old, new, absolute, relative, listed):
    assert beyond_tolerance(old, new, absolute, relative) is listed


def test_only_closed_values_of_the_previous_release_are_compared():
    previous = _by_key(
        _value(value=100.0, start=JAN, end=FEB),
        _value(value=50.0, start=FEB, end=date(2024, 3, 1), closed=False),  # open: it was still filling
    )
    current = _by_key(
        _value(value=90.0, start=JAN, end=FEB),
        _value(value=80.0, start=FEB, end=date(2024, 3, 1)),  # closed now, but it was open: not a restatement
        _value(value=7.0, start=date(2024, 3, 1), end=date(2024, 4, 1)),  # a new period: not a restatement
    )
    changes = restated_values(previous, current, _config())
    assert [(c.previous.period_start, c.old, c.new, c.delta) for c in changes] == [(JAN, 100.0, 90.0, -10.0)]


def test_a_closed_value_gone_or_turned_null_is_a_change_and_per_metric_tolerances_apply():
    previous = _by_key(
        _value("mrr", 100.0),
        _value("cac", 20.0, channel="paid_search"),
        _value("cac", None, channel="events"),
        _value("refunds", 10.0),
    )
    current = _by_key(
        # mrr row gone entirely
        _value("cac", None, channel="paid_search"),
        _value("cac", 30.0, channel="events"),
        _value("refunds", 10.004),  # within its tolerance of 0.01
    )
    changes = restated_values(previous, current, _config(refunds={"absolute": 0.01}))
    assert [(c.previous.metric, c.previous.channel, c.old, c.new) for c in changes] == [
        ("cac", "events", None, 30.0),
        ("cac", "paid_search", 20.0, None),
        ("mrr", "(all)", 100.0, None),
    ]
    assert all(c.delta is None for c in changes)


# --------------------------------------------------------------------------------------------------- causes


def _file(source, path, rows_from, rows_until):
    return LandedFile(source, path, path.encode().hex()[:16], "2026-12-07T10:00:00Z", rows_from, rows_until)


def test_causes_are_the_files_of_a_feeding_source_whose_rows_overlap_the_input_days():
    dau = _value(
        "dau",
        100.0,
        start=date(2024, 1, 10),
        end=date(2024, 1, 11),
        grain="day",
        unit="users",
        sources=("analytics",),
        inputs_from=date(2024, 1, 10),
        inputs_until=date(2024, 1, 11),
    )
    late_events = _file("analytics", "analytics/late.jsonl", date(2024, 1, 10), date(2024, 1, 11))
    other_days = _file("analytics", "analytics/feb.jsonl", date(2024, 2, 1), date(2024, 2, 2))
    day_before = _file("analytics", "analytics/jan9.jsonl", date(2024, 1, 9), date(2024, 1, 10))  # until exclusive
    refunds = _file("billing", "billing/refunds.csv", date(2024, 1, 10), date(2024, 1, 11))
    undated = _file("analytics", "analytics/undated.csv", None, None)  # no day column known: matched by source
    change = explain(Restatement(dau, 100.0, 101.0), [late_events, other_days, day_before, refunds, undated])
    assert [c.path for c in change.causes] == ["analytics/late.jsonl", "analytics/undated.csv"]
    record = change.to_dict()
    assert "analytics/late.jsonl" in record["cause"] and "rows 2024-01-10..2024-01-10" in record["cause"]
    assert "rows' days not recorded" in record["cause"]
    # MRR reads every subscription so far (inputs_from NULL): an older file explains it, a later one does not.
    mrr = _value("mrr", 100.0, inputs_from=None)
    old_file = _file("billing", "billing/old.csv", date(2023, 6, 1), date(2023, 6, 2))
    march = _file("billing", "billing/march.csv", date(2024, 3, 1), date(2024, 3, 2))
    assert [c.path for c in explain(Restatement(mrr, 100.0, 90.0), [old_file, march]).causes] == ["billing/old.csv"]
    assert explain(Restatement(mrr, 100.0, 90.0), [march]).to_dict()["cause"] == NO_CAUSE


def test_landed_since_reads_loaded_files_after_the_release_with_their_rows_days(tmp_path):
    lake = tmp_path / "lake"
    (lake / "billing" / "refunds").mkdir(parents=True)
    (lake / "billing" / "customers").mkdir(parents=True)
    duckdb.sql(
        "copy (select * from (values (timestamp '2024-01-05 10:00'), (timestamp '2024-01-20 23:00')) t(created_at)) "
        f"to '{lake / 'billing' / 'refunds' / 'r1.parquet'}' (format parquet)"
    )
    duckdb.sql(
        "copy (select timestamp '2023-12-01 00:00' as created_at) "
        f"to '{lake / 'billing' / 'customers' / 'c1.parquet'}' (format parquet)"
    )
    records = [
        {
            "source": "billing",
            "path": "billing/late_refunds.csv",
            "sha256": "r1",
            "status": "loaded",
            "finished_at": "2026-12-07T10:00:00.000001Z",
            "lake_files": ["billing/refunds/r1.parquet", "billing/customers/c1.parquet"],
        },
        {
            "source": "billing",
            "path": "old.csv",
            "sha256": "o",
            "status": "loaded",
            "finished_at": "2026-12-07T09:00:00Z",
        },
        {
            "source": "billing",
            "path": "bad.csv",
            "sha256": "b",
            "status": "failed",
            "finished_at": "2026-12-07T11:00:00Z",
        },
    ]
    with duckdb.connect() as con:
        files = landed_since(con, lake, records, "2026-12-07T10:00:00+00:00")
    assert [(f.path, f.rows_from, f.rows_until) for f in files] == [
        ("billing/late_refunds.csv", date(2023, 12, 1), date(2024, 1, 21))
    ]


# --------------------------------------------------------------------------------------------- configuration


def _minimal(**sections):
    return {"analytics": {"known_events": ["a"]}, **sections}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"tolerances": {"revenue_per_user": {"absolute": 1}}}, "'revenue_per_user' is not a headline metric"),
        ({"tolerances": {"mrr": {"absolute": -1}}}, "restatements.tolerances.mrr.absolute"),
        ({"default": {"percent": 1}}, "unknown key"),
    ],
)
def test_restatements_configuration_is_validated(section, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(_minimal(restatements=section), Path("test.yml"))
    assert message in str(exc.value)


def test_metrics_without_an_entry_use_the_default_tolerance():
    config = parse_config(
        _minimal(restatements={"default": {"relative": 0.02}, "tolerances": {"mrr": {"absolute": 1}}}),
        Path("test.yml"),
    ).restatements
    assert (config.tolerance("dau").relative, config.tolerance("mrr").absolute) == (0.02, 1.0)


# ------------------------------------------------------------------------- publish: the record and the snapshot

_HEADLINE_DDL = (
    "create or replace table marts.fct_headline_metrics as select * from (values "
    "{rows}) t(headline_metric_id, metric, grain, period_start, period_end, analysis, channel, cohort_period, value, "
    "unit, feeding_sources, inputs_from, inputs_until, data_as_of, is_closed)"
)


def _warehouse(paths: Paths, jan_dau: int, feb_dau: int) -> None:
    """A warehouse with one mart and the headline table: DAU of 10 Jan (closed) and of 29 Feb (open)."""
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    rows = ", ".join(
        f"('{day}', 'dau', 'day', date '{day}', date '{day}' + 1, '(all)', '(all)', null::integer, {dau}::double, "
        f"'users', 'analytics', date '{day}', date '{day}' + 1, date '2024-02-29', {closed})"
        for day, dau, closed in (("2024-01-10", jan_dau, "true"), ("2024-02-29", feb_dau, "false"))
    )
    with duckdb.connect(str(paths.warehouse_path)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.fct_a as select 1 as id")
        con.execute(_HEADLINE_DDL.format(rows=rows))


def _snapshots(paths: Paths) -> list[tuple]:
    with duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True) as con:
        return con.execute(f"select snapshot_date, period_start, value from {SNAPSHOT_TABLE} order by all").fetchall()


def _late_events_record(paths: Paths) -> dict:
    lake_file = paths.lake / "analytics" / "events" / "late.parquet"
    lake_file.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"copy (select timestamp '2024-01-10 12:00' as event_time) to '{lake_file}' (format parquet)")
    return {
        "source": "analytics",
        "path": "analytics/late_2024-01-10.jsonl",
        "sha256": "late",
        "status": "loaded",
        "finished_at": datetime.now(UTC).isoformat(),
        "lake_file": "analytics/events/late.parquet",
    }


def test_releases_list_restated_closed_values_with_their_files_and_keep_one_snapshot_per_day(tmp_path, monkeypatch):
    paths = Paths(tmp_path / "data")
    paths.ensure()
    _warehouse(paths, jan_dau=100, feb_dau=40)
    first = publish(paths, run_id="run-1")
    assert first.restatements["status"] == "first_release"
    assert "The first release: there is no earlier release to compare with." in (
        paths.published / "report.html"
    ).read_text(encoding="utf-8")
    with duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True) as con:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns where table_name = ? "
            "order by ordinal_position",
            [SNAPSHOT_TABLE],
        ).fetchall()
    assert tuple(columns) == SNAPSHOT_COLUMNS  # the interface publish records before building the table
    record = current_publication(paths)
    assert SNAPSHOT_TABLE in {t["name"] for t in record["tables"]}
    assert SNAPSHOT_TABLE in record["interface"]["tables"]

    # A late event file lands for 10 Jan; 29 Feb was open and moves too, but only 10 Jan is a restatement.
    late = _late_events_record(paths)
    _warehouse(paths, jan_dau=103, feb_dau=55)
    second = publish(paths, run_id="run-2", read_landed=lambda: [late])
    changes = second.restatements["changes"]
    assert [(c["period_start"], c["old"], c["new"], c["delta"]) for c in changes] == [("2024-01-10", 100.0, 103.0, 3.0)]
    assert [c["path"] for c in changes[0]["causes"]] == ["analytics/late_2024-01-10.jsonl"]
    assert current_publication(paths)["restatements"]["compared_with"] == first.release_id
    html = (paths.published / "report.html").read_text(encoding="utf-8")
    assert "Restated numbers" in html and "analytics/late_2024-01-10.jsonl" in html
    summary = "\n".join(_restatement_lines(current_publication(paths)))
    assert "dau, 2024-01-10: 100 -> 103 (+3); cause: analytics analytics/late_2024-01-10.jsonl" in summary
    # Same day: the day's snapshot was replaced, not appended.
    today = second.restatements["snapshot"]["snapshot_date"]
    assert _snapshots(paths) == [
        (date.fromisoformat(today), date(2024, 1, 10), 103.0),
        (date.fromisoformat(today), date(2024, 2, 29), 55.0),
    ]

    # Unchanged marts: nothing published, the served record keeps its restatements.
    assert publish(paths, run_id="run-3").status == "unchanged"

    # The next day, with new numbers: yesterday's snapshot is kept, today's added; nothing restated.
    tomorrow = datetime.now(UTC) + timedelta(days=1)

    class _Tomorrow(datetime):
        @classmethod
        def now(cls, tz=None):
            return tomorrow

    monkeypatch.setattr("publish.release.datetime", _Tomorrow)
    _warehouse(paths, jan_dau=103, feb_dau=60)
    third = publish(paths, run_id="run-4")
    assert third.restatements["changes"] == []
    assert [r[0] for r in _snapshots(paths)] == [date.fromisoformat(today)] * 2 + [tomorrow.date()] * 2
    assert "none since release " + second.release_id in "\n".join(_restatement_lines(current_publication(paths)))
    assert f"None since release {second.release_id}" in (paths.published / "report.html").read_text(encoding="utf-8")


def test_report_section_states_why_nothing_is_listed():
    assert "no earlier release" in section_restatements({"status": "first_release", "changes": []})
    assert "predates the headline numbers" in section_restatements(
        {"status": "previous_without_headline", "compared_with": "r0", "changes": []}
    )
    empty = section_restatements(
        {"status": "compared", "compared_with": "r1", "closed_values_compared": 7, "changes": []}
    )
    assert "None since release r1" in empty and "7 closed-period values compared" in empty
    hostile = Restatement(_value("cac", 1.0, channel="<script>x</script>"), 1.0, 2.0).to_dict()
    html = section_restatements({"status": "compared", "compared_with": "r1", "changes": [hostile]})
    assert "<script>x" not in html and NO_CAUSE.split(" (")[0] in html
    assert json.dumps(hostile)  # the record's change is plain JSON


def test_a_restatement_alert_is_a_warning_naming_each_value_and_its_file():
    from orchestration.alerts import restatements_alert

    late = _file("billing", "billing/refunds_late.csv", date(2024, 1, 20), date(2024, 1, 21))
    change = explain(Restatement(_value("refunds", 10.0), 10.0, 20.0), [late]).to_dict()
    alert = restatements_alert("run-1234567890", "r2", {"compared_with": "r1", "changes": [change]})
    assert alert.kind == "restatement"
    assert alert.title == "pmw: 1 closed-period number(s) restated since release r1"
    assert "refunds, month of 2024-01: 10.00 -> 20.00 (+10.00); cause: billing billing/refunds_late.csv" in alert.text
    assert "Release r2 is served" in alert.text


def test_text_made_spreadsheet_safe_on_publication_does_not_look_like_a_restatement(tmp_path):
    """The previous release holds published (spreadsheet-safe) text: '=cmd' became "'=cmd". The new values are
    compared as published too, so an unchanged value under such a channel is not 'gone'."""
    paths = Paths(tmp_path / "data")
    paths.ensure()
    for run, rows in (("run-1", 1), ("run-2", 2)):  # the second build changes another mart, so it publishes
        paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(paths.warehouse_path)) as con:
            con.execute("create schema if not exists marts")
            con.execute(f"create or replace table marts.fct_a as select range as id from range({rows})")
            con.execute(
                _HEADLINE_DDL.format(
                    rows="('k', 'cac', 'month', date '2024-01-01', date '2024-02-01', '(all)', '=cmd', null::integer, "
                    "12.5, 'currency', 'billing', null::date, date '2024-02-01', date '2024-03-01', true)"
                )
            )
        result = publish(paths, run_id=run)
    assert result.status == "published" and result.restatements["status"] == "compared"
    assert result.restatements["changes"] == []
