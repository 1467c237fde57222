"""`pmw summary` names the Jira statuses no source categorises, with the configuration line that fixes them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from core.settings import get_paths
from pmw.summary import build_summary, format_summary, uncategorised_jira_statuses


def publish_cycle_times(data_dir: Path, rows: list[tuple[str, str | None]]) -> None:
    published = get_paths(data_dir).ensure().published
    published.mkdir(parents=True)
    with duckdb.connect(str(published / "marts.duckdb")) as con:
        con.execute("create table fct_issue_cycle_times (issue_key varchar, uncategorised_statuses varchar)")
        con.executemany("insert into fct_issue_cycle_times values (?, ?)", rows)


def test_statuses_are_counted_per_issue_and_listed_with_the_override_line(tmp_path: Path) -> None:
    publish_cycle_times(
        tmp_path,
        [("P-1", "Analysis Active, Backlog"), ("P-2", "Analysis Active"), ("P-3", None), ("P-4", "Backlog")],
    )
    paths = get_paths(tmp_path)
    assert uncategorised_jira_statuses(paths) == [
        {"status": "Analysis Active", "issues": 2},
        {"status": "Backlog", "issues": 2},
    ]
    text = format_summary(build_summary(paths))
    assert "Jira statuses without a category" in text
    assert "'Analysis Active' on 2 issue(s)" in text
    assert 'jira.status_category_overrides: {"Analysis Active": <new|indeterminate|done>}' in text


def test_nothing_is_listed_when_every_status_is_categorised_or_nothing_is_published(tmp_path: Path) -> None:
    assert uncategorised_jira_statuses(get_paths(tmp_path / "empty")) == []
    publish_cycle_times(tmp_path / "ok", [("P-1", None)])
    paths = get_paths(tmp_path / "ok")
    assert uncategorised_jira_statuses(paths) == []
    assert "without a category" not in format_summary(build_summary(paths))
