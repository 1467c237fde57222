"""Sample billing (Stripe) and marketing-spend exports with planted CLV/CAC truths.

Customers are the analytics sample's users: for the same ``seed``, ``users`` and ``start``, every user who has a
``plan_upgraded`` event in :func:`sample_generator.analytics.generate_analytics` (default ``days=60``,
``events_per_user=30``, ``mess=True``) becomes a Stripe customer paying at that very second (plan and currency as
the event says; the journeys are replayed with the analytics module's own per-user random streams, no files
needed). After the analytics range ends, more customers arrive (some through 14-day trials), taken from the
analytics users who signed up but never upgraded there; only if that pool runs out are ids of the same scheme
beyond the analytics sample used (the truths count them).

Written under ``landing_dir``:

* ``billing/stripe/dashboard/{customers,subscriptions,invoices}.csv``: USD and GBP customers, Stripe dashboard
  exports (major units, ``" (UTC)"`` date headers, ``" (metadata)"`` columns, lower-case currencies);
  ``refunds.csv`` and ``credit_notes.csv`` for every currency.
* ``billing/stripe/api/{customers,subscriptions,invoices}.json``: the EUR customers as Stripe API list envelopes
  (integer minor units, epoch seconds, newest first like the API).
* ``marketing/google_ads/``: the first half of the months as the Google Ads UI CSV (title and date-range lines,
  ``Total:`` rows), the rest as Google Ads API rows (a bare JSON array of ``GoogleAdsRow`` objects in the REST
  camelCase form: ``segments.date``, ``campaign.id/name``, ``metrics.costMicros/impressions/clicks`` as strings,
  ``customer.currencyCode``; zero rows omitted as the API does).
* ``marketing/meta_ads/``: Ads Manager daily CSV (UTF-8 BOM, ``Amount spent (USD)``, a summary row at the end).
* ``marketing/other/{affiliates,events,sales_team}.csv``: ``date,channel,campaign,spend,currency`` in EUR, GBP and
  USD; the planted bad rows live here, plus one invoice for an unknown customer in the invoices CSV.

Definitions behind the truths (the tests recompute them from the files):

* New paying customer: a customer's first invoice with ``amount_paid > 0``, in the month of its ``paid_at``;
  channel = the ``acquisition_channel`` metadata ("unattributed" when absent). Trials that never convert and
  reactivations are not new customers. First paid invoices are never refunded.
* First-touch UTM (with the analytics sample loaded): of the customers without a metadata channel, those whose
  product user has a planted UTM touch (``analytics.planted_utm_plan``) at or before the first payment take its
  utm_source as their channel (``first_touch_utm_customers``); the channel truths above stay the metadata's, which
  is what a run without analytics attributes.
* CAC = spend in USD (config rates) / new paying customers, per channel over the whole range; blended = all
  spend / all new paying customers. ``paid_search`` spend is set to exactly 250 USD per new paying customer.
* MRR at a month's end = for every subscription, the monthly-normalised recurring amount in force just before
  the first instant of the next month (UTC): net of the (forever) coupon, annual prices / 12 (annual prices are
  multiples of 12 minor units), 0 while trialing and after ``ended_at``; converted to USD at the config rates.
  A plan change takes effect at its proration invoice. Movements compare each customer's MRR at consecutive
  month ends: new (first time above 0), reactivation (above 0 again), expansion, contraction, churn.
* Cohort churn: customers grouped by the month of their first paid invoice; at every renewal a monthly
  subscription is cancelled (at period end) with probability 5 % for the first month's cohort (all on monthly
  plans) and 3 % for the others. Realised: per later month, customers with MRR > 0 at the previous month end and,
  of those, with MRR 0 at this month end.
* Money is integer minor units everywhere; USD figures are exact decimals (minor x rate / 100), as strings.

Deterministic: every customer draws from its own ``random.Random``; spend from per-channel streams; lists are
sorted before writing; files are written under a hidden partial name, then renamed.
"""

from __future__ import annotations

import calendar
import csv
import functools
import io
import itertools
import random
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sample_generator import analytics as _analytics
from sample_generator.indented_json import dumps_indented, write_list_envelope
from sample_generator.people import user_email

# Must equal config/pmw.yml finance: (a test checks it).
REPORTING_CURRENCY = "USD"
FX_RATES = {"USD": Decimal("1"), "EUR": Decimal("1.0850"), "GBP": Decimal("1.2650")}
GROSS_MARGIN = Decimal("0.78")
CHANNEL_MAP = {
    "google_ads": "paid_search",
    "meta_ads": "paid_social",
    "Affiliates": "affiliate",
    "Events": "events",
    "Sales team": "sales",
}

ANALYTICS_DAYS = 60  # generate_analytics defaults whose plan_upgraded users become customers
ANALYTICS_EVENTS_PER_USER = 30
UNATTRIBUTED = "unattributed"
CUSTOMER_CHANNELS = (
    ("paid_search", 30),
    ("paid_social", 20),
    ("organic", 18),
    ("referral", 10),
    ("affiliate", 5),
    ("sales", 7),
    (UNATTRIBUTED, 10),
)
PLANTED_CAC_CHANNEL = "paid_search"
PLANTED_CAC_MINOR = 25_000  # USD cents per new paying customer, over the whole range
PLANTED_COHORT_CHURN = 0.05  # the first month's cohort, per renewal
OTHER_COHORT_CHURN = 0.03
P_REACTIVATE = 0.25
P_UPGRADE = 0.05  # per monthly period of a Pro subscription
P_DOWNGRADE = 0.04  # per monthly period of a Team subscription
P_TRIAL = 0.30  # customers arriving after the analytics range
P_TRIAL_CONVERTS = 0.70
TRIAL_DAYS = 14
P_FULL_REFUND = 0.01
P_PARTIAL_REFUND = 0.015
CREDIT_NOTE_MINOR = 1_000
COUPON = {"id": "PARTNER20", "percent_off": 20, "duration": "forever"}  # for most referral customers
P_COUPON_REFERRAL = 0.6

PRODUCTS = {"pro": ("prod_PmwPro", "Pro"), "team": ("prod_PmwTeam", "Team")}
# (plan, interval) -> currency -> unit amount in minor units. EUR monthly = USD * 9 // 10 (as the analytics
# sample's plan_upgraded revenue); annual prices are multiples of 12 so MRR is whole minor units.
PRICES: dict[tuple[str, str], dict[str, int]] = {
    ("pro", "month"): {"usd": 4_900, "eur": 4_410, "gbp": 3_900},
    ("team", "month"): {"usd": 19_900, "eur": 17_910, "gbp": 15_900},
    ("pro", "year"): {"usd": 48_000, "eur": 43_200, "gbp": 38_400},
    ("team", "year"): {"usd": 192_000, "eur": 172_800, "gbp": 153_600},
}
NEW_PLAN_WEIGHTS = ((("pro", "month"), 55), (("team", "month"), 20), (("pro", "year"), 15), (("team", "year"), 10))
CURRENCY_WEIGHTS = (("usd", 60), ("eur", 25), ("gbp", 15))
COUNTRIES_BY_CURRENCY = {"usd": ("US", "US", "US", "CA", "BR", "IN", "JP"), "eur": ("DE", "FR", "ES", "NL", "IE"),
                         "gbp": ("GB",)}  # fmt: skip
API_CURRENCY = "eur"  # these customers are exported through the API; the others through the dashboard

GOOGLE_CUSTOMER_ID = "4821937560"
GOOGLE_CAMPAIGNS = (  # id, name, active, weight range
    ("20481234561", "Brand - Exact", True, (40, 70)),
    ("20481234562", "Generic - Analytics software", True, (80, 140)),
    ("20481234563", "Competitor - Mixpanel alternative", True, (30, 60)),
    ("20481234564", "Display - Remarketing (paused)", False, (0, 0)),
)
META_CAMPAIGNS = (  # id, name, daily USD cents range at 2000 users
    ("120208871234560001", "Prospecting – Lookalike 1% (US/CA)", (6_000, 16_000)),
    ("120208871234560002", "Retargeting – Site visitors 30d", (2_000, 6_000)),
)
AFFILIATE_CAMPAIGNS = (("PartnerStack payouts", (2_000, 9_000)), ("Review sites – G2 listing", (1_000, 3_000)))
EVENTS = (  # day offset from start, campaign, GBP minor units at 2000 users
    (40, "SaaStock London – booth", 850_000),
    (75, "ProductCon – sponsorship", 420_000),
    (130, "Analytics meetup Manchester", 95_000),
    (160, "Mind the Product – stand", 610_000),
)
SALES_LINES = (("SDR team salaries", 1_800_000), ("Sales tooling", 120_000))  # USD minor units, monthly, 2000 users
SALES_CREDIT_MINOR = 150_000  # a vendor credit on the second month's tooling line (USD cents; not scaled by users)

