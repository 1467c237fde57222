"""Volume checks with memory: rows per source and day, and rows per mart, judged against a band learned from history.

Per source, the count of a day is its rows in the source's deduplicated staging model, by the day of the row's
own timestamp (events per event day, responses per response day, ...): a day whose files never arrived is a day
with 0 rows, or far fewer than the days around it. Each run judges the last ``lookback_days`` complete days. A day's
band comes from the ``window_days`` days before it (only the same weekday when ``weekly``), days with no row
counting 0. The source's newest day is still filling (its export may be partial until the next one lands), so it
is judged only against the top of its band: too many rows is a fault at any time, too few is not yet.

Per mart, the count is the mart's rows at the end of the run, against the counts the last ``window_runs`` runs
observed.

The band is median ± threshold × 1.4826 × MAD (the MAD scaled to a standard deviation), never narrower than
± min_band_fraction × median, nor than the count's Poisson noise: on the square-root scale a count's noise is
about 1/2, so the band holds at least (√median ± threshold/2)². When every reference value is equal (MAD = 0) the
floors alone make the band, so it never shrinks to one value.

A source's days are noisier than Poisson (events come in sessions, sessions in busy users) and the MAD of 14 reference
days is itself a noisy estimate of that noise: judged on the MAD alone, ~12 % of 2,000-user samples flagged an
ordinary day. So a source day's band also spans threshold × its *relative day noise* × median, the noise learned
from the ``noise_days`` days before it: 1.4826 × the MAD of the log ratios of each day to the day before (to the
same weekday a week before when ``weekly``), over √2 (a ratio of two days carries the noise of both). Log ratios
ignore a slow trend, the MAD ignores a few broken days, and zero days (missing) are left out of it.

Fewer reference values than ``min_history`` is a cold start: stated as such, never reported as passed.

The memory is a small DuckDB file, data/runs/volume_history.duckdb: each run appends what it observed (the counts
of the days it judged, the count of each mart) under its run id, and never changes another run's rows; a retried
check replaces only its own run's rows. The counts are aggregated in DuckDB (one grouped scan of one column per
source, a count per mart); no row reaches Python.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb

from core.config import VOLUME_SOURCES, MartVolume, PipelineConfig, SourceVolume
from core.duckdb_connection import connect_duckdb
from core.settings import Paths
from ingest.common.atomic import atomic_write_text
from ingest.common.locking import retry_transient

MAD_TO_SIGMA = 1.4826  # MAD x this = the standard deviation of a normal distribution
HISTORY_FILE = "volume_history.duckdb"
# A subject's status when it could not be judged (too little history): its asset check carries it in metadata.
NOT_JUDGED = "cold_start"
RESULTS_DIR = "volume"  # data/runs/volume/<check group>.json: the latest verdicts, for `pmw summary`


@dataclass(frozen=True)
class SourceTable:
    """A watched source table: its staging model (deduplicated rows) and the timestamp that dates a row."""

    name: str  # the key under volume.sources in config/pmw.yml
    source: str
    model: str
    day_column: str
    rows: str  # what a row is, for people

    @property
    def check_name(self) -> str:
        return f"{self.name}_volume"


SOURCE_TABLES = (
    SourceTable("analytics_events", "analytics", "stg_analytics__events", "event_at", "events"),
    SourceTable(
        "feedback_survey_responses", "feedback", "stg_feedback__survey_responses", "responded_at", "survey responses"
    ),
    SourceTable("billing_invoices", "billing", "stg_billing__invoices", "created_at", "invoices"),
    SourceTable("marketing_spend", "marketing", "stg_marketing__spend", "spend_date", "spend rows"),
)
if tuple(t.name for t in SOURCE_TABLES) != VOLUME_SOURCES:
    raise RuntimeError("expectations/volume.py SOURCE_TABLES and core.config VOLUME_SOURCES list different tables")


class VolumeHistoryError(RuntimeError):
    """The volume history could not be read or appended to; the message names the file."""


# ------------------------------------------------------------------------------------------------ the band


@dataclass(frozen=True)
class Band:
    median: float
    mad: float
    low: float
    high: float
    references: int  # how many values it was learned from
    noise: float | None = None  # the relative day noise that widened it (source days only)

    def contains(self, count: int) -> bool:
        return self.low <= count <= self.high

    def describe(self) -> str:
        # Counts are integers: the band admits ceil(low) .. floor(high).
        return f"{math.ceil(self.low):,}-{math.floor(self.high):,}"


def robust_band(
    references: Sequence[int], *, threshold: float, min_band_fraction: float, relative_noise: float | None = None
) -> Band:
    """median ± max(threshold × 1.4826 × MAD, min_band_fraction × median, threshold × relative_noise × median),
    widened to the Poisson noise floor."""
    if not references:
        raise ValueError("a band needs at least one reference value")
    median = float(statistics.median(references))
    mad = float(statistics.median(abs(v - median) for v in references))
    spread = max(
        threshold * MAD_TO_SIGMA * mad, min_band_fraction * median, threshold * (relative_noise or 0.0) * median
    )
    root, half = math.sqrt(median), threshold / 2
    poisson_low = (root - half) ** 2 if root > half else 0.0
    poisson_high = (root + half) ** 2
    return Band(
        median=median,
        mad=mad,
        low=max(0.0, min(median - spread, poisson_low)),
        high=max(median + spread, poisson_high),
        references=len(references),
        noise=relative_noise,
    )


def relative_day_noise(counts: Mapping[dt.date, int], day: dt.date, *, noise_days: int, lag: int) -> float | None:
    """The relative noise of one day's count, learned from the ``noise_days`` days before ``day``: 1.4826 × the MAD
    of log(count / count ``lag`` days before) over √2; None with fewer than 4 such ratios (days with no row left
    out)."""
    ratios = []
    for back in range(1, noise_days - lag + 1):  # both days of a ratio inside the noise_days before `day`
        later = counts.get(day - dt.timedelta(days=back), 0)
        earlier = counts.get(day - dt.timedelta(days=back + lag), 0)
        if later > 0 and earlier > 0:
            ratios.append(math.log(later / earlier))
    if len(ratios) < 4:
        return None
    centre = statistics.median(ratios)
    return MAD_TO_SIGMA * statistics.median(abs(r - centre) for r in ratios) / math.sqrt(2)


class Verdict(StrEnum):
    OK = "ok"
    LOW = "low"  # fewer rows than the band: a missing or half-delivered day, a mart that lost rows
    HIGH = "high"  # more rows than the band: a file loaded twice, a join that fans out
    COLD_START = "cold_start"  # too little history to learn a band: not judged
    FILLING = "filling"  # the newest day, not above its band (too few rows is not yet a fault)

    @property
    def flagged(self) -> bool:
        return self in (Verdict.LOW, Verdict.HIGH)


def _judge(
    count: int, references: Sequence[int], settings: SourceVolume | MartVolume, relative_noise: float | None = None
) -> tuple[Verdict, Band | None]:
    if len(references) < settings.min_history:
        return Verdict.COLD_START, None
    band = robust_band(
        references,
        threshold=settings.threshold,
        min_band_fraction=settings.min_band_fraction,
        relative_noise=relative_noise,
    )
    if count < band.low:
        return Verdict.LOW, band
    if count > band.high:
        return Verdict.HIGH, band
    return Verdict.OK, band


# ------------------------------------------------------------------------------------------- per source and day


@dataclass(frozen=True)
class DayJudgement:
    day: dt.date
    count: int
    verdict: Verdict
    band: Band | None
    references: int  # reference days found (below min_history: cold start)
    previous_count: int | None = None  # what the previous run that judged this day observed

    def describe(self, table: SourceTable, weekly: bool) -> str:
        day = f"{self.day.isoformat()} ({self.day.strftime('%A')})"
        seen = "" if self.previous_count is None else f"; the previous run saw {self.previous_count:,}"
        if self.verdict is Verdict.COLD_START:
            return f"{day}: {self.count:,} {table.rows}, cold start ({self.references} reference day(s))"
        assert self.band is not None
        kind = "same-weekday days" if weekly else "days"
        expected = (
            f"expected {self.band.describe()} (median {self.band.median:,.0f} of {self.band.references} earlier {kind})"
        )
        what = {
            Verdict.LOW: "too few",
            Verdict.HIGH: "too many",
            Verdict.OK: "ok",
            Verdict.FILLING: "still filling",
        }[self.verdict]
        return f"{day}: {self.count:,} {table.rows}, {what}; {expected}{seen}"


def judge_days(counts: Mapping[dt.date, int], settings: SourceVolume) -> list[DayJudgement]:
    """The judgement of each day the run looks at: the newest day (still filling) and the ``lookback_days`` days
    before it. Days between the first and the newest day that have no row count 0; days before the first are not
    references (the source had not started)."""
    if not counts:
        return []
    first, newest = min(counts), max(counts)
    start = max(first, newest - dt.timedelta(days=settings.lookback_days))
    judged = []
    for offset in range((newest - start).days + 1):
        day = start + dt.timedelta(days=offset)
        references = [
            counts.get(ref, 0)
            for back in range(1, settings.window_days + 1)
            if (ref := day - dt.timedelta(days=back)) >= first and (not settings.weekly or back % 7 == 0)
        ]
        count = counts.get(day, 0)
        noise = (
            relative_day_noise(counts, day, noise_days=settings.noise_days, lag=7 if settings.weekly else 1)
            if settings.noise_days
            else None
        )
        verdict, band = _judge(count, references, settings, noise)
        if day == newest and verdict in (Verdict.LOW, Verdict.OK):
            verdict = Verdict.FILLING
        judged.append(DayJudgement(day, count, verdict, band, len(references)))
    return judged


def daily_counts(con: duckdb.DuckDBPyConnection, table: SourceTable) -> dict[dt.date, int]:
    """Rows per day of the table's staging model: one grouped scan of one timestamp column."""
    rows = con.execute(
        f'select cast("{table.day_column}" as date) as day, count(*) from staging."{table.model}" '
        f'where "{table.day_column}" is not null group by 1'
    ).fetchall()
    return {day: int(n) for day, n in rows}


