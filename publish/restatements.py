"""Restated numbers: closed-period headline values that changed since the release BI read before, and why.

What is compared. The dbt mart ``fct_headline_metrics`` holds the headline numbers in one long shape (metric, grain,
period_start, analysis, channel, cohort_period -> value), each with ``is_closed``: the period and everything that
feeds it (a funnel's conversion window, a retention cohort's period N) ended before its sources' as-of day, the
newest day any of their rows has (that day may still be filling). Only values the *previous* release published as
closed are compared: an open period filling up is not news, and a period that closes for the first time, or appears
for the first time, is not a restatement.

The previous release is the one BI reads when this release is built (the ``published`` symlink): its own
``marts.duckdb``, opened read-only. So a run whose publication fails or is blocked compares nothing and changes
nothing (the next run compares with the same release), a release left unchanged lists nothing new (its record keeps
the restatements it was published with), and after a rollback (the symlink moved back) the next release is compared
with what BI reads again. No separate history store can drift from what was published.

When it is a restatement. A closed value moved by more than ``max(absolute, relative x |old|)`` (configuration
``restatements:``, per metric, else ``default``; core/config.py), or it went from a number to NULL or from NULL to a
number, or its row is gone. A value within tolerance is not listed.

The cause. The landed files loaded (ingest manifest ``finished_at``) after the previous release was published, of a
source that feeds the metric (``feeding_sources``), whose rows' days (read from the file's lake Parquet: e.g. the
events' event_time, the refunds' created_at) overlap the days that can change the value
(``[inputs_from, inputs_until)``; ``inputs_from`` NULL = every earlier day). A file whose rows carry no day this
module knows still matches by source, marked so. When no file matches, the change says "no landed file explains
it" (a model or configuration change), never a guess.

The daily snapshot for BI. Each release carries ``fct_headline_metric_snapshots``: the previous release's snapshots
plus today's (UTC) values of ``fct_headline_metrics``; a second release on the same day replaces that day's rows.
A day with no new release has no snapshot of its own (the numbers are those of the latest earlier snapshot). This
table is history, so unlike the marts it is not a pure function of the landed files (DESIGN.md invariant 8): the
release's fingerprint check ("unchanged marts publish nothing") looks at the marts only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from core.config import RestatementsConfig
from core.settings import Paths

HEADLINE_TABLE = "fct_headline_metrics"
SNAPSHOT_TABLE = "fct_headline_metric_snapshots"
KEY_COLUMNS = ("metric", "grain", "period_start", "analysis", "channel", "cohort_period")
# The snapshot table's columns, as DuckDB's information_schema names their types (the published interface).
SNAPSHOT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("snapshot_date", "DATE"),
    ("metric", "VARCHAR"),
    ("grain", "VARCHAR"),
    ("period_start", "DATE"),
    ("period_end", "DATE"),
    ("analysis", "VARCHAR"),
    ("channel", "VARCHAR"),
    ("cohort_period", "INTEGER"),
    ("value", "DOUBLE"),
    ("unit", "VARCHAR"),
    ("is_closed", "BOOLEAN"),
)
# The day columns of each lake entity (lake/<source>/<entity>/): a file's rows cover [least, greatest] of them.
LAKE_DAY_COLUMNS: dict[str, tuple[str, ...]] = {
    "analytics/events": ("event_time",),
    "billing/customers": ("created_at",),
    "billing/invoices": ("created_at", "paid_at"),
    "billing/invoice_lines": ("period_start", "period_end"),
    "billing/refunds": ("created_at",),
    "billing/subscriptions": ("created_at", "started_at", "canceled_at", "ended_at"),
    "feedback/survey_responses": ("responded_at",),
    "feedback/kano_answers": ("answered_at",),
    "feedback/feature_requests": ("created_at",),
    "marketing/spend": ("spend_date",),
}
NO_CAUSE = "no landed file explains it (a model or configuration change?)"

Key = tuple[str, str, date, str, str, int | None]


class RestatementError(RuntimeError):
    """The previous release's headline numbers or a landed file's lake data could not be read."""


@dataclass(frozen=True)
class HeadlineValue:
    metric: str
    grain: str
    period_start: date
    period_end: date
    analysis: str
    channel: str
    cohort_period: int | None
    value: float | None
    unit: str
    feeding_sources: tuple[str, ...]
    inputs_from: date | None  # None: every earlier day can change it
    inputs_until: date  # exclusive
    is_closed: bool

    @property
    def key(self) -> Key:
        return (self.metric, self.grain, self.period_start, self.analysis, self.channel, self.cohort_period)


@dataclass(frozen=True)
class LandedFile:
    source: str
    path: str  # relative to landing/
    sha256: str
    loaded_at: str  # the manifest's finished_at, UTC ISO-8601
    rows_from: date | None  # first day of its rows; None: no day column known for its entities
    rows_until: date | None  # the day after its last row's day

    def covers(self, start: date | None, until: date) -> bool:
        """Whether its rows' days overlap [start, until) (start None: unbounded); unknown days overlap anything."""
        if self.rows_from is None or self.rows_until is None:
            return True
        return self.rows_from < until and (start is None or self.rows_until > start)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows_from"] = self.rows_from.isoformat() if self.rows_from else None
        d["rows_until"] = self.rows_until.isoformat() if self.rows_until else None
        return d


