"""`pmw summary`: what was loaded and rejected per source, what was built and checked, where BI reads it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from core.settings import SOURCES, Paths
from ingest.common.manifest import read_manifest
from orchestration.run_records import read_gate_results, read_last_run
from publish.release import REPORT_NAME, current_publication


def build_summary(paths: Paths) -> dict[str, Any]:
    per_source: dict[str, dict[str, int]] = {}
    failures: list[dict[str, Any]] = []
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
            if r.get("status") == "failed":
                failures.append({"source": source, "path": r.get("path"), "error": r.get("error")})
        per_source[source] = dict(totals)
    return {
        "data_dir": str(paths.data_dir),
        "sources": per_source,
        "failed_files": failures,
        "gates": [
            {k: g.get(k) for k in ("gate", "success", "rows_validated", "run_id", "recorded_at", "last_validated")}
            for g in read_gate_results(paths)
        ],
        "last_run": read_last_run(paths),
        "publication": current_publication(paths),
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
            f"failed {t.get('files_failed', 0)}); rows in {t.get('rows_in', 0)}, loaded {t.get('rows_loaded', 0)}, "
            f"rejected {t.get('rows_rejected', 0)}, skipped as totals {t.get('rows_skipped', 0)}"
        )
    for f in s["failed_files"]:
        lines.append(f"  FAILED {f['source']}/{f['path']}: {f['error']}")
    run = s["last_run"]
    lines += ["", "last run:"]
    if run:
        checks = run.get("checks", [])
        failed = [c for c in checks if not c["passed"]]
        lines.append(
            f"  {run['run_id'][:8]} {'OK' if run.get('ok') else 'FAILED'} in {run.get('seconds')}s; "
            f"checks passed {len(checks) - len(failed)}, failed {len(failed)}; "
            f"assets materialised {len(run.get('materialized', []))}"
        )
        lines += [f"  check failed: {c['asset']} / {c['check']}: {c['description']}" for c in failed]
        lines += [f"  step failed: {x}" for x in run.get("steps_failed", [])]
        lines += [f"  step skipped: {x}" for x in run.get("steps_skipped", [])]
    else:
        lines.append("  no run recorded")
    lines += ["", "gates (latest result of each):"]
    width = max((len(g["gate"]) for g in s["gates"]), default=0)
    lines += [f"  {g['gate']:<{width}}  {_gate_result(g)}" for g in s["gates"]] or ["  none run yet"]
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
    return "\n".join(lines)


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