# ------------------------------------------------------------------------------------------------ per mart


@dataclass(frozen=True)
class MartJudgement:
    mart: str
    count: int
    verdict: Verdict
    band: Band | None
    references: int  # earlier runs found (below min_history: cold start)

    def describe(self) -> str:
        if self.verdict is Verdict.COLD_START:
            return f"{self.mart}: {self.count:,} rows, cold start ({self.references} earlier run(s) recorded)"
        assert self.band is not None
        what = {Verdict.LOW: "too few", Verdict.HIGH: "too many", Verdict.OK: "ok"}[self.verdict]
        return (
            f"{self.mart}: {self.count:,} rows, {what}; expected {self.band.describe()} "
            f"(median {self.band.median:,.0f} of the last {self.band.references} runs)"
        )


def judge_mart(mart: str, count: int, history: Sequence[int], settings: MartVolume) -> MartJudgement:
    """``history``: the counts earlier runs observed, oldest first; the last ``window_runs`` are the references."""
    references = list(history)[-settings.window_runs :]
    verdict, band = _judge(count, references, settings)
    return MartJudgement(mart, count, verdict, band, len(references))


def mart_row_counts(con: duckdb.DuckDBPyConnection, marts: Sequence[str]) -> dict[str, int]:
    """Rows of each mart in the warehouse's marts schema (DuckDB keeps a table's row count: no scan)."""
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    missing = sorted(set(marts) - present)
    if missing:
        raise VolumeHistoryError(f"marts not in the warehouse, cannot count their rows: {', '.join(missing)}")
    return {mart: int(con.execute(f'select count(*) from marts."{mart}"').fetchone()[0]) for mart in marts}