@dataclass(frozen=True)
class Restatement:
    previous: HeadlineValue
    old: float | None
    new: float | None
    causes: tuple[LandedFile, ...] = ()

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    def describe(self) -> str:
        return describe_change(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        p = self.previous
        return {
            "metric": p.metric,
            "grain": p.grain,
            "period_start": p.period_start.isoformat(),
            "period_end": p.period_end.isoformat(),
            "analysis": p.analysis,
            "channel": p.channel,
            "cohort_period": p.cohort_period,
            "unit": p.unit,
            "old": self.old,
            "new": self.new,
            "delta": self.delta,
            "causes": [c.to_dict() for c in self.causes],
            "cause": "; ".join(_cause_text(c) for c in self.causes) if self.causes else NO_CAUSE,
        }


@dataclass
class RestatementReport:
    """What `_publication.json` records under ``restatements``."""

    compared_with: str | None  # the previous release's id; None when there was nothing to compare with
    status: str  # compared | first_release | previous_without_headline | no_headline
    closed_values_compared: int = 0
    files_landed_since: int = 0
    changes: list[Restatement] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "compared_with": self.compared_with,
            "status": self.status,
            "closed_values_compared": self.closed_values_compared,
            "files_landed_since": self.files_landed_since,
            "changes": [c.to_dict() for c in self.changes],
            "snapshot": self.snapshot,
        }


# ------------------------------------------------------------------------------------------------- comparing


def beyond_tolerance(old: float | None, new: float | None, absolute: float, relative: float) -> bool:
    """A change worth listing: NULL <-> number always; else |new - old| > max(absolute, relative x |old|)."""
    if old is None or new is None or math.isnan(old) or math.isnan(new):
        return (old is None) != (new is None)
    return abs(new - old) > max(absolute, relative * abs(old))


def restated_values(
    previous: Mapping[Key, HeadlineValue], current: Mapping[Key, HeadlineValue], config: RestatementsConfig
) -> list[Restatement]:
    """The closed values of ``previous`` that ``current`` changed beyond their tolerance (a row gone = NULL), in
    metric, period and key order. Values open in ``previous`` and keys new in ``current`` are never restatements."""
    changes = []
    for key, before in previous.items():
        if not before.is_closed:
            continue
        after = current.get(key)
        new = after.value if after is not None else None
        tolerance = config.tolerance(before.metric)
        if beyond_tolerance(before.value, new, tolerance.absolute, tolerance.relative):
            changes.append(Restatement(previous=before, old=before.value, new=new))
    return sorted(changes, key=lambda r: _sort_key(r.previous))


def explain(change: Restatement, landed: Iterable[LandedFile]) -> Restatement:
    """The change with its causes: files of a feeding source whose rows' days overlap the value's input days."""
    p = change.previous
    causes = tuple(f for f in landed if f.source in p.feeding_sources and f.covers(p.inputs_from, p.inputs_until))
    return Restatement(previous=p, old=change.old, new=change.new, causes=causes)


def _sort_key(v: HeadlineValue) -> tuple:
    return (v.metric, v.period_start, v.analysis, v.channel, -1 if v.cohort_period is None else v.cohort_period)


# ---------------------------------------------------------------------------------------------------- reading

_HEADLINE_SELECT = (
    "select metric, grain, period_start, period_end, analysis, channel, cohort_period, value, unit, "
    "feeding_sources, inputs_from, inputs_until, is_closed from {table}"
)


