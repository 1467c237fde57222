"""Jira ingest at scale: ``ingest_jira`` on ~N issues with their changelogs, as REST JSON pages and as CSV exports.

    .venv/bin/python bench/bench_jira.py --issues 100000 [--csv-chunk 1000] [--formats json,csv] [--work-dir DIR]

The exports are built with the sample generator's own builders (sample_generator.jira: the planner, ``_issue_json``,
``_csv_rows``, the field catalog and sprint page of ``generate_jira``), so the bench reads the same layouts as the
tests: the default Jira sample (seed 7, ~95 issues with status / points / sprint / assignee histories, reopens and
re-estimates) is planned once and repeated with fresh keys, ids, history ids and comment ids until there are
about N issues (whole copies, so every parent is in the same file as its children).

  json  pages of 50 issues with ``expand=changelog`` (search_PROD_startAt_NNNNNN.json), plus the field catalog,
        the board's sprint page and the ideas page: what a REST sync lands.
  csv   the UI's CSV export in files of --csv-chunk issues (Jira Cloud exports at most 1000 issues per file), plus
        the sprint page (CSV rows name sprints; their ids come from it). No changelog: a CSV has none.

Each format is ingested once, in a fresh child process (so ru_maxrss is that ingest's own peak, including the
interpreter and imports), into its own empty lake. Reports wall time, issues/s, changelog items/s and peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 7
COPY_SEQ_STRIDE = 10_000  # the base sample's issue seqs are far below this: comment / link ids stay unique
CLONE_ID_BASE = 1_000_000  # clone issue ids above the base sample's PROD (10_001..) and idea (20_001..) ids


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- building the exports ----------------------------------------------------------------------------------------


class _CloneHistoryIds:
    """history id of a cloned issue's history = the original's id shifted by the copy number (unique, increasing
    with time within a copy, as Jira allocates them)."""

    def __init__(self, base: dict[tuple[str, int, int], int]):
        self.base = base
        self.span = len(base)
        self.origin: dict[str, tuple[str, int]] = {}

    def __getitem__(self, item: tuple[str, int, int]) -> int:
        key, at, author = item
        original, copy = self.origin.get(key, (key, 0))
        return self.base[(original, at, author)] + copy * self.span


def _planned():
    from sample_generator import jira as sample

    planner = sample._Planner(SEED, sample.date(2023, 10, 2), 26)  # generate_jira's defaults: the same plan
    planner.plan()
    planner.plan_ideas()
    planner.assign_keys()
    return sample, planner


def _clone_copy(sample, base: list, copy: int, history_ids: _CloneHistoryIds) -> list:
    """Copy ``copy`` (>= 1) of the base issues: new keys and ids, parents / children / initiatives remapped."""
    offset = copy * len(base)
    clones = {}
    for issue in base:
        n = int(issue.key.split("-")[1]) + offset
        clone = dataclasses.replace(
            issue,
            seq=issue.seq + copy * COPY_SEQ_STRIDE,
            key=f"{sample.PROJECT_KEY}-{n}",
            issue_id=str(CLONE_ID_BASE + n),
            link_to=None,  # ideas stay linked to the base initiatives only
        )
        clones[id(issue)] = clone
        history_ids.origin[clone.key] = (issue.key, copy)
    for issue in base:
        clone = clones[id(issue)]
        clone.parent = clones[id(issue.parent)] if issue.parent is not None else None
        clone.initiative = clones[id(issue.initiative)] if issue.initiative is not None else None
        clone.children = [clones[id(child)] for child in issue.children]
    return [clones[id(issue)] for issue in base]


def build_exports(work: Path, issues: int, formats: list[str], csv_chunk: int) -> dict[str, int]:
    """Landing dirs under work/<format>/data/landing; returns the issue counts written (PROD project)."""
    from core.config import load_config
    from sample_generator.jira import generate_jira

    sample, planner = _planned()
    base = list(planner.issues)
    copies = max(1, -(-issues // len(base)))
    history_ids = _CloneHistoryIds(sample._history_ids(planner))
    counts: dict[str, int] = {}
    for fmt in formats:
        landing = work / fmt / "data" / "landing"
        shutil.rmtree(work / fmt, ignore_errors=True)
        # The base sample exactly as generate_jira writes it (catalog, sprint page, ideas, the first ~95 issues).
        generate_jira(landing, seed=SEED, formats=("json",))
        api = landing / "jira" / "api"
        written = len(base)
        if fmt == "csv":  # keep the sprint page (CSV sprint names resolve through it), write the issues as CSV
            for path in api.iterdir():
                if not path.name.startswith("board_"):
                    path.unlink()
            tz = ZoneInfo(load_config().jira.csv_timezone)  # the zone ingest reads CSV dates in
            per_file = max(1, csv_chunk // len(base))  # whole copies per file
            chunk: list = list(base) + list(planner.ideas)
            file_number = 0

            copies_in_chunk = 1
            for copy in range(1, copies):
                if copies_in_chunk == per_file:
                    _write_csv(sample, planner, tz, landing, chunk, file_number)
                    file_number, chunk, copies_in_chunk = file_number + 1, [], 0
                chunk += _clone_copy(sample, base, copy, history_ids)
                copies_in_chunk += 1
                written += len(base)
            _write_csv(sample, planner, tz, landing, chunk, file_number)
        else:
            first = len(base)
            page: list = []
            for copy in range(1, copies):
                for clone in _clone_copy(sample, base, copy, history_ids):
                    page.append(sample._issue_json(planner, clone, history_ids, None))
                    if len(page) == sample.PAGE_SIZE:
                        _write_page(sample, api, first, page)
                        first, page = first + len(page), []
                written += len(base)
            if page:
                _write_page(sample, api, first, page)
        counts[fmt] = written
    return counts


def _write_csv(sample, planner, tz: ZoneInfo, landing: Path, issues: list, number: int) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(sample._csv_rows(planner, issues, "en", tz))
    sample._write_atomic(landing / "jira" / "csv" / f"Jira_{number:05d}.csv", buf.getvalue().encode())


def _write_page(sample, api: Path, first: int, docs: list) -> None:
    envelope = {"expand": "schema,names", "startAt": first, "maxResults": sample.PAGE_SIZE, "issues": docs}
    sample._write_atomic(api / f"search_{sample.PROJECT_KEY}_startAt_{first:06d}.json", sample._dumps(envelope))


# -- measuring ---------------------------------------------------------------------------------------------------


def _phase_ingest(work: Path, fmt: str) -> dict[str, float]:
    import duckdb

    from core.config import load_config
    from core.settings import Paths
    from ingest.jira import ingest_jira

    paths = Paths(work / fmt / "data").ensure()
    config = load_config()
    t = time.perf_counter()
    report = ingest_jira(paths, config)
    seconds = time.perf_counter() - t
    failed = [r.describe() for r in report.results if r.status == "failed"]
    totals: dict[str, int] = {}
    for result in report.results:
        for entity, rows in result.entity_rows.items():
            totals[entity] = totals.get(entity, 0) + rows
    pending = paths.lake / "_pending" / "jira" / "issues"
    files = len([r for r in report.results if r.status == "loaded"])
    bytes_in = sum(p.stat().st_size for p in (paths.landing / "jira").rglob("*") if p.is_file())
    if not totals:  # older FileResult without entity_rows: count the written Parquet
        totals["issues"] = duckdb.sql(f"select count(*) from read_parquet('{pending}/*.parquet')").fetchall()[0][0]
    return {
        "seconds": seconds,
        "files": files,
        "failed": failed,
        "bytes": bytes_in,
        "issues": totals.get("issues", 0),
        "changelog": totals.get("changelog", 0),
        "comments": totals.get("comments", 0),
    }


def _child(work: Path, fmt: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", "ingest", "--format", fmt, "--work-dir", str(work)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--formats", default="json,csv")
    parser.add_argument("--csv-chunk", type=int, default=1000, help="issues per CSV file (Jira Cloud's cap: 1000)")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--phase", choices=["ingest"], help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "ingest":
        result = _phase_ingest(args.work_dir, args.format)
        print(json.dumps(result | {"peak_rss_mb": _peak_rss_mb()}))
        return

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_jira_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, python {platform.python_version()}")
    t = time.perf_counter()
    counts = build_exports(work, args.issues, formats, args.csv_chunk)
    print(f"built {', '.join(f'{fmt}: {n:,} issues' for fmt, n in counts.items())} in {time.perf_counter() - t:.1f} s")
    try:
        for fmt in formats:
            r = _child(work, fmt)
            print(
                f"{fmt:4s}: {r['files']:,} files, {r['bytes'] / 2**20:,.0f} MiB -> {r['issues']:,} issue rows, "
                f"{r['changelog']:,} changelog items, {r['comments']:,} comments in {r['seconds']:.1f} s: "
                f"{r['issues'] / r['seconds']:,.0f} issues/s, {r['changelog'] / r['seconds']:,.0f} changelog items/s; "
                f"peak RSS {r['peak_rss_mb']:,.0f} MB" + (f"; FAILED: {r['failed']}" if r["failed"] else "")
            )
    finally:
        if not args.keep and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
