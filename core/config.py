"""The one configuration file: what is product-specific. Validated on load with errors naming the exact key.

Values from here reach SQL only as dbt vars rendered into string literals, so every name that can end up
in SQL (event names, property keys, funnel names) is checked against a whitelist pattern here.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from core.settings import get_config_path

# Names that may be rendered into SQL literals: no quotes, backslashes, semicolons or control characters.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$ .:/-]{0,99}$")
SAFE_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SAFE_VALUE = re.compile(r"^[^'\"\\;\x00-\x1f]{0,200}$")

FILTER_OPERATORS = ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "is_set", "is_not_set")
ENTRY_MODES = ("first_entry", "any_entry")
PERIODS = ("day", "week", "month")
# Breakdowns on a column of the events contract; anything else is read from the step-1 event's properties.
EVENT_COLUMNS_FOR_BREAKDOWN = ("source", "platform", "country")


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the key."""


@dataclass(frozen=True)
class PropertyFilter:
    property: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class FunnelStep:
    event: str
    filters: tuple[PropertyFilter, ...] = ()


@dataclass(frozen=True)
class Funnel:
    name: str
    steps: tuple[FunnelStep, ...]
    entry_mode: str = "first_entry"
    conversion_window_hours: float = 24.0 * 7
    period: str = "month"
    breakdown_property: str | None = None


@dataclass(frozen=True)
class Retention:
    name: str
    start_event: str
    return_event: str
    period: str = "day"
    periods: tuple[int, ...] = (1, 7, 14, 30)


@dataclass(frozen=True)
class AnalyticsConfig:
    mixpanel_project_timezone: str = "UTC"
    session_inactivity_minutes: int = 30
    split_sessions_on_vendor_session_change: bool = True
    known_events: tuple[str, ...] = ()


# Logical Jira fields whose custom-field id differs per instance: candidate names (or customfield_NNNNN ids),
# resolved through the /rest/api/3/field catalog when one is landed, else matched by name in the export.
DEFAULT_JIRA_CUSTOM_FIELDS: dict[str, tuple[str, ...]] = {
    "story_points": ("Story Points", "Story point estimate"),
    "sprint": ("Sprint",),
    "epic_link": ("Epic Link",),
    "reach": ("Reach",),
    "impact": ("Impact",),
    "confidence": ("Confidence",),
    "effort": ("Effort",),
}
STATUS_CATEGORIES = ("new", "indeterminate", "done")
TARGET_METRIC_TYPES = ("funnel_step", "retention", "nps", "revenue")


@dataclass(frozen=True)
class JiraConfig:
    csv_timezone: str = "UTC"  # the exporting user's timezone: Jira CSV dates carry no offset
    csv_locales: tuple[str, ...] = ("en", "fr", "de", "es")
    custom_fields: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_JIRA_CUSTOM_FIELDS))
    status_category_overrides: dict[str, str] = field(default_factory=dict)  # status name -> category key
    story_points_per_person_month: float = 10.0  # effort from points when time tracking is empty


# Per target metric type: the keys it requires (besides `type`). funnel_step: a configured funnel and a step
# index >= 2 in it; retention: a configured retention analysis and a period number >= 1 of its grain.
TARGET_METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "funnel_step": ("funnel", "step"),
    "retention": ("retention", "period"),
    "nps": (),
    "revenue": (),
}
MAX_OUTCOME_WINDOW_DAYS = 365


@dataclass(frozen=True)
class Initiative:
    key: str  # Jira issue key of the initiative (or epic)
    adoption_events: tuple[str, ...] = ()
    target_metric: dict[str, Any] = field(default_factory=dict)
    window_days: int | None = None  # before/after window length; None = outcomes.window_days


@dataclass(frozen=True)
class OutcomesConfig:
    window_days: int = 21  # equal windows [ship - W, ship) and [ship, ship + W) for every initiative's target metric
    min_sample_size: int = 30  # a side with fewer units makes the outcome 'insufficient_data'