def read_headline(con: duckdb.DuckDBPyConnection, table_sql: str) -> dict[Key, HeadlineValue]:
    """Every row of a fct_headline_metrics table (``table_sql`` a qualified, quoted name), by key."""
    values = {}
    for row in con.execute(_HEADLINE_SELECT.format(table=table_sql)).fetchall():
        metric, grain, start, end, analysis, channel, cohort, value, unit, sources, from_, until, closed = row
        v = HeadlineValue(
            metric=metric,
            grain=grain,
            period_start=start,
            period_end=end,
            analysis=analysis,
            channel=channel,
            cohort_period=cohort,
            value=None if value is None else float(value),
            unit=unit,
            feeding_sources=tuple(s.strip() for s in sources.split(",") if s.strip()),
            inputs_from=from_,
            inputs_until=until,
            is_closed=bool(closed),
        )
        values[v.key] = v
    return values


def _has_table(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_catalog = ? and table_schema = ? "
            "and table_name = ?",
            [catalog, schema, table],
        ).fetchone()[0]
    )


def _file_days(
    con: duckdb.DuckDBPyConnection, lake: Path, lake_files: Sequence[str]
) -> tuple[date | None, date | None]:
    """[first day, day after the last) of the rows of a landed file's lake Parquet files; (None, None) when none
    of its entities has a known day column (or it wrote no rows)."""
    firsts, lasts = [], []
    for rel in lake_files:
        entity = "/".join(Path(rel).parts[:2])
        columns = LAKE_DAY_COLUMNS.get(entity)
        path = lake / rel
        if columns is None or not path.exists():
            continue
        least = columns[0] if len(columns) == 1 else f"least({', '.join(columns)})"
        greatest = columns[0] if len(columns) == 1 else f"greatest({', '.join(columns)})"
        try:
            first, last = con.execute(
                f"select cast(min({least}) as date), cast(max({greatest}) as date) from read_parquet(?)", [str(path)]
            ).fetchone()
        except duckdb.Error as exc:
            raise RestatementError(f"cannot read the days of the rows of {path}: {exc}") from exc
        if first is not None:
            firsts.append(first)
            lasts.append(last)
    if not firsts:
        return None, None
    return min(firsts), max(lasts) + timedelta(days=1)


def landed_since(
    con: duckdb.DuckDBPyConnection, lake: Path, manifest: Iterable[Mapping[str, Any]], since: str
) -> list[LandedFile]:
    """The files of the ingest manifest's records loaded (status ``loaded``) after ``since`` (UTC ISO-8601), with
    their rows' days read from their lake Parquet under ``lake``."""
    since_at = _parse_instant(since)
    files = []
    for record in manifest:
        if record.get("status") != "loaded" or not record.get("finished_at"):
            continue
        if _parse_instant(record["finished_at"]) <= since_at:
            continue
        lake_files = record.get("lake_files") or ([record["lake_file"]] if record.get("lake_file") else [])
        rows_from, rows_until = _file_days(con, lake, lake_files)
        files.append(
            LandedFile(
                source=record["source"],
                path=record["path"],
                sha256=record["sha256"],
                loaded_at=record["finished_at"],
                rows_from=rows_from,
                rows_until=rows_until,
            )
        )
    return files


def _parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ------------------------------------------------------------------------------------------- comparing releases


def compare_with_published(
    con: duckdb.DuckDBPyConnection,
    paths: Paths,
    previous_record: dict | None,
    previous_db: Path,
    current_table_sql: str,
    config: RestatementsConfig,
    read_landed: Callable[[], Sequence[Mapping[str, Any]]],
) -> RestatementReport:
    """Compare the new release's headline numbers (``current_table_sql``) with those of the release BI reads.
    ``read_landed`` returns the ingest manifest's records (the caller's: this layer does not import ingest/); it is
    called only when a value changed."""
    if previous_record is None:
        return RestatementReport(compared_with=None, status="first_release")
    previous_id = previous_record["release_id"]
    con.execute(f"attach '{previous_db}' as prev_headline (read_only)")
    try:
        if not _has_table(con, "prev_headline", "main", HEADLINE_TABLE):
            return RestatementReport(compared_with=previous_id, status="previous_without_headline")
        previous = read_headline(con, f'prev_headline.main."{HEADLINE_TABLE}"')
    finally:
        con.execute("detach prev_headline")
    current = read_headline(con, current_table_sql)
    changes = restated_values(previous, current, config)
    landed = landed_since(con, paths.lake, read_landed(), previous_record["published_at"]) if changes else []
    return RestatementReport(
        compared_with=previous_id,
        status="compared",
        closed_values_compared=sum(1 for v in previous.values() if v.is_closed),
        files_landed_since=len(landed),
        changes=[explain(c, landed) for c in changes],
    )


