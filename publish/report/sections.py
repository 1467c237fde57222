"""The report's sections: each reads its marts and returns HTML with Vega-Lite charts (built with Altair).

Every chart has a tooltip on every mark, units (and the reporting currency) on its axes, human labels for enum
values (labels.py) and a caption naming how far the data it is drawn from reaches. A section whose table is
absent, empty or lacks a column renders a "No data" panel naming the table; any other error propagates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import altair as alt

from publish.report.labels import (
    LABELS,
    channel_label,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_month,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_period,
    humanise,
    is_missing,
    label,
    source_label,
)
from publish.report.marts import DataThrough, Marts, MissingData, ReportError
from publish.report.page import chart_figure, esc, no_data_panel
from publish.restatements import describe_keys, format_delta, format_value

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
# Daily retention over months of data stays readable: the newest cohorts with a complete period are shown.
RETENTION_MAX_COHORTS = 60
PORTFOLIO_CHART_MAX_ITEMS = 25
# Fewer months than this is not a trend: the NPS caption says so.
NPS_MIN_TREND_MONTHS = 4
METRIC_SCALE = {"funnel_step": ("percentage points", 100.0), "retention": ("percentage points", 100.0)}


@dataclass(frozen=True)
class Context:
    marts: Marts
    through: DataThrough
    currency: str | None  # the reporting currency of the finance marts


# What the report says for a fct_unit_economics.cac_status other than 'measured' (no CAC, no ratio, no payback).
CAC_STATUS_TEXT = {
    "no_spend": "no spend",
    "no_customers": "spend, no new customers",
    "net_credit": "credits exceed spend",
}


def safe(section: str, build: Callable[[], str]) -> str:
    try:
        return build()
    except MissingData as exc:
        return no_data_panel(section, str(exc))


def finish(chart: alt.TopLevelMixin, height: int | None = None) -> dict[str, Any]:
    """Full width of the page, the report's fonts; the spec as a dict."""
    if height is not None:
        chart = chart.properties(height=height)
    chart = (
        chart.properties(width="container")
        .configure(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"), font="system-ui, sans-serif")
        .configure_axis(labelFontSize=12, titleFontSize=12, titleFontWeight="normal", labelLimit=0)
        .configure_legend(labelFontSize=12, titleFontSize=12, orient="top", labelLimit=0)
        .configure_view(stroke=None)
    )
    return chart.to_dict()


def segment_param(name: str, title: str, options: list[tuple[str, str]], default: str) -> alt.Parameter:
    """A client-side filter: a <select> under the chart; options are (value, label)."""
    return alt.param(
        name=name,
        value=default,
        bind=alt.binding_select(options=[v for v, _ in options], labels=[t for _, t in options], name=title),
    )


def filtered_by_segment(chart: alt.TopLevelMixin, param_name: str, prop: str | None, segments: list[str]):
    """``chart`` with a dropdown of its breakdown's values ('(all)' first and chosen) filtering the marks."""
    seg = segment_param(
        param_name,
        f"{humanise(prop or 'segment').capitalize()}:",
        [(v, label("segment", v)) for v in segments],
        "(all)",
    )
    return chart.add_params(seg).transform_filter(alt.datum.segment == seg)


def data_through_note(*parts: tuple[str, date | None]) -> str:
    known = [f"{what} through {fmt_date(when)}" for what, when in parts if when is not None]
    return ("Data: " + "; ".join(known) + ".") if known else ""


def _month_note(what: str, first_of_month: date | None) -> tuple[str, date | None]:
    """A monthly source reaches the end of its newest month."""
    if first_of_month is None:
        return what, None
    nxt = date(first_of_month.year + first_of_month.month // 12, first_of_month.month % 12 + 1, 1)
    return what, nxt - timedelta(days=1)


# ----------------------------------------------------------------------------------------------------- funnels


def _period_end(start: date, grain: str) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    raise ReportError(f"fct_funnel_conversion.period_grain: unexpected value {grain!r}")


def _duration(seconds: Any) -> str:
    if is_missing(seconds):
        return "–"
    s = float(seconds)
    return f"{s / 86400:.1f} days" if s >= 86400 else f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.0f} min"


def funnel_chart(name: str, funnel: str, frows: list[dict[str, Any]], through: date | None) -> str:
    grain = frows[0]["period_grain"]
    window = timedelta(seconds=int(frows[0]["conversion_window_seconds"] or 0))
    periods = sorted({r["period_start"] for r in frows})
    data_end = (through or periods[-1]) + timedelta(days=1)
    complete = {p for p in periods if _period_end(p, grain) + window <= data_end}
    default_period = max(complete) if complete else periods[-1]
    segments = sorted({r["breakdown_value"] for r in frows}, key=lambda v: (v != "(all)", v))
    prop = next((r["breakdown_property"] for r in frows if r["breakdown_property"]), None)
    data = []
    for r in frows:
        first, prev = r["users_at_first_step"], r["users_at_previous_step"]
        share = (r["users"] or 0) / first if first else None
        conv_prev = (r["users"] or 0) / prev if prev else None
        data.append(
            {
                "period": r["period_start"].isoformat(),
                "period_label": fmt_period(r["period_start"], grain)
                + ("" if r["period_start"] in complete else " (not complete)"),
                "segment": r["breakdown_value"],
                "segment_label": label("segment", r["breakdown_value"]),
                "step_index": int(r["step_index"]),
                "step": f"{r['step_index']}. {humanise(r['step_event']).capitalize()}",
                "event": r["step_event"],
                "users": int(r["users"] or 0),
                "share": share,
                "share_text": fmt_pct(share),
                "conv_prev_text": fmt_pct(conv_prev),
                "median_prev": _duration(r.get("median_seconds_from_previous")),
                "bar_label": f"{fmt_int(r['users'])} users · {fmt_pct(share)} of step 1",
            }
        )
    period_opts = [
        (p.isoformat(), fmt_period(p, grain) + ("" if p in complete else " (not complete)")) for p in periods
    ]
    period = segment_param(
        f"period_{name.replace('-', '_')}", f"{grain.capitalize()}:", period_opts, default_period.isoformat()
    )
    tooltip = [
        alt.Tooltip("step:N", title="Step"),
        alt.Tooltip("event:N", title="Event"),
        alt.Tooltip("period_label:N", title=grain.capitalize()),
        alt.Tooltip("segment_label:N", title=humanise(prop).capitalize() if prop else "Segment"),
        alt.Tooltip("users:Q", title="Users", format=","),
        alt.Tooltip("share_text:N", title="Of step-1 users"),
        alt.Tooltip("conv_prev_text:N", title="Of the previous step"),
        alt.Tooltip("median_prev:N", title="Median time from previous step"),
    ]
    y = alt.Y("step:N", sort=alt.EncodingSortField("step_index"), title=None)
    base = alt.Chart().encode(y=y, tooltip=tooltip)
    bars = base.mark_bar(color=BLUE).encode(
        x=alt.X(
            "share:Q",
            title="Users reaching the step, % of those who did step 1",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        )
    )
    # Long bars carry their label inside (white), short ones just after the bar: no label leaves the chart.
    inside = (
        base.mark_text(align="right", dx=-6, fontSize=12, color="white")
        .encode(x="share:Q", text="bar_label:N")
        .transform_filter("datum.share > 0.6")
    )
    outside = (
        base.mark_text(align="left", dx=4, fontSize=12)
        .encode(x="share:Q", text="bar_label:N")
        .transform_filter("!(datum.share > 0.6)")
    )
    chart = alt.layer(bars, inside, outside, data=alt.Data(values=data)).add_params(period)
    chart = chart.transform_filter(alt.datum.period == period)
    if len(segments) > 1:
        chart = filtered_by_segment(chart, f"segment_{name.replace('-', '_')}", prop, segments)
        seg_note = (
            f"Choose a {esc(humanise(prop or 'segment'))} below the chart (the value at step 1); "
            "“Not recorded”: events without it."
        )
    else:
        chart = chart.transform_filter(alt.datum.segment == "(all)")
        seg_note = "This funnel has no breakdown configured, so there is no segment filter."
    caption = (
        f"Users reaching each step within {esc(_duration(window.total_seconds()))} of step 1, as a share of those "
        f"who did step 1. Shown: the latest complete {esc(grain)} ({esc(fmt_period(default_period, grain))}); a "
        f"{esc(grain)} is complete once it has ended and its conversion window has passed. Choose another "
        f"{esc(grain)} below. {seg_note} {esc(data_through_note(('Product events', through)))}"
    )
    title = f"Funnel {funnel}"
    return chart_figure(name, title, finish(chart, height=44 * len({r["step_index"] for r in frows})), caption)


def section_funnels(ctx: Context) -> str:
    rows = ctx.marts.rows(
        "fct_funnel_conversion",
        [
            "funnel_name",
            "entry_mode",
            "conversion_window_seconds",
            "period_grain",
            "period_start",
            "breakdown_property",
            "breakdown_value",
            "step_index",
            "step_event",
            "users",
            "users_at_previous_step",
            "users_at_first_step",
        ],
        order_by="funnel_name, period_start, breakdown_value, step_index",
    )
    by_funnel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_funnel[r["funnel_name"]].append(r)
    out = []
    for idx, (funnel, frows) in enumerate(by_funnel.items()):
        first = frows[0]
        out.append(
            f"<h3>{esc(humanise(funnel).capitalize())} "
            f'<span class="muted">({esc(label("entry_mode", first["entry_mode"]))}'
            f", per {esc(label('period_grain', first['period_grain']))})</span></h3>"
        )
        out.append(funnel_chart(f"funnel-{idx}", funnel, frows, ctx.through.product))
    return "".join(out)


# --------------------------------------------------------------------------------------------------- retention


def section_retention(ctx: Context) -> str:
    rows = ctx.marts.rows(
        "fct_retention_cohorts",
        [
            "retention_name",
            "period_grain",
            "start_event",
            "return_event",
            "cohort_start",
            "breakdown_property",
            "breakdown_value",
            "cohort_users",
            "period_number",
            "is_complete",
            "users_on_period",
            "retention_on_period",
            "retention_on_or_after_period",
        ],
        order_by="retention_name, cohort_start, breakdown_value, period_number",
    )
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_name[r["retention_name"]].append(r)
    out = [
        '<p class="note">Share of each sign-up cohort that came back in exactly that period (cell: %). Only periods '
        "that have fully elapsed are shown; cohorts too recent to have one are listed under the chart.</p>"
    ]
    for idx, (name, segment_rows) in enumerate(by_name.items()):
        # Cohorts shown, pending and the colour scale follow the whole cohort ('(all)'); a segment is a subset.
        rrows = [r for r in segment_rows if r["breakdown_value"] == "(all)"]
        first = rrows[0] if rrows else segment_rows[0]
        grain = first["period_grain"]
        unit = {"day": "Day", "week": "Week", "month": "Month"}.get(grain, grain.capitalize())
        done = [r for r in rrows if r["is_complete"] and r["retention_on_period"] is not None]
        with_data = sorted({r["cohort_start"] for r in done})
        shown = set(with_data[-RETENTION_MAX_COHORTS:])
        all_cohorts = sorted({r["cohort_start"] for r in rrows})
        pending = [c for c in all_cohorts if c not in set(with_data)]
        checkpoints = sorted({int(r["period_number"]) for r in rrows})
        segments = sorted({r["breakdown_value"] for r in segment_rows}, key=lambda v: (v != "(all)", v))
        prop = first["breakdown_property"]
        out.append(
            f'<h3>{esc(humanise(name).capitalize())} <span class="muted">(per {esc(grain)}: first '
            f"{esc(first['start_event'])}, then {esc(first['return_event'])})</span></h3>"
        )
        if not done:
            out.append(
                no_data_panel(
                    f"retention-{idx}",
                    f"fct_retention_cohorts: no {grain} of {name} has fully elapsed for any cohort yet",
                )
            )
            continue
        data = [
            {
                "cohort": r["cohort_start"].isoformat(),
                "segment": r["breakdown_value"],
                "segment_label": label("segment", r["breakdown_value"]),
                "cohort_label": f"{fmt_period(r['cohort_start'], grain)} (n={fmt_int(r['cohort_users'])})",
                "period_number": int(r["period_number"]),
                "period_label": f"{unit} {int(r['period_number'])}",
                "retention": float(r["retention_on_period"]),
                "retention_text": fmt_pct(r["retention_on_period"]),
                "on_or_after_text": fmt_pct(r["retention_on_or_after_period"]),
                "users": int(r["users_on_period"] or 0),
                "cohort_users": int(r["cohort_users"] or 0),
                "cell": f"{100 * float(r['retention_on_period']):.0f}",
            }
            for r in segment_rows
            if r["cohort_start"] in shown and r["is_complete"] and r["retention_on_period"] is not None
        ]
        tooltip = [
            alt.Tooltip("cohort_label:N", title="Cohort"),
            alt.Tooltip("segment_label:N", title=humanise(prop).capitalize() if prop else "Segment"),
            alt.Tooltip("period_label:N", title=f"{unit}s after first {first['start_event']}"),
            alt.Tooltip("retention_text:N", title="Returned in that period"),
            alt.Tooltip("users:Q", title="Users returning", format=","),
            alt.Tooltip("on_or_after_text:N", title="Returned then or later"),
        ]
        top = max(d["retention"] for d in data if d["segment"] == "(all)") or 1.0
        base = alt.Chart().encode(
            x=alt.X(
                "period_label:O",
                sort=alt.EncodingSortField("period_number"),
                title=f"{unit}s since first {first['start_event']} (checkpoints {', '.join(map(str, checkpoints))})",
                axis=alt.Axis(orient="top", labelAngle=0),
            ),
            y=alt.Y(
                "cohort_label:O",
                sort=alt.EncodingSortField("cohort"),
                title="Cohort (n = users)",
            ),
            tooltip=tooltip,
        )
        cells = base.mark_rect().encode(
            color=alt.Color(
                "retention:Q",
                title="Retention",
                # One scale for every segment, so they compare; a segment above the whole cohort's top is darkest.
                scale=alt.Scale(scheme="blues", domain=[0, top], clamp=True),
                legend=alt.Legend(format="%", orient="right"),
            )
        )
        text = base.mark_text(fontSize=11).encode(
            text="cell:N",
            color=alt.condition(alt.datum.retention > 0.55 * top, alt.value("white"), alt.value("#1d232a")),
        )
        chart = alt.layer(cells, text, data=alt.Data(values=data))
        if len(segments) > 1:
            chart = filtered_by_segment(chart, f"segment_retention_{idx}", prop, segments)
            seg_note = (
                f"Choose a {humanise(prop or 'segment')} below the chart (the value on the user's first "
                f"{first['start_event']}; “Not recorded”: events without it); n is that segment's cohort size."
            )
        else:
            chart = chart.transform_filter(alt.datum.segment == "(all)")
            seg_note = "This retention analysis has no breakdown configured, so there is no segment filter."
        notes = []
        if len(with_data) > len(shown):
            notes.append(f"showing the {len(shown)} most recent of {len(with_data)} cohorts with a complete {grain}")
        if pending:
            notes.append(
                f"{len(pending)} newer cohort(s) ({fmt_period(pending[0], grain)} to {fmt_period(pending[-1], grain)}) "
                f"have no complete checkpoint yet"
            )
        caption = (
            f"Cell: % of the cohort returning in exactly that {esc(grain)}"
            + (f"; {esc('; '.join(notes))}" if notes else "")
            + f". {esc(seg_note)} {esc(data_through_note(('Product events', ctx.through.product)))}"
        )
        out.append(
            chart_figure(
                f"retention-{idx}", f"Retention {name}", finish(chart, height=max(18 * len(shown), 140)), caption
            )
        )
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------- NPS


def section_nps(ctx: Context) -> str:
    rows = ctx.marts.rows(
        "fct_nps",
        ["period_start", "segment_plan", "segment_platform", "responses", "nps", "nps_ci_low", "nps_ci_high"],
        where="segment_plan = '(all)' or segment_platform = '(all)'",
        order_by="period_start",
    )
    data = []
    seen: dict[str, str] = {}
    for r in rows:
        plan, platform = r["segment_plan"], r["segment_platform"]
        if plan == "(all)" and platform == "(all)":
            key, text = "all", "All respondents"
        elif platform == "(all)":
            key, text = f"plan:{plan}", f"Plan: {humanise(str(plan)).capitalize()}"
        else:
            key, text = f"platform:{platform}", f"Platform: {platform}"
        seen[key] = text
        if r["nps"] is None:
            continue
        data.append(
            {
                "month": r["period_start"].isoformat(),
                "month_label": fmt_month(r["period_start"]),
                "segment": key,
                "segment_label": text,
                "nps": float(r["nps"]),
                "low": None if r["nps_ci_low"] is None else float(r["nps_ci_low"]),
                "high": None if r["nps_ci_high"] is None else float(r["nps_ci_high"]),
                "interval": f"{fmt_num(r['nps_ci_low'])} to {fmt_num(r['nps_ci_high'])}",
                "responses": int(r["responses"] or 0),
                "nps_text": fmt_num(r["nps"], 0),
            }
        )
    if "all" not in seen:
        raise MissingData("table fct_nps has no rows for all plans and platforms")
    months = sorted({r["period_start"] for r in rows})
    options = sorted(seen.items(), key=lambda kv: (kv[0] != "all", kv[0].split(":")[0] == "platform", kv[1]))
    seg = segment_param("nps_segment", "Segment:", options, "all")
    tooltip = [
        alt.Tooltip("month_label:N", title="Month"),
        alt.Tooltip("segment_label:N", title="Segment"),
        alt.Tooltip("nps:Q", title="NPS", format=".1f"),
        alt.Tooltip("interval:N", title="95 % interval"),
        alt.Tooltip("responses:Q", title="Responses", format=","),
    ]
    x = alt.X("month_label:O", sort=alt.EncodingSortField("month"), title="Survey month", axis=alt.Axis(labelAngle=0))
    y_title = "NPS (−100 to +100; % promoters − % detractors)"
    band = (
        alt.Chart()
        .mark_rule(strokeWidth=10, opacity=0.35, color=SKY)
        .encode(
            x=x, y=alt.Y("low:Q", title=y_title, scale=alt.Scale(zero=True, nice=True)), y2="high:Q", tooltip=tooltip
        )
    )
    line = alt.Chart().mark_line(color=BLUE, strokeWidth=2).encode(x=x, y="nps:Q", tooltip=tooltip)
    points = alt.Chart().mark_point(filled=True, size=80, color=BLUE).encode(x=x, y="nps:Q", tooltip=tooltip)
    labels = (
        alt.Chart()
        .mark_text(dx=14, align="left", fontSize=12)
        .encode(x=x, y="nps:Q", text="nps_text:N", tooltip=tooltip)
    )
    zero = alt.Chart().mark_rule(color="#333", strokeDash=[3, 3]).encode(y=alt.datum(0))
    chart = (
        alt.layer(band, line, points, labels, zero, data=alt.Data(values=data))
        .add_params(seg)
        .transform_filter(alt.datum.segment == seg)
    )
    short = (
        f'<p class="limit">Only {len(months)} month(s) of survey responses ({esc(fmt_month(months[0]))} to '
        f"{esc(fmt_month(months[-1]))}): not yet a trend. Read each month's interval, not the slope.</p>"
        if len(months) < NPS_MIN_TREND_MONTHS
        else ""
    )
    latest = max((d for d in data if d["segment"] == "all"), key=lambda d: d["month"])
    caption = (
        f"Monthly NPS with its 95 % interval (shaded bar); the axis is zoomed to the data. Latest month "
        f"{esc(latest['month_label'])}: NPS {esc(latest['nps_text'])} ({esc(latest['interval'])}, "
        f"{esc(fmt_int(latest['responses']))} responses). Choose a plan or platform below the chart. "
        f"{esc(data_through_note(_month_note('Survey responses', ctx.through.surveys)))}"
    )
    return short + chart_figure("nps-trend", "Monthly NPS", finish(chart, height=300), caption)


# ----------------------------------------------------------------------------------------------- unit economics


def _flag(ok: Any) -> str:
    if ok is None:
        return ""
    return (
        ' <span class="ok" title="meets the target">✓ on target</span>'
        if ok
        else (' <span class="bad" title="misses the target">✗ off target</span>')
    )


def section_unit_economics(ctx: Context) -> str:
    rows = ctx.marts.rows(
        "fct_unit_economics",
        [
            "month_start",
            "channel",
            "is_blended",
            "new_paying_customers",
            "spend",
            "predicted_ltv",
            "cac",
            "cac_status",
            "ltv_to_cac",
            "payback_months",
            "ltv_cac_ok",
            "payback_ok",
            "reporting_currency",
        ],
        order_by="month_start, is_blended desc, channel",
    )
    currency = ctx.currency or rows[0]["reporting_currency"] or "(currency not recorded)"
    # The newest month where a channel with spend has both LTV and CAC; the newest month may have no spend yet.
    with_both = [
        r
        for r in rows
        if r["predicted_ltv"] is not None and r["cac"] is not None and r["spend"] is not None and r["spend"] > 0
    ]
    month = max(r["month_start"] for r in (with_both or rows))
    mrows = [r for r in rows if r["month_start"] == month]

    def state(r: dict[str, Any]) -> str:
        # The mart names the convention (fct_unit_economics.cac_status); only 'measured' has a CAC, a ratio and
        # a payback, so nothing else can show a value or a target flag.
        return str(r["cac_status"] or "unknown")

    data = []
    for r in mrows:
        st = state(r)
        common = {
            "channel": channel_label(r["channel"]),
            "order": 0 if r["is_blended"] else 1,
            "customers": int(r["new_paying_customers"] or 0),
            "spend_text": fmt_money(r["spend"], currency),
            "ratio_text": fmt_num(r["ltv_to_cac"], 1) if st == "measured" else "n/a",
            "payback_text": f"{fmt_num(r['payback_months'], 1)} months" if st == "measured" else "n/a",
        }
        if r["predicted_ltv"] is not None:
            data.append(
                {
                    **common,
                    "measure": "Predicted LTV",
                    "value": float(r["predicted_ltv"]),
                    "value_text": fmt_money(r["predicted_ltv"], currency),
                }
            )
        if st == "measured":
            data.append(
                {**common, "measure": "CAC", "value": float(r["cac"]), "value_text": fmt_money(r["cac"], currency)}
            )
        else:
            why = CAC_STATUS_TEXT.get(st, "CAC unknown")
            data.append({**common, "measure": "CAC", "value": 0.0, "value_text": why, "note": why})
    tooltip = [
        alt.Tooltip("channel:N", title="Channel"),
        alt.Tooltip("measure:N", title="Measure"),
        alt.Tooltip("value_text:N", title="Value"),
        alt.Tooltip("customers:Q", title="New paying customers", format=","),
        alt.Tooltip("spend_text:N", title="Marketing spend"),
        alt.Tooltip("ratio_text:N", title="LTV:CAC"),
        alt.Tooltip("payback_text:N", title="CAC payback"),
    ]
    channels = [
        channel_label(r["channel"]) for r in sorted(mrows, key=lambda r: (not r["is_blended"], str(r["channel"])))
    ]
    y = alt.Y("channel:N", sort=channels, title=None)
    top_value = max((d["value"] for d in data), default=0.0) or 1.0
    colour = alt.Color("measure:N", title=None, scale=alt.Scale(domain=["Predicted LTV", "CAC"], range=[GREEN, ORANGE]))
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            y=y,
            yOffset=alt.YOffset("measure:N", sort=["Predicted LTV", "CAC"]),
            color=colour,
            x=alt.X(
                "value:Q",
                title=f"{currency} per new paying customer",
                axis=alt.Axis(format=",.0f"),
                scale=alt.Scale(domain=[0, top_value * 1.12]),
            ),
            tooltip=tooltip,
        )
        .transform_filter("datum.note == null")
    )
    text = (
        alt.Chart()
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(
            y=y,
            yOffset=alt.YOffset("measure:N", sort=["Predicted LTV", "CAC"]),
            x="value:Q",
            text="value_text:N",
            tooltip=tooltip,
            color=alt.condition("datum.note != null", alt.value(GREY), alt.value("#1d232a")),
        )
    )
    chart = alt.layer(bars, text, data=alt.Data(values=data)).properties(height=48 * len(mrows))
    table = [
        '<div class="scroll"><table class="data"><thead><tr><th>channel</th><th class="num">new paying customers</th>'
        f'<th class="num">marketing spend ({esc(currency)})</th><th class="num">CAC ({esc(currency)})</th>'
        f'<th class="num">predicted LTV ({esc(currency)})</th><th>LTV:CAC</th><th>CAC payback</th></tr></thead><tbody>'
    ]
    for r in sorted(mrows, key=lambda r: (not r["is_blended"], str(r["channel"]))):
        st = state(r)
        if st == "measured":
            cac = fmt_num(r["cac"], 0)
            ratio = (
                f"{esc(fmt_num(r['ltv_to_cac'], 1))}{_flag(r['ltv_cac_ok'])}"
                if r["ltv_to_cac"] is not None
                else ('<span class="na">no LTV yet</span>')
            )
            payback = f"{esc(fmt_num(r['payback_months'], 1))} months{_flag(r['payback_ok'])}"
        else:
            cac = CAC_STATUS_TEXT.get(st, "unknown")
            ratio = payback = '<span class="na">not applicable</span>'
        table.append(
            f"<tr><td>{'<strong>' if r['is_blended'] else ''}{esc(channel_label(r['channel']))}"
            f'{"</strong>" if r["is_blended"] else ""}</td><td class="num">{esc(fmt_int(r["new_paying_customers"]))}'
            f'</td><td class="num">{esc(fmt_num(r["spend"], 0))}</td><td class="num">{esc(cac)}</td>'
            f'<td class="num">{esc(fmt_num(r["predicted_ltv"], 0))}</td><td>{ratio}</td><td>{payback}</td></tr>'
        )
    table.append("</tbody></table></div>")
    no_spend = [channel_label(r["channel"]) for r in mrows if state(r) == "no_spend"]
    net_credit = [channel_label(r["channel"]) for r in mrows if state(r) == "net_credit"]
    billing = _month_note("Billing", ctx.through.billing)
    spend = _month_note("marketing spend", ctx.through.marketing)
    limit = ""
    if ctx.through.product is not None and billing[1] is not None and billing[1] > ctx.through.product:
        limit = (
            f'<p class="limit">Finance data runs to {esc(fmt_date(billing[1]))}, product analytics only to '
            f"{esc(fmt_date(ctx.through.product))}: the funnel, retention and adoption sections stop there, this one "
            f"does not.</p>"
        )
    caption = (
        f"{esc(fmt_month(month))}, in {esc(currency)} per new paying customer. Predicted LTV = ARPA × gross margin ÷ "
        "monthly churn; CAC = marketing spend, net of credits and adjustments, ÷ new paying customers. "
        "A customer's channel is the one billing records, else the first UTM campaign that brought them (first "
        "touch: a later campaign does not count), else Unattributed. "
        + (
            f"{esc(', '.join(no_spend))} had no marketing spend: no CAC (not 0), and LTV:CAC and payback do not "
            "apply, so they carry no target mark. "
            if no_spend
            else ""
        )
        + (f"{esc(', '.join(net_credit))}: credits exceeded the month's spend, so no CAC. " if net_credit else "")
        + "A channel with spend and no new customers has no CAC either. Money is rounded for display only; the "
        "ratios come from unrounded values. " + "✓/✗: the LTV:CAC and payback targets of the "
        f"configuration, each on its own. {esc(data_through_note(billing, spend))}"
    )
    return (
        limit
        + chart_figure("clv-cac", f"Predicted LTV and CAC by channel, {fmt_month(month)}", finish(chart), caption)
        + "".join(table)
    )


