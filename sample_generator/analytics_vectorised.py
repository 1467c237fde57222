"""The analytics sample at scale: the journeys of ``analytics.py`` drawn as numpy arrays, formatted by DuckDB.

Same vendor formats (Amplitude Export API ZIPs of hourly gzipped members, Mixpanel raw-export JSONL, Segment CSV),
the same planted probabilities, identity stitching, late events, duplicates and malformed lines (the finishing step
that packs files and plants the mess is the reference engine's own ``_ExportWriter``), and truths of the same
shape, computed from the generated events with the reference semantics. Not the same bytes as the reference
engine (its per-user ``random.Random`` streams are inherently one event at a time): a different draw of the same
model, deterministic for a seed.

How it scales (issue 13: 100M events): users are drawn in chunks of ``CHUNK_USERS``, each chunk's journeys as
arrays (one numpy draw per decision for all users of the chunk); each chunk's truths are counted on its arrays
(a user's events never span chunks, so the counts add up); its events go to per-day Arrow IPC spill files with
only the narrow columns (times, names, small codes). Each day is then read back, sorted by its file order, and
formatted into JSON lines by one DuckDB projection per batch of whole members (multi-threaded, no per-line
Python), whose string column's buffer is already the member body, only when the finisher asks for the next member:
members are gzipped in two threads by ISA-L's igzip (``isal``: standard gzip streams, ~3x zlib's level-1 speed,
releases the GIL) and written into the day's ZIP one by one, so memory holds a batch, never a day. The per-event
random identifiers (uuid, $insert_id) are drawn per day at format time. bench/README.md "Sample generator at scale"
has the figures.

The UTM first-touch plans are drawn per chunk with ``planted_utm_plan``'s model; their property texts are the
reference functions' own.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
from isal import igzip

from sample_generator import analytics as ref
from sample_generator.analytics import (
    ACTIVATION_WINDOW_MS,
    COUNTRIES,
    DAY,
    HOUR,
    MINUTE,
    ONBOARDING_BY_PLATFORM,
    OUTCOME_WINDOW_DAYS,
    P_LATE_MOBILE_EVENT,
    P_MIXPANEL_DUPLICATE,
    P_REPORT_AFTER_ONBOARDING,
    P_SHARE_INSIDE_WINDOW,
    P_SHARE_PER_REPORT,
    P_SHARE_PER_REPORT_AFTER_PROD_1,
    P_STEP_AFTER_WINDOW,
    P_UPGRADE_AFTER_REPORT,
    P_UTM_USER,
    PAGES,
    PLANS,
    PLANTED_OUTCOMES,
    PLATFORMS,
    REPORT_TITLES,
    RETENTION_PERIODS,
    SECOND,
    SHARING_WINDOW_MS,
    SIGNUP_METHODS,
    UTM_FIRST_CAMPAIGNS,
    UTM_KINDS,
    UTM_LATER_CAMPAIGN,
    AnalyticsTruths,
    retention_probability,
)

CHUNK_USERS = 50_000  # users drawn at once: ~3.5M events, a few hundred MB of arrays
# Lines formatted by one DuckDB statement: a day's lines at 100M events are ~2 GB of JSON; formatted at once, they
# were one Arrow column beside the member bodies cut from it (a 100M run reached 10.9 GB RSS while formatting).
FORMAT_BATCH_ROWS = 100_000
# Event names coded in their sort order, so sorting by (time, code) is the reference's sort by (time, name).
NAMES = (
    "$identify",
    "onboarding_completed",
    "page_viewed",
    "plan_upgraded",
    "report_created",
    "report_shared",
    "session_start",
    "settings_changed",
    "signed_up",
)
IDENTIFY, ONBOARDING, PAGE, UPGRADE, REPORT, SHARE, SESSION, SETTINGS, SIGNUP = range(len(NAMES))
CHANNELS = ("email", "link", "slack")
THEMES = ("dark", "light", "système")
COUPONS = ("", "", "", "SPRING24", 'BF, "2023"', "ÉTÉ-10")
CURRENCIES = ("USD", "EUR")
_EVENT_COLUMNS = ("user", "t", "name", "session", "a", "b", "rid")


def _int(rng: np.random.Generator, lo: Any, hi: Any, size: int) -> np.ndarray:
    """Uniform integers in [lo, hi] (bounds may be arrays), like the reference's ``_int``."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    return lo + (rng.random(size) * (hi - lo + 1)).astype(np.int64)