# ------------------------------------------------------------------------------------------- subject results


@dataclass
class SubjectResult:
    """One asset check's verdict: a source table (its judged days) or a mart (its count)."""

    check: str
    subject: str
    severity: str  # warn | block
    status: str  # ok | anomaly | cold_start
    description: str
    flagged: list[dict[str, Any]] = field(default_factory=list)  # one entry per day (or the mart) out of band
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def anomalous(self) -> bool:
        return self.status == "anomaly"


def _band_dict(band: Band | None) -> dict[str, Any] | None:
    return None if band is None else {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(band).items()}


def source_result(table: SourceTable, settings: SourceVolume, judged: list[DayJudgement]) -> SubjectResult:
    flagged = [j for j in judged if j.verdict.flagged]
    cold = [j for j in judged if j.verdict is Verdict.COLD_START]
    complete = [j for j in judged if j.verdict is not Verdict.FILLING]
    filling = next((j for j in judged if j.verdict is Verdict.FILLING), None)
    lines: list[str]
    if not judged:
        status = "cold_start"
        lines = [f"{table.source} {table.rows}: COLD START, no rows in staging.{table.model} yet; nothing judged"]
    elif flagged:
        status = "anomaly"
        lines = [f"{table.source} {table.rows}: {len(flagged)} day(s) out of band"]
        lines += [f"  {j.describe(table, settings.weekly)}" for j in flagged]
    elif cold and len(cold) == len(complete):
        status = "cold_start"
        lines = [
            f"{table.source} {table.rows}: COLD START, none of the {len(cold)} day(s) has {settings.min_history} "
            f"reference days yet ({'same weekday, ' if settings.weekly else ''}{settings.window_days}-day window); "
            "not judged"
        ]
    else:
        status = "ok"
        judged_days = [j for j in complete if j.verdict is Verdict.OK]
        lines = [
            f"{table.source} {table.rows}: {len(judged_days)} day(s) within their band"
            + (f" ({judged_days[0].day} .. {judged_days[-1].day})" if judged_days else "")
        ]
    if cold and status != "cold_start":
        lines.append(f"  cold start, not judged: {', '.join(str(j.day) for j in cold)}")
    if filling is not None:
        lines.append(f"  newest day still filling, judged only against the top of its band: {filling.day}")
    return SubjectResult(
        check=table.check_name,
        subject=table.name,
        severity=settings.severity,
        status=status,
        description="\n".join(lines),
        flagged=[
            {
                "source": table.source,
                "table": table.name,
                "day": j.day.isoformat(),
                "weekday": j.day.strftime("%A"),
                "observed": j.count,
                "expected_low": math.ceil(j.band.low) if j.band else None,
                "expected_high": math.floor(j.band.high) if j.band else None,
                "median": j.band.median if j.band else None,
                "reference_days": j.references,
                "direction": j.verdict.value,
                "previous_count": j.previous_count,
            }
            for j in flagged
        ],
        details={
            "model": f"staging.{table.model}",
            "day_column": table.day_column,
            "weekly": settings.weekly,
            "judged_days": [
                {
                    "day": j.day.isoformat(),
                    "count": j.count,
                    "verdict": j.verdict.value,
                    "band": _band_dict(j.band),
                    "references": j.references,
                }
                for j in judged
            ],
        },
    )


