"""Sample Jira exports with planted delivery truths: REST search JSON (with changelog) and the UI CSV export.

One Jira Software project ``PROD`` (three initiatives PROD-1..3, their epics, stories, bugs and sub-tasks, worked in
two-week sprints on board 1) and one Jira Product Discovery project ``IDEA`` (ideas with RICE fields), written twice:

* ``jira/api/``: paged ``/rest/api/3/search`` envelopes with ``expand=changelog`` (Cloud v3 shapes, ADF descriptions,
  ``2023-10-02T09:15:00.000+0200`` offsets), the ideas as one ``/rest/api/3/search/jql`` page (``isLast``), the
  ``/rest/api/3/field`` catalog (with the JPD fields this sample adds) and the ``/rest/agile/1.0/board/1/sprint`` page.
* ``jira/csv/Jira.csv``: the "all fields" UI export of the same issues, ideas included, in the exporting user's
  language (en, fr, de, es headers and month names) and timezone, with repeated multi-value headers.

Planted truths: each finished story's or bug's cycle time (first move to In Progress -> final Done) is drawn from a
lognormal distribution (median 4 days, sigma 0.6); PROD-1 ships before its due date, PROD-2 exactly 12 days after it,
PROD-3 is still in progress at the export time; the sprint figures (committed / added / completed / carried over, in
issues and points), the reopened issues and the RICE inputs follow from what was written. Every figure in the truths
is recomputed from the planned timelines with the definitions documented on :class:`SprintTruth`, and the tests
recompute them again from the written JSON.

Times: ``created``, ``resolutiondate`` (= the final Done history), comment times and sprint dates are the ones the
CSV also shows; created/resolved/comment times are whole minutes, so CSV and JSON agree on them exactly. Other
changelog times carry seconds and milliseconds, so cycle times are exact to the millisecond. ``updated`` is the
last change rounded up to the minute. No time shown in the CSV falls into the repeated hour of a DST change.

Deterministic: every initiative and the ideas draw from their own ``random.Random`` seeded from ``seed``; language,
timezone and formats never consume randomness, so the JSON bytes do not depend on them. Files are written under a
hidden partial name, then renamed.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SITE = "https://pmw-sample.atlassian.net"
API_TIMEZONE = "Europe/Paris"  # the timezone of the account that pulled the REST export (offsets in the JSON)
PROJECT_KEY = "PROD"
IDEA_PROJECT_KEY = "IDEA"
BOARD_ID = 1
SPRINT_ID_BASE = 20  # sprint ids are SPRINT_ID_BASE + 1, + 2, ...
PAGE_SIZE = 50
FORMATS = ("json", "csv")
LANGUAGES = ("en", "fr", "de", "es")
INITIATIVE_KEYS = ("PROD-1", "PROD-2", "PROD-3")

CYCLE_MEDIAN_DAYS = 4.0
CYCLE_SIGMA = 0.6
CYCLE_DISTRIBUTION = f"lognormal(median={CYCLE_MEDIAN_DAYS} days, sigma={CYCLE_SIGMA})"
PROD2_SLIP_DAYS = 12
PROD1_DAYS_EARLY = 9
STORY_POINT_SCALE = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)
RICE_IMPACT_SCALE = (0.25, 0.5, 1.0, 2.0, 3.0)

SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# Custom field ids (those of /work/shared/fixtures/jira_api/faros_cloud_field_catalog.json; JPD ids added here).
CF_EPIC_LINK = "customfield_10014"
CF_START_DATE = "customfield_10015"
CF_STORY_POINT_ESTIMATE = "customfield_10016"  # team-managed style
CF_RANK = "customfield_10019"
CF_SPRINT = "customfield_10020"
CF_STORY_POINTS = "customfield_10028"  # classic style
CF_REACH = "customfield_10040"
CF_IMPACT = "customfield_10041"
CF_CONFIDENCE = "customfield_10042"
CF_EFFORT = "customfield_10043"
POINTS_FIELD_NAMES = {CF_STORY_POINTS: "Story Points", CF_STORY_POINT_ESTIMATE: "Story point estimate"}

# status name -> (status id, category key); categories as Jira's statusCategory objects
STATUSES: dict[str, tuple[str, str]] = {
    "To Do": ("10000", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10001", "indeterminate"),
    "Done": ("10002", "done"),
    "Reopened": ("4", "new"),
    # Jira Product Discovery workflow
    "Parking lot": ("10010", "new"),
    "Discovery": ("10011", "indeterminate"),
    "Delivery": ("10012", "indeterminate"),
    "Shipped": ("10013", "done"),
}
STATUS_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
# kind -> (issue type name, type id, hierarchyLevel, subtask, description)
ISSUE_TYPES: dict[str, tuple[str, str, int, bool, str]] = {
    "initiative": ("Initiative", "10100", 2, False, "A large body of work spanning several epics."),
    "epic": ("Epic", "10000", 1, False, "A big user story that needs to be broken down."),
    "story": ("Story", "10001", 0, False, "Functionality or a feature expressed as a user goal."),
    "bug": ("Bug", "10004", 0, False, "A problem or error."),
    "subtask": ("Sub-task", "10003", -1, True, "A small piece of work that's part of a larger task."),
    "idea": ("Idea", "10200", 0, False, "An idea in Jira Product Discovery."),
}
PRIORITIES = (("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"))
PEOPLE = (  # accountId, display name
    ("5f64de67327ea50070931346", "Camille Martin"),
    ("6025c0f79887580068a1360f", "Jonas Weber"),
    ("6025c1954fb89e0070d00ae3", "Lucía Fernández"),
    ("712020:8a4f1c7e-2b3d-4e5f-9a6b-7c8d9e0f1a2b", "Priya Raman"),
    ("5b10ac8d82e05b22cc7d4ef5", "Tom O'Neill"),
    ("712020:0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a", "Zoé Lefèvre"),
)
LABELS = ("frontend", "backend", "tech-debt", "customer-request", "quick-win", "ux")
COMPONENTS = (("10050", "Web app"), ("10051", "API"), ("10052", "Mobile"), ("10053", "Reports"))
POLARIS_LINK = {"id": "10004", "name": "Polaris work item link", "inward": "is implemented by", "outward": "implements"}

INITIATIVE_PLANS = (  # key, summary, feature (the JPD idea it implements)
    ("PROD-1", "Share reports with one click", "Report sharing"),
    ("PROD-2", "Guided onboarding checklist", "Guided onboarding"),
    ("PROD-3", "Searchable, faster settings", "Settings search"),
)
OTHER_FEATURES = (
    "Dark mode", "Scheduled CSV exports", "Slack alerts", "SSO for small teams", "Offline mobile reports",
    "Custom dashboard themes", "Usage-based billing page",
)  # fmt: skip
EPIC_THEMES = ("Backend API", "Web UI", "Mobile clients", "Analytics instrumentation")
STORY_VERBS = (
    "Add", "Validate", "Cache", "Migrate", "Localise", "Instrument", "Paginate", "Refactor", "Document",
    "Harden", "Speed up", "Redesign",
)  # fmt: skip
STORY_OBJECTS = (
    "share dialog", "permission checks", "onboarding steps", "settings index", "email templates", "audit log",
    "report renderer", "search ranking", "Slack webhook", "feature flags", "empty states", "café-menu icons 🍰",
)  # fmt: skip
BUG_SUMMARIES = (
    "Crash when the title contains emoji 🚀",
    'Wrong "last seen" date after a DST change',
    "Settings page blank on Safari 17",
    "=SUM(A1:A3) shown as text in exported cells",
    "Timeout, retry, then duplicate report",
    "Accents lost in PDF export (é, ü, ñ)",
)

# ------------------------------------------------------------------------------------------ CSV localisation
# The UI export writes headers and month names in the exporting user's language. The ingest keeps its own table;
# two independent tables that must agree are the point. Values (status, issue type, priority) stay English here.
CSV_HEADERS: dict[str, dict[str, str]] = {
    "Summary": {"fr": "Résumé", "de": "Zusammenfassung", "es": "Resumen"},
    "Issue key": {"fr": "Clé de ticket", "de": "Vorgangsschlüssel", "es": "Clave de incidencia"},
    "Issue id": {"fr": "ID de ticket", "de": "Vorgangs-ID", "es": "ID de la incidencia"},
    "Issue Type": {"fr": "Type de ticket", "de": "Vorgangstyp", "es": "Tipo de incidencia"},
    "Status": {"fr": "État", "de": "Status", "es": "Estado"},
    "Project key": {"fr": "Clé du projet", "de": "Projektschlüssel", "es": "Clave del proyecto"},
    "Project name": {"fr": "Nom du projet", "de": "Projektname", "es": "Nombre del proyecto"},
    "Project type": {"fr": "Type de projet", "de": "Projekttyp", "es": "Tipo de proyecto"},
    "Priority": {"fr": "Priorité", "de": "Priorität", "es": "Prioridad"},
    "Resolution": {"fr": "Résolution", "de": "Lösung", "es": "Resolución"},
    "Assignee": {"fr": "Responsable", "de": "Zugewiesene Person", "es": "Persona asignada"},
    "Assignee Id": {"fr": "ID du responsable", "de": "ID der zugewiesenen Person", "es": "ID de la persona asignada"},
    "Reporter": {"fr": "Rapporteur", "de": "Autor", "es": "Informador"},
    "Reporter Id": {"fr": "ID du rapporteur", "de": "Autor-ID", "es": "ID del informador"},
    "Created": {"fr": "Création", "de": "Erstellt", "es": "Creada"},
    "Updated": {"fr": "Mise à jour", "de": "Aktualisiert", "es": "Actualizada"},
    "Resolved": {"fr": "Résolue", "de": "Erledigt", "es": "Resuelta"},
    "Due date": {"fr": "Date d'échéance", "de": "Fälligkeitsdatum", "es": "Fecha de vencimiento"},
    "Labels": {"fr": "Étiquettes", "de": "Stichwörter", "es": "Etiquetas"},
    "Description": {"fr": "Description", "de": "Beschreibung", "es": "Descripción"},
    "Sprint": {"fr": "Sprint", "de": "Sprint", "es": "Sprint"},
    "Component/s": {"fr": "Composants", "de": "Komponenten", "es": "Componentes"},
    "Fix Version/s": {"fr": "Versions corrigées", "de": "Lösungsversionen", "es": "Versiones de corrección"},
    "Watchers": {"fr": "Observateurs", "de": "Beobachter", "es": "Observadores"},
    "Watchers Id": {"fr": "ID des observateurs", "de": "Beobachter-ID", "es": "ID de los observadores"},
    "Comment": {"fr": "Commentaire", "de": "Kommentar", "es": "Comentario"},
    "Parent": {"fr": "Parent", "de": "Übergeordnet", "es": "Principal"},
    "Parent summary": {"fr": "Résumé du parent", "de": "Übergeordnete Zusammenfassung", "es": "Resumen principal"},
    "Status Category": {"fr": "Catégorie d'état", "de": "Statuskategorie", "es": "Categoría de estado"},
    "Status Category Changed": {
        "fr": "Catégorie d'état modifiée",
        "de": "Statuskategorie geändert",
        "es": "Categoría de estado modificada",
    },
    "Custom field ({})": {
        "fr": "Champ personnalisé ({})",
        "de": "Benutzerdefiniertes Feld ({})",
        "es": "Campo personalizado ({})",
    },
    "Inward issue link ({})": {
        "fr": "Lien de ticket entrant ({})",
        "de": "Eingehender Vorgangslink ({})",
        "es": "Enlace de incidencia entrante ({})",
    },
    "Outward issue link ({})": {
        "fr": "Lien de ticket sortant ({})",
        "de": "Ausgehender Vorgangslink ({})",
        "es": "Enlace de incidencia saliente ({})",
    },
}
# Java's short month names as Jira's dd/MMM/yy pattern prints them (JDK 8 locale data).
CSV_MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    "de": ("Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
}
# Custom fields the CSV carries, by their (untranslated) field name.
CSV_CUSTOM_FIELDS = ("Epic Link", "Story Points", "Story point estimate", "Reach", "Impact", "Confidence", "Effort")


def csv_header(english: str, language: str, custom: str | None = None) -> str:
    """The CSV header for an English header name (``"Custom field ({})"`` and the link headers take ``custom``)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported CSV language {language!r}; expected one of {', '.join(LANGUAGES)}")
    name = english if language == "en" else CSV_HEADERS[english][language]
    return name.format(custom) if custom is not None else name


