"""ingest/marketing: Google Ads UI and API (CSV, JSON), Meta Ads Manager and plain spend CSVs, exact decimals,
totals rows skipped and counted, the quarantine reasons, channel mapping, manifest, idempotency and the contract."""

from __future__ import annotations

import errno
import functools
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.common import atomic
from ingest.common.manifest import read_manifest, read_manifest_record
from ingest.common.report import IngestReport
from ingest.marketing import contract, ingest_marketing

SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "marketing"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture
def config() -> PipelineConfig:
    finance = {
        "reporting_currency": "USD",
        "fx_rates": {"USD": "1", "EUR": "1.0850"},
        "channel_map": {
            "google_ads": "paid_search",
            "meta_ads": "paid_social",
            "Affiliates": "affiliate",
            "Events": "events",
            "Sales team": "sales",
        },
    }
    return parse_config({"analytics": {"mixpanel_project_timezone": "UTC"}, "finance": finance}, Path("t.yml"))


def land(paths: Paths, sample: str, name: str | None = None) -> Path:
    target = paths.landing / "marketing" / (name or sample)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLES / sample, target)
    return target


def run(paths: Paths, config: PipelineConfig, **kwargs: Any) -> IngestReport:
    report = ingest_marketing(paths, config, **kwargs)
    for result in report.results:  # invariant 2 with skipped totals rows, on every run of every test
        assert result.rows_in == result.rows_loaded + result.rows_rejected + result.rows_skipped, result
    return report


def loaded_one(paths: Paths, config: PipelineConfig, sample: str):
    land(paths, sample)
    (result,) = run(paths, config).results
    return result


def spend(paths: Paths, sha256: str | None) -> list[tuple]:
    target = paths.lake / "_pending" / "marketing" / "spend" / f"{sha256}.parquet"
    return duckdb.sql(
        "SELECT _record_number, spend_date, vendor, channel, campaign_id, campaign, spend, currency, impressions, "
        f"clicks FROM read_parquet('{target}') ORDER BY _record_number"
    ).fetchall()


def quarantined(paths: Paths, sha256: str | None) -> list[tuple]:
    target = paths.quarantine_dir / "marketing" / f"{sha256}.parquet"
    return duckdb.sql(
        f"SELECT _record_number, entity, reason FROM read_parquet('{target}') ORDER BY _record_number"
    ).fetchall()


def schema(path: Path) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]


def counts(result) -> tuple[str, str | None, int, int, int, int]:
    return (result.status, result.format, result.rows_in, result.rows_loaded, result.rows_rejected, result.rows_skipped)


def test_google_ads_ui_title_lines_symbols_dashes_and_total_rows(paths: Paths, config: PipelineConfig) -> None:
    result = loaded_one(paths, config, "google_ads_ui.csv")
    assert counts(result) == ("loaded", "google_ads_ui_csv", 8, 3, 2, 3)
    g = ("google_ads", "paid_search")
    assert spend(paths, result.sha256) == [
        (1, date(2024, 1, 1), *g, "1111", "Brand - Search", Decimal("1234.560000"), "USD", 12000, 340),
        (2, date(2024, 1, 1), *g, "2222", "Generic - Search", Decimal("0.750000"), "USD", None, None),
        (3, date(2024, 1, 2), *g, "1111", "Brand - Search", Decimal("0"), "USD", 0, 0),
    ]
    assert quarantined(paths, result.sha256) == [
        (4, "spend", "unparseable Cost 'abc'"),
        (5, "spend", "no FX rate for currency CHF in finance.fx_rates"),
    ]
    assert result.notes == ["3 totals row(s) skipped, never loaded", "1 row(s) with Cost '--' loaded as zero spend"]
    record = read_manifest_record(paths, "marketing", result.sha256)
    assert record is not None
    assert (record["rows_in"], record["rows_loaded"], record["rows_rejected"], record["rows_skipped"]) == (8, 3, 2, 3)
    assert "skipped=3" in result.describe()


def test_google_ads_api_csv_micros_exact(paths: Paths, config: PipelineConfig) -> None:
    result = loaded_one(paths, config, "google_ads_api.csv")
    assert counts(result) == ("loaded", "google_ads_api", 3, 2, 1, 0)
    rows = spend(paths, result.sha256)
    assert [(r[6], r[7], r[8], r[9]) for r in rows] == [
        (Decimal("1234.567891"), "USD", 5000, 120),  # 1234567891 micros, no float rounding
        (Decimal("0.000001"), "USD", 7, 0),
    ]
    assert quarantined(paths, result.sha256) == [
        (3, "spend", "unparseable metrics.cost_micros '12.5' (an integer number of micros)")
    ]


