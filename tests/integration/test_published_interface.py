"""The versioned published interface on the session's shared run (no pipeline run of its own).

The shared run's release is the baseline. A renamed mart column is planted in a copy's working warehouse, as a
changed dbt model would leave it (rebuilding dbt for it would cost a whole pipeline run), and only the pipeline's
publish asset runs on the copy, with the configuration an operator would edit: blocked with a named error
listing the lines to add, then published once they are added, recorded, and a re-run flags nothing.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
import yaml

from core.config import DEFAULT_CONFIG_PATH, PipelineConfig, load_config, parse_config
from core.settings import Paths, Settings
from pmw.summary import build_summary, format_summary
from publish.interface import CHANGELOG_NAME, read_check
from publish.release import current_publication

pytestmark = pytest.mark.slow

RENAME = {"table": "fct_nps", "change": "renamed", "column": "nps", "to": "nps_score"}


def _served_files(paths: Paths) -> dict[str, bytes]:
    return {str(p.relative_to(paths.published)): p.read_bytes() for p in paths.published.rglob("*") if p.is_file()}


def _published_columns(paths: Paths) -> dict[str, list[dict[str, str]]]:
    with duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'main' order by table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[dict[str, str]]] = {}
    for table, column, data_type in rows:
        out.setdefault(table, []).append({"name": column, "type": data_type})
    return out


def _run_publish_asset(paths: Paths, config: PipelineConfig):
    """The pipeline's publish asset alone (every publication goes through it), with the run's settings."""
    import dagster as dg

    from orchestration.assets.publish import published_marts

    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [published_marts],
            instance=instance,
            resources={"pmw": Settings(paths=paths, config=config, landing_settle_seconds=0)},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )


def _step_error(result) -> tuple[str, str]:
    """(class name, message) of the user's exception behind the run's one step failure."""
    import dagster as dg

    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.event_specific_data.error
    while error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
        error = error.cause
    return error.cls_name, error.message


def test_the_shared_runs_release_records_its_interface_as_the_baseline(shared_run):
    paths = shared_run.paths
    interface = current_publication(paths)["interface"]
    assert (interface["version"], interface["baseline"], interface["changes"]) == ("1.0", True, [])
    assert interface["tables"] == _published_columns(paths)  # exactly the columns and types BI reads
    assert len(interface["tables"]) > 10
    changelog = (paths.published / CHANGELOG_NAME).read_text(encoding="utf-8")
    assert "Baseline: the first versioned release of the published interface" in changelog
    assert all(f"- `{table}`: " in changelog for table in interface["tables"])
    check = read_check(paths)
    assert (check["status"], check["blocked"], check["stale_acknowledgements"]) == ("published", [], [])


def test_a_renamed_mart_column_is_blocked_then_published_when_acknowledged_and_recorded(shared_run, tmp_path):
    copied = Paths(tmp_path / "data")
    shutil.copytree(shared_run.paths.data_dir, copied.data_dir, symlinks=True)
    with duckdb.connect(str(copied.warehouse_path)) as con:
        con.execute("alter table marts.fct_nps rename column nps to nps_score")
    served = _served_files(copied)
    release_id = current_publication(copied)["release_id"]

    blocked = _run_publish_asset(copied, load_config())
    assert not blocked.success
    cls_name, message = _step_error(blocked)
    assert cls_name == "InterfaceChangeBlocked"
    assert f"{DEFAULT_CONFIG_PATH} under publish.acknowledged_interface_changes" in message
    assert "fct_nps.nps removed (was DOUBLE): acknowledge with" in message
    assert "or, if it was renamed to nps_score: - {table: fct_nps, change: renamed, column: nps, to: nps_score}" in (
        message
    )
    assert _served_files(copied) == served  # the previous release stays served, untouched
    summary = format_summary(build_summary(copied))
    assert "BLOCKED in run" in summary and "or, if renamed: - {table: fct_nps, change: renamed" in summary

    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["publish"] = {"acknowledged_interface_changes": [RENAME | {"note": "named as in the survey tool"}]}
    acknowledged = parse_config(raw, DEFAULT_CONFIG_PATH)
    published = _run_publish_asset(copied, acknowledged)
    assert published.success
    record = current_publication(copied)
    assert record["release_id"] != release_id
    interface = record["interface"]
    assert (interface["version"], interface["previous_version"]) == ("2.0", "1.0")
    assert [(c["kind"], c["table"], c["column"], c["new_column"], c["note"]) for c in interface["changes"]] == [
        ("renamed", "fct_nps", "nps", "nps_score", "named as in the survey tool")
    ]
    assert interface["tables"] == _published_columns(copied)
    assert "- `fct_nps.nps renamed to nps_score (DOUBLE)`: named as in the survey tool" in (
        (copied.published / CHANGELOG_NAME).read_text(encoding="utf-8")
    )
    materialization = published.asset_materializations_for_node("published__marts")[0]
    assert materialization.metadata["interface_version"].value == "2.0"

    # A clean re-run flags nothing: same marts, same interface, the acknowledgement named as already published.
    again = _run_publish_asset(copied, acknowledged)
    assert again.success
    assert current_publication(copied)["release_id"] == record["release_id"]
    check = read_check(copied)
    assert (check["status"], check["changes"], check["blocked"], check["stale_acknowledgements"]) == (
        "unchanged",
        [],
        [],
        [],
    )
    assert check["applied_acknowledgements"] == [RENAME | {"published_in_version": "2.0"}]