class _Events:
    """Column arrays of events, appended in pieces and concatenated once."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, user: np.ndarray, t: np.ndarray, name: int | np.ndarray, session: Any = -1, a: Any = 0,
            b: Any = 0, rid: Any = 0) -> None:  # fmt: skip
        n = len(user)
        if n == 0:
            return
        self.parts.append({
            "user": user.astype(np.int64), "t": t.astype(np.int64),
            "name": np.broadcast_to(np.asarray(name, dtype=np.int8), n),
            "session": np.broadcast_to(np.asarray(session, dtype=np.int64), n),
            "a": np.broadcast_to(np.asarray(a, dtype=np.int32), n),
            "b": np.broadcast_to(np.asarray(b, dtype=np.int32), n),
            "rid": np.broadcast_to(np.asarray(rid, dtype=np.int64), n),
        })  # fmt: skip

    def columns(self) -> dict[str, np.ndarray]:
        return {c: np.concatenate([p[c] for p in self.parts]) for c in _EVENT_COLUMNS}


@dataclass
class _Users:
    """Per-user attributes of one chunk (index = global user index - lo)."""

    lo: int
    signed_up: np.ndarray  # bool
    platform: np.ndarray  # index into PLATFORMS
    country: np.ndarray  # index into COUNTRIES (the last one: no geo)
    null_props: np.ndarray
    method: np.ndarray
    windows: np.ndarray
    su: np.ndarray  # sign-up time (ms, floored as exported); end_ms for visitors
    plan: np.ndarray  # index into PLANS, -1 free
    identified_later: np.ndarray


class _Model:
    def __init__(self, *, seed: int, users: int, days: int, start: date, events_per_user: int, mess: bool,
                 signup_days: int, launch_ms: dict[str, int]) -> None:  # fmt: skip
        self.seed = seed
        self.users = users
        self.visitors = users // 10
        self.days = days
        self.events_per_user = events_per_user
        self.mess = mess
        self.signup_days = signup_days
        self.start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
        self.end_ms = self.start_ms + days * DAY
        self.switch_ms = self.start_ms + min(ref.SWITCH_DAY, days // 2) * DAY
        self.launch_ms = launch_ms
        self.ship_prod1 = launch_ms.get("PROD-1")

    def rng(self, *key: int) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, *key])))

    def chunk_bounds(self) -> list[tuple[int, int]]:
        """The [lo, hi) of every chunk, in generation order: signed-up users, then visitors (never mixed)."""
        total = self.users + self.visitors
        return [(lo, min(lo + CHUNK_USERS, self.users if lo < self.users else total))
                for lo in [*range(0, self.users, CHUNK_USERS), *range(self.users, total, CHUNK_USERS)]]  # fmt: skip

    # ---- one chunk of users [lo, hi): signed-up users below self.users, visitors above

    def chunk(self, lo: int, hi: int) -> tuple[_Users, dict[str, np.ndarray]]:
        rng = self.rng(1, lo)
        n = hi - lo
        idx = np.arange(lo, hi)
        signed = idx < self.users
        platform = rng.integers(0, 3, n)
        mobile = platform != 2
        users = _Users(
            lo=lo, signed_up=signed, platform=platform, country=rng.integers(0, len(COUNTRIES), n),
            null_props=rng.random(n) < 0.05, method=rng.integers(0, len(SIGNUP_METHODS), n),
            windows=rng.random(n) >= 0.6, su=np.full(n, self.end_ms, dtype=np.int64), plan=np.full(n, -1),
            identified_later=np.zeros(n, dtype=bool),
        )  # fmt: skip
        ev = _Events()
        s_idx = np.flatnonzero(signed)
        if len(s_idx):
            self._signed_up(rng, users, s_idx, mobile, ev)
        v_idx = np.flatnonzero(~signed)
        if len(v_idx):  # visitors: 1-3 sessions of 1-6 pages on random days
            k = _int(rng, 1, 3, len(v_idx))
            who = np.repeat(v_idx, k)
            day = rng.integers(0, self.days, len(who))
            self._browse(rng, ev, who, self.start_ms + day * DAY + _int(rng, 0, 22 * HOUR, len(who)), 1, 6, mobile)
        cols = ev.columns()
        cols["user"] += lo
        keep = cols["t"] < self.end_ms  # after the export range: it never happened as far as the data is concerned
        cols = {c: v[keep] for c, v in cols.items()}
        t = cols["t"]
        floor = (t < self.switch_ms) & (cols["name"] != UPGRADE)  # Mixpanel exports whole seconds
        cols["t"] = np.where(floor, t - t % SECOND, t)
        order = np.lexsort((cols["name"], cols["t"], cols["user"]))
        return users, {c: v[order] for c, v in cols.items()}

    def _browse(self, rng: np.random.Generator, ev: _Events, who: np.ndarray, start: np.ndarray, lo: int, hi: int,
                mobile: np.ndarray, until: np.ndarray | None = None) -> None:  # fmt: skip
        """Sessions starting at ``start`` of lo..hi page views, 10 s-4 min apart; mobile SDKs log session_start."""
        m = mobile[who]
        ev.add(who[m], start[m], SESSION, session=start[m])
        pages = _int(rng, lo, hi, len(who))
        session = np.repeat(start, pages)
        user = np.repeat(who, pages)
        step = _int(rng, 10 * SECOND, 4 * MINUTE, len(user))
        ends = np.cumsum(pages)
        total = np.cumsum(step)
        base = np.repeat(np.concatenate(([0], total[ends[:-1] - 1])) if len(ends) else ends, pages)
        t = session + total - base
        keep = np.ones(len(t), dtype=bool) if until is None else t < np.repeat(until, pages)
        ev.add(user[keep], t[keep], PAGE, session=session[keep], a=rng.integers(0, len(PAGES), len(t))[keep],
               b=_int(rng, 80, 2400, len(t))[keep])  # fmt: skip

    def _session(self, ev: _Events, who: np.ndarray, t: np.ndarray, mobile: np.ndarray) -> np.ndarray:
        m = mobile[who]
        ev.add(who[m], t[m], SESSION, session=t[m])
        return t

    def _floor(self, t: np.ndarray) -> np.ndarray:
        return np.where(t < self.switch_ms, t - t % SECOND, t)

    def _signed_up(self, rng: np.random.Generator, u: _Users, s: np.ndarray, mobile: np.ndarray, ev: _Events) -> None:
        n = len(s)
        start_ms, end_ms = self.start_ms, self.end_ms
        su_day = np.minimum((self.signup_days * ref.signup_fraction(rng.random(n))).astype(np.int64),
                            self.signup_days - 1)  # fmt: skip
        t_planned = start_ms + su_day * DAY + _int(rng, 30 * MINUTE, 21 * HOUR, n)

        # Anonymous before signing up: some browse on 1-3 earlier days (identified later).
        if self.mess:
            later = (su_day > 0) & (rng.random(n) < 0.15)
            u.identified_later[s] = later
            w = np.flatnonzero(later)
            span = np.minimum(3, su_day[w])
            k = _int(rng, 1, span, len(w))
            keys = rng.random((len(w), 3))
            keys[np.arange(3)[None, :] >= span[:, None]] = 2.0  # back days beyond the span are never chosen
            rank = keys.argsort(axis=1).argsort(axis=1)
            chosen = rank < k[:, None]
            row, col = np.nonzero(chosen)
            back = col + 1
            who = s[w[row]]
            t0 = start_ms + (su_day[w[row]] - back) * DAY + _int(rng, 0, 20 * HOUR, len(row))
            self._browse(rng, ev, who, t0, 1, 5, mobile)
        signup_session = t_planned - _int(rng, 5, 25, n) * MINUTE
        self._session(ev, s, signup_session, mobile)
        # the reference's browse() opens the signup session a second time: two session_start events on mobile
        self._browse(rng, ev, s, signup_session, 1, 3, mobile, until=t_planned - SECOND)
        t_su = self._floor(t_planned)
        u.su[s] = t_su
        ev.add(s, t_su, SIGNUP, session=signup_session, a=u.method[s])
        ev.add(s, t_su + SECOND, IDENTIFY)
        window_end = t_su + ACTIVATION_WINDOW_MS

        # Step 2: onboarding with the platform's rate; a few only after the window.
        rate = np.array([ONBOARDING_BY_PLATFORM[p] for p in PLATFORMS])[u.platform[s]]
        drawn = rng.random(n) < rate
        quick = rng.random(n) < 0.8
        delay = np.where(quick, _int(rng, 2 * MINUTE, 90 * MINUTE, n), _int(rng, DAY, 5 * DAY, n))
        t_onb_raw = t_su + delay
        o = np.flatnonzero(drawn)
        new_session = delay[o] >= 20 * MINUTE
        session = signup_session[o].copy()
        session[new_session] = self._session(ev, s[o][new_session], t_onb_raw[o][new_session] - 30 * SECOND, mobile)
        ev.add(s[o], t_onb_raw[o], ONBOARDING, session=session, a=_int(rng, 0, 3, len(o)))
        t_onb = self._floor(t_onb_raw)
        onb = drawn & (t_onb_raw < end_ms)  # dropped beyond the range: as if it never happened
        late_onb = np.flatnonzero(~drawn & (rng.random(n) < P_STEP_AFTER_WINDOW["onboarding_completed"]))
        t_late = window_end[late_onb] + _int(rng, HOUR, 72 * HOUR, len(late_onb))
        late_session = self._session(ev, s[late_onb], t_late - MINUTE, mobile)
        ev.add(s[late_onb], t_late, ONBOARDING, session=late_session, a=0)
        converts3 = onb & (rng.random(n) < P_REPORT_AFTER_ONBOARDING)

        # Retention: a report on day N with the planted curve (day 7 after the activation window closes).
        last_day = self.days - 1
        periods = np.arange(1, self.days)
        p = np.array([retention_probability(int(d)) for d in periods])
        hit = (rng.random((n, len(periods))) < p[None, :]) & (periods[None, :] <= (last_day - su_day)[:, None])
        row, col = np.nonzero(hit)
        day_n = periods[col]
        day_start = start_ms + (su_day[row] + day_n) * DAY
        t_any = day_start + _int(rng, 5 * MINUTE, DAY - 5 * MINUTE, len(row))
        t7 = _int(rng, window_end[row] + 5 * MINUTE, day_start + DAY - MINUTE, len(row))
        t_rep = np.where(day_n == 7, t7, t_any)
        skip = onb[row] & ~converts3[row] & (t_onb[row] - 2 * SECOND <= t_rep) & (t_rep <= window_end[row] + MINUTE)
        row, t_rep = row[~skip], t_rep[~skip]
        r_session = self._session(ev, s[row], t_rep - _int(rng, 1, 5, len(row)) * MINUTE, mobile)
        ev.add(s[row], r_session + 20 * SECOND, PAGE, session=r_session, a=PAGES.index("/reports/new"),
               b=_int(rng, 80, 2400, len(row)))  # fmt: skip
        reports_row, reports_t, reports_session = [row], [self._floor(t_rep)], [r_session]

        # Step 3: converters without a report inside (onboarding, window end] create one on the onboarding day.
        t_rep_f = reports_t[0]
        inside = (t_rep_f > t_onb[row]) & (t_rep_f <= window_end[row]) & (t_rep_f < end_ms)
        first_inside = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_inside, row[inside], t_rep_f[inside])
        need = np.flatnonzero(converts3 & (first_inside == np.iinfo(np.int64).max))
        t_first = t_onb[need] + _int(rng, MINUTE, 45 * MINUTE, len(need))
        f_session = self._session(ev, s[need], t_first - 30 * SECOND, mobile)
        reports_row.append(need)
        reports_t.append(self._floor(t_first))
        reports_session.append(f_session)
        ok = t_first < end_ms
        first_inside[need[ok]] = np.minimum(first_inside[need[ok]], self._floor(t_first[ok]))
        self._reports(rng, ev, s, np.concatenate(reports_row), np.concatenate(reports_t),
                      np.concatenate(reports_session), mobile)  # fmt: skip

        # Step 4 from the billing backend (Segment CSV, ms resolution).
        step3 = converts3 & (first_inside < np.iinfo(np.int64).max)
        upgrade = step3 & (rng.random(n) < P_UPGRADE_AFTER_REPORT)
        late_up = step3 & ~upgrade & (rng.random(n) < P_STEP_AFTER_WINDOW["plan_upgraded"])
        room = window_end - 2 * MINUTE - first_inside
        i = np.flatnonzero(upgrade)
        t_up = first_inside[i] + _int(rng, np.minimum(10 * MINUTE, room[i] // 2), np.minimum(48 * HOUR, room[i]),
                                      len(i))  # fmt: skip
        j = np.flatnonzero(late_up)
        t_late_up = window_end[j] + _int(rng, HOUR, 96 * HOUR, len(j))
        up_row = np.concatenate((i, j))
        up_t = np.concatenate((t_up, t_late_up))
        plan = (rng.random(len(up_row)) >= 0.75).astype(np.int64)
        currency = (rng.random(len(up_row)) >= 0.7).astype(np.int64)
        coupon = rng.integers(0, len(COUPONS), len(up_row))
        u.plan[s[up_row]] = plan
        ev.add(s[up_row], up_t, UPGRADE, a=plan + 2 * currency, b=coupon)

        # Settings, then background browsing decaying with time since sign-up.
        st = np.flatnonzero(rng.random(n) < 0.25)
        t_set = t_su[st] + _int(rng, HOUR, 20 * DAY, len(st))
        ev.add(s[st], t_set, SETTINGS, session=self._session(ev, s[st], t_set - MINUTE, mobile),
               a=rng.integers(0, len(THEMES), len(st)))  # fmt: skip
        sessions = _int(rng, 0, max(0, round(2 * self.events_per_user / 5)), n)
        who = np.repeat(np.arange(n), sessions)
        day = su_day[who] + rng.exponential(10.0, len(who)).astype(np.int64)  # after the range: dropped by chunk()
        self._browse(rng, ev, s[who], start_ms + day * DAY + _int(rng, 0, 22 * HOUR, len(who)), 1, 9, mobile)

    def _reports(self, rng: np.random.Generator, ev: _Events, s: np.ndarray, row: np.ndarray, t: np.ndarray,
                 session: np.ndarray, mobile: np.ndarray) -> None:  # fmt: skip
        """report_created events, each shared with the planted (PROD-1-lifted) probability."""
        keep = t < self.end_ms
        row, t, session = row[keep], t[keep], session[keep]
        k = len(row)
        rid = rng.integers(0, 1 << 48, k)
        ev.add(s[row], t, REPORT, session=session, a=rng.integers(0, len(REPORT_TITLES), k), b=_int(rng, 1, 5000, k),
               rid=rid)  # fmt: skip
        lifted = (t >= self.ship_prod1) if self.ship_prod1 is not None else np.zeros(k, dtype=bool)
        shared = rng.random(k) < np.where(lifted, P_SHARE_PER_REPORT_AFTER_PROD_1, P_SHARE_PER_REPORT)
        r = rng.random(k)
        channel = np.where(r < 0.4, 0, np.where(r < 0.8, 1, 2))
        quick = rng.random(k) < P_SHARE_INSIDE_WINDOW
        t_quick = t + _int(rng, 30 * SECOND, 30 * MINUTE, k)
        t_slow = t + _int(rng, 25 * HOUR, 72 * HOUR, k)
        q = shared & quick
        ev.add(s[row[q]], t_quick[q], SHARE, session=session[q], a=channel[q], rid=rid[q])
        w = shared & ~quick
        slow_session = self._session(ev, s[row[w]], t_slow[w] - MINUTE, mobile)
        ev.add(s[row[w]], t_slow[w], SHARE, session=slow_session, a=channel[w], rid=rid[w])


# --------------------------------------------------------------------------------------------------- truths


def _first_after(
    user: np.ndarray, t: np.ndarray, mask: np.ndarray, after: np.ndarray, limit: np.ndarray, n: int
) -> np.ndarray:
    """Per user: the earliest masked event strictly after ``after[user]`` and no later than ``limit[user]``."""
    none = np.iinfo(np.int64).max
    first = np.full(n, none)
    m = mask & (t > after[user]) & (t <= limit[user])
    np.minimum.at(first, user[m], t[m])
    return first


def _count_truths(acc: ref._TruthAccumulator, u: _Users, cols: dict[str, np.ndarray], start_ms: int) -> None:
    """Add one chunk's users to the reference accumulator's counters, with the reference semantics."""
    none = np.iinfo(np.int64).max
    n = len(u.signed_up)
    user = cols["user"] - u.lo
    t, name = cols["t"], cols["name"]
    signed = u.signed_up
    su = np.where(signed, u.su, none)
    limit = np.where(signed, su + ACTIVATION_WINDOW_MS, -1)
    step_names = (SIGNUP, ONBOARDING, REPORT, UPGRADE)
    reached = [signed]
    last = su.copy()
    lasts = [su]
    for code in step_names[1:]:
        nxt = _first_after(user, t, name == code, last, limit, n)
        reached.append(reached[-1] & (nxt != none))
        last = np.where(reached[-1], nxt, last)
        lasts.append(last)
    depth = np.sum(reached, axis=0)
    elapsed = signed & (su + ACTIVATION_WINDOW_MS < acc.end_ms)
    su_day = np.where(signed, (su - start_ms) // DAY, -1)
    # month of the sign-up: from the day index (cheap) through the calendar
    start_date = datetime.fromtimestamp(start_ms / 1000, UTC).date()
    for k in range(len(step_names)):
        hit = depth > k
        acc.first_entry[k] += int(hit.sum())
        acc.any_entry[k] += int(hit.sum())  # every user signs up once: any entry is the first entry
        acc.elapsed[k] += int((hit & elapsed).sum())
        for p, platform in enumerate(PLATFORMS):
            acc.by_platform[platform][k] += int((hit & (u.platform == p)).sum())
            acc.by_platform_elapsed[platform][k] += int((hit & elapsed & (u.platform == p)).sum())
        days_hit = np.bincount(su_day[hit], minlength=1)
        for d in np.flatnonzero(days_hit):
            acc.by_month[(start_date + timedelta(days=int(d))).strftime("%Y-%m")][k] += int(days_hit[d])
    for d, signups in enumerate(np.bincount(su_day[signed], minlength=acc.days)):
        acc.signups_by_day[d] += int(signups)
    last_reached = np.select([depth == 1, depth == 2, depth == 3], lasts[:3], default=none)
    for k in range(1, len(step_names)):
        latest = np.full(n, -1, dtype=np.int64)
        m = name == step_names[k]
        np.maximum.at(latest, user[m], t[m])
        acc.after_window[k - 1] += int((signed & (depth == k) & (latest > last_reached)).sum())

    reports = name == REPORT
    by_period = {}
    d_rel = (t - start_ms) // DAY - su_day[user]
    for period in RETENTION_PERIODS:
        back = np.zeros(n, dtype=bool)
        back[user[reports & (d_rel == period)]] = True
        by_period[period] = back
    for period in RETENTION_PERIODS:
        cohort = signed & acc.period_complete(su_day, period)
        counts = np.bincount(su_day[cohort], minlength=1)
        kept = np.bincount(su_day[cohort & by_period[period]], minlength=len(counts))
        for d in np.flatnonzero(counts):
            cell = acc.retention[period][(start_date + timedelta(days=int(d))).isoformat()]
            cell[0] += int(counts[d])
            cell[1] += int(kept[d])
    cohort7 = signed & acc.period_complete(su_day, 7)
    acc.day7[0] += int(cohort7.sum())
    acc.day7[1] += int((cohort7 & by_period[7]).sum())

    # Sharing: users with a report; success = a counted share in (r, r + 24 h] of one of their reports.
    key_base = np.int64(1) << 42
    rep_key = user[reports] * key_base + (t[reports] - start_ms)
    counted = (name == SHARE) & (cols["a"] < 2)  # email or link
    share_user, share_t = user[counted], t[counted]
    has_report = np.zeros(n, dtype=bool)
    has_report[user[reports]] = True
    before = np.searchsorted(rep_key, share_user * key_base + (share_t - start_ms), side="left") - 1
    ok = before >= 0
    prev_user = np.where(ok, rep_key[np.maximum(before, 0)] // key_base, -1)
    prev_t = np.where(ok, rep_key[np.maximum(before, 0)] % key_base + start_ms, 0)
    success = np.zeros(n, dtype=bool)
    hit = ok & (prev_user == share_user) & (share_t <= prev_t + SHARING_WINDOW_MS)
    success[share_user[hit]] = True
    acc.sharing[0] += int(has_report.sum())
    acc.sharing[1] += int((has_report & success).sum())

    for key, ship in acc.launch_ms.items():
        _count_outcome(acc, key, ship, u, user, t, name, counted, start_ms)


def _count_outcome(acc: ref._TruthAccumulator, key: str, ship: int, u: _Users, user: np.ndarray, t: np.ndarray,
                   name: np.ndarray, counted: np.ndarray, start_ms: int) -> None:  # fmt: skip
    """fct_initiative_outcomes' funnel_step: the first step-1 event in each window is the entry; success = a step-2
    event strictly after it, within the conversion window. Expected: the planted probability of each entry."""
    none = np.iinfo(np.int64).max
    n = len(u.signed_up)
    _funnel, (first, _second), window_ms, _b, _a = PLANTED_OUTCOMES[key]
    first_mask = name == NAMES.index(first)
    second_mask = counted if key == "PROD-1" else name == ONBOARDING
    key_base = np.int64(1) << 42
    second_key = user[second_mask] * key_base + (t[second_mask] - start_ms)
    reports = name == REPORT
    rep_user, rep_t = user[reports], t[reports]
    rep_key = rep_user * key_base + (rep_t - start_ms)
    span = OUTCOME_WINDOW_DAYS * DAY
    cell = acc.outcomes[key]
    for side, (lo, hi) in enumerate(((ship - span, ship), (ship, ship + span))):
        entry = np.full(n, none)
        m = first_mask & (t >= lo) & (t < hi)
        np.minimum.at(entry, user[m], t[m])
        who = np.flatnonzero(entry != none)
        e = entry[who]
        nxt = np.searchsorted(second_key, who * key_base + (e - start_ms), side="right")
        ok = nxt < len(second_key)
        nk = second_key[np.minimum(nxt, max(len(second_key) - 1, 0))] if len(second_key) else np.zeros(len(who), int)
        won = ok & (nk // key_base == who) & (nk % key_base + start_ms <= e + window_ms)
        cell[2 * side] += len(who)
        cell[2 * side + 1] += int(won.sum())
        if key == "PROD-2":
            rates = np.array([ONBOARDING_BY_PLATFORM[p] for p in PLATFORMS])
            acc.expected[key][side] += float(rates[u.platform[who]].sum())
            continue
        # PROD-1: every report r with r + 72 h >= entry + 1 and r <= entry + 24 h may land a counted share inside.
        lo_k = who * key_base + (e + 1 - 72 * HOUR - start_ms)
        hi_k = who * key_base + (e + SHARING_WINDOW_MS - start_ms)
        i0 = np.searchsorted(rep_key, lo_k, side="left")
        i1 = np.searchsorted(rep_key, hi_k, side="right")
        pairs = i1 - i0
        entry_of = np.repeat(np.arange(len(who)), pairs)
        r_idx = np.repeat(i0 - np.cumsum(np.concatenate(([0], pairs[:-1]))), pairs) + np.arange(pairs.sum())
        r = rep_t[r_idx]
        lo_land, hi_land = e[entry_of] + 1, e[entry_of] + SHARING_WINDOW_MS

        def lands(a: int, b: int, r: np.ndarray = r, lo_l: np.ndarray = lo_land, hi_l: np.ndarray = hi_land):
            return np.maximum(0, np.minimum(b, hi_l - r) - np.maximum(a, lo_l - r) + 1) / (b - a + 1)

        p_share = np.where(r >= ship, P_SHARE_PER_REPORT_AFTER_PROD_1, P_SHARE_PER_REPORT)
        quick = P_SHARE_INSIDE_WINDOW * lands(30 * SECOND, 30 * MINUTE)
        slow = (1 - P_SHARE_INSIDE_WINDOW) * lands(25 * HOUR, 72 * HOUR)
        log_miss = np.zeros(len(who))
        np.add.at(log_miss, entry_of, np.log1p(-p_share * 0.8 * (quick + slow)))
        acc.expected[key][side] += float((1 - np.exp(log_miss)).sum())


# --------------------------------------------------------------------------------------------------- writing


_HEX_LOWER = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_UPPER = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def _hex(values: np.ndarray, digits: int, table: np.ndarray = _HEX_LOWER) -> np.ndarray:
    """The low ``digits`` hex digits of each uint64, zero-padded: an (n, digits) array of ASCII bytes."""
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    return table[(values.astype(np.uint64)[:, None] >> shifts) & np.uint64(15)]


def _uuid_bytes(hi: np.ndarray, lo: np.ndarray, upper: np.ndarray | None = None) -> np.ndarray:
    """The reference's ``_uuid`` layout (version 4, variant a) of two random uint64 per row: (n, 36) ASCII bytes;
    upper case where ``upper``."""
    h = np.concatenate((_hex(hi, 16), _hex(lo, 16)), axis=1)
    if upper is not None and upper.any():
        h[upper] = np.concatenate((_hex(hi[upper], 16, _HEX_UPPER), _hex(lo[upper], 16, _HEX_UPPER)), axis=1)
    n = len(hi)

    def const(text: bytes) -> np.ndarray:
        return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text)))

    variant = const(b"a") if upper is None else np.where(upper, np.uint8(ord("A")), np.uint8(ord("a")))[:, None]
    parts = [h[:, :8], const(b"-"), h[:, 8:12], const(b"-4"), h[:, 13:16], const(b"-"), variant, h[:, 17:20]]
    return np.ascontiguousarray(np.concatenate([*parts, const(b"-"), h[:, 20:32]], axis=1))


def _strings(matrix: np.ndarray) -> pa.Array:
    """Fixed-width ASCII rows as an Arrow string array, without a Python object per row."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix)))


