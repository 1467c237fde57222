"""report.html: one self-contained, offline page of charts over a publication's marts.

Everything is inline: CSS, and charts as SVG drawn here in Python. No script, font, image or stylesheet is
fetched from anywhere, so the file opens the same on a laptop with no network as on the BI server.

Every chart is an ``<svg data-chart="<name>" role="img">`` whose first child is a ``<title>``; every mark in it
carries its own ``<title>`` (a tooltip and the accessible text). All text that comes from the data goes through
``html.escape``: mart text (Jira summaries, request titles, notes) can contain anything.

A section whose table is absent, empty or lacks a column it needs renders a "no data" panel saying which table
and why; it never stops the rest of the report. Any other error propagates, so publish aborts the release.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, VERMILION, SKY, PURPLE, YELLOW, GREY = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
    "#999999",
)
KANO_MIX_ORDER = ("must_be", "one_dimensional", "attractive", "indifferent_or_other")
KANO_MIX_LABEL = {
    "must_be": "Must-be",
    "one_dimensional": "One-dimensional",
    "attractive": "Attractive",
    "indifferent_or_other": "Indifferent / other",
}
KANO_MIX_COLOUR = dict(zip(KANO_MIX_ORDER, (BLUE, GREEN, ORANGE, GREY), strict=True))
KANO_CATEGORY_LABEL = {
    "A": "Attractive",
    "O": "One-dimensional",
    "M": "Must-be",
    "I": "Indifferent",
    "R": "Reverse",
    "Q": "Questionable",
}
# The retention triangle stays readable (and the file small) on daily analyses over months of data.
RETENTION_MAX_COHORTS = 20
RETENTION_MAX_PERIOD = 30
PORTFOLIO_CHART_MAX_ITEMS = 25


class ReportError(RuntimeError):
    """The report could not be rendered; publish aborts the release."""


class MissingData(Exception):
    """A section cannot be drawn from what the publication holds; the message says which table and why."""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# --------------------------------------------------------------------------------------------------- formatting


def fmt_int(v: Any) -> str:
    return "–" if v is None else f"{int(v):,}"


def fmt_num(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{float(v):,.{digits}f}"


def fmt_p(v: Any) -> str:
    """A p-value: three decimals, and '< 0.001' rather than a misleading 0.000."""
    if v is None:
        return "–"
    return "< 0.001" if float(v) < 0.001 else f"{float(v):.3f}"


def fmt_pct(v: Any, digits: int = 1) -> str:
    return "–" if v is None else f"{100 * float(v):.{digits}f} %"


def fmt_date(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    return v.isoformat() if isinstance(v, date) else str(v)


def clip(s: Any, n: int) -> str:
    """At most n characters, with an ellipsis when cut (labels inside charts have fixed room)."""
    s = "" if s is None else str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def fmt_bool(v: Any, yes: str = "yes", no: str = "no") -> str:
    return "–" if v is None else (yes if v else no)


# ------------------------------------------------------------------------------------------------- data access


class Marts:
    """Read access to the marts of one DuckDB file (a publication: tables in `main`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str = "main"):
        self.con = con
        self.schema = schema
        rows = con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ?",
            [schema],
        ).fetchall()
        self.columns: dict[str, set[str]] = defaultdict(set)
        for table, column in rows:
            self.columns[table].add(column)

    def rows(self, table: str, needed: Iterable[str], where: str = "", order_by: str = "") -> list[dict[str, Any]]:
        """Rows of `table` as dicts; MissingData when the table is absent, lacks a column, or is empty."""
        if table not in self.columns:
            raise MissingData(f"table {table} is not in this publication")
        missing = sorted(set(needed) - self.columns[table])
        if missing:
            raise MissingData(f"table {table} lacks column(s) {', '.join(missing)}")
        sql = f'select * from "{self.schema}"."{table}"'
        if where:
            sql += f" where {where}"
        if order_by:
            sql += f" order by {order_by}"
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if not out:
            raise MissingData(f"table {table} has no rows{' matching ' + where if where else ''}")
        return out

    def scalar(self, sql: str) -> Any:
        return self.con.execute(sql).fetchall()[0][0]


# ------------------------------------------------------------------------------------------------ SVG helpers


