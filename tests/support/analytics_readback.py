"""Read a generated analytics sample back the way a vendor-aware reader would, independently of the generator:
every event of the files, deduplicated on each vendor's event key, with malformed lines set aside."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sample_generator import AnalyticsTruths
from sample_generator.analytics import MIXPANEL_TIMEZONE

AMPLITUDE_TIME = "%Y-%m-%d %H:%M:%S.%f"
SEGMENT_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def amplitude_members(landing: Path, truths: AnalyticsTruths):
    """(file, member, [lines]) for every Amplitude member, whatever the archive's file name says."""
    for rel in truths.files:
        if not rel.startswith("analytics/amplitude/"):
            continue
        with zipfile.ZipFile(landing / rel) as zf:  # one of them is named .json.gz but is a ZIP
            for name in zf.namelist():
                body = zf.read(name)
                assert body[:2] == b"\x1f\x8b", f"{rel}:{name} is not gzip"
                yield rel, name, gzip.decompress(body).decode("utf-8").split("\n")[:-1]


def mixpanel_lines(landing: Path, truths: AnalyticsTruths):
    for rel in truths.files:
        if rel.startswith("analytics/mixpanel/"):
            raw = (landing / rel).read_bytes()
            text = (gzip.decompress(raw) if rel.endswith(".gz") else raw).decode("utf-8")
            yield rel, text.split("\n")[:-1]


def mixpanel_utc(shifted_seconds: int) -> datetime:
    """Undo Mixpanel's shift: the number is the project-local wall clock written as if it were UTC."""
    wall = datetime.fromtimestamp(shifted_seconds, UTC).replace(tzinfo=None)
    return wall.replace(tzinfo=ZoneInfo(MIXPANEL_TIMEZONE)).astimezone(UTC)


class ReadBack:
    """Every event in the files, deduplicated on each vendor's event key, with malformed lines set aside."""

    def __init__(self, landing: Path, truths: AnalyticsTruths):
        self.lines: Counter[str] = Counter()
        self.events: dict[str, dict[tuple, tuple[str, str | None, datetime, dict]]] = defaultdict(dict)
        self.malformed: set[tuple[str, str | None, int, str]] = set()
        self.device_to_user: dict[str, str] = {}
        self.mixpanel_delays: list[float] = []
        self.mixpanel_offsets: set[int] = set()
        self.insert_ids: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for rel, member, lines in amplitude_members(landing, truths):
            for number, line in enumerate(lines, 1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    self.malformed.add((rel, member, number, "not_json"))
                    continue
                if "event_type" not in row:
                    self.malformed.add((rel, member, number, "missing_event_type"))
                    continue
                self.lines["amplitude"] += 1
                user = None if row["user_id"] is None else str(row["user_id"])
                if user is not None:
                    self.device_to_user.setdefault(row["device_id"], user)
                when = datetime.strptime(row["event_time"], AMPLITUDE_TIME).replace(tzinfo=UTC)
                self.events["amplitude"][row["uuid"]] = (row["event_type"], user, when, row["event_properties"])
        for rel, lines in mixpanel_lines(landing, truths):
            for number, line in enumerate(lines, 1):
                if line == "terminated early":
                    self.malformed.add((rel, None, number, "vendor_trailer"))
                    continue
                row = json.loads(line)
                props = row["properties"]
                if not str(props["time"]).isdigit():
                    self.malformed.add((rel, None, number, "non_numeric_time"))
                    continue
                self.lines["mixpanel"] += 1
                shifted = int(props["time"])
                when = mixpanel_utc(shifted)
                self.mixpanel_offsets.add(shifted - int(when.timestamp()))
                self.mixpanel_delays.append(props["mp_processing_time_ms"] / 1000 - when.timestamp())
                user = props.get("$user_id")
                key = (row["event"], props["distinct_id"], shifted, props["$insert_id"])
                self.insert_ids[props["$insert_id"]].add((row["event"], props["distinct_id"]))
                self.events["mixpanel"][key] = (row["event"], user, when, props)
        for rel in truths.files:
            if not rel.startswith("analytics/segment/"):
                continue
            reader = csv.DictReader(io.StringIO((landing / rel).read_text(encoding="utf-8"), newline=""))
            for row in reader:
                try:
                    when = datetime.strptime(row["timestamp"], SEGMENT_TIME).replace(tzinfo=UTC)
                except ValueError:
                    self.malformed.add((rel, None, reader.line_num, "unparseable_timestamp"))
                    continue
                self.lines["csv"] += 1
                self.events["csv"][row["id"]] = (row["event"], row["user_id"] or None, when, row)

    def by_user(self) -> dict[str, list[tuple[datetime, str, dict]]]:
        users: dict[str, list[tuple[datetime, str, dict]]] = defaultdict(list)
        for events in self.events.values():
            for name, user, when, props in events.values():
                if user is not None:
                    users[user].append((when, name, props))
        for events in users.values():
            events.sort(key=lambda e: e[0])
        return users