def _sql_list(texts: list[str]) -> str:
    """A DuckDB list literal of the given strings (1-based when indexed)."""
    return "[" + ", ".join("'" + x.replace("'", "''") + "'" for x in texts) + "]"


def _ts(expr: str) -> str:
    return f"strftime(epoch_ms({expr}), '%Y-%m-%d %H:%M:%S.%f')"


def _constants() -> tuple[list[str], list[str]]:
    """Per (platform, Windows, country) combination: the Amplitude constant fields before ``ip_address`` and the
    Mixpanel ones after ``$device_id`` (the reference writer's field order and JSON)."""
    amplitude, mixpanel = [], []
    for platform in PLATFORMS:
        for windows in (False, True):
            for geo in COUNTRIES:
                os_name, os_version, device_type, device_family, library, mp_lib, mp_os = ref._PLATFORM_PROFILES[
                    platform
                ]
                if platform == "Web" and windows:
                    device_type = device_family = "Windows"
                fields = {
                    "app": ref.AMPLITUDE_PROJECT_ID, "platform": platform, "os_name": os_name,
                    "os_version": os_version, "device_type": device_type, "device_family": device_family,
                    "country": geo[0] if geo else None, "city": geo[2] if geo else None,
                    "region": geo[3] if geo else None,
                    "language": "English" if not geo or geo[1] in ("US", "GB", "IN") else "Other", "library": library,
                }  # fmt: skip
                amplitude.append(ref._json(fields)[1:-1] + ", ")
                mp: dict[str, Any] = {
                    "$os": ("Windows" if windows else "Mac OS X") if platform == "Web" else mp_os,
                    "mp_lib": mp_lib,
                    "$lib_version": "2.49.0",
                }
                if geo:
                    mp.update({"mp_country_code": geo[1], "$city": geo[2], "$region": geo[3]})
                mixpanel.append(", " + ref._json(mp)[1:-1])
    return amplitude, mixpanel


