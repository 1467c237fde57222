"""Publish the marts for BI: a read-only DuckDB copy plus one Parquet file per mart, all of a run or none of it.

Layout under the data directory::

    published.releases/<release_id>/marts.duckdb        read-only copy of every table in the `marts` schema
    published.releases/<release_id>/parquet/<mart>.parquet
    published.releases/<release_id>/report.html         one self-contained offline page of charts (publish/report/)
    published.releases/<release_id>/_publication.json   what is in it: tables, rows, fingerprints, report, run id,
                                                        the interface (columns, types, version, changes, history)
    published.releases/<release_id>/INTERFACE-CHANGELOG.md  the interface's versions and changes, for BI users
    published -> published.releases/<release_id>        the path BI tools use; a symlink

A release is built under a hidden temp name, checkpointed and closed, its report rendered from the release's own
marts.duckdb (opened read-only), renamed into place, and only then does the `published` symlink move to it with
os.replace (rename(2), atomic). A failure at any step removes what the run built and leaves the symlink alone.
A reader resolves `published/...` either to the whole old release or to the whole new one. Old releases are kept a
while (``keep_releases``), so a BI connection still open on an old file keeps reading it and never blocks a run:
nothing is ever written in place.

Every text (VARCHAR) column is made spreadsheet-safe on the way out (``spreadsheet_safe``), in marts.duckdb and
Parquet alike: the one place that rule lives, so it covers every mart whatever source its text came from.

Before anything is built, the marts' columns and types are compared with the release BI reads
(publish/interface.py): a removed, renamed or retyped column (or a removed table) not acknowledged in the
configuration blocks the release (InterfaceChangeBlocked, naming each change and the lines that acknowledge it).

If the marts' content and interface are identical to the current release (same per-table fingerprints, same
columns and types), nothing is published: running the pipeline twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.config import InterfaceAcknowledgement, RestatementsConfig
from core.duckdb_connection import connect_duckdb
from core.settings import Paths
from publish.interface import (
    CHANGELOG_NAME,
    InterfaceCheck,
    PreviousInterface,
    check_interface,
    read_interface,
    record_check,
    release_interface,
    render_changelog,
)
from publish.report import render_report
from publish.restatements import (
    HEADLINE_TABLE,
    SNAPSHOT_COLUMNS,
    SNAPSHOT_TABLE,
    RestatementReport,
    build_snapshot,
    compare_with_published,
)

MARTS_SCHEMA = "marts"
PUBLISHED_DB_NAME = "marts.duckdb"
PUBLICATION_RECORD = "_publication.json"
REPORT_NAME = "report.html"
# The oldest DuckDB storage format, which holds every type the marts use (no VARIANT or other newer type): DuckDB
# 2.x writes its own format by default, which BI clients on DuckDB 1.x (Evidence's connector, Metabase's driver)
# refuse ("version number 999"). v0.10.x names write this same format; DuckDB 0.10 and every 1.x read it.
PUBLISHED_STORAGE_VERSION = "v1.0.0"
# Where a test can make publish fail, to prove the previous publication survives each of them.
FAILURE_POINTS = ("build", "render", "before_swap")
# Table names come from the warehouse's catalog, but they are interpolated into SQL and file names: whitelist.
SAFE_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# A text cell starting with one of these is read as a formula by Excel, Sheets or LibreOffice (OWASP "CSV
# injection"); DESIGN.md invariant 7: no published text can become one, whatever source it came from.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class PublishError(RuntimeError):
    """Publishing stopped; the previous publication is still served, untouched."""


class InterfaceChangeBlocked(PublishError):
    """The marts would break BI readers (a column or table removed, renamed or retyped) without the configuration
    acknowledging it; the message lists each change and the configuration lines that would acknowledge it."""

    def __init__(self, check: InterfaceCheck, config_path: Path | None):
        self.check = check
        super().__init__(check.blocked_message(config_path))


@dataclass(frozen=True)
class PublishedTable:
    name: str
    rows: int
    fingerprint: str  # order-independent sum of row hashes: equal content -> equal fingerprint


@dataclass
class PublishResult:
    status: str  # "published" | "unchanged"
    release_id: str
    release_dir: Path
    published_path: Path
    tables: list[PublishedTable] = field(default_factory=list)
    removed_releases: list[str] = field(default_factory=list)
    interface: dict = field(default_factory=dict)  # InterfaceCheck.to_dict(): version, changes, stale acknowledgements
    restatements: dict = field(default_factory=dict)  # RestatementReport.to_dict() (publish/restatements.py)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["release_dir"] = str(self.release_dir)
        d["published_path"] = str(self.published_path)
        return d


def _mart_tables(con: duckdb.DuckDBPyConnection, only: list[str] | None) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = 'wh' and table_schema = ? "
        "and table_type = 'BASE TABLE' order by table_name",
        [MARTS_SCHEMA],
    ).fetchall()
    names = [r[0] for r in rows]
    if only is not None:
        missing = sorted(set(only) - set(names))
        if missing:
            raise PublishError(f"marts missing from the warehouse schema {MARTS_SCHEMA!r}: {', '.join(missing)}")
        names = [n for n in names if n in set(only)]
    for name in names:
        if not SAFE_TABLE_NAME.match(name):
            raise PublishError(f"refusing to publish table with an unexpected name: {name!r}")
    if not names:
        raise PublishError(f"no tables in the warehouse schema {MARTS_SCHEMA!r}: nothing to publish")
    return names


def _fingerprints(con: duckdb.DuckDBPyConnection, tables: list[str]) -> list[PublishedTable]:
    out = []
    for name in tables:
        rows, fingerprint = con.execute(
            f'select count(*), coalesce(sum(hash(t)), 0)::varchar from wh."{MARTS_SCHEMA}"."{name}" as t'
        ).fetchone()
        out.append(PublishedTable(name=name, rows=int(rows), fingerprint=str(fingerprint)))
    return out


def spreadsheet_safe(column_sql: str) -> str:
    """SQL for a text value that cannot start a spreadsheet formula: a leading single quote when it starts with one
    of FORMULA_PREFIXES (spreadsheets then show the text, not a formula); other values and NULL unchanged."""
    prefixes = ", ".join(f"chr({ord(p)})" for p in FORMULA_PREFIXES)
    return f"case when substring({column_sql}, 1, 1) in ({prefixes}) then chr(39) || {column_sql} else {column_sql} end"


def _published_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The SELECT that copies one mart for BI: every column as is, text columns made spreadsheet-safe."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = 'wh' and table_schema = ? and table_name = ? order by ordinal_position",
        [MARTS_SCHEMA, table],
    ).fetchall()
    select = []
    for name, data_type in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        select.append(f"{spreadsheet_safe(quoted)} as {quoted}" if data_type == "VARCHAR" else quoted)
    return f'select {", ".join(select)} from wh."{MARTS_SCHEMA}"."{table}"'


def current_publication(paths: Paths) -> dict | None:
    """The record of the release BI currently reads, or None if nothing was published yet."""
    record = paths.published / PUBLICATION_RECORD
    if not record.exists():
        return None
    return json.loads(record.read_text(encoding="utf-8"))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_symlink(link: Path, target_name: str) -> None:
    """Point `link` at releases/<target_name> atomically (symlink under a temp name, then rename over)."""
    tmp_link = link.with_name(f".{link.name}.swap-{os.getpid()}")
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(Path(f"{link.name}.releases") / target_name, tmp_link)
    os.replace(tmp_link, link)
    _fsync_dir(link.parent)


def _prune(paths: Paths, keep: int, current: str) -> list[str]:
    releases = sorted(
        (p for p in paths.releases_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    removable = [p for p in releases if p.name != current][: max(0, len(releases) - keep)]
    for p in removable:
        _make_writable(p)
        shutil.rmtree(p)
    # Temp dirs of builds that were killed half-way: never referenced by the symlink, safe to drop.
    for p in paths.releases_dir.glob(".tmp-*"):
        _make_writable(p)
        shutil.rmtree(p, ignore_errors=True)
    return [p.name for p in removable]


def _make_writable(directory: Path) -> None:
    for p in [directory, *directory.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def _write_report(
    release_dir: Path,
    db_path: Path,
    release_id: str,
    run_id: str,
    published_at: datetime,
    restatements: dict,
    *,
    fail: bool,
) -> dict:
    """Render report.html from the release's own marts.duckdb (read-only), so it shows exactly what BI gets."""
    try:
        if fail:
            raise PublishError("injected failure while rendering the report")
        page = render_report(
            db_path, release_id=release_id, run_id=run_id, generated_at=published_at, restatements=restatements
        )
    except Exception as exc:
        raise PublishError(f"rendering {REPORT_NAME} for release {release_id} failed: {exc}") from exc
    data = page.encode("utf-8")
    (release_dir / REPORT_NAME).write_bytes(data)
    return {"file": REPORT_NAME, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _previous_interface(con: duckdb.DuckDBPyConnection, paths: Paths, current: dict | None) -> PreviousInterface | None:
    """The interface of the release BI reads: from its record, or read from its marts.duckdb when it was published
    before interfaces were versioned (so the first versioned release is still compared with what BI reads)."""
    if current is None:
        return None
    recorded = current.get("interface")
    if recorded is not None:
        return PreviousInterface(current["release_id"], recorded["tables"], recorded["version"], recorded["history"])
    con.execute(f"attach '{paths.published / PUBLISHED_DB_NAME}' as prev (read_only)")
    try:
        tables = [t["name"] for t in current.get("tables", [])]
        return PreviousInterface(current["release_id"], read_interface(con, "prev", "main", tables), None, [])
    finally:
        con.execute("detach prev")


def _log_acknowledgements(check: InterfaceCheck, log: Callable[[str], None]) -> None:
    for change in check.changes:
        log(f"publish: interface: {change.describe()}" + (", acknowledged" if change.breaking else ""))
    for entry in check.applied:
        log(
            f"publish: interface: acknowledgement {entry['change']} of {entry['table']}.{entry.get('column', '')} was "
            f"published in version {entry['published_in_version']}; it may be removed from the configuration"
        )
    for entry in check.stale:
        log(
            f"publish: interface: STALE acknowledgement {entry['change']} of "
            f"{'.'.join(filter(None, (entry['table'], entry.get('column'))))}: no such change, now or in any earlier "
            "release; remove it from publish.acknowledged_interface_changes"
        )


def _log_restatements(report: RestatementReport, log: Callable[[str], None]) -> None:
    if report.status == "first_release":
        log("publish: restatements: first release, nothing to compare with")
    elif report.status == "previous_without_headline":
        log(f"publish: restatements: release {report.compared_with} has no headline numbers to compare with")
    elif report.status == "compared":
        log(
            f"publish: restatements: {len(report.changes)} closed-period value(s) changed beyond tolerance since "
            f"release {report.compared_with} ({report.closed_values_compared} compared)"
        )
        for change in report.changes:
            log(f"publish: restated: {change.describe()}")


def publish(
    paths: Paths,
    *,
    run_id: str,
    tables: list[str] | None = None,
    keep_releases: int = 3,
    acknowledged: Sequence[InterfaceAcknowledgement] = (),
    config_path: Path | None = None,
    restatements: RestatementsConfig | None = None,
    read_landed: Callable[[], Sequence[dict]] = list,
    log: Callable[[str], None] = lambda _msg: None,
    fail_at: str | None = None,
) -> PublishResult:
    """Copy the marts of the working warehouse into a new release and swap it in atomically.

    ``acknowledged`` (the configuration's publish.acknowledged_interface_changes, read from ``config_path``) names
    the breaking interface changes this release may make; any other one raises InterfaceChangeBlocked before
    anything is built.

    ``restatements`` (the configuration's tolerances) and ``read_landed`` (the ingest manifest's records) serve the
    comparison of the closed-period headline numbers with the release BI reads (publish/restatements.py); the
    release records the changes and carries the daily snapshot table of those numbers.

    Must run while no other step writes the warehouse (the orchestration's `duckdb_writer` pool): it opens the
    working file read-only. ``fail_at`` exists for the atomicity tests: it raises at one of FAILURE_POINTS — while
    copying the marts ("build"), while rendering the report ("render"), or after the release was renamed into
    place but before the swap ("before_swap").
    """
    if fail_at is not None and fail_at not in FAILURE_POINTS:
        raise ValueError(f"fail_at: {fail_at!r} is not one of {', '.join(FAILURE_POINTS)}")
    if not paths.warehouse_path.exists():
        raise PublishError(f"no working warehouse at {paths.warehouse_path}: run dbt first")
    paths.releases_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)  # also the day of the headline snapshot this release carries
    release_id = started_at.strftime("%Y%m%dT%H%M%S%fZ") + "-" + re.sub(r"[^A-Za-z0-9]", "", run_id)[:8]
    tmp_dir = paths.releases_dir / f".tmp-{release_id}"
    final_dir = paths.releases_dir / release_id

    if paths.published.exists() and not paths.published.is_symlink():
        raise PublishError(
            f"{paths.published} exists and is not a symlink; move it away so publications can be swapped in"
        )
    # In-memory session: the working warehouse attached read-only, the new release attached read-write.
    con = connect_duckdb()
    try:
        con.execute(f"attach '{paths.warehouse_path}' as wh (read_only)")
        names = _mart_tables(con, tables)
        published_tables = _fingerprints(con, names)
        current = current_publication(paths)
        previous = _previous_interface(con, paths, current)
        columns = read_interface(con, "wh", MARTS_SCHEMA, names)
        with_snapshot = HEADLINE_TABLE in names
        if with_snapshot:  # built below from the release's own marts and the previous release's snapshots
            columns[SNAPSHOT_TABLE] = [{"name": n, "type": t} for n, t in SNAPSHOT_COLUMNS]
        check = check_interface(previous, columns, acknowledged)
        if check.blocked:
            record_check(paths, run_id, "blocked", check)
            raise InterfaceChangeBlocked(check, config_path)
        _log_acknowledgements(check, log)
        # A release from before report.html (or the versioned interface) existed is re-published once, so BI gets it.
        if (
            current is not None
            # The snapshot table is history, not a mart: the marts alone decide whether anything changed.
            and [t for t in current.get("tables", []) if t["name"] != SNAPSHOT_TABLE]
            == [asdict(t) for t in published_tables]
            and current.get("report") is not None
            and current.get("interface") is not None
            and not check.changes  # a rename can leave every row hash as it was
        ):
            log(f"publish: marts unchanged since release {current['release_id']}; nothing to publish")
            record_check(paths, run_id, "unchanged", check)
            return PublishResult(
                status="unchanged",
                release_id=current["release_id"],
                release_dir=paths.published.resolve(),
                published_path=paths.published,
                tables=published_tables,
                interface=check.to_dict(),
                restatements={"status": "unchanged", "compared_with": current["release_id"], "changes": []},
            )
        (tmp_dir / "parquet").mkdir(parents=True)
        db_path = tmp_dir / PUBLISHED_DB_NAME
        con.execute(f"attach '{db_path}' as pub (storage_version '{PUBLISHED_STORAGE_VERSION}')")
        for t in published_tables:
            con.execute(f'create table pub.main."{t.name}" as {_published_select(con, t.name)}')
            # The Parquet copy reads the release's own table: the same values, made safe once. Rows sorted on every
            # column, so equal marts give equal bytes whatever order the build left them in (DuckDB's Parquet writer
            # stamps no time into the file).
            con.execute(
                f"copy (select * from pub.main.\"{t.name}\" order by all) to '{tmp_dir / 'parquet' / t.name}.parquet' "
                "(format parquet, compression zstd)"
            )
            log(f"publish: {t.name}: {t.rows} rows")
            if fail_at == "build":
                raise PublishError(f"injected failure while building the release, after copying {t.name}")
        restated = RestatementReport(compared_with=None, status="no_headline")
        if with_snapshot:
            # Compared as published (text made spreadsheet-safe), like the previous release's values it meets.
            restated = compare_with_published(
                con,
                paths,
                current,
                paths.published / PUBLISHED_DB_NAME,
                f'pub.main."{HEADLINE_TABLE}"',
                restatements or RestatementsConfig(),
                read_landed,
            )
            _log_restatements(restated, log)
            restated.snapshot = build_snapshot(
                con, "pub", paths.published / PUBLISHED_DB_NAME if current else None, started_at.date()
            )
            con.execute(
                f'copy (select * from pub.main."{SNAPSHOT_TABLE}" order by all) '
                f"to '{tmp_dir / 'parquet' / SNAPSHOT_TABLE}.parquet' (format parquet, compression zstd)"
            )
            log(f"publish: {SNAPSHOT_TABLE}: {restated.snapshot['rows']} rows over {restated.snapshot['days']} day(s)")
            snapshot_rows, snapshot_fingerprint = con.execute(
                f'select count(*), coalesce(sum(hash(t)), 0)::varchar from pub.main."{SNAPSHOT_TABLE}" as t'
            ).fetchone()
            released_tables = [
                *published_tables,
                PublishedTable(name=SNAPSHOT_TABLE, rows=int(snapshot_rows), fingerprint=str(snapshot_fingerprint)),
            ]
        else:
            released_tables = published_tables
        con.execute("checkpoint pub")
        con.execute("detach pub")
    except Exception:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    finally:
        con.close()

    published_at = datetime.now(UTC)
    try:
        report = _write_report(
            tmp_dir, db_path, release_id, run_id, published_at, restated.to_dict(), fail=fail_at == "render"
        )
        log(f"publish: {REPORT_NAME}: {report['bytes']} bytes")
        interface = release_interface(check, previous, release_id, published_at.isoformat())
        (tmp_dir / CHANGELOG_NAME).write_text(render_changelog(interface), encoding="utf-8")
        log(f"publish: interface version {interface['version']}: {len(check.changes)} change(s)")
        record = {
            "release_id": release_id,
            "run_id": run_id,
            "published_at": published_at.isoformat(),
            "tables": [asdict(t) for t in released_tables],
            "report": report,
            "interface": interface,
            "restatements": restated.to_dict(),
        }
        (tmp_dir / PUBLICATION_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        # BI gets files it cannot modify; DuckDB opens a read-only file with read_only=True.
        written = [tmp_dir / REPORT_NAME, tmp_dir / CHANGELOG_NAME, tmp_dir / PUBLICATION_RECORD]
        for f in [db_path, *(tmp_dir / "parquet").iterdir(), *written]:
            f.chmod(0o444)
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(tmp_dir / "parquet")
        _fsync_dir(tmp_dir)
    except Exception:
        _make_writable(tmp_dir)
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    os.replace(tmp_dir, final_dir)
    _fsync_dir(paths.releases_dir)
    try:
        if fail_at == "before_swap":
            raise PublishError("injected failure after building the release, before the swap")
        _swap_symlink(paths.published, release_id)
    except Exception:
        # Never served (the symlink still names the previous release): drop it, or pruning could keep it
        # instead of a release BI may still be reading.
        _make_writable(final_dir)
        shutil.rmtree(final_dir, ignore_errors=True)
        raise
    log(f"publish: release {release_id} is now served at {paths.published}")
    record_check(paths, run_id, "published", check)
    removed = _prune(paths, keep_releases, release_id)
    return PublishResult(
        status="published",
        release_id=release_id,
        release_dir=final_dir,
        published_path=paths.published,
        tables=released_tables,
        removed_releases=removed,
        interface=check.to_dict(),
        restatements=restated.to_dict(),
    )
