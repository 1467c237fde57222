"""The one configuration file: what is product-specific. Parsed and validated once, into frozen pydantic models.

Every error names the file and the exact key, one line per problem, all problems at once, e.g.
``funnels[0].steps[2].event: 'report_createdd' is not in analytics.known_events``. Every default is written once,
as a field default here; dbt gets its vars only from ``PipelineConfig.dbt_vars()``.

Values from here reach SQL only as dbt vars rendered into string literals, so every name that can end up in SQL
(event names, property keys, funnel names) is checked against a whitelist pattern here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[1] / "config" / "pmw.yml"

# Names that may be rendered into SQL literals: no quotes, backslashes, semicolons or control characters.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$ .:/-]{0,99}$")
SAFE_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SAFE_VALUE = re.compile(r"^[^'\"\\;\x00-\x1f]{0,200}$")
JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,19}-[0-9]{1,9}$")
# Question texts are matched against export headers, never rendered into SQL: only control characters are refused.
QUESTION_TEXT = re.compile(r"^[^\x00-\x1f]{1,500}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
DECIMAL_TEXT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")

FILTER_OPERATORS = ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "is_set", "is_not_set")
ENTRY_MODES = ("first_entry", "any_entry")
# When a funnel step may happen at the same time as the previous one (docs/funnels.md):
#   strict          each step strictly later (ClickHouse windowFunnel 'strict_increase')
#   same_timestamp  an equal timestamp may fill the next step (ClickHouse windowFunnel default, PostHog)
#   same_second     events within the same whole second count in either order (Amplitude without millisecond
#                   resolution): times are compared truncated to the second
# In every option one event fills at most one step of a path.
SIMULTANEOUS_EVENTS = ("strict", "same_timestamp", "same_second")
# The default follows the coarsest time precision among the analytics sources: Mixpanel's raw export carries
# whole seconds, so the order of two events in one second is unknown there, and comparing a Mixpanel time with an
# Amplitude or Segment millisecond time is only meaningful at the second. For whole-second times, same_second is
# exactly same_timestamp.
DEFAULT_SIMULTANEOUS_EVENTS = "same_second"
PERIODS = ("day", "week", "month")
RETENTION_PERIODS = ("day", "week")
# Breakdowns on a column of the events contract; anything else is read from the properties of the funnel's step-1
# event (a retention's cohort-start event).
EVENT_COLUMNS_FOR_BREAKDOWN = ("source", "platform", "country")
JIRA_CSV_LOCALES = ("en", "fr", "de", "es")
STATUS_CATEGORIES = ("new", "indeterminate", "done")
TARGET_METRIC_TYPES = ("funnel_step", "retention", "nps", "revenue")
# Per target metric type: the keys it requires (besides `type`). funnel_step: a configured funnel and a step
# index >= 2 in it; retention: a configured retention analysis and a period number >= 1 of its grain.
TARGET_METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "funnel_step": ("funnel", "step"),
    "retention": ("retention", "period"),
    "nps": (),
    "revenue": (),
}
MAX_OUTCOME_WINDOW_DAYS = 365
IMPACT_SCALE = (0.25, 0.5, 1.0, 2.0, 3.0)  # RICE impact: minimal, low, medium, high, massive
KANO_CATEGORIES = ("A", "O", "M", "I", "R", "Q")
KANO_MIX_CATEGORIES = ("must_be", "one_dimensional", "attractive", "indifferent_or_other")

# Logical Jira fields whose custom-field id differs per instance: candidate names (or customfield_NNNNN ids),
# resolved through the /rest/api/3/field catalog when one is landed, else matched by name in the export.
# A configured entry replaces the default candidates of that field; the others keep theirs.
DEFAULT_JIRA_CUSTOM_FIELDS: dict[str, tuple[str, ...]] = {
    "story_points": ("Story Points", "Story point estimate"),
    "sprint": ("Sprint",),
    "epic_link": ("Epic Link",),
    "reach": ("Reach",),
    "impact": ("Impact",),
    "confidence": ("Confidence",),
    "effort": ("Effort",),
}
# Impact of an unshipped item without a JPD impact, by its feature's dominant Kano category; configured entries
# replace these one category at a time.
DEFAULT_KANO_IMPACT: dict[str, float] = {"M": 2.0, "O": 2.0, "A": 1.0, "I": 0.25, "R": 0.25, "Q": 0.25}


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the key."""


# ----------------------------------------------------------------------------------------------- error plumbing
# Every problem is raised as a PydanticCustomError carrying the final one-line message; pydantic collects them with
# their location, and _format_location turns ("funnels", 0, "steps", 2, "event") into funnels[0].steps[2].event.

Location = tuple[str | int, ...]


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("pmw_config", message)


def _raise_at(problems: Iterable[tuple[Location, str]]) -> NoReturn:
    """Several problems under the value being validated; pydantic prefixes each location with the value's own."""
    raise ValidationError.from_exception_data(
        "configuration", [{"type": _problem(message), "loc": loc, "input": None} for loc, message in problems]
    )


def _collected(errors: list[Any]) -> list[tuple[Location, str]]:
    return [(tuple(e["loc"]), "required" if e["type"] == "missing" else e["msg"]) for e in errors]


def _format_location(loc: Location) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


# ------------------------------------------------------------------------------------------- value validators


def _kind(value: Any) -> str:
    return type(value).__name__


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise _problem(f"expected a list, got {_kind(value)}")
    return list(value)


