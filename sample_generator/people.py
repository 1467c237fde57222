"""The product users of the analytics sample, as the other samples (feedback, billing) see them.

``sample_users`` replays the analytics generator's per-user random streams (``sample_generator.analytics``) up to
the end of each journey's plan decision, so a user's id, platform, sign-up time and plan here are exactly the
ones in the analytics exports for the same ``seed``, ``users``, ``days`` and ``start`` (a unit test checks this
against a generated sample). The analytics exports carry no email addresses, names or companies: those are defined here,
deterministically from the user id alone, so every sample that needs them agrees.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sample_generator import analytics

ACCOUNT_COUNT = 400  # companies the users work for; a user's company depends on the user id only

_FIRST_NAMES = (
    ("Ana", "ana"), ("Björn", "bjorn"), ("Chloé", "chloe"), ("David", "david"), ("Emma", "emma"), ("Fatima", "fatima"),
    ("Grace", "grace"), ("Hiroshi", "hiroshi"), ("Inès", "ines"), ("Jonas", "jonas"), ("Kemal", "kemal"),
    ("Léa", "lea"), ("María José", "mariajose"), ("Noah", "noah"), ("Olga", "olga"), ("Priya", "priya"),
    ("Quentin", "quentin"), ("Rafael", "rafael"), ("Søren", "soren"), ("Tomás", "tomas"), ("陽菜", "hina"),
    ("Zoë", "zoe"),
)  # fmt: skip
_LAST_NAMES = (
    "Andersson", "Bianchi", "Çelik", "Dubois", "Erdős", "Fernández", "García", "Hoffmann", "Ivanova", "Jensen",
    "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Quispe", "Rossi", "Smith", "Tanaka", "Umarov",
    "Van der Berg", "Wójcik", "Yılmaz", "山田",
)  # fmt: skip
_COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Soylent", "Vandelay", "Pied Piper",
    "Nordwind", "Café Lumière", "Zürich Data", "Sakura Labs", "Ñandú Analytics",
)  # fmt: skip
_COMPANY_SUFFIXES = ("Inc.", "GmbH", "Ltd", "SAS", "K.K.", "LLC", "S.L.", "AG")


@dataclass(frozen=True, slots=True)
class SampleUser:
    index: int  # position in the analytics generator (user id = 100000 + index)
    user_id: str
    platform: str  # iOS | Android | Web, as in the analytics sample
    plan: str  # at the end of the data: free, or the plan of the user's plan_upgraded event
    signed_up_at: int  # epoch seconds (UTC) of the signed_up event
    plan_since: int  # epoch seconds of the plan_upgraded event; the sign-up time for free users
    email: str  # canonical (lower-case) address: see user_email
    name: str
    account_id: str
    account_name: str
    account_domain: str


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:8], "big")


def user_account(user_id: str) -> tuple[str, str, str]:
    """(account id, company name, company domain) of a user; depends on the user id only."""
    k = _digest("account", user_id) % ACCOUNT_COUNT
    word = _COMPANY_WORDS[k % len(_COMPANY_WORDS)]
    suffix = _COMPANY_SUFFIXES[(k // len(_COMPANY_WORDS)) % len(_COMPANY_SUFFIXES)]
    slug = "".join(c for c in word.lower() if c.isascii() and c.isalnum())
    return f"acct-{k:04d}", f"{word} {suffix} #{k}", f"{slug}{k}.example.com"


def user_name(user_id: str) -> tuple[str, str]:
    """(display name, ASCII first-name slug) of a user; depends on the user id only."""
    h = _digest("name", user_id)
    first, slug = _FIRST_NAMES[h % len(_FIRST_NAMES)]
    last = _LAST_NAMES[(h // len(_FIRST_NAMES)) % len(_LAST_NAMES)]
    return f"{first} {last}", slug


def user_email(user_id: str) -> str:
    """The user's canonical email address (lower case, no spaces): ``<first name>.<user id>@<company domain>``."""
    return user_identity(user_id)[1]


def user_identity(user_id: str) -> tuple[str, str, tuple[str, str, str]]:
    """(display name, canonical email, ``user_account``) of a user, each digest computed once."""
    account = user_account(user_id)
    name, slug = user_name(user_id)
    return name, f"{slug}.{user_id}@{account[2]}", account


def sample_users(
    *,
    seed: int = 7,
    users: int = 2000,
    days: int = 60,
    start: date = date(2024, 1, 1),
    mess: bool = True,
    signup_days: int | None = None,
    launches: dict[str, datetime] | None = None,
) -> tuple[SampleUser, ...]:
    """The signed-up users of ``generate_analytics`` with the same seed, users, days, start, mess, signup_days and
    launches."""
    if users < 1 or days < analytics.MIN_DAYS:
        raise ValueError(f"users must be >= 1 and days >= {analytics.MIN_DAYS} (as for generate_analytics)")
    out = []
    for i in range(users):
        # The same stream and the same draws as generate_analytics; the plan is decided before background browsing,
        # the only part that depends on events_per_user, so events_per_user=0 replays it exactly.
        _rng, profile, journey, _later = analytics.signed_up_journey(
            seed,
            i,
            days=days,
            start=start,
            events_per_user=0,
            mess=mess,
            signup_days=signup_days,
            launches=launches,
        )
        user_id = str(profile.user_id)
        signed_up = next(t for t, name, *_ in journey.events if name == "signed_up")
        upgrades = [(t, props) for t, name, _s, props, _i in journey.events if name == "plan_upgraded"]
        plan, plan_since = ("free", signed_up) if not upgrades else (upgrades[-1][1]["plan"], upgrades[-1][0])
        name, email, (account_id, account_name, domain) = user_identity(user_id)
        out.append(
            SampleUser(
                index=i, user_id=user_id, platform=profile.platform, plan=plan, signed_up_at=signed_up // 1000,
                plan_since=plan_since // 1000, email=email, name=name,
                account_id=account_id, account_name=account_name, account_domain=domain,
            )
        )  # fmt: skip
    return tuple(out)
