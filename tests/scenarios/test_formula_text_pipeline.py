"""Spreadsheet-formula text planted in every source that carries free text comes out of the whole pipeline unable
to start a formula, in every text column of every published table, DuckDB and Parquet alike (DESIGN.md invariant 7).

One small generated sample (every source), edited in its vendor formats before the run: Jira summaries and idea
titles in the REST JSON and the UI CSV, Stripe invoice line descriptions and customer metadata, ad campaign names,
Segment event properties (plan) and device types. Feedback already plants its own formula-like cells.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shlex
import shutil
from pathlib import Path

import duckdb
import pytest

from core.config import load_config
from core.settings import Paths
from ingest.common.lake import lake_file
from ingest.common.manifest import read_manifest_record
from pmw.cli import main as cli_main
from pmw.pipeline import run_pipeline
from pmw.summary import build_summary, format_summary
from publish.release import current_publication
from sample_generator import generate_sample

pytestmark = pytest.mark.slow

# 200: billing's smallest sample. Sign-ups over the first 10 days (generate_sample's former default): at this size a
# day's events are noisier than the analytics volume band's floor, and with this span no day is out of band.
SAMPLE = {"seed": 11, "users": 200, "days": 40, "events_per_user": 3, "signup_days": 10}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLANTED = ('=HYPERLINK("http://x.test","{}")', "+cmd|' /C calc'!{}", "@SUM(1) {}", "-2+3 {}", "\t={}")


def _formula(text: str, number: int) -> str:
    return PLANTED[number % len(PLANTED)].format(text)


def _plant_jira(landing: Path) -> None:
    for page in sorted((landing / "jira" / "api").glob("search_*.json")):
        document = json.loads(page.read_text(encoding="utf-8"))
        for number, issue in enumerate(document["issues"]):
            issue["fields"]["summary"] = _formula(issue["fields"]["summary"], number)
        page.write_text(json.dumps(document), encoding="utf-8")
    _rewrite_csv(landing / "jira" / "csv" / "Jira.csv", {"Summary": _formula, "Parent summary": _formula})


def _plant_billing(landing: Path) -> None:
    invoices = landing / "billing" / "stripe" / "api" / "invoices.json"
    document = json.loads(invoices.read_text(encoding="utf-8"))
    for number, invoice in enumerate(document["data"]):
        for line in invoice.get("lines", {}).get("data", []):
            line["description"] = _formula(line.get("description") or "plan", number)
    invoices.write_text(json.dumps(document), encoding="utf-8")
    customers = landing / "billing" / "stripe" / "api" / "customers.json"
    document = json.loads(customers.read_text(encoding="utf-8"))
    for number, customer in enumerate(document["data"]):
        customer.setdefault("metadata", {})["note"] = _formula("vip", number)
    customers.write_text(json.dumps(document), encoding="utf-8")


def _plant_marketing(landing: Path) -> None:
    _rewrite_csv(landing / "marketing" / "other" / "affiliates.csv", {"campaign": _formula})
    report = landing / "marketing" / "google_ads" / "campaign_report_2024-01-01_2024-03-31.csv"
    title, period, *table = report.read_text(encoding="utf-8").splitlines(keepends=True)
    report.write_text(title + period + _rewritten("".join(table), {"Campaign": _formula}), encoding="utf-8")


def _plant_analytics(landing: Path) -> None:
    _rewrite_csv(
        landing / "analytics" / "segment" / "tracks_2024-01.csv",
        {"properties_plan": _formula, "context_device_type": _formula},
    )


def _rewrite_csv(path: Path, changes: dict) -> None:
    path.write_text(_rewritten(path.read_text(encoding="utf-8"), changes), encoding="utf-8")


def _rewritten(text: str, changes: dict) -> str:
    """The CSV with each named column's non-empty cells passed through its change (duplicate headers kept)."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    targets = [(i, changes[name]) for i, name in enumerate(header) if name in changes]
    assert targets, f"none of {sorted(changes)} in {header}"
    for number, row in enumerate(body):
        for i, change in targets:
            if i < len(row) and row[i]:
                row[i] = change(row[i], number)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n").writerows([header, *body])
    return out.getvalue()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Paths:
    paths = Paths(tmp_path_factory.mktemp("formula_text") / "data").ensure()
    generate_sample(paths.landing, **SAMPLE, jira_csv_timezone=load_config().jira.csv_timezone, plant_outcomes=True)
    for plant in (_plant_jira, _plant_billing, _plant_marketing, _plant_analytics):
        plant(paths.landing)
    _assert_published_with_only_the_platform_warning(run_pipeline(paths))
    return paths


# The planted device types are not iOS, Android or Web: dbt's warn-level accepted-values test on the platform flags
# them (and they are published, defused). Nothing else may fail.
PLATFORM_WARNING = "accepted_values_stg_analytics__events_platform"


def _assert_published_with_only_the_platform_warning(outcome) -> None:
    assert outcome.success and not outcome.steps_failed and not outcome.steps_skipped, outcome.to_dict()
    assert [c["check"] for c in outcome.checks_failed if not c["check"].startswith(PLATFORM_WARNING)] == []


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_name, column_name from information_schema.columns where data_type = 'VARCHAR' "
        "order by table_name, column_name"
    ).fetchall()


