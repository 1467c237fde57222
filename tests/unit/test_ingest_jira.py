"""ingest/jira: every layout (real API samples, synthetic REST pages, four CSV languages), the quarantine, the
manifest, idempotency and the lake contract."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.common import atomic
from ingest.common.lake import discard_pending
from ingest.common.manifest import read_manifest, read_manifest_record
from ingest.common.report import IngestReport
from ingest.jira import contract, ingest_jira

REAL_SAMPLES = PROJECT_ROOT.parent / "shared" / "fixtures" / "jira_api"
REPO_SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "jira"
OWN_SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "jira"
PARIS = "Europe/Paris"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


def make_config(**jira: Any) -> PipelineConfig:
    raw = {"analytics": {"mixpanel_project_timezone": "UTC"}, "jira": {"csv_timezone": PARIS, **jira}}
    return parse_config(raw, Path("test-pmw.yml"))


@pytest.fixture
def config() -> PipelineConfig:
    return make_config()


def real_sample(name: str) -> Path:
    path = REAL_SAMPLES / name
    if not path.exists():
        pytest.skip(f"real Jira sample {path} is absent (see /work/shared/fixtures/SOURCES.txt)")
    return path


def land(paths: Paths, name: str, data: bytes | str | Any) -> Path:
    target = paths.landing / "jira" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, Path):
        shutil.copyfile(data, target)
    elif isinstance(data, bytes):
        target.write_bytes(data)
    elif isinstance(data, str):
        target.write_text(data, encoding="utf-8")
    else:
        target.write_text(json.dumps(data), encoding="utf-8")
    return target


def run(paths: Paths, config: PipelineConfig, **kwargs: Any) -> IngestReport:
    report = ingest_jira(paths, config, **kwargs)
    for result in report.results:  # invariant 2, on every run of every test
        assert result.rows_in == result.rows_loaded + result.rows_rejected, result
    return report


def result_for(report: IngestReport, name: str):
    matches = [r for r in report.results if r.relative_path == f"jira/{name}"]
    assert len(matches) == 1, report.results
    return matches[0]


def rows(paths: Paths, entity: str, where: str = "true") -> list[dict[str, Any]]:
    glob = paths.lake / "_pending" / "jira" / entity / "*.parquet"
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{glob}') WHERE {where} ORDER BY _source_file, _record_number")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def issue(paths: Paths, key: str) -> dict[str, Any]:
    found = rows(paths, "issues", f"issue_key = '{key}'")
    assert len(found) == 1, found
    return found[0]


def quarantined(paths: Paths, sha256: str) -> list[tuple]:
    target = paths.quarantine_dir / "jira" / f"{sha256}.parquet"
    return duckdb.sql(
        f"SELECT _record_number, entity, record_key, reason FROM read_parquet('{target}') ORDER BY _record_number"
    ).fetchall()


def manifest(paths: Paths, sha256: str | None) -> dict[str, Any]:
    assert sha256 is not None
    record = read_manifest_record(paths, "jira", sha256)
    assert record is not None
    return record


def schema(path: Path) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]


def api_issue(key: str, issue_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "summary": f"summary of {key}",
        "issuetype": {"name": "Story", "hierarchyLevel": 0},
        "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
        "project": {"key": key.split("-")[0]},
        "created": "2024-03-01T10:00:00.000+0100",
        "updated": "2024-03-02T10:00:00.000+01:00",
    }
    return {"id": issue_id, "key": key, "self": f"https://x.test/rest/api/2/issue/{issue_id}", "fields": base | fields}


# ------------------------------------------------------------------------------------------------ real samples


def test_real_bare_issue_array_with_changelog_and_offsets_without_colon(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "issues.json", real_sample("faros_issues_with_changelog.json"))
    result = result_for(run(paths, config), "issues.json")
    assert (result.status, result.format, result.rows_in, result.rows_loaded) == ("loaded", "issue_array", 4, 4)

    test3 = issue(paths, "TEST-3")
    # No catalog and no names: Story Points and Sprint are found through this file's changelog items.
    assert test3["story_points"] == Decimal("1.00")
    assert test3["sprint_ids"] == [16, 18, 66, 19, 20, 23, 55, 15]
    assert test3["created_at"] == datetime(2021, 9, 16, 22, 42, 13, 869000)  # 15:42:13.869-0700
    assert test3["updated_at"] == datetime(2024, 3, 8, 17, 59, 28, 167000)  # -0800 in March
    assert (test3["changelog_total"], test3["changelog_loaded"], test3["changelog_complete"]) == (4, 4, True)
    assert test3["hierarchy_level"] == 0 and test3["epic_key"] is None
    assert len(rows(paths, "changelog", "issue_key = 'TEST-3'")) == 4
    sprint_change = rows(paths, "changelog", "issue_key = 'TEST-3' AND field = 'Sprint'")[0]
    assert sprint_change["field_id"] == "customfield_10020"
    assert sprint_change["to_id"] == "15, 16, 18, 19, 20, 23, 55, 66"
    assert sprint_change["changed_at"] == datetime(2024, 3, 8, 17, 59, 28, 180000)

    test1 = issue(paths, "TEST-1")
    assert test1["sprint_ids"] == []  # the field holds the string "{}": no sprint
    assert test1["status_category"] == "new" and test1["assignee_account_id"] == "1234:aaaaa-1234-1234-bbbb-123456785"
    test4 = issue(paths, "TEST-4")
    assert (test4["parent_key"], test4["epic_key"]) == ("TEST-4", "TEST-4")  # its parent is an epic (level 1)
    assert (test4["changelog_total"], test4["changelog_loaded"], test4["changelog_complete"]) == (2, 1, False)
    assert issue(paths, "TEST-2")["changelog_complete"] is False  # total 2, no histories

    comments = rows(paths, "comments")
    assert [(c["issue_key"], c["comment_index"], c["body"]) for c in comments] == [
        ("TEST-4", 1, "Comment"),
        ("TEST-4", 2, "Reply"),
    ]
    assert comments[0]["commented_at"] == datetime(2024, 7, 11, 6, 34, 48, 558000)
    sprint_66 = rows(paths, "sprints", "sprint_id = 66")
    assert [(s["board_id"], s["name"], s["state"], s["goal"]) for s in sprint_66] == [
        (46, "Test Sprint", "closed", "Nice goal")
    ]
    assert rows(paths, "sprints", "sprint_id = 55")[0]["start_at"] is None  # a future sprint

    record = manifest(paths, result.sha256)
    assert record["incomplete"] is True
    assert any("changelog cut short" in n and "TEST-2 (0 of 2), TEST-4 (1 of 2)" in n for n in record["notes"])
    assert any("comments cut short" in n and "TEST-4 (2 of 5)" in n for n in record["notes"])
    story_points = record["details"]["custom_fields"]["story_points"]
    assert story_points["candidates"] == [
        {"field_id": "customfield_10028", "via": "changelog items of this file (Story Points)"}
    ]
    assert story_points["served"] == {"customfield_10028": 1}
    assert story_points["unresolved"] == ["Story point estimate"]
    assert record["entity_rows"] == {"issues": 4, "changelog": 8, "sprints": 8, "comments": 2, "issue_links": 1}


def test_real_v3_issues_resolve_custom_fields_through_the_landed_catalog(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "a_issues.json", real_sample("faros_cloud_issues_airbyte_unwrapped.json"))
    land(paths, "z_fields.json", real_sample("faros_cloud_field_catalog.json"))
    report = run(paths, config)
    # The catalog is loaded first although its name sorts last.
    assert [r.relative_path for r in report.results] == ["jira/z_fields.json", "jira/a_issues.json"]
    catalog = result_for(report, "z_fields.json")
    assert (catalog.format, catalog.rows_loaded) == ("field_catalog", 74)
    fields = {r["field_id"]: r for r in rows(paths, "fields")}
    assert (fields["customfield_10028"]["name"], fields["customfield_10028"]["schema_type"]) == (
        "Story Points",
        "number",
    )
    assert fields["customfield_10020"]["schema_custom"] == "com.pyxis.greenhopper.jira:gh-sprint"

    result = result_for(report, "a_issues.json")
    assert (result.format, result.rows_loaded, result.entity_rows["changelog"]) == ("rest_v3", 5, 73)
    playg1 = issue(paths, "PLAYG-1")
    assert playg1["story_points"] == Decimal("5.00")
    assert playg1["sprint_ids"] == [16, 18, 19, 20, 23, 15]
    assert playg1["labels"] == ["Label1", "Label2"]
    assert playg1["created_at"] == datetime(2021, 9, 16, 22, 42, 13, 869000)
    assert (playg1["changelog_loaded"], playg1["changelog_complete"]) == (27, True)
    assert issue(paths, "PLAYG-7")["epic_key"] == "PLAYG-6"  # Epic Link customfield_10014
    assert issue(paths, "PLAYG-7")["fix_versions"] == ["Test Release 3"]
    assert issue(paths, "PLAYG-5")["status_category"] == "done"

    details = manifest(paths, result.sha256)["details"]["custom_fields"]
    assert details["story_points"]["served"] == {"customfield_10028": 1}
    assert details["epic_link"]["candidates"][0]["via"] == "field catalog jira/z_fields.json (Epic Link)"
    # JSM's Impact is a select list: not taken for the RICE impact.
    assert details["impact"]["skipped"] == ["customfield_10004 'Impact' has type option, not a number"]


def test_catalog_in_the_lake_serves_a_later_run(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "fields.json", real_sample("faros_cloud_field_catalog.json"))
    run(paths, config)
    land(paths, "issues.json", real_sample("faros_cloud_issues_airbyte_unwrapped.json"))
    run(paths, config)
    assert issue(paths, "PLAYG-7")["epic_key"] == "PLAYG-6"


@pytest.mark.parametrize(
    ("sample", "count", "sprint_id", "expected"),
    [
        (
            "gojira_agile_sprints.json",
            6,
            740,
            (734, "Iteration-10", "closed", datetime(2016, 4, 11, 14, 29, 3, 294000)),
        ),
        ("gojira_agile_sprints.json", 6, 845, (734, "Minimal Example Sprint", "future", None)),
        (
            "faros_cloud_sprints.json",
            10,
            15,
            (21, "PLAYG Sprint 1", "closed", datetime(2021, 9, 16, 22, 42, 19, 62000)),
        ),
    ],
)
def test_real_agile_sprint_pages(paths: Paths, config: PipelineConfig, sample, count, sprint_id, expected) -> None:
    land(paths, sample, real_sample(sample))
    result = result_for(run(paths, config), sample)
    assert (result.format, result.rows_in, result.rows_loaded) == ("agile_sprints", count, count)
    sprint = rows(paths, "sprints", f"sprint_id = {sprint_id}")[0]
    assert (sprint["board_id"], sprint["name"], sprint["state"], sprint["start_at"]) == expected


# ------------------------------------------------------------------------------------------------ synthetic REST


def test_v2_search_with_names_server_sprint_strings_epic_link_and_truncated_changelog(
    paths: Paths, config: PipelineConfig
) -> None:
    sprint_string = (
        "com.atlassian.greenhopper.service.sprint.Sprint@1a2b3c[id=12,rapidViewId=3,state=CLOSED,"
        "name=Sprint 1, the big one,startDate=2021-04-19T09:00:00.000+02:00,endDate=2021-04-30T17:00:00.000+02:00,"
        "completeDate=2021-04-30T14:21:33.000-0700,sequence=12]"
    )
    future_string = (
        "com.atlassian.greenhopper.service.sprint.Sprint@9f[id=13,rapidViewId=3,state=FUTURE,name=Sprint 2,"
        "startDate=<null>,endDate=<null>,completeDate=<null>,sequence=13]"
    )
    page = {
        "startAt": 0,
        "maxResults": 50,
        "total": 1,
        "names": {"customfield_20001": "Story Points", "customfield_20002": "Sprint", "customfield_20003": "Epic Link"},
        "issues": [
            api_issue(
                "OPS-7",
                "501",
                description="line one\nline two",
                customfield_20001="8",
                customfield_20002=[sprint_string, future_string],
                customfield_20003="OPS-1",
                assignee={"key": "JIRAUSER10100", "name": "jdoe"},
                components=[{"name": "Backend"}],
                resolutiondate=None,
                duedate="2021-05-15",
                timetracking={"originalEstimateSeconds": 7200, "timeSpentSeconds": 3600},
            )
            | {
                "changelog": {
                    "startAt": 0,
                    "maxResults": 2,
                    "total": 5,
                    "histories": [
                        {
                            "id": "1",
                            "author": {"name": "jdoe"},
                            "created": "2021-04-20T10:00:00.000+0200",
                            "items": [
                                {
                                    "field": "status",
                                    "fieldtype": "jira",
                                    "from": "1",
                                    "fromString": "Open",
                                    "to": "3",
                                    "toString": "In Progress",
                                },
                                {
                                    "field": "assignee",
                                    "fieldtype": "jira",
                                    "from": None,
                                    "fromString": None,
                                    "to": "jdoe",
                                    "toString": "John Doe",
                                },
                            ],
                        },
                        {"id": "2", "created": "2021-04-21T10:00:00.000+0200", "items": []},
                    ],
                }
            },
        ],
    }
    land(paths, "search.json", page)
    result = result_for(run(paths, config), "search.json")
    assert result.format == "rest_v2"
    ops7 = issue(paths, "OPS-7")
    assert ops7["story_points"] == Decimal("8.00") and ops7["epic_key"] == "OPS-1" and ops7["parent_key"] is None
    assert ops7["sprint_ids"] == [12, 13]
    assert ops7["assignee_account_id"] == "JIRAUSER10100"
    assert ops7["description_text"] == "line one\nline two"
    assert (ops7["components"], ops7["due_date"]) == (["Backend"], date(2021, 5, 15))
    assert (ops7["original_estimate_seconds"], ops7["time_spent_seconds"]) == (7200, 3600)
    assert ops7["labels"] is None  # not in the export: unknown, not empty
    assert (ops7["changelog_total"], ops7["changelog_loaded"], ops7["changelog_complete"]) == (5, 2, False)
    changes = rows(paths, "changelog")
    assert [(c["history_id"], c["item_index"], c["field"], c["to_value"]) for c in changes] == [
        ("1", 1, "status", "In Progress"),
        ("1", 2, "assignee", "John Doe"),
    ]
    assert changes[0]["changed_at"] == datetime(2021, 4, 20, 8, 0) and changes[0]["author_account_id"] == "jdoe"
    sprints = {s["sprint_id"]: s for s in rows(paths, "sprints")}
    assert (sprints[12]["name"], sprints[12]["state"], sprints[12]["board_id"]) == (
        "Sprint 1, the big one",
        "closed",
        3,
    )
    assert sprints[12]["complete_at"] == datetime(2021, 4, 30, 21, 21, 33)
    assert (sprints[13]["state"], sprints[13]["start_at"]) == ("future", None)
    record = manifest(paths, result.sha256)
    assert record["incomplete"] is True and any("OPS-7 (2 of 5)" in n for n in record["notes"])
    assert record["details"]["custom_fields"]["sprint"]["candidates"] == [
        {"field_id": "customfield_20002", "via": "names in the search response (Sprint)"}
    ]


def test_v3_jql_page_with_adf_parent_epic_explicit_field_id_and_jpd_fields(paths: Paths) -> None:
    config = make_config(
        custom_fields={
            "story_points": ["customfield_10016"],
            "reach": ["customfield_30001"],
            "impact": ["customfield_30002"],
            "confidence": ["customfield_30003"],
            "effort": ["customfield_30004"],
        }
    )
    adf = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "Hello "}, {"type": "mention", "attrs": {"text": "@Ana"}}],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}],
                    },
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}],
                    },
                ],
            },
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "a"}, {"type": "hardBreak"}, {"type": "text", "text": "b"}],
            },
        ],
    }
    epic_parent = {"id": "900", "key": "IDEA-1", "fields": {"issuetype": {"name": "Epic", "hierarchyLevel": 1}}}
    story_parent = {"id": "901", "key": "IDEA-2", "fields": {"issuetype": {"name": "Story", "hierarchyLevel": 0}}}
    issues = [
        api_issue(
            "IDEA-10",
            "10",
            description=adf,
            parent=epic_parent,
            customfield_10016=3,
            customfield_30001=1500,
            customfield_30002=2,
            customfield_30003=80,
            customfield_30004=0,
        ),
        api_issue("IDEA-11", "11", parent=story_parent, customfield_30003=0.8, customfield_30004=None),
        api_issue("IDEA-12", "12", customfield_30003="80%", customfield_30004=""),
        api_issue("IDEA-13", "13", customfield_30003={"value": "50"}, customfield_30004=2.5),
    ]
    land(paths, "jql.json", {"issues": issues, "nextPageToken": "abc", "isLast": False})
    result = result_for(run(paths, config), "jql.json")
    assert (result.format, result.rows_loaded) == ("rest_jql", 4)
    idea10 = issue(paths, "IDEA-10")
    assert idea10["description_text"] == "Hello @Ana\n\n- one\n- two\n\na\nb"
    assert (idea10["parent_key"], idea10["epic_key"], idea10["story_points"]) == ("IDEA-1", "IDEA-1", Decimal("3.00"))
    assert (idea10["reach"], idea10["impact"], idea10["confidence"], idea10["effort"]) == (1500.0, 2.0, 0.8, 0.0)
    assert idea10["changelog_total"] is None and idea10["changelog_complete"] is None  # no expand=changelog
    idea11 = issue(paths, "IDEA-11")
    assert (idea11["parent_key"], idea11["epic_key"]) == ("IDEA-2", None)  # parent is a story, not an epic
    assert (idea11["confidence"], idea11["effort"]) == (0.8, None)
    assert [issue(paths, k)["confidence"] for k in ("IDEA-12", "IDEA-13")] == [0.8, 0.5]
    assert [issue(paths, k)["effort"] for k in ("IDEA-12", "IDEA-13")] == [None, 2.5]
    details = manifest(paths, result.sha256)["details"]["custom_fields"]
    assert details["story_points"]["candidates"] == [{"field_id": "customfield_10016", "via": "config (explicit id)"}]
    assert details["confidence"]["served"] == {"customfield_30003": 4}


def test_single_issue_object_and_v3_detected_from_self_url(paths: Paths, config: PipelineConfig) -> None:
    one = api_issue("WEB-5", "55", status={"name": "Done", "statusCategory": {"key": "done"}})
    one["self"] = "https://x.test/rest/api/3/issue/55"
    land(paths, "one.json", one)
    land(paths, "page.json", {"startAt": 0, "maxResults": 1, "total": 9, "issues": [one | {"key": "WEB-6"}]})
    report = run(paths, config)
    assert result_for(report, "one.json").format == "single_issue"
    assert result_for(report, "page.json").format == "rest_v3"
    assert issue(paths, "WEB-5")["status_category"] == "done"


def test_confidence_out_of_range_is_quarantined(paths: Paths) -> None:
    config = make_config(custom_fields={"confidence": ["customfield_30003"]})
    land(paths, "p.json", [api_issue("IDEA-1", "1", customfield_30003=150)])
    result = result_for(run(paths, config), "p.json")
    assert quarantined(paths, result.sha256) == [
        (
            1,
            "issues",
            "IDEA-1",
            "issue IDEA-1 confidence (customfield_30003): 150 is not a confidence between 0 and 100%",
        )
    ]


# ------------------------------------------------------------------------------------------------ CSV


@pytest.mark.parametrize("language", ["en", "fr", "de", "es"])
def test_csv_in_each_language(paths: Paths, config: PipelineConfig, language: str) -> None:
    land(paths, f"export_{language}.csv", OWN_SAMPLES / f"export_{language}.csv")
    result = result_for(run(paths, config), f"export_{language}.csv")
    assert (result.format, result.rows_in, result.rows_loaded, result.rows_rejected) == ("csv", 2, 2, 0)
    epic, story = issue(paths, "LOC-1"), issue(paths, "LOC-2")
    assert epic["created_at"] == datetime(2024, 3, 12, 13, 15)  # 14:15 in Paris (CET)
    assert epic["updated_at"] == datetime(2024, 7, 2, 7, 5)  # 09:05 in Paris (CEST)
    assert (epic["hierarchy_level"], epic["status_category"], epic["labels"]) == (1, "indeterminate", ["alpha", "beta"])
    assert story["created_at"] == datetime(2024, 2, 3, 8, 5)
    assert (story["status_category"], story["story_points"]) == ("new", Decimal("2.50"))
    assert (story["parent_key"], story["epic_key"]) == ("LOC-1", "LOC-1")  # parent given by id 20001, an epic
    assert story["description_text"] == "First line\nsecond line, with a comma"
    assert (story["changelog_total"], story["changelog_complete"], story["sprint_ids"]) == (None, None, [])
    comment = rows(paths, "comments")
    assert [(c["issue_key"], c["author_account_id"], c["body"], c["commented_at"]) for c in comment] == [
        ("LOC-2", "acc-9", "Looks good; ship it", datetime(2024, 3, 12, 13, 15))
    ]


def test_csv_all_fields_export_repeated_headers_multiline_and_sprint_names(
    paths: Paths, config: PipelineConfig
) -> None:
    land(
        paths,
        "sprints.json",
        {
            "values": [
                {"id": 101, "state": "closed", "name": "SHOP Sprint 1", "originBoardId": 7},
                {"id": 102, "state": "active", "name": "SHOP Sprint 2", "originBoardId": 7},
            ]
        },
    )
    land(paths, "all.csv", OWN_SAMPLES / "export_en_all_fields.csv")
    report = run(paths, config)
    assert [r.format for r in report.results] == ["agile_sprints", "csv"]
    result = result_for(report, "all.csv")
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (3, 3, 0)

    epic = issue(paths, "SHOP-1")
    assert (epic["reach"], epic["impact"], epic["confidence"], epic["effort"]) == (1200.0, 2.0, 0.8, 3.0)
    assert epic["description_text"] == "The epic.\n\nSecond paragraph."
    assert (epic["due_date"], epic["components"], epic["fix_versions"]) == (date(2024, 9, 30), ["Web"], ["2024.3"])
    assert epic["updated_at"] == datetime(2024, 7, 12, 12, 15)  # 2:15 PM CEST
    story = issue(paths, "SHOP-2")
    assert story["labels"] == ["growth", "payments", "mobile"]
    assert story["components"] == ["Web", "API"]
    assert story["sprint_ids"] == [101, 102]
    assert (story["story_points"], story["confidence"], story["effort"]) == (Decimal("5.00"), 0.5, 0.0)
    assert (story["parent_key"], story["epic_key"], story["assignee_account_id"]) == ("SHOP-1", "SHOP-1", "acc-2")
    assert (story["resolution"], story["resolved_at"]) == ("Done", datetime(2024, 3, 12, 13, 15))
    assert (story["original_estimate_seconds"], story["time_spent_seconds"]) == (28800, 14400)
    assert story["description_text"] == "As a buyer\nI want one click"
    refund = issue(paths, "SHOP-3")
    assert (refund["story_points"], refund["epic_key"], refund["parent_key"]) == (Decimal("3.00"), "SHOP-1", None)
    assert (refund["confidence"], refund["effort"], refund["sprint_ids"], refund["labels"]) == (0.5, None, [102], [])
    comments = rows(paths, "comments")
    assert [(c["comment_index"], c["author_account_id"], c["body"]) for c in comments] == [
        (1, "acc-1", "Looks good; ship it"),
        (2, "acc-2", "Two lines:\n- first\n- second"),
    ]
    assert comments[1]["commented_at"] == datetime(2024, 3, 6, 15, 45)
    details = manifest(paths, result.sha256)["details"]
    assert details["custom_fields"]["story_points"] == {
        "Custom field (Story Points)": 1,
        "Custom field (Story point estimate)": 1,
    }
    assert details["csv_columns"]["labels"] == ["Labels", "Labels", "Labels"]


def test_csv_sprint_names_without_known_sprints_stay_null_with_a_note(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "all.csv", OWN_SAMPLES / "export_en_all_fields.csv")
    result = result_for(run(paths, config), "all.csv")
    assert issue(paths, "SHOP-2")["sprint_ids"] is None
    assert issue(paths, "SHOP-1")["sprint_ids"] == []
    notes = manifest(paths, result.sha256)["notes"]
    assert any("SHOP-2 'SHOP Sprint 1' (unknown)" in n and "SHOP-3 'SHOP Sprint 2' (unknown)" in n for n in notes)


# ------------------------------------------------------------------------------------------------ bad input

CSV_HEADER = "Issue key,Issue id,Summary,Created,Status Category\r\n"


def test_csv_date_in_no_configured_locale_quarantines_the_row(paths: Paths) -> None:
    config = make_config(csv_locales=["en", "de"])
    land(paths, "x.csv", CSV_HEADER + "A-1,1,ok,12/Mär/24 14:15,\r\nA-2,2,bad,12/mars/24 14:15,\r\n")
    result = result_for(run(paths, config), "x.csv")
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert quarantined(paths, result.sha256) == [
        (2, "issues", "A-2", "issue A-2 Created: '12/mars/24 14:15' is not a date in any configured locale (en, de)")
    ]
    raw = duckdb.sql(f"SELECT raw_record FROM read_parquet('{result.quarantine_file}')").fetchall()[0][0]
    assert json.loads(raw)[3] == ["Created", "12/mars/24 14:15"]


def test_duplicate_keys_conflicting_are_quarantined_identical_load_once(paths: Paths, config: PipelineConfig) -> None:
    land(
        paths,
        "x.csv",
        CSV_HEADER + "A-1,1,same,01/Mar/24 9:00 AM,\r\nA-2,2,one,01/Mar/24 9:00 AM,\r\n"
        "A-1,1,same,01/Mar/24 9:00 AM,\r\nA-2,2,other,01/Mar/24 9:00 AM,\r\n",
    )
    result = result_for(run(paths, config), "x.csv")
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert [r["issue_key"] for r in rows(paths, "issues")] == ["A-1"]
    reason = "duplicate issue key A-2 with conflicting content (records 2, 4)"
    assert quarantined(paths, result.sha256) == [(2, "issues", "A-2", reason), (4, "issues", "A-2", reason)]
    assert "identical duplicate issue keys loaded once: A-1 (records 1, 3)" in manifest(paths, result.sha256)["notes"]


def test_issues_missing_key_id_or_created_are_quarantined(paths: Paths, config: PipelineConfig) -> None:
    good = api_issue("B-1", "1")
    no_key = {k: v for k, v in api_issue("B-2", "2").items() if k != "key"}
    no_id = {k: v for k, v in api_issue("B-3", "3").items() if k != "id"}
    no_created = api_issue("B-4", "4", created=None)
    bad_date = api_issue("B-5", "5", updated="yesterday")
    land(paths, "x.json", [good, no_key, no_id, no_created, bad_date])
    result = result_for(run(paths, config), "x.json")
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (5, 1, 4)
    assert quarantined(paths, result.sha256) == [
        (2, "issues", None, "issue without a key"),
        (3, "issues", "B-3", "issue B-3 has no id"),
        (4, "issues", "B-4", "issue B-4 has no created date"),
        (5, "issues", "B-5", "issue B-5 updated: 'yesterday' is not an ISO-8601 timestamp"),
    ]


def test_csv_row_missing_id_or_created_is_quarantined(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "x.csv", CSV_HEADER + "C-1,,s,01/Mar/24 9:00 AM,\r\nC-2,2,s,,\r\nC-3,3,s,01/Mar/24 9:00 AM,Weird\r\n")
    result = result_for(run(paths, config), "x.csv")
    assert [q[3] for q in quarantined(paths, result.sha256)] == [
        "issue C-1 has no issue id",
        "issue C-2 has no created date",
        "issue C-3 Status Category: 'Weird' is not a status category in en, fr, de, es",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"issues": [1, 2', "malformed JSON in jira/bad.json: Expecting ',' delimiter at line 1 column 17 (char 16)"),
        (
            '{"foo": 1, "bar": []}',
            "unknown layout: jira/bad.json: a JSON object with keys ['bar', 'foo'] (expected a search response with "
            "'issues', an agile sprint page with 'values', one issue with 'key' and 'fields', or an array of issues "
            "or of fields)",
        ),
        (
            '{"errorMessages": ["Field \'x\' does not exist"], "errors": {}}',
            "unknown layout: jira/bad.json: a Jira error response, not an export: Field 'x' does not exist",
        ),
        (
            "Name,Email\r\nAna,a@x.test\r\n",
            "unknown layout: jira/bad.json: not JSON, and the first CSV row has no issue "
            "key column (saw 'Name', 'Email')",
        ),
        (
            "Issue key,Summary\r\nA-1,x\r\n",
            "jira/bad.json: the CSV header has no issue id column (looked for 'Issue id',"
            " 'ID de ticket', 'Identifiant de ticket', 'Vorgangs-ID', 'Vorgangs-Id', 'ID de la incidencia', "
            "'ID de incidencia' in the configured languages en, fr, de, es)",
        ),
        ("", "unknown layout: jira/bad.json: the file is empty"),
        (b"Issue key\xff", "jira/bad.json is not UTF-8 text: byte 9 (0xff)"),
    ],
)
def test_file_level_failures_name_the_file_and_the_problem(paths: Paths, config: PipelineConfig, content, message):
    land(paths, "bad.json", content)
    land(paths, "good.json", [api_issue("G-1", "1")])
    report = run(paths, config)
    bad = result_for(report, "bad.json")
    assert (bad.status, bad.error) == ("failed", message)
    assert manifest(paths, bad.sha256)["error"] == message
    assert result_for(report, "good.json").status == "loaded"  # other files go on
    assert not (paths.lake / "_pending" / "jira" / "issues" / f"{bad.sha256}.parquet").exists()


# ------------------------------------------------------------------------------------------------ lake, manifest


def test_same_bytes_load_once_and_rerun_writes_nothing(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "a.csv", OWN_SAMPLES / "export_fr.csv")
    first = result_for(run(paths, config), "a.csv")
    written = {p: p.stat().st_mtime_ns for p in first.lake_files}
    land(paths, "copy/b.csv", OWN_SAMPLES / "export_fr.csv")
    second = run(paths, config)
    assert [(r.relative_path, r.status) for r in second.results] == [
        ("jira/a.csv", "already_loaded"),
        ("jira/copy/b.csv", "skipped_duplicate"),
    ]
    assert second.new_lake_files == []
    assert {p: p.stat().st_mtime_ns for p in first.lake_files} == written
    assert len(rows(paths, "issues")) == 2
    (record,) = read_manifest(paths, "jira")
    assert record["aliases"] == ["jira/copy/b.csv"] and record["rows_in"] == 2
    assert record["lake_file"] == f"jira/issues/{first.sha256}.parquet"
    assert record["lake_files"] == [f"jira/issues/{first.sha256}.parquet", f"jira/comments/{first.sha256}.parquet"]


def test_parquet_schemas_equal_the_contract(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "issues.json", real_sample("faros_issues_with_changelog.json"))
    land(paths, "fields.json", real_sample("faros_cloud_field_catalog.json"))
    land(paths, "statuses.json", (REPO_SAMPLES / "faros_cloud_status_catalog.json").read_bytes())
    land(
        paths,
        "dupes.csv",
        CSV_HEADER + "A-1,1,x,01/Mar/24 9:00 AM,\r\nA-1,1,y,01/Mar/24 9:00 AM,\r\nA-2,2,z,02/Mar/24 9:00 AM,\r\n",
    )
    report = run(paths, config)
    written = {path.parent.name: path for result in report.results for path in result.lake_files}
    assert set(written) == set(contract.ENTITIES)
    for entity, columns in contract.ENTITIES.items():
        assert schema(written[entity]) == list(columns), entity
        assert schema(paths.lake / "jira" / entity / "_schema.parquet") == list(columns), entity
    quarantine_file = result_for(report, "dupes.csv").quarantine_file
    assert quarantine_file is not None and schema(quarantine_file) == list(contract.QUARANTINE_COLUMNS)
    assert {r["_source_format"] for r in rows(paths, "issues")} == {"issue_array", "csv"}


def test_a_crash_while_writing_leaves_no_partial_file_and_the_rerun_loads(
    paths: Paths, config: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = land(paths, "issues.json", real_sample("faros_issues_with_changelog.json"))
    real_replace = atomic._replace

    def crash_on_changelog(src: Path, dst: Path) -> None:
        if dst.parent.name == "changelog":
            raise KeyboardInterrupt("killed")
        real_replace(src, dst)

    monkeypatch.setattr(atomic, "_replace", crash_on_changelog)
    with pytest.raises(KeyboardInterrupt):
        ingest_jira(paths, config, files=[source])
    assert list((paths.lake / "_pending" / "jira" / "changelog").iterdir()) == []  # no final, no temp file
    assert read_manifest(paths, "jira") == []  # not recorded as loaded
    monkeypatch.setattr(atomic, "_replace", real_replace)

    lines: list[str] = []
    result = result_for(run(paths, config, files=[source], log=lines.append), "issues.json")
    assert (result.status, result.entity_rows["changelog"]) == ("loaded", 8)
    assert lines == [result.describe()] and lines[0].startswith("jira: loaded jira/issues.json [issue_array]")


def test_a_discarded_file_moves_every_entity_out_and_is_not_loaded_again(paths: Paths, config: PipelineConfig) -> None:
    land(paths, "a.csv", OWN_SAMPLES / "export_fr.csv")
    first = result_for(run(paths, config), "a.csv")
    moved = discard_pending(paths, "jira", first.sha256, reason="test: the operator rejected it")
    assert sorted(p.parent.name for p in moved) == ["comments", "issues"]
    assert not any((paths.lake / "_pending" / "jira").rglob(f"{first.sha256}.parquet"))
    again = result_for(run(paths, config), "a.csv")
    assert (again.status, again.rows_loaded) == ("discarded", 0)
    assert "the operator rejected it" in again.error
    assert not any((paths.lake / "_pending" / "jira").rglob("*.parquet"))