def csv_datetime(moment: datetime, language: str) -> str:
    """A local wall-clock time as the UI export prints it: ``12/Mar/24 2:15 PM`` (en) or ``12/mars/24 14:15``."""
    month = CSV_MONTHS[language][moment.month - 1]
    if language == "en":
        hour12 = moment.hour % 12 or 12
        marker = "AM" if moment.hour < 12 else "PM"
        return f"{moment.day:02d}/{month}/{moment.year % 100:02d} {hour12}:{moment.minute:02d} {marker}"
    return f"{moment.day:02d}/{month}/{moment.year % 100:02d} {moment.hour:02d}:{moment.minute:02d}"


def csv_date(day: date, language: str) -> str:
    return f"{day.day:02d}/{CSV_MONTHS[language][day.month - 1]}/{day.year % 100:02d}"


# --------------------------------------------------------------------------------------------------- truths


@dataclass(frozen=True)
class IssueTruth:
    """What the export says about one issue at export time (all of it recoverable from the CSV alone)."""

    key: str
    issue_id: str
    project_key: str
    issue_type: str
    hierarchy_level: int
    status: str
    status_category: str
    parent_key: str | None
    epic_key: str | None  # the epic above a story/bug (Epic Link or parent), None elsewhere
    initiative_key: str | None  # the initiative above (None for ideas and initiatives themselves)
    epic_link_field: bool  # whether customfield_10014 / "Custom field (Epic Link)" is filled
    points_field: str | None  # customfield_10028 (Story Points) or customfield_10016 (Story point estimate)
    story_points: float | None
    sprint_ids: tuple[int, ...]  # the Sprint field at export time, in order of addition
    created_at: datetime  # UTC
    resolved_at: datetime | None  # UTC; the final move to Done
    due_date: date | None


@dataclass(frozen=True)
class InitiativeTruth:
    key: str
    summary: str
    due_date: date
    shipped: bool
    ship_at: datetime | None  # UTC: the initiative's first (and only) move to Done
    ship_date: date | None  # ship_at in API_TIMEZONE (the same calendar day in UTC too: ships mid-afternoon)
    last_descendant_done_at: datetime | None  # UTC: the last final Done of any issue below it (an epic)
    slip_days: int | None  # ship_date - due_date in days; negative = early
    epics: int
    stories: int
    bugs: int
    subtasks: int
    total_story_points: float  # sum of the current points of its stories and bugs
    done_story_points: float  # the same over stories and bugs whose status is Done
    status: str


@dataclass(frozen=True)
class SprintTruth:
    """One sprint's figures.

    ``start`` / ``end`` are the sprint's startDate and completeDate (the export time for the active sprint). An issue
    is *in* a sprint at an instant when its Sprint field (after applying every change at or before that instant)
    lists the sprint. Committed: in the sprint at ``start``. Added: entered it after ``start`` and at or before
    ``end``. Completed: in it at ``end`` with status category done at ``end``. Carried over (closed sprints only,
    else None): in it at ``end`` and not done; each of them is added to the next sprint one second after ``end``.
    Points are the issue's story points at the same instant (``start`` for committed, the moment it entered for
    added, ``end`` for completed and carried over); no points count as 0. Only stories and bugs have sprints.
    """

    sprint_id: int
    name: str
    state: str  # closed | active | future
    start_at: datetime | None
    end_at: datetime | None  # completeDate for closed sprints, planned endDate otherwise
    complete_at: datetime | None
    committed_keys: tuple[str, ...]
    committed_points: float
    added_keys: tuple[str, ...]
    added_points: float
    completed_keys: tuple[str, ...]
    completed_points: float
    carried_over_keys: tuple[str, ...] | None
    carried_over_points: float | None


@dataclass(frozen=True)
class IdeaTruth:
    key: str
    feature: str
    implemented_by: str | None  # the initiative key linked with "Polaris work item link"
    reach_written: Any
    impact_written: Any
    confidence_written: Any  # 80, 0.8 or "80%" as written
    effort_written: Any  # person-months; None (empty) for one idea and 0 for another
    reach: float
    impact: float
    confidence: float  # normalised to [0, 1]
    effort: float | None
    rice_score: float | None  # reach * impact * confidence / effort; None when effort is empty or 0


@dataclass(frozen=True)
class ChangelogCut:
    issue_key: str
    total: int  # changelog.total as written
    written: int  # len(changelog.histories): the most recent ones, all later than the first move to In Progress
    max_results: int


@dataclass(frozen=True)
class JiraTruths:
    seed: int
    start: date  # the first sprint's start day
    weeks: int
    language: str
    csv_timezone: str
    api_timezone: str
    formats: tuple[str, ...]
    exported_at: datetime  # UTC; "now" for the export (in the active sprint)
    cycle_distribution: str
    cycle_median_days: float
    cycle_sigma: float
    # Per finished story/bug: first move to In Progress -> final move to Done (ms-exact), and created -> final Done.
    cycle_seconds: dict[str, float]
    lead_seconds: dict[str, float]
    reopened_keys: tuple[str, ...]  # a move from Done back to Reopened or To Do
    re_estimated_keys: tuple[str, ...]  # a story-points change after the first estimate
    changelog_truncated: tuple[ChangelogCut, ...]
    initiatives: dict[str, InitiativeTruth]
    sprints: tuple[SprintTruth, ...]
    ideas: tuple[IdeaTruth, ...]
    issues: dict[str, IssueTruth]
    issue_counts: dict[str, int]  # by issue type
    csv_includes_ideas: bool
    recoverable_from_csv: tuple[str, ...]
    needs_json_changelog: tuple[str, ...]
    files: tuple[str, ...]  # relative to the landing dir, POSIX separators, sorted

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes and dates as ISO strings, tuples as lists)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return value


RECOVERABLE_FROM_CSV = (
    "issues: keys, ids, type, current status and status category, story points, parent, epic",
    "hierarchy level only through the issue type name (the CSV has no hierarchy column)",
    "sprint_ids (the current Sprint list)",
    "created_at, resolved_at and lead_seconds (whole minutes in both exports)",
    "due dates; initiative ship date and slip (Resolved of the initiative, never reopened)",
    "initiative story points and child counts",
    "idea RICE inputs",
)
NEEDS_JSON_CHANGELOG = (
    "cycle_seconds (first move to In Progress)",
    "reopened_keys",
    "re_estimated_keys",
    "sprints: committed / added / completed / carried-over issues and points",
    "changelog_truncated (cycle time of that issue is not recoverable from the landed files)",
)


# --------------------------------------------------------------------------------------------------- planning


@dataclass
class _Sprint:
    sprint_id: int
    name: str
    state: str
    goal: str
    start: int | None = None
    end: int | None = None
    complete: int | None = None


