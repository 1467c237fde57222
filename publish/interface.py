"""The published interface: every mart's columns and types, versioned from one release to the next.

What a BI reader depends on is the set of tables in ``published/marts.duckdb`` (and ``parquet/``), each with its
columns by name and their types; column order is not part of it (BI tools and SQL address columns by name). Each
release records that interface in ``_publication.json``, and the next release is compared with the one BI reads:

- additive: a table or a column added. Published, listed, minor version bump.
- breaking: a table or a column removed, a column retyped (any type change, a widening too: saved questions and
  extracts keep the old type), a column renamed. Published only when ``publish.acknowledged_interface_changes`` in
  the configuration names it; then listed with its note, major version bump. Otherwise nothing is published and the
  error lists each change with the configuration lines that would acknowledge it.

A rename cannot be told from a removal plus an addition by looking at two schemas, so it is one only when
acknowledged as ``renamed`` (``column: old, to: new``); otherwise the old name is a removal (breaking) and the new
one an addition. A rename that also changes the type is a rename plus a retype of the new name, each acknowledged.

An acknowledgement that matches no change of this release is either *applied* (it matches a change an earlier
release already published: it may be deleted from the configuration) or *stale* (it matches nothing ever seen:
reported, since it could otherwise let through a later, unintended change of that column).

Versions are ``MAJOR.MINOR``; a release that changes only data keeps its version. The first versioned release is
the baseline, 1.0. The history of versions travels from release to release in ``_publication.json`` and is rendered
for BI users into ``INTERFACE-CHANGELOG.md`` beside it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from core.config import InterfaceAcknowledgement
from core.settings import Paths

CHANGELOG_NAME = "INTERFACE-CHANGELOG.md"
CHECK_RECORD = "interface_check.json"  # under data/runs/: the latest decision, for `pmw summary`
BASELINE_VERSION = "1.0"
BREAKING_KINDS = ("table_removed", "removed", "renamed", "retyped")
ADDITIVE_KINDS = ("table_added", "added")
_PLAIN_YAML = re.compile(r"^[A-Za-z0-9_]+$")

# table -> its columns in column order, each {"name": ..., "type": ...} as DuckDB's information_schema names them
Interface = dict[str, list[dict[str, str]]]


@dataclass(frozen=True)
class InterfaceChange:
    kind: str  # one of ADDITIVE_KINDS or BREAKING_KINDS
    table: str
    column: str | None = None  # None for a table added or removed
    new_column: str | None = None  # renamed: the new name
    old_type: str | None = None
    new_type: str | None = None
    note: str | None = None  # from the acknowledgement, for BI users

    @property
    def breaking(self) -> bool:
        return self.kind in BREAKING_KINDS

    def describe(self) -> str:
        where = f"{self.table}.{self.column}"
        return {
            "table_added": f"table {self.table} added",
            "table_removed": f"table {self.table} removed",
            "added": f"{where} added ({self.new_type})",
            "removed": f"{where} removed (was {self.old_type})",
            "renamed": f"{where} renamed to {self.new_column} ({self.new_type})",
            "retyped": f"{where} retyped from {self.old_type} to {self.new_type}",
        }[self.kind]

    def acknowledgement(self) -> dict[str, str]:
        """The configuration entry that acknowledges this change (breaking kinds only)."""
        entry = {"table": self.table, "change": self.kind}
        if self.column is not None:
            entry["column"] = self.column
        if self.kind == "renamed":
            entry["to"] = str(self.new_column)
        if self.kind == "retyped":
            entry["to"] = str(self.new_type)
        return entry

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None} | {"breaking": self.breaking}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InterfaceChange:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


def acknowledgement_entry(ack: InterfaceAcknowledgement) -> dict[str, str]:
    """An acknowledgement as the entry InterfaceChange.acknowledgement() would write (its note left out)."""
    entry = {"table": ack.table, "change": ack.change}
    if ack.column is not None:
        entry["column"] = ack.column
    if ack.to is not None:
        entry["to"] = ack.to
    return entry


def yaml_entry(entry: dict[str, str]) -> str:
    """One flow-style YAML list item; values with YAML indicators (the comma of DECIMAL(18,2), []) are quoted."""
    return "- {" + ", ".join(f"{k}: {v if _PLAIN_YAML.match(v) else json.dumps(v)}" for k, v in entry.items()) + "}"


# ------------------------------------------------------------------------------------------------------ reading


def read_interface(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, tables: Sequence[str]) -> Interface:
    """The columns and types of ``tables`` in ``catalog.schema``, as information_schema reports them."""
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? order by table_name, ordinal_position",
        [catalog, schema],
    ).fetchall()
    wanted = set(tables)
    interface: Interface = {t: [] for t in sorted(wanted)}
    for table, column, data_type in rows:
        if table in wanted:
            interface[table].append({"name": column, "type": data_type})
    return interface


@dataclass(frozen=True)
class PreviousInterface:
    """The interface of the release BI reads now."""

    release_id: str
    tables: Interface
    version: str | None  # None: a release published before interfaces were versioned
    history: list[dict[str, Any]]


# ----------------------------------------------------------------------------------------------------- deciding


def diff_interfaces(
    previous: Interface, current: Interface, acknowledged: Sequence[InterfaceAcknowledgement] = ()
) -> list[InterfaceChange]:
    """Every change from ``previous`` to ``current``; renames only where acknowledged (else removed + added)."""
    changes: list[InterfaceChange] = []
    renames = {(a.table, a.column): a.to for a in acknowledged if a.change == "renamed"}
    for table in sorted(set(previous) | set(current)):
        if table not in current:
            changes.append(InterfaceChange("table_removed", table))
            continue
        if table not in previous:
            changes.append(InterfaceChange("table_added", table))
            continue
        old = {c["name"]: c["type"] for c in previous[table]}
        new = {c["name"]: c["type"] for c in current[table]}
        removed = [c for c in old if c not in new]
        added = [c for c in new if c not in old]
        for column in removed:
            target = renames.get((table, column))
            if target is not None and target in added:
                added.remove(target)
                changes.append(InterfaceChange("renamed", table, column, target, old[column], new[target]))
                if old[column] != new[target]:
                    changes.append(InterfaceChange("retyped", table, target, None, old[column], new[target]))
            else:
                changes.append(InterfaceChange("removed", table, column, old_type=old[column]))
        changes += [InterfaceChange("added", table, c, new_type=new[c]) for c in added]
        changes += [
            InterfaceChange("retyped", table, c, None, old[c], new[c]) for c in old if c in new and old[c] != new[c]
        ]
    return changes


def next_version(version: str | None, changes: Sequence[InterfaceChange]) -> str:
    """MAJOR.MINOR: major up on a breaking change, minor up on an addition, the same for data-only releases."""
    if version is None:
        return BASELINE_VERSION
    major, minor = (int(x) for x in version.split("."))
    if any(c.breaking for c in changes):
        return f"{major + 1}.0"
    if changes:
        return f"{major}.{minor + 1}"
    return version


@dataclass
class InterfaceCheck:
    interface: Interface
    previous_release_id: str | None
    previous_version: str | None
    version: str  # the version the new release gets (the current one while blocked)
    baseline: bool  # the first versioned release
    changes: list[InterfaceChange] = field(default_factory=list)  # against the release BI reads
    blocked: list[InterfaceChange] = field(default_factory=list)  # breaking and not acknowledged
    stale: list[dict[str, str]] = field(default_factory=list)  # acknowledgements that match no change, ever
    applied: list[dict[str, str]] = field(default_factory=list)  # acknowledgements already published (+ version)
    # A blocked removal -> the rename entries that would also acknowledge it (same-typed columns added beside it)
    alternatives: dict[InterfaceChange, list[dict[str, str]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "previous_version": self.previous_version,
            "previous_release_id": self.previous_release_id,
            "baseline": self.baseline,
            "changes": [c.to_dict() for c in self.changes],
            "blocked": [
                c.to_dict() | {"acknowledge_with": [yaml_entry(e) for e in self._entries_for(c)]} for c in self.blocked
            ],
            "stale_acknowledgements": self.stale,
            "applied_acknowledgements": self.applied,
        }

    def _entries_for(self, change: InterfaceChange) -> list[dict[str, str]]:
        return [change.acknowledgement(), *self.alternatives.get(change, [])]

    def blocked_message(self, config_path: Path | None) -> str:
        """What the operator reads when publication is blocked: each change and the lines that acknowledge it."""
        where = str(config_path) if config_path else "the configuration"
        served = f"release {self.previous_release_id} (interface {self.previous_version or 'unversioned'})"
        lines = [
            f"not published: {len(self.blocked)} change(s) to the published interface would break BI readers and "
            f"are not acknowledged; {served} stays served. Each one, if intended, is acknowledged by name in "
            f"{where} under publish.acknowledged_interface_changes:",
        ]
        for change in self.blocked:
            entries = self._entries_for(change)
            lines.append(f"  {change.describe()}: acknowledge with")
            lines.append(f"    {yaml_entry(entries[0])}")
            for alternative in entries[1:]:
                lines.append(f"    or, if it was renamed to {alternative['to']}: {yaml_entry(alternative)}")
        additive = [c for c in self.changes if not c.breaking]
        if additive:
            lines.append("also changed (additive, published without acknowledgement once the above are resolved):")
            lines += [f"  {c.describe()}" for c in additive]
        if self.stale:
            lines.append("acknowledgements that match no change, now or in any earlier release (stale; remove them):")
            lines += [f"  {yaml_entry(entry)}" for entry in self.stale]
        return "\n".join(lines)


def check_interface(
    previous: PreviousInterface | None,
    current: Interface,
    acknowledged: Sequence[InterfaceAcknowledgement] = (),
) -> InterfaceCheck:
    """Compare ``current`` with the release BI reads, decide what the acknowledgements allow, name the rest."""
    if previous is None:
        return InterfaceCheck(current, None, None, BASELINE_VERSION, baseline=True)
    changes = diff_interfaces(previous.tables, current, acknowledged)
    by_entry = {json.dumps(acknowledgement_entry(a), sort_keys=True): a for a in acknowledged}
    used: set[str] = set()
    recorded, blocked = [], []
    for change in changes:
        if not change.breaking:
            recorded.append(change)
            continue
        key = json.dumps(change.acknowledgement(), sort_keys=True)
        ack = by_entry.get(key)
        if ack is None:
            blocked.append(change)
            recorded.append(change)
        else:
            used.add(key)
            recorded.append(InterfaceChange(**{**asdict(change), "note": ack.note}))
    published = {
        json.dumps(InterfaceChange.from_dict(c).acknowledgement(), sort_keys=True): entry["version"]
        for entry in previous.history
        for c in entry.get("changes", [])
        if c.get("breaking")
    }
    stale, applied = [], []
    for key, ack in by_entry.items():
        if key in used:
            continue
        if key in published:
            applied.append(acknowledgement_entry(ack) | {"published_in_version": published[key]})
        else:
            stale.append(acknowledgement_entry(ack))
    check = InterfaceCheck(
        interface=current,
        previous_release_id=previous.release_id,
        previous_version=previous.version,
        version=previous.version or BASELINE_VERSION,
        baseline=previous.version is None,
        changes=recorded,
        blocked=blocked,
        stale=stale,
        applied=applied,
    )
    # A removed column with a column of the same type added to its table may have been renamed: offer that entry.
    for change in blocked:
        if change.kind == "removed":
            check.alternatives[change] = [
                {"table": change.table, "change": "renamed", "column": str(change.column), "to": str(c.column)}
                for c in changes
                if c.kind == "added" and c.table == change.table and c.new_type == change.old_type
            ]
    if not blocked and previous.version is not None:
        check.version = next_version(previous.version, recorded)
    return check


def release_interface(check: InterfaceCheck, previous: PreviousInterface | None, release_id: str, at: str) -> dict:
    """The ``interface`` entry of a new release's _publication.json: version, changes, columns and history."""
    history = list(previous.history) if previous is not None else []
    if check.baseline or check.version != check.previous_version:
        history.append(
            {
                "version": check.version,
                "release_id": release_id,
                "published_at": at,
                "baseline": check.baseline,
                "previous_release_id": check.previous_release_id,
                "changes": [c.to_dict() for c in check.changes],
                "tables": len(check.interface),
                "columns": sum(len(columns) for columns in check.interface.values()),
            }
        )
    return {
        "version": check.version,
        "previous_version": check.previous_version,
        "baseline": check.baseline,
        "changes": [c.to_dict() for c in check.changes],
        "stale_acknowledgements": check.stale,
        "applied_acknowledgements": check.applied,
        "changelog": CHANGELOG_NAME,
        "tables": check.interface,
        "history": history,
    }


