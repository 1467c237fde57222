"""Volume checks with memory (expectations/volume.py): the robust band, the per-day and per-run judgements, the
history kept across runs, and the `volume:` configuration. Pure and fast: no dbt, no pipeline run."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pytest
import yaml

from core.config import (
    VOLUME_SOURCES,
    ConfigError,
    MartVolume,
    PipelineConfig,
    SourceVolume,
    load_config,
)
from core.settings import Paths
from expectations.volume import (
    SOURCE_TABLES,
    Verdict,
    VolumeHistory,
    check_marts,
    check_sources,
    judge_days,
    judge_mart,
    mart_result,
    read_results,
    record_results,
    relative_day_noise,
    robust_band,
    source_result,
)
from sample_generator.analytics_vectorised import daily_event_counts

MONDAY = dt.date(2024, 3, 4)
EVENTS = SOURCE_TABLES[0]


def _days(counts: list[int], start: dt.date = MONDAY) -> dict[dt.date, int]:
    return {start + dt.timedelta(days=i): n for i, n in enumerate(counts) if n is not None}


def _by_day(judged) -> dict[dt.date, object]:
    return {j.day: j for j in judged}


# --------------------------------------------------------------------------------------------------- the band


def test_band_is_median_plus_minus_threshold_scaled_mads():
    band = robust_band([100, 110, 90, 105, 95, 1000], threshold=3.0, min_band_fraction=0.0)
    # median 102.5; |deviations| 2.5 7.5 12.5 2.5 7.5 897.5 -> MAD 7.5; one outlier moves neither.
    assert band.median == 102.5 and band.mad == 7.5
    assert band.low == pytest.approx(102.5 - 3 * 1.4826 * 7.5)
    assert band.high == pytest.approx(102.5 + 3 * 1.4826 * 7.5)
    assert band.references == 6


def test_mad_zero_falls_back_to_the_poisson_noise_of_the_median():
    band = robust_band([400] * 8, threshold=3.5, min_band_fraction=0.0)
    assert band.mad == 0.0
    # (sqrt(400) -+ 3.5/2)^2 = 18.25^2 .. 21.75^2: the band never collapses to the single value 400.
    assert (band.low, band.high) == (pytest.approx(18.25**2), pytest.approx(21.75**2))
    assert band.contains(400) and band.contains(340) and not band.contains(320) and not band.contains(480)
    # A small steady count: 0 is out of band (a missing day), a one-row wobble is not.
    small = robust_band([8] * 10, threshold=3.5, min_band_fraction=0.0)
    assert not small.contains(0) and small.contains(7) and small.contains(10)


def test_min_band_fraction_widens_a_tight_band():
    band = robust_band([1000, 1001, 999, 1000], threshold=3.5, min_band_fraction=0.5)
    assert (band.low, band.high) == (500.0, 1500.0)


def test_a_band_of_tiny_counts_never_flags_zero():
    # Poisson: with a median of 2 rows a day, a day with none is ordinary.
    assert robust_band([2, 1, 3, 2, 2], threshold=3.5, min_band_fraction=0.1).low == 0.0


def test_band_describes_the_integer_counts_it_admits():
    band = robust_band([100, 110, 90, 105, 95], threshold=3.0, min_band_fraction=0.0)
    assert band.describe() == f"{math.ceil(band.low):,}-{math.floor(band.high):,}"


# ---------------------------------------------------------------------------------------------- per source and day


STEADY = [1000, 1040, 980, 1010, 990, 1020, 1005] * 4  # four weeks of a steady source, Monday first


def test_a_missing_day_is_a_day_with_no_row_and_is_flagged_low():
    counts = _days(STEADY + [1000])
    missing = MONDAY + dt.timedelta(days=24)
    del counts[missing]  # its files never arrived: no row dated that day at all
    judged = _by_day(judge_days(counts, SourceVolume(window_days=14, lookback_days=7, min_history=7)))
    assert judged[missing].count == 0 and judged[missing].verdict is Verdict.LOW
    assert judged[missing].band.low > 800
    assert [d for d, j in judged.items() if j.verdict.flagged] == [missing]


def test_a_half_delivered_day_is_flagged_low_but_the_newest_half_day_is_still_filling():
    counts = _days(STEADY + [1000])
    half = MONDAY + dt.timedelta(days=25)
    counts[half] = 500
    newest = max(counts)
    counts[newest] = 480  # the export of the newest day is not complete yet
    settings = SourceVolume(window_days=14, lookback_days=7, min_history=7)
    judged = _by_day(judge_days(counts, settings))
    assert judged[half].verdict is Verdict.LOW
    assert judged[newest].verdict is Verdict.FILLING and judged[newest].band is not None
    result = source_result(EVENTS, settings, list(judged.values()))
    assert result.status == "anomaly" and [f["day"] for f in result.flagged] == [half.isoformat()]
    assert f"newest day still filling, judged only against the top of its band: {newest}" in result.description


def test_the_newest_day_is_still_flagged_when_it_has_too_many_rows():
    counts = _days(STEADY + [2600])  # a file landed twice and not deduplicated would look like this
    judged = judge_days(counts, SourceVolume(window_days=14, lookback_days=7, min_history=7))
    assert judged[-1].verdict is Verdict.HIGH


def test_weekly_sources_compare_a_day_with_the_same_weekday_only():
    # Workdays 1000, weekends 200: judged against all days a Saturday looks missing, against Saturdays it does not.
    week = [1000, 1010, 990, 1005, 995, 200, 210]
    counts = _days(week * 6 + [1000])
    saturday = MONDAY + dt.timedelta(days=5 * 7 + 5)
    weekly = _by_day(judge_days(counts, SourceVolume(weekly=True, window_days=35, lookback_days=14, min_history=4)))
    daily = _by_day(judge_days(counts, SourceVolume(weekly=False, window_days=35, lookback_days=14, min_history=4)))
    assert weekly[saturday].verdict is Verdict.OK and weekly[saturday].references == 5
    assert weekly[saturday].band.median == 200
    assert daily[saturday].verdict is Verdict.LOW
    # A Saturday with no rows is still flagged against the other Saturdays.
    counts[saturday] = 0
    assert _by_day(judge_days(counts, SourceVolume(weekly=True, window_days=35, min_history=4)))[
        saturday
    ].verdict.flagged


def test_cold_start_is_stated_and_not_a_pass():
    counts = _days([1000, 1010, 990, 0, 1005])  # day 4 missing, but only three days of history before it
    settings = SourceVolume(window_days=14, lookback_days=14, min_history=4)
    judged = judge_days(counts, settings)
    assert [j.verdict for j in judged[:-1]] == [Verdict.COLD_START] * 4
    result = source_result(EVENTS, settings, judged)
    assert result.status == "cold_start" and not result.anomalous
    assert "COLD START" in result.description and "not judged" in result.description
    assert source_result(EVENTS, settings, []).status == "cold_start"  # no row at all yet


def test_days_before_the_source_started_are_not_references():
    counts = _days([1000] * 3)
    judged = judge_days(counts, SourceVolume(window_days=28, lookback_days=14, min_history=2))
    assert [j.references for j in judged] == [0, 1, 2]


def test_only_the_lookback_and_the_newest_day_are_judged():
    judged = judge_days(_days(STEADY), SourceVolume(window_days=7, lookback_days=3, min_history=7))
    assert [j.day for j in judged] == [MONDAY + dt.timedelta(days=d) for d in (24, 25, 26, 27)]


def test_a_flagged_day_names_source_day_band_and_count():
    counts = _days(STEADY + [1000])
    missing = MONDAY + dt.timedelta(days=22)
    counts[missing] = 3
    settings = SourceVolume(window_days=14, lookback_days=7, min_history=7)
    result = source_result(EVENTS, settings, judge_days(counts, settings))
    (flag,) = result.flagged
    assert flag["source"] == "analytics" and flag["day"] == missing.isoformat() and flag["observed"] == 3
    assert flag["direction"] == "low" and flag["expected_low"] <= flag["median"] <= flag["expected_high"]
    assert (
        f"{missing.isoformat()} ({missing.strftime('%A')}): 3 events, too few; "
        f"expected {flag['expected_low']:,}-{flag['expected_high']:,} (median" in result.description
    )


def test_relative_day_noise_ignores_a_steady_trend_and_measures_the_wobble():
    growing = _days([round(1000 * 1.02**i) for i in range(50)])
    newest = max(growing)
    assert relative_day_noise(growing, newest, noise_days=42, lag=1) == pytest.approx(0.0, abs=0.002)
    # 1,000 and 1,100 alternating: every log ratio is +-log(1.1), so one day's noise is ~1.4826 x log(1.1) / sqrt(2)
    # (the MAD is log(1.1) when exactly half the ratios are up: 40 ratios, noise_days 41; with an odd count the
    # median is one of the ratios and the MAD 0).
    wobbling = _days([1000, 1100] * 25)
    expected = 1.4826 * math.log(1.1) / math.sqrt(2)
    assert relative_day_noise(wobbling, max(wobbling), noise_days=41, lag=1) == pytest.approx(expected)
    # Weekly: a workday/weekend rhythm compared with the same weekday a week before is no noise at all.
    week = _days([1000, 1010, 990, 1005, 995, 200, 210] * 7)
    assert relative_day_noise(week, max(week), noise_days=42, lag=7) < 0.02
    assert relative_day_noise(week, max(week), noise_days=42, lag=1) > 0.02
    # Days with no row are left out, and too few ratios is no estimate.
    assert (
        relative_day_noise(_days([1000, None, 1000, None, 1000]), MONDAY + dt.timedelta(days=5), noise_days=42, lag=1)
        is None
    )


def test_a_noisy_source_is_judged_by_its_longer_noise_not_by_a_quiet_fortnight():
    """A source whose days wobble +-12 % around a trend: four quiet days in a row can leave the 14-day MAD small,
    and a day 25 % up, ordinary for this source, then falls out of the MAD band alone. The noise learned from the
    42 days before keeps it in; a missing or half-delivered day is still flagged."""
    wobble = [1.0, 1.12, 0.9, 1.1, 0.88, 1.08, 0.95, 1.12, 0.9, 1.0]
    series = [round(2000 * wobble[i % len(wobble)]) for i in range(40)] + [2000, 2010, 1995, 2005, 2000, 2010, 1990]
    series += [2000, 2005, 1995, 2000, 2010, 1990, 2000, 2500, 2000]
    counts = _days(series)
    busy = MONDAY + dt.timedelta(days=len(series) - 2)
    mad_alone = _by_day(judge_days(counts, SourceVolume(window_days=14, lookback_days=7, min_history=7, noise_days=0)))
    with_noise = _by_day(judge_days(counts, SourceVolume(window_days=14, lookback_days=7, min_history=7)))
    assert mad_alone[busy].verdict is Verdict.HIGH
    assert with_noise[busy].verdict is Verdict.OK and with_noise[busy].band.noise > 0.05
    for broken in (0, 1000):
        counts[busy] = broken
        assert (
            _by_day(judge_days(counts, SourceVolume(window_days=14, lookback_days=7, min_history=7)))[busy].verdict
            is Verdict.LOW
        )


def test_an_ordinary_day_of_a_2000_user_sample_is_not_flagged():
    """Seed 15 of the 2,000-user sample: its 2024-02-27 (2,641 events against a median of ~2,300) was out of the
    band learned from the MAD alone; the sample's day-to-day noise (~7 %, 10x Poisson at this size) keeps it in."""
    counts = daily_event_counts(seed=15, users=2000)
    settings = load_config().volume.source("analytics_events")
    day = dt.date(2024, 2, 27)
    assert _by_day(judge_days(counts, settings.model_copy(update={"noise_days": 0})))[day].verdict is Verdict.HIGH
    judged = judge_days(counts, settings)
    assert [j.verdict for j in judged if j.verdict.flagged] == []