def mart_result(judgement: MartJudgement, settings: MartVolume) -> SubjectResult:
    if judgement.verdict.flagged:
        status, head = "anomaly", "out of band: "
    elif judgement.verdict is Verdict.COLD_START:
        status, head = "cold_start", f"COLD START (needs {settings.min_history} earlier runs), not judged: "
    else:
        status, head = "ok", ""
    band = judgement.band
    return SubjectResult(
        check=f"{judgement.mart}_volume",
        subject=judgement.mart,
        severity=settings.severity,
        status=status,
        description=head + judgement.describe(),
        flagged=[
            {
                "mart": judgement.mart,
                "observed": judgement.count,
                "expected_low": math.ceil(band.low) if band else None,
                "expected_high": math.floor(band.high) if band else None,
                "median": band.median if band else None,
                "reference_runs": judgement.references,
                "direction": judgement.verdict.value,
            }
        ]
        if judgement.verdict.flagged
        else [],
        details={"count": judgement.count, "band": _band_dict(band), "references": judgement.references},
    )


# ------------------------------------------------------------------------------------------------ the memory


def history_path(paths: Paths) -> Path:
    return paths.runs_dir / HISTORY_FILE


_SCHEMA = (
    "create table if not exists source_day_counts (run_id varchar not null, recorded_at timestamptz not null, "
    "source_table varchar not null, day date not null, row_count bigint not null, verdict varchar not null, "
    "primary key (run_id, source_table, day))",
    "create table if not exists mart_counts (run_id varchar not null, recorded_at timestamptz not null, "
    "mart varchar not null, row_count bigint not null, verdict varchar not null, primary key (run_id, mart))",
)