@dataclass(frozen=True)
class KanoFeature:
    feature: str  # the feature's name in marts
    functional_question: str  # the question text (wide layout column header, or long layout question value)
    dysfunctional_question: str
    importance_question: str | None = None
    initiative: str | None = None  # Jira key of the initiative the feature belongs to


@dataclass(frozen=True)
class FeedbackConfig:
    kano_features: tuple[KanoFeature, ...] = ()
    nps_survey_names: tuple[str, ...] = ()  # survey names (e.g. Typeform form titles) that hold NPS; else detected


@dataclass(frozen=True)
class FinanceConfig:
    reporting_currency: str = "USD"
    # Units of reporting currency per 1 unit of each currency. Decimal strings: money never goes through a float.
    fx_rates: dict[str, str] = field(default_factory=dict)
    gross_margin: str = "0.80"  # share of revenue kept after cost of service
    # Ad platform / plain-CSV channel names -> the channel vocabulary CAC is reported in.
    channel_map: dict[str, str] = field(default_factory=dict)
    min_monthly_churn: str = "0.005"  # churn floor, so predicted LTV = ARPA x margin / churn stays finite
    ltv_cac_target: str = "3"
    payback_months_target: str = "12"


IMPACT_SCALE = (0.25, 0.5, 1.0, 2.0, 3.0)  # RICE impact: minimal, low, medium, high, massive
KANO_CATEGORIES = ("A", "O", "M", "I", "R", "Q")
KANO_MIX_CATEGORIES = ("must_be", "one_dimensional", "attractive", "indifferent_or_other")


@dataclass(frozen=True)
class PortfolioConfig:
    """RICE scoring rules (portfolio/scoring.py)."""

    # (minimum relative lift of the target metric, impact), highest lift first; below the last: 0.25.
    impact_lift_thresholds: tuple[tuple[float, float], ...] = ((0.20, 3.0), (0.10, 2.0), (0.05, 1.0), (0.02, 0.5))
    # Impact of an unshipped item without a JPD impact, by its feature's dominant Kano category.
    kano_impact: dict[str, float] = field(
        default_factory=lambda: {"M": 2.0, "O": 2.0, "A": 1.0, "I": 0.25, "R": 0.25, "Q": 0.25}
    )
    min_sample_size: int = 100  # users on each side of a measured effect for confidence 1.0
    min_feature_requests: int = 10  # feature requests that back an estimate (confidence 0.8)
    min_kano_respondents: int = 20  # Kano respondents that back an estimate (confidence 0.8)
    target_kano_mix: dict[str, float] = field(
        default_factory=lambda: {
            "must_be": 0.4,
            "one_dimensional": 0.4,
            "attractive": 0.2,
            "indifferent_or_other": 0.0,
        }
    )