# ------------------------------------------------------------------------------------------------ per mart


def test_a_mart_is_judged_against_the_last_runs():
    settings = MartVolume(window_runs=4, min_history=3, min_band_fraction=0.5)
    history = [10, 10, 1000, 1000, 1010, 990]  # only the last four runs are references
    assert judge_mart("fct_x", 1005, history, settings).verdict is Verdict.OK
    low = judge_mart("fct_x", 400, history, settings)
    assert low.verdict is Verdict.LOW and low.band.median == 1000 and low.references == 4
    assert judge_mart("fct_x", 2100, history, settings).verdict is Verdict.HIGH
    cold = judge_mart("fct_x", 5, [1000, 1000], settings)
    assert cold.verdict is Verdict.COLD_START
    assert mart_result(cold, settings).status == "cold_start"
    assert "fct_x: 400 rows, too few; expected 500-1,500" in mart_result(low, settings).description


# --------------------------------------------------------------------------------------------- the memory


def _warehouse(paths: Paths, events_per_day: dict[dt.date, int], mart_rows: int) -> None:
    """A warehouse holding the staging tables the source checks read (empty but for events) and one mart."""
    paths.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.warehouse_path)) as con:
        con.execute("create schema staging; create schema marts")
        for table in SOURCE_TABLES:
            con.execute(f'create table staging."{table.model}" ("{table.day_column}" timestamp)')
        for day, n in events_per_day.items():
            noon = dt.datetime.combine(day, dt.time(12))
            con.execute('insert into staging."stg_analytics__events" select ? from range(?)', [noon, n])
        con.execute("create table marts.fct_x as select range as id from range(?)", [mart_rows])