_AMP_MOBILE_TAIL = ', "version_name": "4.12.0", "start_version": "4.10.2", '
_AMP_WEB_TAIL = ', "version_name": null, "start_version": null, '
_AMP_GROUPS = (
    '"groups": {}, "group_properties": {}, "data": {"group_first_event": {}, "group_ids": {}}, "paying": null, '
)


def _props_sql(mixpanel: bool) -> str:
    """event_properties JSON (Amplitude) or the properties' tail (Mixpanel) of each event code."""
    pages = _sql_list([ref._json(p) for p in PAGES])
    titles = _sql_list([ref._json(x) for x in REPORT_TITLES])
    themes = _sql_list([ref._json(x) for x in THEMES])
    methods = _sql_list([ref._json(x) for x in SIGNUP_METHODS])
    channels = _sql_list([ref._json(x) for x in CHANNELS])
    rid = "concat('\"', rid, '\"')"  # rid is already r_ and 12 hex digits
    row_count = "CASE WHEN row_count_text THEN concat('\"', b, '\"') ELSE b::VARCHAR END" if mixpanel else "b::VARCHAR"
    cases = {
        PAGE: f"concat('\"path\": ', {pages}[a + 1], ', \"load_ms\": ', b)",
        SIGNUP: f"concat('\"method\": ', {methods}[a + 1])",
        ONBOARDING: "concat('\"steps_skipped\": ', a)",
        REPORT: f"concat('\"report_id\": ', {rid}, ', \"title\": ', {titles}[a + 1], ', \"row_count\": ', {row_count})",
        SHARE: f"concat('\"report_id\": ', {rid}, ', \"channel\": ', {channels}[a + 1])",
        SETTINGS: f'concat(\'"setting": "theme", "value": \', {themes}[a + 1])',
    }
    if mixpanel:
        cases[IDENTIFY] = 'concat(\'"$anon_distinct_id": "$device:\', dev, \'", "$identified_id": "\', uid, \'"\')'
        body = " ".join(f"WHEN {code} THEN concat(', ', {sql})" for code, sql in cases.items())
        return f"CASE name {body} ELSE '' END"
    body = " ".join(f"WHEN {code} THEN concat('{{', {sql}, '}}')" for code, sql in cases.items())
    return f"CASE name {body} ELSE '{{}}' END"