@dataclass
class _Issue:
    seq: int
    kind: str
    project: str
    summary: str
    created: int
    parent: _Issue | None = None
    initiative: _Issue | None = None
    key: str = ""
    issue_id: str = ""
    reporter: int = 0
    priority: int = 2
    description: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    components: tuple[int, ...] = ()
    fix_versions: tuple[str, ...] = ()
    watchers: tuple[int, ...] = ()
    comments: list[tuple[int, int, str]] = field(default_factory=list)  # (time, person, body)
    due: date | None = None
    epic_link: bool = False
    # timelines: (time, value) in time order; before the first change the value is the initial one
    status_moves: list[tuple[int, str]] = field(default_factory=list)
    initial_status: str = "To Do"
    assignee_moves: list[tuple[int, int | None]] = field(default_factory=list)
    points_field: str | None = None
    initial_points: float | None = None
    points_moves: list[tuple[int, float | None]] = field(default_factory=list)
    sprint_moves: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # sprint indexes
    link_to: _Issue | None = None  # idea -> initiative (Polaris work item link)
    rice: tuple[Any, Any, Any, Any] | None = None
    children: list[_Issue] = field(default_factory=list)


def _value_at(moves: Sequence[tuple[int, Any]], initial: Any, at: int) -> Any:
    value = initial
    for t, v in moves:
        if t > at:
            break
        value = v
    return value


