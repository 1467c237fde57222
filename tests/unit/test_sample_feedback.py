"""The sample feedback generator: deterministic bytes, real export shapes, and truths the written files really hold.

The read-back helpers below never use the generator's state: they parse each layout with csv/json the way a
vendor-aware reader would (own answer wordings, own Kano table, own out-of-range rules, identity through the email
hash), recount the figures and compare them with the truths.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.config import load_config
from core.settings import DEFAULT_CONFIG_PATH
from ingest.common.identity import email_hash
from sample_generator.analytics import generate_analytics
from sample_generator.feedback import FeedbackTruths, generate_feedback, kano_category
from sample_generator.people import SampleUser, sample_users

NPS_Q = "How likely are you to recommend us to a friend or colleague?"
CSAT_Q = "Overall, how satisfied are you with the product?"
PLATFORMS = {"ios": "iOS", "android": "Android", "web": "Web"}
FORMULA_START = ("=", "+", "-", "@")
# Kano answer wordings, written independently of the generator.
KANO_TEXT = {
    "i like it": "like", "i like it that way": "like",
    "i expect it": "expect", "it must be that way": "expect",
    "i am neutral": "neutral", "i don't care": "neutral",
    "i can live with it": "live_with", "i can tolerate it": "live_with",
    "i dislike it": "dislike", "i don't like it": "dislike",
}  # fmt: skip
KANO_CODE = {"1": "like", "2": "expect", "3": "neutral", "4": "live_with", "5": "dislike"}
ANSWERS = ("like", "expect", "neutral", "live_with", "dislike")


def kano_rule(functional: str, dysfunctional: str) -> str:
    """DESIGN.md's evaluation table, as rules rather than a grid."""
    if functional == dysfunctional and functional in ("like", "dislike"):
        return "Q"
    if functional == "like":
        return "O" if dysfunctional == "dislike" else "A"
    if dysfunctional == "like" or functional == "dislike":
        return "R"
    return "M" if dysfunctional == "dislike" else "I"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, FeedbackTruths]:
    landing = tmp_path_factory.mktemp("feedback") / "landing"
    return landing, generate_feedback(landing)


@pytest.fixture(scope="module")
def people() -> dict[str, SampleUser]:
    return {u.user_id: u for u in sample_users()}


@pytest.fixture(scope="module")
def by_email_hash(people) -> dict[str, SampleUser]:
    return {email_hash(u.email): u for u in people.values()}