FIRST_NAMES = ("Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farah", "Günter", "Hiro", "Inés", "Jonas", "Kofi", "Lena",
               "Mateo", "Noor", "Olivia", "Priya", "Quentin", "Rosa", "Søren", "Tomás")  # fmt: skip
LAST_NAMES = ("Alvarez", "Brown", "Chen", "Dubois", "Eriksen", "Fischer", "García", "Hughes", "Ivanova",
              "Jensen", "Kim", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Rossi", "Schmidt", "Tanaka",
              "Weber")  # fmt: skip
COMPANY_SUFFIXES = ("Labs", "GmbH", "Ltd", "Inc.", "SAS", "Analytics", "& Co")

DAY_S = 86_400


def customer_email(user_id: str) -> str:
    """The normalised e-mail address of the sample's product user ``user_id``: the same one the feedback sample
    gives that user (sample_generator.people), so billing customers and survey respondents share an email hash."""
    return user_email(user_id)


# --------------------------------------------------------------------------------------------------- truths


@dataclass(frozen=True)
class BadRow:
    """A deliberately broken record; ingest must quarantine exactly these (and nothing else)."""

    file: str  # relative to the landing dir, POSIX separators
    record: int  # 1-based data record (the header is not a record)
    line: int  # 1-based physical line (the header is line 1; no field holds a line break)
    kind: str  # bad_amount | unknown_currency | non_finite_spend | unknown_customer
    field: str
    value: str


@dataclass(frozen=True)
class SpendCredit:
    """A credit or adjustment (a negative spend row) that ingest must load and dbt net against its channel's month."""

    file: str  # relative to the landing dir, POSIX separators
    record: int  # 1-based data record
    line: int  # 1-based physical line
    channel: str  # reporting channel
    month: str  # YYYY-MM
    campaign: str  # the same day and campaign as the charge it corrects
    amount_usd: str  # negative


@dataclass(frozen=True)
class CohortChurn:
    cohort: str  # YYYY-MM: month of the first paid invoice
    planted_monthly_churn: float
    customers: int
    # later month -> (customers with MRR > 0 at the previous month end, of those with MRR 0 at this month end)
    by_month: dict[str, tuple[int, int]]
    realised_churned: int
    realised_exposed: int


@dataclass(frozen=True)
class BillingTruths:
    seed: int
    users: int
    start: date
    end: date  # exclusive; also the export time (00:00 UTC)
    months: tuple[str, ...]  # YYYY-MM
    reporting_currency: str
    fx_rates: dict[str, str]
    gross_margin: str
    prices: dict[str, dict[str, Any]]  # price id -> plan, interval, currency, unit_amount_minor
    coupon: dict[str, Any]
    files: tuple[str, ...]
    customers_by_currency: dict[str, int]
    customers_from_analytics_upgrades: int  # users with plan_upgraded in the analytics sample, paying at that second
    customers_from_other_analytics_users: int
    customers_outside_analytics_sample: int  # only when the pool of analytics users ran out
    invoices_by_currency: dict[str, int]
    # Acquisition and spend
    new_paying_customers_by_channel_month: dict[str, dict[str, int]]
    new_paying_customers_by_channel: dict[str, int]
    spend_usd_by_channel_month: dict[str, dict[str, str]]
    spend_usd_by_channel: dict[str, str]
    spend_native_by_channel: dict[str, dict[str, str]]  # channel -> currency -> major units
    cac_usd_by_channel: dict[str, str | None]  # None: no new paying customer (spend without attribution)
    blended_cac_usd: str
    planted_cac_channel: str
    planted_cac_usd: str
    planted_spend_credit: SpendCredit | None  # loaded and netted into spend_usd_by_channel_month (None: < 2 months)
    # First-touch UTM attribution, with the analytics sample loaded too (the channel truths above are the billing
    # metadata's alone, as a run without analytics attributes them): customer id -> the channel of the user's
    # planted first UTM touch (analytics.planted_utm_plan) at or before acquisition, for the customers without a
    # metadata channel; and the customers whose metadata channel stands although a UTM touch came first.
    first_touch_utm_customers: dict[str, str]
    metadata_over_utm_customers: int
    # Recurring revenue (USD at the config rates)
    mrr_usd_by_month: dict[str, str]
    mrr_movements_usd_by_month: dict[str, dict[str, str]]  # new, expansion, contraction, churn, reactivation
    paying_customers_by_month: dict[str, int]  # MRR > 0 at the month end
    cohort_churn: CohortChurn
    other_cohorts_planted_monthly_churn: float
    # Cash
    amount_paid_usd_by_month: dict[str, str]  # invoices' amount_paid by paid_at month
    refunds_usd_by_month: dict[str, str]
    refunds_by_kind: dict[str, int]  # full, partial
    credit_notes_usd_by_month: dict[str, str]  # credited to the customer balance (not refunded)
    # Life-cycle counts
    trials: dict[str, int]  # started, converted, canceled, trialing_at_export
    plan_changes: dict[str, int]  # upgrade, downgrade (proration invoices)
    reactivations: int
    cancellations_pending_at_export: int
    bad_rows: tuple[BadRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings, tuples as lists, mapping keys as strings)."""
        return _analytics._jsonable(asdict(self))


# --------------------------------------------------------------------------------------------------- upgrades


@dataclass(frozen=True)
class AnalyticsUpgrade:
    user_id: str
    upgraded_ms: int  # the plan_upgraded event time (epoch ms, UTC)
    plan: str  # pro | team
    currency: str  # USD | EUR
    country: str | None  # ISO code of the user's geo-IP country


def analytics_plan_upgrades(
    seed: int = 7,
    users: int = 2000,
    start: date = date(2024, 1, 1),
    *,
    days: int = ANALYTICS_DAYS,
    events_per_user: int = ANALYTICS_EVENTS_PER_USER,
    mess: bool = True,
    signup_days: int | None = None,
    launches: dict[str, datetime] | None = None,
) -> tuple[list[AnalyticsUpgrade], list[str]]:
    """The plan_upgraded events of ``generate_analytics`` with the same arguments, and the other signed-up users.

    Replays the analytics journeys with the analytics module's per-user random streams (no files written).
    """
    upgrades, others, _touches = _replay_analytics(
        seed, users, start, days=days, events_per_user=events_per_user, mess=mess, signup_days=signup_days,
        launches=launches,
    )  # fmt: skip
    return upgrades, others


def _replay_analytics(
    seed: int,
    users: int,
    start: date,
    *,
    days: int = ANALYTICS_DAYS,
    events_per_user: int = ANALYTICS_EVENTS_PER_USER,
    mess: bool = True,
    signup_days: int | None = None,
    launches: dict[str, datetime] | None = None,
) -> tuple[list[AnalyticsUpgrade], list[str], dict[str, _analytics.UtmTouch]]:
    """analytics_plan_upgrades, plus each signed-up user's planted first UTM touch (user id -> touch)."""
    upgrades: list[AnalyticsUpgrade] = []
    others: list[str] = []
    first_touches: dict[str, _analytics.UtmTouch] = {}
    for i in range(users):  # the same journeys as generate_analytics
        _rng, profile, journey, _later = _analytics.signed_up_journey(
            seed, i, days=days, start=start, events_per_user=events_per_user, mess=mess,
            signup_days=signup_days, launches=launches,
        )  # fmt: skip
        utm = _analytics.planted_utm_plan(seed, profile, journey.events)
        if utm is not None:
            first_touches[str(profile.user_id)] = utm.touches[0]
        ups = [e for e in journey.events if e[1] == "plan_upgraded"]
        if ups:
            t, _name, _s, props, _i = ups[0]
            assert props is not None
            country = profile.country[1] if profile.country else None
            upgrades.append(AnalyticsUpgrade(str(profile.user_id), t, props["plan"], props["currency"], country))
        else:
            others.append(str(profile.user_id))
    return upgrades, others, first_touches


# --------------------------------------------------------------------------------------------------- model


@dataclass(slots=True)
class _Line:
    id: str
    amount: int
    proration: bool
    start: int
    end: int
    price: tuple[str, str]
    description: str