class _Clock:
    """Local-time helpers for one timezone; all instants are epoch milliseconds (UTC)."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz

    def at(self, day: date, hour: int, minute: int = 0) -> int:
        return int(datetime.combine(day, time(hour, minute), tzinfo=self.tz).timestamp() * 1000)

    def local(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, tz=self.tz)

    def in_fold(self, ms: int) -> bool:
        """Whether the local wall-clock time of ms occurs twice (the repeated hour when DST ends)."""
        local = self.local(ms)
        return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()

    def work_minute(self, rng: random.Random, lo: int, hi: int) -> int:
        """A whole minute in [lo, hi] on a weekday between 09:00 and 18:00 local (any minute if none fits)."""
        if hi < lo:
            raise ValueError("empty time range")
        for _ in range(40):
            day = self.local(lo + int(rng.random() * (hi - lo))).date()
            while day.weekday() >= 5:
                day += timedelta(days=1)
            t = self.at(day, 9) + int(rng.random() * 540) * MINUTE
            if lo <= t <= hi:
                return t
        return lo + (-lo) % MINUTE if lo + (-lo) % MINUTE <= hi else lo


def _fraction_ms(rng: random.Random) -> int:
    """Random seconds and milliseconds within a minute (Jira histories are not on whole minutes)."""
    return int(rng.random() * 59_999) + 1


class _Planner:
    def __init__(self, seed: int, start: date, weeks: int):
        if weeks < 16:
            raise ValueError(f"weeks must be >= 16 (closed sprints, an active one and PROD-2's slip); got {weeks}")
        self.seed = seed
        self.clock = _Clock(ZoneInfo(API_TIMEZONE))
        self.start = start
        self.horizon_days = weeks * 7
        rng = random.Random(seed * 1_000_003 + 101)
        dated = weeks // 2
        self.active = dated - 1
        self.sprints: list[_Sprint] = []
        for k in range(dated + 2):
            sprint = _Sprint(SPRINT_ID_BASE + k + 1, f"{PROJECT_KEY} Sprint {k + 1}", "future", "")
            if k < dated:
                day = start + timedelta(days=14 * k)
                sprint.start = self.clock.at(day, 10) + _fraction_ms(rng)
                sprint.end = self.clock.at(day + timedelta(days=14), 10)
                sprint.state = "active" if k == self.active else "closed"
                if k < self.active:
                    sprint.complete = self.clock.at(day + timedelta(days=14), 9, 30) + _fraction_ms(rng)
                sprint.goal = ("Ship the share dialog", "", "Onboarding beta", "")[k % 4]
            self.sprints.append(sprint)
        active_day = start + timedelta(days=14 * self.active)
        self.now = self.clock.at(active_day + timedelta(days=8), 16)
        self.roadmap_day = self.clock.at(start - timedelta(days=21), 9)  # the initiatives are written down
        self.issues: list[_Issue] = []
        self.ideas: list[_Issue] = []
        self.initiatives: list[_Issue] = []
        self.ship: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers

    def day_ms(self, day: int, hour: int = 10) -> int:
        """Local ``hour`` on start + the scaled day (days are given for the default 26 weeks)."""
        scaled = round(day * self.horizon_days / 182)
        return self.clock.at(self.start + timedelta(days=scaled), hour)

    def weekday_at(self, day: int, hour: int, minute: int) -> int:
        scaled = self.start + timedelta(days=round(day * self.horizon_days / 182))
        while scaled.weekday() >= 5:
            scaled += timedelta(days=1)
        return self.clock.at(scaled, hour, minute)

    def sprint_of(self, t: int) -> int:
        """The dated sprint running at t, else the next one to start (the active sprint after the last start)."""
        for k in range(self.active + 1):
            sprint = self.sprints[k]
            if t < sprint.start:
                return k
            if k < self.active and t < sprint.complete:
                return k
        return self.active

    def new_issue(self, kind: str, summary: str, created: int, parent: _Issue | None, rng: random.Random) -> _Issue:
        issue = _Issue(
            seq=len(self.issues) + len(self.ideas), kind=kind,
            project=PROJECT_KEY if kind != "idea" else IDEA_PROJECT_KEY, summary=summary, created=created,
            parent=parent, reporter=int(rng.random() * len(PEOPLE)),
            priority=(2, 2, 1, 3, 2, 0)[int(rng.random() * 6)],
        )  # fmt: skip
        if parent is not None:
            parent.children.append(issue)
            issue.initiative = parent if parent.kind == "initiative" else parent.initiative
        (self.ideas if kind == "idea" else self.issues).append(issue)
        return issue

    def cycle_ms(self, rng: random.Random) -> int:
        return max(MINUTE, round(CYCLE_MEDIAN_DAYS * DAY * math.exp(CYCLE_SIGMA * rng.gauss(0.0, 1.0))))

    # ------------------------------------------------------------------ the plan

    def plan(self) -> None:
        windows = {  # key -> (work starts, ship instant or None, due date)
            "PROD-1": (self.day_ms(7), self.weekday_at(114, 14, 10)),
            "PROD-2": (self.day_ms(21), self.weekday_at(121, 14, 40)),
            "PROD-3": (self.day_ms(98), None),
        }
        for index, (key, summary, _feature) in enumerate(INITIATIVE_PLANS):
            rng = random.Random(self.seed * 1_000_003 + index)
            work_start, ship = windows[key]
            created = self.roadmap_day + (17 + 23 * index) * MINUTE  # in this order: PROD-1, -2, -3
            initiative = self.new_issue("initiative", summary, created, None, rng)
            initiative.description = (
                f"Goal: {summary.lower()}.",
                "Success metric and adoption events are tracked in config/pmw.yml (initiatives:).",
            )
            initiative.labels = ("roadmap-2024",)
            self.initiatives.append(initiative)
            self._plan_initiative(rng, initiative, key, work_start, ship)

    def _plan_initiative(self, rng: random.Random, initiative: _Issue, key: str, work_start: int, ship: int | None):
        clock = self.clock
        epics = []
        for e in range(2 + int(rng.random() * 3)):
            created = clock.work_minute(rng, work_start - 20 * DAY, work_start - 15 * DAY)
            epic = self.new_issue("epic", f"{initiative.summary}: {EPIC_THEMES[e]}", created, initiative, rng)
            epic.description = (f"{EPIC_THEMES[e]} work for {initiative.summary.lower()}.",)
            epics.append(epic)
        stories: list[_Issue] = []
        for epic in epics:
            for s in range(5 + int(rng.random() * 11)):
                bug = rng.random() < 0.25
                if bug:
                    summary = BUG_SUMMARIES[int(rng.random() * len(BUG_SUMMARIES))]
                else:
                    verb = STORY_VERBS[int(rng.random() * len(STORY_VERBS))]
                    summary = f"{verb} {STORY_OBJECTS[int(rng.random() * len(STORY_OBJECTS))]}"
                story = self.new_issue("bug" if bug else "story", summary, 0, epic, rng)
                story.epic_link = s % 2 == 0  # half of them also carry the older Epic Link field
                stories.append(story)

        # Final Done instants: the closing story of the last epic finishes at the ship instant; everything else
        # earlier. PROD-3 is not shipped: done, in progress or not started at the export time.
        closing = next(s for s in reversed(stories) if s.kind == "story") if ship is not None else None
        for story in stories:
            cycle = self.cycle_ms(rng)
            if ship is not None:
                done = ship if story is closing else self._done_instant(rng, work_start + cycle, ship - 2 * HOUR, cycle)
                self._plan_story(rng, story, done - cycle, done, reopen=story is not closing and rng.random() < 0.12)
                continue
            state = ("done", "done", "progress", "todo")[int(rng.random() * 4)]
            if story is stories[-1]:
                state = "progress"  # PROD-3 is certainly unfinished
            if story is stories[-2]:
                state = "todo"
            if state == "done" and work_start + cycle < self.now - DAY - 2 * HOUR:
                done = self._done_instant(rng, work_start + cycle, self.now - DAY, cycle)
                self._plan_story(rng, story, done - cycle, done, reopen=rng.random() < 0.12)
            elif state in ("done", "progress"):
                ip = self.now - HOUR - int(rng.random() * 6 * DAY)
                while clock.in_fold(ip):
                    ip -= HOUR
                self._plan_story(rng, story, ip, None, reopen=False)
            else:
                self._plan_todo(rng, story, work_start)

        for epic in epics:
            self._plan_parent(rng, epic, [c for c in epic.children], offset=20 * MINUTE)
        if ship is not None:
            last_epic = max(epics, key=lambda e: (e.status_moves[-1][0], e.seq))
            assert last_epic.status_moves[-1] == (ship + 20 * MINUTE, "Done")
        self._plan_parent(rng, initiative, epics, offset=45 * MINUTE if ship is not None else None)
        if ship is not None:
            initiative_done = initiative.status_moves[-1][0]
            self.ship[key] = initiative_done
            ship_day = clock.local(initiative_done).date()
            slip = {"PROD-1": -PROD1_DAYS_EARLY, "PROD-2": PROD2_SLIP_DAYS}[key]
            initiative.due = ship_day - timedelta(days=slip)
            for epic in epics:
                last = max(c.status_moves[-1][0] for c in epic.children)
                epic.due = clock.local(last).date() + timedelta(days=int(rng.random() * 6) - (3 if slip > 0 else 0))
        else:
            initiative.due = clock.local(self.now).date() + timedelta(days=67)
            for n, epic in enumerate(epics):
                epic.due = initiative.due - timedelta(days=7 * (len(epics) - n))

    def _done_instant(self, rng: random.Random, lo: int, hi: int, cycle: int) -> int:
        """A working-hours whole minute in [lo, hi] whose start of work (done - cycle) is not in a DST fold."""
        for _ in range(20):
            done = self.clock.work_minute(rng, lo, hi)
            if not self.clock.in_fold(done - cycle):
                return done
        raise AssertionError("no done instant outside the DST fold")  # pragma: no cover

    def _times_between(self, rng: random.Random, lo: int, hi: int, n: int) -> list[int]:
        """n distinct sorted instants strictly inside (lo, hi), none in a DST fold."""
        out: set[int] = set()
        while len(out) < n:
            t = lo + 1 + int(rng.random() * (hi - lo - 1))
            if not self.clock.in_fold(t):
                out.add(t)
        return sorted(out)

    def _plan_story(self, rng: random.Random, story: _Issue, ip: int, done: int | None, *, reopen: bool) -> None:
        """A story or bug that was started at ip and finished at done (None: still open at the export time)."""
        clock = self.clock
        first = self.sprint_of(ip)
        sprint = self.sprints[first]
        added_mid_sprint = rng.random() < (0.5 if story.kind == "bug" else 0.1) and ip - sprint.start > 3 * HOUR
        if added_mid_sprint:
            add = sprint.start + HOUR + int(rng.random() * (ip - sprint.start - 2 * HOUR))
            story.created = clock.work_minute(rng, add - 4 * HOUR, add - 10 * MINUTE)
            if story.created >= add or story.created < add - 4 * HOUR:
                story.created = add - 10 * MINUTE - add % MINUTE
        else:
            if first > 0 and rng.random() < 0.15:
                first -= 1  # committed a sprint early, carried over untouched
            add = self.sprints[first].start - HOUR - int(rng.random() * 3 * DAY)
            story.created = clock.work_minute(rng, add - 10 * DAY, add - 2 * HOUR)
        floor = story.parent.created + HOUR
        story.created = max(story.created, floor + (-floor) % MINUTE)
        while clock.in_fold(story.created):
            story.created -= HOUR
        add = max(add, story.created + MINUTE + _fraction_ms(rng))
        story.description = _story_description(rng, story)
        story.labels = tuple(sorted(rng.sample(LABELS, int(rng.random() * 3))))
        story.components = tuple(sorted(rng.sample(range(len(COMPONENTS)), 1 + int(rng.random() * 2))))

        # status timeline inside [ip, done]
        end = done if done is not None else self.now
        if done is None:
            steps = ["In Progress"] + (["In Review"] if rng.random() < 0.5 else [])
        elif reopen:
            steps = ["In Progress", "In Review", "Done", "Reopened" if rng.random() < 0.7 else "To Do",
                     "In Progress", "In Review", "Done"]  # fmt: skip
        elif rng.random() < 0.25:
            steps = ["In Progress", "In Review", "In Progress", "In Review", "Done"]
        elif rng.random() < 0.1:
            steps = ["In Progress", "Done"]
        else:
            steps = ["In Progress", "In Review", "Done"]
        inner = len(steps) - (2 if done is not None else 1)
        times = [ip, *self._times_between(rng, ip, end, inner)] + ([done] if done is not None else [])
        story.status_moves = list(zip(times, steps, strict=True))

        # assignee: set shortly before work starts, sometimes handed over
        person = int(rng.random() * len(PEOPLE))
        assign_at = max(story.created + MINUTE, ip - int(rng.random() * HOUR)) + _fraction_ms(rng) % SECOND
        assign_at = min(assign_at, ip - 1)
        story.assignee_moves = [(assign_at, person)]
        if rng.random() < 0.15:
            other = (person + 1 + int(rng.random() * (len(PEOPLE) - 1))) % len(PEOPLE)
            story.assignee_moves.append((self._times_between(rng, ip, end, 1)[0], other))

        self._plan_points(rng, story, end)
        self._plan_sprints(rng, story, first, add)
        self._plan_chatter(rng, story, end)
        if done is not None and rng.random() < 0.2:
            self._plan_subtasks(rng, story, ip, done)
        elif done is None and rng.random() < 0.3:
            self._plan_subtasks(rng, story, ip, None)

    def _plan_todo(self, rng: random.Random, story: _Issue, work_start: int) -> None:
        """A PROD-3 story nobody started: in the active sprint, the next (future) sprint or the backlog."""
        story.created = self.clock.work_minute(rng, work_start - 7 * DAY, self.now - DAY)
        story.description = _story_description(rng, story)
        story.labels = tuple(sorted(rng.sample(LABELS, int(rng.random() * 2))))
        story.components = (int(rng.random() * len(COMPONENTS)),)
        self._plan_points(rng, story, self.now)
        where = rng.random()
        active = self.sprints[self.active]
        if where < 0.4 and story.created < active.start - 2 * HOUR:
            add = active.start - HOUR - int(rng.random() * (min(DAY, active.start - story.created - 2 * HOUR)))
            self._plan_sprints(rng, story, self.active, add)
        elif where < 0.75:
            add = max(story.created, active.start) + HOUR + _fraction_ms(rng)
            if add < self.now:
                story.sprint_moves = [(add, (self.active + 1,))]

    def _plan_points(self, rng: random.Random, story: _Issue, end: int) -> None:
        story.points_field = CF_STORY_POINTS if rng.random() < 0.5 else CF_STORY_POINT_ESTIMATE
        if story.kind == "bug" and rng.random() < 0.5:
            return  # unestimated bug
        estimate = STORY_POINT_SCALE[min(5, int(rng.random() * rng.random() * 6.5))]
        if rng.random() < 0.3:  # estimated in refinement, not at creation: a change from empty
            story.points_moves.append(
                (story.created + MINUTE + _fraction_ms(rng) + int(rng.random() * 20) * MINUTE, estimate)
            )
        else:
            story.initial_points = estimate
        if rng.random() < 0.2:
            at = story.points_moves[-1][0] if story.points_moves else story.created
            if end - at > 3 * HOUR:
                i = STORY_POINT_SCALE.index(estimate)
                new = STORY_POINT_SCALE[i + 1] if i == 0 or (i < 5 and rng.random() < 0.6) else STORY_POINT_SCALE[i - 1]
                story.points_moves.append((self._times_between(rng, at + HOUR, end, 1)[0], new))

    def _plan_sprints(self, rng: random.Random, story: _Issue, first: int, add: int) -> None:
        """Add to sprint ``first`` at ``add``; carry over at each completion while not done; re-add after a reopen."""
        members = (first,)
        story.sprint_moves = [(add, members)]
        k = first
        while k < self.active:
            complete = self.sprints[k].complete
            if _value_at(story.status_moves, story.initial_status, complete) != "Done":
                members = (*members, k + 1)
                story.sprint_moves.append((complete + SECOND, members))
                k += 1
                continue
            reopen = next(
                (t for (t, s), (_t0, s0) in zip(story.status_moves[1:], story.status_moves, strict=False)
                 if s0 == "Done" and s != "Done" and t > complete),
                None,
            )  # fmt: skip
            if reopen is None:
                break
            k = self.sprint_of(reopen + MINUTE)
            members = (*members, k)
            story.sprint_moves.append((reopen + MINUTE, members))

    def _plan_chatter(self, rng: random.Random, story: _Issue, end: int) -> None:
        """Comments and watchers (comments on whole minutes: the CSV shows them too)."""
        for _ in range(int(rng.random() * rng.random() * 4)):
            at = self.clock.work_minute(rng, story.created + MINUTE, max(story.created + MINUTE, end))
            body = COMMENT_BODIES[int(rng.random() * len(COMMENT_BODIES))]
            story.comments.append((at, int(rng.random() * len(PEOPLE)), body))
        story.comments.sort()
        watchers = {story.reporter} | {p for _t, p in story.assignee_moves if p is not None}
        story.watchers = tuple(sorted(watchers))

    def _plan_subtasks(self, rng: random.Random, story: _Issue, ip: int, done: int | None) -> None:
        end = done if done is not None else self.now
        first_done = next((t for t, s in story.status_moves if s == "Done"), end)
        for n in range(1 + int(rng.random() * 3)):
            created = story.created + (n + 1) * 7 * MINUTE
            sub = self.new_issue(
                "subtask",
                f"{('Write tests', 'Update docs', 'Code review fixes')[n]} for {story.summary}",
                created,
                story,
                rng,
            )
            sub.description = ("Part of the parent story.",)
            a, b = self._times_between(rng, ip, first_done - MINUTE, 2)
            b = max(b - b % MINUTE, a - a % MINUTE + MINUTE)  # resolution times are whole minutes
            if done is None and rng.random() < 0.5:
                sub.status_moves = [(a, "In Progress")]
            else:
                sub.status_moves = [(a, "In Progress"), (b, "Done")]
            sub.assignee_moves = [(a - 1, story.assignee_moves[0][1])]
            sub.watchers = (sub.reporter,)

    def _plan_parent(self, rng: random.Random, parent: _Issue, children: list[_Issue], offset: int | None) -> None:
        """Epics and initiatives: in progress when a child starts; Done ``offset`` after the last child finishes."""
        starts = [c.status_moves[0][0] for c in children if c.status_moves]
        if starts:
            started = min(starts) + MINUTE + _fraction_ms(rng) % SECOND
            while self.clock.in_fold(started):
                started += HOUR
            parent.status_moves.append((started, "In Progress"))
            parent.assignee_moves = [(min(starts), parent.reporter)]
        finished = all(c.status_moves and c.status_moves[-1][1] == "Done" for c in children)
        if offset is not None and finished:
            last = max(c.status_moves[-1][0] for c in children)
            parent.status_moves.append((last + offset, "Done"))
        parent.watchers = tuple(sorted({parent.reporter} | {c.reporter for c in children[:2]}))

    def plan_ideas(self) -> None:
        rng = random.Random(self.seed * 1_000_003 + 77)
        count = 6 + int(rng.random() * 5)
        features = [(p[2], self.initiatives[i]) for i, p in enumerate(INITIATIVE_PLANS)]
        features += [(f, None) for f in OTHER_FEATURES[: count - 3]]
        created_lo = self.roadmap_day - 20 * DAY
        for n, (feature, initiative) in enumerate(features):
            created = self.clock.work_minute(rng, created_lo + n * DAY, created_lo + (n + 1) * DAY - HOUR)
            idea = self.new_issue("idea", feature, created, None, rng)
            idea.link_to = initiative
            idea.description = (f"Customers ask for {feature.lower()}.", "Evidence: interviews and support tickets.")
            reach = float(50 * (10 + int(rng.random() * 390)))
            impact = RICE_IMPACT_SCALE[int(rng.random() * 5)]
            percent = (80, 80, 80, 50, 100)[n] if n < 5 else (50, 80, 100)[int(rng.random() * 3)]
            confidence: Any = (percent, percent / 100, f"{percent}%")[n % 3]
            effort: Any = (0.5, 1.0, 2.0, 3.0, 5.0)[int(rng.random() * 5)]
            if n == 3:
                effort = None
            elif n == 4:
                effort = 0
            idea.rice = (reach, impact, confidence, effort)
            idea.initial_status = "Parking lot"
            if initiative is not None:
                t1 = self.clock.work_minute(rng, created + DAY, created + 5 * DAY)
                idea.status_moves = [(t1 + _fraction_ms(rng), "Discovery")]
                idea.status_moves.append((initiative.created + 2 * HOUR + _fraction_ms(rng), "Delivery"))
                if INITIATIVE_PLANS[n][0] in self.ship:
                    idea.status_moves.append((self.ship[INITIATIVE_PLANS[n][0]] + DAY, "Shipped"))
            elif n % 2 == 1:
                idea.status_moves = [(self.clock.work_minute(rng, created + DAY, created + 9 * DAY), "Discovery")]

    def assign_keys(self) -> None:
        """Keys and ids in creation order, as Jira numbers them; the initiatives were created first."""
        ordered = sorted(self.issues, key=lambda i: (i.created, i.seq))
        assert [i.kind for i in ordered[:3]] == ["initiative"] * 3, "initiatives must be PROD-1..3"
        for n, issue in enumerate(ordered, start=1):
            issue.key = f"{PROJECT_KEY}-{n}"
            issue.issue_id = str(10_000 + n)
        self.issues = ordered
        for n, idea in enumerate(sorted(self.ideas, key=lambda i: (i.created, i.seq)), start=1):
            idea.key = f"{IDEA_PROJECT_KEY}-{n}"
            idea.issue_id = str(20_000 + n)
        self.ideas.sort(key=lambda i: int(i.key.split("-")[1]))
        for issue in self.issues:
            if issue.kind == "story" and issue.status_moves and issue.status_moves[-1][1] == "Done":
                issue.fix_versions = (f"{self.clock.local(issue.status_moves[-1][0]):%Y.%m}",)


COMMENT_BODIES = (
    "Looks good to me.",
    "Blocked by the API change; see the thread in #eng-platform.",
    "Tested on iOS and Android; works.\nOne nit: the spacing on tablets.",
    "Can we split this? It's bigger than 5 points; e.g. API first, UI second.",
    "Reopening: still reproducible on staging (build 2024.1.3).",
    "Merci ! Déployé en préprod.",
)


def _story_description(rng: random.Random, story: _Issue) -> tuple[str, ...]:
    if story.kind == "bug":
        return (
            "Steps to reproduce:",
            "1. Open the report\n2. Click Share\n3. Observe the error",
            f"Expected: no error. Actual: {story.summary.lower()}.",
        )
    paragraphs = [f"As a user I want to {story.summary.lower()} so that reports stay fast and correct."]
    if rng.random() < 0.6:
        paragraphs.append('Acceptance criteria:\n- works for 10k rows\n- keyboard accessible; "quoted" labels ok')
    return tuple(paragraphs)


# --------------------------------------------------------------------------------------------------- truths


def _status_category(status: str) -> str:
    return STATUSES[status][1]


def _current(issue: _Issue, now: int) -> tuple[str, float | None, tuple[int, ...]]:
    status = _value_at(issue.status_moves, issue.initial_status, now)
    points = _value_at(issue.points_moves, issue.initial_points, now)
    sprints = _value_at(issue.sprint_moves, (), now)
    return status, points, sprints


def _final_done(issue: _Issue) -> int | None:
    if issue.status_moves and issue.status_moves[-1][1] in ("Done", "Shipped"):
        return issue.status_moves[-1][0]
    return None


def _utc(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _sprint_truths(planner: _Planner) -> tuple[SprintTruth, ...]:
    work = [i for i in planner.issues if i.kind in ("story", "bug")]
    out = []
    for k, sprint in enumerate(planner.sprints):
        if sprint.state == "future":
            out.append(
                SprintTruth(
                    sprint.sprint_id, sprint.name, "future", None, None, None, (), 0.0, (), 0.0, (), 0.0, None, None
                )
            )
            continue
        start = sprint.start
        end = sprint.complete if sprint.complete is not None else planner.now

        def member(issue: _Issue, at: int, k: int = k) -> bool:
            return k in _value_at(issue.sprint_moves, (), at)

        def points(issue: _Issue, at: int) -> float:
            return _value_at(issue.points_moves, issue.initial_points, at) or 0.0

        committed = [i for i in work if member(i, start)]
        added: list[tuple[_Issue, int]] = []
        for issue in work:
            previous: tuple[int, ...] = ()
            for t, members in issue.sprint_moves:
                if k in members and k not in previous and start < t <= end:
                    added.append((issue, t))
                previous = members
        at_end = [i for i in work if member(i, end)]
        done = [i for i in at_end if _status_category(_value_at(i.status_moves, i.initial_status, end)) == "done"]
        carried = [i for i in at_end if i not in done] if sprint.complete is not None else None
        out.append(
            SprintTruth(
                sprint_id=sprint.sprint_id, name=sprint.name, state=sprint.state, start_at=_utc(start),
                end_at=_utc(sprint.complete if sprint.complete is not None else sprint.end),
                complete_at=_utc(sprint.complete),
                committed_keys=_keys(committed), committed_points=sum((points(i, start) for i in committed), 0.0),
                added_keys=_keys(i for i, _t in added), added_points=sum((points(i, t) for i, t in added), 0.0),
                completed_keys=_keys(done), completed_points=sum((points(i, end) for i in done), 0.0),
                carried_over_keys=None if carried is None else _keys(carried),
                carried_over_points=None if carried is None else sum((points(i, end) for i in carried), 0.0),
            )
        )  # fmt: skip
    return tuple(out)


def _keys(issues: Iterable[_Issue]) -> tuple[str, ...]:
    return tuple(sorted((i.key for i in issues), key=_key_order))


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.partition("-")
    return project, int(number)


def _rice(idea: _Issue) -> IdeaTruth:
    reach, impact, confidence, effort = idea.rice
    if isinstance(confidence, str):
        normalised = float(confidence.rstrip("%")) / 100
    else:
        normalised = confidence / 100 if confidence > 1 else float(confidence)
    effort_value = None if effort is None else float(effort)
    score = None if not effort_value else reach * impact * normalised / effort_value
    return IdeaTruth(
        key=idea.key, feature=idea.summary, implemented_by=idea.link_to.key if idea.link_to else None,
        reach_written=reach, impact_written=impact, confidence_written=confidence, effort_written=effort,
        reach=float(reach), impact=float(impact), confidence=normalised, effort=effort_value, rice_score=score,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------- JSON


def _api_time(clock: _Clock, ms: int) -> str:
    local = clock.local(ms)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{local:%z}"


def _sprint_time(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _user(person: int) -> dict[str, Any]:
    account, name = PEOPLE[person]
    return {
        "self": f"{SITE}/rest/api/3/user?accountId={account}", "accountId": account, "displayName": name,
        "active": True, "timeZone": API_TIMEZONE, "accountType": "atlassian",
    }  # fmt: skip


def _adf(paragraphs: Sequence[str]) -> dict[str, Any] | None:
    if not paragraphs:
        return None
    content = []
    for paragraph in paragraphs:
        inline: list[dict[str, Any]] = []
        for n, line in enumerate(paragraph.split("\n")):
            if n:
                inline.append({"type": "hardBreak"})
            inline.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


def _status_object(status: str) -> dict[str, Any]:
    status_id, category = STATUSES[status]
    return {
        "self": f"{SITE}/rest/api/3/status/{status_id}", "description": "", "iconUrl": f"{SITE}/",
        "name": status, "id": status_id,
        "statusCategory": {"self": f"{SITE}/rest/api/3/statuscategory/{STATUS_CATEGORIES[category]['id']}",
                           **STATUS_CATEGORIES[category]},
    }  # fmt: skip


def _issuetype_object(kind: str) -> dict[str, Any]:
    name, type_id, level, subtask, description = ISSUE_TYPES[kind]
    return {
        "self": f"{SITE}/rest/api/3/issuetype/{type_id}", "id": type_id, "description": description,
        "iconUrl": f"{SITE}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{type_id}?size=medium",
        "name": name, "subtask": subtask, "hierarchyLevel": level,
    }  # fmt: skip


def _priority_object(priority: int) -> dict[str, Any]:
    pid, name = PRIORITIES[priority]
    icon = f"{SITE}/images/icons/priorities/{name.lower()}.svg"
    return {"self": f"{SITE}/rest/api/3/priority/{pid}", "iconUrl": icon, "name": name, "id": pid}


def _issue_ref(issue: _Issue, now: int) -> dict[str, Any]:
    status = _value_at(issue.status_moves, issue.initial_status, now)
    return {
        "id": issue.issue_id, "key": issue.key, "self": f"{SITE}/rest/api/3/issue/{issue.issue_id}",
        "fields": {"summary": issue.summary, "status": _status_object(status),
                   "priority": _priority_object(issue.priority), "issuetype": _issuetype_object(issue.kind)},
    }  # fmt: skip


def _sprint_object(sprint: _Sprint) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": sprint.sprint_id, "name": sprint.name, "state": sprint.state, "boardId": BOARD_ID,
                           "goal": sprint.goal}  # fmt: skip
    if sprint.start is not None:
        obj["startDate"] = _sprint_time(sprint.start)
        obj["endDate"] = _sprint_time(sprint.end)
    if sprint.complete is not None:
        obj["completeDate"] = _sprint_time(sprint.complete)
    return obj


class _Histories:
    """Changelog histories of one issue: items at the same instant by the same author share a history."""

    def __init__(self) -> None:
        self.entries: dict[tuple[int, int], list[dict[str, Any]]] = {}

    def add(self, at: int, author: int, item: dict[str, Any]) -> None:
        self.entries.setdefault((at, author), []).append(item)


def _item(field_name: str, field_id: str, fieldtype: str, from_id, from_string, to_id, to_string) -> dict[str, Any]:
    return {"field": field_name, "fieldtype": fieldtype, "fieldId": field_id, "from": from_id,
            "fromString": from_string, "to": to_id, "toString": to_string}  # fmt: skip


def _histories(planner: _Planner, issue: _Issue) -> _Histories:
    h = _Histories()
    worker = issue.assignee_moves[0][1] if issue.assignee_moves else issue.reporter
    previous = issue.initial_status
    for at, status in issue.status_moves:
        if at > planner.now:
            break
        if status == "Done" or status == "Shipped":
            h.add(at, worker, _item("resolution", "resolution", "jira", None, None, "10000", "Done"))
        elif previous in ("Done", "Shipped"):
            h.add(at, worker, _item("resolution", "resolution", "jira", "10000", "Done", None, None))
        h.add(
            at, worker, _item("status", "status", "jira", STATUSES[previous][0], previous, STATUSES[status][0], status)
        )
        previous = status
    assignee: int | None = None
    for at, person in issue.assignee_moves:
        old = PEOPLE[assignee] if assignee is not None else (None, None)
        item = _item("assignee", "assignee", "jira", old[0], old[1], PEOPLE[person][0], PEOPLE[person][1])
        item["tmpFromAccountId"], item["tmpToAccountId"] = old[0], PEOPLE[person][0]
        h.add(at, person if at < issue.status_moves[0][0] else worker, item)
        assignee = person
    points = issue.initial_points
    for at, value in issue.points_moves:
        name = POINTS_FIELD_NAMES[issue.points_field]
        h.add(
            at,
            issue.reporter,
            _item(name, issue.points_field, "custom", None, _points_text(points), None, _points_text(value)),
        )
        points = value
    members: tuple[int, ...] = ()
    for at, new in issue.sprint_moves:
        h.add(
            at,
            issue.reporter,
            _item("Sprint", CF_SPRINT, "custom", *_sprint_strings(planner, members), *_sprint_strings(planner, new)),
        )
        members = new
    return h


def _points_text(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def _sprint_strings(planner: _Planner, members: tuple[int, ...]) -> tuple[str, str]:
    return (", ".join(str(planner.sprints[k].sprint_id) for k in members),
            ", ".join(planner.sprints[k].name for k in members))  # fmt: skip


def _updated(planner: _Planner, issue: _Issue, histories: _Histories) -> int:
    last = max([issue.created, *(t for t, _a in histories.entries), *(t for t, _p, _b in issue.comments)])
    last += (-last) % MINUTE
    while planner.clock.in_fold(last):
        last += HOUR
    return last


def _status_category_changed(issue: _Issue, now: int) -> int:
    at, category = issue.created, _status_category(issue.initial_status)
    for t, status in issue.status_moves:
        if t <= now and _status_category(status) != category:
            at, category = t, _status_category(status)
    return at


def _issue_json(planner: _Planner, issue: _Issue, history_ids: dict[tuple[str, int, int], int],
                cut: int | None) -> dict[str, Any]:  # fmt: skip
    clock, now = planner.clock, planner.now
    status, points, sprints = _current(issue, now)
    histories = _histories(planner, issue)
    done = _final_done(issue) if status in ("Done", "Shipped") else None
    assignee = _value_at(issue.assignee_moves, None, now)
    epic = issue.parent if issue.kind in ("story", "bug") else None
    fields: dict[str, Any] = {
        "statuscategorychangedate": _api_time(clock, _status_category_changed(issue, now)),
        "issuetype": _issuetype_object(issue.kind),
        "timespent": None,
        "project": {
            "self": f"{SITE}/rest/api/3/project/{'10001' if issue.project == PROJECT_KEY else '10002'}",
            "id": "10001" if issue.project == PROJECT_KEY else "10002", "key": issue.project,
            "name": "Product" if issue.project == PROJECT_KEY else "Ideas",
            "projectTypeKey": "software" if issue.project == PROJECT_KEY else "product_discovery",
            "simplified": issue.project != PROJECT_KEY,
        },
        "fixVersions": [{"self": f"{SITE}/rest/api/3/version/{10_100 + n}", "id": str(10_100 + n), "name": v,
                         "archived": False, "released": True} for n, v in enumerate(issue.fix_versions)],
        "resolution": {"self": f"{SITE}/rest/api/3/resolution/10000", "id": "10000",
                       "description": "Work has been completed on this issue.", "name": "Done"} if done else None,
        "resolutiondate": _api_time(clock, done) if done else None,
        "workratio": -1,
        "watches": {"self": f"{SITE}/rest/api/3/issue/{issue.key}/watchers", "watchCount": len(issue.watchers),
                    "isWatching": False},
        "lastViewed": None,
        "created": _api_time(clock, issue.created),
        "priority": _priority_object(issue.priority),
        "labels": list(issue.labels),
        CF_STORY_POINT_ESTIMATE: points if issue.points_field == CF_STORY_POINT_ESTIMATE else None,
        CF_STORY_POINTS: points if issue.points_field == CF_STORY_POINTS else None,
        CF_SPRINT: [_sprint_object(planner.sprints[k]) for k in sprints] or None,
        CF_EPIC_LINK: epic.key if epic is not None and issue.epic_link else None,
        CF_RANK: f"0|i{int(issue.issue_id):05x}:",
        "assignee": _user(assignee) if assignee is not None else None,
        "updated": _api_time(clock, _updated(planner, issue, histories)),
        "status": _status_object(status),
        "components": [{"self": f"{SITE}/rest/api/3/component/{COMPONENTS[c][0]}", "id": COMPONENTS[c][0],
                        "name": COMPONENTS[c][1]} for c in issue.components],
        "description": _adf(issue.description),
        "summary": issue.summary,
        "creator": _user(issue.reporter),
        "subtasks": [_issue_ref(c, now) for c in issue.children if c.kind == "subtask"],
        "reporter": _user(issue.reporter),
        "duedate": issue.due.isoformat() if issue.due else None,
        "issuelinks": _issue_links(planner, issue, now),
        "comment": {
            "comments": [
                {"self": f"{SITE}/rest/api/3/issue/{issue.issue_id}/comment/{30_000 + issue.seq * 10 + n}",
                 "id": str(30_000 + issue.seq * 10 + n), "author": _user(p), "body": _adf(body.split("\n\n")),
                 "updateAuthor": _user(p), "created": _api_time(clock, t), "updated": _api_time(clock, t),
                 "jsdPublic": True}
                for n, (t, p, body) in enumerate(issue.comments)
            ],
            "self": f"{SITE}/rest/api/3/issue/{issue.issue_id}/comment", "maxResults": len(issue.comments),
            "total": len(issue.comments), "startAt": 0,
        },
    }  # fmt: skip
    if issue.parent is not None:
        fields["parent"] = _issue_ref(issue.parent, now)
    if issue.rice is not None:
        reach, impact, confidence, effort = issue.rice
        fields.update({CF_REACH: reach, CF_IMPACT: impact, CF_CONFIDENCE: confidence, CF_EFFORT: effort})
    entries = sorted(histories.entries.items(), key=lambda kv: kv[0], reverse=True)  # newest first, as Cloud
    total = len(entries)
    written = entries[:cut] if cut is not None else entries
    changelog = {
        "startAt": 0, "maxResults": cut if cut is not None else total, "total": total,
        "histories": [
            {"id": str(history_ids[(issue.key, at, author)]), "author": _user(author),
             "created": _api_time(clock, at), "items": items}
            for (at, author), items in written
        ],
    }  # fmt: skip
    return {
        "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
        "id": issue.issue_id, "self": f"{SITE}/rest/api/3/issue/{issue.issue_id}", "key": issue.key,
        "changelog": changelog, "fields": fields,
    }  # fmt: skip


def _issue_links(planner: _Planner, issue: _Issue, now: int) -> list[dict[str, Any]]:
    link_type = {"self": f"{SITE}/rest/api/3/issueLinkType/{POLARIS_LINK['id']}", **POLARIS_LINK}
    if issue.link_to is not None:  # the idea is implemented by the initiative
        return [{"id": str(40_000 + issue.seq), "type": link_type, "inwardIssue": _issue_ref(issue.link_to, now)}]
    return [
        {"id": str(40_000 + idea.seq), "type": link_type, "outwardIssue": _issue_ref(idea, now)}
        for idea in planner.ideas
        if idea.link_to is issue
    ]


def _history_ids(planner: _Planner) -> dict[tuple[str, int, int], int]:
    """Global history ids increasing with time, as Jira allocates them."""
    keys = []
    for issue in [*planner.issues, *planner.ideas]:
        for at, author in _histories(planner, issue).entries:
            keys.append((at, issue.key, author))
    keys.sort(key=lambda k: (k[0], _key_order(k[1]), k[2]))
    return {(key, at, author): 50_001 + n for n, (at, key, author) in enumerate(keys)}


FIELD_CATALOG_ENTRIES = (  # id, name, custom, schema type, schema system/custom, items
    ("issuetype", "Issue Type", False, "issuetype", "issuetype", None),
    ("parent", "Parent", False, None, None, None),
    ("project", "Project", False, "project", "project", None),
    ("summary", "Summary", False, "string", "summary", None),
    ("description", "Description", False, "string", "description", None),
    ("status", "Status", False, "status", "status", None),
    ("statusCategory", "Status Category", False, "statusCategory", "statusCategory", None),
    ("statuscategorychangedate", "Status Category Changed", False, "datetime", "statuscategorychangedate", None),
    ("priority", "Priority", False, "priority", "priority", None),
    ("resolution", "Resolution", False, "resolution", "resolution", None),
    ("resolutiondate", "Resolved", False, "datetime", "resolutiondate", None),
    ("assignee", "Assignee", False, "user", "assignee", None),
    ("reporter", "Reporter", False, "user", "reporter", None),
    ("creator", "Creator", False, "user", "creator", None),
    ("created", "Created", False, "datetime", "created", None),
    ("updated", "Updated", False, "datetime", "updated", None),
    ("duedate", "Due date", False, "date", "duedate", None),
    ("labels", "Labels", False, "array", "labels", "string"),
    ("components", "Components", False, "array", "components", "component"),
    ("fixVersions", "Fix versions", False, "array", "fixVersions", "version"),
    ("issuelinks", "Linked Issues", False, "array", "issuelinks", "issuelinks"),
    ("subtasks", "Sub-tasks", False, "array", "subtasks", "issuelinks"),
    ("comment", "Comment", False, "comments-page", "comment", None),
    ("watches", "Watchers", False, "watches", "watches", None),
    ("timespent", "Time Spent", False, "number", "timespent", None),
    ("workratio", "Work Ratio", False, "number", "workratio", None),
    ("lastViewed", "Last Viewed", False, "datetime", "lastViewed", None),
    (CF_EPIC_LINK, "Epic Link", True, "any", "com.pyxis.greenhopper.jira:gh-epic-link", None),
    (CF_START_DATE, "Start date", True, "date", "com.atlassian.jira.plugin.system.customfieldtypes:datepicker", None),
    (CF_STORY_POINT_ESTIMATE, "Story point estimate", True, "number", "com.pyxis.greenhopper.jira:jsw-story-points",
     None),
    (CF_RANK, "Rank", True, "any", "com.pyxis.greenhopper.jira:gh-lexo-rank", None),
    (CF_SPRINT, "Sprint", True, "array", "com.pyxis.greenhopper.jira:gh-sprint", "json"),
    (CF_STORY_POINTS, "Story Points", True, "number", "com.atlassian.jira.plugin.system.customfieldtypes:float", None),
    (CF_REACH, "Reach", True, "number", "com.atlassian.jira.plugin.system.customfieldtypes:float", None),
    (CF_IMPACT, "Impact", True, "number", "com.atlassian.jira.plugin.system.customfieldtypes:float", None),
    (CF_CONFIDENCE, "Confidence", True, "any", "com.atlassian.jira.plugin.system.customfieldtypes:textfield", None),
    (CF_EFFORT, "Effort", True, "number", "com.atlassian.jira.plugin.system.customfieldtypes:float", None),
)  # fmt: skip


def _field_catalog() -> list[dict[str, Any]]:
    out = []
    for field_id, name, custom, schema_type, schema_source, items in FIELD_CATALOG_ENTRIES:
        entry: dict[str, Any] = {"id": field_id, "key": field_id, "name": name}
        if custom:
            number = int(field_id.rsplit("_", 1)[1])
            entry["untranslatedName"] = name
            clauses = [f"cf[{number}]", name]
        else:
            clauses = [field_id]
        entry.update(
            {"custom": custom, "orderable": True, "navigable": True, "searchable": True, "clauseNames": clauses}
        )
        if schema_type is not None:
            schema: dict[str, Any] = {"type": schema_type}
            if items:
                schema["items"] = items
            if custom:
                schema.update({"custom": schema_source, "customId": int(field_id.rsplit("_", 1)[1])})
            else:
                schema["system"] = schema_source
            entry["schema"] = schema
        out.append(entry)
    return out


def _status_catalog() -> list[dict[str, Any]]:
    """``/rest/api/3/status``: every status of the site with its category, in id order, as Jira lists them."""
    return [
        _status_object(name) | {"untranslatedName": name}
        for name in sorted(STATUSES, key=lambda name: int(STATUSES[name][0]))
    ]


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------------- CSV


def _csv_rows(planner: _Planner, issues: list[_Issue], language: str, tz: ZoneInfo) -> list[list[str]]:
    now = planner.now
    clock = _Clock(tz)

    def when(ms: int | None) -> str:
        return "" if ms is None else csv_datetime(clock.local(ms).replace(tzinfo=None), language)

    def number(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return str(float(value))

    records = []
    for issue in issues:
        status, points, sprints = _current(issue, now)
        done = _final_done(issue) if status in ("Done", "Shipped") else None
        assignee = _value_at(issue.assignee_moves, None, now)
        histories = _histories(planner, issue)
        epic = issue.parent if issue.kind in ("story", "bug") else None
        rice = issue.rice or (None, None, None, None)
        inward = [issue.link_to.key] if issue.link_to else []
        outward = [i.key for i in planner.ideas if i.link_to is issue]
        records.append({
            "Summary": [issue.summary], "Issue key": [issue.key], "Issue id": [issue.issue_id],
            "Issue Type": [ISSUE_TYPES[issue.kind][0]], "Status": [status],
            "Project key": [issue.project], "Project name": ["Product" if issue.project == PROJECT_KEY else "Ideas"],
            "Project type": ["software" if issue.project == PROJECT_KEY else "product_discovery"],
            "Priority": [PRIORITIES[issue.priority][1]], "Resolution": ["Done" if done else ""],
            "Assignee": [PEOPLE[assignee][1] if assignee is not None else ""],
            "Assignee Id": [PEOPLE[assignee][0] if assignee is not None else ""],
            "Reporter": [PEOPLE[issue.reporter][1]], "Reporter Id": [PEOPLE[issue.reporter][0]],
            "Created": [when(issue.created)], "Updated": [when(_updated(planner, issue, histories))],
            "Resolved": [when(done)], "Due date": [csv_date(issue.due, language) if issue.due else ""],
            "Labels": list(issue.labels), "Description": ["\n\n".join(issue.description)],
            "Sprint": [planner.sprints[k].name for k in sprints],
            "Component/s": [COMPONENTS[c][1] for c in issue.components],
            "Fix Version/s": list(issue.fix_versions),
            "Watchers": [PEOPLE[p][1] for p in issue.watchers], "Watchers Id": [PEOPLE[p][0] for p in issue.watchers],
            "Comment": [f"{when(t)};{PEOPLE[p][0]};{body}" for t, p, body in issue.comments],
            "Parent": [issue.parent.issue_id if issue.parent else ""],
            "Parent summary": [issue.parent.summary if issue.parent else ""],
            "Status Category": [STATUS_CATEGORIES[_status_category(status)]["name"]],
            "Status Category Changed": [when(_status_category_changed(issue, now))],
            ("Inward issue link ({})", POLARIS_LINK["name"]): inward,
            ("Outward issue link ({})", POLARIS_LINK["name"]): outward,
            ("Custom field ({})", "Epic Link"): [epic.key if epic is not None and issue.epic_link else ""],
            ("Custom field ({})", "Story Points"): [number(points) if issue.points_field == CF_STORY_POINTS else ""],
            ("Custom field ({})", "Story point estimate"): [
                number(points) if issue.points_field == CF_STORY_POINT_ESTIMATE else ""],
            ("Custom field ({})", "Reach"): [number(rice[0])], ("Custom field ({})", "Impact"): [number(rice[1])],
            ("Custom field ({})", "Confidence"): [number(rice[2])], ("Custom field ({})", "Effort"): [number(rice[3])],
        })  # fmt: skip
    columns = list(records[0])
    widths = {c: max(1, *(len(r[c]) for r in records)) for c in columns}
    header = []
    for column in columns:
        name = csv_header(column[0], language, column[1]) if isinstance(column, tuple) else csv_header(column, language)
        header += [name] * widths[column]
    rows = [header]
    for record in records:
        row: list[str] = []
        for column in columns:
            values = record[column]
            row += values + [""] * (widths[column] - len(values))
        rows.append(row)
    return rows


def csv_header_pairs(language: str) -> dict[str, str]:
    """Every English header this module writes -> its form in ``language`` (custom fields and links expanded)."""
    out = {}
    for english in CSV_HEADERS:
        if "{}" in english:
            customs = CSV_CUSTOM_FIELDS if english.startswith("Custom") else (POLARIS_LINK["name"],)
            for custom in customs:
                out[english.format(custom)] = csv_header(english, language, custom)
        else:
            out[english] = csv_header(english, language)
    return out


# --------------------------------------------------------------------------------------------------- writing


def _choose_cut(planner: _Planner) -> ChangelogCut:
    """The finished story or bug with the longest changelog, committed to its first sprint before it started, keeps
    only the histories after its first move to In Progress: its cycle time is lost, its sprint figures are not."""
    best: tuple[int, int, _Issue] | None = None
    for issue in planner.issues:
        if issue.kind not in ("story", "bug") or _final_done(issue) is None:
            continue
        first_add, members = issue.sprint_moves[0]
        if first_add > planner.sprints[members[0]].start:
            continue  # added mid-sprint: dropping that history would hide the addition
        entries = sorted(_histories(planner, issue).entries)
        first_ip = issue.status_moves[0][0]
        after = sum(at > first_ip for at, _author in entries)
        if best is None or (len(entries), -issue.seq) > (best[0], -best[2].seq):
            best = (len(entries), after, issue)
    assert best is not None
    total, written, issue = best
    return ChangelogCut(issue.key, total, written, written)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write under a hidden temporary name, then rename: a landing sensor never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def generate_jira(
    landing_dir: Path,
    *,
    seed: int = 7,
    start: date = date(2023, 10, 2),
    weeks: int = 26,
    language: str = "en",
    csv_timezone: str = "Europe/Paris",
    formats: Sequence[str] = FORMATS,
) -> JiraTruths:
    """Write the Jira exports under ``landing_dir / "jira"`` (``api/`` and/or ``csv/``) and return what was planted.

    ``start`` is the first sprint's start (a Monday keeps the sprints on Mondays); ``weeks`` (>= 16) sets the number
    of two-week sprints with dates (the last one is active at the export time) and scales the initiative timelines,
    which are laid out for the default 26 weeks: PROD-1 ships around day 114 (2024-01-24), PROD-2 around day 121
    (2024-01-31), both inside the analytics sample's default range. Same arguments, same bytes.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unsupported CSV language {language!r}; expected one of {', '.join(LANGUAGES)}")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}; got {tuple(formats)}")
    csv_tz = ZoneInfo(csv_timezone)
    landing_dir = Path(landing_dir)
    planner = _Planner(seed, start, weeks)
    planner.plan()
    planner.plan_ideas()
    planner.assign_keys()
    now = planner.now

    cut = _choose_cut(planner)

    files: list[str] = []
    out = landing_dir / "jira"
    if "json" in formats:
        history_ids = _history_ids(planner)
        docs = [_issue_json(planner, i, history_ids, cut.max_results if i.key == cut.issue_key else None)
                for i in planner.issues]  # fmt: skip
        for first in range(0, len(docs), PAGE_SIZE):
            envelope = {"expand": "schema,names", "startAt": first, "maxResults": PAGE_SIZE, "total": len(docs),
                        "issues": docs[first : first + PAGE_SIZE]}  # fmt: skip
            path = out / "api" / f"search_{PROJECT_KEY}_startAt_{first:04d}.json"
            _write_atomic(path, _dumps(envelope))
            files.append(path)
        ideas = [_issue_json(planner, i, history_ids, None) for i in planner.ideas]
        path = out / "api" / f"search_jql_{IDEA_PROJECT_KEY}_page_1.json"
        _write_atomic(path, _dumps({"issues": ideas, "isLast": True}))
        files.append(path)
        path = out / "api" / "field.json"
        _write_atomic(path, _dumps(_field_catalog()))
        files.append(path)
        path = out / "api" / "status.json"
        _write_atomic(path, _dumps(_status_catalog()))
        files.append(path)
        sprints_page = {
            "maxResults": PAGE_SIZE, "startAt": 0, "isLast": True,
            "values": [
                {"id": s.sprint_id, "self": f"{SITE}/rest/agile/1.0/sprint/{s.sprint_id}", "state": s.state,
                 "name": s.name, **{k: v for k, v in _sprint_object(s).items() if k.endswith("Date")},
                 "originBoardId": BOARD_ID, "goal": s.goal}
                for s in planner.sprints
            ],
        }  # fmt: skip
        path = out / "api" / f"board_{BOARD_ID}_sprint.json"
        _write_atomic(path, _dumps(sprints_page))
        files.append(path)
    if "csv" in formats:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerows(_csv_rows(planner, [*planner.issues, *planner.ideas], language, csv_tz))
        path = out / "csv" / "Jira.csv"
        _write_atomic(path, buf.getvalue().encode("utf-8"))
        files.append(path)

    return _truths(planner, seed, start, weeks, language, csv_timezone, tuple(formats), cut, files, landing_dir, now)


