"""`pmw summary`: what was loaded and rejected per source, what was built and checked, where BI reads it."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from core.duckdb_connection import connect_duckdb
from core.settings import SOURCES, Paths
from expectations.volume import read_results as read_volume_results
from ingest.common.lake import unresolved_failed_files
from ingest.common.manifest import read_manifest
from orchestration.build_state import build_scope_of_run
from orchestration.run_records import (
    checks_failed,
    checks_headline,
    checks_warned,
    materialised_headline,
    read_gate_results,
    read_landing_waiting,
    read_last_run,
    settle_killed_run,
)
from publish.interface import CHANGELOG_NAME, InterfaceChange, read_check, yaml_entry
from publish.release import PUBLISHED_DB_NAME, REPORT_NAME, current_publication
from publish.restatements import describe_change

# fct_issue_cycle_times.uncategorised_statuses joins the names with this separator (dbt listagg, name order).
_STATUS_SEPARATOR = ", "


def uncategorised_jira_statuses(paths: Paths) -> list[dict[str, Any]]:
    """Statuses no source categorises in the published marts, with the number of issues whose timings they made
    NULL, most issues first; [] when nothing is published or every status has a category."""
    published_db = paths.published / PUBLISHED_DB_NAME
    if not published_db.exists():
        return []
    with connect_duckdb(str(published_db), read_only=True) as con:
        has_column = con.execute(
            "select count(*) from information_schema.columns "
            "where table_name = 'fct_issue_cycle_times' and column_name = 'uncategorised_statuses'"
        ).fetchone()[0]
        if not has_column:  # a release from before the column existed
            return []
        listed = con.execute(
            "select uncategorised_statuses from fct_issue_cycle_times where uncategorised_statuses is not null"
        ).fetchall()
    issues = Counter(name for (names,) in listed for name in names.split(_STATUS_SEPARATOR))
    return [{"status": name, "issues": count} for name, count in sorted(issues.items(), key=lambda i: (-i[1], i[0]))]


def override_line(status: str) -> str:
    """The configuration line that categorises ``status`` (the category is the operator's to choose)."""
    return f"jira.status_category_overrides: {{{json.dumps(status, ensure_ascii=False)}: <new|indeterminate|done>}}"


def build_summary(paths: Paths) -> dict[str, Any]:
    """What `pmw summary` shows. A last run still ``running`` whose process is gone is recorded as ``killed``."""
    settle_killed_run(paths)
    per_source: dict[str, dict[str, int]] = {}
    failures: list[dict[str, Any]] = []
    drift: list[dict[str, Any]] = []  # files whose header has columns not read, or lacks optional ones
    for source in SOURCES:
        records = read_manifest(paths, source)
        if not records:
            continue
        totals: dict[str, int] = defaultdict(int)
        for r in records:
            totals["files"] += 1
            totals[f"files_{r.get('status', 'unknown')}"] += 1
            for k in ("rows_in", "rows_loaded", "rows_rejected", "rows_skipped"):
                totals[k] += int(r.get(k) or 0)
            if r.get("unknown_columns") or r.get("missing_columns"):
                drift.append(
                    {"source": source, "path": r.get("path")}
                    | {k: r.get(k) or [] for k in ("unknown_columns", "missing_columns")}
                )
        per_source[source] = dict(totals)
    # Failed files that still hold publication back (a superseded or discarded one no longer does).
    for unresolved in unresolved_failed_files(paths):
        failures.append(
            {
                "source": unresolved.source,
                "path": unresolved.path,
                "sha256": unresolved.sha256,
                "error": unresolved.error,
                "discard_command": unresolved.discard_command,
            }
        )
    last_run = read_last_run(paths)
    return {
        "data_dir": str(paths.data_dir),
        "sources": per_source,
        "failed_files": failures,
        "column_drift": drift,
        "waiting_files": [w for w in read_landing_waiting(paths) if w.get("files")],
        "gates": [
            {k: g.get(k) for k in ("gate", "success", "rows_validated", "run_id", "recorded_at", "last_validated")}
            # A failed raw gate names its files (sha256, landing path, rules, examples, the discard command).
            | {"failing_files": g.get("failing_files") or []}
            for g in read_gate_results(paths)
        ],
        "jira_uncategorised_statuses": uncategorised_jira_statuses(paths),
        # The latest verdict of every volume check (rows per source and day, rows per mart), by check group.
        "volume": read_volume_results(paths),
        "last_run": last_run,
        # The part of the dbt project the last run built, when only some sources changed (else None: all of it).
        "build_scope": build_scope_of_run(paths, last_run["run_id"]) if last_run and last_run.get("run_id") else None,
        "publication": current_publication(paths),
        # The latest comparison of the marts' columns with the published interface (blocked, published, unchanged).
        "interface_check": read_check(paths),
        "published_path": str(paths.published),
        "report_path": str(paths.published / REPORT_NAME),
    }


def format_summary(s: dict[str, Any]) -> str:
    lines = [f"data directory: {s['data_dir']}", "", "ingest (all files ever landed):"]
    if not s["sources"]:
        lines.append("  nothing landed yet")
    for source, t in s["sources"].items():
        lines.append(
            f"  {source:<10} files {t.get('files', 0)} (loaded {t.get('files_loaded', 0)}, "
            f"failed {t.get('files_failed', 0)}, discarded {t.get('files_discarded', 0)}); "
            f"rows in {t.get('rows_in', 0)}, loaded {t.get('rows_loaded', 0)}, "
            f"rejected {t.get('rows_rejected', 0)}, skipped as totals {t.get('rows_skipped', 0)}"
        )
    if s["failed_files"]:
        lines += ["", "files that failed to load (nothing is published until each is fixed or discarded):"]
    for f in s["failed_files"]:
        lines.append(f"  FAILED {f['path']} (sha256 {f['sha256']}): {f['error']}")
        lines.append(f"    to move on: land a fixed version under the same name, or {f['discard_command']}")
    if s.get("column_drift"):
        lines += ["", "files whose columns differ from what the pipeline reads (they loaded):"]
    for d in s.get("column_drift", []):
        if d["unknown_columns"]:
            lines.append(f"  columns not read (not loaded) in {d['path']}: {', '.join(d['unknown_columns'])}")
        if d["missing_columns"]:
            lines.append(f"  optional columns missing (NULL) in {d['path']}: {', '.join(d['missing_columns'])}")
    if s["waiting_files"]:
        lines += [
            "",
            "files waiting to settle (being written, or modified too recently; a later run reads them):",
        ]
    for w in s["waiting_files"]:
        lines += [f"  {name} (settle time {w['settle_seconds']:.0f}s)" for name in w["files"]]
    run = s["last_run"]
    lines += ["", "last run:"]
    if run and run.get("status") in ("running", "killed"):
        lines.append(
            f"  {run['status'].upper()}: pid {run.get('pid')}, started {run.get('started_at')}"
            + (f"; {run['error']}" if run.get("error") else "")
        )
    elif run and run.get("error") and not run.get("run_id"):
        lines.append(f"  FAILED at {run.get('recorded_at')}: {run['error']}")
    elif run:
        checks = run.get("checks", [])
        failed, warned = checks_failed(checks), checks_warned(checks)
        lines.append(
            f"  {run['run_id'][:8]} {'OK' if run.get('ok') else 'FAILED'} in {run.get('seconds')}s; "
            f"checks {checks_headline(checks)}; "
            + materialised_headline(run.get("materialized", []), run.get("left_as_built", []))
        )
        lines += [f"  check failed: {c['asset']} / {c['check']}: {c['description']}" for c in failed]
        lines += [f"  check warned: {c['asset']} / {c['check']}: {c['description']}" for c in warned]
        step_errors = run.get("step_errors") or {}
        lines += [
            f"  step failed: {x}" + (f": {step_errors[x].splitlines()[0]}" if x in step_errors else "")
            for x in run.get("steps_failed", [])
        ]
        if run.get("unchanged"):
            # A no-op night: say which build still stands instead of listing the steps it did not need.
            lines.append(f"  {run['unchanged']['statement']}")
        else:
            if s.get("build_scope"):
                lines.append(f"  {s['build_scope']['statement']}")
            lines += [f"  step skipped: {x}" for x in run.get("steps_skipped", [])]
    else:
        lines.append("  no run recorded")
    lines += ["", "gates (latest result of each):"]
    width = max((len(g["gate"]) for g in s["gates"]), default=0)
    if not s["gates"]:
        lines.append("  none run yet")
    for g in s["gates"]:
        lines.append(f"  {g['gate']:<{width}}  {_gate_result(g)}")
        for failing in g["failing_files"]:
            rules = ", ".join(f"{r['rule']} x{r['unexpected_count']}" for r in failing.get("rules", []))
            lines.append(f"    failing file {failing['file_sha256']} ({failing['source_file']}): {rules}")
            lines += [f"      e.g. {example['row']}" for example in failing.get("examples", [])]
            if failing.get("discard_command"):
                lines.append(f"      to move on: {failing['discard_command']}")
    lines += _volume_lines(s.get("volume") or [])
    uncategorised = s.get("jira_uncategorised_statuses") or []
    if uncategorised:
        lines += [
            "",
            "Jira statuses without a category (the timings they could change are NULL in fct_issue_cycle_times):",
        ]
        for entry in uncategorised:
            lines.append(
                f"  {entry['status']!r} on {entry['issues']} issue(s); land a /rest/api/3/status catalog or add"
            )
            lines.append(f"    {override_line(entry['status'])}")
    pub = s["publication"]
    lines += ["", "published for BI:"]
    if pub:
        lines.append(f"  {s['published_path']} -> release {pub['release_id']} (run {pub['run_id'][:8]})")
        lines.append(f"  {s['published_path']}/marts.duckdb  and  {s['published_path']}/parquet/<mart>.parquet")
        if pub.get("report"):
            lines.append(f"  {s['report_path']}  (the charts of this release: open it in a browser)")
        width = max(len(t["name"]) for t in pub["tables"])
        lines += [f"    {t['name']:<{width}}  {t['rows']:>10,} rows" for t in pub["tables"]]
    else:
        lines.append("  nothing published yet")
    lines += _interface_lines(s)
    lines += _restatement_lines(s["publication"])
    return "\n".join(lines)


def _restatement_lines(pub: dict[str, Any] | None) -> list[str]:
    """The served release's restated closed-period numbers (publish/restatements.py), or why there are none."""
    restatements = (pub or {}).get("restatements")
    if restatements is None:
        return []
    lines = ["", f"restated numbers (closed periods changed by release {pub['release_id']}):"]
    previous, changes = restatements.get("compared_with"), restatements.get("changes") or []
    if restatements["status"] == "first_release":
        lines.append("  the first release: nothing to compare with")
    elif restatements["status"] == "previous_without_headline":
        lines.append(f"  release {previous} predates the headline numbers: nothing to compare with")
    elif restatements["status"] == "no_headline":
        lines.append("  this release has no headline numbers (fct_headline_metrics was not published)")
    elif not changes:
        lines.append(
            f"  none since release {previous} "
            f"({restatements.get('closed_values_compared', 0):,} closed values compared, none beyond tolerance)"
        )
    else:
        lines.append(f"  {len(changes)} since release {previous}:")
        lines += [f"    {describe_change(c)}" for c in changes]
    snapshot = restatements.get("snapshot") or {}
    if snapshot:
        lines.append(
            f"  daily snapshots for BI: {snapshot['table']} ({snapshot['rows']:,} rows over {snapshot['days']} day(s), "
            f"latest {snapshot['snapshot_date']})"
        )
    return lines


def _interface_lines(s: dict[str, Any]) -> list[str]:
    """The published interface: its version and latest changes, and what the latest check blocked or flagged."""
    pub, check = s["publication"], s.get("interface_check")
    interface = (pub or {}).get("interface")
    if interface is None and check is None:
        return []
    lines = ["", "published interface (the marts' columns and types BI queries):"]
    if interface is not None:
        history = interface["history"]
        latest = history[-1] if history else None
        lines.append(f"  version {interface['version']}; changelog {s['published_path']}/{CHANGELOG_NAME}")
        if latest is not None and latest["baseline"] and not latest["changes"]:
            lines.append(f"  {latest['version']} is the baseline (release {latest['release_id']})")
        elif latest is not None:
            lines.append(f"  changes in {latest['version']} (release {latest['release_id']}):")
            lines += [
                f"    {_describe(c)}"
                + (", acknowledged" if c["breaking"] else "")
                + (f": {c['note']}" if c.get("note") else "")
                for c in latest["changes"]
            ]
    elif pub is not None:
        lines.append("  the served release predates interface versioning; the next publication records its baseline")
    if check is None:
        return lines
    if check["status"] == "blocked":
        lines.append(
            f"  BLOCKED in run {str(check['run_id'])[:8]} ({check['checked_at'][:19]}Z): {len(check['blocked'])} "
            "unacknowledged breaking change(s); nothing was published. If intended, add under "
            "publish.acknowledged_interface_changes:"
        )
        for change in check["blocked"]:
            lines.append(f"    {_describe(change)}:")
            lines += [f"      {entry}" for entry in change["acknowledge_with"][:1]]
            lines += [f"      or, if renamed: {entry}" for entry in change["acknowledge_with"][1:]]
    for entry in check["stale_acknowledgements"]:
        lines.append(f"  STALE acknowledgement (matches no change, now or before; remove it): {_entry(entry)}")
    for entry in check["applied_acknowledgements"]:
        lines.append(
            f"  acknowledgement already published in version {entry['published_in_version']} "
            f"(may be removed from the configuration): {_entry(entry)}"
        )
    return lines


def _describe(change: dict[str, Any]) -> str:
    return InterfaceChange.from_dict(change).describe()


def _entry(entry: dict[str, Any]) -> str:
    return yaml_entry({k: v for k, v in entry.items() if k != "published_in_version"})


def _gate_result(gate: dict[str, Any]) -> str:
    verdict = "passed" if gate["success"] else "FAILED"
    last = gate.get("last_validated")
    if not gate.get("rows_validated") and last:
        # The latest run had nothing new for this gate: say so, with the last real validation's rows.
        last_verdict = "passed" if last.get("success") else "FAILED"
        return (
            f"{verdict}, nothing new (last validated {last['rows_validated']:,} rows: {last_verdict}, "
            f"run {str(last.get('run_id'))[:8]})"
        )
    return f"{verdict} ({gate.get('rows_validated') or 0:,} rows)"


_VOLUME_VERDICT = {"ok": "ok", "anomaly": "OUT OF BAND", "cold_start": "cold start (not judged)"}


def _volume_lines(groups: list[dict[str, Any]]) -> list[str]:
    """Volume checks: each source table's verdict, every count out of band in full (source, day, band, count),
    cold starts stated; marts in band only counted."""
    if not groups:
        return []
    lines = ["", "volume checks (latest run; rows per source and day, rows per mart, against their history):"]
    # Sources first (what arrived), then the marts (what was built from it).
    for group in sorted(groups, key=lambda g: (g["group"] != "sources", g["group"])):
        marts = group["group"].startswith("marts")
        results = group.get("results") or []
        counts = Counter(r["status"] for r in results)
        tally = ", ".join(f"{_VOLUME_VERDICT.get(k, k)} {n}" for k, n in sorted(counts.items()))
        lines.append(f"  {group['group']} (run {str(group.get('run_id'))[:8]}): {tally}")
        for result in results:
            if marts and result["status"] != "anomaly":
                continue  # listed below (cold start) or only counted (in band)
            first, *rest = result["description"].splitlines()
            severity = f"{result['severity'].upper()}: " if result["status"] == "anomaly" else ""
            lines.append(f"    {severity}{first}")
            lines += [f"      {line.strip()}" for line in rest]
        cold = [r["subject"] for r in results if marts and r["status"] == "cold_start"]
        if cold:
            lines.append(f"    cold start, not judged (too few earlier runs): {', '.join(cold)}")
    return lines
