"""Planted initiative outcomes in the analytics sample: what the generator says it planted is what the files hold.

A small sample with both launches; the outcome definition (first step-1 event in each window is the entry, success
= a step-2 event strictly later and within the funnel's conversion window) is recomputed here from the exported
files, independently of the generator's own bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.config import load_config
from core.settings import DEFAULT_CONFIG_PATH
from sample_generator import AnalyticsTruths, generate_analytics
from sample_generator.analytics import ENGINES, OUTCOME_WINDOW_DAYS, PLANTED_OUTCOMES, UTM_FIRST_CAMPAIGNS
from sample_generator.analytics_vectorised import SignedUpUsers, generate_analytics_vectorised
from sample_generator.billing import analytics_plan_upgrades
from sample_generator.people import sample_users
from tests.support.analytics_readback import ReadBack

SAMPLE = {"seed": 5, "users": 300, "days": 60, "events_per_user": 0, "signup_days": 51, "start": date(2024, 1, 1)}
LAUNCHES = {
    "PROD-1": datetime(2024, 1, 24, 14, 15, 0, 123000, tzinfo=UTC),
    "PROD-2": datetime(2024, 1, 31, 14, 45, tzinfo=UTC),
}

Events = dict[str, list[tuple[datetime, str, dict]]]


@pytest.fixture(scope="module", params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def vectorised(tmp_path_factory) -> tuple[Path, AnalyticsTruths, SignedUpUsers]:
    """The vectorised sample and the users it hands over, generated once: the outcome tests read its files as
    ``sample["vectorised"]`` and the hand-over test reads the same files (generate_analytics(engine="vectorised")
    returns these truths; test_sample_analytics covers that route)."""
    landing = tmp_path_factory.mktemp("outcomes-vectorised") / "landing"
    truths, signed_up = generate_analytics_vectorised(landing, **SAMPLE, launches=LAUNCHES)
    return landing, truths, signed_up


@pytest.fixture(scope="module")
def sample(engine, tmp_path_factory, request) -> tuple[Path, AnalyticsTruths]:
    if engine == "vectorised":
        landing, truths, _signed_up = request.getfixturevalue("vectorised")
        return landing, truths
    landing = tmp_path_factory.mktemp("outcomes") / "landing"
    return landing, generate_analytics(landing, **SAMPLE, launches=LAUNCHES, engine=engine)


@pytest.fixture(scope="module")
def read_by_user() -> Callable[[Path, AnalyticsTruths], Events]:
    """Each user's events as a sample's files hold them, read once per sample (the tests only read them)."""
    read: dict[Path, Events] = {}

    def by_user(landing: Path, truths: AnalyticsTruths) -> Events:
        if landing not in read:
            read[landing] = ReadBack(landing, truths).by_user()
        return read[landing]

    return by_user


@pytest.fixture(scope="module")
def by_user(sample, read_by_user) -> Events:
    return read_by_user(*sample)


def test_planted_targets_match_the_sample_configuration():
    config = load_config(DEFAULT_CONFIG_PATH)
    funnels = {f.name: f for f in config.funnels}
    assert config.outcomes.window_days == OUTCOME_WINDOW_DAYS
    for initiative in config.initiatives:
        if initiative.key not in PLANTED_OUTCOMES:
            continue
        funnel_name, steps, window_ms, _before, _after = PLANTED_OUTCOMES[initiative.key]
        assert initiative.target_metric == {"type": "funnel_step", "funnel": funnel_name, "step": 2}
        funnel = funnels[funnel_name]
        assert tuple(s.event for s in funnel.steps[:2]) == steps
        assert funnel.conversion_window_hours * 3_600_000 == window_ms


def test_realised_samples_recomputed_from_the_files(sample, by_user):
    _landing, truths = sample
    for key, launch in LAUNCHES.items():
        truth = truths.outcomes[key]
        _funnel, (first, second), window_ms, _b, _a = PLANTED_OUTCOMES[key]
        window, reach = timedelta(days=OUTCOME_WINDOW_DAYS), timedelta(milliseconds=window_ms)
        counts = []
        for lo, hi in ((launch - window, launch), (launch, launch + window)):
            entries = successes = 0
            for events in by_user.values():
                entry = next((t for t, name, _p in events if name == first and lo <= t < hi), None)
                if entry is None:
                    continue
                entries += 1
                successes += any(
                    name == second
                    and entry < t <= entry + reach
                    and (second != "report_shared" or props.get("channel") in ("email", "link"))
                    for t, name, props in events
                )
            counts += [entries, successes]
        realised = [
            truth.realised_before_sample_size,
            truth.realised_before_successes,
            truth.realised_after_sample_size,
            truth.realised_after_successes,
        ]
        assert counts == realised, key
        assert min(counts[0], counts[2]) >= 60, key
        assert truth.is_window_elapsed
        assert (truth.ship_at, truth.after_window_end) == (launch, launch + window)


def test_planted_values_and_expected_lifts(sample):
    _, truths = sample
    prod1, prod2 = truths.outcomes["PROD-1"], truths.outcomes["PROD-2"]
    assert (prod1.planted_before, prod1.planted_after, prod1.planted_lift) == (0.224, 0.384, 0.16)
    assert (prod2.planted_before, prod2.planted_after, prod2.planted_lift) == (0.7, 0.7, 0.0)
    # Given the realised reports, the planted probabilities imply these expectations: the lift stays the planted one
    # (other reports inside the same 24 h raise both sides alike), and the null stays null.
    assert prod1.expected_lift == pytest.approx(0.16, abs=0.02)
    assert prod2.expected_lift == pytest.approx(0.0, abs=0.02)
    assert 0.224 < prod1.expected_before < 0.3


def test_no_launches_plants_nothing(tmp_path):
    truths = generate_analytics(tmp_path, users=40, days=31, events_per_user=0, mess=False)
    assert truths.outcomes == {}
    assert truths.signup_days == 31  # sign-ups on every day by default


def test_replays_see_the_same_journeys(engine, by_user):
    if engine != "reference":
        pytest.skip("no replay: see test_vectorised_engine_hands_over_the_users_its_files_hold")
    read_back = by_user
    upgraded = {u for u, events in read_back.items() if any(name == "plan_upgraded" for _t, name, _p in events)}
    kwargs = {k: SAMPLE[k] for k in ("days", "events_per_user", "signup_days")}
    upgrades, _others = analytics_plan_upgrades(SAMPLE["seed"], SAMPLE["users"], SAMPLE["start"], **kwargs,
                                                launches=LAUNCHES)  # fmt: skip
    assert {u.user_id for u in upgrades} == upgraded
    people = sample_users(seed=SAMPLE["seed"], users=SAMPLE["users"], days=SAMPLE["days"], start=SAMPLE["start"],
                          signup_days=SAMPLE["signup_days"], launches=LAUNCHES)  # fmt: skip
    signups = {u: min(t for t, name, _p in events if name == "signed_up") for u, events in read_back.items()}
    assert {p.user_id: p.signed_up_at for p in people} == {u: int(t.timestamp()) for u, t in signups.items()}


def test_vectorised_engine_hands_over_the_users_its_files_hold(vectorised, read_by_user):
    """Billing and feedback take the vectorised engine's users instead of replaying journeys: the upgrades, plans
    and sign-up times they get are the ones in the exported files."""
    landing, truths, signed_up = vectorised
    read_back = read_by_user(landing, truths)
    upgrades, others, first_touches = signed_up.billing_users()
    in_files = {
        u: next((t, p) for t, name, p in events if name == "plan_upgraded")
        for u, events in read_back.items()
        if any(name == "plan_upgraded" for _t, name, _p in events)
    }
    assert {u.user_id: (u.upgraded_ms, u.plan, u.currency) for u in upgrades} == {
        u: (int(t.timestamp() * 1000), p["properties_plan"], p["properties_currency"]) for u, (t, p) in in_files.items()
    }
    assert len(upgrades) + len(others) == SAMPLE["users"] and not set(others) & set(in_files)
    # the planted first UTM touches (billing's first-touch truths) are events of their users in the files: one of
    # their identified events, or an anonymous first visit before them
    assert len(first_touches) == truths.utm_users > 0
    for user, touch in first_touches.items():
        identified = {int(t.timestamp() * 1000) for t, _name, _p in read_back[user]}
        assert touch.at_ms in identified or touch.at_ms < min(identified), user
        assert touch.source in {campaign[0] for campaign in UTM_FIRST_CAMPAIGNS}
    people = signed_up.sample_users()
    signups = {u: min(t for t, name, _p in events if name == "signed_up") for u, events in read_back.items()}
    assert {p.user_id: p.signed_up_at for p in people} == {u: int(t.timestamp()) for u, t in signups.items()}
    assert {p.user_id for p in people if p.plan != "free"} == set(in_files)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"launches": {"PROD-9": datetime(2024, 1, 2, tzinfo=UTC)}}, "launches['PROD-9']: no planted outcome"),
        ({"launches": {"PROD-1": datetime(2024, 1, 2)}}, "launches['PROD-1'] must be a timezone-aware datetime"),
        ({"signup_days": 61}, "signup_days must be between 1 and days = 60"),
    ],
)
def test_bad_arguments_are_named(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        generate_analytics(tmp_path, users=10, days=60, **kwargs)