@pytest.fixture(scope="module")
def kano_config() -> dict[str, tuple[str, str, str | None, str | None]]:
    return {
        k.feature: (k.functional_question, k.dysfunctional_question, k.importance_question, k.initiative)
        for k in load_config(DEFAULT_CONFIG_PATH).feedback.kano_features
    }


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _dicts(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _parse_time(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def _resolve(user_id: str, email: str, people, by_email_hash) -> SampleUser:
    """The product user a record belongs to: the explicit id if any, else the email hash."""
    if user_id:
        return people[user_id]
    return by_email_hash[email_hash(email)]


# --------------------------------------------------------------------------------------------------- determinism


# Byte identity on a sample a tenth of the default's 2,000 users: the test asserts it writes every file of the
# default and plants every kind of bad record, formula-like and multi-line cell, so no writer goes unchecked.
SMALL = {"users": 200}


def _planted(truths: FeedbackTruths) -> dict[str, object]:
    return {
        "bad records": {(record.file, record.kind) for record in truths.bad_records},
        "formula-like cells": bool(truths.formula_like_cells),
        "multi-line cells": truths.multiline_cells > 0,
    }


def test_same_seed_same_bytes(sample, tmp_path):
    _landing, truths = sample
    first = generate_feedback(tmp_path / "first", **SMALL)
    assert first.files == truths.files and _planted(first) == _planted(truths)
    again = generate_feedback(tmp_path / "again", **SMALL)
    assert _files(tmp_path / "again") == _files(tmp_path / "first")
    assert again.to_dict() == first.to_dict()
    other = generate_feedback(tmp_path / "other", **SMALL, seed=8)
    assert _files(tmp_path / "other") != _files(tmp_path / "first")
    assert other.to_dict() != first.to_dict()


def test_files_listed_no_partials_and_truths_are_json(sample):
    landing, truths = sample
    assert sorted(_files(landing)) == list(truths.files)
    assert not any(".partial" in f for f in _files(landing))
    assert set(truths.files) == {
        f"feedback/{name}"
        for name in (
            "delighted/survey_responses.json", "delighted/delighted_export.csv", "typeform/product_feedback.csv",
            "typeform/quarterly_checkin.csv", "surveymonkey/csat_survey.csv", "csat/csat_responses.csv",
            "productboard/notes.csv", "zendesk/tickets_page_1.json", "zendesk/tickets_page_2.json",
            "zendesk/ticket_fields.json", "zendesk/satisfaction_ratings.json", "kano/kano_wide.csv",
            "kano/kano_long.csv",
        )
    }  # fmt: skip
    json.dumps(truths.to_dict())


def test_rejects_too_few_users(tmp_path):
    with pytest.raises(ValueError, match="users"):
        generate_feedback(tmp_path, users=10)


# ------------------------------------------------------------------------------------------- identity and config


def test_respondents_are_the_analytics_users(tmp_path):
    """Same ids, platforms, sign-up days and plans as the analytics sample with the same arguments."""
    analytics = generate_analytics(tmp_path, users=150, days=40, events_per_user=3)
    users = sample_users(users=150, days=40)  # days > 31: sign-ups after day 0 take the mess branch
    assert [u.user_id for u in users] == [str(100_000 + i) for i in range(150)]
    platforms = Counter(u.platform for u in users)
    assert {p: steps[0] for p, steps in analytics.activation.realised_by_platform.items()} == dict(platforms)
    upgrades = {}
    for path in sorted((tmp_path / "analytics" / "segment").glob("*.csv")):
        for row in _dicts(path):
            at = _parse_time(row["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
            if row["event"] == "plan_upgraded" and at is not None:
                upgrades[row["user_id"]] = (row["properties_plan"], int(at.timestamp()))
    assert upgrades, "the analytics sample has paying users"
    assert {u.user_id: (u.plan, u.plan_since) for u in users if u.plan != "free"} == upgrades
    months = Counter(datetime.fromtimestamp(u.signed_up_at, UTC).strftime("%Y-%m") for u in users)
    assert {m: s[0] for m, s in analytics.activation.realised_by_month.items()} == dict(months)


def test_emails_are_deterministic_and_distinct(people):
    assert len({u.email for u in people.values()}) == len(people)
    assert all(u.email == u.email.strip().lower() and "@" in u.email for u in people.values())
    again = sample_users(users=50)
    assert [u.email for u in again] == [people[u.user_id].email for u in again]


def test_generator_tables_match_the_configuration(sample, kano_config):
    _landing, truths = sample
    assert {f: v[3] for f, v in kano_config.items() if v[3]} == truths.feature_requests.feature_initiatives
    assert {f: t.initiative for f, t in truths.kano.features.items()} == {f: v[3] for f, v in kano_config.items()}


# --------------------------------------------------------------------------------------------------- shapes


def test_delighted_shapes(sample):
    landing, _truths = sample
    items = json.loads((landing / "feedback/delighted/survey_responses.json").read_text("utf-8"))
    assert isinstance(items, list) and items
    for item in items:
        assert set(item) == {"id", "person", "survey_type", "score", "comment", "permalink", "created_at",
                             "updated_at", "person_properties", "notes", "tags", "additional_answers"}  # fmt: skip
        assert isinstance(item["id"], str) and item["survey_type"] == "nps"
        assert isinstance(item["created_at"], int) and item["updated_at"] >= item["created_at"]
        person = item["person"]
        assert isinstance(person, str) or set(person) == {"id", "email", "name", "created_at"}
        assert isinstance(person, dict) or "user_id" in item["person_properties"]  # a bare id comes with the user id
    assert {type(i["person"]) for i in items} == {str, dict}
    rows = _csv(landing / "feedback/delighted/delighted_export.csv")
    assert rows[0] == ["Response ID", "Score", "Comment", "Email", "Name", "Created At", "Updated At",
                       "Delighted Source", "plan", "platform", "user_id", "Tags", "Notes"]  # fmt: skip
    assert all(len(r) == len(rows[0]) for r in rows)


def test_typeform_shapes(sample):
    landing, _truths = sample
    options = ["Dashboards", "Reports", "Alerts", "Data export", "API"]
    joined = _csv(landing / "feedback/typeform/product_feedback.csv")
    split = _csv(landing / "feedback/typeform/quarterly_checkin.csv")
    for rows in (joined, split):
        header = rows[0]
        assert header[0] == "#" and header[1] == NPS_Q
        tokens = [r[0] for r in rows[1:]]
        assert len(set(tokens)) == len(tokens) and all(len(t) == 32 and t.isalnum() for t in tokens)
    times = ["Start Date (UTC)", "Submit Date (UTC)", "Network ID"]
    assert joined[0][-4:] == [*times, "Tags"] and split[0][-3:] == times
    column = joined[0].index("Which features do you use?")
    for row in joined[1:]:
        assert set(row[column].split(" / ") if row[column] else []) <= set(options)
    assert any(" / " in row[column] for row in joined[1:]), "some rows join several options"
    assert split[0][2:7] == options
    for row in split[1:]:
        assert all(cell in ("", label) for cell, label in zip(row[2:7], options, strict=True))
    assert any(sum(bool(c) for c in row[2:7]) > 1 for row in split[1:])


def test_surveymonkey_two_header_rows_with_spans(sample):
    landing, _truths = sample
    raw = (landing / "feedback/surveymonkey/csat_survey.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = _csv(landing / "feedback/surveymonkey/csat_survey.csv")
    top, sub = rows[0], rows[1]
    assert top[:9] == ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
                       "First Name", "Last Name", "Custom Data 1"] and sub[:9] == [""] * 9  # fmt: skip
    assert len(top) == len(sub) and all(len(r) == len(top) for r in rows)
    # Resolve the spans: an empty top cell continues the question to its left.
    questions = []
    for i, text in enumerate(top[9:], start=9):
        if text:
            questions.append((text, [sub[i]]))
        else:
            questions[-1][1].append(sub[i])
    assert questions[0] == (CSAT_Q, ["Response"])
    assert any(len(labels) > 1 for _q, labels in questions)
    assert questions[-1][1] == ["Open-Ended Response"]
    for row in rows[2:]:
        assert row[9][:1] in "12345" and (len(row[9]) == 1 or row[9][1:4] == " - ")
        assert _parse_time(row[3], "%m/%d/%Y %I:%M:%S %p") is not None


def test_zendesk_envelopes(sample):
    landing, truths = sample
    root = landing / "feedback/zendesk"
    pages = [json.loads((root / f"tickets_page_{p}.json").read_text("utf-8")) for p in (1, 2)]
    assert pages[0]["next_page"].endswith("page=2") and pages[1]["next_page"] is None
    tickets = [t for page in pages for t in page["tickets"]]
    assert all(page["count"] == len(tickets) for page in pages)
    assert len({t["id"] for t in tickets}) == len(tickets)
    for t in tickets:
        assert datetime.strptime(t["created_at"], "%Y-%m-%dT%H:%M:%SZ")
        assert {"id", "subject", "description", "status", "tags", "via", "requester_id", "organization_id",
                "created_at", "custom_fields", "satisfaction_rating"} <= set(t)  # fmt: skip
        assert t["satisfaction_rating"]["score"] in ("offered", "unoffered", "good", "bad")
    assert Counter(t["satisfaction_rating"]["score"] for t in tickets) == truths.feature_requests.zendesk_satisfaction
    assert sum("feature_request" not in t["tags"] for t in tickets) == truths.feature_requests.zendesk_support_tickets
    fields = json.loads((root / "ticket_fields.json").read_text("utf-8"))["ticket_fields"]
    assert {"Jira key", "Feature"} <= {f["title"] for f in fields}
    ratings = json.loads((root / "satisfaction_ratings.json").read_text("utf-8"))["satisfaction_ratings"]
    on_ticket = {t["id"]: t["satisfaction_rating"]["score"] for t in tickets}
    assert ratings and all(on_ticket[r["ticket_id"]] == r["score"] for r in ratings)
    assert {t for t, s in on_ticket.items() if s != "unoffered"} == {r["ticket_id"] for r in ratings}


def test_kano_layouts(sample, kano_config):
    landing, _truths = sample
    wide = _csv(landing / "feedback/kano/kano_wide.csv")
    questions = [q for f, i, imp, _init in kano_config.values() for q in (f, i, imp) if q]
    assert wide[0] == ["respondent_id", "email", "submitted_at", *questions]
    long = _dicts(landing / "feedback/kano/kano_long.csv")
    assert list(long[0]) == ["respondent_id", "email", "submitted_at", "question", "answer"]
    assert {r["question"] for r in long} == set(questions)
    assert {r["answer"] for r in long if r["question"] in questions} <= {str(i) for i in range(1, 10)}


# --------------------------------------------------------------------------------------------------- truths recount


def _nps_records(landing: Path) -> list[dict]:
    """Every NPS record of the four layouts: score text, time, user id, email, plan, platform, file, record."""
    root = landing / "feedback"
    out = []
    for n, item in enumerate(json.loads((root / "delighted/survey_responses.json").read_text("utf-8")), start=1):
        person, props = item["person"], item["person_properties"]
        out.append({
            "file": "delighted/survey_responses.json", "record": n, "source": "delighted_json",
            "score": str(item["score"]), "at": datetime.fromtimestamp(item["created_at"], UTC),
            "user_id": props.get("user_id", ""), "email": person["email"] if isinstance(person, dict) else "",
            "plan": props["plan"], "platform": props["platform"],
        })  # fmt: skip
    for n, row in enumerate(_dicts(root / "delighted/delighted_export.csv"), start=1):
        out.append({
            "file": "delighted/delighted_export.csv", "record": n, "source": "delighted_csv", "score": row["Score"],
            "at": _parse_time(row["Created At"], "%Y-%m-%d %H:%M:%S UTC"), "user_id": row["user_id"],
            "email": row["Email"], "plan": row["plan"], "platform": row["platform"],
        })  # fmt: skip
    for name in ("product_feedback", "quarterly_checkin"):
        source = f"typeform_{name}"
        for n, row in enumerate(_dicts(root / f"typeform/{name}.csv"), start=1):
            out.append({
                "file": f"typeform/{name}.csv", "record": n, "source": source, "score": row[NPS_Q],
                "at": _parse_time(row["Submit Date (UTC)"], "%Y-%m-%d %H:%M:%S"), "user_id": row["user_id"],
                "email": row["email"], "plan": row["plan"], "platform": PLATFORMS[row["platform"].lower()],
            })  # fmt: skip
    return out


def _nps(scores: list[int]) -> dict:
    p, d = sum(s >= 9 for s in scores), sum(s <= 6 for s in scores)
    return {"responses": len(scores), "promoters": p, "passives": len(scores) - p - d, "detractors": d}


def _counts(c) -> dict:
    return {k: getattr(c, k) for k in ("responses", "promoters", "passives", "detractors")}


def test_nps_recounted_from_the_files(sample, people, by_email_hash):
    landing, truths = sample
    rejected = []
    by_segment, by_month, by_source = defaultdict(list), defaultdict(list), defaultdict(list)
    email_only = 0
    for r in _nps_records(landing):
        score = int(r["score"]) if r["score"].isdigit() else None
        if score is None or not 0 <= score <= 10:
            rejected.append((f"feedback/{r['file']}", r["record"], "nps_out_of_range"))
            continue
        if r["at"] is None:
            rejected.append((f"feedback/{r['file']}", r["record"], "unparseable_date"))
            continue
        user = _resolve(r["user_id"], r["email"], people, by_email_hash)
        email_only += not r["user_id"]
        # The segment the export writes is the product user's plan and platform.
        assert (user.plan, user.platform) == (r["plan"], r["platform"])
        by_segment[f"{r['plan']}|{r['platform']}"].append(score)
        by_month[r["at"].strftime("%Y-%m")].append(score)
        by_source[r["source"]].append(score)
    planted_bad = {(b.file, b.record, b.kind) for b in truths.bad_records if b.kind != "kano_unknown_answer"}
    assert set(rejected) == planted_bad - {b for b in planted_bad if b[2] == "csat_out_of_range"}
    nps = truths.nps
    assert {k: _counts(v) for k, v in nps.realised_by_segment.items()} == {k: _nps(v) for k, v in by_segment.items()}
    assert {k: _counts(v) for k, v in nps.realised_by_month.items()} == {k: _nps(v) for k, v in by_month.items()}
    assert {k: _counts(v) for k, v in nps.realised_by_source.items()} == {k: _nps(v) for k, v in by_source.items()}
    assert nps.email_only_responses == email_only > 0
    total = [s for v in by_segment.values() for s in v]
    expected_nps = 100 * (sum(s >= 9 for s in total) - sum(s <= 6 for s in total)) / len(total)
    assert nps.realised_total.nps == pytest.approx(expected_nps)
    assert len(nps.respondent_segments) == len(total)  # one answer per user
    assert nps.realised_by_segment_and_month["team|iOS"]
    assert sum(_counts(c)["responses"] for c in nps.realised_by_segment_and_month["free|Web"].values()) == len(
        by_segment["free|Web"]
    )


def test_csat_recounted_from_the_files(sample, people, by_email_hash):
    landing, truths = sample
    root = landing / "feedback"
    scores: dict[str, list[int]] = defaultdict(list)
    rejected = []
    for row in _csv(root / "surveymonkey/csat_survey.csv")[2:]:
        _resolve(row[8], row[5], people, by_email_hash)
        scores["surveymonkey"].append(int(row[9].split(" - ")[0]))
    for n, row in enumerate(_dicts(root / "csat/csat_responses.csv"), start=1):
        score = int(row["score"])
        assert _parse_time(row["responded_at"], "%Y-%m-%dT%H:%M:%SZ") is not None
        if not 1 <= score <= 5:
            rejected.append(("feedback/csat/csat_responses.csv", n, "csat_out_of_range"))
            continue
        _resolve(row["user_id"], row["email"], people, by_email_hash)
        scores["generic_csv"].append(score)
    assert rejected == [(b.file, b.record, b.kind) for b in truths.bad_records if b.kind == "csat_out_of_range"]
    csat = truths.csat
    every = [s for v in scores.values() for s in v]
    assert csat.realised_responses == len(every)
    assert csat.realised_satisfied == sum(s >= 4 for s in every)
    assert csat.realised_by_score == dict(sorted(Counter(every).items()))
    assert csat.realised_by_source == {k: (len(v), sum(s >= 4 for s in v)) for k, v in scores.items()}


def test_feature_requests_recounted_from_the_files(sample, people, by_email_hash, kano_config):
    landing, truths = sample
    root = landing / "feedback"
    name_to_initiative = {f.replace("_", " "): v[3] for f, v in kano_config.items()}  # "report sharing" -> PROD-1
    requests = []  # (vendor, initiative or None, user, link)
    for row in _dicts(root / "productboard/notes.csv"):
        by_name = name_to_initiative.get(row["Features"].strip().lower())
        assert not row["Jira key"] or row["Jira key"] == by_name  # a Jira key always agrees with the feature
        user = by_email_hash[email_hash(row["Customer email"])]
        link = "jira_key" if row["Jira key"] else "feature_name"
        requests.append(("productboard", row["Jira key"] or by_name, user, link, bool(row["Company domain"])))
    fields = json.loads((root / "zendesk/ticket_fields.json").read_text("utf-8"))["ticket_fields"]
    jira_field = next(f["id"] for f in fields if f["title"] == "Jira key")
    feature_field = next(f["id"] for f in fields if f["title"] == "Feature")
    for p in (1, 2):
        page = json.loads((root / f"zendesk/tickets_page_{p}.json").read_text("utf-8"))
        users = {u["id"]: u for u in page["users"]}
        for t in page["tickets"]:
            if "feature_request" not in t["tags"]:
                continue
            custom = {c["id"]: c["value"] for c in t["custom_fields"]}
            by_name = kano_config.get(custom[feature_field] or "", (None,) * 4)[3]
            assert not custom[jira_field] or custom[jira_field] == by_name
            requester = users[t["requester_id"]]
            user = _resolve(requester["external_id"] or "", requester["email"], people, by_email_hash)
            link = "jira_key" if custom[jira_field] else "feature_name"
            requests.append(("zendesk", custom[jira_field] or by_name, user, link, t["organization_id"] is not None))
    fr = truths.feature_requests
    assert fr.requests_by_vendor == dict(Counter(v for v, *_ in requests))
    assert fr.unlinked_requests == sum(i is None for _v, i, *_ in requests) > 0
    for key, got in fr.realised_by_initiative.items():
        mine = [r for r in requests if r[1] == key]
        assert got.requests == len(mine)
        assert got.unique_users == len({u.user_id for _v, _i, u, *_ in mine})
        # a note with a blank Company names no account
        assert got.unique_accounts == len({u.account_id for _v, _i, u, _l, named in mine if named})
        assert got.by_vendor == {v: sum(r[0] == v for r in mine) for v in ("productboard", "zendesk")}
        assert got.by_link == {k: sum(r[3] == k for r in mine) for k in ("jira_key", "feature_name")}
        assert got.by_link["feature_name"] > 0 and got.by_link["jira_key"] > 0


def test_kano_table_matches_design():
    assert all(kano_category(f, d) == kano_rule(f, d) for f in ANSWERS for d in ANSWERS)
    assert kano_rule("like", "neutral") == "A" and kano_rule("neutral", "dislike") == "M"
    assert kano_rule("like", "dislike") == "O" and kano_rule("dislike", "like") == "R"


def test_kano_recounted_from_the_files(sample, kano_config):
    landing, truths = sample
    root = landing / "feedback"
    counts = {f: Counter() for f in kano_config}
    invalid = []
    for n, row in enumerate(_dicts(root / "kano/kano_wide.csv"), start=1):
        assert _parse_time(row["submitted_at"], "%Y-%m-%dT%H:%M:%SZ") is not None
        for feature, (fq, dq, _iq, _init) in kano_config.items():
            pair = KANO_TEXT.get(row[fq].lower()), KANO_TEXT.get(row[dq].lower())
            if None in pair:
                invalid.append(("feedback/kano/kano_wide.csv", n, feature))
                continue
            counts[feature][kano_rule(*pair)] += 1
    answers: dict[tuple[str, str], str] = {}
    for row in _dicts(root / "kano/kano_long.csv"):
        answers[row["respondent_id"], row["question"]] = row["answer"]
    for respondent in sorted({r for r, _q in answers}):
        for feature, (fq, dq, _iq, _init) in kano_config.items():
            counts[feature][kano_rule(KANO_CODE[answers[respondent, fq]], KANO_CODE[answers[respondent, dq]])] += 1
    assert tuple(invalid) == truths.kano.excluded_pairs
    assert [(b.file, b.record) for b in truths.bad_records if b.kind == "kano_unknown_answer"] == [
        (f, r) for f, r, _feature in invalid
    ]
    planted = {"report_sharing": "A", "guided_onboarding": "M", "data_export": "O", "dark_mode": "I"}
    for feature, got in truths.kano.features.items():
        assert {c: n for c, n in got.realised_counts.items() if n} == dict(counts[feature])
        assert got.dominant_category == counts[feature].most_common(1)[0][0] == planted[feature]
        assert got.planted_category == planted[feature]
        c = counts[feature]
        base = c["A"] + c["O"] + c["M"] + c["I"]
        assert got.better == pytest.approx((c["A"] + c["O"]) / base, abs=1e-6)
        assert got.worse == pytest.approx(-(c["O"] + c["M"]) / base, abs=1e-6)
        assert c["R"] > 0 and c["Q"] > 0  # reverse and questionable pairs are planted as noise


# ------------------------------------------------------------------------------------------- planted vs realised


def _within(successes: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return n > 0 and abs(successes / n - p) <= sigmas * math.sqrt(p * (1 - p) / n) + 1 / n


def test_realised_within_sampling_error_of_planted(sample):
    _landing, truths = sample
    for seg, (promoter, _passive, detractor) in truths.nps.planted_probabilities.items():
        got = truths.nps.realised_by_segment[seg]
        assert got.responses >= 15, seg
        assert _within(got.promoters, got.responses, promoter), seg
        assert _within(got.detractors, got.responses, detractor), seg
    # Paying segments are planted happier: the realised order must show it.
    nps = {seg: c.nps for seg, c in truths.nps.realised_by_segment.items()}
    assert min(nps[f"team|{p}"] for p in ("iOS", "Web")) > max(nps[f"free|{p}"] for p in ("iOS", "Android", "Web"))
    csat = truths.csat
    assert _within(csat.realised_satisfied, csat.realised_responses, csat.planted_satisfied_share)
    fr = truths.feature_requests
    linked = sum(i.requests for i in fr.realised_by_initiative.values())
    assert _within(linked, linked + fr.unlinked_requests, fr.planted_linked_share)
    for key, weight in fr.planted_initiative_weights.items():
        assert _within(fr.realised_by_initiative[key].requests, linked, weight), key
    for feature, got in truths.kano.features.items():
        for category, share in got.planted_category_shares.items():
            assert _within(got.realised_counts[category], got.realised_pairs, share), (feature, category)


# --------------------------------------------------------------------------------------------------- mess


def _free_text_cells(landing: Path) -> list[tuple[str, int, str, str]]:
    root = landing / "feedback"
    cells = []
    for n, item in enumerate(json.loads((root / "delighted/survey_responses.json").read_text("utf-8")), start=1):
        cells.append(("delighted/survey_responses.json", n, "comment", item["comment"] or ""))
    texts = {
        "delighted/delighted_export.csv": ["Comment"],
        "typeform/product_feedback.csv": ["What is the main reason for your score?"],
        "typeform/quarterly_checkin.csv": ["Anything else you would like to tell us?"],
        "csat/csat_responses.csv": ["comment"],
        "productboard/notes.csv": ["Title", "Content"],
    }
    for name, columns in texts.items():
        for n, row in enumerate(_dicts(root / name), start=1):
            cells += [(name, n, c, row[c]) for c in columns]
    sm = _csv(root / "surveymonkey/csat_survey.csv")
    for n, row in enumerate(sm[2:], start=1):
        cells.append(("surveymonkey/csat_survey.csv", n, "What could we do better?", row[-1]))
    for p in (1, 2):
        page = json.loads((root / f"zendesk/tickets_page_{p}.json").read_text("utf-8"))
        for n, t in enumerate(page["tickets"], start=1):
            cells += [(f"zendesk/tickets_page_{p}.json", n, k, t[k]) for k in ("subject", "description")]
    return cells


def test_formula_injection_unicode_and_multiline_cells(sample):
    landing, truths = sample
    cells = _free_text_cells(landing)
    formula = {(f"feedback/{f}", n, c) for f, n, c, text in cells if text.startswith(FORMULA_START)}
    assert formula == {(x.file, x.record, x.field) for x in truths.formula_like_cells}
    starts = {text[0] for _f, _n, _c, text in cells if text.startswith(FORMULA_START)}
    assert starts == set(FORMULA_START)
    assert {f for f, *_ in formula} >= {"feedback/productboard/notes.csv", "feedback/zendesk/tickets_page_1.json"}
    multiline = [text for *_k, text in cells if "\n" in text or "\r" in text]
    assert len(multiline) == truths.multiline_cells > 0
    assert any("\r\n" in text for text in multiline)
    assert any(not text.isascii() for *_k, text in cells)


def test_records_by_file(sample):
    landing, truths = sample
    root = landing
    for name, records in truths.records_by_file.items():
        path = root / name
        if name.endswith(".json"):
            data = json.loads(path.read_text("utf-8"))
            if isinstance(data, dict):
                data = next(data[k] for k in ("tickets", "ticket_fields", "satisfaction_ratings") if k in data)
            assert len(data) == records, name
        else:
            header_rows = 2 if "surveymonkey" in name else 1
            assert len(_csv(path)) - header_rows == records, name


def test_users_follow_the_analytics_mess_switch(tmp_path):
    analytics = generate_analytics(tmp_path, users=120, days=40, events_per_user=0, mess=False)
    users = sample_users(users=120, days=40, mess=False)
    months = Counter(datetime.fromtimestamp(u.signed_up_at, UTC).strftime("%Y-%m") for u in users)
    assert {m: s[0] for m, s in analytics.activation.realised_by_month.items()} == dict(months)
    upgrades = {}
    for path in sorted((tmp_path / "analytics" / "segment").glob("*.csv")):
        upgrades |= {r["user_id"]: r["properties_plan"] for r in _dicts(path) if r["event"] == "plan_upgraded"}
    assert {u.user_id: u.plan for u in users if u.plan != "free"} == upgrades
    assert sample_users(users=120, days=40, mess=True) != users


def test_a_parked_stream_resumes_where_an_uninterrupted_one_would_be():
    """Records keep their stream as a name and a draw count until written (memory at scale): the writer's draws
    must be the ones the record's own random.Random would have given next."""
    import random

    from sample_generator.feedback import _free_text, _Stream

    for draws_before in (0, 1, 7):
        whole = random.Random("pmw.sample.feedback:7:nps:100042")
        stream = _Stream("pmw.sample.feedback:7:nps:100042")
        for _ in range(draws_before):
            assert stream.random() == whole.random()
        _free_text(whole, ["a", "b", "c"])  # a helper drawing a varying number of times
        _free_text(stream, ["a", "b", "c"])
        resumed = stream.parked().resume()
        assert [resumed.random() for _ in range(5)] == [whole.random() for _ in range(5)]
    with pytest.raises(RuntimeError, match="is parked"):
        _Stream("parked").parked().random()
