"""Issue links (jira/issue_links): REST ``fields.issuelinks`` and the UI CSV's repeated ``Outward / Inward issue
link (<type>)`` columns, checked against the generated sample's planted "Polaris work item link"s and the real
exports in /work/shared/fixtures/jira_api."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import load_config
from ingest.jira.load import parse_jira_file
from ingest.jira.locales import issue_link_header
from sample_generator.jira import generate_jira

REAL_SAMPLES = Path("/work/shared/fixtures/jira_api")


def link_tuples(rows: list[dict]) -> set[tuple]:
    return {(r["issue_key"], r["direction"], r["link_type"], r["linked_issue_key"]) for r in rows}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_sample_links_from_json_and_csv(tmp_path: Path, language: str) -> None:
    config = load_config()
    truths = generate_jira(tmp_path, language=language, csv_timezone=config.jira.csv_timezone, weeks=16)
    implemented = {(i.key, i.implemented_by) for i in truths.ideas if i.implemented_by}
    assert len(implemented) == 3
    expected = {(idea, "inward", "Polaris work item link", initiative) for idea, initiative in implemented} | {
        (initiative, "outward", "Polaris work item link", idea) for idea, initiative in implemented
    }
    by_format: dict[str, list[dict]] = {}
    for path in sorted((tmp_path / "jira").rglob("*.json")) + sorted((tmp_path / "jira").rglob("*.csv")):
        parsed = parse_jira_file(path, path.name, config)
        by_format.setdefault("csv" if path.suffix == ".csv" else "json", []).extend(parsed.entities["issue_links"])
    assert link_tuples(by_format["json"]) == expected
    assert link_tuples(by_format["csv"]) == expected
    phrases = {(r["direction"], r["link_phrase"]) for r in by_format["json"]}
    assert phrases == {("outward", "implements"), ("inward", "is implemented by")}
    assert {r["link_phrase"] for r in by_format["csv"]} == {None}  # the CSV has no phrases, and no link ids
    assert all(r["link_id"] for r in by_format["json"])


def test_real_blocks_links_on_both_sides() -> None:
    path = REAL_SAMPLES / "faros_cloud_issues_airbyte_unwrapped.json"
    if not path.exists():
        pytest.skip(f"real Jira sample {path} is absent")
    parsed = parse_jira_file(path, path.name, load_config())
    assert link_tuples(parsed.entities["issue_links"]) == {
        ("PLAYG-4", "inward", "Blocks", "PLAYG-1"),
        ("PLAYG-1", "outward", "Blocks", "PLAYG-4"),
    }
    assert {(r["issue_key"], r["link_phrase"], r["link_id"]) for r in parsed.entities["issue_links"]} == {
        ("PLAYG-4", "is blocked by", "10610"),
        ("PLAYG-1", "blocks", "10610"),
    }


def test_a_link_without_a_direction_quarantines_its_issue(tmp_path: Path) -> None:
    issue = {
        "id": "1",
        "key": "A-1",
        "fields": {"created": "2024-01-02T10:00:00.000+0000", "issuelinks": [{"id": "9", "type": {"name": "Blocks"}}]},
    }
    path = tmp_path / "issues.json"
    path.write_text(json.dumps([issue]))
    parsed = parse_jira_file(path, "issues.json", load_config())
    assert parsed.rows_rejected == 1 and parsed.entities["issue_links"] == []
    assert "A-1 issuelinks[1]: expected exactly one of outwardIssue / inwardIssue" in parsed.quarantine[0]["reason"]


def test_link_headers_in_every_language() -> None:
    locales = ("en", "fr", "de", "es")
    assert issue_link_header("Outward issue link (Blocks)", locales) == ("outward", "Blocks")
    assert issue_link_header("Lien de ticket entrant (Polaris work item link)", locales) == (
        "inward",
        "Polaris work item link",
    )
    assert issue_link_header("Ausgehender Vorgangslink (Cloners)", locales) == ("outward", "Cloners")
    assert issue_link_header("Enlace de incidencia entrante (Relates)", locales) == ("inward", "Relates")
    assert issue_link_header("Custom field (Reach)", locales) is None
    assert issue_link_header("Outward issue link ()", locales) is None