# --------------------------------------------------------------------------------------------------- initiatives


def forest_plot(name: str, metric_type: str, rows: list[dict[str, Any]], ctx: Context) -> str:
    unit, scale = METRIC_SCALE.get(
        metric_type, ("NPS points", 1.0) if metric_type == "nps" else (f"{ctx.currency or ''} per user".strip(), 1.0)
    )
    data = []
    for r in rows:
        if r["effect"] is None or r["effect_ci_lower"] is None or r["effect_ci_upper"] is None:
            continue
        e, lo, hi = (scale * float(r[k]) for k in ("effect", "effect_ci_lower", "effect_ci_upper"))
        data.append(
            {
                "initiative": f"{r['initiative_key']} {r['summary'] or ''}".strip(),
                "metric": r["target_metric_label"],
                "effect": e,
                "low": lo,
                "high": hi,
                "effect_text": f"{e:+.2f} {unit}",
                "interval": f"{lo:+.2f} to {hi:+.2f}",
                "p": fmt_p(r["p_value"]),
                "status": label("outcome_status", r["outcome_status"]),
                "verdict": "significant" if r["is_significant"] else "not significant",
                "samples": f"{fmt_int(r['before_sample_size'])} before, {fmt_int(r['after_sample_size'])} after",
            }
        )
    if not data:
        return ""
    tooltip = [
        alt.Tooltip("initiative:N", title="Initiative"),
        alt.Tooltip("metric:N", title="Target metric"),
        alt.Tooltip("effect_text:N", title="Effect (after − before)"),
        alt.Tooltip("interval:N", title="95 % interval"),
        alt.Tooltip("p:N", title="p-value"),
        alt.Tooltip("verdict:N", title="Verdict"),
        alt.Tooltip("status:N", title="Status"),
        alt.Tooltip("samples:N", title="Sample sizes"),
    ]
    y = alt.Y("initiative:N", title=None)
    x_title = f"Change in the target metric after ship ({unit}), with 95 % interval"
    rule = (
        alt.Chart()
        .mark_rule(strokeWidth=3, color=BLUE)
        .encode(y=y, x=alt.X("low:Q", title=x_title), x2="high:Q", tooltip=tooltip)
    )
    point = (
        alt.Chart()
        .mark_point(size=120, filled=True, shape="square")
        .encode(
            y=y,
            x="effect:Q",
            tooltip=tooltip,
            color=alt.Color(
                "verdict:N", title=None, scale=alt.Scale(domain=["significant", "not significant"], range=[GREEN, GREY])
            ),
        )
    )
    text = alt.Chart().mark_text(dy=-14, fontSize=11).encode(y=y, x="effect:Q", text="effect_text:N", tooltip=tooltip)
    zero = alt.Chart().mark_rule(color="#333").encode(x=alt.datum(0))
    chart = alt.layer(rule, point, text, zero, data=alt.Data(values=data))
    caption = (
        f"Target metric in the {esc(rows[0]['window_days'])} days after ship minus the same number of days before, "
        f"in {esc(unit)}; the bar is the 95 % interval (crossing the line at 0: no measurable change). "
        f"{esc(data_through_note(('Product events', ctx.through.product)))}"
    )
    title = f"Initiative effects on {label('metric_type', metric_type)}"
    return chart_figure(name, title, finish(chart, height=60 * len(data)), caption)


