"""The sample Jira generator: deterministic bytes, real export shapes, and truths the written files really hold.

The read-back helpers below do not use the generator's internals: they parse the JSON pages and the CSV the way a
Jira-aware reader would (own month table, own header table, own changelog replay) and recompute the figures.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.config import load_config
from core.settings import DEFAULT_CONFIG_PATH
from sample_generator.jira import JiraTruths, generate_jira

API_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"  # 2023-10-02T09:15:00.000+0200
SPRINT_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"  # 2023-10-02T08:15:00.000Z (Python 3.11 reads Z with %z)
PARIS = ZoneInfo("Europe/Paris")

# Written independently of the generator's tables (Jira's dd/MMM/yy with JDK 8 short month names).
MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
    "de": ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"],
    "es": ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"],
}
HEADERS = {  # English -> fr, de, es, for the columns this test reads
    "Issue key": ("Clé de ticket", "Vorgangsschlüssel", "Clave de incidencia"),
    "Issue id": ("ID de ticket", "Vorgangs-ID", "ID de la incidencia"),
    "Issue Type": ("Type de ticket", "Vorgangstyp", "Tipo de incidencia"),
    "Status": ("État", "Status", "Estado"),
    "Created": ("Création", "Erstellt", "Creada"),
    "Resolved": ("Résolue", "Erledigt", "Resuelta"),
    "Labels": ("Étiquettes", "Stichwörter", "Etiquetas"),
    "Sprint": ("Sprint", "Sprint", "Sprint"),
    "Component/s": ("Composants", "Komponenten", "Componentes"),
    "Comment": ("Commentaire", "Kommentar", "Comentario"),
    "Watchers": ("Observateurs", "Beobachter", "Observadores"),
    "Description": ("Description", "Beschreibung", "Descripción"),
    "Parent": ("Parent", "Übergeordnet", "Principal"),
    "Custom field (Epic Link)": (
        "Champ personnalisé (Epic Link)",
        "Benutzerdefiniertes Feld (Epic Link)",
        "Campo personalizado (Epic Link)",
    ),
    "Custom field (Story Points)": (
        "Champ personnalisé (Story Points)",
        "Benutzerdefiniertes Feld (Story Points)",
        "Campo personalizado (Story Points)",
    ),
    "Custom field (Story point estimate)": (
        "Champ personnalisé (Story point estimate)",
        "Benutzerdefiniertes Feld (Story point estimate)",
        "Campo personalizado (Story point estimate)",
    ),
}
REPEATED = ("Labels", "Sprint", "Component/s", "Comment", "Watchers")
DONE_STATUSES = {"Done", "Shipped"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, JiraTruths]:
    landing = tmp_path_factory.mktemp("jira1") / "landing"
    return landing, generate_jira(landing)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------ read back


def _api_time(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", text), text  # offset without a colon
    return datetime.strptime(text, API_TIME).astimezone(UTC)


def _search_pages(landing: Path) -> list[dict]:
    return [json.loads(p.read_text("utf-8")) for p in sorted((landing / "jira/api").glob("search_PROD_startAt_*.json"))]


def _json_issues(landing: Path) -> dict[str, dict]:
    issues = [i for page in _search_pages(landing) for i in page["issues"]]
    ideas = json.loads((landing / "jira/api/search_jql_IDEA_page_1.json").read_text("utf-8"))["issues"]
    return {i["key"]: i for i in [*issues, *ideas]}


def _points(fields: dict) -> float | None:
    return (
        fields.get("customfield_10028")
        if fields.get("customfield_10028") is not None
        else fields.get("customfield_10016")
    )


class Replay:
    """One issue's field values at any instant, from its (possibly truncated) changelog and current fields."""

    def __init__(self, issue: dict):
        self.items: dict[str, list[tuple[datetime, dict]]] = {}
        for history in issue["changelog"]["histories"]:
            at = _api_time(history["created"])
            for item in history["items"]:
                self.items.setdefault(item["field"], []).append((at, item))
        for changes in self.items.values():
            changes.sort(key=lambda c: c[0])
        fields = issue["fields"]
        sprint_ids = tuple(str(s["id"]) for s in fields["customfield_10020"] or ())
        points = _points(fields)
        self.current = {"status": fields["status"]["name"], "Sprint": sprint_ids, "points": points}

    def _at(self, field: str, at: datetime, parse, current):
        changes = self.items.get(field, [])
        before = [item for t, item in changes if t <= at]
        if before:
            return parse(before[-1], "to")
        return parse(changes[0][1], "from") if changes else current

    def status(self, at: datetime) -> str:
        return self._at("status", at, lambda item, side: item[f"{side}String"], self.current["status"])

    def sprints(self, at: datetime) -> tuple[str, ...]:
        return self._at("Sprint", at, lambda item, side: _ids(item[side]), self.current["Sprint"])

    def points(self, at: datetime) -> float:
        changes = self.items.get("Story Points") or self.items.get("Story point estimate") or []
        before = [item for t, item in changes if t <= at]
        text = before[-1]["toString"] if before else (changes[0][1]["fromString"] if changes else None)
        value = float(text) if text else (None if changes else self.current["points"])
        return value or 0.0

    def entered(self, sprint_id: str) -> list[datetime]:
        return [
            t
            for t, item in self.items.get("Sprint", [])
            if sprint_id in _ids(item["to"]) and sprint_id not in _ids(item["from"])
        ]

    def status_moves(self) -> list[tuple[datetime, str, str]]:
        return [(t, item["fromString"], item["toString"]) for t, item in self.items.get("status", [])]