# --------------------------------------------------------------------------------------------------- rendering


def render_changelog(interface_record: dict) -> str:
    """INTERFACE-CHANGELOG.md: for a BI user, what changed in the tables and columns they query, newest first,
    then every table's columns as they are now."""
    tables: Interface = interface_record["tables"]
    lines = [
        "# Published interface changelog",
        "",
        "The tables of `marts.duckdb` (and `parquet/<table>.parquet`) beside this file, their columns and types.",
        "The version is MAJOR.MINOR: MAJOR goes up when a table or column is removed, renamed or changes type (a",
        "saved question that uses it must be changed), MINOR when one is added (nothing breaks). A release that",
        "changes only data keeps its version.",
        "",
        f"Current version: **{interface_record['version']}**",
    ]
    for entry in reversed(interface_record["history"]):
        lines += ["", f"## {entry['version']} (release {entry['release_id']}, {entry['published_at'][:19]}Z)"]
        changes = [InterfaceChange.from_dict(c) for c in entry["changes"]]
        if entry["baseline"]:
            lines += [
                "",
                f"Baseline: the first versioned release of the published interface, {entry['tables']} tables and "
                f"{entry['columns']} columns.",
            ]
            if changes:
                lines.append(f"Compared with the unversioned release {entry['previous_release_id']} before it:")
        breaking = [c for c in changes if c.breaking]
        additive = [c for c in changes if not c.breaking]
        if breaking:
            lines += ["", "Breaking (update the saved questions and dashboards that use these):", ""]
            lines += [f"- `{c.describe()}`" + (f": {c.note}" if c.note else "") for c in breaking]
        if additive:
            lines += ["", "Added:", ""]
            lines += [f"- `{c.describe()}`" for c in additive]
    lines += ["", f"## Current interface ({interface_record['version']})", ""]
    for table, columns in tables.items():
        lines.append(f"- `{table}`: " + ", ".join(f"{c['name']} {c['type']}" for c in columns))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------------ recording


def record_check(paths: Paths, run_id: str, status: str, check: InterfaceCheck) -> None:
    """data/runs/interface_check.json: the latest decision (published, unchanged or blocked), for `pmw summary`.
    Written under a temp name and renamed, so a reader never sees half of it."""
    payload = {"run_id": run_id, "status": status, "checked_at": datetime.now(UTC).isoformat(), **check.to_dict()}
    paths.runs_dir.mkdir(parents=True, exist_ok=True)
    final = paths.runs_dir / CHECK_RECORD
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def read_check(paths: Paths) -> dict | None:
    """The latest interface decision, or None before the first publish of this data directory."""
    path = paths.runs_dir / CHECK_RECORD
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