def _config(**marts) -> PipelineConfig:
    return PipelineConfig.model_validate(
        {
            "volume": {
                "sources": {"analytics_events": {"severity": "block", "window_days": 14, "min_history": 7}},
                "marts": {"window_runs": 5, "min_history": 2, **marts},
            }
        }
    )


def test_each_run_appends_what_it_observed_and_the_next_run_learns_from_it(tmp_path):
    paths = Paths(tmp_path / "data").ensure()
    counts = {day: n // 50 for day, n in _days(STEADY + [1000]).items()}
    _warehouse(paths, counts, mart_rows=100)
    config = _config()
    now = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
    for run in ("run-1", "run-2"):
        sources = check_sources(paths, config, run, now)
        marts = check_marts(paths, config, ["fct_x"], run, now)
        now += dt.timedelta(hours=1)
    assert [r.status for r in sources] == ["ok", "cold_start", "cold_start", "cold_start"]
    assert marts[0].status == "cold_start"  # one earlier run, two needed
    # A retried check replaces only its own run's rows: no duplicate history.
    check_marts(paths, config, ["fct_x"], "run-2", now)
    assert VolumeHistory(paths).mart_history("run-3", ["fct_x"]) == {"fct_x": [100, 100]}
    # The third run has two earlier runs: a mart that lost most of its rows is out of band.
    with duckdb.connect(str(paths.warehouse_path)) as con:
        con.execute("delete from marts.fct_x where id >= 10")
        con.execute(
            "delete from staging.stg_analytics__events where cast(event_at as date) = ?",
            [MONDAY + dt.timedelta(days=25)],
        )
    (mart,) = check_marts(paths, config, ["fct_x"], "run-3", now)
    assert mart.anomalous and mart.flagged[0]["observed"] == 10 and mart.flagged[0]["reference_runs"] == 2
    events = check_sources(paths, config, "run-3", now)[0]
    assert events.anomalous and events.severity == "block"
    (flag,) = events.flagged
    # The memory: what the previous runs saw of the same day.
    seen = counts[MONDAY + dt.timedelta(days=25)]
    assert flag["observed"] == 0 and flag["previous_count"] == seen
    assert f"the previous run saw {seen}" in events.description
    with duckdb.connect(str(paths.runs_dir / "volume_history.duckdb"), read_only=True) as con:
        assert con.execute("select count(distinct run_id) from source_day_counts").fetchone()[0] == 3
        assert con.execute("select count(*) from mart_counts").fetchone()[0] == 3


def test_the_latest_verdicts_are_recorded_for_the_summary(tmp_path):
    paths = Paths(tmp_path / "data").ensure()
    assert read_results(paths) == []
    settings = MartVolume(min_history=2)
    result = mart_result(judge_mart("fct_x", 1, [100, 100, 100], settings), settings)
    record_results(paths, "marts", "run-1", dt.datetime(2024, 4, 1, tzinfo=dt.UTC), [result])
    (record,) = read_results(paths)
    assert record["group"] == "marts" and record["run_id"] == "run-1"
    assert record["results"][0]["status"] == "anomaly" and record["results"][0]["flagged"][0]["observed"] == 1


# --------------------------------------------------------------------------------------------- configuration


def test_the_sample_configuration_declares_every_watched_table_and_a_blocking_events_check():
    volume = load_config().volume
    assert set(volume.sources) == set(VOLUME_SOURCES) == {t.name for t in SOURCE_TABLES}
    assert volume.source("analytics_events").severity == "block"
    assert PipelineConfig().volume.source("billing_invoices") == SourceVolume()  # defaults without an entry


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"sources": {"analytics": {}}}, "volume.sources.analytics: 'analytics' is not a watched source table"),
        ({"sources": {"marketing_spend": {"severity": "stop"}}}, "'stop' is not one of warn, block"),
        (
            {"sources": {"analytics_events": {"weekly": True, "window_days": 14, "min_history": 4}}},
            "4 reference days can never be found in a 14-day window of the same weekday",
        ),
        ({"marts": {"window_runs": 3, "min_history": 5}}, "5 runs can never fit a window of 3"),
        ({"marts": {"threshold": 0}}, "volume.marts.threshold: expected a number >= 0.5"),
    ],
)
def test_a_wrong_volume_setting_is_named(tmp_path, volume, message):
    path = tmp_path / "pmw.yml"
    path.write_text(yaml.safe_dump({"volume": volume}), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert message in str(raised.value)
