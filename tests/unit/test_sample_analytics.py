"""The sample analytics generator: deterministic bytes, vendor-exact shapes, and truths the files really hold.

The read-back helpers (tests/support/analytics_readback.py) are deliberately independent of the generator: they
parse the files the way a vendor-aware reader would and recompute the funnel and retention from what they find.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.config import load_config
from core.settings import DEFAULT_CONFIG_PATH
from expectations.volume import Verdict, judge_days
from sample_generator import AnalyticsTruths, generate_analytics, generate_events_bench
from sample_generator.analytics import (
    ENGINES,
    MIXPANEL_TIMEZONE,
    SIGNUP_RATE_TAPER,
    UTM_FIRST_CAMPAIGNS,
    UTM_LATER_CAMPAIGN,
)
from sample_generator.analytics_vectorised import daily_event_counts
from tests.support.analytics_readback import AMPLITUDE_TIME, ReadBack, amplitude_members, mixpanel_lines, mixpanel_utc

# Sign-ups go on to the last day, so ~13 % of the users' windows are still open at the end: 400 users leave about 5
# who onboard only after their window closed, which the funnel must not count.
USERS = 400
DAYS = 45
START = date(2024, 3, 1)  # the Mixpanel era (days 0-19) spans the US DST change of 2024-03-10

MEMBER_NAME = re.compile(r"^(\d+)/\1_(\d{4}-\d{2}-\d{2})_(0|[1-9]|1\d|2[0-3])#(\d+)\.json\.gz$")
WINDOW = timedelta(hours=168)
DAY = timedelta(days=1)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request) -> str:
    """Both engines must write the same formats with truths the files really hold."""
    return request.param


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Callable[[str], tuple[Path, AnalyticsTruths]]:
    """engine -> its sample, generated on first use; the batching test reads the vectorised one too."""
    generated: dict[str, tuple[Path, AnalyticsTruths]] = {}

    def sample(engine: str) -> tuple[Path, AnalyticsTruths]:
        if engine not in generated:
            landing = tmp_path_factory.mktemp("run1") / "landing"
            generated[engine] = landing, generate_analytics(landing, users=USERS, days=DAYS, start=START, engine=engine)
        return generated[engine]

    return sample


@pytest.fixture(scope="module")
def sample(engine, samples) -> tuple[Path, AnalyticsTruths]:
    return samples(engine)


def _files(landing: Path) -> dict[str, bytes]:
    return {p.relative_to(landing).as_posix(): p.read_bytes() for p in sorted(landing.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def read_back(sample) -> ReadBack:
    landing, truths = sample
    return ReadBack(landing, truths)


# ------------------------------------------------------------------------------------------------ tests


def test_same_seed_same_bytes_and_files_match_truths(sample, engine, tmp_path):
    landing, truths = sample
    again = generate_analytics(tmp_path / "landing", users=USERS, days=DAYS, start=START, engine=engine)
    first, second = _files(landing), _files(tmp_path / "landing")
    assert first == second
    assert again.to_dict() == truths.to_dict()
    assert sorted(first) == list(truths.files)  # no partial or stray files
    json.dumps(truths.to_dict())  # serialisable
    other = generate_analytics(tmp_path / "other", users=USERS, days=DAYS, start=START, seed=8, engine=engine)
    assert _files(tmp_path / "other") != first
    assert other.activation.realised_step_users != truths.activation.realised_step_users


def test_sample_matches_the_project_configuration(read_back):
    config = load_config(DEFAULT_CONFIG_PATH)
    assert config.analytics.mixpanel_project_timezone == MIXPANEL_TIMEZONE
    names = {e[0] for events in read_back.events.values() for e in events.values()}
    assert names <= set(config.analytics.known_events)
    assert {"signed_up", "onboarding_completed", "report_created", "report_shared", "plan_upgraded"} <= names


def test_amplitude_archives_and_member_names(sample):
    landing, truths = sample
    amplitude_files = [f for f in truths.files if f.startswith("analytics/amplitude/")]
    assert any(f.endswith(".json.gz") for f in amplitude_files)  # the ZIP under a .json.gz name
    assert any(f.endswith("_reexport.zip") for f in amplitude_files)
    members_seen: dict[str, bytes] = {}
    duplicated_members = 0
    shards = Counter()
    for rel in amplitude_files:
        assert zipfile.is_zipfile(landing / rel)
        with zipfile.ZipFile(landing / rel) as zf:
            for info in zf.infolist():
                match = MEMBER_NAME.match(info.filename)
                assert match, info.filename
                assert int(match.group(1)) == truths.amplitude_project_id
                assert info.date_time == (1980, 1, 1, 0, 0, 0)
                shards[(rel, match.group(3))] += 1
                body = zf.read(info)
                if info.filename in members_seen:
                    assert members_seen[info.filename] == body  # the re-export repeats hours byte for byte
                    duplicated_members += 1
                members_seen[info.filename] = body
    assert duplicated_members > 0
    assert max(shards.values()) >= 2  # several shards per hour
    assert any(m.split("_")[-1].split("#")[0] != m.split("_")[-1].split("#")[0].zfill(2) for m in members_seen)


def test_amplitude_files_are_hourly_by_upload_time(sample):
    landing, truths = sample
    late = 0
    numeric_ids = 0
    nulls = Counter()
    for _rel, member, lines in amplitude_members(landing, truths):
        match = MEMBER_NAME.match(member)
        assert match
        for line in lines:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            uploaded = datetime.strptime(row["server_upload_time"], AMPLITUDE_TIME)
            assert (uploaded.date().isoformat(), uploaded.hour) == (match.group(2), int(match.group(3)))
            happened = datetime.strptime(row["event_time"], AMPLITUDE_TIME)
            late += "event_type" in row and uploaded - happened >= timedelta(hours=24)
            numeric_ids += isinstance(row["user_id"], int)
            nulls["country"] += row["country"] is None
            nulls["user_properties"] += row["user_properties"] is None
            assert isinstance(row["session_id"], int) and isinstance(row["event_id"], int)
            assert row["platform"] in {"iOS", "Android", "Web"}
    assert numeric_ids > 0
    assert nulls["country"] > 0 and nulls["user_properties"] > 0
    # Late events counted by the generator, plus their byte-identical copies in the re-export.
    assert truths.late_events_by_source["amplitude"] > 0
    assert late >= truths.late_events_by_source["amplitude"]


def test_mixpanel_time_is_shifted_to_the_project_timezone(read_back, sample):
    _landing, truths = sample
    # America/Los_Angeles: UTC-8 before 2024-03-10, UTC-7 after; the sample spans both.
    assert read_back.mixpanel_offsets == {-8 * 3600, -7 * 3600}
    # mp_processing_time_ms is real UTC: against the reconstructed time it shows the upload delay, never hours.
    on_time = [d for d in read_back.mixpanel_delays if d < 24 * 3600]
    assert min(read_back.mixpanel_delays) >= 0
    assert max(on_time) <= 15 * 60
    assert len(read_back.mixpanel_delays) - len(on_time) >= truths.late_events_by_source["mixpanel"]


@pytest.mark.parametrize("engine", ENGINES)
def test_mixpanel_time_in_summer_is_pdt_wall_clock(tmp_path, engine):
    """In July every Mixpanel time is the PDT wall clock: 7 h behind the real UTC instant of mp_processing_time_ms."""
    truths = generate_analytics(tmp_path, users=40, days=31, start=date(2024, 7, 1), mess=False, engine=engine)
    checked = 0
    for rel in truths.files:
        if not rel.startswith("analytics/mixpanel/"):
            continue
        for line in (tmp_path / rel).read_text(encoding="utf-8").splitlines():
            props = json.loads(line)["properties"]
            shifted = int(props["time"])
            utc = mixpanel_utc(shifted)
            assert shifted - int(utc.timestamp()) == -7 * 3600
            assert 0 <= props["mp_processing_time_ms"] / 1000 - utc.timestamp() <= 6 * 60  # the upload delay
            checked += 1
    assert checked > 100


def test_counts_per_format_match_the_truths(read_back, sample):
    _landing, truths = sample
    assert dict(read_back.lines) == truths.lines_by_source
    for source in ("amplitude", "mixpanel", "csv"):
        events = read_back.events[source]
        assert len(events) == truths.events_by_source[source], source
        assert Counter(e[0] for e in events.values()) == truths.events_by_source_and_name[source], source
        assert read_back.lines[source] - len(events) == truths.exact_duplicates_by_source[source], source
    assert truths.exact_duplicates_by_source["amplitude"] > 0 and truths.exact_duplicates_by_source["mixpanel"] > 0
    assert set(truths.events_by_source_and_name["csv"]) == {"plan_upgraded"}
    assert "plan_upgraded" not in truths.events_by_source_and_name["amplitude"]


def test_malformed_lines_are_exactly_the_planted_ones(read_back, sample):
    _landing, truths = sample
    planted = {(m.file, m.member, m.line, m.kind) for m in truths.malformed}
    assert read_back.malformed == planted
    assert {m.kind for m in truths.malformed} == {
        "not_json",
        "missing_event_type",
        "non_numeric_time",
        "vendor_trailer",
        "unparseable_timestamp",
    }


def test_insert_id_collision_is_two_different_events(read_back, sample, engine):
    _landing, truths = sample
    assert len(truths.mixpanel_insert_id_collisions) == 1
    events = read_back.insert_ids[truths.mixpanel_insert_id_collisions[0]]
    assert len({name for name, _ in events}) == 2


def test_switch_from_mixpanel_to_amplitude(read_back, sample):
    _landing, truths = sample
    switch = datetime(truths.switch_date.year, truths.switch_date.month, truths.switch_date.day, tzinfo=UTC)
    assert all(e[2] < switch for e in read_back.events["mixpanel"].values())
    assert all(e[2] >= switch for e in read_back.events["amplitude"].values())
    # The same people on both sides: Amplitude and Mixpanel share user ids. Those who signed up before the switch
    # (in Mixpanel: every day has sign-ups) nearly all come back after it (a report on day N with p >= 0.13).
    amplitude_users = {e[1] for e in read_back.events["amplitude"].values() if e[1]}
    mixpanel_users = {e[1] for e in read_back.events["mixpanel"].values() if e[1]}
    signed_up_before = {e[1] for e in read_back.events["mixpanel"].values() if e[0] == "signed_up"}
    assert len(signed_up_before) == sum(n for d, n in truths.signups_by_day.items() if d < str(truths.switch_date))
    assert amplitude_users & mixpanel_users <= signed_up_before
    assert len(amplitude_users & mixpanel_users) >= 0.9 * len(signed_up_before) > 0


def _funnel_depth(events: list[tuple[datetime, str, dict]], steps: tuple[str, ...]) -> int:
    """first_entry: the depth of the path from the first step-1 event (earliest matches, strictly later, in window)."""
    starts = [e for e in events if e[1] == steps[0]]
    t1 = starts[0][0]
    last, depth = t1, 1
    for step in steps[1:]:
        nxt = next((t for t, name, _ in events if name == step and t > last and t - t1 <= WINDOW), None)
        if nxt is None:
            break
        last, depth = nxt, depth + 1
    return depth


def test_funnel_and_retention_recomputed_from_the_files(read_back, sample):
    _landing, truths = sample
    steps = truths.activation.steps
    reached = [0] * len(steps)
    day7 = [0, 0]
    sharing = [0, 0]
    # fct_retention_cohorts.is_complete: day 7 of a cohort is complete once it ended by the newest event in the data
    newest = max(e[2] for events in read_back.events.values() for e in events.values())
    for events in read_back.by_user().values():
        reports = [t for t, name, _ in events if name == "report_created"]
        shares = [t for t, name, p in events if name == "report_shared" and p.get("channel") in ("email", "link")]
        if reports:
            sharing[0] += 1
            sharing[1] += any(r < s <= r + timedelta(hours=24) for r in reports for s in shares)
        if not any(name == "signed_up" for _, name, _ in events):
            continue
        depth = _funnel_depth(events, steps)
        for k in range(depth):
            reached[k] += 1
        signed = next(t for t, name, _ in events if name == "signed_up").date()
        if datetime.combine(signed + timedelta(days=8), datetime.min.time(), UTC) <= newest:
            day7[0] += 1
            day7[1] += any(t.date() == signed + timedelta(days=7) for t in reports)
    assert tuple(reached) == truths.activation.realised_step_users
    assert reached[0] == truths.users_signed_up == USERS
    assert tuple(day7) == (truths.retention.realised_day7_cohort_users, truths.retention.realised_day7_retained)
    assert tuple(sharing) == truths.sharing.realised_step_users


def _within_4_sigma(successes: int, trials: int, p: float) -> bool:
    return abs(successes - trials * p) <= 4 * math.sqrt(trials * p * (1 - p))


def test_realised_rates_are_within_sampling_error_of_the_planted_ones(sample):
    _landing, truths = sample
    funnel = truths.activation
    # Sign-ups to the last day: the last week's share is the planted one (no cliff before the end), the integral of
    # the rate density (1 + T) - 2 T x over the last 7 / DAYS of the range; the funnel rates are compared over the
    # sign-ups whose 168 h window closed before the data ends.
    signups = truths.signups_by_day
    assert sum(signups.values()) == USERS and min(signups) == str(START) and max(signups) == str(truths.end - DAY)
    last_week = sum(n for d, n in signups.items() if d >= str(truths.end - 7 * DAY))
    taper, x = SIGNUP_RATE_TAPER, 1 - 7 / DAYS
    assert _within_4_sigma(last_week, USERS, (1 + taper) * (1 - x) - taper * (1 - x * x)), last_week
    open_from = datetime(truths.end.year, truths.end.month, truths.end.day, tzinfo=UTC) - WINDOW
    assert funnel.complete_signups_before == open_from
    counts = funnel.realised_step_users_window_elapsed
    assert counts[0] == sum(n for d, n in signups.items() if d < str(open_from.date()))  # the window ends at 00:00
    for k in range(1, len(counts)):
        p = funnel.planted_step_probabilities[k]
        assert _within_4_sigma(counts[k], counts[k - 1], p), (k, counts, p)
    for platform, p in funnel.planted_onboarding_by_platform.items():
        by_platform = funnel.realised_by_platform_window_elapsed[platform]
        assert _within_4_sigma(by_platform[1], by_platform[0], p), platform
    assert [sum(v[k] for v in funnel.realised_by_platform_window_elapsed.values()) for k in range(4)] == list(counts)
    assert sum(funnel.planted_onboarding_by_platform.values()) / 3 == pytest.approx(
        funnel.planted_step_probabilities[1]
    )
    retention = truths.retention
    assert retention.planted_day7 == 0.30
    assert _within_4_sigma(retention.realised_day7_retained, retention.realised_day7_cohort_users, 0.30)
    assert sum(c[0] for c in retention.by_cohort[7].values()) == retention.realised_day7_cohort_users
    assert sum(c[1] for c in retention.by_cohort[7].values()) == retention.realised_day7_retained
    # Only complete cohorts: day N of each lies inside the range; every sign-up day up to the last such one is one.
    for period, cohorts in retention.by_cohort.items():
        through = retention.complete_cohorts_through[period]
        assert through == truths.end - timedelta(days=period + 2)  # day N ended before the last day began
        assert {d: c[0] for d, c in cohorts.items()} == {d: n for d, n in signups.items() if d <= str(through)}
    # Some converters act after the window (they must not count), some cohorts are still open.
    assert funnel.after_window_users[0] > 0 and funnel.after_window_users[2] > 0
    assert funnel.realised_step_users[0] > funnel.realised_step_users_window_elapsed[0]


def test_identity_anonymous_first_then_identified(read_back, sample):
    _landing, truths = sample
    anonymous = [e for e in read_back.events["amplitude"].values() if e[1] is None]
    anonymous += [e for e in read_back.events["mixpanel"].values() if e[3]["distinct_id"].startswith("$device:")]
    assert anonymous
    identifies = [e for e in read_back.events["mixpanel"].values() if e[0] == "$identify"]
    assert identifies and all(e[3]["$anon_distinct_id"].startswith("$device:") for e in identifies)
    assert truths.users_identified_later > 0 and truths.anonymous_only_devices == USERS // 10


def test_unicode_and_string_numbers_survive(read_back):
    titles = {e[3].get("title") for e in read_back.events["amplitude"].values()}
    assert {"Weekly KPIs 📈", "売上レポート 2024", "Résumé des ventes"} & titles
    assert any(e[3]["properties_coupon"] == 'BF, "2023"' for e in read_back.events["csv"].values())
    assert any(isinstance(e[3].get("row_count"), str) for e in read_back.events["mixpanel"].values())


def test_report_ids_are_shared_by_a_report_and_its_shares(read_back):
    for source in ("amplitude", "mixpanel"):
        events = read_back.events[source].values()
        created = {e[3]["report_id"] for e in events if e[0] == "report_created"}
        shared = {e[3]["report_id"] for e in events if e[0] == "report_shared"}
        assert created and all(re.fullmatch(r"r_[0-9a-f]{12}", rid) for rid in created), source
        assert shared and shared <= created | {e[3]["report_id"] for e in read_back.events["mixpanel"].values()
                                               if e[0] == "report_created"}, source  # fmt: skip


def test_daily_event_counts_are_what_the_files_hold(read_back, sample, engine):
    if engine != "vectorised":
        pytest.skip("daily_event_counts draws the vectorised engine's model")
    per_day = Counter(e[2].date() for events in read_back.events.values() for e in events.values())
    assert daily_event_counts(users=USERS, days=DAYS, start=START) == per_day


def test_daily_events_grow_inside_the_analytics_volume_band():
    """Sign-ups on every day: at 75,000 users (4.5M events) every day the analytics volume check judges is inside
    its band, 10 % above its floor and 7 % below its top at the closest. Sign-ups that stop after day 51 of 60 (the
    former default did, but for 3 % of users in the last 5 days) take the days after below their band from the
    first one on: the check flags such a cliff, so the smooth sample passes because it is smooth."""
    settings = load_config(DEFAULT_CONFIG_PATH).volume.source("analytics_events")
    judged = judge_days(daily_event_counts(users=75_000), settings)
    assert len(judged) == settings.lookback_days + 1
    assert [j.verdict for j in judged] == [Verdict.OK] * settings.lookback_days + [Verdict.FILLING]
    assert min(j.count / j.band.low for j in judged[:-1]) > 1.05 and min(j.band.high / j.count for j in judged) > 1.05
    stopped = judge_days(daily_event_counts(users=75_000, signup_days=51), settings)
    first_day_without_signups = date(2024, 1, 1) + timedelta(days=51)
    assert min(j.day for j in stopped if j.verdict is Verdict.LOW) == first_day_without_signups


@pytest.mark.parametrize("engine", ENGINES)
def test_without_mess_nothing_is_broken_or_duplicated(tmp_path, engine):
    truths = generate_analytics(tmp_path, users=60, days=31, mess=False, engine=engine)
    assert truths.malformed == ()
    assert set(truths.exact_duplicates_by_source.values()) == {0}
    assert set(truths.late_events_by_source.values()) == {0}
    back = ReadBack(tmp_path, truths)
    assert back.malformed == set()
    assert {s: len(e) for s, e in back.events.items()} == truths.events_by_source


def test_rejects_ranges_too_short_for_the_cohorts(tmp_path):
    with pytest.raises(ValueError, match="days must be >= 31"):
        generate_analytics(tmp_path, days=20)


def test_bench_files(tmp_path):
    paths = generate_events_bench(tmp_path / "a", 2_001, seed=3)
    again = generate_events_bench(tmp_path / "b", 2_001, seed=3)
    assert len(paths) == 4
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    counts = []
    for path in paths:
        assert re.match(r"^\d+_\d{4}-\d{2}-\d{2}_\d{1,2}#\d+\.json\.gz$", path.name)
        lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        rows = [json.loads(line) for line in lines]
        assert all({"uuid", "event_type", "event_time", "device_id"} <= row.keys() for row in rows)
        counts.append(len(rows))
    assert sum(counts) == 2_001 and max(counts) - min(counts) <= len(paths)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(p.name for p in paths)


def _utm_touches_in_the_files(sample) -> dict[str, list[tuple[datetime, str, str]]]:
    """user -> every (time, utm_source as its vendor stores it, where) in the files, read the way each vendor's
    attribution is documented: Mixpanel event properties utm_*; Amplitude user_properties initial_utm_* (the first
    touch; 'EMPTY' = none) and utm_* (the latest). Anonymous events count through their device's user."""
    landing, truths = sample
    device_user: dict[str, str] = {}
    raw: list[tuple[str | None, str, datetime, str, str]] = []
    for _rel, _member, lines in amplitude_members(landing, truths):
        for line in lines:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "event_type" not in row:
                continue
            user = None if row["user_id"] is None else str(row["user_id"])
            if user is not None:
                device_user[row["device_id"]] = user
            props = row["user_properties"] or {}
            when = datetime.strptime(row["event_time"], AMPLITUDE_TIME).replace(tzinfo=UTC)
            for key in ("initial_utm_source", "utm_source"):
                if props.get(key) not in (None, "EMPTY"):
                    raw.append((user, row["device_id"], when, props[key], f"amplitude.user_properties.{key}"))
    for _rel, lines in mixpanel_lines(landing, truths):
        for line in lines:
            if line == "terminated early":
                continue
            props = json.loads(line)["properties"]
            if not str(props["time"]).isdigit():
                continue
            user = props.get("$user_id")
            if user is not None:
                device_user[props["$device_id"]] = user
            if "utm_source" in props:
                when = mixpanel_utc(int(props["time"]))
                raw.append((user, props["$device_id"], when, props["utm_source"], "mixpanel.properties.utm_source"))
    touches: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for user, device, when, source, where in raw:
        resolved = user or device_user.get(device)
        if resolved is not None:
            touches[resolved].append((when, source, where))
    return {user: sorted(found) for user, found in touches.items()}