class VolumeHistory:
    """The counts every run observed (data/runs/volume_history.duckdb), appended per run, never rewritten."""

    def __init__(self, paths: Paths):
        self.path = history_path(paths)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)

        def connect() -> duckdb.DuckDBPyConnection:
            con = connect_duckdb(str(self.path))
            for statement in _SCHEMA:
                con.execute(statement)
            return con

        try:
            return retry_transient(connect, what=f"opening {self.path}")
        except duckdb.Error as exc:
            raise VolumeHistoryError(f"volume history {self.path}: {exc}") from exc

    def previous_day_counts(self, run_id: str, source_table: str, days: Sequence[dt.date]) -> dict[dt.date, int]:
        """For each day, the count the latest earlier run that judged it observed."""
        if not days:
            return {}
        with self._connect() as con:
            rows = con.execute(
                "select day, arg_max(row_count, recorded_at) from source_day_counts "
                "where source_table = ? and run_id <> ? and day between ? and ? group by day",
                [source_table, run_id, min(days), max(days)],
            ).fetchall()
        return {day: int(n) for day, n in rows}

    def mart_history(self, run_id: str, marts: Sequence[str]) -> dict[str, list[int]]:
        """Each mart's counts as earlier runs observed them, oldest first."""
        with self._connect() as con:
            rows = con.execute(
                "select mart, list(row_count order by recorded_at) from mart_counts where run_id <> ? group by mart",
                [run_id],
            ).fetchall()
        found = {mart: [int(n) for n in counts] for mart, counts in rows}
        return {mart: found.get(mart, []) for mart in marts}

    def append_days(self, run_id: str, recorded_at: dt.datetime, source_table: str, judged: list[DayJudgement]):
        rows = [(run_id, recorded_at, source_table, j.day, j.count, j.verdict.value) for j in judged]
        with self._connect() as con:
            con.execute("begin")
            # A retried check re-records its own run; earlier runs' rows are never touched.
            con.execute("delete from source_day_counts where run_id = ? and source_table = ?", [run_id, source_table])
            if rows:
                con.executemany("insert into source_day_counts values (?, ?, ?, ?, ?, ?)", rows)
            con.execute("commit")

    def append_marts(self, run_id: str, recorded_at: dt.datetime, judged: list[MartJudgement]) -> None:
        rows = [(run_id, recorded_at, j.mart, j.count, j.verdict.value) for j in judged]
        with self._connect() as con:
            con.execute("begin")
            con.execute("delete from mart_counts where run_id = ?", [run_id])
            if rows:
                con.executemany("insert into mart_counts values (?, ?, ?, ?, ?)", rows)
            con.execute("commit")


# ------------------------------------------------------------------------------------------------ the checks


def _warehouse(paths: Paths) -> duckdb.DuckDBPyConnection:
    con = connect_duckdb(str(paths.warehouse_path), read_only=True)
    # The staging views read the lake by paths relative to the data directory (as dbt runs there).
    con.execute("set file_search_path = ?", [str(paths.data_dir)])
    return con


def check_sources(paths: Paths, config: PipelineConfig, run_id: str, now: dt.datetime) -> list[SubjectResult]:
    """Judge every watched source table's recent days, record what was observed, return one result per table."""
    history = VolumeHistory(paths)
    with retry_transient(lambda: _warehouse(paths), what="opening the warehouse for the volume checks") as con:
        counts = {table.name: daily_counts(con, table) for table in SOURCE_TABLES}
    results = []
    for table in SOURCE_TABLES:
        settings = config.volume.source(table.name)
        judged = judge_days(counts[table.name], settings)
        previous = history.previous_day_counts(run_id, table.name, [j.day for j in judged])
        judged = [DayJudgement(j.day, j.count, j.verdict, j.band, j.references, previous.get(j.day)) for j in judged]
        history.append_days(run_id, now, table.name, judged)
        results.append(source_result(table, settings, judged))
    return results


def check_marts(
    paths: Paths, config: PipelineConfig, marts: Sequence[str], run_id: str, now: dt.datetime
) -> list[SubjectResult]:
    """Judge every mart's row count against the counts of the runs before, record it, return one result per mart."""
    history = VolumeHistory(paths)
    with retry_transient(lambda: _warehouse(paths), what="opening the warehouse for the volume checks") as con:
        counts = mart_row_counts(con, marts)
    earlier = history.mart_history(run_id, marts)
    settings = config.volume.marts
    judged = [judge_mart(mart, counts[mart], earlier[mart], settings) for mart in marts]
    history.append_marts(run_id, now, judged)
    return [mart_result(j, settings) for j in judged]


# ------------------------------------------------------------------------------------ the latest verdicts (summary)


def record_results(paths: Paths, group: str, run_id: str, now: dt.datetime, results: list[SubjectResult]) -> None:
    """data/runs/volume/<group>.json: the latest run's verdicts, what `pmw summary` shows."""
    payload = {
        "group": group,
        "run_id": run_id,
        "recorded_at": now.isoformat(),
        "results": [asdict(r) for r in results],
    }
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    target = paths.runs_dir / RESULTS_DIR / f"{group}.json"
    retry_transient(lambda: atomic_write_text(target, text), what=f"writing {target}")


def read_results(paths: Paths) -> list[dict[str, Any]]:
    """The latest recorded verdicts of each check group (sources, marts), [] before the first run."""
    folder = paths.runs_dir / RESULTS_DIR
    if not folder.is_dir():
        return []
    return [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json")) if not p.name.startswith(".")
    ]
