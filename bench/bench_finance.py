"""Unit economics at scale: billing and marketing ingest, then the finance dbt models.

    .venv/bin/python bench/bench_finance.py --invoices 1000000 --spend-rows 100000 [--work-dir DIR] [--keep]

Writes a Stripe dashboard export (customers.csv, subscriptions.csv, invoices.csv, refunds.csv: the headers, date
and money formats of sample_generator.billing's writers) with ``--invoices`` monthly invoices, one monthly subscription
per customer, twelve invoices per customer (Jan..Dec 2024; customers arrive through the year, so fewer), 1 % of
invoices refunded, ~3 % monthly churn; and ``--spend-rows`` rows of the plain spend CSV (``date,channel,campaign,
spend,currency``, marketing/other) over the same year in USD, EUR and GBP. Then, each in a fresh child process
(so ru_maxrss is its own; for dbt the peak of its child processes):

  ingest_billing     parse, validate, Parquet + manifest (landing -> lake/_pending)
  ingest_marketing   the same for the spend file
  dbt                dbt build (models + data tests, no unit tests) of the billing/marketing staging models, the
                     finance intermediates and marts (their other upstream seeds and models,
                     analytics staging over an empty lake, are built first without tests, not timed)

Between ingest and dbt the pending files are promoted as the pipeline does after its raw gates (the gates are not
timed here). Prints one JSON line per phase and a summary table.
"""

from __future__ import annotations

import argparse
import csv
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sample_generator import billing as B  # noqa: E402