def _ids(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _csv_table(landing: Path) -> tuple[list[str], list[list[str]]]:
    text = (landing / "jira/csv/Jira.csv").read_text("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def _column(header: list[str], english: str, language: str) -> list[int]:
    name = english if language == "en" else HEADERS[english][("fr", "de", "es").index(language)]
    return [n for n, h in enumerate(header) if h == name]


def _csv_time(moment: datetime, language: str, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    month = MONTHS[language][local.month - 1]
    if language == "en":
        return f"{local:%d}/{month}/{local:%y} {local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    return f"{local:%d}/{month}/{local:%y} {local:%H:%M}"


# ------------------------------------------------------------------------------------------------ tests


def test_same_seed_same_bytes_and_json_independent_of_csv_options(tmp_path, sample):
    landing, truths = sample
    again = generate_jira(tmp_path / "again")
    assert _files(landing) == _files(tmp_path / "again")
    assert again.to_dict() == truths.to_dict()
    other = generate_jira(tmp_path / "fr", language="fr", csv_timezone="America/New_York", formats=("json",))
    api = {k: v for k, v in _files(landing).items() if k.startswith("jira/api/")}
    assert _files(tmp_path / "fr") == api
    assert other.files == tuple(sorted(api))
    generate_jira(tmp_path / "seed8", seed=8)
    assert _files(tmp_path / "seed8") != _files(landing)
    json.dumps(truths.to_dict())  # JSON-ready


def test_no_partial_files_left_and_formats_flag(tmp_path, sample):
    landing, truths = sample
    assert not [p for p in landing.rglob(".*")]
    assert set(truths.files) == set(_files(landing))
    generate_jira(tmp_path, formats=("csv",))
    assert list(_files(tmp_path)) == ["jira/csv/Jira.csv"]
    with pytest.raises(ValueError, match="language"):
        generate_jira(tmp_path, language="it")
    with pytest.raises(ValueError, match="formats"):
        generate_jira(tmp_path, formats=("xml",))


def test_search_pages_add_up_and_have_cloud_shapes(sample):
    landing, truths = sample
    pages = _search_pages(landing)
    assert len(pages) >= 2
    seen = []
    for page in pages:
        assert page["maxResults"] == 50 and page["startAt"] == len(seen)
        assert page["total"] == pages[0]["total"]
        assert len(page["issues"]) == 50 or page is pages[-1]
        seen += [i["key"] for i in page["issues"]]
    assert len(seen) == len(set(seen)) == pages[0]["total"]
    assert seen[:3] == ["PROD-1", "PROD-2", "PROD-3"]
    issues = _json_issues(landing)
    for key in ("PROD-1", "PROD-2", "PROD-3"):
        issuetype = issues[key]["fields"]["issuetype"]
        assert (issuetype["name"], issuetype["hierarchyLevel"], issuetype["subtask"]) == ("Initiative", 2, False)
    levels = Counter(i["fields"]["issuetype"]["hierarchyLevel"] for i in issues.values())
    assert set(levels) == {-1, 0, 1, 2}
    ideas_page = json.loads((landing / "jira/api/search_jql_IDEA_page_1.json").read_text("utf-8"))
    assert ideas_page["isLast"] is True and "startAt" not in ideas_page and "nextPageToken" not in ideas_page
    assert [i["key"] for i in ideas_page["issues"]] == [f"IDEA-{n}" for n in range(1, len(ideas_page["issues"]) + 1)]
    assert 6 <= len(ideas_page["issues"]) <= 10
    assert sum(truths.issue_counts.values()) == len(issues)

    for issue in issues.values():
        fields = issue["fields"]
        assert fields["status"]["statusCategory"]["key"] in {"new", "indeterminate", "done"}
        assert _api_time(fields["created"]) <= _api_time(fields["updated"])
        assert fields["description"] is None or fields["description"]["type"] == "doc"
        if fields["issuetype"]["hierarchyLevel"] == 0 and issue["key"].startswith("PROD"):
            parent = fields["parent"]
            assert parent["fields"]["issuetype"]["name"] == "Epic"
            assert fields["customfield_10014"] in (None, parent["key"])
    stories = [i for i in issues.values() if i["fields"]["issuetype"]["name"] in ("Story", "Bug")]
    epic_links = sum(i["fields"]["customfield_10014"] is not None for i in stories)
    assert 0.3 < epic_links / len(stories) < 0.7
    by_field = Counter("10028" if i["fields"]["customfield_10028"] is not None else "10016" for i in stories
                       if _points(i["fields"]) is not None)  # fmt: skip
    assert by_field["10028"] > 5 and by_field["10016"] > 5
    for issue in stories:
        for sprint in issue["fields"]["customfield_10020"] or ():
            assert set(sprint) >= {"id", "name", "state", "boardId"}

    catalog = {f["id"]: f for f in json.loads((landing / "jira/api/field.json").read_text("utf-8"))}
    assert catalog["customfield_10028"]["name"] == "Story Points"
    assert catalog["customfield_10016"]["name"] == "Story point estimate"
    assert catalog["customfield_10020"]["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint"
    assert catalog["customfield_10014"]["name"] == "Epic Link"
    assert {catalog[f"customfield_{n}"]["name"] for n in range(10040, 10044)} == {
        "Reach",
        "Impact",
        "Confidence",
        "Effort",
    }


def test_sprint_page_closed_active_future(sample):
    landing, truths = sample
    page = json.loads((landing / "jira/api/board_1_sprint.json").read_text("utf-8"))
    states = [s["state"] for s in page["values"]]
    assert states == ["closed"] * (len(states) - 3) + ["active", "future", "future"]
    for sprint in page["values"]:
        assert sprint["originBoardId"] == 1
        dated = {"startDate", "endDate"} <= set(sprint)
        assert dated == (sprint["state"] != "future")
        assert ("completeDate" in sprint) == (sprint["state"] == "closed")
    closed = [s for s in page["values"] if s["state"] == "closed"]
    for a, b in itertools.pairwise(closed):
        gap = datetime.strptime(b["startDate"], SPRINT_TIME) - datetime.strptime(a["startDate"], SPRINT_TIME)
        assert 13.9 < gap.total_seconds() / 86400 < 14.1
    assert [s.sprint_id for s in truths.sprints] == [s["id"] for s in page["values"]]


def test_cycle_and_lead_times_match_the_written_changelog(sample):
    landing, truths = sample
    issues = _json_issues(landing)
    cut = {c.issue_key: c for c in truths.changelog_truncated}
    assert len(cut) == 1
    cycle, lead = {}, {}
    for key, issue in issues.items():
        fields = issue["fields"]
        if fields["issuetype"]["name"] not in ("Story", "Bug") or fields["status"]["statusCategory"]["key"] != "done":
            continue
        moves = Replay(issue).status_moves()
        done = [t for t, _a, b in moves if b == "Done"][-1]
        assert done == _api_time(fields["resolutiondate"])
        lead[key] = (done - _api_time(fields["created"])).total_seconds()
        started = [t for t, _a, b in moves if b == "In Progress"]
        if key in cut:
            changelog = issue["changelog"]
            assert changelog["total"] == cut[key].total > len(changelog["histories"]) == cut[key].written
            assert changelog["maxResults"] < changelog["total"]
            assert not [1 for _t, a, _b in moves if a == "To Do"], "the first move to In Progress must be cut"
            continue
        cycle[key] = (done - started[0]).total_seconds()
    assert cycle == {k: v for k, v in truths.cycle_seconds.items() if k not in cut}
    assert lead == truths.lead_seconds
    assert set(truths.cycle_seconds) == set(lead)

    # the planted distribution: lognormal, median 4 days, sigma 0.6 (n ~ 70: tolerances of about 4 standard errors)
    logs = [math.log(s / 86400 / truths.cycle_median_days) for s in truths.cycle_seconds.values()]
    n = len(logs)
    assert n >= 40
    mean = sum(logs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
    assert abs(mean) < 4 * truths.cycle_sigma / math.sqrt(n)
    assert 0.45 < sd < 0.75


def test_reopens_re_estimates_and_changelog_variety(sample):
    landing, truths = sample
    issues = _json_issues(landing)
    reopened, re_estimated, bounced, handed_over = set(), set(), set(), set()
    for key, issue in issues.items():
        replay = Replay(issue)
        if any(a == "Done" and b in ("Reopened", "To Do") for _t, a, b in replay.status_moves()):
            reopened.add(key)
        if any(a == "In Review" and b == "In Progress" for _t, a, b in replay.status_moves()):
            bounced.add(key)
        for name in ("Story Points", "Story point estimate"):
            if any(item["fromString"] is not None for _t, item in replay.items.get(name, [])):
                re_estimated.add(key)
        if any(item["from"] is not None for _t, item in replay.items.get("assignee", [])):
            handed_over.add(key)
    assert reopened == set(truths.reopened_keys) and len(reopened) >= 3
    cut = {c.issue_key for c in truths.changelog_truncated}  # its early histories are not in the file
    assert re_estimated - cut == set(truths.re_estimated_keys) - cut and len(re_estimated) >= 3
    assert bounced and handed_over
    assert any("Reopened" in [b for _t, _a, b in Replay(issues[k]).status_moves()] for k in reopened)


def test_initiative_slip_and_ship_dates_from_the_changelog(sample):
    landing, truths = sample
    issues = _json_issues(landing)
    children = {}
    for issue in issues.values():
        parent = issue["fields"].get("parent")
        if parent:
            children.setdefault(parent["key"], []).append(issue)

    def below(key):
        for child in children.get(key, []):
            yield child
            yield from below(child["key"])

    for key in ("PROD-1", "PROD-2", "PROD-3"):
        issue, truth = issues[key], truths.initiatives[key]
        due = date.fromisoformat(issue["fields"]["duedate"])
        assert due == truth.due_date
        done_moves = [t for t, _a, b in Replay(issue).status_moves() if b == "Done"]
        descendants = list(below(key))
        assert truth.epics == sum(d["fields"]["issuetype"]["name"] == "Epic" for d in descendants)
        assert 2 <= truth.epics <= 4
        assert truth.stories + truth.bugs == sum(d["fields"]["issuetype"]["hierarchyLevel"] == 0 for d in descendants)
        assert truth.subtasks == sum(d["fields"]["issuetype"]["subtask"] for d in descendants)
        points = sum(_points(d["fields"]) or 0 for d in descendants if d["fields"]["issuetype"]["hierarchyLevel"] == 0)
        assert points == truth.total_story_points
        for epic in children[key]:
            assert 5 <= len(children[epic["key"]]) <= 15
            assert epic["fields"]["duedate"]
        if key == "PROD-3":
            assert not done_moves and not truth.shipped
            open_children = [
                d for d in descendants if d["fields"]["status"]["statusCategory"]["key"] == "indeterminate"
            ]
            assert open_children and due > date(2024, 3, 1)
            continue
        ship = done_moves[0]
        ship_date = ship.astimezone(PARIS).date()
        last_epic_done = max(_api_time(e["fields"]["resolutiondate"]) for e in children[key])
        assert last_epic_done.astimezone(PARIS).date() == ship_date
        assert max(_api_time(d["fields"]["resolutiondate"]) for d in descendants) == last_epic_done
        assert (ship, ship_date, (ship_date - due).days) == (truth.ship_at, truth.ship_date, truth.slip_days)
    assert truths.initiatives["PROD-2"].slip_days == 12
    assert truths.initiatives["PROD-1"].ship_date < truths.initiatives["PROD-1"].due_date
    assert {i.key for i in load_config(DEFAULT_CONFIG_PATH).initiatives} == set(truths.initiatives)


def test_sprint_figures_match_the_written_changelog(sample):
    landing, truths = sample
    issues = _json_issues(landing)
    page = json.loads((landing / "jira/api/board_1_sprint.json").read_text("utf-8"))
    exported = truths.exported_at
    replays = {k: Replay(i) for k, i in issues.items() if i["fields"]["issuetype"]["name"] in ("Story", "Bug")}
    carried_any = added_any = False
    for sprint, truth in zip(page["values"], truths.sprints, strict=True):
        if sprint["state"] == "future":
            assert truth.committed_keys == truth.added_keys == truth.completed_keys == ()
            continue
        sid = str(sprint["id"])
        start = datetime.strptime(sprint["startDate"], SPRINT_TIME)
        end = datetime.strptime(sprint["completeDate"], SPRINT_TIME) if "completeDate" in sprint else exported
        committed = {k for k, r in replays.items() if sid in r.sprints(start)}
        added = {k: t for k, r in replays.items() for t in r.entered(sid) if start < t <= end}
        at_end = {k for k, r in replays.items() if sid in r.sprints(end)}
        completed = {k for k in at_end if replays[k].status(end) in DONE_STATUSES}
        assert set(truth.committed_keys) == committed, sprint["name"]
        assert set(truth.added_keys) == set(added), sprint["name"]
        assert set(truth.completed_keys) == completed, sprint["name"]
        assert truth.committed_points == sum(replays[k].points(start) for k in committed)
        assert truth.added_points == sum(replays[k].points(t) for k, t in added.items())
        assert truth.completed_points == sum(replays[k].points(end) for k in completed)
        if sprint["state"] == "closed":
            carried = at_end - completed
            assert set(truth.carried_over_keys) == carried
            assert truth.carried_over_points == sum(replays[k].points(end) for k in carried)
            next_id = str(sprint["id"] + 1)
            assert all(next_id in replays[k].current["Sprint"] for k in carried)
            carried_any |= bool(carried)
        else:
            assert truth.carried_over_keys is None
        added_any |= bool(added)
    assert carried_any and added_any


def test_ideas_rice_inputs_as_written_and_normalised(sample):
    landing, truths = sample
    ideas = {k: i for k, i in _json_issues(landing).items() if k.startswith("IDEA-")}
    assert [t.key for t in truths.ideas] == sorted(ideas, key=lambda k: int(k.split("-")[1]))
    written_confidence = [ideas[t.key]["fields"]["customfield_10042"] for t in truths.ideas]
    assert written_confidence[:3] == [80, 0.8, "80%"]
    efforts = [ideas[t.key]["fields"]["customfield_10043"] for t in truths.ideas]
    assert efforts.count(None) == 1 and efforts.count(0) == 1
    for truth in truths.ideas:
        fields = ideas[truth.key]["fields"]
        assert fields["issuetype"]["name"] == "Idea" and fields["project"]["key"] == "IDEA"
        assert (fields["customfield_10040"], fields["customfield_10041"]) == (truth.reach_written, truth.impact_written)
        assert (
            fields["customfield_10042"] == truth.confidence_written
            and fields["customfield_10043"] == truth.effort_written
        )
        confidence = fields["customfield_10042"]
        confidence = float(confidence[:-1]) / 100 if isinstance(confidence, str) else confidence
        confidence = confidence / 100 if confidence > 1 else confidence
        assert truth.confidence == confidence and truth.impact in (0.25, 0.5, 1, 2, 3)
        effort = fields["customfield_10043"]
        expected = truth.reach * truth.impact * confidence / effort if effort else None
        assert truth.rice_score == expected
        links = fields["issuelinks"]
        assert [link["inwardIssue"]["key"] for link in links] == (
            [truth.implemented_by] if truth.implemented_by else []
        )
    assert [t.implemented_by for t in truths.ideas[:3]] == ["PROD-1", "PROD-2", "PROD-3"]


LANGUAGE_CASES = [("en", "Europe/Paris"), ("fr", "Europe/Paris"), ("de", "Europe/Berlin"), ("es", "America/New_York")]


@pytest.mark.parametrize(("language", "timezone"), LANGUAGE_CASES)
def test_csv_matches_json_in_each_language(tmp_path, sample, language, timezone):
    landing, truths = sample
    csv_truths = generate_jira(tmp_path, language=language, csv_timezone=timezone, formats=("csv",))
    assert csv_truths.to_dict() | {"language": "x", "csv_timezone": "x", "formats": "x", "files": "x"} == (
        truths.to_dict() | {"language": "x", "csv_timezone": "x", "formats": "x", "files": "x"}
    )
    header, rows = _csv_table(tmp_path)
    tz = ZoneInfo(timezone)
    for name in REPEATED:
        assert len(_column(header, name, language)) >= 2, name
    if language != "en":
        assert not set(header) & {"Issue key", "Created", "Labels", "Comment"}

    col = {name: _column(header, name, language) for name in HEADERS}
    issues = _json_issues(landing)
    assert [r[col["Issue key"][0]] for r in rows] == list(issues)  # ideas included, same order
    key_by_id = {r[col["Issue id"][0]]: r[col["Issue key"][0]] for r in rows}
    sprint_names = {str(s.sprint_id): s.name for s in truths.sprints}
    months_seen = set()
    for row in rows:
        key = row[col["Issue key"][0]]
        fields = issues[key]["fields"]
        assert row[col["Issue Type"][0]] == fields["issuetype"]["name"]
        assert row[col["Status"][0]] == fields["status"]["name"]
        created = _api_time(fields["created"])
        assert row[col["Created"][0]] == _csv_time(created, language, tz)
        months_seen.add(row[col["Created"][0]].split("/")[1])
        resolved = fields["resolutiondate"]
        assert row[col["Resolved"][0]] == (_csv_time(_api_time(resolved), language, tz) if resolved else "")
        parent = fields.get("parent")
        assert key_by_id.get(row[col["Parent"][0]]) == (parent["key"] if parent else None)
        assert (row[col["Custom field (Epic Link)"][0]] or None) == fields["customfield_10014"]
        for name, field in (("Story Points", "customfield_10028"), ("Story point estimate", "customfield_10016")):
            cell = row[col[f"Custom field ({name})"][0]]
            assert (float(cell) if cell else None) == fields[field]
        sprints = [row[n] for n in col["Sprint"] if row[n]]
        assert sprints == [sprint_names[str(s["id"])] for s in fields["customfield_10020"] or ()]
        assert [row[n] for n in col["Labels"] if row[n]] == fields["labels"]
        comments = [row[n] for n in col["Comment"] if row[n]]
        assert len(comments) == fields["comment"]["total"]
        for cell, comment in zip(comments, fields["comment"]["comments"], strict=True):
            when, account, body = cell.split(";", 2)
            assert when == _csv_time(_api_time(comment["created"]), language, tz)
            assert account == comment["author"]["accountId"] and body
    assert months_seen <= set(MONTHS[language]) and len(months_seen) >= 4
    assert any("\n" in row[col["Description"][0]] for row in rows)
    assert any("\n" in row[n] for row in rows for n in col["Comment"])


def test_csv_alone_recovers_the_csv_truths(tmp_path, sample):
    _landing, truths = sample
    generate_jira(tmp_path, formats=("csv",))
    header, rows = _csv_table(tmp_path)
    col = {name: _column(header, name, "en") for name in HEADERS}
    key_by_id = {r[col["Issue id"][0]]: r[col["Issue key"][0]] for r in rows}
    by_name = {s.name: s.sprint_id for s in truths.sprints}
    months = {m: n for n, m in enumerate(MONTHS["en"], start=1)}

    def parse(cell):
        if not cell:
            return None
        local = datetime.strptime(re.sub(r"/(\w+)/", lambda m: f"/{months[m[1]]:02d}/", cell), "%d/%m/%y %I:%M %p")
        return local.replace(tzinfo=PARIS).astimezone(UTC)

    for row in rows:
        truth = truths.issues[row[col["Issue key"][0]]]
        points = [row[col[f"Custom field ({n})"][0]] for n in ("Story Points", "Story point estimate")]
        assert truth.story_points == (float(next(p for p in points if p)) if any(points) else None)
        assert truth.status == row[col["Status"][0]]
        assert truth.parent_key == key_by_id.get(row[col["Parent"][0]])
        assert truth.sprint_ids == tuple(by_name[row[n]] for n in col["Sprint"] if row[n])
        assert (truth.created_at, truth.resolved_at) == (parse(row[col["Created"][0]]), parse(row[col["Resolved"][0]]))
        if truth.key in truths.lead_seconds:
            assert (truth.resolved_at - truth.created_at).total_seconds() == truths.lead_seconds[truth.key]


def test_the_status_catalog_categorises_every_status_the_exports_name(sample):
    landing, _ = sample
    catalog = json.loads((landing / "jira/api/status.json").read_text("utf-8"))
    categories = {status["name"]: status["statusCategory"]["key"] for status in catalog}
    assert len(categories) == len(catalog)  # one entry per status name
    named: dict[str, set[str]] = {}
    for page in sorted((landing / "jira/api").glob("search_*.json")):
        for issue in json.loads(page.read_text("utf-8"))["issues"]:
            status = issue["fields"]["status"]
            named.setdefault(status["name"], set()).add(status["statusCategory"]["key"])
            for history in issue["changelog"]["histories"]:
                for item in history["items"]:
                    if item["fieldId"] == "status":
                        named.setdefault(item["fromString"], set())
                        named.setdefault(item["toString"], set())
    assert set(named) <= set(categories)
    assert all(seen <= {categories[name]} for name, seen in named.items())  # the issues agree with the catalog
    only_in_changelogs = {name for name, seen in named.items() if not seen}
    assert only_in_changelogs, "the sample should exercise a status no issue is in now"