def test_google_ads_api_json_search_stream_nested_camel_case_and_flat(paths: Paths, config: PipelineConfig) -> None:
    result = loaded_one(paths, config, "google_ads_api.json")
    assert counts(result) == ("loaded", "google_ads_api", 3, 3, 0, 0)
    g = ("google_ads", "paid_search", "1111", "Brand - Search")
    generic = ("google_ads", "paid_search", "2222", "Generic - Search")
    assert spend(paths, result.sha256) == [
        (1, date(2024, 1, 5), *g, Decimal("2.500000"), "EUR", 900, 12),
        (2, date(2024, 1, 5), *generic, Decimal("-1.000000"), "EUR", 1, 0),  # negative micros: a credit, loaded
        (3, date(2024, 1, 6), *g, Decimal("0.990000"), "EUR", 10, 1),
    ]
    assert not (paths.lake / "_quarantine" / "marketing" / f"{result.sha256}.parquet").exists()  # nothing rejected


def test_meta_ads_bom_currency_header_and_summary_row(paths: Paths, config: PipelineConfig) -> None:
    assert (SAMPLES / "meta_ads.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    result = loaded_one(paths, config, "meta_ads.csv")
    assert counts(result) == ("loaded", "meta_ads_csv", 4, 2, 1, 1)
    m = ("meta_ads", "paid_social")
    assert spend(paths, result.sha256) == [
        (2, date(2024, 1, 1), *m, "23850000000000001", "Spring Sale", Decimal("1000.100000"), "EUR", 80000, 1100),
        (3, date(2024, 1, 1), *m, "23850000000000002", "Retargeting", Decimal("30.000000"), "EUR", 10000, None),
    ]
    assert quarantined(paths, result.sha256) == [(4, "spend", "unparseable Amount spent '12,34,5'")]


def test_plain_csv_channel_map_and_every_bad_value(paths: Paths, config: PipelineConfig) -> None:
    result = loaded_one(paths, config, "generic.csv")
    assert counts(result) == ("loaded", "generic_csv", 11, 5, 5, 1)
    assert [(r[1], r[2], r[3], r[5], r[6], r[7]) for r in spend(paths, result.sha256)] == [
        (date(2024, 1, 1), "generic", "affiliate", "partner_x", Decimal("2500.000000"), "USD"),
        (date(2024, 1, 15), "generic", "events", "SaaStr booth", Decimal("10000.000000"), "EUR"),
        (date(2024, 1, 31), "generic", "sales", "salaries", Decimal("45000.000000"), "USD"),  # "usd" upper-cased
        (date(2024, 1, 31), "generic", "podcast_ads", "tech_weekly", Decimal("300.000000"), "USD"),  # not in the map
        (date(2024, 1, 31), "generic", "events", "refund", Decimal("-200.000000"), "USD"),  # a credit: loaded, netted
    ]
    assert quarantined(paths, result.sha256) == [
        (6, "spend", "spend 12.3456789 has more than 6 decimals"),
        (7, "spend", "unparseable date '2024-02-30'"),
        (8, "spend", "no FX rate for currency JPY in finance.fx_rates"),
        (9, "spend", "non-finite spend 'NaN'"),
        (10, "spend", "spend -2000000000000.00 is too large in magnitude for the contract's DECIMAL(18,6)"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "unknown layout: marketing/bad.csv: the file is empty"),
        (
            "month,source,cost\n2024-01,tv,100\n",
            "unknown layout: marketing/bad.csv: no Google Ads, Meta Ads or date,channel,campaign,spend,currency "
            "header in the first 5 rows (first row: 'month', 'source', 'cost')",
        ),
        (
            "Campaign name,Amount spent (USD)\nA,1.00\n",
            "unknown layout: marketing/bad.csv: no Google Ads, Meta Ads or date,channel,campaign,spend,currency "
            "header in the first 5 rows (first row: 'Campaign name', 'Amount spent (USD)'); a Meta export needs the "
            "Day breakdown",
        ),
        (
            '{"results": [{"campaign": {"id": "1"}}]}',
            "unknown layout: marketing/bad.csv: JSON without Google Ads report rows (segments.date, "
            "metrics.cost_micros); saw keys results",
        ),
        ("[1,", "malformed JSON in marketing/bad.csv: Expecting value at line 1 column 4"),
        (b"date,channel\xff", "marketing/bad.csv is not UTF-8 text: byte 12 (0xff)"),
    ],
)
def test_file_level_failures_name_the_file_and_the_problem(paths: Paths, config: PipelineConfig, content, message):
    target = paths.landing / "marketing" / "bad.csv"
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    (result,) = run(paths, config).results
    assert result.status == "failed" and result.error is not None and result.error.startswith(message), result.error


