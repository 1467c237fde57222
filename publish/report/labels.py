"""The one table of human labels for every enum value report.html shows, and the number/date formats.

Marts keep machine values (``in_delivery``, ``measured_effect:not_significant``); a reader sees only the labels
below. A value missing from the table is shown de-snaked ("in delivery") rather than raw, and
tests/unit/test_report.py fails when a value the marts' contracts accept has no label here.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

LABELS: dict[str, dict[str, str]] = {
    "entry_mode": {
        "first_entry": "first entry only (Mixpanel default)",
        "any_entry": "any entry, deepest path (Amplitude)",
    },
    "period_grain": {"day": "day", "week": "week", "month": "month"},
    "segment": {"(all)": "All", "(none)": "Not recorded"},
    "kano_mix": {
        "must_be": "Must-be",
        "one_dimensional": "Performance",
        "attractive": "Attractive",
        "indifferent_or_other": "Indifferent / other",
    },
    # Breakdown of the mart's indifferent_or_other category, from the scores (see the Kano mix section).
    "kano_mix_detail": {
        "indifferent": "Indifferent",
        "reverse_or_questionable": "Reverse / questionable",
        "unclassified": "Not classified (no Kano survey)",
    },
    "kano_category": {
        "A": "Attractive",
        "O": "Performance",
        "M": "Must-be",
        "I": "Indifferent",
        "R": "Reverse",
        "Q": "Questionable",
    },
    "item_status": {
        "shipped": "Shipped",
        "in_delivery": "In delivery",
        "discovery": "In discovery",
        "parked": "Parked",
    },
    "item_type": {"initiative": "Initiative", "idea": "Idea"},
    "outcome_status": {
        "final": "Final (window complete)",
        "provisional": "Provisional (window still open)",
        "not_shipped": "Not shipped",
        "insufficient_data": "Too few users to tell",
    },
    "metric_type": {
        "funnel_step": "funnel conversion",
        "retention": "retention",
        "nps": "NPS",
        "revenue": "revenue per user",
    },
    "test_method": {
        "two_proportion_z": "two-proportion z-test",
        "nps_difference_z": "z-test on the NPS difference",
        "welch_t": "Welch's t-test",
    },
    "status_category": {"new": "To do", "indeterminate": "In progress", "done": "Done"},
    "ship_date_rule": {
        "initiative_done": "initiative moved to done",
        "last_child_done": "last child issue done",
    },
    "effort_basis": {"time_tracking": "Jira time tracking", "story_points": "Jira story points"},
    # The *_source columns of fct_portfolio_scores; prefixed values ("kano:A") are split by source_label().
    "score_source": {
        "measured_adoption": "measured adoption after ship",
        "segment_size": "size of the target segment",
        "jpd_field": "typed into Jira Product Discovery",
        "jpd_field:snapped_to_scale": "typed into Jira Product Discovery, rounded to the scale",
        "jpd_effort": "typed into Jira Product Discovery",
        "measured_effect": "measured effect after ship",
        "measured_effect:not_significant": "measured effect, not significant",
        "kano": "Kano survey",
        "feedback_volume": "enough feature requests / Kano answers",
        "typed_in": "typed in, no evidence yet",
        "jira_time_tracking": "Jira time tracking",
        "jira_story_points": "Jira story points",
    },
    "channel": {"blended": "All channels (blended)"},
}


def humanise(value: str) -> str:
    """The fallback for a value with no label: words instead of snake_case, never the raw token."""
    return value.replace("_", " ").replace(":", ": ").strip()


def label(domain: str, value: Any) -> str:
    if value is None:
        return "–"
    text = str(value)
    return LABELS[domain].get(text) or humanise(text)


def source_label(value: Any) -> str:
    """A fct_portfolio_scores *_source: 'kano:A' -> 'Kano survey: Attractive', 'segment_size:report_created' ->
    'size of the target segment (report_created users)'."""
    if value is None:
        return "–"
    text = str(value)
    if text in LABELS["score_source"]:
        return LABELS["score_source"][text]
    prefix, _, rest = text.partition(":")
    if prefix == "kano" and rest:
        return f"{LABELS['score_source']['kano']}: {label('kano_category', rest)}"
    if prefix == "segment_size" and rest:
        return f"{LABELS['score_source']['segment_size']} ({rest} users)"
    return humanise(text)


def channel_label(value: Any) -> str:
    if value is None:
        return "–"
    return LABELS["channel"].get(str(value)) or humanise(str(value)).capitalize()


# --------------------------------------------------------------------------------------------------- formatting


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_int(v: Any) -> str:
    return "–" if is_missing(v) else f"{int(v):,}"


def fmt_num(v: Any, digits: int = 1) -> str:
    return "–" if is_missing(v) else f"{float(v):,.{digits}f}"


def fmt_money(v: Any, currency: str, digits: int = 0) -> str:
    return "–" if is_missing(v) else f"{float(v):,.{digits}f} {currency}"


def fmt_p(v: Any) -> str:
    """A p-value: three decimals, and '< 0.001' rather than a misleading 0.000."""
    if is_missing(v):
        return "–"
    return "< 0.001" if float(v) < 0.001 else f"{float(v):.3f}"


def fmt_pct(v: Any, digits: int = 1) -> str:
    return "–" if is_missing(v) else f"{100 * float(v):.{digits}f} %"


def fmt_date(v: Any) -> str:
    """A day as '5 Feb 2024' (unambiguous in every locale)."""
    if v is None:
        return "–"
    if isinstance(v, datetime):
        v = v.date()
    return f"{v.day} {v:%b %Y}" if isinstance(v, date) else str(v)


def fmt_month(v: Any) -> str:
    """A month as 'Jan 2024': months are periods, not the first day of them."""
    return "–" if v is None else f"{v:%b %Y}"


def fmt_period(v: Any, grain: str) -> str:
    if v is None:
        return "–"
    if grain == "month":
        return fmt_month(v)
    if grain == "week":
        return f"week of {fmt_date(v)}"
    return fmt_date(v)
