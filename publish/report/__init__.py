"""report.html: one self-contained, offline page of interactive charts over a publication's marts.

Charts are Vega-Lite (built with Altair) drawn in the browser by the Vega JavaScript inlined from the installed
vl-convert-python package: no script, font, image or stylesheet is fetched, and a strict Content-Security-Policy
allows only the two inline scripts by hash (page.py). All text from the data is escaped (html.escape in markup,
JSON data blocks with '<', '>' and '&' escaped); Vega renders it as text.

Modules: labels.py (the one table of human labels, formats), marts.py (reads, data-through dates), sections.py
(one function per section), page.py (HTML, scripts, CSP).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.duckdb_connection import connect_duckdb
from publish.report.labels import fmt_date, fmt_month
from publish.report.marts import DataThrough, Marts, MissingData, ReportError
from publish.report.page import esc, page, vega_bundle

__all__ = ["MissingData", "ReportError", "render_from_connection", "render_report"]


def _reporting_currency(m: Marts) -> str | None:
    """The finance marts' reporting currency (config finance.reporting_currency, carried by fct_unit_economics)."""
    for table in ("fct_unit_economics", "fct_cac"):
        if "reporting_currency" in m.columns.get(table, set()):
            rows = m.con.execute(
                f'select distinct reporting_currency from "{m.schema}"."{table}" where reporting_currency is not null'
            ).fetchall()
            if len(rows) > 1:
                raise ReportError(
                    f"{table}.reporting_currency: more than one currency ({', '.join(r[0] for r in rows)})"
                )
            if rows:
                return rows[0][0]
    return None


def _through_rows(t: DataThrough) -> str:
    rows = [
        ("Product analytics", fmt_date(t.product), "funnels, retention, adoption, initiative outcomes"),
        ("Surveys (NPS)", fmt_month(t.surveys), "NPS trend"),
        ("Billing", fmt_month(t.billing), "LTV, CAC and payback"),
        ("Marketing spend", fmt_month(t.marketing), "CAC and payback"),
        ("Jira", f"latest ship {fmt_date(t.delivery)}" if t.delivery else "–", "delivery slip"),
    ]
    body = "".join(f"<tr><th>{esc(a)}</th><td>{esc(b)}</td><td>{esc(c)}</td></tr>" for a, b, c in rows)
    return f'<table class="through"><caption class="muted"></caption>{body}</table>'


def render_from_connection(
    con: duckdb.DuckDBPyConnection,
    *,
    schema: str = "main",
    release_id: str | None = None,
    run_id: str | None = None,
    generated_at: datetime | None = None,
    restatements: dict | None = None,
) -> str:
    """The whole report as one HTML string, from the marts in `schema` of an open (read-only) connection.
    ``restatements``: the release's comparison with the one before (publish/restatements.py), for its section."""
    # Altair (and its jsonschema validation) costs seconds to import: only when a report is rendered, not whenever
    # publish/release.py (and so the Dagster definitions) is imported.
    from publish.report.sections import (
        Context,
        safe,
        section_funnels,
        section_initiatives,
        section_nps,
        section_portfolio,
        section_restatements,
        section_retention,
        section_unit_economics,
    )

    m = Marts(con, schema)
    through = DataThrough.of(m)
    ctx = Context(marts=m, through=through, currency=_reporting_currency(m))
    generated_at = generated_at or datetime.now(UTC)
    sections = [
        ("funnels", "Funnels", safe("funnels", lambda: section_funnels(ctx))),
        ("retention", "Retention", safe("retention", lambda: section_retention(ctx))),
        ("nps", "NPS", safe("nps", lambda: section_nps(ctx))),
        (
            "unit-economics",
            "Predicted LTV vs CAC by channel",
            safe("unit-economics", lambda: section_unit_economics(ctx)),
        ),
        ("initiatives", "Initiatives: outcomes, adoption, delivery", section_initiatives(ctx)),
        ("portfolio", "Portfolio", section_portfolio(ctx)),
        ("restatements", "Restated numbers", section_restatements(restatements)),
    ]
    meta = [
        ("Release", release_id or "(not published)"),
        ("Run", run_id or "–"),
        ("Generated", generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    header = (
        "<h1>Product metrics report</h1><dl>"
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta)
        + "<dt>Data through</dt><dd>"
        + _through_rows(through)
        + "</dd></dl>"
    )
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{esc(t)}</h2>{b}</section>' for a, t, b in sections)
    return page(
        title=f"Product metrics report {release_id or ''}".strip(),
        header=header,
        nav=nav,
        body=body,
        bundle=vega_bundle(),
    )


def render_report(
    db_path: str | Path,
    *,
    release_id: str | None = None,
    run_id: str | None = None,
    generated_at: datetime | None = None,
    restatements: dict | None = None,
) -> str:
    """The report for a publication's marts.duckdb, opened read-only (tables in `main`)."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise ReportError(f"no DuckDB file at {db_path}")
    con = connect_duckdb(str(db_path), read_only=True)
    try:
        return render_from_connection(
            con, release_id=release_id, run_id=run_id, generated_at=generated_at, restatements=restatements
        )
    finally:
        con.close()