def test_schema_equals_the_contract_and_reruns_write_nothing(paths: Paths, config: PipelineConfig) -> None:
    for sample in ("google_ads_ui.csv", "google_ads_api.csv", "google_ads_api.json", "meta_ads.csv", "generic.csv"):
        land(paths, sample)
    land(paths, "generic.csv", "resent/generic.csv")
    first = run(paths, config)
    assert first.failed == [] and first.totals["skipped_duplicate"] == 1
    assert (first.totals["rows_in"], first.totals["rows_skipped"]) == (29, 5)
    assert first.totals["rows_in"] == sum(first.totals[k] for k in ("rows_loaded", "rows_rejected", "rows_skipped"))
    for path in first.new_lake_files:
        assert schema(path) == list(contract.SPEND_COLUMNS)
    assert schema(paths.lake / "marketing" / "spend" / "_schema.parquet") == list(contract.SPEND_COLUMNS)
    for result in first.results:
        if result.quarantine_file is not None:
            assert schema(result.quarantine_file) == list(contract.QUARANTINE_COLUMNS)
    formats = duckdb.sql(
        f"SELECT DISTINCT _source_format FROM read_parquet('{paths.lake}/_pending/marketing/spend/*.parquet')"
    ).fetchall()
    assert {f[0] for f in formats} == {"google_ads_ui_csv", "google_ads_api", "meta_ads_csv", "generic_csv"}

    snapshot = {p: p.stat().st_mtime_ns for p in paths.lake.rglob("*") if p.is_file()}
    second = run(paths, config)
    assert {r.status for r in second.results} == {"already_loaded", "skipped_duplicate"}
    assert second.new_lake_files == []
    assert {p: p.stat().st_mtime_ns for p in paths.lake.rglob("*") if p.is_file()} == snapshot


def test_a_crash_while_writing_leaves_no_partial_file_and_the_rerun_loads(
    paths: Paths, config: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = land(paths, "meta_ads.csv")
    real_replace = atomic._replace

    def crash_on_spend(src: Path, dst: Path) -> None:
        if dst.parent.name == "spend" and "_pending" in dst.parts:
            raise KeyboardInterrupt("killed")
        real_replace(src, dst)

    monkeypatch.setattr(atomic, "_replace", crash_on_spend)
    with pytest.raises(KeyboardInterrupt):
        ingest_marketing(paths, config, files=[source])
    assert list((paths.lake / "_pending" / "marketing" / "spend").iterdir()) == []  # no final, no temp file
    assert read_manifest(paths, "marketing") == []
    monkeypatch.setattr(atomic, "_replace", real_replace)

    lines: list[str] = []
    (result,) = run(paths, config, files=[source], log=lines.append).results
    assert counts(result) == ("loaded", "meta_ads_csv", 4, 2, 1, 1)
    assert lines == [result.describe()] and lines[0].startswith("marketing: loaded marketing/meta_ads.csv")


def recorded_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The ingest loop's retries with their production delays, recorded instead of slept (3.75 s for five attempts)."""
    from ingest.common import locking, loop

    waits: list[float] = []
    monkeypatch.setattr(loop, "retry_transient", functools.partial(locking.retry_transient, sleep=waits.append))
    return waits


def test_a_transient_read_error_is_retried_and_the_file_loads_once(
    paths: Paths, config: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.common import loop

    real_sha256 = loop.file_sha256
    failures = iter([OSError(errno.EIO, "Input/output error"), OSError(errno.EAGAIN, "try again")])

    def flaky_sha256(path: Path) -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_sha256(path)

    monkeypatch.setattr(loop, "file_sha256", flaky_sha256)
    waits = recorded_backoff(monkeypatch)
    result = loaded_one(paths, config, "google_ads_api.csv")
    assert counts(result) == ("loaded", "google_ads_api", 3, 2, 1, 0)
    assert next(failures, None) is None  # both transient failures were met, then retried
    assert waits == [0.25, 0.5]


def test_a_persistent_read_error_fails_the_run_naming_the_file(
    paths: Paths, config: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.common import locking, loop

    def broken_sha256(path: Path) -> str:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(loop, "file_sha256", broken_sha256)
    waits = recorded_backoff(monkeypatch)
    land(paths, "google_ads_api.csv")
    with pytest.raises(locking.TransientError, match=r"reading marketing/google_ads_api\.csv: still failing after 5"):
        run(paths, config)
    assert waits == [0.25, 0.5, 1.0, 2.0]  # the production backoff, recorded instead of slept