def _truths(
    planner: _Planner, seed: int, start: date, weeks: int, language: str, csv_timezone: str,
    formats: tuple[str, ...], cut: ChangelogCut, files: list[Path], landing_dir: Path, now: int,
) -> JiraTruths:  # fmt: skip
    work = [i for i in planner.issues if i.kind in ("story", "bug")]
    cycle: dict[str, float] = {}
    lead: dict[str, float] = {}
    for issue in work:
        done = _final_done(issue)
        if done is not None and done <= now:
            first_ip = next(t for t, s in issue.status_moves if s == "In Progress")
            cycle[issue.key] = (done - first_ip) / 1000
            lead[issue.key] = (done - issue.created) / 1000
    reopened = [i for i in planner.issues if any(a == "Done" != b for a, b in itertools.pairwise(_statuses(i)))]
    re_estimated = [i for i in work if len(i.points_moves) - (0 if i.initial_points is not None else 1) > 0]
    issues: dict[str, IssueTruth] = {}
    for issue in [*planner.issues, *planner.ideas]:
        status, points, sprints = _current(issue, now)
        epic = issue.parent if issue.kind in ("story", "bug") else None
        done = _final_done(issue) if _status_category(status) == "done" else None
        issues[issue.key] = IssueTruth(
            key=issue.key, issue_id=issue.issue_id, project_key=issue.project, issue_type=ISSUE_TYPES[issue.kind][0],
            hierarchy_level=ISSUE_TYPES[issue.kind][2], status=status, status_category=_status_category(status),
            parent_key=issue.parent.key if issue.parent else None, epic_key=epic.key if epic else None,
            initiative_key=issue.initiative.key if issue.initiative else None, epic_link_field=issue.epic_link,
            points_field=issue.points_field, story_points=points,
            sprint_ids=tuple(planner.sprints[k].sprint_id for k in sprints), created_at=_utc(issue.created),
            resolved_at=_utc(done), due_date=issue.due,
        )  # fmt: skip
    initiatives = {}
    for initiative in planner.initiatives:
        below = [i for i in planner.issues if i.initiative is initiative]
        status = _value_at(initiative.status_moves, "To Do", now)
        ship = _final_done(initiative) if status == "Done" else None
        ship_date = planner.clock.local(ship).date() if ship is not None else None
        finished = [_final_done(i) for i in below if _final_done(i) is not None]
        stories = [i for i in below if i.kind in ("story", "bug")]
        initiatives[initiative.key] = InitiativeTruth(
            key=initiative.key, summary=initiative.summary, due_date=initiative.due, shipped=ship is not None,
            ship_at=_utc(ship), ship_date=ship_date,
            last_descendant_done_at=_utc(max(finished)) if ship is not None else None,
            slip_days=(ship_date - initiative.due).days if ship_date else None,
            epics=sum(i.kind == "epic" for i in below), stories=sum(i.kind == "story" for i in below),
            bugs=sum(i.kind == "bug" for i in below), subtasks=sum(i.kind == "subtask" for i in below),
            total_story_points=sum(_current(i, now)[1] or 0.0 for i in stories),
            done_story_points=sum(_current(i, now)[1] or 0.0 for i in stories if _current(i, now)[0] == "Done"),
            status=status,
        )  # fmt: skip
    counts: dict[str, int] = {}
    for issue in [*planner.issues, *planner.ideas]:
        name = ISSUE_TYPES[issue.kind][0]
        counts[name] = counts.get(name, 0) + 1
    return JiraTruths(
        seed=seed, start=start, weeks=weeks, language=language, csv_timezone=csv_timezone, api_timezone=API_TIMEZONE,
        formats=formats, exported_at=_utc(now), cycle_distribution=CYCLE_DISTRIBUTION,
        cycle_median_days=CYCLE_MEDIAN_DAYS, cycle_sigma=CYCLE_SIGMA,
        cycle_seconds=dict(sorted(cycle.items(), key=lambda kv: _key_order(kv[0]))),
        lead_seconds=dict(sorted(lead.items(), key=lambda kv: _key_order(kv[0]))),
        reopened_keys=_keys(reopened), re_estimated_keys=_keys(re_estimated), changelog_truncated=(cut,),
        initiatives=initiatives, sprints=_sprint_truths(planner), ideas=tuple(_rice(i) for i in planner.ideas),
        issues=issues, issue_counts=dict(sorted(counts.items())), csv_includes_ideas=True,
        recoverable_from_csv=RECOVERABLE_FROM_CSV, needs_json_changelog=NEEDS_JSON_CHANGELOG,
        files=tuple(sorted(p.relative_to(landing_dir).as_posix() for p in files)),
    )  # fmt: skip


def _statuses(issue: _Issue) -> list[str]:
    return [issue.initial_status, *(s for _t, s in issue.status_moves)]