YEAR_START = date(2024, 1, 1)
MONTHS = 12
CHANNELS = (("paid_search", 35), ("paid_social", 25), ("affiliate", 10), ("sales", 10), ("organic", 20))
SPEND_CHANNELS = ("google_ads", "meta_ads", "Affiliates", "Events", "Sales team")
CAMPAIGNS_PER_CHANNEL = 20


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _add_month(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


# ----------------------------------------------------------------------------------------------- data


def write_billing(landing: Path, invoices: int, seed: int = 7) -> dict[str, int]:
    """Stream the dashboard CSVs; returns row counts. Same arguments, same bytes."""
    base = landing / "billing" / "stripe" / "dashboard"
    base.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    counts = {"customers": 0, "subscriptions": 0, "invoices": 0, "refunds": 0}
    price = {"usd": B.PRICES[("pro", "month")]["usd"], "gbp": B.PRICES[("pro", "month")]["gbp"]}
    plan_id = {cur: B._price_id(("pro", "month"), cur) for cur in price}
    channel_names = [c for c, _ in CHANNELS]
    channel_weights = [w for _, w in CHANNELS]
    with (
        open(base / "customers.csv", "w", newline="", encoding="utf-8") as fc,
        open(base / "subscriptions.csv", "w", newline="", encoding="utf-8") as fs,
        open(base / "invoices.csv", "w", newline="", encoding="utf-8") as fi,
        open(base / "refunds.csv", "w", newline="", encoding="utf-8") as fr,
    ):
        wc, ws, wi, wr = (csv.writer(f, lineterminator="\n") for f in (fc, fs, fi, fr))
        wc.writerow(B.CUSTOMER_HEADER)
        ws.writerow(B.SUBSCRIPTION_HEADER)
        wi.writerow(B.INVOICE_HEADER)
        wr.writerow(B.REFUND_HEADER)
        k = 0
        year_end = _epoch(_add_month(YEAR_START, MONTHS))
        while counts["invoices"] < invoices:
            cid, sid = f"cus_B{k:012d}", f"sub_B{k:020d}"
            cur = "usd" if rng.random() < 0.8 else "gbp"
            first_month = min(int(rng.random() * 6), MONTHS - 1)  # most customers arrive in the first half
            t0 = _epoch(_add_month(YEAR_START, first_month)) + int(rng.random() * 27 * 86_400)
            channel = rng.choices(channel_names, channel_weights)[0]
            n_inv, end = 0, None
            t = t0
            while t < year_end and counts["invoices"] + n_inv < invoices:
                n_inv += 1
                nxt = t + 30 * 86_400
                if n_inv > 1 and rng.random() < 0.03:
                    end = nxt
                    break
                t = nxt
            period_start = t0 + (n_inv - 1) * 30 * 86_400
            status = "canceled" if end else "active"
            wc.writerow([
                cid, "", f"user{k}@bench.example.com", f"Customer {k}", B._t(t0 - 60), cur, "false", "false", "0.00",
                plan_id[cur], status, "false", "US" if cur == "usd" else "GB", str(100_000 + k), channel, "",
            ])  # fmt: skip
            ws.writerow([
                sid, cid, f"Customer {k}", plan_id[cur], "Pro", "1", "month", B._money_major(price[cur]), cur, status,
                B._t(t0), B._t(t0), B._t(period_start), B._t(period_start + 30 * 86_400), "", "",
                B._t(end - 30 * 86_400) if end else "", B._t(end) if end else "", "false", "", "", "",
            ])  # fmt: skip
            counts["customers"] += 1
            counts["subscriptions"] += 1
            amount = B._money_major(price[cur])
            for j in range(n_inv):
                ps = t0 + j * 30 * 86_400
                iid = f"in_B{k:012d}{j:02d}"
                wi.writerow([
                    iid, f"B{k:08d}-{j + 1:04d}", cid, f"user{k}@bench.example.com", sid, "paid",
                    "subscription_create" if j == 0 else "subscription_cycle", cur, amount, "0.00", "0.00", amount,
                    amount, amount, "0.00", B._t(ps), B._t(ps + 30 * 86_400), B._t(ps), B._t(ps + 5),
                ])  # fmt: skip
                if j and rng.random() < 0.01:
                    wr.writerow([
                        f"re_B{k:012d}{j:02d}", f"ch_B{k:012d}{j:02d}", iid, cid, amount, cur, "requested_by_customer",
                        "succeeded", B._t(ps + 3 * 86_400),
                    ])  # fmt: skip
                    counts["refunds"] += 1
            counts["invoices"] += n_inv
            k += 1
    return counts


def write_spend(landing: Path, rows: int, seed: int = 7) -> dict[str, int]:
    """The plain spend CSV (marketing/other layout): rows spread over channels x campaigns x days of the year."""
    out = landing / "marketing" / "other"
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 1)
    days = (_add_month(YEAR_START, MONTHS) - YEAR_START).days
    currencies = ("USD", "EUR", "GBP")
    with open(out / "spend.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(B.PLAIN_HEADER)
        for n in range(rows):
            channel = SPEND_CHANNELS[n % len(SPEND_CHANNELS)]
            campaign = f"{channel} campaign {(n // len(SPEND_CHANNELS)) % CAMPAIGNS_PER_CHANNEL:02d}"
            day = YEAR_START + timedelta(days=(n // (len(SPEND_CHANNELS) * CAMPAIGNS_PER_CHANNEL)) % days)
            w.writerow([day.isoformat(), channel, campaign, f"{rng.randint(100, 500_000) / 100:.2f}",
                        currencies[n % 3]])  # fmt: skip
    return {"spend_rows": rows}


# ----------------------------------------------------------------------------------------------- phases


def _paths(work: Path):
    from core.settings import Paths

    return Paths(work / "data").ensure()


def _phase_ingest(work: Path, source: str) -> dict:
    from core.config import load_config

    paths = _paths(work)
    config = load_config()
    if source == "billing":
        from ingest.billing.load import ingest_billing as run
    else:
        from ingest.marketing.load import ingest_marketing as run
    t = time.perf_counter()
    report = run(paths, config)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "totals": report.totals, "files": len(report.results), "failed": len(report.failed)}


def _phase_promote(work: Path) -> dict:
    from core.config import load_config
    from ingest.analytics.load import ingest_analytics
    from ingest.billing import contract as bc
    from ingest.common.lake import promote_pending
    from ingest.marketing import contract as mc

    paths = _paths(work)
    ingest_analytics(paths, load_config())  # no analytics files: writes the empty lake schema dbt's source reads
    promoted = 0
    for contract in (bc, mc):
        for entity in contract.ENTITIES:
            promoted += len(promote_pending(paths, contract.SOURCE, entity))
    return {"promoted_files": promoted}


FINANCE_SELECT = [
    "path:models/staging/billing",
    "path:models/staging/marketing",
    "path:models/intermediate/finance",
    "path:models/marts/finance",
]


def _dbt(work: Path, threads: int, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    from core.config import load_config
    from core.settings import DBT_PROJECT_DIR
    from orchestration.dbt_cli import dbt_env, dbt_executable, dbt_vars_json

    env = os.environ | dbt_env(_paths(work), threads=threads)
    cmd = [dbt_executable(), *args, "--vars", dbt_vars_json(load_config()), "--project-dir", str(DBT_PROJECT_DIR),
           "--target-path", str(work / "dbt_target"), "--log-path", str(work / "dbt_logs")]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    return proc, time.perf_counter() - t


def _phase_upstream(work: Path, threads: int) -> dict:
    """The non-finance models the finance marts read (analytics staging, over an empty lake): built, not timed."""
    exclude = ["--exclude", *FINANCE_SELECT, "resource_type:test", "resource_type:unit_test"]
    proc, seconds = _dbt(work, threads, "build", "--select", "+path:models/marts/finance", *exclude)
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:])
    return {"seconds": seconds}


def _phase_dbt(work: Path, threads: int) -> dict:
    import duckdb

    proc, seconds = _dbt(work, threads, "build", "--select", *FINANCE_SELECT, "--exclude", "resource_type:unit_test")
    tail = [line for line in proc.stdout.splitlines() if "Done." in line or "ERROR" in line or "FAIL" in line]
    con = duckdb.connect(str(_paths(work).warehouse_path), read_only=True)
    try:
        rows = {
            t: con.execute(f"select count(*) from marts.{t}").fetchall()[0][0]
            for t in ("fct_mrr", "fct_customer_acquisition", "fct_cac", "fct_cohort_ltv", "fct_unit_economics")
        }
    except duckdb.Error as exc:
        rows = {"error": str(exc)}
    finally:
        con.close()
    return {"seconds": seconds, "returncode": proc.returncode, "summary": tail[-5:], "mart_rows": rows,
            "peak_rss_mb_children": _peak_rss_mb(resource.RUSAGE_CHILDREN)}  # fmt: skip


def _child(phase: str, work: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--work-dir", str(work), "--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--spend-rows", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work-dir", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.phase:
        work = args.work_dir
        if args.phase in ("billing", "marketing"):
            result = _phase_ingest(work, args.phase)
        elif args.phase == "promote":
            result = _phase_promote(work)
        elif args.phase == "upstream":
            result = _phase_upstream(work, args.threads)
        else:
            result = _phase_dbt(work, args.threads)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result, default=str))
        return

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_finance_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        landing = _paths(work).landing
        t = time.perf_counter()
        counts = write_billing(landing, args.invoices) | write_spend(landing, args.spend_rows)
        sizes = {p.name: p.stat().st_size for p in landing.rglob("*.csv")}
        print(json.dumps({"phase": "write", "seconds": time.perf_counter() - t, "counts": counts,
                          "csv_mb": {k: round(v / 2**20, 1) for k, v in sizes.items()}}), flush=True)  # fmt: skip
        results = {}
        for phase in ("billing", "marketing", "promote", "upstream", "dbt"):
            results[phase] = _child(phase, work, args)
            print(json.dumps({"phase": phase} | results[phase], default=str), flush=True)
        print(f"\n{platform.node()} {os.cpu_count()} cpus, python {platform.python_version()}")
        print(f"invoices {counts['invoices']:,}, customers {counts['customers']:,}, spend rows {args.spend_rows:,}")
        print("| phase | seconds | peak RSS MB |")
        print("|---|---:|---:|")
        for phase in ("billing", "marketing", "dbt"):
            r = results[phase]
            rss = r.get("peak_rss_mb_children", r["peak_rss_mb"])
            print(f"| {phase} | {r['seconds']:.1f} | {rss:.0f} |")
        if results["dbt"]["returncode"] != 0:
            raise SystemExit("dbt build failed: " + "\n".join(results["dbt"]["summary"]))
    finally:
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
