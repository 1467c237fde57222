"""Jira status categories from the status catalog, on a real Jira Cloud search response.

tests/fixtures/jira/SOURCES.txt: PLAYG-5 went To Do -> In Progress -> Done, and no issue of the file is In Progress
now, so only a landed /rest/api/3/status catalog (or the configuration) says which category In Progress is.
Without one, PLAYG-5's cycle and lead times are NULL and flagged, not computed as if it never was in progress.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, load_config, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.common.lake import promote_pending
from ingest.common.manifest import read_manifest_record
from ingest.jira import contract, ingest_jira
from tests.support.warehouse import Warehouse, write_schema_file

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "jira"
ISSUES = FIXTURES / "faros_cloud_issues_none_in_progress.json"
CATALOG = FIXTURES / "faros_cloud_status_catalog.json"
# PLAYG-5 (times -07:00): created 2021-09-16 23:57:12.584, In Progress 23:58:25.062, Done 2021-10-05 17:35:41.985.
PLAYG5_IN_TO_DO = 72.478
PLAYG5_CYCLE = 18 * 86_400 + 17 * 3600 + 37 * 60 + 16.923
PLAYG5_LEAD = PLAYG5_IN_TO_DO + PLAYG5_CYCLE


def config(**jira: Any) -> PipelineConfig:
    return parse_config({"jira": {"csv_timezone": "UTC", **jira}}, Path("test-pmw.yml"))


def land(paths: Paths, name: str, source: Path | bytes) -> None:
    target = paths.landing / "jira" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):
        shutil.copyfile(source, target)
    else:
        target.write_bytes(source)


def pending_rows(paths: Paths, entity: str) -> list[dict[str, Any]]:
    glob = paths.lake / "_pending" / "jira" / entity / "*.parquet"
    relation = duckdb.sql(f"select * from read_parquet('{glob}') order by _record_number")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_a_status_catalog_is_its_own_entity(tmp_path: Path) -> None:
    paths = get_paths(tmp_path / "data").ensure()
    land(paths, "status.json", CATALOG)
    report = ingest_jira(paths, config())
    [result] = report.results
    assert (result.format, result.rows_in, result.rows_loaded, result.rows_rejected) == ("status_catalog", 3, 3, 0)
    assert result.entity_rows == {"statuses": 3}
    statuses = pending_rows(paths, "statuses")
    assert [(s["status_id"], s["name"], s["status_category"]) for s in statuses] == [
        ("3", "In Progress", "indeterminate"),
        ("10002", "Done", "done"),
        ("10009", "To Do", "new"),
    ]
    assert [c for c in statuses[0] if not c.startswith("_")] == [c for c, _ in contract.STATUS_CATALOG_COLUMNS][:5]


def test_a_category_key_jira_does_not_compute_with_is_stored_as_null_and_noted(tmp_path: Path) -> None:
    paths = get_paths(tmp_path / "data").ensure()
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    undefined = {"id": 1, "key": "undefined", "colorName": "medium-gray", "name": "No Category"}
    catalog.append(catalog[0] | {"id": "10500", "name": "Parked", "statusCategory": undefined})
    catalog.append(
        catalog[0]
        | {
            "id": "10501",
            "name": "Triage",
            "untranslatedName": "Triage",
            "scope": {"type": "PROJECT", "project": {"id": "10100"}},
        }
    )
    land(paths, "status.json", json.dumps(catalog).encode())
    [result] = ingest_jira(paths, config()).results
    assert result.rows_loaded == 5
    by_name = {s["name"]: s for s in pending_rows(paths, "statuses")}
    assert by_name["Parked"]["status_category"] is None
    assert (by_name["Triage"]["untranslated_name"], by_name["Triage"]["scope_project_id"]) == ("Triage", "10100")
    record = read_manifest_record(paths, "jira", result.sha256)
    assert "status category 'undefined' on 1 status(es) is not new/indeterminate/done: left NULL" in record["notes"]


def test_status_entries_without_a_category_object_are_quarantined(tmp_path: Path) -> None:
    paths = get_paths(tmp_path / "data").ensure()
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    catalog[1]["statusCategory"] = "done"  # the shape of /rest/api/3/statuses/search, not of /status
    land(paths, "status.json", json.dumps(catalog).encode())
    [result] = ingest_jira(paths, config()).results
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    quarantine = duckdb.sql(f"select reason from read_parquet('{result.quarantine_file}')").fetchall()
    assert quarantine == [("status 10002 (Done): statusCategory is 'done', not an object",)]


# -- through dbt: the cycle-time mart with and without the catalog --------------------------------------------------


def build(root: Path, pipeline_config: PipelineConfig, *, with_catalog: bool) -> Warehouse:
    """Ingest the real fixture (and the catalog), promote it as the raw gate would, and build the delivery marts."""
    paths = get_paths(root / "data").ensure()
    land(paths, "issues.json", ISSUES)
    if with_catalog:
        land(paths, "status.json", CATALOG)
    report = ingest_jira(paths, pipeline_config)
    assert [r.status for r in report.results] == ["loaded"] * (2 if with_catalog else 1)
    for entity in contract.ENTITIES:
        promote_pending(paths, "jira", entity)
    warehouse = Warehouse(root, pipeline_config.dbt_vars())
    shutil.copytree(paths.lake, warehouse.lake_dir)
    write_schema_file(warehouse.lake_dir)
    warehouse.dbt("build", "--select", "+fct_issue_cycle_times")
    return warehouse


def cycle_times(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        relation = con.sql("select * from marts.fct_issue_cycle_times")
        return {row[0]: dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()}


@pytest.fixture(scope="module")
def shipped_config() -> PipelineConfig:
    return load_config()


def test_without_a_catalog_the_times_in_progress_could_change_are_null_and_flagged(tmp_path, shipped_config) -> None:
    rows = cycle_times(build(tmp_path, shipped_config, with_catalog=False))
    playg5 = rows["PLAYG-5"]
    assert (playg5["has_uncategorised_status"], playg5["uncategorised_statuses"]) == (True, "In Progress")
    # In Progress might be a done category: the closing run, so done_at, lead and cycle time are unknown.
    assert playg5["is_done"] is True
    for column in ("first_in_progress_at", "done_at", "lead_time_seconds", "cycle_time_seconds", "reopen_count"):
        assert playg5[column] is None, column
    assert playg5["seconds_in_new"] is None  # its 18 days in In Progress belong to some category
    # PLAYG-3 went To Do -> Done, both categorised by the issues in them: nothing withheld.
    playg3 = rows["PLAYG-3"]
    assert (playg3["has_uncategorised_status"], playg3["uncategorised_statuses"]) == (False, None)
    playg3_lead = datetime(2021, 10, 5, 17, 49, 19, 158000) - datetime(2021, 9, 16, 23, 32, 51, 212000)
    assert playg3["lead_time_seconds"] == pytest.approx(playg3_lead.total_seconds())


def test_with_the_catalog_every_time_is_known(tmp_path, shipped_config) -> None:
    playg5 = cycle_times(build(tmp_path, shipped_config, with_catalog=True))["PLAYG-5"]
    assert (playg5["has_uncategorised_status"], playg5["uncategorised_statuses"]) == (False, None)
    assert playg5["cycle_time_seconds"] == pytest.approx(PLAYG5_CYCLE)
    assert playg5["lead_time_seconds"] == pytest.approx(PLAYG5_LEAD)
    assert playg5["seconds_in_new"] == pytest.approx(PLAYG5_IN_TO_DO)
    assert playg5["seconds_in_indeterminate"] == pytest.approx(PLAYG5_CYCLE)
    assert playg5["reopen_count"] == 0


def test_an_override_categorises_what_no_export_does(tmp_path, shipped_config) -> None:
    overridden = shipped_config.model_copy(
        update={
            "jira": shipped_config.jira.model_copy(
                update={"status_category_overrides": {"In Progress": "indeterminate"}}
            )
        }
    )
    playg5 = cycle_times(build(tmp_path, overridden, with_catalog=False))["PLAYG-5"]
    assert playg5["has_uncategorised_status"] is False
    assert playg5["cycle_time_seconds"] == pytest.approx(PLAYG5_CYCLE)