def section_initiatives(ctx: Context) -> str:
    m = ctx.marts

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
        parts = []
        plotted = [r for r in rows if r["outcome_status"] in ("final", "provisional")]
        for metric_type in sorted({r["target_metric_type"] or "unknown" for r in plotted}):
            group = [r for r in plotted if (r["target_metric_type"] or "unknown") == metric_type]
            parts.append(forest_plot(f"initiative-outcomes-{metric_type}", metric_type, group, ctx))
        if not any(parts):
            parts.append(no_data_panel("initiative-outcomes", "no initiative has a final or provisional outcome yet"))
        parts.append(
            '<div class="scroll"><table class="data"><thead><tr><th>initiative</th><th>target metric</th>'
            '<th>shipped</th><th>status</th><th class="num">before (n)</th><th class="num">after (n)</th>'
            "<th>effect [95 % interval]</th><th>p</th><th>test</th></tr></thead><tbody>"
        )
        for r in rows:
            unit, scale = METRIC_SCALE.get(r["target_metric_type"], ("", 1.0))
            suffix = " pp" if unit == "percentage points" else ""
            ci = (
                f"{scale * float(r['effect']):+.2f}{suffix} [{scale * float(r['effect_ci_lower']):+.2f}, "
                f"{scale * float(r['effect_ci_upper']):+.2f}]"
                if None not in (r["effect"], r["effect_ci_lower"], r["effect_ci_upper"])
                else "–"
            )

            def val(v: Any, n: Any, scale: float = scale, suffix: str = suffix) -> str:
                return "–" if v is None else f"{scale * float(v):.1f}{' %' if suffix else ''} ({fmt_int(n)})"

            parts.append(
                f"<tr><td>{esc(r['initiative_key'])} {esc(r['summary'])}</td><td>{esc(r['target_metric_label'])}</td>"
                f"<td>{esc(fmt_date(r['ship_date']))}</td><td>{esc(label('outcome_status', r['outcome_status']))}</td>"
                f'<td class="num">{esc(val(r["before_value"], r["before_sample_size"]))}</td>'
                f'<td class="num">{esc(val(r["after_value"], r["after_sample_size"]))}</td>'
                f"<td>{esc(ci)}</td><td>{esc(fmt_p(r['p_value']))}</td>"
                f"<td>{esc(label('test_method', r['test_method']))}</td></tr>"
            )
        parts.append("</tbody></table></div>")
        return "".join(parts)

    def adoption() -> str:
        rows = m.rows(
            "fct_initiative_adoption_weekly",
            [
                "initiative_key",
                "week_index",
                "week_start",
                "active_users",
                "adopting_users",
                "adoption_share",
                "is_complete_week",
            ],
            order_by="initiative_key, week_index",
        )
        data = [
            {
                "initiative": r["initiative_key"],
                "week": int(r["week_index"]),
                "week_label": f"week {int(r['week_index'])} after ship (from {fmt_date(r['week_start'])})",
                "share": float(r["adoption_share"]),
                "share_text": fmt_pct(r["adoption_share"]),
                "users": f"{fmt_int(r['adopting_users'])} of {fmt_int(r['active_users'])} active users",
                "complete": "complete week" if r["is_complete_week"] else "week still running",
            }
            for r in rows
            if r["adoption_share"] is not None
        ]
        if not data:
            raise MissingData("table fct_initiative_adoption_weekly has no week with an adoption share")
        tooltip = [
            alt.Tooltip("initiative:N", title="Initiative"),
            alt.Tooltip("week_label:N", title="Week"),
            alt.Tooltip("share_text:N", title="Adoption"),
            alt.Tooltip("users:N", title="Users"),
            alt.Tooltip("complete:N", title="Week"),
        ]
        zoom = alt.selection_interval(bind="scales", encodings=["x"])
        x = alt.X("week:Q", title="Weeks since ship (scroll to zoom, drag to pan)", axis=alt.Axis(tickMinStep=1))
        y = alt.Y("share:Q", title="Active users that week who used the feature (%)", axis=alt.Axis(format="%"))
        colour = alt.Color("initiative:N", title="Initiative")
        lines = alt.Chart().mark_line(strokeWidth=2).encode(x=x, y=y, color=colour, tooltip=tooltip)
        points = (
            alt.Chart()
            .mark_point(size=60, filled=True)
            .encode(
                x=x,
                y=y,
                color=colour,
                tooltip=tooltip,
                opacity=alt.condition("datum.complete == 'complete week'", alt.value(1.0), alt.value(0.35)),
            )
        )
        chart = alt.layer(lines, points, data=alt.Data(values=data)).add_params(zoom)
        caption = (
            "Share of each week's active users who used the initiative's adoption events (config: initiatives), by "
            "week since the ship date. Faded points: the week is still running. "
            f"{esc(data_through_note(('Product events', ctx.through.product)))}"
        )
        return chart_figure("initiative-adoption", "Adoption after ship", finish(chart, height=260), caption)

    def delivery() -> str:
        rows = m.rows(
            "fct_initiative_delivery",
            ["initiative_key", "summary", "due_date", "ship_date", "is_shipped", "slip_days", "status_category"],
            order_by="initiative_key",
        )
        parts = []
        shipped = [r for r in rows if r["slip_days"] is not None]
        if shipped:
            data = [
                {
                    "initiative": f"{r['initiative_key']} {r['summary'] or ''}".strip(),
                    "slip": int(r["slip_days"]),
                    "verdict": "late" if r["slip_days"] > 0 else "on time or early",
                    "slip_text": (
                        f"{int(r['slip_days'])} days late"
                        if r["slip_days"] > 0
                        else "on the due date"
                        if r["slip_days"] == 0
                        else f"{-int(r['slip_days'])} days early"
                    ),
                    "due": fmt_date(r["due_date"]),
                    "shipped": fmt_date(r["ship_date"]),
                }
                for r in shipped
            ]
            tooltip = [
                alt.Tooltip("initiative:N", title="Initiative"),
                alt.Tooltip("due:N", title="Due"),
                alt.Tooltip("shipped:N", title="Shipped"),
                alt.Tooltip("slip_text:N", title="Slip"),
            ]
            y = alt.Y("initiative:N", title=None)
            bars = (
                alt.Chart()
                .mark_bar(height={"band": 0.6})
                .encode(
                    y=y,
                    x=alt.X("slip:Q", title="Ship date minus due date, in days (positive: late; negative: early)"),
                    color=alt.Color(
                        "verdict:N",
                        title=None,
                        scale=alt.Scale(domain=["late", "on time or early"], range=[VERMILION, GREEN]),
                    ),
                    tooltip=tooltip,
                )
            )
            text = (
                alt.Chart()
                .mark_text(fontSize=11, dx=4, align="left")
                .encode(y=y, x=alt.X("slip:Q"), text="slip_text:N", tooltip=tooltip)
            )
            zero = alt.Chart().mark_rule(color="#333").encode(x=alt.datum(0))
            chart = alt.layer(bars, text, zero, data=alt.Data(values=data))
            caption = (
                "Days between each shipped initiative's due date and its ship date (first move to done in the Jira "
                f"changelog). {esc(data_through_note(('Jira: latest ship', ctx.through.delivery)))}"
            )
            parts.append(chart_figure("delivery-slip", "Delivery slip", finish(chart, height=44 * len(data)), caption))
        pending = [r for r in rows if r["slip_days"] is None]
        if pending:

            def why(r: dict[str, Any]) -> str:
                if r["is_shipped"]:
                    return f"shipped {fmt_date(r['ship_date'])}, no due date"
                return f"{label('status_category', r['status_category']).lower()}, due {fmt_date(r['due_date'])}"

            items = "; ".join(f"{esc(r['initiative_key'])} {esc(r['summary'])} ({esc(why(r))})" for r in pending)
            parts.append(f'<p class="note">No slip yet: {items}</p>')
        return "".join(parts)

    return (
        "<h3>Outcomes</h3>"
        + safe("initiative-outcomes", outcomes)
        + "<h3>Adoption after ship</h3>"
        + safe("initiative-adoption", adoption)
        + "<h3>Delivery slip</h3>"
        + safe("delivery-slip", delivery)
    )


