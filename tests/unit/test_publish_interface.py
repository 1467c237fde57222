"""The versioned published interface: the diff of two releases' columns, what acknowledgements allow, the version,
the configuration entries, and publish() blocking, allowing and recording a change (in-process DuckDB)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from core.config import ConfigError, parse_config
from core.settings import Paths
from pmw.summary import build_summary, format_summary
from publish.interface import (
    CHANGELOG_NAME,
    PreviousInterface,
    check_interface,
    diff_interfaces,
    next_version,
    read_check,
    release_interface,
    render_changelog,
    yaml_entry,
)
from publish.release import InterfaceChangeBlocked, current_publication, publish


def _acks(*entries: dict):
    config = parse_config({"publish": {"acknowledged_interface_changes": list(entries)}}, Path("pmw.yml"))
    return config.publish.acknowledged_interface_changes


def _columns(**types: str) -> list[dict[str, str]]:
    return [{"name": name, "type": data_type} for name, data_type in types.items()]


BEFORE = {
    "fct_nps": _columns(month="DATE", nps="DOUBLE", responses="BIGINT"),
    "fct_old": _columns(id="INTEGER"),
}


def _previous(tables=None, version="1.0", history=()) -> PreviousInterface:
    return PreviousInterface("r1", BEFORE if tables is None else tables, version, list(history))


def _described(changes) -> list[str]:
    return [c.describe() for c in changes]


# ------------------------------------------------------------------------------------------------------ the diff


def test_an_identical_interface_has_no_change_and_column_order_is_not_part_of_it():
    reordered = {"fct_old": BEFORE["fct_old"], "fct_nps": list(reversed(BEFORE["fct_nps"]))}
    assert diff_interfaces(BEFORE, reordered) == []


def test_every_kind_of_change_is_found_and_only_removals_and_retypes_break():
    after = {
        "fct_nps": _columns(month="DATE", nps="DECIMAL(9,2)", detractors="BIGINT"),
        "fct_new": _columns(id="INTEGER"),
    }
    changes = diff_interfaces(BEFORE, after)
    assert _described(changes) == [
        "table fct_new added",
        "fct_nps.responses removed (was BIGINT)",
        "fct_nps.detractors added (BIGINT)",
        "fct_nps.nps retyped from DOUBLE to DECIMAL(9,2)",
        "table fct_old removed",
    ]
    assert [c.breaking for c in changes] == [False, True, False, True, True]


def test_a_rename_is_a_removal_plus_an_addition_unless_acknowledged_as_one():
    after = {**BEFORE, "fct_nps": _columns(month="DATE", nps_score="DOUBLE", responses="BIGINT")}
    assert _described(diff_interfaces(BEFORE, after)) == [
        "fct_nps.nps removed (was DOUBLE)",
        "fct_nps.nps_score added (DOUBLE)",
    ]
    renamed = diff_interfaces(
        BEFORE, after, _acks({"table": "fct_nps", "change": "renamed", "column": "nps", "to": "nps_score"})
    )
    assert _described(renamed) == ["fct_nps.nps renamed to nps_score (DOUBLE)"]


def test_a_rename_that_also_changes_the_type_is_a_rename_plus_a_retype_of_the_new_name():
    after = {**BEFORE, "fct_nps": _columns(month="DATE", nps_score="INTEGER", responses="BIGINT")}
    acks = _acks({"table": "fct_nps", "change": "renamed", "column": "nps", "to": "nps_score"})
    check = check_interface(_previous(), after, acks)
    assert _described(check.changes) == [
        "fct_nps.nps renamed to nps_score (INTEGER)",
        "fct_nps.nps_score retyped from DOUBLE to INTEGER",
    ]
    assert _described(check.blocked) == ["fct_nps.nps_score retyped from DOUBLE to INTEGER"]


def test_a_rename_acknowledgement_whose_new_name_is_absent_does_not_hide_the_removal():
    after = {**BEFORE, "fct_nps": _columns(month="DATE", responses="BIGINT")}
    acks = _acks({"table": "fct_nps", "change": "renamed", "column": "nps", "to": "nps_score"})
    check = check_interface(_previous(), after, acks)
    assert _described(check.blocked) == ["fct_nps.nps removed (was DOUBLE)"]
    assert check.stale == [{"table": "fct_nps", "change": "renamed", "column": "nps", "to": "nps_score"}]


# ------------------------------------------------------------------------------------------------- the decision


def test_the_first_release_is_the_baseline():
    check = check_interface(None, BEFORE)
    assert (check.version, check.baseline, check.changes, check.blocked) == ("1.0", True, [], [])


@pytest.mark.parametrize(
    ("version", "after", "expected"),
    [
        ("1.0", BEFORE, "1.0"),  # data-only release
        ("1.3", {**BEFORE, "fct_new": _columns(id="INTEGER")}, "1.4"),  # an addition
        ("1.3", {"fct_nps": BEFORE["fct_nps"]}, "2.0"),  # an acknowledged removal (major; minor back to 0)
    ],
)
def test_the_version_goes_major_on_breaking_minor_on_additive_and_stays_on_data_only(version, after, expected):
    check = check_interface(_previous(version=version), after, _acks({"table": "fct_old", "change": "table_removed"}))
    assert check.blocked == []
    assert check.version == expected
    assert next_version(version, check.changes) == expected


def test_an_unacknowledged_breaking_change_blocks_and_names_the_lines_that_acknowledge_it():
    after = {"fct_nps": _columns(month="DATE", nps_score="DOUBLE", responses="VARCHAR")}  # fct_old gone
    check = check_interface(_previous(), after)
    assert check.version == "1.0"  # the version BI reads stays
    message = check.blocked_message(Path("/etc/pmw.yml"))
    assert "not published: 3 change(s)" in message and "release r1 (interface 1.0) stays served" in message
    assert "/etc/pmw.yml under publish.acknowledged_interface_changes" in message
    assert (
        "  fct_nps.nps removed (was DOUBLE): acknowledge with\n    - {table: fct_nps, change: removed, column: nps}\n"
        in (message)
    )
    assert "or, if it was renamed to nps_score: - {table: fct_nps, change: renamed, column: nps, to: nps_score}" in (
        message
    )
    assert "- {table: fct_nps, change: retyped, column: responses, to: VARCHAR}" in message
    assert "- {table: fct_old, change: table_removed}" in message
    assert "also changed (additive" in message and "fct_nps.nps_score added (DOUBLE)" in message
    # Every suggested line, pasted into the configuration, acknowledges exactly what was blocked.
    lines = [line.strip().split(": - ")[-1] for line in message.splitlines() if line.strip().startswith("- {")]
    acks = _acks(*(yaml.safe_load(line)[0] for line in lines))
    assert check_interface(_previous(), after, acks).blocked == []


def test_acknowledged_changes_carry_their_note_and_unused_ones_are_applied_or_stale():
    history = [
        {"version": "1.0", "release_id": "r0", "published_at": "2024-01-01T00:00:00+00:00", "baseline": True},
        {
            "version": "2.0",
            "release_id": "r1",
            "published_at": "2024-02-01T00:00:00+00:00",
            "baseline": False,
            "changes": [
                {"kind": "removed", "table": "fct_nps", "column": "legacy", "old_type": "INTEGER", "breaking": True}
            ],
        },
    ]
    acks = _acks(
        {"table": "fct_old", "change": "table_removed", "note": "replaced by fct_new"},
        {"table": "fct_nps", "change": "removed", "column": "legacy"},
        {"table": "fct_nps", "change": "removed", "column": "never_there"},
        {"table": "fct_nps", "change": "retyped", "column": "nps", "to": "bigint"},  # type spelled in any case
    )
    check = check_interface(_previous(version="2.0", history=history), {"fct_nps": BEFORE["fct_nps"]}, acks)
    assert [(c.describe(), c.note) for c in check.changes] == [("table fct_old removed", "replaced by fct_new")]
    assert check.applied == [
        {"table": "fct_nps", "change": "removed", "column": "legacy", "published_in_version": "2.0"}
    ]
    assert check.stale == [
        {"table": "fct_nps", "change": "removed", "column": "never_there"},
        {"table": "fct_nps", "change": "retyped", "column": "nps", "to": "BIGINT"},
    ]
    assert check.version == "3.0"


def test_a_retype_acknowledgement_names_the_new_type_so_another_retype_is_still_blocked():
    after = {**BEFORE, "fct_nps": _columns(month="DATE", nps="VARCHAR", responses="BIGINT")}
    acks = _acks({"table": "fct_nps", "change": "retyped", "column": "nps", "to": "DECIMAL(9,2)"})
    check = check_interface(_previous(), after, acks)
    assert _described(check.blocked) == ["fct_nps.nps retyped from DOUBLE to VARCHAR"]
    assert check.stale == [{"table": "fct_nps", "change": "retyped", "column": "nps", "to": "DECIMAL(9,2)"}]


def test_yaml_entries_quote_what_flow_yaml_would_misread():
    entry = {"table": "t", "change": "retyped", "column": "c", "to": "DECIMAL(18,2)"}
    assert yaml_entry(entry) == '- {table: t, change: retyped, column: c, to: "DECIMAL(18,2)"}'
    assert yaml.safe_load(yaml_entry(entry)) == [entry]
    assert yaml.safe_load(yaml_entry(entry | {"to": "VARCHAR[]"})) == [entry | {"to": "VARCHAR[]"}]


# ----------------------------------------------------------------------------------------- the configuration


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"table": "t", "change": "renamed", "column": "a"}, "to: required by change 'renamed': the new column name"),
        ({"table": "t", "change": "renamed", "column": "a", "to": "a"}, "a rename needs a new name"),
        ({"table": "t", "change": "retyped", "column": "a", "to": "int;drop"}, "is not a column type"),
        ({"table": "t", "change": "removed"}, "column: required by change 'removed'"),
        ({"table": "t", "change": "removed", "column": "a", "to": "b"}, "to: not used by change 'removed'"),
        ({"table": "t", "change": "table_removed", "column": "a"}, "column: not used by change 'table_removed'"),
        ({"table": "t", "change": "dropped", "column": "a"}, "'dropped' is not one of removed, renamed, retyped"),
        ({"table": "T-1", "change": "table_removed"}, "table: 'T-1' is not a valid name"),
    ],
)
def test_an_acknowledgement_is_validated_with_its_key_named(entry, problem):
    with pytest.raises(ConfigError, match=r"publish\.acknowledged_interface_changes\[0\]") as raised:
        _acks(entry)
    assert problem in str(raised.value)


def test_the_same_change_acknowledged_twice_is_refused():
    entry = {"table": "t", "change": "removed", "column": "a"}
    with pytest.raises(ConfigError, match=r"\[1\]: removed of t.a is acknowledged more than once"):
        _acks(entry, entry | {"note": "again"})


# ------------------------------------------------------------------------------------------ through publish()


def _warehouse(paths: Paths, *statements: str) -> None:
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.warehouse_path)) as con:
        con.execute("create schema if not exists marts")
        for statement in statements:
            con.execute(statement)


@pytest.fixture
def paths(tmp_path) -> Paths:
    return Paths(tmp_path / "data").ensure()


def _served_files(paths: Paths) -> dict[str, bytes]:
    return {str(p.relative_to(paths.published)): p.read_bytes() for p in paths.published.rglob("*") if p.is_file()}


def test_publish_records_the_interface_blocks_a_rename_then_publishes_it_acknowledged(paths):
    _warehouse(paths, "create table marts.fct_a as select range as id, 'v' || range as label from range(3)")
    first = publish(paths, run_id="run-1")
    record = current_publication(paths)["interface"]
    assert (record["version"], record["baseline"], record["changes"]) == ("1.0", True, [])
    assert record["tables"] == {"fct_a": _columns(id="BIGINT", label="VARCHAR")}
    with duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True) as con:  # what BI really sees
        assert con.execute("select column_name, data_type from information_schema.columns").fetchall() == [
            ("id", "BIGINT"),
            ("label", "VARCHAR"),
        ]
    changelog = (paths.published / CHANGELOG_NAME).read_text(encoding="utf-8")
    assert "## 1.0 (release" in changelog and "Baseline: the first versioned release" in changelog
    assert "- `fct_a`: id BIGINT, label VARCHAR" in changelog
    assert oct((paths.published / CHANGELOG_NAME).stat().st_mode & 0o777) == "0o444"

    # Same rows, one column renamed: the row hashes may not change, the interface does.
    _warehouse(paths, "alter table marts.fct_a rename column label to title")
    served = _served_files(paths)
    with pytest.raises(InterfaceChangeBlocked) as blocked:
        publish(paths, run_id="run-2", config_path=Path("/cfg/pmw.yml"))
    assert "- {table: fct_a, change: renamed, column: label, to: title}" in str(blocked.value)
    assert _served_files(paths) == served and current_publication(paths)["release_id"] == first.release_id
    assert [p.name for p in paths.releases_dir.iterdir()] == [first.release_id]  # nothing built, nothing left
    assert read_check(paths)["status"] == "blocked" and read_check(paths)["run_id"] == "run-2"

    acks = _acks({"table": "fct_a", "change": "renamed", "column": "label", "to": "title", "note": "as in Jira"})
    second = publish(paths, run_id="run-3", acknowledged=acks)
    assert second.status == "published"
    interface = current_publication(paths)["interface"]
    assert interface["version"] == "2.0" and interface["previous_version"] == "1.0"
    assert interface["changes"] == [
        {
            "kind": "renamed",
            "table": "fct_a",
            "column": "label",
            "new_column": "title",
            "old_type": "VARCHAR",
            "new_type": "VARCHAR",
            "note": "as in Jira",
            "breaking": True,
        }
    ]
    assert [h["version"] for h in interface["history"]] == ["1.0", "2.0"]
    changelog = (paths.published / CHANGELOG_NAME).read_text(encoding="utf-8")
    assert changelog.index("## 2.0") < changelog.index("## 1.0")  # newest first
    assert "- `fct_a.label renamed to title (VARCHAR)`: as in Jira" in changelog
    assert read_check(paths)["status"] == "published"

    # A clean re-run flags nothing: unchanged, no change, no stale acknowledgement (the applied one is named).
    third = publish(paths, run_id="run-4", acknowledged=acks)
    assert third.status == "unchanged"
    check = read_check(paths)
    assert (check["status"], check["changes"], check["blocked"], check["stale_acknowledgements"]) == (
        "unchanged",
        [],
        [],
        [],
    )
    assert check["applied_acknowledgements"][0]["published_in_version"] == "2.0"
    assert publish(paths, run_id="run-5").status == "unchanged"  # the entry deleted: still nothing to flag
    assert read_check(paths)["applied_acknowledgements"] == []


def test_additions_publish_without_acknowledgement_and_data_only_releases_keep_the_version(paths):
    _warehouse(paths, "create table marts.fct_a as select range as id from range(3)")
    publish(paths, run_id="run-1")
    _warehouse(paths, "create table marts.fct_b as select 1 as id", "alter table marts.fct_a add column note varchar")
    publish(paths, run_id="run-2")
    assert current_publication(paths)["interface"]["version"] == "1.1"
    _warehouse(paths, "insert into marts.fct_a values (9, 'x')")
    assert publish(paths, run_id="run-3").status == "published"
    interface = current_publication(paths)["interface"]
    assert (interface["version"], interface["changes"]) == ("1.1", [])
    assert [h["version"] for h in interface["history"]] == ["1.0", "1.1"]


def test_a_release_from_before_versioning_is_compared_by_its_own_marts_and_republished_as_the_baseline(paths):
    _warehouse(paths, "create table marts.fct_a as select range as id, range * 2 as twice from range(3)")
    publish(paths, run_id="run-1")
    record_path = paths.published.resolve() / "_publication.json"
    legacy = json.loads(record_path.read_text(encoding="utf-8"))
    del legacy["interface"]
    record_path.chmod(0o644)
    record_path.write_text(json.dumps(legacy), encoding="utf-8")
    _warehouse(paths, "alter table marts.fct_a drop column twice")
    with pytest.raises(InterfaceChangeBlocked, match="interface unversioned"):
        publish(paths, run_id="run-2")
    _warehouse(paths, "alter table marts.fct_a add column twice bigint", "update marts.fct_a set twice = id * 2")
    assert publish(paths, run_id="run-3").status == "published"  # same marts, but now with an interface
    interface = current_publication(paths)["interface"]
    assert (interface["version"], interface["baseline"], interface["changes"]) == ("1.0", True, [])


def test_the_summary_shows_the_version_what_was_blocked_and_the_stale_acknowledgements(paths):
    _warehouse(paths, "create table marts.fct_a as select range as id, 'v' as label from range(3)")
    publish(paths, run_id="run-one-1")
    _warehouse(paths, "alter table marts.fct_a drop column label")
    with pytest.raises(InterfaceChangeBlocked):
        publish(paths, run_id="run-two-2", acknowledged=_acks({"table": "fct_gone", "change": "table_removed"}))
    text = format_summary(build_summary(paths))
    assert "published interface (the marts' columns and types BI queries):\n  version 1.0; changelog " in text
    assert "  BLOCKED in run run-two-" in text
    assert "    fct_a.label removed (was VARCHAR):\n      - {table: fct_a, change: removed, column: label}" in text
    assert "STALE acknowledgement (matches no change, now or before; remove it): - {table: fct_gone" in text


def test_the_changelog_lists_a_baseline_compared_with_an_unversioned_release():
    check = check_interface(
        PreviousInterface("r0", BEFORE, None, []),
        {"fct_nps": BEFORE["fct_nps"]},
        _acks({"table": "fct_old", "change": "table_removed"}),
    )
    text = render_changelog(release_interface(check, None, "r1", "2024-03-01T10:00:00+00:00"))
    assert "## 1.0 (release r1, 2024-03-01T10:00:00Z)" in text
    assert "Compared with the unversioned release r0 before it:" in text
    assert "- `table fct_old removed`" in text