def _as_mapping(value: Any) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _problem(f"expected a mapping, got {_kind(value)}")
    return dict(value)


def _name_check(value: Any, pattern: re.Pattern[str] = SAFE_NAME) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise _problem(f"{value!r} is not a valid name (pattern {pattern.pattern})")
    return value


def _number_check(value: Any, *, minimum: float, integer: bool = False) -> Any:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or value < minimum:
        raise _problem(f"expected {'an integer' if integer else 'a number'} >= {minimum}, got {value!r}")
    return value


# DuckDB's memory_limit syntax: a number and a unit (DuckDB also reads percentages of RAM, which hide the bound).
MEMORY_LIMIT = re.compile(r"^[0-9]+(\.[0-9]+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")


def _memory_limit_check(value: Any) -> str:
    if not isinstance(value, str) or not MEMORY_LIMIT.match(value.strip()):
        raise _problem(f"expected a size such as '4GB' or '512MiB', got {value!r}")
    return value.strip()


def _directory_check(value: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or not QUESTION_TEXT.match(value) or "'" in value:
        raise _problem(f"expected a directory path (no quote or control character), got {value!r}")
    return Path(value.strip())


def _choice_check(value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _problem(f"{value!r} is not one of {', '.join(choices)}")
    return value


def _timezone_check(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _problem(f"{value!r} is not an IANA timezone name") from exc
    return str(value)


def _jira_key_check(value: Any) -> str:
    if not isinstance(value, str) or not JIRA_KEY.match(value):
        raise _problem(f"{value!r} is not a Jira issue key like PROJ-123")
    return value


def _question_check(value: Any) -> str:
    if not isinstance(value, str) or not QUESTION_TEXT.match(value):
        raise _problem(f"{value!r} is not a question text (1-500 characters, no control characters)")
    return value


def _currency_check(value: Any) -> str:
    if not CURRENCY.match(str(value)):
        raise _problem(f"{str(value)!r} is not an upper-case ISO 4217 code")
    return str(value)


def _decimal_check(value: Any, *, low: Decimal, high: Decimal | None = None) -> str:
    """A decimal kept as its text: money and rates never go through a float on their way to SQL."""
    text = str(value)
    if isinstance(value, bool) or not DECIMAL_TEXT.match(text):
        raise _problem(f"{value!r} is not a plain decimal number")
    number = Decimal(text)
    if number < low or (high is not None and number > high):
        raise _problem(f"{text} is outside [{low}, {high if high is not None else '...'}]")
    return text


def _impact_check(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) not in IMPACT_SCALE:
        raise _problem(f"{value!r} is not on the RICE impact scale {', '.join(str(x) for x in IMPACT_SCALE)}")
    return float(value)


def _scalar_check(value: Any) -> Any:
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and SAFE_VALUE.match(value)):
        return value
    raise _problem(f"{value!r} must be a number, a boolean or a string without quotes, backslashes or ';'")


def _window_days_check(value: Any) -> int:
    days = _number_check(value, minimum=1, integer=True)
    if days > MAX_OUTCOME_WINDOW_DAYS:
        raise _problem(f"{days} days is more than {MAX_OUTCOME_WINDOW_DAYS}")
    return days


def _checked(check: Callable[..., Any], **kwargs: Any) -> BeforeValidator:
    return BeforeValidator(lambda value: check(value, **kwargs))


def _each(check: Callable[[Any, Location], Any], value: Any, *, mapping: bool = False) -> Any:
    """Apply ``check(item, location)`` to every item of a list (or every value of a mapping), collecting problems."""
    items = _as_mapping(value).items() if mapping else enumerate(_as_list(value))
    result, problems = {}, []
    for key, item in items:
        try:
            result[key] = check(item, (key,))
        except PydanticCustomError as exc:
            problems.append(((key,), exc.message()))
        except ValidationError as exc:
            problems += [((key, *loc), message) for loc, message in _collected(exc.errors())]
    if problems:
        _raise_at(problems)
    return result if mapping else list(result.values())


SafeName = Annotated[str, BeforeValidator(_name_check)]
SafeIdent = Annotated[str, _checked(_name_check, pattern=SAFE_IDENT)]
Timezone = Annotated[str, BeforeValidator(_timezone_check)]
JiraKey = Annotated[str, BeforeValidator(_jira_key_check)]
QuestionText = Annotated[str, BeforeValidator(_question_check)]
WindowDays = Annotated[int, BeforeValidator(_window_days_check)]


def Integer(minimum: int) -> Any:
    return Annotated[int, _checked(_number_check, minimum=minimum, integer=True)]


def Number(minimum: float) -> Any:
    return Annotated[float, _checked(_number_check, minimum=minimum)]


def Choice(choices: tuple[str, ...]) -> Any:
    return Annotated[str, _checked(_choice_check, choices=choices)]


def DecimalText(low: str, high: str | None = None) -> Any:
    return Annotated[str, _checked(_decimal_check, low=Decimal(low), high=Decimal(high) if high is not None else None)]


def ListOf(item: Any) -> Any:
    """A YAML list (absent or null = empty) of ``item``, kept as a tuple."""
    return Annotated[tuple[item, ...], BeforeValidator(_as_list)]


# ---------------------------------------------------------------------------------------------------- models


class _Section(BaseModel):
    """A mapping of the file: null means empty, and a key the model does not declare is an error that lists those
    it does. Frozen: the configuration is parsed once per run and shared by every step."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _not_in_file: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="wrap")
    @classmethod
    def _known_keys_only(cls, value: Any, handler: Callable[[Any], Any]) -> Any:
        if isinstance(value, cls):
            return value
        value = _as_mapping(value)
        allowed = sorted(set(cls.model_fields) - cls._not_in_file)
        problems: list[tuple[Location, str]] = [
            ((key,), f"unknown key (allowed: {', '.join(allowed)})")
            for key in sorted(set(value) - set(allowed), key=str)
        ]
        try:
            result = handler({k: v for k, v in value.items() if k in allowed})
        except ValidationError as exc:
            problems += _collected(exc.errors())
        if problems:
            _raise_at(problems)
        return result


class PropertyFilter(_Section):
    property: SafeName
    op: Choice(FILTER_OPERATORS) = "eq"
    value: Any = Field(default=None, validate_default=True)

    @field_validator("value", mode="before")
    @classmethod
    def _value_for_op(cls, value: Any, info: ValidationInfo) -> Any:
        op = info.data.get("op", "eq")
        if op in ("is_set", "is_not_set"):
            return None
        if op in ("in", "not_in"):
            if not isinstance(value, (list, tuple)) or not value:
                raise _problem(f"op {op} needs a non-empty list")
            return tuple(_each(lambda item, _loc: _scalar_check(item), value))
        return _scalar_check(value)


def _step_shorthand(value: Any) -> list[Any]:
    # `- signed_up` is short for `- event: signed_up`.
    return [{"event": step} if isinstance(step, str) else step for step in _as_list(value)]


class FunnelStep(_Section):
    event: SafeName
    filters: ListOf(PropertyFilter) = ()


class Funnel(_Section):
    name: SafeIdent
    steps: Annotated[tuple[FunnelStep, ...], BeforeValidator(_step_shorthand)]
    entry_mode: Choice(ENTRY_MODES) = "first_entry"
    simultaneous_events: Choice(SIMULTANEOUS_EVENTS) = DEFAULT_SIMULTANEOUS_EVENTS
    conversion_window_hours: Number(1 / 60) = 24.0 * 7
    period: Choice(PERIODS) = "month"
    breakdown_property: SafeName | None = None

    @field_validator("steps")
    @classmethod
    def _at_least_two(cls, steps: tuple[FunnelStep, ...]) -> tuple[FunnelStep, ...]:
        if len(steps) < 2:
            raise _problem(f"a funnel needs at least 2 steps, got {len(steps)}")
        return steps


class Retention(_Section):
    name: SafeIdent
    start_event: SafeName
    return_event: SafeName
    period: Choice(RETENTION_PERIODS) = "day"
    periods: ListOf(Integer(0)) = (1, 7, 14, 30)
    # As a funnel's: a column of the events contract or a key of the cohort-start event's properties.
    breakdown_property: SafeName | None = None

    @field_validator("periods")
    @classmethod
    def _distinct_sorted(cls, periods: tuple[int, ...]) -> tuple[int, ...]:
        if not periods:
            raise _problem("needs at least one period number")
        if len(set(periods)) != len(periods):
            raise _problem(f"repeated period numbers in {list(periods)}")
        return tuple(sorted(periods))


class AnalyticsConfig(_Section):
    mixpanel_project_timezone: Timezone = "UTC"
    session_inactivity_minutes: Integer(1) = 30
    split_sessions_on_vendor_session_change: bool = True
    known_events: ListOf(SafeName) = ()


def _custom_fields(value: Any) -> dict[str, tuple[str, ...]]:
    def candidates(names: Any, loc: Location) -> tuple[str, ...]:
        if loc[0] not in DEFAULT_JIRA_CUSTOM_FIELDS:
            raise _problem(f"unknown logical field (known: {', '.join(DEFAULT_JIRA_CUSTOM_FIELDS)})")
        names = [names] if isinstance(names, str) else names
        return tuple(_each(lambda name, _loc: _name_check(name), names))

    return {**DEFAULT_JIRA_CUSTOM_FIELDS, **_each(candidates, value, mapping=True)}


def _status_overrides(value: Any) -> dict[str, str]:
    def category(cat: Any, loc: Location) -> str:
        _name_check(str(loc[0]))
        return _choice_check(cat, STATUS_CATEGORIES)

    return {str(status): cat for status, cat in _each(category, value, mapping=True).items()}


def _locale_check(value: Any) -> str:
    if str(value) not in JIRA_CSV_LOCALES:
        raise _problem(f"{str(value)!r} is not a supported export language ({', '.join(JIRA_CSV_LOCALES)})")
    return str(value)


class JiraConfig(_Section):
    csv_timezone: Timezone = "UTC"  # the exporting user's timezone: Jira CSV dates carry no offset
    csv_locales: ListOf(Annotated[str, BeforeValidator(_locale_check)]) = JIRA_CSV_LOCALES
    custom_fields: Annotated[dict[str, tuple[str, ...]], BeforeValidator(_custom_fields)] = Field(
        default_factory=lambda: dict(DEFAULT_JIRA_CUSTOM_FIELDS)
    )
    status_category_overrides: Annotated[dict[str, str], BeforeValidator(_status_overrides)] = Field(
        default_factory=dict
    )  # status name -> category key
    story_points_per_person_month: Number(0.01) = 10.0  # effort from points when time tracking is empty


def _target_metric(value: Any) -> dict[str, Any]:
    target = _as_mapping(value)
    if not target:
        return {}
    problems: list[tuple[Location, str]] = []

    def check(key: str, run: Callable[[], Any]) -> None:
        try:
            run()
        except PydanticCustomError as exc:
            problems.append(((key,), exc.message()))

    check("type", lambda: _choice_check(target.get("type"), TARGET_METRIC_TYPES))
    kind = target.get("type")
    if kind in TARGET_METRIC_KEYS:
        required = TARGET_METRIC_KEYS[kind]
        allowed = sorted({"type", *required})
        problems += [((k,), f"unknown key (allowed: {', '.join(allowed)})") for k in sorted(set(target) - set(allowed))]
        problems += [((k,), f"required for a {kind} target metric") for k in required if k not in target]
        for k in ("funnel", "retention"):
            if k in target:
                check(k, lambda k=k: _name_check(target[k]))
        for k, low in (("step", 2), ("period", 1)):
            if k in target:
                check(k, lambda k=k, low=low: _number_check(target[k], minimum=low, integer=True))
    if problems:
        _raise_at(problems)
    return target


class Initiative(_Section):
    key: JiraKey  # Jira issue key of the initiative (or epic)
    adoption_events: ListOf(SafeName) = ()
    target_metric: Annotated[dict[str, Any], BeforeValidator(_target_metric)] = Field(default_factory=dict)
    window_days: WindowDays | None = None  # before/after window length; None = outcomes.window_days


class OutcomesConfig(_Section):
    window_days: WindowDays = 21  # equal windows [ship - W, ship) and [ship, ship + W) around every ship date
    min_sample_size: Integer(2) = 30  # a side with fewer units makes the outcome 'insufficient_data'


class KanoFeature(_Section):
    feature: SafeIdent  # the feature's name in marts
    functional_question: QuestionText  # the question text (wide layout column header, or long layout question value)
    dysfunctional_question: QuestionText
    importance_question: QuestionText | None = None
    initiative: JiraKey | None = None  # Jira key of the initiative the feature belongs to


class FeedbackConfig(_Section):
    kano_features: ListOf(KanoFeature) = ()
    nps_survey_names: ListOf(SafeName) = ()  # survey names (e.g. Typeform form titles) that hold NPS; else detected

    @model_validator(mode="after")
    def _each_feature_and_question_once(self) -> FeedbackConfig:
        names = [k.feature for k in self.kano_features]
        texts = [
            q
            for k in self.kano_features
            for q in (k.functional_question, k.dysfunctional_question, k.importance_question)
        ]
        texts = [q for q in texts if q]
        problems = [(("kano_features",), f"feature {d!r} is listed more than once") for d in _repeated(names)]
        problems += [(("kano_features",), f"question {d!r} is mapped more than once") for d in _repeated(texts)]
        if problems:
            _raise_at(problems)
        return self


def _channel_map(value: Any) -> dict[str, str]:
    def channel(target: Any, loc: Location) -> str:
        _name_check(str(loc[0]))
        return _name_check(target, SAFE_IDENT)

    return {str(name): target for name, target in _each(channel, value, mapping=True).items()}


class FinanceConfig(_Section):
    reporting_currency: Annotated[str, BeforeValidator(_currency_check)] = "USD"
    # Units of reporting currency per 1 unit of each currency (the reporting currency's own rate is 1).
    fx_rates: dict[str, str] = Field(default_factory=dict, validate_default=True)
    gross_margin: DecimalText("0", "1") = "0.80"  # share of revenue kept after cost of service
    # Ad platform / plain-CSV channel names -> the channel vocabulary CAC is reported in.
    channel_map: Annotated[dict[str, str], BeforeValidator(_channel_map)] = Field(default_factory=dict)
    min_monthly_churn: DecimalText("0.0001", "1") = "0.005"  # floor, so predicted LTV = ARPA x margin / churn is finite
    ltv_cac_target: DecimalText("0") = "3"
    payback_months_target: DecimalText("0") = "12"

    @field_validator("fx_rates", mode="before")
    @classmethod
    def _rates(cls, value: Any, info: ValidationInfo) -> dict[str, str]:
        def rate(text: Any, loc: Location) -> str:
            _currency_check(loc[0])
            return _decimal_check(text, low=Decimal("0.000000000001"))

        rates = {str(code): text for code, text in _each(rate, value, mapping=True).items()}
        reporting = info.data.get("reporting_currency")
        if reporting is not None:
            rates.setdefault(reporting, "1")
            if rates[reporting] not in ("1", "1.0"):
                _raise_at([((reporting,), "the reporting currency's own rate must be 1")])
        return rates


class _LiftThreshold(_Section):
    min_relative_lift: Number(0)
    impact: Annotated[float, BeforeValidator(_impact_check)]


def _lift_thresholds(value: Any) -> list[tuple[float, float]]:
    # Written as mappings in the file; (lift, impact) pairs when built in code.
    items = _as_list(value)
    if all(isinstance(item, tuple) for item in items):
        return items
    return [
        (float(t.min_relative_lift), t.impact)
        for t in _each(lambda item, _loc: _LiftThreshold.model_validate(item), items)
    ]


def _kano_impact(value: Any) -> dict[str, float]:
    def impact(level: Any, loc: Location) -> float:
        if loc[0] not in KANO_CATEGORIES:
            raise _problem(f"{loc[0]!r} is not a Kano category ({', '.join(KANO_CATEGORIES)})")
        return _impact_check(level)

    return {**DEFAULT_KANO_IMPACT, **_each(impact, value, mapping=True)}


def _kano_mix(value: Any) -> dict[str, float]:
    # A configured mix replaces the default whole: a category it leaves out gets share 0.
    given = _as_mapping(value)
    problems: list[tuple[Location, str]] = [
        ((c,), f"unknown category (allowed: {', '.join(KANO_MIX_CATEGORIES)})")
        for c in sorted(set(given) - set(KANO_MIX_CATEGORIES), key=str)
    ]
    mix = {}
    for category in KANO_MIX_CATEGORIES:
        share = given.get(category, 0)
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            problems.append(((category,), f"expected a share between 0 and 1, got {share!r}"))
            share = 0
        mix[category] = float(share)
    if not problems and abs(sum(mix.values()) - 1) > 1e-9:
        shown = " + ".join(f"{c} {mix[c]:g}" for c in KANO_MIX_CATEGORIES)
        problems.append(((), f"the shares must sum to 1, got {shown} = {sum(mix.values()):g}"))
    if problems:
        _raise_at(problems)
    return mix


class PortfolioConfig(_Section):
    """RICE scoring rules (portfolio/scoring.py)."""

    # (minimum relative lift of the target metric, impact), highest lift first; below the last: 0.25.
    impact_lift_thresholds: Annotated[tuple[tuple[float, float], ...], BeforeValidator(_lift_thresholds)] = (
        (0.20, 3.0),
        (0.10, 2.0),
        (0.05, 1.0),
        (0.02, 0.5),
    )
    kano_impact: Annotated[dict[str, float], BeforeValidator(_kano_impact)] = Field(
        default_factory=lambda: dict(DEFAULT_KANO_IMPACT)
    )
    min_sample_size: Integer(1) = 100  # users on each side of a measured effect for confidence 1.0
    min_feature_requests: Integer(1) = 10  # feature requests that back an estimate (confidence 0.8)
    min_kano_respondents: Integer(1) = 20  # Kano respondents that back an estimate (confidence 0.8)
    target_kano_mix: Annotated[dict[str, float], BeforeValidator(_kano_mix)] = Field(
        default_factory=lambda: {"must_be": 0.4, "one_dimensional": 0.4, "attractive": 0.2, "indifferent_or_other": 0.0}
    )

    @field_validator("impact_lift_thresholds")
    @classmethod
    def _descending(cls, thresholds: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        problems = [
            ((i,), "thresholds must be listed highest lift first, each with a lower lift and a lower impact than the "
             "one before")
            for i in range(1, len(thresholds))
            if not (thresholds[i][0] < thresholds[i - 1][0] and thresholds[i][1] < thresholds[i - 1][1])
        ]  # fmt: skip
        if problems:
            _raise_at(problems)
        return thresholds


# ------------------------------------------------------------------------------------ operations: alerts, freshness

ENV_VAR_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
ALERT_KINDS = ("slack", "webhook")


def _env_var_name_check(value: Any) -> str:
    if not isinstance(value, str) or not ENV_VAR_NAME.match(value):
        shown = "a URL" if isinstance(value, str) and "://" in value else repr(value)
        raise _problem(
            f"{shown} is not an environment variable name (e.g. PMW_SLACK_WEBHOOK_URL): the URL and any secret "
            "stay in the environment, never in this file"
        )
    return value


EnvVarName = Annotated[str, BeforeValidator(_env_var_name_check)]


class AlertDestination(_Section):
    kind: Choice(ALERT_KINDS)  # slack: Slack-compatible incoming webhook ({"text": ...}); webhook: generic JSON
    url_env: EnvVarName  # the environment variable that holds the webhook URL
    secret_env: EnvVarName | None = None  # webhook only: HMAC-SHA256 key of the X-PMW-Signature header

    @model_validator(mode="after")
    def _secret_only_for_webhooks(self) -> AlertDestination:
        if self.secret_env and self.kind != "webhook":
            _raise_at([(("secret_env",), "only a generic webhook signs its body; a Slack webhook URL is the secret")])
        return self


class AlertsConfig(_Section):
    """Where failed runs, failed gates and stale sources are reported (besides the log and data/runs/)."""

    destinations: ListOf(AlertDestination) = ()
    max_attempts: Integer(1) = 4  # per alert and destination; only transient errors (network, 429, 5xx) retry
    backoff_seconds: Number(0) = 1.0  # first wait; doubles per attempt (a 429's Retry-After wins, up to 60 s)
    timeout_seconds: Number(0.1) = 10.0  # per HTTP request


class FreshnessExpectation(_Section):
    max_age_hours: Number(1)  # a new file of the source must have loaded within this many hours


def _freshness(value: Any) -> dict[str, FreshnessExpectation]:
    from core.settings import SOURCES  # core.settings imports this module; the source names live there

    def expectation(item: Any, loc: Location) -> FreshnessExpectation:
        if loc[0] not in SOURCES:
            raise _problem(f"{loc[0]!r} is not a source (known: {', '.join(SOURCES)})")
        return FreshnessExpectation.model_validate(item)

    return _each(expectation, value, mapping=True)


# ------------------------------------------------------------------------------ publish: the versioned interface

# The breaking changes of the published interface (publish/interface.py) that a configuration entry may acknowledge.
# A column renamed without a `renamed` entry is seen as removed (breaking) plus added (additive).
ACKNOWLEDGEABLE_CHANGES = ("removed", "renamed", "retyped", "table_removed")
# A column type as DuckDB's information_schema spells it: BIGINT, DECIMAL(18,2), VARCHAR[], TIMESTAMP WITH TIME ZONE.
COLUMN_TYPE = re.compile(r"^[A-Z][A-Z0-9_ ,()\[\]]{0,79}$")
NOTE_TEXT = re.compile(r"^[^\x00-\x1f]{1,500}$")


def _column_type_check(value: Any) -> str:
    text = str(value).strip().upper() if isinstance(value, str) else value
    if not isinstance(text, str) or not COLUMN_TYPE.match(text):
        raise _problem(f"{value!r} is not a column type as DuckDB names it (e.g. BIGINT, DECIMAL(18,2), VARCHAR[])")
    return text


def _note_check(value: Any) -> str:
    if not isinstance(value, str) or not NOTE_TEXT.match(value):
        raise _problem(f"{value!r} is not a note (1-500 characters, no control characters)")
    return value


class InterfaceAcknowledgement(_Section):
    """One intended breaking change of the published interface, by name: the table, the kind of change, the column
    and, for a rename or a retype, what it becomes. ``note`` is shown to BI users in the interface changelog."""

    table: SafeIdent
    change: Choice(ACKNOWLEDGEABLE_CHANGES)
    column: SafeIdent | None = None  # every change but table_removed
    to: str | None = None  # renamed: the new column name; retyped: the new type (DuckDB's spelling)
    note: Annotated[str, BeforeValidator(_note_check)] | None = None

    @field_validator("to", mode="before")
    @classmethod
    def _to_for_change(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        change = info.data.get("change")
        if change == "renamed":
            return _name_check(value, SAFE_IDENT)
        if change == "retyped":
            return _column_type_check(value)
        return value  # refused by _fields_for_change, which names the change

    @model_validator(mode="after")
    def _fields_for_change(self) -> InterfaceAcknowledgement:
        problems: list[tuple[Location, str]] = []
        if self.change == "table_removed":
            problems += [((k,), f"not used by change {self.change!r}") for k in ("column", "to") if getattr(self, k)]
        elif self.column is None:
            problems.append((("column",), f"required by change {self.change!r}"))
        if self.change == "removed" and self.to is not None:
            problems.append((("to",), "not used by change 'removed' (a rename is change 'renamed', with to: <new>)"))
        if self.change in ("renamed", "retyped") and self.to is None:
            what = "the new column name" if self.change == "renamed" else "the new type, e.g. BIGINT"
            problems.append((("to",), f"required by change {self.change!r}: {what}"))
        if self.change == "renamed" and self.to is not None and self.to == self.column:
            problems.append((("to",), f"a rename needs a new name; got the same name {self.to!r}"))
        if problems:
            _raise_at(problems)
        return self

    def key(self) -> tuple[str, str, str | None]:
        """What one entry may be written for only once: the change to one table's column (or to the table)."""
        return (self.table, self.change, self.column)


class PublishConfig(_Section):
    """Publishing for BI. Every release records every mart's columns and types; a change against the release BI
    reads that removes, renames or retypes a column (or removes a table) is published only when acknowledged here."""

    acknowledged_interface_changes: ListOf(InterfaceAcknowledgement) = ()

    @model_validator(mode="after")
    def _each_change_once(self) -> PublishConfig:
        keys = [a.key() for a in self.acknowledged_interface_changes]
        problems = [
            (
                ("acknowledged_interface_changes", i),
                f"{a.change} of {'.'.join(filter(None, (a.table, a.column)))} is acknowledged more than once",
            )
            for i, a in enumerate(self.acknowledged_interface_changes)
            if keys.count(a.key()) > 1 and keys.index(a.key()) != i
        ]
        if problems:
            _raise_at(problems)
        return self


# ------------------------------------------------------------------------------------ operations: volume checks

VOLUME_SEVERITIES = ("warn", "block")
# The lake entities whose rows per day are watched (expectations/volume.py reads each from its staging model).
VOLUME_SOURCES = ("analytics_events", "feedback_survey_responses", "billing_invoices", "marketing_spend")


class _VolumeBand(_Section):
    """How a count is judged: inside median ± threshold × 1.4826 × MAD of its reference values (the MAD scaled to a
    standard deviation), never narrower than ± min_band_fraction of the median, nor than a count's Poisson noise."""

    severity: Choice(VOLUME_SEVERITIES) = "warn"  # block: nothing is published while a count is outside its band
    threshold: Number(0.5) = 3.5  # robust z-score: how many (MAD-estimated) standard deviations the band spans
    min_band_fraction: Number(0) = 0.1  # the band spans at least this share of the median on each side
    min_history: Integer(2) = 4  # fewer reference values than this: cold start, stated and not judged


class SourceVolume(_VolumeBand):
    """Rows per day of one source, each day against the days before it."""

    weekly: bool = False  # compare a day only with the same weekday (weekly-seasonal sources such as product usage)
    window_days: Integer(7) = 28  # reference days: the days of this many before the judged day
    lookback_days: Integer(1) = 14  # every run judges this many complete days before the newest (still filling) one
    # the band also spans threshold x the day-to-day relative noise learned from this many days before (0: off)
    noise_days: Integer(0) = 42

    @model_validator(mode="after")
    def _history_fits_the_window(self) -> SourceVolume:
        reachable = self.window_days // 7 if self.weekly else self.window_days
        if reachable < self.min_history:
            _raise_at(
                [
                    (
                        ("min_history",),
                        f"{self.min_history} reference days can never be found in a {self.window_days}-day window"
                        + (" of the same weekday" if self.weekly else ""),
                    )
                ]
            )
        return self


class MartVolume(_VolumeBand):
    """Rows of every published mart, each run against the runs before it."""

    min_band_fraction: Number(0) = 0.5  # marts grow with the data: only a halving or a 1.5x jump is out of band
    window_runs: Integer(2) = 10  # reference values: the counts the last this many runs observed

    @model_validator(mode="after")
    def _history_fits_the_window(self) -> MartVolume:
        if self.window_runs < self.min_history:
            _raise_at([(("min_history",), f"{self.min_history} runs can never fit a window of {self.window_runs}")])
        return self


def _keyed_sections(section: type[_Section], known: tuple[str, ...], what: str) -> Callable[[Any], dict[str, Any]]:
    """A validator of a mapping from names in ``known`` to ``section`` settings; an unknown name is "'x' is not
    <what> (known: ...)", located at its key."""

    def each(item: Any, loc: Location) -> Any:
        if loc[0] not in known:
            raise _problem(f"{loc[0]!r} is not {what} (known: {', '.join(known)})")
        return section.model_validate(item)

    return lambda value: _each(each, value, mapping=True)


_source_volumes = _keyed_sections(SourceVolume, VOLUME_SOURCES, "a watched source table")


class VolumeConfig(_Section):
    """Volume checks with memory: rows per day of each source and rows of each mart, against their history."""

    # Per watched source table; one without an entry is checked with SourceVolume's defaults.
    sources: Annotated[dict[str, SourceVolume], BeforeValidator(_source_volumes)] = Field(default_factory=dict)
    marts: MartVolume = Field(default_factory=MartVolume)

    def source(self, name: str) -> SourceVolume:
        if name not in VOLUME_SOURCES:
            raise KeyError(f"{name!r} is not a watched source table (known: {', '.join(VOLUME_SOURCES)})")
        return self.sources.get(name) or SourceVolume()


# ----------------------------------------------------------------------- publish: restated closed-period numbers

# The metrics of the dbt model fct_headline_metrics (its accepted_values test lists the same names).
HEADLINE_METRICS = (
    "dau",
    "wau",
    "mau",
    "funnel_conversion",
    "retention",
    "nps",
    "csat",
    "mrr",
    "refunds",
    "net_revenue",
    "new_customers",
    "cac",
)


class RestatementTolerance(_Section):
    """How far a closed-period value may move between releases unlisted: a change is a restatement when
    |new - old| > max(absolute, relative x |old|). A value appearing or disappearing (NULL <-> a number) always is."""

    absolute: Number(0) = 0.0  # in the metric's unit (users, share 0-1, NPS points, currency)
    relative: Number(0) = 0.0  # a share of the old value: 0.01 = 1 %


_tolerances = _keyed_sections(RestatementTolerance, HEADLINE_METRICS, "a headline metric")


class RestatementsConfig(_Section):
    """Restated numbers: each release compares the closed-period headline numbers with the release BI read before
    (publish/restatements.py) and lists each value that moved beyond its tolerance, with the landed files behind it."""

    default: RestatementTolerance = Field(default_factory=RestatementTolerance)  # metrics without their own entry
    tolerances: Annotated[dict[str, RestatementTolerance], BeforeValidator(_tolerances)] = Field(default_factory=dict)

    def tolerance(self, metric: str) -> RestatementTolerance:
        return self.tolerances.get(metric) or self.default


def _repeated(values: list[Any]) -> list[Any]:
    return sorted({v for v in values if v and values.count(v) > 1})


class DuckDBConfig(_Section):
    """Bounds of every DuckDB the pipeline opens (ingest, gates, publish, the portfolio step) and of dbt's: without
    them DuckDB takes up to 80 % of RAM and spills into its working directory. Applied by core/duckdb_connection.py
    and, for dbt, through the environment orchestration/dbt_cli.py gives the profile."""

    memory_limit: Annotated[str, _checked(_memory_limit_check)] = "4GB"  # per connection; above it DuckDB spills
    # Where DuckDB spills; a relative path is taken from the data directory. Default: <data dir>/tmp/duckdb.
    temp_directory: Annotated[Path | None, _checked(_directory_check)] = None
    threads: Integer(1) | None = None  # default: DuckDB's own (one per core)


class PipelineConfig(_Section):
    """The whole file. ``path`` is where it was read from (not a key of the file)."""

    _not_in_file: ClassVar[frozenset[str]] = frozenset({"path"})

    path: Path | None = None
    project: Annotated[dict[str, Any], BeforeValidator(_as_mapping)] = Field(default_factory=dict)  # documentation
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    funnels: ListOf(Funnel) = ()
    retention: ListOf(Retention) = ()
    jira: JiraConfig = Field(default_factory=JiraConfig)
    initiatives: ListOf(Initiative) = ()
    outcomes: OutcomesConfig = Field(default_factory=OutcomesConfig)
    feedback: FeedbackConfig = Field(default_factory=FeedbackConfig)
    finance: FinanceConfig = Field(default_factory=FinanceConfig)
    portfolio: PortfolioConfig = Field(default_factory=PortfolioConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    # Per source: how often it must deliver; a source without an entry is never reported stale.
    freshness: Annotated[dict[str, FreshnessExpectation], BeforeValidator(_freshness)] = Field(default_factory=dict)
    # Rows per source and day, and per mart, against the history of earlier runs (expectations/volume.py).
    volume: VolumeConfig = Field(default_factory=VolumeConfig)
    duckdb: DuckDBConfig = Field(default_factory=DuckDBConfig)
    # Closed-period headline numbers that changed since the previous release (publish/restatements.py).
    restatements: RestatementsConfig = Field(default_factory=RestatementsConfig)

    @model_validator(mode="after")
    def _references_resolve(self) -> PipelineConfig:
        """Checks across sections: names are unique, and every event and target metric names something defined."""
        problems: list[tuple[Location, str]] = []
        problems += [(("initiatives",), f"key {d!r} is listed more than once") for d in _repeated(self._keys())]
        for kind, items in (("funnels", self.funnels), ("retention", self.retention)):
            problems += [((kind,), f"name {d!r} is used more than once") for d in _repeated([x.name for x in items])]
        problems += self._target_metric_problems()
        known = set(self.analytics.known_events)
        if known:
            not_known = "is not in analytics.known_events"
            for i, funnel in enumerate(self.funnels):
                problems += [
                    (("funnels", i, "steps", j, "event"), f"{s.event!r} {not_known}")
                    for j, s in enumerate(funnel.steps)
                    if s.event not in known
                ]
            for i, x in enumerate(self.retention):
                problems += [
                    (("retention", i, k), f"{getattr(x, k)!r} {not_known}")
                    for k in ("start_event", "return_event")
                    if getattr(x, k) not in known
                ]
            for i, ini in enumerate(self.initiatives):
                problems += [
                    (("initiatives", i, "adoption_events", j), f"{e!r} {not_known}")
                    for j, e in enumerate(ini.adoption_events)
                    if e not in known
                ]
        if problems:
            _raise_at(problems)
        return self

    def _keys(self) -> list[str]:
        return [i.key for i in self.initiatives]

    def _target_metric_problems(self) -> list[tuple[Location, str]]:
        """A target metric must name a configured funnel (and one of its steps) or retention analysis."""
        by_funnel = {f.name: f for f in self.funnels}
        retention_names = {x.name for x in self.retention}
        problems: list[tuple[Location, str]] = []
        for i, ini in enumerate(self.initiatives):
            target, loc = ini.target_metric, ("initiatives", i, "target_metric")
            if target.get("type") == "funnel_step":
                funnel, step = by_funnel.get(target["funnel"]), target["step"]
                if funnel is None:
                    problems.append(((*loc, "funnel"), f"{target['funnel']!r} is not a configured funnel"))
                elif step > len(funnel.steps):
                    problems.append(
                        ((*loc, "step"), f"funnel {funnel.name!r} has {len(funnel.steps)} steps; got step {step}")
                    )
            if target.get("type") == "retention" and target["retention"] not in retention_names:
                problems.append(
                    ((*loc, "retention"), f"{target['retention']!r} is not a configured retention analysis")
                )
        return problems

    def dbt_vars(self) -> dict[str, Any]:
        """The configuration as dbt vars: the only way it reaches SQL, and the only place dbt's vars are defined."""
        return {
            "session_inactivity_minutes": self.analytics.session_inactivity_minutes,
            "split_sessions_on_vendor_session_change": self.analytics.split_sessions_on_vendor_session_change,
            "known_events": list(self.analytics.known_events),
            "funnels": [_funnel_var(f) for f in self.funnels],
            "retention": [
                {
                    "name": r.name,
                    "start_event": r.start_event,
                    "return_event": r.return_event,
                    "period": r.period,
                    "periods": list(r.periods),
                    "breakdown_property": r.breakdown_property,
                }
                for r in self.retention
            ],
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
        "simultaneous_events": funnel.simultaneous_events,
        "conversion_window_seconds": round(funnel.conversion_window_hours * 3600),
        "period": funnel.period,
        "breakdown_property": funnel.breakdown_property,
        "steps": [
            {"event": s.event, "filters": [{"property": f.property, "op": f.op, "value": f.value} for f in s.filters]}
            for s in funnel.steps
        ],
    }


# ------------------------------------------------------------------------------------------------------ loading


def parse_config(raw: Any, path: Path) -> PipelineConfig:
    """Validate the file's parsed YAML; every problem in one ConfigError, one line each."""
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{_format_location(loc)}: {message}" for loc, message in _collected(exc.errors())]
        raise ConfigError(f"invalid configuration {path}:\n  " + "\n  ".join(lines)) from None
    return config.model_copy(update={"path": path})


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, except that a key written twice in one mapping is an error instead of the last one winning."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(f"duplicate key {key!r} at line {line} (first written at line {seen[key]})")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(yaml.YAMLError):
    pass


def load_config(config_path: str | Path | None = None) -> PipelineConfig:
    """Read and validate ``config_path`` (default: the repository's config/pmw.yml)."""
    path = Path(config_path or DEFAULT_CONFIG_PATH).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKey as exc:
        raise ConfigError(f"configuration file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    if raw is None:
        # An empty file would otherwise validate as "every default", silently: no funnels, no initiatives.
        raise ConfigError(f"configuration file {path} is empty")
    return parse_config(raw, path)