@dataclass(slots=True)
class _Invoice:
    id: str
    number: str
    customer: _Customer
    subscription: str
    reason: str
    currency: str
    lines: list[_Line]
    discount: int
    starting_balance: int
    created: int
    paid_at: int
    period_start: int
    period_end: int
    charge: str | None = None

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount

    @property
    def amount_due(self) -> int:
        return max(0, self.total + self.starting_balance)


@dataclass(slots=True)
class _Sub:
    id: str
    item_id: str
    created: int
    start: int
    plan: tuple[str, str]
    coupon: bool
    timeline: list[tuple[int, int]] = field(default_factory=list)  # (from epoch s, monthly net minor)
    trial: tuple[int, int] | None = None
    period: tuple[int, int] = (0, 0)
    canceled_at: int | None = None
    ended_at: int | None = None
    cancel_at_period_end: bool = False
    status: str = "active"


@dataclass(slots=True)
class _Customer:
    id: str
    user_id: str
    created: int
    currency: str
    country: str | None
    channel: str
    campaign: str
    name: str
    description: str
    email: str
    invoice_prefix: str
    coupon: bool
    source: str  # analytics_upgrade | analytics_user | outside
    balance: int = 0
    invoice_seq: int = 0
    first_paid: int | None = None
    subs: list[_Sub] = field(default_factory=list)
    invoices: list[_Invoice] = field(default_factory=list)
    deleted: bool = False


@dataclass(slots=True)
class _Refund:
    id: str
    kind: str  # full | partial
    invoice: _Invoice
    amount: int
    created: int
    reason: str


@dataclass(slots=True)
class _CreditNote:
    id: str
    number: str
    invoice: _Invoice
    amount: int
    created: int


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _sid(rng: random.Random, prefix: str, n: int = 14) -> str:
    draw = rng.random  # the same n draws as a generator expression would make, without its frame per character
    return prefix + "".join([_ALNUM[int(draw() * 62)] for _ in range(n)])


def _weighted(rng: random.Random, options: tuple[tuple[Any, int], ...]) -> Any:
    r = int(rng.random() * sum(w for _o, w in options))
    for option, w in options:
        if r < w:
            return option
        r -= w
    raise AssertionError("unreachable")


def _epoch(d: date | datetime) -> int:
    if not isinstance(d, datetime):
        d = datetime(d.year, d.month, d.day, tzinfo=UTC)
    return int(d.timestamp())


def _add_months(anchor: int, n: int) -> int:
    """Stripe's monthly billing: the anchor's day of month, clamped to the month's length, same time of day."""
    a = datetime.fromtimestamp(anchor, UTC)
    y, m = divmod(a.month - 1 + n, 12)
    y += a.year
    d = min(a.day, calendar.monthrange(y, m + 1)[1])
    return _epoch(a.replace(year=y, month=m + 1, day=d))


def _period_edge(anchor: int, n: int, interval: str) -> int:
    return _add_months(anchor, n * (12 if interval == "year" else 1))