def _amplitude_sql(amp_consts: list[str], utm_texts: list[str]) -> str:
    names = _sql_list(list(NAMES))
    methods = _sql_list(list(SIGNUP_METHODS))
    plans = _sql_list([p for p, _c in PLANS])
    known = (  # the user properties an identified user's events carry, without braces
        'CASE WHEN t >= upgraded_at THEN concat(\'"plan": "\', '
        + plans
        + '[plan + 1], \'", "signup_method": "\', '
        + methods
        + "[method + 1], '\"') "
        'ELSE concat(\'"plan": "free", "signup_method": "\', ' + methods + "[method + 1], '\"') END"
    )
    user_props = (  # a UTM plan's attribution properties are merged in, also on anonymous events (the reference's)
        'CASE WHEN name = 0 THEN concat(\'{"$set": {"signup_method": "\', ' + methods + "[method + 1], '\"}}') "
        f"WHEN utm >= 0 THEN concat('{{', CASE WHEN identified AND NOT null_props THEN concat({known}, ', ') "
        f"ELSE '' END, {_sql_list(utm_texts)}[utm + 1], '}}') "
        "WHEN NOT identified THEN '{}' WHEN null_props THEN 'null' "
        f"ELSE concat('{{', {known}, '}}') END"
    )
    return f"""
    SELECT concat(
        '{{"uuid": "', uuid, '", "$insert_id": "', ins, '", "event_type": "', {names}[name + 1], '", "user_id": ',
        CASE WHEN NOT identified THEN 'null' WHEN uid_number THEN uid::VARCHAR ELSE concat('"', uid, '"') END,
        ', "device_id": "', dev, '", "session_id": ', session, ', "event_time": "', event_time,
        '", "client_event_time": "', event_time, '", "server_received_time": "', upload_time,
        '", "server_upload_time": "', upload_time, '", "client_upload_time": "', upload_time,
        '", "processed_time": "', {_ts("upload + 1500")}, '", "event_id": ', event_id,
        ', "amplitude_id": ', 1000000000 + 7 * user, ', "event_properties": ', {_props_sql(False)},
        ', "user_properties": ', {user_props}, ', ', {_sql_list(amp_consts)}[combo + 1],
        '"ip_address": "203.0.113.', user % 250 + 1, '"',
        CASE WHEN platform = 2 THEN '{_AMP_WEB_TAIL}' ELSE '{_AMP_MOBILE_TAIL}' END, '{_AMP_GROUPS}',
        '"adid": ', CASE WHEN platform = 1 AND has_ad THEN concat('"', ad, '"') ELSE 'null' END,
        ', "idfa": ', CASE WHEN platform = 0 AND has_ad THEN concat('"', ad, '"') ELSE 'null' END,
        ', "location_lat": null, "location_lng": null}}', chr(10)) AS line
    FROM (SELECT *, {_ts("t")} AS event_time, {_ts("upload")} AS upload_time FROM day)
    """


def _mixpanel_sql(mp_consts: list[str], utm_texts: list[str]) -> str:
    names = _sql_list(list(NAMES))
    utm = f"CASE WHEN utm < 0 OR name = {IDENTIFY} THEN '' ELSE {_sql_list(utm_texts)}[utm + 1] END"
    return f"""
    SELECT concat(
        '{{"event": "', {names}[name + 1], '", "properties": {{"time": ',
        CASE WHEN time_text THEN concat('"', seconds, '"') ELSE seconds::VARCHAR END,
        ', "distinct_id": "', CASE WHEN identified THEN uid::VARCHAR ELSE concat('$device:', dev) END,
        '", "mp_processing_time_ms": ', processed, ', "$insert_id": "', ins, '", ',
        CASE WHEN identified THEN concat('"$user_id": "', uid, '", ') ELSE '' END,
        '"$device_id": "', dev, '"', {_sql_list(mp_consts)}[combo + 1], {_props_sql(True)}, {utm}, '}}}}', chr(10))
        AS line
    FROM day
    """


def _body(column: pa.ChunkedArray) -> bytes:
    """The lines of a string column (each ending in a newline) as one body: its value buffers, end to end."""
    parts = []
    for chunk in column.chunks:
        if len(chunk) == 0:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
        parts.append(memoryview(chunk.buffers()[2])[offsets[0] : offsets[-1]])
    return b"".join(parts)


class _DaySpill:
    """Per-day Arrow IPC files of narrow event columns, appended chunk by chunk and read back one day at a time."""

    def __init__(self, directory: Path, prefix: str):
        self.directory = directory
        self.prefix = prefix
        self.writers: dict[int, tuple[Any, Any]] = {}

    def write(self, bucket: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        order = np.argsort(bucket, kind="stable")
        bucket = bucket[order]
        cuts = np.flatnonzero(np.diff(bucket)) + 1
        table = pa.table({c: v[order] for c, v in columns.items()})
        for lo, hi in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [len(bucket)])), strict=True):
            if hi == lo:
                continue
            day = int(bucket[lo])
            if day not in self.writers:
                sink = pa.OSFile(str(self.directory / f"{self.prefix}{day}.arrow"), "wb")
                self.writers[day] = (sink, ipc.new_stream(sink, table.schema))
            self.writers[day][1].write_table(table.slice(lo, hi - lo))

    def days(self) -> Any:
        for day in sorted(self.writers):
            sink, writer = self.writers.pop(day)
            writer.close()
            sink.close()
            path = self.directory / f"{self.prefix}{day}.arrow"
            with pa.memory_map(str(path)) as source:
                table = ipc.open_stream(source).read_all()
            path.unlink()
            yield day, table


# --------------------------------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class SignedUpUsers:
    """The signed-up users the vectorised sample planted, for the sources that build on them (billing customers,
    survey respondents) instead of replaying journeys one by one. Arrays by user index (0..users-1)."""

    platform: np.ndarray  # index into PLATFORMS
    country: np.ndarray  # index into COUNTRIES (None = no geo-IP result)
    signed_up_ms: np.ndarray
    upgraded_ms: np.ndarray  # first plan_upgraded event, -1 if none
    plan: np.ndarray  # index into PLANS of that event, -1 if none
    currency: np.ndarray  # index into CURRENCIES of that event, -1 if none
    utm_first_ms: np.ndarray  # the planted first UTM touch (the event carrying it), -1 if none
    utm_campaign: np.ndarray  # its campaign: index into UTM_FIRST_CAMPAIGNS

    def billing_users(self) -> tuple[list[Any], list[str], dict[str, Any]]:
        """What billing's journey replay returns: the upgrades, the other users, first UTM touches."""
        from sample_generator.billing import AnalyticsUpgrade

        touches = {
            str(100_000 + i): ref.UtmTouch(int(self.utm_first_ms[i]), *UTM_FIRST_CAMPAIGNS[self.utm_campaign[i]])
            for i in np.flatnonzero(self.utm_first_ms >= 0)
        }
        upgrades, others = [], []
        for i in range(len(self.platform)):
            user_id = str(100_000 + i)
            if self.upgraded_ms[i] < 0:
                others.append(user_id)
                continue
            geo = COUNTRIES[self.country[i]]
            upgrades.append(AnalyticsUpgrade(user_id, int(self.upgraded_ms[i]), PLANS[self.plan[i]][0],
                                             CURRENCIES[self.currency[i]], geo[1] if geo else None))  # fmt: skip
        return upgrades, others, touches

    def sample_users(self) -> tuple[Any, ...]:
        """What ``people.sample_users`` returns for these users (survey respondents and requesters)."""
        from sample_generator.people import SampleUser, user_identity

        out = []
        for i in range(len(self.platform)):
            user_id = str(100_000 + i)
            signed_up = int(self.signed_up_ms[i])
            upgraded = self.upgraded_ms[i] >= 0
            plan, since = (PLANS[self.plan[i]][0], int(self.upgraded_ms[i])) if upgraded else ("free", signed_up)
            name, email, (account_id, account_name, domain) = user_identity(user_id)
            out.append(SampleUser(
                index=i, user_id=user_id, platform=PLATFORMS[self.platform[i]], plan=plan,
                signed_up_at=signed_up // 1000, plan_since=since // 1000, email=email,
                name=name, account_id=account_id, account_name=account_name, account_domain=domain,
            ))  # fmt: skip
        return tuple(out)