@dataclass(frozen=True)
class PipelineConfig:
    path: Path
    analytics: AnalyticsConfig
    funnels: tuple[Funnel, ...] = ()
    retention: tuple[Retention, ...] = ()
    jira: JiraConfig = field(default_factory=JiraConfig)
    initiatives: tuple[Initiative, ...] = ()
    outcomes: OutcomesConfig = field(default_factory=OutcomesConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    finance: FinanceConfig = field(default_factory=FinanceConfig)
    portfolio: PortfolioConfig = field(default_factory=PortfolioConfig)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def dbt_vars(self) -> dict[str, Any]:
        """The configuration as dbt vars: the only way it reaches SQL."""
        return {
            "session_inactivity_minutes": self.analytics.session_inactivity_minutes,
            "split_sessions_on_vendor_session_change": self.analytics.split_sessions_on_vendor_session_change,
            "known_events": list(self.analytics.known_events),
            "funnels": [_funnel_var(f) for f in self.funnels],
            "retention": [asdict(r) | {"periods": list(r.periods)} for r in self.retention],
            "jira_status_category_overrides": dict(self.jira.status_category_overrides),
            "jira_story_points_per_person_month": self.jira.story_points_per_person_month,
            "initiatives": [
                {
                    "key": i.key,
                    "adoption_events": list(i.adoption_events),
                    "target_metric": dict(i.target_metric),
                    "window_days": i.window_days or self.outcomes.window_days,
                }
                for i in self.initiatives
            ],
            "outcome_min_sample_size": self.outcomes.min_sample_size,
            "kano_features": [{"feature": k.feature, "initiative": k.initiative} for k in self.feedback.kano_features],
            "reporting_currency": self.finance.reporting_currency,
            "fx_rates": dict(self.finance.fx_rates),
            "gross_margin": self.finance.gross_margin,
            "channel_map": dict(self.finance.channel_map),
            "min_monthly_churn": self.finance.min_monthly_churn,
            "ltv_cac_target": self.finance.ltv_cac_target,
            "payback_months_target": self.finance.payback_months_target,
        }


def _funnel_var(funnel: Funnel) -> dict[str, Any]:
    return {
        "name": funnel.name,
        "entry_mode": funnel.entry_mode,
        "conversion_window_seconds": round(funnel.conversion_window_hours * 3600),
        "period": funnel.period,
        "breakdown_property": funnel.breakdown_property,
        "steps": [{"event": s.event, "filters": [asdict(f) for f in s.filters]} for s in funnel.steps],
    }


class _Reader:
    """Walks the raw YAML, collecting every problem with its key path before failing once."""

    def __init__(self, path: Path):
        self.path = path
        self.errors: list[str] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append(f"{key}: {message}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(key, f"expected a mapping, got {type(value).__name__}")
            return {}
        return value

    def sequence(self, value: Any, key: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(key, f"expected a list, got {type(value).__name__}")
            return []
        return value

    def unknown_keys(self, value: dict[str, Any], allowed: set[str], key: str) -> None:
        for extra in sorted(set(value) - allowed):
            self.error(f"{key}.{extra}" if key else extra, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def name(self, value: Any, key: str, pattern: re.Pattern[str] = SAFE_NAME) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            self.error(key, f"{value!r} is not a valid name (pattern {pattern.pattern})")
            return ""
        return value

    def number(self, value: Any, key: str, *, minimum: float, integer: bool = False) -> Any:
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or value < minimum:
            kind = "an integer" if integer else "a number"
            self.error(key, f"expected {kind} >= {minimum}, got {value!r}")
            return minimum
        return value

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            self.error(key, f"{value!r} is not one of {', '.join(choices)}")
            return choices[0]
        return value


def _read_filter(r: _Reader, raw: Any, key: str) -> PropertyFilter:
    raw = r.mapping(raw, key)
    r.unknown_keys(raw, {"property", "op", "value"}, key)
    prop = r.name(raw.get("property"), f"{key}.property")
    op = r.choice(raw.get("op", "eq"), f"{key}.op", FILTER_OPERATORS)
    value = raw.get("value")
    if op in ("is_set", "is_not_set"):
        value = None
    elif op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            r.error(f"{key}.value", f"op {op} needs a non-empty list")
            value = []
        value = tuple(_read_scalar(r, v, f"{key}.value[{i}]") for i, v in enumerate(value))
    else:
        value = _read_scalar(r, value, f"{key}.value")
    return PropertyFilter(property=prop, op=op, value=value)


def _read_scalar(r: _Reader, value: Any, key: str) -> Any:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str) and SAFE_VALUE.match(value):
        return value
    r.error(key, f"{value!r} must be a number, a boolean or a string without quotes, backslashes or ';'")
    return ""


def _read_funnel(r: _Reader, raw: Any, key: str) -> Funnel:
    raw = r.mapping(raw, key)
    allowed = {"name", "steps", "entry_mode", "conversion_window_hours", "period", "breakdown_property"}
    r.unknown_keys(raw, allowed, key)
    steps = []
    for i, step in enumerate(r.sequence(raw.get("steps"), f"{key}.steps")):
        skey = f"{key}.steps[{i}]"
        if isinstance(step, str):
            step = {"event": step}
        step = r.mapping(step, skey)
        r.unknown_keys(step, {"event", "filters"}, skey)
        filters = tuple(
            _read_filter(r, f, f"{skey}.filters[{j}]")
            for j, f in enumerate(r.sequence(step.get("filters"), f"{skey}.filters"))
        )
        steps.append(FunnelStep(event=r.name(step.get("event"), f"{skey}.event"), filters=filters))
    if len(steps) < 2:
        r.error(f"{key}.steps", f"a funnel needs at least 2 steps, got {len(steps)}")
    breakdown = raw.get("breakdown_property")
    if breakdown is not None:
        breakdown = r.name(breakdown, f"{key}.breakdown_property")
    return Funnel(
        name=r.name(raw.get("name"), f"{key}.name", SAFE_IDENT),
        steps=tuple(steps),
        entry_mode=r.choice(raw.get("entry_mode", "first_entry"), f"{key}.entry_mode", ENTRY_MODES),
        conversion_window_hours=r.number(
            raw.get("conversion_window_hours", 168), f"{key}.conversion_window_hours", minimum=1 / 60
        ),
        period=r.choice(raw.get("period", "month"), f"{key}.period", PERIODS),
        breakdown_property=breakdown,
    )


def _read_retention(r: _Reader, raw: Any, key: str) -> Retention:
    raw = r.mapping(raw, key)
    r.unknown_keys(raw, {"name", "start_event", "return_event", "period", "periods"}, key)
    periods = tuple(
        r.number(p, f"{key}.periods[{i}]", minimum=0, integer=True)
        for i, p in enumerate(r.sequence(raw.get("periods", [1, 7, 14, 30]), f"{key}.periods"))
    )
    if not periods:
        r.error(f"{key}.periods", "needs at least one period number")
    if len(set(periods)) != len(periods):
        r.error(f"{key}.periods", f"repeated period numbers in {list(periods)}")
    return Retention(
        name=r.name(raw.get("name"), f"{key}.name", SAFE_IDENT),
        start_event=r.name(raw.get("start_event"), f"{key}.start_event"),
        return_event=r.name(raw.get("return_event"), f"{key}.return_event"),
        period=r.choice(raw.get("period", "day"), f"{key}.period", ("day", "week")),
        periods=tuple(sorted(periods)),
    )


JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,19}-[0-9]{1,9}$")


def _timezone(r: _Reader, value: Any, key: str) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        r.error(key, f"{value!r} is not an IANA timezone name")
        return "UTC"
    return str(value)


def _read_jira(r: _Reader, raw: Any) -> JiraConfig:
    j = r.mapping(raw, "jira")
    allowed = {
        "csv_timezone",
        "csv_locales",
        "custom_fields",
        "status_category_overrides",
        "story_points_per_person_month",
    }
    r.unknown_keys(j, allowed, "jira")
    locales = tuple(str(x) for x in r.sequence(j.get("csv_locales", ["en", "fr", "de", "es"]), "jira.csv_locales"))
    for i, loc in enumerate(locales):
        if loc not in ("en", "fr", "de", "es"):
            r.error(f"jira.csv_locales[{i}]", f"{loc!r} is not a supported export language (en, fr, de, es)")
    custom = dict(DEFAULT_JIRA_CUSTOM_FIELDS)
    for name, candidates in r.mapping(j.get("custom_fields"), "jira.custom_fields").items():
        key = f"jira.custom_fields.{name}"
        if name not in DEFAULT_JIRA_CUSTOM_FIELDS:
            r.error(key, f"unknown logical field (known: {', '.join(DEFAULT_JIRA_CUSTOM_FIELDS)})")
            continue
        values = [candidates] if isinstance(candidates, str) else r.sequence(candidates, key)
        custom[name] = tuple(r.name(v, f"{key}[{i}]") for i, v in enumerate(values))
    overrides = {}
    for status, category in r.mapping(j.get("status_category_overrides"), "jira.status_category_overrides").items():
        key = f"jira.status_category_overrides.{status}"
        overrides[r.name(str(status), key)] = r.choice(category, key, STATUS_CATEGORIES)
    return JiraConfig(
        csv_timezone=_timezone(r, j.get("csv_timezone", "UTC"), "jira.csv_timezone"),
        csv_locales=locales,
        custom_fields=custom,
        status_category_overrides=overrides,
        story_points_per_person_month=float(
            r.number(j.get("story_points_per_person_month", 10.0), "jira.story_points_per_person_month", minimum=0.01)
        ),
    )


def _read_initiative(r: _Reader, raw: Any, key: str) -> Initiative:
    raw = r.mapping(raw, key)
    r.unknown_keys(raw, {"key", "adoption_events", "target_metric", "window_days"}, key)
    issue_key = raw.get("key")
    if not isinstance(issue_key, str) or not JIRA_KEY.match(issue_key):
        r.error(f"{key}.key", f"{issue_key!r} is not a Jira issue key like PROJ-123")
        issue_key = ""
    events = tuple(
        r.name(e, f"{key}.adoption_events[{i}]")
        for i, e in enumerate(r.sequence(raw.get("adoption_events"), f"{key}.adoption_events"))
    )
    target = r.mapping(raw.get("target_metric"), f"{key}.target_metric")
    if target:
        kind = r.choice(target.get("type"), f"{key}.target_metric.type", TARGET_METRIC_TYPES)
        if target.get("type") in TARGET_METRIC_KEYS:
            required = TARGET_METRIC_KEYS[kind]
            r.unknown_keys(target, {"type", *required}, f"{key}.target_metric")
            for k in required:
                if k not in target:
                    r.error(f"{key}.target_metric.{k}", f"required for a {kind} target metric")
            for k in ("funnel", "retention"):
                if k in target:
                    r.name(target[k], f"{key}.target_metric.{k}")
            for k, low in (("step", 2), ("period", 1)):
                if k in target:
                    r.number(target[k], f"{key}.target_metric.{k}", minimum=low, integer=True)
    window = raw.get("window_days")
    if window is not None:
        window = _window_days(r, window, f"{key}.window_days")
    return Initiative(key=issue_key, adoption_events=events, target_metric=dict(target), window_days=window)


def _window_days(r: _Reader, value: Any, key: str) -> int:
    days = r.number(value, key, minimum=1, integer=True)
    if days > MAX_OUTCOME_WINDOW_DAYS:
        r.error(key, f"{days} days is more than {MAX_OUTCOME_WINDOW_DAYS}")
    return days


def _read_outcomes(r: _Reader, raw: Any) -> OutcomesConfig:
    o = r.mapping(raw, "outcomes")
    r.unknown_keys(o, {"window_days", "min_sample_size"}, "outcomes")
    return OutcomesConfig(
        window_days=_window_days(r, o.get("window_days", 21), "outcomes.window_days"),
        min_sample_size=r.number(o.get("min_sample_size", 30), "outcomes.min_sample_size", minimum=2, integer=True),
    )


def _check_target_metrics(
    r: _Reader, initiatives: tuple[Initiative, ...], funnels: tuple[Funnel, ...], retention: tuple[Retention, ...]
) -> None:
    """A target metric must name a configured funnel (and one of its steps after the first) or retention analysis."""
    by_funnel = {f.name: f for f in funnels}
    by_retention = {x.name: x for x in retention}
    for i, ini in enumerate(initiatives):
        target, key = ini.target_metric, f"initiatives[{i}].target_metric"
        if target.get("type") == "funnel_step" and isinstance(target.get("funnel"), str):
            funnel = by_funnel.get(target["funnel"])
            step = target.get("step")
            if funnel is None:
                r.error(f"{key}.funnel", f"{target['funnel']!r} is not a configured funnel")
            elif isinstance(step, int) and not isinstance(step, bool) and step > len(funnel.steps):
                r.error(f"{key}.step", f"funnel {funnel.name!r} has {len(funnel.steps)} steps; got step {step}")
        retention_name = target.get("retention")
        if target.get("type") == "retention" and isinstance(retention_name, str) and retention_name not in by_retention:
            r.error(f"{key}.retention", f"{target['retention']!r} is not a configured retention analysis")


# Question texts are matched against export headers, never rendered into SQL: only control characters are refused.
QUESTION_TEXT = re.compile(r"^[^\x00-\x1f]{1,500}$")


def _read_feedback(r: _Reader, raw: Any) -> FeedbackConfig:
    f = r.mapping(raw, "feedback")
    r.unknown_keys(f, {"kano_features", "nps_survey_names"}, "feedback")
    features = []
    for i, item in enumerate(r.sequence(f.get("kano_features"), "feedback.kano_features")):
        key = f"feedback.kano_features[{i}]"
        item = r.mapping(item, key)
        allowed = {"feature", "functional_question", "dysfunctional_question", "importance_question", "initiative"}
        r.unknown_keys(item, allowed, key)
        questions = {}
        for q in ("functional_question", "dysfunctional_question", "importance_question"):
            value = item.get(q)
            if value is None and q == "importance_question":
                questions[q] = None
            elif not isinstance(value, str) or not QUESTION_TEXT.match(value):
                r.error(f"{key}.{q}", f"{value!r} is not a question text (1-500 characters, no control characters)")
                questions[q] = ""
            else:
                questions[q] = value
        initiative = item.get("initiative")
        if initiative is not None and (not isinstance(initiative, str) or not JIRA_KEY.match(initiative)):
            r.error(f"{key}.initiative", f"{initiative!r} is not a Jira issue key like PROJ-123")
            initiative = None
        features.append(
            KanoFeature(
                feature=r.name(item.get("feature"), f"{key}.feature", SAFE_IDENT), initiative=initiative, **questions
            )
        )
    names = [k.feature for k in features]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        r.error("feedback.kano_features", f"feature {dup!r} is listed more than once")
    texts = [q for k in features for q in (k.functional_question, k.dysfunctional_question, k.importance_question) if q]
    for dup in sorted({t for t in texts if texts.count(t) > 1}):
        r.error("feedback.kano_features", f"question {dup!r} is mapped more than once")
    surveys = tuple(
        r.name(x, f"feedback.nps_survey_names[{i}]")
        for i, x in enumerate(r.sequence(f.get("nps_survey_names"), "feedback.nps_survey_names"))
    )
    return FeedbackConfig(kano_features=tuple(features), nps_survey_names=surveys)


CURRENCY = re.compile(r"^[A-Z]{3}$")
DECIMAL_TEXT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")


def _decimal(r: _Reader, value: Any, key: str, *, low: Decimal, high: Decimal | None = None) -> str:
    text = str(value)
    if isinstance(value, bool) or not DECIMAL_TEXT.match(text):
        r.error(key, f"{value!r} is not a plain decimal number")
        return str(low)
    number = Decimal(text)
    if number < low or (high is not None and number > high):
        r.error(key, f"{text} is outside [{low}, {high if high is not None else '...'}]")
    return text


def _read_finance(r: _Reader, raw: Any) -> FinanceConfig:
    f = r.mapping(raw, "finance")
    allowed = {
        "reporting_currency",
        "fx_rates",
        "gross_margin",
        "channel_map",
        "min_monthly_churn",
        "ltv_cac_target",
        "payback_months_target",
    }
    r.unknown_keys(f, allowed, "finance")
    reporting = str(f.get("reporting_currency", "USD"))
    if not CURRENCY.match(reporting):
        r.error("finance.reporting_currency", f"{reporting!r} is not an upper-case ISO 4217 code")
    rates = {}
    for currency, rate in r.mapping(f.get("fx_rates"), "finance.fx_rates").items():
        key = f"finance.fx_rates.{currency}"
        if not CURRENCY.match(str(currency)):
            r.error(key, f"{currency!r} is not an upper-case ISO 4217 code")
            continue
        rates[str(currency)] = _decimal(r, rate, key, low=Decimal("0.000000000001"))
    rates.setdefault(reporting, "1")
    if rates.get(reporting) not in ("1", "1.0"):
        r.error(f"finance.fx_rates.{reporting}", "the reporting currency's own rate must be 1")
    channels = {}
    for name, channel in r.mapping(f.get("channel_map"), "finance.channel_map").items():
        channels[r.name(str(name), f"finance.channel_map.{name}")] = r.name(
            channel, f"finance.channel_map.{name}", SAFE_IDENT
        )
    return FinanceConfig(
        reporting_currency=reporting,
        fx_rates=rates,
        gross_margin=_decimal(
            r, f.get("gross_margin", "0.80"), "finance.gross_margin", low=Decimal(0), high=Decimal(1)
        ),
        channel_map=channels,
        min_monthly_churn=_decimal(
            r, f.get("min_monthly_churn", "0.005"), "finance.min_monthly_churn", low=Decimal("0.0001"), high=Decimal(1)
        ),
        ltv_cac_target=_decimal(r, f.get("ltv_cac_target", "3"), "finance.ltv_cac_target", low=Decimal(0)),
        payback_months_target=_decimal(
            r, f.get("payback_months_target", "12"), "finance.payback_months_target", low=Decimal(0)
        ),
    )


def _impact(r: _Reader, value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) not in IMPACT_SCALE:
        r.error(key, f"{value!r} is not on the RICE impact scale {', '.join(str(x) for x in IMPACT_SCALE)}")
        return IMPACT_SCALE[0]
    return float(value)


def _read_portfolio(r: _Reader, raw: Any) -> PortfolioConfig:
    p = r.mapping(raw, "portfolio")
    allowed = {
        "impact_lift_thresholds",
        "kano_impact",
        "min_sample_size",
        "min_feature_requests",
        "min_kano_respondents",
        "target_kano_mix",
    }
    r.unknown_keys(p, allowed, "portfolio")
    defaults = PortfolioConfig()
    thresholds = defaults.impact_lift_thresholds
    if "impact_lift_thresholds" in p:
        read = []
        for i, item in enumerate(r.sequence(p["impact_lift_thresholds"], "portfolio.impact_lift_thresholds")):
            key = f"portfolio.impact_lift_thresholds[{i}]"
            item = r.mapping(item, key)
            r.unknown_keys(item, {"min_relative_lift", "impact"}, key)
            lift = r.number(item.get("min_relative_lift"), f"{key}.min_relative_lift", minimum=0)
            read.append((float(lift), _impact(r, item.get("impact"), f"{key}.impact")))
        for i in range(1, len(read)):
            if not (read[i][0] < read[i - 1][0] and read[i][1] < read[i - 1][1]):
                r.error(
                    f"portfolio.impact_lift_thresholds[{i}]",
                    "thresholds must be listed highest lift first, each with a lower lift and a lower impact "
                    "than the one before",
                )
        thresholds = tuple(read)
    kano_impact = dict(defaults.kano_impact)
    for category, value in r.mapping(p.get("kano_impact"), "portfolio.kano_impact").items():
        key = f"portfolio.kano_impact.{category}"
        if category not in KANO_CATEGORIES:
            r.error(key, f"{category!r} is not a Kano category ({', '.join(KANO_CATEGORIES)})")
            continue
        kano_impact[category] = _impact(r, value, key)
    mix = dict(defaults.target_kano_mix)
    if "target_kano_mix" in p:
        raw_mix = r.mapping(p["target_kano_mix"], "portfolio.target_kano_mix")
        mix = {}
        for category in sorted(set(raw_mix) - set(KANO_MIX_CATEGORIES)):
            r.error(
                f"portfolio.target_kano_mix.{category}", f"unknown category (allowed: {', '.join(KANO_MIX_CATEGORIES)})"
            )
        for category in KANO_MIX_CATEGORIES:
            key = f"portfolio.target_kano_mix.{category}"
            value = raw_mix.get(category, 0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                r.error(key, f"expected a share between 0 and 1, got {value!r}")
                value = 0
            mix[category] = float(value)
        if abs(sum(mix.values()) - 1) > 1e-9:
            shown = " + ".join(f"{category} {mix[category]:g}" for category in KANO_MIX_CATEGORIES)
            r.error("portfolio.target_kano_mix", f"the shares must sum to 1, got {shown} = {sum(mix.values()):g}")
    counts = {
        name: r.number(p.get(name, getattr(defaults, name)), f"portfolio.{name}", minimum=1, integer=True)
        for name in ("min_sample_size", "min_feature_requests", "min_kano_respondents")
    }
    return PortfolioConfig(impact_lift_thresholds=thresholds, kano_impact=kano_impact, target_kano_mix=mix, **counts)


def parse_config(raw: Any, path: Path) -> PipelineConfig:
    r = _Reader(path)
    raw = r.mapping(raw, "(top level)")
    sections = {
        "project", "analytics", "funnels", "retention", "jira", "initiatives", "outcomes", "feedback", "finance",
        "portfolio",
    }  # fmt: skip
    r.unknown_keys(raw, sections, "")

    a = r.mapping(raw.get("analytics"), "analytics")
    r.unknown_keys(
        a,
        {
            "mixpanel_project_timezone",
            "session_inactivity_minutes",
            "split_sessions_on_vendor_session_change",
            "known_events",
        },
        "analytics",
    )
    tz = _timezone(r, a.get("mixpanel_project_timezone", "UTC"), "analytics.mixpanel_project_timezone")
    analytics = AnalyticsConfig(
        mixpanel_project_timezone=str(tz),
        session_inactivity_minutes=r.number(
            a.get("session_inactivity_minutes", 30), "analytics.session_inactivity_minutes", minimum=1, integer=True
        ),
        split_sessions_on_vendor_session_change=bool(a.get("split_sessions_on_vendor_session_change", True)),
        known_events=tuple(
            r.name(e, f"analytics.known_events[{i}]")
            for i, e in enumerate(r.sequence(a.get("known_events"), "analytics.known_events"))
        ),
    )
    funnels = tuple(
        _read_funnel(r, f, f"funnels[{i}]") for i, f in enumerate(r.sequence(raw.get("funnels"), "funnels"))
    )
    retention = tuple(
        _read_retention(r, x, f"retention[{i}]") for i, x in enumerate(r.sequence(raw.get("retention"), "retention"))
    )
    jira = _read_jira(r, raw.get("jira"))
    feedback = _read_feedback(r, raw.get("feedback"))
    finance = _read_finance(r, raw.get("finance"))
    portfolio = _read_portfolio(r, raw.get("portfolio"))
    initiatives = tuple(
        _read_initiative(r, x, f"initiatives[{i}]")
        for i, x in enumerate(r.sequence(raw.get("initiatives"), "initiatives"))
    )
    outcomes = _read_outcomes(r, raw.get("outcomes"))
    _check_target_metrics(r, initiatives, funnels, retention)
    keys = [i.key for i in initiatives]
    for dup in sorted({k for k in keys if k and keys.count(k) > 1}):
        r.error("initiatives", f"key {dup!r} is listed more than once")
    for kind, items in (("funnels", funnels), ("retention", retention)):
        names = [x.name for x in items]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            r.error(kind, f"name {dup!r} is used more than once")
    if analytics.known_events:
        known = set(analytics.known_events)
        for i, f in enumerate(funnels):
            for j, s in enumerate(f.steps):
                if s.event and s.event not in known:
                    r.error(f"funnels[{i}].steps[{j}].event", f"{s.event!r} is not in analytics.known_events")
        for i, x in enumerate(retention):
            for k in ("start_event", "return_event"):
                if getattr(x, k) and getattr(x, k) not in known:
                    r.error(f"retention[{i}].{k}", f"{getattr(x, k)!r} is not in analytics.known_events")
        for i, ini in enumerate(initiatives):
            for j, e in enumerate(ini.adoption_events):
                if e and e not in known:
                    r.error(f"initiatives[{i}].adoption_events[{j}]", f"{e!r} is not in analytics.known_events")
    if r.errors:
        raise ConfigError(f"invalid configuration {path}:\n  " + "\n  ".join(r.errors))
    return PipelineConfig(
        path=path,
        analytics=analytics,
        funnels=funnels,
        retention=retention,
        jira=jira,
        initiatives=initiatives,
        outcomes=outcomes,
        feedback=feedback,
        finance=finance,
        portfolio=portfolio,
        raw=raw,
    )


def load_config(config_path: str | Path | None = None) -> PipelineConfig:
    path = get_config_path(config_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    return parse_config(raw, path)