def _month(ts: int) -> str:
    return _day_text(ts // DAY_S)[:7]


@functools.cache
def _day_text(day: int) -> str:
    """``YYYY-MM-DD`` of a day since the epoch (UTC): a few hundred distinct days, formatted hundreds of thousands
    of times at scale."""
    return datetime.fromtimestamp(day * DAY_S, UTC).strftime("%Y-%m-%d")


def _prorate(amount: int, remaining: int, length: int) -> int:
    """round(amount * remaining / length), halves away from zero, in integers."""
    q, _r = divmod(2 * amount * remaining + length, 2 * length)
    return q


def _monthly(plan: tuple[str, str], currency: str, coupon: bool) -> int:
    price = PRICES[plan][currency]
    net = price - (price * COUPON["percent_off"] // 100 if coupon else 0)
    return net // 12 if plan[1] == "year" else net


def _price_id(plan: tuple[str, str], currency: str) -> str:
    return f"price_{plan[0]}_{plan[1]}ly_{currency}"


def _money_major(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 100)
    return f"{sign}{q:,}.{r:02d}"


def _usd(minor: int, currency: str) -> Decimal:
    return Decimal(minor) * FX_RATES[currency.upper()] / 100


def _usd_str(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.000001")))


class _Simulator:
    def __init__(self, seed: int, start: date, end: date):
        self.seed = seed
        self.start_s = _epoch(start)
        self.end_s = _epoch(end)
        self.customers: list[_Customer] = []
        self.refunds: list[_Refund] = []
        self.credit_notes: list[_CreditNote] = []
        self.first_month = _month(self.start_s)
        self.counts: dict[str, int] = defaultdict(int)
        self.used_ids: set[str] = set()

    def uid(self, rng: random.Random, prefix: str, n: int = 14) -> str:
        while True:
            value = _sid(rng, prefix, n)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    # ---- customers

    def customer(self, rng: random.Random, user_id: str, created: int, currency: str, country: str | None,
                 source: str) -> _Customer:  # fmt: skip
        channel = _weighted(rng, CUSTOMER_CHANNELS)
        campaign = ""
        if channel == "paid_search":
            campaign = GOOGLE_CAMPAIGNS[int(rng.random() * 3)][1]
        elif channel == "paid_social":
            campaign = META_CAMPAIGNS[int(rng.random() * len(META_CAMPAIGNS))][1]
        elif channel == "affiliate":
            campaign = AFFILIATE_CAMPAIGNS[0][0]
        first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(rng.random() * len(LAST_NAMES))]
        email = customer_email(user_id)
        if rng.random() < 0.06:  # the dashboard keeps what the customer typed
            email = f" {email[0].upper()}{email[1:].replace('example', 'Example')}"
        c = _Customer(
            id=self.uid(rng, "cus_"),
            user_id=user_id,
            created=created,
            currency=currency,
            country=country,
            channel=channel,
            campaign=campaign,
            name=f"{first} {last}",
            description=f"{last} {COMPANY_SUFFIXES[int(rng.random() * len(COMPANY_SUFFIXES))]}"
            if rng.random() < 0.5
            else "",
            email=email,
            invoice_prefix="".join(_ALNUM[int(rng.random() * 36)] for _ in range(8)).upper(),
            coupon=channel == "referral" and rng.random() < P_COUPON_REFERRAL,
            source=source,
        )
        self.customers.append(c)
        return c

    def churn_p(self, c: _Customer) -> float:
        assert c.first_paid is not None
        return PLANTED_COHORT_CHURN if _month(c.first_paid) == self.first_month else OTHER_COHORT_CHURN

    # ---- invoices

    def invoice(self, rng: random.Random, c: _Customer, sub: _Sub, reason: str, created: int, lines: list[_Line],
                period: tuple[int, int], *, immediate: bool) -> _Invoice:  # fmt: skip
        c.invoice_seq += 1
        discount = sum(line.amount * COUPON["percent_off"] // 100 for line in lines) if sub.coupon else 0
        if immediate:
            paid_at = created
        else:  # cycle invoices are finalised and charged within the hour, always on the same UTC day
            to_midnight = DAY_S - created % DAY_S
            paid_at = created + int(rng.random() * min(3600, to_midnight - 1))
        inv = _Invoice(
            id=self.uid(rng, "in_", 24),
            number=f"{c.invoice_prefix}-{c.invoice_seq:04d}",
            customer=c,
            subscription=sub.id,
            reason=reason,
            currency=c.currency,
            lines=lines,
            discount=discount,
            starting_balance=c.balance,
            created=created,
            paid_at=paid_at,
            period_start=period[0],
            period_end=period[1],
        )
        x = inv.total + c.balance
        c.balance = min(0, x)
        if inv.amount_due > 0:
            inv.charge = self.uid(rng, "ch_", 24)
            if c.first_paid is None:
                c.first_paid = paid_at
            else:
                self.maybe_refund(rng, inv)
        c.invoices.append(inv)
        self.counts[f"invoices_{c.currency}"] += 1
        return inv

    def line(self, rng: random.Random, amount: int, start: int, end: int, plan: tuple[str, str], description: str,
             *, proration: bool = False) -> _Line:  # fmt: skip
        # a few distinct descriptions over millions of lines: one string each (memory at scale)
        return _Line(self.uid(rng, "il_", 24), amount, proration, start, end, plan, sys.intern(description))

    def maybe_refund(self, rng: random.Random, inv: _Invoice) -> None:
        r = rng.random()
        force_full = self.counts["refund_full"] == 0
        force_partial = not force_full and self.counts["refund_partial"] == 0
        kind = "full" if (r < P_FULL_REFUND or force_full) else "partial" if (
            r < P_FULL_REFUND + P_PARTIAL_REFUND or force_partial) else None  # fmt: skip
        if kind is None:
            return
        created = inv.paid_at + DAY_S * (1 + int(rng.random() * 6)) + int(rng.random() * 40_000)
        if created >= self.end_s:
            return
        amount = inv.amount_due if kind == "full" else inv.amount_due // 2
        reason = "requested_by_customer" if kind == "partial" or rng.random() < 0.7 else "duplicate"
        self.refunds.append(_Refund(self.uid(rng, "re_", 24), kind, inv, amount, created, reason))
        self.counts[f"refund_{kind}"] += 1

    # ---- subscriptions

    def subscribe(self, rng: random.Random, c: _Customer, t0: int, plan: tuple[str, str], *, trial: bool,
                  allow_changes: bool) -> int | None:  # fmt: skip
        """Run one subscription to the export time; returns its end (churn) time, or None if still live."""
        sub = _Sub(self.uid(rng, "sub_", 24), self.uid(rng, "si_", 14), t0, t0, plan, c.coupon)
        c.subs.append(sub)
        cur = c.currency
        product = PRODUCTS[plan[0]][1]
        if trial:
            trial_end = t0 + TRIAL_DAYS * DAY_S
            sub.trial = (t0, trial_end)
            self.counts["trial_started"] += 1
            lines = [self.line(rng, 0, t0, trial_end, plan, f"Trial period for {product}")]
            self.invoice(rng, c, sub, "subscription_create", t0, lines, (t0, trial_end), immediate=True)
            sub.timeline.append((t0, 0))
            sub.period = (t0, trial_end)
            if trial_end >= self.end_s:
                sub.status = "trialing"
                self.counts["trial_trialing"] += 1
                return None
            if rng.random() >= P_TRIAL_CONVERTS:
                sub.canceled_at = trial_end - int(rng.random() * 4 * DAY_S) - 60
                sub.ended_at = trial_end
                sub.status = "canceled"
                sub.timeline.append((trial_end, 0))
                self.counts["trial_canceled"] += 1
                return trial_end
            self.counts["trial_converted"] += 1
            anchor, reason = trial_end, "subscription_cycle"
        else:
            anchor, reason = t0, "subscription_create"
        n = 0
        credit_note_done = bool(self.credit_notes)
        while True:
            ps = _period_edge(anchor, n, plan[1])
            pe = _period_edge(anchor, n + 1, plan[1])
            price = PRICES[plan][cur]
            name = PRODUCTS[plan[0]][1]
            desc = f"1 × {name} (at {_money_major(price)} {cur.upper()} / {plan[1]})"
            inv = self.invoice(rng, c, sub, reason, ps, [self.line(rng, price, ps, pe, plan, desc)], (ps, pe),
                               immediate=reason == "subscription_create")  # fmt: skip
            sub.timeline.append((ps, _monthly(plan, cur, sub.coupon)))
            sub.period = (ps, pe)
            sub.plan = plan
            reason = "subscription_cycle"
            changed = False
            if allow_changes and not sub.coupon and plan[1] == "month":
                r = rng.random()
                target = ("team", "month") if plan[0] == "pro" and r < P_UPGRADE else (
                    ("pro", "month") if plan[0] == "team" and r < P_DOWNGRADE else None)  # fmt: skip
                if target is not None:
                    u = ps + DAY_S + int(rng.random() * (pe - ps - 2 * DAY_S))
                    if u < self.end_s:
                        self.change_plan(rng, c, sub, plan, target, u, (ps, pe))
                        plan = target
                        changed = True
            if (not changed and not credit_note_done and cur == "usd" and n >= 1 and not sub.coupon
                    and inv.amount_due > 0 and inv.paid_at + 3 * DAY_S < self.end_s):  # fmt: skip
                cn = _CreditNote(self.uid(rng, "cn_", 24), f"{c.invoice_prefix}-{c.invoice_seq:04d}-CN-01", inv,
                                 CREDIT_NOTE_MINOR, inv.paid_at + 2 * DAY_S + 3_600)  # fmt: skip
                self.credit_notes.append(cn)
                c.balance -= CREDIT_NOTE_MINOR
                credit_note_done = True
            churns = rng.random() < self.churn_p(c)
            if churns:
                canceled = pe - DAY_S * (1 + int(rng.random() * 10)) - int(rng.random() * 40_000)
                canceled = max(canceled, ps + 3_600)
                if pe >= self.end_s:
                    if canceled < self.end_s:  # asked to cancel; still active at the export
                        sub.canceled_at = canceled
                        sub.cancel_at_period_end = True
                        self.counts["pending_cancellations"] += 1
                    return None
                sub.canceled_at = canceled
                sub.cancel_at_period_end = True
                sub.ended_at = pe
                sub.status = "canceled"
                sub.timeline.append((pe, 0))
                return pe
            if pe >= self.end_s:
                return None
            n += 1

    def change_plan(self, rng: random.Random, c: _Customer, sub: _Sub, old: tuple[str, str], new: tuple[str, str],
                    u: int, period: tuple[int, int]) -> None:  # fmt: skip
        """A mid-period plan change invoiced at once (proration_behavior=always_invoice): credit and charge lines."""
        ps, pe = period
        cur = c.currency
        remaining, length = pe - u, pe - ps
        when = datetime.fromtimestamp(u, UTC).strftime("%d %b %Y")
        old_name, new_name = PRODUCTS[old[0]][1], PRODUCTS[new[0]][1]
        lines = [
            self.line(rng, -_prorate(PRICES[old][cur], remaining, length), u, pe, old,
                      f"Unused time on {old_name} after {when}", proration=True),
            self.line(rng, _prorate(PRICES[new][cur], remaining, length), u, pe, new,
                      f"Remaining time on {new_name} after {when}", proration=True),
        ]  # fmt: skip
        self.invoice(rng, c, sub, "subscription_update", u, lines, (u, pe), immediate=True)
        sub.timeline.append((u, _monthly(new, cur, sub.coupon)))
        sub.plan = new
        self.counts["upgrade" if PRICES[new][cur] > PRICES[old][cur] else "downgrade"] += 1

    def lifecycle(self, rng: random.Random, c: _Customer, t0: int, plan: tuple[str, str], *, trial: bool) -> None:
        ended = self.subscribe(rng, c, t0, plan, trial=trial, allow_changes=True)
        while ended is not None and c.first_paid is not None and rng.random() < P_REACTIVATE:
            t = ended + DAY_S * (15 + int(rng.random() * 60)) + int(rng.random() * 3_600)
            if t >= self.end_s:
                break
            self.counts["reactivations"] += 1
            ended = self.subscribe(rng, c, t, c.subs[-1].plan, trial=False, allow_changes=False)


# --------------------------------------------------------------------------------------------------- MRR


def _mrr_by_customer(customers: list[_Customer], month_ends: list[int]) -> dict[str, list[Decimal]]:
    out: dict[str, list[Decimal]] = {}
    for c in customers:
        values = []
        for t in month_ends:
            total = 0
            for sub in c.subs:
                amount = 0
                for since, monthly in sub.timeline:
                    if since < t:
                        amount = monthly
                total += amount
            values.append(_usd(total, c.currency))
        out[c.id] = values
    return out


def mrr_movements(mrr: dict[str, list[Decimal]], months: list[str]) -> dict[str, dict[str, Decimal]]:
    """Per month: new, expansion, contraction, churn, reactivation from customers' month-end MRR series."""
    moves = {m: dict.fromkeys(("new", "expansion", "contraction", "churn", "reactivation"), Decimal(0)) for m in months}
    for series in mrr.values():
        prev, seen = Decimal(0), False
        for k, cur in enumerate(series):
            mv = moves[months[k]]
            if prev == 0 and cur > 0:
                mv["reactivation" if seen else "new"] += cur
            elif prev > 0 and cur == 0:
                mv["churn"] -= prev
            elif cur > prev:
                mv["expansion"] += cur - prev
            elif cur < prev:
                mv["contraction"] -= prev - cur
            seen = seen or cur > 0
            prev = cur
    return moves


# --------------------------------------------------------------------------------------------------- spend


def _allocate(total: int, weights: list[int]) -> list[int]:
    """Split total minor units in proportion to integer weights, exactly (largest remainder, ties by position)."""
    w = sum(weights)
    if w == 0:
        return [0] * len(weights)
    shares = [total * x // w for x in weights]
    rest = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % w), i))
    for i in order[:rest]:
        shares[i] += 1
    return shares


@dataclass(slots=True)
class _Spend:
    day: date
    channel: str
    campaign_id: str
    campaign: str
    minor: int
    currency: str
    impressions: int = 0
    clicks: int = 0


# --------------------------------------------------------------------------------------------------- writers


def _csv_bytes(header: list[str], rows: list[list[str]], *, bom: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def _json_bytes(obj: Any) -> bytes:
    return (dumps_indented(obj, 2) + "\n").encode("utf-8")  # json.dumps(indent=2), faster


def _t(ts: int | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC), or empty."""
    if ts is None:
        return ""
    day, rem = divmod(ts, DAY_S)
    return f"{_day_text(day)} {rem // 3600:02d}:{rem // 60 % 60:02d}:{rem % 60:02d}"


def _b(value: bool) -> str:
    return "true" if value else "false"


CUSTOMER_HEADER = [
    "id", "Description", "Email", "Name", "Created (UTC)", "Currency", "Delinquent", "Deleted", "Balance", "Plan",
    "Status", "Cancel At Period End", "Card Country", "product_user_id (metadata)", "acquisition_channel (metadata)",
    "utm_campaign (metadata)",
]  # fmt: skip
SUBSCRIPTION_HEADER = [
    "id", "Customer ID", "Customer Name", "Plan", "Product", "Quantity", "Interval", "Amount", "Currency", "Status",
    "Created (UTC)", "Start (UTC)", "Current Period Start (UTC)", "Current Period End (UTC)", "Trial Start (UTC)",
    "Trial End (UTC)", "Canceled At (UTC)", "Ended At (UTC)", "Cancel At Period End", "Coupon", "Percent Off",
    "Amount Off",
]  # fmt: skip
INVOICE_HEADER = [
    "id", "Number", "Customer", "Customer Email", "Subscription", "Status", "Billing Reason", "Currency", "Subtotal",
    "Discount", "Tax", "Total", "Amount Paid", "Amount Due", "Starting Balance", "Period Start (UTC)",
    "Period End (UTC)", "Date (UTC)", "Paid At (UTC)",
]  # fmt: skip
REFUND_HEADER = ["id", "Charge ID", "Invoice ID", "Customer ID", "Amount", "Currency", "Reason", "Status",
                 "Created (UTC)"]  # fmt: skip
CREDIT_NOTE_HEADER = ["id", "Invoice", "Customer", "Amount", "Currency", "Reason", "Created (UTC)", "Status"]
GOOGLE_HEADER = ["Day", "Campaign", "Campaign ID", "Currency code", "Cost", "Impr.", "Clicks"]
META_HEADER = ["Reporting starts", "Reporting ends", "Campaign name", "Campaign ID", "Day", "Amount spent (USD)",
               "Impressions", "Link clicks"]  # fmt: skip
PLAIN_HEADER = ["date", "channel", "campaign", "spend", "currency"]


def _sub_status(sub: _Sub) -> str:
    return sub.status


def _customer_metadata(c: _Customer) -> dict[str, str]:
    meta = {"product_user_id": c.user_id}
    if c.channel != UNATTRIBUTED:
        meta["acquisition_channel"] = c.channel
    if c.campaign:
        meta["utm_campaign"] = c.campaign
    return meta


def _price_obj(plan: tuple[str, str], currency: str) -> dict[str, Any]:
    return {
        "id": _price_id(plan, currency),
        "object": "price",
        "active": True,
        "currency": currency,
        "nickname": f"{PRODUCTS[plan[0]][1]} {plan[1]}ly ({currency.upper()})",
        "product": PRODUCTS[plan[0]][0],
        "recurring": {"interval": plan[1], "interval_count": 1, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": PRICES[plan][currency],
    }


def _coupon_obj() -> dict[str, Any]:
    return {"id": COUPON["id"], "object": "coupon", "amount_off": None, "currency": None,
            "duration": COUPON["duration"], "percent_off": float(COUPON["percent_off"]), "valid": True}  # fmt: skip


def _envelope(url: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "url": url}


class _Writer:
    def __init__(self, landing: Path):
        self.landing = landing
        self.files: list[str] = []

    def write(self, rel: str, data: bytes) -> None:
        _analytics._write_atomic(self.landing / rel, data)
        self.files.append(rel)

    @contextmanager
    def text(self, rel: str) -> Iterator[TextIO]:
        """A UTF-8 file (no newline translation) written under a hidden name, renamed once complete."""
        with (
            _analytics._hidden_until_complete(self.landing / rel) as tmp,
            open(tmp, "w", encoding="utf-8", newline="") as out,
        ):
            yield out
        self.files.append(rel)

    def csv(self, rel: str, header: list[str], rows: Iterable[list[str]]) -> None:
        """``_csv_bytes(header, rows)``, written row by row."""
        with self.text(rel) as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(rows)

    def json_list(self, rel: str, url: str, items: Iterable[dict[str, Any]]) -> None:
        """``_json_bytes(_envelope(url, list(items)))``, written item by item."""
        with self.text(rel) as out:
            write_list_envelope(out, {"object": "list"}, items, {"has_more": False, "url": url}, 2)
            out.write("\n")


# --------------------------------------------------------------------------------------------------- public API


def generate_billing(
    landing_dir: Path,
    *,
    seed: int = 7,
    start: date = date(2024, 1, 1),
    months: int = 6,
    users: int = 2000,
    analytics_signup_days: int | None = None,
    launches: dict[str, datetime] | None = None,
    analytics_users: tuple[list[AnalyticsUpgrade], list[str], dict[str, _analytics.UtmTouch]] | None = None,
) -> BillingTruths:
    """Write the Stripe and ad-spend exports under ``landing_dir / "billing"`` and ``/ "marketing"``.

    ``users`` and ``seed`` are the analytics sample's: its plan_upgraded users are the first customers. The range
    is ``months`` calendar months from ``start`` (which must be the first of a month). ``analytics_signup_days``
    and ``launches`` must be the ones the analytics sample was generated with (its journeys are replayed), unless
    ``analytics_users`` gives what the replay would (upgrades, the other signed-up users, first UTM touches): the
    vectorised analytics engine hands them over. Same arguments, same bytes.
    """
    if start.day != 1:
        raise ValueError(f"start must be the first day of a month; got {start}")
    if not 3 <= months <= 24:
        raise ValueError(f"months must be between 3 and 24; got {months}")
    if users < 200:
        raise ValueError(f"users must be >= 200 so that every planted channel gets customers; got {users}")
    landing_dir = Path(landing_dir)
    y, m = divmod(start.month - 1 + months, 12)
    end = date(start.year + y, m + 1, 1)
    month_keys = []
    for k in range(months):
        yy, mm = divmod(start.month - 1 + k, 12)
        month_keys.append(f"{start.year + yy:04d}-{mm + 1:02d}")
    month_ends = [_add_months(_epoch(start), k + 1) for k in range(months)]

    sim = _Simulator(seed, start, end)
    upgrades, others, first_touches = analytics_users or _replay_analytics(
        seed, users, start, signup_days=analytics_signup_days, launches=launches
    )
    analytics_end = _epoch(start + timedelta(days=ANALYTICS_DAYS))
    for k, up in enumerate(upgrades):
        rng = random.Random((seed << 40) | (1 << 38) | k)
        t0 = up.upgraded_ms // 1000
        if t0 >= sim.end_s:
            continue
        c = sim.customer(rng, up.user_id, t0 - 30 - int(rng.random() * 600), up.currency.lower(), up.country,
                         "analytics_upgrade")  # fmt: skip
        sim.lifecycle(rng, c, t0, (up.plan, "month"), trial=False)

    pool = list(others)
    random.Random(seed * 7919 + 1).shuffle(pool)
    span_days = max(0, (sim.end_s - analytics_end) // DAY_S)
    n_extra = users * 3 * span_days // (40 * 30)
    outside = 0
    for k in range(n_extra):
        rng = random.Random((seed << 40) | (2 << 38) | k)
        if k < len(pool):
            user_id, source = pool[k], "analytics_user"
        else:
            user_id, source = str(100_000 + users + users // 10 + k), "outside"
            outside += 1
        day = int(rng.random() * (span_days - 1))
        t0 = analytics_end + day * DAY_S + 3_600 + int(rng.random() * 21 * 3_600)
        currency = _weighted(rng, CURRENCY_WEIGHTS)
        countries = COUNTRIES_BY_CURRENCY[currency]
        country = countries[int(rng.random() * len(countries))]
        c = sim.customer(rng, user_id, t0 - 30 - int(rng.random() * 600), currency, country, source)
        plan = _weighted(rng, NEW_PLAN_WEIGHTS)
        if c.channel == "sales":
            plan = ("team", plan[1])
        trial = rng.random() < P_TRIAL
        sim.lifecycle(rng, c, t0, plan, trial=trial)

    customers = sorted(sim.customers, key=lambda c: (c.created, c.id))
    # A churned customer deleted from the dashboard (it stays in the export, flagged).
    for c in customers:
        if c.currency != API_CURRENCY and c.subs[-1].status == "canceled" and c.first_paid is not None:
            c.deleted = True
            break

    # ---- truths from the simulation

    channels = [name for name, _w in CUSTOMER_CHANNELS]
    new_by = {ch: dict.fromkeys(month_keys, 0) for ch in channels}
    for c in customers:
        if c.first_paid is not None and c.first_paid < sim.end_s:
            new_by[c.channel][_month(c.first_paid)] += 1
    n_planted = sum(new_by[PLANTED_CAC_CHANNEL].values())
    first_touch_utm: dict[str, str] = {}
    metadata_over_utm = 0
    for c in customers:
        touch = first_touches.get(c.user_id)
        if c.first_paid is None or c.first_paid >= sim.end_s or touch is None or touch.at_ms > c.first_paid * 1000:
            continue
        if c.channel == UNATTRIBUTED:
            # No utm_source of the sample is in CHANNEL_MAP: it passes through lower-cased.
            first_touch_utm[c.id] = CHANNEL_MAP.get(touch.source, touch.source.lower())
        else:
            metadata_over_utm += 1
    if n_planted == 0:
        raise ValueError("no new paying customer in the planted CAC channel; raise users")

    spend, bad_rows, spend_files, spend_credit = _plan_spend(seed, start, end, users, n_planted)

    mrr = _mrr_by_customer(customers, month_ends)
    moves = mrr_movements(mrr, month_keys)
    mrr_total = [sum((s[k] for s in mrr.values()), Decimal(0)) for k in range(months)]

    cohort_customers = [c for c in customers if c.first_paid is not None and _month(c.first_paid) == month_keys[0]]
    churn_by: dict[str, tuple[int, int]] = {}
    for k in range(1, months):
        exposed = sum(1 for c in cohort_customers if mrr[c.id][k - 1] > 0)
        churned = sum(1 for c in cohort_customers if mrr[c.id][k - 1] > 0 and mrr[c.id][k] == 0)
        churn_by[month_keys[k]] = (exposed, churned)
    cohort = CohortChurn(
        cohort=month_keys[0],
        planted_monthly_churn=PLANTED_COHORT_CHURN,
        customers=len(cohort_customers),
        by_month=churn_by,
        realised_churned=sum(v[1] for v in churn_by.values()),
        realised_exposed=sum(v[0] for v in churn_by.values()),
    )

    spend_month: dict[str, dict[str, Decimal]] = {}
    spend_native: dict[str, dict[str, int]] = {}
    for s in spend:
        spend_month.setdefault(s.channel, dict.fromkeys(month_keys, Decimal(0)))[s.day.strftime("%Y-%m")] += _usd(
            s.minor, s.currency
        )
        native = spend_native.setdefault(s.channel, {})
        native[s.currency] = native.get(s.currency, 0) + s.minor
    spend_total = {ch: sum(v.values(), Decimal(0)) for ch, v in spend_month.items()}
    new_total = {ch: sum(v.values()) for ch, v in new_by.items()}
    cac = {ch: (_usd_str(spend_total[ch] / new_total[ch]) if new_total.get(ch) else None) for ch in sorted(spend_total)}
    all_new = sum(new_total.values())
    blended = sum(spend_total.values(), Decimal(0)) / all_new

    paid_by = dict.fromkeys(month_keys, Decimal(0))
    inv_by_cur: dict[str, int] = defaultdict(int)
    for c in customers:
        for inv in c.invoices:
            paid_by[_month(inv.paid_at)] += _usd(inv.amount_due, c.currency)
            inv_by_cur[c.currency] += 1
    refunds_by = dict.fromkeys(month_keys, Decimal(0))
    for r in sim.refunds:
        refunds_by[_month(r.created)] += _usd(r.amount, r.invoice.currency)
    credit_by = dict.fromkeys(month_keys, Decimal(0))
    for cn in sim.credit_notes:
        credit_by[_month(cn.created)] += _usd(cn.amount, cn.invoice.currency)

    paying_by_month = {m: sum(1 for s in mrr.values() if s[k] > 0) for k, m in enumerate(month_keys)}
    # What only the simulation and the truths needed goes before the files are written (memory at scale).
    del mrr, cohort_customers
    sim.used_ids.clear()

    # ---- files

    writer = _Writer(landing_dir)
    bad_rows = [*bad_rows, *_write_stripe(writer, customers, sim, seed)]
    for rel, data in spend_files:
        writer.write(rel, data)

    counts = sim.counts
    prices = {
        _price_id(plan, cur): {"plan": plan[0], "interval": plan[1], "currency": cur, "unit_amount_minor": amount}
        for plan, by_cur in PRICES.items()
        for cur, amount in by_cur.items()
    }
    return BillingTruths(
        seed=seed,
        users=users,
        start=start,
        end=end,
        months=tuple(month_keys),
        reporting_currency=REPORTING_CURRENCY,
        fx_rates={k: str(v) for k, v in FX_RATES.items()},
        gross_margin=str(GROSS_MARGIN),
        prices=dict(sorted(prices.items())),
        coupon=dict(COUPON),
        files=tuple(sorted(writer.files)),
        customers_by_currency={cur: sum(1 for c in customers if c.currency == cur) for cur in ("usd", "eur", "gbp")},
        customers_from_analytics_upgrades=sum(1 for c in customers if c.source == "analytics_upgrade"),
        customers_from_other_analytics_users=sum(1 for c in customers if c.source == "analytics_user"),
        customers_outside_analytics_sample=outside,
        invoices_by_currency={cur: inv_by_cur[cur] for cur in ("usd", "eur", "gbp")},
        new_paying_customers_by_channel_month=new_by,
        new_paying_customers_by_channel=new_total,
        spend_usd_by_channel_month={
            ch: {m: _usd_str(v) for m, v in spend_month[ch].items()} for ch in sorted(spend_month)
        },
        spend_usd_by_channel={ch: _usd_str(spend_total[ch]) for ch in sorted(spend_total)},
        spend_native_by_channel={
            ch: {cur.upper(): _money_major(v).replace(",", "") for cur, v in sorted(n.items())}
            for ch, n in sorted(spend_native.items())
        },
        cac_usd_by_channel=cac,
        blended_cac_usd=_usd_str(blended),
        planted_cac_channel=PLANTED_CAC_CHANNEL,
        first_touch_utm_customers=dict(sorted(first_touch_utm.items())),
        metadata_over_utm_customers=metadata_over_utm,
        planted_cac_usd=_usd_str(Decimal(PLANTED_CAC_MINOR) / 100),
        planted_spend_credit=spend_credit,
        mrr_usd_by_month={m: _usd_str(v) for m, v in zip(month_keys, mrr_total, strict=True)},
        mrr_movements_usd_by_month={m: {k: _usd_str(v) for k, v in mv.items()} for m, mv in moves.items()},
        paying_customers_by_month=paying_by_month,
        cohort_churn=cohort,
        other_cohorts_planted_monthly_churn=OTHER_COHORT_CHURN,
        amount_paid_usd_by_month={m: _usd_str(v) for m, v in paid_by.items()},
        refunds_usd_by_month={m: _usd_str(v) for m, v in refunds_by.items()},
        refunds_by_kind={"full": counts["refund_full"], "partial": counts["refund_partial"]},
        credit_notes_usd_by_month={m: _usd_str(v) for m, v in credit_by.items()},
        trials={
            "started": counts["trial_started"],
            "converted": counts["trial_converted"],
            "canceled": counts["trial_canceled"],
            "trialing_at_export": counts["trial_trialing"],
        },
        plan_changes={"upgrade": counts["upgrade"], "downgrade": counts["downgrade"]},
        reactivations=counts["reactivations"],
        cancellations_pending_at_export=counts["pending_cancellations"],
        bad_rows=tuple(sorted(bad_rows, key=lambda b: (b.file, b.record))),
    )


# --------------------------------------------------------------------------------------------------- Stripe files


def _write_stripe(writer: _Writer, customers: list[_Customer], sim: _Simulator, seed: int) -> list[BadRow]:
    """The Stripe dashboard CSVs and API JSON lists, each written row by row (no file's rows or text in memory)."""
    base = "billing/stripe"

    # customers
    writer.csv(f"{base}/dashboard/customers.csv", CUSTOMER_HEADER, (
        [
            c.id, c.description, c.email, c.name, _t(c.created), c.currency, "false", _b(c.deleted),
            _money_major(c.balance), _price_id(c.subs[-1].plan, c.currency), c.subs[-1].status,
            _b(c.subs[-1].cancel_at_period_end), c.country or "", meta["product_user_id"],
            meta.get("acquisition_channel", ""), meta.get("utm_campaign", ""),
        ]
        for c in customers if c.currency != API_CURRENCY
        for meta in (_customer_metadata(c),)
    ))  # fmt: skip
    writer.json_list(f"{base}/api/customers.json", "/v1/customers", (
        {
            "id": c.id, "object": "customer", "address": {"country": c.country} if c.country else None,
            "balance": c.balance, "created": c.created, "currency": c.currency, "delinquent": False,
            "description": c.description or None, "email": c.email, "invoice_prefix": c.invoice_prefix,
            "livemode": False, "metadata": _customer_metadata(c), "name": c.name,
        }
        for c in reversed(customers) if c.currency == API_CURRENCY
    ))  # fmt: skip

    # subscriptions
    subs = sorted(((s, c) for c in customers for s in c.subs), key=lambda sc: (sc[0].created, sc[0].id))
    writer.csv(f"{base}/dashboard/subscriptions.csv", SUBSCRIPTION_HEADER, (
        _subscription_row(s, c) for s, c in subs if c.currency != API_CURRENCY
    ))  # fmt: skip
    writer.json_list(f"{base}/api/subscriptions.json", "/v1/subscriptions", (
        _subscription_obj(s, c) for s, c in reversed(subs) if c.currency == API_CURRENCY
    ))  # fmt: skip
    del subs

    # invoices; the planted unknown customer: a well-formed invoice whose customer is in no export
    invoices = sorted((i for c in customers for i in c.invoices), key=lambda i: (i.created, i.id))
    rng = random.Random(seed * 104_729 + 3)
    ghost_t = _t(sim.start_s + 20 * DAY_S + 40_000)
    ghost = [
        _sid(rng, "in_", 24), "GHOST001-0001", "cus_UnknownZZ0001", "", _sid(rng, "sub_", 24), "paid",
        "subscription_create", "usd", "49.00", "0.00", "0.00", "49.00", "49.00", "49.00", "0.00", ghost_t,
        _t(sim.start_s + 51 * DAY_S + 40_000), ghost_t, ghost_t,
    ]  # fmt: skip
    rows = (_invoice_row(inv) for inv in invoices if inv.customer.currency != API_CURRENCY)
    head = list(itertools.islice(rows, 10))
    at = len(head)  # the ghost is the 11th record, or the last of a shorter file
    rel = f"{base}/dashboard/invoices.csv"
    writer.csv(rel, INVOICE_HEADER, itertools.chain(head, [ghost], rows))
    bad = [BadRow(rel, at + 1, at + 2, "unknown_customer", "Customer", "cus_UnknownZZ0001")]
    writer.json_list(f"{base}/api/invoices.json", "/v1/invoices", (
        _invoice_obj(inv) for inv in reversed(invoices) if inv.customer.currency == API_CURRENCY
    ))  # fmt: skip
    del invoices

    # refunds and credit notes (every currency, dashboard CSV)
    writer.csv(f"{base}/dashboard/refunds.csv", REFUND_HEADER, ([
        r.id, r.invoice.charge or "", r.invoice.id, r.invoice.customer.id, _money_major(r.amount), r.invoice.currency,
        r.reason, "succeeded", _t(r.created),
    ] for r in sorted(sim.refunds, key=lambda r: (r.created, r.id))))  # fmt: skip
    writer.csv(f"{base}/dashboard/credit_notes.csv", CREDIT_NOTE_HEADER, ([
        cn.id, cn.invoice.id, cn.invoice.customer.id, _money_major(cn.amount), cn.invoice.currency,
        "product_unsatisfactory", _t(cn.created), "issued",
    ] for cn in sim.credit_notes))  # fmt: skip
    return bad


def _subscription_row(s: _Sub, c: _Customer) -> list[str]:
    trial = s.trial or (None, None)
    return [
        s.id, c.id, c.name, _price_id(s.plan, c.currency), PRODUCTS[s.plan[0]][1], "1", s.plan[1],
        _money_major(PRICES[s.plan][c.currency]), c.currency, s.status, _t(s.created), _t(s.start),
        _t(s.period[0]), _t(s.period[1]), _t(trial[0]), _t(trial[1]), _t(s.canceled_at), _t(s.ended_at),
        _b(s.cancel_at_period_end), COUPON["id"] if s.coupon else "",
        str(COUPON["percent_off"]) if s.coupon else "", "",
    ]  # fmt: skip


def _subscription_obj(s: _Sub, c: _Customer) -> dict[str, Any]:
    trial = s.trial or (None, None)
    return {
        "id": s.id, "object": "subscription", "billing_cycle_anchor": s.period[0],
        "cancel_at_period_end": s.cancel_at_period_end, "canceled_at": s.canceled_at, "created": s.created,
        "currency": c.currency, "current_period_end": s.period[1], "current_period_start": s.period[0],
        "customer": c.id,
        "discount": {"object": "discount", "coupon": _coupon_obj(), "customer": c.id, "subscription": s.id}
        if s.coupon else None,
        "ended_at": s.ended_at,
        "items": _envelope(f"/v1/subscription_items?subscription={s.id}", [{
            "id": s.item_id, "object": "subscription_item", "created": s.created,
            "price": _price_obj(s.plan, c.currency), "quantity": 1, "subscription": s.id,
        }]),
        "livemode": False, "metadata": {}, "start_date": s.start, "status": s.status,
        "trial_end": trial[1], "trial_start": trial[0],
    }  # fmt: skip


def _invoice_row(inv: _Invoice) -> list[str]:
    c = inv.customer
    return [
        inv.id, inv.number, c.id, c.email, inv.subscription, "paid", inv.reason, c.currency,
        _money_major(inv.subtotal), _money_major(inv.discount), "0.00", _money_major(inv.total),
        _money_major(inv.amount_due), _money_major(inv.amount_due), _money_major(inv.starting_balance),
        _t(inv.period_start), _t(inv.period_end), _t(inv.created), _t(inv.paid_at),
    ]  # fmt: skip


def _invoice_obj(inv: _Invoice) -> dict[str, Any]:
    c = inv.customer
    lines = [{
        "id": line.id, "object": "line_item", "amount": line.amount, "currency": c.currency,
        "description": line.description, "discountable": True, "period": {"end": line.end, "start": line.start},
        "price": _price_obj(line.price, c.currency), "proration": line.proration, "quantity": 1,
        "subscription": inv.subscription, "type": "subscription",
    } for line in inv.lines]  # fmt: skip
    return {
        "id": inv.id, "object": "invoice", "amount_due": inv.amount_due, "amount_paid": inv.amount_due,
        "amount_remaining": 0, "billing_reason": inv.reason, "charge": inv.charge, "created": inv.created,
        "currency": c.currency, "customer": c.id, "customer_email": c.email,
        "discount": {"object": "discount", "coupon": _coupon_obj(), "customer": c.id,
                     "subscription": inv.subscription} if inv.discount else None,
        "ending_balance": min(0, inv.total + inv.starting_balance),
        "lines": _envelope(f"/v1/invoices/{inv.id}/lines", lines),
        "livemode": False, "metadata": {}, "number": inv.number, "paid": True,
        "period_end": inv.period_end, "period_start": inv.period_start, "starting_balance": inv.starting_balance,
        "status": "paid", "status_transitions": {"finalized_at": inv.created, "paid_at": inv.paid_at},
        "subscription": inv.subscription, "subtotal": inv.subtotal, "tax": None, "total": inv.total,
        "total_discount_amounts": [{"amount": inv.discount, "discount": f"di_{inv.subscription[4:18]}"}]
        if inv.discount else [],
    }  # fmt: skip


# --------------------------------------------------------------------------------------------------- spend files


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=k) for k in range((end - start).days)]


def _plan_spend(seed: int, start: date, end: date, users: int, n_planted: int
                ) -> tuple[list[_Spend], list[BadRow], list[tuple[str, bytes]], SpendCredit | None]:  # fmt: skip
    days = _days(start, end)
    scale_num, scale_den = users, 2000
    spend: list[_Spend] = []
    files: list[tuple[str, bytes]] = []
    bad: list[BadRow] = []

    # Google Ads: exactly PLANTED_CAC_MINOR per new paying paid_search customer, split over days and campaigns.
    rng = random.Random(seed * 1_000_003 + 11)
    total = PLANTED_CAC_MINOR * n_planted
    active = [c for c in GOOGLE_CAMPAIGNS if c[2]]
    slots = [(d, c) for d in days for c in active]
    spikes = {}
    if total >= 1_000_000:  # a few big days so the UI shows thousands separators
        for k in range(2):
            spikes[(days[10 + 17 * k], active[1][0])] = 123_456 + 11_111 * k
    weights = [0 if (d, c[0]) in spikes else c[3][0] + int(rng.random() * (c[3][1] - c[3][0] + 1)) for d, c in slots]
    shares = _allocate(total - sum(spikes.values()), weights)
    google: list[_Spend] = []
    for (d, c), share in zip(slots, shares, strict=True):
        minor = spikes.get((d, c[0]), share)
        impressions = minor // 7 + int(rng.random() * 300)
        clicks = impressions // (15 + int(rng.random() * 20))
        google.append(_Spend(d, "paid_search", c[0], c[1], minor, "USD", impressions, clicks))
    spend.extend(google)
    split_k = max(1, (len({d.strftime("%Y-%m") for d in days})) // 2)
    sm, sy = divmod(start.month - 1 + split_k, 12)
    split = date(start.year + sm, sy + 1, 1)
    ui_days = [d for d in days if d < split]
    ui_rows = []
    by_key = {(s.day, s.campaign_id): s for s in google}
    for d in ui_days:
        for cid, name, is_active, _w in GOOGLE_CAMPAIGNS:
            if not is_active:
                ui_rows.append([d.isoformat(), name, cid, "USD", "0.00", "--", "--"])
                continue
            s = by_key[(d, cid)]
            cost = _money_major(s.minor)
            if cid == GOOGLE_CAMPAIGNS[2][0]:
                cost = "$" + cost
            ui_rows.append([d.isoformat(), name, cid, "USD", cost, str(s.impressions), str(s.clicks)])
    ui_spend = [s for s in google if s.day < split]
    cost_all = sum(s.minor for s in ui_spend)
    impr_all = sum(s.impressions for s in ui_spend)
    clicks_all = sum(s.clicks for s in ui_spend)
    ui_rows += [
        ["Total: Account", "--", "--", "USD", _money_major(cost_all), f"{impr_all:,}", f"{clicks_all:,}"],
        ["Total: Search campaigns", "--", "--", "USD", _money_major(cost_all), f"{impr_all:,}", f"{clicks_all:,}"],
        ["Total: Display campaigns", "--", "--", "USD", "0.00", "0", "0"],
    ]
    last_ui = ui_days[-1]
    title = f"Campaign report\r\n{_long_date(start)} - {_long_date(last_ui)}\r\n"
    body = _csv_bytes(GOOGLE_HEADER, ui_rows)
    files.append((f"marketing/google_ads/campaign_report_{start}_{last_ui}.csv", title.encode() + body))
    api_rows = []
    for s in sorted((s for s in google if s.day >= split and (s.minor or s.impressions)),
                    key=lambda s: (s.day, s.campaign_id)):  # fmt: skip
        api_rows.append({
            "customer": {"resourceName": f"customers/{GOOGLE_CUSTOMER_ID}", "currencyCode": "USD"},
            "campaign": {"resourceName": f"customers/{GOOGLE_CUSTOMER_ID}/campaigns/{s.campaign_id}",
                         "name": s.campaign, "id": s.campaign_id},
            "metrics": {"clicks": str(s.clicks), "costMicros": str(s.minor * 10_000),
                        "impressions": str(s.impressions)},
            "segments": {"date": s.day.isoformat()},
        })  # fmt: skip
    if api_rows:
        last = days[-1]
        files.append((f"marketing/google_ads/api_campaign_daily_{split}_{last}.json", _json_bytes(api_rows)))

    # Meta Ads Manager: daily budgets per campaign.
    rng = random.Random(seed * 1_000_003 + 23)
    meta_rows = []
    meta: list[_Spend] = []
    for d in days:
        for cid, name, (lo, hi) in META_CAMPAIGNS:
            minor = (lo + int(rng.random() * (hi - lo + 1))) * scale_num // scale_den
            impressions = minor // 2 + int(rng.random() * 500)
            clicks = impressions // (60 + int(rng.random() * 60))
            meta.append(_Spend(d, "paid_social", cid, name, minor, "USD", impressions, clicks))
            meta_rows.append(
                [
                    d.isoformat(),
                    d.isoformat(),
                    name,
                    cid,
                    d.isoformat(),
                    _money_major(minor).replace(",", ""),
                    str(impressions),
                    str(clicks) if clicks else "",
                ]
            )
    meta_rows.append([days[0].isoformat(), days[-1].isoformat(), "", "", "",
                      _money_major(sum(s.minor for s in meta)).replace(",", ""),
                      str(sum(s.impressions for s in meta)), str(sum(s.clicks for s in meta))])  # fmt: skip
    spend.extend(meta)
    files.append((f"marketing/meta_ads/meta_ads_campaigns_{days[0]}_{days[-1]}.csv",
                  _csv_bytes(META_HEADER, meta_rows, bom=True)))  # fmt: skip

    # Plain CSVs: affiliates (EUR, daily), events (GBP), sales team (USD, monthly); one planted bad row each.
    rng = random.Random(seed * 1_000_003 + 37)
    aff: list[_Spend] = []
    for d in days:
        for name, (lo, hi) in AFFILIATE_CAMPAIGNS:
            minor = (lo + int(rng.random() * (hi - lo + 1))) * scale_num // scale_den
            aff.append(_Spend(d, "affiliate", "", name, minor, "EUR"))
    events = [
        _Spend(start + timedelta(days=off), "events", "", name, minor * scale_num // scale_den, "GBP")
        for off, name, minor in EVENTS
        if start + timedelta(days=off) < end
    ]
    sales = [
        _Spend(d, "sales", "", name, minor * scale_num // scale_den, "USD")
        for d in days
        if d.day == 1
        for name, minor in SALES_LINES
    ]
    # The sales team's second month carries a vendor credit on its tooling line: a negative row of the same day and
    # campaign as the charge it corrects. It is loaded and netted (it is in ``spend``), never quarantined.
    credit: _Spend | None = None
    planted_credit: SpendCredit | None = None
    if len(sales) > 3:
        credit = _Spend(sales[3].day, "sales", "", sales[3].campaign, -SALES_CREDIT_MINOR, "USD")
    planted = (
        ("affiliates.csv", "Affiliates", aff, 5, ["12,34,5", "EUR"], "bad_amount", "spend", "12,34,5"),
        ("events.csv", "Events", events, 2, ["1200.00", "XYZ"], "unknown_currency", "currency", "XYZ"),
        ("sales_team.csv", "Sales team", sales, 5, ["NaN", "USD"], "non_finite_spend", "spend", "NaN"),
    )
    for fname, raw_channel, items, at, tail, kind, fld, value in planted:
        written = [*items[:3], credit, *items[3:]] if credit is not None and items is sales else items
        rows = [[s.day.isoformat(), raw_channel, s.campaign, _money_major(s.minor).replace(",", ""), s.currency]
                for s in written]  # fmt: skip
        at = min(at, len(rows))
        anchor_day = items[min(at, len(items) - 1)].day.isoformat() if items else start.isoformat()
        rows.insert(at, [anchor_day, raw_channel, items[0].campaign if items else "misc", *tail])
        rel = f"marketing/other/{fname}"
        files.append((rel, _csv_bytes(PLAIN_HEADER, rows)))
        bad.append(BadRow(rel, at + 1, at + 2, kind, fld, value))
        spend.extend(written)
        if credit is not None and items is sales:
            record = next(k for k, row in enumerate(rows, 1) if row[3].startswith("-"))
            planted_credit = SpendCredit(
                rel, record, record + 1, credit.channel, credit.day.strftime("%Y-%m"), credit.campaign,
                _usd_str(_usd(credit.minor, credit.currency)),
            )  # fmt: skip
    return spend, bad, files, planted_credit


def _long_date(d: date) -> str:
    return f"{d.strftime('%B')} {d.day}, {d.year}"
