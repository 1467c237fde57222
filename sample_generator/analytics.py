"""Sample analytics exports with planted truths: Amplitude Export API ZIPs, Mixpanel raw JSONL, Segment tracks CSV.

One simulated product: anonymous devices browse, sign up once, then onboard, create reports and upgrade with
planted probabilities inside the 168 h activation window, and come back to create reports on day N with a planted
retention curve. Client events before the switch day are exported by Mixpanel, later ones by Amplitude; plan
upgrades always come from the billing backend through Segment (CSV). The same user and device ids everywhere.

Everything is deterministic for a seed: every user has its own ``random.Random`` (so a user's journey never
depends on how many users came before it), ZIP entries carry a fixed timestamp, gzip streams carry mtime 0 and no
file name, and lines are sorted before they are written.

Streaming: users are generated one at a time; their serialised lines are spilled to per-day temporary files (by
Amplitude upload day or Mixpanel project-local day) and each day is sorted and packed on its own, so memory grows
with the busiest day, not with the number of events.

The truths are computed from the generated events with the reference semantics of DESIGN.md (ordered funnel steps,
strictly later in time, each within the window measured from the step-1 event, inclusive; retention on day N as
the UTC calendar-day difference), so a warehouse built from these files must reproduce the realised figures
exactly, and the realised figures must sit within sampling error of the planted probabilities.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import operator
import os
import random
import tempfile
import zipfile
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

# Must equal analytics.mixpanel_project_timezone in config/pmw.yml (a test checks it).
MIXPANEL_TIMEZONE = "America/Los_Angeles"
AMPLITUDE_PROJECT_ID = 187520
SOURCES = ("amplitude", "mixpanel", "csv")
ENGINES = ("reference", "vectorised")  # generate_analytics's two ways of drawing the same model
# The company moved from Mixpanel to Amplitude on this day index (clamped to half the range for short ranges).
SWITCH_DAY = 20

SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
ACTIVATION_WINDOW_MS = 168 * HOUR
SHARING_WINDOW_MS = 24 * HOUR

ACTIVATION_STEPS = ("signed_up", "onboarding_completed", "report_created", "plan_upgraded")
PLATFORMS = ("iOS", "Android", "Web")  # drawn with equal weights, so the overall onboarding rate is their mean
ONBOARDING_BY_PLATFORM = {"iOS": 0.78, "Android": 0.62, "Web": 0.70}
P_ONBOARDING = 0.70
P_REPORT_AFTER_ONBOARDING = 0.60
P_UPGRADE_AFTER_REPORT = 0.30
# Of the users who miss a step inside the window, these do it after the window (must not count).
P_STEP_AFTER_WINDOW = {"onboarding_completed": 0.05, "plan_upgraded": 0.10}
RETENTION_PERIODS = (1, 3, 7, 14, 28)
MIN_DAYS = 31  # the shortest range in which day-28 cohorts and the 168 h window can elapse
# The daily sign-up rate falls linearly from (1 + this) to (1 - this) times its mean over the sign-up days. Users
# keep coming back for weeks (the retention curve never reaches 0), so an even rate makes the daily volume climb
# ~5 % a week to the end; this taper levels it off over the last weeks, where the volume check judges the days.
SIGNUP_RATE_TAPER = 0.2
RETENTION_DAY7 = 0.30
RETENTION_CURVE = "p(N) = min(0.6, 0.30 * (7 / N) ** 0.4)"
P_SHARE_PER_REPORT = 0.35
# Planted initiative outcomes (config/pmw.yml initiatives; a test checks the targets match). PROD-1 "Share reports
# with one click" lifts the share probability of every report created at or after its ship instant; PROD-2 ships
# with no effect at all (the null case). Windows: [ship - W, ship) and [ship, ship + W), W = outcomes.window_days.
P_SHARE_PER_REPORT_AFTER_PROD_1 = 0.60
OUTCOME_WINDOW_DAYS = 21
P_SHARE_INSIDE_WINDOW = 0.8  # a share is quick (30 s-30 min after the report) with this probability, else 25-72 h
SHARE_CHANNELS = (("email", 0.4), ("link", 0.4), ("slack", 0.2))
SHARING_COUNTED_CHANNELS = ("email", "link")
P_LATE_MOBILE_EVENT = 0.015  # mobile events uploaded a day or more after they happened (mess only)
P_MIXPANEL_DUPLICATE = 0.005

# name, ISO code, city, region; None = no geo-IP result
COUNTRIES: tuple[tuple[str, str, str, str] | None, ...] = (
    ("United States", "US", "San Francisco", "California"),
    ("United States", "US", "New York", "New York"),
    ("Germany", "DE", "München", "Bavaria"),
    ("France", "FR", "Paris", "Île-de-France"),
    ("Japan", "JP", "東京", "Tokyo"),
    ("Brazil", "BR", "São Paulo", "São Paulo"),
    ("India", "IN", "Bengaluru", "Karnataka"),
    ("United Kingdom", "GB", "London", "England"),
    ("Spain", "ES", "A Coruña", "Galicia"),
    None,
)
REPORT_TITLES = (
    "Weekly KPIs 📈",
    "Café revenue — Q1",
    "売上レポート 2024",
    "Résumé des ventes",
    "Churn deep-dive 🔍",
    'Funnel "activation", check',
    "用户留存分析",
    "Ünïcödé 🚀 test",
    "Plain report",
)
PAGES = ("/", "/reports", "/reports/new", "/dashboards", "/dashboards/überblick", "/settings", "/pricing", "/help")
SIGNUP_METHODS = ("email", "google", "sso")
PLANS = (("pro", 4900), ("team", 19900))  # monthly price in cents (USD); EUR is 10 % lower
_PLATFORM_PROFILES = {
    "iOS": ("ios", "17.3.1", "iPhone 14", "Apple iPhone", "amplitude-swift/1.4.2", "swift", "iOS"),
    "Android": ("android", "14", "Pixel 7", "Google Pixel", "amplitude-android/1.12.1", "android", "Android"),
    "Web": ("Chrome", "121", "Mac", "Mac", "amplitude-ts/2.5.0", "web", "Mac OS X"),
}

_AMPLITUDE_MEMBER = "{pid}/{pid}_{day}_{hour}#{shard}.json.gz"
_AMPLITUDE_KEY_LEN = len("HHS0000000000000\t")  # spill sort key: hour, shard, upload epoch ms
_MIXPANEL_KEY_LEN = len("00000000000\t")  # spill sort key: shifted epoch seconds


def _reject(obj: Any) -> Any:
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# json.dumps builds a new C encoder on every call; building it once makes small objects about 3x cheaper.
_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_ENCODER = (
    _make_encoder(None, _reject, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
    if _make_encoder is not None
    else None
)


def _json(obj: Any) -> str:
    """JSON text like ``json.dumps(obj)``."""
    if _ENCODER is None:
        return json.dumps(obj)
    return "".join(_ENCODER(obj, 0))


# --------------------------------------------------------------------------------------------------- truths


@dataclass(frozen=True)
class MalformedLine:
    """One deliberately broken line; ingest must quarantine exactly these."""

    source: str  # amplitude | mixpanel | csv
    file: str  # relative to the landing dir, POSIX separators
    member: str | None  # ZIP member for Amplitude, else None
    line: int  # 1-based physical line in the member (or file); for CSV the header is line 1
    kind: str  # not_json | missing_event_type | non_numeric_time | vendor_trailer | unparseable_timestamp


@dataclass(frozen=True)
class FunnelTruth:
    name: str
    steps: tuple[str, ...]
    window_hours: float
    planted_step_probabilities: tuple[float, ...]  # P(step k | step k-1 reached); the first is 1.0
    planted_onboarding_by_platform: dict[str, float]
    # Unique users reaching each step (first_entry); every user signs up once, so any_entry gives the same.
    realised_step_users: tuple[int, ...]
    realised_step_users_any_entry: tuple[int, ...]
    # Sign-ups go on to the last day, so the last window's cohorts are incomplete: only sign-ups before this instant
    # (the end of the data minus the window) have their whole window inside the data.
    complete_signups_before: datetime
    # Only sign-ups whose 168 h window closed before the data ends: the sample to compare with the planted rates.
    realised_step_users_window_elapsed: tuple[int, ...]
    realised_by_platform: dict[str, tuple[int, ...]]  # breakdown by the platform of the signed_up event
    realised_by_platform_window_elapsed: dict[str, tuple[int, ...]]  # the same, complete windows only
    realised_by_month: dict[str, tuple[int, ...]]  # by the month (YYYY-MM, UTC) of the signed_up event
    # For steps 2..n: users who reached step k-1 inside the window and did step k only after it.
    after_window_users: tuple[int, ...]


@dataclass(frozen=True)
class SharingTruth:
    name: str
    steps: tuple[str, ...]
    window_hours: float
    counted_channels: tuple[str, ...]
    planted_share_probability_per_report: float
    planted_channel_weights: dict[str, float]
    realised_step_users: tuple[int, ...]  # unique users, any_entry, over the whole range


@dataclass(frozen=True)
class RetentionTruth:
    name: str
    start_event: str
    return_event: str
    periods: tuple[int, ...]
    planted_day7: float
    planted_curve: str
    # period -> cohort date (ISO) -> (users in the cohort, users with the return event on day N); complete cohorts
    # only: those whose day N ended before the last day of the data (the mart's is_complete: ended by the newest
    # event, which falls on the last day)
    by_cohort: dict[int, dict[str, tuple[int, int]]]
    complete_cohorts_through: dict[int, date]  # period -> the last complete cohort's date
    # Summed over the complete cohorts of day 7 (day 7 is never altered by the funnel).
    realised_day7_cohort_users: int
    realised_day7_retained: int


@dataclass(frozen=True)
class OutcomeTruth:
    """One launched initiative's target metric over equal windows before and after its ship instant.

    Metric (the funnel_step definition of fct_initiative_outcomes): per user, the FIRST step-1 event inside the
    window is the entry; success = the path from it reaches step 2 (strictly later, within the funnel's conversion
    window, step filters applied). Planted values are closed forms per entry: PROD-1 (sharing, step 2: a share by
    email or link within 24 h of the user's first report) = p_share * 0.8 (quick share) * 0.8 (email or link),
    0.224 before and 0.384 after (lift 0.16), counting the first report's own share only; other reports' shares
    landing in the same 24 h raise both sides by about 0.04 and the lift hardly at all (expected_* apply the planted
    probabilities to every report of the realised entries). PROD-2 (activation, step 2: onboarding within 168 h of
    signing up) = the mean platform rate, 0.70, on both sides. The realised figures are counted from the generated
    events with the mart's exact definition.
    """

    initiative_key: str
    funnel: str
    step: int
    step_event: str
    ship_at: datetime  # UTC
    window_days: int
    before_window_start: datetime
    after_window_end: datetime
    conversion_window_hours: float
    is_window_elapsed: bool  # after_window_end + the conversion window <= the end of the data
    planted_before: float
    planted_after: float
    planted_lift: float  # planted_after - planted_before
    # The same planted probabilities applied to the realised entries (their platform, or every report inside each
    # entry's 24 h, the lift applying to reports from the ship instant on): the expected success rates of exactly
    # these samples. The realised rates differ from these by sampling noise only.
    expected_before: float | None
    expected_after: float | None
    expected_lift: float | None
    realised_before_sample_size: int
    realised_before_successes: int
    realised_after_sample_size: int
    realised_after_successes: int


@dataclass(frozen=True)
class AnalyticsTruths:
    seed: int
    users: int
    days: int
    events_per_user: int
    mess: bool
    start: date
    end: date  # exclusive: no event happens on or after this UTC date
    switch_date: date  # first UTC day exported by Amplitude; earlier client events are in Mixpanel
    mixpanel_timezone: str
    amplitude_project_id: int
    activation: FunnelTruth
    sharing: SharingTruth
    retention: RetentionTruth
    events_by_source: dict[str, int]  # distinct events: what staging holds after deduplication
    events_by_source_and_name: dict[str, dict[str, int]]
    lines_by_source: dict[str, int]  # well-formed event lines written, duplicates included
    exact_duplicates_by_source: dict[str, int]  # lines repeating another line's event key
    late_events_by_source: dict[str, int]  # received 24 h or more after they happened
    malformed: tuple[MalformedLine, ...]
    signup_days: int  # users sign up on days [0, signup_days), at a rate tapering by SIGNUP_RATE_TAPER
    outcomes: dict[str, OutcomeTruth]  # per launched initiative; empty without launches
    users_signed_up: int
    signups_by_day: dict[str, int]  # UTC day (ISO) -> users who signed up on it, from the signed_up events
    users_identified_later: int  # anonymous on an earlier day than their sign-up day
    anonymous_only_devices: int  # visitors that never sign up
    utm_users: int  # signed-up users with planted UTM touches (planted_utm_plan); billing's truths attribute them
    mixpanel_insert_id_collisions: tuple[str, ...]  # $insert_id shared by two different events (not duplicates)
    files: tuple[str, ...]  # relative to the landing dir, POSIX separators, sorted

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings, tuples as lists, mapping keys as strings)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return value.as_posix()
    return value


# ------------------------------------------------------------------------------------------- UTM touches

# First-touch UTM attribution (fct_customer_acquisition's second rule). A share of signed-up Web users arrives
# through a campaign link; each vendor records it where its web SDK does:
# * Mixpanel (JavaScript library): utm_source/utm_medium/utm_campaign as super properties, so every event from the
#   touch on carries the latest touch's values; $initial_referrer / $initial_referring_domain ("$direct" without a
#   referrer) on every event.
# * Amplitude (Browser SDK web attribution): user_properties utm_* ($set, the latest touch) and initial_utm_*
#   ($setOnce: the first touch, or "EMPTY" when the first visit had none), with referrer / initial_referrer.
# Kinds: "first_visit" (the touch is the user's first event), "first_visit_then_other" (a later second campaign
# that must not override the first), "direct_then_touch" (a first visit without UTM, the touch a day or more
# later). Drawn from a stream of their own, so no other planted truth moves.
P_UTM_USER = 0.6  # of signed-up Web users
UTM_KINDS = (("first_visit", 0.5), ("first_visit_then_other", 0.25), ("direct_then_touch", 0.25))
# (utm_source, utm_medium, utm_campaign, referrer or None): unmapped sources, so they pass through
# var('channel_map') lower-cased as channels of their own with no spend.
UTM_FIRST_CAMPAIGNS = (
    ("newsletter", "email", "weekly_digest", None),
    ("producthunt", "referral", "launch_day", "https://www.producthunt.com/products/pmw"),
)
UTM_LATER_CAMPAIGN = ("linkedin", "paid_social", "retargeting_q1", "https://www.linkedin.com/")
_NOT_A_TOUCH = ("plan_upgraded", "$identify")  # server-side (Segment CSV) and identity events carry no page UTMs


@dataclass(frozen=True)
class UtmTouch:
    at_ms: int  # the event that carries it (every later event carries it too, until the next touch)
    source: str
    medium: str
    campaign: str
    referrer: str | None


@dataclass(frozen=True)
class UtmPlan:
    kind: str
    touches: tuple[UtmTouch, ...]  # in time order; touches[0] is the first touch

    @property
    def first_visit_is_direct(self) -> bool:
        return self.kind == "direct_then_touch"


def planted_utm_plan(seed: int, profile: _Profile, events: list[Event]) -> UtmPlan | None:
    """The UTM touches planted for this signed-up user's events (None: the user never came through a campaign).

    A pure function of the seed, the user's index and events: the analytics writer plants it and the billing
    truths replay it, so both agree on which customer first-touch attribution gives which channel.
    """
    if profile.user_id is None or profile.platform != "Web":  # UTM links land in a browser: web SDKs only
        return None
    rng = random.Random(f"utm:{seed}:{profile.index}")
    if rng.random() >= P_UTM_USER:
        return None
    kind = weighted_choice(rng, UTM_KINDS)
    first_campaign = UTM_FIRST_CAMPAIGNS[_below(rng, len(UTM_FIRST_CAMPAIGNS))]
    times = sorted(e[0] for e in events if e[1] not in _NOT_A_TOUCH)
    if not times:
        return None
    later = [t for t in times if t >= times[0] + DAY]
    if kind == "direct_then_touch":
        if not later:
            return None
        return UtmPlan(kind, (UtmTouch(later[_below(rng, len(later))], *first_campaign),))
    first = UtmTouch(times[0], *first_campaign)
    if kind == "first_visit_then_other" and later:
        return UtmPlan(kind, (first, UtmTouch(later[_below(rng, len(later))], *UTM_LATER_CAMPAIGN)))
    return UtmPlan("first_visit", (first,))


def weighted_choice(rng: random.Random, options: Sequence[tuple[Any, float]]) -> Any:
    """One option, drawn with probability proportional to its weight (one rng draw)."""
    r = rng.random() * sum(w for _o, w in options)
    for option, weight in options:
        r -= weight
        if r < 0:
            return option
    return options[-1][0]


def _referring_domain(referrer: str | None) -> str:
    return referrer.split("/")[2] if referrer else "$direct"


def _utm_event_properties(plan: UtmPlan, t: int) -> dict[str, Any]:
    """Mixpanel: the UTM super properties in force at ``t`` and the initial referrer of the first visit."""
    first_referrer = None if plan.first_visit_is_direct else plan.touches[0].referrer
    props: dict[str, Any] = {
        "$initial_referrer": first_referrer or "$direct",
        "$initial_referring_domain": _referring_domain(first_referrer),
    }
    current = [touch for touch in plan.touches if touch.at_ms <= t]
    if current:
        touch = current[-1]
        props.update(utm_source=touch.source, utm_medium=touch.medium, utm_campaign=touch.campaign)
    return props


def _utm_user_properties(plan: UtmPlan, t: int) -> dict[str, Any]:
    """Amplitude: the web attribution user properties in force at ``t``."""
    current = [touch for touch in plan.touches if touch.at_ms <= t]
    if plan.first_visit_is_direct:
        initial = dict.fromkeys(("initial_utm_source", "initial_utm_medium", "initial_utm_campaign"), "EMPTY")
        initial.update(initial_referrer="EMPTY", initial_referring_domain="EMPTY")
    else:
        first = plan.touches[0]
        initial = {
            "initial_utm_source": first.source,
            "initial_utm_medium": first.medium,
            "initial_utm_campaign": first.campaign,
            "initial_referrer": first.referrer or "EMPTY",
            "initial_referring_domain": _referring_domain(first.referrer) if first.referrer else "EMPTY",
        }
    if current:
        touch = current[-1]
        initial.update(utm_source=touch.source, utm_medium=touch.medium, utm_campaign=touch.campaign)
        if touch.referrer:
            initial.update(referrer=touch.referrer, referring_domain=_referring_domain(touch.referrer))
    return initial


# --------------------------------------------------------------------------------------------------- journeys

# (event time in epoch ms, event name, vendor session start in ms or -1, properties or None, identified)
Event = tuple[int, str, int, dict[str, Any] | None, bool]


@dataclass
class _Profile:
    index: int
    user_id: str | None  # None for visitors who never sign up
    device_id: str
    platform: str
    country: tuple[str, str, str, str] | None
    user_id_as_number: bool  # Amplitude writes this user's id as a JSON number (a real-world quirk)
    null_user_properties: bool
    plan: str = "free"
    signup_method: str = "email"
    web_os: str = "Mac OS X"
    signup_ms: int | None = None


def _int(rng: random.Random, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi]; several times faster than ``randint`` and just as deterministic."""
    return lo + int(rng.random() * (hi - lo + 1))


def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _profile(rng: random.Random, index: int, user_id: str | None) -> _Profile:
    platform = PLATFORMS[_below(rng, 3)]
    device = _uuid(rng)
    return _Profile(
        index=index,
        user_id=user_id,
        device_id=device.upper() if platform == "iOS" else device,
        platform=platform,
        country=COUNTRIES[_below(rng, len(COUNTRIES))],
        user_id_as_number=index % 7 == 3,
        null_user_properties=rng.random() < 0.05,
        signup_method=SIGNUP_METHODS[_below(rng, 3)],
        web_os="Mac OS X" if rng.random() < 0.6 else "Windows",
    )


def retention_probability(day_n: int) -> float:
    """The planted chance that a user creates a report on day N after signing up; exactly 0.30 on day 7."""
    return min(0.6, RETENTION_DAY7 * (7 / day_n) ** 0.4)


class _Journey:
    """Collects one user's events; times before the switch are floored to whole seconds (Mixpanel's resolution)."""

    def __init__(self, rng: random.Random, profile: _Profile, switch_ms: int, end_ms: int):
        self.rng = rng
        self.profile = profile
        self.switch_ms = switch_ms
        self.end_ms = end_ms
        self.mobile = profile.platform != "Web"
        self.identified_from = profile.signup_ms if profile.signup_ms is not None else end_ms
        self.events: list[Event] = []

    def add(self, t: int, name: str, session: int, props: dict[str, Any] | None = None) -> int | None:
        if t >= self.end_ms:
            return None  # after the export range: it never happened as far as the data is concerned
        t = self.floor(t, name)
        self.events.append((t, name, session, props, t >= self.identified_from))
        return t

    def floor(self, t: int, name: str) -> int:
        """Mixpanel exports whole seconds; the billing backend (plan_upgraded) keeps milliseconds."""
        return t - t % SECOND if t < self.switch_ms and name != "plan_upgraded" else t

    def session(self, t: int) -> int:
        """Start a vendor session at t; the mobile SDKs log session_start."""
        if self.mobile:
            self.add(t, "session_start", t)
        return t

    def browse(self, start: int, pages: int, until: int | None = None) -> int:
        """A session of page views from start; returns the time of the last one."""
        rng = self.rng
        session = self.session(start)
        t = start
        for _ in range(pages):
            t += _int(rng, 10 * SECOND, 4 * MINUTE)
            if until is not None and t >= until:
                break
            page = PAGES[_below(rng, len(PAGES))]
            self.add(t, "page_viewed", session, {"path": page, "load_ms": _int(rng, 80, 2400)})
        return t


def _report_props(rng: random.Random) -> dict[str, Any]:
    return {
        "report_id": f"r_{rng.getrandbits(48):012x}",
        "title": REPORT_TITLES[_below(rng, len(REPORT_TITLES))],
        "row_count": _int(rng, 1, 5000),
    }


def _user_journey(
    j: _Journey,
    *,
    su_day: int,
    start_ms: int,
    last_day: int,
    events_per_user: int,
    mess: bool,
    share_lift_from_ms: int | None = None,
) -> bool:
    """Generate one signed-up user's events into j; returns whether the user was anonymous on an earlier day.

    ``share_lift_from_ms``: reports created at or after this instant (PROD-1's ship) are shared with the lifted
    probability. The draws are the same either way; only their thresholds change.
    """
    rng = j.rng
    t_su_planned = start_ms + su_day * DAY + _int(rng, 30 * MINUTE, 21 * HOUR)

    # Anonymous before signing up: some browse on earlier days (identify later), everyone in the signup session.
    identified_later = False
    if mess and su_day > 0 and rng.random() < 0.15:
        identified_later = True
        for back in sorted(rng.sample(range(1, min(3, su_day) + 1), _int(rng, 1, min(3, su_day))), reverse=True):
            j.browse(start_ms + (su_day - back) * DAY + _int(rng, 0, 20 * HOUR), _int(rng, 1, 5))
    signup_session = j.session(t_su_planned - _int(rng, 5, 25) * MINUTE)
    j.browse(signup_session, _int(rng, 1, 3), until=t_su_planned - SECOND)
    j.identified_from = j.floor(t_su_planned, "signed_up")  # from the sign-up on, events carry the user id
    t_su = j.add(t_su_planned, "signed_up", signup_session, {"method": j.profile.signup_method})
    assert t_su is not None  # sign-up days are inside the range by construction
    j.profile.signup_ms = t_su
    j.add(t_su + SECOND, "$identify", -1)
    window_end = t_su + ACTIVATION_WINDOW_MS

    # Step 2: onboarding inside the window with the platform's rate; a few do it only after the window.
    t_onb: int | None = None
    if rng.random() < ONBOARDING_BY_PLATFORM[j.profile.platform]:
        quick = rng.random() < 0.8
        delay = _int(rng, 2 * MINUTE, 90 * MINUTE) if quick else _int(rng, 1 * DAY, 5 * DAY)
        session = signup_session if delay < 20 * MINUTE else j.session(t_su + delay - 30 * SECOND)
        t_onb = j.add(t_su + delay, "onboarding_completed", session, {"steps_skipped": _int(rng, 0, 3)})
    elif rng.random() < P_STEP_AFTER_WINDOW["onboarding_completed"]:
        t_late = window_end + _int(rng, 1 * HOUR, 72 * HOUR)
        j.add(t_late, "onboarding_completed", j.session(t_late - MINUTE), {"steps_skipped": 0})
    converts_step3 = t_onb is not None and rng.random() < P_REPORT_AFTER_ONBOARDING

    reports: list[int] = []

    def report_at(t: int, session: int) -> None:
        props = _report_props(rng)
        t_report = j.add(t, "report_created", session, props)
        if t_report is None:
            return
        reports.append(t_report)
        lifted = share_lift_from_ms is not None and t_report >= share_lift_from_ms
        if rng.random() < (P_SHARE_PER_REPORT_AFTER_PROD_1 if lifted else P_SHARE_PER_REPORT):
            r = rng.random()
            channel = "email" if r < 0.4 else "link" if r < 0.8 else "slack"
            share_props = {"report_id": props["report_id"], "channel": channel}
            if rng.random() < P_SHARE_INSIDE_WINDOW:
                j.add(t_report + _int(rng, 30 * SECOND, 30 * MINUTE), "report_shared", session, share_props)
            else:  # well outside the 24 h sharing window
                t_share = t_report + _int(rng, 25 * HOUR, 72 * HOUR)
                j.add(t_share, "report_shared", j.session(t_share - MINUTE), share_props)

    # Retention: a report on day N with the planted curve. Day-7 reports fall after the activation window, so the
    # funnel never touches day 7. Users planted not to convert at step 3 skip reports between onboarding and the
    # window end (that only thins days 1-6); days 1-6 end at least 30 min before the window does.
    for n in range(1, last_day - su_day + 1):
        if rng.random() >= retention_probability(n):
            continue
        day_start = start_ms + (su_day + n) * DAY
        if n == 7:
            t = _int(rng, window_end + 5 * MINUTE, day_start + DAY - MINUTE)
        else:
            t = day_start + _int(rng, 5 * MINUTE, DAY - 5 * MINUTE)
        if t_onb is not None and not converts_step3 and t_onb - 2 * SECOND <= t <= window_end + MINUTE:
            continue
        session = j.session(t - _int(rng, 1, 5) * MINUTE)
        j.add(session + 20 * SECOND, "page_viewed", session, {"path": "/reports/new", "load_ms": _int(rng, 80, 2400)})
        report_at(t, session)

    t_step3: int | None = None
    if converts_step3:
        assert t_onb is not None
        inside = [r for r in reports if t_onb < r <= window_end]
        if not inside:  # on the onboarding day (never day 7): at most 5 d + 23 h after signing up
            t_first = t_onb + _int(rng, 1 * MINUTE, 45 * MINUTE)
            report_at(t_first, j.session(t_first - 30 * SECOND))
            inside = [r for r in reports if t_onb < r <= window_end]
        t_step3 = min(inside) if inside else None

    # Step 4 comes from the billing backend (Segment CSV); ms resolution, so no flooring concerns.
    if t_step3 is not None:
        if rng.random() < P_UPGRADE_AFTER_REPORT:
            room = window_end - 2 * MINUTE - t_step3  # at least ~30 min, see the retention comment
            t_up = t_step3 + _int(rng, min(10 * MINUTE, room // 2), min(48 * HOUR, room))
            j.add(t_up, "plan_upgraded", -1, _plan_props(rng, j.profile))
        elif rng.random() < P_STEP_AFTER_WINDOW["plan_upgraded"]:
            j.add(window_end + _int(rng, 1 * HOUR, 96 * HOUR), "plan_upgraded", -1, _plan_props(rng, j.profile))

    if rng.random() < 0.25:
        t_set = t_su + _int(rng, 1 * HOUR, 20 * DAY)
        value = ("dark", "light", "système")[_below(rng, 3)]
        j.add(t_set, "settings_changed", j.session(t_set - MINUTE), {"setting": "theme", "value": value})

    # Background browsing: events_per_user page views on average, decaying with time since sign-up. Sessions that
    # would fall after the range are not exported (add() drops them), as for any user still active at the end: folding
    # them back into the range would pile a late sign-up's whole future onto the last days.
    for _ in range(_int(rng, 0, max(0, round(2 * events_per_user / 5)))):
        day = su_day + int(rng.expovariate(0.1))
        j.browse(start_ms + day * DAY + _int(rng, 0, 22 * HOUR), _int(rng, 1, 9))
    return identified_later


# Initiative key -> (funnel, step events, conversion window ms, planted P(success) before, after): the launches
# generate_analytics accepts, the target metrics config/pmw.yml gives them (a test checks it).
PLANTED_OUTCOMES: dict[str, tuple[str, tuple[str, str], int, float, float]] = {
    "PROD-1": (
        "sharing",
        ("report_created", "report_shared"),
        SHARING_WINDOW_MS,
        P_SHARE_PER_REPORT * P_SHARE_INSIDE_WINDOW * 0.8,  # email or link: 0.4 + 0.4 of the channels
        P_SHARE_PER_REPORT_AFTER_PROD_1 * P_SHARE_INSIDE_WINDOW * 0.8,
    ),
    "PROD-2": ("activation", ("signed_up", "onboarding_completed"), ACTIVATION_WINDOW_MS, P_ONBOARDING, P_ONBOARDING),
}


def launch_instants(launches: dict[str, datetime] | None) -> dict[str, int]:
    """Validated ship instants (epoch ms) by initiative key; every key must have a planted outcome."""
    out: dict[str, int] = {}
    for key, moment in (launches or {}).items():
        if key not in PLANTED_OUTCOMES:
            raise ValueError(f"launches[{key!r}]: no planted outcome for it (known: {', '.join(PLANTED_OUTCOMES)})")
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ValueError(f"launches[{key!r}] must be a timezone-aware datetime; got {moment!r}")
        out[key] = round(moment.timestamp() * 1000)
    return out


def signup_fraction(uniform: Any) -> Any:
    """Where in the sign-up days a user signs up, in [0, 1), from a uniform draw in [0, 1) (a float or a numpy
    array): the inverse of the CDF (1 + T) x - T x^2 of the linearly tapering rate, T = SIGNUP_RATE_TAPER."""
    taper = SIGNUP_RATE_TAPER
    return ((1 + taper) - ((1 + taper) ** 2 - 4 * taper * uniform) ** 0.5) / (2 * taper)


def resolve_signup_days(days: int, signup_days: int | None) -> int:
    """Users sign up on days [0, signup_days) at a slowly tapering rate (SIGNUP_RATE_TAPER); default every day.

    A real product's sign-ups do not stop on one day: when they stop before the end, the sign-up day's events (about
    an eighth of a day's volume) vanish from one day to the next, a drop the analytics volume check must flag.
    Sign-ups to the last day keep the daily volume smooth; the cohorts whose windows have not elapsed by the end are
    the incomplete ones, and the truths count them apart."""
    if signup_days is None:
        return days
    if not 1 <= signup_days <= days:
        raise ValueError(f"signup_days must be between 1 and days = {days}; got {signup_days}")
    return signup_days


def signed_up_journey(
    seed: int,
    index: int,
    *,
    days: int,
    start: date,
    events_per_user: int,
    mess: bool,
    signup_days: int | None = None,
    launches: dict[str, datetime] | None = None,
) -> tuple[random.Random, _Profile, _Journey, bool]:
    """Signed-up user ``index`` of ``generate_analytics`` with the same arguments: (its random stream after the
    journey, profile, journey, identified later). Every replay (billing customers, survey people) goes through here,
    so the journeys cannot drift apart."""
    start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
    end_ms = start_ms + days * DAY
    switch_ms = start_ms + min(SWITCH_DAY, days // 2) * DAY
    span = resolve_signup_days(days, signup_days)
    rng = random.Random((seed << 40) | index)  # one stream per user: journeys don't depend on each other
    profile = _profile(rng, index, str(100_000 + index))
    su_day = min(int(span * signup_fraction(rng.random())), span - 1)
    journey = _Journey(rng, profile, switch_ms, end_ms)
    identified_later = _user_journey(
        journey, su_day=su_day, start_ms=start_ms, last_day=days - 1, events_per_user=events_per_user, mess=mess,
        share_lift_from_ms=launch_instants(launches).get("PROD-1"),
    )  # fmt: skip
    return rng, profile, journey, identified_later


def _plan_props(rng: random.Random, profile: _Profile) -> dict[str, Any]:
    plan, cents = PLANS[0] if rng.random() < 0.75 else PLANS[1]
    currency = "USD" if rng.random() < 0.7 else "EUR"
    if currency == "EUR":
        cents = cents * 9 // 10
    profile.plan = plan
    coupon = ("", "", "", "SPRING24", 'BF, "2023"', "ÉTÉ-10")[_below(rng, 6)]
    return {"plan": plan, "currency": currency, "revenue": f"{cents // 100}.{cents % 100:02d}", "coupon": coupon}


def _visitor_journey(j: _Journey, *, start_ms: int, days: int) -> None:
    rng = j.rng
    for _ in range(_int(rng, 1, 3)):
        j.browse(start_ms + _below(rng, days) * DAY + _int(rng, 0, 22 * HOUR), _int(rng, 1, 6))


# --------------------------------------------------------------------------------------------------- truths from events


class _TruthAccumulator:
    def __init__(self, start_ms: int, end_ms: int, days: int, launch_ms: dict[str, int] | None = None):
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.days = days
        self.launch_ms = dict(launch_ms or {})
        # initiative key -> [before entries, before successes, after entries, after successes]
        self.outcomes: dict[str, list[int]] = {key: [0, 0, 0, 0] for key in self.launch_ms}
        # initiative key -> [before, after] sums over entries of the planted success probability given the entry
        self.expected: dict[str, list[float]] = {key: [0.0, 0.0] for key in self.launch_ms}
        n = len(ACTIVATION_STEPS)
        self.first_entry = [0] * n
        self.any_entry = [0] * n
        self.elapsed = [0] * n
        self.after_window = [0] * (n - 1)
        self.by_platform = {p: [0] * n for p in PLATFORMS}
        self.by_platform_elapsed = {p: [0] * n for p in PLATFORMS}
        self.signups_by_day = [0] * days
        self.by_month: dict[str, list[int]] = defaultdict(lambda: [0] * n)
        self.sharing = [0, 0]
        self.retention: dict[int, dict[str, list[int]]] = {p: defaultdict(lambda: [0, 0]) for p in RETENTION_PERIODS}
        self.day7 = [0, 0]

    def add_user(self, profile: _Profile, events: list[Event]) -> None:
        times: dict[str, list[int]] = defaultdict(list)
        shares: list[int] = []
        for t, name, _s, props, _i in events:
            times[name].append(t)
            if name == "report_shared" and props and props.get("channel") in SHARING_COUNTED_CHANNELS:
                shares.append(t)
        for lst in times.values():
            lst.sort()
        shares.sort()
        step_times = [times.get(s, []) for s in ACTIVATION_STEPS]
        starts = step_times[0]
        if starts:
            depth, last = _funnel_path(step_times, starts[0], ACTIVATION_WINDOW_MS)
            depth_any = max(_funnel_path(step_times, s, ACTIVATION_WINDOW_MS)[0] for s in starts)
            signup = starts[0]
            month = datetime.fromtimestamp(signup / 1000, UTC).strftime("%Y-%m")
            elapsed = signup + ACTIVATION_WINDOW_MS < self.end_ms
            for k in range(depth):
                self.first_entry[k] += 1
                self.by_platform[profile.platform][k] += 1
                self.by_month[month][k] += 1
                if elapsed:
                    self.elapsed[k] += 1
                    self.by_platform_elapsed[profile.platform][k] += 1
            for k in range(depth_any):
                self.any_entry[k] += 1
            if depth < len(ACTIVATION_STEPS) and any(t > last for t in step_times[depth]):
                self.after_window[depth - 1] += 1

            su_day = (signup - self.start_ms) // DAY
            self.signups_by_day[su_day] += 1
            report_days = {(t - self.start_ms) // DAY for t in times.get("report_created", [])}
            cohort = (datetime.fromtimestamp(self.start_ms / 1000, UTC) + timedelta(days=su_day)).date().isoformat()
            for period in RETENTION_PERIODS:
                if self.period_complete(su_day, period):
                    cell = self.retention[period][cohort]
                    cell[0] += 1
                    cell[1] += (su_day + period) in report_days
            if self.period_complete(su_day, 7):
                self.day7[0] += 1
                self.day7[1] += (su_day + 7) in report_days
        for key, ship in self.launch_ms.items():
            self._add_outcome(key, ship, profile, times, shares)
        reports = times.get("report_created", [])
        if reports:
            self.sharing[0] += 1
            if any(r < s <= r + SHARING_WINDOW_MS for r in reports for s in shares):
                self.sharing[1] += 1

    def period_complete(self, su_day: Any, period: int) -> Any:
        """Whether day ``period`` of the cohort of day index ``su_day`` (an int or a numpy array) is complete as
        fct_retention_cohorts.is_complete decides: the period ended by the newest event. That event falls on the
        last day, which is therefore never a closed day N (the data is as of an instant during it)."""
        return su_day + period < self.days - 1

    def _add_outcome(
        self, key: str, ship: int, profile: _Profile, times: dict[str, list[int]], shares: list[int]
    ) -> None:
        """The fct_initiative_outcomes funnel_step definition: the user's first step-1 event in a window is the
        entry; success = a step-2 event strictly after it and no later than entry + conversion window."""
        _funnel, (first, second), window_ms, _before, _after = PLANTED_OUTCOMES[key]
        seconds = shares if second == "report_shared" else times.get(second, [])  # sharing counts email/link only
        cell = self.outcomes[key]
        span = OUTCOME_WINDOW_DAYS * DAY
        for side, (lo, hi) in enumerate(((ship - span, ship), (ship, ship + span))):
            entry = next((t for t in times.get(first, []) if lo <= t < hi), None)
            if entry is None:
                continue
            cell[2 * side] += 1
            cell[2 * side + 1] += any(entry < t <= entry + window_ms for t in seconds)
            self.expected[key][side] += _success_probability(key, ship, entry, profile, times)

    def outcome_truth(self, key: str) -> OutcomeTruth:
        funnel, steps, window_ms, before, after = PLANTED_OUTCOMES[key]
        ship = self.launch_ms[key]
        span = OUTCOME_WINDOW_DAYS * DAY
        n0, s0, n1, s1 = self.outcomes[key]
        e0, e1 = self.expected[key]
        return OutcomeTruth(
            initiative_key=key, funnel=funnel, step=2, step_event=steps[1], ship_at=_utc_ms(ship),
            window_days=OUTCOME_WINDOW_DAYS, before_window_start=_utc_ms(ship - span),
            after_window_end=_utc_ms(ship + span), conversion_window_hours=window_ms / HOUR,
            is_window_elapsed=ship + span + window_ms <= self.end_ms, planted_before=round(before, 10),
            planted_after=round(after, 10), planted_lift=round(after - before, 10),
            expected_before=e0 / n0 if n0 else None, expected_after=e1 / n1 if n1 else None,
            expected_lift=e1 / n1 - e0 / n0 if n0 and n1 else None,
            realised_before_sample_size=n0, realised_before_successes=s0,
            realised_after_sample_size=n1, realised_after_successes=s1,
        )  # fmt: skip


def _success_probability(key: str, ship: int, entry: int, profile: _Profile, times: dict[str, list[int]]) -> float:
    """The planted chance that an entry succeeds, given the user's realised event times.

    PROD-1: each report r is shared by email or link with p_share(r) * 0.8 (p_share lifted for reports created from
    the ship instant on), independently; the share lands 30 s-30 min later with probability 0.8, else 25-72 h later
    (uniform delays). It counts when it lands in (entry, entry + 24 h], so a slow share of a report from the days
    before the entry counts too. PROD-2: the platform's onboarding rate (onboarding always lands within 5 days of
    the user's one sign-up when it happens inside the 168 h window).
    """
    if key == "PROD-2":
        return ONBOARDING_BY_PLATFORM[profile.platform]
    lo, hi = entry + 1, entry + SHARING_WINDOW_MS  # where a counted share lands (ms resolution)

    def lands(r: int, a: int, b: int) -> float:  # P(r + d in [lo, hi]) for d uniform on the integers [a, b]
        return max(0, min(b, hi - r) - max(a, lo - r) + 1) / (b - a + 1)

    miss = 1.0
    for r in times.get("report_created", []):
        if r + 72 * HOUR < lo or r > hi:
            continue
        p_share = P_SHARE_PER_REPORT_AFTER_PROD_1 if r >= ship else P_SHARE_PER_REPORT
        quick = P_SHARE_INSIDE_WINDOW * lands(r, 30 * SECOND, 30 * MINUTE)
        slow = (1 - P_SHARE_INSIDE_WINDOW) * lands(r, 25 * HOUR, 72 * HOUR)
        miss *= 1 - p_share * 0.8 * (quick + slow)
    return 1 - miss


def _utc_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _funnel_path(step_times: list[list[int]], t1: int, window_ms: int) -> tuple[int, int]:
    """Depth reached by the path starting at t1 and its last matched time (earliest matching is optimal)."""
    depth = 1
    last = t1
    for times in step_times[1:]:
        nxt = next((t for t in times if t > last and t - t1 <= window_ms), None)
        if nxt is None:
            break
        depth += 1
        last = nxt
    return depth, last


# --------------------------------------------------------------------------------------------------- writers


@contextmanager
def _hidden_until_complete(path: Path) -> Iterator[Path]:
    """A hidden temporary path to write ``path`` to, renamed to it once the block ends: a landing sensor never sees
    half a file, and a write that fails leaves none behind under either name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after the rename


def _write_atomic(path: Path, data: bytes) -> None:
    with _hidden_until_complete(path) as tmp:
        tmp.write_bytes(data)


# Amplitude members being gzipped or waiting to be written while the next ones are formatted (two threads gzip)
_MEMBERS_IN_FLIGHT = 4


@contextmanager
def _zip_stream(path: Path) -> Iterator[zipfile.ZipFile]:
    """A ZIP of stored members (each already gzip), written member by member (``_add_stored``) under a hidden name,
    renamed when the block ends."""
    with _hidden_until_complete(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        yield archive


def _add_stored(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed: same bytes every run
    info.external_attr = 0o644 << 16
    info.create_system = 3
    archive.writestr(info, data, compress_type=zipfile.ZIP_STORED)


def _mark_last(items: Iterable[Any]) -> Iterable[tuple[int, Any, bool]]:
    """(index, item, whether it is the last one), one item ahead."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    index = 0
    for following in iterator:
        yield index, current, False
        current = following
        index += 1
    yield index, current, True


def _result(entry: tuple[str, Future[bytes]]) -> tuple[str, bytes]:
    return entry[0], entry[1].result()


def _gzip(data: bytes, deflate: ModuleType = gzip) -> bytes:
    """A gzip member at level 1 without a timestamp; ``deflate`` is ``gzip`` or a drop-in (``isal.igzip``)."""
    return deflate.compress(data, compresslevel=1, mtime=0)


class _Clock:
    """Fast formatting of epoch-ms times, caching the per-hour prefix and the Mixpanel UTC offset."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self._hours: dict[int, tuple[str, str, int]] = {}
        self._prefixes: dict[int, str] = {}
        self._offsets: dict[int, int] = {}

    def _hour(self, h: int) -> tuple[str, str, int]:
        v = self._hours.get(h)
        if v is None:
            dt = datetime.fromtimestamp(h * 3600, UTC)
            v = (dt.strftime("%Y-%m-%d"), f"{dt:%H}", dt.hour)
            self._hours[h] = v
        return v

    def amplitude(self, t: int) -> str:
        """``YYYY-MM-DD HH:MM:SS.ffffff`` UTC."""
        h, rem = divmod(t, HOUR)
        prefix = self._prefixes.get(h)
        if prefix is None:
            day, hh, _ = self._hour(h)
            prefix = self._prefixes[h] = f"{day} {hh}:"
        m, rem = divmod(rem, MINUTE)
        return f"{prefix}{m:02d}:{rem // SECOND:02d}.{rem % SECOND:03d}000"

    def iso(self, t: int) -> str:
        """``YYYY-MM-DDTHH:MM:SS.mmmZ`` UTC (Segment)."""
        day, hh, _ = self._hour(t // HOUR)
        rem = t % HOUR
        return f"{day}T{hh}:{rem // MINUTE:02d}:{rem % MINUTE // SECOND:02d}.{rem % SECOND:03d}Z"

    def day_and_hour(self, t: int) -> tuple[str, int]:
        day, _, hour = self._hour(t // HOUR)
        return day, hour

    def mixpanel_seconds(self, t: int) -> int:
        """Epoch seconds of the project-local wall clock written as if it were UTC (zone changes are on the hour)."""
        h = t // HOUR
        off = self._offsets.get(h)
        if off is None:
            offset = datetime.fromtimestamp(h * 3600, UTC).astimezone(self.tz).utcoffset()
            off = int(offset.total_seconds()) if offset is not None else 0
            self._offsets[h] = off
        return t // SECOND + off


class _Spill:
    """Per-bucket temporary text files of ``sortkey<TAB>line`` so each bucket can be sorted alone."""

    def __init__(self, directory: Path, prefix: str):
        self.directory = directory
        self.prefix = prefix
        self.handles: dict[int, Any] = {}
        self.pending: dict[int, list[str]] = {}
        self.pending_count = 0

    def write(self, bucket: int, text: str) -> None:
        # Buffered in memory and written in batches: one encode and one write call per batch, not per line.
        pending = self.pending.get(bucket)
        if pending is None:
            pending = self.pending[bucket] = []
        pending.append(text)
        self.pending_count += 1
        if self.pending_count >= 20_000:
            self.flush()

    def flush(self) -> None:
        for bucket, pending in self.pending.items():
            fh = self.handles.get(bucket)
            if fh is None:
                fh = open(self.directory / f"{self.prefix}{bucket}.txt", "ab")  # noqa: SIM115
                self.handles[bucket] = fh
            fh.write("".join(pending).encode())
        self.pending.clear()
        self.pending_count = 0

    def buckets(self) -> Iterable[tuple[int, list[bytes]]]:
        """Each bucket's entries as sorted UTF-8 bytes (read as bytes: no decoding, only ``\\n`` splits lines)."""
        self.flush()
        for bucket in sorted(self.handles):
            self.handles[bucket].close()
            path = self.directory / f"{self.prefix}{bucket}.txt"
            lines = path.read_bytes().split(b"\n")
            path.unlink()
            lines.pop()  # after the final newline
            lines.sort()
            yield bucket, lines


_GZIP_BLOCK = 1 << 20  # bytes handed to a streamed file's gzip compressor at a time


class _StreamFile:
    """A text-lines file written in batches under a hidden name (optionally gzipped), renamed when closed."""

    def __init__(self, path: Path, chunk: int, *, gzipped: bool, deflate: ModuleType = gzip):
        self.path = path
        self.chunk = chunk
        self.lines = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = path.with_name(f".{path.name}.partial")
        self.raw = open(self.tmp, "wb")  # noqa: SIM115
        self.stream: Any = (
            deflate.GzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=1, mtime=0)
            if gzipped
            else self.raw
        )
        self.pending = bytearray()

    def write(self, body: bytes) -> None:
        """Append whole lines (``body`` ends with a newline)."""
        self.lines += body.count(b"\n")
        if self.stream is self.raw:
            self.raw.write(body)
            return
        # The compressor is fed in blocks of a fixed size whatever the bodies' sizes: ISA-L's gzip output depends on
        # where its input is cut, so cutting by body would make the bytes depend on the writer's batch size.
        self.pending += body
        whole = len(self.pending) - len(self.pending) % _GZIP_BLOCK
        for at in range(0, whole, _GZIP_BLOCK):
            self.stream.write(self.pending[at : at + _GZIP_BLOCK])
        del self.pending[:whole]

    def close(self) -> None:
        if self.stream is not self.raw:
            self.stream.write(self.pending)
            self.stream.close()
        self.raw.close()
        os.replace(self.tmp, self.path)


class _BenchSink:
    """Takes the place of the Amplitude spill in the benchmark: lines go straight into n gzip files, in turn."""

    def __init__(self, paths: list[Path], *, per_file: int, limit: int):
        self.paths = paths
        self.per_file = per_file
        self.limit = limit
        self.written = 0
        self.tmp_paths = [p.with_name(f".{p.name}.partial") for p in paths]
        self.raw = [open(p, "wb") for p in self.tmp_paths]  # noqa: SIM115
        # filename="" keeps the temporary name out of the gzip header
        self.streams = [gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=1, mtime=0) for f in self.raw]
        self.pending: list[str] = []
        self.compressor = ThreadPoolExecutor(max_workers=1)
        self.jobs: list[Future[int]] = []

    def write(self, bucket: int, text: str) -> None:
        if self.written >= self.limit:
            return
        self.pending.append(text[_AMPLITUDE_KEY_LEN:])
        self.written += 1
        if len(self.pending) >= 10_000 or self.written == self.limit or self.written % self.per_file == 0:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            # written counts the pending lines too: the last one decides the file they all belong to
            target = min((self.written - 1) // self.per_file, len(self.streams) - 1)
            # one worker keeps the batches in order; zlib releases the GIL, so compression overlaps generation
            self.jobs.append(self.compressor.submit(self.streams[target].write, "".join(self.pending).encode()))
            self.pending = []
            if len(self.jobs) > 4:
                self.jobs.pop(0).result()

    def close(self) -> None:
        self.flush()
        for job in self.jobs:
            job.result()
        self.compressor.shutdown()
        for stream, raw in zip(self.streams, self.raw, strict=True):
            stream.close()
            raw.close()
        if self.written >= self.limit:
            for tmp, path in zip(self.tmp_paths, self.paths, strict=True):
                os.replace(tmp, path)


class _ExportWriter:
    def __init__(
        self, landing_dir: Path, tmp: Path, *, switch_ms: int, mess: bool, tz: ZoneInfo, deflate: ModuleType = gzip
    ):
        """``deflate`` writes the gzip streams: the standard library's ``gzip`` (the reference bytes) or a drop-in
        with the same ``compress``/``GzipFile`` (the vectorised engine's ``isal.igzip``: other bytes, same data)."""
        self.landing_dir = landing_dir
        self.deflate = deflate
        self.out = landing_dir / "analytics"
        self.switch_ms = switch_ms
        self.mess = mess
        self.clock = _Clock(tz)
        self.amplitude: _Spill | _BenchSink = _Spill(tmp, "amplitude-")
        self.mixpanel = _Spill(tmp, "mixpanel-")
        self.csv_rows: list[tuple[int, list[str]]] = []
        self.events_by_source_and_name: dict[str, Counter[str]] = {s: Counter() for s in SOURCES}
        self.lines = Counter[str]()
        self.duplicates = Counter[str]()
        self.late = Counter[str]()
        self.malformed: list[MalformedLine] = []
        self.files: list[str] = []
        self.compressor = ThreadPoolExecutor(max_workers=2)  # zlib releases the GIL
        self.collision_insert_id: str | None = None
        self.collisions: list[str] = []

    # ---- per user

    def write_user(
        self, rng: random.Random, profile: _Profile, events: list[Event], utm: UtmPlan | None = None
    ) -> None:
        events.sort(key=lambda e: (e[0], e[1]))
        amp_const = self._amplitude_constant(rng, profile)
        mp_const = self._mixpanel_constant(profile)
        uid = profile.user_id
        amp_uid = "null" if uid is None else (uid if profile.user_id_as_number else f'"{uid}"')
        upgraded_at = next((e[0] for e in events if e[1] == "plan_upgraded"), None)
        if profile.null_user_properties:
            props_free = props_paid = "null"
        else:  # the user properties as they stand at the time of each event
            props_free = _json({"plan": "free", "signup_method": profile.signup_method})
            props_paid = _json({"plan": profile.plan, "signup_method": profile.signup_method})
        identify_props = _json({"$set": {"signup_method": profile.signup_method}})
        mobile = profile.platform != "Web"
        event_id = 0
        amplitude_id = 10**9 + profile.index * 7
        stamp = self.clock.amplitude
        spill = self.amplitude.write
        switch_ms = self.switch_ms
        amp_names = self.events_by_source_and_name["amplitude"]
        late_possible = self.mess and mobile
        random_ = rng.random
        for t, name, session, props, identified in events:
            late = late_possible and random_() < P_LATE_MOBILE_EVENT
            delay = _int(rng, 26 * HOUR, 70 * HOUR) if late else 2 * SECOND + int(random_() * 5 * MINUTE)
            if name == "plan_upgraded":
                self._csv_row(rng, profile, t, props or {})
                continue
            if t < switch_ms:
                if utm is not None:
                    props = {**(props or {}), **_utm_event_properties(utm, t)}
                self._mixpanel_line(rng, profile, mp_const, t, name, props, identified, delay)
                self.late["mixpanel"] += late
                continue
            event_id += 1
            upload = t + delay
            if name == "$identify":
                event_props = "{}"
                user_props = identify_props
            else:
                event_props = _json(props) if props else "{}"
                user_props = (
                    (props_paid if upgraded_at is not None and t >= upgraded_at else props_free) if identified else "{}"
                )
                if utm is not None:  # the SDK's attribution user properties ride on anonymous events too
                    known = json.loads(user_props) or {}
                    user_props = _json({**known, **_utm_user_properties(utm, t)})
            event_time = stamp(t)
            up = stamp(upload)
            line = (
                f'{{"uuid": "{_uuid(rng)}", "$insert_id": "{rng.getrandbits(80):020x}", "event_type": "{name}", '
                f'"user_id": {amp_uid if identified else "null"}, "device_id": "{profile.device_id}", '
                f'"session_id": {session}, "event_time": "{event_time}", '
                f'"client_event_time": "{event_time}", "server_received_time": "{up}", '
                f'"server_upload_time": "{up}", "client_upload_time": "{up}", '
                f'"processed_time": "{stamp(upload + 1500)}", "event_id": {event_id}, '
                f'"amplitude_id": {amplitude_id}, "event_properties": {event_props}, '
                f'"user_properties": {user_props}, {amp_const}}}'
            )
            spill(upload // DAY, f"{upload // HOUR % 24:02d}{int(random_() * 2)}{upload:013d}\t{line}\n")
            amp_names[name] += 1
            self.lines["amplitude"] += 1
            self.late["amplitude"] += late

    def _amplitude_constant(self, rng: random.Random, profile: _Profile) -> str:
        os_name, os_version, device_type, device_family, library, _mp_lib, _mp_os = _PLATFORM_PROFILES[profile.platform]
        if profile.platform == "Web" and profile.web_os == "Windows":
            device_type = device_family = "Windows"
        geo = profile.country
        mobile = profile.platform != "Web"
        ad_id = _uuid(rng).upper() if mobile and rng.random() < 0.3 else None
        fields = {
            "app": AMPLITUDE_PROJECT_ID,
            "platform": profile.platform,
            "os_name": os_name,
            "os_version": os_version,
            "device_type": device_type,
            "device_family": device_family,
            "country": geo[0] if geo else None,
            "city": geo[2] if geo else None,
            "region": geo[3] if geo else None,
            "language": "English" if not geo or geo[1] in ("US", "GB", "IN") else "Other",
            "library": library,
            "ip_address": f"203.0.113.{profile.index % 250 + 1}",
            "version_name": "4.12.0" if mobile else None,
            "start_version": "4.10.2" if mobile else None,
            "groups": {},
            "group_properties": {},
            "data": {"group_first_event": {}, "group_ids": {}},
            "paying": None,
            "adid": ad_id if profile.platform == "Android" else None,
            "idfa": ad_id if profile.platform == "iOS" else None,
            "location_lat": None,
            "location_lng": None,
        }
        return _json(fields)[1:-1]

    def _mixpanel_constant(self, profile: _Profile) -> str:
        _o, _v, _t, _f, _l, mp_lib, mp_os = _PLATFORM_PROFILES[profile.platform]
        geo = profile.country
        fields: dict[str, Any] = {
            "$device_id": profile.device_id,
            "$os": profile.web_os if profile.platform == "Web" else mp_os,
            "mp_lib": mp_lib,
            "$lib_version": "2.49.0",
        }
        if geo:  # Mixpanel leaves geo properties out when the IP lookup fails
            fields.update({"mp_country_code": geo[1], "$city": geo[2], "$region": geo[3]})
        return _json(fields)[1:-1]

    def _mixpanel_line(
        self,
        rng: random.Random,
        profile: _Profile,
        constant: str,
        t: int,
        name: str,
        props: dict[str, Any] | None,
        identified: bool,
        delay: int,
    ) -> None:
        uid = profile.user_id
        seconds = self.clock.mixpanel_seconds(t)
        time_text = f'"{seconds}"' if rng.random() < 0.02 else str(seconds)  # numbers sometimes come as strings
        distinct_id = uid if identified and uid is not None else f"$device:{profile.device_id}"
        insert_id = f"{rng.getrandbits(64):016x}"
        if self.mess and self.collision_insert_id is None and name == "signed_up":
            self.collision_insert_id = insert_id
        elif self.mess and self.collision_insert_id and not self.collisions and name == "settings_changed":
            insert_id = self.collision_insert_id  # a different event with the same $insert_id: NOT a duplicate
            self.collisions.append(insert_id)
        if name == "$identify":
            props = {"$anon_distinct_id": f"$device:{profile.device_id}", "$identified_id": uid}
        elif props and "row_count" in props and rng.random() < 0.1:
            props = {**props, "row_count": str(props["row_count"])}
        extra = _json(props)[1:-1] if props else ""
        user = f'"$user_id": "{uid}", ' if identified else ""
        head = f'{{"event": "{name}", "properties": {{"time": {time_text}, "distinct_id": "{distinct_id}", '
        tail = f', "$insert_id": "{insert_id}", {user}{constant}{", " if extra else ""}{extra}}}}}'
        line = f'{head}"mp_processing_time_ms": {t + delay}{tail}'
        bucket = seconds // 86400  # the project-local day: how Mixpanel splits exports
        self.mixpanel.write(bucket, f"{seconds:011d}\t{line}\n")
        self.events_by_source_and_name["mixpanel"][name] += 1
        self.lines["mixpanel"] += 1
        if self.mess and rng.random() < P_MIXPANEL_DUPLICATE:
            # Same event, distinct_id, time and $insert_id: half byte-identical, half re-processed later.
            proc = t + delay if rng.random() < 0.5 else t + delay + _int(rng, SECOND, 10 * MINUTE)
            self.mixpanel.write(bucket, f'{seconds:011d}\t{head}"mp_processing_time_ms": {proc}{tail}\n')
            self.lines["mixpanel"] += 1
            self.duplicates["mixpanel"] += 1

    def _csv_row(self, rng: random.Random, profile: _Profile, t: int, props: dict[str, Any]) -> None:
        geo = profile.country
        row = [
            _uuid(rng),
            "plan_upgraded",
            profile.user_id or "",
            "",  # server-side: the billing backend knows the user, not the device
            self.clock.iso(t),
            self.clock.iso(t + _int(rng, 50, 3 * SECOND)),
            profile.platform,
            geo[0] if geo else "",
            props["revenue"],
            props["plan"],
            props["currency"],
            props["coupon"],
        ]
        self.csv_rows.append((t, row))
        self.events_by_source_and_name["csv"]["plan_upgraded"] += 1
        self.lines["csv"] += 1

    # ---- finishing: sort each bucket, pack, inject the planted mess

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.landing_dir).as_posix()

    def finish(self) -> None:
        with self.compressor:
            self._finish_amplitude(self._amplitude_days())
            self._finish_mixpanel(self._mixpanel_days())
            self._finish_csv()

    def _amplitude_days(self) -> Iterable[tuple[int, Iterable[tuple[tuple[int, int], bytes]]]]:
        """Each spilled upload day as its members' bodies in member order: ((hour, shard), lines in upload order)."""
        assert isinstance(self.amplitude, _Spill)
        for bucket, entries in self.amplitude.buckets():
            # entries sort by "<hour:02><shard><upload ms:013>\t": one group per member, in upload order within it
            members: dict[tuple[int, int], bytes] = {}
            for prefix, group in itertools.groupby(entries, key=operator.itemgetter(slice(0, 3))):
                body = b"\n".join([entry[_AMPLITUDE_KEY_LEN:] for entry in group]) + b"\n"
                members[(int(prefix[:2]), prefix[2] - 48)] = body
            yield bucket, sorted(members.items())

    def _mixpanel_days(self) -> Iterable[tuple[int, bytes]]:
        """Each spilled project-local day as the body of its lines, in time order."""
        for bucket, entries in self.mixpanel.buckets():
            yield bucket, b"\n".join([entry[_MIXPANEL_KEY_LEN:] for entry in entries]) + b"\n"

    def _finish_amplitude(self, days: Iterable[tuple[int, Iterable[tuple[tuple[int, int], bytes]]]]) -> None:
        """Pack each upload day's members ((hour, shard) and its body of lines ending in a newline, in that key order)
        into its ZIP, with the planted mess. Members stream through: a few of them are in memory at a time, never a
        whole day (a day at 100M events is ~2 GB of JSON).

        Shared by both engines: the vectorised one hands over members it formatted itself, batch by batch."""
        pid = AMPLITUDE_PROJECT_ID
        folder = self.out / "amplitude"
        for position, (bucket, members) in enumerate(days):
            day = self.clock.day_and_hour(bucket * DAY)[0]
            name = f"amplitude_{pid}_{day}.zip"
            if self.mess and position == 2:
                name = f"amplitude_{pid}_{day}.json.gz"  # a real-world quirk: a ZIP body under a .json.gz name
            path = folder / name
            resend = self.mess and position == 1  # re-sent later: the first three hours again, byte for byte
            hours: list[int] = []
            again: list[tuple[str, Future[bytes]]] = []
            resent = 0
            pending: deque[tuple[str, Future[bytes]]] = deque()
            with _zip_stream(path) as archive:
                for index, ((hour, shard), body), last in _mark_last(members):
                    member = _AMPLITUDE_MEMBER.format(pid=pid, day=day, hour=hour, shard=shard)
                    if self.mess and position == 0 and index == 0:  # the start of a line (ASCII: valid UTF-8)
                        first_line, rest = body.split(b"\n", 1)
                        body = first_line + b"\n" + first_line[:60] + b"\n" + rest
                        self.malformed.append(MalformedLine("amplitude", self._rel(path), member, 2, "not_json"))
                    if self.mess and position == 3 and last:  # a full event without event_type at the very end
                        broken = json.loads(body.split(b"\n", 1)[0])
                        del broken["event_type"]
                        broken["uuid"] = broken["$insert_id"] = f"00000000-0000-4000-a000-{bucket:012d}"
                        body = body + _json(broken).encode() + b"\n"
                        self.malformed.append(
                            MalformedLine("amplitude", self._rel(path), member, body.count(b"\n"), "missing_event_type")
                        )
                    gzipped = self.compressor.submit(_gzip, body, deflate=self.deflate)
                    if resend and (hour in hours or len(hours) < 3):
                        if hour not in hours:
                            hours.append(hour)
                        again.append((member, gzipped))
                        resent += body.count(b"\n")
                    del body
                    pending.append((member, gzipped))
                    while len(pending) > _MEMBERS_IN_FLIGHT:  # bounded: gzip runs ahead of the writes, not a day
                        _add_stored(archive, *_result(pending.popleft()))
                while pending:
                    _add_stored(archive, *_result(pending.popleft()))
            self.files.append(self._rel(path))
            if resend:
                self.duplicates["amplitude"] += resent
                self.lines["amplitude"] += resent
                re_path = folder / f"amplitude_{pid}_{day}_reexport.zip"
                with _zip_stream(re_path) as archive:
                    for member, gzipped in again:
                        _add_stored(archive, member, gzipped.result())
                self.files.append(self._rel(re_path))

    def _finish_mixpanel(self, days: Iterable[tuple[int, bytes]]) -> None:
        """Stream the project-local days (bodies of lines in time order) into one file per seven days (never more
        than a day in memory), with the planted mess. Shared by both engines."""
        epoch = date(1970, 1, 1)
        first: int | None = None
        out: _StreamFile | None = None
        position = -1
        for bucket, body in days:
            first = bucket if first is None else first
            chunk = (bucket - first) // 7
            if out is None or out.chunk != chunk:
                if out is not None:
                    out.close()
                position += 1
                lo = epoch + timedelta(days=first + chunk * 7)  # project-local dates, as Mixpanel's from/to_date
                gzipped = self.mess and position == 1
                name = f"mixpanel_export_{lo}_{lo + timedelta(days=6)}.jsonl{'.gz' if gzipped else ''}"
                out = _StreamFile(self.out / "mixpanel" / name, chunk, gzipped=gzipped, deflate=self.deflate)
                self.files.append(self._rel(out.path))
            if self.mess and position == 0 and out.lines == 0:
                head = body.split(b"\n", 2)  # up to two lines, then the rest of the body
                lines_before = head[:2] if len(head) == 3 else head[:1]
                broken = json.loads(head[0])
                broken["properties"]["time"] = "yesterday"
                broken["properties"]["$insert_id"] = "broken-time-0001"
                at = len(lines_before)
                body = b"".join(line + b"\n" for line in lines_before) + _json(broken).encode() + b"\n" + head[at]
                self.malformed.append(MalformedLine("mixpanel", self._rel(out.path), None, at + 1, "non_numeric_time"))
            out.write(body)
        if out is not None:
            if self.mess:
                out.write(b"terminated early\n")
                self.malformed.append(MalformedLine("mixpanel", self._rel(out.path), None, out.lines, "vendor_trailer"))
            out.close()

    def _finish_csv(self) -> None:
        by_month: dict[str, list[tuple[int, list[str]]]] = defaultdict(list)
        for t, row in self.csv_rows:
            by_month[row[4][:7]].append((t, row))
        header = [
            "id", "event", "user_id", "anonymous_id", "timestamp", "received_at", "context_device_type",
            "context_location_country", "revenue", "properties_plan", "properties_currency", "properties_coupon",
        ]  # fmt: skip
        for position, month in enumerate(sorted(by_month)):
            rows = [row for _t, row in sorted(by_month[month], key=lambda tr: (tr[0], tr[1][0]))]
            path = self.out / "segment" / f"tracks_{month}.csv"
            if self.mess and position == 0:
                broken = [*rows[0]]
                broken[0] = "00000000-0000-4000-a000-00000000c5c5"
                broken[4] = "31/02/2024 25:61"
                at = min(2, len(rows))
                rows.insert(at, broken)
                self.malformed.append(MalformedLine("csv", self._rel(path), None, at + 2, "unparseable_timestamp"))
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; no field holds a line break
            writer.writerow(header)
            writer.writerows(rows)
            _write_atomic(path, buf.getvalue().encode("utf-8"))
            self.files.append(self._rel(path))


# --------------------------------------------------------------------------------------------------- public API


def generate_analytics(
    landing_dir: Path,
    *,
    seed: int = 7,
    users: int = 2000,
    days: int = 60,
    events_per_user: int = 30,
    start: date = date(2024, 1, 1),
    mess: bool = True,
    signup_days: int | None = None,
    launches: dict[str, datetime] | None = None,
    engine: str = "reference",
) -> AnalyticsTruths:
    """Write the three analytics exports under ``landing_dir / "analytics"`` and return what was planted.

    ``users`` sign up over the first ``signup_days`` days (default: every day, at a slowly tapering rate, so the daily
    volume is smooth and the cohorts of the last days are incomplete; see ``resolve_signup_days``); ``users // 10``
    more devices only browse. ``events_per_user`` is the mean number of background page views per user (fewer for
    users who sign up late: views after the range are not exported); journeys add roughly 15 more events each.
    ``launches`` (initiative key -> ship instant, e.g. from ``generate_jira``'s truths) plants the initiative
    outcomes of ``PLANTED_OUTCOMES``; None plants nothing. Same arguments, same bytes.

    ``engine``: "reference" (one user at a time, the default sample's bytes) or "vectorised" (the same model drawn
    as arrays, ~10x faster, for samples of millions of events; see ``analytics_vectorised``).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "vectorised":
        from sample_generator.analytics_vectorised import generate_analytics_vectorised

        return generate_analytics_vectorised(
            landing_dir, seed=seed, users=users, days=days, events_per_user=events_per_user, start=start, mess=mess,
            signup_days=signup_days, launches=launches,
        )[0]  # fmt: skip
    if users < 1 or events_per_user < 0:
        raise ValueError("users must be >= 1 and events_per_user >= 0")
    if days < MIN_DAYS:
        raise ValueError(f"days must be >= {MIN_DAYS} so that day-28 cohorts and the 7-day window elapse; got {days}")
    signup_span = resolve_signup_days(days, signup_days)
    launch_ms = launch_instants(launches)
    landing_dir = Path(landing_dir)
    start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
    end_ms = start_ms + days * DAY
    switch_day = min(SWITCH_DAY, days // 2)
    switch_ms = start_ms + switch_day * DAY
    tz = ZoneInfo(MIXPANEL_TIMEZONE)
    visitors = users // 10

    truths = _TruthAccumulator(start_ms, end_ms, days, launch_ms)
    identified_later = 0
    utm_users = 0
    with tempfile.TemporaryDirectory(prefix="pmw-sample-") as tmp:
        writer = _ExportWriter(landing_dir, Path(tmp), switch_ms=switch_ms, mess=mess, tz=tz)
        for i in range(users + visitors):
            if i < users:
                rng, profile, journey, later = signed_up_journey(
                    seed, i, days=days, start=start, events_per_user=events_per_user, mess=mess,
                    signup_days=signup_span, launches=launches,
                )  # fmt: skip
                identified_later += later
                truths.add_user(profile, journey.events)
                utm = planted_utm_plan(seed, profile, journey.events)
                utm_users += utm is not None
            else:
                utm = None
                rng = random.Random((seed << 40) | i)
                profile = _profile(rng, i, None)
                journey = _Journey(rng, profile, switch_ms, end_ms)
                _visitor_journey(journey, start_ms=start_ms, days=days)
            writer.write_user(rng, profile, journey.events, utm)
        writer.finish()

    return _analytics_truths(
        writer, truths, seed=seed, users=users, days=days, events_per_user=events_per_user, start=start, mess=mess,
        switch_day=switch_day, signup_span=signup_span, launch_ms=launch_ms,
        identified_later=identified_later, visitors=visitors, utm_users=utm_users,
    )  # fmt: skip


def _analytics_truths(
    writer: _ExportWriter,
    truths: _TruthAccumulator,
    *,
    seed: int,
    users: int,
    days: int,
    events_per_user: int,
    start: date,
    mess: bool,
    switch_day: int,
    signup_span: int,
    launch_ms: dict[str, int],
    identified_later: int,
    visitors: int,
    utm_users: int,
) -> AnalyticsTruths:
    """What was planted, from the finished writer's counts and the accumulated truths (both engines)."""
    events_by_source = {s: sum(c.values()) for s, c in writer.events_by_source_and_name.items()}
    sources = SOURCES
    n_steps = len(ACTIVATION_STEPS)
    activation = FunnelTruth(
        name="activation",
        steps=ACTIVATION_STEPS,
        window_hours=ACTIVATION_WINDOW_MS / HOUR,
        planted_step_probabilities=(1.0, P_ONBOARDING, P_REPORT_AFTER_ONBOARDING, P_UPGRADE_AFTER_REPORT),
        planted_onboarding_by_platform=dict(ONBOARDING_BY_PLATFORM),
        realised_step_users=tuple(truths.first_entry),
        realised_step_users_any_entry=tuple(truths.any_entry),
        complete_signups_before=_utc_ms(truths.end_ms - ACTIVATION_WINDOW_MS),
        realised_step_users_window_elapsed=tuple(truths.elapsed),
        realised_by_platform={p: tuple(v) for p, v in truths.by_platform.items()},
        realised_by_platform_window_elapsed={p: tuple(v) for p, v in truths.by_platform_elapsed.items()},
        realised_by_month={m: tuple(truths.by_month[m]) for m in sorted(truths.by_month)},
        after_window_users=tuple(truths.after_window[: n_steps - 1]),
    )
    sharing = SharingTruth(
        name="sharing",
        steps=("report_created", "report_shared"),
        window_hours=SHARING_WINDOW_MS / HOUR,
        counted_channels=SHARING_COUNTED_CHANNELS,
        planted_share_probability_per_report=P_SHARE_PER_REPORT,
        planted_channel_weights=dict(SHARE_CHANNELS),
        realised_step_users=tuple(truths.sharing),
    )
    retention = RetentionTruth(
        name="core_action_daily",
        start_event="signed_up",
        return_event="report_created",
        periods=RETENTION_PERIODS,
        planted_day7=RETENTION_DAY7,
        planted_curve=RETENTION_CURVE,
        by_cohort={p: {c: (v[0], v[1]) for c, v in sorted(truths.retention[p].items())} for p in RETENTION_PERIODS},
        # day N of the cohort of day d is day d + N, complete while d + N < days - 1 (_TruthAccumulator.period_complete)
        complete_cohorts_through={p: start + timedelta(days=days - 2 - p) for p in RETENTION_PERIODS},
        realised_day7_cohort_users=truths.day7[0],
        realised_day7_retained=truths.day7[1],
    )
    return AnalyticsTruths(
        seed=seed,
        users=users,
        days=days,
        events_per_user=events_per_user,
        mess=mess,
        start=start,
        end=start + timedelta(days=days),
        switch_date=start + timedelta(days=switch_day),
        mixpanel_timezone=MIXPANEL_TIMEZONE,
        amplitude_project_id=AMPLITUDE_PROJECT_ID,
        activation=activation,
        sharing=sharing,
        retention=retention,
        events_by_source={s: events_by_source[s] for s in sources},
        events_by_source_and_name={s: dict(sorted(writer.events_by_source_and_name[s].items())) for s in sources},
        lines_by_source={s: writer.lines[s] for s in sources},
        exact_duplicates_by_source={s: writer.duplicates[s] for s in sources},
        late_events_by_source={s: writer.late[s] for s in sources},
        malformed=tuple(writer.malformed),
        signup_days=signup_span,
        outcomes={key: truths.outcome_truth(key) for key in launch_ms},
        users_signed_up=truths.first_entry[0],
        signups_by_day={(start + timedelta(days=d)).isoformat(): n for d, n in enumerate(truths.signups_by_day) if n},
        users_identified_later=identified_later,
        anonymous_only_devices=visitors,
        utm_users=utm_users,
        mixpanel_insert_id_collisions=tuple(writer.collisions),
        files=tuple(sorted(writer.files)),
    )


def generate_events_bench(out_dir: Path, n_events: int, seed: int = 1) -> list[Path]:
    """About ``n_events`` Amplitude-shaped events as four plain gzipped JSON-lines files (no ZIP), for benchmarks.

    Same journeys and line shape as :func:`generate_analytics` (all in the Amplitude era, no planted mess).
    Returns the files written, named like Amplitude export members (``<pid>_<day>_<k>#0.json.gz``).
    """
    if n_events < 1:
        raise ValueError("n_events must be >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = date(2024, 1, 1)
    start_ms = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    days = 60
    end_ms = start_ms + days * DAY
    n_files = 4
    paths = [out_dir / f"{AMPLITUDE_PROJECT_ID}_{start}_{k}#0.json.gz" for k in range(n_files)]
    sink = _BenchSink(paths, per_file=-(-n_events // n_files), limit=n_events)
    writer = _ExportWriter(out_dir, out_dir, switch_ms=start_ms, mess=False, tz=ZoneInfo(MIXPANEL_TIMEZONE))
    writer.amplitude = sink
    try:
        i = 0
        while sink.written < n_events:
            rng = random.Random((seed << 40) | i)
            profile = _profile(rng, i, str(100_000 + i))
            journey = _Journey(rng, profile, start_ms, end_ms)
            _user_journey(journey, su_day=_below(rng, days - 30), start_ms=start_ms, last_day=days - 1,
                          events_per_user=30, mess=False)  # fmt: skip
            # plan_upgraded goes to the CSV in the sample; here every event is an Amplitude line
            writer.write_user(rng, profile, [e for e in journey.events if e[1] != "plan_upgraded"])
            i += 1
    finally:
        sink.close()
    return paths