def test_planted_utm_touches_are_where_each_vendor_puts_them(sample, engine):
    _landing, truths = sample
    touches = _utm_touches_in_the_files(sample)
    assert len(touches) == truths.utm_users > 0
    first_sources = {found[0][1] for found in touches.values()}
    assert first_sources == {campaign[0] for campaign in UTM_FIRST_CAMPAIGNS}  # the later campaign is never first
    later = [user for user, found in touches.items() if UTM_LATER_CAMPAIGN[0] in {source for _w, source, _p in found}]
    assert later, "no user got a later campaign that the first touch must win over"
    where = {place for found in touches.values() for _w, _s, place in found}
    assert where == {
        "mixpanel.properties.utm_source",
        "amplitude.user_properties.initial_utm_source",
        "amplitude.user_properties.utm_source",
    }


def test_vectorised_lines_formatted_in_batches_are_the_same_bytes(samples, tmp_path, monkeypatch):
    """Each day's lines are formatted in batches of whole members (memory at 100M events); the batch size must not
    change a byte."""
    from sample_generator import analytics_vectorised

    whole_days, _truths = samples("vectorised")  # formatted with the default batch size: one batch per day here
    monkeypatch.setattr(analytics_vectorised, "FORMAT_BATCH_ROWS", 97)  # one or a few members per batch
    generate_analytics(tmp_path / "batch-97", users=USERS, days=DAYS, start=START, engine="vectorised")
    files = [_files(whole_days), _files(tmp_path / "batch-97")]
    assert len(files[0]) > 10 and files[0] == files[1]