def _n(x: float) -> str:
    """Coordinates with at most one decimal: smaller file, no visible difference."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def svg_open(name: str, width: float, height: float, title: str, desc: str = "") -> str:
    d = f"<desc>{esc(desc)}</desc>" if desc else ""
    return (
        f'<svg data-chart="{esc(name)}" role="img" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}">'
        f"<title>{esc(title)}</title>{d}"
    )


def rect(x: float, y: float, w: float, h: float, fill: str, title: str, extra: str = "") -> str:
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.0))}" height="{_n(max(h, 0.0))}" fill="{fill}"{extra}>'
        f"<title>{esc(title)}</title></rect>"
    )


def text(x: float, y: float, s: str, anchor: str = "start", cls: str = "", extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{c}{extra}>{esc(s)}</text>'


def line(x1: float, y1: float, x2: float, y2: float, cls: str = "axis") -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" class="{cls}"/>'


def linear(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (float(v) - d0) / span * (r1 - r0)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    # The ticks span [lo, hi] whole: the first is at or below lo, the last at or above hi, so a chart scaled to
    # them never draws a mark outside its axis.
    ticks = [round(math.floor(lo / step) * step, 10)]
    while ticks[-1] < hi - step * 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def no_data_panel(section: str, reason: str) -> str:
    return f'<div class="no-data" data-no-data="{esc(section)}"><strong>No data.</strong> {esc(reason)}</div>'


def heat_colour(share: float) -> str:
    """White to dark blue: retention 0 → 1 (clamped)."""
    s = max(0.0, min(1.0, share)) ** 0.6  # low retention rates still show differences
    r = round(247 + (8 - 247) * s)
    g = round(251 + (69 - 251) * s)
    b = round(255 + (148 - 255) * s)
    return f"#{r:02x}{g:02x}{b:02x}"


# --------------------------------------------------------------------------------------------------- sections


@dataclass
class Section:
    anchor: str
    title: str
    body: str


def _safe(section: str, build: Callable[[], str]) -> str:
    try:
        return build()
    except MissingData as exc:
        return no_data_panel(section, str(exc))


def _period_end(start: date, grain: str) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    raise ReportError(f"fct_funnel_conversion.period_grain: unexpected value {grain!r}")


def funnel_bars(name: str, title: str, steps: list[dict[str, Any]]) -> str:
    """Horizontal bars, one per step, length = share of step-1 users; labels carry the conversions."""
    width, label_w, row_h, top = 760, 200, 30, 8
    bar_w = width - label_w - 250
    height = top + row_h * len(steps) + 8
    first = steps[0]["users"] or 0
    parts = [svg_open(name, width, height, title)]
    for i, s in enumerate(steps):
        y = top + i * row_h
        share = (s["users"] / first) if first else 0.0
        conv_prev = (s["users"] / s["prev"]) if s["prev"] else None
        tip = (
            f"step {s['step_index']} {s['step_event']}: {fmt_int(s['users'])} users, "
            f"{fmt_pct(conv_prev)} of the previous step, {fmt_pct(share if first else None)} of step 1"
        )
        parts.append(text(label_w - 8, y + 19, clip(f"{s['step_index']}. {s['step_event']}", 30), "end"))
        parts.append(rect(label_w, y + 4, bar_w * share, row_h - 10, BLUE, tip, ' class="mark"'))
        parts.append(
            text(
                label_w + bar_w * share + 6,
                y + 19,
                f"{fmt_int(s['users'])} · {fmt_pct(conv_prev)} of prev. · {fmt_pct(share if first else None)} of 1st",
                cls="small",
            )
        )
    parts.append(line(label_w, top, label_w, height - 8))
    parts.append("</svg>")
    return "".join(parts)


def section_funnels(m: Marts, data_through: date | None) -> str:
    rows = m.rows(
        "fct_funnel_conversion",
        [
            "funnel_name",
            "entry_mode",
            "conversion_window_seconds",
            "period_grain",
            "period_start",
            "breakdown_value",
            "step_index",
            "step_event",
            "users",
            "users_at_previous_step",
        ],
        where="breakdown_value = '(all)'",
        order_by="funnel_name, period_start, step_index",
    )
    by_funnel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_funnel[r["funnel_name"]].append(r)
    if data_through is None:
        data_through = max(r["period_start"] for r in rows)
    data_end = data_through + timedelta(days=1)
    out = [
        '<p class="note">Bars: users reaching each step as a share of step 1. A period is <em>complete</em> once it '
        "has ended and its conversion window has elapsed as of the newest data "
        f"({esc(fmt_date(data_through))}). “All periods” adds the per-period paths (a user counts once per "
        "period).</p>"
    ]
    for idx, (funnel, frows) in enumerate(by_funnel.items()):
        grain = frows[0]["period_grain"]
        window = timedelta(seconds=int(frows[0]["conversion_window_seconds"] or 0))
        periods = sorted({r["period_start"] for r in frows})
        complete = [p for p in periods if _period_end(p, grain) + window <= data_end]
        out.append(
            f'<h3>{esc(funnel)} <span class="muted">({esc(frows[0]["entry_mode"])}, per {esc(grain)})</span></h3>'
        )
        out.append('<div class="pair">')
        if complete:
            latest = complete[-1]
            steps = [
                {
                    "step_index": r["step_index"],
                    "step_event": r["step_event"],
                    "users": r["users"] or 0,
                    "prev": r["users_at_previous_step"],
                }
                for r in frows
                if r["period_start"] == latest
            ]
            out.append(
                f"<figure><figcaption>Latest complete {esc(grain)}: {esc(fmt_date(latest))}</figcaption>"
                + funnel_bars(f"funnel-latest-{idx}", f"Funnel {funnel}, {grain} starting {fmt_date(latest)}", steps)
                + "</figure>"
            )
        else:
            out.append(
                "<figure><figcaption>Latest complete period</figcaption>"
                + no_data_panel("funnel", f"funnel {funnel}: no {grain} has fully elapsed yet")
                + "</figure>"
            )
        totals: dict[int, dict[str, Any]] = {}
        for r in frows:
            t = totals.setdefault(
                r["step_index"], {"step_index": r["step_index"], "step_event": r["step_event"], "users": 0, "prev": 0}
            )
            t["users"] += r["users"] or 0
            t["prev"] += r["users_at_previous_step"] or 0
        steps_all = [totals[k] for k in sorted(totals)]
        out.append(
            f"<figure><figcaption>All periods ({len(periods)} {esc(grain)}s)</figcaption>"
            + funnel_bars(f"funnel-all-{idx}", f"Funnel {funnel}, all periods", steps_all)
            + "</figure>"
        )
        out.append("</div>")
    return "".join(out)


def retention_heatmap(name: str, analysis: str, rows: list[dict[str, Any]]) -> tuple[str, str]:
    cohorts_all = sorted({r["cohort_start"] for r in rows})
    cohorts = cohorts_all[-RETENTION_MAX_COHORTS:]
    periods = sorted({r["period_number"] for r in rows if r["period_number"] <= RETENTION_MAX_PERIOD})
    cells = {(r["cohort_start"], r["period_number"]): r for r in rows}
    size = {c: r["cohort_users"] for r in rows for c in [r["cohort_start"]]}
    cell_w = max(24.0, min(44.0, 760 / max(len(periods), 1)))
    cell_h, left, top = 20, 150, 28
    width = left + cell_w * len(periods) + 10
    height = top + cell_h * len(cohorts) + 10
    parts = [svg_open(name, width, height, f"Retention triangle {analysis}: cohort by period, on-period retention")]
    for j, p in enumerate(periods):
        parts.append(text(left + j * cell_w + cell_w / 2, top - 8, str(p), "middle", "small"))
    for i, c in enumerate(cohorts):
        y = top + i * cell_h
        parts.append(text(left - 6, y + 14, f"{fmt_date(c)} (n={fmt_int(size.get(c))})", "end", "small"))
        for j, p in enumerate(periods):
            x = left + j * cell_w
            r = cells.get((c, p))
            value = None if r is None or not r["is_complete"] else r["retention_on_period"]
            if value is None:
                # Not yet elapsed: blank, so the triangle shows; still titled for screen readers.
                parts.append(
                    rect(
                        x,
                        y,
                        cell_w - 1,
                        cell_h - 1,
                        "none",
                        f"cohort {fmt_date(c)}, period {p}: not complete",
                        ' class="blank"',
                    )
                )
                continue
            fill = heat_colour(float(value))
            parts.append(
                rect(
                    x,
                    y,
                    cell_w - 1,
                    cell_h - 1,
                    fill,
                    f"cohort {fmt_date(c)}, period {p}: {fmt_pct(value)} ({fmt_int(r['users_on_period'])} users)",
                    ' class="mark"',
                )
            )
            dark = float(value) ** 0.6 > 0.55
            parts.append(
                text(
                    x + (cell_w - 1) / 2,
                    y + 14,
                    f"{100 * float(value):.0f}",
                    "middle",
                    "cell-label light" if dark else "cell-label",
                )
            )
    parts.append("</svg>")
    note = ""
    if len(cohorts_all) > len(cohorts) or any(r["period_number"] > RETENTION_MAX_PERIOD for r in rows):
        note = (
            f"Showing the {len(cohorts)} most recent of {len(cohorts_all)} cohorts and periods 0–"
            f"{periods[-1] if periods else 0}; the full table is fct_retention_cohorts."
        )
    return "".join(parts), note


def section_retention(m: Marts) -> str:
    rows = m.rows(
        "fct_retention_cohorts",
        [
            "retention_name",
            "period_grain",
            "start_event",
            "return_event",
            "cohort_start",
            "cohort_users",
            "period_number",
            "is_complete",
            "users_on_period",
            "retention_on_period",
        ],
        order_by="retention_name, cohort_start, period_number",
    )
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_name[r["retention_name"]].append(r)
    out = [
        '<p class="note">Share of each cohort returning in exactly that period (cell value in %). Blank cells: the '
        "period has not fully elapsed yet.</p>"
    ]
    for idx, (name, rrows) in enumerate(by_name.items()):
        first = rrows[0]
        svg, note = retention_heatmap(f"retention-{idx}", name, rrows)
        out.append(
            f'<h3>{esc(name)} <span class="muted">(per {esc(first["period_grain"])}: '
            f"{esc(first['start_event'])} → {esc(first['return_event'])})</span></h3>"
            f'<figure class="scroll">{svg}</figure>'
        )
        if note:
            out.append(f'<p class="note">{esc(note)}</p>')
    return "".join(out)


def section_nps(m: Marts) -> str:
    rows = m.rows(
        "fct_nps",
        ["period_start", "segment_plan", "segment_platform", "responses", "nps", "nps_ci_low", "nps_ci_high"],
        where="segment_plan = '(all)' and segment_platform = '(all)'",
        order_by="period_start",
    )
    width, height, left, right, top, bottom = 760, 280, 52, 20, 16, 40
    n = len(rows)
    x = linear(0, max(n - 1, 1), left + 20, width - right - 20)
    y = linear(-100, 100, height - bottom, top)
    parts = [svg_open("nps-trend", width, height, "Monthly NPS, all plans and platforms, with its 95 % interval")]
    for t in (-100, -50, 0, 50, 100):
        parts.append(line(left, y(t), width - right, y(t), "grid zero" if t == 0 else "grid"))
        parts.append(text(left - 6, y(t) + 4, str(t), "end", "small"))
    band = [r for r in rows if r["nps_ci_low"] is not None and r["nps_ci_high"] is not None]
    if band:
        idx = {id(r): i for i, r in enumerate(rows)}
        upper = " ".join(f"{_n(x(idx[id(r)]))},{_n(y(r['nps_ci_high']))}" for r in band)
        lower = " ".join(f"{_n(x(idx[id(r)]))},{_n(y(r['nps_ci_low']))}" for r in reversed(band))
        parts.append(
            f'<polygon points="{upper} {lower}" fill="{SKY}" fill-opacity="0.35" class="band">'
            "<title>95 % confidence interval of the monthly NPS</title></polygon>"
        )
    pts = [(i, r) for i, r in enumerate(rows) if r["nps"] is not None]
    if len(pts) > 1:
        coords = " ".join(f"{_n(x(i))},{_n(y(r['nps']))}" for i, r in pts)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{BLUE}" stroke-width="2">'
            "<title>Monthly NPS</title></polyline>"
        )
    label_every = max(1, math.ceil(n / 12))
    for i, r in enumerate(rows):
        if i % label_every == 0:
            parts.append(text(x(i), height - bottom + 18, r["period_start"].strftime("%Y-%m"), "middle", "small"))
        if r["nps"] is None:
            continue
        tip = (
            f"{r['period_start']:%Y-%m}: NPS {fmt_num(r['nps'])} (95 % CI {fmt_num(r['nps_ci_low'])} to "
            f"{fmt_num(r['nps_ci_high'])}), {fmt_int(r['responses'])} responses"
        )
        parts.append(
            f'<circle cx="{_n(x(i))}" cy="{_n(y(r["nps"]))}" r="4" fill="{BLUE}" class="mark"><title>{esc(tip)}'
            "</title></circle>"
        )
    parts.append("</svg>")
    latest = rows[-1]
    return (
        f'<p class="note">Latest month {esc(fmt_date(latest["period_start"]))}: NPS {esc(fmt_num(latest["nps"]))} '
        f"(95 % CI {esc(fmt_num(latest['nps_ci_low']))} to {esc(fmt_num(latest['nps_ci_high']))}, "
        f"{esc(fmt_int(latest['responses']))} responses).</p><figure>{''.join(parts)}</figure>"
    )


def section_unit_economics(m: Marts) -> str:
    rows = m.rows(
        "fct_unit_economics",
        [
            "month_start",
            "channel",
            "is_blended",
            "predicted_ltv",
            "cac",
            "ltv_to_cac",
            "payback_months",
            "ltv_cac_ok",
            "payback_ok",
            "reporting_currency",
        ],
        order_by="month_start, is_blended, channel",
    )
    # The newest month where some channel has both LTV and CAC; the newest month overall may have no spend yet.
    with_both = [r for r in rows if r["predicted_ltv"] is not None and r["cac"] is not None]
    month = max(r["month_start"] for r in (with_both or rows))
    mrows = [r for r in rows if r["month_start"] == month]
    currency = mrows[0]["reporting_currency"] or ""
    values = [float(v) for r in mrows for v in (r["predicted_ltv"], r["cac"]) if v is not None]
    top_value = max(values, default=0.0) or 1.0
    width, left, right, group_h, bar_h, top = 840, 120, 280, 46, 16, 28
    height = top + group_h * len(mrows) + 30
    x = linear(0, top_value, left, width - right)
    parts = [svg_open("clv-cac", width, height, f"Predicted LTV vs CAC by channel, {month:%Y-%m}, {currency}")]
    parts.append(
        rect(left, 6, 12, 12, GREEN, "legend: predicted LTV") + text(left + 18, 16, "predicted LTV", cls="small")
    )
    parts.append(rect(left + 130, 6, 12, 12, ORANGE, "legend: CAC") + text(left + 148, 16, "CAC", cls="small"))
    for i, r in enumerate(mrows):
        gy = top + i * group_h
        parts.append(text(left - 8, gy + 22, clip(r["channel"], 18), "end", "bold" if r["is_blended"] else ""))
        for k, (label, v, colour) in enumerate(
            (("predicted LTV", r["predicted_ltv"], GREEN), ("CAC", r["cac"], ORANGE))
        ):
            by = gy + 4 + k * (bar_h + 2)
            if v is None:
                parts.append(text(left + 4, by + 12, f"{label}: n/a", cls="small muted"))
                continue
            parts.append(
                rect(
                    left,
                    by,
                    x(float(v)) - left,
                    bar_h,
                    colour,
                    f"{r['channel']} {label}: {fmt_num(v, 0)} {currency}",
                    ' class="mark"',
                )
            )
            parts.append(text(x(float(v)) + 4, by + 12, fmt_num(v, 0), cls="small"))
        ratio_ok = r["ltv_cac_ok"]
        flag = "✓" if ratio_ok else ("✗" if ratio_ok is not None else "")
        pay = r["payback_ok"]
        parts.append(
            text(
                width - right + 60,
                gy + 22,
                f"LTV:CAC {fmt_num(r['ltv_to_cac'], 1)} {flag}  ·  payback {fmt_num(r['payback_months'], 1)} mo "
                f"{'✓' if pay else ('✗' if pay is not None else '')}",
                cls="small " + ("ok" if ratio_ok else ("bad" if ratio_ok is not None else "muted")),
            )
        )
    parts.append("</svg>")
    return (
        f'<p class="note">Month {esc(fmt_date(month))}. Predicted LTV = ARPA × gross margin ÷ monthly churn; ✓/✗: '
        "the LTV:CAC and payback targets of the configuration (fct_unit_economics).</p>"
        f"<figure>{''.join(parts)}</figure>"
    )


METRIC_UNIT = {
    "funnel_step": ("percentage points", 100.0),
    "retention": ("percentage points", 100.0),
    "nps": ("NPS points", 1.0),
    "revenue": ("revenue per user", 1.0),
}


def forest_plot(name: str, metric_type: str, rows: list[dict[str, Any]]) -> str:
    unit, scale = METRIC_UNIT.get(metric_type, (metric_type, 1.0))
    width, left, right, row_h, top, bottom = 800, 290, 210, 34, 14, 34
    height = top + row_h * len(rows) + bottom
    vals = [0.0]
    for r in rows:
        vals += [scale * float(r[k]) for k in ("effect", "effect_ci_lower", "effect_ci_upper") if r[k] is not None]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.08 or 1.0
    ticks = nice_ticks(lo - pad, hi + pad)
    x = linear(ticks[0], ticks[-1], left, width - right)
    parts = [svg_open(name, width, height, f"Initiative effects on {metric_type} metrics with 95 % intervals ({unit})")]
    for t in ticks:
        parts.append(line(x(t), top, x(t), height - bottom, "grid"))
        parts.append(text(x(t), height - bottom + 16, f"{t:g}", "middle", "small"))
    parts.append(line(x(0), top - 4, x(0), height - bottom, "zero"))
    parts.append(text((left + width - right) / 2, height - 4, f"effect, after − before ({unit})", "middle", "small"))
    for i, r in enumerate(rows):
        cy = top + i * row_h + row_h / 2
        parts.append(text(left - 8, cy - 2, clip(f"{r['initiative_key']} {r['summary'] or ''}", 40), "end"))
        parts.append(text(left - 8, cy + 11, clip(r["target_metric_label"], 46), "end", "small muted"))
        status = r["outcome_status"] or ""
        colour = BLUE if status == "final" else ORANGE
        if r["effect"] is None or r["effect_ci_lower"] is None or r["effect_ci_upper"] is None:
            parts.append(text(x(0) + 6, cy + 4, f"no estimate ({status})", cls="small muted"))
        else:
            e, lo_, hi_ = (scale * float(r[k]) for k in ("effect", "effect_ci_lower", "effect_ci_upper"))
            tip = (
                f"{r['initiative_key']}: effect {e:+.2f} ({unit}), 95 % CI {lo_:+.2f} to {hi_:+.2f}, "
                f"p {fmt_p(r['p_value'])}, {status}"
            )
            parts.append(
                f'<line x1="{_n(x(lo_))}" y1="{_n(cy)}" x2="{_n(x(hi_))}" y2="{_n(cy)}" stroke="{colour}" '
                f'stroke-width="2.5" class="mark"><title>{esc(tip)}</title></line>'
            )
            shape = (
                f'<rect x="{_n(x(e) - 5)}" y="{_n(cy - 5)}" width="10" height="10" fill="{colour}" class="mark">'
                if status == "final"
                else f'<rect x="{_n(x(e) - 5)}" y="{_n(cy - 5)}" width="10" height="10" fill="white" '
                f'stroke="{colour}" stroke-width="2" class="mark">'
            )
            parts.append(shape + f"<title>{esc(tip)}</title></rect>")
        sig = " · significant" if r["is_significant"] else ""
        parts.append(
            text(
                width - right + 10,
                cy + 4,
                f"{status}{sig} · n {fmt_int(r['before_sample_size'])} → {fmt_int(r['after_sample_size'])}",
                cls="small",
            )
        )
    parts.append("</svg>")
    return "".join(parts)


def slip_chart(rows: list[dict[str, Any]]) -> str:
    shipped = [r for r in rows if r["slip_days"] is not None]
    width, left, right, row_h, top = 760, 230, 120, 24, 10
    height = top + row_h * len(shipped) + 30
    vals = [0.0] + [float(r["slip_days"]) for r in shipped]
    ticks = nice_ticks(min(vals), max(vals))
    x = linear(ticks[0], ticks[-1], left, width - right)
    parts = [svg_open("delivery-slip", width, height, "Delivery slip: ship date minus due date, days (positive: late)")]
    for t in ticks:
        parts.append(line(x(t), top, x(t), height - 24, "grid"))
        parts.append(text(x(t), height - 8, f"{t:g}", "middle", "small"))
    parts.append(line(x(0), top, x(0), height - 24, "zero"))
    for i, r in enumerate(shipped):
        y = top + i * row_h
        s = float(r["slip_days"])
        colour = VERMILION if s > 0 else GREEN
        parts.append(text(left - 8, y + 16, clip(f"{r['initiative_key']} {r['summary'] or ''}", 34), "end"))
        parts.append(
            rect(
                min(x(0), x(s)),
                y + 4,
                abs(x(s) - x(0)) or 1.5,
                row_h - 8,
                colour,
                f"{r['initiative_key']}: due {fmt_date(r['due_date'])}, shipped {fmt_date(r['ship_date'])}, "
                f"slip {int(s):+d} days",
                ' class="mark"',
            )
        )
        parts.append(text(max(x(0), x(s)) + 6, y + 16, f"{int(s):+d} d", cls="small"))
    parts.append("</svg>")
    return "".join(parts)


def adoption_chart(rows: list[dict[str, Any]]) -> str:
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_key[r["initiative_key"]].append(r)
    width, height, left, right, top, bottom = 760, 240, 52, 140, 14, 36
    max_week = max(int(r["week_index"]) for r in rows)
    max_share = max((float(r["adoption_share"]) for r in rows if r["adoption_share"] is not None), default=0.0)
    ticks = nice_ticks(0, max(max_share, 0.01) * 100, 4)
    x = linear(0, max(max_week, 1), left, width - right)
    y = linear(0, ticks[-1], height - bottom, top)
    parts = [svg_open("initiative-adoption", width, height, "Weekly adoption share after each initiative shipped")]
    for t in ticks:
        parts.append(line(left, y(t), width - right, y(t), "grid"))
        parts.append(text(left - 6, y(t) + 4, f"{t:g} %", "end", "small"))
    for w in nice_ticks(0, max(max_week, 1), min(max(max_week, 1), 8)):
        if w == int(w):
            parts.append(text(x(w), height - bottom + 16, f"{int(w)}", "middle", "small"))
    parts.append(text((left + width - right) / 2, height - 4, "weeks since ship", "middle", "small"))
    colours = (BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY, GREY)
    for k, (key, krows) in enumerate(by_key.items()):
        colour = colours[k % len(colours)]
        pts = [(int(r["week_index"]), r) for r in sorted(krows, key=lambda r: r["week_index"])]
        coords = " ".join(
            f"{_n(x(w))},{_n(y(100 * float(r['adoption_share'])))}" for w, r in pts if r["adoption_share"] is not None
        )
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"><title>{esc(key)} adoption'
            "</title></polyline>"
        )
        for w, r in pts:
            if r["adoption_share"] is None:
                continue
            tip = (
                f"{key} week {w} ({fmt_date(r['week_start'])}): {fmt_pct(r['adoption_share'])} of "
                f"{fmt_int(r['active_users'])} active users{'' if r['is_complete_week'] else ' (week not complete)'}"
            )
            fill = colour if r["is_complete_week"] else "white"
            parts.append(
                f'<circle cx="{_n(x(w))}" cy="{_n(y(100 * float(r["adoption_share"])))}" r="3.5" fill="{fill}" '
                f'stroke="{colour}" class="mark"><title>{esc(tip)}</title></circle>'
            )
        parts.append(
            text(width - right + 10, top + 14 + 16 * k, clip(key, 20), cls="small", extra=f' style="fill:{colour}"')
        )
    parts.append("</svg>")
    return "".join(parts)


def section_outcomes(m: Marts) -> str:
    out = []

    def outcomes() -> str:
        rows = m.rows(
            "fct_initiative_outcomes",
            [
                "initiative_key",
                "summary",
                "target_metric_type",
                "target_metric_label",
                "before_sample_size",
                "after_sample_size",
                "before_value",
                "after_value",
                "effect",
                "effect_ci_lower",
                "effect_ci_upper",
                "p_value",
                "test_method",
                "is_significant",
                "is_window_complete",
                "outcome_status",
                "ship_date",
                "window_days",
            ],
            order_by="initiative_key",
        )
        parts = [
            '<p class="note">Effect of each shipped initiative on its target metric: after-window value minus '
            "before-window value with its 95 % interval. Filled marker: <em>final</em> (window complete); hollow: "
            "<em>provisional</em>. Proportions are shown in percentage points.</p>"
        ]
        plotted = [r for r in rows if r["outcome_status"] in ("final", "provisional")]
        for metric_type in sorted({r["target_metric_type"] or "unknown" for r in plotted}):
            group = [r for r in plotted if (r["target_metric_type"] or "unknown") == metric_type]
            parts.append(f"<figure>{forest_plot(f'initiative-outcomes-{metric_type}', metric_type, group)}</figure>")
        if not plotted:
            parts.append(no_data_panel("initiative-outcomes", "no initiative has a final or provisional outcome yet"))
        parts.append(
            '<div class="scroll"><table class="data"><thead><tr><th>initiative</th><th>target metric</th>'
            "<th>shipped</th>"
            "<th>status</th><th>before (n)</th><th>after (n)</th><th>effect [95 % CI]</th><th>p</th>"
            "<th>test</th></tr></thead><tbody>"
        )
        for r in rows:
            ci = (
                f"{fmt_num(r['effect'], 4)} [{fmt_num(r['effect_ci_lower'], 4)}, {fmt_num(r['effect_ci_upper'], 4)}]"
                if r["effect"] is not None
                else "–"
            )
            parts.append(
                f"<tr><td>{esc(r['initiative_key'])} {esc(r['summary'])}</td><td>{esc(r['target_metric_label'])}</td>"
                f"<td>{esc(fmt_date(r['ship_date']))}</td><td>{esc(r['outcome_status'])}</td>"
                f"<td>{esc(fmt_num(r['before_value'], 4))} ({esc(fmt_int(r['before_sample_size']))})</td>"
                f"<td>{esc(fmt_num(r['after_value'], 4))} ({esc(fmt_int(r['after_sample_size']))})</td>"
                f"<td>{esc(ci)}</td><td>{esc(fmt_p(r['p_value']))}</td><td>{esc(r['test_method'])}</td></tr>"
            )
        parts.append("</tbody></table></div>")
        return "".join(parts)

    def adoption() -> str:
        rows = m.rows(
            "fct_initiative_adoption_weekly",
            ["initiative_key", "week_index", "week_start", "active_users", "adoption_share", "is_complete_week"],
            order_by="initiative_key, week_index",
        )
        return f"<figure>{adoption_chart(rows)}</figure>"

    def delivery() -> str:
        rows = m.rows(
            "fct_initiative_delivery",
            ["initiative_key", "summary", "due_date", "ship_date", "is_shipped", "slip_days", "status_category"],
            order_by="initiative_key",
        )
        parts = []
        if any(r["slip_days"] is not None for r in rows):
            parts.append(f"<figure>{slip_chart(rows)}</figure>")
        pending = [r for r in rows if r["slip_days"] is None]
        if pending:

            def why(r: dict[str, Any]) -> str:
                if r["is_shipped"]:
                    return f"shipped {fmt_date(r['ship_date'])}, no due date"
                return f"{r['status_category']}, due {fmt_date(r['due_date'])}"

            items = "; ".join(f"{esc(r['initiative_key'])} {esc(r['summary'])} ({esc(why(r))})" for r in pending)
            parts.append(f'<p class="note">Without a slip yet: {items}</p>')
        return "".join(parts)

    out.append("<h3>Outcomes</h3>" + _safe("initiative-outcomes", outcomes))
    out.append("<h3>Adoption after ship</h3>" + _safe("initiative-adoption", adoption))
    out.append("<h3>Delivery slip</h3>" + _safe("delivery-slip", delivery))
    return "".join(out)


def kano_mix_chart(rows: list[dict[str, Any]]) -> str:
    by_cat = {r["kano_category"]: r for r in rows}
    width, left, right, bar_h, top = 760, 150, 20, 34, 40
    height = top + 2 * (bar_h + 14) + 10
    x = linear(0, 1, left, width - right)
    parts = [svg_open("kano-mix", width, height, "Kano mix of planned effort: actual share vs target share")]
    lx = left
    for cat in KANO_MIX_ORDER:
        parts.append(rect(lx, 8, 12, 12, KANO_MIX_COLOUR[cat], f"legend: {KANO_MIX_LABEL[cat]}"))
        parts.append(text(lx + 16, 18, KANO_MIX_LABEL[cat], cls="small"))
        lx += 24 + 7.2 * len(KANO_MIX_LABEL[cat])
    for i, (label, key) in enumerate((("actual (effort)", "effort_share"), ("target", "target_share"))):
        y = top + i * (bar_h + 14)
        parts.append(text(left - 8, y + bar_h / 2 + 5, label, "end"))
        acc = 0.0
        for cat in KANO_MIX_ORDER:
            r = by_cat.get(cat)
            share = float(r[key]) if r is not None and r[key] is not None else 0.0
            if share <= 0:
                continue
            tip = f"{label}: {KANO_MIX_LABEL[cat]} {fmt_pct(share)}"
            if key == "effort_share" and r is not None:
                tip += (
                    f" ({fmt_num(r['planned_effort_person_months'])} person-months; gap to target "
                    f"{fmt_num(100 * float(r['share_gap']) if r['share_gap'] is not None else None)} pp)"
                )
            parts.append(rect(x(acc), y, x(acc + share) - x(acc), bar_h, KANO_MIX_COLOUR[cat], tip, ' class="mark"'))
            if share >= 0.06:
                parts.append(
                    text(
                        (x(acc) + x(acc + share)) / 2,
                        y + bar_h / 2 + 5,
                        fmt_pct(share, 0),
                        "middle",
                        "cell-label light",
                    )
                )
            acc += share
    parts.append("</svg>")
    return "".join(parts)


def rice_chart(ranked: list[dict[str, Any]]) -> str:
    shown = ranked[:PORTFOLIO_CHART_MAX_ITEMS]
    width, left, right, row_h, top = 760, 260, 80, 22, 6
    height = top + row_h * len(shown) + 8
    x = linear(0, max(float(r["rice_score"]) for r in shown) or 1.0, left, width - right)
    parts = [svg_open("portfolio-rice", width, height, "RICE score of the ranked portfolio items")]
    for i, r in enumerate(shown):
        y = top + i * row_h
        parts.append(text(left - 8, y + 15, clip(f"{r['rice_rank']}. {r['item_key']} {r['title'] or ''}", 40), "end"))
        parts.append(
            rect(
                left,
                y + 3,
                x(float(r["rice_score"])) - left,
                row_h - 6,
                PURPLE,
                f"#{r['rice_rank']} {r['item_key']}: RICE {fmt_num(r['rice_score'])}",
                ' class="mark"',
            )
        )
        parts.append(text(x(float(r["rice_score"])) + 5, y + 15, fmt_num(r["rice_score"]), cls="small"))
    parts.append("</svg>")
    return "".join(parts)


def section_portfolio(m: Marts) -> str:
    def scores() -> str:
        rows = m.rows(
            "fct_portfolio_scores",
            [
                "item_key",
                "item_type",
                "title",
                "theme",
                "status",
                "reach",
                "reach_source",
                "impact",
                "impact_source",
                "confidence",
                "confidence_source",
                "effort_person_months",
                "effort_source",
                "rice_score",
                "rice_rank",
                "kano_category",
                "revenue_weighted_demand",
                "requesting_accounts",
                "scoring_note",
            ],
            order_by="rice_rank nulls last, item_key",
        )
        ranked = [r for r in rows if r["rice_rank"] is not None and r["rice_score"] is not None]
        unscored = [r for r in rows if r["rice_rank"] is None]
        parts = [
            '<p class="note">RICE = reach × impact × confidence ÷ effort (person-months); each input with its '
            "source.</p>"
        ]
        if ranked:
            parts.append(f"<figure>{rice_chart(ranked)}</figure>")

        def src(v: Any, s: Any, digits: int = 2) -> str:
            return f'{esc(fmt_num(v, digits))}<br><span class="src">{esc(s)}</span>'

        parts.append(
            '<div class="scroll"><table class="data"><thead><tr><th>rank</th><th>item</th><th>theme</th>'
            "<th>status</th><th>reach</th>"
            "<th>impact</th><th>confidence</th><th>effort (pm)</th><th>RICE</th><th>Kano</th>"
            "<th>revenue-weighted demand</th><th>accounts</th></tr></thead><tbody>"
        )
        for r in ranked:
            kano = r["kano_category"]
            parts.append(
                f"<tr><td>{esc(r['rice_rank'])}</td><td>{esc(r['item_key'])} {esc(r['title'])}"
                f'<br><span class="src">{esc(r["item_type"])}</span></td><td>{esc(r["theme"])}</td>'
                f"<td>{esc(r['status'])}</td><td>{src(r['reach'], r['reach_source'], 0)}</td>"
                f"<td>{src(r['impact'], r['impact_source'])}</td>"
                f"<td>{src(r['confidence'], r['confidence_source'])}</td>"
                f"<td>{src(r['effort_person_months'], r['effort_source'])}</td><td>{esc(fmt_num(r['rice_score']))}</td>"
                f"<td>{esc(KANO_CATEGORY_LABEL.get(kano, kano) if kano else '–')}</td>"
                f"<td>{esc(fmt_num(r['revenue_weighted_demand'], 0))}</td>"
                f"<td>{esc(fmt_int(r['requesting_accounts']))}</td></tr>"
            )
        parts.append("</tbody></table></div>")
        if unscored:
            parts.append('<h4>Not ranked</h4><ul class="notes">')
            for r in unscored:
                note = r["scoring_note"] or f"{r['item_key']} has no RICE score (no note given)"
                parts.append(f'<li data-unscored="{esc(r["item_key"])}">{esc(note)}</li>')
            parts.append("</ul>")
        return "".join(parts)

    def kano_mix() -> str:
        rows = m.rows(
            "fct_portfolio_kano_mix",
            ["kano_category", "planned_effort_person_months", "effort_share", "target_share", "share_gap"],
        )
        unknown = sorted({str(r["kano_category"]) for r in rows} - set(KANO_MIX_ORDER))
        if unknown:
            raise ReportError(f"fct_portfolio_kano_mix.kano_category: unexpected value(s) {', '.join(unknown)}")
        return f"<figure>{kano_mix_chart(rows)}</figure>"

    return (
        "<h3>Ranked portfolio</h3>"
        + _safe("portfolio", scores)
        + "<h3>Kano mix of planned effort</h3>"
        + _safe("kano-mix", kano_mix)
    )


# ------------------------------------------------------------------------------------------------------- page

CSS = """
:root{--fg:#1d232a;--muted:#5b6770;--line:#d5dbe0;--bg:#fff;--panel:#f5f7f9}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg)}
header{padding:20px 32px;background:#10324a;color:#fff}
header h1{margin:0 0 6px;font-size:24px}
header dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:14px}
header dt{opacity:.75}header dd{margin:0}
nav{padding:8px 32px;border-bottom:1px solid var(--line);font-size:14px}
nav a{margin-right:16px;color:#0b5a8a}
main{padding:8px 32px 40px;max-width:1600px}
section{margin-top:28px}
h2{font-size:20px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}h4{font-size:14px;margin:14px 0 4px}
.muted{color:var(--muted);font-weight:normal}
.note{color:var(--muted);font-size:13px;max-width:900px}
figure{margin:6px 0 14px}figcaption{font-size:13px;color:var(--muted)}
.pair{display:flex;flex-wrap:wrap;gap:8px 28px}
.scroll{overflow-x:auto}
svg{max-width:100%;height:auto;font-size:12px;font-family:inherit}
svg text{fill:var(--fg)}svg .small{font-size:11px}svg .muted{fill:var(--muted)}svg .bold{font-weight:600}
svg .ok{fill:#00734f}svg .bad{fill:#b03a00}
svg .cell-label{font-size:10px;fill:#1d232a}svg .cell-label.light{fill:#fff}
svg .axis,svg .grid{stroke:var(--line);stroke-width:1}svg .zero{stroke:#333;stroke-width:1.2}
svg .blank{stroke:#e6eaee;stroke-dasharray:2 2}
.no-data{padding:12px 14px;background:var(--panel);border-left:4px solid #c5ccd3;color:var(--muted);margin:6px 0}
table.data{border-collapse:collapse;font-size:13px;margin:8px 0}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
table.data th{background:var(--panel)}
.src{color:var(--muted);font-size:11px}
ul.notes{font-size:13px}
@media print{nav{display:none}}
"""


def _data_through(m: Marts) -> dict[str, Any]:
    """The newest date each area's data reaches, from the marts that carry one (None when absent)."""
    probes = {
        "product events": ("fct_active_users", "activity_date"),
        "NPS surveys": ("fct_nps", "period_start"),
        "billing": ("fct_unit_economics", "month_start"),
        "delivery (latest ship)": ("fct_initiative_delivery", "ship_date"),
    }
    out: dict[str, Any] = {}
    for label, (table, column) in probes.items():
        out[label] = (
            m.scalar(f'select max("{column}") from "{m.schema}"."{table}"')
            if column in m.columns.get(table, set())
            else None
        )
    return out


def render_from_connection(
    con: duckdb.DuckDBPyConnection,
    *,
    schema: str = "main",
    release_id: str | None = None,
    run_id: str | None = None,
    generated_at: datetime | None = None,
) -> str:
    """The whole report as one HTML string, from the marts in `schema` of an open (read-only) connection."""
    m = Marts(con, schema)
    generated_at = generated_at or datetime.now(UTC)
    freshness = _data_through(m)
    product_through = freshness["product events"]
    sections = [
        Section("funnels", "Funnels", _safe("funnels", lambda: section_funnels(m, product_through))),
        Section("retention", "Retention", _safe("retention", lambda: section_retention(m))),
        Section("nps", "NPS trend", _safe("nps", lambda: section_nps(m))),
        Section("unit-economics", "CLV vs CAC by channel", _safe("unit-economics", lambda: section_unit_economics(m))),
        Section("initiatives", "Initiative outcomes", section_outcomes(m)),
        Section("portfolio", "Portfolio", section_portfolio(m)),
    ]
    meta = [
        ("release", release_id or "(not published)"),
        ("run", run_id or "–"),
        ("generated", generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("data through", "; ".join(f"{k} {fmt_date(v)}" for k, v in freshness.items() if v is not None) or "–"),
    ]
    head = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta)
    nav = "".join(f'<a href="#{s.anchor}">{esc(s.title)}</a>' for s in sections)
    body = "".join(f'<section id="{s.anchor}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Belt and braces for "offline": even a stray URL in data could not make the page fetch anything.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>Product metrics report {esc(release_id or '')}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Product metrics report</h1><dl>{head}</dl></header><nav>{nav}</nav>"
        f"<main>{body}</main></body></html>\n"
    )


def render_report(
    db_path: str | Path,
    *,
    release_id: str | None = None,
    run_id: str | None = None,
    generated_at: datetime | None = None,
) -> str:
    """The report for a publication's marts.duckdb, opened read-only (tables in `main`)."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise ReportError(f"no DuckDB file at {db_path}")
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return render_from_connection(con, release_id=release_id, run_id=run_id, generated_at=generated_at)
    finally:
        con.close()