# ----------------------------------------------------------------------------------------------------- portfolio

KANO_MIX_ORDER = ("must_be", "one_dimensional", "attractive", "indifferent_or_other")
KANO_SEGMENTS = (  # the mix's categories with indifferent_or_other split by what it holds
    ("must_be", LABELS["kano_mix"]["must_be"], BLUE),
    ("one_dimensional", LABELS["kano_mix"]["one_dimensional"], GREEN),
    ("attractive", LABELS["kano_mix"]["attractive"], ORANGE),
    ("indifferent", LABELS["kano_mix_detail"]["indifferent"], GREY),
    ("reverse_or_questionable", LABELS["kano_mix_detail"]["reverse_or_questionable"], VERMILION),
    ("unclassified", LABELS["kano_mix_detail"]["unclassified"], "#d9dde1"),
    ("indifferent_or_other", LABELS["kano_mix"]["indifferent_or_other"], GREY),
)


def _kano_detail(category: Any) -> str:
    return {
        "M": "must_be",
        "O": "one_dimensional",
        "A": "attractive",
        "I": "indifferent",
        "R": "reverse_or_questionable",
        "Q": "reverse_or_questionable",
    }.get(category, "unclassified")


def section_portfolio(ctx: Context) -> str:
    m = ctx.marts

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
        parts = []
        if ranked:
            shown = ranked[:PORTFOLIO_CHART_MAX_ITEMS]
            data = [
                {
                    "item": f"{r['rice_rank']}. {r['item_key']} {r['title'] or ''}".strip(),
                    "rank": int(r["rice_rank"]),
                    "score": float(r["rice_score"]),
                    "score_text": fmt_num(r["rice_score"], 0),
                    "status": label("item_status", r["status"]),
                    "reach": f"{fmt_num(r['reach'], 0)} users/quarter ({source_label(r['reach_source'])})",
                    "impact": f"{fmt_num(r['impact'], 2)} ({source_label(r['impact_source'])})",
                    "confidence": f"{fmt_pct(r['confidence'], 0)} ({source_label(r['confidence_source'])})",
                    "effort": f"{fmt_num(r['effort_person_months'], 1)} person-months "
                    f"({source_label(r['effort_source'])})",
                    "kano": label("kano_category", r["kano_category"]) if r["kano_category"] else "not surveyed",
                }
                for r in shown
            ]
            tooltip = [
                alt.Tooltip("item:N", title="Item"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("score_text:N", title="RICE"),
                alt.Tooltip("reach:N", title="Reach"),
                alt.Tooltip("impact:N", title="Impact"),
                alt.Tooltip("confidence:N", title="Confidence"),
                alt.Tooltip("effort:N", title="Effort"),
                alt.Tooltip("kano:N", title="Kano"),
            ]
            y = alt.Y("item:N", sort=alt.EncodingSortField("rank"), title=None)
            statuses = [label("item_status", s) for s in LABELS["item_status"]]
            bars = (
                alt.Chart()
                .mark_bar(height={"band": 0.7})
                .encode(
                    y=y,
                    x=alt.X(
                        "score:Q",
                        title="RICE score: reach (users/quarter) × impact × confidence ÷ effort (person-months)",
                    ),
                    color=alt.Color(
                        "status:N",
                        title="Status",
                        scale=alt.Scale(domain=statuses, range=[GREY, BLUE, PURPLE, "#c5ccd3"]),
                    ),
                    tooltip=tooltip,
                )
            )
            text = (
                alt.Chart()
                .mark_text(align="left", dx=4, fontSize=11)
                .encode(y=y, x="score:Q", text="score_text:N", tooltip=tooltip)
            )
            chart = alt.layer(bars, text, data=alt.Data(values=data))
            caption = (
                "Items ranked by RICE; hover a bar for each input and where it came from. Shipped items are scored "
                "on their measured adoption and effect."
                + (f" Showing the top {len(shown)} of {len(ranked)}." if len(ranked) > len(shown) else "")
            )
            parts.append(
                chart_figure(
                    "portfolio-rice",
                    "RICE score of the ranked portfolio",
                    finish(chart, height=30 * len(shown)),
                    caption,
                )
            )

        def src(v: Any, s: Any, digits: int = 2) -> str:
            return f'{esc(fmt_num(v, digits))}<br><span class="src">{esc(source_label(s))}</span>'

        parts.append(
            '<div class="scroll"><table class="data"><thead><tr><th>rank</th><th>item</th><th>status</th>'
            '<th class="num">reach (users/quarter)</th><th class="num">impact</th><th class="num">confidence</th>'
            '<th class="num">effort (person-months)</th><th class="num">RICE</th><th>Kano</th>'
            '<th class="num">revenue-weighted demand</th><th class="num">requesting accounts</th></tr></thead><tbody>'
        )
        for r in ranked:
            kano = r["kano_category"]
            parts.append(
                f"<tr><td>{esc(r['rice_rank'])}</td><td>{esc(r['item_key'])} {esc(r['title'])}"
                f'<br><span class="src">{esc(label("item_type", r["item_type"]))}</span></td>'
                f"<td>{esc(label('item_status', r['status']))}</td>"
                f'<td class="num">{src(r["reach"], r["reach_source"], 0)}</td>'
                f'<td class="num">{src(r["impact"], r["impact_source"])}</td>'
                f'<td class="num">{src(r["confidence"], r["confidence_source"])}</td>'
                f'<td class="num">{src(r["effort_person_months"], r["effort_source"], 1)}</td>'
                f'<td class="num">{esc(fmt_num(r["rice_score"], 0))}</td>'
                f"<td>{esc(label('kano_category', kano) if kano else 'not surveyed')}</td>"
                f'<td class="num">{esc(fmt_num(r["revenue_weighted_demand"], 0))}</td>'
                f'<td class="num">{esc(fmt_int(r["requesting_accounts"]))}</td></tr>'
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
        mix = m.rows(
            "fct_portfolio_kano_mix",
            ["kano_category", "planned_effort_person_months", "effort_share", "target_share", "share_gap"],
        )
        unknown = sorted({str(r["kano_category"]) for r in mix} - set(KANO_MIX_ORDER))
        if unknown:
            raise ReportError(f"fct_portfolio_kano_mix.kano_category: unexpected value(s) {', '.join(unknown)}")
        by_cat = {r["kano_category"]: r for r in mix}
        total = sum(float(r["planned_effort_person_months"] or 0) for r in mix)
        # What the mart lumps as indifferent_or_other, split from the scores it was computed from.
        items = _scores_for_mix(m)
        other_effort = float(by_cat.get("indifferent_or_other", {}).get("planned_effort_person_months") or 0)
        split: dict[str, list[dict[str, Any]]] = defaultdict(list)
        shipped: list[dict[str, Any]] = []
        unestimated: list[dict[str, Any]] = []
        if items is not None:
            for r in items:
                if r["status"] == "shipped":
                    shipped.append(r)
                elif r["effort_person_months"] is None:
                    unestimated.append(r)
                else:
                    split[_kano_detail(r["kano_category"])].append(r)
            detail_effort = sum(
                float(r["effort_person_months"])
                for k in ("indifferent", "reverse_or_questionable", "unclassified")
                for r in split[k]
            )
            if abs(detail_effort - other_effort) > 1e-6:
                items = None  # the scores do not reconcile with the mix: show the mart's lump as it is
        data = []
        for key, text_label, _colour in KANO_SEGMENTS:
            if key in ("indifferent", "reverse_or_questionable", "unclassified"):
                if items is None:
                    continue
                effort = sum(float(r["effort_person_months"]) for r in split[key])
                keys = ", ".join(r["item_key"] for r in split[key])
                target = None
            elif key == "indifferent_or_other" and items is not None:
                continue
            else:
                r = by_cat.get(key)
                effort = float(r["planned_effort_person_months"] or 0) if r else 0.0
                keys = ", ".join(x["item_key"] for x in split.get(key, []))
                target = None if r is None or r["target_share"] is None else float(r["target_share"])
            share = effort / total if total else 0.0
            if effort > 0:
                data.append(
                    {
                        "bar": "Planned effort",
                        "segment": text_label,
                        "share": share,
                        "share_text": fmt_pct(share, 0),
                        "detail": f"{fmt_num(effort, 1)} person-months" + (f" ({keys})" if keys else ""),
                        "order": [k for k, *_ in KANO_SEGMENTS].index(key),
                    }
                )
            if target:
                data.append(
                    {
                        "bar": "Target mix",
                        "segment": text_label,
                        "share": target,
                        "share_text": fmt_pct(target, 0),
                        "detail": "configured target share",
                        "order": [k for k, *_ in KANO_SEGMENTS].index(key),
                    }
                )
        if not data:
            raise MissingData("table fct_portfolio_kano_mix has no planned effort and no target share")
        tooltip = [
            alt.Tooltip("bar:N", title="Bar"),
            alt.Tooltip("segment:N", title="Kano category"),
            alt.Tooltip("share_text:N", title="Share"),
            alt.Tooltip("detail:N", title="Detail"),
        ]
        domain = [t for k, t, _ in KANO_SEGMENTS if items is None or k != "indifferent_or_other"]
        colours = [c for k, _, c in KANO_SEGMENTS if items is None or k != "indifferent_or_other"]
        y = alt.Y("bar:N", title=None, sort=["Planned effort", "Target mix"])
        bars = (
            alt.Chart()
            .mark_bar(height={"band": 0.7})
            .encode(
                y=y,
                x=alt.X(
                    "share:Q",
                    stack="zero",
                    title="Share of effort (person-months)",
                    axis=alt.Axis(format="%", tickCount=10),
                    scale=alt.Scale(domain=[0, 1]),
                ),
                color=alt.Color("segment:N", title="Kano category", scale=alt.Scale(domain=domain, range=colours)),
                order=alt.Order("order:Q"),
                tooltip=tooltip,
            )
        )
        labels = (
            alt.Chart()
            .mark_text(color="white", fontSize=12, fontWeight="bold")
            .encode(y=y, x=alt.X("mid:Q"), text="share_text:N", tooltip=tooltip)
            .transform_filter("datum.share >= 0.06")
        )
        chart = (
            alt.layer(bars, labels, data=alt.Data(values=data))
            .transform_window(cum="sum(share)", groupby=["bar"], sort=[alt.SortField("order")])
            .transform_calculate(mid="datum.cum - datum.share / 2")
        )
        notes = [
            "Effort of items not yet shipped, by the Kano category of the feature they build, against the "
            "configured target mix."
        ]
        if shipped:
            pm = sum(float(r["effort_person_months"] or 0) for r in shipped)
            notes.append(
                f"Shipped items are left out ({', '.join(r['item_key'] for r in shipped)}: "
                f"{fmt_num(pm, 1)} person-months)."
            )
        if unestimated:
            notes.append(
                f"Items without an effort estimate are left out ({', '.join(r['item_key'] for r in unestimated)})."
            )
        if items is not None and split["unclassified"]:
            notes.append("“Not classified”: ideas with no Kano survey answers yet; survey them before judging the mix.")
        if items is None:
            notes.append("“Indifferent / other” holds indifferent, reverse, questionable and unsurveyed items.")
        return chart_figure("kano-mix", "Kano mix of planned effort", finish(chart, height=110), esc(" ".join(notes)))

    return (
        "<h3>Ranked portfolio</h3>"
        + safe("portfolio", scores)
        + "<h3>Kano mix of planned effort</h3>"
        + safe("kano-mix", kano_mix)
    )


def _scores_for_mix(m: Marts) -> list[dict[str, Any]] | None:
    """The scored items behind the Kano mix, or None when fct_portfolio_scores cannot say (the mix still shows)."""
    try:
        return m.rows(
            "fct_portfolio_scores", ["item_key", "status", "effort_person_months", "kano_category"], order_by="item_key"
        )
    except MissingData:
        return None


def section_restatements(restatements: dict[str, Any] | None) -> str:
    """Closed-period headline numbers this release changed beyond their tolerance (publish/restatements.py): one
    row each, with the old and new value and the landed files behind it; an honest sentence when there are none."""
    if not restatements:
        return '<p class="muted">This report was rendered outside a release: no earlier release to compare with.</p>'
    status, previous = restatements.get("status"), restatements.get("compared_with")
    if status == "first_release":
        return '<p class="muted">The first release: there is no earlier release to compare with.</p>'
    if status == "previous_without_headline":
        return (
            f'<p class="muted">Release {esc(previous)} predates the headline numbers: nothing to compare with. '
            "The next release is compared with this one.</p>"
        )
    if status == "no_headline":
        return '<p class="muted">This release has no headline numbers (fct_headline_metrics was not published).</p>'
    changes = restatements.get("changes") or []
    if not changes:
        return (
            f'<p class="restatements-none">None since release {esc(previous)}: '
            f"{fmt_int(restatements.get('closed_values_compared') or 0)} closed-period values compared, "
            "none moved beyond its tolerance.</p>"
        )
    rows = "".join(
        "<tr>"
        f"<td>{esc(describe_keys(c))}</td>"
        f"<td>{esc(format_value(c['old'], c['unit']))}</td>"
        f"<td>{esc(format_value(c['new'], c['unit']))}</td>"
        f"<td>{esc(format_delta(c['delta'], c['unit']) or '–')}</td>"
        f"<td>{esc(c['cause'])}</td>"
        "</tr>"
        for c in changes
    )
    return (
        f"<p>{fmt_int(len(changes))} closed-period value(s) changed since release {esc(previous)} beyond the "
        "tolerances of <code>restatements:</code> in the configuration. A period is closed once every source row "
        "that can change it is older than its sources' newest day.</p>"
        '<table class="restatements"><thead><tr><th>Number</th><th>Was</th><th>Now</th><th>Change</th>'
        f"<th>Landed files that explain it</th></tr></thead><tbody>{rows}</tbody></table>"
    )