def _starts_a_formula(column: str) -> str:
    prefixes = ", ".join(f"chr({ord(p)})" for p in FORMULA_START)
    return f'substring("{column}", 1, 1) in ({prefixes})'


def test_no_published_duckdb_text_can_start_a_formula(published):
    with duckdb.connect(str(published.published / "marts.duckdb"), read_only=True) as con:
        columns = _text_columns(con)
        assert columns
        offending = {
            (table, column): con.execute(
                f'select list("{column}")[1:3] from "{table}" where {_starts_a_formula(column)}'
            ).fetchone()[0]
            for table, column in columns
        }
    assert {key: values for key, values in offending.items() if values} == {}


def test_no_published_parquet_text_can_start_a_formula(published):
    with duckdb.connect(str(published.published / "marts.duckdb"), read_only=True) as con:
        columns = _text_columns(con)
    offending = {}
    for table, column in columns:
        parquet = published.published / "parquet" / f"{table}.parquet"
        ((values,),) = duckdb.sql(
            f"select list(\"{column}\")[1:3] from '{parquet}' where {_starts_a_formula(column)}"
        ).fetchall()
        if values:
            offending[(table, column)] = values
    assert offending == {}


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("dim_ideas", "summary"),
        ("dim_initiatives", "summary"),
        ("fct_initiative_delivery", "summary"),
        ("fct_initiative_outcomes", "summary"),
        ("fct_portfolio_scores", "title"),
        ("fct_sessions", "platform"),
    ],
)
def test_the_planted_text_reaches_the_marts_defused(published, table, column):
    """Not vacuous: the planted formulas are in the published marts, each behind a leading single quote."""
    with duckdb.connect(str(published.published / "marts.duckdb"), read_only=True) as con:
        defused = con.execute(
            f"select count(*) from \"{table}\" where \"{column}\" like '''=HYPERLINK%' "
            f"or \"{column}\" like '''+cmd%' or \"{column}\" like '''@SUM%' or \"{column}\" like '''-2+3%'"
        ).fetchone()[0]
    assert defused > 0


# --- a failing raw gate names its file, and the command it prints moves the pipeline on ----------------------------


@pytest.fixture
def copied(published, tmp_path) -> Paths:
    """A private copy of the run's data directory (the published symlink is relative, so it follows)."""
    target = tmp_path / "data"
    shutil.copytree(published.data_dir, target, symlinks=True)
    return Paths(target)


def _land_customers(paths: Paths, name: str, *, created: str | None) -> str:
    """Two customers from the sample's dashboard export under new ids, optionally with another creation time."""
    original = paths.landing / "billing" / "stripe" / "dashboard" / "customers.csv"
    rows = list(csv.DictReader(io.StringIO(original.read_text(encoding="utf-8"), newline="")))[:2]
    for row in rows:
        row["id"] = f"{row['id']}_{name}"
        if created is not None:
            row["Created (UTC)"] = created
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    target = paths.landing / "billing" / "late" / f"{name}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(out.getvalue().encode("utf-8"))
    return hashlib.sha256(target.read_bytes()).hexdigest()


def test_a_failing_raw_gate_names_the_file_and_its_discard_command_moves_on(copied, capsys):
    publication = current_publication(copied)
    bad_sha = _land_customers(copied, "customers_year_2090", created="2090-01-01 00:00:00")
    fine_sha = _land_customers(copied, "customers_fine", created=None)

    blocked = run_pipeline(copied)

    assert not blocked.ok
    assert {c["check"] for c in blocked.checks_failed if c["check"].endswith("_gate")} == {"raw_billing_customers_gate"}
    assert current_publication(copied) == publication  # the last good publication stays served
    gate = json.loads((copied.runs_dir / "gates" / "raw_billing_customers.json").read_text(encoding="utf-8"))
    (failing,) = gate["failing_files"]
    assert (failing["file_sha256"], failing["source_file"]) == (bad_sha, "billing/late/customers_year_2090.csv")
    assert failing["rules"] == [{"rule": "expect_column_values_to_be_between(created_at)", "unexpected_count": 2}]
    assert [e["row"]["created_at"] for e in failing["examples"]] == ["2090-01-01T00:00:00"] * 2
    (check,) = [c for c in blocked.checks_failed if c["check"] == "raw_billing_customers_gate"]
    assert bad_sha in check["description"] and failing["discard_command"] in check["description"]
    summary = format_summary(build_summary(copied))
    assert f"failing file {bad_sha} (billing/late/customers_year_2090.csv)" in summary
    assert failing["discard_command"] in summary

    words = shlex.split(failing["discard_command"].replace("<why this file is discarded>", "created in year 2090"))
    assert words[0] == "pmw" and cli_main(words[1:]) == 0
    capsys.readouterr()

    recovered = run_pipeline(copied)
    _assert_published_with_only_the_platform_warning(recovered)
    # The good file went on into the lake dbt reads; the bad one stays out of it, kept for audit.
    assert lake_file(copied, "billing", "customers", fine_sha).exists()
    assert not lake_file(copied, "billing", "customers", bad_sha).exists()
    assert read_manifest_record(copied, "billing", bad_sha)["status"] == "discarded"