def build_snapshot(
    con: duckdb.DuckDBPyConnection, target_catalog: str, previous_db: Path | None, snapshot_date: date
) -> dict[str, Any]:
    """Create ``<target_catalog>.main.fct_headline_metric_snapshots``: the previous release's snapshots of other
    days plus today's values, read from the target's own (already spreadsheet-safe) fct_headline_metrics."""
    columns = ", ".join(name for name, _ in SNAPSHOT_COLUMNS)
    types = ", ".join(f"{name} {sql_type}" for name, sql_type in SNAPSHOT_COLUMNS)
    con.execute(f'create table {target_catalog}.main."{SNAPSHOT_TABLE}" ({types})')
    if previous_db is not None and previous_db.exists():
        con.execute(f"attach '{previous_db}' as prev_snapshots (read_only)")
        try:
            if _has_table(con, "prev_snapshots", "main", SNAPSHOT_TABLE):
                con.execute(
                    f'insert into {target_catalog}.main."{SNAPSHOT_TABLE}" select {columns} '
                    f'from prev_snapshots.main."{SNAPSHOT_TABLE}" where snapshot_date <> ?',
                    [snapshot_date],
                )
        finally:
            con.execute("detach prev_snapshots")
    today = ", ".join(name for name, _ in SNAPSHOT_COLUMNS[1:])
    con.execute(
        f'insert into {target_catalog}.main."{SNAPSHOT_TABLE}" select ?, {today} '
        f'from {target_catalog}.main."{HEADLINE_TABLE}"',
        [snapshot_date],
    )
    rows, days = con.execute(
        f'select count(*), count(distinct snapshot_date) from {target_catalog}.main."{SNAPSHOT_TABLE}"'
    ).fetchone()
    return {"table": SNAPSHOT_TABLE, "snapshot_date": snapshot_date.isoformat(), "rows": rows, "days": days}


# ------------------------------------------------------------------------------------------------- describing


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "NULL"
    if unit in ("users", "customers"):
        return f"{value:,.0f}"
    if unit == "share":
        return f"{100 * value:.2f}%"
    return f"{value:,.2f}"


def format_delta(delta: float | None, unit: str) -> str:
    """A change with its sign: '+4', '+2.86 pp' (shares), '-10.00'; '' when old or new is NULL."""
    if delta is None:
        return ""
    if unit == "share":
        return f"{100 * delta:+.2f} pp"
    return f"{delta:+,.0f}" if unit in ("users", "customers") else f"{delta:+,.2f}"


def describe_keys(change: Mapping[str, Any]) -> str:
    """'funnel_conversion sharing, week of 2024-01-08' and the like, from a change's dict."""
    parts = [change["metric"]]
    if change["analysis"] != "(all)":
        parts.append(change["analysis"])
    if change["channel"] != "(all)":
        parts.append(f"channel {change['channel']}")
    period = change["period_start"][:7] if change["grain"] == "month" else change["period_start"]
    where = f"{change['grain']} of {period}" if change["grain"] != "day" else period
    if change["metric"] == "retention":
        where = f"cohort {change['period_start']}, period {change['cohort_period']}"
    return f"{' '.join(parts)}, {where}"


def describe_change(change: Mapping[str, Any]) -> str:
    """One line: keys, old -> new (delta), cause."""
    unit = change["unit"]
    return (
        f"{describe_keys(change)}: {_fmt(change['old'], unit)} -> {_fmt(change['new'], unit)}"
        + (f" ({format_delta(change['delta'], unit)})" if change["delta"] is not None else "")
        + f"; cause: {change['cause']}"
    )


def _cause_text(f: LandedFile) -> str:
    days = (
        f", rows {f.rows_from.isoformat()}..{(f.rows_until - timedelta(days=1)).isoformat()}"
        if f.rows_from and f.rows_until
        else ", rows' days not recorded"
    )
    return f"{f.source} {f.path} (loaded {f.loaded_at[:19]}Z{days})"


def format_value(value: float | None, unit: str) -> str:
    """A value as the summary and the report show it."""
    return _fmt(value, unit)
