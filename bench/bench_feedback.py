"""Feedback ingest and marts at scale.

    .venv/bin/python bench/bench_feedback.py --responses 1000000 [--users 20000] [--files 4] [--work-dir DIR]

Writes N survey responses in two real layouts with the sample generator's own row writers
(sample_generator.feedback): 90 % as the generic CSAT CSV (csat/csat_responses*.csv, 5-point scores) and 10 % as the
Delighted NPS CSV export, split over --files files each so no single file holds everything. Respondents are
``sample_generator.people.sample_users`` (some answer by email only, with the generator's messy emails). Then times,
each in a fresh child process so its peak RSS (ru_maxrss, interpreter and imports included) is its own:
  ingest   ingest_feedback on landing/feedback (detect, parse, validate every row, Parquet + manifest), then the
           pending Parquet promoted into the lake (what the raw gate does once it passes; the gate is not run)
  marts    dbt build of the feedback marts and everything upstream of them (staging, intermediate; the other
           sources' lakes are empty), tests included, unit tests excluded; peak RSS is dbt's process tree
Prints row counts (lake, staging, marts) and the timings as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FEEDBACK_MARTS = ("fct_nps", "fct_csat", "fct_feature_requests", "fct_kano_features")


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def _generate(work: Path, responses: int, users: int, files: int, seed: int) -> dict[str, int]:
    from sample_generator import feedback as fb
    from sample_generator.people import sample_users

    people = sample_users(seed=seed, users=users, days=60)
    rng = random.Random(seed)
    start_s = int(time.mktime((2024, 1, 1, 0, 0, 0, 0, 0, 0))) - time.timezone
    end_s = start_s + 60 * fb.DAY
    nps_n = responses // 10
    csat_n = responses - nps_n
    landing = work / "data" / "landing"
    shutil.rmtree(landing / "feedback", ignore_errors=True)
    out = fb._Output(landing)
    counts = {"csat_rows": 0, "nps_rows": 0, "files": 0}

    def batch(n: int, scores: list[int]) -> list[fb._Response]:
        batch_rows = []
        for _ in range(n):
            user = people[int(rng.random() * len(people))]
            score = scores[int(rng.random() * len(scores))]
            comment = fb._free_text(rng, ("Great", "Too slow", "Love the reports", "Pricing is unclear"))
            at = rng.randrange(start_s, end_s)
            batch_rows.append(fb._Response(user, at, score, comment, rng.random() < 0.05, rng))
        return batch_rows

    for k in range(files):
        n = csat_n // files + (1 if k < csat_n % files else 0)
        rows = batch(n, [1, 2, 3, 4, 4, 5, 5, 5])
        fb._write_csat_csv(out, rows)
        # the writers use fixed names: give each part its own, keeping the layout's directory
        os.replace(landing / "feedback" / "csat" / "csat_responses.csv",
                   landing / "feedback" / "csat" / f"csat_responses_{k:02d}.csv")  # fmt: skip
        counts["csat_rows"] += n
        n = nps_n // files + (1 if k < nps_n % files else 0)
        rows = batch(n, list(range(11)))
        fb._write_delighted_csv(out, rows)
        os.replace(landing / "feedback" / "delighted" / "delighted_export.csv",
                   landing / "feedback" / "delighted" / f"delighted_export_{k:02d}.csv")  # fmt: skip
        counts["nps_rows"] += n
        counts["files"] += 2
    counts["bytes"] = sum(p.stat().st_size for p in (landing / "feedback").rglob("*.csv"))
    return counts


def _phase_ingest(work: Path) -> dict[str, float]:
    from core.config import load_config
    from core.settings import get_paths
    from ingest.common.lake import promote_pending
    from ingest.feedback import ingest_feedback

    paths = get_paths(work / "data").ensure()
    t = time.perf_counter()
    report = ingest_feedback(paths, load_config())
    seconds = time.perf_counter() - t
    totals = report.totals
    if totals["failed"]:
        raise SystemExit(f"ingest failed: {totals} {[r.error for r in report.failed]}")
    # The raw gate promotes pending Parquet into the lake after it passes; the bench promotes without gating.
    for entity in ("survey_responses", "feature_requests", "kano_answers"):
        promote_pending(paths, "feedback", entity)
    return {"seconds": seconds, "rows_loaded": totals["rows_loaded"], "rows_rejected": totals["rows_rejected"],
            "peak_rss_mb": _peak_rss_mb()}  # fmt: skip


def _phase_marts(work: Path) -> dict[str, float]:
    import duckdb

    from core.config import load_config
    from core.settings import DBT_PROJECT_DIR, get_paths
    from orchestration.dbt_cli import dbt_env, dbt_executable, dbt_vars_json

    paths = get_paths(work / "data").ensure()
    env = os.environ | dbt_env(paths) | {"DBT_TARGET_PATH": str(work / "dbt_target"),
                                         "DBT_LOG_PATH": str(work / "dbt_logs")}  # fmt: skip
    command = [dbt_executable(), "build", "--select", *[f"+{m}" for m in FEEDBACK_MARTS],
               "--exclude", "resource_type:unit_test", "--indirect-selection", "cautious",
               "--project-dir", str(DBT_PROJECT_DIR),
               "--profiles-dir", str(DBT_PROJECT_DIR), "--vars", dbt_vars_json(load_config())]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    con = duckdb.connect(str(paths.warehouse_path), read_only=True)
    try:
        rows = {
            f"{schema}.{table}": con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]
            for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_name like 'stg_feedback%' or table_name in "
                "('fct_nps', 'fct_csat', 'fct_feature_requests', 'fct_kano_features') order by 1, 2"
            ).fetchall()
        }
    finally:
        con.close()
    return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb(resource.RUSAGE_CHILDREN), "rows": rows}


def _child(phase: str, work: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--phase", phase, "--work-dir", str(work)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--ingest-only", action="store_true", help="measure ingest only, not the dbt build")
    parser.add_argument("--phase", choices=("ingest", "marts"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = (_phase_ingest if args.phase == "ingest" else _phase_marts)(args.work_dir)
        print(json.dumps(result))
        return
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_feedback_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        generated = _generate(work, args.responses, args.users, args.files, args.seed)
        generated["seconds"] = round(time.perf_counter() - t, 2)
        print(f"generated: {json.dumps(generated)}", flush=True)
        ingest = _child("ingest", work)
        print(f"ingest:    {json.dumps(ingest)}", flush=True)
        summary = {
            "responses": args.responses,
            "machine": f"{platform.machine()} {os.cpu_count()} cpus",
            "ingest_seconds": round(ingest["seconds"], 1),
            "ingest_rows_per_second": round(ingest["rows_loaded"] / ingest["seconds"]),
            "ingest_peak_rss_mb": round(ingest["peak_rss_mb"]),
        }
        if not args.ingest_only:
            marts = _child("marts", work)
            print(f"marts:     {json.dumps(marts)}", flush=True)
            summary |= {"marts_seconds": round(marts["seconds"], 1), "marts_peak_rss_mb": round(marts["peak_rss_mb"])}
        print(json.dumps(summary, indent=1))
    finally:
        if not args.keep and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