def _validated_model(
    seed: int,
    users: int,
    days: int,
    events_per_user: int,
    start: date,
    mess: bool,
    signup_days: int | None,
    launches: dict[str, datetime] | None,
) -> _Model:
    """The model of a sample with these arguments, which are checked first (ValueError naming the argument)."""
    if users < 1 or events_per_user < 0:
        raise ValueError("users must be >= 1 and events_per_user >= 0")
    if days < ref.MIN_DAYS:
        raise ValueError(
            f"days must be >= {ref.MIN_DAYS} so that day-28 cohorts and the 7-day window elapse; got {days}"
        )
    return _Model(seed=seed, users=users, days=days, start=start, events_per_user=events_per_user, mess=mess,
                  signup_days=ref.resolve_signup_days(days, signup_days),
                  launch_ms=ref.launch_instants(launches))  # fmt: skip


def daily_event_counts(
    *,
    seed: int = 7,
    users: int = 2000,
    days: int = 60,
    events_per_user: int = 30,
    start: date = date(2024, 1, 1),
    mess: bool = True,
    signup_days: int | None = None,
    launches: dict[str, datetime] | None = None,
) -> dict[date, int]:
    """The distinct events per UTC day of ``generate_analytics_vectorised`` with the same arguments, drawn without
    formatting or writing anything: what the deduplicated staging model counts per event day (exact duplicates and
    malformed lines are added by the writer, and staging drops them). Seconds for millions of events, so the shape
    of a large sample's daily volume can be judged before it is written."""
    model = _validated_model(seed, users, days, events_per_user, start, mess, signup_days, launches)
    per_day = np.zeros(days, dtype=np.int64)
    for lo, hi in model.chunk_bounds():
        _users, cols = model.chunk(lo, hi)
        per_day += np.bincount((cols["t"] - model.start_ms) // DAY, minlength=days)
    return {start + timedelta(days=d): int(n) for d, n in enumerate(per_day)}


def generate_analytics_vectorised(
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
) -> tuple[AnalyticsTruths, SignedUpUsers]:
    """``generate_analytics`` at scale (same arguments, same files and truths, a different draw); also returns the
    signed-up users for billing and feedback. Same arguments, same bytes."""
    model = _validated_model(seed, users, days, events_per_user, start, mess, signup_days, launches)
    signup_span, launch_ms = model.signup_days, model.launch_ms
    total = users + model.visitors
    acc = ref._TruthAccumulator(model.start_ms, model.end_ms, days, launch_ms)
    people = _People(total, model.end_ms)
    tz = ZoneInfo(ref.MIXPANEL_TIMEZONE)
    with tempfile.TemporaryDirectory(prefix="pmw-sample-vec-") as tmp:
        writer = ref._ExportWriter(
            Path(landing_dir), Path(tmp), switch_ms=model.switch_ms, mess=mess, tz=tz, deflate=igzip
        )
        amplitude = _DaySpill(Path(tmp), "amp-")
        mixpanel = _DaySpill(Path(tmp), "mp-")
        offsets = _MixpanelOffsets(tz, model.start_ms, model.end_ms)
        for lo, hi in model.chunk_bounds():
            chunk_users, cols = model.chunk(lo, hi)
            people.add(model, chunk_users, cols)
            _plan_utm(model, people, chunk_users, cols)
            _count_truths(acc, chunk_users, cols, model.start_ms)
            _route(model, writer, people, chunk_users, cols, amplitude, mixpanel, offsets)
        with writer.compressor:
            writer._finish_amplitude(_amplitude_days(model, people, amplitude))
            writer._finish_mixpanel(_mixpanel_days(people, mixpanel))
            writer._finish_csv()
    truths = ref._analytics_truths(
        writer, acc, seed=seed, users=users, days=days, events_per_user=events_per_user, start=start, mess=mess,
        switch_day=min(ref.SWITCH_DAY, days // 2), signup_span=signup_span, launch_ms=launch_ms,
        identified_later=int(people.identified_later),
        visitors=model.visitors, utm_users=int((people.utm_kind >= 0).sum()),
    )  # fmt: skip
    signed = slice(0, users)
    return truths, SignedUpUsers(
        platform=people.platform[signed], country=people.country[signed], signed_up_ms=people.su[signed],
        upgraded_ms=people.upgraded_at[signed], plan=people.plan[signed], currency=people.currency[signed],
        utm_first_ms=np.where(people.utm_kind[signed] >= 0, people.utm_t1[signed], -1),
        utm_campaign=people.utm_campaign[signed],
    )  # fmt: skip


class _People:
    """Every user's attributes, by global index, for formatting lines of any day."""

    def __init__(self, total: int, end_ms: int):
        self.platform = np.zeros(total, dtype=np.int8)
        self.country = np.zeros(total, dtype=np.int8)
        self.combo = np.zeros(total, dtype=np.int16)
        self.null_props = np.zeros(total, dtype=bool)
        self.method = np.zeros(total, dtype=np.int8)
        self.su = np.full(total, end_ms, dtype=np.int64)
        self.plan = np.full(total, -1, dtype=np.int8)
        self.currency = np.full(total, -1, dtype=np.int8)
        self.upgraded_at = np.full(total, -1, dtype=np.int64)
        self.signed_up = np.zeros(total, dtype=bool)
        self.dev = np.zeros((total, 36), dtype=np.uint8)  # device ids as ASCII (upper case on iOS)
        self.ad = np.zeros((total, 36), dtype=np.uint8)  # advertising ids (upper case)
        self.has_ad = np.zeros(total, dtype=bool)
        self.identified_later = 0
        # UTM plans (planted_utm_plan's model): kind index into UTM_KINDS (-1: none), first campaign, the touch
        # times (touch 1: the first visit, or the later touch of direct_then_touch; touch 2: the later campaign)
        self.utm_kind = np.full(total, -1, dtype=np.int8)
        self.utm_campaign = np.zeros(total, dtype=np.int8)
        self.utm_t1 = np.full(total, np.iinfo(np.int64).max, dtype=np.int64)
        self.utm_t2 = np.full(total, np.iinfo(np.int64).max, dtype=np.int64)

    def add(self, model: _Model, u: _Users, cols: dict[str, np.ndarray]) -> None:
        rng = model.rng(2, u.lo)
        s = slice(u.lo, u.lo + len(u.platform))
        n = len(u.platform)
        self.platform[s] = u.platform
        self.country[s] = u.country
        self.combo[s] = u.platform * 2 * len(COUNTRIES) + u.windows * len(COUNTRIES) + u.country
        self.null_props[s] = u.null_props
        self.method[s] = u.method
        self.su[s] = u.su
        self.signed_up[s] = u.signed_up
        dev = rng.integers(0, 2**64, (n, 2), dtype=np.uint64)
        self.dev[s] = _uuid_bytes(dev[:, 0], dev[:, 1], upper=u.platform == 0)
        ad = rng.integers(0, 2**64, (n, 2), dtype=np.uint64)
        self.ad[s] = _uuid_bytes(ad[:, 0], ad[:, 1], upper=np.ones(n, dtype=bool))
        self.has_ad[s] = (u.platform != 2) & (rng.random(n) < 0.3)
        self.identified_later += int(u.identified_later.sum())
        up = np.flatnonzero(cols["name"] == UPGRADE)
        first = up[np.unique(cols["user"][up], return_index=True)[1]]  # events are sorted by user, then time
        self.upgraded_at[cols["user"][first]] = cols["t"][first]
        self.plan[cols["user"][first]] = cols["a"][first] % 2
        self.currency[cols["user"][first]] = cols["a"][first] // 2


class _MixpanelOffsets:
    """The project timezone's UTC offset (seconds) for every hour of the range."""

    def __init__(self, tz: ZoneInfo, start_ms: int, end_ms: int):
        self.h0 = start_ms // HOUR
        hours = range(self.h0, end_ms // HOUR + 1)
        self.offsets = np.array(
            [int(datetime.fromtimestamp(h * 3600, UTC).astimezone(tz).utcoffset().total_seconds()) for h in hours]
        )

    def local_seconds(self, t: np.ndarray) -> np.ndarray:
        return t // SECOND + self.offsets[t // HOUR - self.h0]


def _plan_utm(model: _Model, people: _People, u: _Users, cols: dict[str, np.ndarray]) -> None:
    """``planted_utm_plan`` for the chunk's signed-up Web users, from their events (sorted by user, then time)."""
    rng = model.rng(5, u.lo)
    n = len(u.platform)
    candidate = u.signed_up & (u.platform == PLATFORMS.index("Web")) & (rng.random(n) < P_UTM_USER)
    weights = np.array([w for _k, w in UTM_KINDS])
    kind = np.searchsorted(np.cumsum(weights), rng.random(n) * weights.sum(), side="right").clip(0, len(weights) - 1)
    campaign = (rng.random(n) * len(UTM_FIRST_CAMPAIGNS)).astype(np.int8)
    pick = rng.random(n)
    # touches ride on page events, not on the billing backend's or identity events
    user, t = cols["user"] - u.lo, cols["t"]
    eligible = candidate[user] & (cols["name"] != UPGRADE) & (cols["name"] != IDENTIFY)
    e_user, e_t = user[eligible], t[eligible]
    first_t = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_t, e_user, e_t)
    later = e_t >= first_t[e_user] + DAY
    l_user, l_t = e_user[later], e_t[later]  # still sorted by user, then time
    owners, starts, counts = np.unique(l_user, return_index=True, return_counts=True)
    later_t = np.full(n, -1, dtype=np.int64)  # one of the user's later events, drawn uniformly; -1: none
    later_t[owners] = l_t[starts + (pick[owners] * counts).astype(np.int64)]
    has_events = candidate & (first_t < np.iinfo(np.int64).max)
    kinds = [k for k, _w in UTM_KINDS]
    direct, then_other = kinds.index("direct_then_touch"), kinds.index("first_visit_then_other")
    first_visit = kinds.index("first_visit")
    kind = np.where((kind == then_other) & (later_t < 0), first_visit, kind)  # no later visit: one touch only
    planted = has_events & ((kind != direct) | (later_t >= 0))
    s = slice(u.lo, u.lo + n)
    people.utm_kind[s] = np.where(planted, kind, -1)
    people.utm_campaign[s] = campaign
    people.utm_t1[s] = np.where(kind == direct, later_t, first_t)
    people.utm_t2[s] = np.where(kind == then_other, later_t, np.iinfo(np.int64).max)


def _utm_code(people: _People, user: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per event: which UTM text it carries (index into ``_utm_texts``; -1: its user has no plan)."""
    kind = people.utm_kind[user].astype(np.int64)
    state = (t >= people.utm_t1[user]).astype(np.int64) + (t >= people.utm_t2[user])
    return np.where(kind < 0, -1, (kind * len(UTM_FIRST_CAMPAIGNS) + people.utm_campaign[user]) * 3 + state)


def _utm_texts() -> tuple[list[str], list[str]]:
    """For every (kind, first campaign, touches in force) code: the Mixpanel properties the reference writer adds
    (``, "$initial_referrer": ...``) and the Amplitude user properties it merges (without braces), from the
    reference's own functions on a plan with touches at 10 and 20 ms, seen at 5, 15 and 25 ms."""
    mixpanel, amplitude = [], []
    for kind, _w in UTM_KINDS:
        for campaign in UTM_FIRST_CAMPAIGNS:
            if kind == "direct_then_touch":
                plan = ref.UtmPlan(kind, (ref.UtmTouch(10, *campaign),))
            elif kind == "first_visit_then_other":
                plan = ref.UtmPlan(kind, (ref.UtmTouch(10, *campaign), ref.UtmTouch(20, *UTM_LATER_CAMPAIGN)))
            else:
                plan = ref.UtmPlan(kind, (ref.UtmTouch(10, *campaign),))
            for at in (5, 15, 25):
                mixpanel.append(", " + ref._json(ref._utm_event_properties(plan, at))[1:-1])
                amplitude.append(ref._json(ref._utm_user_properties(plan, at))[1:-1])
    return mixpanel, amplitude


def _route(model: _Model, writer: ref._ExportWriter, people: _People, u: _Users, cols: dict[str, np.ndarray],
           amplitude: _DaySpill, mixpanel: _DaySpill, offsets: _MixpanelOffsets) -> None:  # fmt: skip
    """Split one chunk's events by vendor: upload delays, late events, Mixpanel duplicates; count them."""
    rng = model.rng(4, u.lo)
    user, t, name = cols["user"], cols["t"], cols["name"]
    n = len(t)
    mobile = people.platform[user] != 2
    late = model.mess & mobile & (rng.random(n) < P_LATE_MOBILE_EVENT)
    delay = np.where(late, _int(rng, 26 * HOUR, 70 * HOUR, n), 2 * SECOND + (rng.random(n) * 5 * MINUTE).astype(int))
    identified = t >= people.su[user]
    csv = name == UPGRADE
    mp = (t < model.switch_ms) & ~csv
    amp = ~mp & ~csv
    names = writer.events_by_source_and_name

    for i in np.flatnonzero(csv):  # the billing backend's tracks: few, written by the reference's CSV writer
        _csv_row(writer, rng, people, int(user[i]), int(t[i]), int(cols["a"][i]), int(cols["b"][i]))

    # Amplitude: event_id counts the user's Amplitude events in time order (events are sorted by user, time, name)
    amp_idx = np.flatnonzero(amp)
    a_user = user[amp_idx]
    running = np.arange(1, len(amp_idx) + 1)
    starts = np.concatenate(([True], a_user[1:] != a_user[:-1])) if len(a_user) else np.zeros(0, dtype=bool)
    event_id = running - np.maximum.accumulate(np.where(starts, running - 1, 0))
    upload = t[amp_idx] + delay[amp_idx]
    amplitude.write(upload // DAY, {
        "user": a_user, "t": t[amp_idx], "upload": upload, "name": name[amp_idx], "session": cols["session"][amp_idx],
        "a": cols["a"][amp_idx], "b": cols["b"][amp_idx], "rid": cols["rid"][amp_idx], "event_id": event_id,
        "identified": identified[amp_idx], "shard": (rng.random(len(amp_idx)) < 0.5).astype(np.int8),
        "utm": _utm_code(people, a_user, t[amp_idx]),
    })  # fmt: skip
    for code, count in zip(*np.unique(name[amp_idx], return_counts=True), strict=True):
        names["amplitude"][NAMES[code]] += int(count)
    writer.lines["amplitude"] += len(amp_idx)
    writer.late["amplitude"] += int(late[amp_idx].sum())

    # Mixpanel: project-local seconds; some times and row counts as strings; 0.5 % sent twice (half re-processed)
    mp_idx = np.flatnonzero(mp)
    m = len(mp_idx)
    seconds = offsets.local_seconds(t[mp_idx])
    processed = t[mp_idx] + delay[mp_idx]
    columns = {
        "user": user[mp_idx], "seconds": seconds, "name": name[mp_idx], "a": cols["a"][mp_idx],
        "b": cols["b"][mp_idx], "rid": cols["rid"][mp_idx], "identified": identified[mp_idx],
        "time_text": rng.random(m) < 0.02,
        "row_count_text": (name[mp_idx] == REPORT) & (rng.random(m) < 0.1),
        "ins_lo": rng.integers(0, 2**64, m, dtype=np.uint64), "processed": processed, "copy": np.zeros(m, np.int8),
        "utm": _utm_code(people, user[mp_idx], t[mp_idx]),
    }  # fmt: skip
    if model.mess and not writer.collisions:
        _plant_insert_id_collision(writer, columns["name"], columns["ins_lo"])
    dup = np.flatnonzero(model.mess & (rng.random(m) < P_MIXPANEL_DUPLICATE))
    again = {c: v[dup] for c, v in columns.items()}
    reprocessed = rng.random(len(dup)) >= 0.5
    again["processed"] = again["processed"] + np.where(reprocessed, _int(rng, SECOND, 10 * MINUTE, len(dup)), 0)
    again["copy"] = np.ones(len(dup), np.int8)
    both = {c: np.concatenate((columns[c], again[c])) for c in columns}
    mixpanel.write(both["seconds"] // 86400, both)
    for code, count in zip(*np.unique(name[mp_idx], return_counts=True), strict=True):
        names["mixpanel"][NAMES[code]] += int(count)
    writer.lines["mixpanel"] += m + len(dup)
    writer.duplicates["mixpanel"] += len(dup)
    writer.late["mixpanel"] += int(late[mp_idx].sum())


def _plant_insert_id_collision(writer: ref._ExportWriter, name: np.ndarray, insert_id: np.ndarray) -> None:
    """The reference writer's one collision: the first Mixpanel settings_changed after the first signed_up (in
    user order, as written) takes its $insert_id: a different event, NOT a duplicate. May span chunks."""
    after = 0
    if writer.collision_insert_id is None:
        signups = np.flatnonzero(name == SIGNUP)
        if not len(signups):
            return
        writer.collision_insert_id = f"{int(insert_id[signups[0]]):016x}"
        after = int(signups[0]) + 1
    settings = np.flatnonzero(name[after:] == SETTINGS)
    if len(settings):
        insert_id[after + settings[0]] = np.uint64(int(writer.collision_insert_id, 16))
        writer.collisions.append(writer.collision_insert_id)


def _csv_row(writer: ref._ExportWriter, rng: np.random.Generator, people: _People, user: int, t: int, a: int,
             coupon: int) -> None:  # fmt: skip
    plan, cents = PLANS[a % 2]
    currency = CURRENCIES[a // 2]
    if currency == "EUR":
        cents = cents * 9 // 10
    geo = COUNTRIES[people.country[user]]
    hi, lo = (int(x) for x in rng.integers(0, 2**64, 2, dtype=np.uint64))
    h = f"{hi:016x}{lo:016x}"
    row = [
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}", "plan_upgraded", str(100_000 + user), "",
        writer.clock.iso(t), writer.clock.iso(t + int(50 + rng.random() * (3 * SECOND - 50 + 1))),
        PLATFORMS[people.platform[user]], geo[0] if geo else "", f"{cents // 100}.{cents % 100:02d}", plan, currency,
        COUPONS[coupon],
    ]  # fmt: skip
    writer.csv_rows.append((t, row))
    writer.events_by_source_and_name["csv"]["plan_upgraded"] += 1
    writer.lines["csv"] += 1


def _people_columns(people: _People, user: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "uid": 100_000 + user, "uid_number": user % 7 == 3, "platform": people.platform[user],
        "combo": people.combo[user], "null_props": people.null_props[user], "method": people.method[user],
        "plan": people.plan[user], "upgraded_at": np.where(people.upgraded_at[user] < 0, np.iinfo(np.int64).max,
        people.upgraded_at[user]), "dev": _strings(people.dev[user]), "ad": _strings(people.ad[user]),
        "has_ad": people.has_ad[user],
    }  # fmt: skip


def _report_ids(rid: np.ndarray) -> pa.Array:
    """``r_`` and 12 hex digits (48 random bits), as the reference's report ids."""
    prefix = np.broadcast_to(np.frombuffer(b"r_", dtype=np.uint8), (len(rid), 2))
    return _strings(np.concatenate((prefix, _hex(rid, 12)), axis=1))


def _lines(con: duckdb.DuckDBPyConnection, view: str, sql: str, frame: pa.Table) -> pa.ChunkedArray:
    """The ``line`` column of ``sql`` over ``frame`` (registered as ``day``), in the frame's order. The statement is
    parsed once, as a view: it is long, and parsing it per day cost more than formatting a small day."""
    con.register("day", frame)
    try:
        if not con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [view]).fetchall()[0][0]:
            con.execute(f"CREATE VIEW {view} AS {sql}")
        return con.sql(f"SELECT line FROM {view}").to_arrow_table().column("line")
    finally:
        con.unregister("day")


def _batches(bounds: list[tuple[int, int]]) -> Any:
    """Consecutive (lo, hi) row ranges grouped into batches of about ``FORMAT_BATCH_ROWS`` rows (never splitting
    one range)."""
    batch: list[tuple[int, int]] = []
    for lo, hi in bounds:
        batch.append((lo, hi))
        if hi - batch[0][0] >= FORMAT_BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _amplitude_days(model: _Model, people: _People, spill: _DaySpill) -> Any:
    """Each upload day's members, formatted by DuckDB: (day, its ((hour, shard), body) in member order), the members
    formatted batch by batch as the finisher takes them."""
    amp_consts, _mp = _constants()
    sql = _amplitude_sql(amp_consts, _utm_texts()[1])
    con = duckdb.connect()
    try:
        for day, table in spill.days():
            yield day, _amplitude_members(con, sql, model.rng(3, day), people, table)
    finally:
        con.close()


def _amplitude_members(con: duckdb.DuckDBPyConnection, sql: str, rng: np.random.Generator, people: _People,
                       table: pa.Table) -> Any:  # fmt: skip
    """One upload day's ((hour, shard), body) in member order, one batch of whole members formatted at a time."""
    cols = {c: table.column(c).to_numpy() for c in table.column_names}
    del table
    k = len(cols["t"])
    hour = cols["upload"] // HOUR % 24
    ids = rng.integers(0, 2**64, (k, 4), dtype=np.uint64)  # uuid (2), $insert_id (80 bits of 2)
    order = np.lexsort((ids[:, 0], cols["upload"], cols["shard"], hour))
    cols = {c: v[order] for c, v in cols.items()}
    hour = hour[order]
    member = hour * 2 + cols["shard"]
    cuts = np.flatnonzero(np.diff(member)) + 1
    bounds = list(zip(np.concatenate(([0], cuts)).tolist(), np.concatenate((cuts, [k])).tolist(), strict=True))
    for batch in _batches(bounds):  # whole members per batch: a member's lines are one slice of a batch
        first, last = batch[0][0], batch[-1][1]
        part = {c: v[first:last] for c, v in cols.items()}
        insert_id = np.concatenate((_hex(ids[first:last, 2] >> np.uint64(48), 4), _hex(ids[first:last, 3], 16)), axis=1)
        frame = pa.table({
            **part, **_people_columns(people, part["user"]),
            "uuid": _strings(_uuid_bytes(ids[first:last, 0], ids[first:last, 1])), "ins": _strings(insert_id),
            "rid": _report_ids(part["rid"]),
        })  # fmt: skip
        lines = _lines(con, "amplitude_lines", sql, frame)
        del frame
        for lo, hi in batch:
            yield (int(hour[lo]), int(cols["shard"][lo])), _body(lines.slice(lo - first, hi - lo))
        del lines


def _mixpanel_days(people: _People, spill: _DaySpill) -> Any:
    """Each project-local day's lines in time order, formatted by DuckDB: (day, body) per batch of
    ``FORMAT_BATCH_ROWS`` lines, several per day (the finisher appends them to the day's file): a day is never
    formatted or held at once."""
    _amp, mp_consts = _constants()
    sql = _mixpanel_sql(mp_consts, _utm_texts()[0])
    con = duckdb.connect()
    try:
        for day, table in spill.days():
            cols = {c: table.column(c).to_numpy() for c in table.column_names}
            order = np.lexsort((cols["copy"], cols["ins_lo"], cols["name"], cols["seconds"]))
            cols = {c: v[order] for c, v in cols.items()}
            frame = pa.table({
                **cols, **_people_columns(people, cols["user"]), "ins": _strings(_hex(cols["ins_lo"], 16)),
                "rid": _report_ids(cols["rid"]),
            })  # fmt: skip
            rows = len(frame)
            for lo in range(0, rows, FORMAT_BATCH_ROWS):
                batch = frame.slice(lo, min(FORMAT_BATCH_ROWS, rows - lo))
                yield day, _body(_lines(con, "mixpanel_lines", sql, batch))
    finally:
        con.close()
